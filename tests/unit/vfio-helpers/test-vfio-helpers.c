/*
 * vfio-helpers over vfio-sim: opening and its errors, BARs and config
 * space, the IOVA space (the kernel's ranges, the default window), the
 * mapping rules (fixed mappings grow up, temporary ones grow down, a reset
 * recycles the temporaries, capacity is exact), lookups by host address,
 * kernel failures, threads, RAM blocks, and release on close.
 *
 * Tests that need another topology run in a subprocess whose
 * VFIO_SIM_CONFIG names a file written by the test.  The others also run
 * on the real kernel (tests/vm: the edu from APERTURE_VFIO_DEVICE); there
 * the sim-specific tests skip.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "vh-test.h"
#include "qemu/range.h"
#include "exec/ramblock.h"

#include <glib/gstdio.h>
#include <linux/pci_regs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define TOP_48      ((1ULL << 48) - 1)  /* the default topology's last IOVA */

/* ------------------------------------------------------------------------ */
/* vfio-sim control */

static bool sim_present(void)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static bool require_sim(void)
{
    if (!sim_present()) {
        g_test_skip("needs vfio-sim (/dev/vfio-sim)");
        return false;
    }
    return vh_require_device(VH_DEFAULT_DEVICE);
}

static void sim_command(const char *cmd)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
        vh_message("vfio-sim refused '%s': %s", cmd, strerror(errno));
        g_assert_not_reached();
    }
    close(fd);
}

/* A counter of the sim's status report ("map-calls", "open-files"). */
static int64_t sim_status(const char *key)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);
    char buf[4096];
    ssize_t n;
    g_auto(GStrv) lines = NULL;

    g_assert_cmpint(fd, >=, 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    g_assert_cmpint(n, >, 0);
    buf[n] = 0;
    lines = g_strsplit(buf, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        size_t len = strlen(key);

        if (!strncmp(lines[i], key, len) && lines[i][len] == ' ') {
            return g_ascii_strtoll(lines[i] + len + 1, NULL, 10);
        }
    }
    vh_message("vfio-sim status has no '%s'", key);
    g_assert_not_reached();
}

/*
 * What is open: the process's fds, and with vfio-sim its VFIO files (which
 * also proves the sim released its objects).
 */
typedef struct OpenCount {
    int fds;
    int64_t sim_files;      /* -1 without the sim */
} OpenCount;

static OpenCount open_count(void)
{
    g_autoptr(GHashTable) fds = vh_fds_snapshot();

    return (OpenCount){
        .fds = g_hash_table_size(fds),
        .sim_files = sim_present() ? sim_status("open-files") : -1,
    };
}

static void assert_open_count(OpenCount before, int more)
{
    OpenCount now = open_count();

    g_assert_cmpint(now.fds, ==, before.fds + more);
    if (before.sim_files >= 0) {
        g_assert_cmpint(now.sim_files, ==, before.sim_files + more);
    }
}

/*
 * Run test @path (registered with a "/subprocess" suffix) in a subprocess
 * whose vfio-sim reads @config.
 */
static void run_with_sim_config(const char *path, const char *config)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree char *old = g_strdup(g_getenv("VFIO_SIM_CONFIG"));
    g_autofree char *sub = g_strdup_printf("%s/subprocess", path);

    if (!require_sim()) {
        return;
    }
    dir = g_dir_make_tmp("vfio-helpers-XXXXXX", NULL);
    g_assert_nonnull(dir);
    file = g_build_filename(dir, "sim.conf", NULL);
    g_assert_true(g_file_set_contents(file, config, -1, NULL));
    g_setenv("VFIO_SIM_CONFIG", file, true);
    g_test_trap_subprocess(sub, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    if (old) {
        g_setenv("VFIO_SIM_CONFIG", old, true);
    } else {
        g_unsetenv("VFIO_SIM_CONFIG");
    }
    g_unlink(file);
    g_rmdir(dir);
    if (!g_test_trap_has_passed()) {
        vh_message("subprocess %s failed (its messages are on stderr); config:\n%s", sub,
                   config);
    }
    g_test_trap_assert_passed();
}

#define SIM_CONFIG_TEST(name, config)                                   \
    static void name##_subprocess(void);                                \
    static void name(void)                                              \
    {                                                                   \
        run_with_sim_config(g_test_get_path(), config);                 \
    }

/* ------------------------------------------------------------------------ */
/* helpers */

static QEMUVFIODMAStats stats(QEMUVFIOState *s)
{
    QEMUVFIODMAStats st;

    qemu_vfio_dma_get_stats(s, &st);
    return st;
}

static uint64_t map_ok(QEMUVFIOState *s, void *host, size_t size, bool temporary)
{
    Error *err = NULL;
    uint64_t iova = UINT64_MAX;

    if (!qemu_vfio_dma_map(s, host, size, temporary, &iova, &err)) {
        vh_assert_no_error(err);
    }
    return iova;
}

static void map_fails(QEMUVFIOState *s, void *host, size_t size, bool temporary,
                      const char *needle)
{
    Error *err = NULL;
    uint64_t iova = 0x1234;

    g_assert_false(qemu_vfio_dma_map(s, host, size, temporary, &iova, &err));
    g_assert_cmphex(iova, ==, 0x1234);
    vh_assert_error(&err, needle);
}

static uint64_t lookup(QEMUVFIOState *s, void *host, size_t size)
{
    uint64_t iova = UINT64_MAX;

    if (!qemu_vfio_dma_lookup(s, host, size, &iova)) {
        return UINT64_MAX;
    }
    return iova;
}

/* The device of the sim topologies written by the tests. */
static QEMUVFIOState *open_default(void)
{
    return vh_open(VH_DEFAULT_DEVICE);
}

/* Tests that run on any VFIO: the edu under test. */
static bool require_device(void)
{
    return vh_require_device(vh_device());
}

static QEMUVFIOState *open_dut(void)
{
    return vh_open(vh_device());
}

