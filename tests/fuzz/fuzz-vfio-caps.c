/*
 * Fuzz the two places where Aperture parses capability chains a kernel
 * sends: VFIO_IOMMU_GET_INFO (vfio_iommu_info_parse: IOVA ranges, DMA-avail,
 * migration) and VFIO_DEVICE_GET_REGION_INFO (vfio_region_setup: sparse mmap
 * areas, through a fake device transport).  Whatever the bytes, parsing must
 * stay inside the buffer, terminate, and what it accepts must be sane.
 *
 * Input: byte 0 picks the parser, the rest is the info buffer as the kernel
 * would have filled it (argsz is forced to the buffer's size).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/range.h"
#include "qemu/vfio-info.h"
#include "hw/vfio/vfio-device.h"
#include "fuzz.h"

#define FUZZ_INFO_MAX   4096

static uint8_t *region_info;        /* what the fake transport answers */
static size_t region_info_size;

static void fuzz_iommu_info(const uint8_t *data, size_t size)
{
    g_autofree struct vfio_iommu_type1_info *info = g_malloc0(MAX(size, sizeof(*info)));
    VFIOIOMMUInfo out;
    uint64_t prev_end = 0;
    bool first = true;

    memcpy(info, data, size);
    info->argsz = size;
    if (!vfio_iommu_info_parse(info, size, &out, NULL)) {
        fuzz_check(out.iova_ranges == NULL);
        return;
    }
    fuzz_check(out.iova_pgsizes != 0);
    for (GList *l = out.iova_ranges; l; l = l->next) {
        const Range *r = l->data;

        fuzz_check(!range_is_empty(r));
        fuzz_check(first || range_lob(r) > prev_end);
        prev_end = range_upb(r);
        first = false;
    }
    vfio_iommu_info_clear(&out);
}

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
    *info = g_memdup2(region_info, region_info_size);
    return 0;
}

static ssize_t fake_region_rw(VFIODevice *vdev, uint8_t nr, off_t off, void *buf,
                              size_t size)
{
    memset(buf, 0xff, size);
    return size;
}

static ssize_t fake_region_write(VFIODevice *vdev, uint8_t nr, off_t off,
                                 const void *buf, size_t size)
{
    return size;
}

static const VFIODeviceIOOps fake_io_ops = {
    .get_device_info = fake_get_device_info,
    .get_region_info = fake_get_region_info,
    .region_read = fake_region_rw,
    .region_write = fake_region_write,
};

static void fuzz_region_info(const uint8_t *data, size_t size)
{
    struct vfio_region_info *info;
    VFIORegion region = { 0 };
    VFIODevice dev;

    region_info_size = MAX(size, sizeof(*info));
    region_info = g_malloc0(region_info_size);
    memcpy(region_info, data, size);
    info = (void *)region_info;
    info->argsz = region_info_size;
    info->index = 0;

    vfio_device_init(&dev, "0000:00:0f.0", "/nonexistent", VFIO_DEVICE_FLAGS_PCI,
                     NULL, NULL);
    dev.io_ops = &fake_io_ops;
    fuzz_check(vfio_device_get_info(&dev, NULL));
    if (vfio_region_setup(NULL, &dev, &region, 0, "bar", NULL)) {
        uint64_t prev_end = 0;

        /* Accepted mappable parts lie inside the region, sorted, apart. */
        for (uint32_t i = 0; i < region.nr_mmaps; i++) {
            const VFIOMmap *m = &region.mmaps[i];

            fuzz_check(m->size > 0);
            fuzz_check((uint64_t)m->offset + m->size >= (uint64_t)m->offset);
            fuzz_check((uint64_t)m->offset + m->size <= region.size);
            fuzz_check(i == 0 || (uint64_t)m->offset >= prev_end);
            prev_end = m->offset + m->size;
        }
        vfio_region_exit(&region);
        vfio_region_finalize(&region);
    }
    for (uint32_t i = 0; dev.reginfo && i < dev.num_regions; i++) {
        g_free(dev.reginfo[i]);
    }
    g_free(dev.reginfo);
    dev.reginfo = NULL;
    vfio_device_finalize(&dev);
    g_free(region_info);
    region_info = NULL;
    /* A finalised region's storage is freed by a BH: run it, or every input leaks one. */
    main_loop_wait(true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_INFO_MAX) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_region_info(data + 1, size - 1);
    } else {
        fuzz_iommu_info(data + 1, size - 1);
    }
    return 0;
}
