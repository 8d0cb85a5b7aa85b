/*
 * vfio-pci: a host PCI device assigned to the guest through VFIO
 * (hw/vfio/pci.c, pci-config.c, pci-intr.c).
 *
 *   -device vfio-pci,host=0000:00:01.0[,id=ID][,addr=SLOT.FN][,x-no-mmap=on]
 *           [,rombar=0|1][,romfile=PATH][,multifunction=on][,enable-migration=auto]
 *   -device vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:00:01.0
 *
 * What the guest sees is the host device's config space with Aperture's
 * emulation layered over it (pci-config.c): the BARs, the ROM BAR, the
 * I/O and memory decode bits of the command register, the interrupt line,
 * the capability list (capabilities Aperture cannot virtualize are
 * unlinked) and the MSI and MSI-X capabilities are Aperture's; every
 * other bit is read from and written to the device through the config
 * region, where the kernel's vfio-pci applies its own virtualization.
 *
 * The BARs (pci.c) are containers registered with the PCI core; inside
 * each, the region's slow path (pread/pwrite through the device fd) with
 * the mmap'd parts as RAM-device subregions over it, the MSI-X table and
 * PBA overlays (never mmap'd), and the INTx end-of-interrupt trap.
 *
 * Interrupts (pci-intr.c): INTx, MSI and MSI-X vectors are eventfds
 * registered with VFIO_DEVICE_SET_IRQS; the main loop turns them into
 * pci_set_irq() levels and MSI/MSI-X messages written through the
 * device's bus-master address space.
 *
 * Threading: main loop thread only.
 */
#ifndef HW_VFIO_VFIO_PCI_H
#define HW_VFIO_VFIO_PCI_H

#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "hw/vfio/vfio-device.h"
#include "qemu/event_notifier.h"

#define TYPE_VFIO_PCI "vfio-pci"
OBJECT_DECLARE_SIMPLE_TYPE(VFIOPCIDevice, VFIO_PCI)

/* Length of the MSI-X capability (PCI 3.0 6.8.2). */
#define VFIO_PCI_MSIX_CAP_LENGTH 12
/* Priority of the INTx end-of-interrupt trap over everything else in a BAR. */
#define VFIO_PCI_EOI_TRAP_PRIORITY 10

/* How the device signals interrupts now. */
typedef enum VFIOPCIInterruptMode {
    VFIO_PCI_INT_NONE,
    VFIO_PCI_INT_INTX,
    VFIO_PCI_INT_MSI,
    VFIO_PCI_INT_MSIX,
} VFIOPCIInterruptMode;

typedef struct VFIOPCIDevice VFIOPCIDevice;

/* One BAR (0..5). */
typedef struct VFIOPCIBar {
    VFIOPCIDevice *vdev;            /* back pointer (not owned) */
    uint8_t nr;                     /* BAR number */
    VFIORegion region;              /* slow path + mmaps (hw/vfio/region.c) */
    /*
     * What the PCI core maps: a container of @size bytes holding
     * region.mem at 0, the MSI-X overlays (priority 1, added by msix_init)
     * and @eoi_trap.  Initialised when @registered.
     */
    MemoryRegion mr;
    /*
     * Covers the whole region while an INTx is pending: any guest access
     * to the BAR is the guest servicing the interrupt (see pci-intr.c).
     * Disabled otherwise, so the mmaps serve accesses directly.
     */
    MemoryRegion eoi_trap;
    uint64_t size;                  /* bytes of @mr: region size rounded to a power of two */
    uint8_t type;                   /* type bits given to pci_register_bar */
    bool ioport;                    /* I/O space BAR */
    bool mem64;                     /* 64-bit memory BAR (takes nr + 1 too) */
    bool registered;                /* @mr, @eoi_trap exist and the PCI core knows @mr */
} VFIOPCIBar;

/* The device's MSI-X capability as read at realize (pci-config.c). */
typedef struct VFIOPCIMSIXInfo {
    uint8_t cap;                    /* config offset of the capability */
    uint8_t table_bar;              /* BIR of the table */
    uint8_t pba_bar;                /* BIR of the PBA */
    uint32_t table_offset;          /* bytes into table_bar */
    uint32_t pba_offset;            /* bytes into pba_bar */
    uint16_t entries;               /* vectors (table size) */
    bool noresize;                  /* kernel: MSI-X vectors cannot be added while enabled */
} VFIOPCIMSIXInfo;

