/*
 * The q35-like PCI host bridge: conf1 ports, the ECAM window, the root
 * bus "pcie.0" with its INTx router, and the MCH at 00.0.
 *
 * Behaviour checked against QEMU's hw/pci/pci_host.c, pcie_host.c and
 * hw/isa/lpc_ich9.c (the default interrupt routing of ICH9: chipset
 * configuration registers D25IR..D31IR = 0x3210 map INTA..D to PIRQ A..D,
 * slot 30 maps INTx to PIRQ E..H, every other slot (S + pin) % 4 + 4; in
 * APIC mode PIRQ n is GSI 16 + n).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "exec/address-spaces.h"
#include "hw/qdev-properties.h"
#include "hw/pci/pci-host.h"
#include "trace/trace-hw_pci.h"

/* GSI of PIRQ A in APIC mode. */
#define Q35_PIRQ_GSI_BASE 16

/* Host bridges in realize order (the first is the machine's). */
static GList *pci_hosts;

PCIHostState *pci_host_get_default(void)
{
    return pci_hosts ? pci_hosts->data : NULL;
}

int pci_host_q35_pirq(int slot, int pin)
{
    if (slot >= 25 && slot <= 31 && slot != 30) {
        return pin;                 /* D25IR..D31IR default 0x3210: PIRQ A..D */
    }
    if (slot == 30) {
        return pin + 4;             /* the DMI-to-PCI bridge: PIRQ E..H */
    }
    return (slot + pin) % 4 + 4;    /* everything else: PIRQ E..H, swizzled */
}

static int q35_map_irq(PCIDevice *dev, int pin)
{
    return pci_host_q35_pirq(PCI_SLOT(dev->devfn), pin);
}

static void q35_set_irq(void *opaque, int pirq, int level)
{
    PCIHostState *s = opaque;

    trace_pci_host_set_irq(pirq, Q35_PIRQ_GSI_BASE + pirq, level);
    qemu_set_irq(s->pirq[pirq], level);
}

static PCIINTxRoute q35_route_intx(void *opaque, int pirq)
{
    return (PCIINTxRoute) { PCI_INTX_ENABLED, Q35_PIRQ_GSI_BASE + pirq };
}

/* ------------------------------------------------------------------------ */
/* conf1 */

static void conf1_addr_write(void *opaque, hwaddr addr, uint64_t val, unsigned len)
{
    PCIHostState *s = opaque;

    /* Only a dword write at 0xcf8 sets CONFIG_ADDRESS. */
    if (addr != 0 || len != 4) {
        return;
    }
    s->config_reg = val;
}

static uint64_t conf1_addr_read(void *opaque, hwaddr addr, unsigned len)
{
    PCIHostState *s = opaque;

    return s->config_reg;
}

