/*
 * vfio-sim: the topology, built in or read from a key file.
 *
 * The format is documented in docs/vfio-sim.md.  A file's [iommu] and
 * [faults] keys override the built-in values one by one; if the file has
 * any [device BDF] group, its devices replace the built-in ones entirely
 * (a topology is easier to reason about when it is all in one place).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"

static const struct {
    const char *name;
    int value;
} sim_state_names[] = {
    { "ERROR", VFIO_DEVICE_STATE_ERROR },
    { "STOP", VFIO_DEVICE_STATE_STOP },
    { "RUNNING", VFIO_DEVICE_STATE_RUNNING },
    { "STOP_COPY", VFIO_DEVICE_STATE_STOP_COPY },
    { "RESUMING", VFIO_DEVICE_STATE_RESUMING },
    { "RUNNING_P2P", VFIO_DEVICE_STATE_RUNNING_P2P },
    { "PRE_COPY", VFIO_DEVICE_STATE_PRE_COPY },
    { "PRE_COPY_P2P", VFIO_DEVICE_STATE_PRE_COPY_P2P },
};

const char *sim_model_name(SimModel model)
{
    switch (model) {
    case SIM_MODEL_EDU:
        return "edu";
    case SIM_MODEL_MIG:
        return "mig";
    case SIM_MODEL_PIN:
        return "pin";
    }
    return "?";
}

static void sim_device_defaults(SimDeviceConfig *d, const char *bdf, SimModel model,
                                int group)
{
    memset(d, 0, sizeof(*d));
    g_strlcpy(d->bdf, bdf, sizeof(d->bdf));
    d->model = model;
    d->group = group;
    g_strlcpy(d->driver, "vfio-pci", sizeof(d->driver));
    d->dma_delay_us = 1000;
    d->dma_mask_bits = 28;
    d->mig_state_size = 64 * KiB;
    d->mig_rate_pages = 4;
    d->mig_period_us = 1000;
    d->mig_pattern = 0x5a5a0000;
    d->msix_vectors = 2;
    switch (model) {
    case SIM_MODEL_EDU:
        /* QEMU's edu: no FLR, BAR0 fully mappable, as on the rig. */
        d->vendor_id = 0x1234;
        d->device_id = 0x11e8;
        d->reset = false;
        d->bar0_mmap = true;
        break;
    case SIM_MODEL_MIG:
        d->vendor_id = 0x1b36;
        d->device_id = 0x10f0;
        d->reset = true;
        d->bar0_mmap = true;
        break;
    case SIM_MODEL_PIN:
        d->vendor_id = 0x1b36;
        d->device_id = 0x10f1;
        d->reset = true;
        d->bar0_mmap = false;
        break;
    }
}

void sim_config_default(SimConfig *cfg)
{
    SimIommuConfig *io = &cfg->iommu;

    memset(cfg, 0, sizeof(*cfg));
    g_strlcpy(cfg->source, "built-in", sizeof(cfg->source));

    /* What Linux 6.12 answered on the rig (intel-iommu, 48-bit IOVA). */
    io->type1 = true;
    io->type1v2 = true;
    io->type1_nesting = true;
    io->unmap_all = true;
    io->update_vaddr = true;
    io->dma_cc = false;
    io->nr_iova_ranges = 2;
    io->iova_ranges[0] = (struct vfio_iova_range){ 0, 0xfedfffffULL };
    io->iova_ranges[1] = (struct vfio_iova_range){ 0xfef00000ULL, (1ULL << 48) - 1 };
    io->pgsizes = 0x40201000ULL;
    io->dma_entry_limit = 65535;
    io->mig_pgsize_bitmap = 0;
    io->max_dirty_bitmap_size = 256 * MiB;
    io->quirk_unmap_overflow = false;
    io->interrupt_remapping = true;
    io->allow_unsafe_interrupts = false;

    sim_device_defaults(&cfg->devices[0], "0000:00:01.0", SIM_MODEL_EDU, 1);
    sim_device_defaults(&cfg->devices[1], "0000:00:02.0", SIM_MODEL_MIG, 2);
    sim_device_defaults(&cfg->devices[2], "0000:00:03.0", SIM_MODEL_EDU, 3);
    sim_device_defaults(&cfg->devices[3], "0000:00:04.0", SIM_MODEL_PIN, 4);
    cfg->nr_devices = 4;
    cfg->faults.mig_fail_errno = EIO;
    cfg->faults.mig_fail_to_error = true;
}

