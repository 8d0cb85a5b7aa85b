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
/* For dev_setup(): some tests need the container before SET_IOMMU. */
#define GROUP_ONLY 0

/* A bare container, or -1 when the test is skipped. */
static int open_container(void)
{
    if (!vt_require_device(vt_device())) {
        return -1;
    }
    return vt_assert_ok(vt_open_container());
}

/*
 * Open the device with IOMMU_TYPE (or GROUP_ONLY) and, for BUF_SIZE > 0,
 * allocate that much zeroed memory into *BUF.  False when the test is skipped.
 */
static bool dev_setup(VtDevice *d, int iommu_type, size_t buf_size, char **buf)
{
    if (!vt_require_device(vt_device())) {
        return false;
    }
    if (iommu_type == GROUP_ONLY) {
        vt_device_open_group(d, vt_device());
    } else {
        vt_device_open(d, vt_device(), iommu_type);
    }
    if (buf) {
        *buf = buf_size ? vt_alloc(buf_size, 0) : NULL;
    }
    return true;
}

static void dev_teardown(VtDevice *d, char *buf, size_t buf_size)
{
    if (buf) {
        vt_free(buf, buf_size);
    }
    vt_device_close(d);
}

/*
 * GET_INFO and its capability ID, which must be there at version 1.  *INFO
 * holds the buffer the capability points into; the caller frees it.
 */
static const void *iommu_cap(int container, uint16_t id, struct vfio_iommu_type1_info **info)
{
    const struct vfio_info_cap_header *cap;

    *info = vt_iommu_info(container, NULL);
    cap = vt_find_cap(*info, (*info)->argsz, (*info)->cap_offset, id);
    g_assert_nonnull(cap);
    g_assert_cmpuint(cap->version, ==, 1);
    return cap;
}

static uint32_t dma_avail(int container)
{
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    const struct vfio_iommu_type1_info_dma_avail *cap =
        iommu_cap(container, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, &info);

    return cap->avail;
}

/*
 * Most map/unmap tests are a script of MAP_DMA/UNMAP_DMA calls and their
 * expected outcome; run_steps() names the failing step, since one line of
 * code now stands for all of them.
 */
typedef enum StepOp {
    STEP_END,
    STEP_MAP,           /* MAP_DMA of buf + off */
    STEP_UNMAP,         /* UNMAP_DMA, size written back not asked for */
    STEP_UNMAP_SIZE,    /* UNMAP_DMA that succeeds and writes back EXPECT bytes */
    STEP_AVAIL,         /* the DMA_AVAIL capability reads EXPECT */
} StepOp;

typedef struct Step {
    StepOp op;
    uint64_t iova;
    uint64_t off;
    uint64_t size;
    uint32_t flags;
    int err;            /* expected errno, 0 for success */
    uint64_t expect;
} Step;

#define MAP(i_, o_, s_, e_) \
    { .op = STEP_MAP, .iova = (i_), .off = (o_), .size = (s_), .flags = MAP_RW, .err = (e_) }
#define UNMAP(i_, s_, f_, e_) \
    { .op = STEP_UNMAP, .iova = (i_), .size = (s_), .flags = (f_), .err = (e_) }
#define UNMAP_SIZE(i_, s_, f_, x_) \
    { .op = STEP_UNMAP_SIZE, .iova = (i_), .size = (s_), .flags = (f_), .expect = (x_) }
#define AVAIL(x_) { .op = STEP_AVAIL, .expect = (x_) }
#define STEPS_END { .op = STEP_END }

