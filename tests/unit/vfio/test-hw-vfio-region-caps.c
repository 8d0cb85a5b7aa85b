/*
 * Region set-up against region infos a kernel could send, good and bad,
 * through a fake device transport (VFIODeviceIOOps): sparse-mmap areas are
 * checked and sorted, malformed capability chains refused, and the slow
 * path converts what the transport returns.  No VFIO needed.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/vfio/vfio-device.h"

#define REGION_SIZE     (64 * KiB)

/* What the fake transport answers. */
static struct {
    uint8_t info[512];              /* region 0's info, as the kernel lays it out */
    uint8_t regs[16];               /* region 0's first bytes, for reads */
    int read_error;                 /* -errno for region reads, 0 for success */
} fake;

static int fake_get_device_info(VFIODevice *vdev, struct vfio_device_info **info)
{
    *info = g_new0(struct vfio_device_info, 1);
    (*info)->argsz = sizeof(**info);
    (*info)->flags = VFIO_DEVICE_FLAGS_PCI;
    (*info)->num_regions = 1;
    return 0;
}

static int fake_get_region_info(VFIODevice *vdev, uint32_t index,
                                struct vfio_region_info **info)
{
    const struct vfio_region_info *ri = (const void *)fake.info;

    *info = g_memdup2(fake.info, MAX(ri->argsz, sizeof(*ri)));
    return 0;
}

static ssize_t fake_region_read(VFIODevice *vdev, uint8_t nr, off_t off, void *buf,
                                size_t size)
{
    if (fake.read_error) {
        return fake.read_error;
    }
    memcpy(buf, fake.regs + off, size);
    return size;
}

static ssize_t fake_region_write(VFIODevice *vdev, uint8_t nr, off_t off, const void *buf,
                                 size_t size)
{
    memcpy(fake.regs + off, buf, size);
    return size;
}

static const VFIODeviceIOOps fake_io_ops = {
    .get_device_info = fake_get_device_info,
    .get_region_info = fake_get_region_info,
    .region_read = fake_region_read,
    .region_write = fake_region_write,
};

/* A mappable region info with room for capabilities. */
static struct vfio_region_info *info_init(void)
{
    struct vfio_region_info *ri = (void *)fake.info;

    memset(&fake, 0, sizeof(fake));
    ri->argsz = sizeof(*ri);
    ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                VFIO_REGION_INFO_FLAG_MMAP;
    ri->size = REGION_SIZE;
    ri->offset = 0;
    return ri;
}

/* Append a sparse-mmap capability of version @version listing @n areas. */
static struct vfio_region_info_cap_sparse_mmap *
add_sparse(struct vfio_region_info *ri, uint16_t version, uint32_t n,
           const struct vfio_region_sparse_mmap_area *areas)
{
    size_t off = ROUND_UP(ri->argsz, 8);
    struct vfio_region_info_cap_sparse_mmap *cap = (void *)(fake.info + off);

    ri->flags |= VFIO_REGION_INFO_FLAG_CAPS;
    ri->cap_offset = off;
    cap->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    cap->header.version = version;
    cap->nr_areas = n;
    if (n) {
        memcpy(cap->areas, areas, n * sizeof(*areas));
    }
    ri->argsz = off + sizeof(*cap) + n * sizeof(*areas);
    g_assert_cmpuint(ri->argsz, <=, sizeof(fake.info));
    return cap;
}

static void device_init(VFIODevice *dev, bool no_mmap)
{
    vfio_device_init(dev, "0000:00:0f.0", "/nonexistent", VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    dev->io_ops = &fake_io_ops;
    dev->no_mmap = no_mmap;
    g_assert_true(vfio_device_get_info(dev, &error_abort));
}

static void device_finalize(VFIODevice *dev)
{
    g_free(dev->reginfo[0]);
    g_free(dev->reginfo);
    dev->reginfo = NULL;
    vfio_device_finalize(dev);
}

/* Set up region 0 and expect failure mentioning @needle. */
static void setup_fails(const char *needle)
{
    VFIODevice dev;
    VFIORegion region;
    Error *err = NULL;

    device_init(&dev, false);
    g_assert_false(vfio_region_setup(NULL, &dev, &region, 0, "bar", &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), needle)) {
        g_error("expected an error mentioning \"%s\", got \"%s\"", needle,
                error_get_pretty(err));
    }
    g_assert_null(region.mem);
    g_assert_null(region.mmaps);
    error_free(err);
    device_finalize(&dev);
}

