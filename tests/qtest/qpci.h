/*
 * qpci: PCI from the guest's side of a qtest connection -- config space
 * through conf1 (ports 0xcf8/0xcfc) or ECAM, BAR sizing and mapping at
 * addresses the test chooses, and MSI/MSI-X programmed to write into guest
 * RAM, so that an interrupt shows up as a value the test reads back.
 *
 * The names follow QEMU's libqos (qpci_config_readl, qpci_iomap, ...); the
 * code is Aperture's.  Only bus 0 exists.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef APERTURE_TESTS_QPCI_H
#define APERTURE_TESTS_QPCI_H

#include "libqtest.h"

#ifndef PCI_DEVFN
#define PCI_DEVFN(slot, func)   ((((slot) & 0x1f) << 3) | ((func) & 0x07))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 0x07)
#endif

/* q35 defaults: ECAM base, and the windows qpci assigns BARs from. */
#define QPCI_ECAM_BASE          0xb0000000ULL
#define QPCI_PIO_BASE           0xc000ULL
#define QPCI_PIO_LIMIT          0x10000ULL
#define QPCI_MMIO_BASE          0xe0000000ULL
#define QPCI_MMIO_LIMIT         0xfec00000ULL

typedef struct QPCIBus {
    QTestState *qts;
    /* Config accesses through ECAM at ecam_base instead of conf1. */
    bool use_ecam;
    uint64_t ecam_base;
    /* Next free address and end of the I/O, 32-bit and 64-bit BAR windows. */
    uint64_t pio_next, pio_limit;
    uint64_t mmio_next, mmio_limit;
    /* 64-bit BARs go here when mmio64_limit > 0, else in the 32-bit window. */
    uint64_t mmio64_next, mmio64_limit;
} QPCIBus;

/* A BAR as mapped: an I/O port base or a memory address. */
typedef struct QPCIBar {
    uint64_t addr;
    bool is_io;
} QPCIBar;

typedef struct QPCIDevice {
    QPCIBus *bus;
    int devfn;
    /* MSI-X, after qpci_msix_enable. */
    bool msix_enabled;
    QPCIBar msix_table_bar;
    uint64_t msix_table_off;
    QPCIBar msix_pba_bar;
    uint64_t msix_pba_off;
} QPCIDevice;

/* A bus reached through conf1 (or ECAM at @ecam_base); free with qpci_free. */
QPCIBus *qpci_new_conf1(QTestState *qts);
QPCIBus *qpci_new_ecam(QTestState *qts, uint64_t ecam_base);
void qpci_free(QPCIBus *bus);
/* Put 64-bit BARs in [base, limit). */
void qpci_set_mmio64_window(QPCIBus *bus, uint64_t base, uint64_t limit);

/* Config space of @dev (offsets up to 0xfff through ECAM, 0xff through conf1). */
uint8_t qpci_config_readb(QPCIDevice *dev, uint16_t offset);
uint16_t qpci_config_readw(QPCIDevice *dev, uint16_t offset);
uint32_t qpci_config_readl(QPCIDevice *dev, uint16_t offset);
void qpci_config_writeb(QPCIDevice *dev, uint16_t offset, uint8_t value);
void qpci_config_writew(QPCIDevice *dev, uint16_t offset, uint16_t value);
void qpci_config_writel(QPCIDevice *dev, uint16_t offset, uint32_t value);

/* The device at @devfn, or NULL when its vendor id reads 0xffff; free with g_free. */
QPCIDevice *qpci_device_find(QPCIBus *bus, int devfn);
/* Call @fn for every function present whose ids match (-1: any). */
void qpci_device_foreach(QPCIBus *bus, int vendor_id, int device_id,
                         void (*fn)(QPCIDevice *dev, int devfn, void *data), void *data);
/* Set I/O, memory and bus-master enable in the command register. */
void qpci_device_enable(QPCIDevice *dev);
/* Clear and set command register bits. */
void qpci_command_update(QPCIDevice *dev, uint16_t clear, uint16_t set);
/* Offset of the first capability @id after @start (0: from the list head), or 0. */
uint8_t qpci_find_capability(QPCIDevice *dev, uint8_t id, uint8_t start);

/*
 * Size BAR @barno with the all-ones probe (the register is restored):
 * the size in bytes, 0 for an unimplemented BAR; *@type gets the low type
 * bits (I/O, 64-bit, prefetch) if non-NULL.
 */
uint64_t qpci_bar_size(QPCIDevice *dev, int barno, uint32_t *type);
/* Size and assign BAR @barno from the bus's windows (naturally aligned). */
QPCIBar qpci_iomap(QPCIDevice *dev, int barno, uint64_t *sizeptr);
/* Program BAR @barno at @addr (both halves of a 64-bit BAR). */
QPCIBar qpci_iomap_at(QPCIDevice *dev, int barno, uint64_t addr);
/* Nothing to undo in the emulator; kept for QEMU test compatibility. */
void qpci_iounmap(QPCIDevice *dev, QPCIBar bar);

uint8_t qpci_io_readb(QPCIDevice *dev, QPCIBar bar, uint64_t off);
uint16_t qpci_io_readw(QPCIDevice *dev, QPCIBar bar, uint64_t off);
uint32_t qpci_io_readl(QPCIDevice *dev, QPCIBar bar, uint64_t off);
uint64_t qpci_io_readq(QPCIDevice *dev, QPCIBar bar, uint64_t off);
void qpci_io_writeb(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint8_t value);
void qpci_io_writew(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint16_t value);
void qpci_io_writel(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint32_t value);
void qpci_io_writeq(QPCIDevice *dev, QPCIBar bar, uint64_t off, uint64_t value);

/*
 * MSI: program address @addr and data @data, enable 2^k >= @nvec vectors
 * (clamped by the device) and MSI.  Vector N writes data | N (multi-vector
 * data has its low bits replaced).
 */
void qpci_msi_enable(QPCIDevice *dev, uint64_t addr, uint16_t data, unsigned nvec);
void qpci_msi_disable(QPCIDevice *dev);
/* Per-vector mask and pending bits (0 when the device has no masking). */
void qpci_msi_set_mask(QPCIDevice *dev, uint32_t mask);
uint32_t qpci_msi_pending(QPCIDevice *dev);

/*
 * MSI-X: map the table and PBA BARs (from the bus windows, unless mapped
 * already) and set the enable bit; entries stay masked until
 * qpci_msix_set_vector.
 */
void qpci_msix_enable(QPCIDevice *dev);
void qpci_msix_disable(QPCIDevice *dev);
/* Table size from message control. */
uint16_t qpci_msix_table_size(QPCIDevice *dev);
/* Program entry @entry to write @data at @addr and unmask it. */
void qpci_msix_set_vector(QPCIDevice *dev, uint16_t entry, uint64_t addr, uint32_t data);
void qpci_msix_mask_vector(QPCIDevice *dev, uint16_t entry, bool masked);
bool qpci_msix_masked(QPCIDevice *dev, uint16_t entry);
bool qpci_msix_pending(QPCIDevice *dev, uint16_t entry);
/* The function mask bit of message control. */
void qpci_msix_function_mask(QPCIDevice *dev, bool masked);

#endif /* APERTURE_TESTS_QPCI_H */
