/*
 * The legacy backend: a /dev/vfio/vfio container with a type1 or sPAPR
 * IOMMU (include/hw/vfio/vfio-container.h).
 *
 * The container is created for the first group of an address space that
 * no existing container accepts.  Its IOMMU type is the richest the kernel
 * offers (TYPE1v2, TYPE1, SPAPR_TCE_v2, SPAPR_TCE); its page sizes, IOVA
 * ranges, mapping budget and dirty-tracking abilities come from GET_INFO.
 * The DMA operations are the VFIOIOMMUOps the listener calls through the
 * container base.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/range.h"
#include "qemu/vfio-info.h"
#include "sysemu/ram-discard.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-device.h"
#include "trace/trace-hw_vfio.h"

#include <sys/ioctl.h>

#define VFIO_CONTAINER_PATH "/dev/vfio/vfio"

/* The IOMMU types we can drive, richest first. */
static const unsigned int vfio_legacy_iommu_types[] = {
    VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU, VFIO_SPAPR_TCE_IOMMU,
};

static const char *vfio_legacy_iommu_type_name(unsigned int type)
{
    switch (type) {
    case VFIO_TYPE1v2_IOMMU:
        return "TYPE1v2";
    case VFIO_TYPE1_IOMMU:
        return "TYPE1";
    case VFIO_SPAPR_TCE_v2_IOMMU:
        return "SPAPR_TCE_v2";
    case VFIO_SPAPR_TCE_IOMMU:
        return "SPAPR_TCE";
    default:
        return "unknown";
    }
}

static bool vfio_legacy_iommu_is_type1(unsigned int type)
{
    return type == VFIO_TYPE1v2_IOMMU || type == VFIO_TYPE1_IOMMU;
}

static const VFIOContainer *vfio_legacy_const(const VFIOContainerBase *bcontainer)
{
    return container_of(bcontainer, const VFIOContainer, bcontainer);
}

int vfio_container_ram_discard_disable(VFIOContainer *container, bool state)
{
    int ret;

    /*
     * The IOMMU pins what it maps, so a page given back to the host behind
     * the listener's back would leave the device with a stale page.  Type1
     * maps and unmaps as the listener is told, so discards a
     * RamDiscardManager announces are safe; sPAPR (v2 preregisters all of
     * RAM up front) cannot follow them, so nothing may be discarded.
     */
    if (vfio_legacy_iommu_is_type1(container->iommu_type)) {
        ret = ram_block_uncoordinated_discard_disable(state);
    } else {
        ret = ram_block_discard_disable(state);
    }
    trace_vfio_container_ram_discard_disable(container->fd,
                                             vfio_legacy_iommu_is_type1(container->iommu_type),
                                             state, ret);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* DMA */

/* One UNMAP_DMA, with the 4.15-5.0 end-of-address-space workaround. */
static int vfio_legacy_dma_unmap_one(const VFIOContainer *container, hwaddr iova,
                                     hwaddr size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = iova,
        .size = size,
    };

    while (ioctl(container->fd, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
        int err = errno;

        /*
         * Type1 kernels 4.15 to 5.0 check "iova + size" for overflow off by
         * one, so a range ending at 2^64 is refused with EINVAL (only v2
         * containers can get there).  Nothing is ever mapped in the last
         * page, so unmapping all but it is equivalent.
         */
        if (err == EINVAL && unmap.size && !(unmap.iova + unmap.size) &&
            container->iommu_type == VFIO_TYPE1v2_IOMMU) {
            unmap.size -= vfio_container_min_pagesize(&container->bcontainer);
            trace_vfio_legacy_dma_unmap_overflow_workaround(unmap.iova, unmap.size);
            if (unmap.size) {
                continue;
            }
        }
        trace_vfio_legacy_dma_unmap_failed(container->fd, unmap.iova, unmap.size, err);
        return -err;
    }
    trace_vfio_legacy_dma_unmap(container->fd, unmap.iova, unmap.size, unmap.size);
    return 0;
}

static int vfio_legacy_dma_unmap_all(const VFIOContainer *container)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .flags = VFIO_DMA_UNMAP_FLAG_ALL,
    };
    const hwaddr half = 1ULL << 63;
    int ret;

    if (container->unmap_all_supported) {
        if (ioctl(container->fd, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
            int err = errno;

            trace_vfio_legacy_dma_unmap_failed(container->fd, 0, 0, err);
            return -err;
        }
        trace_vfio_legacy_dma_unmap(container->fd, 0, 0, unmap.size);
        return 0;
    }
    /* Without UNMAP_ALL a size cannot say 2^64: unmap the two halves. */
    ret = vfio_legacy_dma_unmap_one(container, 0, half);
    if (ret == 0) {
        ret = vfio_legacy_dma_unmap_one(container, half, half);
    }
    return ret;
}

