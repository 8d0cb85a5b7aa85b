/*
 * The backend-neutral VFIO container.
 *
 * A container is one IOMMU context: a set of IOVA -> host-memory mappings
 * that every device attached to it sees.  The memory listener
 * (hw/vfio/listener.c), dirty tracking (hw/vfio/dirty-tracking.c) and RAM
 * discard coordination (hw/vfio/ram-discard.c) work on this base only; how
 * a mapping reaches the kernel is the backend's business, behind
 * VFIOIOMMUOps.  Today the only backend is the legacy /dev/vfio/vfio
 * container (hw/vfio/container.c, include/hw/vfio/vfio-container.h); an
 * iommufd backend would be another VFIOIOMMUOps without touching the
 * listener or the devices.
 *
 * Units: every range in this API is (iova, size) with @size a byte count
 * (exclusive end iova + size), except the IOVA range list, whose Ranges are
 * inclusive (qemu/range.h).
 *
 * Threading: like the memory core, everything here runs on the main loop
 * thread; nothing is locked.
 */
#ifndef HW_VFIO_VFIO_CONTAINER_BASE_H
#define HW_VFIO_VFIO_CONTAINER_BASE_H

#include "exec/memory.h"
#include "qemu/iova-tree.h"

typedef struct VFIODevice VFIODevice;
typedef struct VFIOContainerBase VFIOContainerBase;
typedef struct VFIOIOMMUOps VFIOIOMMUOps;
/* Defined by the listener (include/hw/vfio/vfio-listener.h). */
typedef struct VFIORamDiscardListener VFIORamDiscardListener;
typedef struct VFIOListenerState VFIOListenerState;

/* One per guest address space that has assigned devices. */
typedef struct VFIOAddressSpace {
    AddressSpace *as;               /* the guest address space (not owned) */
    GList *containers;              /* VFIOContainerBase *, in creation order */
} VFIOAddressSpace;

/*
 * A dirty bitmap in the layout the kernel fills: one bit per host page,
 * little-endian u64 words, bit 0 standing for the first page of the range
 * it was made for.
 */
typedef struct VFIOBitmap {
    uint64_t *bitmap;               /* g_try_malloc0'd, owned; free with vfio_bitmap_free */
    hwaddr size;                    /* bytes, a multiple of sizeof(uint64_t) */
    hwaddr pages;                   /* number of valid bits */
} VFIOBitmap;

/* An IOMMU memory region section mirrored into the container (listener.c). */
typedef struct VFIOGuestIOMMU {
    VFIOContainerBase *bcontainer;
    IOMMUMemoryRegion *iommu_mr;    /* referenced while registered */
    hwaddr iommu_offset;            /* section's offset_within_address_space
                                       minus offset_within_region */
    IOMMUNotifier n;
} VFIOGuestIOMMU;

struct VFIOContainerBase {
    const VFIOIOMMUOps *ops;        /* the backend; never NULL after init */
    VFIOAddressSpace *space;        /* the address space this container mirrors */
    MemoryListener listener;        /* on space->as, see vfio_container_listener_register */
    bool listener_registered;       /* @listener is registered with the memory core */
    VFIOListenerState *listener_state; /* the listener's bookkeeping while registered;
                                          owned by listener.c */

    /* What the IOMMU can do, filled by the backend's set-up */
    uint64_t pgsizes;               /* IOMMU page sizes (bitmap), never 0 */
    GList *iova_ranges;             /* Range * (inclusive), sorted; NULL = no limit known */
    uint32_t dma_max_mappings;      /* budget of simultaneous mappings (kernel's limit) */
    bool dirty_pages_supported;     /* the backend can report dirty bitmaps (host pages) */
    uint64_t dirty_pgsizes;         /* page sizes the dirty bitmap can use */
    uint64_t max_dirty_bitmap_size; /* bytes of bitmap per query; larger ones must be split */

    /*
     * Every mapping made through vfio_container_dma_map() and not yet
     * unmapped: iova -> vaddr (DMAMap sizes are inclusive), perm IOMMU_RO or
     * IOMMU_RW.  Mirrors the kernel's table (type1 unmaps whole mappings,
     * as iova_tree_remove does), so its count is the budget in use and the
     * listener can compute the mapped IOVA span for DMA logging.  Owned.
     */
    IOVATree *mappings;