static bool sim_parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (!s || !*s) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(s, &end, 0);
    return !errno && end != s && *end == 0;
}

static bool sim_parse_bool(const char *s, bool *out)
{
    if (!g_ascii_strcasecmp(s, "true") || !strcmp(s, "1") || !g_ascii_strcasecmp(s, "yes")) {
        *out = true;
        return true;
    }
    if (!g_ascii_strcasecmp(s, "false") || !strcmp(s, "0") || !g_ascii_strcasecmp(s, "no")) {
        *out = false;
        return true;
    }
    return false;
}

static bool sim_parse_state(const char *s, int *out)
{
    uint64_t v;

    for (size_t i = 0; i < ARRAY_SIZE(sim_state_names); i++) {
        if (!g_ascii_strcasecmp(s, sim_state_names[i].name)) {
            *out = sim_state_names[i].value;
            return true;
        }
    }
    if (sim_parse_u64(s, &v) && v < VFIO_DEVICE_STATE_NR) {
        *out = (int)v;
        return true;
    }
    return false;
}

static bool sim_parse_errno(const char *s, int *out)
{
    static const struct { const char *n; int e; } names[] = {
        { "EIO", EIO }, { "EINVAL", EINVAL }, { "ENOMEM", ENOMEM },
        { "EBUSY", EBUSY }, { "EFAULT", EFAULT }, { "ENOSPC", ENOSPC },
        { "EAGAIN", EAGAIN }, { "ENODEV", ENODEV },
    };
    uint64_t v;

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (!g_ascii_strcasecmp(s, names[i].n)) {
            *out = names[i].e;
            return true;
        }
    }
    if (sim_parse_u64(s, &v) && v > 0 && v < 4096) {
        *out = (int)v;
        return true;
    }
    return false;
}

/* One fault key; shared by the [faults] group and VFIO_SIM_FAULTS. */
static bool sim_fault_set(SimFaults *f, const char *key, const char *val, char **errmsg)
{
    uint64_t n;
    bool ok = true;

    if (!strcmp(key, "map-ebusy-at")) {
        ok = sim_parse_u64(val, &f->map_ebusy_at);
    } else if (!strcmp(key, "map-enospc-at")) {
        ok = sim_parse_u64(val, &f->map_enospc_at);
    } else if (!strcmp(key, "map-overlap-ebusy")) {
        ok = sim_parse_bool(val, &f->map_overlap_ebusy);
    } else if (!strcmp(key, "mig-fail-state")) {
        ok = sim_parse_state(val, &f->mig_fail_state);
    } else if (!strcmp(key, "mig-fail-errno")) {
        ok = sim_parse_errno(val, &f->mig_fail_errno);
    } else if (!strcmp(key, "mig-fail-to-error")) {
        ok = sim_parse_bool(val, &f->mig_fail_to_error);
    } else if (!strcmp(key, "data-short-read-at")) {
        ok = sim_parse_u64(val, &f->data_short_read_at);
    } else if (!strcmp(key, "resume-corrupt")) {
        ok = sim_parse_bool(val, &f->resume_corrupt);
    } else if (!strcmp(key, "reset-counters")) {
        ok = sim_parse_u64(val, &n);
        f->map_calls = 0;
        f->data_reads = 0;
    } else {
        *errmsg = g_strdup_printf("unknown fault '%s'", key);
        return false;
    }
    if (!ok) {
        *errmsg = g_strdup_printf("bad value '%s' for fault '%s'", val, key);
    }
    return ok;
}

bool sim_config_parse_faults(SimFaults *faults, const char *spec, char **errmsg)
{
    g_auto(GStrv) items = g_strsplit(spec, ",", -1);

    for (int i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        char *eq;

        if (!*item) {
            continue;
        }
        eq = strchr(item, '=');
        if (!eq) {
            *errmsg = g_strdup_printf("fault '%s' needs a value (KEY=VALUE)", item);
            return false;
        }
        *eq = 0;
        if (!sim_fault_set(faults, g_strstrip(item), g_strstrip(eq + 1), errmsg)) {
            return false;
        }
    }
    return true;
}

