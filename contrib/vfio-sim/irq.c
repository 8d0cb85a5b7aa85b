/*
 * vfio-sim: device interrupts as vfio-pci delivers them
 * (drivers/vfio/pci/vfio_pci_intrs.c).
 *
 * The user hands eventfds to SET_IRQS; the sim keeps its own duplicates (the
 * kernel holds eventfd_ctx references, so closing the user's fd does not
 * disarm the trigger) and writes to them when the device raises the line or
 * sends a message.  INTx is level-triggered and automasked: the first edge
 * masks the line and signals; the user unmasks (SET_IRQS UNMASK, or an
 * unmask eventfd watched by the sim thread, or clearing INTx disable in the
 * command register) and, if the device still asserts it, is signalled again
 * at once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

#include <stddef.h>
#include <linux/pci_regs.h>

static void sim_efd_put(int *fd)
{
    if (*fd >= 0) {
        sim_real.close(*fd);
        *fd = -1;
    }
}

static void sim_efd_signal(int fd)
{
    uint64_t one = 1;

    if (fd >= 0 && sim_real.write(fd, &one, sizeof(one)) < 0) {
        sim_debug("eventfd %d: %s", fd, strerror(errno));
    }
}

/* eventfd_ctx_fdget(): EBADF for a closed fd, EINVAL for one not an eventfd. */
static int sim_efd_get(int fd, int *out)
{
    char path[64], link[64];
    ssize_t n;
    int dup_fd;

    if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
        return -EBADF;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof(link) - 1);
    if (n < 0) {
        return -EBADF;
    }
    link[n] = 0;
    if (strcmp(link, "anon_inode:[eventfd]") || sim_fd_get(fd)) {
        return -EINVAL;
    }
    dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        return -errno;
    }
    *out = dup_fd;
    return 0;
}

void sim_irq_init(SimDevice *dev)
{
    SimIrqState *s = &dev->irq;

    s->type = -1;
    s->intx_trigger = s->intx_unmask_fd = s->err_trigger = s->req_trigger = -1;
    for (int i = 0; i < SIM_MAX_MSIX; i++) {
        s->vec_trigger[i] = -1;
    }
}

static void sim_intx_disable(SimDevice *dev)
{
    SimIrqState *s = &dev->irq;

    sim_efd_put(&s->intx_trigger);
    if (s->intx_unmask_fd >= 0) {
        sim_worker_watch(dev, false);
    }
    sim_efd_put(&s->intx_unmask_fd);
    s->intx_masked = false;
    s->type = -1;
}

static void sim_msi_disable(SimDevice *dev)
{
    SimIrqState *s = &dev->irq;

    for (int i = 0; i < SIM_MAX_MSIX; i++) {
        sim_efd_put(&s->vec_trigger[i]);
    }
    s->nvec = 0;
    s->type = -1;
}

/* Last close and reset: everything off, as vfio_pci_core_disable(). */
void sim_irq_reset(SimDevice *dev)
{
    SimIrqState *s = &dev->irq;

    if (s->type == VFIO_PCI_INTX_IRQ_INDEX) {
        sim_intx_disable(dev);
    } else if (s->type >= 0) {
        sim_msi_disable(dev);
    }
    sim_efd_put(&s->err_trigger);
    sim_efd_put(&s->req_trigger);
    s->intx_level = false;
    sim_irq_init(dev);
}

int sim_irq_count(SimDevice *dev, uint32_t index)
{
    switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
        return dev->config[PCI_INTERRUPT_PIN] ? 1 : 0;
    case VFIO_PCI_MSI_IRQ_INDEX:
        return dev->msi_count;
    case VFIO_PCI_MSIX_IRQ_INDEX:
        return dev->msix_count;
    case VFIO_PCI_REQ_IRQ_INDEX:
        return 1;
    default:
        return 0;       /* ERR exists only on PCI Express */
    }
}

