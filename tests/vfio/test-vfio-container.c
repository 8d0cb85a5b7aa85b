/*
 * VFIO conformance: the legacy container (/dev/vfio/vfio) and type1 IOMMU.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_BASE 0x100000ULL

static void test_api_version(void)
{
    int c;

    if (!vt_require_device(vt_device())) {
        return;
    }
    c = vt_assert_ok(vt_open_container());
    g_assert_cmpint(ioctl(c, VFIO_GET_API_VERSION), ==, VFIO_API_VERSION);
    close(c);
}

static void test_check_extension(void)
{
    int c;

    if (!vt_require_device(vt_device())) {
        return;
    }
    c = vt_assert_ok(vt_open_container());
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), ==, 1);
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), ==, 1);
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), ==, 1);
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), ==, 0);
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU), ==, 0);
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), ==, 0);
    /* Unknown extensions are simply not there. */
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, 0x7fff), ==, 0);
    close(c);
}

static void test_check_extension_nesting(void)
{
    int c;

    if (!vt_require_device(vt_device())) {
        return;
    }
    c = vt_assert_ok(vt_open_container());
    g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU), ==, 1);
    close(c);
}

/* UPDATE_VADDR needs an IOMMU instance: 0 before SET_IOMMU, 1 after. */
static void test_update_vaddr_after_set_iommu(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    g_assert_cmpint(ioctl(d.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), ==, 0);
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    g_assert_cmpint(ioctl(d.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), ==, 1);
    vt_device_close(&d);
}

static void test_set_iommu_without_group(void)
{
    int c;

    if (!vt_require_device(vt_device())) {
        return;
    }
    c = vt_assert_ok(vt_open_container());
    vt_assert_fails(ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
    close(c);
}

static void test_set_iommu_twice(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
    vt_device_close(&d);
}

static void test_set_iommu_unoffered_type(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU), ENODEV);
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, 0x55), ENODEV);
    /* A failed selection leaves the container free for a good one. */
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    vt_device_close(&d);
}

static void test_set_iommu_type1_v1(void)
{
    VtDevice d;
    void *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1_IOMMU);
    buf = vt_alloc(VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, VT_PAGE, 0, NULL));
    vt_free(buf, VT_PAGE);
    vt_device_close(&d);
}

/* Before SET_IOMMU the container has no type1 ioctls. */
static void test_map_before_set_iommu(void)
{
    VtDevice d;
    void *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open_group(&d, vt_device());
    buf = vt_alloc(VT_PAGE, 0);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW), EINVAL);
    vt_free(buf, VT_PAGE);
    vt_device_close(&d);
}

static void test_get_info_argsz_grows(void)
{
    VtDevice d;
    struct vfio_iommu_type1_info small = { .argsz = sizeof(small) };
    struct vfio_iommu_type1_info tiny = { .argsz = 8 };
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    uint32_t first;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_fails(vt_ioctl(d.container, VFIO_IOMMU_GET_INFO, &tiny), EINVAL);

    vt_assert_ok(vt_ioctl(d.container, VFIO_IOMMU_GET_INFO, &small));
    g_assert_cmpuint(small.flags & VFIO_IOMMU_INFO_PGSIZES, !=, 0);
    g_assert_cmpuint(small.flags & VFIO_IOMMU_INFO_CAPS, !=, 0);
    g_assert_cmpuint(small.argsz, >, sizeof(small));
    /* Without room for the chain, no chain is pointed at. */
    g_assert_cmpuint(small.cap_offset, ==, 0);

    info = vt_iommu_info(d.container, &first);
    g_assert_cmpuint(first, ==, small.argsz);
    g_assert_cmpuint(info->argsz, ==, first);
    g_assert_cmpuint(info->cap_offset, >=, sizeof(*info));
    g_assert_cmpuint(info->iova_pgsizes & VT_PAGE, ==, VT_PAGE);
    g_assert_cmphex(info->iova_pgsizes & (VT_PAGE - 1), ==, 0);
    vt_device_close(&d);
}

