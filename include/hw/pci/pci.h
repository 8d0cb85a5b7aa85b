/*
 * PCI devices: configuration space, BARs, INTx, bus mastering.
 *
 * A PCI device type derives from TYPE_PCI_DEVICE and fills PCIDeviceClass
 * in its class_init: the ids of its header, realize/exit, optionally reset
 * and config-space hooks.  The core does the rest of the PCI semantics:
 *
 *   - config space: config[] holds the registers; wmask[] says which bits
 *     a guest may write, w1cmask[] which bits a guest write of 1 clears,
 *     cmask[] which bits must match on migration.  Guest accesses arrive
 *     through pci_dev_config_read/write (the host bridge's conf1 and ECAM
 *     windows), which clamp them to the config space and call the class's
 *     config_read/config_write hooks, or pci_default_read_config/
 *     pci_default_write_config when the class has none.  A hook that
 *     wants the standard behaviour for the bits it does not emulate calls
 *     the default function itself (that is how vfio-pci intercepts).
 *   - BARs: pci_register_bar() declares a region; guest writes to the BAR
 *     register and the command register map it into the bus's memory or
 *     I/O space (priority 1 over what is there, as QEMU does) and unmap it.
 *   - INTx: pci_set_irq() with the pin of config[PCI_INTERRUPT_PIN]; the
 *     bus routes it (q35: PIRQ A..H, GSI 16..23) with level counting, so
 *     devices sharing a line see it high while any of them holds it.
 *   - bus mastering: each device has its own address space, dev->bus_master_as,
 *     showing the bus's DMA view while the command register's bus master
 *     bit is set and nothing otherwise.  Device DMA (pci_dma_read/write) and
 *     MSI/MSI-X messages (hw/pci/msi.h, msix.h) go through it.
 *
 * Properties every PCI device has (QEMU's): addr=SLOT[.FN] (default: first
 * free slot), multifunction=on|off, rombar=0|1, romfile=PATH.
 *
 * Reset: DeviceClass.reset of TYPE_PCI_DEVICE calls PCIDeviceClass.reset
 * (device specific, optional) and then the core's reset (command and status
 * cleared, BARs back to their type bits and unmapped, INTx lowered, MSI and
 * MSI-X disabled).  Subclasses set PCIDeviceClass.reset, not DeviceClass.reset.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/qdev-core.h"
#include "hw/pci/pci-ids.h"
#include <linux/pci_regs.h>

#define TYPE_PCI_DEVICE "pci-device"
#define TYPE_PCI_BUS "PCI"
#define TYPE_PCIE_BUS "PCIE"

OBJECT_DECLARE_TYPE(PCIDevice, PCIDeviceClass, PCI_DEVICE)
OBJECT_DECLARE_SIMPLE_TYPE(PCIBus, PCI_BUS)

/* A bus address (BAR contents, DMA addresses). */
typedef uint64_t pcibus_t;

#define PCI_SLOT_MAX            32
#define PCI_FUNC_MAX            8
#define PCI_DEVFN_MAX           256
#ifndef PCI_DEVFN
#define PCI_DEVFN(slot, func)   ((((slot) & 0x1f) << 3) | ((func) & 0x07))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 0x07)
#endif
#define PCI_BUILD_BDF(bus, devfn) (((bus) << 8) | (devfn))

/* Config space sizes: conventional PCI and PCI Express. */
#define PCI_CONFIG_SPACE_SIZE   0x100
#define PCIE_CONFIG_SPACE_SIZE  0x1000
#define PCI_CONFIG_HEADER_SIZE  0x40

/* Regions: BARs 0..5, then the expansion ROM. */
#define PCI_ROM_SLOT            6
#define PCI_NUM_REGIONS         7
/* INTA..INTD. */
#define PCI_NUM_PINS            4
/* io_regions[].addr of a region that is not mapped. */
#define PCI_BAR_UNMAPPED        (~(pcibus_t)0)

/* Default subsystem ids (QEMU's: Red Hat / QEMU). */
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU            0x1100