/* One MSI or MSI-X vector's eventfd. */
typedef struct VFIOPCIMSIVector {
    VFIOPCIDevice *vdev;            /* back pointer */
    EventNotifier interrupt;        /* registered with SET_IRQS while @use */
    bool use;                       /* notifier initialised and handled */
} VFIOPCIMSIVector;

/* INTx state. */
typedef struct VFIOPCIINTx {
    uint8_t pin;                    /* 0 = INTA .. 3 = INTD (valid when has_pin) */
    bool has_pin;                   /* the device has an interrupt pin and VFIO offers INTx */
    bool enabled;                   /* @interrupt is registered with SET_IRQS */
    bool pending;                   /* asserted to the guest, waiting for its EOI */
    EventNotifier interrupt;        /* the trigger eventfd */
    PCIINTxRoute route;             /* where the pin goes (tracked for traces) */
    uint64_t count;                 /* interrupts delivered (query-vfio, tests) */
} VFIOPCIINTx;

struct VFIOPCIDevice {
    PCIDevice pdev;
    VFIODevice vbasedev;            /* the VFIO side: fd, regions, IRQ helpers */

    /* Properties */
    PCIHostDeviceAddress host;      /* host=; domain ~0 when not given */
    char *sysfsdev;                 /* sysfsdev=; owned */
    bool no_mmap;                   /* x-no-mmap: every BAR access traps */
    bool req_enabled_prop;          /* x-req: unplug when the kernel asks for the device */
    OnOffAuto enable_migration;     /* VFIO migration: on, off or auto (hw/vfio/migration.c) */

    /* Set up at realize */
    bool attached;                  /* vfio_device_attach succeeded */
    uint32_t config_size;           /* bytes of the device's config region */
    /*
     * Per config byte of pdev.config_size: the bits Aperture emulates (read
     * from pdev.config); the others are read from the device.  Bytes past
     * the device's config region are fully emulated.  Owned.
     */
    uint8_t *emulated_config_bits;
    uint8_t msi_cap_size;           /* bytes of the MSI capability, 0 without MSI */
    VFIOPCIMSIXInfo *msix;          /* NULL when the device has no usable MSI-X; owned */
    VFIOPCIBar bars[PCI_ROM_SLOT];
    bool config_write_warned;       /* one warning for failing config writes */

    /* Expansion ROM read from the device's ROM region (not romfile=) */
    bool has_dev_rom;               /* @rom_mr is registered as the ROM BAR */
    MemoryRegion rom_mr;
    uint64_t rom_size;              /* bytes in the ROM region */
    uint8_t *rom;                   /* its contents, read on first access; owned */
    bool rom_read_failed;

    /* Interrupts */
    VFIOPCIInterruptMode interrupt;
    VFIOPCIINTx intx;
    VFIOPCIMSIVector *msi_vectors;  /* MSI: nr_vectors, MSI-X: msix->entries; owned */
    unsigned int nr_vectors;        /* vectors registered with SET_IRQS (MSI-X: highest + 1) */
    uint64_t msi_count;             /* MSI/MSI-X messages delivered */
    bool req_enabled;               /* the REQ eventfd is registered */
    EventNotifier req_notifier;

    /* Hot reset (hw/vfio/pci-reset.c), for devices without VFIO_DEVICE_RESET */
    bool has_bus_reset;             /* the kernel offers a slot or bus reset */
    bool needs_bus_reset;           /* left to the machine reset handler */
    uint64_t hot_resets;            /* hot resets that reached it (query-vfio, tests) */
    bool hot_reset_warned;          /* one warning for a hot reset that cannot be done */
};

/* ------------------------------------------------------------------------ */
/* hw/vfio/pci-config.c: config space */

/*
 * Read the device's config space into pdev.config and build the emulated
 * view: header bits, BAR and ROM registers cleared, decode bits off.
 */
