/*
 * A device assigned through VFIO, independent of its bus (hw/vfio/device.c,
 * hw/vfio/region.c) and of the IOMMU backend that attached it.
 *
 * Life cycle: vfio_device_init() names the device; vfio_device_attach()
 * finds its IOMMU group, attaches it to a container of the address space
 * and opens the device fd (reading device info); the bus device then sets
 * up regions and IRQs; vfio_device_detach() undoes the attach and
 * vfio_device_finalize() frees the names.
 *
 * Errors: set-up functions return bool and fill errp with a message that
 * starts with "vfio NAME: "; thin ioctl wrappers return -errno.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_VFIO_VFIO_DEVICE_H
#define HW_VFIO_VFIO_DEVICE_H

#include "exec/memory.h"
#include "qemu/event_notifier.h"
#include <linux/vfio.h>

typedef struct VFIODevice VFIODevice;
typedef struct VFIOContainerBase VFIOContainerBase;
typedef struct VFIOGroup VFIOGroup;
typedef struct VFIOIOMMUOps VFIOIOMMUOps;

/* One mmap'd part of a region (the whole region, or a sparse-mmap area). */
typedef struct VFIOMmap {
    MemoryRegion mem;               /* RAM-device region over @mmap, a subregion of
                                       the region's mem while mapped */
    void *mmap;                     /* host address, NULL when not mapped */
    off_t offset;                   /* within the region, bytes */
    size_t size;                    /* bytes */
} VFIOMmap;

/* A device region (config space, a BAR, a vendor region) */
typedef struct VFIORegion {
    VFIODevice *vbasedev;           /* the device (not owned) */
    off_t fd_offset;                /* offset of the region in the device fd */
    MemoryRegion *mem;              /* the slow path: MMIO over pread/pwrite;
                                       the mmaps are its subregions. Owned */
    size_t size;                    /* bytes; 0 for an absent region */
    uint32_t flags;                 /* VFIO_REGION_INFO_FLAG_* */
    uint32_t nr_mmaps;              /* entries of @mmaps */
    VFIOMmap *mmaps;                /* the mappable parts, sorted by offset; owned */
    uint8_t nr;                     /* region index */
} VFIORegion;

/*
 * What a bus device (vfio-pci) lets the core call back: reset coordination
 * and migration state hooks.  Every member may be NULL.
 */
typedef struct VFIODeviceOps {
    void (*vfio_compute_needs_reset)(VFIODevice *vdev);
    int (*vfio_hot_reset_multi)(VFIODevice *vdev);
    /* Save/load of the bus device's emulated state (config space, vectors) */
    int (*vfio_save_config)(VFIODevice *vdev, GByteArray *out, Error **errp);
    int (*vfio_load_config)(VFIODevice *vdev, const uint8_t *data, size_t size,
                            Error **errp);
} VFIODeviceOps;

/*
 * How region I/O and IRQ set-up reach the device: today the device fd
 * (pread/pwrite/ioctl, vfio_device_io_ops_fd); a second transport
 * (vfio-user) would be another table.  All return -errno on failure and
 * report nothing.
 */
typedef struct VFIODeviceIOOps {
    /* DEVICE_GET_INFO with its capability chain: a g_malloc'd buffer. */
    int (*get_device_info)(VFIODevice *vdev, struct vfio_device_info **info);
    /* DEVICE_GET_REGION_INFO with its capability chain: a g_malloc'd buffer. */
    int (*get_region_info)(VFIODevice *vdev, uint32_t index,
                           struct vfio_region_info **info);
    /* DEVICE_GET_IRQ_INFO for info->index. */
    int (*get_irq_info)(VFIODevice *vdev, struct vfio_irq_info *info);
    int (*set_irqs)(VFIODevice *vdev, struct vfio_irq_set *irqs);
    /*
     * @size bytes at offset @off of region @nr; the bytes transferred (all of
     * them unless the region ends: interrupted calls are retried).
     */
    ssize_t (*region_read)(VFIODevice *vdev, uint8_t nr, off_t off, void *buf,
                           size_t size);
    ssize_t (*region_write)(VFIODevice *vdev, uint8_t nr, off_t off,
                            const void *buf, size_t size);
    int (*device_feature)(VFIODevice *vdev, struct vfio_device_feature *feature);
    /* DEVICE_RESET */
    int (*reset)(VFIODevice *vdev);
} VFIODeviceIOOps;

