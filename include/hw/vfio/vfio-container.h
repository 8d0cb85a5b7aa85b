/*
 * The legacy VFIO backend: a /dev/vfio/vfio container (type1 or sPAPR
 * IOMMU) with IOMMU groups attached to it (hw/vfio/container.c,
 * hw/vfio/group.c).
 *
 * The kernel lets a process open each group once, so groups are shared by
 * every device of the group and found by number.  A group joins a
 * container of its address space if the kernel accepts it there
 * (SET_CONTAINER), else a new container; a container lives while it has
 * groups, a group while it has devices.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_VFIO_VFIO_CONTAINER_H
#define HW_VFIO_VFIO_CONTAINER_H

#include "hw/vfio/vfio-container-base.h"

typedef struct VFIOGroup VFIOGroup;

typedef struct VFIOContainer {
    VFIOContainerBase bcontainer;   /* first member: the backend-neutral part */
    int fd;                         /* /dev/vfio/vfio; owned */
    unsigned int iommu_type;        /* VFIO_TYPE1v2_IOMMU, ... as accepted by SET_IOMMU */
    bool unmap_all_supported;       /* the VFIO_UNMAP_ALL extension */
    GList *group_list;              /* VFIOGroup * attached, most recent first */
} VFIOContainer;

struct VFIOGroup {
    int groupid;                    /* the IOMMU group number */
    int fd;                         /* /dev/vfio/GROUPID; owned */
    VFIOContainer *container;       /* attached to; NULL only while set up/torn down */
    GList *device_list;             /* VFIODevice * open through this group */
    /*
     * The group's devices tolerate discarded RAM (all or none of them),
     * so the group does not hold the container's discard restriction.
     */
    bool ram_block_discard_allowed;
};

/* The legacy backend's ops (vfio_device_attach uses it by default). */
extern const VFIOIOMMUOps vfio_legacy_ops;

/* The container of @bcontainer (which must be a legacy one). */
static inline VFIOContainer *vfio_container_from_base(VFIOContainerBase *bcontainer)
{
    return container_of(bcontainer, VFIOContainer, bcontainer);
}

/*
 * Container side (container.c).  connect attaches @group to a container of
 * @as (an existing one if the kernel accepts the group there, else a new
 * one with its listener registered); disconnect undoes it, destroying the
 * container with its last group (listener first, then UNSET_CONTAINER).
 */
bool vfio_container_connect(VFIOGroup *group, AddressSpace *as, Error **errp);
void vfio_container_disconnect(VFIOGroup *group);
/*
 * Restrict RAM discard as @container's IOMMU requires (@state true), or
 * lift one such restriction: type1 forbids only uncoordinated discard, sPAPR
 * all of it.  Returns 0 or -EBUSY (a conflicting requirement is held).
 */
int vfio_container_ram_discard_disable(VFIOContainer *container, bool state);

/*
 * Group side (group.c).  get finds group @groupid or opens it, checks it is
 * viable and connects it to a container of @as; put drops it once it has no
 * device.  find looks a group up without opening it.
 */
VFIOGroup *vfio_group_get(int groupid, AddressSpace *as, Error **errp);
void vfio_group_put(VFIOGroup *group);
VFIOGroup *vfio_group_find(int groupid);
/* The backend's device attach/detach (VFIOIOMMUOps), through the device's group. */
bool vfio_legacy_attach_device(const char *name, VFIODevice *vbasedev, AddressSpace *as,
                               Error **errp);
void vfio_legacy_detach_device(VFIODevice *vbasedev);
/*
 * The IOMMU group number of @vbasedev from its sysfs iommu_group link, or
 * -1 with a message saying what is missing or malformed.
 */
int vfio_device_get_groupid(VFIODevice *vbasedev, Error **errp);

#endif /* HW_VFIO_VFIO_CONTAINER_H */
