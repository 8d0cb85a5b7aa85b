/*
 * The container's memory listener: mirrors a guest address space into the
 * IOMMU (include/hw/vfio/vfio-listener.h).
 *
 * The memory core replays the current view when the listener registers,
 * then reports every change.  Each section that region_add acts on is
 * recorded (VFIOListenerSection), so region_del undoes exactly that and
 * log_sync knows what is mapped; every mapping goes through
 * vfio_container_dma_map(), which keeps the container's mapping table.
 */
#include "qemu/osdep.h"
#include <sys/resource.h>
#include "qapi/error.h"
#include "qemu/range.h"
#include "exec/ramblock.h"
#include "hw/vfio/vfio-listener.h"
#include "hw/vfio/vfio-device.h"
#include "trace/trace-hw_vfio.h"

static VFIOListenerState *vfio_listener_state(const VFIOContainerBase *bcontainer)
{
    return bcontainer->listener_state;
}

/* ------------------------------------------------------------------------ */
/* Errors */

void vfio_listener_mapping_error(VFIOContainerBase *bcontainer, const char *name,
                                 Error *err)
{
    trace_vfio_listener_mapping_error(name, bcontainer->initialized,
                                      error_get_pretty(err));
    if (!bcontainer->initialized) {
        /* The replay at registration: the first error fails the attach. */
        if (!bcontainer->error) {
            error_prepend(&err, "'%s': ", name);
            bcontainer->error = err;
        } else {
            error_free(err);
        }
        return;
    }
    /* A running guest cannot be failed: say it once, and count it. */
    bcontainer->mapping_errors++;
    error_prepend(&err, "vfio: cannot map '%s' for DMA, device accesses to it will fault: ",
                  name);
    error_report_err(err);
}

/* ------------------------------------------------------------------------ */
/* Mapping helpers */

/*
 * Why a MAP_DMA failed, for the user: ENOMEM is, by far most often, the
 * kernel pinning the mapping's pages and charging them to the process's
 * locked memory, which without CAP_IPC_LOCK may not exceed RLIMIT_MEMLOCK.
 * One line, as command-line errors are.
 */
static void vfio_listener_map_error(Error **errp, int err, hwaddr iova, hwaddr last)
{
    struct rlimit rl;

    if (err == ENOMEM && !getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY) {
        error_setg(errp, "cannot map [0x%" PRIx64 ", 0x%" PRIx64 "] for DMA: %s (the kernel "
                   "pins mapped pages and, without CAP_IPC_LOCK, counts them against "
                   "RLIMIT_MEMLOCK, %" PRIu64 " KiB here: raise ulimit -l to cover guest RAM)",
                   iova, last, g_strerror(err), (uint64_t)rl.rlim_cur >> 10);
        return;
    }
    error_setg_errno(errp, err, "cannot map [0x%" PRIx64 ", 0x%" PRIx64 "] for DMA", iova,
                     last);
}