long sim_irq_get_info(SimDevice *dev, void *arg)
{
    struct vfio_irq_info info;
    size_t minsz = offsetof(struct vfio_irq_info, count) + sizeof(info.count);

    if (sim_copy_from_user(&info, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS) {
        return -EINVAL;
    }
    if (info.index == VFIO_PCI_ERR_IRQ_INDEX) {
        return -EINVAL;     /* conventional PCI */
    }
    info.flags = VFIO_IRQ_INFO_EVENTFD;
    info.count = sim_irq_count(dev, info.index);
    if (info.index == VFIO_PCI_INTX_IRQ_INDEX) {
        info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
    } else if (info.index != VFIO_PCI_MSIX_IRQ_INDEX) {
        /* MSI-X can grow while enabled (dynamic allocation); the rest cannot. */
        info.flags |= VFIO_IRQ_INFO_NORESIZE;
    }
    return sim_copy_to_user(arg, &info, minsz);
}

static bool sim_virq_disabled(SimDevice *dev)
{
    return sim_pci_command(dev) & PCI_COMMAND_INTX_DISABLE;
}

static void sim_send_intx(SimDevice *dev)
{
    if (dev->irq.type == VFIO_PCI_INTX_IRQ_INDEX && !sim_virq_disabled(dev)) {
        trace_vfio_sim_irq(dev->cfg.bdf, "intx", 0);
        sim_efd_signal(dev->irq.intx_trigger);
    }
}

static void sim_intx_unmask(SimDevice *dev)
{
    SimIrqState *s = &dev->irq;

    if (s->type != VFIO_PCI_INTX_IRQ_INDEX || !s->intx_masked || sim_virq_disabled(dev)) {
        return;
    }
    if (s->intx_level) {
        /* Still asserted: deliver again and stay masked. */
        sim_send_intx(dev);
    } else {
        s->intx_masked = false;
    }
}

/*
 * INTx disable in the command register changed (vfio-pci keeps its
 * virq_disabled in step with the virtual bit on every command write).
 * Setting it masks the line, with no signal, if INTx is in use; clearing it
 * is an unmask like SET_IRQS UNMASK: a line still asserted is signalled again
 * and stays masked, one no longer asserted is unmasked.  This holds however
 * the line came to be masked: by the user, by automasking, or by the bit.
 */
void sim_irq_intx_disable_changed(SimDevice *dev)
{
    SimIrqState *s = &dev->irq;

    if (s->type != VFIO_PCI_INTX_IRQ_INDEX) {
        return;     /* only the physical bit follows; nothing to model */
    }
    if (sim_virq_disabled(dev)) {
        s->intx_masked = true;
    } else {
        sim_intx_unmask(dev);
    }
}

void sim_irq_set_intx(SimDevice *dev, bool level)
{
    SimIrqState *s = &dev->irq;
    bool rising = level && !s->intx_level;

    s->intx_level = level;
    if (s->type != VFIO_PCI_INTX_IRQ_INDEX || sim_virq_disabled(dev)) {
        return;
    }
    if ((rising || level) && !s->intx_masked) {
        s->intx_masked = true;
        sim_send_intx(dev);
    }
}

bool sim_irq_msi_enabled(SimDevice *dev)
{
    return dev->irq.type == VFIO_PCI_MSI_IRQ_INDEX || dev->irq.type == VFIO_PCI_MSIX_IRQ_INDEX;
}

void sim_irq_msi(SimDevice *dev, int vector)
{
    SimIrqState *s = &dev->irq;

    /* A message is a memory write: no bus mastering, no interrupt. */
    if (!sim_irq_msi_enabled(dev) || vector >= s->nvec || !sim_pci_bus_master(dev)) {
        trace_vfio_sim_irq(dev->cfg.bdf, "msi-dropped", vector);
        return;
    }
    trace_vfio_sim_irq(dev->cfg.bdf, s->type == VFIO_PCI_MSI_IRQ_INDEX ? "msi" : "msix",
                       vector);
    sim_efd_signal(s->vec_trigger[vector]);
}

void sim_irq_poll(SimDevice *dev)
{
    uint64_t v;

    if (dev->irq.intx_unmask_fd >= 0 &&
        sim_real.read(dev->irq.intx_unmask_fd, &v, sizeof(v)) == sizeof(v)) {
        sim_intx_unmask(dev);
    }
}

/* ---- SET_IRQS ---- */

static int sim_set_intx_mask(SimDevice *dev, uint32_t start, uint32_t count, uint32_t flags,
                             const void *data)
{
    if (dev->irq.type != VFIO_PCI_INTX_IRQ_INDEX || start != 0 || count != 1) {
        return -EINVAL;
    }
    if (flags & VFIO_IRQ_SET_DATA_NONE) {
        dev->irq.intx_masked = true;
    } else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (*(const uint8_t *)data) {
            dev->irq.intx_masked = true;
        }
    } else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        return -ENOTTY;
    }
    return 0;
}

