/*
 * vfio-sim: PCI config space and its virtualization by vfio-pci
 * (drivers/vfio/pci/vfio_pci_config.c).
 *
 * A device model fills dev->config: what the hardware holds.  The user sees
 * it through vfio-pci, which virtualizes parts of it (dev->cfg_virt marks the
 * bits served from dev->vconfig):
 *  - BARs read back as the sizing logic expects: written value masked to the
 *    BAR size, plus the type flags;
 *  - MSI and MSI-X capabilities are fully virtual: SET_IRQS programs the
 *    device, so the MSI enable bit a program reads is the one it wrote (0
 *    after SET_IRQS enabled MSI, as the rig showed);
 *  - the interrupt line, cache line size and latency timer are virtual;
 *  - the command register is stored virtually and passed to the device (it
 *    must see bus mastering and memory enable).
 * vconfig is rebuilt from the hardware on every first open.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"

#include <linux/pci_regs.h>

static void sim_cfg_set8(uint8_t *cfg, unsigned off, uint8_t v)
{
    cfg[off] = v;
}

static void sim_cfg_set16(uint8_t *cfg, unsigned off, uint16_t v)
{
    cfg[off] = v;
    cfg[off + 1] = v >> 8;
}

static void sim_cfg_set32(uint8_t *cfg, unsigned off, uint32_t v)
{
    sim_cfg_set16(cfg, off, v);
    sim_cfg_set16(cfg, off + 2, v >> 16);
}

static uint32_t sim_cfg_get32(const uint8_t *cfg, unsigned off)
{
    return cfg[off] | cfg[off + 1] << 8 | cfg[off + 2] << 16 | (uint32_t)cfg[off + 3] << 24;
}

static void sim_mark(uint8_t *map, unsigned off, unsigned len, uint8_t v)
{
    memset(map + off, v, len);
}

void sim_pci_config_init(SimDevice *dev, uint16_t vendor, uint16_t device, uint8_t rev,
                         uint32_t class_code, uint8_t irq_pin)
{
    uint8_t *c = dev->config;
    int idx = dev->index;

    memset(c, 0, SIM_CFG_SIZE);
    memset(dev->cfg_wmask, 0, SIM_CFG_SIZE);
    memset(dev->cfg_virt, 0, SIM_CFG_SIZE);
    sim_cfg_set16(c, PCI_VENDOR_ID, vendor);
    sim_cfg_set16(c, PCI_DEVICE_ID, device);
    sim_cfg_set8(c, PCI_REVISION_ID, rev);
    sim_cfg_set8(c, PCI_CLASS_PROG, class_code & 0xff);
    sim_cfg_set16(c, PCI_CLASS_DEVICE, class_code >> 8);
    sim_cfg_set16(c, PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);     /* QEMU's default */
    sim_cfg_set16(c, PCI_SUBSYSTEM_ID, 0x1100);
    sim_cfg_set8(c, PCI_INTERRUPT_PIN, irq_pin);
    sim_cfg_set8(c, PCI_INTERRUPT_LINE, irq_pin ? 16 + idx % 8 : 0);
    /* Everything the kernel virtualizes reads from vconfig. */
    sim_mark(dev->cfg_virt, 0, 0x40, 0xff);
    sim_mark(dev->cfg_wmask, PCI_COMMAND, 2, 0xff);
    dev->cfg_wmask[PCI_COMMAND + 1] = 0x07;     /* up to INTX_DISABLE */
    sim_mark(dev->cfg_wmask, PCI_CACHE_LINE_SIZE, 2, 0xff);
    sim_mark(dev->cfg_wmask, PCI_BASE_ADDRESS_0, 24, 0xff);
    sim_mark(dev->cfg_wmask, PCI_ROM_ADDRESS, 4, 0xff);
    sim_mark(dev->cfg_wmask, PCI_INTERRUPT_LINE, 1, 0xff);
    dev->msix_bar = -1;
}

