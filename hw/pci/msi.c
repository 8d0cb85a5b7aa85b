/*
 * MSI capability emulation.
 *
 * Register layout (PCI 3.0 6.8.1): flags at +2, address at +4, then for a
 * 64-bit capability the upper address at +8 and data at +12, otherwise
 * data at +8; with per-vector masking the mask and pending dwords follow
 * the data (at +16/+20 or +12/+16).  The write masks (QEMU's): enable and
 * multiple-message-enable in flags, address bits 31:2, the upper address,
 * the 16-bit data, and one mask bit per offered vector.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/range.h"
#include "hw/pci/msi.h"
#include "trace/trace-hw_pci.h"

static uint16_t msi_flags(const PCIDevice *dev)
{
    return pci_get_word(dev->config + dev->msi_cap + PCI_MSI_FLAGS);
}

static bool msi_is_64bit(uint16_t flags)
{
    return flags & PCI_MSI_FLAGS_64BIT;
}

static bool msi_has_mask(uint16_t flags)
{
    return flags & PCI_MSI_FLAGS_MASKBIT;
}

/* Size of the capability for these flags. */
static uint8_t msi_cap_sizeof(uint16_t flags)
{
    switch (flags & (PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_64BIT)) {
    case PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_64BIT:
        return 0x18;
    case PCI_MSI_FLAGS_64BIT:
        return 0x0e;
    case PCI_MSI_FLAGS_MASKBIT:
        return 0x14;
    default:
        return 0x0a;
    }
}