bool vfio_listener_dma_map(VFIOContainerBase *bcontainer, const char *name, hwaddr iova,
                           hwaddr size, void *vaddr, bool readonly, Error **errp)
{
    ERRP_GUARD();
    VFIOListenerState *ls = vfio_listener_state(bcontainer);
    uint64_t chunk = ls ? ls->map_chunk : UINT64_MAX;
    uint64_t needed = size / chunk + !!(size % chunk);
    uint32_t in_use = vfio_container_dma_mappings(bcontainer);
    hwaddr done;
    int ret;

    if (!size) {
        return true;
    }
    if (!vfio_container_iova_range_valid(bcontainer, iova, size)) {
        trace_vfio_listener_dma_map_outside(name, iova, size);
        error_setg_errno(errp, EINVAL, "[0x%" PRIx64 ", 0x%" PRIx64 "] lies outside the "
                         "IOMMU's usable IOVA ranges", iova, iova + size - 1);
        return false;
    }
    if (bcontainer->dma_max_mappings && in_use + needed > bcontainer->dma_max_mappings) {
        trace_vfio_listener_dma_map_budget(name, iova, size, needed, in_use,
                                           bcontainer->dma_max_mappings);
        error_setg_errno(errp, ENOSPC, "mapping [0x%" PRIx64 ", 0x%" PRIx64 "] needs %"
                         PRIu64 " DMA mapping(s), %u of the budget of %u are in use",
                         iova, iova + size - 1, needed, in_use,
                         bcontainer->dma_max_mappings);
        error_append_hint(errp, "The host IOMMU driver limits the number of DMA mappings "
                          "(vfio_iommu_type1.dma_entry_limit).\n");
        return false;
    }
    for (done = 0; done < size; done += MIN(chunk, size - done)) {
        hwaddr len = MIN(chunk, size - done);

        ret = vfio_container_dma_map(bcontainer, iova + done, len, (uint8_t *)vaddr + done,
                                     readonly);
        if (ret) {
            vfio_listener_map_error(errp, -ret, iova + done, iova + done + len - 1);
            if (done) {
                /* Nothing of a failed range stays: it is all or nothing. */
                vfio_listener_unmap_range(bcontainer, name, iova, iova + done - 1);
            }
            return false;
        }
    }
    trace_vfio_listener_dma_map(name, iova, size, vaddr, readonly, needed);
    return true;
}

/*
 * The mapping overlapping [iova, last] with the lowest IOVA, or NULL.  The
 * table's inclusive sizes let the search reach the top of the space.
 */
static const DMAMap *vfio_listener_first_mapping(VFIOContainerBase *bcontainer,
                                                 hwaddr iova, hwaddr last)
{
    return iova_tree_find(bcontainer->mappings,
                          &(DMAMap){ .iova = iova, .size = last - iova });
}

bool vfio_listener_dma_unmap_exact(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr last,
                                   Error **errp)
{
    const DMAMap *first = vfio_listener_first_mapping(bcontainer, iova, last);
    const DMAMap *end;
    DMAMap head = { 0 }, tail = { 0 };
    bool has_head = false, has_tail = false;
    hwaddr lo, hi;
    int ret = 0;

    if (!first) {
        return true;
    }
    end = iova_tree_find_address(bcontainer->mappings, last);
    /*
     * A mapping that straddles either end goes whole (the kernel cannot
     * split one) and its outside part is mapped again afterwards.
     */
    lo = first->iova;
    if (first->iova < iova) {
        head = *first;
        head.size = iova - first->iova - 1;
        has_head = true;
    }
    hi = last;
    if (end && end->iova + end->size > last) {
        tail = *end;
        tail.iova = last + 1;
        tail.translated_addr = end->translated_addr + (last + 1 - end->iova);
        tail.size = end->iova + end->size - (last + 1);
        hi = end->iova + end->size;
        has_tail = true;
    }
    trace_vfio_listener_dma_unmap_exact(iova, last, lo, hi, has_head, has_tail);
    if (!vfio_dirty_sync_range(bcontainer, lo, hi, true, errp)) {
        return false;
    }
    if (has_head) {
        ret = vfio_container_dma_map(bcontainer, head.iova, head.size + 1,
                                     (void *)(uintptr_t)head.translated_addr,
                                     head.perm == IOMMU_RO);
    }
    if (has_tail && !ret) {
        ret = vfio_container_dma_map(bcontainer, tail.iova, tail.size + 1,
                                     (void *)(uintptr_t)tail.translated_addr,
                                     tail.perm == IOMMU_RO);
    }
    if (ret) {
        error_setg_errno(errp, -ret, "cannot map again the part of a mapping outside the "
                         "unmapped range [0x%" PRIx64 ", 0x%" PRIx64 "]", iova, last);
        return false;
    }
    return true;
}