/* The device-fd transport. */
extern const VFIODeviceIOOps vfio_device_io_ops_fd;

struct VFIODevice {
    char *name;                     /* "0000:00:03.0": for messages; owned */
    char *sysfsdev;                 /* /sys/bus/pci/devices/NAME by default; owned */
    int fd;                         /* device fd, -1 when not attached */
    int type;                       /* VFIO_DEVICE_FLAGS_PCI, ... */
    uint32_t flags;                 /* VFIO_DEVICE_FLAGS_* from GET_INFO */
    uint32_t num_regions;           /* from GET_INFO */
    uint32_t num_irqs;              /* from GET_INFO */
    bool reset_works;               /* VFIO_DEVICE_FLAGS_RESET */
    bool needs_reset;
    bool no_mmap;                   /* x-no-mmap: every BAR access traps */
    bool ram_block_discard_allowed; /* the driver tolerates discarded RAM; must
                                       agree within a group */
    const VFIODeviceOps *ops;       /* the bus device's hooks (not owned) */
    const VFIODeviceIOOps *io_ops;  /* the transport (not owned) */
    /*
     * Region infos read so far, num_regions entries (NULL: not read yet),
     * each g_malloc'd with its capability chain; freed at detach.
     */
    struct vfio_region_info **reginfo;
    VFIOGroup *group;               /* legacy backend: the device's group */
    VFIOContainerBase *bcontainer;  /* where the device is attached, or NULL */
    void *opaque;                   /* the bus device (VFIOPCIDevice) */

    /* Migration and dirty tracking */
    bool migration_supported;       /* VFIO_DEVICE_FEATURE_MIGRATION probed */
    uint64_t migration_flags;       /* VFIO_MIGRATION_* */
    int mig_state;                  /* enum vfio_device_mig_state */
    bool dirty_pages_supported;     /* DMA logging feature probed */
    bool dirty_tracking;            /* DMA logging started */
};

/*
 * Name @vbasedev: @name (the host address, "0000:00:03.0"), @sysfsdev
 * (NULL: /sys/bus/pci/devices/NAME), bus @type, hooks @ops (may be NULL)
 * and @opaque; transport: the device fd.
 */
void vfio_device_init(VFIODevice *vbasedev, const char *name, const char *sysfsdev,
                      int type, const VFIODeviceOps *ops, void *opaque);
/* Free what init allocated; the device must be detached. */
void vfio_device_finalize(VFIODevice *vbasedev);

/*
 * Attach @vbasedev to a container of @as through @ops (NULL: the legacy
 * backend) and read its device info.  @name is the kernel's name for the
 * device (GET_DEVICE_FD).  On failure everything done so far is undone.
 */
bool vfio_device_attach_by_ops(const VFIOIOMMUOps *ops, const char *name,
                               VFIODevice *vbasedev, AddressSpace *as, Error **errp);
bool vfio_device_attach(const char *name, VFIODevice *vbasedev, AddressSpace *as,
                        Error **errp);
/* Undo attach: close the device fd and drop group/container references. */
void vfio_device_detach(VFIODevice *vbasedev);

/*
 * Backends: the device fd is open; read device info, hook the device into
 * @bcontainer (prepare) or out of it (unprepare).
 */