/* "vfio BDF: " + @rest, for error messages of the device under test. */
static const char *msg_for(const char *rest)
{
    static char buf[256];

    g_snprintf(buf, sizeof(buf), "vfio %s: %s", vh_device(), rest);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* open and close */

static void test_open_close(void)
{
    QEMUVFIOState *s;
    QEMUVFIODMAStats st;
    uint16_t vendor, cmd;
    OpenCount files;

    if (!require_device()) {
        return;
    }
    files = open_count();
    s = open_dut();
    /* Container, group and device. */
    assert_open_count(files, 3);
    g_assert_cmpint(qemu_vfio_pci_read_config(s, &vendor, 2, PCI_VENDOR_ID), ==, 0);
    g_assert_cmphex(vendor, ==, EDU_VENDOR_ID);
    g_assert_cmpint(qemu_vfio_pci_read_config(s, &cmd, 2, PCI_COMMAND), ==, 0);
    g_assert_cmphex(cmd & PCI_COMMAND_MASTER, ==, PCI_COMMAND_MASTER);
    st = stats(s);
    g_assert_cmpuint(st.nr_fixed + st.nr_temporary, ==, 0);
    g_assert_cmpuint(st.max_mappings, ==, 65535);
    g_assert_cmphex(st.min_pgsize, ==, VH_PAGE);
    qemu_vfio_close(s);
    assert_open_count(files, 0);
    /* The group can be opened again. */
    s = open_dut();
    qemu_vfio_close(s);
    qemu_vfio_close(NULL);
}

static void test_open_bad_address(void)
{
    Error *err = NULL;

    g_assert_null(qemu_vfio_open_pci("0:1.0", &err));
    vh_assert_error(&err, "'0:1.0' is not a PCI address");
    g_assert_null(qemu_vfio_open_pci("0000:00:01.0/../../x", &err));
    vh_assert_error(&err, "is not a PCI address");
}

static void test_open_no_such_device(void)
{
    Error *err = NULL;

    if (!require_device()) {
        return;
    }
    g_assert_null(qemu_vfio_open_pci("0000:ee:1f.7", &err));
    vh_assert_error(&err, "vfio 0000:ee:1f.7: no such PCI device");
}

static void test_open_group_busy(void)
{
    QEMUVFIOState *s;
    Error *err = NULL;
    OpenCount files;

    if (!require_device()) {
        return;
    }
    files = open_count();
    s = open_dut();
    g_assert_null(qemu_vfio_open_pci(vh_device(), &err));
    g_assert_nonnull(err);
    g_assert_cmpint(error_get_errno(err), ==, EBUSY);
    vh_assert_error(&err, msg_for("cannot open /dev/vfio/"));
    /* The failed open left nothing behind. */
    assert_open_count(files, 3);
    qemu_vfio_close(s);
    assert_open_count(files, 0);
}

/* A peer of the group bound to a host driver makes the group non-viable. */
SIM_CONFIG_TEST(test_open_not_viable,
                "[device 0000:00:01.0]\nmodel = edu\ngroup = 1\n"
                "[device 0000:00:02.0]\nmodel = edu\ngroup = 1\ndriver = e1000e\n")

static void test_open_not_viable_subprocess(void)
{
    Error *err = NULL;

    g_assert_null(qemu_vfio_open_pci(VH_DEFAULT_DEVICE, &err));
    vh_assert_error(&err, "vfio 0000:00:01.0: group 1 is not viable");
    g_assert_cmpint(sim_status("open-files"), ==, 0);
}

/* Without vfio-pci there is no group node. */
SIM_CONFIG_TEST(test_open_not_bound,
                "[device 0000:00:01.0]\nmodel = edu\ngroup = 1\ndriver = e1000e\n")

static void test_open_not_bound_subprocess(void)
{
    Error *err = NULL;

    g_assert_null(qemu_vfio_open_pci(VH_DEFAULT_DEVICE, &err));
    g_assert_nonnull(err);
    g_assert_cmpint(error_get_errno(err), ==, ENOENT);
    vh_assert_error(&err, "vfio 0000:00:01.0: cannot open /dev/vfio/1");
    g_assert_cmpint(sim_status("open-files"), ==, 0);
}

/* ------------------------------------------------------------------------ */
/* BARs and config space */

static void test_bar_access(void)
{
    QEMUVFIOState *s;
    QEMUVFIOBarInfo info;
    Error *err = NULL;
    volatile uint32_t *regs;
    uint32_t v;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    g_assert_true(qemu_vfio_pci_get_bar_info(s, 0, &info, &err));
    g_assert_cmphex(info.size_bytes, ==, 1 * MiB);
    g_assert_cmphex(info.flags & VFIO_REGION_INFO_FLAG_MMAP, ==, VFIO_REGION_INFO_FLAG_MMAP);
    g_assert_cmpuint(info.nr_mmap_areas, ==, 1);
    g_assert_true(qemu_vfio_pci_get_bar_info(s, 1, &info, &err));
    g_assert_cmphex(info.size_bytes, ==, 0);
    g_assert_false(qemu_vfio_pci_get_bar_info(s, 6, &info, &err));
    vh_assert_error(&err, "there is no BAR6");

    g_assert_cmphex(vh_bar0_read32(s, EDU_REG_ID), ==, EDU_ID_VALUE);
    regs = qemu_vfio_pci_map_bar(s, 0, 0, 1 * MiB, PROT_READ, &err);
    vh_assert_no_error(err);
    g_assert_cmphex(regs[0], ==, EDU_ID_VALUE);
    qemu_vfio_pci_unmap_bar(s, 0, (void *)regs, 0, 1 * MiB);
    /* The last page of the BAR. */
    regs = qemu_vfio_pci_map_bar(s, 0, 0xff000, VH_PAGE, PROT_READ | PROT_WRITE, &err);
    vh_assert_no_error(err);
    qemu_vfio_pci_unmap_bar(s, 0, (void *)regs, 0xff000, VH_PAGE);

    g_assert_cmpint(qemu_vfio_pci_read_bar(s, 0, 1 * MiB - 2, &v, 4), ==, -EINVAL);
    g_assert_cmpint(qemu_vfio_pci_read_bar(s, 1, 0, &v, 4), ==, -EINVAL);
    g_assert_cmpint(qemu_vfio_pci_write_bar(s, -1, 0, &v, 4), ==, -EINVAL);
    qemu_vfio_close(s);
}

static void test_bar_map_refused(void)
{
    QEMUVFIOState *s;
    Error *err = NULL;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    g_assert_null(qemu_vfio_pci_map_bar(s, 0, 0, 2 * MiB, PROT_READ, &err));
    vh_assert_error(&err, msg_for("cannot map 0x200000 bytes at 0x0 of BAR0"));
    g_assert_null(qemu_vfio_pci_map_bar(s, 0, 1 * MiB, VH_PAGE, PROT_READ, &err));
    vh_assert_error(&err, "of BAR0: the BAR has 0x100000 bytes");
    g_assert_null(qemu_vfio_pci_map_bar(s, 0, 0x800, VH_PAGE, PROT_READ, &err));
    vh_assert_error(&err, "not page-aligned");
    g_assert_null(qemu_vfio_pci_map_bar(s, 0, 0, VH_PAGE, PROT_EXEC, &err));
    vh_assert_error(&err, "does not allow protection 0x4");
    g_assert_null(qemu_vfio_pci_map_bar(s, 1, 0, VH_PAGE, PROT_READ, &err));
    vh_assert_error(&err, "BAR1 is not implemented");
    g_assert_null(qemu_vfio_pci_map_bar(s, 9, 0, VH_PAGE, PROT_READ, &err));
    vh_assert_error(&err, "BAR9 is not implemented");
    qemu_vfio_close(s);
}

/* BAR0 without MMAP: access through the region only, with a hint. */
SIM_CONFIG_TEST(test_bar_not_mappable,
                "[device 0000:00:01.0]\nmodel = edu\ngroup = 1\nbar0-mmap = false\n")

static void test_bar_not_mappable_subprocess(void)
{
    QEMUVFIOState *s = open_default();
    QEMUVFIOBarInfo info;
    Error *err = NULL;

    g_assert_true(qemu_vfio_pci_get_bar_info(s, 0, &info, &err));
    g_assert_cmpuint(info.nr_mmap_areas, ==, 0);
    g_assert_null(qemu_vfio_pci_map_bar(s, 0, 0, VH_PAGE, PROT_READ, &err));
    vh_assert_error(&err, "[0x0, 0x1000) of BAR0 cannot be mmap'd");
    g_assert_cmphex(vh_bar0_read32(s, EDU_REG_ID), ==, EDU_ID_VALUE);
    qemu_vfio_close(s);
}

static void test_config_bounds(void)
{
    QEMUVFIOState *s;
    uint32_t v;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    g_assert_cmpint(qemu_vfio_pci_read_config(s, &v, 4, 252), ==, 0);
    g_assert_cmpint(qemu_vfio_pci_read_config(s, &v, 4, 254), ==, -EINVAL);
    g_assert_cmpint(qemu_vfio_pci_read_config(s, &v, 4, UINT64_MAX - 1), ==, -EINVAL);
    g_assert_cmpint(qemu_vfio_pci_write_config(s, &v, 4, 256), ==, -EINVAL);
    qemu_vfio_close(s);
}

/* ------------------------------------------------------------------------ */
/* IOVA space */

static void assert_ranges(QEMUVFIOState *s, const Range *expect, int n)
{
    GList *ranges = qemu_vfio_get_iova_ranges(s);
    GList *l = ranges;

    g_assert_cmpuint(g_list_length(ranges), ==, n);
    for (int i = 0; i < n; i++, l = l->next) {
        const Range *r = l->data;

        g_assert_cmphex(r->lob, ==, expect[i].lob);
        g_assert_cmphex(r->upb, ==, expect[i].upb);
    }
    range_list_free(ranges);
}

/* The kernel's ranges, as the rig's 6.12 reports them, are used as they are. */
static void test_iova_kernel_ranges(void)
{
    static const Range expect[] = { { 0, 0xfedfffff }, { 0xfef00000, TOP_48 } };
    QEMUVFIOState *s;
    QEMUVFIODMAStats st;
    uint8_t *p;

    if (!require_sim()) {
        return;
    }
    s = open_default();
    assert_ranges(s, expect, 2);
    st = stats(s);
    g_assert_cmphex(st.iova_first, ==, 0);
    g_assert_cmphex(st.iova_last, ==, TOP_48);
    p = vh_alloc(2 * VH_PAGE, 0);
    g_assert_cmphex(map_ok(s, p, VH_PAGE, false), ==, 0);
    g_assert_cmphex(map_ok(s, p + VH_PAGE, VH_PAGE, true), ==, TOP_48 + 1 - VH_PAGE);
    qemu_vfio_close(s);
    vh_free(p, 2 * VH_PAGE);
}

/* No IOVA-range capability: the default window [0x10000, 1 << 39). */
SIM_CONFIG_TEST(test_iova_default_window, "[iommu]\niova-ranges =\n")

static void test_iova_default_window_subprocess(void)
{
    static const Range expect[] = { { 0x10000, (1ULL << 39) - 1 } };
    QEMUVFIOState *s = open_default();
    uint8_t *p = vh_alloc(2 * VH_PAGE, 0);

    assert_ranges(s, expect, 1);
    g_assert_cmphex(map_ok(s, p, VH_PAGE, false), ==, 0x10000);
    g_assert_cmphex(map_ok(s, p + VH_PAGE, VH_PAGE, true), ==, (1ULL << 39) - VH_PAGE);
    qemu_vfio_close(s);
    vh_free(p, 2 * VH_PAGE);
}

/*
 * Ranges with holes: [0, 64K), [1M, 1.5M), [4M, 5M), the first and last
 * not page-aligned at their outer ends.  Every mapping lands inside one
 * range; a mapping that fits no range's free space fails.
 */
SIM_CONFIG_TEST(test_iova_ranges_honoured,
                "[iommu]\niova-ranges = 0x0-0xffff; 0x100000-0x17ffff; 0x3ff800-0x4fffff\n")

static bool iova_in(uint64_t iova, size_t size, const Range *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (iova >= r[i].lob && iova + size - 1 <= r[i].upb) {
            return true;
        }
    }
    return false;
}

