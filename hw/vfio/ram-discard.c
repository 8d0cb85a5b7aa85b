/*
 * RAM discard coordination: a RAM section whose RamDiscardManager decides
 * which parts are usable is mapped only where it is populated
 * (include/hw/vfio/vfio-listener.h).
 *
 * Each populated granule is its own mapping, so a later discard of any
 * granule unmaps whole mappings (type1 cannot split one).  That costs one
 * DMA mapping per granule, which is why registration warns when the
 * sections could need more than the container's budget.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "hw/vfio/vfio-listener.h"
#include "trace/trace-hw_vfio.h"

static hwaddr vfio_rdl_iova(const VFIORamDiscardListener *vrdl, hwaddr offset_in_region)
{
    return vrdl->offset_within_address_space + (offset_in_region - vrdl->offset_within_region);
}

static void vfio_ram_discard_notify_discard(RamDiscardListener *rdl,
                                            MemoryRegionSection *section)
{
    VFIORamDiscardListener *vrdl = container_of(rdl, VFIORamDiscardListener, listener);
    hwaddr iova = section->offset_within_address_space;
    hwaddr size = int128_get64(section->size);

    trace_vfio_ram_discard_notify_discard(memory_region_name(vrdl->mr), iova, size);
    if (size) {
        vfio_listener_unmap_range(vrdl->bcontainer, memory_region_name(vrdl->mr), iova,
                                  iova + size - 1);
    }
}

static int vfio_ram_discard_notify_populate(RamDiscardListener *rdl,
                                            MemoryRegionSection *section)
{
    VFIORamDiscardListener *vrdl = container_of(rdl, VFIORamDiscardListener, listener);
    VFIOContainerBase *bcontainer = vrdl->bcontainer;
    const char *name = memory_region_name(vrdl->mr);
    hwaddr start = section->offset_within_region;
    hwaddr end = start + int128_get64(section->size);
    uint8_t *host = memory_region_get_ram_ptr(section->mr);
    Error *err = NULL;
    hwaddr pos, next;
    int ret;

    trace_vfio_ram_discard_notify_populate(name, section->offset_within_address_space,
                                           end - start);
    /* One mapping per granule (aligned in the region), so any granule can go alone. */
    for (pos = start; pos < end; pos = next) {
        next = MIN(QEMU_ALIGN_DOWN(pos, vrdl->granularity) + vrdl->granularity, end);
        if (!vfio_listener_dma_map(bcontainer, name, vfio_rdl_iova(vrdl, pos), next - pos,
                                   host + pos, vrdl->readonly, &err)) {
            goto veto;
        }
    }
    return 0;

veto:
    ret = error_get_errno(err) ? -error_get_errno(err) : -EIO;
    trace_vfio_ram_discard_populate_veto(name, vfio_rdl_iova(vrdl, pos), ret);
    /* The manager rolls back the others; what this call mapped goes here. */
    if (pos > start) {
        vfio_listener_unmap_range(bcontainer, name, vfio_rdl_iova(vrdl, start),
                                  vfio_rdl_iova(vrdl, pos) - 1);
    }
    error_prepend(&err, "vfio: populating '%s' at offset 0x%" PRIx64 " refused: ", name, pos);
    if (vrdl->registering) {
        /* The manager's replay at registration: its first refusal fails the registration. */
        if (!vrdl->replay_err) {
            vrdl->replay_err = err;
        } else {
            error_free(err);
        }
    } else {
        /* A later plug: the manager fails it; say why. */
        warn_report_err(err);
    }
    return ret;
}

/* Mappings of the container inside [iova, last]. */
static uint64_t vfio_ram_discard_count_mappings(VFIOContainerBase *bcontainer, hwaddr iova,
                                                hwaddr last)
{
    uint64_t n = 0;
    const DMAMap *m;

    while (iova <= last &&
           (m = iova_tree_find(bcontainer->mappings,
                               &(DMAMap){ .iova = iova, .size = last - iova }))) {
        n++;
        if (m->iova + m->size >= last) {
            break;
        }
        iova = m->iova + m->size + 1;
    }
    return n;
}

/*
 * Whether the discard sections could need more mappings than the budget:
 * every granule of every such section, plus what the rest maps now.
 */
