/*
 * VFIODevice: attach/detach through a backend, device and region info,
 * IRQ signalling, reset, and the device-fd transport
 * (include/hw/vfio/vfio-device.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/vfio-info.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-device.h"
#include "trace/trace-hw_vfio.h"

#include <sys/ioctl.h>

/* More regions or IRQ indexes than this is a broken kernel, not a device. */
#define VFIO_DEVICE_MAX_INDEXES 1024

/* ------------------------------------------------------------------------ */
/* The device-fd transport */

static int vfio_device_fd_get_device_info(VFIODevice *vdev, struct vfio_device_info **info)
{
    struct vfio_device_info arg = { .argsz = sizeof(arg) };
    size_t size;

    return vfio_info_ioctl(vdev->fd, VFIO_DEVICE_GET_INFO, &arg, sizeof(arg), (void **)info,
                           &size);
}

static int vfio_device_fd_get_region_info(VFIODevice *vdev, uint32_t index,
                                          struct vfio_region_info **info)
{
    struct vfio_region_info arg = { .argsz = sizeof(arg), .index = index };
    size_t size;

    return vfio_info_ioctl(vdev->fd, VFIO_DEVICE_GET_REGION_INFO, &arg, sizeof(arg),
                           (void **)info, &size);
}

static int vfio_device_fd_get_irq_info(VFIODevice *vdev, struct vfio_irq_info *info)
{
    struct vfio_irq_info arg = { .argsz = sizeof(arg), .index = info->index };
    g_autofree struct vfio_irq_info *buf = NULL;
    size_t size;
    int ret;

    ret = vfio_info_ioctl(vdev->fd, VFIO_DEVICE_GET_IRQ_INFO, &arg, sizeof(arg),
                          (void **)&buf, &size);
    if (ret == 0) {
        *info = *buf;
    }
    return ret;
}

static int vfio_device_fd_set_irqs(VFIODevice *vdev, struct vfio_irq_set *irqs)
{
    return ioctl(vdev->fd, VFIO_DEVICE_SET_IRQS, irqs) ? -errno : 0;
}

/* pread/pwrite all of @size bytes, retrying interrupted and short transfers. */
static ssize_t vfio_device_fd_rw(int fd, void *buf, size_t size, off_t off, bool write)
{
    size_t done = 0;

    while (done < size) {
        ssize_t n = write ? pwrite(fd, (const char *)buf + done, size - done, off + done)
                          : pread(fd, (char *)buf + done, size - done, off + done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            break;      /* the end of the region */
        }
        done += n;
    }
    return done;
}

static ssize_t vfio_device_fd_region_read(VFIODevice *vdev, uint8_t nr, off_t off,
                                          void *buf, size_t size)
{
    struct vfio_region_info *info;
    int ret = vfio_device_get_region_info(vdev, nr, &info);

    if (ret) {
        return ret;
    }
    return vfio_device_fd_rw(vdev->fd, buf, size, info->offset + off, false);
}

static ssize_t vfio_device_fd_region_write(VFIODevice *vdev, uint8_t nr, off_t off,
                                           const void *buf, size_t size)
{
    struct vfio_region_info *info;
    int ret = vfio_device_get_region_info(vdev, nr, &info);

    if (ret) {
        return ret;
    }
    return vfio_device_fd_rw(vdev->fd, (void *)buf, size, info->offset + off, true);
}

static int vfio_device_fd_device_feature(VFIODevice *vdev,
                                         struct vfio_device_feature *feature)
{
    int ret = ioctl(vdev->fd, VFIO_DEVICE_FEATURE, feature) ? -errno : 0;

    trace_vfio_device_feature(vdev->name, feature->flags, ret);
    return ret;
}