bool vfio_listener_unmap_range(VFIOContainerBase *bcontainer, const char *name,
                                hwaddr iova, hwaddr last)
{
    Error *err = NULL;

    if (vfio_listener_dma_unmap_exact(bcontainer, iova, last, &err)) {
        return true;
    }
    bcontainer->mapping_errors++;
    error_prepend(&err, "vfio: cannot unmap '%s' [0x%" PRIx64 ", 0x%" PRIx64 "]: ", name,
                  iova, last);
    error_report_err(err);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Sections */

static gint vfio_listener_section_cmp(gconstpointer a, gconstpointer b, gpointer opaque)
{
    hwaddr x = *(const hwaddr *)a, y = *(const hwaddr *)b;

    return x < y ? -1 : x > y;
}

static VFIOListenerSection *vfio_listener_section_new(VFIOContainerBase *bcontainer,
                                                      MemoryRegionSection *section,
                                                      VFIOListenerSectionKind kind)
{
    VFIOListenerSection *s = g_new0(VFIOListenerSection, 1);

    s->kind = kind;
    s->mr = section->mr;
    memory_region_ref(s->mr);
    s->offset_within_address_space = section->offset_within_address_space;
    s->offset_within_region = section->offset_within_region;
    s->size = section->size;
    s->ram_device = memory_region_is_ram_device(section->mr);
    g_tree_insert(vfio_listener_state(bcontainer)->sections,
                  &s->offset_within_address_space, s);
    return s;
}

static void vfio_listener_section_free(gpointer data)
{
    VFIOListenerSection *s = data;

    memory_region_unref(s->mr);
    g_free(s);
}

VFIOListenerSection *vfio_listener_section_find(VFIOContainerBase *bcontainer,
                                                MemoryRegionSection *section)
{
    VFIOListenerSection *s = g_tree_lookup(vfio_listener_state(bcontainer)->sections,
                                           &section->offset_within_address_space);

    if (s && s->mr == section->mr && s->offset_within_region == section->offset_within_region &&
        int128_eq(s->size, section->size)) {
        return s;
    }
    return NULL;
}

/* Last byte of @section in the address space (sections never wrap past 2^64). */
static hwaddr vfio_section_last(const MemoryRegionSection *section)
{
    return int128_get64(int128_sub(int128_add(int128_make64(section->offset_within_address_space),
                                              section->size), int128_one()));
}

/*
 * Sections the listener leaves alone: what is neither RAM nor behind an
 * IOMMU (MMIO, unassigned), and anything in the top half of the 64-bit
 * space, where sizing a 64-bit BAR briefly puts it (no IOMMU reaches it).
 */
static bool vfio_listener_skipped_section(MemoryRegionSection *section, const char **why)
{
    if (!memory_region_is_ram(section->mr) && !memory_region_is_iommu(section->mr)) {
        *why = "not RAM (MMIO)";
        return true;
    }
    if (section->offset_within_address_space & (1ULL << 63)) {
        *why = "above 2^63 (BAR sizing)";
        return true;
    }
    return false;
}

/*
 * The part of RAM @section the IOMMU can map: whole IOMMU pages.  False
 * when nothing is left; the head and tail dropped are traced.
 */
static bool vfio_listener_section_pages(VFIOContainerBase *bcontainer,
                                        MemoryRegionSection *section, hwaddr *iova,
                                        hwaddr *size)
{
    hwaddr pgsize = vfio_container_min_pagesize(bcontainer);
    hwaddr start = section->offset_within_address_space;
    Int128 end = int128_add(int128_make64(start), section->size);
    Int128 first = int128_make64(QEMU_ALIGN_UP(start, pgsize));
    Int128 limit = int128_and(end, int128_exts64(-(int64_t)pgsize));

    if (int128_ge(first, limit)) {
        trace_vfio_listener_section_too_small(memory_region_name(section->mr), start,
                                              int128_getlo(section->size), pgsize);
        return false;
    }
    *iova = int128_get64(first);
    *size = int128_get64(int128_sub(limit, first));
    if (*iova != start || !int128_eq(limit, end)) {
        trace_vfio_listener_section_unaligned(memory_region_name(section->mr), start,
                                              int128_getlo(section->size), *iova, *size,
                                              pgsize);
    }
    return true;
}

/*
 * RAM-device sections (mmap'd BARs) are mapped only so devices can reach
 * each other (peer-to-peer); without it just that stops working.
 */
static void vfio_listener_ram_device_warn(VFIOContainerBase *bcontainer,
                                          MemoryRegionSection *section, Error *err)
{
    trace_vfio_listener_ram_device_failed(memory_region_name(section->mr),
                                          section->offset_within_address_space,
                                          error_get_pretty(err));
    error_prepend(&err, "vfio: cannot map device memory '%s' for peer-to-peer DMA: ",
                  memory_region_name(section->mr));
    error_append_hint(&err, "Devices of this container cannot reach that BAR by DMA "
                      "(peer-to-peer); everything else works.\n");
    warn_report_err(err);
}

static void vfio_listener_add_ram(VFIOContainerBase *bcontainer,
                                  MemoryRegionSection *section)
{
    const char *name = memory_region_name(section->mr);
    bool ram_device = memory_region_is_ram_device(section->mr);
    VFIOListenerSection *s;
    Error *err = NULL;
    hwaddr iova, size, pgmask = vfio_container_min_pagesize(bcontainer) - 1;
    void *vaddr;

    if (!vfio_listener_section_pages(bcontainer, section, &iova, &size)) {
        return;
    }
    vaddr = (uint8_t *)memory_region_get_ram_ptr(section->mr) +
            section->offset_within_region + (iova - section->offset_within_address_space);
    if ((uintptr_t)vaddr & pgmask) {
        /*
         * Guest and host addresses differ modulo the IOMMU page: no mapping
         * can express it.  QEMU knows such sections (a TPM CRB buffer) to be
         * harmless, so this warns instead of failing the device.
         */
        trace_vfio_listener_section_misaligned(name, iova, vaddr, pgmask + 1);
        error_setg(&err, "guest address 0x%" PRIx64 " and host address %p are not equally "
                   "aligned to the IOMMU page size 0x%" PRIx64, iova, vaddr, pgmask + 1);
        if (ram_device) {
            vfio_listener_ram_device_warn(bcontainer, section, err);
        } else {
            error_prepend(&err, "vfio: '%s' is not mapped for DMA: ", name);
            warn_report_err(err);
        }
        return;
    }
    if (!bcontainer->initialized && bcontainer->error) {
        /* Registration fails anyway: don't map what would be unmapped at once. */
        trace_vfio_listener_region_add_after_error(name, iova, size);
        return;
    }
    trace_vfio_listener_region_add_ram(name, iova, size, vaddr, section->readonly,
                                       ram_device);
    if (!vfio_listener_dma_map(bcontainer, name, iova, size, vaddr, section->readonly,
                               &err)) {
        if (ram_device) {
            vfio_listener_ram_device_warn(bcontainer, section, err);
        } else {
            vfio_listener_mapping_error(bcontainer, name, err);
        }
        return;
    }
    s = vfio_listener_section_new(bcontainer, section, VFIO_SECTION_RAM);
    s->iova = iova;
    s->map_size = size;
}

/* ------------------------------------------------------------------------ */
/* IOMMU sections */

/*
 * Map one translated IOMMU entry: [iova, iova + size) shows guest memory at
 * @gpa of @target_as.  The target may be several RAM regions back to back;
 * anything that is not RAM cannot be mapped.
 */
static void vfio_giommu_map(VFIOGuestIOMMU *giommu, AddressSpace *target_as, hwaddr iova,
                            hwaddr size, hwaddr gpa, bool readonly)
{
    VFIOContainerBase *bcontainer = giommu->bcontainer;
    const char *name = memory_region_name(&giommu->iommu_mr->parent_obj);
    hwaddr done = 0;
    Error *err = NULL;

    /* A MAP over live mappings replaces them (a model may remap without unmapping). */
    if (vfio_listener_first_mapping(bcontainer, iova, iova + size - 1)) {
        trace_vfio_giommu_map_replace(name, iova, size);
        if (!vfio_listener_unmap_range(bcontainer, name, iova, iova + size - 1)) {
            return;
        }
    }
    while (done < size) {
        hwaddr xlat, len = size - done;
        MemoryRegion *mr = address_space_translate(target_as, gpa + done, &xlat, &len,
                                                   !readonly, MEMTXATTRS_UNSPECIFIED);
        void *vaddr;

        len = MIN(len, size - done);
        if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) || !len) {
            trace_vfio_giommu_map_not_ram(name, iova + done, gpa + done,
                                          memory_region_name(mr));
            error_setg(&err, "IOMMU entry [0x%" PRIx64 ", 0x%" PRIx64 "] translates to "
                       "0x%" PRIx64 " in '%s', which is not guest RAM (%s): not mapped",
                       iova + done, iova + size - 1, gpa + done, target_as->name,
                       memory_region_name(mr));
            vfio_listener_mapping_error(bcontainer, name, err);
            return;
        }
        vaddr = (uint8_t *)memory_region_get_ram_ptr(mr) + xlat;
        if (!vfio_listener_dma_map(bcontainer, name, iova + done, len, vaddr,
                                   readonly || memory_region_is_rom(mr), &err)) {
            vfio_listener_mapping_error(bcontainer, name, err);
            return;
        }
        done += len;
    }
}

