/*
 * The container's memory listener (vfio_container_listener_register).
 *
 * TEMPORARY: a minimal listener so that containers can be attached and
 * tested before the real one lands; the listener engineer replaces this
 * file (IOMMU sections, RAM discard, dirty tracking, RAM-device sections,
 * the mapping budget).  It maps RAM and ROM sections (ROM read-only),
 * trimmed to the IOMMU's page size, and skips everything else.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/vfio/vfio-container-base.h"
#include "trace/trace-hw_vfio.h"

/* [*iova, *iova + *size) of @section, trimmed to IOMMU pages; false if empty. */
static bool vfio_listener_section_range(VFIOContainerBase *bcontainer,
                                        MemoryRegionSection *section, hwaddr *iova,
                                        hwaddr *size, void **vaddr)
{
    hwaddr pgsize = vfio_container_min_pagesize(bcontainer);
    hwaddr start = section->offset_within_address_space;
    hwaddr first, limit;

    if (!memory_region_is_ram(section->mr) || memory_region_is_ram_device(section->mr) ||
        memory_region_is_iommu(section->mr)) {
        return false;
    }
    first = ROUND_UP(start, pgsize);
    limit = ROUND_DOWN(start + int128_get64(section->size), pgsize);
    if (limit <= first) {
        return false;
    }
    *iova = first;
    *size = limit - first;
    *vaddr = (uint8_t *)memory_region_get_ram_ptr(section->mr) +
             section->offset_within_region + (first - start);
    return true;
}

static void vfio_listener_report(VFIOContainerBase *bcontainer, Error *err)
{
    if (!bcontainer->initialized) {
        if (!bcontainer->error) {
            bcontainer->error = err;
            return;
        }
        error_free(err);
        return;
    }
    bcontainer->mapping_errors++;
    error_report_err(err);
}

static void vfio_listener_region_add(MemoryListener *listener,
                                     MemoryRegionSection *section)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);
    Error *err = NULL;
    hwaddr iova, size;
    void *vaddr;
    int ret;

    if (!vfio_listener_section_range(bcontainer, section, &iova, &size, &vaddr)) {
        trace_vfio_listener_region_skip(memory_region_name(section->mr),
                                        section->offset_within_address_space);
        return;
    }
    if (!vfio_container_iova_range_valid(bcontainer, iova, size)) {
        error_setg(&err, "vfio: %s [0x%" PRIx64 ", +0x%" PRIx64 ") lies outside the "
                   "IOMMU's IOVA ranges", memory_region_name(section->mr), iova, size);
        vfio_listener_report(bcontainer, err);
        return;
    }
    ret = vfio_container_dma_map(bcontainer, iova, size, vaddr, section->readonly);
    if (ret) {
        error_setg_errno(&err, -ret, "vfio: cannot map %s [0x%" PRIx64 ", +0x%" PRIx64
                         ") for DMA", memory_region_name(section->mr), iova, size);
        vfio_listener_report(bcontainer, err);
    }
}

static void vfio_listener_region_del(MemoryListener *listener,
                                     MemoryRegionSection *section)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);
    hwaddr iova, size;
    void *vaddr;
    int ret;

    if (!vfio_listener_section_range(bcontainer, section, &iova, &size, &vaddr)) {
        return;
    }
    ret = vfio_container_dma_unmap(bcontainer, iova, size, false);
    if (ret) {
        error_report("vfio: cannot unmap %s [0x%" PRIx64 ", +0x%" PRIx64 "): %s",
                     memory_region_name(section->mr), iova, size, strerror(-ret));
    }
}

bool vfio_container_listener_register(VFIOContainerBase *bcontainer, Error **errp)
{
    bcontainer->listener = (MemoryListener) {
        .name = "vfio",
        .priority = MEMORY_LISTENER_PRIORITY_DEV_BACKEND,
        .region_add = vfio_listener_region_add,
        .region_del = vfio_listener_region_del,
    };
    memory_listener_register(&bcontainer->listener, bcontainer->space->as);
    bcontainer->listener_registered = true;
    trace_vfio_container_listener_register(bcontainer->space->as->name,
                                           bcontainer->error != NULL);
    if (bcontainer->error) {
        error_propagate(errp, bcontainer->error);
        bcontainer->error = NULL;
        return false;
    }
    return true;
}

void vfio_container_listener_unregister(VFIOContainerBase *bcontainer)
{
    if (!bcontainer->listener_registered) {
        return;
    }
    memory_listener_unregister(&bcontainer->listener);
    bcontainer->listener_registered = false;
    trace_vfio_container_listener_unregister(bcontainer->space->as->name);
}