static void test_iova_ranges_honoured_subprocess(void)
{
    static const Range expect[] = {
        { 0, 0xffff }, { 0x100000, 0x17ffff }, { 0x400000, 0x4fffff },
    };
    QEMUVFIOState *s = open_default();
    size_t len = 4 * MiB;
    uint8_t *p = vh_alloc(len, 0);
    uint64_t iova[8];

    /* The partial page at 0x3ff800 is not usable. */
    assert_ranges(s, expect, 3);
    iova[0] = map_ok(s, p, 32 * KiB, false);                  /* range 0 */
    iova[1] = map_ok(s, p + 64 * KiB, 64 * KiB, false);       /* too big for the rest */
    iova[2] = map_ok(s, p + 128 * KiB, 32 * KiB, false);      /* the rest of range 0 */
    g_assert_cmphex(iova[0], ==, 0);
    g_assert_cmphex(iova[1], ==, 0x100000);
    g_assert_cmphex(iova[2], ==, 0x8000);
    iova[3] = map_ok(s, p + 1 * MiB, 256 * KiB, true);        /* top of range 2 */
    g_assert_cmphex(iova[3], ==, 0x500000 - 256 * KiB);
    /* 1 MiB fits nowhere now: 768K left in range 2, 448K in range 1. */
    map_fails(s, p + 2 * MiB, 1 * MiB, true, "IOVA space exhausted");
    map_fails(s, p + 2 * MiB, 1 * MiB, false, "IOVA space exhausted");
    iova[4] = map_ok(s, p + 2 * MiB, 768 * KiB, true);        /* the rest of range 2 */
    g_assert_cmphex(iova[4], ==, 0x400000);
    iova[5] = map_ok(s, p + 3 * MiB, 64 * KiB, true);         /* below it: range 1 */
    g_assert_cmphex(iova[5], ==, 0x180000 - 64 * KiB);
    iova[6] = map_ok(s, p + 3 * MiB + 64 * KiB, 64 * KiB, false);
    g_assert_cmphex(iova[6], ==, 0x110000);
    for (int i = 0; i < 7; i++) {
        g_assert_true(iova_in(iova[i], VH_PAGE, expect, 3));
    }
    qemu_vfio_close(s);
    vh_free(p, len);
}