static void vfio_giommu_notify(IOMMUNotifier *n, IOMMUTLBEntry *entry)
{
    VFIOGuestIOMMU *giommu = container_of(n, VFIOGuestIOMMU, n);
    VFIOContainerBase *bcontainer = giommu->bcontainer;
    hwaddr iova = entry->iova + giommu->iommu_offset;
    hwaddr last = iova + entry->addr_mask;

    trace_vfio_giommu_notify(entry->perm == IOMMU_NONE ? "unmap" : "map", iova, last,
                             entry->translated_addr, entry->perm);
    if (entry->perm == IOMMU_NONE) {
        vfio_listener_unmap_range(bcontainer, memory_region_name(&giommu->iommu_mr->parent_obj),
                            iova, last);
        return;
    }
    if (last < iova || entry->addr_mask == HWADDR_MAX || !entry->target_as) {
        Error *err = NULL;

        error_setg(&err, "IOMMU entry [0x%" PRIx64 ", +0x%" PRIx64 "] cannot be mapped",
                   iova, entry->addr_mask);
        vfio_listener_mapping_error(bcontainer,
                                    memory_region_name(&giommu->iommu_mr->parent_obj), err);
        return;
    }
    vfio_giommu_map(giommu, entry->target_as, iova, entry->addr_mask + 1,
                    entry->translated_addr, !(entry->perm & IOMMU_WO));
}