static int vfio_legacy_dma_unmap(const VFIOContainerBase *bcontainer, hwaddr iova,
                                 hwaddr size, bool unmap_all)
{
    const VFIOContainer *container = vfio_legacy_const(bcontainer);

    if (unmap_all) {
        return vfio_legacy_dma_unmap_all(container);
    }
    return vfio_legacy_dma_unmap_one(container, iova, size);
}

static int vfio_legacy_dma_map(const VFIOContainerBase *bcontainer, hwaddr iova,
                               hwaddr size, void *vaddr, bool readonly)
{
    const VFIOContainer *container = vfio_legacy_const(bcontainer);
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | (readonly ? 0 : VFIO_DMA_MAP_FLAG_WRITE),
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };
    int err;

    /* EBUSY (a lingering mapping) is retried by vfio_container_dma_map. */
    if (ioctl(container->fd, VFIO_IOMMU_MAP_DMA, &map) == 0) {
        trace_vfio_legacy_dma_map(container->fd, iova, size, readonly);
        return 0;
    }
    err = errno;
    trace_vfio_legacy_dma_map_failed(container->fd, iova, size, err);
    return -err;
}

static int vfio_legacy_dma_unmap_bitmap(const VFIOContainerBase *bcontainer, hwaddr iova,
                                        hwaddr size, VFIOBitmap *vbmap)
{
    const VFIOContainer *container = vfio_legacy_const(bcontainer);
    struct {
        struct vfio_iommu_type1_dma_unmap unmap;
        struct vfio_bitmap bitmap;
    } arg = {
        .unmap = {
            .argsz = sizeof(arg),
            .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
            .iova = iova,
            .size = size,
        },
        .bitmap = {
            /* RAM's dirty bitmaps count host pages. */
            .pgsize = qemu_real_host_page_size(),
            .size = vbmap->size,
            .data = (__u64 *)vbmap->bitmap,
        },
    };

    if (vbmap->size > bcontainer->max_dirty_bitmap_size) {
        return -E2BIG;
    }
    if (ioctl(container->fd, VFIO_IOMMU_UNMAP_DMA, &arg)) {
        int err = errno;

        trace_vfio_legacy_dma_unmap_failed(container->fd, iova, size, err);
        return -err;
    }
    trace_vfio_legacy_dma_unmap_bitmap(container->fd, iova, size, vbmap->size);
    return 0;
}

static int vfio_legacy_set_dirty_page_tracking(const VFIOContainerBase *bcontainer,
                                               bool start)
{
    const VFIOContainer *container = vfio_legacy_const(bcontainer);
    struct vfio_iommu_type1_dirty_bitmap dirty = {
        .argsz = sizeof(dirty),
        .flags = start ? VFIO_IOMMU_DIRTY_PAGES_FLAG_START
                       : VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
    };
    int ret = ioctl(container->fd, VFIO_IOMMU_DIRTY_PAGES, &dirty) ? -errno : 0;

    trace_vfio_legacy_set_dirty_page_tracking(container->fd, start, ret);
    return ret;
}

