/*
 * Dirty tracking of device DMA for migration (include/hw/vfio/vfio-listener.h).
 *
 * When global dirty tracking starts, a container picks one way to learn
 * which pages its devices wrote:
 *  - device DMA logging, when every device can log: each device is told the
 *    IOVA ranges to log (the mapped space, as one 32-bit and one 64-bit
 *    range when that is smaller than their hull);
 *  - else the IOMMU's own tracking (VFIO_IOMMU_DIRTY_PAGES), if it has it;
 *  - else nothing tracks, and every mapped page counts as dirty at every
 *    sync: correct, but migration cannot converge on a busy guest.
 *
 * A sync walks the container's mapping table.  The kernel refuses a bitmap
 * query that splits a mapping or whose bitmap exceeds max_dirty_bitmap_size,
 * so queries are cut at mapping boundaries into pieces ("chunks") the
 * kernel accepts; the listener keeps every mapping small enough for that.
 * The bits are ORed into RAM's dirty bitmaps with
 * cpu_physical_memory_set_dirty_lebitmap(), merging mappings that are
 * contiguous in both IOVA and ram_addr space into one call.  Unmapping
 * while tracking goes through the same walk, so no page dirtied before an
 * unmap is lost (container mode uses UNMAP_DMA's own bitmap).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/range.h"
#include "exec/ram_addr.h"
#include "hw/vfio/vfio-listener.h"
#include "hw/vfio/vfio-device.h"
#include "trace/trace-hw_vfio.h"

/*
 * Largest DMA-logging report, in pages (bits): the kernel's reports have
 * no fixed limit, but a bitmap of 2^31 bits (256 MiB, 8 TiB of guest
 * memory) is as much as is sensible to allocate at once.
 */
#define VFIO_DMA_LOGGING_REPORT_MAX_BITS (1ULL << 31)

/* Without a bitmap a chunk only bounds an unmap, which must not reach 2^64 bytes. */
#define VFIO_DIRTY_CHUNK_NO_BITMAP (1ULL << 63)

const char *vfio_dirty_tracking_mode_name(VFIODirtyTrackingMode mode)
{
    switch (mode) {
    case VFIO_DIRTY_TRACKING_NONE:
        return "none";
    case VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING:
        return "device-dma-logging";
    case VFIO_DIRTY_TRACKING_CONTAINER:
        return "container";
    case VFIO_DIRTY_TRACKING_ALL_DIRTY:
        return "all-dirty";
    }
    return "?";
}

VFIODirtyTrackingMode vfio_container_dirty_tracking_mode(const VFIOContainerBase *bcontainer)
{
    const VFIOListenerState *ls = bcontainer->listener_state;

    return ls ? ls->mode : VFIO_DIRTY_TRACKING_NONE;
}

bool vfio_container_dirty_tracking_is_started(const VFIOContainerBase *bcontainer)
{
    return vfio_container_dirty_tracking_mode(bcontainer) != VFIO_DIRTY_TRACKING_NONE;
}