static bool sim_parse_ranges(const char *s, SimIommuConfig *io, char **errmsg)
{
    g_auto(GStrv) items = g_strsplit(s, ";", -1);
    int n = 0;

    for (int i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        g_auto(GStrv) ends = NULL;
        uint64_t start, last;

        if (!*item) {
            continue;
        }
        ends = g_strsplit(item, "-", 2);
        if (g_strv_length(ends) != 2 || !sim_parse_u64(g_strstrip(ends[0]), &start) ||
            !sim_parse_u64(g_strstrip(ends[1]), &last) || last < start) {
            *errmsg = g_strdup_printf("bad IOVA range '%s' (START-LAST, inclusive)", item);
            return false;
        }
        if (n == SIM_MAX_IOVA_RANGES) {
            *errmsg = g_strdup_printf("more than %d IOVA ranges", SIM_MAX_IOVA_RANGES);
            return false;
        }
        if (n && start <= io->iova_ranges[n - 1].end) {
            *errmsg = g_strdup_printf("IOVA ranges must be sorted and disjoint ('%s')", item);
            return false;
        }
        io->iova_ranges[n].start = start;
        io->iova_ranges[n].end = last;
        n++;
    }
    io->nr_iova_ranges = n;
    return true;
}

static bool sim_parse_extensions(const char *s, SimIommuConfig *io, char **errmsg)
{
    g_auto(GStrv) items = g_strsplit(s, ";", -1);

    io->type1 = io->type1v2 = io->type1_nesting = false;
    io->unmap_all = io->update_vaddr = io->dma_cc = false;
    for (int i = 0; items[i]; i++) {
        char *e = g_strstrip(items[i]);

        if (!*e) {
            continue;
        } else if (!strcmp(e, "TYPE1")) {
            io->type1 = true;
        } else if (!strcmp(e, "TYPE1v2")) {
            io->type1v2 = true;
        } else if (!strcmp(e, "TYPE1_NESTING")) {
            io->type1_nesting = true;
        } else if (!strcmp(e, "UNMAP_ALL")) {
            io->unmap_all = true;
        } else if (!strcmp(e, "UPDATE_VADDR")) {
            io->update_vaddr = true;
        } else if (!strcmp(e, "DMA_CC")) {
            io->dma_cc = true;
        } else {
            *errmsg = g_strdup_printf("unknown extension '%s'", e);
            return false;
        }
    }
    return true;
}

/* Read key @key of @group as a u64 if present; false (with *errmsg) if malformed. */
static bool sim_key_u64(GKeyFile *kf, const char *group, const char *key, uint64_t *out,
                        char **errmsg)
{
    g_autofree char *v = g_key_file_get_value(kf, group, key, NULL);

    if (!v) {
        return true;
    }
    if (!sim_parse_u64(g_strstrip(v), out)) {
        *errmsg = g_strdup_printf("[%s] %s: '%s' is not a number", group, key, v);
        return false;
    }
    return true;
}

