/*
 * vfio-sim: the sysfs view of the simulated host.
 *
 * Rather than answer stat(), readlink(), opendir() and friends one by one,
 * the sim writes a small real tree — files, directories and relative
 * symlinks shaped like the kernel's — into a private temporary directory,
 * and rewrites the paths it owns to point into it.  Everything a program
 * can do with a path then behaves natively, including the "../../../"
 * symlinks that VFIO users resolve by hand:
 *
 *   /sys/bus/pci/devices/BDF            -> ../../../devices/pciDDDD:BB/BDF
 *   /sys/devices/pciDDDD:BB/BDF/iommu_group -> ../../../kernel/iommu_groups/N
 *   /sys/devices/pciDDDD:BB/BDF/driver  -> ../../../bus/pci/drivers/vfio-pci
 *   /sys/kernel/iommu_groups/N/devices/BDF -> ../../../../devices/pciDDDD:BB/BDF
 *
 * /dev/vfio is mirrored with empty placeholders so stat() has something to
 * look at; opening them is intercepted before the tree is reached.
 *
 * The sim owns the whole of /sys/bus/pci/devices, /sys/bus/pci/drivers,
 * /sys/kernel/iommu_groups and the root complexes it places devices on:
 * a program under the sim sees the simulated host, not a mixture.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"

#include <glib/gstdio.h>
#include <signal.h>

static char *sim_tree;          /* root of the tree, NULL before the build */
static pid_t sim_tree_owner;    /* the process that made it removes it */
static GPtrArray *sim_prefixes; /* owned path prefixes (char *) */

static bool sim_write_file(const char *path, const void *data, size_t len)
{
    return g_file_set_contents(path, data, len, NULL);
}

static bool sim_write_text(const char *dir, const char *name, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool sim_write_text(const char *dir, const char *name, const char *fmt, ...)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return sim_write_file(path, text, strlen(text));
}

static bool sim_link(const char *target, const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    return symlink(target, path) == 0;
}

static bool sim_mkdir(const char *path)
{
    return g_mkdir_with_parents(path, 0755) == 0;
}

static void sim_rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    const char *name;

    if (d) {
        while ((name = g_dir_read_name(d))) {
            g_autofree char *child = g_build_filename(path, name, NULL);

            if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
                !g_file_test(child, G_FILE_TEST_IS_SYMLINK)) {
                sim_rm_rf(child);
            } else {
                g_unlink(child);
            }
        }
        g_dir_close(d);
    }
    g_rmdir(path);
}

/* "pci0000:00" for a device at 0000:00:01.0. */
static char *sim_root_complex(const char *bdf)
{
    return g_strdup_printf("pci%.7s", bdf);
}

static bool sim_build_device(SimDevice *dev)
{
    const SimDeviceConfig *c = &dev->cfg;
    g_autofree char *rc = sim_root_complex(c->bdf);
    g_autofree char *dir = g_build_filename(sim_tree, "sys/devices", rc, c->bdf, NULL);
    g_autofree char *group_target = g_strdup_printf("../../../kernel/iommu_groups/%d",
                                                    c->group);
    g_autofree char *dev_target = g_strdup_printf("../../../devices/%s/%s", rc, c->bdf);
    g_autofree char *dev_target4 = g_strdup_printf("../../../../devices/%s/%s", rc, c->bdf);
    g_autofree char *bus_dir = g_build_filename(sim_tree, "sys/bus/pci/devices", NULL);
    g_autofree char *grp_dir = g_strdup_printf("%s/sys/kernel/iommu_groups/%d/devices",
                                               sim_tree, c->group);
    GString *res = g_string_new(NULL);
    bool ok;

    ok = sim_mkdir(dir) && sim_mkdir(grp_dir);
    ok = ok && sim_write_text(dir, "vendor", "0x%04x\n", c->vendor_id);
    ok = ok && sim_write_text(dir, "device", "0x%04x\n", c->device_id);
    ok = ok && sim_write_text(dir, "subsystem_vendor", "0x%04x\n",
                              dev->config[0x2c] | dev->config[0x2d] << 8);
    ok = ok && sim_write_text(dir, "subsystem_device", "0x%04x\n",
                              dev->config[0x2e] | dev->config[0x2f] << 8);
    ok = ok && sim_write_text(dir, "class", "0x%02x%02x%02x\n", dev->config[0x0b],
                              dev->config[0x0a], dev->config[0x09]);
    ok = ok && sim_write_text(dir, "revision", "0x%02x\n", dev->config[0x08]);
    ok = ok && sim_write_text(dir, "irq", "%d\n", dev->config[0x3d] ? 16 + dev->index : 0);
    ok = ok && sim_write_text(dir, "numa_node", "-1\n");
    ok = ok && sim_write_text(dir, "enable", "%d\n", c->driver[0] ? 1 : 0);
    ok = ok && sim_write_text(dir, "driver_override", "%s\n",
                              !strcmp(c->driver, "vfio-pci") ? "vfio-pci" : "(null)");
    if (c->reset) {
        ok = ok && sim_write_text(dir, "reset", "%s", "");
    }
    for (int i = 0; i < 13; i++) {
        uint64_t start = 0, end = 0, flags = 0;

        if (i < SIM_NUM_BARS && dev->regions[i].size) {
            uint32_t lo = dev->config[0x10 + i * 4] | dev->config[0x11 + i * 4] << 8 |
                          dev->config[0x12 + i * 4] << 16 |
                          (uint32_t)dev->config[0x13 + i * 4] << 24;

            start = dev->regions[i].is_io ? (lo & ~3u) : (lo & ~0xfu);
            end = start + dev->regions[i].size - 1;
            flags = dev->regions[i].is_io ? 0x40101 : 0x40200;
        }
        g_string_append_printf(res, "0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
                               start, end, flags);
    }
    ok = ok && sim_write_text(dir, "resource", "%s", res->str);
    g_string_free(res, true);
    {
        g_autofree char *cfg = g_build_filename(dir, "config", NULL);

        ok = ok && sim_write_file(cfg, dev->config, SIM_CFG_SIZE);
    }
    ok = ok && sim_link(group_target, dir, "iommu_group");
    ok = ok && sim_link("../../../bus/pci", dir, "subsystem");
    if (c->driver[0]) {
        g_autofree char *drv_target = g_strdup_printf("../../../bus/pci/drivers/%s", c->driver);
        g_autofree char *drv_dir = g_strdup_printf("%s/sys/bus/pci/drivers/%s", sim_tree,
                                                   c->driver);

        ok = ok && sim_link(drv_target, dir, "driver");
        ok = ok && sim_mkdir(drv_dir) && sim_link(dev_target4, drv_dir, c->bdf);
    }
    ok = ok && sim_link(dev_target, bus_dir, c->bdf);
    ok = ok && sim_link(dev_target4, grp_dir, c->bdf);
    return ok;
}

