/*
 * aperture-testdev: a PCI device that exercises the PCI layer from qtest
 * before vfio-pci exists -- BARs of every kind, MSI, MSI-X, INTx, DMA and a
 * virtual-clock timer.  Layout and registers: include/hw/pci/pci-testdev.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/timer.h"
#include "hw/qdev-properties.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci-testdev.h"
#include "trace/trace-hw_pci.h"

OBJECT_DECLARE_SIMPLE_TYPE(PCITestDevState, PCI_TESTDEV)

struct PCITestDevState {
    PCIDevice parent_obj;

    /* BAR0: container of the registers and the DMA buffer. */
    MemoryRegion bar0;
    MemoryRegion bar0_regs;
    MemoryRegion bar0_buffer;
    /* BAR1: the registers in I/O space. */
    MemoryRegion bar1;
    /* BAR2: RAM. */
    MemoryRegion bar2;

    /* Registers. */
    uint32_t scratch;
    uint32_t irq_raise_count;
    bool intx;
    uint64_t dma_addr;
    uint32_t dma_len;
    uint32_t dma_status;
    uint32_t dma_vector;
    uint32_t timer_count;
    uint32_t timer_vector;
    uint8_t buffer[TESTDEV_BUFFER_SIZE];
    /* Fires TIMER ns after the TIMER write (QEMU_CLOCK_VIRTUAL). */
    QEMUTimer *timer;

    /* Properties. */
    uint32_t msi_vectors;
    bool msi64;
    bool msi_mask;
    uint32_t msix_vectors;
    uint8_t pin;
    uint64_t bar2_size;
};

/* Signal @vector the way the guest configured interrupts. */
static void testdev_raise(PCITestDevState *s, uint32_t vector)
{
    PCIDevice *d = PCI_DEVICE(s);

    trace_testdev_raise(d->name, vector, msix_enabled(d), msi_enabled(d));
    if (msix_enabled(d)) {
        msix_notify(d, vector);
    } else if (msi_enabled(d)) {
        msi_notify(d, vector);
    } else if (s->pin) {
        s->intx = true;
        pci_irq_assert(d);
    }
}

static void testdev_dma(PCITestDevState *s, uint32_t cmd)
{
    PCIDevice *d = PCI_DEVICE(s);

    if (s->dma_len == 0 || s->dma_len > TESTDEV_BUFFER_SIZE) {
        s->dma_status = 0xffffffff;
        return;
    }
    s->dma_status = pci_dma_rw(d, s->dma_addr, s->buffer, s->dma_len,
                               cmd & TESTDEV_DMA_TO_RAM);
    trace_testdev_dma(d->name, s->dma_addr, s->dma_len, cmd, s->dma_status);
    if (cmd & TESTDEV_DMA_IRQ) {
        testdev_raise(s, s->dma_vector);
    }
}

static void testdev_timer_cb(void *opaque)
{
    PCITestDevState *s = opaque;

    s->timer_count++;
    testdev_raise(s, s->timer_vector);
}

static uint64_t testdev_reg_read(void *opaque, hwaddr addr, unsigned size)
{
    PCITestDevState *s = opaque;

    switch (addr) {
    case TESTDEV_REG_ID:
        return TESTDEV_ID_VALUE;
    case TESTDEV_REG_SCRATCH:
        return s->scratch;
    case TESTDEV_REG_IRQ_RAISE:
        return s->irq_raise_count;
    case TESTDEV_REG_IRQ_STATUS:
        return s->intx;
    case TESTDEV_REG_DMA_ADDR_LO:
        return (uint32_t)s->dma_addr;
    case TESTDEV_REG_DMA_ADDR_HI:
        return s->dma_addr >> 32;
    case TESTDEV_REG_DMA_LEN:
        return s->dma_len;
    case TESTDEV_REG_DMA_STATUS:
        return s->dma_status;
    case TESTDEV_REG_DMA_VECTOR:
        return s->dma_vector;
    case TESTDEV_REG_TIMER_COUNT:
        return s->timer_count;
    case TESTDEV_REG_TIMER_VECTOR:
        return s->timer_vector;
    default:
        return 0;
    }
}

