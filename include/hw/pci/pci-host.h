/*
 * The q35-like PCI host bridge ("q35-pcihost", /machine/q35).
 *
 * What the guest sees:
 *   - conf1: CONFIG_ADDRESS at I/O port 0xcf8 (dword writes only; reads of
 *     any size return it) and CONFIG_DATA at 0xcfc..0xcff (byte, word or
 *     dword at the offset of bits 1:0).  An access goes to bus (bits 23:16),
 *     devfn (15:8), register (7:2 plus the port offset) while bit 31 is set;
 *     otherwise reads return all-ones and writes are dropped.  conf1 reaches
 *     the first 256 bytes of config space.
 *   - ECAM (MMCONFIG) at ecam-base (default 0xb0000000, 256 MiB):
 *     offset = bus << 20 | devfn << 12 | register, 1/2/4-byte accesses.
 *   - the MCH at 00.0 (8086:29c0, host bridge class), as on QEMU's q35.
 *   - the root bus "pcie.0": devices plug in with -device ...,addr=SLOT.FN.
 *     A missing device reads all-ones; writes to it are dropped.
 *   - INTx: pin P (0 = INTA) of a device in slot S drives PIRQ
 *     (S + P) % 4 + 4 (PIRQ E..H) for S < 25 and slot 30, PIRQ P (A..D) for
 *     the chipset slots 25..29 and 31, as ICH9's default routing does; the
 *     bridge's unnamed GPIO outputs 0..7 carry PIRQ A..H (the machine wires
 *     them to GSI 16..23).
 *
 * Properties: ecam-base, ecam-size (uint64), and "pci-hole64-start",
 * "pci-hole64-size", "below-4g-mem-size" (uint64, informational) which the
 * q35 machine sets.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_PCI_PCI_HOST_H
#define HW_PCI_PCI_HOST_H

#include "hw/pci/pci-bus.h"

#define TYPE_PCI_HOST_Q35 "q35-pcihost"
#define TYPE_PCI_MCH "mch"

OBJECT_DECLARE_SIMPLE_TYPE(PCIHostState, PCI_HOST_Q35)

#define PCI_HOST_CONF1_ADDR_PORT    0xcf8
#define PCI_HOST_CONF1_DATA_PORT    0xcfc
#define PCI_HOST_CONF1_ENABLE       0x80000000u
#define PCI_HOST_ECAM_DEFAULT_BASE  0xb0000000ULL
#define PCI_HOST_ECAM_DEFAULT_SIZE  (256 * MiB)
#define PCI_HOST_NUM_PIRQS          8
/* The MCH's ids (QEMU's q35). */
#define PCI_HOST_MCH_VENDOR_ID      0x8086
#define PCI_HOST_MCH_DEVICE_ID      0x29c0

struct PCIHostState {
    DeviceState parent_obj;

    /* The root bus "pcie.0" (a child bus of this device). */
    PCIBus *bus;
    /* CONFIG_ADDRESS as last written by a dword write to 0xcf8. */
    uint32_t config_reg;
    /* I/O regions at 0xcf8 (4 bytes) and 0xcfc (4 bytes) of the I/O space. */
    MemoryRegion conf_mem;
    MemoryRegion data_mem;
    /* The ECAM window in system memory. */
    MemoryRegion mmcfg;
    /* PIRQ A..H outputs (unnamed GPIO outputs 0..7). */
    qemu_irq pirq[PCI_HOST_NUM_PIRQS];
    /* Properties. */
    uint64_t ecam_base;
    uint64_t ecam_size;
    uint64_t pci_hole64_start;
    uint64_t pci_hole64_size;
    uint64_t below_4g_mem_size;
    /* The MCH at 00.0 (held by the bus). */
    PCIDevice *mch;
    /* Where ECAM and conf1 go (NULL: get_system_memory()/get_system_io()). */
    MemoryRegion *sysmem;
    MemoryRegion *sysio;
};

/*
 * Create and realize a host bridge outside the q35 machine (tests, the
 * fuzz target): ECAM at @ecam_base (0: the default) in @sysmem, conf1 in
 * @sysio, PIRQ A..H driving @pirq[0..7] (may be NULL: INTx goes nowhere).
 * The system bus holds it; qdev_unrealize() removes it.
 */
PCIHostState *pci_host_q35_new(MemoryRegion *sysmem, MemoryRegion *sysio, uint64_t ecam_base,
                               qemu_irq *pirq, Error **errp);

/* The PIRQ (0..7 = A..H) pin @pin (0..3) of a device in @slot drives on q35. */
int pci_host_q35_pirq(int slot, int pin);

/* The first host bridge realized (the machine's), or NULL. */
PCIHostState *pci_host_get_default(void);

#endif /* HW_PCI_PCI_HOST_H */