static void test_get_info_iova_ranges(void)
{
    VtDevice d;
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    const struct vfio_iommu_type1_info_cap_iova_range *cap;
    uint64_t prev_end = 0;
    bool msi_window_excluded = true;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    info = vt_iommu_info(d.container, NULL);
    cap = (const void *)vt_find_cap(info, info->argsz, info->cap_offset,
                                    VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
    g_assert_nonnull(cap);
    g_assert_cmpuint(cap->header.version, ==, 1);
    g_assert_cmpuint(cap->nr_iovas, >=, 1);
    g_assert_cmpuint((const char *)&cap->iova_ranges[cap->nr_iovas] - (const char *)info, <=,
                     info->argsz);
    for (uint32_t i = 0; i < cap->nr_iovas; i++) {
        const struct vfio_iova_range *r = &cap->iova_ranges[i];

        g_test_message("iova range %u: [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                       "x]", i, (uint64_t)r->start, (uint64_t)r->end);
        g_assert_cmphex(r->start, <=, r->end);
        if (i) {
            g_assert_cmphex(r->start, >, prev_end);
        }
        prev_end = r->end;
        if (r->start <= 0xfee00000ULL && 0xfee00000ULL <= r->end) {
            msi_window_excluded = false;
        }
    }
    /* x86: the interrupt window 0xfee00000-0xfeefffff is reserved. */
    g_assert_true(msi_window_excluded);
    g_assert_cmphex(cap->iova_ranges[0].start, ==, 0);
    vt_device_close(&d);
}

static void test_get_info_migration_cap(void)
{
    VtDevice d;
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    const struct vfio_iommu_type1_info_cap_migration *cap;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    info = vt_iommu_info(d.container, NULL);
    cap = (const void *)vt_find_cap(info, info->argsz, info->cap_offset,
                                    VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
    g_assert_nonnull(cap);
    g_assert_cmpuint(cap->header.version, ==, 1);
    g_assert_cmpuint(cap->flags, ==, 0);
    /* The smallest IOMMU page size, and the kernel's 256 MiB bitmap limit. */
    g_assert_cmphex(cap->pgsize_bitmap, ==, VT_PAGE);
    g_assert_cmpuint(cap->max_dirty_bitmap_size, ==, 256ULL << 20);
    vt_device_close(&d);
}

static uint32_t dma_avail(int container)
{
    g_autofree struct vfio_iommu_type1_info *info = vt_iommu_info(container, NULL);
    const struct vfio_iommu_type1_info_dma_avail *cap;

    cap = (const void *)vt_find_cap(info, info->argsz, info->cap_offset,
                                    VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
    g_assert_nonnull(cap);
    g_assert_cmpuint(cap->header.version, ==, 1);
    return cap->avail;
}

static void test_get_info_dma_avail(void)
{
    VtDevice d;
    void *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_cmpuint(dma_avail(d.container), ==, 65535);
    buf = vt_alloc(2 * VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_map(d.container, IOVA_BASE + VT_PAGE, (char *)buf + VT_PAGE, VT_PAGE,
                        MAP_RW));
    g_assert_cmpuint(dma_avail(d.container), ==, 65533);
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, 2 * VT_PAGE, 0, NULL));
    g_assert_cmpuint(dma_avail(d.container), ==, 65535);
    vt_free(buf, 2 * VT_PAGE);
    vt_device_close(&d);
}

static void test_get_info_cap_chain_ids(void)
{
    VtDevice d;
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    uint32_t off;
    unsigned seen = 0, n = 0;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    info = vt_iommu_info(d.container, NULL);
    for (off = info->cap_offset; off; n++) {
        const struct vfio_info_cap_header *h = (const void *)((char *)info + off);

        g_assert_cmpuint(n, <, 16);
        g_assert_cmpuint(off % 4, ==, 0);
        g_assert_cmpuint(off + sizeof(*h), <=, info->argsz);
        g_assert_cmpuint(h->id, >=, 1);
        g_assert_cmpuint(h->id, <=, 31);
        seen |= 1u << h->id;
        off = h->next;
    }
    g_assert_cmphex(seen & 0xe, ==, (1u << VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) |
                    (1u << VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) |
                    (1u << VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL));
    vt_device_close(&d);
}

static void test_map_alignment(void)
{
    VtDevice d;
    char *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(4 * VT_PAGE, 0);
    vt_assert_fails(vt_map(d.container, IOVA_BASE + 1, buf, VT_PAGE, MAP_RW), EINVAL);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf + 8, VT_PAGE, MAP_RW), EINVAL);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE + 512, MAP_RW), EINVAL);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, 0, MAP_RW), EINVAL);
    vt_free(buf, 4 * VT_PAGE);
    vt_device_close(&d);
}

