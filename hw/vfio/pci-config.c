/*
 * vfio-pci config space: the device's registers with Aperture's emulation
 * layered over them (include/hw/vfio/vfio-pci.h).
 *
 * emulated_config_bits says, bit by bit, whether a read is answered from
 * pdev.config (Aperture's state, kept by the PCI core and msi/msix) or from
 * the device through the config region.  Every guest write goes to the
 * device first -- the kernel's vfio-pci decides what the hardware may see
 * (drivers/vfio/pci/vfio_pci_config.c: BARs, MSI and MSI-X are virtual
 * there too, the command register is filtered) -- and then to the PCI
 * core, which keeps the emulated bits and acts on them (BAR mappings, bus
 * master gate, MSI/MSI-X state).
 *
 * What is emulated:
 *   - BARs and the ROM BAR: sizes and types come from the regions, the
 *     guest's addresses stay in Aperture (the PCI core maps the BARs);
 *   - command: I/O and memory decode (they decide whether Aperture maps
 *     the BARs); bus master and INTx disable are read back from the
 *     device, which really needs them (DMA, interrupt masking);
 *   - the multifunction bit of the header type (the multifunction=
 *     property), the interrupt line, the capability list pointer and
 *     every capability's next pointer (so capabilities can be dropped);
 *   - the MSI and MSI-X capabilities entirely (msi.c, msix.c);
 *   - config space past the end of the device's (a conventional device
 *     behind Aperture's PCI Express bus): reads as zero, writes ignored.
 *
 * Capabilities are walked defensively (a looped, misaligned or truncated
 * list from the device must not hang or crash Aperture) and rebuilt with
 * only those Aperture passes through or virtualizes; the rest are unlinked
 * from the guest's list, standard and extended alike.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/range.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/vfio/vfio-pci.h"
#include "trace/trace-hw_vfio.h"

/* ------------------------------------------------------------------------ */
/* The config region */

ssize_t vfio_pci_config_pread(VFIOPCIDevice *vdev, uint32_t off, void *buf, size_t len)
{
    VFIODevice *vbasedev = &vdev->vbasedev;

    if (off >= vdev->config_size || len > vdev->config_size - off) {
        return -EINVAL;
    }
    return vbasedev->io_ops->region_read(vbasedev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf,
                                         len);
}

ssize_t vfio_pci_config_pwrite(VFIOPCIDevice *vdev, uint32_t off, const void *buf,
                               size_t len)
{
    VFIODevice *vbasedev = &vdev->vbasedev;

    if (off >= vdev->config_size || len > vdev->config_size - off) {
        return -EINVAL;
    }
    return vbasedev->io_ops->region_write(vbasedev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf,
                                          len);
}

void vfio_pci_emulate_bytes(VFIOPCIDevice *vdev, uint32_t off, uint32_t len)
{
    if (off >= vdev->pdev.config_size) {
        return;
    }
    len = MIN(len, vdev->pdev.config_size - off);
    memset(vdev->emulated_config_bits + off, 0xff, len);
}

/* Emulate the bits @mask of the word at @off (little endian). */
static void vfio_pci_emulate_word_bits(VFIOPCIDevice *vdev, uint32_t off, uint16_t mask)
{
    pci_set_word(vdev->emulated_config_bits + off,
                 pci_get_word(vdev->emulated_config_bits + off) | mask);
}

static void vfio_pci_emulate_long_bits(VFIOPCIDevice *vdev, uint32_t off, uint32_t mask)
{
    pci_set_long(vdev->emulated_config_bits + off,
                 pci_get_long(vdev->emulated_config_bits + off) | mask);
}

/* ------------------------------------------------------------------------ */
/* Guest accesses */

