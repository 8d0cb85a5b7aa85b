/*
 * qpci: PCI helpers over libqtest (see qpci.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <linux/pci_regs.h>
#include <string.h>

#include "qpci.h"

#define CONF1_ADDR  0xcf8
#define CONF1_DATA  0xcfc
#define CONF1_ON    0x80000000u

static QPCIBus *qpci_new(QTestState *qts)
{
    QPCIBus *bus = g_new0(QPCIBus, 1);

    bus->qts = qts;
    bus->pio_next = QPCI_PIO_BASE;
    bus->pio_limit = QPCI_PIO_LIMIT;
    bus->mmio_next = QPCI_MMIO_BASE;
    bus->mmio_limit = QPCI_MMIO_LIMIT;
    return bus;
}

QPCIBus *qpci_new_conf1(QTestState *qts)
{
    return qpci_new(qts);
}

QPCIBus *qpci_new_ecam(QTestState *qts, uint64_t ecam_base)
{
    QPCIBus *bus = qpci_new(qts);

    bus->use_ecam = true;
    bus->ecam_base = ecam_base;
    return bus;
}

void qpci_free(QPCIBus *bus)
{
    g_free(bus);
}

void qpci_set_mmio64_window(QPCIBus *bus, uint64_t base, uint64_t limit)
{
    bus->mmio64_next = base;
    bus->mmio64_limit = limit;
}

/* ------------------------------------------------------------------------ */
/* Config space */

static uint64_t ecam_addr(QPCIDevice *dev, uint16_t offset)
{
    return dev->bus->ecam_base + ((uint64_t)dev->devfn << 12) + (offset & 0xfff);
}

static void conf1_select(QPCIDevice *dev, uint16_t offset)
{
    g_assert_cmpuint(offset, <, 0x100);
    qtest_outl(dev->bus->qts, CONF1_ADDR, CONF1_ON | dev->devfn << 8 | (offset & 0xfc));
}

uint8_t qpci_config_readb(QPCIDevice *dev, uint16_t offset)
{
    if (dev->bus->use_ecam) {
        return qtest_readb(dev->bus->qts, ecam_addr(dev, offset));
    }
    conf1_select(dev, offset);
    return qtest_inb(dev->bus->qts, CONF1_DATA + (offset & 3));
}

uint16_t qpci_config_readw(QPCIDevice *dev, uint16_t offset)
{
    if (dev->bus->use_ecam) {
        return qtest_readw(dev->bus->qts, ecam_addr(dev, offset));
    }
    conf1_select(dev, offset);
    return qtest_inw(dev->bus->qts, CONF1_DATA + (offset & 2));
}

uint32_t qpci_config_readl(QPCIDevice *dev, uint16_t offset)
{
    if (dev->bus->use_ecam) {
        return qtest_readl(dev->bus->qts, ecam_addr(dev, offset));
    }
    conf1_select(dev, offset);
    return qtest_inl(dev->bus->qts, CONF1_DATA);
}

void qpci_config_writeb(QPCIDevice *dev, uint16_t offset, uint8_t value)
{
    if (dev->bus->use_ecam) {
        qtest_writeb(dev->bus->qts, ecam_addr(dev, offset), value);
        return;
    }
    conf1_select(dev, offset);
    qtest_outb(dev->bus->qts, CONF1_DATA + (offset & 3), value);
}

void qpci_config_writew(QPCIDevice *dev, uint16_t offset, uint16_t value)
{
    if (dev->bus->use_ecam) {
        qtest_writew(dev->bus->qts, ecam_addr(dev, offset), value);
        return;
    }
    conf1_select(dev, offset);
    qtest_outw(dev->bus->qts, CONF1_DATA + (offset & 2), value);
}

void qpci_config_writel(QPCIDevice *dev, uint16_t offset, uint32_t value)
{
    if (dev->bus->use_ecam) {
        qtest_writel(dev->bus->qts, ecam_addr(dev, offset), value);
        return;
    }
    conf1_select(dev, offset);
    qtest_outl(dev->bus->qts, CONF1_DATA, value);
}

/* ------------------------------------------------------------------------ */
/* Devices */