static int vfio_legacy_query_dirty_bitmap(const VFIOContainerBase *bcontainer,
                                          VFIOBitmap *vbmap, hwaddr iova, hwaddr size)
{
    const VFIOContainer *container = vfio_legacy_const(bcontainer);
    struct {
        struct vfio_iommu_type1_dirty_bitmap hdr;
        struct vfio_iommu_type1_dirty_bitmap_get get;
    } arg = {
        .hdr = {
            .argsz = sizeof(arg),
            .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
        },
        .get = {
            .iova = iova,
            .size = size,
            .bitmap = {
                .pgsize = qemu_real_host_page_size(),
                .size = vbmap->size,
                .data = (__u64 *)vbmap->bitmap,
            },
        },
    };
    int ret;

    if (vbmap->size > bcontainer->max_dirty_bitmap_size) {
        return -E2BIG;
    }
    ret = ioctl(container->fd, VFIO_IOMMU_DIRTY_PAGES, &arg) ? -errno : 0;
    trace_vfio_legacy_query_dirty_bitmap(container->fd, iova, size, vbmap->size, ret);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Set-up */

/* The richest IOMMU type the kernel offers, or 0 with errp set. */
static unsigned int vfio_legacy_select_iommu_type(int fd, Error **errp)
{
    ERRP_GUARD();
    for (size_t i = 0; i < ARRAY_SIZE(vfio_legacy_iommu_types); i++) {
        unsigned int type = vfio_legacy_iommu_types[i];
        int ret = ioctl(fd, VFIO_CHECK_EXTENSION, type);

        trace_vfio_legacy_check_extension(fd, vfio_legacy_iommu_type_name(type), ret);
        if (ret > 0) {
            return type;
        }
    }
    error_setg(errp, "the kernel offers no IOMMU type we can use "
               "(none of TYPE1v2, TYPE1, SPAPR_TCE_v2, SPAPR_TCE)");
    error_append_hint(errp, "Is the vfio_iommu_type1 (or vfio_iommu_spapr_tce) module "
                      "loaded?\n");
    return 0;
}

/*
 * SET_IOMMU, falling back from sPAPR v2 to v1: the sPAPR driver offers
 * both, and whether the platform can do v2 shows only now that a group is
 * in the container.
 */
static bool vfio_legacy_set_iommu(int fd, unsigned int *type, Error **errp)
{
    ERRP_GUARD();
    while (ioctl(fd, VFIO_SET_IOMMU, *type)) {
        int err = errno;

        trace_vfio_legacy_set_iommu_failed(fd, vfio_legacy_iommu_type_name(*type), err);
        if (*type == VFIO_SPAPR_TCE_v2_IOMMU) {
            *type = VFIO_SPAPR_TCE_IOMMU;
            continue;
        }
        error_setg_errno(errp, err, "cannot set the %s IOMMU on the container",
                         vfio_legacy_iommu_type_name(*type));
        if (err == EPERM && vfio_legacy_iommu_is_type1(*type)) {
            error_append_hint(errp, "The host may lack interrupt remapping; "
                              "vfio_iommu_type1.allow_unsafe_interrupts=1 accepts that "
                              "at the cost of isolation from device interrupts.\n");
        }
        return false;
    }
    trace_vfio_legacy_set_iommu(fd, vfio_legacy_iommu_type_name(*type));
    return true;
}

/* Type1: page sizes, IOVA ranges, mapping budget, dirty tracking from GET_INFO. */
static bool vfio_legacy_setup_type1(VFIOContainer *container, Error **errp)
{
    ERRP_GUARD();
    VFIOContainerBase *bcontainer = &container->bcontainer;
    struct vfio_iommu_type1_info arg = { .argsz = sizeof(arg) };
    g_autofree void *buf = NULL;
    VFIOIOMMUInfo info;
    size_t size;
    int ret;

    ret = vfio_info_ioctl(container->fd, VFIO_IOMMU_GET_INFO, &arg, sizeof(arg), &buf,
                          &size);
    if (ret) {
        error_setg_errno(errp, -ret, "cannot read the IOMMU info of the container");
        return false;
    }
    if (!vfio_iommu_info_parse(buf, size, &info, errp)) {
        error_prepend(errp, "container IOMMU info: ");
        return false;
    }
    bcontainer->pgsizes = info.iova_pgsizes;
    bcontainer->iova_ranges = info.iova_ranges;     /* ownership moves */
    info.iova_ranges = NULL;
    bcontainer->dma_max_mappings = info.dma_max_mappings;
    bcontainer->dirty_pages_supported = info.dirty_pages_supported;
    if (info.dirty_pages_supported) {
        bcontainer->dirty_pgsizes = info.dirty_pgsizes;
        bcontainer->max_dirty_bitmap_size = info.max_dirty_bitmap_size;
    }
    vfio_iommu_info_clear(&info);

    ret = ioctl(container->fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL);
    container->unmap_all_supported = ret > 0;
    trace_vfio_legacy_check_extension(container->fd, "UNMAP_ALL", ret);
    return true;
}

/*
 * sPAPR: the DMA window the platform gives (the 32-bit default window) is
 * the IOVA range; v1 must be enabled before it maps.
 */
static bool vfio_legacy_setup_spapr(VFIOContainer *container, Error **errp)
{
    VFIOContainerBase *bcontainer = &container->bcontainer;
    struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
    Range *range;

    if (container->iommu_type == VFIO_SPAPR_TCE_IOMMU) {
        int ret = ioctl(container->fd, VFIO_IOMMU_ENABLE) ? -errno : 0;

        trace_vfio_legacy_spapr_enable(container->fd, ret);
        if (ret) {
            error_setg_errno(errp, -ret, "cannot enable the SPAPR_TCE IOMMU");
            return false;
        }
    }
    if (ioctl(container->fd, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info)) {
        error_setg_errno(errp, errno, "cannot read the sPAPR IOMMU info of the container");
        return false;
    }
    trace_vfio_legacy_spapr_info(container->fd, info.dma32_window_start,
                                 info.dma32_window_size, info.flags, info.ddw.pgsizes);
    if (!info.dma32_window_size) {
        error_setg(errp, "the sPAPR IOMMU reports an empty DMA window");
        return false;
    }
    range = g_new(Range, 1);
    if (range_init(range, info.dma32_window_start, info.dma32_window_size)) {
        g_free(range);
        error_setg(errp, "the sPAPR DMA window [0x%x, +0x%x) is malformed",
                   info.dma32_window_start, info.dma32_window_size);
        return false;
    }
    bcontainer->iova_ranges = range_list_insert(NULL, range);
    bcontainer->pgsizes = (info.flags & VFIO_IOMMU_SPAPR_INFO_DDW) && info.ddw.pgsizes
                          ? info.ddw.pgsizes : 4096;
    bcontainer->dma_max_mappings = VFIO_DEFAULT_DMA_MAX_MAPPINGS;
    return true;
}

static bool vfio_legacy_setup(VFIOContainer *container, Error **errp)
{
    VFIOContainerBase *bcontainer = &container->bcontainer;
    bool ok = vfio_legacy_iommu_is_type1(container->iommu_type)
              ? vfio_legacy_setup_type1(container, errp)
              : vfio_legacy_setup_spapr(container, errp);

    if (ok) {
        trace_vfio_legacy_setup(container->fd,
                                vfio_legacy_iommu_type_name(container->iommu_type),
                                bcontainer->pgsizes, g_list_length(bcontainer->iova_ranges),
                                bcontainer->dma_max_mappings,
                                bcontainer->dirty_pages_supported,
                                container->unmap_all_supported);
    }
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Groups joining and leaving */

/* @group is in the container for the kernel; make it so for us. */
static bool vfio_container_group_add(VFIOContainer *container, VFIOGroup *group,
                                     Error **errp)
{
    ERRP_GUARD();
    int ret = vfio_container_ram_discard_disable(container, true);

    if (ret) {
        error_setg_errno(errp, -ret, "group %d: cannot forbid RAM discard, which the %s "
                         "IOMMU requires", group->groupid,
                         vfio_legacy_iommu_type_name(container->iommu_type));
        error_append_hint(errp, "Something else needs RAM discard to work "
                          "(a balloon or pluggable memory?).\n");
        return false;
    }
    group->container = container;
    container->group_list = g_list_prepend(container->group_list, group);
    return true;
}

/* Undo vfio_container_group_add (the kernel still has the group in). */
static void vfio_container_group_del(VFIOContainer *container, VFIOGroup *group)
{
    container->group_list = g_list_remove(container->group_list, group);
    group->container = NULL;
    if (!group->ram_block_discard_allowed) {
        vfio_container_ram_discard_disable(container, false);
    }
}

static void vfio_group_unset_container(VFIOGroup *group, int container_fd)
{
    int fd = container_fd;

    if (ioctl(group->fd, VFIO_GROUP_UNSET_CONTAINER, &fd)) {
        warn_report("vfio: group %d: cannot leave container %d: %s", group->groupid,
                    container_fd, strerror(errno));
        return;
    }
    trace_vfio_group_unset_container(group->groupid, container_fd);
}

/* Try to add @group to an existing container of @space: true if one took it. */
static bool vfio_container_try_existing(VFIOAddressSpace *space, VFIOGroup *group,
                                        bool *ok, Error **errp)
{
    for (GList *l = space->containers; l; l = l->next) {
        VFIOContainerBase *bcontainer = l->data;
        VFIOContainer *container;
        int fd;

        if (bcontainer->ops != &vfio_legacy_ops) {
            continue;
        }
        container = vfio_container_from_base(bcontainer);
        fd = container->fd;
        if (ioctl(group->fd, VFIO_GROUP_SET_CONTAINER, &fd)) {
            trace_vfio_container_refused_group(container->fd, group->groupid, errno);
            continue;
        }
        trace_vfio_container_reuse(container->fd, group->groupid);
        *ok = vfio_container_group_add(container, group, errp);
        if (!*ok) {
            vfio_group_unset_container(group, container->fd);
        }
        return true;
    }
    return false;
}

bool vfio_container_connect(VFIOGroup *group, AddressSpace *as, Error **errp)
{
    ERRP_GUARD();
    VFIOAddressSpace *space = vfio_address_space_get(as);
    VFIOContainer *container;
    VFIOContainerBase *bcontainer;
    unsigned int type;
    int fd, ret;
    bool ok;

    if (vfio_container_try_existing(space, group, &ok, errp)) {
        vfio_address_space_put(space);      /* a no-op: it has containers */
        return ok;
    }

    fd = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;

        error_setg_errno(errp, err, "cannot open %s", VFIO_CONTAINER_PATH);
        if (err == ENOENT) {
            error_append_hint(errp, "Is the vfio module loaded?\n");
        }
        goto put_space;
    }
    ret = ioctl(fd, VFIO_GET_API_VERSION);
    trace_vfio_legacy_api_version(fd, ret);
    if (ret != VFIO_API_VERSION) {
        error_setg(errp, "%s speaks VFIO API version %d, we speak %d", VFIO_CONTAINER_PATH,
                   ret, VFIO_API_VERSION);
        goto close_fd;
    }
    type = vfio_legacy_select_iommu_type(fd, errp);
    if (!type) {
        goto close_fd;
    }
    if (ioctl(group->fd, VFIO_GROUP_SET_CONTAINER, &fd)) {
        error_setg_errno(errp, errno, "group %d: cannot join a new container",
                         group->groupid);
        goto close_fd;
    }
    trace_vfio_group_set_container(group->groupid, fd);
    if (!vfio_legacy_set_iommu(fd, &type, errp)) {
        goto unset_container;
    }

    container = g_new0(VFIOContainer, 1);
    bcontainer = &container->bcontainer;
    vfio_container_base_init(bcontainer, space, &vfio_legacy_ops);
    container->fd = fd;
    container->iommu_type = type;
    trace_vfio_container_new(fd, vfio_legacy_iommu_type_name(type), as->name);

    if (!vfio_legacy_setup(container, errp)) {
        goto free_container;
    }
    if (!vfio_container_group_add(container, group, errp)) {
        goto free_container;
    }
    if (!vfio_container_listener_register(bcontainer, errp)) {
        goto unregister_listener;
    }
    bcontainer->initialized = true;
    return true;

unregister_listener:
    /* A failed replay may have mapped part of the view: unregistering unmaps it. */
    vfio_container_listener_unregister(bcontainer);
    vfio_container_group_del(container, group);
free_container:
    vfio_container_base_finalize(bcontainer);
    g_free(container);
unset_container:
    vfio_group_unset_container(group, fd);
close_fd:
    close(fd);
put_space:
    vfio_address_space_put(space);
    return false;
}

void vfio_container_disconnect(VFIOGroup *group)
{
    VFIOContainer *container = group->container;
    VFIOContainerBase *bcontainer = &container->bcontainer;
    VFIOAddressSpace *space = bcontainer->space;
    bool last;

    vfio_container_group_del(container, group);
    last = container->group_list == NULL;
    /*
     * Leaving as the last group destroys the kernel's container state, so
     * the listener (whose region_del unmaps) must go first.
     */
    if (last) {
        vfio_container_listener_unregister(bcontainer);
    }
    vfio_group_unset_container(group, container->fd);
    if (last) {
        trace_vfio_container_disconnect(container->fd);
        vfio_container_base_finalize(bcontainer);
        close(container->fd);
        g_free(container);
        vfio_address_space_put(space);
    }
}

/* attach/detach are group.c's: the legacy backend attaches through groups. */
const VFIOIOMMUOps vfio_legacy_ops = {
    .name = "legacy",
    .dma_map = vfio_legacy_dma_map,
    .dma_unmap = vfio_legacy_dma_unmap,
    .dma_unmap_bitmap = vfio_legacy_dma_unmap_bitmap,
    .set_dirty_page_tracking = vfio_legacy_set_dirty_page_tracking,
    .query_dirty_bitmap = vfio_legacy_query_dirty_bitmap,
    .attach_device = vfio_legacy_attach_device,
    .detach_device = vfio_legacy_detach_device,
};