static void testdev_reg_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PCITestDevState *s = opaque;
    PCIDevice *d = PCI_DEVICE(s);

    switch (addr) {
    case TESTDEV_REG_SCRATCH:
        s->scratch = val;
        break;
    case TESTDEV_REG_IRQ_RAISE:
        s->irq_raise_count++;
        testdev_raise(s, val);
        break;
    case TESTDEV_REG_IRQ_ACK:
        s->intx = false;
        pci_irq_deassert(d);
        break;
    case TESTDEV_REG_DMA_ADDR_LO:
        s->dma_addr = deposit64(s->dma_addr, 0, 32, val);
        break;
    case TESTDEV_REG_DMA_ADDR_HI:
        s->dma_addr = deposit64(s->dma_addr, 32, 32, val);
        break;
    case TESTDEV_REG_DMA_LEN:
        s->dma_len = val;
        break;
    case TESTDEV_REG_DMA_CMD:
        testdev_dma(s, val);
        break;
    case TESTDEV_REG_DMA_VECTOR:
        s->dma_vector = val;
        break;
    case TESTDEV_REG_TIMER:
        timer_mod_ns(s->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + (uint32_t)val);
        break;
    case TESTDEV_REG_TIMER_VECTOR:
        s->timer_vector = val;
        break;
    default:
        break;
    }
}

static const MemoryRegionOps testdev_reg_ops = {
    .read = testdev_reg_read,
    .write = testdev_reg_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

static uint64_t testdev_buffer_read(void *opaque, hwaddr addr, unsigned size)
{
    PCITestDevState *s = opaque;
    uint64_t val = 0;

    if (addr + size <= sizeof(s->buffer)) {
        memcpy(&val, s->buffer + addr, size);
    }
    return GUINT64_FROM_LE(val);
}

static void testdev_buffer_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PCITestDevState *s = opaque;

    if (addr + size <= sizeof(s->buffer)) {
        val = GUINT64_TO_LE(val);
        memcpy(s->buffer + addr, &val, size);
    }
}

static const MemoryRegionOps testdev_buffer_ops = {
    .read = testdev_buffer_read,
    .write = testdev_buffer_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
    .impl = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
};

static void testdev_reset(PCIDevice *d)
{
    PCITestDevState *s = PCI_TESTDEV(d);

    timer_del(s->timer);
    s->scratch = 0;
    s->irq_raise_count = 0;
    s->intx = false;
    s->dma_addr = 0;
    s->dma_len = 0;
    s->dma_status = 0;
    s->dma_vector = 0;
    s->timer_count = 0;
    s->timer_vector = 0;
    memset(s->buffer, 0, sizeof(s->buffer));
}

static void testdev_free_regions(PCITestDevState *s)
{
    memory_region_unparent(&s->bar0_regs);
    memory_region_unparent(&s->bar0_buffer);
    memory_region_unparent(&s->bar0);
    memory_region_unparent(&s->bar1);
    memory_region_unparent(&s->bar2);
}