/* ------------------------------------------------------------------------ */
/* mapping semantics */

static void test_fixed_grow_up(void)
{
    QEMUVFIOState *s;
    uint8_t *p;
    uint64_t base;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(8 * VH_PAGE, 0);
    base = stats(s).iova_first;
    /* Host order does not matter: IOVAs follow the order of the requests. */
    g_assert_cmphex(map_ok(s, p + 4 * VH_PAGE, VH_PAGE, false), ==, base);
    g_assert_cmphex(map_ok(s, p, 2 * VH_PAGE, false), ==, base + 0x1000);
    g_assert_cmphex(map_ok(s, p + 6 * VH_PAGE, VH_PAGE, false), ==, base + 0x3000);
    g_assert_cmphex(stats(s).fixed_limit, ==, base + 0x4000);
    g_assert_cmpuint(stats(s).nr_fixed, ==, 3);
    g_assert_cmpuint(stats(s).dma_ioctls, ==, 3);
    qemu_vfio_close(s);
    vh_free(p, 8 * VH_PAGE);
}

static void test_temporary_grow_down(void)
{
    QEMUVFIOState *s;
    uint8_t *p;
    uint64_t base, top;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(8 * VH_PAGE, 0);
    base = stats(s).iova_first;
    top = stats(s).iova_last + 1;
    g_assert_cmphex(map_ok(s, p, VH_PAGE, true), ==, top - 0x1000);
    g_assert_cmphex(map_ok(s, p + VH_PAGE, 2 * VH_PAGE, true), ==, top - 0x3000);
    g_assert_cmphex(map_ok(s, p + 4 * VH_PAGE, VH_PAGE, false), ==, base);
    g_assert_cmphex(map_ok(s, p + 5 * VH_PAGE, VH_PAGE, true), ==, top - 0x4000);
    g_assert_cmphex(stats(s).temp_start, ==, top - 0x4000);
    g_assert_cmpuint(stats(s).nr_temporary, ==, 3);
    g_assert_cmpuint(stats(s).nr_fixed, ==, 1);
    qemu_vfio_close(s);
    vh_free(p, 8 * VH_PAGE);
}

/* A range inside an existing mapping gets that mapping's IOVA, no new mapping. */
static void test_inside_mapping_reused(void)
{
    QEMUVFIOState *s;
    uint8_t *p;
    uint64_t base, ioctls;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(8 * VH_PAGE, 0);
    base = map_ok(s, p, 4 * VH_PAGE, false);
    ioctls = stats(s).dma_ioctls;
    g_assert_cmphex(map_ok(s, p + 2 * VH_PAGE, VH_PAGE, true), ==, base + 0x2000);
    g_assert_cmphex(map_ok(s, p, 4 * VH_PAGE, false), ==, base);
    g_assert_cmpuint(stats(s).dma_ioctls, ==, ioctls);
    g_assert_cmpuint(stats(s).nr_fixed + stats(s).nr_temporary, ==, 1);
    /* Sticking out of it is a new mapping. */
    g_assert_cmphex(map_ok(s, p + 3 * VH_PAGE, 2 * VH_PAGE, false), ==, base + 0x4000);
    g_assert_cmpuint(stats(s).nr_fixed, ==, 2);
    qemu_vfio_close(s);
    vh_free(p, 8 * VH_PAGE);
}