bool vfio_container_devices_dirty_tracking_is_supported(const VFIOContainerBase *bcontainer)
{
    if (!bcontainer->device_list) {
        return false;
    }
    for (GList *l = bcontainer->device_list; l; l = l->next) {
        VFIODevice *vbasedev = l->data;

        if (!vbasedev->dirty_pages_supported || !vbasedev->io_ops ||
            !vbasedev->io_ops->device_feature) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Device DMA logging */

/*
 * The IOVA space the devices must log: every RAM section and what an
 * IOMMU section may map (within the host's IOVA ranges), page aligned,
 * gathered into a range below 4 GiB and one above.  Taken from the address
 * space's view rather than from what is mapped now, so that RAM plugged
 * later (discard sections) and vIOMMU mappings made later are covered.
 */
static uint32_t vfio_dma_logging_ranges(VFIOContainerBase *bcontainer,
                                        struct vfio_device_feature_dma_logging_range *out)
{
    hwaddr pgsize = qemu_real_host_page_size();
    FlatView *fv = address_space_get_flatview(bcontainer->space->as);
    Range r32, r64, window;
    uint32_t n = 0;

    range_make_empty(&r32);
    range_make_empty(&r64);
    window = range_make(0, (1ULL << 63) - 1);
    if (bcontainer->iova_ranges) {
        const Range *lo = g_list_first(bcontainer->iova_ranges)->data;
        const Range *hi = g_list_last(bcontainer->iova_ranges)->data;

        window = range_make(range_lob(lo), MIN(range_upb(hi), range_upb(&window)));
    }
    for (unsigned i = 0; i < fv->nr; i++) {
        const FlatRange *fr = &fv->ranges[i];
        uint64_t start = int128_get64(fr->start);
        uint64_t last = int128_get64(int128_sub(int128_add(fr->start, fr->size),
                                                int128_one()));
        Range r;

        if ((!memory_region_is_ram(fr->mr) && !memory_region_is_iommu(fr->mr)) ||
            memory_region_is_ram_device(fr->mr)) {
            continue;
        }
        start = MAX(start, range_lob(&window));
        last = MIN(last, range_upb(&window));
        start = QEMU_ALIGN_UP(start, pgsize);
        if (last < pgsize - 1) {
            continue;
        }
        last = QEMU_ALIGN_DOWN(last + 1, pgsize) - 1;
        if (start > last) {
            continue;
        }
        r = range_make(start, last);
        range_extend(last <= UINT32_MAX ? &r32 : &r64, &r);
    }
    flatview_unref(fv);

    if (!range_is_empty(&r32) && !range_is_empty(&r64) && range_upb(&r32) >= range_lob(&r64)) {
        /* They overlap (a section straddles 4 GiB): one hull is smaller. */
        range_extend(&r64, &r32);
        range_make_empty(&r32);
    }
    if (!range_is_empty(&r32)) {
        out[n++] = (struct vfio_device_feature_dma_logging_range) {
            .iova = range_lob(&r32), .length = range_upb(&r32) - range_lob(&r32) + 1,
        };
    }
    if (!range_is_empty(&r64)) {
        out[n++] = (struct vfio_device_feature_dma_logging_range) {
            .iova = range_lob(&r64), .length = range_upb(&r64) - range_lob(&r64) + 1,
        };
    }
    trace_vfio_dma_logging_ranges(n, n > 0 ? out[0].iova : 0, n > 0 ? out[0].length : 0,
                                  n > 1 ? out[1].iova : 0, n > 1 ? out[1].length : 0);
    return n;
}

static void vfio_devices_dma_logging_stop(VFIOContainerBase *bcontainer)
{
    uint64_t buf[DIV_ROUND_UP(sizeof(struct vfio_device_feature), sizeof(uint64_t))] = { 0 };
    struct vfio_device_feature *feature = (struct vfio_device_feature *)buf;

    for (GList *l = bcontainer->device_list; l; l = l->next) {
        VFIODevice *vbasedev = l->data;
        int ret;

        if (!vbasedev->dirty_tracking) {
            continue;
        }
        feature->argsz = sizeof(buf);
        feature->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP;
        ret = vbasedev->io_ops->device_feature(vbasedev, feature);
        trace_vfio_device_dma_logging_stop(vbasedev->name, ret);
        if (ret) {
            warn_report("vfio %s: cannot stop DMA logging: %s", vbasedev->name,
                        strerror(-ret));
        }
        vbasedev->dirty_tracking = false;
    }
}

static bool vfio_devices_dma_logging_start(VFIOContainerBase *bcontainer, Error **errp)
{
    VFIOListenerState *ls = bcontainer->listener_state;
    uint64_t buf[DIV_ROUND_UP(sizeof(struct vfio_device_feature) +
                              sizeof(struct vfio_device_feature_dma_logging_control),
                              sizeof(uint64_t))];
    struct vfio_device_feature *feature = (struct vfio_device_feature *)buf;
    struct vfio_device_feature_dma_logging_control *control = (void *)feature->data;

    for (GList *l = bcontainer->device_list; l; l = l->next) {
        VFIODevice *vbasedev = l->data;
        int ret;

        /* The device may write its granule back: start from scratch for each. */
        memset(buf, 0, sizeof(buf));
        feature->argsz = sizeof(buf);
        feature->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
        control->page_size = qemu_real_host_page_size();
        control->num_ranges = ls->nr_log_ranges;
        control->ranges = (uintptr_t)ls->log_ranges;
        ret = vbasedev->io_ops->device_feature(vbasedev, feature);
        trace_vfio_device_dma_logging_start(vbasedev->name, ls->nr_log_ranges,
                                            control->page_size, ret);
        if (ret) {
            error_setg_errno(errp, -ret, "vfio %s: cannot start DMA logging", vbasedev->name);
            vfio_devices_dma_logging_stop(bcontainer);
            return false;
        }
        vbasedev->dirty_tracking = true;
    }
    return true;
}

/*
 * Learn which devices can log their DMA (VFIO_DEVICE_FEATURE_PROBE), for
 * those not known to: whoever set the device up may not have asked.
 */
static void vfio_devices_probe_dma_logging(VFIOContainerBase *bcontainer)
{
    for (GList *l = bcontainer->device_list; l; l = l->next) {
        VFIODevice *vbasedev = l->data;
        uint64_t buf[DIV_ROUND_UP(sizeof(struct vfio_device_feature),
                                  sizeof(uint64_t))] = { 0 };
        struct vfio_device_feature *feature = (struct vfio_device_feature *)buf;
        int ret;

        if (vbasedev->dirty_pages_supported || !vbasedev->io_ops ||
            !vbasedev->io_ops->device_feature) {
            continue;
        }
        feature->argsz = sizeof(buf);
        feature->flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
                         VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
        ret = vbasedev->io_ops->device_feature(vbasedev, feature);
        vbasedev->dirty_pages_supported = !ret;
        trace_vfio_device_dma_logging_probe(vbasedev->name, ret);
    }
}

/* OR the DMA log of [iova, iova + pages pages) of @vbasedev into @bitmap. */
static int vfio_device_dma_logging_report(VFIODevice *vbasedev, hwaddr iova, uint64_t pages,
                                          uint64_t *bitmap)
{
    uint64_t buf[DIV_ROUND_UP(sizeof(struct vfio_device_feature) +
                              sizeof(struct vfio_device_feature_dma_logging_report),
                              sizeof(uint64_t))] = { 0 };
    struct vfio_device_feature *feature = (struct vfio_device_feature *)buf;
    struct vfio_device_feature_dma_logging_report *report = (void *)feature->data;
    int ret;

    feature->argsz = sizeof(buf);
    feature->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
    report->iova = iova;
    report->length = pages * qemu_real_host_page_size();
    report->page_size = qemu_real_host_page_size();
    report->bitmap = (uintptr_t)bitmap;
    ret = vbasedev->io_ops->device_feature(vbasedev, feature);
    trace_vfio_device_dma_logging_report(vbasedev->name, iova, report->length, ret);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

bool vfio_listener_log_global_start(MemoryListener *listener, Error **errp)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);
    VFIOListenerState *ls = bcontainer->listener_state;
    VFIODirtyTrackingMode mode = VFIO_DIRTY_TRACKING_ALL_DIRTY;
    int ret;

    /*
     * The memory core pairs log_global_start and log_global_stop per
     * listener (further reasons to track only add bits), so there is no
     * nesting to count: a start while tracking is a no-op.
     */
    if (ls->mode != VFIO_DIRTY_TRACKING_NONE) {
        return true;
    }
    vfio_devices_probe_dma_logging(bcontainer);
    if (vfio_container_devices_dirty_tracking_is_supported(bcontainer)) {
        ls->nr_log_ranges = vfio_dma_logging_ranges(bcontainer, ls->log_ranges);
        if (ls->nr_log_ranges) {
            if (!vfio_devices_dma_logging_start(bcontainer, errp)) {
                error_prepend(errp, "vfio: cannot start dirty page tracking: ");
                return false;
            }
            mode = VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING;
        }
    }
    if (mode == VFIO_DIRTY_TRACKING_ALL_DIRTY && bcontainer->dirty_pages_supported) {
        ret = vfio_container_iommu_set_dirty_tracking(bcontainer, true);
        if (ret) {
            error_setg_errno(errp, -ret, "vfio: cannot start the IOMMU's dirty page tracking");
            return false;
        }
        mode = VFIO_DIRTY_TRACKING_CONTAINER;
    }
    if (mode == VFIO_DIRTY_TRACKING_ALL_DIRTY) {
        /* Migration still works: each sync reports every mapped page. */
        warn_report("vfio: no device of this container can log its DMA and the IOMMU cannot "
                    "track dirty pages: every mapped page counts as dirty at every sync, so "
                    "migration may not converge");
    }
    ls->mode = mode;
    ls->sync_queries = 0;
    ls->dirty_pages_reported = 0;
    trace_vfio_dirty_tracking_start(vfio_dirty_tracking_mode_name(mode),
                                    g_list_length(bcontainer->device_list),
                                    bcontainer->dirty_pages_supported);
    return true;
}

void vfio_dirty_tracking_stop(VFIOContainerBase *bcontainer)
{
    VFIOListenerState *ls = bcontainer->listener_state;
    int ret;

    trace_vfio_dirty_tracking_stop(vfio_dirty_tracking_mode_name(ls->mode), ls->sync_queries,
                                   ls->dirty_pages_reported);
    switch (ls->mode) {
    case VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING:
        vfio_devices_dma_logging_stop(bcontainer);
        break;
    case VFIO_DIRTY_TRACKING_CONTAINER:
        ret = vfio_container_iommu_set_dirty_tracking(bcontainer, false);
        if (ret) {
            warn_report("vfio: cannot stop the IOMMU's dirty page tracking: %s",
                        strerror(-ret));
        }
        break;
    case VFIO_DIRTY_TRACKING_NONE:
    case VFIO_DIRTY_TRACKING_ALL_DIRTY:
        break;
    }
    ls->mode = VFIO_DIRTY_TRACKING_NONE;
    ls->nr_log_ranges = 0;
    g_clear_pointer(&ls->sync_bitmap, g_free);
    ls->sync_bitmap_bits = 0;
}

void vfio_listener_log_global_stop(MemoryListener *listener)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);

    if (bcontainer->listener_state->mode != VFIO_DIRTY_TRACKING_NONE) {
        vfio_dirty_tracking_stop(bcontainer);
    }
}