static void vfio_ram_discard_check_budget(VFIOContainerBase *bcontainer)
{
    uint64_t possible = 0, in_sections = 0, others;

    if (!bcontainer->dma_max_mappings) {
        return;
    }
    for (GList *l = bcontainer->vrdl_list; l; l = l->next) {
        VFIORamDiscardListener *vrdl = l->data;
        hwaddr first = QEMU_ALIGN_DOWN(vrdl->offset_within_region, vrdl->granularity);
        hwaddr end = QEMU_ALIGN_UP(vrdl->offset_within_region + vrdl->size, vrdl->granularity);
        hwaddr iova = vrdl->offset_within_address_space;

        possible += (end - first) / vrdl->granularity;
        in_sections += vfio_ram_discard_count_mappings(bcontainer, iova, iova + vrdl->size - 1);
    }
    others = vfio_container_dma_mappings(bcontainer) - in_sections;
    trace_vfio_ram_discard_budget(possible, others, bcontainer->dma_max_mappings);
    if (possible + others > bcontainer->dma_max_mappings) {
        warn_report("vfio: RAM with coordinated discard could need up to %" PRIu64
                    " DMA mappings (plus %" PRIu64 " in use elsewhere), more than the "
                    "IOMMU's budget of %u: plugging memory may fail",
                    possible, others, bcontainer->dma_max_mappings);
    }
}

VFIORamDiscardListener *vfio_ram_discard_register(VFIOContainerBase *bcontainer,
                                                  MemoryRegionSection *section,
                                                  Error **errp)
{
    RamDiscardManager *rdm = memory_region_get_ram_discard_manager(section->mr);
    hwaddr pgsize = vfio_container_min_pagesize(bcontainer);
    uint64_t granularity = ram_discard_manager_get_min_granularity(rdm, section->mr);
    VFIORamDiscardListener *vrdl;
    Error *err;

    if (!granularity || !is_power_of_2(granularity) || granularity < pgsize) {
        error_setg(errp, "its discard granularity 0x%" PRIx64 " is not a power of two of at "
                   "least the IOMMU page size 0x%" PRIx64, granularity, pgsize);
        return NULL;
    }
    if (!QEMU_IS_ALIGNED(section->offset_within_address_space, pgsize) ||
        !QEMU_IS_ALIGNED(section->offset_within_region, pgsize) ||
        !QEMU_IS_ALIGNED(int128_get64(section->size), pgsize)) {
        error_setg(errp, "section [0x%" PRIx64 ", +0x%" PRIx64 ") at region offset 0x%"
                   PRIx64 " is not aligned to the IOMMU page size 0x%" PRIx64,
                   section->offset_within_address_space, int128_get64(section->size),
                   section->offset_within_region, pgsize);
        return NULL;
    }
    vrdl = g_new0(VFIORamDiscardListener, 1);
    vrdl->bcontainer = bcontainer;
    vrdl->mr = section->mr;
    vrdl->offset_within_address_space = section->offset_within_address_space;
    vrdl->offset_within_region = section->offset_within_region;
    vrdl->size = int128_get64(section->size);
    vrdl->granularity = granularity;
    vrdl->readonly = section->readonly;
    trace_vfio_ram_discard_register(memory_region_name(section->mr),
                                    vrdl->offset_within_address_space, vrdl->size,
                                    granularity);
    /* One discard for a whole range is fine: unmapping a hole is a no-op. */
    ram_discard_listener_init(&vrdl->listener, vfio_ram_discard_notify_populate,
                              vfio_ram_discard_notify_discard, true);
    bcontainer->vrdl_list = g_list_append(bcontainer->vrdl_list, vrdl);
    vrdl->registering = true;
    ram_discard_manager_register_listener(rdm, &vrdl->listener, section);
    vrdl->registering = false;
    if (vrdl->replay_err) {
        err = g_steal_pointer(&vrdl->replay_err);
        vfio_ram_discard_unregister(bcontainer, vrdl);
        error_propagate(errp, err);
        return NULL;
    }
    vfio_ram_discard_check_budget(bcontainer);
    return vrdl;
}

void vfio_ram_discard_unregister(VFIOContainerBase *bcontainer,
                                 VFIORamDiscardListener *vrdl)
{
    RamDiscardManager *rdm = memory_region_get_ram_discard_manager(vrdl->mr);
    hwaddr iova = vrdl->offset_within_address_space;

    trace_vfio_ram_discard_unregister(memory_region_name(vrdl->mr), iova, vrdl->size);
    if (rdm && vrdl->listener.section) {
        /* The manager announces the populated parts as discarded: they get unmapped. */
        ram_discard_manager_unregister_listener(rdm, &vrdl->listener);
    }
    /* Whatever a manager forgot to announce goes too. */
    vfio_listener_unmap_range(bcontainer, memory_region_name(vrdl->mr), iova,
                              iova + vrdl->size - 1);
    bcontainer->vrdl_list = g_list_remove(bcontainer->vrdl_list, vrdl);
    error_free(vrdl->replay_err);
    g_free(vrdl);
}
