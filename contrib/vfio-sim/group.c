/*
 * vfio-sim: IOMMU groups, /dev/vfio/N (drivers/vfio/group.c).
 *
 * A group file opens once at a time.  Device files hold a reference on the
 * group file, as in the kernel, so the group stays "open" (and attached to
 * its container) until the last device file is closed too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

#include <stddef.h>

#define SIM_UUID_STRING_LEN 36

/*
 * Viable: no device of the group is driven by a kernel driver that owns its
 * DMA.  Unbound devices and pci-stub do not count.
 */
bool sim_group_viable(SimGroup *g)
{
    for (GList *l = g->devices; l; l = l->next) {
        const char *drv = ((SimDevice *)l->data)->cfg.driver;

        if (drv[0] && strcmp(drv, "vfio-pci") && strcmp(drv, "pci-stub")) {
            return false;
        }
    }
    return true;
}

int sim_group_open(SimGroup *g, bool cloexec)
{
    SimFile *f;
    int fd;

    if (!g || !g->has_vfio_node) {
        return -ENOENT;
    }
    if (g->file) {
        return -EBUSY;
    }
    fd = sim_fd_new_backing(cloexec);
    if (fd < 0) {
        return fd;
    }
    f = sim_file_new(SIM_FILE_GROUP);
    f->group = g;
    f->backing_fd = fd;
    g->file = f;
    sim_fd_install(fd, f);
    sim_file_unref(f);
    trace_vfio_sim_group_open(g->id, fd);
    return fd;
}

void sim_group_release(SimGroup *g)
{
    trace_vfio_sim_group_release(g->id);
    if (g->container) {
        sim_container_detach_group(g->container, g);
    }
    g->file = NULL;
}

static long sim_group_get_status(SimGroup *g, void *arg)
{
    struct vfio_group_status status;
    size_t minsz = offsetof(struct vfio_group_status, flags) + sizeof(status.flags);

    if (sim_copy_from_user(&status, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (status.argsz < minsz) {
        return -EINVAL;
    }
    status.flags = 0;
    if (g->container) {
        status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
    } else if (sim_group_viable(g)) {
        status.flags |= VFIO_GROUP_FLAGS_VIABLE;
    }
    return sim_copy_to_user(arg, &status, minsz);
}

static long sim_group_set_container(SimGroup *g, void *arg)
{
    SimFile *f;
    int32_t fd;

    if (sim_copy_from_user(&fd, arg, sizeof(fd)) < 0) {
        return -EFAULT;
    }
    if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
        return -EBADF;
    }
    if (g->container) {
        return -EINVAL;
    }
    f = sim_fd_get(fd);
    if (!f || f->kind != SIM_FILE_CONTAINER) {
        return -EBADFD;
    }
    /* iommu_group_claim_dma_owner(): a kernel driver owns the DMA. */
    if (!sim_group_viable(g)) {
        return -EPERM;
    }
    return sim_container_attach_group(f->container, g);
}

static long sim_group_unset_container(SimGroup *g)
{
    if (!g->container) {
        return -EINVAL;
    }
    if (g->container_users != 1) {
        return -EBUSY;
    }
    sim_container_detach_group(g->container, g);
    return 0;
}

/* vfio-pci's match: "BDF", or "BDF vf_token=UUID" (only for SR-IOV). */
static int sim_device_match(SimDevice *dev, const char *buf)
{
    size_t n = strlen(dev->cfg.bdf);
    bool vf_token = false;

    if (strncmp(dev->cfg.bdf, buf, n)) {
        return 0;
    }
    buf += n;
    if (*buf && *buf != ' ') {
        return 0;
    }
    while (*buf) {
        if (*buf == ' ') {
            buf++;
            continue;
        }
        if (!vf_token && g_str_has_prefix(buf, "vf_token=")) {
            buf += strlen("vf_token=");
            if (strlen(buf) < SIM_UUID_STRING_LEN) {
                return -EINVAL;
            }
            {
                g_autofree char *u = g_strndup(buf, SIM_UUID_STRING_LEN);

                if (!g_uuid_string_is_valid(u)) {
                    return -EINVAL;
                }
            }
            vf_token = true;
            buf += SIM_UUID_STRING_LEN;
        } else {
            return -EINVAL;     /* unknown or repeated option */
        }
    }
    /* Neither a PF nor a VF: a token is an error. */
    return vf_token ? -EINVAL : 1;
}

static long sim_group_get_device_fd(SimGroup *g, void *arg)
{
    g_autofree char *name = NULL;
    SimDevice *dev = NULL;
    SimFile *f;
    int err = 0, fd;

    name = sim_strndup_user(arg, SIM_PAGE_SIZE, &err);
    if (!name) {
        return err;
    }
    for (GList *l = g->devices; l; l = l->next) {
        SimDevice *d = l->data;
        int m;

        if (strcmp(d->cfg.driver, "vfio-pci")) {
            continue;   /* not a vfio device */
        }
        m = sim_device_match(d, name);
        if (m < 0) {
            return m;
        }
        if (m) {
            dev = d;
            break;
        }
    }
    if (!dev) {
        return -ENODEV;
    }
    if (!g->container || !g->container->iommu_set) {
        return -EINVAL;
    }
    fd = sim_fd_new_backing(true);     /* device fds are always O_CLOEXEC */
    if (fd < 0) {
        return fd;
    }
    f = sim_file_new(SIM_FILE_DEVICE);
    f->device = dev;
    f->backing_fd = fd;
    if (dev->open_count++ == 0) {
        sim_device_reset(dev);
    }
    g->container_users++;
    sim_file_ref(g->file);
    sim_fd_install(fd, f);
    sim_file_unref(f);
    trace_vfio_sim_device_open(dev->cfg.bdf, fd, dev->open_count);
    return fd;
}

long sim_group_ioctl(SimGroup *g, unsigned long req, void *arg)
{
    switch (req) {
    case VFIO_GROUP_GET_STATUS:
        return sim_group_get_status(g, arg);
    case VFIO_GROUP_SET_CONTAINER:
        return sim_group_set_container(g, arg);
    case VFIO_GROUP_UNSET_CONTAINER:
        return sim_group_unset_container(g);
    case VFIO_GROUP_GET_DEVICE_FD:
        return sim_group_get_device_fd(g, arg);
    default:
        return -ENOTTY;
    }
}
