/*
 * The VFIO memory listener, RAM-discard coordination and dirty tracking
 * (hw/vfio/listener.c, hw/vfio/ram-discard.c, hw/vfio/dirty-tracking.c).
 *
 * A container mirrors its guest address space into the IOMMU:
 *
 *  - RAM and ROM sections are mapped (ROM read-only), trimmed to the
 *    IOMMU's smallest page; MMIO is skipped; RAM-device sections (mmap'd
 *    BARs) are mapped for peer-to-peer, and a failure there is only a
 *    warning.
 *  - A section of an IOMMU region gets a notifier (VFIOGuestIOMMU) whose
 *    MAP/UNMAP events map and unmap the translated range.
 *  - A section whose RAM has a RamDiscardManager maps only the populated
 *    parts, one mapping per granule, and follows populate/discard; a
 *    populate that cannot be mapped is vetoed.
 *
 * Every mapping the listener makes goes through vfio_container_dma_map(),
 * so bcontainer->mappings is the exact picture of what the kernel maps;
 * unmapping, dirty-bitmap queries and their splitting walk that table.
 * When the container can report dirty pages, no single mapping is larger
 * than one bitmap query may cover (max_dirty_bitmap_size), because the
 * kernel refuses a query that splits a mapping: that is what lets any
 * query be split into several the kernel accepts.
 *
 * Errors: a section that cannot be mapped (outside the IOVA ranges, over
 * the DMA-mapping budget, refused by the kernel) fails
 * vfio_container_listener_register() while the listener replays the
 * address space; afterwards it is reported once and counted in
 * bcontainer->mapping_errors.
 *
 * Units: (iova, size) pairs are byte counts with an exclusive end; "last"
 * is an inclusive end, used where a range may reach 2^64.
 *
 * Threading: main loop thread only, like the memory core.
 */
#ifndef HW_VFIO_VFIO_LISTENER_H
#define HW_VFIO_VFIO_LISTENER_H

#include "hw/vfio/vfio-container-base.h"
#include "exec/ram-discard-manager.h"
#include <linux/vfio.h>

/*
 * How a container finds the pages its devices dirtied while global dirty
 * tracking is on; migration reports it (query-migrate, traces).
 */
typedef enum VFIODirtyTrackingMode {
    /* Global dirty tracking is off. */
    VFIO_DIRTY_TRACKING_NONE,
    /* Every device logs its own DMA (VFIO_DEVICE_FEATURE_DMA_LOGGING_*). */
    VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING,
    /* The IOMMU tracks (VFIO_IOMMU_DIRTY_PAGES, GET_BITMAP). */
    VFIO_DIRTY_TRACKING_CONTAINER,
    /* Nothing can track: every mapped page is reported dirty at each sync. */
    VFIO_DIRTY_TRACKING_ALL_DIRTY,
} VFIODirtyTrackingMode;

/* "none", "device-dma-logging", "container", "all-dirty". */
const char *vfio_dirty_tracking_mode_name(VFIODirtyTrackingMode mode);
/* The mode @bcontainer tracks in now (NONE when not tracking). */
VFIODirtyTrackingMode vfio_container_dirty_tracking_mode(const VFIOContainerBase *bcontainer);

/* At most this many DMA logging ranges are sent (one 32-bit, one 64-bit). */
#define VFIO_DMA_LOGGING_MAX_RANGES 2

/*
 * What the listener keeps per container (bcontainer->listener_state),
 * from vfio_container_listener_register() to _unregister().
 */
typedef struct VFIOListenerState {
    /*
     * VFIOListenerSection *, keyed by the section's first guest address:
     * the sections region_add acted on (mapped, or gave a notifier or a
     * discard listener), so region_del undoes exactly that.  Sections of
     * one flat view are disjoint and region_del runs before region_add in
     * a transaction, so the key is unique.
     */
    GTree *sections;
    /*
     * Largest mapping made (bytes): the span one dirty bitmap query may
     * cover when the container tracks dirty pages, else unlimited.
     */
    uint64_t map_chunk;
    /* Dirty tracking (dirty-tracking.c) */
    VFIODirtyTrackingMode mode;     /* NONE unless log_global_start succeeded */
    uint32_t nr_log_ranges;         /* DMA logging: ranges the devices log */
    /* DMA logging: [iova, iova + length) each; mappings outside are "all dirty" */
    struct vfio_device_feature_dma_logging_range log_ranges[VFIO_DMA_LOGGING_MAX_RANGES];
    /*
     * The bitmap syncs query into, kept while tracking runs so that each
     * sync does not allocate (and fault in) megabytes anew; bits allocated.
     */
    uint64_t *sync_bitmap;
    uint64_t sync_bitmap_bits;
    /* Statistics for tests, traces and the benchmark */
    uint64_t sync_queries;          /* bitmap queries (ioctls) made by log_sync and unmaps */
    uint64_t dirty_pages_reported;  /* pages ORed into RAM's bitmaps */
} VFIOListenerState;

/* What region_add did with a section (listener.c). */
typedef enum VFIOListenerSectionKind {
    VFIO_SECTION_RAM,               /* RAM/ROM/RAM-device mapped as [iova, iova + size) */
    VFIO_SECTION_IOMMU,             /* a VFIOGuestIOMMU follows it */
    VFIO_SECTION_DISCARD,           /* a VFIORamDiscardListener follows it */
} VFIOListenerSectionKind;

