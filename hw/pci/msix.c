/*
 * MSI-X capability emulation.
 *
 * Capability (12 bytes): message control at +2 (table size - 1 in bits
 * 10:0, function mask bit 14, enable bit 15; only bits 14 and 15 are
 * guest-writable), table offset/BIR at +4, PBA offset/BIR at +8.  Table
 * entries are 16 bytes: address low, address high, data, vector control
 * (bit 0: masked).  Entries start masked, as after reset.
 *
 * Delivery rules (QEMU's): a vector is deliverable when MSI-X is enabled,
 * the function is not masked and the entry's mask bit is clear.  Signalling
 * a vector that is not deliverable sets its pending bit; the transition
 * to deliverable (entry unmasked, function unmasked) sends it and clears
 * the bit.  Disabling MSI-X leaves pending bits alone and tells the vector
 * notifiers nothing (vfio-pci handles disable itself, as in QEMU).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/range.h"
#include "hw/pci/msix.h"
#include "trace/trace-hw_pci.h"

#define MSIX_CAP_LENGTH         12
/* The byte of message control holding the enable and function-mask bits. */
#define MSIX_CONTROL_OFFSET     (PCI_MSIX_FLAGS + 1)
#define MSIX_ENABLE_MASK        (PCI_MSIX_FLAGS_ENABLE >> 8)
#define MSIX_MASKALL_MASK       (PCI_MSIX_FLAGS_MASKALL >> 8)

static unsigned msix_pba_size(unsigned nentries)
{
    return QEMU_ALIGN_UP(nentries, 64) / 8;
}

bool msix_present(const PCIDevice *dev)
{
    return dev->msix_cap != 0;
}

bool msix_enabled(const PCIDevice *dev)
{
    return msix_present(dev) &&
           (dev->config[dev->msix_cap + MSIX_CONTROL_OFFSET] & MSIX_ENABLE_MASK);
}

static bool msix_function_mask_bit(const PCIDevice *dev)
{
    return dev->config[dev->msix_cap + MSIX_CONTROL_OFFSET] & MSIX_MASKALL_MASK;
}

unsigned int msix_nr_vectors_allocated(const PCIDevice *dev)
{
    return dev->msix_entries_nr;
}

static uint8_t *msix_entry(PCIDevice *dev, unsigned int vector)
{
    return dev->msix_table + vector * PCI_MSIX_ENTRY_SIZE;
}

static bool msix_vector_masked(const PCIDevice *dev, unsigned int vector, bool fmask)
{
    const uint8_t *ctrl = dev->msix_table + vector * PCI_MSIX_ENTRY_SIZE +
                          PCI_MSIX_ENTRY_VECTOR_CTRL;

    return fmask || (pci_get_long(ctrl) & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool msix_is_masked(const PCIDevice *dev, unsigned int vector)
{
    if (vector >= (unsigned int)dev->msix_entries_nr) {
        return true;
    }
    return msix_vector_masked(dev, vector, dev->msix_function_masked);
}

bool msix_is_pending(const PCIDevice *dev, unsigned int vector)
{
    if (vector >= (unsigned int)dev->msix_entries_nr) {
        return false;
    }
    return dev->msix_pba[vector / 8] & (1u << (vector % 8));
}

void msix_set_pending(PCIDevice *dev, unsigned int vector)
{
    if (vector < (unsigned int)dev->msix_entries_nr) {
        dev->msix_pba[vector / 8] |= 1u << (vector % 8);
    }
}

void msix_clear_pending(PCIDevice *dev, unsigned int vector)
{
    if (vector < (unsigned int)dev->msix_entries_nr) {
        dev->msix_pba[vector / 8] &= ~(1u << (vector % 8));
    }
}

MSIMessage msix_get_message(PCIDevice *dev, unsigned int vector)
{
    uint8_t *e = msix_entry(dev, vector);
    MSIMessage msg = {
        .address = pci_get_quad(e + PCI_MSIX_ENTRY_LOWER_ADDR),
        .data = pci_get_long(e + PCI_MSIX_ENTRY_DATA),
    };

    return msg;
}

static void msix_fire_vector_notifier(PCIDevice *dev, unsigned int vector, bool is_masked)
{
    if (!dev->msix_vector_use_notifier) {
        return;
    }
    if (is_masked) {
        dev->msix_vector_release_notifier(dev, vector);
    } else {
        int ret = dev->msix_vector_use_notifier(dev, vector, msix_get_message(dev, vector));

        if (ret < 0) {
            trace_msix_vector_use_failed(dev->name, vector, ret);
        }
    }
}

/* @vector's deliverability may have changed from @was_masked. */
static void msix_handle_mask_update(PCIDevice *dev, unsigned int vector, bool was_masked)
{
    bool is_masked = msix_is_masked(dev, vector);

    if (is_masked == was_masked) {
        return;
    }
    msix_fire_vector_notifier(dev, vector, is_masked);
    if (!is_masked && msix_is_pending(dev, vector)) {
        msix_clear_pending(dev, vector);
        msix_notify(dev, vector);
    }
}

static void msix_update_function_masked(PCIDevice *dev)
{
    dev->msix_function_masked = !msix_enabled(dev) || msix_function_mask_bit(dev);
}

void msix_notify(PCIDevice *dev, unsigned int vector)
{
    if (!msix_present(dev) || vector >= (unsigned int)dev->msix_entries_nr) {
        return;
    }
    if (!dev->msix_entry_used[vector]) {
        trace_msix_notify_unused(dev->name, vector);
        return;
    }
    if (msix_is_masked(dev, vector)) {
        msix_set_pending(dev, vector);
        trace_msix_notify_pending(dev->name, vector);
        return;
    }
    pci_send_msi_message(dev, msix_get_message(dev, vector));
}

/* ------------------------------------------------------------------------ */
/* The table and PBA as the guest sees them */

static uint64_t msix_table_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    PCIDevice *dev = opaque;

    /* impl.max_access_size 4 and valid alignment: a dword inside the table. */
    return pci_get_long(dev->msix_table + (addr & ~3));
}

static void msix_table_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    PCIDevice *dev = opaque;
    unsigned int vector = addr / PCI_MSIX_ENTRY_SIZE;
    bool was_masked = msix_is_masked(dev, vector);

    pci_set_long(dev->msix_table + (addr & ~3), val);
    trace_msix_table_write(dev->name, vector, addr % PCI_MSIX_ENTRY_SIZE, val);
    msix_handle_mask_update(dev, vector, was_masked);
}

