/*
 * The backend-neutral VFIO container.
 *
 * A container is one IOMMU context: a set of IOVA → host-memory mappings
 * that every device attached to it sees.  The memory listener
 * (hw/vfio/listener.c), dirty tracking (hw/vfio/dirty-tracking.c) and RAM
 * discard coordination (hw/vfio/ram-discard.c) work on this base only; how
 * a mapping reaches the kernel is the backend's business, behind
 * VFIOIOMMUOps.  Today the only backend is the legacy /dev/vfio/vfio
 * container (hw/vfio/container.c); an iommufd backend would be another
 * VFIOIOMMUOps without touching the listener or the devices.
 */
#ifndef HW_VFIO_VFIO_CONTAINER_BASE_H
#define HW_VFIO_VFIO_CONTAINER_BASE_H

#include "exec/memory.h"
#include "exec/ram-discard-manager.h"

typedef struct VFIODevice VFIODevice;
typedef struct VFIOContainerBase VFIOContainerBase;
typedef struct VFIOIOMMUOps VFIOIOMMUOps;

/* One per guest address space that has assigned devices. */
typedef struct VFIOAddressSpace {
    AddressSpace *as;               /* the guest address space (not owned) */
    GList *containers;              /* VFIOContainerBase *, in creation order */
} VFIOAddressSpace;

/*
 * A dirty bitmap in the layout the kernel fills: one bit per page of
 * host page size, little-endian u64 words, starting at some IOVA.
 */
typedef struct VFIOBitmap {
    uint64_t *bitmap;               /* g_try_malloc0'd, owned */
    hwaddr size;                    /* bytes, a multiple of sizeof(uint64_t) */
    hwaddr pages;                   /* number of valid bits */
} VFIOBitmap;

/* An IOMMU memory region section mirrored into the container. */
typedef struct VFIOGuestIOMMU {
    VFIOContainerBase *bcontainer;
    IOMMUMemoryRegion *iommu_mr;    /* referenced while registered */
    hwaddr iommu_offset;            /* section's offset_within_address_space
                                       minus offset_within_region */
    IOMMUNotifier n;
} VFIOGuestIOMMU;

/* A RAM section whose population a RamDiscardManager decides. */
typedef struct VFIORamDiscardListener {
    VFIOContainerBase *bcontainer;
    MemoryRegion *mr;
    hwaddr offset_within_address_space;
    hwaddr size;
    uint64_t granularity;           /* bytes mapped per populate event unit */
    RamDiscardListener listener;
} VFIORamDiscardListener;

struct VFIOContainerBase {
    const VFIOIOMMUOps *ops;
    VFIOAddressSpace *space;        /* the address space this container mirrors */
    MemoryListener listener;        /* registered on space->as by the backend */
    bool listener_registered;

    /* What the IOMMU can do, filled by the backend's setup */
    uint64_t pgsizes;               /* IOMMU page sizes (bitmap) */
    GList *iova_ranges;             /* Range * (inclusive), sorted; NULL = all */
    uint32_t dma_max_mappings;      /* budget of simultaneous mappings */
    uint32_t dma_mappings;          /* mappings made through this container */
    bool dirty_pages_supported;     /* the backend can report dirty bitmaps */
    uint64_t dirty_pgsizes;         /* page sizes the dirty bitmap can use */
    uint64_t max_dirty_bitmap_size; /* bytes per query; larger queries are split */

    /* Dirty tracking state */
    bool dirty_pages_started;       /* container tracking running */
    unsigned int dirty_tracking_users; /* log_global_start nesting */

    /*
     * Listener errors after the first commit cannot fail a device realize;
     * they are reported once, kept here and counted, never dropped silently.
     */
    bool initialized;               /* the listener replay has completed */
    Error *error;                   /* first error during replay (fails realize) */
    uint64_t mapping_errors;        /* errors seen after initialization */

    GList *giommu_list;             /* VFIOGuestIOMMU * */
    GList *vrdl_list;               /* VFIORamDiscardListener * */
    GList *device_list;             /* VFIODevice * attached through this container */
};

/* Backend operations.  ioctl-level ones return -errno; setup-level ones bool+errp. */
struct VFIOIOMMUOps {
    const char *name;
    /* Map [iova, iova+size) to @vaddr; @readonly maps without device write access. */
    int (*dma_map)(const VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                   void *vaddr, bool readonly);
    /*
     * Unmap [iova, iova+size); with @unmap_all everything.  While container
     * dirty tracking runs, the backend collects the range's dirty bitmap
     * into RAM's migration bitmap before the mapping goes (@iotlb, when not
     * NULL, gives the RAM address of a vIOMMU translation).
     */
    int (*dma_unmap)(const VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                     IOMMUTLBEntry *iotlb, bool unmap_all);
    /* Start/stop the container's own dirty tracking. */
    int (*set_dirty_page_tracking)(const VFIOContainerBase *bcontainer, bool start,
                                   Error **errp);
    /* Fill @vbmap with the dirty pages of [iova, iova+size). */
    int (*query_dirty_bitmap)(const VFIOContainerBase *bcontainer, VFIOBitmap *vbmap,
                              hwaddr iova, hwaddr size, Error **errp);
};

void vfio_container_base_init(VFIOContainerBase *bcontainer, VFIOAddressSpace *space,
                              const VFIOIOMMUOps *ops);
void vfio_container_base_finalize(VFIOContainerBase *bcontainer);

/* Map/unmap through the backend, keeping the mapping count and trace. */
int vfio_container_dma_map(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                           void *vaddr, bool readonly);
int vfio_container_dma_unmap(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                             IOMMUTLBEntry *iotlb, bool unmap_all);

/* Is [iova, iova+size) inside one of the container's IOVA ranges? */
bool vfio_container_iova_range_valid(const VFIOContainerBase *bcontainer,
                                     hwaddr iova, hwaddr size);
/* The smallest IOMMU page size (the alignment the listener must honour). */
hwaddr vfio_container_min_pagesize(const VFIOContainerBase *bcontainer);

/* Address-space registry: one VFIOAddressSpace per AddressSpace. */
VFIOAddressSpace *vfio_address_space_get(AddressSpace *as);
void vfio_address_space_put(VFIOAddressSpace *space);

/* Start the listener on the container's address space; fails with the first
 * mapping error of the replay (before init errors fail the realize). */
bool vfio_container_listener_register(VFIOContainerBase *bcontainer, Error **errp);
void vfio_container_listener_unregister(VFIOContainerBase *bcontainer);

/* Dirty tracking (hw/vfio/dirty-tracking.c) */
bool vfio_container_dirty_tracking_is_started(const VFIOContainerBase *bcontainer);
bool vfio_container_devices_dirty_tracking_is_supported(const VFIOContainerBase *bcontainer);
int vfio_container_query_dirty_bitmap(const VFIOContainerBase *bcontainer, hwaddr iova,
                                      hwaddr size, ram_addr_t ram_addr, Error **errp);

#endif /* HW_VFIO_VFIO_CONTAINER_BASE_H */
