/*
 * MSI-X capability emulation (PCI Local Bus 3.0, 6.8.2).
 *
 * msix_init() adds the capability and overlays the vector table and the
 * pending bit array (PBA) on BAR regions of the device (priority 1, so a
 * vfio-pci BAR's mmap'd pages underneath stay hidden where the table is).
 * The guest programs entries through the table (dword or qword accesses;
 * anything outside the table or PBA goes to the BAR underneath); the
 * message control word's enable and function-mask bits are writable.
 *
 * msix_notify() delivers vector N as a dword write of the entry's data at
 * its address through the device's bus-master address space, or sets its
 * pending bit when the vector or the function is masked; unmasking
 * delivers pending vectors.  A vector must be marked in use
 * (msix_vector_use) to be delivered, as in QEMU.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_PCI_MSIX_H
#define HW_PCI_MSIX_H

#include "hw/pci/pci.h"

#define PCI_MSIX_ENTRIES_MAX 2048

/*
 * Add an MSI-X capability at @cap_pos (0: anywhere) with @nentries vectors
 * (1..2048): the table at @table_offset of BAR @table_bar_nr (region
 * @table_bar), the PBA at @pba_offset of BAR @pba_bar_nr (@pba_bar).
 * Fails (*errp set) for a bad count, a BAR number above 5, offsets not
 * 8-byte aligned, a table or PBA that does not fit in its BAR region, a
 * table and PBA that overlap, or no room for the capability.
 */
bool msix_init(PCIDevice *dev, unsigned short nentries, MemoryRegion *table_bar,
               uint8_t table_bar_nr, unsigned table_offset, MemoryRegion *pba_bar,
               uint8_t pba_bar_nr, unsigned pba_offset, uint8_t cap_pos, Error **errp);
/*
 * msix_init with a BAR of its own: a memory BAR @bar_nr (64-bit, so it
 * takes @bar_nr + 1 too) holding the table at 0 and the PBA in its second
 * half, registered by this call.
 */
bool msix_init_exclusive_bar(PCIDevice *dev, unsigned short nentries, uint8_t bar_nr,
                             Error **errp);
/* Remove the capability and the overlays (exit path). */
void msix_uninit(PCIDevice *dev, MemoryRegion *table_bar, MemoryRegion *pba_bar);
void msix_uninit_exclusive_bar(PCIDevice *dev);
/* Disable, mask every vector, clear pending bits (device reset). */
void msix_reset(PCIDevice *dev);

bool msix_present(const PCIDevice *dev);
/* The guest set the enable bit. */
bool msix_enabled(const PCIDevice *dev);
/* Vector @vector cannot be delivered now (its mask, the function mask, or disabled). */
bool msix_is_masked(const PCIDevice *dev, unsigned int vector);
/* The vector's pending bit. */
bool msix_is_pending(const PCIDevice *dev, unsigned int vector);
void msix_set_pending(PCIDevice *dev, unsigned int vector);
void msix_clear_pending(PCIDevice *dev, unsigned int vector);
/* Number of vectors of the capability. */
unsigned int msix_nr_vectors_allocated(const PCIDevice *dev);
/* The message of table entry @vector. */
MSIMessage msix_get_message(PCIDevice *dev, unsigned int vector);

/* Mark @vector used (counted); out-of-range vectors are ignored. */
void msix_vector_use(PCIDevice *dev, unsigned int vector);
void msix_vector_unuse(PCIDevice *dev, unsigned int vector);
/* msix_vector_use on every vector. */
void msix_vectors_use_all(PCIDevice *dev);

/* Signal @vector (see above); ignored when MSI-X is disabled or the vector unused. */
void msix_notify(PCIDevice *dev, unsigned int vector);

/*
 * Install the vfio-style notifiers (pci.h): @use is called at once for
 * every vector that is deliverable now, and later on every unmask;
 * returns the first negative @use result (after releasing what it set).
 */
int msix_set_vector_notifiers(PCIDevice *dev, MSIVectorUseNotifier use,
                              MSIVectorReleaseNotifier release, MSIVectorPollNotifier poll);
/* Release every deliverable vector and forget the notifiers. */
void msix_unset_vector_notifiers(PCIDevice *dev);

/* Called by pci_default_write_config after every config write. */
void msix_write_config(PCIDevice *dev, uint32_t addr, uint32_t val, int len);

#endif /* HW_PCI_MSIX_H */