/* ------------------------------------------------------------------------ */
/* Collecting bitmaps */

/* One mapping of a chunk: [iova, iova + size) at host address @vaddr. */
typedef struct VFIODirtyMap {
    hwaddr iova;
    hwaddr size;
    uintptr_t vaddr;
} VFIODirtyMap;

/* One walk over [iova, last]: see vfio_dirty_sync_range(). */
typedef struct VFIODirtySync {
    VFIOContainerBase *bcontainer;
    VFIOListenerState *ls;
    VFIODirtyTrackingMode mode;
    hwaddr iova, last;              /* the range asked for */
    ram_addr_t ram_addr;            /* RAM of @iova if linear, else RAM_ADDR_INVALID */
    bool unmap;
    uint64_t max_bytes;             /* largest chunk */
    GArray *maps;                   /* VFIODirtyMap of the chunk */
    hwaddr chunk_start, chunk_last;
    uint64_t *bitmap;               /* chunk bitmap, bitmap_bits bits allocated; */
    uint64_t bitmap_bits;           /* borrowed from the listener state */
    unsigned long *shifted;         /* scratch for runs not starting on a word */
    uint64_t shifted_bits;
    /* A run of mappings contiguous in IOVA and ram_addr, not yet ORed in */
    hwaddr run_iova;
    uint64_t run_size;
    ram_addr_t run_ram;
} VFIODirtySync;

