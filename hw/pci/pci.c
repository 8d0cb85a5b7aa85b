/*
 * PCI devices and buses: config space, BARs, INTx, bus mastering.
 *
 * The semantics follow QEMU's hw/pci/pci.c (checked against it): the
 * write masks of a fresh header, BAR decoding rules (a BAR at 0, one that
 * wraps, a 32-bit BAR reaching 4 GiB or an I/O BAR past the I/O space is
 * not mapped), mapping with priority 1 over whatever is below, INTx level
 * counting per bus line and the INTx disable bit, and a bus-master
 * address space per device gated by the command register.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/range.h"
#include "exec/address-spaces.h"
#include "hw/qdev-properties.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci-bus.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "trace/trace-hw_pci.h"

/* Whether [addr, addr + len) contains byte @byte. */
static bool range_covers_byte(uint64_t addr, uint64_t len, uint64_t byte)
{
    return addr <= byte && byte - addr < len;
}

/* ------------------------------------------------------------------------ */
/* Buses */

int pci_bus_num(PCIBus *bus)
{
    return 0;
}

bool pci_bus_is_express(const PCIBus *bus)
{
    return object_dynamic_cast(OBJECT(bus), TYPE_PCIE_BUS) != NULL;
}

PCIDevice *pci_find_device(PCIBus *bus, int bus_num, uint8_t devfn)
{
    if (!bus || bus_num != pci_bus_num(bus)) {
        return NULL;
    }
    return bus->devices[devfn];
}

void pci_for_each_device(PCIBus *bus, void (*fn)(PCIBus *bus, PCIDevice *dev, void *opaque),
                         void *opaque)
{
    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        if (bus->devices[devfn]) {
            fn(bus, bus->devices[devfn], opaque);
        }
    }
}

PCIBus *pci_root_bus_new(DeviceState *parent, const char *name, MemoryRegion *mem,
                         MemoryRegion *io, uint8_t devfn_min, const char *typename)
{
    PCIBus *bus = PCI_BUS(qbus_new(typename, parent, name));

    assert(PCI_FUNC(devfn_min) == 0);
    bus->address_space_mem = mem;
    bus->address_space_io = io;
    bus->devfn_min = devfn_min;
    return bus;
}

void pci_bus_irqs(PCIBus *bus, pci_set_irq_fn set_irq, pci_map_irq_fn map_irq,
                  pci_route_irq_fn route, void *opaque, int nirq)
{
    bus->set_irq = set_irq;
    bus->map_irq = map_irq;
    bus->route_intx_to_irq = route;
    bus->irq_opaque = opaque;
    bus->nirq = nirq;
    g_free(bus->irq_count);
    bus->irq_count = g_new0(int, nirq);
}

void pci_bus_irqs_cleanup(PCIBus *bus)
{
    for (int i = 0; i < bus->nirq; i++) {
        assert(bus->irq_count[i] == 0);
    }
    bus->set_irq = NULL;
    bus->map_irq = NULL;
    bus->route_intx_to_irq = NULL;
    bus->irq_opaque = NULL;
    bus->nirq = 0;
    g_clear_pointer(&bus->irq_count, g_free);
}

int pci_bus_get_irq_level(PCIBus *bus, int irq_num)
{
    assert(irq_num >= 0 && irq_num < bus->nirq);
    return bus->irq_count[irq_num] != 0;
}

void pci_setup_iommu(PCIBus *bus, pci_iommu_fn fn, void *opaque)
{
    bus->iommu_fn = fn;
    bus->iommu_opaque = opaque;
}

void pci_bus_fire_intx_routing_notifier(PCIBus *bus)
{
    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *dev = bus->devices[devfn];

        if (dev && dev->intx_routing_notifier) {
            dev->intx_routing_notifier(dev);
        }
    }
}

static char *pci_bus_get_dev_path(DeviceState *dev)
{
    PCIDevice *d = PCI_DEVICE(dev);

    return g_strdup_printf("0000:%02x:%02x.%x", pci_bus_num(pci_get_bus(d)),
                           PCI_SLOT(d->devfn), PCI_FUNC(d->devfn));
}

/* The devfn a device without addr= gets: function 0 of the first free slot. */
static int pci_bus_find_free_devfn(PCIBus *bus)
{
    for (int devfn = bus->devfn_min; devfn < PCI_DEVFN_MAX; devfn += PCI_FUNC_MAX) {
        if (!bus->devices[devfn]) {
            return devfn;
        }
    }
    return -1;
}