static int sim_set_intx_unmask(SimDevice *dev, uint32_t start, uint32_t count,
                               uint32_t flags, const void *data)
{
    SimIrqState *s = &dev->irq;

    if (s->type != VFIO_PCI_INTX_IRQ_INDEX || start != 0 || count != 1) {
        return -EINVAL;
    }
    if (flags & VFIO_IRQ_SET_DATA_NONE) {
        sim_intx_unmask(dev);
    } else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (*(const uint8_t *)data) {
            sim_intx_unmask(dev);
        }
    } else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        int32_t fd = *(const int32_t *)data;

        if (fd >= 0) {
            int efd, ret = sim_efd_get(fd, &efd);

            if (ret < 0) {
                return ret;
            }
            if (s->intx_unmask_fd < 0) {
                sim_worker_watch(dev, true);
            }
            sim_efd_put(&s->intx_unmask_fd);
            s->intx_unmask_fd = efd;
        } else if (s->intx_unmask_fd >= 0) {
            sim_worker_watch(dev, false);
            sim_efd_put(&s->intx_unmask_fd);
        }
    }
    return 0;
}

static int sim_set_intx_trigger(SimDevice *dev, uint32_t start, uint32_t count,
                                uint32_t flags, const void *data)
{
    SimIrqState *s = &dev->irq;
    bool is_intx = s->type == VFIO_PCI_INTX_IRQ_INDEX;

    if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
        sim_intx_disable(dev);
        return 0;
    }
    if (!(is_intx || s->type < 0) || start != 0 || count != 1) {
        return -EINVAL;
    }
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        int32_t fd = *(const int32_t *)data;
        int efd = -1;

        if (fd >= 0) {
            int ret = sim_efd_get(fd, &efd);

            if (ret < 0) {
                return ret;
            }
        }
        if (!is_intx) {
            if (!sim_irq_count(dev, VFIO_PCI_INTX_IRQ_INDEX)) {
                sim_efd_put(&efd);
                return -ENODEV;
            }
            s->type = VFIO_PCI_INTX_IRQ_INDEX;
            s->intx_masked = sim_virq_disabled(dev);
        }
        sim_efd_put(&s->intx_trigger);
        s->intx_trigger = efd;
        /* A line already asserted fires as soon as there is a trigger. */
        if (s->intx_level && !s->intx_masked && efd >= 0) {
            s->intx_masked = true;
            sim_send_intx(dev);
        }
        return 0;
    }
    if (!is_intx) {
        return -EINVAL;
    }
    if ((flags & VFIO_IRQ_SET_DATA_NONE) ||
        ((flags & VFIO_IRQ_SET_DATA_BOOL) && *(const uint8_t *)data)) {
        sim_send_intx(dev);
    }
    return 0;
}

static int sim_set_msi_trigger(SimDevice *dev, uint32_t index, uint32_t start,
                               uint32_t count, uint32_t flags, const void *data)
{
    SimIrqState *s = &dev->irq;

    if (s->type == (int)index && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
        sim_msi_disable(dev);
        return 0;
    }
    if (!(s->type == (int)index || s->type < 0)) {
        return -EINVAL;
    }
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        const int32_t *fds = data;
        bool enabling = s->type < 0;
        int efds[SIM_MAX_MSIX];

        if (start + count > SIM_MAX_MSIX) {
            return -EINVAL;
        }
        /* Validate every fd before changing anything. */
        for (uint32_t i = 0; i < count; i++) {
            efds[i] = -1;
            if (fds[i] >= 0) {
                int ret = sim_efd_get(fds[i], &efds[i]);

                if (ret < 0) {
                    for (uint32_t j = 0; j < i; j++) {
                        sim_efd_put(&efds[j]);
                    }
                    if (enabling) {
                        sim_msi_disable(dev);
                    }
                    return ret;
                }
            }
        }
        if (enabling) {
            s->type = index;
            s->nvec = start + count;
        } else if (start + count > (uint32_t)s->nvec) {
            if (index == VFIO_PCI_MSI_IRQ_INDEX) {
                for (uint32_t i = 0; i < count; i++) {
                    sim_efd_put(&efds[i]);
                }
                return -EINVAL;     /* MSI cannot grow while enabled */
            }
            s->nvec = start + count;
        }
        for (uint32_t i = 0; i < count; i++) {
            sim_efd_put(&s->vec_trigger[start + i]);
            s->vec_trigger[start + i] = efds[i];
        }
        return 0;
    }
    if (s->type != (int)index) {
        return -EINVAL;
    }
    for (uint32_t i = start; i < start + count && i < (uint32_t)s->nvec; i++) {
        if ((flags & VFIO_IRQ_SET_DATA_NONE) ||
            ((flags & VFIO_IRQ_SET_DATA_BOOL) && ((const uint8_t *)data)[i - start])) {
            sim_efd_signal(s->vec_trigger[i]);
        }
    }
    return 0;
}