/* One BAR (or the ROM) as the device registered it. */
typedef struct PCIIORegion {
    /* Where it is mapped now, or PCI_BAR_UNMAPPED. */
    pcibus_t addr;
    /* Size in bytes (a power of two); 0 when the slot is unused. */
    pcibus_t size;
    /* PCI_BASE_ADDRESS_SPACE_IO or the MEM type bits (64-bit, prefetch). */
    uint8_t type;
    /* The device's region (owned by the device). */
    MemoryRegion *memory;
    /* The bus space it maps into (the bus's memory or I/O container). */
    MemoryRegion *address_space;
} PCIIORegion;

/*
 * Config-space hooks.  @len is 1, 2 or 4, except for an access the host
 * bridge cut short at the end of config space (3 is possible then, as in
 * QEMU); addr + len <= config size always.  An access may straddle a dword
 * boundary (conf1 with CONFIG_ADDRESS bits 1:0 set).
 */
typedef uint32_t PCIConfigReadFunc(PCIDevice *d, uint32_t addr, int len);
typedef void PCIConfigWriteFunc(PCIDevice *d, uint32_t addr, uint32_t val, int len);

/* Where an INTx pin ends up (QEMU's PCIINTxRoute). */
typedef enum PCIINTxMode {
    PCI_INTX_ENABLED,
    PCI_INTX_INVERTED,
    PCI_INTX_DISABLED,
} PCIINTxMode;

typedef struct PCIINTxRoute {
    PCIINTxMode mode;
    int irq;            /* the GSI, or -1 when disabled */
} PCIINTxRoute;

typedef void (*PCIINTxRoutingNotifier)(PCIDevice *dev);

/* An MSI or MSI-X message: a dword write of @data at @address. */
typedef struct MSIMessage {
    uint64_t address;
    uint32_t data;
} MSIMessage;

/*
 * MSI-X vector notifiers (vfio-pci): @use is called when vector @vector
 * becomes unmasked while MSI-X is enabled (with the message to deliver),
 * @release when it becomes masked or MSI-X is disabled; @poll before the
 * PBA is read, for vectors in [start, end) (update pending bits).
 */
typedef int (*MSIVectorUseNotifier)(PCIDevice *dev, unsigned int vector, MSIMessage msg);
typedef void (*MSIVectorReleaseNotifier)(PCIDevice *dev, unsigned int vector);
typedef void (*MSIVectorPollNotifier)(PCIDevice *dev, unsigned int vector_start,
                                      unsigned int vector_end);

struct PCIDeviceClass {
    DeviceClass parent_class;

    /* Device specific set-up: capabilities, BARs, ...  Fails with *errp set. */
    bool (*realize)(PCIDevice *dev, Error **errp);
    /* Undo realize (BARs are already unmapped).  NULL: nothing to do. */
    void (*exit)(PCIDevice *dev);
    /* Device-specific part of reset, before the core's.  NULL: none. */
    void (*reset)(PCIDevice *dev);
    /* Config-space hooks (see the top of this file).  NULL: the defaults. */
    PCIConfigReadFunc *config_read;
    PCIConfigWriteFunc *config_write;

    /* Header ids. */
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t revision;
    /* Base class << 8 | subclass (PCI_CLASS_*). */
    uint16_t class_id;
    /* 0 and 0: QEMU's defaults (PCI_SUBVENDOR_ID_REDHAT_QUMRANET, PCI_SUBDEVICE_ID_QEMU). */
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
    /* 4 KiB config space (PCI Express) instead of 256 bytes; needs a PCIe bus. */
    bool is_express;
    /* Default of the romfile property; NULL: none. */
    const char *romfile;
};

struct PCIDevice {
    DeviceState qdev;

    /* Config space and its masks, config_size bytes each; owned. */
    uint8_t *config;
    uint8_t *cmask;     /* bits checked on migration */
    uint8_t *wmask;     /* bits a guest may write */
    uint8_t *w1cmask;   /* bits a guest clears by writing 1 */
    uint8_t *used;      /* non-zero where a capability lives */
    /* PCI_CONFIG_SPACE_SIZE or PCIE_CONFIG_SPACE_SIZE. */
    uint32_t config_size;

    /* Property addr: slot << 3 | function; -1 before realize means "any". */
    int32_t devfn;
    /* "slot.fn name" for traces and messages. */
    char name[64];
    /* Property multifunction. */
    bool multifunction;
    /* Property rombar: expose the ROM as a BAR (default 1). */
    uint32_t rom_bar;
    /* Property romfile: a file loaded as the expansion ROM; owned. */
    char *romfile;
    /* The ROM loaded from romfile (when there is one). */
    MemoryRegion rom;
    bool has_rom;