static uint64_t vfio_dirty_max_bits(const VFIOContainerBase *bcontainer,
                                    VFIODirtyTrackingMode mode)
{
    switch (mode) {
    case VFIO_DIRTY_TRACKING_CONTAINER:
        return QEMU_ALIGN_DOWN(bcontainer->max_dirty_bitmap_size, sizeof(uint64_t)) * 8;
    case VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING:
        if (bcontainer->max_dirty_bitmap_size) {
            return MIN(VFIO_DMA_LOGGING_REPORT_MAX_BITS,
                       QEMU_ALIGN_DOWN(bcontainer->max_dirty_bitmap_size,
                                       sizeof(uint64_t)) * 8);
        }
        return VFIO_DMA_LOGGING_REPORT_MAX_BITS;
    default:
        return 0;
    }
}

static bool vfio_dirty_bitmap_reserve(VFIODirtySync *ds, uint64_t bits, Error **errp)
{
    if (bits <= ds->bitmap_bits) {
        return true;
    }
    g_free(ds->bitmap);
    ds->bitmap_bits = ROUND_UP(bits, 64);
    ds->bitmap = g_try_malloc(ds->bitmap_bits / 8);
    if (!ds->bitmap) {
        ds->bitmap_bits = 0;
        error_setg_errno(errp, ENOMEM, "cannot allocate a dirty bitmap of %" PRIu64 " bits",
                         bits);
        return false;
    }
    return true;
}