static int vfio_device_fd_reset(VFIODevice *vdev)
{
    return ioctl(vdev->fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

const VFIODeviceIOOps vfio_device_io_ops_fd = {
    .get_device_info = vfio_device_fd_get_device_info,
    .get_region_info = vfio_device_fd_get_region_info,
    .get_irq_info = vfio_device_fd_get_irq_info,
    .set_irqs = vfio_device_fd_set_irqs,
    .region_read = vfio_device_fd_region_read,
    .region_write = vfio_device_fd_region_write,
    .device_feature = vfio_device_fd_device_feature,
    .reset = vfio_device_fd_reset,
};

/* ------------------------------------------------------------------------ */
/* Life cycle */

void vfio_device_init(VFIODevice *vbasedev, const char *name, const char *sysfsdev,
                      int type, const VFIODeviceOps *ops, void *opaque)
{
    memset(vbasedev, 0, sizeof(*vbasedev));
    vbasedev->name = g_strdup(name);
    vbasedev->sysfsdev = sysfsdev ? g_strdup(sysfsdev)
                                  : g_strdup_printf("/sys/bus/pci/devices/%s", name);
    vbasedev->fd = -1;
    vbasedev->type = type;
    vbasedev->ops = ops;
    vbasedev->io_ops = &vfio_device_io_ops_fd;
    vbasedev->opaque = opaque;
}

void vfio_device_finalize(VFIODevice *vbasedev)
{
    assert(vbasedev->fd < 0 && !vbasedev->bcontainer);
    g_free(vbasedev->name);
    g_free(vbasedev->sysfsdev);
    vbasedev->name = vbasedev->sysfsdev = NULL;
}

static void vfio_device_free_reginfo(VFIODevice *vbasedev)
{
    if (vbasedev->reginfo) {
        for (uint32_t i = 0; i < vbasedev->num_regions; i++) {
            g_free(vbasedev->reginfo[i]);
        }
        g_free(vbasedev->reginfo);
        vbasedev->reginfo = NULL;
    }
}

bool vfio_device_attach_by_ops(const VFIOIOMMUOps *ops, const char *name,
                               VFIODevice *vbasedev, AddressSpace *as, Error **errp)
{
    ERRP_GUARD();

    if (!ops) {
        ops = &vfio_legacy_ops;
    }
    trace_vfio_device_attach(vbasedev->name, ops->name, as->name);
    if (vbasedev->bcontainer) {
        error_setg_errno(errp, EBUSY, "vfio %s: device is already attached", vbasedev->name);
        return false;
    }
    if (!ops->attach_device(name, vbasedev, as, errp)) {
        error_prepend(errp, "vfio %s: ", vbasedev->name);
        vfio_device_free_reginfo(vbasedev);
        return false;
    }
    return true;
}

bool vfio_device_attach(const char *name, VFIODevice *vbasedev, AddressSpace *as,
                        Error **errp)
{
    return vfio_device_attach_by_ops(NULL, name, vbasedev, as, errp);
}

void vfio_device_detach(VFIODevice *vbasedev)
{
    if (!vbasedev->bcontainer) {
        return;
    }
    trace_vfio_device_detach(vbasedev->name);
    vbasedev->bcontainer->ops->detach_device(vbasedev);
    vfio_device_free_reginfo(vbasedev);
}

void vfio_device_prepare(VFIODevice *vbasedev, VFIOContainerBase *bcontainer)
{
    vbasedev->bcontainer = bcontainer;
    bcontainer->device_list = g_list_append(bcontainer->device_list, vbasedev);
}

void vfio_device_unprepare(VFIODevice *vbasedev)
{
    VFIOContainerBase *bcontainer = vbasedev->bcontainer;

    bcontainer->device_list = g_list_remove(bcontainer->device_list, vbasedev);
    vbasedev->bcontainer = NULL;
}

/* ------------------------------------------------------------------------ */
/* Info */

bool vfio_device_get_info(VFIODevice *vbasedev, Error **errp)
{
    g_autofree struct vfio_device_info *info = NULL;
    int ret = vbasedev->io_ops->get_device_info(vbasedev, &info);

    if (ret) {
        error_setg_errno(errp, -ret, "cannot read the device info");
        return false;
    }
    if (vbasedev->type && !(info->flags & vbasedev->type)) {
        error_setg(errp, "the kernel does not present the device as the expected type "
                   "(flags 0x%x, expected 0x%x)", info->flags, vbasedev->type);
        return false;
    }
    if (info->num_regions > VFIO_DEVICE_MAX_INDEXES ||
        info->num_irqs > VFIO_DEVICE_MAX_INDEXES) {
        error_setg(errp, "the device info claims %u regions and %u IRQ indexes",
                   info->num_regions, info->num_irqs);
        return false;
    }
    vfio_device_free_reginfo(vbasedev);
    vbasedev->flags = info->flags;
    vbasedev->num_regions = info->num_regions;
    vbasedev->num_irqs = info->num_irqs;
    vbasedev->reset_works = !!(info->flags & VFIO_DEVICE_FLAGS_RESET);
    vbasedev->reginfo = g_new0(struct vfio_region_info *, vbasedev->num_regions);
    trace_vfio_device_get_info(vbasedev->name, info->flags, info->num_regions,
                               info->num_irqs);
    return true;
}

int vfio_device_get_region_info(VFIODevice *vbasedev, uint32_t index,
                                struct vfio_region_info **info)
{
    struct vfio_region_info *ri;
    int ret;

    *info = NULL;
    if (index >= vbasedev->num_regions || !vbasedev->reginfo) {
        return -EINVAL;
    }
    if (vbasedev->reginfo[index]) {
        *info = vbasedev->reginfo[index];
        return 0;
    }
    ret = vbasedev->io_ops->get_region_info(vbasedev, index, &ri);
    if (ret) {
        trace_vfio_device_get_region_info_failed(vbasedev->name, index, -ret);
        return ret;
    }
    trace_vfio_device_get_region_info(vbasedev->name, index, ri->flags, ri->size,
                                      ri->offset, ri->argsz);
    vbasedev->reginfo[index] = ri;
    *info = ri;
    return 0;
}

int vfio_region_info_cap_find(const struct vfio_region_info *info, uint16_t id,
                              uint16_t version, size_t min_size,
                              const struct vfio_info_cap_header **cap)
{
    int ret;

    *cap = NULL;
    if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS) || info->argsz < sizeof(*info) ||
        !info->cap_offset) {
        return -ENOENT;
    }
    ret = vfio_info_cap_find(info, info->argsz, info->cap_offset, id, min_size, cap);
    if (ret == 0 && (*cap)->version < version) {
        trace_vfio_region_info_cap_version(info->index, id, (*cap)->version, version);
        *cap = NULL;
        return -ENOTSUP;
    }
    return ret;
}

