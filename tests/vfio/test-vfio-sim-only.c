/*
 * VFIO conformance: behaviours the rig's kernel cannot show (the emulated edu
 * has no migration driver, no DMA logging, and vfio-pci pins no pages).  Each
 * test probes for its feature and skips with "sim-only: ..." when the device
 * lacks it, so the real-kernel run lists them as sim-only.
 *
 *   APERTURE_VFIO_MIG_DEVICE       device with VFIO migration v2 and DMA logging
 *                                  (default: APERTURE_VFIO_DEVICE)
 *   APERTURE_VFIO_PINNING_DEVICE   a page-pinning (emulated IOMMU) device, alone
 *                                  in its group (no default)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <unistd.h>

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_BASE 0x1000000ULL
#define NPAGES 16

static const char *mig_device(void)
{
    const char *s = g_getenv("APERTURE_VFIO_MIG_DEVICE");

    return s && *s ? s : vt_device();
}

/* VFIO_DEVICE_FEATURE with a payload of LEN bytes; 0/-errno, payload updated. */
static int device_feature(int fd, uint32_t flags, void *payload, size_t len)
{
    g_autofree uint8_t *buf = g_malloc0(sizeof(struct vfio_device_feature) + len);
    struct vfio_device_feature *f = (void *)buf;
    int r;

    f->argsz = sizeof(*f) + len;
    f->flags = flags;
    if (len) {
        memcpy(f->data, payload, len);
    }
    r = vt_ioctl(fd, VFIO_DEVICE_FEATURE, f);
    if (r >= 0 && len) {
        memcpy(payload, f->data, len);
    }
    return r;
}

static int mig_set_state(int fd, uint32_t state, int *data_fd)
{
    struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
    int r = device_feature(fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
                           &st, sizeof(st));

    if (data_fd) {
        *data_fd = r >= 0 ? st.data_fd : -1;
    }
    return r;
}

static uint32_t mig_get_state(int fd)
{
    struct vfio_device_feature_mig_state st = { 0 };

    vt_assert_ok(device_feature(fd, VFIO_DEVICE_FEATURE_GET |
                                VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st, sizeof(st)));
    return st.device_state;
}

/* Open the migration device; false (test skipped) when it has no migration. */
static bool open_migratable(VtDevice *d, uint64_t *mig_flags)
{
    struct vfio_device_feature_migration mig = { 0 };
    int r;

    if (!vt_require_device(mig_device())) {
        return false;
    }
    vt_device_open(d, mig_device(), VFIO_TYPE1v2_IOMMU);
    r = device_feature(d->device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
                       &mig, sizeof(mig));
    if (r == -ENOTTY) {
        g_autofree char *msg = g_strdup_printf("sim-only: %s has no VFIO migration "
                                               "(vfio-pci without a variant driver)",
                                               mig_device());
        g_test_skip(msg);
        vt_device_close(d);
        return false;
    }
    vt_assert_ok(r);
    *mig_flags = mig.flags;
    return true;
}

static GByteArray *read_all(int fd)
{
    GByteArray *out = g_byte_array_new();
    uint8_t buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        g_assert_cmpint(n, >, 0);
        g_byte_array_append(out, buf, n);
        g_assert_cmpuint(out->len, <, 256u << 20);
    }
    return out;
}

static void test_migration_probe(void)
{
    VtDevice d;
    uint64_t flags;

    if (!open_migratable(&d, &flags)) {
        return;
    }
    g_assert_cmphex(flags & VFIO_MIGRATION_STOP_COPY, ==, VFIO_MIGRATION_STOP_COPY);
    vt_assert_ok(device_feature(d.device, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
                                VFIO_DEVICE_FEATURE_MIGRATION, NULL, 0));
    /* MIGRATION is get-only. */
    vt_assert_fails(device_feature(d.device, VFIO_DEVICE_FEATURE_PROBE |
                                   VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIGRATION,
                                   NULL, 0), EINVAL);
    g_assert_cmpuint(mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RUNNING);
    vt_device_close(&d);
}