bool vfio_device_get_info(VFIODevice *vbasedev, Error **errp);
void vfio_device_prepare(VFIODevice *vbasedev, VFIOContainerBase *bcontainer);
void vfio_device_unprepare(VFIODevice *vbasedev);

/*
 * Info of region @index, read once and cached (with its capability chain):
 * 0 with *@info set (owned by the device: do not free), or -errno.
 */
int vfio_device_get_region_info(VFIODevice *vbasedev, uint32_t index,
                                struct vfio_region_info **info);
/*
 * The first region with a VFIO_REGION_INFO_CAP_TYPE capability of @type and
 * @subtype: 0 with *@info set (cached, do not free), -ENODEV if none.
 */
int vfio_device_get_region_info_type(VFIODevice *vbasedev, uint32_t type,
                                     uint32_t subtype, struct vfio_region_info **info);
/*
 * Capability @id of a region (from its info's chain), at least @min_size
 * bytes and of version @version or newer.  find: 0 with *@cap set, -ENOENT
 * when absent, -EINVAL when the chain is malformed, -ENOTSUP when the
 * capability's version is older; vfio_region_info_cap: the capability or
 * NULL.
 */
int vfio_region_info_cap_find(const struct vfio_region_info *info, uint16_t id,
                              uint16_t version, size_t min_size,
                              const struct vfio_info_cap_header **cap);
const struct vfio_info_cap_header *
vfio_region_info_cap(const struct vfio_region_info *info, uint16_t id, uint16_t version,
                     size_t min_size);

/*
 * Regions.  setup reads region @index and builds its slow-path MMIO region
 * named @name (owned by @owner) and the list of mappable parts (the sparse
 * mmap areas if the kernel gives some; none with x-no-mmap); mmap maps
 * those parts and makes them RAM-device subregions; unmap undoes mmap; exit
 * takes the mmaps out of the memory tree; finalize releases everything and
 * leaves @region empty.  finalize may run inside a memory transaction: the
 * storage of the MemoryRegions, which the old flat view references until
 * the outermost commit, is freed by a bottom half of the main loop.
 * A region of size 0 is set up empty (mem NULL).
 */
bool vfio_region_setup(void *owner, VFIODevice *vbasedev, VFIORegion *region,
                       int index, const char *name, Error **errp);
bool vfio_region_mmap(VFIORegion *region, Error **errp);
void vfio_region_unmap(VFIORegion *region);
void vfio_region_exit(VFIORegion *region);
void vfio_region_finalize(VFIORegion *region);
/*
 * Read/write @size (1, 2, 4 or 8) bytes, little endian, at @addr of the
 * region through the slow path, as the MMIO callbacks do.  A failure is
 * reported (naming device, region, offset) and a read then returns all ones.
 */
uint64_t vfio_region_read(void *opaque, hwaddr addr, unsigned size);
void vfio_region_write(void *opaque, hwaddr addr, uint64_t data, unsigned size);

/*
 * IRQs.  set_signaling: VFIO_IRQ_SET_ACTION_TRIGGER / MASK / UNMASK of
 * vector @subindex of IRQ @index signalled through eventfd @fd (-1:
 * de-assign).  disable: every vector of @index off.  mask/unmask: vector 0
 * (INTx).  The void ones report failures.
 */
int vfio_device_get_irq_info(VFIODevice *vbasedev, int index, struct vfio_irq_info *info);
bool vfio_device_irq_set_signaling(VFIODevice *vbasedev, int index, int subindex,
                                   int action, int fd, Error **errp);
void vfio_device_irq_disable(VFIODevice *vbasedev, int index);
void vfio_device_irq_unmask(VFIODevice *vbasedev, int index);
void vfio_device_irq_mask(VFIODevice *vbasedev, int index);

/* VFIO_DEVICE_RESET; fails when the device offers no reset (reset_works). */
bool vfio_device_reset(VFIODevice *vbasedev, Error **errp);

#endif /* HW_VFIO_VFIO_DEVICE_H */
