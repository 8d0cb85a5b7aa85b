/*
 * vfio-sim: PCI hot reset (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and
 * VFIO_DEVICE_PCI_HOT_RESET) for devices opened through a group.
 *
 * What a bus reset reaches is every device on the same segment and bus;
 * the sim has no hotplug slots, so it is always a bus reset, and devices
 * on bus 0 -- a root bus, which has no bridge to reset it -- get ENODEV,
 * as from the kernel.  The reset itself follows vfio_pci_dev_set_hot_reset:
 * every device on the bus must be bound to vfio-pci (the kernel's dev_set)
 * and belong to one of the groups whose fds the caller passes as proof of
 * ownership; otherwise EINVAL and nothing is reset.  Each device is then
 * reset as by VFIO_DEVICE_RESET (the kernel saves and restores config
 * space around pci_reset_bus(), so vfio's virtual config stays).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <fcntl.h>
#include "sim.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

typedef struct SimPciAddr {
    unsigned segment, bus, devfn;
} SimPciAddr;

static SimPciAddr sim_pci_addr(SimDevice *dev)
{
    unsigned seg = 0, bus = 0, slot = 0, fn = 0;

    sscanf(dev->cfg.bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn);
    return (SimPciAddr){ seg, bus, slot << 3 | fn };
}

/* The devices a reset of @dev's bus reaches, @dev among them; -ENODEV on a root bus. */
static int sim_hot_reset_scope(SimDevice *dev, GPtrArray *out)
{
    SimPciAddr a = sim_pci_addr(dev);

    if (a.bus == 0) {
        return -ENODEV;
    }
    for (int i = 0; i < sim_world->nr_devices; i++) {
        SimDevice *d = &sim_world->devices[i];
        SimPciAddr b = sim_pci_addr(d);

        if (b.segment == a.segment && b.bus == a.bus) {
            g_ptr_array_add(out, d);
        }
    }
    return 0;
}

static long sim_hot_reset_info(SimDevice *dev, void *arg)
{
    const size_t minsz = offsetof(struct vfio_pci_hot_reset_info, devices);
    struct vfio_pci_hot_reset_info hdr;
    g_autoptr(GPtrArray) scope = g_ptr_array_new();
    g_autofree struct vfio_pci_dependent_device *devs = NULL;
    int ret;

    if (sim_copy_from_user(&hdr, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (hdr.argsz < minsz) {
        return -EINVAL;
    }
    ret = sim_hot_reset_scope(dev, scope);
    if (ret) {
        return ret;
    }
    hdr.flags = 0;
    hdr.count = scope->len;
    if (hdr.argsz < minsz + scope->len * sizeof(*devs)) {
        /* Too small: the count, so that the caller can size the next try. */
        return sim_copy_to_user(arg, &hdr, minsz) < 0 ? -EFAULT : -ENOSPC;
    }
    devs = g_new0(struct vfio_pci_dependent_device, scope->len);
    for (guint i = 0; i < scope->len; i++) {
        SimDevice *d = g_ptr_array_index(scope, i);
        SimPciAddr a = sim_pci_addr(d);

        devs[i].group_id = d->cfg.group;
        devs[i].segment = a.segment;
        devs[i].bus = a.bus;
        devs[i].devfn = a.devfn;
    }
    if (sim_copy_to_user((char *)arg + minsz, devs, scope->len * sizeof(*devs)) < 0 ||
        sim_copy_to_user(arg, &hdr, minsz) < 0) {
        return -EFAULT;
    }
    return 0;
}

/* The group behind a caller's fd: -EBADF if it is not open, -EINVAL if not a group. */
static int sim_hot_reset_group(int fd, SimGroup **out)
{
    SimFile *f = sim_fd_get(fd);

    if (f && f->kind == SIM_FILE_GROUP) {
        *out = f->group;
        return 0;
    }
    return f || fcntl(fd, F_GETFD) >= 0 ? -EINVAL : -EBADF;
}

static long sim_hot_reset(SimDevice *dev, void *arg)
{
    const size_t minsz = offsetof(struct vfio_pci_hot_reset, group_fds);
    struct vfio_pci_hot_reset hdr;
    g_autoptr(GPtrArray) scope = g_ptr_array_new();
    g_autofree int32_t *fds = NULL;
    g_autofree SimGroup **groups = NULL;
    int ret;

    if (sim_copy_from_user(&hdr, arg, minsz) < 0) {
        return -EFAULT;
    }
    /* A group-opened device proves ownership with group fds: none is an error. */
    if (hdr.argsz < minsz || hdr.flags || !hdr.count) {
        return -EINVAL;
    }
    ret = sim_hot_reset_scope(dev, scope);
    if (ret) {
        return ret;
    }
    if (hdr.count > scope->len) {
        return -EINVAL;
    }
    fds = g_new(int32_t, hdr.count);
    groups = g_new(SimGroup *, hdr.count);
    if (sim_copy_from_user(fds, (char *)arg + minsz, hdr.count * sizeof(*fds)) < 0) {
        return -EFAULT;
    }
    for (uint32_t i = 0; i < hdr.count; i++) {
        ret = sim_hot_reset_group(fds[i], &groups[i]);
        if (ret) {
            return ret;
        }
    }
    /* Every device the reset reaches: bound to vfio-pci, and in a group shown. */
    for (guint i = 0; i < scope->len; i++) {
        SimDevice *d = g_ptr_array_index(scope, i);
        bool owned = false;

        for (uint32_t j = 0; j < hdr.count && !owned; j++) {
            owned = groups[j] == d->group;
        }
        if (strcmp(d->cfg.driver, "vfio-pci") || !owned) {
            trace_vfio_sim_hot_reset_refused(dev->cfg.bdf, d->cfg.bdf);
            return -EINVAL;
        }
    }
    for (guint i = 0; i < scope->len; i++) {
        SimDevice *d = g_ptr_array_index(scope, i);

        d->ops->reset(d);
        sim_mig_device_reset(d);
        d->hot_resets++;
    }
    trace_vfio_sim_hot_reset(dev->cfg.bdf, scope->len);
    return 0;
}

long sim_device_hot_reset_ioctl(SimDevice *dev, unsigned long req, void *arg)
{
    return req == VFIO_DEVICE_PCI_HOT_RESET ? sim_hot_reset(dev, arg)
                                            : sim_hot_reset_info(dev, arg);
}