static const MemoryRegionOps conf1_addr_ops = {
    .read = conf1_addr_read,
    .write = conf1_addr_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

/* The device CONFIG_ADDRESS | @port_off selects, and the register in *@reg. */
static PCIDevice *conf1_target(PCIHostState *s, hwaddr port_off, uint32_t *reg)
{
    uint32_t addr = s->config_reg | (port_off & 3);

    *reg = addr & (PCI_CONFIG_SPACE_SIZE - 1);
    return pci_find_device(s->bus, (addr >> 16) & 0xff, (addr >> 8) & 0xff);
}

static void conf1_data_write(void *opaque, hwaddr addr, uint64_t val, unsigned len)
{
    PCIHostState *s = opaque;
    PCIDevice *dev;
    uint32_t reg;

    if (!(s->config_reg & PCI_HOST_CONF1_ENABLE)) {
        return;
    }
    dev = conf1_target(s, addr, &reg);
    if (!dev) {
        return;
    }
    /* conf1 reaches the first 256 bytes only. */
    pci_host_config_write_common(dev, reg, PCI_CONFIG_SPACE_SIZE, val, len);
}

static uint64_t conf1_data_read(void *opaque, hwaddr addr, unsigned len)
{
    PCIHostState *s = opaque;
    PCIDevice *dev;
    uint32_t reg;

    if (!(s->config_reg & PCI_HOST_CONF1_ENABLE)) {
        return 0xffffffff;
    }
    dev = conf1_target(s, addr, &reg);
    if (!dev) {
        return 0xffffffff;
    }
    return pci_host_config_read_common(dev, reg, PCI_CONFIG_SPACE_SIZE, len);
}

static const MemoryRegionOps conf1_data_ops = {
    .read = conf1_data_read,
    .write = conf1_data_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

/* ------------------------------------------------------------------------ */
/* ECAM */

static PCIDevice *ecam_target(PCIHostState *s, hwaddr addr, uint32_t *reg)
{
    *reg = addr & (PCIE_CONFIG_SPACE_SIZE - 1);
    return pci_find_device(s->bus, (addr >> 20) & 0xff, (addr >> 12) & 0xff);
}

static void ecam_write(void *opaque, hwaddr addr, uint64_t val, unsigned len)
{
    PCIHostState *s = opaque;
    uint32_t reg;
    PCIDevice *dev = ecam_target(s, addr, &reg);

    if (dev) {
        pci_dev_config_write(dev, reg, val, len);
    }
}

static uint64_t ecam_read(void *opaque, hwaddr addr, unsigned len)
{
    PCIHostState *s = opaque;
    uint32_t reg;
    PCIDevice *dev = ecam_target(s, addr, &reg);

    return dev ? pci_dev_config_read(dev, reg, len) : 0xffffffff;
}

static const MemoryRegionOps ecam_ops = {
    .read = ecam_read,
    .write = ecam_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

/* ------------------------------------------------------------------------ */
/* Hot-unplug: immediate (no guest handshake), releasing the device's slot. */

static void pci_host_unplug(void *opaque, DeviceState *dev)
{
    trace_pci_host_unplug(PCI_DEVICE(dev)->name);
}

static const HotplugHandlerOps pci_host_hotplug_ops = {
    .unplug = pci_host_unplug,
};

/* ------------------------------------------------------------------------ */
/* The device */

static bool pci_host_realize(DeviceState *dev, Error **errp)
{
    PCIHostState *s = PCI_HOST_Q35(dev);
    MemoryRegion *sysmem = s->sysmem ? s->sysmem : get_system_memory();
    MemoryRegion *sysio = s->sysio ? s->sysio : get_system_io();
    PCIDevice *mch;

    if (s->ecam_size < MiB || s->ecam_size > 256 * MiB || !is_power_of_2(s->ecam_size)) {
        error_setg(errp, "q35-pcihost: ecam-size must be a power of two from 1 MiB to 256 MiB");
        return false;
    }
    if (s->ecam_base & (s->ecam_size - 1)) {
        error_setg(errp, "q35-pcihost: ecam-base 0x%" PRIx64 " is not aligned to its size",
                   s->ecam_base);
        return false;
    }
    memory_region_init_io(&s->conf_mem, s, &conf1_addr_ops, s, "pci-conf-idx", 4);
    memory_region_init_io(&s->data_mem, s, &conf1_data_ops, s, "pci-conf-data", 4);
    memory_region_init_io(&s->mmcfg, s, &ecam_ops, s, "pcie-mmcfg-mmio", s->ecam_size);
    if (!memory_region_add_subregion_checked(sysio, PCI_HOST_CONF1_ADDR_PORT, &s->conf_mem,
                                             errp) ||
        !memory_region_add_subregion_checked(sysio, PCI_HOST_CONF1_DATA_PORT, &s->data_mem,
                                             errp) ||
        !memory_region_add_subregion_checked(sysmem, s->ecam_base, &s->mmcfg, errp)) {
        memory_region_unparent(&s->conf_mem);
        memory_region_unparent(&s->data_mem);
        memory_region_unparent(&s->mmcfg);
        return false;
    }

    s->bus = pci_root_bus_new(dev, "pcie.0", sysmem, sysio, 0, TYPE_PCIE_BUS);
    pci_bus_irqs(s->bus, q35_set_irq, q35_map_irq, q35_route_intx, s, PCI_HOST_NUM_PIRQS);
    qbus_set_hotplug_handler(&s->bus->qbus, &pci_host_hotplug_ops, s);
    pci_hosts = g_list_append(pci_hosts, s);

    mch = pci_create_simple(s->bus, PCI_DEVFN(0, 0), TYPE_PCI_MCH, errp);
    if (!mch) {
        pci_hosts = g_list_remove(pci_hosts, s);
        memory_region_unparent(&s->conf_mem);
        memory_region_unparent(&s->data_mem);
        memory_region_unparent(&s->mmcfg);
        return false;
    }
    s->mch = mch;
    trace_pci_host_realize(s->ecam_base, s->ecam_size);
    return true;
}

static void pci_host_unrealize(DeviceState *dev)
{
    PCIHostState *s = PCI_HOST_Q35(dev);

    /* qdev unrealized the bus's devices (the MCH included) already. */
    pci_hosts = g_list_remove(pci_hosts, s);
    s->mch = NULL;
    if (s->bus) {
        pci_bus_irqs_cleanup(s->bus);
    }
    memory_region_unparent(&s->conf_mem);
    memory_region_unparent(&s->data_mem);
    memory_region_unparent(&s->mmcfg);
}

static void pci_host_instance_init(Object *obj)
{
    PCIHostState *s = PCI_HOST_Q35(obj);

    qdev_init_gpio_out(DEVICE(s), s->pirq, PCI_HOST_NUM_PIRQS);
}

static const Property pci_host_props[] = {
    DEFINE_PROP_UINT64("ecam-base", PCIHostState, ecam_base, PCI_HOST_ECAM_DEFAULT_BASE),
    DEFINE_PROP_UINT64("ecam-size", PCIHostState, ecam_size, PCI_HOST_ECAM_DEFAULT_SIZE),
    DEFINE_PROP_UINT64("pci-hole64-start", PCIHostState, pci_hole64_start, 0),
    DEFINE_PROP_UINT64("pci-hole64-size", PCIHostState, pci_hole64_size, 0),
    DEFINE_PROP_UINT64("below-4g-mem-size", PCIHostState, below_4g_mem_size, 0),
};

static void pci_host_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "Q35 PCI host bridge (conf1, ECAM, pcie.0)";
    dc->realize = pci_host_realize;
    dc->unrealize = pci_host_unrealize;
    dc->user_creatable = false;
    dc->hotpluggable = false;
    dc->categories = 1ul << DEVICE_CATEGORY_BRIDGE;
    device_class_set_props(dc, pci_host_props);
}

PCIHostState *pci_host_q35_new(MemoryRegion *sysmem, MemoryRegion *sysio, uint64_t ecam_base,
                               qemu_irq *pirq, Error **errp)
{
    DeviceState *dev = qdev_new(TYPE_PCI_HOST_Q35);
    PCIHostState *s = PCI_HOST_Q35(dev);

    s->sysmem = sysmem;
    s->sysio = sysio;
    if (ecam_base) {
        qdev_prop_set_uint64(dev, "ecam-base", ecam_base);
    }
    if (pirq) {
        for (int i = 0; i < PCI_HOST_NUM_PIRQS; i++) {
            qdev_connect_gpio_out(dev, i, pirq[i]);
        }
    }
    if (!qdev_realize_and_unref(dev, NULL, errp)) {
        return NULL;
    }
    return s;
}

/* ------------------------------------------------------------------------ */
/* The MCH (00.0): a host bridge function with no BARs, as on QEMU's q35. */

static void mch_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(klass);

    dc->desc = "Host bridge";
    dc->user_creatable = false;
    dc->hotpluggable = false;
    dc->categories = 1ul << DEVICE_CATEGORY_BRIDGE;
    pc->vendor_id = PCI_HOST_MCH_VENDOR_ID;
    pc->device_id = PCI_HOST_MCH_DEVICE_ID;
    pc->revision = 0;
    pc->class_id = PCI_CLASS_BRIDGE_HOST;
}

static const TypeInfo pci_host_types[] = {
    {
        .name = TYPE_PCI_HOST_Q35,
        .parent = TYPE_SYS_BUS_DEVICE,
        .instance_size = sizeof(PCIHostState),
        .instance_init = pci_host_instance_init,
        .class_init = pci_host_class_init,
    },
    {
        .name = TYPE_PCI_MCH,
        .parent = TYPE_PCI_DEVICE,
        .class_init = mch_class_init,
    },
};

static void pci_host_register_types(void)
{
    type_register_static_array(pci_host_types, ARRAY_SIZE(pci_host_types));
}

type_init(pci_host_register_types)