    /* Dirty tracking state (hw/vfio/dirty-tracking.c) */
    bool dirty_pages_started;       /* the IOMMU's own tracking is running */

    /*
     * Listener errors after the first commit cannot fail a device realize;
     * they are reported once, kept here and counted, never dropped silently.
     */
    bool initialized;               /* the listener replay has completed */
    Error *error;                   /* first error during replay (fails attach); owned */
    uint64_t mapping_errors;        /* errors seen after initialization */

    GList *giommu_list;             /* VFIOGuestIOMMU *, owned by listener.c */
    GList *vrdl_list;               /* VFIORamDiscardListener *, owned by ram-discard.c */
    GList *device_list;             /* VFIODevice * attached through this container */
};

/*
 * Backend operations.  The DMA and dirty-page operations are thin ioctl
 * wrappers: they return 0 or -errno and report nothing.  attach/detach are
 * set-up operations: bool + errp.  Callers use the vfio_container_*()
 * wrappers below, which keep the mapping table and trace, rather than
 * calling these directly.
 */
struct VFIOIOMMUOps {
    const char *name;               /* for traces and messages ("legacy") */
    /*
     * Map [iova, iova + size) to @vaddr; @readonly: the device may not
     * write.  One attempt, unmapping nothing: -EBUSY when something is
     * still mapped there (vfio_container_dma_map unmaps and retries, so
     * that the mapping table sees the unmap).
     */
    int (*dma_map)(const VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                   void *vaddr, bool readonly);
    /*
     * Unmap every mapping inside [iova, iova + size); with @unmap_all every
     * mapping of the container (iova and size ignored).  No dirty bitmap is
     * collected: see dma_unmap_bitmap.
     */
    int (*dma_unmap)(const VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                     bool unmap_all);
    /*
     * Unmap [iova, iova + size) and return the dirty pages of the range in
     * @vbmap (allocated by the caller for @size, see vfio_bitmap_alloc), in
     * one ioctl, so no page dirtied before the unmap is lost.  -E2BIG when
     * @vbmap is larger than max_dirty_bitmap_size (nothing is unmapped:
     * split the range).  NULL when the backend cannot.
     */
    int (*dma_unmap_bitmap)(const VFIOContainerBase *bcontainer, hwaddr iova,
                            hwaddr size, VFIOBitmap *vbmap);
    /* Start/stop the IOMMU's own dirty tracking.  NULL when unsupported. */
    int (*set_dirty_page_tracking)(const VFIOContainerBase *bcontainer, bool start);
    /*
     * Fill @vbmap with the pages of [iova, iova + size) dirtied since the
     * last query (the kernel clears what it reports).  -E2BIG as above.
     */
    int (*query_dirty_bitmap)(const VFIOContainerBase *bcontainer, VFIOBitmap *vbmap,
                              hwaddr iova, hwaddr size);
    /*
     * Attach @vbasedev (name, sysfsdev filled by vfio_device_init) to a
     * container of @as, creating what is needed; on failure nothing is left
     * behind.  @name is the device's name for the kernel.
     */
    bool (*attach_device)(const char *name, VFIODevice *vbasedev, AddressSpace *as,
                          Error **errp);
    /* Undo attach_device; the container goes with its last device. */
    void (*detach_device)(VFIODevice *vbasedev);
};

/*
 * Backend helpers: init links @bcontainer into @space (its containers list)
 * and gives it an empty mapping table; finalize unlinks it and frees what
 * the base owns.  The listener must be unregistered before finalize.
 */
void vfio_container_base_init(VFIOContainerBase *bcontainer, VFIOAddressSpace *space,
                              const VFIOIOMMUOps *ops);
void vfio_container_base_finalize(VFIOContainerBase *bcontainer);