uint32_t vfio_pci_read_config(PCIDevice *pdev, uint32_t addr, int len)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    uint32_t mask = 0xffffffffu >> (32 - len * 8);
    uint32_t emu_bits = 0, emu_val = 0, phys_val = 0, val;

    memcpy(&emu_bits, vdev->emulated_config_bits + addr, len);
    emu_bits = GUINT32_FROM_LE(emu_bits) & mask;
    if (emu_bits) {
        emu_val = pci_default_read_config(pdev, addr, len);
    }
    if (~emu_bits & mask) {
        /* Bytes past the device's config space are all emulated: read up to its end. */
        uint32_t n = MIN((uint32_t)len, vdev->config_size - addr);
        uint32_t le = 0;
        ssize_t ret = vfio_pci_config_pread(vdev, addr, &le, n);

        if (ret != n) {
            /* The device stopped answering: what a master abort reads. */
            trace_vfio_pci_config_access_failed(vdev->vbasedev.name, "read", addr, len,
                                                ret < 0 ? (int)ret : -EIO);
            phys_val = mask;
        } else {
            phys_val = GUINT32_FROM_LE(le);
        }
    }
    val = (emu_val & emu_bits) | (phys_val & ~emu_bits);
    trace_vfio_pci_read_config(vdev->vbasedev.name, addr, len, val);
    return val;
}

void vfio_pci_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val, int len)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    bool msi_hit = msi_present(pdev) &&
                   ranges_overlap(addr, len, pdev->msi_cap, vdev->msi_cap_size);
    bool msix_hit = msix_present(pdev) &&
                    ranges_overlap(addr, len, pdev->msix_cap, VFIO_PCI_MSIX_CAP_LENGTH);
    bool msi_was = msi_enabled(pdev), msix_was = msix_enabled(pdev);
    bool intx_was_disabled = pci_get_word(pdev->config + PCI_COMMAND) &
                             PCI_COMMAND_INTX_DISABLE;

    trace_vfio_pci_write_config(vdev->vbasedev.name, addr, len, val);

    /* Everything goes to the device; the kernel filters what it must. */
    if (addr < vdev->config_size) {
        uint32_t n = MIN((uint32_t)len, vdev->config_size - addr);
        uint32_t le = GUINT32_TO_LE(val);
        ssize_t ret = vfio_pci_config_pwrite(vdev, addr, &le, n);

        if (ret != (ssize_t)n) {
            trace_vfio_pci_config_access_failed(vdev->vbasedev.name, "write", addr, n,
                                                ret < 0 ? (int)ret : -EIO);
            if (!vdev->config_write_warned) {
                vdev->config_write_warned = true;
                warn_report("vfio %s: config write of %u bytes at 0x%x failed: %s "
                            "(reported once)", vdev->vbasedev.name, n, addr,
                            ret < 0 ? strerror((int)-ret) : "short write");
            }
        }
    }

    /* Then to the PCI core, which keeps the emulated bits and acts on them. */
    pci_default_write_config(pdev, addr, val, len);

    if (ranges_overlap(addr, len, PCI_COMMAND, 2)) {
        bool intx_disabled = pci_get_word(pdev->config + PCI_COMMAND) &
                             PCI_COMMAND_INTX_DISABLE;

        if (intx_disabled && vdev->intx.pending) {
            /*
             * A guest masking INTx with the command register has serviced
             * the interrupt as far as we can tell (its line is down now):
             * re-arm VFIO, which keeps the device quiet while INTx disable
             * is set.
             */
            vfio_pci_intx_eoi(vdev);
        } else if (!intx_disabled && intx_was_disabled &&
                   vdev->interrupt == VFIO_PCI_INT_INTX && !vdev->intx.pending) {
            /*
             * Unmasked again: a device still asserting its line must be
             * heard.  Linux unmasks by itself here; asking again costs
             * nothing and does not depend on it.
             */
            vfio_device_irq_unmask(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX);
        }
    }
    if (msi_hit) {
        vfio_pci_msi_update(vdev, msi_was, msi_enabled(pdev));
    }
    if (msix_hit) {
        vfio_pci_msix_update(vdev, msix_was, msix_enabled(pdev));
    }
}

/* ------------------------------------------------------------------------ */
/* Set-up: the header */