/*
 * The reserved regions of a group are the holes between the IOVA ranges:
 * that is where the kernel's IOVA ranges come from.
 */
static bool sim_build_group(SimGroup *g)
{
    const SimIommuConfig *io = &sim_world->cfg.iommu;
    g_autofree char *dir = g_strdup_printf("%s/sys/kernel/iommu_groups/%d", sim_tree, g->id);
    GString *resv = g_string_new(NULL);
    bool ok;

    for (int i = 0; !g->emulated && i + 1 < io->nr_iova_ranges; i++) {
        uint64_t start = io->iova_ranges[i].end + 1;
        uint64_t end = io->iova_ranges[i + 1].start - 1;

        g_string_append_printf(resv, "0x%016" PRIx64 " 0x%016" PRIx64 " %s\n", start, end,
                               start == 0xfee00000ULL ? "msi" : "reserved");
    }
    ok = sim_write_text(dir, "reserved_regions", "%s", resv->str) &&
         sim_write_text(dir, "type", "%s\n", g->emulated ? "identity" : "DMA-FQ");
    g_string_free(resv, true);
    if (ok && g->has_vfio_node) {
        g_autofree char *node = g_strdup_printf("%s/dev/vfio/%d", sim_tree, g->id);

        ok = sim_write_file(node, "", 0);
    }
    return ok;
}

static void sim_add_prefix(const char *p)
{
    for (guint i = 0; i < sim_prefixes->len; i++) {
        if (!strcmp(g_ptr_array_index(sim_prefixes, i), p)) {
            return;
        }
    }
    g_ptr_array_add(sim_prefixes, g_strdup(p));
}

/*
 * Trees are named after the process that made them; remove those whose
 * process is gone (killed before its destructor could run).
 */
static void sim_sysfs_reap_stale(void)
{
    const char *tmp = g_get_tmp_dir();
    GDir *d = g_dir_open(tmp, 0, NULL);
    const char *name;

    if (!d) {
        return;
    }
    while ((name = g_dir_read_name(d))) {
        char *end;
        long pid;

        if (!g_str_has_prefix(name, "vfio-sim-")) {
            continue;
        }
        pid = strtol(name + strlen("vfio-sim-"), &end, 10);
        if (end == name + strlen("vfio-sim-") || *end != '-' || pid <= 0 || pid == getpid()) {
            continue;
        }
        if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
            g_autofree char *path = g_build_filename(tmp, name, NULL);

            sim_rm_rf(path);
        }
    }
    g_dir_close(d);
}