static bool sim_key_u32(GKeyFile *kf, const char *group, const char *key, uint32_t *out,
                        char **errmsg)
{
    uint64_t v = *out;

    if (!sim_key_u64(kf, group, key, &v, errmsg)) {
        return false;
    }
    if (v > UINT32_MAX) {
        *errmsg = g_strdup_printf("[%s] %s: value too large", group, key);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool sim_key_bool(GKeyFile *kf, const char *group, const char *key, bool *out,
                         char **errmsg)
{
    g_autofree char *v = g_key_file_get_value(kf, group, key, NULL);

    if (!v) {
        return true;
    }
    if (!sim_parse_bool(g_strstrip(v), out)) {
        *errmsg = g_strdup_printf("[%s] %s: '%s' is not a boolean", group, key, v);
        return false;
    }
    return true;
}

static bool sim_load_iommu(GKeyFile *kf, SimIommuConfig *io, char **errmsg)
{
    const char *g = "iommu";
    g_autofree char *ext = g_key_file_get_value(kf, g, "extensions", NULL);
    g_autofree char *ranges = g_key_file_get_value(kf, g, "iova-ranges", NULL);

    if (!g_key_file_has_group(kf, g)) {
        return true;
    }
    if (ext && !sim_parse_extensions(ext, io, errmsg)) {
        return false;
    }
    if (ranges && !sim_parse_ranges(ranges, io, errmsg)) {
        return false;
    }
    if (!sim_key_u64(kf, g, "pgsizes", &io->pgsizes, errmsg) ||
        !sim_key_u32(kf, g, "dma-entry-limit", &io->dma_entry_limit, errmsg) ||
        !sim_key_u64(kf, g, "migration-pgsize-bitmap", &io->mig_pgsize_bitmap, errmsg) ||
        !sim_key_u64(kf, g, "max-dirty-bitmap-size", &io->max_dirty_bitmap_size, errmsg) ||
        !sim_key_bool(kf, g, "quirk-unmap-overflow", &io->quirk_unmap_overflow, errmsg) ||
        !sim_key_bool(kf, g, "interrupt-remapping", &io->interrupt_remapping, errmsg) ||
        !sim_key_bool(kf, g, "allow-unsafe-interrupts", &io->allow_unsafe_interrupts,
                      errmsg)) {
        return false;
    }
    if (!(io->pgsizes & ~(SIM_PAGE_SIZE - 1))) {
        *errmsg = g_strdup_printf("[iommu] pgsizes 0x%" PRIx64 " has no size >= 4 KiB",
                                  io->pgsizes);
        return false;
    }
    return true;
}

static bool sim_valid_bdf(const char *s)
{
    unsigned dom, bus, dev, fn;
    char tail;

    return strlen(s) == 12 &&
           sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) == 4 &&
           dev < 32 && fn < 8;
}

static bool sim_load_device(GKeyFile *kf, const char *group, SimDeviceConfig *d,
                            char **errmsg)
{
    const char *bdf = group + strlen("device ");
    g_autofree char *model = g_key_file_get_value(kf, group, "model", NULL);
    g_autofree char *driver = g_key_file_get_value(kf, group, "driver", NULL);
    uint64_t id;
    SimModel m;

    if (!sim_valid_bdf(bdf)) {
        *errmsg = g_strdup_printf("[%s]: '%s' is not a PCI address like 0000:00:01.0",
                                  group, bdf);
        return false;
    }
    if (!model || !strcmp(g_strstrip(model), "edu")) {
        m = SIM_MODEL_EDU;
    } else if (!strcmp(model, "mig")) {
        m = SIM_MODEL_MIG;
    } else if (!strcmp(model, "pin")) {
        m = SIM_MODEL_PIN;
    } else {
        *errmsg = g_strdup_printf("[%s] model: unknown model '%s' (edu, mig, pin)",
                                  group, model);
        return false;
    }
    id = 0;
    if (!g_key_file_has_key(kf, group, "group", NULL)) {
        *errmsg = g_strdup_printf("[%s]: 'group' is required", group);
        return false;
    }
    if (!sim_key_u64(kf, group, "group", &id, errmsg)) {
        return false;
    }
    if (id >= 10000) {
        *errmsg = g_strdup_printf("[%s] group: %" PRIu64 " is out of range", group, id);
        return false;
    }
    sim_device_defaults(d, bdf, m, (int)id);
    /* sysfs spells addresses in lower case. */
    for (char *c = d->bdf; *c; c++) {
        *c = g_ascii_tolower(*c);
    }
    if (driver) {
        g_strstrip(driver);
        if (!strcmp(driver, "none")) {
            driver[0] = 0;
        }
        if (strlen(driver) >= sizeof(d->driver) || strchr(driver, '/')) {
            *errmsg = g_strdup_printf("[%s] driver: bad driver name '%s'", group, driver);
            return false;
        }
        g_strlcpy(d->driver, driver, sizeof(d->driver));
    }
    {
        uint64_t vid = d->vendor_id, did = d->device_id;

        if (!sim_key_u64(kf, group, "vendor-id", &vid, errmsg) ||
            !sim_key_u64(kf, group, "device-id", &did, errmsg)) {
            return false;
        }
        if (vid > 0xffff || did > 0xffff) {
            *errmsg = g_strdup_printf("[%s]: PCI ids are 16-bit", group);
            return false;
        }
        d->vendor_id = vid;
        d->device_id = did;
    }
    if (!sim_key_bool(kf, group, "reset", &d->reset, errmsg) ||
        !sim_key_bool(kf, group, "bar0-mmap", &d->bar0_mmap, errmsg) ||
        !sim_key_u32(kf, group, "dma-delay-us", &d->dma_delay_us, errmsg) ||
        !sim_key_u32(kf, group, "dma-mask-bits", &d->dma_mask_bits, errmsg) ||
        !sim_key_u32(kf, group, "state-size", &d->mig_state_size, errmsg) ||
        !sim_key_u32(kf, group, "dma-rate-pages", &d->mig_rate_pages, errmsg) ||
        !sim_key_u32(kf, group, "dma-period-us", &d->mig_period_us, errmsg) ||
        !sim_key_u32(kf, group, "dma-pattern", &d->mig_pattern, errmsg) ||
        !sim_key_u32(kf, group, "msix-vectors", &d->msix_vectors, errmsg)) {
        return false;
    }
    if (d->dma_mask_bits < 12 || d->dma_mask_bits > 64) {
        *errmsg = g_strdup_printf("[%s] dma-mask-bits: %u is out of range (12..64)", group,
                                  d->dma_mask_bits);
        return false;
    }
    if (d->msix_vectors < 1 || d->msix_vectors > SIM_MAX_MSIX) {
        *errmsg = g_strdup_printf("[%s] msix-vectors: out of range (1..%d)", group,
                                  SIM_MAX_MSIX);
        return false;
    }
    if (d->mig_state_size < 64 || d->mig_state_size > 64 * MiB) {
        *errmsg = g_strdup_printf("[%s] state-size: out of range (64 .. 64 MiB)", group);
        return false;
    }
    if (d->mig_period_us < 10) {
        *errmsg = g_strdup_printf("[%s] dma-period-us: at least 10", group);
        return false;
    }
    return true;
}

static bool sim_load_faults(GKeyFile *kf, SimFaults *f, char **errmsg)
{
    g_auto(GStrv) keys = NULL;

    if (!g_key_file_has_group(kf, "faults")) {
        return true;
    }
    keys = g_key_file_get_keys(kf, "faults", NULL, NULL);
    for (int i = 0; keys && keys[i]; i++) {
        g_autofree char *v = g_key_file_get_value(kf, "faults", keys[i], NULL);

        if (!sim_fault_set(f, keys[i], g_strstrip(v), errmsg)) {
            return false;
        }
    }
    return true;
}

bool sim_config_load(SimConfig *cfg, const char *path, char **errmsg)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) groups = NULL;
    int ndev = 0;

    sim_config_default(cfg);
    g_strlcpy(cfg->source, path, sizeof(cfg->source));
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
        *errmsg = g_strdup_printf("%s: %s", path, err->message);
        return false;
    }
    groups = g_key_file_get_groups(kf, NULL);
    for (int i = 0; groups[i]; i++) {
        const char *g = groups[i];

        if (!strcmp(g, "iommu") || !strcmp(g, "faults")) {
            continue;
        }
        if (!g_str_has_prefix(g, "device ")) {
            *errmsg = g_strdup_printf("%s: unknown group [%s]", path, g);
            return false;
        }
        if (ndev == SIM_MAX_DEVICES) {
            *errmsg = g_strdup_printf("%s: more than %d devices", path, SIM_MAX_DEVICES);
            return false;
        }
        if (!sim_load_device(kf, g, &cfg->devices[ndev], errmsg)) {
            goto prefix;
        }
        for (int j = 0; j < ndev; j++) {
            if (!strcmp(cfg->devices[j].bdf, cfg->devices[ndev].bdf)) {
                *errmsg = g_strdup_printf("device %s is listed twice", cfg->devices[j].bdf);
                goto prefix;
            }
        }
        ndev++;
    }
    if (ndev) {
        cfg->nr_devices = ndev;
    }
    if (!sim_load_iommu(kf, &cfg->iommu, errmsg) || !sim_load_faults(kf, &cfg->faults, errmsg)) {
        goto prefix;
    }
    return true;

prefix: {
        char *m = g_strdup_printf("%s: %s", path, *errmsg);

        g_free(*errmsg);
        *errmsg = m;
        return false;
    }
}