static void test_map_bad_flags(void)
{
    VtDevice d;
    char *buf;
    struct vfio_iommu_type1_dma_map map = { .argsz = 16 };

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(VT_PAGE, 0);
    /* Neither READ nor WRITE. */
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, 0), EINVAL);
    /* Short argsz. */
    vt_assert_fails(vt_ioctl(d.container, VFIO_IOMMU_MAP_DMA, &map), EINVAL);
    vt_free(buf, VT_PAGE);
    vt_device_close(&d);
}

static void test_map_overlap_eexist(void)
{
    VtDevice d;
    char *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(4 * VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE + VT_PAGE, buf, 2 * VT_PAGE, MAP_RW));
    /* Same range, a range inside, ranges across either end. */
    vt_assert_fails(vt_map(d.container, IOVA_BASE + VT_PAGE, buf, 2 * VT_PAGE, MAP_RW), EEXIST);
    vt_assert_fails(vt_map(d.container, IOVA_BASE + 2 * VT_PAGE, buf, VT_PAGE, MAP_RW), EEXIST);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, 2 * VT_PAGE, MAP_RW), EEXIST);
    vt_assert_fails(vt_map(d.container, IOVA_BASE + 2 * VT_PAGE, buf, 2 * VT_PAGE, MAP_RW),
                    EEXIST);
    /* Adjacent ranges are fine. */
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_map(d.container, IOVA_BASE + 3 * VT_PAGE, buf, VT_PAGE, MAP_RW));
    vt_free(buf, 4 * VT_PAGE);
    vt_device_close(&d);
}

static void test_map_outside_iova_ranges(void)
{
    VtDevice d;
    char *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(VT_PAGE, 0);
    vt_assert_fails(vt_map(d.container, 0xfee00000ULL, buf, VT_PAGE, MAP_RW), EINVAL);
    /* Past the top of the address width. */
    vt_assert_fails(vt_map(d.container, 1ULL << 60, buf, VT_PAGE, MAP_RW), EINVAL);
    vt_free(buf, VT_PAGE);
    vt_device_close(&d);
}

static void test_map_unmapped_vaddr_efault(void)
{
    VtDevice d;
    char *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(VT_PAGE, 0);
    vt_free(buf, VT_PAGE);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW), EFAULT);
    vt_device_close(&d);
}

static void test_unmap_split_refused(void)
{
    VtDevice d;
    char *buf;
    uint64_t size = 0;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(4 * VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, 4 * VT_PAGE, MAP_RW));
    /* Head, tail and middle of one mapping. */
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE, VT_PAGE, 0, NULL), EINVAL);
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE + 3 * VT_PAGE, VT_PAGE, 0, NULL), EINVAL);
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE + VT_PAGE, VT_PAGE, 0, NULL), EINVAL);
    /* The whole mapping goes. */
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, 4 * VT_PAGE, 0, &size));
    g_assert_cmphex(size, ==, 4 * VT_PAGE);
    vt_free(buf, 4 * VT_PAGE);
    vt_device_close(&d);
}

static void test_unmap_size_written_back(void)
{
    VtDevice d;
    char *buf;
    uint64_t size = 0;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(4 * VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_map(d.container, IOVA_BASE + 2 * VT_PAGE, buf + VT_PAGE, 2 * VT_PAGE,
                        MAP_RW));
    /* A range covering both mappings and the hole between them. */
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, 8 * VT_PAGE, 0, &size));
    g_assert_cmphex(size, ==, 3 * VT_PAGE);
    /* Nothing left there: success, zero bytes. */
    size = 1;
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, 8 * VT_PAGE, 0, &size));
    g_assert_cmphex(size, ==, 0);
    vt_free(buf, 4 * VT_PAGE);
    vt_device_close(&d);
}