    /* The hooks in use (the class's or the defaults). */
    PCIConfigReadFunc *config_read;
    PCIConfigWriteFunc *config_write;

    /* BARs and the ROM. */
    PCIIORegion io_regions[PCI_NUM_REGIONS];

    /* Bus mastering: the device's DMA view and the BME gate. */
    AddressSpace bus_master_as;
    MemoryRegion bus_master_container_region;
    MemoryRegion bus_master_enable_region;
    bool bus_master_ready;

    /*
     * A DMA or MSI of this device is in progress.  A second one started
     * from inside it (the device DMAs or signals into its own registers,
     * directly or through another device) is refused with
     * MEMTX_ACCESS_ERROR, as QEMU's re-entrancy guard does, instead of
     * recursing without bound.
     */
    bool dma_engaged;

    /* INTx: bit n is the level the device drives on pin n. */
    uint8_t irq_state;
    PCIINTxRoutingNotifier intx_routing_notifier;

    /* MSI: capability offset (0: none). */
    uint8_t msi_cap;
    /* MSI-X: capability offset (0: none) and state (hw/pci/msix.c). */
    uint8_t msix_cap;
    int msix_entries_nr;
    uint8_t *msix_table;        /* entries * 16 bytes; owned */
    uint8_t *msix_pba;          /* pending bits; owned */
    unsigned int *msix_entry_used;  /* msix_vector_use counts; owned */
    bool msix_function_masked;  /* !enabled || MASKALL */
    MemoryRegion msix_table_mmio;
    MemoryRegion msix_pba_mmio;
    MemoryRegion *msix_table_bar;   /* the BAR regions they overlay */
    MemoryRegion *msix_pba_bar;
    MemoryRegion msix_exclusive_bar;    /* msix_init_exclusive_bar's */
    bool msix_has_exclusive_bar;
    MSIVectorUseNotifier msix_vector_use_notifier;
    MSIVectorReleaseNotifier msix_vector_release_notifier;
    MSIVectorPollNotifier msix_vector_poll_notifier;
};

/* ------------------------------------------------------------------------ */
/* Config space byte order helpers (config space is little endian). */

static inline void pci_set_byte(uint8_t *config, uint8_t val)
{
    *config = val;
}

static inline uint8_t pci_get_byte(const uint8_t *config)
{
    return *config;
}

static inline void pci_set_word(uint8_t *config, uint16_t val)
{
    val = GUINT16_TO_LE(val);
    memcpy(config, &val, sizeof(val));
}

static inline uint16_t pci_get_word(const uint8_t *config)
{
    uint16_t val;

    memcpy(&val, config, sizeof(val));
    return GUINT16_FROM_LE(val);
}

static inline void pci_set_long(uint8_t *config, uint32_t val)
{
    val = GUINT32_TO_LE(val);
    memcpy(config, &val, sizeof(val));
}

static inline uint32_t pci_get_long(const uint8_t *config)
{
    uint32_t val;

    memcpy(&val, config, sizeof(val));
    return GUINT32_FROM_LE(val);
}

static inline void pci_set_quad(uint8_t *config, uint64_t val)
{
    val = GUINT64_TO_LE(val);
    memcpy(config, &val, sizeof(val));
}

static inline uint64_t pci_get_quad(const uint8_t *config)
{
    uint64_t val;

    memcpy(&val, config, sizeof(val));
    return GUINT64_FROM_LE(val);
}

static inline void pci_word_test_and_set_mask(uint8_t *config, uint16_t mask)
{
    pci_set_word(config, pci_get_word(config) | mask);
}

static inline void pci_word_test_and_clear_mask(uint8_t *config, uint16_t mask)
{
    pci_set_word(config, pci_get_word(config) & ~mask);
}

static inline void pci_long_test_and_clear_mask(uint8_t *config, uint32_t mask)
{
    pci_set_long(config, pci_get_long(config) & ~mask);
}

static inline void pci_long_test_and_set_mask(uint8_t *config, uint32_t mask)
{
    pci_set_long(config, pci_get_long(config) | mask);
}