static void test_sparse_sorted_empty_skipped(void)
{
    static const struct vfio_region_sparse_mmap_area areas[] = {
        { .offset = 32 * KiB, .size = 16 * KiB },
        { .offset = 4 * KiB, .size = 0 },
        { .offset = 0, .size = 8 * KiB },
    };
    VFIODevice dev;
    VFIORegion region;

    add_sparse(info_init(), 1, 3, areas);
    device_init(&dev, false);
    g_assert_true(vfio_region_setup(NULL, &dev, &region, 0, "bar", &error_abort));
    g_assert_cmpuint(region.nr_mmaps, ==, 2);
    g_assert_cmpint(region.mmaps[0].offset, ==, 0);
    g_assert_cmpuint(region.mmaps[0].size, ==, 8 * KiB);
    g_assert_cmpint(region.mmaps[1].offset, ==, 32 * KiB);
    g_assert_cmpuint(region.mmaps[1].size, ==, 16 * KiB);
    vfio_region_finalize(&region);
    device_finalize(&dev);
}

static void test_sparse_none_offered(void)
{
    VFIODevice dev;
    VFIORegion region;

    add_sparse(info_init(), 1, 0, NULL);
    device_init(&dev, false);
    g_assert_true(vfio_region_setup(NULL, &dev, &region, 0, "bar", &error_abort));
    g_assert_cmpuint(region.nr_mmaps, ==, 0);
    g_assert_true(vfio_region_mmap(&region, &error_abort));
    vfio_region_finalize(&region);
    device_finalize(&dev);
}

static void test_no_mmap_ignores_sparse(void)
{
    static const struct vfio_region_sparse_mmap_area area = { .offset = 0, .size = 4096 };
    VFIODevice dev;
    VFIORegion region;

    add_sparse(info_init(), 1, 1, &area);
    device_init(&dev, true);
    g_assert_true(vfio_region_setup(NULL, &dev, &region, 0, "bar", &error_abort));
    g_assert_cmpuint(region.nr_mmaps, ==, 0);
    vfio_region_finalize(&region);
    device_finalize(&dev);
}

static void test_sparse_outside_region(void)
{
    static const struct vfio_region_sparse_mmap_area area = {
        .offset = 60 * KiB, .size = 8 * KiB,
    };

    add_sparse(info_init(), 1, 1, &area);
    setup_fails("sparse mmap area 0 [0xf000, +0x2000) is unaligned or outside the region");
}

static void test_sparse_offset_overflow(void)
{
    static const struct vfio_region_sparse_mmap_area area = {
        .offset = UINT64_MAX - 4095, .size = 8 * KiB,
    };

    add_sparse(info_init(), 1, 1, &area);
    setup_fails("is unaligned or outside the region");
}

static void test_sparse_unaligned(void)
{
    static const struct vfio_region_sparse_mmap_area area = { .offset = 512, .size = 4096 };

    add_sparse(info_init(), 1, 1, &area);
    setup_fails("is unaligned or outside the region");
}

static void test_sparse_overlap(void)
{
    static const struct vfio_region_sparse_mmap_area areas[] = {
        { .offset = 8 * KiB, .size = 8 * KiB },
        { .offset = 0, .size = 12 * KiB },
    };

    add_sparse(info_init(), 1, 2, areas);
    setup_fails("sparse mmap areas overlap at 0x2000");
}

static void test_sparse_count_past_cap(void)
{
    static const struct vfio_region_sparse_mmap_area area = { .offset = 0, .size = 4096 };
    struct vfio_region_info *ri = info_init();

    /* Claims 1000 areas in a capability that holds one. */
    add_sparse(ri, 1, 1, &area)->nr_areas = 1000;
    setup_fails("the sparse mmap capability lists 1000 areas");
}

static void test_chain_out_of_bounds(void)
{
    struct vfio_region_info *ri = info_init();

    ri->flags |= VFIO_REGION_INFO_FLAG_CAPS;
    ri->cap_offset = 4096;
    setup_fails("capability chain of its info is malformed");
}

static void test_chain_loop(void)
{
    struct vfio_region_info *ri = info_init();
    uint32_t off = ROUND_UP(sizeof(*ri), 8);
    struct vfio_info_cap_header *hdr = (void *)(fake.info + off);

    /* A capability whose next points back at itself. */
    ri->flags |= VFIO_REGION_INFO_FLAG_CAPS;
    ri->cap_offset = off;
    hdr->id = 0x7777;
    hdr->version = 1;
    hdr->next = off;
    ri->argsz = off + 64;
    setup_fails("capability chain of its info is malformed");
}

static void test_sparse_old_version_unmapped(void)
{
    static const struct vfio_region_sparse_mmap_area area = { .offset = 0, .size = 4096 };
    VFIODevice dev;
    VFIORegion region;

    add_sparse(info_init(), 0, 1, &area);
    device_init(&dev, false);
    g_test_message("a warning about the capability version follows");
    g_assert_true(vfio_region_setup(NULL, &dev, &region, 0, "bar", &error_abort));
    /* Unknown layout: nothing is mapped, every access traps. */
    g_assert_cmpuint(region.nr_mmaps, ==, 0);
    vfio_region_finalize(&region);
    device_finalize(&dev);
}