static unsigned msi_data_off(const PCIDevice *dev, bool msi64)
{
    return dev->msi_cap + (msi64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned msi_mask_off(const PCIDevice *dev, bool msi64)
{
    return dev->msi_cap + (msi64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_off(const PCIDevice *dev, bool msi64)
{
    return dev->msi_cap + (msi64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

/* Vectors enabled by the guest (multiple message enable). */
static unsigned msi_nr_vectors(uint16_t flags)
{
    return 1u << ((flags & PCI_MSI_FLAGS_QSIZE) >> ctz32(PCI_MSI_FLAGS_QSIZE));
}

bool msi_present(const PCIDevice *dev)
{
    return dev->msi_cap != 0;
}

bool msi_enabled(const PCIDevice *dev)
{
    return msi_present(dev) && (msi_flags(dev) & PCI_MSI_FLAGS_ENABLE);
}

unsigned int msi_nr_vectors_allocated(const PCIDevice *dev)
{
    return msi_present(dev) ? msi_nr_vectors(msi_flags(dev)) : 0;
}

bool msi_init(PCIDevice *dev, uint8_t offset, unsigned int nr_vectors, bool msi64bit,
              bool per_vector_mask, Error **errp)
{
    uint16_t flags = 0;
    uint8_t cap_size;
    int config_offset;
    unsigned int log2_vectors;

    if (nr_vectors == 0 || nr_vectors > PCI_MSI_VECTORS_MAX || !is_power_of_2(nr_vectors)) {
        error_setg(errp, "%s: MSI needs 1..32 vectors, a power of two (not %u)", dev->name,
                   nr_vectors);
        return false;
    }
    log2_vectors = ctz32(nr_vectors);
    flags = log2_vectors << ctz32(PCI_MSI_FLAGS_QMASK);
    if (msi64bit) {
        flags |= PCI_MSI_FLAGS_64BIT;
    }
    if (per_vector_mask) {
        flags |= PCI_MSI_FLAGS_MASKBIT;
    }
    cap_size = msi_cap_sizeof(flags);
    config_offset = pci_add_capability(dev, PCI_CAP_ID_MSI, offset, cap_size, errp);
    if (config_offset < 0) {
        return false;
    }
    dev->msi_cap = config_offset;

    pci_set_word(dev->config + config_offset + PCI_MSI_FLAGS, flags);
    pci_set_word(dev->wmask + config_offset + PCI_MSI_FLAGS,
                 PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
    pci_set_long(dev->wmask + config_offset + PCI_MSI_ADDRESS_LO, 0xfffffffc);
    if (msi64bit) {
        pci_set_long(dev->wmask + config_offset + PCI_MSI_ADDRESS_HI, 0xffffffff);
    }
    pci_set_word(dev->wmask + msi_data_off(dev, msi64bit), 0xffff);
    if (per_vector_mask) {
        /* Only the offered vectors' mask bits are writable. */
        pci_set_long(dev->wmask + msi_mask_off(dev, msi64bit),
                     0xffffffff >> (PCI_MSI_VECTORS_MAX - nr_vectors));
    }
    trace_msi_init(dev->name, config_offset, nr_vectors, msi64bit, per_vector_mask);
    return true;
}

void msi_uninit(PCIDevice *dev)
{
    uint16_t flags;

    if (!msi_present(dev) || !dev->config) {
        dev->msi_cap = 0;
        return;
    }
    flags = msi_flags(dev);
    pci_del_capability(dev, PCI_CAP_ID_MSI, msi_cap_sizeof(flags));
    dev->msi_cap = 0;
}

void msi_reset(PCIDevice *dev)
{
    uint16_t flags;
    bool msi64;

    if (!msi_present(dev)) {
        return;
    }
    flags = msi_flags(dev);
    flags &= ~(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
    msi64 = msi_is_64bit(flags);
    pci_set_word(dev->config + dev->msi_cap + PCI_MSI_FLAGS, flags);
    pci_set_long(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_LO, 0);
    if (msi64) {
        pci_set_long(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_HI, 0);
    }
    pci_set_word(dev->config + msi_data_off(dev, msi64), 0);
    if (msi_has_mask(flags)) {
        pci_set_long(dev->config + msi_mask_off(dev, msi64), 0);
        pci_set_long(dev->config + msi_pending_off(dev, msi64), 0);
    }
}

bool msi_is_masked(const PCIDevice *dev, unsigned int vector)
{
    uint16_t flags = msi_flags(dev);

    if (!msi_has_mask(flags)) {
        return false;
    }
    return pci_get_long(dev->config + msi_mask_off(dev, msi_is_64bit(flags))) &
           (1u << vector);
}

MSIMessage msi_get_message(PCIDevice *dev, unsigned int vector)
{
    uint16_t flags = msi_flags(dev);
    bool msi64 = msi_is_64bit(flags);
    unsigned int nr_vectors = msi_nr_vectors(flags);
    MSIMessage msg;

    msg.address = pci_get_long(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_LO);
    if (msi64) {
        msg.address |= (uint64_t)pci_get_long(dev->config + dev->msi_cap +
                                              PCI_MSI_ADDRESS_HI) << 32;
    }
    msg.data = pci_get_word(dev->config + msi_data_off(dev, msi64));
    if (nr_vectors > 1) {
        /* Multiple message: the vector number replaces the data's low bits. */
        msg.data &= ~(nr_vectors - 1);
        msg.data |= vector;
    }
    return msg;
}

void msi_notify(PCIDevice *dev, unsigned int vector)
{
    uint16_t flags;
    bool msi64;

    if (!msi_enabled(dev)) {
        return;
    }
    flags = msi_flags(dev);
    if (vector >= msi_nr_vectors(flags)) {
        trace_msi_notify_ignored(dev->name, vector);
        return;
    }
    msi64 = msi_is_64bit(flags);
    if (msi_is_masked(dev, vector)) {
        pci_long_test_and_set_mask(dev->config + msi_pending_off(dev, msi64), 1u << vector);
        trace_msi_notify_pending(dev->name, vector);
        return;
    }
    pci_send_msi_message(dev, msi_get_message(dev, vector));
}

void msi_write_config(PCIDevice *dev, uint32_t addr, uint32_t val, int len)
{
    uint16_t flags;
    bool msi64;
    unsigned int log_num, log_max, nr_vectors;
    uint32_t pending;

    if (!msi_present(dev)) {
        return;
    }
    flags = msi_flags(dev);
    if (!ranges_overlap(addr, len, dev->msi_cap, msi_cap_sizeof(flags))) {
        return;
    }
    trace_msi_write_config(dev->name, addr, val, len, flags);
    if (!(flags & PCI_MSI_FLAGS_ENABLE)) {
        return;
    }
    /* MSI and INTx are mutually exclusive: drop what INTx holds. */
    pci_device_deassert_intx(dev);

    /* A guest may enable more vectors than offered: clamp, as QEMU does. */
    log_num = (flags & PCI_MSI_FLAGS_QSIZE) >> ctz32(PCI_MSI_FLAGS_QSIZE);
    log_max = (flags & PCI_MSI_FLAGS_QMASK) >> ctz32(PCI_MSI_FLAGS_QMASK);
    if (log_num > log_max) {
        flags &= ~PCI_MSI_FLAGS_QSIZE;
        flags |= log_max << ctz32(PCI_MSI_FLAGS_QSIZE);
        pci_set_word(dev->config + dev->msi_cap + PCI_MSI_FLAGS, flags);
    }
    if (!msi_has_mask(flags)) {
        return;
    }
    msi64 = msi_is_64bit(flags);
    nr_vectors = msi_nr_vectors(flags);
    /* Pending bits of vectors no longer enabled are discarded. */
    pending = pci_get_long(dev->config + msi_pending_off(dev, msi64));
    pending &= 0xffffffff >> (PCI_MSI_VECTORS_MAX - nr_vectors);
    pci_set_long(dev->config + msi_pending_off(dev, msi64), pending);
    for (unsigned int vector = 0; vector < nr_vectors; vector++) {
        if (msi_is_masked(dev, vector) || !(pending & (1u << vector))) {
            continue;
        }
        pci_long_test_and_clear_mask(dev->config + msi_pending_off(dev, msi64), 1u << vector);
        msi_notify(dev, vector);
    }
}