static const MemoryRegionOps msix_table_mmio_ops = {
    .read = msix_table_mmio_read,
    .write = msix_table_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

static uint64_t msix_pba_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    PCIDevice *dev = opaque;

    if (dev->msix_vector_poll_notifier) {
        unsigned int start = addr * 8;
        unsigned int end = MIN((addr + size) * 8, (hwaddr)dev->msix_entries_nr);

        if (start < end) {
            dev->msix_vector_poll_notifier(dev, start, end);
        }
    }
    return pci_get_long(dev->msix_pba + (addr & ~3));
}

static void msix_pba_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    /* The PBA is read-only. */
}

static const MemoryRegionOps msix_pba_mmio_ops = {
    .read = msix_pba_mmio_read,
    .write = msix_pba_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 8 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

/* Mask every vector (notifying what stops being deliverable). */
static void msix_mask_all(PCIDevice *dev)
{
    for (int vector = 0; vector < dev->msix_entries_nr; vector++) {
        uint8_t *ctrl = msix_entry(dev, vector) + PCI_MSIX_ENTRY_VECTOR_CTRL;
        bool was_masked = msix_is_masked(dev, vector);

        pci_set_long(ctrl, pci_get_long(ctrl) | PCI_MSIX_ENTRY_CTRL_MASKBIT);
        msix_handle_mask_update(dev, vector, was_masked);
    }
}

/* ------------------------------------------------------------------------ */
/* Set-up */

bool msix_init(PCIDevice *dev, unsigned short nentries, MemoryRegion *table_bar,
               uint8_t table_bar_nr, unsigned table_offset, MemoryRegion *pba_bar,
               uint8_t pba_bar_nr, unsigned pba_offset, uint8_t cap_pos, Error **errp)
{
    unsigned table_size = nentries * PCI_MSIX_ENTRY_SIZE;
    unsigned pba_size = msix_pba_size(nentries);
    uint8_t *config;
    int cap;

    if (nentries < 1 || nentries > PCI_MSIX_ENTRIES_MAX) {
        error_setg(errp, "%s: MSI-X needs 1..%d vectors, not %u", dev->name,
                   PCI_MSIX_ENTRIES_MAX, nentries);
        return false;
    }
    if (table_bar_nr > 5 || pba_bar_nr > 5) {
        error_setg(errp, "%s: MSI-X BAR numbers must be 0..5", dev->name);
        return false;
    }
    if ((table_offset | pba_offset) & PCI_MSIX_TABLE_BIR) {
        error_setg(errp, "%s: MSI-X table and PBA offsets must be 8-byte aligned", dev->name);
        return false;
    }
    if ((uint64_t)table_offset + table_size > memory_region_size(table_bar) ||
        (uint64_t)pba_offset + pba_size > memory_region_size(pba_bar)) {
        error_setg(errp, "%s: MSI-X table or PBA does not fit in its BAR", dev->name);
        return false;
    }
    if (table_bar == pba_bar &&
        ranges_overlap(table_offset, table_size, pba_offset, pba_size)) {
        error_setg(errp, "%s: MSI-X table and PBA overlap", dev->name);
        return false;
    }
    cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, cap_pos, MSIX_CAP_LENGTH, errp);
    if (cap < 0) {
        return false;
    }
    dev->msix_cap = cap;
    dev->msix_entries_nr = nentries;
    dev->msix_function_masked = true;

    config = dev->config + cap;
    pci_set_word(config + PCI_MSIX_FLAGS, nentries - 1);
    pci_set_long(config + PCI_MSIX_TABLE, table_offset | table_bar_nr);
    pci_set_long(config + PCI_MSIX_PBA, pba_offset | pba_bar_nr);
    dev->wmask[cap + MSIX_CONTROL_OFFSET] |= MSIX_ENABLE_MASK | MSIX_MASKALL_MASK;

    dev->msix_table = g_malloc0(table_size);
    dev->msix_pba = g_malloc0(pba_size);
    dev->msix_entry_used = g_new0(unsigned int, nentries);
    msix_mask_all(dev);

    memory_region_init_io(&dev->msix_table_mmio, dev, &msix_table_mmio_ops, dev, "msix-table",
                          table_size);
    memory_region_add_subregion_overlap(table_bar, table_offset, &dev->msix_table_mmio, 1);
    memory_region_init_io(&dev->msix_pba_mmio, dev, &msix_pba_mmio_ops, dev, "msix-pba",
                          pba_size);
    memory_region_add_subregion_overlap(pba_bar, pba_offset, &dev->msix_pba_mmio, 1);
    dev->msix_table_bar = table_bar;
    dev->msix_pba_bar = pba_bar;
    trace_msix_init(dev->name, cap, nentries, table_bar_nr, table_offset, pba_bar_nr,
                    pba_offset);
    return true;
}