static bool pci_bus_check_address(BusState *qbus, DeviceState *qdev, Error **errp)
{
    PCIBus *bus = PCI_BUS(qbus);
    PCIDevice *dev = PCI_DEVICE(qdev);
    const char *name = object_get_typename(OBJECT(dev));

    if (dev->devfn < 0) {
        if (pci_bus_find_free_devfn(bus) < 0) {
            error_setg(errp, "PCI: no slot/function available for %s, all in use or reserved",
                       name);
            return false;
        }
        return true;
    }
    if (dev->devfn >= PCI_DEVFN_MAX) {
        error_setg(errp, "PCI: invalid devfn %d for %s", dev->devfn, name);
        return false;
    }
    if (bus->devices[dev->devfn]) {
        PCIDevice *other = bus->devices[dev->devfn];

        error_setg(errp, "PCI: slot %d function %d not available for %s, in use by %s,id=%s",
                   PCI_SLOT(dev->devfn), PCI_FUNC(dev->devfn), name,
                   object_get_typename(OBJECT(other)),
                   other->qdev.id ? other->qdev.id : "");
        return false;
    }
    return true;
}

static void pci_bus_class_init(ObjectClass *klass, void *data)
{
    BusClass *bc = BUS_CLASS(klass);

    bc->get_dev_path = pci_bus_get_dev_path;
    bc->check_address = pci_bus_check_address;
}

static void pci_bus_instance_finalize(Object *obj)
{
    PCIBus *bus = PCI_BUS(obj);

    g_free(bus->irq_count);
}

/* ------------------------------------------------------------------------ */
/* Config space set-up */

int pci_bar(PCIDevice *d, int reg)
{
    if (reg != PCI_ROM_SLOT) {
        return PCI_BASE_ADDRESS_0 + reg * 4;
    }
    return PCI_ROM_ADDRESS;
}

static void pci_config_alloc(PCIDevice *d)
{
    d->config = g_malloc0(d->config_size);
    d->cmask = g_malloc0(d->config_size);
    d->wmask = g_malloc0(d->config_size);
    d->w1cmask = g_malloc0(d->config_size);
    d->used = g_malloc0(d->config_size);
}

static void pci_config_free(PCIDevice *d)
{
    g_clear_pointer(&d->config, g_free);
    g_clear_pointer(&d->cmask, g_free);
    g_clear_pointer(&d->wmask, g_free);
    g_clear_pointer(&d->w1cmask, g_free);
    g_clear_pointer(&d->used, g_free);
}

