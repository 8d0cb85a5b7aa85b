/*
 * A device assigned through VFIO, independent of its bus (hw/vfio/device.c,
 * hw/vfio/region.c) and of the IOMMU backend that attached it.
 */
#ifndef HW_VFIO_VFIO_DEVICE_H
#define HW_VFIO_VFIO_DEVICE_H

#include "exec/memory.h"
#include "qemu/event_notifier.h"
#include <linux/vfio.h>

typedef struct VFIODevice VFIODevice;
typedef struct VFIOContainerBase VFIOContainerBase;
typedef struct VFIOGroup VFIOGroup;

/* One mmap'd part of a region (the whole region, or a sparse-mmap area). */
typedef struct VFIOMmap {
    MemoryRegion mem;               /* RAM-device region over mmap */
    void *mmap;                     /* host address, MAP_FAILED if not mapped */
    off_t offset;                   /* within the region */
    size_t size;
} VFIOMmap;

/* A device region (config space, a BAR, a vendor region) */
typedef struct VFIORegion {
    VFIODevice *vbasedev;
    off_t fd_offset;                /* offset of the region in the device fd */
    MemoryRegion *mem;              /* the slow path: MMIO over pread/pwrite */
    size_t size;
    uint32_t flags;                 /* VFIO_REGION_INFO_FLAG_* */
    uint32_t nr_mmaps;
    VFIOMmap *mmaps;                /* nr_mmaps entries */
    uint8_t nr;                     /* region index */
} VFIORegion;

/*
 * What a bus device (vfio-pci) lets the core call back: its name for
 * messages, reset coordination, and migration state hooks.
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
 * (pread/pwrite/ioctl); a second transport (vfio-user) would be another table.
 */
typedef struct VFIODeviceIOOps {
    int (*get_region_info)(VFIODevice *vdev, struct vfio_region_info **info,
                           uint32_t index);
    int (*get_irq_info)(VFIODevice *vdev, struct vfio_irq_info *info);
    int (*set_irqs)(VFIODevice *vdev, struct vfio_irq_set *irqs);
    ssize_t (*region_read)(VFIODevice *vdev, uint8_t nr, off_t off, void *buf,
                           size_t size);
    ssize_t (*region_write)(VFIODevice *vdev, uint8_t nr, off_t off,
                            const void *buf, size_t size);
    int (*device_feature)(VFIODevice *vdev, struct vfio_device_feature *feature);
} VFIODeviceIOOps;

struct VFIODevice {
    char *name;                     /* "0000:00:03.0": the kernel's device name */
    char *sysfsdev;                 /* /sys/bus/pci/devices/NAME */
    int fd;                         /* device fd, -1 when not open */
    int type;                       /* VFIO_DEVICE_FLAGS_PCI, ... */
    uint32_t flags;                 /* VFIO_DEVICE_FLAGS_* from GET_INFO */
    uint32_t num_regions;
    uint32_t num_irqs;
    bool reset_works;               /* VFIO_DEVICE_FLAGS_RESET */
    bool needs_reset;
    bool no_mmap;                   /* x-no-mmap: every BAR access traps */
    bool ram_block_discard_allowed; /* the driver tolerates discarded RAM */
    const VFIODeviceOps *ops;
    const VFIODeviceIOOps *io_ops;
    VFIOGroup *group;               /* legacy backend: the device's group */
    VFIOContainerBase *bcontainer;  /* where the device is attached */
    void *opaque;                   /* the bus device (VFIOPCIDevice) */

    /* Migration and dirty tracking */
    bool migration_supported;       /* VFIO_DEVICE_FEATURE_MIGRATION probed */
    uint64_t migration_flags;       /* VFIO_MIGRATION_* */
    int mig_state;                  /* enum vfio_device_mig_state */
    bool dirty_pages_supported;     /* DMA logging feature probed */
    bool dirty_tracking;            /* DMA logging started */
};

/* Attach @vbasedev (name and sysfsdev filled) to a container of @as. */
bool vfio_device_attach(const char *name, VFIODevice *vbasedev, AddressSpace *as,
                        Error **errp);
void vfio_device_detach(VFIODevice *vbasedev);

/* Read device, region and IRQ info through the device fd. */
bool vfio_device_get_info(VFIODevice *vbasedev, Error **errp);
int vfio_device_get_region_info(VFIODevice *vbasedev, uint32_t index,
                                struct vfio_region_info **info);
/* Capability @cap_type of a region (from its info's chain), or NULL. */
const struct vfio_info_cap_header *
vfio_region_info_cap(const struct vfio_region_info *info, uint16_t id, size_t min_size);

/* Regions: set up, mmap (honouring sparse areas), tear down. */
bool vfio_region_setup(void *owner, VFIODevice *vbasedev, VFIORegion *region,
                       int index, const char *name, Error **errp);
bool vfio_region_mmap(VFIORegion *region, Error **errp);
void vfio_region_unmap(VFIORegion *region);
void vfio_region_exit(VFIORegion *region);
void vfio_region_finalize(VFIORegion *region);

/* IRQs */
bool vfio_device_irq_set_signaling(VFIODevice *vbasedev, int index, int subindex,
                                   int action, int fd, Error **errp);
void vfio_device_irq_disable(VFIODevice *vbasedev, int index);
void vfio_device_irq_unmask(VFIODevice *vbasedev, int index);
void vfio_device_irq_mask(VFIODevice *vbasedev, int index);

bool vfio_device_reset(VFIODevice *vbasedev, Error **errp);

#endif /* HW_VFIO_VFIO_DEVICE_H */
