/*
 * VFIO conformance: type1 dirty page tracking (VFIO_IOMMU_DIRTY_PAGES) and
 * unmap with the dirty bitmap.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <unistd.h>

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_BASE 0x200000ULL
#define NPAGES 16

static int dirty_ctl(int container, uint32_t flag)
{
    struct vfio_iommu_type1_dirty_bitmap db = { .argsz = sizeof(db), .flags = flag };

    return vt_ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &db);
}

/* GET_BITMAP over [iova, iova + size) with PGSIZE; BITMAP must hold the bits. */
static int get_bitmap(int container, uint64_t iova, uint64_t size, uint64_t pgsize,
                      uint64_t *bitmap, uint64_t bitmap_bytes)
{
    struct {
        struct vfio_iommu_type1_dirty_bitmap db;
        struct vfio_iommu_type1_dirty_bitmap_get get;
    } arg = {
        .db = { .argsz = sizeof(arg), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
        .get = {
            .iova = iova,
            .size = size,
            .bitmap = { .pgsize = pgsize, .size = bitmap_bytes, .data = (void *)bitmap },
        },
    };

    return vt_ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &arg);
}

static unsigned count_bits(const uint64_t *bm, unsigned nbits)
{
    unsigned n = 0;

    for (unsigned i = 0; i < nbits; i++) {
        n += (bm[i / 64] >> (i % 64)) & 1;
    }
    return n;
}

typedef struct DirtyFixture {
    VtDevice d;
    char *buf;
} DirtyFixture;

static bool setup(DirtyFixture *f)
{
    if (!vt_require_device(vt_device())) {
        return false;
    }
    vt_device_open(&f->d, vt_device(), VFIO_TYPE1v2_IOMMU);
    f->buf = vt_alloc(NPAGES * VT_PAGE, 0);
    vt_assert_ok(vt_map(f->d.container, IOVA_BASE, f->buf, NPAGES * VT_PAGE, MAP_RW));
    return true;
}

static void teardown(DirtyFixture *f)
{
    vt_device_close(&f->d);
    vt_free(f->buf, NPAGES * VT_PAGE);
}

static void test_start_stop(void)
{
    DirtyFixture f;

    if (!setup(&f)) {
        return;
    }
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    /* Starting twice is harmless. */
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
    teardown(&f);
}

static void test_bad_flags(void)
{
    DirtyFixture f;
    struct vfio_iommu_type1_dirty_bitmap db = { .argsz = 4 };

    if (!setup(&f)) {
        return;
    }
    vt_assert_fails(dirty_ctl(f.d.container, 0), EINVAL);
    vt_assert_fails(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
                              VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), EINVAL);
    vt_assert_fails(dirty_ctl(f.d.container, 1u << 5), EINVAL);
    vt_assert_fails(vt_ioctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES, &db), EINVAL);
    teardown(&f);
}

static void test_get_bitmap_not_started(void)
{
    DirtyFixture f;
    uint64_t bm[1] = { 0 };

    if (!setup(&f)) {
        return;
    }
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE, NPAGES * VT_PAGE, VT_PAGE, bm,
                               sizeof(bm)), EINVAL);
    teardown(&f);
}

/* vfio-pci pins nothing, so the kernel must assume every mapped page dirty. */
static void test_all_mapped_pages_dirty(void)
{
    DirtyFixture f;
    uint64_t bm[2];

    if (!setup(&f)) {
        return;
    }
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    memset(bm, 0, sizeof(bm));
    vt_assert_ok(get_bitmap(f.d.container, IOVA_BASE, NPAGES * VT_PAGE, VT_PAGE, bm,
                            sizeof(uint64_t)));
    g_assert_cmpuint(count_bits(bm, NPAGES), ==, NPAGES);
    g_assert_cmphex(bm[0] >> NPAGES, ==, 0);
    /* And again on the next query: nothing is ever known clean. */
    memset(bm, 0, sizeof(bm));
    vt_assert_ok(get_bitmap(f.d.container, IOVA_BASE, NPAGES * VT_PAGE, VT_PAGE, bm,
                            sizeof(uint64_t)));
    g_assert_cmpuint(count_bits(bm, NPAGES), ==, NPAGES);
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
    teardown(&f);
}

/* A mapping made while tracking is on is dirty as a whole too. */
static void test_map_while_tracking_dirty(void)
{
    DirtyFixture f;
    uint64_t bm[1] = { 0 };
    char *more;

    if (!setup(&f)) {
        return;
    }
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    more = vt_alloc(4 * VT_PAGE, 0);
    vt_assert_ok(vt_map(f.d.container, 0x800000ULL, more, 4 * VT_PAGE, MAP_RW));
    vt_assert_ok(get_bitmap(f.d.container, 0x800000ULL, 4 * VT_PAGE, VT_PAGE, bm, sizeof(bm)));
    g_assert_cmphex(bm[0], ==, 0xf);
    vt_assert_ok(vt_unmap(f.d.container, 0x800000ULL, 4 * VT_PAGE, 0, NULL));
    vt_free(more, 4 * VT_PAGE);
    teardown(&f);
}

