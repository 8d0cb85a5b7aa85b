/*
 * vfio-pci: PCI hot reset, for devices without a function-level reset
 * (include/hw/vfio/vfio-pci.h).
 *
 * VFIO_DEVICE_PCI_HOT_RESET resets the device's slot or bus, and with it
 * every device there.  The kernel asks the caller to prove that it owns
 * all of them: each must be in a group whose fd the caller passes, and
 * each must be bound to vfio-pci (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO lists
 * them).  So a hot reset is ours to do only when every group it reaches is
 * a group this VM holds.
 *
 * Who resets whom.  A device's own reset (vfio_pci_reset) may reset the
 * bus only if no other device assigned to this VM is on it: resetting a
 * running device under its guest driver is not what a single device reset
 * means.  When another assigned device is there, the device is marked
 * @needs_bus_reset and the machine reset handler below, which runs after
 * every device's reset, resets the bus once for all of them -- as QEMU's
 * vfio_pci_hot_reset_multi does.  Whether the device can be hot reset at
 * all (not on a root bus) is asked once, at realize.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/reset.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-pci.h"
#include "trace/trace-hw_vfio.h"

#include <sys/ioctl.h>

#define HOT_RESET_INFO_MINSZ offsetof(struct vfio_pci_hot_reset_info, devices)

/* What a bus reset of @vdev reaches (g_free it), or NULL with -errno in *err. */
static struct vfio_pci_hot_reset_info *vfio_pci_hot_reset_info(VFIOPCIDevice *vdev, int *err)
{
    struct vfio_pci_hot_reset_info hdr = { .argsz = HOT_RESET_INFO_MINSZ };
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    size_t size;

    /* First the count (ENOSPC for a header alone: a bus holds one device at least)... */
    if (!ioctl(vdev->vbasedev.fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr)) {
        *err = -EPROTO;
        return NULL;
    }
    if (errno != ENOSPC) {
        *err = -errno;
        return NULL;
    }
    /* ... then the list. */
    size = HOT_RESET_INFO_MINSZ + (size_t)hdr.count * sizeof(info->devices[0]);
    info = g_malloc0(size);
    info->argsz = size;
    if (ioctl(vdev->vbasedev.fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info)) {
        *err = -errno;
        return NULL;
    }
    if (info->count > hdr.count) {
        /* The bus grew in between; the next reset asks again. */
        *err = -EAGAIN;
        return NULL;
    }
    return g_steal_pointer(&info);
}

static bool vfio_pci_host_is(VFIOPCIDevice *vdev, const struct vfio_pci_dependent_device *d)
{
    unsigned seg, bus, slot, fn;

    return sscanf(vdev->vbasedev.name, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) == 4 &&
           seg == d->segment && bus == d->bus && (slot << 3 | fn) == d->devfn;
}

/* The device of this VM assigned from host device @d, or NULL. */
static VFIOPCIDevice *vfio_pci_find_assigned(const struct vfio_pci_dependent_device *d)
{
    for (GList *l = vfio_pci_device_list(); l; l = l->next) {
        if (vfio_pci_host_is(l->data, d)) {
            return l->data;
        }
    }
    return NULL;
}

VFIOPCIHotReset vfio_pci_hot_reset(VFIOPCIDevice *vdev, bool single, Error **errp)
{
    const char *name = vdev->vbasedev.name;
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    g_autofree struct vfio_pci_hot_reset *reset = NULL;
    g_autoptr(GArray) fds = g_array_new(false, false, sizeof(int32_t));
    g_autoptr(GPtrArray) reached = g_ptr_array_new();
    int err = 0;

    info = vfio_pci_hot_reset_info(vdev, &err);
    if (!info) {
        error_setg_errno(errp, -err, "vfio %s: cannot list what a hot reset reaches", name);
        return VFIO_PCI_HOT_RESET_FAILED;
    }
    for (uint32_t i = 0; i < info->count; i++) {
        const struct vfio_pci_dependent_device *d = &info->devices[i];
        VFIOGroup *group = vfio_group_find(d->group_id);
        VFIOPCIDevice *peer = vfio_pci_find_assigned(d);
        bool known = false;

        if (!group) {
            error_setg(errp, "vfio %s: a hot reset would reach %04x:%02x:%02x.%x in group %u, "
                       "which this VM does not hold", name, d->segment, d->bus,
                       d->devfn >> 3, d->devfn & 7, d->group_id);
            return VFIO_PCI_HOT_RESET_FAILED;
        }
        if (peer && peer != vdev) {
            if (single) {
                trace_vfio_pci_hot_reset_defer(name, peer->vbasedev.name);
                return VFIO_PCI_HOT_RESET_NEEDS_PEERS;
            }
            g_ptr_array_add(reached, peer);
        }
        for (guint j = 0; j < fds->len && !known; j++) {
            known = g_array_index(fds, int32_t, j) == group->fd;
        }
        if (!known) {
            g_array_append_val(fds, group->fd);
        }
    }
    reset = g_malloc0(sizeof(*reset) + fds->len * sizeof(int32_t));
    reset->argsz = sizeof(*reset) + fds->len * sizeof(int32_t);
    reset->count = fds->len;
    memcpy(reset->group_fds, fds->data, fds->len * sizeof(int32_t));
    if (ioctl(vdev->vbasedev.fd, VFIO_DEVICE_PCI_HOT_RESET, reset)) {
        error_setg_errno(errp, errno, "vfio %s: hot reset of %u devices failed", name,
                         info->count);
        return VFIO_PCI_HOT_RESET_FAILED;
    }
    vdev->needs_bus_reset = false;
    vdev->hot_resets++;
    for (guint i = 0; i < reached->len; i++) {
        VFIOPCIDevice *peer = g_ptr_array_index(reached, i);

        peer->needs_bus_reset = false;
        peer->hot_resets++;
    }
    trace_vfio_pci_hot_reset(name, info->count, fds->len);
    return VFIO_PCI_HOT_RESET_DONE;
}

/* After every device's own reset: the bus resets they had to leave to it. */
static void vfio_pci_machine_reset(void *opaque)
{
    for (GList *l = vfio_pci_device_list(); l; l = l->next) {
        VFIOPCIDevice *vdev = l->data;
        Error *err = NULL;

        if (vdev->needs_bus_reset &&
            vfio_pci_hot_reset(vdev, false, &err) == VFIO_PCI_HOT_RESET_FAILED) {
            vdev->needs_bus_reset = false;
            warn_report_err(err);
        }
    }
}

void vfio_pci_hot_reset_probe(VFIOPCIDevice *vdev)
{
    static bool handler_registered;
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    int err = 0;

    /* ENODEV: no slot or bus reset (a root bus); any other failure may pass. */
    info = vfio_pci_hot_reset_info(vdev, &err);
    vdev->has_bus_reset = info || err != -ENODEV;
    trace_vfio_pci_hot_reset_probe(vdev->vbasedev.name, vdev->has_bus_reset,
                                   info ? info->count : 0);
    if (vdev->has_bus_reset && !handler_registered) {
        qemu_register_reset(vfio_pci_machine_reset, NULL);
        handler_registered = true;
    }
}