static bool testdev_realize(PCIDevice *d, Error **errp)
{
    PCITestDevState *s = PCI_TESTDEV(d);
    g_autofree char *ram_name = NULL;

    if (s->pin > 4) {
        error_setg(errp, "aperture-testdev: pin must be 0 (none) or 1..4");
        return false;
    }
    if (s->bar2_size < 16 || s->bar2_size > 1 * GiB || !is_power_of_2(s->bar2_size)) {
        error_setg(errp, "aperture-testdev: bar2-size must be a power of two, 16 B .. 1 GiB");
        return false;
    }
    if (s->msix_vectors > PCI_MSIX_ENTRIES_MAX / 16) {
        error_setg(errp, "aperture-testdev: at most %d MSI-X vectors", PCI_MSIX_ENTRIES_MAX / 16);
        return false;
    }
    pci_config_set_interrupt_pin(d->config, s->pin);

    memory_region_init(&s->bar0, s, "testdev-bar0", TESTDEV_BAR0_SIZE);
    memory_region_init_io(&s->bar0_regs, s, &testdev_reg_ops, s, "testdev-regs",
                          TESTDEV_BUFFER_OFFSET);
    memory_region_add_subregion(&s->bar0, 0, &s->bar0_regs);
    memory_region_init_io(&s->bar0_buffer, s, &testdev_buffer_ops, s, "testdev-buffer",
                          TESTDEV_BUFFER_SIZE);
    memory_region_add_subregion(&s->bar0, TESTDEV_BUFFER_OFFSET, &s->bar0_buffer);
    memory_region_init_io(&s->bar1, s, &testdev_reg_ops, s, "testdev-bar1",
                          TESTDEV_BAR1_SIZE);
    /* RAM block names must be unique: the slot is part of d->name. */
    ram_name = g_strdup_printf("%s.bar2", d->name);
    if (!memory_region_init_ram(&s->bar2, s, ram_name, s->bar2_size, errp)) {
        testdev_free_regions(s);
        return false;
    }
    pci_register_bar(d, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->bar0);
    pci_register_bar(d, 1, PCI_BASE_ADDRESS_SPACE_IO, &s->bar1);
    pci_register_bar(d, 2, PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->bar2);

    if (s->msi_vectors &&
        !msi_init(d, 0, s->msi_vectors, s->msi64, s->msi_mask, errp)) {
        testdev_free_regions(s);
        return false;
    }
    if (s->msix_vectors) {
        if (!msix_init_exclusive_bar(d, s->msix_vectors, TESTDEV_MSIX_BAR, errp)) {
            msi_uninit(d);
            testdev_free_regions(s);
            return false;
        }
        msix_vectors_use_all(d);
    }
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, testdev_timer_cb, s);
    return true;
}

static void testdev_exit(PCIDevice *d)
{
    PCITestDevState *s = PCI_TESTDEV(d);

    g_clear_pointer(&s->timer, timer_free);
    testdev_free_regions(s);
}

static const Property testdev_props[] = {
    DEFINE_PROP_UINT32("msi-vectors", PCITestDevState, msi_vectors, 4),
    DEFINE_PROP_BOOL("msi64", PCITestDevState, msi64, true),
    DEFINE_PROP_BOOL("msi-mask", PCITestDevState, msi_mask, true),
    DEFINE_PROP_UINT32("msix-vectors", PCITestDevState, msix_vectors, 8),
    DEFINE_PROP_UINT8("pin", PCITestDevState, pin, 1),
    DEFINE_PROP_SIZE("bar2-size", PCITestDevState, bar2_size, TESTDEV_BAR2_DEFAULT_SIZE),
};

static void testdev_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(klass);

    dc->desc = "PCI test device (BARs, MSI, MSI-X, INTx, DMA, timer)";
    dc->categories = 1ul << DEVICE_CATEGORY_MISC;
    pc->realize = testdev_realize;
    pc->exit = testdev_exit;
    pc->reset = testdev_reset;
    pc->vendor_id = TESTDEV_VENDOR_ID;
    pc->device_id = TESTDEV_DEVICE_ID;
    pc->revision = TESTDEV_REVISION;
    pc->class_id = TESTDEV_CLASS;
    pc->is_express = true;
    device_class_set_props(dc, testdev_props);
}

static const TypeInfo testdev_info = {
    .name = TYPE_PCI_TESTDEV,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PCITestDevState),
    .class_init = testdev_class_init,
};

static void testdev_register_types(void)
{
    type_register_static(&testdev_info);
}

type_init(testdev_register_types)