static void pci_init_cmask(PCIDevice *d)
{
    pci_set_word(d->cmask + PCI_VENDOR_ID, 0xffff);
    pci_set_word(d->cmask + PCI_DEVICE_ID, 0xffff);
    d->cmask[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    d->cmask[PCI_REVISION_ID] = 0xff;
    d->cmask[PCI_CLASS_PROG] = 0xff;
    pci_set_word(d->cmask + PCI_CLASS_DEVICE, 0xffff);
    d->cmask[PCI_HEADER_TYPE] = 0xff;
    d->cmask[PCI_CAPABILITY_LIST] = 0xff;
}

/*
 * What a guest may write in a fresh type-0 header: cache line size,
 * interrupt line, the command bits QEMU emulates, and everything past the
 * header (capabilities close their own bytes).
 */
static void pci_init_wmask(PCIDevice *d)
{
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    pci_set_word(d->wmask + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_SERR);
    memset(d->wmask + PCI_CONFIG_HEADER_SIZE, 0xff, d->config_size - PCI_CONFIG_HEADER_SIZE);
}

static void pci_init_w1cmask(PCIDevice *d)
{
    pci_set_word(d->w1cmask + PCI_STATUS,
                 PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
                 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
                 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
}

/*
 * The multifunction rules (QEMU's): function 0 with multifunction=on lets
 * other functions in; a function > 0 needs function 0 to be multifunction
 * (if it exists yet); a single-function function 0 refuses company.
 */
static bool pci_init_multifunction(PCIBus *bus, PCIDevice *dev, Error **errp)
{
    uint8_t slot = PCI_SLOT(dev->devfn);

    if (dev->multifunction) {
        dev->config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MFD;
    }
    if (PCI_FUNC(dev->devfn)) {
        PCIDevice *f0 = bus->devices[PCI_DEVFN(slot, 0)];

        if (f0 && !f0->multifunction) {
            error_setg(errp, "PCI: single function device can't be populated in function %x.%x",
                       slot, PCI_FUNC(dev->devfn));
            return false;
        }
        return true;
    }
    if (dev->multifunction) {
        return true;
    }
    for (int func = 1; func < PCI_FUNC_MAX; func++) {
        if (bus->devices[PCI_DEVFN(slot, func)]) {
            error_setg(errp, "PCI: %x.0 indicates single function, but %x.%x is already "
                       "populated.", slot, slot, func);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Capabilities */

/* First dword-aligned free run of @size bytes after the header, or 0. */
static uint8_t pci_find_space(PCIDevice *pdev, uint8_t size)
{
    int offset = PCI_CONFIG_HEADER_SIZE;

    for (int i = PCI_CONFIG_HEADER_SIZE; i < PCI_CONFIG_SPACE_SIZE; i++) {
        if (pdev->used[i]) {
            offset = ROUND_UP(i + 1, 4);
        } else if (i - offset + 1 == size) {
            return offset;
        }
    }
    return 0;
}

/*
 * The capability at @offset's predecessor link: the config byte that
 * points at the first capability @cap_id (*prev_p), and its offset.
 * Walks at most 48 links, so a looped list (written by a device model
 * from a real device's config) cannot hang us.
 */
static uint8_t pci_find_capability_list(PCIDevice *pdev, uint8_t cap_id, uint8_t *prev_p)
{
    uint8_t prev = PCI_CAPABILITY_LIST;
    uint8_t next;
    int budget = (PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE) / 4;

    if (!(pdev->config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    for (next = pdev->config[prev] & ~3; next && budget--; next = pdev->config[prev] & ~3) {
        if (next < PCI_CONFIG_HEADER_SIZE) {
            break;
        }
        if (pdev->config[next + PCI_CAP_LIST_ID] == cap_id) {
            if (prev_p) {
                *prev_p = prev;
            }
            return next;
        }
        prev = next + PCI_CAP_LIST_NEXT;
    }
    return 0;
}

uint8_t pci_find_capability(PCIDevice *pdev, uint8_t cap_id)
{
    return pci_find_capability_list(pdev, cap_id, NULL);
}

int pci_add_capability(PCIDevice *pdev, uint8_t cap_id, uint8_t offset, uint8_t size,
                       Error **errp)
{
    uint8_t *config;

    if (size < 2) {
        error_setg(errp, "%s: capability 0x%x of %u bytes is too small", pdev->name, cap_id,
                   size);
        return -1;
    }
    if (!offset) {
        offset = pci_find_space(pdev, size);
        if (!offset) {
            error_setg(errp, "%s: no room for PCI capability 0x%x (%u bytes)", pdev->name,
                       cap_id, size);
            return -1;
        }
    } else {
        if (offset < PCI_CONFIG_HEADER_SIZE || offset + size > PCI_CONFIG_SPACE_SIZE) {
            error_setg(errp, "%s: PCI capability 0x%x at offset 0x%x (%u bytes) is outside "
                       "the capability area", pdev->name, cap_id, offset, size);
            return -1;
        }
        for (int i = offset; i < offset + size; i++) {
            if (pdev->used[i]) {
                error_setg(errp, "%02x:%02x.%x Attempt to add PCI capability %x at offset "
                           "%x overlaps existing capability %x", pci_bus_num(pci_get_bus(pdev)),
                           PCI_SLOT(pdev->devfn), PCI_FUNC(pdev->devfn), cap_id, offset,
                           pdev->used[i]);
                return -1;
            }
        }
    }

    config = pdev->config + offset;
    config[PCI_CAP_LIST_ID] = cap_id;
    config[PCI_CAP_LIST_NEXT] = pdev->config[PCI_CAPABILITY_LIST];
    pdev->config[PCI_CAPABILITY_LIST] = offset;
    pdev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    memset(pdev->used + offset, cap_id ? cap_id : 0xff, size);
    /* Read-only until the capability's owner opens what the guest may write. */
    memset(pdev->wmask + offset, 0, size);
    memset(pdev->w1cmask + offset, 0, size);
    memset(pdev->cmask + offset, 0xff, size);
    trace_pci_add_capability(pdev->name, cap_id, offset, size);
    return offset;
}

void pci_del_capability(PCIDevice *pdev, uint8_t cap_id, uint8_t size)
{
    uint8_t prev = 0;
    uint8_t offset = pci_find_capability_list(pdev, cap_id, &prev);

    if (!offset) {
        return;
    }
    pdev->config[prev] = pdev->config[offset + PCI_CAP_LIST_NEXT];
    size = MIN(size, pdev->config_size - offset);
    memset(pdev->wmask + offset, 0xff, size);
    memset(pdev->w1cmask + offset, 0, size);
    memset(pdev->cmask + offset, 0, size);
    memset(pdev->used + offset, 0, size);
    if (!pdev->config[PCI_CAPABILITY_LIST]) {
        pdev->config[PCI_STATUS] &= ~PCI_STATUS_CAP_LIST;
    }
}

/* ------------------------------------------------------------------------ */
/* BARs */

void pci_register_bar(PCIDevice *pci_dev, int region_num, uint8_t type, MemoryRegion *memory)
{
    PCIBus *bus = pci_get_bus(pci_dev);
    pcibus_t size = memory_region_size(memory);
    PCIIORegion *r;
    uint64_t wmask;
    int addr;

    assert(region_num >= 0 && region_num < PCI_NUM_REGIONS);
    assert(is_power_of_2(size));
    if (region_num == PCI_ROM_SLOT) {
        assert(!(type & PCI_BASE_ADDRESS_SPACE_IO) && size >= 2048);
    } else if (type & PCI_BASE_ADDRESS_SPACE_IO) {
        assert(size >= 4 && size <= 256 * KiB);
    } else {
        assert(size >= 16);
        if (type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
            assert(region_num < 5);
        } else {
            assert(size <= 2 * GiB);
        }
    }

    r = &pci_dev->io_regions[region_num];
    r->addr = PCI_BAR_UNMAPPED;
    r->size = size;
    r->type = type;
    r->memory = memory;
    r->address_space = type & PCI_BASE_ADDRESS_SPACE_IO ? bus->address_space_io
                                                        : bus->address_space_mem;

    wmask = ~(size - 1);
    if (region_num == PCI_ROM_SLOT) {
        wmask |= PCI_ROM_ADDRESS_ENABLE;
    }
    addr = pci_bar(pci_dev, region_num);
    pci_set_long(pci_dev->config + addr, type);
    if (!(type & PCI_BASE_ADDRESS_SPACE_IO) && (type & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
        pci_set_quad(pci_dev->wmask + addr, wmask);
        pci_set_quad(pci_dev->cmask + addr, ~0ULL);
    } else {
        pci_set_long(pci_dev->wmask + addr, wmask & 0xffffffff);
        pci_set_long(pci_dev->cmask + addr, 0xffffffff);
    }
    trace_pci_register_bar(pci_dev->name, region_num, type, size);
}

pcibus_t pci_get_bar_addr(PCIDevice *pci_dev, int region_num)
{
    return pci_dev->io_regions[region_num].addr;
}

/*
 * Where region @reg should be mapped given the config space, or
 * PCI_BAR_UNMAPPED: decoding off, the ROM not enabled, address 0 (q35 does
 * not allow it), a range that wraps, a 32-bit BAR reaching 4 GiB, or one
 * that does not fit in its bus space.
 */
static pcibus_t pci_bar_address(PCIDevice *d, int reg, uint8_t type, pcibus_t size,
                                MemoryRegion *space)
{
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    int bar = pci_bar(d, reg);
    pcibus_t new_addr, last_addr;

    if (type & PCI_BASE_ADDRESS_SPACE_IO) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return PCI_BAR_UNMAPPED;
        }
        new_addr = pci_get_long(d->config + bar) & ~(size - 1);
        last_addr = new_addr + size - 1;
        if (last_addr <= new_addr || last_addr >= UINT32_MAX || new_addr == 0) {
            return PCI_BAR_UNMAPPED;
        }
    } else {
        if (!(cmd & PCI_COMMAND_MEMORY)) {
            return PCI_BAR_UNMAPPED;
        }
        if (type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
            new_addr = pci_get_quad(d->config + bar);
        } else {
            new_addr = pci_get_long(d->config + bar);
        }
        if (reg == PCI_ROM_SLOT && !(new_addr & PCI_ROM_ADDRESS_ENABLE)) {
            return PCI_BAR_UNMAPPED;
        }
        new_addr &= ~(size - 1);
        last_addr = new_addr + size - 1;
        if (last_addr <= new_addr || last_addr == PCI_BAR_UNMAPPED || new_addr == 0) {
            return PCI_BAR_UNMAPPED;
        }
        if (!(type & PCI_BASE_ADDRESS_MEM_TYPE_64) && last_addr >= UINT32_MAX) {
            return PCI_BAR_UNMAPPED;
        }
    }
    /* The bus space is smaller than 2^64 (I/O: 64 KiB): it must fit. */
    if (memory_region_size(space) != UINT64_MAX && last_addr >= memory_region_size(space)) {
        return PCI_BAR_UNMAPPED;
    }
    return new_addr;
}

static void pci_update_mappings(PCIDevice *d)
{
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &d->io_regions[i];
        pcibus_t new_addr;

        if (!r->size) {
            continue;
        }
        new_addr = pci_bar_address(d, i, r->type, r->size, r->address_space);
        if (new_addr == r->addr) {
            continue;
        }
        if (r->addr != PCI_BAR_UNMAPPED) {
            trace_pci_update_mappings_del(d->name, i, r->addr, r->size);
            memory_region_del_subregion(r->address_space, r->memory);
        }
        r->addr = new_addr;
        if (r->addr != PCI_BAR_UNMAPPED) {
            Error *err = NULL;

            trace_pci_update_mappings_add(d->name, i, r->addr, r->size);
            if (!memory_region_add_subregion_overlap_checked(r->address_space, r->addr,
                                                             r->memory, 1, &err)) {
                /* Cannot happen for a checked address; never fatal for a guest. */
                trace_pci_update_mappings_failed(d->name, i, error_get_pretty(err));
                error_free(err);
                r->addr = PCI_BAR_UNMAPPED;
            }
        }
    }
}

static void pci_unmap_regions(PCIDevice *d)
{
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &d->io_regions[i];

        if (r->size && r->addr != PCI_BAR_UNMAPPED) {
            memory_region_del_subregion(r->address_space, r->memory);
            r->addr = PCI_BAR_UNMAPPED;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* INTx */

static int pci_irq_state(PCIDevice *d, int pin)
{
    return (d->irq_state >> pin) & 1;
}

static bool pci_irq_disabled(PCIDevice *d)
{
    return pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
}

static void pci_change_irq_level(PCIDevice *d, int pin, int change)
{
    PCIBus *bus = pci_get_bus(d);
    int line;

    if (!bus || !bus->map_irq || !bus->set_irq) {
        return;
    }
    line = bus->map_irq(d, pin);
    assert(line >= 0 && line < bus->nirq);
    bus->irq_count[line] += change;
    assert(bus->irq_count[line] >= 0);
    trace_pci_route_irq(d->name, pin, line, bus->irq_count[line]);
    bus->set_irq(bus->irq_opaque, line, bus->irq_count[line] != 0);
}

static void pci_update_irq_status(PCIDevice *d)
{
    if (d->irq_state) {
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    } else {
        d->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    }
}

static void pci_irq_handler(PCIDevice *d, int pin, int level)
{
    int change;

    assert(pin >= 0 && pin < PCI_NUM_PINS);
    level = !!level;
    change = level - pci_irq_state(d, pin);
    if (!change) {
        return;
    }
    d->irq_state = (d->irq_state & ~(1 << pin)) | (level << pin);
    pci_update_irq_status(d);
    if (pci_irq_disabled(d)) {
        return;
    }
    pci_change_irq_level(d, pin, change);
}

void pci_set_irq(PCIDevice *pci_dev, int level)
{
    int pin = pci_intx(pci_dev);

    if (pin < 0 || pin >= PCI_NUM_PINS) {
        return;     /* the device has no INTx pin */
    }
    pci_irq_handler(pci_dev, pin, level);
}

void pci_device_deassert_intx(PCIDevice *dev)
{
    for (int pin = 0; pin < PCI_NUM_PINS; pin++) {
        pci_irq_handler(dev, pin, 0);
    }
}

/* The INTx disable bit changed from @was_disabled: take the levels off or put them back. */
static void pci_update_irq_disabled(PCIDevice *d, bool was_disabled)
{
    bool disabled = pci_irq_disabled(d);

    if (disabled == was_disabled) {
        return;
    }
    for (int pin = 0; pin < PCI_NUM_PINS; pin++) {
        int state = pci_irq_state(d, pin);

        if (state) {
            pci_change_irq_level(d, pin, disabled ? -state : state);
        }
    }
}

PCIINTxRoute pci_device_route_intx_to_irq(PCIDevice *dev, int pin)
{
    PCIBus *bus = pci_get_bus(dev);

    if (!bus || !bus->map_irq || !bus->route_intx_to_irq) {
        return (PCIINTxRoute) { PCI_INTX_DISABLED, -1 };
    }
    return bus->route_intx_to_irq(bus->irq_opaque, bus->map_irq(dev, pin));
}

bool pci_intx_route_changed(PCIINTxRoute *old, PCIINTxRoute *new)
{
    return old->mode != new->mode || old->irq != new->irq;
}

void pci_device_set_intx_routing_notifier(PCIDevice *dev, PCIINTxRoutingNotifier notifier)
{
    dev->intx_routing_notifier = notifier;
}

/* ------------------------------------------------------------------------ */
/* Config accesses */

uint32_t pci_default_read_config(PCIDevice *d, uint32_t addr, int len)
{
    uint32_t val = 0;

    assert(len >= 1 && len <= 4 && addr + len <= d->config_size);
    memcpy(&val, d->config + addr, len);
    return GUINT32_FROM_LE(val);
}

void pci_default_write_config(PCIDevice *d, uint32_t addr, uint32_t val_in, int len)
{
    bool was_irq_disabled = pci_irq_disabled(d);
    uint32_t val = val_in;

    assert(len >= 1 && len <= 4 && addr + len <= d->config_size);
    for (int i = 0; i < len; val >>= 8, i++) {
        uint8_t wmask = d->wmask[addr + i];
        uint8_t w1cmask = d->w1cmask[addr + i];

        assert(!(wmask & w1cmask));
        d->config[addr + i] = (d->config[addr + i] & ~wmask) | (val & wmask);
        d->config[addr + i] &= ~(val & w1cmask);
    }
    if (ranges_overlap(addr, len, PCI_BASE_ADDRESS_0, 24) ||
        ranges_overlap(addr, len, PCI_ROM_ADDRESS, 4) ||
        range_covers_byte(addr, len, PCI_COMMAND)) {
        pci_update_mappings(d);
    }
    if (range_covers_byte(addr, len, PCI_COMMAND)) {
        pci_update_irq_disabled(d, was_irq_disabled);
        if (d->bus_master_ready) {
            memory_region_set_enabled(&d->bus_master_enable_region,
                                      pci_get_word(d->config + PCI_COMMAND) &
                                      PCI_COMMAND_MASTER);
        }
    }
    msi_write_config(d, addr, val_in, len);
    msix_write_config(d, addr, val_in, len);
}

uint32_t pci_host_config_read_common(PCIDevice *d, uint32_t addr, uint32_t limit, int len)
{
    uint32_t val;

    limit = MIN(limit, d->config_size);
    if ((len != 1 && len != 2 && len != 4) || addr >= limit) {
        return ~0u;
    }
    len = MIN((uint32_t)len, limit - addr);
    val = d->config_read(d, addr, len);
    trace_pci_cfg_read(d->name, addr, len, val);
    return val;
}

void pci_host_config_write_common(PCIDevice *d, uint32_t addr, uint32_t limit, uint32_t val,
                                  int len)
{
    limit = MIN(limit, d->config_size);
    if ((len != 1 && len != 2 && len != 4) || addr >= limit) {
        return;
    }
    len = MIN((uint32_t)len, limit - addr);
    trace_pci_cfg_write(d->name, addr, len, val);
    d->config_write(d, addr, val, len);
}

uint32_t pci_dev_config_read(PCIDevice *d, uint32_t addr, int len)
{
    return pci_host_config_read_common(d, addr, d->config_size, len);
}

void pci_dev_config_write(PCIDevice *d, uint32_t addr, uint32_t val, int len)
{
    pci_host_config_write_common(d, addr, d->config_size, val, len);
}

/* ------------------------------------------------------------------------ */
/* Bus mastering */

AddressSpace *pci_device_iommu_address_space(PCIDevice *dev)
{
    PCIBus *bus = pci_get_bus(dev);

    if (bus && bus->iommu_fn) {
        return bus->iommu_fn(bus, bus->iommu_opaque, dev->devfn);
    }
    return &address_space_memory;
}

uint16_t pci_requester_id(PCIDevice *dev)
{
    return PCI_BUILD_BDF(pci_bus_num(pci_get_bus(dev)), dev->devfn);
}

MemTxResult pci_dma_rw(PCIDevice *dev, pcibus_t addr, void *buf, pcibus_t len, bool is_write)
{
    MemTxAttrs attrs = { .requester_id = pci_requester_id(dev) };
    MemTxResult res;

    if (dev->dma_engaged) {
        trace_pci_dma_reentrancy(dev->name, addr, len);
        return MEMTX_ACCESS_ERROR;
    }
    dev->dma_engaged = true;
    res = address_space_rw(&dev->bus_master_as, addr, attrs, buf, len, is_write);
    dev->dma_engaged = false;
    return res;
}

void pci_send_msi_message(PCIDevice *dev, MSIMessage msg)
{
    MemTxAttrs attrs = { .requester_id = pci_requester_id(dev) };
    MemTxResult res;

    if (dev->dma_engaged) {
        trace_pci_dma_reentrancy(dev->name, msg.address, 4);
        return;
    }
    dev->dma_engaged = true;
    address_space_stl_le(&dev->bus_master_as, msg.address, msg.data, attrs, &res);
    dev->dma_engaged = false;
    trace_pci_msi_message(dev->name, msg.data, msg.address, res);
}

static void pci_init_bus_master(PCIDevice *d)
{
    AddressSpace *dma_as = pci_device_iommu_address_space(d);
    g_autofree char *as_name = g_strdup_printf("%s bus master", d->name);

    memory_region_init(&d->bus_master_container_region, d, "bus master container",
                       UINT64_MAX);
    memory_region_init_alias(&d->bus_master_enable_region, d, "bus master", dma_as->root, 0,
                             UINT64_MAX);
    memory_region_set_enabled(&d->bus_master_enable_region, false);
    memory_region_add_subregion(&d->bus_master_container_region, 0,
                                &d->bus_master_enable_region);
    address_space_init(&d->bus_master_as, &d->bus_master_container_region, as_name);
    d->bus_master_ready = true;
}

static void pci_destroy_bus_master(PCIDevice *d)
{
    if (!d->bus_master_ready) {
        return;
    }
    d->bus_master_ready = false;
    address_space_destroy(&d->bus_master_as);
    memory_region_unparent(&d->bus_master_enable_region);
    memory_region_unparent(&d->bus_master_container_region);
}

/* ------------------------------------------------------------------------ */
/* Expansion ROM from a file */

static bool pci_add_option_rom(PCIDevice *d, Error **errp)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) gerr = NULL;
    gsize len;
    uint64_t size;

    if (!d->romfile || !*d->romfile) {
        return true;
    }
    if (!g_file_get_contents(d->romfile, &contents, &len, &gerr)) {
        error_setg(errp, "failed to find romfile \"%s\": %s", d->romfile, gerr->message);
        return false;
    }
    if (len == 0) {
        error_setg(errp, "romfile \"%s\" is empty", d->romfile);
        return false;
    }
    if (len > 16 * MiB) {
        error_setg(errp, "romfile \"%s\" is too large (%zu bytes)", d->romfile, (size_t)len);
        return false;
    }
    size = MAX(pow2ceil(len), 2048);
    {
        /* ROM blocks are named for migration: d->name is unique per slot. */
        g_autofree char *name = g_strdup_printf("%s.rom", d->name);

        if (!memory_region_init_rom(&d->rom, d, name, size, errp)) {
            return false;
        }
    }
    memcpy(memory_region_get_ram_ptr(&d->rom), contents, len);
    d->has_rom = true;
    if (d->rom_bar) {
        pci_register_bar(d, PCI_ROM_SLOT, 0, &d->rom);
    }
    return true;
}

static void pci_del_option_rom(PCIDevice *d)
{
    if (d->has_rom) {
        d->has_rom = false;
        memory_region_unparent(&d->rom);
    }
}

/* ------------------------------------------------------------------------ */
/* Realize, unrealize, reset */

static void pci_do_device_reset(PCIDevice *dev)
{
    pci_device_deassert_intx(dev);
    pci_word_test_and_clear_mask(dev->config + PCI_COMMAND,
                                 pci_get_word(dev->wmask + PCI_COMMAND) |
                                 pci_get_word(dev->w1cmask + PCI_COMMAND));
    pci_word_test_and_clear_mask(dev->config + PCI_STATUS,
                                 pci_get_word(dev->wmask + PCI_STATUS) |
                                 pci_get_word(dev->w1cmask + PCI_STATUS));
    dev->config[PCI_INTERRUPT_LINE] &= ~(dev->wmask[PCI_INTERRUPT_LINE] |
                                         dev->w1cmask[PCI_INTERRUPT_LINE]);
    dev->config[PCI_CACHE_LINE_SIZE] = 0;
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &dev->io_regions[i];

        if (!r->size) {
            continue;
        }
        if (!(r->type & PCI_BASE_ADDRESS_SPACE_IO) && (r->type & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
            pci_set_quad(dev->config + pci_bar(dev, i), r->type);
        } else {
            pci_set_long(dev->config + pci_bar(dev, i), r->type);
        }
    }
    pci_update_mappings(dev);
    if (dev->bus_master_ready) {
        memory_region_set_enabled(&dev->bus_master_enable_region, false);
    }
    msi_reset(dev);
    msix_reset(dev);
}

void pci_device_reset(PCIDevice *dev)
{
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(dev);

    if (!dev->qdev.realized) {
        return;
    }
    if (pc->reset) {
        pc->reset(dev);
    }
    pci_do_device_reset(dev);
}

static void pci_qdev_reset(DeviceState *qdev)
{
    pci_device_reset(PCI_DEVICE(qdev));
}

/* Undo what realize did before the device's own realize (in reverse). */
static void pci_unregister_device(PCIDevice *d)
{
    PCIBus *bus = pci_get_bus(d);

    if (bus && bus->devices[d->devfn] == d) {
        bus->devices[d->devfn] = NULL;
    }
    pci_destroy_bus_master(d);
    pci_config_free(d);
    memset(d->io_regions, 0, sizeof(d->io_regions));
}

static bool pci_qdev_realize(DeviceState *qdev, Error **errp)
{
    PCIDevice *d = PCI_DEVICE(qdev);
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(d);
    PCIBus *bus = pci_get_bus(d);
    const char *typename = object_get_typename(OBJECT(d));

    if (!bus) {
        error_setg(errp, "PCI device %s needs a PCI bus", typename);
        return false;
    }
    if (d->devfn < 0) {
        d->devfn = pci_bus_find_free_devfn(bus);
        if (d->devfn < 0) {
            error_setg(errp, "PCI: no slot/function available for %s, all in use or reserved",
                       typename);
            return false;
        }
    } else if (d->devfn >= PCI_DEVFN_MAX || bus->devices[d->devfn]) {
        /* check_address ran; this only guards against direct callers. */
        error_setg(errp, "PCI: slot %d function %d not available for %s",
                   PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), typename);
        return false;
    }
    g_snprintf(d->name, sizeof(d->name), "%02x.%x/%s", PCI_SLOT(d->devfn), PCI_FUNC(d->devfn),
               typename);
    if (!d->romfile && pc->romfile) {
        d->romfile = g_strdup(pc->romfile);
    }

    d->config_size = pc->is_express && pci_bus_is_express(bus) ? PCIE_CONFIG_SPACE_SIZE
                                                               : PCI_CONFIG_SPACE_SIZE;
    pci_config_alloc(d);
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        d->io_regions[i].addr = PCI_BAR_UNMAPPED;
    }
    pci_config_set_vendor_id(d->config, pc->vendor_id);
    pci_config_set_device_id(d->config, pc->device_id);
    pci_config_set_revision(d->config, pc->revision);
    pci_config_set_class(d->config, pc->class_id);
    if (pc->subsystem_vendor_id || pc->subsystem_id) {
        pci_set_word(d->config + PCI_SUBSYSTEM_VENDOR_ID, pc->subsystem_vendor_id);
        pci_set_word(d->config + PCI_SUBSYSTEM_ID, pc->subsystem_id);
    } else {
        pci_set_word(d->config + PCI_SUBSYSTEM_VENDOR_ID, PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
        pci_set_word(d->config + PCI_SUBSYSTEM_ID, PCI_SUBDEVICE_ID_QEMU);
    }
    pci_init_cmask(d);
    pci_init_wmask(d);
    pci_init_w1cmask(d);
    if (!pci_init_multifunction(bus, d, errp)) {
        pci_config_free(d);
        return false;
    }
    d->irq_state = 0;
    d->config_read = pc->config_read ? pc->config_read : pci_default_read_config;
    d->config_write = pc->config_write ? pc->config_write : pci_default_write_config;
    pci_init_bus_master(d);
    bus->devices[d->devfn] = d;

    if (pc->realize && !pc->realize(d, errp)) {
        msix_uninit(d, d->msix_table_bar, d->msix_pba_bar);
        msi_uninit(d);
        pci_unregister_device(d);
        return false;
    }
    if (!pci_add_option_rom(d, errp)) {
        if (pc->exit) {
            pc->exit(d);
        }
        msix_uninit(d, d->msix_table_bar, d->msix_pba_bar);
        msi_uninit(d);
        pci_unregister_device(d);
        return false;
    }
    trace_pci_realize(d->name, pc->vendor_id, pc->device_id);
    return true;
}

static void pci_qdev_unrealize(DeviceState *qdev)
{
    PCIDevice *d = PCI_DEVICE(qdev);
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(d);

    trace_pci_unrealize(d->name);
    pci_unmap_regions(d);
    pci_device_deassert_intx(d);
    /* The overlays go while the device's BAR regions still exist. */
    msix_uninit(d, d->msix_table_bar, d->msix_pba_bar);
    msi_uninit(d);
    if (pc->exit) {
        pc->exit(d);
    }
    pci_del_option_rom(d);
    pci_unregister_device(d);
}

PCIDevice *pci_create_simple(PCIBus *bus, int devfn, const char *typename, Error **errp)
{
    DeviceState *dev = qdev_try_new(typename);

    if (!dev || !object_dynamic_cast(OBJECT(dev), TYPE_PCI_DEVICE)) {
        error_setg(errp, "'%s' is not a PCI device type", typename);
        object_unref(dev);
        return NULL;
    }
    PCI_DEVICE(dev)->devfn = devfn;
    if (!qdev_realize_and_unref(dev, &bus->qbus, errp)) {
        return NULL;
    }
    return PCI_DEVICE(dev);
}

static void pci_device_instance_finalize(Object *obj)
{
    PCIDevice *d = PCI_DEVICE(obj);

    /* Realize failures and unrealize free these; this covers the rest. */
    pci_config_free(d);
}

static const Property pci_props[] = {
    DEFINE_PROP_PCI_DEVFN("addr", PCIDevice, devfn, -1),
    DEFINE_PROP_STRING("romfile", PCIDevice, romfile),
    DEFINE_PROP_UINT32("rombar", PCIDevice, rom_bar, 1),
    DEFINE_PROP_BOOL("multifunction", PCIDevice, multifunction, false),
};

static void pci_device_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = pci_qdev_realize;
    dc->unrealize = pci_qdev_unrealize;
    dc->reset = pci_qdev_reset;
    dc->bus_type = TYPE_PCI_BUS;
    device_class_set_props(dc, pci_props);
}

static const TypeInfo pci_types[] = {
    {
        .name = TYPE_PCI_BUS,
        .parent = TYPE_BUS,
        .instance_size = sizeof(PCIBus),
        .instance_finalize = pci_bus_instance_finalize,
        .class_init = pci_bus_class_init,
    },
    {
        .name = TYPE_PCIE_BUS,
        .parent = TYPE_PCI_BUS,
    },
    {
        .name = TYPE_PCI_DEVICE,
        .parent = TYPE_DEVICE,
        .abstract = true,
        .instance_size = sizeof(PCIDevice),
        .instance_finalize = pci_device_instance_finalize,
        .class_size = sizeof(PCIDeviceClass),
        .class_init = pci_device_class_init,
    },
};

static void pci_register_types(void)
{
    type_register_static_array(pci_types, ARRAY_SIZE(pci_types));
}

type_init(pci_register_types)