int sim_sysfs_build(SimWorld *w)
{
    g_autofree char *vfio_dir = NULL;
    g_autofree char *tmpl = g_strdup_printf("vfio-sim-%d-XXXXXX", getpid());
    bool ok = true;

    sim_sysfs_destroy();
    sim_sysfs_reap_stale();
    sim_tree = g_dir_make_tmp(tmpl, NULL);
    if (!sim_tree) {
        return -errno;
    }
    {
        /* realpath() answers are mapped back by prefix: use the resolved name. */
        char *resolved = realpath(sim_tree, NULL);

        if (resolved) {
            g_free(sim_tree);
            sim_tree = g_strdup(resolved);
            free(resolved);
        }
    }
    sim_tree_owner = getpid();
    sim_prefixes = g_ptr_array_new_with_free_func(g_free);
    sim_add_prefix("/sys/bus/pci/devices");
    sim_add_prefix("/sys/bus/pci/drivers");
    sim_add_prefix("/sys/kernel/iommu_groups");

    vfio_dir = g_build_filename(sim_tree, "dev/vfio", NULL);
    ok = sim_mkdir(vfio_dir);
    ok = ok && sim_write_text(vfio_dir, "vfio", "%s", "");
    {
        g_autofree char *p = g_build_filename(sim_tree, "sys/bus/pci/devices", NULL);
        g_autofree char *q = g_build_filename(sim_tree, "sys/bus/pci/drivers/vfio-pci", NULL);
        g_autofree char *r = g_build_filename(sim_tree, "sys/kernel/iommu_groups", NULL);

        ok = ok && sim_mkdir(p) && sim_mkdir(q) && sim_mkdir(r);
    }
    for (int i = 0; ok && i < w->nr_groups; i++) {
        g_autofree char *d = g_strdup_printf("%s/sys/kernel/iommu_groups/%d/devices", sim_tree,
                                             w->groups[i].id);

        ok = sim_mkdir(d) && sim_build_group(&w->groups[i]);
    }
    for (int i = 0; ok && i < w->nr_devices; i++) {
        g_autofree char *rc = sim_root_complex(w->devices[i].cfg.bdf);
        g_autofree char *p = g_strdup_printf("/sys/devices/%s", rc);

        sim_add_prefix(p);
        ok = sim_build_device(&w->devices[i]);
    }
    if (!ok) {
        int err = errno ? errno : EIO;

        sim_sysfs_destroy();
        errno = err;
        return -err;
    }
    return 0;
}

void sim_sysfs_destroy(void)
{
    if (sim_tree && sim_tree_owner == getpid()) {
        sim_rm_rf(sim_tree);
    }
    g_clear_pointer(&sim_tree, g_free);
    if (sim_prefixes) {
        g_ptr_array_free(sim_prefixes, true);
        sim_prefixes = NULL;
    }
}

/* Collapse repeated slashes and drop a trailing one: "/sys//bus/" -> "/sys/bus". */
static char *sim_path_normalize(const char *path)
{
    char *out = g_malloc(strlen(path) + 1);
    char *o = out;

    for (const char *p = path; *p; p++) {
        if (*p == '/' && o > out && o[-1] == '/') {
            continue;
        }
        *o++ = *p;
    }
    if (o > out + 1 && o[-1] == '/') {
        o--;
    }
    *o = 0;
    return out;
}

static bool sim_has_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    return !strncmp(path, prefix, n) && (path[n] == 0 || path[n] == '/');
}

SimPathKind sim_path_classify(const char *path, char **redirect, int *group_id)
{
    g_autofree char *p = sim_path_normalize(path);

    if (!sim_tree) {
        return SIM_PATH_NONE;
    }
    if (!strcmp(p, "/dev/vfio-sim")) {
        *redirect = g_build_filename(sim_tree, "dev/vfio/vfio", NULL);
        return SIM_PATH_CONTROL;
    }
    if (!strcmp(p, "/dev/iommu")) {
        return SIM_PATH_DEV_MISSING;
    }
    if (sim_has_prefix(p, "/dev/vfio")) {
        const char *rest = p + strlen("/dev/vfio");
        char *end;
        long id;
        SimGroup *g;

        if (!*rest) {
            *redirect = g_build_filename(sim_tree, "dev/vfio", NULL);
            return SIM_PATH_VFIO_DIR;
        }
        rest++;
        if (!strcmp(rest, "vfio")) {
            *redirect = g_build_filename(sim_tree, "dev/vfio/vfio", NULL);
            return SIM_PATH_VFIO_CONTAINER;
        }
        if (!g_ascii_isdigit(rest[0])) {
            return SIM_PATH_DEV_MISSING;
        }
        id = strtol(rest, &end, 10);
        g = *end ? NULL : sim_world_group((int)id);
        if (!g || !g->has_vfio_node) {
            return SIM_PATH_DEV_MISSING;
        }
        *group_id = g->id;
        *redirect = g_strdup_printf("%s/dev/vfio/%d", sim_tree, g->id);
        return SIM_PATH_VFIO_GROUP;
    }
    for (guint i = 0; i < sim_prefixes->len; i++) {
        if (sim_has_prefix(p, g_ptr_array_index(sim_prefixes, i))) {
            *redirect = g_strconcat(sim_tree, p, NULL);
            return SIM_PATH_REDIRECT;
        }
    }
    return SIM_PATH_NONE;
}

char *sim_sysfs_unredirect(const char *path)
{
    size_t n = sim_tree ? strlen(sim_tree) : 0;

    if (n && !strncmp(path, sim_tree, n) && (path[n] == '/' || !path[n])) {
        return g_strdup(path[n] ? path + n : "/");
    }
    return g_strdup(path);
}