static void test_unmap_alignment(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE + 1, VT_PAGE, 0, NULL), EINVAL);
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE, VT_PAGE - 1, 0, NULL), EINVAL);
    vt_device_close(&d);
}

static void test_unmap_all(void)
{
    VtDevice d;
    char *buf;
    uint64_t size = 0;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(4 * VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_map(d.container, 0x40000000ULL, buf + VT_PAGE, 3 * VT_PAGE, MAP_RW));
    /* ALL wants iova and size 0. */
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE, VT_PAGE, VFIO_DMA_UNMAP_FLAG_ALL, NULL),
                    EINVAL);
    vt_assert_ok(vt_unmap(d.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size));
    g_assert_cmphex(size, ==, 4 * VT_PAGE);
    g_assert_cmpuint(dma_avail(d.container), ==, 65535);
    /* Everything is gone: the same IOVAs map again. */
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_free(buf, 4 * VT_PAGE);
    vt_device_close(&d);
}

static void test_unmap_bad_flags(void)
{
    VtDevice d;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_fails(vt_unmap(d.container, IOVA_BASE, VT_PAGE, 1u << 7, NULL), EINVAL);
    vt_device_close(&d);
}

/* The container holds at most DMA_AVAIL mappings (65535 by default): then ENOSPC. */
static void test_map_limit_enospc(void)
{
    VtDevice d;
    char *buf;
    uint32_t avail;
    uint64_t base = 0x100000000ULL, size = 0;

    if (!vt_require_device(vt_device())) {
        return;
    }
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    buf = vt_alloc(VT_PAGE, 0);
    avail = dma_avail(d.container);
    /* One page mapped again and again at consecutive IOVAs. */
    for (uint32_t i = 0; i < avail; i++) {
        int r = vt_map(d.container, base + i * VT_PAGE, buf, VT_PAGE, MAP_RW);

        if (r < 0) {
            g_autofree char *msg = g_strdup_printf("mapping %u of %u failed: %s", i, avail,
                                                   vt_errname(-r));
            g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
    }
    g_assert_cmpuint(dma_avail(d.container), ==, 0);
    vt_assert_fails(vt_map(d.container, base + (uint64_t)avail * VT_PAGE, buf, VT_PAGE, MAP_RW),
                    ENOSPC);
    /* Freeing one makes room for one. */
    vt_assert_ok(vt_unmap(d.container, base, VT_PAGE, 0, NULL));
    vt_assert_ok(vt_map(d.container, base + (uint64_t)avail * VT_PAGE, buf, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_unmap(d.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size));
    g_assert_cmphex(size, ==, (uint64_t)avail * VT_PAGE);
    vt_free(buf, VT_PAGE);
    vt_device_close(&d);
}

/* Give up CAP_IPC_LOCK (effective): the kernel then holds us to RLIMIT_MEMLOCK. */
static void drop_ipc_lock(void)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    g_assert_cmpint(syscall(SYS_capget, &hdr, data), ==, 0);
    data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    g_assert_cmpint(syscall(SYS_capset, &hdr, data), ==, 0);
}

/*
 * Type1 pins every page at MAP_DMA and charges it to the process's locked
 * memory: beyond RLIMIT_MEMLOCK (without CAP_IPC_LOCK) the map fails ENOMEM
 * and leaves nothing mapped; unmapping gives the pages back.  In a
 * subprocess, which may lower its limit and drop the capability.
 */
static void test_map_beyond_memlock_enomem(void)
{
    struct rlimit rl = { 2 << 20, 2 << 20 };    /* 512 pages */
    uint64_t size = ~0ULL;
    VtDevice d;
    char *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
        return;
    }
    drop_ipc_lock();
    g_assert_cmpint(setrlimit(RLIMIT_MEMLOCK, &rl), ==, 0);
    buf = vt_alloc(4 << 20, 0x5a);
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, 1 << 20, MAP_RW));
    vt_assert_fails(vt_map(d.container, IOVA_BASE + (4 << 20), buf + (1 << 20), 2 << 20,
                           MAP_RW), ENOMEM);
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE + (4 << 20), 2 << 20, 0, &size));
    g_assert_cmphex(size, ==, 0);
    /* Exactly the limit fits once the first mapping is gone. */
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, 1 << 20, 0, NULL));
    vt_assert_ok(vt_map(d.container, IOVA_BASE + (4 << 20), buf + (1 << 20), 2 << 20, MAP_RW));
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW), ENOMEM);
    vt_device_close(&d);
    vt_free(buf, 4 << 20);
}