typedef struct VFIOListenerSection {
    VFIOListenerSectionKind kind;
    MemoryRegion *mr;               /* referenced while recorded */
    hwaddr offset_within_address_space; /* the key */
    hwaddr offset_within_region;
    Int128 size;                    /* of the section (may be 2^64) */
    bool ram_device;                /* a RAM-device (BAR) section: never logged */
    hwaddr iova;                    /* RAM: first mapped byte */
    hwaddr map_size;                /* RAM: bytes mapped from @iova */
    VFIOGuestIOMMU *giommu;         /* IOMMU: owned through bcontainer->giommu_list */
    VFIORamDiscardListener *vrdl;   /* DISCARD: owned through bcontainer->vrdl_list */
} VFIOListenerSection;

/* A RAM section whose population a RamDiscardManager decides (ram-discard.c). */
struct VFIORamDiscardListener {
    VFIOContainerBase *bcontainer;  /* not owned */
    MemoryRegion *mr;               /* the section's region (the section copy holds a ref) */
    hwaddr offset_within_address_space; /* of the section */
    hwaddr offset_within_region;    /* of the section */
    hwaddr size;                    /* of the section, bytes */
    uint64_t granularity;           /* bytes per mapping: the manager's granule */
    bool readonly;                  /* map without device write access */
    /* The manager replays the populated parts inside vfio_ram_discard_register() */
    bool registering;
    /* The first populate refused during that replay; owned */
    Error *replay_err;
    RamDiscardListener listener;
};

/* ---- listener.c: mapping helpers shared by the three files ---- */

/*
 * Map [iova, iova + size) to @vaddr for section @name, in pieces of at most
 * map_chunk bytes.  Checks the IOVA ranges and the DMA-mapping budget first;
 * on any failure nothing of the range stays mapped and @errp says why
 * (with the errno of the cause, error_get_errno()).
 */
bool vfio_listener_dma_map(VFIOContainerBase *bcontainer, const char *name, hwaddr iova,
                           hwaddr size, void *vaddr, bool readonly, Error **errp);
/*
 * Unmap exactly [iova, last]: every mapping inside goes, and a mapping that
 * straddles an end is unmapped whole and its outside part mapped again.
 * While dirty tracking runs the pages dirtied in what goes are collected
 * into RAM's bitmaps first.
 */
bool vfio_listener_dma_unmap_exact(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr last,
                                   Error **errp);
/* As vfio_listener_dma_unmap_exact for section @name, reporting and counting a failure. */
bool vfio_listener_unmap_range(VFIOContainerBase *bcontainer, const char *name, hwaddr iova,
                               hwaddr last);
/* The record of @section if region_add acted on it, else NULL. */
VFIOListenerSection *vfio_listener_section_find(VFIOContainerBase *bcontainer,
                                                MemoryRegionSection *section);
/*
 * Record a mapping failure of section @name: before initialisation the
 * first one is kept in bcontainer->error (it fails registration), after it
 * every one is reported and counted in bcontainer->mapping_errors.  Takes
 * @err.
 */
void vfio_listener_mapping_error(VFIOContainerBase *bcontainer, const char *name,
                                 Error *err);

/* ---- ram-discard.c ---- */

/*
 * Follow @section (of a region with a RamDiscardManager): map what is
 * populated now and register for changes.  Fails (nothing left registered
 * or mapped) when the granularity does not suit the IOMMU or a populated
 * part cannot be mapped.  Warns when the possible number of mappings of all
 * such sections could exceed the DMA-mapping budget.
 */
VFIORamDiscardListener *vfio_ram_discard_register(VFIOContainerBase *bcontainer,
                                                  MemoryRegionSection *section,
                                                  Error **errp);
/* Stop following; everything it mapped is unmapped. */
void vfio_ram_discard_unregister(VFIOContainerBase *bcontainer,
                                 VFIORamDiscardListener *vrdl);

/* ---- dirty-tracking.c ---- */

/* The MemoryListener callbacks (listener.c installs them). */
bool vfio_listener_log_global_start(MemoryListener *listener, Error **errp);
void vfio_listener_log_global_stop(MemoryListener *listener);
void vfio_listener_log_sync(MemoryListener *listener, MemoryRegionSection *section);
/* Stop whatever tracking runs (listener unregistration). */
void vfio_dirty_tracking_stop(VFIOContainerBase *bcontainer);

/*
 * Collect the dirty pages of every mapping inside [iova, last] into RAM's
 * bitmaps, and with @unmap unmap those mappings (with UNMAP_DMA's dirty
 * bitmap in container mode, so nothing dirtied before the unmap is lost).
 * The range must not split a mapping.  Without dirty tracking it only
 * unmaps (or does nothing).  Queries are split so that none exceeds the
 * kernel's bitmap limit and none splits a mapping.  On failure @errp
 * carries the errno of the cause.
 */
bool vfio_dirty_sync_range(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr last,
                           bool unmap, Error **errp);

#endif /* HW_VFIO_VFIO_LISTENER_H */