const struct vfio_info_cap_header *
vfio_region_info_cap(const struct vfio_region_info *info, uint16_t id, uint16_t version,
                     size_t min_size)
{
    const struct vfio_info_cap_header *cap;

    return vfio_region_info_cap_find(info, id, version, min_size, &cap) ? NULL : cap;
}

int vfio_device_get_region_info_type(VFIODevice *vbasedev, uint32_t type,
                                     uint32_t subtype, struct vfio_region_info **info)
{
    for (uint32_t i = 0; i < vbasedev->num_regions; i++) {
        const struct vfio_region_info_cap_type *cap;
        struct vfio_region_info *ri;

        if (vfio_device_get_region_info(vbasedev, i, &ri)) {
            continue;
        }
        cap = (const void *)vfio_region_info_cap(ri, VFIO_REGION_INFO_CAP_TYPE, 1,
                                                 sizeof(*cap));
        if (cap && cap->type == type && cap->subtype == subtype) {
            *info = ri;
            return 0;
        }
    }
    *info = NULL;
    return -ENODEV;
}

/* ------------------------------------------------------------------------ */
/* IRQs */

static const char *vfio_irq_index_name(VFIODevice *vbasedev, int index)
{
    static const char *const pci_names[] = {
        [VFIO_PCI_INTX_IRQ_INDEX] = "INTx",
        [VFIO_PCI_MSI_IRQ_INDEX] = "MSI",
        [VFIO_PCI_MSIX_IRQ_INDEX] = "MSI-X",
        [VFIO_PCI_ERR_IRQ_INDEX] = "ERR",
        [VFIO_PCI_REQ_IRQ_INDEX] = "REQ",
    };

    if ((vbasedev->flags & VFIO_DEVICE_FLAGS_PCI) && index >= 0 &&
        index < (int)ARRAY_SIZE(pci_names)) {
        return pci_names[index];
    }
    return "IRQ";
}

