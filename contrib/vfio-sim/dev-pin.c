/*
 * vfio-sim: "pin", a device behind an emulated IOMMU (an mdev-like device
 * in a singleton group).
 *
 * It never DMAs on its own: like a mediated device, it asks the type1
 * driver to pin pages (vfio_pin_pages) and reads or writes them through it
 * (vfio_dma_rw).  A container whose every group is like this reports only
 * pinned and written pages dirty, which is what it exists to test.
 *
 * BAR0 (4 KiB, not mappable), 32-bit registers:
 *   0x00 ID       "PIN1" (0x314e4950)  RO
 *   0x08/0x0c IOVA       target (lo/hi)
 *   0x10 CMD      1 pin the page at IOVA, 2 unpin it,
 *                 3 write PATTERN to the 4 KiB at IOVA (vfio_dma_rw),
 *                 4 read the 4 KiB at IOVA; CHECKSUM = sum of its 32-bit words
 *   0x14 RESULT   0 or the negative errno of the last command
 *   0x18 PATTERN  32-bit fill value
 *   0x1c PINNED   pages pinned now   RO
 *   0x20 CHECKSUM                    RO
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"

#define PIN_ID 0x314e4950u

typedef struct SimPin {
    SimDevice *dev;
    uint64_t iova;
    int32_t result;
    uint32_t pattern;
    uint32_t checksum;
    GArray *pinned;             /* uint64_t IOVAs this device pinned */
} SimPin;

static void sim_pin_command(SimPin *s, uint32_t cmd)
{
    uint32_t buf[SIM_PAGE_SIZE / 4];

    switch (cmd) {
    case 1:
        s->result = sim_dma_pin_page(s->dev, s->iova, true);
        if (!s->result) {
            uint64_t page = s->iova & ~(SIM_PAGE_SIZE - 1);

            g_array_append_val(s->pinned, page);
        }
        break;
    case 2:
        s->result = -EINVAL;
        for (guint i = 0; i < s->pinned->len; i++) {
            if (g_array_index(s->pinned, uint64_t, i) == (s->iova & ~(SIM_PAGE_SIZE - 1))) {
                s->result = sim_dma_unpin_page(s->dev, s->iova);
                g_array_remove_index_fast(s->pinned, i);
                break;
            }
        }
        break;
    case 3:
        for (unsigned i = 0; i < G_N_ELEMENTS(buf); i++) {
            buf[i] = s->pattern;
        }
        s->result = sim_dma_rw(s->dev, s->iova, buf, sizeof(buf), true, true);
        break;
    case 4:
        s->result = sim_dma_rw(s->dev, s->iova, buf, sizeof(buf), false, true);
        s->checksum = 0;
        for (unsigned i = 0; !s->result && i < G_N_ELEMENTS(buf); i++) {
            s->checksum += buf[i];
        }
        break;
    default:
        s->result = -EINVAL;
        break;
    }
}

static uint64_t sim_pin_bar_read(SimDevice *dev, int bar, uint64_t off, unsigned size)
{
    SimPin *s = dev->model;

    if (size != 4 || (off & 3)) {
        return ~0u;
    }
    switch (off) {
    case 0x00:
        return PIN_ID;
    case 0x08:
        return (uint32_t)s->iova;
    case 0x0c:
        return s->iova >> 32;
    case 0x14:
        return (uint32_t)s->result;
    case 0x18:
        return s->pattern;
    case 0x1c:
        return s->pinned->len;
    case 0x20:
        return s->checksum;
    default:
        return 0;
    }
}

static void sim_pin_bar_write(SimDevice *dev, int bar, uint64_t off, uint64_t val,
                              unsigned size)
{
    SimPin *s = dev->model;

    if (size != 4 || (off & 3)) {
        return;
    }
    switch (off) {
    case 0x08:
        s->iova = (s->iova & ~0xffffffffULL) | val;
        break;
    case 0x0c:
        s->iova = (s->iova & 0xffffffffULL) | (uint64_t)val << 32;
        break;
    case 0x10:
        sim_pin_command(s, val);
        break;
    case 0x18:
        s->pattern = val;
        break;
    }
}

/* The unmap notifier: a vendor driver must unpin what is going away. */
static void sim_pin_dma_unmap(SimDevice *dev, uint64_t iova, uint64_t size)
{
    SimPin *s = dev->model;

    for (guint i = 0; i < s->pinned->len;) {
        uint64_t p = g_array_index(s->pinned, uint64_t, i);

        if (p >= iova && p < iova + size) {
            sim_dma_unpin_page(dev, p);
            g_array_remove_index_fast(s->pinned, i);
        } else {
            i++;
        }
    }
}

static void sim_pin_reset(SimDevice *dev)
{
    SimPin *s = dev->model;

    while (s->pinned->len) {
        sim_dma_unpin_page(dev, g_array_index(s->pinned, uint64_t, 0));
        g_array_remove_index_fast(s->pinned, 0);
    }
    s->iova = 0;
    s->result = 0;
    s->pattern = 0;
    s->checksum = 0;
}

static void sim_pin_realize(SimDevice *dev)
{
    SimPin *s = g_new0(SimPin, 1);

    s->dev = dev;
    s->pinned = g_array_new(false, false, sizeof(uint64_t));
    dev->model = s;
    sim_pci_config_init(dev, dev->cfg.vendor_id, dev->cfg.device_id, 0x01, 0x00ff00, 0);
    sim_pci_add_bar(dev, 0, SIM_PAGE_SIZE, false, false, dev->cfg.bar0_mmap);
}

static void sim_pin_finalize(SimDevice *dev)
{
    SimPin *s = dev->model;

    g_array_free(s->pinned, true);
    g_free(s);
}

const SimDeviceOps sim_pin_ops = {
    .name = "pin",
    .realize = sim_pin_realize,
    .finalize = sim_pin_finalize,
    .reset = sim_pin_reset,
    .bar_read = sim_pin_bar_read,
    .bar_write = sim_pin_bar_write,
    .dma_unmap = sim_pin_dma_unmap,
};