bool vfio_pci_config_setup(VFIOPCIDevice *vdev, Error **errp)
{
    PCIDevice *pdev = &vdev->pdev;
    uint32_t n = MIN(pdev->config_size, vdev->config_size);
    ssize_t ret;
    uint8_t pin;

    ret = vfio_pci_config_pread(vdev, 0, pdev->config, n);
    if (ret != (ssize_t)n) {
        error_setg_errno(errp, ret < 0 ? (int)-ret : EIO,
                         "cannot read the device's config space (%u bytes)", n);
        return false;
    }
    vdev->emulated_config_bits = g_malloc0(pdev->config_size);

    /* Past the device's config space: zeros that nobody can change. */
    if (pdev->config_size > vdev->config_size) {
        uint32_t tail = pdev->config_size - vdev->config_size;

        vfio_pci_emulate_bytes(vdev, vdev->config_size, tail);
        memset(pdev->config + vdev->config_size, 0, tail);
        memset(pdev->wmask + vdev->config_size, 0, tail);
        memset(pdev->w1cmask + vdev->config_size, 0, tail);
        trace_vfio_pci_config_tail_emulated(vdev->vbasedev.name, vdev->config_size,
                                            pdev->config_size);
    }

    /* BARs and ROM: Aperture's (the PCI core programs them). */
    vfio_pci_emulate_bytes(vdev, PCI_BASE_ADDRESS_0, 6 * 4);
    vfio_pci_emulate_bytes(vdev, PCI_ROM_ADDRESS, 4);
    memset(pdev->config + PCI_BASE_ADDRESS_0, 0, 6 * 4);
    memset(pdev->config + PCI_ROM_ADDRESS, 0, 4);

    /* Decoding is Aperture's; bus mastering and INTx disable stay the device's. */
    vfio_pci_emulate_word_bits(vdev, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    pci_word_test_and_clear_mask(pdev->config + PCI_COMMAND,
                                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                 PCI_COMMAND_INTX_DISABLE);

    /* One function or several is the multifunction= property's business. */
    vdev->emulated_config_bits[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MFD;
    if (pdev->multifunction) {
        pdev->config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MFD;
    } else {
        pdev->config[PCI_HEADER_TYPE] &= ~PCI_HEADER_TYPE_MFD;
    }

    /* The interrupt line is the guest's scratch register; the pin is the device's. */
    vfio_pci_emulate_bytes(vdev, PCI_INTERRUPT_LINE, 1);
    pdev->config[PCI_INTERRUPT_LINE] = 0;
    pin = pdev->config[PCI_INTERRUPT_PIN];
    if (pin > PCI_NUM_PINS) {
        /* Not a pin a PCI device can have: show none. */
        trace_vfio_pci_bad_interrupt_pin(vdev->vbasedev.name, pin);
        vfio_pci_emulate_bytes(vdev, PCI_INTERRUPT_PIN, 1);
        pdev->config[PCI_INTERRUPT_PIN] = 0;
    }
    trace_vfio_pci_config_setup(vdev->vbasedev.name, vdev->config_size, pdev->config_size,
                                pci_get_word(pdev->config + PCI_VENDOR_ID),
                                pci_get_word(pdev->config + PCI_DEVICE_ID));
    return true;
}

void vfio_pci_config_teardown(VFIOPCIDevice *vdev)
{
    g_clear_pointer(&vdev->emulated_config_bits, g_free);
    g_clear_pointer(&vdev->msix, g_free);
    vdev->msi_cap_size = 0;
}

/* ------------------------------------------------------------------------ */
/* Standard capabilities */

/* The most capabilities 192 bytes of dword-aligned entries can hold. */
#define VFIO_PCI_STD_CAP_MAX ((PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE) / 4)

typedef struct VFIOPCICap {
    uint16_t offset;
    uint16_t id;
    uint16_t size;              /* bytes up to the next capability (or the end) */
} VFIOPCICap;

/*
 * The standard capability list as the device presents it, in list order:
 * at most VFIO_PCI_STD_CAP_MAX entries, each dword aligned (the low two
 * pointer bits are reserved and ignored, as the spec says), inside the
 * capability area and the device's config space, never visited twice.
 * A bad link ends the walk (what follows is unreachable).
 */
static unsigned vfio_pci_std_caps(VFIOPCIDevice *vdev, VFIOPCICap *caps)
{
    const uint8_t *config = vdev->pdev.config;
    uint32_t limit = MIN(vdev->config_size, (uint32_t)PCI_CONFIG_SPACE_SIZE);
    uint8_t seen[PCI_CONFIG_SPACE_SIZE / 4] = { 0 };
    unsigned n = 0;
    uint8_t pos;

    if (!(config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    for (pos = config[PCI_CAPABILITY_LIST] & ~3; pos; pos = config[pos + PCI_CAP_LIST_NEXT] & ~3) {
        if (pos < PCI_CONFIG_HEADER_SIZE || pos + 2u > limit || seen[pos / 4] ||
            n == VFIO_PCI_STD_CAP_MAX) {
            trace_vfio_pci_cap_walk_stopped(vdev->vbasedev.name, pos, n);
            break;
        }
        seen[pos / 4] = 1;
        caps[n].offset = pos;
        caps[n].id = config[pos + PCI_CAP_LIST_ID];
        n++;
    }
    /* Each capability may use the bytes up to the next one (QEMU's sizing). */
    for (unsigned i = 0; i < n; i++) {
        uint32_t next = limit;

        for (unsigned j = 0; j < n; j++) {
            if (caps[j].offset > caps[i].offset && caps[j].offset < next) {
                next = caps[j].offset;
            }
        }
        caps[i].size = next - caps[i].offset;
    }
    return n;
}

/* Whether Aperture shows standard capability @id to the guest, and why not. */
static bool vfio_pci_std_cap_supported(uint8_t id, const char **why)
{
    switch (id) {
    case PCI_CAP_ID_PM:         /* power states: the kernel arbitrates D-state changes */
    case PCI_CAP_ID_VPD:        /* the kernel virtualizes VPD accesses */
    case PCI_CAP_ID_MSI:        /* emulated (msi.c) */
    case PCI_CAP_ID_VNDR:       /* opaque to everyone but the driver */
    case PCI_CAP_ID_EXP:        /* the kernel filters the control registers */
    case PCI_CAP_ID_MSIX:       /* emulated (msix.c) */
        return true;
    case PCI_CAP_ID_AF:
        *why = "its FLR would reset the device behind Aperture's interrupt state";
        return false;
    case PCI_CAP_ID_EA:
        *why = "enhanced allocation fixes BAR addresses Aperture cannot honour";
        return false;
    case PCI_CAP_ID_PCIX:
    case PCI_CAP_ID_HT:
        *why = "bus-specific: meaningless on Aperture's bus";
        return false;
    case PCI_CAP_ID_SSVID:
    case PCI_CAP_ID_SLOTID:
    case PCI_CAP_ID_SHPC:
    case PCI_CAP_ID_CHSWP:
        *why = "bridge or hot-swap capability of the host topology";
        return false;
    default:
        *why = "not virtualized by Aperture";
        return false;
    }
}

/* Size of an MSI capability with @flags. */
static uint8_t vfio_pci_msi_cap_size(uint16_t flags)
{
    return 0x0a + ((flags & PCI_MSI_FLAGS_64BIT) ? 4 : 0) +
           ((flags & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);
}

static bool vfio_pci_msi_setup(VFIOPCIDevice *vdev, const VFIOPCICap *cap)
{
    PCIDevice *pdev = &vdev->pdev;
    uint16_t flags = pci_get_word(pdev->config + cap->offset + PCI_MSI_FLAGS);
    unsigned int vectors = 1u << ((flags & PCI_MSI_FLAGS_QMASK) >> 1);
    uint8_t size = vfio_pci_msi_cap_size(flags);
    struct vfio_irq_info info;
    Error *err = NULL;
    int ret;

    if (size > cap->size) {
        warn_report("vfio %s: the MSI capability at 0x%x needs %u bytes, only %u fit "
                    "before the next capability: MSI hidden", vdev->vbasedev.name,
                    cap->offset, size, cap->size);
        return false;
    }
    if (vectors > PCI_MSI_VECTORS_MAX) {
        vectors = PCI_MSI_VECTORS_MAX;   /* QMASK 6 and 7 are reserved */
    }
    ret = vfio_device_get_irq_info(&vdev->vbasedev, VFIO_PCI_MSI_IRQ_INDEX, &info);
    if (ret || info.count == 0) {
        trace_vfio_pci_cap_dropped(vdev->vbasedev.name, cap->id, cap->offset,
                                   "VFIO offers no MSI vectors");
        return false;
    }
    /* The guest may enable no more vectors than the kernel can register. */
    while (vectors > info.count && vectors > 1) {
        vectors >>= 1;
    }
    if (!msi_init(pdev, cap->offset, vectors, flags & PCI_MSI_FLAGS_64BIT,
                  flags & PCI_MSI_FLAGS_MASKBIT, &err)) {
        warn_report("vfio %s: %s: MSI hidden", vdev->vbasedev.name, error_get_pretty(err));
        error_free(err);
        return false;
    }
    vdev->msi_cap_size = size;
    vfio_pci_emulate_bytes(vdev, cap->offset, size);
    trace_vfio_pci_msi_setup(vdev->vbasedev.name, cap->offset, vectors,
                             !!(flags & PCI_MSI_FLAGS_64BIT), !!(flags & PCI_MSI_FLAGS_MASKBIT));
    return true;
}

void vfio_pci_msix_early_setup(VFIOPCIDevice *vdev)
{
    VFIOPCICap caps[VFIO_PCI_STD_CAP_MAX];
    unsigned n = vfio_pci_std_caps(vdev, caps);
    const uint8_t *config = vdev->pdev.config;
    struct vfio_irq_info info;
    VFIOPCIMSIXInfo *msix;
    uint16_t ctrl;
    uint32_t table, pba;

    for (unsigned i = 0; i < n; i++) {
        if (caps[i].id != PCI_CAP_ID_MSIX) {
            continue;
        }
        if (caps[i].size < VFIO_PCI_MSIX_CAP_LENGTH) {
            warn_report("vfio %s: the MSI-X capability at 0x%x is truncated: MSI-X hidden",
                        vdev->vbasedev.name, caps[i].offset);
            return;
        }
        ctrl = pci_get_word(config + caps[i].offset + PCI_MSIX_FLAGS);
        table = pci_get_long(config + caps[i].offset + PCI_MSIX_TABLE);
        pba = pci_get_long(config + caps[i].offset + PCI_MSIX_PBA);
        msix = g_new0(VFIOPCIMSIXInfo, 1);
        msix->cap = caps[i].offset;
        msix->table_bar = table & PCI_MSIX_TABLE_BIR;
        msix->table_offset = table & PCI_MSIX_TABLE_OFFSET;
        msix->pba_bar = pba & PCI_MSIX_PBA_BIR;
        msix->pba_offset = pba & PCI_MSIX_PBA_OFFSET;
        msix->entries = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
        if (!vfio_device_get_irq_info(&vdev->vbasedev, VFIO_PCI_MSIX_IRQ_INDEX, &info)) {
            msix->noresize = info.flags & VFIO_IRQ_INFO_NORESIZE;
            if (info.count < msix->entries) {
                trace_vfio_pci_msix_vectors_clamped(vdev->vbasedev.name, msix->entries,
                                                    info.count);
                msix->entries = info.count;
            }
        } else {
            msix->entries = 0;
        }
        if (!msix->entries || msix->table_bar >= PCI_ROM_SLOT ||
            msix->pba_bar >= PCI_ROM_SLOT) {
            warn_report("vfio %s: unusable MSI-X capability (%u vectors, table in BAR %u, "
                        "PBA in BAR %u): MSI-X hidden", vdev->vbasedev.name,
                        msix->entries, msix->table_bar, msix->pba_bar);
            g_free(msix);
            return;
        }
        trace_vfio_pci_msix_early_setup(vdev->vbasedev.name, msix->cap, msix->entries,
                                        msix->table_bar, msix->table_offset, msix->pba_bar,
                                        msix->pba_offset);
        vdev->msix = msix;
        return;
    }
}

/*
 * MSI-X set-up once the BARs exist: the table and PBA must fit in
 * implemented memory BARs, else the capability is hidden (the device still
 * works with MSI or INTx).
 */
static bool vfio_pci_msix_setup(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    VFIOPCIMSIXInfo *msix = vdev->msix;
    VFIOPCIBar *tbar = &vdev->bars[msix->table_bar];
    VFIOPCIBar *pbar = &vdev->bars[msix->pba_bar];
    uint64_t table_size = (uint64_t)msix->entries * PCI_MSIX_ENTRY_SIZE;
    uint64_t pba_size = DIV_ROUND_UP(msix->entries, 64) * 8;
    Error *err = NULL;

    if (!tbar->registered || !pbar->registered || tbar->ioport || pbar->ioport ||
        msix->table_offset + table_size > tbar->region.size ||
        msix->pba_offset + pba_size > pbar->region.size) {
        warn_report("vfio %s: the MSI-X table or PBA lies outside its BAR: MSI-X hidden",
                    vdev->vbasedev.name);
        return false;
    }
    if (!msix_init(pdev, msix->entries, &tbar->mr, msix->table_bar, msix->table_offset,
                   &pbar->mr, msix->pba_bar, msix->pba_offset, msix->cap, &err)) {
        warn_report("vfio %s: %s: MSI-X hidden", vdev->vbasedev.name,
                    error_get_pretty(err));
        error_free(err);
        return false;
    }
    vfio_pci_emulate_bytes(vdev, msix->cap, VFIO_PCI_MSIX_CAP_LENGTH);
    return true;
}

/*
 * Add @cap to the emulated list: MSI and MSI-X through their emulation,
 * everything else as a pass-through capability.  False: it is left out
 * (a capability the device gets wrong costs the guest that capability,
 * not the device).
 */
static bool vfio_pci_add_std_cap(VFIOPCIDevice *vdev, const VFIOPCICap *cap)
{
    const char *why = NULL;
    Error *err = NULL;

    if (!vfio_pci_std_cap_supported(cap->id, &why)) {
        trace_vfio_pci_cap_dropped(vdev->vbasedev.name, cap->id, cap->offset, why);
        return false;
    }
    switch (cap->id) {
    case PCI_CAP_ID_MSI:
        if (msi_present(&vdev->pdev)) {
            trace_vfio_pci_cap_dropped(vdev->vbasedev.name, cap->id, cap->offset,
                                       "a second MSI capability");
            return false;
        }
        return vfio_pci_msi_setup(vdev, cap);
    case PCI_CAP_ID_MSIX:
        if (!vdev->msix || vdev->msix->cap != cap->offset) {
            trace_vfio_pci_cap_dropped(vdev->vbasedev.name, cap->id, cap->offset,
                                       "unusable or a second MSI-X capability");
            return false;
        }
        return vfio_pci_msix_setup(vdev);
    default:
        if (pci_add_capability(&vdev->pdev, cap->id, cap->offset, cap->size, &err) < 0) {
            warn_report("vfio %s: %s: capability 0x%x hidden", vdev->vbasedev.name,
                        error_get_pretty(err), cap->id);
            error_free(err);
            return false;
        }
        trace_vfio_pci_cap_added(vdev->vbasedev.name, cap->id, cap->offset, cap->size);
        return true;
    }
}

static void vfio_pci_add_std_caps(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    VFIOPCICap caps[VFIO_PCI_STD_CAP_MAX];
    unsigned n = vfio_pci_std_caps(vdev, caps);

    /* The list is rebuilt from nothing: head pointer and status bit are ours. */
    pdev->config[PCI_CAPABILITY_LIST] = 0;
    pdev->config[PCI_STATUS] &= ~PCI_STATUS_CAP_LIST;
    vfio_pci_emulate_bytes(vdev, PCI_CAPABILITY_LIST, 1);
    vdev->emulated_config_bits[PCI_STATUS] |= PCI_STATUS_CAP_LIST;

    /*
     * pci_add_capability links each new capability at the head, so adding
     * them from the last to the first keeps the device's order.
     */
    for (unsigned i = n; i-- > 0;) {
        /*
         * The next pointer is ours, so that a dropped capability is
         * skipped; a dropped one's bytes still read from the device, but
         * nothing links to them.
         */
        vfio_pci_emulate_bytes(vdev, caps[i].offset + PCI_CAP_LIST_NEXT, 1);
        vfio_pci_add_std_cap(vdev, &caps[i]);
    }
}

/* ------------------------------------------------------------------------ */
/* Extended capabilities */

#define VFIO_PCI_EXT_CAP_MAX ((PCIE_CONFIG_SPACE_SIZE - PCI_CONFIG_SPACE_SIZE) / 4)

/* Whether Aperture shows extended capability @id to the guest, and why not. */
static bool vfio_pci_ext_cap_supported(uint16_t id, const char **why)
{
    switch (id) {
    case PCI_EXT_CAP_ID_ERR:    /* AER: status and masks, filtered by the kernel */
    case PCI_EXT_CAP_ID_VC:
    case PCI_EXT_CAP_ID_DSN:    /* serial number, read-only */
    case PCI_EXT_CAP_ID_PWR:    /* power budgeting, read-only */
    case PCI_EXT_CAP_ID_VNDR:
    case PCI_EXT_CAP_ID_ACS:
    case PCI_EXT_CAP_ID_LTR:
    case PCI_EXT_CAP_ID_L1SS:
    case PCI_EXT_CAP_ID_DVSEC:
        return true;
    case PCI_EXT_CAP_ID_SRIOV:
        *why = "virtual functions cannot be created from the guest";
        return false;
    case PCI_EXT_CAP_ID_ARI:
        *why = "needs next-function virtualization";
        return false;
    case PCI_EXT_CAP_ID_ATS:
    case PCI_EXT_CAP_ID_PRI:
    case PCI_EXT_CAP_ID_PASID:
        *why = "needs a virtual IOMMU";
        return false;
    case PCI_EXT_CAP_ID_REBAR:
        *why = "resizing a BAR would change it behind Aperture";
        return false;
    default:
        *why = "not virtualized by Aperture";
        return false;
    }
}

/*
 * Rebuild the extended list: the next pointers are emulated and link only
 * the capabilities kept.  The head at 0x100 cannot move: when it is
 * dropped, its dword is emulated as a null header (ID 0, version 0)
 * pointing at the first capability kept, or as all zeros when none is.
 */
static void vfio_pci_add_ext_caps(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    uint32_t limit = MIN(pdev->config_size, vdev->config_size);
    uint8_t seen[PCIE_CONFIG_SPACE_SIZE / 4] = { 0 };
    uint16_t kept[VFIO_PCI_EXT_CAP_MAX];
    unsigned nkept = 0, visited = 0;
    uint16_t pos;

    if (limit <= PCI_CONFIG_SPACE_SIZE) {
        return;
    }
    for (pos = PCI_CONFIG_SPACE_SIZE; pos;) {
        uint32_t header;
        const char *why = NULL;
        uint16_t id;

        if (pos < PCI_CONFIG_SPACE_SIZE || pos + 4u > limit || (pos & 3) || seen[pos / 4] ||
            visited == VFIO_PCI_EXT_CAP_MAX) {
            trace_vfio_pci_cap_walk_stopped(vdev->vbasedev.name, pos, visited);
            break;
        }
        seen[pos / 4] = 1;
        visited++;
        header = pci_get_long(pdev->config + pos);
        if (header == 0 || header == 0xffffffffu) {
            break;
        }
        id = PCI_EXT_CAP_ID(header);
        if (vfio_pci_ext_cap_supported(id, &why)) {
            kept[nkept++] = pos;
            trace_vfio_pci_ext_cap_added(vdev->vbasedev.name, id, pos);
        } else {
            trace_vfio_pci_ext_cap_dropped(vdev->vbasedev.name, id, pos, why);
        }
        pos = PCI_EXT_CAP_NEXT(header);
    }

    if (!nkept || kept[0] != PCI_CONFIG_SPACE_SIZE) {
        uint32_t head = nkept ? (uint32_t)kept[0] << 20 : 0;

        vfio_pci_emulate_bytes(vdev, PCI_CONFIG_SPACE_SIZE, 4);
        pci_set_long(pdev->config + PCI_CONFIG_SPACE_SIZE, head);
        pci_set_long(pdev->wmask + PCI_CONFIG_SPACE_SIZE, 0);
        pci_set_long(pdev->w1cmask + PCI_CONFIG_SPACE_SIZE, 0);
    }
    for (unsigned i = 0; i < nkept; i++) {
        uint32_t next = i + 1 < nkept ? kept[i + 1] : 0;
        uint32_t header = pci_get_long(pdev->config + kept[i]);

        vfio_pci_emulate_long_bits(vdev, kept[i], 0xfff00000u);
        pci_set_long(pdev->config + kept[i], (header & 0x000fffffu) | next << 20);
        pci_set_long(pdev->wmask + kept[i], 0);
        pci_set_long(pdev->w1cmask + kept[i], 0);
    }
}

void vfio_pci_add_capabilities(VFIOPCIDevice *vdev)
{
    vfio_pci_add_std_caps(vdev);
    vfio_pci_add_ext_caps(vdev);
}