static void test_pgsize_not_4k(void)
{
    DirtyFixture f;
    uint64_t bm[2] = { 0 };

    if (!setup(&f)) {
        return;
    }
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE, NPAGES * VT_PAGE, 2 * VT_PAGE, bm,
                               sizeof(bm)), EINVAL);
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE, NPAGES * VT_PAGE, 2 << 20, bm,
                               sizeof(bm)), EINVAL);
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE, NPAGES * VT_PAGE, 512, bm,
                               sizeof(bm)), EINVAL);
    teardown(&f);
}

static void test_range_splits_mapping(void)
{
    DirtyFixture f;
    uint64_t bm[2] = { 0 };

    if (!setup(&f)) {
        return;
    }
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    /* First half, second half, a range reaching past the end. */
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE, NPAGES / 2 * VT_PAGE, VT_PAGE, bm,
                               sizeof(bm)), EINVAL);
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE + NPAGES / 2 * VT_PAGE,
                               NPAGES / 2 * VT_PAGE, VT_PAGE, bm, sizeof(bm)), EINVAL);
    vt_assert_fails(get_bitmap(f.d.container, IOVA_BASE + VT_PAGE, NPAGES * VT_PAGE, VT_PAGE,
                               bm, sizeof(bm)), EINVAL);
    teardown(&f);
}

static void test_bitmap_too_small(void)
{
    DirtyFixture f;
    uint64_t bm[1] = { 0 };
    char *big;
    uint64_t npages = 128;

    if (!setup(&f)) {
        return;
    }
    big = vt_alloc(npages * VT_PAGE, 0);
    vt_assert_ok(vt_map(f.d.container, 0x1000000ULL, big, npages * VT_PAGE, MAP_RW));
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    /* 128 pages need 16 bytes of bitmap. */
    vt_assert_fails(get_bitmap(f.d.container, 0x1000000ULL, npages * VT_PAGE, VT_PAGE, bm, 8),
                    EINVAL);
    vt_assert_ok(vt_unmap(f.d.container, 0x1000000ULL, npages * VT_PAGE, 0, NULL));
    vt_free(big, npages * VT_PAGE);
    teardown(&f);
}

static void test_unmap_get_dirty_bitmap(void)
{
    DirtyFixture f;
    uint64_t bm[1] = { 0 };
    struct {
        struct vfio_iommu_type1_dma_unmap unmap;
        struct vfio_bitmap bitmap;
    } arg = {
        .unmap = {
            .argsz = sizeof(arg),
            .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
            .iova = IOVA_BASE,
            .size = NPAGES * VT_PAGE,
        },
        .bitmap = { .pgsize = VT_PAGE, .size = sizeof(bm), .data = (__u64 *)bm },
    };

    if (!setup(&f)) {
        return;
    }
    /* Without tracking on, the bitmap cannot be asked for. */
    vt_assert_fails(vt_ioctl(f.d.container, VFIO_IOMMU_UNMAP_DMA, &arg), EINVAL);
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    /* A wrong page size is refused and unmaps nothing. */
    arg.bitmap.pgsize = 2 * VT_PAGE;
    vt_assert_fails(vt_ioctl(f.d.container, VFIO_IOMMU_UNMAP_DMA, &arg), EINVAL);
    arg.bitmap.pgsize = VT_PAGE;
    arg.unmap.size = NPAGES * VT_PAGE;
    vt_assert_ok(vt_ioctl(f.d.container, VFIO_IOMMU_UNMAP_DMA, &arg));
    g_assert_cmphex(arg.unmap.size, ==, NPAGES * VT_PAGE);
    g_assert_cmpuint(count_bits(bm, NPAGES), ==, NPAGES);
    teardown(&f);
}

static void test_unmap_all_with_bitmap_refused(void)
{
    DirtyFixture f;
    uint64_t bm[1] = { 0 };
    struct {
        struct vfio_iommu_type1_dma_unmap unmap;
        struct vfio_bitmap bitmap;
    } arg = {
        .unmap = {
            .argsz = sizeof(arg),
            .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL,
        },
        .bitmap = { .pgsize = VT_PAGE, .size = sizeof(bm), .data = (__u64 *)bm },
    };

    if (!setup(&f)) {
        return;
    }
    vt_assert_ok(dirty_ctl(f.d.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
    vt_assert_fails(vt_ioctl(f.d.container, VFIO_IOMMU_UNMAP_DMA, &arg), EINVAL);
    teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/dirty/start-stop", test_start_stop);
    g_test_add_func("/vfio/dirty/bad-flags-einval", test_bad_flags);
    g_test_add_func("/vfio/dirty/get-bitmap-not-started-einval", test_get_bitmap_not_started);
    g_test_add_func("/vfio/dirty/all-mapped-pages-dirty", test_all_mapped_pages_dirty);
    g_test_add_func("/vfio/dirty/map-while-tracking-dirty", test_map_while_tracking_dirty);
    g_test_add_func("/vfio/dirty/pgsize-not-4k-einval", test_pgsize_not_4k);
    g_test_add_func("/vfio/dirty/range-splits-mapping-einval", test_range_splits_mapping);
    g_test_add_func("/vfio/dirty/bitmap-too-small-einval", test_bitmap_too_small);
    g_test_add_func("/vfio/dirty/unmap-get-dirty-bitmap", test_unmap_get_dirty_bitmap);
    g_test_add_func("/vfio/dirty/unmap-all-with-bitmap-einval",
                    test_unmap_all_with_bitmap_refused);
    return g_test_run();
}