static void run_steps(int container, char *buf, const Step *steps)
{
    for (unsigned i = 0; steps[i].op != STEP_END; i++) {
        const Step *s = &steps[i];
        g_autofree char *what = NULL;
        uint64_t got = 0;
        long r;
        int err;

        if (s->op == STEP_AVAIL) {
            what = g_strdup_printf("step %u: DMA_AVAIL", i);
            got = dma_avail(container);
        } else {
            what = g_strdup_printf("step %u: %s iova 0x%" G_GINT64_MODIFIER "x size 0x%"
                                   G_GINT64_MODIFIER "x flags 0x%x", i,
                                   s->op == STEP_MAP ? "MAP_DMA" : "UNMAP_DMA",
                                   s->iova, s->size, s->flags);
            errno = 0;
            if (s->op == STEP_MAP) {
                r = vt_map(container, s->iova, buf + s->off, s->size, s->flags);
            } else {
                r = vt_unmap(container, s->iova, s->size, s->flags,
                             s->op == STEP_UNMAP_SIZE ? &got : NULL);
            }
            err = errno;
            if (s->err) {
                vt_check_fails(r, err, s->err, what, __FILE__, __LINE__, G_STRFUNC);
            } else {
                vt_check_ok(r, err, what, __FILE__, __LINE__, G_STRFUNC);
            }
        }
        if ((s->op == STEP_AVAIL || s->op == STEP_UNMAP_SIZE) && got != s->expect) {
            g_autofree char *msg = g_strdup_printf("%s: got 0x%" G_GINT64_MODIFIER
                                                   "x, expected 0x%" G_GINT64_MODIFIER "x",
                                                   what, got, s->expect);
            g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
    }
}

typedef struct DmaCase {
    int iommu_type;     /* or GROUP_ONLY */
    size_t buf_size;    /* zeroed memory the MAP steps' offsets are into */
    const Step *steps;
} DmaCase;

static void test_dma_steps(gconstpointer opaque)
{
    const DmaCase *tc = opaque;
    VtDevice d;
    char *buf;

    if (!dev_setup(&d, tc->iommu_type, tc->buf_size, &buf)) {
        return;
    }
    run_steps(d.container, buf, tc->steps);
    dev_teardown(&d, buf, tc->buf_size);
}

static void test_api_version(void)
{
    int c = open_container();

    if (c < 0) {
        return;
    }
    g_assert_cmpint(ioctl(c, VFIO_GET_API_VERSION), ==, VFIO_API_VERSION);
    close(c);
}

typedef struct ExtCheck {
    const char *name;
    unsigned long ext;  /* VFIO numbers extensions from 1: 0 ends a list */
    int present;
} ExtCheck;

#define EXT(e_, p_) { .name = #e_, .ext = (e_), .present = (p_) }

static const ExtCheck ext_offered[] = {
    EXT(VFIO_TYPE1_IOMMU, 1),
    EXT(VFIO_TYPE1v2_IOMMU, 1),
    EXT(VFIO_UNMAP_ALL, 1),
    EXT(VFIO_SPAPR_TCE_IOMMU, 0),
    EXT(VFIO_SPAPR_TCE_v2_IOMMU, 0),
    EXT(VFIO_NOIOMMU_IOMMU, 0),
    /* Unknown extensions are simply not there. */
    EXT(0x7fff, 0),
    { 0 }
};

static const ExtCheck ext_nesting[] = {
    EXT(VFIO_TYPE1_NESTING_IOMMU, 1),
    { 0 }
};

static void test_check_extension(gconstpointer opaque)
{
    int c = open_container();

    if (c < 0) {
        return;
    }
    for (const ExtCheck *e = opaque; e->ext; e++) {
        g_test_message("CHECK_EXTENSION %s", e->name);
        g_assert_cmpint(ioctl(c, VFIO_CHECK_EXTENSION, e->ext), ==, e->present);
    }
    close(c);
}

/* UPDATE_VADDR needs an IOMMU instance: 0 before SET_IOMMU, 1 after. */
static void test_update_vaddr_after_set_iommu(void)
{
    VtDevice d;

    if (!dev_setup(&d, GROUP_ONLY, 0, NULL)) {
        return;
    }
    g_assert_cmpint(ioctl(d.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), ==, 0);
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    g_assert_cmpint(ioctl(d.container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), ==, 1);
    vt_device_close(&d);
}

static void test_set_iommu_without_group(void)
{
    int c = open_container();

    if (c < 0) {
        return;
    }
    vt_assert_fails(ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
    close(c);
}

static void test_set_iommu_twice(void)
{
    VtDevice d;

    if (!dev_setup(&d, GROUP_ONLY, 0, NULL)) {
        return;
    }
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
    vt_device_close(&d);
}

static void test_set_iommu_unoffered_type(void)
{
    VtDevice d;

    if (!dev_setup(&d, GROUP_ONLY, 0, NULL)) {
        return;
    }
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU), ENODEV);
    vt_assert_fails(ioctl(d.container, VFIO_SET_IOMMU, 0x55), ENODEV);
    /* A failed selection leaves the container free for a good one. */
    vt_assert_ok(ioctl(d.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    vt_device_close(&d);
}

static const DmaCase set_iommu_type1_v1 = {
    VFIO_TYPE1_IOMMU, VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE, 0, VT_PAGE, 0),
        UNMAP(IOVA_BASE, VT_PAGE, 0, 0),
        STEPS_END
    }
};