static void vfio_listener_add_iommu(VFIOContainerBase *bcontainer,
                                    MemoryRegionSection *section)
{
    IOMMUMemoryRegion *iommu_mr = memory_region_get_iommu(section->mr);
    const char *name = memory_region_name(section->mr);
    VFIOGuestIOMMU *giommu;
    VFIOListenerSection *s;
    Error *err = NULL;
    hwaddr last = section->offset_within_region +
                  int128_get64(int128_sub(section->size, int128_one()));
    int idx = memory_region_iommu_attrs_to_index(iommu_mr, MEMTXATTRS_UNSPECIFIED);

    trace_vfio_listener_region_add_iommu(name, section->offset_within_address_space,
                                         vfio_section_last(section));
    /* Let the model refuse page sizes or windows the host IOMMU cannot do. */
    if (memory_region_iommu_set_page_size_mask(iommu_mr, bcontainer->pgsizes, &err) ||
        (bcontainer->iova_ranges &&
         memory_region_iommu_set_iova_ranges(iommu_mr, bcontainer->iova_ranges, &err))) {
        error_prepend(&err, "the vIOMMU does not fit the host IOMMU: ");
        vfio_listener_mapping_error(bcontainer, name, err);
        return;
    }
    giommu = g_new0(VFIOGuestIOMMU, 1);
    giommu->bcontainer = bcontainer;
    giommu->iommu_mr = iommu_mr;
    giommu->iommu_offset = section->offset_within_address_space -
                           section->offset_within_region;
    iommu_notifier_init(&giommu->n, vfio_giommu_notify, IOMMU_NOTIFIER_IOTLB_EVENTS,
                        section->offset_within_region, last, idx);
    if (memory_region_register_iommu_notifier(section->mr, &giommu->n, &err)) {
        vfio_listener_mapping_error(bcontainer, name, err);
        g_free(giommu);
        return;
    }
    memory_region_ref(&iommu_mr->parent_obj);
    bcontainer->giommu_list = g_list_prepend(bcontainer->giommu_list, giommu);
    s = vfio_listener_section_new(bcontainer, section, VFIO_SECTION_IOMMU);
    s->giommu = giommu;
    /* What the vIOMMU maps already. */
    memory_region_iommu_replay(iommu_mr, &giommu->n);
}