/* Closing the container fds drops every mapping (a new container maps the same IOVA). */
static void test_close_releases_mappings(void)
{
    VtDevice d;
    char *buf;

    if (!vt_require_device(vt_device())) {
        return;
    }
    buf = vt_alloc(VT_PAGE, 0);
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    vt_device_close(&d);
    vt_device_open(&d, vt_device(), VFIO_TYPE1v2_IOMMU);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW));
    g_assert_cmpuint(dma_avail(d.container), ==, 65534);
    vt_device_close(&d);
    vt_free(buf, VT_PAGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/container/api-version", test_api_version);
    g_test_add_func("/vfio/container/check-extension", test_check_extension);
    g_test_add_func("/vfio/container/check-extension-nesting", test_check_extension_nesting);
    g_test_add_func("/vfio/container/update-vaddr-after-set-iommu",
                    test_update_vaddr_after_set_iommu);
    g_test_add_func("/vfio/container/set-iommu-without-group-einval",
                    test_set_iommu_without_group);
    g_test_add_func("/vfio/container/set-iommu-twice-einval", test_set_iommu_twice);
    g_test_add_func("/vfio/container/set-iommu-unoffered-type-enodev",
                    test_set_iommu_unoffered_type);
    g_test_add_func("/vfio/container/set-iommu-type1-v1", test_set_iommu_type1_v1);
    g_test_add_func("/vfio/container/map-before-set-iommu-einval", test_map_before_set_iommu);
    g_test_add_func("/vfio/container/get-info-argsz-grows", test_get_info_argsz_grows);
    g_test_add_func("/vfio/container/get-info-cap-chain", test_get_info_cap_chain_ids);
    g_test_add_func("/vfio/container/get-info-iova-ranges", test_get_info_iova_ranges);
    g_test_add_func("/vfio/container/get-info-migration-cap", test_get_info_migration_cap);
    g_test_add_func("/vfio/container/get-info-dma-avail", test_get_info_dma_avail);
    g_test_add_func("/vfio/container/map-alignment-einval", test_map_alignment);
    g_test_add_func("/vfio/container/map-bad-flags-einval", test_map_bad_flags);
    g_test_add_func("/vfio/container/map-overlap-eexist", test_map_overlap_eexist);
    g_test_add_func("/vfio/container/map-outside-iova-ranges-einval",
                    test_map_outside_iova_ranges);
    g_test_add_func("/vfio/container/map-unmapped-vaddr-efault", test_map_unmapped_vaddr_efault);
    g_test_add_func("/vfio/container/unmap-split-einval", test_unmap_split_refused);
    g_test_add_func("/vfio/container/unmap-size-written-back", test_unmap_size_written_back);
    g_test_add_func("/vfio/container/unmap-alignment-einval", test_unmap_alignment);
    g_test_add_func("/vfio/container/unmap-all", test_unmap_all);
    g_test_add_func("/vfio/container/map-beyond-memlock-enomem", test_map_beyond_memlock_enomem);
    g_test_add_func("/vfio/container/unmap-bad-flags-einval", test_unmap_bad_flags);
    g_test_add_func("/vfio/container/map-limit-enospc", test_map_limit_enospc);
    g_test_add_func("/vfio/container/close-releases-mappings", test_close_releases_mappings);
    return g_test_run();
}