/* Set the bits of [a, b] (IOVAs of the chunk) that no DMA logging range covers. */
static void vfio_dirty_fill_unlogged(VFIODirtySync *ds, hwaddr a, hwaddr b)
{
    hwaddr pgsize = qemu_real_host_page_size();
    hwaddr pos = a;

    while (pos <= b) {
        hwaddr covered_to = 0, next_logged = HWADDR_MAX;
        bool covered = false;

        for (uint32_t i = 0; i < ds->ls->nr_log_ranges; i++) {
            const struct vfio_device_feature_dma_logging_range *r = &ds->ls->log_ranges[i];
            hwaddr r_last = r->iova + r->length - 1;

            if (pos >= r->iova && pos <= r_last) {
                covered = true;
                covered_to = r_last;
            } else if (r->iova > pos) {
                next_logged = MIN(next_logged, r->iova);
            }
        }
        if (covered) {
            if (covered_to >= b) {
                return;
            }
            pos = covered_to + 1;
            continue;
        }
        {
            hwaddr end = MIN(b, next_logged - 1);

            trace_vfio_dirty_unlogged(pos, end);
            bitmap_set((unsigned long *)ds->bitmap, (pos - ds->chunk_start) / pgsize,
                       (end - pos + 1) / pgsize);
            if (end == b) {
                return;
            }
            pos = end + 1;
        }
    }
}