/*
 * Map/unmap through the backend, keeping the mapping table and tracing.
 * Return 0 or -errno (the backend's); nothing is reported, the caller
 * decides what an error means.  vfio_container_dma_unmap with @unmap_all
 * empties the table.  vfio_container_dma_map retries once after unmapping
 * [iova, iova + size) when the backend says -EBUSY; if the retry fails, what
 * the unmap took is gone from the kernel and from the table alike.
 */
int vfio_container_dma_map(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                           void *vaddr, bool readonly);
int vfio_container_dma_unmap(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                             bool unmap_all);
/* Unmap collecting the dirty bitmap (VFIOIOMMUOps.dma_unmap_bitmap); -ENOTSUP without. */
int vfio_container_dma_unmap_bitmap(VFIOContainerBase *bcontainer, hwaddr iova,
                                    hwaddr size, VFIOBitmap *vbmap);
/* Number of mappings made and not yet unmapped (compare with dma_max_mappings). */
uint32_t vfio_container_dma_mappings(const VFIOContainerBase *bcontainer);

/*
 * The IOMMU's own dirty tracking (not device DMA logging): start/stop, and
 * fetch a bitmap.  -ENOTSUP when the backend cannot (dirty_pages_supported
 * false); start/stop update dirty_pages_started on success.
 */
int vfio_container_iommu_set_dirty_tracking(VFIOContainerBase *bcontainer, bool start);
int vfio_container_iommu_query_dirty_bitmap(const VFIOContainerBase *bcontainer,
                                            VFIOBitmap *vbmap, hwaddr iova, hwaddr size);

/*
 * A zeroed bitmap for @size bytes of IOVA space in host pages; -ENOMEM
 * (g_try_malloc0) for one too large to allocate.
 */
int vfio_bitmap_alloc(VFIOBitmap *vbmap, hwaddr size);
void vfio_bitmap_free(VFIOBitmap *vbmap);

/*
 * Is all of [iova, iova + size) inside one of the container's IOVA ranges?
 * True for any range when the backend reported none; false for size 0 or a
 * range that wraps past 2^64.
 */
bool vfio_container_iova_range_valid(const VFIOContainerBase *bcontainer,
                                     hwaddr iova, hwaddr size);
/* The smallest IOMMU page size (the alignment the listener must honour). */
hwaddr vfio_container_min_pagesize(const VFIOContainerBase *bcontainer);

/*
 * Address-space registry: one VFIOAddressSpace per AddressSpace.  get
 * finds or creates it; put frees it once it has no container (backends put
 * what they got, on failure too).  find never creates (NULL if none).
 */
VFIOAddressSpace *vfio_address_space_get(AddressSpace *as);
void vfio_address_space_put(VFIOAddressSpace *space);
VFIOAddressSpace *vfio_address_space_find(AddressSpace *as);

/*
 * The memory listener (hw/vfio/listener.c, include/hw/vfio/vfio-listener.h).
 * register starts mirroring space->as into the container: the memory core
 * replays the current view, and the first mapping error of the replay fails
 * the call, after everything the replay mapped has been unmapped again (the
 * listener is then unregistered; unregistering again is harmless).  A
 * successful register sets bcontainer->initialized: later mapping errors
 * are reported and counted in mapping_errors.  unregister is a no-op when
 * not registered; it unmaps what the listener mapped and stops dirty
 * tracking.
 */
bool vfio_container_listener_register(VFIOContainerBase *bcontainer, Error **errp);
void vfio_container_listener_unregister(VFIOContainerBase *bcontainer);

/*
 * Dirty tracking policy (hw/vfio/dirty-tracking.c): device DMA logging when
 * every device supports it, else the IOMMU's own tracking.
 */
bool vfio_container_dirty_tracking_is_started(const VFIOContainerBase *bcontainer);
bool vfio_container_devices_dirty_tracking_is_supported(const VFIOContainerBase *bcontainer);
/* OR the dirty pages of [iova, iova + size) into RAM's bitmaps at @ram_addr. */
bool vfio_container_query_dirty_bitmap(const VFIOContainerBase *bcontainer, hwaddr iova,
                                       hwaddr size, ram_addr_t ram_addr, Error **errp);

#endif /* HW_VFIO_VFIO_CONTAINER_BASE_H */
