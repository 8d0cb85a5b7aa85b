/*
 * vfio-sim: the device file (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_rdwr.c).
 *
 * Regions sit at offset index << 40 of the device fd.  BAR accesses are
 * split into naturally aligned 4/2/1-byte accesses as the 6.12 kernel does,
 * and refused with EIO while memory decoding is off in the command
 * register.  A mappable BAR that is plain memory on the device (scratch
 * RAM, an MSI-X table) is backed by a memfd the model and the program's
 * mmap() share; a mappable BAR of registers is mapped so that every access
 * traps into the model (mmio-trap.c), which keeps register semantics exact.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "caps.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

#include <stddef.h>
#include <sys/mman.h>
#include <linux/pci_regs.h>

/* A program's mapping of a BAR, so munmap() can tell the device. */
typedef struct SimBarMapping {
    uintptr_t start;
    size_t len;
    SimDevice *dev;
} SimBarMapping;

static GList *sim_bar_mappings;     /* SimBarMapping *, under sim_lock */
static int sim_bar_mapping_count;   /* read without the lock by munmap() */

void sim_device_realize(SimDevice *dev)
{
    dev->nr_regions = VFIO_PCI_NUM_REGIONS;
    dev->msix_bar = -1;
    sim_irq_init(dev);
    dev->ops->realize(dev);
    /* Mappable BARs get their shared backing now. */
    for (int i = 0; i < SIM_NUM_BARS; i++) {
        SimRegion *r = &dev->regions[i];

        r->mem_fd = -1;
        if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
            continue;
        }
        if (r->trap_mmap) {
            if (!sim_trap_supported()) {
                r->flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
            }
            continue;
        }
        r->mem_fd = memfd_create("vfio-sim-bar", MFD_CLOEXEC);
        if (r->mem_fd < 0 || ftruncate(r->mem_fd, r->size) < 0) {
            sim_debug("%s BAR%d: no backing memory: %s", dev->cfg.bdf, i, strerror(errno));
            r->flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
            continue;
        }
        r->mem = sim_real.mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->mem_fd, 0);
        if (r->mem == MAP_FAILED) {
            r->mem = NULL;
            r->flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
        }
    }
    dev->mig_state = VFIO_DEVICE_STATE_RUNNING;
    dev->ops->reset(dev);
}

void sim_device_finalize(SimDevice *dev)
{
    sim_log_free(dev);
    if (dev->ops->finalize) {
        dev->ops->finalize(dev);
    }
    for (int i = 0; i < SIM_NUM_BARS; i++) {
        SimRegion *r = &dev->regions[i];

        if (r->mem) {
            sim_real.munmap(r->mem, r->size);
        }
        if (r->mem_fd >= 0) {
            sim_real.close(r->mem_fd);
        }
    }
}

SimContainer *sim_device_container(SimDevice *dev)
{
    return dev->group ? dev->group->container : NULL;
}

/* Function reset; also what the first open does after pci_enable_device(). */
void sim_device_reset(SimDevice *dev)
{
    sim_pci_config_reset(dev);
    dev->ops->reset(dev);
    sim_mig_device_reset(dev);
}

/* The last device file is gone: vfio_pci_core_disable(). */
void sim_device_release(SimDevice *dev)
{
    SimGroup *g = dev->group;

    trace_vfio_sim_device_release(dev->cfg.bdf, dev->open_count - 1);
    g_assert(dev->open_count > 0);
    if (--dev->open_count == 0) {
        sim_irq_reset(dev);
        sim_log_free(dev);
        dev->logging = false;
        sim_device_reset(dev);
    }
    g->container_users--;
    sim_file_unref(g->file);
}

/* ---- info ioctls ---- */