static const char *vfio_irq_action_name(int action)
{
    switch (action) {
    case VFIO_IRQ_SET_ACTION_TRIGGER:
        return "trigger";
    case VFIO_IRQ_SET_ACTION_MASK:
        return "mask";
    case VFIO_IRQ_SET_ACTION_UNMASK:
        return "unmask";
    default:
        return "?";
    }
}

int vfio_device_get_irq_info(VFIODevice *vbasedev, int index, struct vfio_irq_info *info)
{
    int ret;

    memset(info, 0, sizeof(*info));
    info->argsz = sizeof(*info);
    info->index = index;
    ret = vbasedev->io_ops->get_irq_info(vbasedev, info);
    trace_vfio_device_get_irq_info(vbasedev->name, index, ret ? 0 : info->flags,
                                   ret ? 0 : info->count, ret);
    return ret;
}

bool vfio_device_irq_set_signaling(VFIODevice *vbasedev, int index, int subindex,
                                   int action, int fd, Error **errp)
{
    struct {
        struct vfio_irq_set set;
        int32_t fd;
    } arg = {
        .set = {
            .argsz = sizeof(arg),
            .flags = VFIO_IRQ_SET_DATA_EVENTFD | action,
            .index = index,
            .start = subindex,
            .count = 1,
        },
        .fd = fd,
    };
    int ret = vbasedev->io_ops->set_irqs(vbasedev, &arg.set);

    trace_vfio_device_irq_set_signaling(vbasedev->name, index, subindex,
                                        vfio_irq_action_name(action), fd, ret);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot %s the %s %s[%d] eventfd %d",
                         vbasedev->name, fd < 0 ? "remove" : "set",
                         vfio_irq_action_name(action), vfio_irq_index_name(vbasedev, index),
                         subindex, fd);
        return false;
    }
    return true;
}

/* SET_IRQS without data: @count vectors of @index get @action. */
static void vfio_device_irq_set_none(VFIODevice *vbasedev, int index, int action,
                                     uint32_t count)
{
    struct vfio_irq_set set = {
        .argsz = sizeof(set),
        .flags = VFIO_IRQ_SET_DATA_NONE | action,
        .index = index,
        .start = 0,
        .count = count,
    };
    int ret = vbasedev->io_ops->set_irqs(vbasedev, &set);

    trace_vfio_device_irq_set_none(vbasedev->name, index, vfio_irq_action_name(action),
                                   count, ret);
    if (ret) {
        error_report("vfio %s: cannot %s %s: %s", vbasedev->name,
                     count ? vfio_irq_action_name(action) : "disable",
                     vfio_irq_index_name(vbasedev, index), strerror(-ret));
    }
}

void vfio_device_irq_disable(VFIODevice *vbasedev, int index)
{
    vfio_device_irq_set_none(vbasedev, index, VFIO_IRQ_SET_ACTION_TRIGGER, 0);
}

void vfio_device_irq_unmask(VFIODevice *vbasedev, int index)
{
    vfio_device_irq_set_none(vbasedev, index, VFIO_IRQ_SET_ACTION_UNMASK, 1);
}

void vfio_device_irq_mask(VFIODevice *vbasedev, int index)
{
    vfio_device_irq_set_none(vbasedev, index, VFIO_IRQ_SET_ACTION_MASK, 1);
}

bool vfio_device_reset(VFIODevice *vbasedev, Error **errp)
{
    int ret;

    if (!vbasedev->reset_works) {
        error_setg_errno(errp, ENOTTY, "vfio %s: the device offers no reset",
                         vbasedev->name);
        return false;
    }
    ret = vbasedev->io_ops->reset(vbasedev);
    trace_vfio_device_reset(vbasedev->name, ret);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: reset failed", vbasedev->name);
        return false;
    }
    return true;
}