static void test_reset_recycles(void)
{
    QEMUVFIOState *s;
    Error *err = NULL;
    uint8_t *p;
    uint64_t base, top, ioctls;
    int64_t map_calls;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(8 * VH_PAGE, 0);
    base = stats(s).iova_first;
    top = stats(s).iova_last + 1;
    map_ok(s, p, VH_PAGE, false);
    map_ok(s, p + VH_PAGE, VH_PAGE, true);
    map_ok(s, p + 2 * VH_PAGE, 2 * VH_PAGE, true);
    map_ok(s, p + 4 * VH_PAGE, VH_PAGE, true);
    g_assert_cmphex(stats(s).temp_start, ==, top - 0x4000);

    ioctls = stats(s).dma_ioctls;
    g_assert_true(qemu_vfio_dma_reset_temporary(s, &err));
    vh_assert_no_error(err);
    /* All at once: one UNMAP_DMA. */
    g_assert_cmpuint(stats(s).dma_ioctls, ==, ioctls + 1);
    g_assert_cmpuint(stats(s).nr_temporary, ==, 0);
    g_assert_cmphex(stats(s).temp_start, ==, top);
    g_assert_cmphex(lookup(s, p + VH_PAGE, VH_PAGE), ==, UINT64_MAX);
    g_assert_cmphex(lookup(s, p + 4 * VH_PAGE, VH_PAGE), ==, UINT64_MAX);
    /* The fixed mapping stays. */
    g_assert_cmphex(lookup(s, p, VH_PAGE), ==, base);
    /* The kernel forgot them too: the same IOVAs map again. */
    map_calls = sim_present() ? sim_status("map-calls") : -1;
    g_assert_cmphex(map_ok(s, p + 2 * VH_PAGE, 2 * VH_PAGE, true), ==, top - 0x2000);
    g_assert_cmphex(map_ok(s, p + VH_PAGE, VH_PAGE, true), ==, top - 0x3000);
    if (map_calls >= 0) {
        g_assert_cmpint(sim_status("map-calls"), ==, map_calls + 2);
    }
    /* Nothing to reset: no ioctl. */
    g_assert_true(qemu_vfio_dma_reset_temporary(s, &err));
    ioctls = stats(s).dma_ioctls;
    g_assert_true(qemu_vfio_dma_reset_temporary(s, &err));
    g_assert_cmpuint(stats(s).dma_ioctls, ==, ioctls);
    qemu_vfio_close(s);
    vh_free(p, 8 * VH_PAGE);
}

static void test_unmap_by_host(void)
{
    QEMUVFIOState *s;
    uint8_t *p;
    uint64_t base, top;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(16 * VH_PAGE, 0);
    base = stats(s).iova_first;
    top = stats(s).iova_last + 1;
    map_ok(s, p, VH_PAGE, false);                           /* base */
    map_ok(s, p + VH_PAGE, 2 * VH_PAGE, false);             /* base + 0x1000 */
    map_ok(s, p + 3 * VH_PAGE, VH_PAGE, false);             /* base + 0x3000 */
    map_ok(s, p + 8 * VH_PAGE, VH_PAGE, true);              /* top - 0x1000 */
    map_ok(s, p + 9 * VH_PAGE, VH_PAGE, true);              /* top - 0x2000 */

    /* By any address inside the mapping; the hole is reused by the next fit. */
    qemu_vfio_dma_unmap(s, p + 2 * VH_PAGE);
    g_assert_cmphex(lookup(s, p + VH_PAGE, VH_PAGE), ==, UINT64_MAX);
    g_assert_cmphex(stats(s).fixed_limit, ==, base + 0x4000);
    g_assert_cmphex(map_ok(s, p + 5 * VH_PAGE, VH_PAGE, false), ==, base + 0x1000);
    /* Removing the highest fixed mapping lowers the fixed area's end. */
    qemu_vfio_dma_unmap(s, p + 3 * VH_PAGE);
    g_assert_cmphex(stats(s).fixed_limit, ==, base + 0x2000);
    /* Removing the lowest temporary raises the temporary area's start. */
    qemu_vfio_dma_unmap(s, p + 9 * VH_PAGE);
    g_assert_cmphex(stats(s).temp_start, ==, top - 0x1000);
    qemu_vfio_dma_unmap(s, p + 8 * VH_PAGE);
    g_assert_cmphex(stats(s).temp_start, ==, top);
    g_assert_cmpuint(stats(s).nr_temporary, ==, 0);
    /* Not mapped: nothing happens. */
    qemu_vfio_dma_unmap(s, p + 12 * VH_PAGE);
    g_assert_cmpuint(stats(s).nr_fixed, ==, 2);
    qemu_vfio_dma_unmap(s, p);
    qemu_vfio_dma_unmap(s, p + 5 * VH_PAGE);
    g_assert_cmphex(stats(s).fixed_limit, ==, base);
    g_assert_cmpuint(stats(s).nr_fixed, ==, 0);
    qemu_vfio_close(s);
    vh_free(p, 16 * VH_PAGE);
}

static void test_lookup(void)
{
    QEMUVFIOState *s;
    uint8_t *p;
    uint64_t a, b;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(16 * VH_PAGE, 0);
    a = map_ok(s, p + 2 * VH_PAGE, 4 * VH_PAGE, false);
    b = map_ok(s, p + 8 * VH_PAGE, 2 * VH_PAGE, true);
    g_assert_cmphex(lookup(s, p + 2 * VH_PAGE, 1), ==, a);
    g_assert_cmphex(lookup(s, p + 5 * VH_PAGE + 123, 100), ==, a + 0x3000 + 123);
    g_assert_cmphex(lookup(s, p + 2 * VH_PAGE, 4 * VH_PAGE), ==, a);
    g_assert_cmphex(lookup(s, p + 9 * VH_PAGE + 7, 1), ==, b + 0x1007);
    /* Running past the end, before the start, or between mappings. */
    g_assert_cmphex(lookup(s, p + 5 * VH_PAGE, 2 * VH_PAGE), ==, UINT64_MAX);
    g_assert_cmphex(lookup(s, p + VH_PAGE, 1), ==, UINT64_MAX);
    g_assert_cmphex(lookup(s, p + 7 * VH_PAGE, 1), ==, UINT64_MAX);
    g_assert_false(qemu_vfio_dma_lookup(s, p + 7 * VH_PAGE, 1, NULL));
    g_assert_true(qemu_vfio_dma_lookup(s, p + 8 * VH_PAGE, 1, NULL));
    qemu_vfio_close(s);
    vh_free(p, 16 * VH_PAGE);
}