static long sim_device_get_info(SimDevice *dev, void *arg)
{
    struct vfio_device_info info;
    size_t minsz = offsetof(struct vfio_device_info, num_irqs) + sizeof(info.num_irqs);

    memset(&info, 0, sizeof(info));
    if (sim_copy_from_user(&info, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    minsz = MIN(info.argsz, sizeof(info));
    info.flags = VFIO_DEVICE_FLAGS_PCI | (dev->cfg.reset ? VFIO_DEVICE_FLAGS_RESET : 0);
    info.num_regions = dev->nr_regions;
    info.num_irqs = VFIO_PCI_NUM_IRQS;
    info.cap_offset = 0;
    return sim_copy_to_user(arg, &info, minsz);
}

static long sim_device_get_region_info(SimDevice *dev, void *arg)
{
    struct vfio_region_info info;
    size_t minsz = offsetof(struct vfio_region_info, offset) + sizeof(info.offset);
    SimRegion *r;
    SimCaps caps;
    long ret;

    if (sim_copy_from_user(&info, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    if (info.index >= (uint32_t)dev->nr_regions) {
        return -EINVAL;
    }
    if (info.index == VFIO_PCI_VGA_REGION_INDEX) {
        return -EINVAL;     /* no VGA */
    }
    r = &dev->regions[info.index];
    info.offset = SIM_REGION_OFFSET(info.index);
    info.cap_offset = 0;
    sim_caps_init(&caps);
    if (info.index == VFIO_PCI_CONFIG_REGION_INDEX) {
        info.size = SIM_CFG_SIZE;
        info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    } else if (info.index == VFIO_PCI_ROM_REGION_INDEX) {
        info.size = 0;
        info.flags = 0;
    } else {
        info.size = r->size;
        info.flags = r->size ? r->flags : 0;
        if (r->nr_sparse && (r->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
            size_t size = sizeof(struct vfio_region_info_cap_sparse_mmap) +
                          r->nr_sparse * sizeof(struct vfio_region_sparse_mmap_area);
            g_autofree struct vfio_region_info_cap_sparse_mmap *sp = g_malloc0(size);

            sp->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
            sp->header.version = 1;
            sp->nr_areas = r->nr_sparse;
            memcpy(sp->areas, r->sparse, r->nr_sparse * sizeof(r->sparse[0]));
            sim_caps_add(&caps, sp, size);
        }
        if (r->msix_mappable && (r->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
            struct vfio_info_cap_header h = {
                .id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, .version = 1,
            };

            sim_caps_add(&caps, &h, sizeof(h));
        }
        if (info.index >= VFIO_PCI_NUM_REGIONS) {
            struct vfio_region_info_cap_type t = {
                .header = { .id = VFIO_REGION_INFO_CAP_TYPE, .version = 1 },
                .type = r->type,
                .subtype = r->subtype,
            };

            sim_caps_add(&caps, &t, sizeof(t));
        }
    }
    if (caps.buf->len) {
        info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
        ret = sim_caps_copy_out(&caps, arg, info.argsz, sizeof(info), &info.argsz);
        if (ret < 0) {
            sim_caps_free(&caps);
            return ret;
        }
        info.cap_offset = ret;
    }
    sim_caps_free(&caps);
    return sim_copy_to_user(arg, &info, minsz);
}

static long sim_device_ioctl_reset(SimDevice *dev)
{
    if (!dev->cfg.reset) {
        return -EINVAL;
    }
    /* A function reset keeps vfio's virtual config and interrupt setup. */
    dev->ops->reset(dev);
    sim_mig_device_reset(dev);
    trace_vfio_sim_device_reset(dev->cfg.bdf);
    return 0;
}

long sim_device_ioctl(SimDevice *dev, unsigned long req, void *arg)
{
    switch (req) {
    case VFIO_DEVICE_GET_INFO:
        return sim_device_get_info(dev, arg);
    case VFIO_DEVICE_GET_REGION_INFO:
        return sim_device_get_region_info(dev, arg);
    case VFIO_DEVICE_GET_IRQ_INFO:
        return sim_irq_get_info(dev, arg);
    case VFIO_DEVICE_SET_IRQS:
        return sim_irq_set(dev, arg);
    case VFIO_DEVICE_RESET:
        return sim_device_ioctl_reset(dev);
    case VFIO_DEVICE_FEATURE:
        return sim_device_feature(dev, arg);
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
    case VFIO_DEVICE_PCI_HOT_RESET:
        return sim_device_hot_reset_ioctl(dev, req, arg);
    default:
        return -ENOTTY;
    }
}

/* ---- region read/write ---- */

static ssize_t sim_bar_rw(SimDevice *dev, int bar, void *ubuf, size_t count, uint64_t pos,
                          bool write)
{
    SimRegion *r = &dev->regions[bar];
    size_t done = 0;
    uint64_t x_start = 0, x_end = 0;

    if (!r->size || pos >= r->size) {
        return -EINVAL;
    }
    count = MIN(count, r->size - pos);
    /* Decoding off: the BARs do not answer (device-specific regions do). */
    if (bar < SIM_NUM_BARS && !r->is_io && !(sim_pci_command(dev) & PCI_COMMAND_MEMORY)) {
        return -EIO;
    }
    if (bar == dev->msix_bar) {
        x_start = dev->msix_table_offset;
        x_end = x_start + ROUND_UP(dev->msix_count * 16, SIM_PAGE_SIZE);
    }
    while (count) {
        uint8_t bytes[4] = { 0 };
        unsigned chunk;

        if (pos >= x_start && pos < x_end) {
            /* The MSI-X table: reads are all ones, writes are dropped. */
            size_t n = MIN(count, x_end - pos);

            if (!write) {
                g_autofree uint8_t *ff = g_malloc(n);

                memset(ff, 0xff, n);
                if (sim_copy_to_user((char *)ubuf + done, ff, n) < 0) {
                    return -EFAULT;
                }
            }
            count -= n;
            done += n;
            pos += n;
            continue;
        }
        chunk = (count >= 4 && !(pos % 4)) ? 4 : (count >= 2 && !(pos % 2)) ? 2 : 1;
        if (pos < x_start && pos + chunk > x_start) {
            chunk = 1;
        }
        if (write) {
            uint32_t v;

            if (sim_copy_from_user(bytes, (char *)ubuf + done, chunk) < 0) {
                return -EFAULT;
            }
            v = bytes[0] | bytes[1] << 8 | bytes[2] << 16 | (uint32_t)bytes[3] << 24;
            dev->ops->bar_write(dev, bar, pos, v, chunk);
        } else {
            uint32_t v = (uint32_t)dev->ops->bar_read(dev, bar, pos, chunk);

            for (unsigned i = 0; i < chunk; i++) {
                bytes[i] = v >> (8 * i);
            }
            if (sim_copy_to_user((char *)ubuf + done, bytes, chunk) < 0) {
                return -EFAULT;
            }
        }
        count -= chunk;
        done += chunk;
        pos += chunk;
    }
    return done;
}

ssize_t sim_device_rw(SimDevice *dev, void *buf, size_t count, uint64_t off, bool write)
{
    uint64_t index = SIM_OFFSET_INDEX(off);
    uint64_t pos = off & SIM_OFFSET_MASK;
    ssize_t ret;

    if (index >= (uint64_t)dev->nr_regions) {
        return -EINVAL;
    }
    switch (index) {
    case VFIO_PCI_CONFIG_REGION_INDEX:
        ret = sim_pci_config_rw(dev, buf, count, pos, write);
        break;
    case VFIO_PCI_ROM_REGION_INDEX:
    case VFIO_PCI_VGA_REGION_INDEX:
        ret = -EINVAL;
        break;
    default:
        if (index < SIM_NUM_BARS) {
            ret = sim_bar_rw(dev, (int)index, buf, count, pos, write);
        } else {
            /* Device-specific regions are read-only, served by BAR 6's slot. */
            ret = -EINVAL;
            if (!write && dev->regions[index].size && pos < dev->regions[index].size) {
                ret = sim_bar_rw(dev, (int)index, buf, count, pos, false);
            }
        }
        break;
    }
    trace_vfio_sim_region_rw(dev->cfg.bdf, (int)index, pos, count, write, ret);
    return ret;
}

/* ---- mmap ---- */

static bool sim_sparse_allows(SimRegion *r, uint64_t start, uint64_t len)
{
    if (!r->nr_sparse) {
        return true;
    }
    for (int i = 0; i < r->nr_sparse; i++) {
        if (start >= r->sparse[i].offset &&
            start + len <= r->sparse[i].offset + r->sparse[i].size) {
            return true;
        }
    }
    return false;
}

void *sim_device_mmap(SimDevice *dev, void *addr, size_t len, int prot, int flags,
                      uint64_t off, int *err)
{
    uint64_t index = SIM_OFFSET_INDEX(off);
    uint64_t start = off & SIM_OFFSET_MASK;
    SimRegion *r;
    SimBarMapping *m;
    void *p;

    *err = EINVAL;
    if (off & (SIM_PAGE_SIZE - 1)) {
        return MAP_FAILED;
    }
    if (index >= (uint64_t)dev->nr_regions || !(flags & MAP_SHARED) ||
        index >= VFIO_PCI_ROM_REGION_INDEX) {
        return MAP_FAILED;
    }
    r = &dev->regions[index];
    if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || (!r->mem && !r->trap_mmap)) {
        return MAP_FAILED;
    }
    if (!len || start + len > ROUND_UP(r->size, SIM_PAGE_SIZE) || start + len < start ||
        !sim_sparse_allows(r, start, len)) {
        return MAP_FAILED;
    }
    if (r->trap_mmap) {
        p = sim_trap_map(dev, (int)index, addr, len, flags, start, err);
    } else {
        p = sim_real.mmap(addr, len, prot, flags, r->mem_fd, start);
        *err = errno;
    }
    if (p == MAP_FAILED) {
        return MAP_FAILED;
    }
    m = g_new0(SimBarMapping, 1);
    m->start = (uintptr_t)p;
    m->len = len;
    m->dev = dev;
    sim_bar_mappings = g_list_prepend(sim_bar_mappings, m);
    __atomic_add_fetch(&sim_bar_mapping_count, 1, __ATOMIC_RELAXED);
    trace_vfio_sim_mmap(dev->cfg.bdf, (int)index, start, len);
    return p;
}

/* Locked.  The world is replaced: mappings of its devices lead nowhere now. */
void sim_device_forget_mappings(void)
{
    for (GList *l = sim_bar_mappings; l; l = l->next) {
        SimBarMapping *m = l->data;

        sim_trap_unmap(m->start, m->len);
        g_free(m);
    }
    g_list_free(sim_bar_mappings);
    sim_bar_mappings = NULL;
    __atomic_store_n(&sim_bar_mapping_count, 0, __ATOMIC_RELAXED);
}

/* munmap() of anything: forget the BAR mappings it covers. */
void sim_device_munmap(void *addr, size_t len)
{
    uintptr_t s = (uintptr_t)addr, e = s + len;
    GList *l, *next;

    if (!__atomic_load_n(&sim_bar_mapping_count, __ATOMIC_RELAXED)) {
        return;
    }
    pthread_mutex_lock(&sim_lock);
    for (l = sim_bar_mappings; l; l = next) {
        SimBarMapping *m = l->data;

        next = l->next;
        /* Partial unmaps keep the record (and the trap on what is left). */
        if (m->start >= s && m->start + m->len <= e) {
            sim_bar_mappings = g_list_delete_link(sim_bar_mappings, l);
            __atomic_sub_fetch(&sim_bar_mapping_count, 1, __ATOMIC_RELAXED);
            g_free(m);
        }
    }
    sim_trap_unmap(s, len);
    pthread_mutex_unlock(&sim_lock);
}

void sim_device_mmio(SimDevice *dev, int bar, uint64_t off, uint64_t *val, unsigned size,
                     bool write)
{
    /* Decoding off: the real access would fail; reads float high. */
    if (!(sim_pci_command(dev) & PCI_COMMAND_MEMORY) || off + size > dev->regions[bar].size) {
        if (!write) {
            *val = UINT64_MAX;
        }
        return;
    }
    if (write) {
        dev->ops->bar_write(dev, bar, off, *val, size);
    } else {
        *val = dev->ops->bar_read(dev, bar, off, size);
    }
    trace_vfio_sim_region_rw(dev->cfg.bdf, bar, off, size, write, size);
}

void sim_dma_pattern_page(uint32_t pattern, uint64_t page, uint64_t k, uint64_t *buf)
{
    for (unsigned w = 0; w < SIM_PAGE_SIZE / 8; w++) {
        buf[w] = ((uint64_t)pattern << 32) | (((k << 16) ^ w ^ page) & 0xffffffffu);
    }
}