static void vfio_listener_del_iommu(VFIOContainerBase *bcontainer, VFIOListenerSection *s)
{
    VFIOGuestIOMMU *giommu = s->giommu;
    hwaddr last = s->offset_within_address_space +
                  int128_get64(int128_sub(s->size, int128_one()));

    memory_region_unregister_iommu_notifier(&giommu->iommu_mr->parent_obj, &giommu->n);
    bcontainer->giommu_list = g_list_remove(bcontainer->giommu_list, giommu);
    /* Whatever the notifier mapped inside the section goes with it. */
    vfio_listener_unmap_range(bcontainer, memory_region_name(s->mr), s->offset_within_address_space,
                        last);
    memory_region_unref(&giommu->iommu_mr->parent_obj);
    g_free(giommu);
}

/* ------------------------------------------------------------------------ */
/* The listener */

static void vfio_listener_region_add(MemoryListener *listener, MemoryRegionSection *section)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);
    const char *why;

    if (vfio_listener_skipped_section(section, &why)) {
        trace_vfio_listener_region_skip(memory_region_name(section->mr),
                                        section->offset_within_address_space, why);
        return;
    }
    if (memory_region_is_iommu(section->mr)) {
        vfio_listener_add_iommu(bcontainer, section);
        return;
    }
    if (memory_region_has_ram_discard_manager(section->mr)) {
        VFIORamDiscardListener *vrdl;
        Error *err = NULL;

        if (!bcontainer->initialized && bcontainer->error) {
            trace_vfio_listener_region_add_after_error(memory_region_name(section->mr),
                                                       section->offset_within_address_space,
                                                       int128_getlo(section->size));
            return;
        }
        vrdl = vfio_ram_discard_register(bcontainer, section, &err);
        if (!vrdl) {
            vfio_listener_mapping_error(bcontainer, memory_region_name(section->mr), err);
            return;
        }
        vfio_listener_section_new(bcontainer, section, VFIO_SECTION_DISCARD)->vrdl = vrdl;
        return;
    }
    vfio_listener_add_ram(bcontainer, section);
}

static void vfio_listener_region_del(MemoryListener *listener, MemoryRegionSection *section)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);
    VFIOListenerState *ls = vfio_listener_state(bcontainer);
    VFIOListenerSection *s = vfio_listener_section_find(bcontainer, section);

    if (!s) {
        trace_vfio_listener_region_del_skip(memory_region_name(section->mr),
                                            section->offset_within_address_space);
        return;
    }
    trace_vfio_listener_region_del(memory_region_name(section->mr), s->kind,
                                   section->offset_within_address_space,
                                   vfio_section_last(section));
    switch (s->kind) {
    case VFIO_SECTION_RAM:
        vfio_listener_unmap_range(bcontainer, memory_region_name(s->mr), s->iova,
                            s->iova + s->map_size - 1);
        break;
    case VFIO_SECTION_IOMMU:
        vfio_listener_del_iommu(bcontainer, s);
        break;
    case VFIO_SECTION_DISCARD:
        vfio_ram_discard_unregister(bcontainer, s->vrdl);
        break;
    }
    g_tree_remove(ls->sections, &s->offset_within_address_space);
}