/* OR the bits of the pending run into RAM's bitmaps. */
static void vfio_dirty_flush_run(VFIODirtySync *ds)
{
    hwaddr pgsize = qemu_real_host_page_size();
    uint64_t pages = ds->run_size / pgsize;
    uint64_t first = (ds->run_iova - ds->chunk_start) / pgsize;
    unsigned long *bits;
    uint64_t dirty;

    if (!ds->run_size) {
        return;
    }
    if (ds->mode == VFIO_DIRTY_TRACKING_ALL_DIRTY) {
        cpu_physical_memory_set_dirty_range(ds->run_ram, ds->run_size,
                                            cpu_physical_memory_dirty_report_clients());
        dirty = pages;
    } else {
        if (first % 64 == 0) {
            /* The common case: a run starts on a bitmap word, no copy. */
            bits = (unsigned long *)(ds->bitmap + first / 64);
        } else {
            if (pages > ds->shifted_bits) {
                g_free(ds->shifted);
                ds->shifted_bits = ROUND_UP(pages, 64);
                ds->shifted = g_malloc(ds->shifted_bits / 8);
            }
            bitmap_copy_with_src_offset(ds->shifted, (unsigned long *)ds->bitmap, first,
                                        pages);
            bits = ds->shifted;
        }
        dirty = cpu_physical_memory_set_dirty_lebitmap(bits, ds->run_ram, pages);
    }
    ds->ls->dirty_pages_reported += dirty;
    trace_vfio_dirty_run(ds->run_iova, ds->run_size, ds->run_ram, dirty);
    ds->run_size = 0;
}

/* Add [iova, iova + size) at host @vaddr to the run, flushing it if not contiguous. */
static void vfio_dirty_add_to_run(VFIODirtySync *ds, hwaddr iova, hwaddr size,
                                  uintptr_t vaddr)
{
    ram_addr_t ram;

    if (ds->ram_addr != RAM_ADDR_INVALID) {
        ram = ds->ram_addr + (iova - ds->iova);
    } else {
        ram_addr_t offset;
        RAMBlock *rb = qemu_ram_block_from_host((void *)vaddr, false, &offset);

        if (!rb || (rb->mr && memory_region_is_ram_device(rb->mr))) {
            /* Device memory (peer-to-peer) is not migrated: no dirty bits. */
            return;
        }
        ram = rb->offset + offset;
    }
    if (ds->run_size && ds->run_iova + ds->run_size == iova &&
        ds->run_ram + ds->run_size == ram) {
        ds->run_size += size;
        return;
    }
    vfio_dirty_flush_run(ds);
    ds->run_iova = iova;
    ds->run_size = size;
    ds->run_ram = ram;
}