bool vfio_pci_config_setup(VFIOPCIDevice *vdev, Error **errp);
/* Find and check the MSI-X capability before the BARs exist (vdev->msix). */
void vfio_pci_msix_early_setup(VFIOPCIDevice *vdev);
/*
 * Rebuild the capability lists: keep what Aperture passes through or
 * virtualizes (MSI and MSI-X through msi_init/msix_init), unlink the rest.
 * Needs the BARs (for MSI-X).  A capability the device gets wrong (a
 * truncated MSI, an MSI-X table outside its BAR) is hidden with a warning.
 */
void vfio_pci_add_capabilities(VFIOPCIDevice *vdev);
/* Free what config setup allocated. */
void vfio_pci_config_teardown(VFIOPCIDevice *vdev);
/* Mark @len bytes at @off fully emulated. */
void vfio_pci_emulate_bytes(VFIOPCIDevice *vdev, uint32_t off, uint32_t len);
/* PCIDeviceClass config hooks. */
uint32_t vfio_pci_read_config(PCIDevice *pdev, uint32_t addr, int len);
void vfio_pci_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val, int len);
/* Raw config region access: bytes transferred or -errno. */
ssize_t vfio_pci_config_pread(VFIOPCIDevice *vdev, uint32_t off, void *buf, size_t len);
ssize_t vfio_pci_config_pwrite(VFIOPCIDevice *vdev, uint32_t off, const void *buf,
                               size_t len);

/* ------------------------------------------------------------------------ */
/* hw/vfio/pci-intr.c: interrupts */

/* Read INTx availability (pin, IRQ info) at realize. */
void vfio_pci_intx_probe(VFIOPCIDevice *vdev);
/* Register the INTx eventfd (after disabling whatever is enabled). */
bool vfio_pci_intx_enable(VFIOPCIDevice *vdev, Error **errp);
/* The guest serviced the interrupt: lower the line and unmask INTx in VFIO. */
void vfio_pci_intx_eoi(VFIOPCIDevice *vdev);
/* Whatever mode is enabled, disable it (MSI/MSI-X first, then INTx). */
void vfio_pci_disable_interrupts(VFIOPCIDevice *vdev);
/* Config writes to the MSI or MSI-X capability changed their enable bits. */
void vfio_pci_msi_update(VFIOPCIDevice *vdev, bool was_enabled, bool is_enabled);
void vfio_pci_msix_update(VFIOPCIDevice *vdev, bool was_enabled, bool is_enabled);
/* The kernel's device request (REQ) eventfd: unplug when signalled. */
void vfio_pci_register_req_notifier(VFIOPCIDevice *vdev);
void vfio_pci_unregister_req_notifier(VFIOPCIDevice *vdev);
/* Name of a mode, for traces and query-vfio ("none", "intx", "msi", "msix"). */
const char *vfio_pci_interrupt_mode_name(VFIOPCIInterruptMode mode);

/* ------------------------------------------------------------------------ */
/* hw/vfio/pci-reset.c: PCI hot reset */

typedef enum VFIOPCIHotReset {
    VFIO_PCI_HOT_RESET_DONE,
    VFIO_PCI_HOT_RESET_NEEDS_PEERS, /* @single, but other devices of this VM are reached */
    VFIO_PCI_HOT_RESET_FAILED,      /* with *errp */
} VFIOPCIHotReset;

/* At realize: can the device be hot reset (has_bus_reset)? */
void vfio_pci_hot_reset_probe(VFIOPCIDevice *vdev);
/*
 * Reset @vdev's slot or bus, proving ownership with this VM's group fds.
 * @single: for @vdev alone, so not if it would reset another device
 * assigned to this VM (then NEEDS_PEERS; the machine reset does it).
 */
VFIOPCIHotReset vfio_pci_hot_reset(VFIOPCIDevice *vdev, bool single, Error **errp);

/* ------------------------------------------------------------------------ */
/* hw/vfio/pci-state.c: emulated state for migration */

/* The core's hooks into vfio-pci: save and load its config space and MSI-X table. */
extern const VFIODeviceOps vfio_pci_device_ops;

/* ------------------------------------------------------------------------ */
/* hw/vfio/pci.c */

/* Show or hide the INTx EOI trap on every BAR. */
void vfio_pci_eoi_trap_set_enabled(VFIOPCIDevice *vdev, bool enabled);
/* Realized vfio-pci devices, in realize order (VFIOPCIDevice *; do not free). */
GList *vfio_pci_device_list(void);

#endif /* HW_VFIO_VFIO_PCI_H */
