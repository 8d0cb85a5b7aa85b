/*
 * The q35-like PC machine ("-machine q35"): memory map and the hooks other
 * subsystems use.
 *
 * Memory map (as QEMU's q35):
 *   [0, below_4g_mem_size)            RAM (an alias of guest RAM)
 *   [0xb0000000, +256 MiB)            PCIe ECAM (MMCONFIG), served by the host bridge
 *   [pci_hole32_start, 0xfec00000)    32-bit PCI MMIO hole (BARs)
 *   [0xfec00000, +4 KiB)              IOAPIC (registers not modelled: GSIs only)
 *   [4 GiB, 4 GiB + above_4g_mem_size) the rest of RAM
 *   [pci_hole64_start, +pci_hole64_size) 64-bit PCI MMIO hole
 * RAM split: when RAM >= 0xb0000000 (2.75 GiB), 2 GiB stay below 4 GiB and
 * the rest goes above; otherwise all of it is below.
 * I/O ports: 0xcf8 (CONFIG_ADDRESS) and 0xcfc..0xcff (CONFIG_DATA) belong to
 * the host bridge.
 *
 * Interrupts: the "ioapic" device (/machine/ioapic) has 24 input GPIOs, the
 * GSIs; qtest's `irq_intercept_in ioapic` intercepts them.  PCI INTx goes
 * PIRQ A..H -> GSI 16..23: the host bridge's unnamed GPIO outputs 0..7 are
 * connected to GSI 16..23 by the machine (the PCI side does the slot
 * swizzle).
 *
 * Host bridge hook: if a device type Q35_HOST_TYPE ("q35-pcihost") exists,
 * the machine creates it as "/machine/q35", sets its uint64 properties
 * "pci-hole64-start"/"pci-hole64-size" and "below-4g-mem-size" if it has
 * them, realizes it on the system bus and wires its GPIO outputs as above.
 * The host bridge maps its own ECAM and conf1 ports into
 * get_system_memory()/get_system_io().
 */
#ifndef HW_I386_Q35_H
#define HW_I386_Q35_H

#include "hw/boards.h"
#include "hw/qdev-core.h"

#define TYPE_Q35_MACHINE MACHINE_TYPE_NAME("q35")
#define TYPE_IOAPIC "ioapic"
#define Q35_HOST_TYPE "q35-pcihost"

#define Q35_ECAM_BASE           0xb0000000ULL
#define Q35_ECAM_SIZE           (256 * MiB)
#define Q35_LOWMEM_SPLIT        0xb0000000ULL   /* RAM at or above this is split */
#define Q35_LOWMEM_WHEN_SPLIT   0x80000000ULL   /* below 4 GiB after the split */
#define Q35_PCI_HOLE32_END      0xfec00000ULL
#define Q35_IOAPIC_BASE         0xfec00000ULL
#define Q35_PCI_HOLE64_SIZE     (32 * GiB)      /* QEMU's q35 default */
#define IOAPIC_NUM_PINS         24
#define Q35_PIRQ_GSI_BASE       16              /* PIRQ A..H -> GSI 16..23 */
#define Q35_NUM_PIRQS           8

OBJECT_DECLARE_SIMPLE_TYPE(Q35MachineState, Q35_MACHINE)

struct Q35MachineState {
    MachineState parent_obj;

    /* RAM mapped at 0 (bytes). */
    uint64_t below_4g_mem_size;
    /* RAM mapped at 4 GiB (bytes). */
    uint64_t above_4g_mem_size;
    /* 32-bit MMIO hole [start, Q35_PCI_HOLE32_END). */
    uint64_t pci_hole32_start;
    /* 64-bit MMIO hole: start (GiB-aligned above RAM) and size. */
    uint64_t pci_hole64_start;
    uint64_t pci_hole64_size;
    /* The GSIs: the ioapic's input lines (owned by the ioapic device). */
    qemu_irq gsi[IOAPIC_NUM_PINS];
    /* Aliases of guest RAM below and above 4 GiB. */
    MemoryRegion ram_below_4g;
    MemoryRegion ram_above_4g;
    /* The interrupt controller, "/machine/ioapic" (held by the system bus). */
    DeviceState *ioapic;
    /* The PCI host bridge "/machine/q35", or NULL when no such type is linked in. */
    DeviceState *host;
};

/* The running q35 machine, or NULL. */
Q35MachineState *q35_machine_get(void);

/*
 * The ioapic's current input levels: bit N set when GSI N is high
 * (tests; qtest interception bypasses the ioapic).
 */
uint32_t ioapic_get_levels(DeviceState *ioapic);

#endif /* HW_I386_Q35_H */