QPCIDevice *qpci_device_find(QPCIBus *bus, int devfn)
{
    QPCIDevice *dev = g_new0(QPCIDevice, 1);

    dev->bus = bus;
    dev->devfn = devfn;
    if (qpci_config_readw(dev, PCI_VENDOR_ID) == 0xffff) {
        g_free(dev);
        return NULL;
    }
    return dev;
}

void qpci_device_foreach(QPCIBus *bus, int vendor_id, int device_id,
                         void (*fn)(QPCIDevice *dev, int devfn, void *data), void *data)
{
    for (int slot = 0; slot < 32; slot++) {
        for (int fn_no = 0; fn_no < 8; fn_no++) {
            QPCIDevice *dev = qpci_device_find(bus, slot << 3 | fn_no);
            bool single = false;

            if (!dev) {
                if (fn_no == 0) {
                    break;      /* no function 0: the slot is empty */
                }
                continue;
            }
            /* A single-function device hides functions 1..7. */
            if (fn_no == 0) {
                single = !(qpci_config_readb(dev, PCI_HEADER_TYPE) & 0x80);
            }
            if ((vendor_id == -1 || qpci_config_readw(dev, PCI_VENDOR_ID) == vendor_id) &&
                (device_id == -1 || qpci_config_readw(dev, PCI_DEVICE_ID) == device_id)) {
                fn(dev, slot << 3 | fn_no, data);
            } else {
                g_free(dev);
            }
            if (single) {
                break;
            }
        }
    }
}

void qpci_command_update(QPCIDevice *dev, uint16_t clear, uint16_t set)
{
    uint16_t cmd = qpci_config_readw(dev, PCI_COMMAND);

    qpci_config_writew(dev, PCI_COMMAND, (cmd & ~clear) | set);
}