/* RUNNING -> STOP -> STOP_COPY (save) -> STOP -> RESUMING (load) -> STOP -> RUNNING. */
static void test_migration_save_and_resume(void)
{
    VtDevice d;
    uint64_t flags;
    int fd;
    g_autoptr(GByteArray) data = NULL;

    if (!open_migratable(&d, &flags)) {
        return;
    }
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_STOP, &fd));
    g_assert_cmpint(fd, ==, -1);
    g_assert_cmpuint(mig_get_state(d.device), ==, VFIO_DEVICE_STATE_STOP);
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_STOP_COPY, &fd));
    g_assert_cmpint(fd, >=, 0);
    data = read_all(fd);
    close(fd);
    g_assert_cmpuint(data->len, >, 0);
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_STOP, NULL));
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_RESUMING, &fd));
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, data->data, data->len), ==, (ssize_t)data->len);
    close(fd);
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_STOP, NULL));
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    g_assert_cmpuint(mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RUNNING);
    vt_device_close(&d);
}

/* The core walks multi-step arcs itself: RUNNING -> STOP_COPY is allowed. */
static void test_migration_multi_step_arc(void)
{
    VtDevice d;
    uint64_t flags;
    int fd;

    if (!open_migratable(&d, &flags)) {
        return;
    }
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_STOP_COPY, &fd));
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_cmpuint(mig_get_state(d.device), ==, VFIO_DEVICE_STATE_STOP_COPY);
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    vt_device_close(&d);
}

static void test_migration_invalid_states(void)
{
    VtDevice d;
    uint64_t flags;

    if (!open_migratable(&d, &flags)) {
        return;
    }
    /* ERROR cannot be asked for, nor a state past the enum. */
    vt_assert_fails(mig_set_state(d.device, VFIO_DEVICE_STATE_ERROR, NULL), EINVAL);
    vt_assert_fails(mig_set_state(d.device, VFIO_DEVICE_STATE_NR, NULL), EINVAL);
    if (!(flags & VFIO_MIGRATION_P2P)) {
        vt_assert_fails(mig_set_state(d.device, VFIO_DEVICE_STATE_RUNNING_P2P, NULL), EINVAL);
    }
    if (!(flags & VFIO_MIGRATION_PRE_COPY)) {
        vt_assert_fails(mig_set_state(d.device, VFIO_DEVICE_STATE_PRE_COPY, NULL), EINVAL);
    }
    g_assert_cmpuint(mig_get_state(d.device), ==, VFIO_DEVICE_STATE_RUNNING);
    vt_device_close(&d);
}

static void test_migration_precopy_info(void)
{
    VtDevice d;
    uint64_t flags;
    int fd;
    struct vfio_precopy_info info = { .argsz = sizeof(info) };

    if (!open_migratable(&d, &flags)) {
        return;
    }
    if (!(flags & VFIO_MIGRATION_PRE_COPY)) {
        g_test_skip("sim-only: the migration device has no PRE_COPY");
        vt_device_close(&d);
        return;
    }
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_PRE_COPY, &fd));
    g_assert_cmpint(fd, >=, 0);
    vt_assert_ok(vt_ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info));
    info.argsz = 4;
    vt_assert_fails(vt_ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info), EINVAL);
    close(fd);
    vt_assert_ok(mig_set_state(d.device, VFIO_DEVICE_STATE_RUNNING, NULL));
    vt_device_close(&d);
}

static void test_migration_data_size(void)
{
    VtDevice d;
    uint64_t flags;
    struct vfio_device_feature_mig_data_size sz = { 0 };

    if (!open_migratable(&d, &flags)) {
        return;
    }
    vt_assert_ok(device_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                                VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &sz, sizeof(sz)));
    g_assert_cmpuint(sz.stop_copy_length, >, 0);
    vt_device_close(&d);
}