/*
 * The largest mapping that one dirty-bitmap query can still cover: the
 * kernel refuses a query that splits a mapping, so a mapping larger than
 * that could never be queried at all.
 */
static uint64_t vfio_listener_map_chunk(const VFIOContainerBase *bcontainer)
{
    uint64_t pgsize = qemu_real_host_page_size();
    uint64_t bits;

    if (!bcontainer->dirty_pages_supported || !bcontainer->max_dirty_bitmap_size) {
        return UINT64_MAX;
    }
    bits = QEMU_ALIGN_DOWN(bcontainer->max_dirty_bitmap_size, sizeof(uint64_t)) * 8;
    if (!bits || bits > UINT64_MAX / pgsize) {
        return UINT64_MAX;
    }
    return MAX(bits * pgsize, vfio_container_min_pagesize(bcontainer));
}

bool vfio_container_listener_register(VFIOContainerBase *bcontainer, Error **errp)
{
    VFIOListenerState *ls;

    if (bcontainer->listener_registered) {
        return true;
    }
    ls = g_new0(VFIOListenerState, 1);
    ls->sections = g_tree_new_full(vfio_listener_section_cmp, NULL, NULL,
                                   vfio_listener_section_free);
    ls->map_chunk = vfio_listener_map_chunk(bcontainer);
    ls->mode = VFIO_DIRTY_TRACKING_NONE;
    bcontainer->listener_state = ls;
    bcontainer->listener = (MemoryListener) {
        .name = "vfio",
        .priority = MEMORY_LISTENER_PRIORITY_DEV_BACKEND,
        .region_add = vfio_listener_region_add,
        .region_del = vfio_listener_region_del,
        .log_global_start = vfio_listener_log_global_start,
        .log_global_stop = vfio_listener_log_global_stop,
        .log_sync = vfio_listener_log_sync,
    };
    trace_vfio_container_listener_map_chunk(ls->map_chunk, bcontainer->pgsizes,
                                            bcontainer->dma_max_mappings);
    memory_listener_register(&bcontainer->listener, bcontainer->space->as);
    bcontainer->listener_registered = true;
    trace_vfio_container_listener_register(bcontainer->space->as->name,
                                           bcontainer->error != NULL,
                                           vfio_container_dma_mappings(bcontainer));
    if (bcontainer->error) {
        Error *err = g_steal_pointer(&bcontainer->error);

        /* Undo the replay: nothing of a failed attach stays mapped. */
        vfio_container_listener_unregister(bcontainer);
        error_propagate_prepend(errp, err, "cannot map guest memory for DMA: ");
        return false;
    }
    bcontainer->initialized = true;
    return true;
}

void vfio_container_listener_unregister(VFIOContainerBase *bcontainer)
{
    VFIOListenerState *ls = vfio_listener_state(bcontainer);

    if (!bcontainer->listener_registered) {
        return;
    }
    memory_listener_unregister(&bcontainer->listener);
    bcontainer->listener_registered = false;
    if (ls->mode != VFIO_DIRTY_TRACKING_NONE) {
        vfio_dirty_tracking_stop(bcontainer);
    }
    assert(g_tree_nnodes(ls->sections) == 0);
    assert(!bcontainer->giommu_list && !bcontainer->vrdl_list);
    trace_vfio_container_listener_unregister(bcontainer->space->as->name,
                                             vfio_container_dma_mappings(bcontainer));
    g_tree_destroy(ls->sections);
    g_free(ls->sync_bitmap);
    g_free(ls);
    bcontainer->listener_state = NULL;
}