static void test_misaligned_refused(void)
{
    QEMUVFIOState *s;
    uint8_t *p;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    p = vh_alloc(4 * VH_PAGE, 0);
    map_fails(s, p + 1, VH_PAGE, false, "must be non-zero multiples of 0x1000");
    map_fails(s, p, VH_PAGE + 512, true, "must be non-zero multiples of 0x1000");
    map_fails(s, p, 0, false, "cannot map 0x0 bytes");
    g_assert_cmpuint(stats(s).dma_ioctls, ==, 0);
    qemu_vfio_close(s);
    vh_free(p, 4 * VH_PAGE);
}

/*
 * Capacity is exact: 16 pages of IOVA hold 10 fixed and 6 temporary
 * mappings, the 17th fails with a clear error (and no ioctl), a reset
 * gives the temporary pages back to whichever area needs them, and the
 * areas never cross.
 */
SIM_CONFIG_TEST(test_capacity_exact, "[iommu]\niova-ranges = 0x100000-0x10ffff\n")

static void test_capacity_exact_subprocess(void)
{
    QEMUVFIOState *s = open_default();
    uint8_t *p = vh_alloc(64 * VH_PAGE, 0);
    Error *err = NULL;
    uint64_t ioctls;
    int i;

    for (i = 0; i < 10; i++) {
        g_assert_cmphex(map_ok(s, p + i * VH_PAGE, VH_PAGE, false), ==,
                        0x100000 + i * VH_PAGE);
    }
    for (i = 0; i < 6; i++) {
        g_assert_cmphex(map_ok(s, p + (20 + i) * VH_PAGE, VH_PAGE, true), ==,
                        0x110000 - (i + 1) * VH_PAGE);
    }
    ioctls = stats(s).dma_ioctls;
    map_fails(s, p + 30 * VH_PAGE, VH_PAGE, false,
              "vfio 0000:00:01.0: IOVA space exhausted: no free range of 0x1000 bytes for a "
              "fixed mapping (fixed area below 0x10a000, temporary area from 0x10a000)");
    map_fails(s, p + 30 * VH_PAGE, VH_PAGE, true, "for a temporary mapping");
    g_assert_cmpuint(stats(s).dma_ioctls, ==, ioctls);
    /* Already mapped memory still resolves when full. */
    g_assert_cmphex(map_ok(s, p + 3 * VH_PAGE, VH_PAGE, true), ==, 0x103000);

    g_assert_true(qemu_vfio_dma_reset_temporary(s, &err));
    vh_assert_no_error(err);
    /* The fixed area may now grow into what the temporaries held... */
    g_assert_cmphex(map_ok(s, p + 30 * VH_PAGE, 4 * VH_PAGE, false), ==, 0x10a000);
    /* ...and the temporaries get exactly what is left. */
    g_assert_cmphex(map_ok(s, p + 40 * VH_PAGE, 2 * VH_PAGE, true), ==, 0x10e000);
    map_fails(s, p + 42 * VH_PAGE, VH_PAGE, true, "IOVA space exhausted");
    /* A hole in the fixed area is not temporary space. */
    qemu_vfio_dma_unmap(s, p + 5 * VH_PAGE);
    map_fails(s, p + 42 * VH_PAGE, VH_PAGE, true, "IOVA space exhausted");
    g_assert_cmphex(map_ok(s, p + 42 * VH_PAGE, VH_PAGE, false), ==, 0x105000);
    /* Freeing the top of the fixed area is. */
    qemu_vfio_dma_unmap(s, p + 30 * VH_PAGE);
    g_assert_cmphex(map_ok(s, p + 50 * VH_PAGE, 4 * VH_PAGE, true), ==, 0x10a000);
    /* Bigger than the whole space. */
    map_fails(s, p, 17 * VH_PAGE, false, "no free range of 0x11000 bytes");
    qemu_vfio_close(s);
    vh_free(p, 64 * VH_PAGE);
}

/* The kernel's mapping budget (DMA-avail) is checked before asking it. */
SIM_CONFIG_TEST(test_mapping_limit, "[iommu]\ndma-entry-limit = 4\n")

static void test_mapping_limit_subprocess(void)
{
    QEMUVFIOState *s = open_default();
    uint8_t *p = vh_alloc(8 * VH_PAGE, 0);
    Error *err = NULL;
    uint64_t ioctls;

    g_assert_cmpuint(stats(s).max_mappings, ==, 4);
    map_ok(s, p, VH_PAGE, false);
    map_ok(s, p + VH_PAGE, VH_PAGE, false);
    map_ok(s, p + 2 * VH_PAGE, VH_PAGE, true);
    map_ok(s, p + 3 * VH_PAGE, VH_PAGE, true);
    ioctls = stats(s).dma_ioctls;
    map_fails(s, p + 4 * VH_PAGE, VH_PAGE, true,
              "vfio 0000:00:01.0: cannot map 0x1000 bytes at");
    map_fails(s, p + 4 * VH_PAGE, VH_PAGE, false,
              "the kernel allows 4 DMA mappings and all are in use");
    g_assert_cmpuint(stats(s).dma_ioctls, ==, ioctls);
    g_assert_true(qemu_vfio_dma_reset_temporary(s, &err));
    vh_assert_no_error(err);
    map_ok(s, p + 4 * VH_PAGE, VH_PAGE, true);
    qemu_vfio_close(s);
    vh_free(p, 8 * VH_PAGE);
}

/* ------------------------------------------------------------------------ */
/* kernel failures */

/* EBUSY from MAP_DMA: the range is unmapped and the map retried once. */
static void test_kernel_ebusy_retried(void)
{
    QEMUVFIOState *s;
    uint8_t *p;

    if (!require_sim()) {
        return;
    }
    s = open_default();
    p = vh_alloc(VH_PAGE, 0);
    sim_command("fault reset-counters=1,map-ebusy-at=1");
    g_assert_cmphex(map_ok(s, p, VH_PAGE, false), ==, 0);
    sim_command("fault map-ebusy-at=0");
    /* MAP (EBUSY), UNMAP, MAP. */
    g_assert_cmpuint(stats(s).dma_ioctls, ==, 3);
    g_assert_cmpint(sim_status("map-calls"), ==, 2);
    qemu_vfio_close(s);
    vh_free(p, VH_PAGE);
}