/* Query (and with ds->unmap, unmap) the chunk, then OR its bits into RAM. */
static bool vfio_dirty_flush_chunk(VFIODirtySync *ds, Error **errp)
{
    VFIOContainerBase *bcontainer = ds->bcontainer;
    hwaddr pgsize = qemu_real_host_page_size();
    hwaddr start = ds->chunk_start, size = ds->chunk_last - ds->chunk_start + 1;
    uint64_t pages = size / pgsize;
    bool unmapped = false;
    int ret = 0;

    if (!ds->maps->len) {
        return true;
    }
    trace_vfio_dirty_chunk(vfio_dirty_tracking_mode_name(ds->mode), start, size,
                           ds->maps->len, ds->unmap);
    switch (ds->mode) {
    case VFIO_DIRTY_TRACKING_CONTAINER: {
        VFIOBitmap vbmap;

        if (!vfio_dirty_bitmap_reserve(ds, pages, errp)) {
            return false;
        }
        vbmap = (VFIOBitmap) {
            .bitmap = ds->bitmap,
            .size = DIV_ROUND_UP(pages, 64) * sizeof(uint64_t),
            .pages = pages,
        };
        memset(ds->bitmap, 0, vbmap.size);
        ds->ls->sync_queries++;
        if (ds->unmap) {
            ret = vfio_container_dma_unmap_bitmap(bcontainer, start, size, &vbmap);
            unmapped = !ret;
        }
        if (!ds->unmap || ret == -ENOTSUP) {
            ret = vfio_container_iommu_query_dirty_bitmap(bcontainer, &vbmap, start, size);
        }
        if (ret) {
            error_setg_errno(errp, -ret, "cannot get the dirty bitmap of [0x%" PRIx64 ", 0x%"
                             PRIx64 "] from the IOMMU", start, ds->chunk_last);
            return false;
        }
        break;
    }
    case VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING: {
        bool all_logging = true;

        if (!vfio_dirty_bitmap_reserve(ds, pages, errp)) {
            return false;
        }
        memset(ds->bitmap, 0, DIV_ROUND_UP(pages, 64) * sizeof(uint64_t));
        for (GList *l = bcontainer->device_list; l; l = l->next) {
            VFIODevice *vbasedev = l->data;

            if (!vbasedev->dirty_tracking) {
                /* Joined after tracking started: it tells us nothing. */
                all_logging = false;
                continue;
            }
            ds->ls->sync_queries++;
            ret = vfio_device_dma_logging_report(vbasedev, start, pages, ds->bitmap);
            if (ret) {
                error_setg_errno(errp, -ret, "vfio %s: cannot get the DMA log of [0x%"
                                 PRIx64 ", 0x%" PRIx64 "]", vbasedev->name, start,
                                 ds->chunk_last);
                return false;
            }
        }
        if (!all_logging) {
            bitmap_set((unsigned long *)ds->bitmap, 0, pages);
        } else {
            /* Mappings outside the logged ranges: nobody watched them. */
            for (guint i = 0; i < ds->maps->len; i++) {
                VFIODirtyMap *m = &g_array_index(ds->maps, VFIODirtyMap, i);

                vfio_dirty_fill_unlogged(ds, m->iova, m->iova + m->size - 1);
            }
        }
        break;
    }
    case VFIO_DIRTY_TRACKING_ALL_DIRTY:
    case VFIO_DIRTY_TRACKING_NONE:
        break;
    }
    if (ds->unmap && !unmapped) {
        ret = vfio_container_dma_unmap(bcontainer, start, size, false);
        if (ret) {
            error_setg_errno(errp, -ret, "cannot unmap [0x%" PRIx64 ", 0x%" PRIx64 "]",
                             start, ds->chunk_last);
            return false;
        }
    }
    if (ds->mode != VFIO_DIRTY_TRACKING_NONE) {
        for (guint i = 0; i < ds->maps->len; i++) {
            VFIODirtyMap *m = &g_array_index(ds->maps, VFIODirtyMap, i);
            hwaddr lo = MAX(m->iova, ds->iova);
            hwaddr hi = MIN(m->iova + m->size - 1, ds->last);

            if (lo <= hi) {
                vfio_dirty_add_to_run(ds, lo, hi - lo + 1, m->vaddr + (lo - m->iova));
            }
        }
        vfio_dirty_flush_run(ds);
    }
    g_array_set_size(ds->maps, 0);
    return true;
}

static bool vfio_dirty_sync(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr last,
                            ram_addr_t ram_addr, bool unmap, Error **errp)
{
    VFIOListenerState *ls = bcontainer->listener_state;
    hwaddr pgsize = qemu_real_host_page_size();
    VFIODirtySync ds = {
        .bcontainer = bcontainer,
        .ls = ls,
        .mode = ls ? ls->mode : VFIO_DIRTY_TRACKING_NONE,
        .iova = iova,
        .last = last,
        .ram_addr = ram_addr,
        .unmap = unmap,
    };
    VFIOListenerState no_state = { 0 };
    uint64_t max_bits;
    hwaddr pos = iova;
    bool ok = true;

    if (!ls) {
        ds.ls = &no_state;
    }
    ds.bitmap = ds.ls->sync_bitmap;
    ds.bitmap_bits = ds.ls->sync_bitmap_bits;
    if (ds.mode == VFIO_DIRTY_TRACKING_NONE && !unmap) {
        return true;
    }
    max_bits = vfio_dirty_max_bits(bcontainer, ds.mode);
    ds.max_bytes = max_bits ? MIN(max_bits, VFIO_DIRTY_CHUNK_NO_BITMAP / pgsize) * pgsize
                            : VFIO_DIRTY_CHUNK_NO_BITMAP;
    ds.maps = g_array_new(false, false, sizeof(VFIODirtyMap));

    while (ok && pos <= last) {
        const DMAMap *m = iova_tree_find(bcontainer->mappings,
                                         &(DMAMap){ .iova = pos, .size = last - pos });
        hwaddr m_last;

        if (!m) {
            break;
        }
        m_last = m->iova + m->size;
        if (m->size >= ds.max_bytes) {
            error_setg_errno(errp, E2BIG, "the mapping [0x%" PRIx64 ", 0x%" PRIx64 "] is "
                             "larger than one dirty bitmap query may cover (0x%" PRIx64
                             " bytes)", m->iova, m_last, ds.max_bytes);
            ok = false;
            break;
        }
        if (ds.maps->len && m_last - ds.chunk_start >= ds.max_bytes) {
            ok = vfio_dirty_flush_chunk(&ds, errp);
        }
        if (!ds.maps->len) {
            ds.chunk_start = m->iova;
        }
        ds.chunk_last = m_last;
        g_array_append_val(ds.maps, ((VFIODirtyMap) {
            .iova = m->iova, .size = m->size + 1, .vaddr = m->translated_addr,
        }));
        if (m_last >= last) {
            break;
        }
        pos = m_last + 1;
    }
    if (ok) {
        ok = vfio_dirty_flush_chunk(&ds, errp);
    }
    g_array_free(ds.maps, true);
    if (ls) {
        ls->sync_bitmap = ds.bitmap;
        ls->sync_bitmap_bits = ds.bitmap_bits;
    } else {
        g_free(ds.bitmap);
    }
    g_free(ds.shifted);
    return ok;
}

