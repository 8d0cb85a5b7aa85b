/*
 * A PCI bus: the devices on it, where their BARs map, how INTx is routed.
 *
 * Host bridges create their root bus with pci_root_bus_new() and give it an
 * interrupt router with pci_bus_irqs(); device models only see PCIBus as an
 * opaque handle (hw/pci/pci.h).
 *
 * Threading: main loop thread only.
 */
#ifndef HW_PCI_PCI_BUS_H
#define HW_PCI_PCI_BUS_H

#include "hw/pci/pci.h"

/* Device pin (0..3) -> the bus's interrupt line (q35: PIRQ 0..7). */
typedef int (*pci_map_irq_fn)(PCIDevice *dev, int pin);
/* The bus's line @irq_num is now at @level (OR of every device on it). */
typedef void (*pci_set_irq_fn)(void *opaque, int irq_num, int level);
/* The bus's line @pin -> the interrupt controller's input. */
typedef PCIINTxRoute (*pci_route_irq_fn)(void *opaque, int pin);
/* The address space the devices' DMA goes to (through an IOMMU, say). */
typedef AddressSpace *(*pci_iommu_fn)(PCIBus *bus, void *opaque, int devfn);

struct PCIBus {
    BusState qbus;

    /* The devices by devfn; a slot holds a device between realize and exit. */
    PCIDevice *devices[PCI_DEVFN_MAX];
    /* Containers BARs map into (not owned). */
    MemoryRegion *address_space_mem;
    MemoryRegion *address_space_io;
    /* Lowest devfn a device without addr= gets (slot of the first free one). */
    uint8_t devfn_min;

    /* Interrupt routing (pci_bus_irqs); NULL set_irq: INTx goes nowhere. */
    pci_map_irq_fn map_irq;
    pci_set_irq_fn set_irq;
    pci_route_irq_fn route_intx_to_irq;
    void *irq_opaque;
    /* Number of bus lines and, per line, how many device pins hold it high. */
    int nirq;
    int *irq_count;

    /* DMA view of the devices (NULL: address_space_memory). */
    pci_iommu_fn iommu_fn;
    void *iommu_opaque;
};

/*
 * A root bus of type @typename (TYPE_PCI_BUS or TYPE_PCIE_BUS) called
 * @name, provided by host bridge @parent; BARs map into @mem and @io.
 */
PCIBus *pci_root_bus_new(DeviceState *parent, const char *name, MemoryRegion *mem,
                         MemoryRegion *io, uint8_t devfn_min, const char *typename);
/* Install the interrupt router: @nirq lines. */
void pci_bus_irqs(PCIBus *bus, pci_set_irq_fn set_irq, pci_map_irq_fn map_irq,
                  pci_route_irq_fn route, void *opaque, int nirq);
/* Undo pci_bus_irqs (every line must be low). */
void pci_bus_irqs_cleanup(PCIBus *bus);
/* Level of bus line @irq_num (any device holding it). */
int pci_bus_get_irq_level(PCIBus *bus, int irq_num);
/* Set the DMA view of devices realized from now on. */
void pci_setup_iommu(PCIBus *bus, pci_iommu_fn fn, void *opaque);
/* Call every device's INTx routing notifier. */
void pci_bus_fire_intx_routing_notifier(PCIBus *bus);
/* Whether devices on @bus get a 4 KiB config space. */
bool pci_bus_is_express(const PCIBus *bus);

#endif /* HW_PCI_PCI_BUS_H */