bool msix_init_exclusive_bar(PCIDevice *dev, unsigned short nentries, uint8_t bar_nr,
                             Error **errp)
{
    uint64_t bar_size = 4096;
    uint64_t pba_offset = bar_size / 2;
    g_autofree char *name = NULL;

    if (bar_nr > 4) {
        error_setg(errp, "%s: a 64-bit MSI-X BAR needs a BAR number of 0..4", dev->name);
        return false;
    }
    if ((uint64_t)nentries * PCI_MSIX_ENTRY_SIZE > pba_offset) {
        pba_offset = (uint64_t)nentries * PCI_MSIX_ENTRY_SIZE;
    }
    if (pba_offset + msix_pba_size(nentries) > bar_size) {
        bar_size = pba_offset + msix_pba_size(nentries);
    }
    bar_size = pow2ceil(bar_size);
    name = g_strdup_printf("%s-msix", dev->name);
    memory_region_init(&dev->msix_exclusive_bar, dev, name, bar_size);
    if (!msix_init(dev, nentries, &dev->msix_exclusive_bar, bar_nr, 0,
                   &dev->msix_exclusive_bar, bar_nr, pba_offset, 0, errp)) {
        memory_region_unparent(&dev->msix_exclusive_bar);
        return false;
    }
    dev->msix_has_exclusive_bar = true;
    pci_register_bar(dev, bar_nr, PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64,
                     &dev->msix_exclusive_bar);
    return true;
}

void msix_uninit(PCIDevice *dev, MemoryRegion *table_bar, MemoryRegion *pba_bar)
{
    if (!msix_present(dev)) {
        return;
    }
    msix_unset_vector_notifiers(dev);
    if (dev->config) {
        pci_del_capability(dev, PCI_CAP_ID_MSIX, MSIX_CAP_LENGTH);
    }
    dev->msix_cap = 0;
    memory_region_del_subregion(table_bar ? table_bar : dev->msix_table_bar,
                                &dev->msix_table_mmio);
    memory_region_del_subregion(pba_bar ? pba_bar : dev->msix_pba_bar, &dev->msix_pba_mmio);
    memory_region_unparent(&dev->msix_table_mmio);
    memory_region_unparent(&dev->msix_pba_mmio);
    dev->msix_table_bar = dev->msix_pba_bar = NULL;
    g_clear_pointer(&dev->msix_table, g_free);
    g_clear_pointer(&dev->msix_pba, g_free);
    g_clear_pointer(&dev->msix_entry_used, g_free);
    dev->msix_entries_nr = 0;

    if (dev->msix_has_exclusive_bar) {
        dev->msix_has_exclusive_bar = false;
        for (int i = 0; i < PCI_NUM_REGIONS; i++) {
            PCIIORegion *r = &dev->io_regions[i];

            if (r->memory == &dev->msix_exclusive_bar) {
                if (r->addr != PCI_BAR_UNMAPPED) {
                    memory_region_del_subregion(r->address_space, r->memory);
                }
                memset(r, 0, sizeof(*r));
                r->addr = PCI_BAR_UNMAPPED;
            }
        }
        memory_region_unparent(&dev->msix_exclusive_bar);
    }
}