/* vfio_pci_set_ctx_trigger_single(), for the REQ index. */
static int sim_set_req_trigger(SimDevice *dev, uint32_t start, uint32_t count,
                               uint32_t flags, const void *data)
{
    int *ctx = &dev->irq.req_trigger;

    if (start != 0 || count > 1) {
        return -EINVAL;
    }
    if (flags & VFIO_IRQ_SET_DATA_NONE) {
        if (*ctx >= 0) {
            if (count) {
                sim_efd_signal(*ctx);
            } else {
                sim_efd_put(ctx);
            }
            return 0;
        }
    } else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (!count) {
            return -EINVAL;
        }
        if (*(const uint8_t *)data && *ctx >= 0) {
            sim_efd_signal(*ctx);
        }
        return 0;
    } else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        int32_t fd;

        if (!count) {
            return -EINVAL;
        }
        fd = *(const int32_t *)data;
        if (fd == -1) {
            sim_efd_put(ctx);
        } else if (fd >= 0) {
            int efd, ret = sim_efd_get(fd, &efd);

            if (ret < 0) {
                return ret;
            }
            sim_efd_put(ctx);
            *ctx = efd;
        }
        return 0;
    }
    return -EINVAL;
}

long sim_irq_set(SimDevice *dev, void *arg)
{
    struct vfio_irq_set hdr;
    size_t minsz = offsetof(struct vfio_irq_set, count) + sizeof(hdr.count);
    g_autofree uint8_t *data = NULL;
    size_t size = 0;
    uint32_t action;
    int max, ret = -ENOTTY;

    if (sim_copy_from_user(&hdr, arg, minsz) < 0) {
        return -EFAULT;
    }
    /* vfio_set_irqs_validate_and_prepare() */
    if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS ||
        hdr.count >= (UINT32_MAX - hdr.start) ||
        (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK))) {
        return -EINVAL;
    }
    max = sim_irq_count(dev, hdr.index);
    if (hdr.start >= (uint32_t)max || hdr.start + hdr.count > (uint32_t)max) {
        return -EINVAL;
    }
    switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
        size = 0;
        break;
    case VFIO_IRQ_SET_DATA_BOOL:
        size = sizeof(uint8_t);
        break;
    case VFIO_IRQ_SET_DATA_EVENTFD:
        size = sizeof(int32_t);
        break;
    default:
        return -EINVAL;
    }
    if (size) {
        if (hdr.argsz - minsz < (uint64_t)hdr.count * size) {
            return -EINVAL;
        }
        data = g_malloc0(MAX(hdr.count * size, 4));
        if (sim_copy_from_user(data, (char *)arg + minsz, hdr.count * size) < 0) {
            return -EFAULT;
        }
    }
    action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    switch (hdr.index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
        if (action == VFIO_IRQ_SET_ACTION_MASK) {
            ret = sim_set_intx_mask(dev, hdr.start, hdr.count, hdr.flags, data);
        } else if (action == VFIO_IRQ_SET_ACTION_UNMASK) {
            ret = sim_set_intx_unmask(dev, hdr.start, hdr.count, hdr.flags, data);
        } else if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
            ret = sim_set_intx_trigger(dev, hdr.start, hdr.count, hdr.flags, data);
        }
        break;
    case VFIO_PCI_MSI_IRQ_INDEX:
    case VFIO_PCI_MSIX_IRQ_INDEX:
        if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
            ret = sim_set_msi_trigger(dev, hdr.index, hdr.start, hdr.count, hdr.flags, data);
        }
        break;
    case VFIO_PCI_REQ_IRQ_INDEX:
        if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
            ret = sim_set_req_trigger(dev, hdr.start, hdr.count, hdr.flags, data);
        }
        break;
    }
    trace_vfio_sim_set_irqs(dev->cfg.bdf, hdr.index, hdr.start, hdr.count, hdr.flags, ret);
    return ret;
}