static inline void pci_config_set_vendor_id(uint8_t *config, uint16_t val)
{
    pci_set_word(config + PCI_VENDOR_ID, val);
}

static inline void pci_config_set_device_id(uint8_t *config, uint16_t val)
{
    pci_set_word(config + PCI_DEVICE_ID, val);
}

static inline void pci_config_set_revision(uint8_t *config, uint8_t val)
{
    pci_set_byte(config + PCI_REVISION_ID, val);
}

static inline void pci_config_set_class(uint8_t *config, uint16_t val)
{
    pci_set_word(config + PCI_CLASS_DEVICE, val);
}

static inline void pci_config_set_prog_interface(uint8_t *config, uint8_t val)
{
    pci_set_byte(config + PCI_CLASS_PROG, val);
}

/* Pin 1..4 = INTA..INTD, 0 = no INTx. */
static inline void pci_config_set_interrupt_pin(uint8_t *config, uint8_t val)
{
    pci_set_byte(config + PCI_INTERRUPT_PIN, val);
}

/* ------------------------------------------------------------------------ */
/* Config space */

/* The config space contents as the default emulation sees them. */
uint32_t pci_default_read_config(PCIDevice *d, uint32_t addr, int len);
/*
 * The default write: honours wmask and w1cmask byte by byte, then updates
 * BAR mappings (BARs, ROM or command written), INTx disable, the bus-master
 * gate, and the MSI/MSI-X state.
 */
void pci_default_write_config(PCIDevice *d, uint32_t addr, uint32_t val, int len);

/*
 * A guest config access as a host bridge makes it: @addr within the
 * device's config space is clamped (an access running past the end is cut
 * short, one starting beyond it reads all-ones and writes nothing); @len
 * 1, 2 or 4 (anything else reads all-ones and is ignored).  Calls the
 * device's hooks.
 */
uint32_t pci_dev_config_read(PCIDevice *d, uint32_t addr, int len);
void pci_dev_config_write(PCIDevice *d, uint32_t addr, uint32_t val, int len);
/* The same with the window's own limit (conf1: 256 bytes), as QEMU names them. */
uint32_t pci_host_config_read_common(PCIDevice *d, uint32_t addr, uint32_t limit, int len);
void pci_host_config_write_common(PCIDevice *d, uint32_t addr, uint32_t limit, uint32_t val,
                                  int len);

/*
 * Add a capability @cap_id of @size bytes at @offset (0: the first free
 * space after the header, dword aligned) to the capability list (at its
 * head).  The bytes become read-only to the guest (clear wmask) until the
 * caller opens some.  Fails for an offset inside the header or past the
 * config space, or overlap with another capability.  Returns the offset,
 * or -1 with *errp set.
 */
int pci_add_capability(PCIDevice *pdev, uint8_t cap_id, uint8_t offset, uint8_t size,
                       Error **errp);
/* Unlink the first capability @cap_id and make its @size bytes free and writable. */
void pci_del_capability(PCIDevice *pdev, uint8_t cap_id, uint8_t size);
/* Offset of the first capability @cap_id in the list, or 0 (loop-safe). */
uint8_t pci_find_capability(PCIDevice *pdev, uint8_t cap_id);

/* ------------------------------------------------------------------------ */
/* BARs */

/*
 * Declare region @region_num (0..5 or PCI_ROM_SLOT) of @type
 * (PCI_BASE_ADDRESS_SPACE_IO or PCI_BASE_ADDRESS_SPACE_MEMORY with
 * PCI_BASE_ADDRESS_MEM_TYPE_64 and/or PCI_BASE_ADDRESS_MEM_PREFETCH) backed
 * by @memory, whose size must be a power of two (at least 4 for I/O, 16 for
 * memory, 2048 for a ROM).  A 64-bit BAR uses @region_num + 1 too.  The
 * BAR is unmapped until the guest programs it and enables decoding.
 * @memory stays the device's: it must live until the exit hook.
 */
void pci_register_bar(PCIDevice *pci_dev, int region_num, uint8_t type, MemoryRegion *memory);
/* Where region @region_num is mapped, or PCI_BAR_UNMAPPED. */
pcibus_t pci_get_bar_addr(PCIDevice *pci_dev, int region_num);
/* Config offset of the register of region @reg (the ROM: 0x30). */
int pci_bar(PCIDevice *d, int reg);