bool vfio_dirty_sync_range(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr last,
                           bool unmap, Error **errp)
{
    return vfio_dirty_sync(bcontainer, iova, last, RAM_ADDR_INVALID, unmap, errp);
}

bool vfio_container_query_dirty_bitmap(const VFIOContainerBase *bcontainer, hwaddr iova,
                                       hwaddr size, ram_addr_t ram_addr, Error **errp)
{
    if (!size) {
        return true;
    }
    /* Only reads the container; the walk's scratch state is its own. */
    return vfio_dirty_sync((VFIOContainerBase *)bcontainer, iova, iova + size - 1, ram_addr,
                           false, errp);
}

void vfio_listener_log_sync(MemoryListener *listener, MemoryRegionSection *section)
{
    VFIOContainerBase *bcontainer = container_of(listener, VFIOContainerBase, listener);
    VFIOListenerSection *s;
    ram_addr_t ram_addr = RAM_ADDR_INVALID;
    hwaddr iova, last;
    Error *err = NULL;

    if (bcontainer->listener_state->mode == VFIO_DIRTY_TRACKING_NONE) {
        return;
    }
    s = vfio_listener_section_find(bcontainer, section);
    if (!s || s->ram_device) {
        return;
    }
    switch (s->kind) {
    case VFIO_SECTION_RAM:
        iova = s->iova;
        last = s->iova + s->map_size - 1;
        ram_addr = memory_region_get_ram_addr(s->mr) + s->offset_within_region +
                   (s->iova - s->offset_within_address_space);
        break;
    case VFIO_SECTION_DISCARD:
        iova = s->offset_within_address_space;
        last = iova + int128_get64(s->size) - 1;
        ram_addr = memory_region_get_ram_addr(s->mr) + s->offset_within_region;
        break;
    case VFIO_SECTION_IOMMU:
    default:
        /* Each mapping's RAM is found from its host address. */
        iova = s->offset_within_address_space;
        last = int128_get64(int128_sub(int128_add(int128_make64(iova), s->size),
                                       int128_one()));
        break;
    }
    trace_vfio_listener_log_sync(memory_region_name(s->mr), iova, last,
                                 vfio_dirty_tracking_mode_name(
                                     bcontainer->listener_state->mode));
    if (!vfio_dirty_sync(bcontainer, iova, last, ram_addr, false, &err)) {
        error_prepend(&err, "vfio: dirty pages of '%s' may be lost: ",
                      memory_region_name(s->mr));
        error_report_err(err);
    }
}