/* DMA logging: start over a range, report it, stop. */
static void test_dma_logging(void)
{
    VtDevice d;
    struct vfio_device_feature_dma_logging_range range = {
        .iova = IOVA_BASE, .length = NPAGES * VT_PAGE,
    };
    struct vfio_device_feature_dma_logging_control ctl = {
        .page_size = VT_PAGE, .num_ranges = 1, .ranges = (uintptr_t)&range,
    };
    uint64_t bitmap[1] = { 0 };
    struct vfio_device_feature_dma_logging_report rep = {
        .iova = IOVA_BASE, .length = NPAGES * VT_PAGE, .page_size = VT_PAGE,
        .bitmap = (uintptr_t)bitmap,
    };
    int r;

    if (!vt_require_device(mig_device())) {
        return;
    }
    vt_device_open(&d, mig_device(), VFIO_TYPE1v2_IOMMU);
    r = device_feature(d.device, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
                       VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0);
    if (r == -ENOTTY) {
        g_test_skip("sim-only: the device has no DMA logging");
        vt_device_close(&d);
        return;
    }
    vt_assert_ok(r);
    /* No ranges, unaligned ranges: refused. */
    ctl.num_ranges = 0;
    vt_assert_fails(device_feature(d.device, VFIO_DEVICE_FEATURE_SET |
                                   VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl)),
                    EINVAL);
    ctl.num_ranges = 1;
    range.iova = IOVA_BASE + 1;
    vt_assert_fails(device_feature(d.device, VFIO_DEVICE_FEATURE_SET |
                                   VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl)),
                    EINVAL);
    range.iova = IOVA_BASE;
    vt_assert_ok(device_feature(d.device, VFIO_DEVICE_FEATURE_SET |
                                VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl)));
    vt_assert_ok(device_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                                VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)));
    /* Report page sizes must be powers of two, at least 4 KiB. */
    rep.page_size = 3 * VT_PAGE;
    vt_assert_fails(device_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                                   VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)),
                    EINVAL);
    rep.page_size = VT_PAGE;
    rep.length = 0;
    vt_assert_fails(device_feature(d.device, VFIO_DEVICE_FEATURE_GET |
                                   VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)),
                    EINVAL);
    vt_assert_ok(device_feature(d.device, VFIO_DEVICE_FEATURE_SET |
                                VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0));
    vt_device_close(&d);
}

/*
 * With only page-pinning devices in the container, DIRTY_PAGES reports the
 * pinned pages only: a fresh mapping nobody pinned is clean.
 */
static void test_pinned_dirty_scope(void)
{
    const char *bdf = g_getenv("APERTURE_VFIO_PINNING_DEVICE");
    VtDevice d;
    uint8_t *buf;
    uint64_t bm[1] = { 0 };
    struct vfio_iommu_type1_dirty_bitmap start = {
        .argsz = sizeof(start), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
    };
    struct {
        struct vfio_iommu_type1_dirty_bitmap db;
        struct vfio_iommu_type1_dirty_bitmap_get get;
    } arg = {
        .db = { .argsz = sizeof(arg), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
        .get = {
            .iova = IOVA_BASE, .size = NPAGES * VT_PAGE,
            .bitmap = { .pgsize = VT_PAGE, .size = sizeof(bm), .data = (__u64 *)bm },
        },
    };

    if (!bdf || !*bdf) {
        g_test_skip("sim-only: no page-pinning (emulated IOMMU) device here "
                    "(APERTURE_VFIO_PINNING_DEVICE unset)");
        return;
    }
    if (!vt_require_device(bdf)) {
        return;
    }
    vt_device_open(&d, bdf, VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(NPAGES * VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, NPAGES * VT_PAGE, MAP_RW));
    vt_assert_ok(vt_ioctl(d.container, VFIO_IOMMU_DIRTY_PAGES, &start));
    vt_assert_ok(vt_ioctl(d.container, VFIO_IOMMU_DIRTY_PAGES, &arg));
    g_assert_cmphex(bm[0], ==, 0);
    vt_device_close(&d);
    vt_free(buf, NPAGES * VT_PAGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/sim-only/migration/probe", test_migration_probe);
    g_test_add_func("/vfio/sim-only/migration/save-and-resume", test_migration_save_and_resume);
    g_test_add_func("/vfio/sim-only/migration/multi-step-arc", test_migration_multi_step_arc);
    g_test_add_func("/vfio/sim-only/migration/invalid-states-einval",
                    test_migration_invalid_states);
    g_test_add_func("/vfio/sim-only/migration/precopy-info", test_migration_precopy_info);
    g_test_add_func("/vfio/sim-only/migration/data-size", test_migration_data_size);
    g_test_add_func("/vfio/sim-only/dma-logging/start-report-stop", test_dma_logging);
    g_test_add_func("/vfio/sim-only/page-pinning/dirty-scope-pinned-only",
                    test_pinned_dirty_scope);
    return g_test_run();
}