/* Before SET_IOMMU the container has no type1 ioctls. */
static const DmaCase map_before_set_iommu = {
    GROUP_ONLY, VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE, 0, VT_PAGE, EINVAL),
        STEPS_END
    }
};

static void test_get_info_argsz_grows(void)
{
    VtDevice d;
    struct vfio_iommu_type1_info small = { .argsz = sizeof(small) };
    struct vfio_iommu_type1_info tiny = { .argsz = 8 };
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    uint32_t first;

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, 0, NULL)) {
        return;
    }
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

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, 0, NULL)) {
        return;
    }
    cap = iommu_cap(d.container, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, &info);
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

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, 0, NULL)) {
        return;
    }
    cap = iommu_cap(d.container, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, &info);
    g_assert_cmpuint(cap->flags, ==, 0);
    /* The smallest IOMMU page size, and the kernel's 256 MiB bitmap limit. */
    g_assert_cmphex(cap->pgsize_bitmap, ==, VT_PAGE);
    g_assert_cmpuint(cap->max_dirty_bitmap_size, ==, 256ULL << 20);
    vt_device_close(&d);
}

static const DmaCase get_info_dma_avail = {
    VFIO_TYPE1v2_IOMMU, 2 * VT_PAGE, (const Step[]) {
        AVAIL(65535),
        MAP(IOVA_BASE, 0, VT_PAGE, 0),
        MAP(IOVA_BASE + VT_PAGE, VT_PAGE, VT_PAGE, 0),
        AVAIL(65533),
        UNMAP(IOVA_BASE, 2 * VT_PAGE, 0, 0),
        AVAIL(65535),
        STEPS_END
    }
};

static void test_get_info_cap_chain_ids(void)
{
    VtDevice d;
    g_autofree struct vfio_iommu_type1_info *info = NULL;
    uint32_t off;
    unsigned seen = 0, n = 0;

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, 0, NULL)) {
        return;
    }
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

static const DmaCase map_alignment = {
    VFIO_TYPE1v2_IOMMU, 4 * VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE + 1, 0, VT_PAGE, EINVAL),
        MAP(IOVA_BASE, 8, VT_PAGE, EINVAL),
        MAP(IOVA_BASE, 0, VT_PAGE + 512, EINVAL),
        MAP(IOVA_BASE, 0, 0, EINVAL),
        STEPS_END
    }
};

static void test_map_bad_flags(void)
{
    VtDevice d;
    char *buf;
    struct vfio_iommu_type1_dma_map map = { .argsz = 16 };

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, VT_PAGE, &buf)) {
        return;
    }
    /* Neither READ nor WRITE. */
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, 0), EINVAL);
    /* Short argsz. */
    vt_assert_fails(vt_ioctl(d.container, VFIO_IOMMU_MAP_DMA, &map), EINVAL);
    dev_teardown(&d, buf, VT_PAGE);
}

static const DmaCase map_overlap_eexist = {
    VFIO_TYPE1v2_IOMMU, 4 * VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE + VT_PAGE, 0, 2 * VT_PAGE, 0),
        /* Same range, a range inside, ranges across either end. */
        MAP(IOVA_BASE + VT_PAGE, 0, 2 * VT_PAGE, EEXIST),
        MAP(IOVA_BASE + 2 * VT_PAGE, 0, VT_PAGE, EEXIST),
        MAP(IOVA_BASE, 0, 2 * VT_PAGE, EEXIST),
        MAP(IOVA_BASE + 2 * VT_PAGE, 0, 2 * VT_PAGE, EEXIST),
        /* Adjacent ranges are fine. */
        MAP(IOVA_BASE, 0, VT_PAGE, 0),
        MAP(IOVA_BASE + 3 * VT_PAGE, 0, VT_PAGE, 0),
        STEPS_END
    }
};