/* ENOSPC from the kernel: a clear error, and the IOVA is not lost. */
static void test_kernel_enospc_reported(void)
{
    QEMUVFIOState *s;
    Error *err = NULL;
    uint8_t *p;

    if (!require_sim()) {
        return;
    }
    s = open_default();
    p = vh_alloc(2 * VH_PAGE, 0);
    sim_command("fault reset-counters=1,map-enospc-at=1");
    g_assert_false(qemu_vfio_dma_map(s, p, VH_PAGE, true, NULL, &err));
    sim_command("fault map-enospc-at=0");
    g_assert_nonnull(err);
    g_assert_cmpint(error_get_errno(err), ==, ENOSPC);
    vh_assert_error(&err, "vfio 0000:00:01.0: cannot map 0x1000 bytes at");
    g_assert_cmpuint(stats(s).nr_temporary, ==, 0);
    g_assert_cmphex(stats(s).temp_start, ==, TOP_48 + 1);
    g_assert_cmphex(map_ok(s, p + VH_PAGE, VH_PAGE, true), ==, TOP_48 + 1 - VH_PAGE);
    qemu_vfio_close(s);
    vh_free(p, 2 * VH_PAGE);
}

/* ------------------------------------------------------------------------ */
/* threads */

#define THREADS         4
#define THREAD_ROUNDS   500

typedef struct ThreadArg {
    QEMUVFIOState *s;
    uint8_t *mem;           /* 4 pages of its own */
    int failures;
} ThreadArg;

static gpointer thread_fn(gpointer opaque)
{
    ThreadArg *t = opaque;
    Error *err = NULL;

    for (int i = 0; i < THREAD_ROUNDS; i++) {
        uint64_t iova, found;

        if (!qemu_vfio_dma_map(t->s, t->mem, 2 * VH_PAGE, false, &iova, &err) ||
            !qemu_vfio_dma_lookup(t->s, t->mem + VH_PAGE, VH_PAGE, &found) ||
            found != iova + VH_PAGE ||
            !qemu_vfio_dma_map(t->s, t->mem + 2 * VH_PAGE, VH_PAGE, true, NULL, &err)) {
            t->failures++;
            error_free(err);
            err = NULL;
        }
        qemu_vfio_dma_unmap(t->s, t->mem);
        if (i % 16 == 15 && !qemu_vfio_dma_reset_temporary(t->s, &err)) {
            t->failures++;
            error_free(err);
            err = NULL;
        }
    }
    return NULL;
}

static void test_threads(void)
{
    ThreadArg args[THREADS];
    GThread *threads[THREADS];
    QEMUVFIOState *s;
    Error *err = NULL;
    uint8_t *mem;

    if (!require_device()) {
        return;
    }
    s = open_dut();
    mem = vh_alloc(THREADS * 4 * VH_PAGE, 0);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (ThreadArg){ .s = s, .mem = mem + i * 4 * VH_PAGE };
        threads[i] = g_thread_new("vh", thread_fn, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpint(args[i].failures, ==, 0);
    }
    g_assert_cmpuint(stats(s).nr_fixed, ==, 0);
    g_assert_cmphex(stats(s).fixed_limit, ==, stats(s).iova_first);
    g_assert_true(qemu_vfio_dma_reset_temporary(s, &err));
    vh_assert_no_error(err);
    g_assert_cmpuint(stats(s).nr_temporary, ==, 0);
    qemu_vfio_close(s);
    vh_free(mem, THREADS * 4 * VH_PAGE);
}

/* ------------------------------------------------------------------------ */
/* RAM blocks */

static void test_ram_blocks_followed(void)
{
    QEMUVFIOState *s;
    Error *err = NULL;
    RAMBlock *a, *b, *c;
    uint8_t *ha, *hb, *hc;
    uint64_t base, ia, ib, ic;

    if (!require_device()) {
        return;
    }
    a = qemu_ram_alloc(2 * MiB, 0, NULL, &err);
    vh_assert_no_error(err);
    ha = qemu_ram_get_host_addr(a);

    /* Existing blocks are mapped at open, as fixed mappings. */
    s = open_dut();
    base = stats(s).iova_first;
    g_assert_cmpuint(stats(s).nr_ram_blocks, ==, 1);
    ia = lookup(s, ha, 2 * MiB);
    g_assert_cmphex(ia, ==, base);
    /* dma_map inside a block is a lookup. */
    g_assert_cmphex(map_ok(s, ha + 64 * KiB, VH_PAGE, true), ==, ia + 64 * KiB);
    g_assert_cmpuint(stats(s).nr_temporary, ==, 0);

    /* New blocks are mapped as they come. */
    b = qemu_ram_alloc(1 * MiB, 0, NULL, &err);
    vh_assert_no_error(err);
    hb = qemu_ram_get_host_addr(b);
    ib = lookup(s, hb, 1 * MiB);
    g_assert_cmphex(ib, ==, base + 2 * MiB);

    /* A resizeable block reserves its maximum but maps what is used. */
    c = qemu_ram_alloc_resizeable(1 * MiB, 4 * MiB, NULL, NULL, &err);
    vh_assert_no_error(err);
    hc = qemu_ram_get_host_addr(c);
    ic = lookup(s, hc, 1 * MiB);
    g_assert_cmphex(ic, ==, base + 3 * MiB);
    g_assert_cmphex(lookup(s, hc, 2 * MiB), ==, UINT64_MAX);
    g_assert_cmphex(stats(s).fixed_limit, ==, base + 7 * MiB);
    g_assert_cmpint(qemu_ram_resize(c, 3 * MiB, &err), ==, 0);
    vh_assert_no_error(err);
    g_assert_cmphex(lookup(s, hc, 3 * MiB), ==, ic);
    g_assert_cmpint(qemu_ram_resize(c, 512 * KiB, &err), ==, 0);
    g_assert_cmphex(lookup(s, hc, 512 * KiB), ==, ic);
    g_assert_cmphex(lookup(s, hc + 512 * KiB, VH_PAGE), ==, UINT64_MAX);

    /* A block's mapping belongs to the block: unmap by host leaves it. */
    qemu_vfio_dma_unmap(s, ha);
    g_assert_cmphex(lookup(s, ha, VH_PAGE), ==, ia);

    /* Freed blocks are unmapped; the IOVA space is reused. */
    qemu_ram_free(b);
    g_assert_cmphex(lookup(s, hb, VH_PAGE), ==, UINT64_MAX);
    g_assert_cmpuint(stats(s).nr_ram_blocks, ==, 2);
    qemu_ram_free(c);
    g_assert_cmphex(stats(s).fixed_limit, ==, base + 2 * MiB);
    g_assert_cmpuint(stats(s).ram_block_errors, ==, 0);
    qemu_vfio_close(s);
    /* After close the notifier is gone: blocks come and go unnoticed. */
    b = qemu_ram_alloc(1 * MiB, 0, NULL, &err);
    vh_assert_no_error(err);
    qemu_ram_free(b);
    qemu_ram_free(a);
}