void qpci_device_enable(QPCIDevice *dev)
{
    qpci_command_update(dev, 0, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

uint8_t qpci_find_capability(QPCIDevice *dev, uint8_t id, uint8_t start)
{
    uint8_t addr = start ? qpci_config_readb(dev, start + PCI_CAP_LIST_NEXT)
                         : qpci_config_readb(dev, PCI_CAPABILITY_LIST);
    int budget = 48;

    while (addr && budget--) {
        if (qpci_config_readb(dev, addr + PCI_CAP_LIST_ID) == id) {
            return addr;
        }
        addr = qpci_config_readb(dev, addr + PCI_CAP_LIST_NEXT);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* BARs */

static uint16_t bar_reg(int barno)
{
    return barno == 6 ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + barno * 4;
}

uint64_t qpci_bar_size(QPCIDevice *dev, int barno, uint32_t *type)
{
    uint16_t reg = bar_reg(barno);
    uint32_t orig = qpci_config_readl(dev, reg);
    uint32_t probe;
    uint64_t mask;

    qpci_config_writel(dev, reg, 0xffffffff);
    probe = qpci_config_readl(dev, reg);
    qpci_config_writel(dev, reg, orig);
    if (barno == 6) {
        if (type) {
            *type = 0;
        }
        mask = probe & PCI_ROM_ADDRESS_MASK;
        return mask ? (uint32_t)~mask + 1 : 0;
    }
    if (type) {
        *type = orig & (orig & PCI_BASE_ADDRESS_SPACE_IO ? ~PCI_BASE_ADDRESS_IO_MASK
                                                         : ~PCI_BASE_ADDRESS_MEM_MASK);
    }
    if (orig & PCI_BASE_ADDRESS_SPACE_IO) {
        mask = probe & PCI_BASE_ADDRESS_IO_MASK;
        return mask ? ((uint32_t)~mask + 1) & 0xffffffff : 0;
    }
    mask = probe & PCI_BASE_ADDRESS_MEM_MASK;
    if (orig & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        uint32_t orig_hi = qpci_config_readl(dev, reg + 4);
        uint32_t probe_hi;

        qpci_config_writel(dev, reg + 4, 0xffffffff);
        probe_hi = qpci_config_readl(dev, reg + 4);
        qpci_config_writel(dev, reg + 4, orig_hi);
        mask |= (uint64_t)probe_hi << 32;
        return mask ? ~mask + 1 : 0;
    }
    return mask ? (uint64_t)((uint32_t)~mask + 1) : 0;
}

QPCIBar qpci_iomap_at(QPCIDevice *dev, int barno, uint64_t addr)
{
    uint16_t reg = bar_reg(barno);
    uint32_t cur = qpci_config_readl(dev, reg);
    QPCIBar bar = { .addr = addr };

    if (barno == 6) {
        qpci_config_writel(dev, reg, (addr & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
        return bar;
    }
    if (cur & PCI_BASE_ADDRESS_SPACE_IO) {
        bar.is_io = true;
        qpci_config_writel(dev, reg, addr & PCI_BASE_ADDRESS_IO_MASK);
        return bar;
    }
    qpci_config_writel(dev, reg, addr & PCI_BASE_ADDRESS_MEM_MASK);
    if (cur & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        qpci_config_writel(dev, reg + 4, addr >> 32);
    } else {
        g_assert_cmphex(addr >> 32, ==, 0);
    }
    return bar;
}

/* Take @size bytes, aligned to @size, from [*next, limit). */
static uint64_t alloc_window(uint64_t *next, uint64_t limit, uint64_t size, const char *what)
{
    uint64_t addr = (*next + size - 1) & ~(size - 1);

    if (addr < *next || addr + size > limit || addr + size < addr) {
        g_error("qpci: no room for a %s BAR of 0x%" G_GINT64_MODIFIER "x bytes", what, size);
    }
    *next = addr + size;
    return addr;
}

QPCIBar qpci_iomap(QPCIDevice *dev, int barno, uint64_t *sizeptr)
{
    QPCIBus *bus = dev->bus;
    uint32_t type = 0;
    uint64_t size = qpci_bar_size(dev, barno, &type);
    uint64_t addr;

    g_assert_cmpuint(size, >, 0);
    if (sizeptr) {
        *sizeptr = size;
    }
    if (barno != 6 && (type & PCI_BASE_ADDRESS_SPACE_IO)) {
        addr = alloc_window(&bus->pio_next, bus->pio_limit, size, "I/O");
    } else if (barno != 6 && (type & PCI_BASE_ADDRESS_MEM_TYPE_64) && bus->mmio64_limit) {
        addr = alloc_window(&bus->mmio64_next, bus->mmio64_limit, size, "64-bit memory");
    } else {
        addr = alloc_window(&bus->mmio_next, bus->mmio_limit, size, "memory");
    }
    return qpci_iomap_at(dev, barno, addr);
}

void qpci_iounmap(QPCIDevice *dev, QPCIBar bar)
{
}

uint8_t qpci_io_readb(QPCIDevice *dev, QPCIBar bar, uint64_t off)
{
    return bar.is_io ? qtest_inb(dev->bus->qts, bar.addr + off)
                     : qtest_readb(dev->bus->qts, bar.addr + off);
}

uint16_t qpci_io_readw(QPCIDevice *dev, QPCIBar bar, uint64_t off)
{
    return bar.is_io ? qtest_inw(dev->bus->qts, bar.addr + off)
                     : qtest_readw(dev->bus->qts, bar.addr + off);
}

uint32_t qpci_io_readl(QPCIDevice *dev, QPCIBar bar, uint64_t off)
{
    return bar.is_io ? qtest_inl(dev->bus->qts, bar.addr + off)
                     : qtest_readl(dev->bus->qts, bar.addr + off);
}

uint64_t qpci_io_readq(QPCIDevice *dev, QPCIBar bar, uint64_t off)
{
    if (bar.is_io) {
        uint64_t lo = qtest_inl(dev->bus->qts, bar.addr + off);

        return lo | (uint64_t)qtest_inl(dev->bus->qts, bar.addr + off + 4) << 32;
    }
    return qtest_readq(dev->bus->qts, bar.addr + off);
}

void qpci_io_writeb(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint8_t value)
{
    if (bar.is_io) {
        qtest_outb(dev->bus->qts, bar.addr + off, value);
    } else {
        qtest_writeb(dev->bus->qts, bar.addr + off, value);
    }
}

void qpci_io_writew(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint16_t value)
{
    if (bar.is_io) {
        qtest_outw(dev->bus->qts, bar.addr + off, value);
    } else {
        qtest_writew(dev->bus->qts, bar.addr + off, value);
    }
}

void qpci_io_writel(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint32_t value)
{
    if (bar.is_io) {
        qtest_outl(dev->bus->qts, bar.addr + off, value);
    } else {
        qtest_writel(dev->bus->qts, bar.addr + off, value);
    }
}

void qpci_io_writeq(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint64_t value)
{
    if (bar.is_io) {
        qtest_outl(dev->bus->qts, bar.addr + off, value);
        qtest_outl(dev->bus->qts, bar.addr + off + 4, value >> 32);
    } else {
        qtest_writeq(dev->bus->qts, bar.addr + off, value);
    }
}

/* ------------------------------------------------------------------------ */
/* MSI */

static uint8_t msi_cap(QPCIDevice *dev)
{
    uint8_t cap = qpci_find_capability(dev, PCI_CAP_ID_MSI, 0);

    g_assert_cmpuint(cap, !=, 0);
    return cap;
}

void qpci_msi_enable(QPCIDevice *dev, uint64_t addr, uint16_t data, unsigned nvec)
{
    uint8_t cap = msi_cap(dev);
    uint16_t flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);
    bool is64 = flags & PCI_MSI_FLAGS_64BIT;
    unsigned log2 = 0;

    while ((1u << log2) < nvec) {
        log2++;
    }
    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
    if (is64) {
        qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_HI, addr >> 32);
        qpci_config_writew(dev, cap + PCI_MSI_DATA_64, data);
    } else {
        g_assert_cmphex(addr >> 32, ==, 0);
        qpci_config_writew(dev, cap + PCI_MSI_DATA_32, data);
    }
    flags &= ~PCI_MSI_FLAGS_QSIZE;
    flags |= (log2 << 4) & PCI_MSI_FLAGS_QSIZE;
    qpci_config_writew(dev, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
}

void qpci_msi_disable(QPCIDevice *dev)
{
    uint8_t cap = msi_cap(dev);
    uint16_t flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);

    qpci_config_writew(dev, cap + PCI_MSI_FLAGS, flags & ~PCI_MSI_FLAGS_ENABLE);
}

static int msi_mask_off(QPCIDevice *dev, uint8_t cap, bool pending)
{
    uint16_t flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);

    if (!(flags & PCI_MSI_FLAGS_MASKBIT)) {
        return -1;
    }
    if (flags & PCI_MSI_FLAGS_64BIT) {
        return cap + (pending ? PCI_MSI_PENDING_64 : PCI_MSI_MASK_64);
    }
    return cap + (pending ? PCI_MSI_PENDING_32 : PCI_MSI_MASK_32);
}

void qpci_msi_set_mask(QPCIDevice *dev, uint32_t mask)
{
    int off = msi_mask_off(dev, msi_cap(dev), false);

    g_assert_cmpint(off, >, 0);
    qpci_config_writel(dev, off, mask);
}

uint32_t qpci_msi_pending(QPCIDevice *dev)
{
    int off = msi_mask_off(dev, msi_cap(dev), true);

    return off > 0 ? qpci_config_readl(dev, off) : 0;
}

/* ------------------------------------------------------------------------ */
/* MSI-X */

static uint8_t msix_cap(QPCIDevice *dev)
{
    uint8_t cap = qpci_find_capability(dev, PCI_CAP_ID_MSIX, 0);

    g_assert_cmpuint(cap, !=, 0);
    return cap;
}

/* The BAR @bir as mapped now, mapping it from the windows if it is not. */
static QPCIBar msix_bar(QPCIDevice *dev, int bir)
{
    uint16_t reg = bar_reg(bir);
    uint32_t lo = qpci_config_readl(dev, reg);
    uint64_t addr = lo & PCI_BASE_ADDRESS_MEM_MASK;

    if (lo & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        addr |= (uint64_t)qpci_config_readl(dev, reg + 4) << 32;
    }
    if (addr) {
        return (QPCIBar) { .addr = addr };
    }
    return qpci_iomap(dev, bir, NULL);
}

void qpci_msix_enable(QPCIDevice *dev)
{
    uint8_t cap = msix_cap(dev);
    uint32_t table = qpci_config_readl(dev, cap + PCI_MSIX_TABLE);
    uint32_t pba = qpci_config_readl(dev, cap + PCI_MSIX_PBA);
    uint16_t ctrl;

    dev->msix_table_bar = msix_bar(dev, table & PCI_MSIX_TABLE_BIR);
    dev->msix_table_off = table & PCI_MSIX_TABLE_OFFSET;
    dev->msix_pba_bar = msix_bar(dev, pba & PCI_MSIX_PBA_BIR);
    dev->msix_pba_off = pba & PCI_MSIX_PBA_OFFSET;
    qpci_command_update(dev, 0, PCI_COMMAND_MEMORY);
    ctrl = qpci_config_readw(dev, cap + PCI_MSIX_FLAGS);
    qpci_config_writew(dev, cap + PCI_MSIX_FLAGS, ctrl | PCI_MSIX_FLAGS_ENABLE);
    dev->msix_enabled = true;
}

void qpci_msix_disable(QPCIDevice *dev)
{
    uint8_t cap = msix_cap(dev);
    uint16_t ctrl = qpci_config_readw(dev, cap + PCI_MSIX_FLAGS);

    qpci_config_writew(dev, cap + PCI_MSIX_FLAGS, ctrl & ~PCI_MSIX_FLAGS_ENABLE);
    dev->msix_enabled = false;
}

uint16_t qpci_msix_table_size(QPCIDevice *dev)
{
    return (qpci_config_readw(dev, msix_cap(dev) + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
}

static uint64_t msix_entry_off(QPCIDevice *dev, uint16_t entry)
{
    g_assert(dev->msix_enabled);
    return dev->msix_table_off + (uint64_t)entry * PCI_MSIX_ENTRY_SIZE;
}

void qpci_msix_set_vector(QPCIDevice *dev, uint16_t entry, uint64_t addr, uint32_t data)
{
    uint64_t off = msix_entry_off(dev, entry);

    qpci_io_writel(dev, dev->msix_table_bar, off + PCI_MSIX_ENTRY_LOWER_ADDR, addr);
    qpci_io_writel(dev, dev->msix_table_bar, off + PCI_MSIX_ENTRY_UPPER_ADDR, addr >> 32);
    qpci_io_writel(dev, dev->msix_table_bar, off + PCI_MSIX_ENTRY_DATA, data);
    qpci_msix_mask_vector(dev, entry, false);
}

void qpci_msix_mask_vector(QPCIDevice *dev, uint16_t entry, bool masked)
{
    uint64_t off = msix_entry_off(dev, entry) + PCI_MSIX_ENTRY_VECTOR_CTRL;
    uint32_t ctrl = qpci_io_readl(dev, dev->msix_table_bar, off);

    ctrl = masked ? ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT : ctrl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
    qpci_io_writel(dev, dev->msix_table_bar, off, ctrl);
}

bool qpci_msix_masked(QPCIDevice *dev, uint16_t entry)
{
    uint64_t off = msix_entry_off(dev, entry) + PCI_MSIX_ENTRY_VECTOR_CTRL;

    return qpci_io_readl(dev, dev->msix_table_bar, off) & PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

bool qpci_msix_pending(QPCIDevice *dev, uint16_t entry)
{
    uint64_t off = dev->msix_pba_off + (entry / 32) * 4;

    g_assert(dev->msix_enabled);
    return qpci_io_readl(dev, dev->msix_pba_bar, off) & (1u << (entry % 32));
}

void qpci_msix_function_mask(QPCIDevice *dev, bool masked)
{
    uint8_t cap = msix_cap(dev);
    uint16_t ctrl = qpci_config_readw(dev, cap + PCI_MSIX_FLAGS);

    ctrl = masked ? ctrl | PCI_MSIX_FLAGS_MASKALL : ctrl & ~PCI_MSIX_FLAGS_MASKALL;
    qpci_config_writew(dev, cap + PCI_MSIX_FLAGS, ctrl);
}