static const DmaCase map_outside_iova_ranges = {
    VFIO_TYPE1v2_IOMMU, VT_PAGE, (const Step[]) {
        MAP(0xfee00000ULL, 0, VT_PAGE, EINVAL),
        /* Past the top of the address width. */
        MAP(1ULL << 60, 0, VT_PAGE, EINVAL),
        STEPS_END
    }
};

static void test_map_unmapped_vaddr_efault(void)
{
    VtDevice d;
    char *buf;

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, VT_PAGE, &buf)) {
        return;
    }
    vt_free(buf, VT_PAGE);
    vt_assert_fails(vt_map(d.container, IOVA_BASE, buf, VT_PAGE, MAP_RW), EFAULT);
    vt_device_close(&d);
}

static const DmaCase unmap_split_refused = {
    VFIO_TYPE1v2_IOMMU, 4 * VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE, 0, 4 * VT_PAGE, 0),
        /* Head, tail and middle of one mapping. */
        UNMAP(IOVA_BASE, VT_PAGE, 0, EINVAL),
        UNMAP(IOVA_BASE + 3 * VT_PAGE, VT_PAGE, 0, EINVAL),
        UNMAP(IOVA_BASE + VT_PAGE, VT_PAGE, 0, EINVAL),
        /* The whole mapping goes. */
        UNMAP_SIZE(IOVA_BASE, 4 * VT_PAGE, 0, 4 * VT_PAGE),
        STEPS_END
    }
};

static const DmaCase unmap_size_written_back = {
    VFIO_TYPE1v2_IOMMU, 4 * VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE, 0, VT_PAGE, 0),
        MAP(IOVA_BASE + 2 * VT_PAGE, VT_PAGE, 2 * VT_PAGE, 0),
        /* A range covering both mappings and the hole between them. */
        UNMAP_SIZE(IOVA_BASE, 8 * VT_PAGE, 0, 3 * VT_PAGE),
        /* Nothing left there: success, zero bytes. */
        UNMAP_SIZE(IOVA_BASE, 8 * VT_PAGE, 0, 0),
        STEPS_END
    }
};

static const DmaCase unmap_alignment = {
    VFIO_TYPE1v2_IOMMU, 0, (const Step[]) {
        UNMAP(IOVA_BASE + 1, VT_PAGE, 0, EINVAL),
        UNMAP(IOVA_BASE, VT_PAGE - 1, 0, EINVAL),
        STEPS_END
    }
};

static const DmaCase unmap_all = {
    VFIO_TYPE1v2_IOMMU, 4 * VT_PAGE, (const Step[]) {
        MAP(IOVA_BASE, 0, VT_PAGE, 0),
        MAP(0x40000000ULL, VT_PAGE, 3 * VT_PAGE, 0),
        /* ALL wants iova and size 0. */
        UNMAP(IOVA_BASE, VT_PAGE, VFIO_DMA_UNMAP_FLAG_ALL, EINVAL),
        UNMAP_SIZE(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, 4 * VT_PAGE),
        AVAIL(65535),
        /* Everything is gone: the same IOVAs map again. */
        MAP(IOVA_BASE, 0, VT_PAGE, 0),
        STEPS_END
    }
};

static const DmaCase unmap_bad_flags = {
    VFIO_TYPE1v2_IOMMU, 0, (const Step[]) {
        UNMAP(IOVA_BASE, VT_PAGE, 1u << 7, EINVAL),
        STEPS_END
    }
};