static void test_mmap_failure_unwinds(void)
{
    VFIODevice dev;
    VFIORegion region;
    Error *err = NULL;

    info_init();
    device_init(&dev, false);
    g_assert_true(vfio_region_setup(NULL, &dev, &region, 0, "bar", &error_abort));
    g_assert_cmpuint(region.nr_mmaps, ==, 1);
    /* The fake transport has no fd to map. */
    g_assert_false(vfio_region_mmap(&region, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "cannot mmap region 0 [0x0, +0x10000)"));
    error_free(err);
    g_assert_null(region.mmaps[0].mmap);
    vfio_region_finalize(&region);
    device_finalize(&dev);
}

static void test_slow_path_through_transport(void)
{
    VFIODevice dev;
    VFIORegion region;

    info_init();
    device_init(&dev, true);
    g_assert_true(vfio_region_setup(NULL, &dev, &region, 0, "bar", &error_abort));
    memcpy(fake.regs, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    g_assert_cmphex(vfio_region_read(&region, 0, 8), ==, 0x0807060504030201ULL);
    g_assert_cmphex(vfio_region_read(&region, 2, 2), ==, 0x0403);
    vfio_region_write(&region, 4, 0xaabbccdd, 4);
    g_assert_cmpmem(fake.regs + 4, 4, "\xdd\xcc\xbb\xaa", 4);
    fake.read_error = -EIO;
    g_test_message("an error report about a failed read follows");
    g_assert_cmphex(vfio_region_read(&region, 0, 2), ==, 0xffff);
    g_assert_cmphex(vfio_region_read(&region, 0, 8), ==, UINT64_MAX);
    vfio_region_finalize(&region);
    device_finalize(&dev);
}

static void test_region_type_cap(void)
{
    struct vfio_region_info *ri = info_init();
    struct vfio_region_info_cap_type *cap;
    struct vfio_region_info *found;
    VFIODevice dev;

    ri->flags |= VFIO_REGION_INFO_FLAG_CAPS;
    ri->cap_offset = ROUND_UP(sizeof(*ri), 8);
    cap = (void *)(fake.info + ri->cap_offset);
    cap->header.id = VFIO_REGION_INFO_CAP_TYPE;
    cap->header.version = 1;
    cap->type = VFIO_REGION_TYPE_MIGRATION_DEPRECATED;
    cap->subtype = 1;
    ri->argsz = ri->cap_offset + sizeof(*cap);
    device_init(&dev, false);
    g_assert_cmpint(vfio_device_get_region_info_type(&dev, VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
                                                     1, &found), ==, 0);
    g_assert_cmpuint(found->index, ==, 0);
    g_assert_cmpint(vfio_device_get_region_info_type(&dev, VFIO_REGION_TYPE_GFX, 1, &found),
                    ==, -ENODEV);
    /* Asked for more bytes than the capability has: not found. */
    g_assert_null(vfio_region_info_cap(dev.reginfo[0], VFIO_REGION_INFO_CAP_TYPE, 1, 64));
    g_assert_nonnull(vfio_region_info_cap(dev.reginfo[0], VFIO_REGION_INFO_CAP_TYPE, 1,
                                          sizeof(*cap)));
    /* A version newer than the one we read is fine, an older one is not. */
    g_assert_null(vfio_region_info_cap(dev.reginfo[0], VFIO_REGION_INFO_CAP_TYPE, 2,
                                       sizeof(*cap)));
    device_finalize(&dev);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/region/sparse/areas-sorted-empty-skipped",
                    test_sparse_sorted_empty_skipped);
    g_test_add_func("/vfio/region/sparse/none-offered", test_sparse_none_offered);
    g_test_add_func("/vfio/region/sparse/x-no-mmap-maps-nothing", test_no_mmap_ignores_sparse);
    g_test_add_func("/vfio/region/sparse/area-outside-region-refused",
                    test_sparse_outside_region);
    g_test_add_func("/vfio/region/sparse/area-offset-overflow-refused",
                    test_sparse_offset_overflow);
    g_test_add_func("/vfio/region/sparse/area-unaligned-refused", test_sparse_unaligned);
    g_test_add_func("/vfio/region/sparse/areas-overlap-refused", test_sparse_overlap);
    g_test_add_func("/vfio/region/sparse/count-past-capability-refused",
                    test_sparse_count_past_cap);
    g_test_add_func("/vfio/region/sparse/old-version-maps-nothing",
                    test_sparse_old_version_unmapped);
    g_test_add_func("/vfio/region/caps/chain-out-of-bounds-refused", test_chain_out_of_bounds);
    g_test_add_func("/vfio/region/caps/chain-loop-refused", test_chain_loop);
    g_test_add_func("/vfio/region/caps/type-lookup", test_region_type_cap);
    g_test_add_func("/vfio/region/mmap-failure-unwinds", test_mmap_failure_unwinds);
    g_test_add_func("/vfio/region/slow-path-through-transport",
                    test_slow_path_through_transport);
    return g_test_run();
}