/* A RAM block that does not fit in the IOVA space fails the open. */
SIM_CONFIG_TEST(test_ram_block_open_fails, "[iommu]\niova-ranges = 0x100000-0x1fffff\n")

static void test_ram_block_open_fails_subprocess(void)
{
    Error *err = NULL;
    RAMBlock *small = qemu_ram_alloc(512 * KiB, 0, NULL, &err);
    RAMBlock *big = qemu_ram_alloc(2 * MiB, 0, NULL, &err);

    vh_assert_no_error(err);
    g_assert_null(qemu_vfio_open_pci(VH_DEFAULT_DEVICE, &err));
    vh_assert_error(&err, "RAM block: vfio 0000:00:01.0: IOVA space exhausted");
    g_assert_cmpint(sim_status("open-files"), ==, 0);
    qemu_ram_free(big);
    qemu_ram_free(small);
}

/*
 * Close releases every mapping -- fixed, temporary and RAM blocks: the
 * container, kept alive with the group through duplicated fds, has
 * nothing mapped any more.
 */
static void test_close_releases_all(void)
{
    g_autoptr(GHashTable) before = NULL;
    QEMUVFIOState *s;
    Error *err = NULL;
    RAMBlock *rb;
    int container, group;
    OpenCount files;
    uint8_t *p;

    if (!require_device()) {
        return;
    }
    files = open_count();
    rb = qemu_ram_alloc(1 * MiB, 0, NULL, &err);
    vh_assert_no_error(err);
    p = vh_alloc(8 * VH_PAGE, 0);
    before = vh_fds_snapshot();
    s = open_dut();
    vh_dup_vfio_fds(before, &container, &group);
    map_ok(s, p, 2 * VH_PAGE, false);
    map_ok(s, p + 2 * VH_PAGE, VH_PAGE, false);
    map_ok(s, p + 4 * VH_PAGE, VH_PAGE, true);
    map_ok(s, p + 6 * VH_PAGE, 2 * VH_PAGE, true);
    g_assert_cmpuint(stats(s).nr_fixed, ==, 3);
    qemu_vfio_close(s);
    g_assert_cmpuint(vh_container_unmap_everything(container), ==, 0);
    close(group);
    close(container);
    assert_open_count(files, 0);
    qemu_ram_free(rb);
    vh_free(p, 8 * VH_PAGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add_func(path, fn)
#define ADD_SIM_CONFIG(path, fn)                        \
    do {                                                \
        g_test_add_func(path, fn);                      \
        g_test_add_func(path "/subprocess", fn##_subprocess); \
    } while (0)

    ADD("/vfio-helpers/open/edu-then-close-releases-fds", test_open_close);
    ADD("/vfio-helpers/open/error/bad-address", test_open_bad_address);
    ADD("/vfio-helpers/open/error/no-such-device", test_open_no_such_device);
    ADD("/vfio-helpers/open/error/group-busy-leaves-nothing", test_open_group_busy);
    ADD_SIM_CONFIG("/vfio-helpers/open/error/group-not-viable", test_open_not_viable);
    ADD_SIM_CONFIG("/vfio-helpers/open/error/not-bound-to-vfio", test_open_not_bound);
    ADD("/vfio-helpers/bar/info-region-and-mmap", test_bar_access);
    ADD("/vfio-helpers/bar/map-refused", test_bar_map_refused);
    ADD_SIM_CONFIG("/vfio-helpers/bar/not-mappable-uses-region", test_bar_not_mappable);
    ADD("/vfio-helpers/config/bounds", test_config_bounds);
    ADD("/vfio-helpers/iova/kernel-ranges-used", test_iova_kernel_ranges);
    ADD_SIM_CONFIG("/vfio-helpers/iova/default-window-without-kernel-ranges",
                   test_iova_default_window);
    ADD_SIM_CONFIG("/vfio-helpers/iova/ranges-with-holes-honoured",
                   test_iova_ranges_honoured);
    ADD("/vfio-helpers/dma/fixed-grow-up", test_fixed_grow_up);
    ADD("/vfio-helpers/dma/temporary-grow-down", test_temporary_grow_down);
    ADD("/vfio-helpers/dma/inside-a-mapping-reuses-it", test_inside_mapping_reused);
    ADD("/vfio-helpers/dma/reset-recycles-temporaries", test_reset_recycles);
    ADD("/vfio-helpers/dma/unmap-by-host", test_unmap_by_host);
    ADD("/vfio-helpers/dma/lookup-by-host", test_lookup);
    ADD("/vfio-helpers/dma/misaligned-refused", test_misaligned_refused);
    ADD_SIM_CONFIG("/vfio-helpers/dma/capacity-exact", test_capacity_exact);
    ADD_SIM_CONFIG("/vfio-helpers/dma/mapping-limit", test_mapping_limit);
    ADD("/vfio-helpers/dma/kernel-ebusy-retried", test_kernel_ebusy_retried);
    ADD("/vfio-helpers/dma/kernel-enospc-reported", test_kernel_enospc_reported);
    ADD("/vfio-helpers/dma/threads", test_threads);
    ADD("/vfio-helpers/dma/close-releases-all", test_close_releases_all);
    ADD("/vfio-helpers/ram-blocks/followed", test_ram_blocks_followed);
    ADD_SIM_CONFIG("/vfio-helpers/ram-blocks/unmappable-block-fails-open",
                   test_ram_block_open_fails);
    return g_test_run();
}