/* The container holds at most DMA_AVAIL mappings (65535 by default): then ENOSPC. */
static void test_map_limit_enospc(void)
{
    VtDevice d;
    char *buf;
    uint32_t avail;
    uint64_t base = 0x100000000ULL;

    if (!dev_setup(&d, VFIO_TYPE1v2_IOMMU, VT_PAGE, &buf)) {
        return;
    }
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
    run_steps(d.container, buf, (const Step[]) {
        AVAIL(0),
        MAP(base + (uint64_t)avail * VT_PAGE, 0, VT_PAGE, ENOSPC),
        /* Freeing one makes room for one. */
        UNMAP(base, VT_PAGE, 0, 0),
        MAP(base + (uint64_t)avail * VT_PAGE, 0, VT_PAGE, 0),
        UNMAP_SIZE(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, (uint64_t)avail * VT_PAGE),
        STEPS_END
    });
    dev_teardown(&d, buf, VT_PAGE);
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
    run_steps(d.container, buf, (const Step[]) {
        MAP(IOVA_BASE, 0, 1 << 20, 0),
        MAP(IOVA_BASE + (4 << 20), 1 << 20, 2 << 20, ENOMEM),
        UNMAP_SIZE(IOVA_BASE + (4 << 20), 2 << 20, 0, 0),
        /* Exactly the limit fits once the first mapping is gone. */
        UNMAP(IOVA_BASE, 1 << 20, 0, 0),
        MAP(IOVA_BASE + (4 << 20), 1 << 20, 2 << 20, 0),
        MAP(IOVA_BASE, 0, VT_PAGE, ENOMEM),
        STEPS_END
    });
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
    g_test_add_data_func("/vfio/container/check-extension", ext_offered,
                         test_check_extension);
    g_test_add_data_func("/vfio/container/check-extension-nesting", ext_nesting,
                         test_check_extension);
    g_test_add_func("/vfio/container/update-vaddr-after-set-iommu",
                    test_update_vaddr_after_set_iommu);
    g_test_add_func("/vfio/container/set-iommu-without-group-einval",
                    test_set_iommu_without_group);
    g_test_add_func("/vfio/container/set-iommu-twice-einval", test_set_iommu_twice);
    g_test_add_func("/vfio/container/set-iommu-unoffered-type-enodev",
                    test_set_iommu_unoffered_type);
    g_test_add_data_func("/vfio/container/set-iommu-type1-v1", &set_iommu_type1_v1,
                         test_dma_steps);
    g_test_add_data_func("/vfio/container/map-before-set-iommu-einval", &map_before_set_iommu,
                         test_dma_steps);
    g_test_add_func("/vfio/container/get-info-argsz-grows", test_get_info_argsz_grows);
    g_test_add_func("/vfio/container/get-info-cap-chain", test_get_info_cap_chain_ids);
    g_test_add_func("/vfio/container/get-info-iova-ranges", test_get_info_iova_ranges);
    g_test_add_func("/vfio/container/get-info-migration-cap", test_get_info_migration_cap);
    g_test_add_data_func("/vfio/container/get-info-dma-avail", &get_info_dma_avail,
                         test_dma_steps);
    g_test_add_data_func("/vfio/container/map-alignment-einval", &map_alignment,
                         test_dma_steps);
    g_test_add_func("/vfio/container/map-bad-flags-einval", test_map_bad_flags);
    g_test_add_data_func("/vfio/container/map-overlap-eexist", &map_overlap_eexist,
                         test_dma_steps);
    g_test_add_data_func("/vfio/container/map-outside-iova-ranges-einval",
                         &map_outside_iova_ranges, test_dma_steps);
    g_test_add_func("/vfio/container/map-unmapped-vaddr-efault", test_map_unmapped_vaddr_efault);
    g_test_add_data_func("/vfio/container/unmap-split-einval", &unmap_split_refused,
                         test_dma_steps);
    g_test_add_data_func("/vfio/container/unmap-size-written-back", &unmap_size_written_back,
                         test_dma_steps);
    g_test_add_data_func("/vfio/container/unmap-alignment-einval", &unmap_alignment,
                         test_dma_steps);
    g_test_add_data_func("/vfio/container/unmap-all", &unmap_all, test_dma_steps);
    g_test_add_func("/vfio/container/map-beyond-memlock-enomem", test_map_beyond_memlock_enomem);
    g_test_add_data_func("/vfio/container/unmap-bad-flags-einval", &unmap_bad_flags,
                         test_dma_steps);
    g_test_add_func("/vfio/container/map-limit-enospc", test_map_limit_enospc);
    g_test_add_func("/vfio/container/close-releases-mappings", test_close_releases_mappings);
    return g_test_run();
}
