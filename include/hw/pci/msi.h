/*
 * MSI capability emulation (PCI Local Bus 3.0, 6.8.1).
 *
 * msi_init() adds the capability; from then on guest writes to it (through
 * pci_default_write_config) keep the state, and msi_notify() delivers
 * vector N as a dword write of (data with its low bits replaced by N when
 * several vectors are enabled) at the programmed address, through the
 * device's bus-master address space -- so nothing arrives while bus
 * mastering is disabled.  With per-vector masking, a masked vector sets
 * its pending bit instead and is delivered when unmasked.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_PCI_MSI_H
#define HW_PCI_MSI_H

#include "hw/pci/pci.h"

#define PCI_MSI_VECTORS_MAX 32

/*
 * Add an MSI capability at @offset (0: anywhere) offering @nr_vectors (a
 * power of two, 1..32), with 64-bit addresses if @msi64bit and per-vector
 * mask/pending bits if @per_vector_mask.  Fails (*errp set) for a bad
 * vector count or when the capability does not fit.
 */
bool msi_init(PCIDevice *dev, uint8_t offset, unsigned int nr_vectors, bool msi64bit,
              bool per_vector_mask, Error **errp);
/* Remove the capability (exit path). */
void msi_uninit(PCIDevice *dev);
/* Disable MSI and clear the guest-written state (device reset). */
void msi_reset(PCIDevice *dev);
/* Has an MSI capability. */
bool msi_present(const PCIDevice *dev);
/* The guest enabled MSI. */
bool msi_enabled(const PCIDevice *dev);
/* Vectors the guest enabled (1..32); meaningful while enabled. */
unsigned int msi_nr_vectors_allocated(const PCIDevice *dev);
/* Vector @vector is masked (per-vector masking only; false otherwise). */
bool msi_is_masked(const PCIDevice *dev, unsigned int vector);
/* The message vector @vector would send now. */
MSIMessage msi_get_message(PCIDevice *dev, unsigned int vector);
/*
 * Signal vector @vector: delivered, or made pending when masked.  Ignored
 * while MSI is disabled or for a vector the guest did not enable.
 */
void msi_notify(PCIDevice *dev, unsigned int vector);
/* Called by pci_default_write_config after every config write. */
void msi_write_config(PCIDevice *dev, uint32_t addr, uint32_t val, int len);

#endif /* HW_PCI_MSI_H */