/* ------------------------------------------------------------------------ */
/* INTx */

/* INTx pin index 0..3 from config[PCI_INTERRUPT_PIN] (which must be 1..4). */
static inline int pci_intx(PCIDevice *pci_dev)
{
    return pci_get_byte(pci_dev->config + PCI_INTERRUPT_PIN) - 1;
}

/*
 * Drive the device's INTx pin to @level (0/1).  Reflected in the status
 * register's interrupt bit; not forwarded while the command register's
 * INTx disable bit is set (and forwarded when it is cleared again).
 */
void pci_set_irq(PCIDevice *pci_dev, int level);

static inline void pci_irq_assert(PCIDevice *pci_dev)
{
    pci_set_irq(pci_dev, 1);
}

static inline void pci_irq_deassert(PCIDevice *pci_dev)
{
    pci_set_irq(pci_dev, 0);
}

/* Lower every pin (MSI enabled, reset, unplug). */
void pci_device_deassert_intx(PCIDevice *dev);
/* The GSI pin @pin (0..3) of @dev reaches. */
PCIINTxRoute pci_device_route_intx_to_irq(PCIDevice *dev, int pin);
bool pci_intx_route_changed(PCIINTxRoute *old, PCIINTxRoute *new);
/* Called when the bus's routing changes (never on q35 today; kept for vfio-pci). */
void pci_device_set_intx_routing_notifier(PCIDevice *dev, PCIINTxRoutingNotifier notifier);

/* ------------------------------------------------------------------------ */
/* Bus mastering and DMA */

/* The device's DMA view (gated by the bus master enable bit). */
static inline AddressSpace *pci_get_address_space(PCIDevice *dev)
{
    return &dev->bus_master_as;
}

/* The address space behind the gate (system memory, or an IOMMU's). */
AddressSpace *pci_device_iommu_address_space(PCIDevice *dev);

/* Requester id (bus << 8 | devfn) of the device's transactions. */
uint16_t pci_requester_id(PCIDevice *dev);

/*
 * DMA through the device's bus-master address space, tagged with its
 * requester id.  MEMTX_ACCESS_ERROR (nothing transferred) when called from
 * inside another DMA or MSI of the same device (see dma_engaged).
 */
MemTxResult pci_dma_rw(PCIDevice *dev, pcibus_t addr, void *buf, pcibus_t len, bool is_write);

static inline MemTxResult pci_dma_read(PCIDevice *dev, pcibus_t addr, void *buf, pcibus_t len)
{
    return pci_dma_rw(dev, addr, buf, len, false);
}

static inline MemTxResult pci_dma_write(PCIDevice *dev, pcibus_t addr, const void *buf,
                                        pcibus_t len)
{
    return pci_dma_rw(dev, addr, (void *)buf, len, true);
}

/* Deliver an MSI/MSI-X message: a dword write through bus_master_as (guarded as DMA). */
void pci_send_msi_message(PCIDevice *dev, MSIMessage msg);

/* ------------------------------------------------------------------------ */
/* Devices and buses */

/* The bus the device is plugged into (valid while realized). */
static inline PCIBus *pci_get_bus(const PCIDevice *dev)
{
    return (PCIBus *)dev->qdev.parent_bus;
}

/* Bus number of @bus (0: Aperture has no bridges). */
int pci_bus_num(PCIBus *bus);
/* The device at @devfn of bus @bus_num, or NULL. */
PCIDevice *pci_find_device(PCIBus *bus, int bus_num, uint8_t devfn);
/* Call @fn for each device of @bus in devfn order. */
void pci_for_each_device(PCIBus *bus, void (*fn)(PCIBus *bus, PCIDevice *dev, void *opaque),
                         void *opaque);
/* Full reset of the PCI state of @dev (what a bus reset or FLR does). */
void pci_device_reset(PCIDevice *dev);

/*
 * Create and realize a device of @typename at @devfn (-1: first free) on
 * @bus; NULL with *errp set on failure.  The bus holds the device.
 */
PCIDevice *pci_create_simple(PCIBus *bus, int devfn, const char *typename, Error **errp);

#endif /* HW_PCI_PCI_H */