void msix_uninit_exclusive_bar(PCIDevice *dev)
{
    msix_uninit(dev, NULL, NULL);
}

void msix_reset(PCIDevice *dev)
{
    if (!msix_present(dev)) {
        return;
    }
    /* Vectors deliverable until now stop being so. */
    for (int vector = 0; vector < dev->msix_entries_nr; vector++) {
        if (!msix_is_masked(dev, vector)) {
            msix_fire_vector_notifier(dev, vector, true);
        }
    }
    memset(dev->msix_pba, 0, msix_pba_size(dev->msix_entries_nr));
    dev->config[dev->msix_cap + MSIX_CONTROL_OFFSET] &=
        ~dev->wmask[dev->msix_cap + MSIX_CONTROL_OFFSET];
    memset(dev->msix_table, 0, dev->msix_entries_nr * PCI_MSIX_ENTRY_SIZE);
    msix_update_function_masked(dev);
    /* Everything is masked now: no vector changes deliverability here. */
    msix_mask_all(dev);
}

void msix_vector_use(PCIDevice *dev, unsigned int vector)
{
    if (vector < (unsigned int)dev->msix_entries_nr) {
        dev->msix_entry_used[vector]++;
    }
}

void msix_vector_unuse(PCIDevice *dev, unsigned int vector)
{
    if (vector >= (unsigned int)dev->msix_entries_nr || !dev->msix_entry_used[vector]) {
        return;
    }
    if (--dev->msix_entry_used[vector] == 0) {
        msix_clear_pending(dev, vector);
    }
}

void msix_vectors_use_all(PCIDevice *dev)
{
    for (int vector = 0; vector < dev->msix_entries_nr; vector++) {
        msix_vector_use(dev, vector);
    }
}

int msix_set_vector_notifiers(PCIDevice *dev, MSIVectorUseNotifier use,
                              MSIVectorReleaseNotifier release, MSIVectorPollNotifier poll)
{
    assert(use && release);
    dev->msix_vector_use_notifier = use;
    dev->msix_vector_release_notifier = release;
    dev->msix_vector_poll_notifier = poll;

    if (!msix_enabled(dev) || dev->msix_function_masked) {
        return 0;
    }
    for (int vector = 0; vector < dev->msix_entries_nr; vector++) {
        int ret;

        if (msix_is_masked(dev, vector)) {
            continue;
        }
        ret = use(dev, vector, msix_get_message(dev, vector));
        if (ret < 0) {
            while (--vector >= 0) {
                if (!msix_is_masked(dev, vector)) {
                    release(dev, vector);
                }
            }
            dev->msix_vector_use_notifier = NULL;
            dev->msix_vector_release_notifier = NULL;
            dev->msix_vector_poll_notifier = NULL;
            return ret;
        }
    }
    return 0;
}

void msix_unset_vector_notifiers(PCIDevice *dev)
{
    if (!dev->msix_vector_use_notifier) {
        return;
    }
    if (msix_enabled(dev) && !dev->msix_function_masked) {
        for (int vector = 0; vector < dev->msix_entries_nr; vector++) {
            if (!msix_is_masked(dev, vector)) {
                dev->msix_vector_release_notifier(dev, vector);
            }
        }
    }
    dev->msix_vector_use_notifier = NULL;
    dev->msix_vector_release_notifier = NULL;
    dev->msix_vector_poll_notifier = NULL;
}

void msix_write_config(PCIDevice *dev, uint32_t addr, uint32_t val, int len)
{
    unsigned int control = dev->msix_cap + MSIX_CONTROL_OFFSET;
    bool was_masked;

    if (!msix_present(dev) || !(addr <= control && control - addr < (unsigned)len)) {
        return;
    }
    was_masked = dev->msix_function_masked;
    msix_update_function_masked(dev);
    trace_msix_write_config(dev->name, msix_enabled(dev), dev->msix_function_masked);
    if (!msix_enabled(dev)) {
        return;
    }
    /* MSI-X and INTx are mutually exclusive. */
    pci_device_deassert_intx(dev);
    if (dev->msix_function_masked == was_masked) {
        return;
    }
    for (int vector = 0; vector < dev->msix_entries_nr; vector++) {
        msix_handle_mask_update(dev, vector, msix_vector_masked(dev, vector, was_masked));
    }
}