/* Host "physical" BAR addresses: each device gets an 8 MiB window. */
void sim_pci_add_bar(SimDevice *dev, int bar, uint64_t size, bool io, bool is64, bool mmap)
{
    SimRegion *r = &dev->regions[bar];
    int idx = dev->index;
    uint64_t base = 0xc0000000ULL + (uint64_t)idx * 8 * MiB + (uint64_t)bar * MiB;
    uint32_t lo;

    r->size = size;
    r->is_io = io;
    r->is_64 = is64;
    r->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    if (io) {
        base = 0xc000 + idx * 0x100 + bar * 0x20;
        lo = (uint32_t)base | PCI_BASE_ADDRESS_SPACE_IO;
    } else {
        base = ROUND_UP(base, size);
        lo = (uint32_t)base | (is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
        /* Only page-sized (or larger) memory BARs can be mmap'd. */
        if (mmap && size >= SIM_PAGE_SIZE) {
            r->flags |= VFIO_REGION_INFO_FLAG_MMAP;
        }
    }
    sim_cfg_set32(dev->config, PCI_BASE_ADDRESS_0 + bar * 4, lo);
    if (is64) {
        sim_cfg_set32(dev->config, PCI_BASE_ADDRESS_0 + (bar + 1) * 4, base >> 32);
    }
}

static void sim_pci_add_cap(SimDevice *dev, uint8_t offset, uint8_t id)
{
    uint8_t *c = dev->config;
    uint8_t *link = &c[PCI_CAPABILITY_LIST];

    c[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    while (*link) {
        link = &c[*link + PCI_CAP_LIST_NEXT];
    }
    *link = offset;
    c[offset + PCI_CAP_LIST_ID] = id;
    c[offset + PCI_CAP_LIST_NEXT] = 0;
}

void sim_pci_add_msi(SimDevice *dev, uint8_t offset, int vectors, bool is64)
{
    uint16_t flags = (is64 ? PCI_MSI_FLAGS_64BIT : 0) |
                     ((__builtin_ctz(vectors) << 1) & PCI_MSI_FLAGS_QMASK);
    unsigned len = is64 ? 14 : 10;

    sim_pci_add_cap(dev, offset, PCI_CAP_ID_MSI);
    sim_cfg_set16(dev->config, offset + PCI_MSI_FLAGS, flags);
    sim_mark(dev->cfg_virt, offset, len, 0xff);
    /* enable and the enabled-vector count; address and data */
    dev->cfg_wmask[offset + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE;
    sim_mark(dev->cfg_wmask, offset + PCI_MSI_ADDRESS_LO, len - 4, 0xff);
    dev->msi_cap = offset;
    dev->msi_count = vectors;
}

void sim_pci_add_msix(SimDevice *dev, uint8_t offset, int vectors, int bar,
                      uint32_t table_offset, uint32_t pba_offset)
{
    sim_pci_add_cap(dev, offset, PCI_CAP_ID_MSIX);
    sim_cfg_set16(dev->config, offset + PCI_MSIX_FLAGS, vectors - 1);
    sim_cfg_set32(dev->config, offset + PCI_MSIX_TABLE, table_offset | bar);
    sim_cfg_set32(dev->config, offset + PCI_MSIX_PBA, pba_offset | bar);
    sim_mark(dev->cfg_virt, offset, 12, 0xff);
    dev->cfg_wmask[offset + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE |
                                                   PCI_MSIX_FLAGS_MASKALL) >> 8;
    dev->msix_cap = offset;
    dev->msix_count = vectors;
    dev->msix_bar = bar;
    dev->msix_table_offset = table_offset;
    dev->regions[bar].msix_mappable = true;
}

/* vfio_bar_fixup(): what a BAR register reads as, from what was written. */
static uint32_t sim_bar_value(SimDevice *dev, int bar)
{
    uint32_t v = sim_cfg_get32(dev->vconfig, PCI_BASE_ADDRESS_0 + bar * 4);

    /* The upper half of a 64-bit BAR. */
    if (bar > 0 && dev->regions[bar - 1].is_64 && dev->regions[bar - 1].size) {
        return v & (uint32_t)(~(dev->regions[bar - 1].size - 1) >> 32);
    }
    if (!dev->regions[bar].size) {
        return 0;
    }
    if (dev->regions[bar].is_io) {
        return (v & ~(uint32_t)(dev->regions[bar].size - 1) & ~3u) | PCI_BASE_ADDRESS_SPACE_IO;
    }
    return (v & (uint32_t)~(dev->regions[bar].size - 1) & ~0xfu) |
           (dev->regions[bar].is_64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
}

void sim_pci_config_reset(SimDevice *dev)
{
    memcpy(dev->vconfig, dev->config, SIM_CFG_SIZE);
    /* pci_enable_device() at open turns decoding on. */
    dev->vconfig[PCI_COMMAND] = 0;
    dev->vconfig[PCI_COMMAND + 1] = 0;
    for (int i = 0; i < SIM_NUM_BARS; i++) {
        if (dev->regions[i].size) {
            dev->vconfig[PCI_COMMAND] |= dev->regions[i].is_io ? PCI_COMMAND_IO
                                                               : PCI_COMMAND_MEMORY;
        }
    }
    dev->config[PCI_COMMAND] = dev->vconfig[PCI_COMMAND];
    dev->config[PCI_COMMAND + 1] = 0;
}

uint16_t sim_pci_command(SimDevice *dev)
{
    return dev->vconfig[PCI_COMMAND] | dev->vconfig[PCI_COMMAND + 1] << 8;
}

bool sim_pci_bus_master(SimDevice *dev)
{
    return sim_pci_command(dev) & PCI_COMMAND_MASTER;
}

static uint8_t sim_cfg_read_byte(SimDevice *dev, unsigned off)
{
    if (off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_5 + 4) {
        int bar = (off - PCI_BASE_ADDRESS_0) / 4;

        return sim_bar_value(dev, bar) >> ((off & 3) * 8);
    }
    if (off >= PCI_ROM_ADDRESS && off < PCI_ROM_ADDRESS + 4) {
        return 0;       /* no sim device has an option ROM */
    }
    return (dev->config[off] & ~dev->cfg_virt[off]) | (dev->vconfig[off] & dev->cfg_virt[off]);
}

static void sim_cfg_write_byte(SimDevice *dev, unsigned off, uint8_t v)
{
    uint8_t wmask = dev->cfg_wmask[off];

    if (!wmask) {
        return;
    }
    dev->vconfig[off] = (dev->vconfig[off] & ~wmask) | (v & wmask);
    if (off == PCI_COMMAND || off == PCI_COMMAND + 1) {
        /* Decoding, bus mastering and INTx disable reach the device. */
        dev->config[off] = dev->vconfig[off];
    }
}

int sim_pci_config_rw(SimDevice *dev, void *ubuf, size_t count, uint64_t pos, bool write)
{
    size_t done = 0;

    while (count) {
        unsigned chunk;
        uint8_t bytes[4];
        uint16_t cmd_before = sim_pci_command(dev);

        if (pos >= SIM_CFG_SIZE || pos + count > SIM_CFG_SIZE) {
            return -EFAULT;
        }
        chunk = (count >= 4 && !(pos % 4)) ? 4 : (count >= 2 && !(pos % 2)) ? 2 : 1;
        if (write) {
            if (sim_copy_from_user(bytes, (char *)ubuf + done, chunk) < 0) {
                return -EFAULT;
            }
            for (unsigned i = 0; i < chunk; i++) {
                sim_cfg_write_byte(dev, pos + i, bytes[i]);
            }
            if ((cmd_before ^ sim_pci_command(dev)) & PCI_COMMAND_INTX_DISABLE) {
                /* INTx disable masks and unmasks the virtual line. */
                sim_irq_intx_disable_changed(dev);
            }
        } else {
            for (unsigned i = 0; i < chunk; i++) {
                bytes[i] = sim_cfg_read_byte(dev, pos + i);
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
