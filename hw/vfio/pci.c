/*
 * vfio-pci: the device type, its life cycle, BARs and expansion ROM
 * (include/hw/vfio/vfio-pci.h; config space in pci-config.c, interrupts
 * in pci-intr.c).
 *
 * Realize, in order (each step undone by vfio_pci_teardown, which both a
 * failed realize and unplug use, so a failure leaves nothing behind):
 *   1. name the device (host= or sysfsdev=) and attach it through
 *      vfio_device_attach to a container of the device's DMA address space
 *      -- the bus's view behind the bus-master gate, system memory here:
 *      guest RAM must stay mapped whatever the guest does with bus
 *      mastering, since the device's own bus-master bit decides whether it
 *      DMAs;
 *   2. check it is a PCI device with a config region, read its config
 *      space and build the emulated view (pci-config.c);
 *   3. find MSI-X early: its table and PBA must not be mmap'd;
 *   4. the BARs: regions, mmaps, the containers the PCI core maps;
 *   5. the capability list (MSI and MSI-X emulation need the BARs);
 *   6. the expansion ROM, INTx, the device-request notifier.
 *
 * Unplug (device_del) runs the PCI core's unrealize: the BARs leave the
 * guest's address space and the MSI/MSI-X emulation goes, then
 * vfio_pci_exit releases interrupts, BARs and regions and detaches the
 * device -- its group and, with the last group, the container and every
 * DMA mapping go with it.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/vfio/vfio-migration.h"
#include "hw/vfio/vfio-pci.h"
#include "trace/trace-hw_vfio.h"

/* Largest expansion ROM Aperture reads from a device (the PCI core's romfile limit). */
#define VFIO_PCI_ROM_MAX_SIZE (16 * MiB)

/* Realized devices, for query-vfio. */
static GList *vfio_pci_devices;

GList *vfio_pci_device_list(void)
{
    return vfio_pci_devices;
}

/* ------------------------------------------------------------------------ */
/* The INTx end-of-interrupt trap */

/*
 * What lies under the trap at @addr of @bar: the MSI-X table or PBA
 * overlay (*@off set to the offset in it), or NULL for the device's
 * registers.  Aligned accesses of 8 bytes or less cannot straddle either
 * overlay's edges (both are 8-byte aligned, 8-byte multiples).
 */
static MemoryRegion *vfio_pci_bar_overlay(VFIOPCIBar *bar, hwaddr addr, hwaddr *off)
{
    PCIDevice *pdev = &bar->vdev->pdev;
    VFIOPCIMSIXInfo *msix = bar->vdev->msix;

    if (!msix || !msix_present(pdev)) {
        return NULL;
    }
    if (bar->nr == msix->table_bar && addr >= msix->table_offset &&
        addr - msix->table_offset < memory_region_size(&pdev->msix_table_mmio)) {
        *off = addr - msix->table_offset;
        return &pdev->msix_table_mmio;
    }
    if (bar->nr == msix->pba_bar && addr >= msix->pba_offset &&
        addr - msix->pba_offset < memory_region_size(&pdev->msix_pba_mmio)) {
        *off = addr - msix->pba_offset;
        return &pdev->msix_pba_mmio;
    }
    return NULL;
}

static uint64_t vfio_pci_eoi_trap_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOPCIBar *bar = opaque;
    MemoryRegion *overlay;
    uint64_t val;
    hwaddr off;

    overlay = vfio_pci_bar_overlay(bar, addr, &off);
    if (overlay) {
        memory_region_dispatch_read(overlay, off, &val, size, MEMTXATTRS_UNSPECIFIED);
    } else {
        val = vfio_region_read(&bar->region, addr, size);
    }
    trace_vfio_pci_eoi_trap(bar->vdev->vbasedev.name, bar->nr, addr, size, false);
    /* The access reached the device first: its handler has run by now. */
    vfio_pci_intx_eoi(bar->vdev);
    return val;
}

static void vfio_pci_eoi_trap_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    VFIOPCIBar *bar = opaque;
    MemoryRegion *overlay;
    hwaddr off;

    overlay = vfio_pci_bar_overlay(bar, addr, &off);
    if (overlay) {
        memory_region_dispatch_write(overlay, off, data, size, MEMTXATTRS_UNSPECIFIED);
    } else {
        vfio_region_write(&bar->region, addr, data, size);
    }
    trace_vfio_pci_eoi_trap(bar->vdev->vbasedev.name, bar->nr, addr, size, true);
    vfio_pci_intx_eoi(bar->vdev);
}

static const MemoryRegionOps vfio_pci_eoi_trap_ops = {
    .read = vfio_pci_eoi_trap_read,
    .write = vfio_pci_eoi_trap_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

void vfio_pci_eoi_trap_set_enabled(VFIOPCIDevice *vdev, bool enabled)
{
    memory_region_transaction_begin();
    for (int i = 0; i < PCI_ROM_SLOT; i++) {
        if (vdev->bars[i].registered) {
            memory_region_set_enabled(&vdev->bars[i].eoi_trap, enabled);
        }
    }
    memory_region_transaction_commit();
}

/* ------------------------------------------------------------------------ */
/* BARs */

/*
 * Take [start, end) out of @region's mappable parts, splitting an area
 * that straddles it (the MSI-X table and PBA must trap, whatever the
 * kernel would let us map).  Before vfio_region_mmap only.
 */
static void vfio_pci_region_carve(VFIORegion *region, uint64_t start, uint64_t end)
{
    VFIOMmap *mmaps;
    uint32_t n = 0;

    if (!region->nr_mmaps) {
        return;
    }
    mmaps = g_new0(VFIOMmap, region->nr_mmaps * 2);
    for (uint32_t i = 0; i < region->nr_mmaps; i++) {
        uint64_t lo = region->mmaps[i].offset, hi = lo + region->mmaps[i].size;

        if (hi <= start || lo >= end) {
            mmaps[n].offset = lo;
            mmaps[n++].size = hi - lo;
            continue;
        }
        if (lo < start) {
            mmaps[n].offset = lo;
            mmaps[n++].size = start - lo;
        }
        if (hi > end) {
            mmaps[n].offset = end;
            mmaps[n++].size = hi - end;
        }
    }
    trace_vfio_pci_region_carve(region->vbasedev->name, region->nr, start, end,
                                region->nr_mmaps, n);
    g_free(region->mmaps);
    region->mmaps = mmaps;
    region->nr_mmaps = n;
}

/* Keep the MSI-X table and PBA pages of BAR @nr out of its mmaps. */
static void vfio_pci_bar_carve_msix(VFIOPCIDevice *vdev, int nr)
{
    VFIOPCIMSIXInfo *msix = vdev->msix;
    VFIORegion *region = &vdev->bars[nr].region;
    uint64_t page = qemu_real_host_page_size();

    if (!msix) {
        return;
    }
    if (nr == msix->table_bar) {
        uint64_t start = msix->table_offset;
        uint64_t end = start + (uint64_t)msix->entries * PCI_MSIX_ENTRY_SIZE;

        vfio_pci_region_carve(region, QEMU_ALIGN_DOWN(start, page), QEMU_ALIGN_UP(end, page));
    }
    if (nr == msix->pba_bar) {
        uint64_t start = msix->pba_offset;
        uint64_t end = start + DIV_ROUND_UP(msix->entries, 64) * 8;

        vfio_pci_region_carve(region, QEMU_ALIGN_DOWN(start, page), QEMU_ALIGN_UP(end, page));
    }
}

static bool vfio_pci_bar_setup(VFIOPCIDevice *vdev, int nr, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    VFIOPCIBar *bar = &vdev->bars[nr];
    g_autofree char *name = g_strdup_printf("vfio %s BAR %d", vbasedev->name, nr);
    g_autofree char *trap_name = g_strdup_printf("vfio %s BAR %d intx-eoi", vbasedev->name,
                                                 nr);
    uint64_t min_size, max_size;
    Error *err = NULL;
    uint32_t reg;
    ssize_t ret;

    bar->vdev = vdev;
    bar->nr = nr;
    if (!vfio_region_setup(OBJECT(vdev), vbasedev, &bar->region, nr, name, errp)) {
        return false;
    }
    if (!bar->region.size) {
        return true;
    }
    /* The type bits, as the kernel's BAR virtualization reports them. */
    ret = vfio_pci_config_pread(vdev, PCI_BASE_ADDRESS_0 + nr * 4, &reg, sizeof(reg));
    if (ret != sizeof(reg)) {
        error_setg_errno(errp, ret < 0 ? (int)-ret : EIO,
                         "vfio %s: cannot read the register of BAR %d", vbasedev->name, nr);
        return false;
    }
    reg = GUINT32_FROM_LE(reg);
    bar->ioport = reg & PCI_BASE_ADDRESS_SPACE_IO;
    if (bar->ioport) {
        bar->type = PCI_BASE_ADDRESS_SPACE_IO;
        min_size = 4;
        max_size = 256 * KiB;
    } else {
        bar->mem64 = (reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
        bar->type = (bar->mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
                    (reg & PCI_BASE_ADDRESS_MEM_PREFETCH);
        min_size = 16;
        max_size = bar->mem64 ? 1ULL << 62 : 2 * GiB;
    }
    if (bar->mem64 && nr == PCI_ROM_SLOT - 1) {
        error_setg(errp, "vfio %s: BAR 5 claims to be 64-bit (it has no upper half)",
                   vbasedev->name);
        return false;
    }
    /* What the guest sizes must be a power of two (a larger region cannot be one). */
    bar->size = MAX((uint64_t)bar->region.size, min_size);
    if (bar->size > max_size) {
        error_setg(errp, "vfio %s: BAR %d is too large for its type (0x%" PRIx64 " bytes)",
                   vbasedev->name, nr, (uint64_t)bar->region.size);
        return false;
    }
    bar->size = pow2ceil(bar->size);
    if (bar->size > max_size) {
        error_setg(errp, "vfio %s: BAR %d (0x%" PRIx64 " bytes) rounds up past what its "
                   "type allows", vbasedev->name, nr, (uint64_t)bar->region.size);
        return false;
    }

    vfio_pci_bar_carve_msix(vdev, nr);
    if (!vfio_region_mmap(&bar->region, &err)) {
        /* Correct, only slower: every access traps. */
        warn_report("%s; BAR %d accesses will trap", error_get_pretty(err), nr);
        error_free(err);
    }
    memory_region_init(&bar->mr, OBJECT(vdev), name, bar->size);
    memory_region_add_subregion(&bar->mr, 0, bar->region.mem);
    memory_region_init_io(&bar->eoi_trap, OBJECT(vdev), &vfio_pci_eoi_trap_ops, bar,
                          trap_name, bar->region.size);
    memory_region_set_enabled(&bar->eoi_trap, false);
    memory_region_add_subregion_overlap(&bar->mr, 0, &bar->eoi_trap,
                                        VFIO_PCI_EOI_TRAP_PRIORITY);
    bar->registered = true;
    pci_register_bar(&vdev->pdev, nr, bar->type, &bar->mr);
    trace_vfio_pci_bar_setup(vbasedev->name, nr, bar->region.size, bar->size, bar->type,
                             bar->region.nr_mmaps);
    return true;
}

static bool vfio_pci_bars_setup(VFIOPCIDevice *vdev, Error **errp)
{
    for (int nr = 0; nr < PCI_ROM_SLOT; nr++) {
        if (!vfio_pci_bar_setup(vdev, nr, errp)) {
            return false;
        }
        if (vdev->bars[nr].mem64 && nr + 1 < PCI_ROM_SLOT) {
            /* The upper half: no region of its own (the kernel reports size 0). */
            nr++;
            vdev->bars[nr].vdev = vdev;
            vdev->bars[nr].nr = nr;
        }
    }
    return true;
}

static void vfio_pci_bars_exit(VFIOPCIDevice *vdev)
{
    for (int nr = 0; nr < PCI_ROM_SLOT; nr++) {
        VFIOPCIBar *bar = &vdev->bars[nr];

        if (bar->registered) {
            memory_region_unparent(&bar->eoi_trap);
            vfio_region_exit(&bar->region);
        }
        vfio_region_finalize(&bar->region);
        if (bar->registered) {
            memory_region_unparent(&bar->mr);
        }
        memset(bar, 0, sizeof(*bar));
    }
}

/* ------------------------------------------------------------------------ */
/* Expansion ROM */

/* Read the whole ROM once; what cannot be read stays all-ones. */
static void vfio_pci_rom_load(VFIOPCIDevice *vdev)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    ssize_t ret;

    vdev->rom = g_try_malloc(vdev->rom_size);
    if (!vdev->rom) {
        vdev->rom_read_failed = true;
        warn_report("vfio %s: no memory for the %" PRIu64 "-byte option ROM; it reads as "
                    "all-ones", vbasedev->name, vdev->rom_size);
        return;
    }
    memset(vdev->rom, 0xff, vdev->rom_size);
    ret = vbasedev->io_ops->region_read(vbasedev, VFIO_PCI_ROM_REGION_INDEX, 0, vdev->rom,
                                        vdev->rom_size);
    trace_vfio_pci_rom_load(vbasedev->name, vdev->rom_size, ret);
    if (ret != (ssize_t)vdev->rom_size) {
        vdev->rom_read_failed = true;
        warn_report("vfio %s: cannot read the option ROM (%s); it reads as all-ones "
                    "(skip it with rombar=0, or give one with romfile=)",
                    vbasedev->name, ret < 0 ? strerror((int)-ret) : "short read");
        if (ret < 0) {
            memset(vdev->rom, 0xff, vdev->rom_size);
        }
    }
}

static uint64_t vfio_pci_rom_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOPCIDevice *vdev = opaque;
    uint64_t val = 0;

    if (!vdev->rom && !vdev->rom_read_failed) {
        vfio_pci_rom_load(vdev);
    }
    for (unsigned i = 0; i < size; i++) {
        uint8_t byte = vdev->rom && addr + i < vdev->rom_size ? vdev->rom[addr + i] : 0xff;

        val |= (uint64_t)byte << (8 * i);
    }
    trace_vfio_pci_rom_read(vdev->vbasedev.name, addr, size, val);
    return val;
}

static void vfio_pci_rom_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    /* Read-only memory. */
}

static const MemoryRegionOps vfio_pci_rom_ops = {
    .read = vfio_pci_rom_read,
    .write = vfio_pci_rom_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

/*
 * The device's own ROM as the ROM BAR, unless romfile= replaces it (the
 * PCI core loads that) or rombar=0 hides it.
 */
static void vfio_pci_rom_setup(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    VFIODevice *vbasedev = &vdev->vbasedev;
    struct vfio_region_info *info;
    g_autofree char *name = NULL;

    if ((pdev->romfile && *pdev->romfile) || !pdev->rom_bar ||
        vbasedev->num_regions <= VFIO_PCI_ROM_REGION_INDEX) {
        trace_vfio_pci_rom_skipped(vbasedev->name, pdev->romfile ? pdev->romfile : "",
                                   pdev->rom_bar);
        return;
    }
    if (vfio_device_get_region_info(vbasedev, VFIO_PCI_ROM_REGION_INDEX, &info) ||
        !info->size) {
        trace_vfio_pci_rom_skipped(vbasedev->name, "(no ROM)", pdev->rom_bar);
        return;
    }
    if (info->size > VFIO_PCI_ROM_MAX_SIZE) {
        warn_report("vfio %s: the device's ROM claims 0x%" PRIx64 " bytes; not exposed",
                    vbasedev->name, (uint64_t)info->size);
        return;
    }
    vdev->rom_size = info->size;
    name = g_strdup_printf("vfio %s ROM", vbasedev->name);
    memory_region_init_io(&vdev->rom_mr, OBJECT(vdev), &vfio_pci_rom_ops, vdev, name,
                          pow2ceil(MAX(vdev->rom_size, 2048)));
    pci_register_bar(pdev, PCI_ROM_SLOT, PCI_BASE_ADDRESS_SPACE_MEMORY, &vdev->rom_mr);
    vdev->has_dev_rom = true;
    trace_vfio_pci_rom_setup(vbasedev->name, vdev->rom_size);
}

static void vfio_pci_rom_exit(VFIOPCIDevice *vdev)
{
    if (vdev->has_dev_rom) {
        memory_region_unparent(&vdev->rom_mr);
        vdev->has_dev_rom = false;
    }
    g_clear_pointer(&vdev->rom, g_free);
    vdev->rom_size = 0;
    vdev->rom_read_failed = false;
}

/* ------------------------------------------------------------------------ */
/* Realize and unplug */

/* The kernel's name for the device, from host= or sysfsdev=; NULL with *errp. */
static char *vfio_pci_device_name(VFIOPCIDevice *vdev, Error **errp)
{
    ERRP_GUARD();
    bool has_host = vdev->host.domain != ~0u;

    if (has_host && vdev->sysfsdev) {
        error_setg(errp, "vfio-pci: host= and sysfsdev= are mutually exclusive");
        return NULL;
    }
    if (vdev->sysfsdev) {
        g_autofree char *base = g_path_get_basename(vdev->sysfsdev);

        if (!*vdev->sysfsdev || !strcmp(base, "/") || !strcmp(base, ".")) {
            error_setg(errp, "vfio-pci: sysfsdev='%s' does not name a device",
                       vdev->sysfsdev);
            return NULL;
        }
        return g_steal_pointer(&base);
    }
    if (!has_host) {
        error_setg(errp, "vfio-pci: no host device given");
        error_append_hint(errp, "Use host=DOMAIN:BUS:SLOT.FN or sysfsdev=PATH.\n");
        return NULL;
    }
    return g_strdup_printf("%04x:%02x:%02x.%x", vdev->host.domain, vdev->host.bus,
                           vdev->host.slot, vdev->host.function);
}

/* Undo realize, however far it got. */
static void vfio_pci_teardown(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    VFIODevice *vbasedev = &vdev->vbasedev;

    if (!vbasedev->name) {
        return;     /* nothing was set up */
    }
    trace_vfio_pci_teardown(vbasedev->name, vdev->attached);
    vfio_migration_exit(vbasedev);
    vfio_pci_devices = g_list_remove(vfio_pci_devices, vdev);
    vfio_pci_unregister_req_notifier(vdev);
    pci_device_set_intx_routing_notifier(pdev, NULL);
    if (vdev->attached) {
        vfio_pci_disable_interrupts(vdev);
    }
    /* The MSI-X overlays live in our BARs: they go first (no-op after unrealize). */
    msix_uninit(pdev, pdev->msix_table_bar, pdev->msix_pba_bar);
    msi_uninit(pdev);
    vfio_pci_rom_exit(vdev);
    vfio_pci_bars_exit(vdev);
    vfio_pci_config_teardown(vdev);
    if (vdev->attached) {
        vfio_device_detach(vbasedev);
        vdev->attached = false;
    }
    vfio_device_finalize(vbasedev);
}

/*
 * Decoding, bus mastering and INTx disable off in the device, as in the
 * guest's freshly reset view: no DMA until the guest asks for it.
 */
static void vfio_pci_quiesce(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    uint16_t cmd = vfio_pci_read_config(pdev, PCI_COMMAND, 2);

    cmd &= ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
             PCI_COMMAND_INTX_DISABLE);
    vfio_pci_write_config(pdev, PCI_COMMAND, cmd, 2);
}

static bool vfio_pci_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    VFIODevice *vbasedev = &vdev->vbasedev;
    g_autofree char *name = vfio_pci_device_name(vdev, errp);
    struct vfio_region_info *cfg;
    AddressSpace *as;
    int ret;

    if (!name) {
        return false;
    }
    vfio_device_init(vbasedev, name, vdev->sysfsdev, VFIO_DEVICE_FLAGS_PCI,
                     &vfio_pci_device_ops, vdev);
    vbasedev->no_mmap = vdev->no_mmap;
    vdev->interrupt = VFIO_PCI_INT_NONE;
    as = pci_device_iommu_address_space(pdev);
    trace_vfio_pci_realize(name, pdev->name, as->name);
    if (!vfio_device_attach(name, vbasedev, as, errp)) {
        goto fail;
    }
    vdev->attached = true;

    if (vbasedev->num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
        vbasedev->num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX) {
        error_setg(errp, "vfio %s: a PCI device needs at least %d regions and %d IRQ "
                   "indexes, the kernel reports %u and %u", name,
                   VFIO_PCI_CONFIG_REGION_INDEX + 1, VFIO_PCI_MSIX_IRQ_INDEX + 1,
                   vbasedev->num_regions, vbasedev->num_irqs);
        goto fail;
    }
    ret = vfio_device_get_region_info(vbasedev, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot read the config region's info", name);
        goto fail;
    }
    if (cfg->size < PCI_CONFIG_HEADER_SIZE ||
        (cfg->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
        (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) {
        error_setg(errp, "vfio %s: unusable config region (%" PRIu64 " bytes, flags 0x%x)",
                   name, (uint64_t)cfg->size, cfg->flags);
        goto fail;
    }
    vdev->config_size = MIN(cfg->size, (uint64_t)PCIE_CONFIG_SPACE_SIZE);

    if (!vfio_pci_config_setup(vdev, errp)) {
        error_prepend(errp, "vfio %s: ", name);
        goto fail;
    }
    vfio_pci_msix_early_setup(vdev);
    if (!vfio_pci_bars_setup(vdev, errp)) {
        goto fail;
    }
    vfio_pci_add_capabilities(vdev);
    vfio_pci_rom_setup(vdev);
    vfio_pci_intx_probe(vdev);
    if (!vbasedev->reset_works) {
        vfio_pci_hot_reset_probe(vdev);
    }
    /* A hot-plugged device gets no reset: start from the guest's view. */
    vfio_pci_quiesce(vdev);
    if (!vfio_pci_intx_enable(vdev, errp)) {
        goto fail;
    }
    vfio_pci_register_req_notifier(vdev);
    /* Last: it registers the device's migration state, or a blocker. */
    if (!vfio_migration_realize(vbasedev, vdev->enable_migration, errp)) {
        goto fail;
    }
    vfio_pci_devices = g_list_append(vfio_pci_devices, vdev);
    trace_vfio_pci_realized(name, vdev->config_size, vdev->intx.has_pin,
                            msi_present(pdev), msix_present(pdev), vbasedev->reset_works);
    return true;

fail:
    vfio_pci_teardown(vdev);
    return false;
}

static void vfio_pci_exit(PCIDevice *pdev)
{
    vfio_pci_teardown(VFIO_PCI(pdev));
}

/*
 * Device reset (machine reset, and the PCI core before its own reset of
 * the emulated state): quiesce the device -- interrupts off, decoding and
 * bus mastering off, so DMA stops -- then VFIO_DEVICE_RESET (a
 * function-level reset) if the kernel offers one, else a hot reset of its
 * bus when that is ours to do (hw/vfio/pci-reset.c; with other assigned
 * devices on the bus, the machine reset handler does it once for all).  A
 * device with neither (QEMU's edu on a root bus, for one) keeps its
 * internal state: that is all the host can do for it, and the quiescing
 * above still holds.  INTx comes back afterwards, as after power-on.
 */
static void vfio_pci_reset(PCIDevice *pdev)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    VFIODevice *vbasedev = &vdev->vbasedev;
    Error *err = NULL;

    trace_vfio_pci_reset(vbasedev->name, vbasedev->reset_works);
    vfio_pci_disable_interrupts(vdev);
    vfio_pci_quiesce(vdev);
    if (vbasedev->reset_works) {
        if (!vfio_device_reset(vbasedev, &err)) {
            warn_report_err(err);
            err = NULL;
        }
    } else if (vdev->has_bus_reset) {
        switch (vfio_pci_hot_reset(vdev, true, &err)) {
        case VFIO_PCI_HOT_RESET_NEEDS_PEERS:
            vdev->needs_bus_reset = true;
            break;
        case VFIO_PCI_HOT_RESET_FAILED:
            /* The reason does not change from one reset to the next: say it once. */
            if (!vdev->hot_reset_warned) {
                vdev->hot_reset_warned = true;
                warn_report_err(err);
            } else {
                trace_vfio_pci_hot_reset_failed(vbasedev->name, error_get_pretty(err));
                error_free(err);
            }
            err = NULL;
            break;
        case VFIO_PCI_HOT_RESET_DONE:
            break;
        }
    } else {
        trace_vfio_pci_reset_unavailable(vbasedev->name);
    }
    if (!vfio_pci_intx_enable(vdev, &err)) {
        error_report_err(err);
    }
}

/* ------------------------------------------------------------------------ */
/* The type */

static const Property vfio_pci_props[] = {
    DEFINE_PROP("host", VFIOPCIDevice, host, qdev_prop_pci_host_devaddr,
                PCIHostDeviceAddress, .set_default = true, .defval.i = -1,
                .description = "host PCI address of the device, DOMAIN:BUS:SLOT.FN"),
    DEFINE_PROP("sysfsdev", VFIOPCIDevice, sysfsdev, qdev_prop_string, char *,
                .description = "sysfs path of the host device (instead of host=)"),
    DEFINE_PROP("x-no-mmap", VFIOPCIDevice, no_mmap, qdev_prop_bool, bool,
                .set_default = true, .defval.u = false,
                .description = "trap every BAR access instead of mapping the BARs"),
    DEFINE_PROP("x-req", VFIOPCIDevice, req_enabled_prop, qdev_prop_bool, bool,
                .set_default = true, .defval.u = true,
                .description = "unplug the device when the host asks for it back"),
    DEFINE_PROP("enable-migration", VFIOPCIDevice, enable_migration, qdev_prop_on_off_auto,
                OnOffAuto, .set_default = true, .defval.i = ON_OFF_AUTO_AUTO,
                .description = "migrate the device's state (auto: when the device can)"),
};

static void vfio_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(klass);

    dc->desc = "VFIO-based PCI device assignment";
    dc->categories = 1ul << DEVICE_CATEGORY_MISC;
    device_class_set_props(dc, vfio_pci_props);
    pc->realize = vfio_pci_realize;
    pc->exit = vfio_pci_exit;
    pc->reset = vfio_pci_reset;
    pc->config_read = vfio_pci_read_config;
    pc->config_write = vfio_pci_write_config;
    /* 4 KiB of config space on an Express bus; a conventional device's tail reads 0. */
    pc->is_express = true;
}

static const TypeInfo vfio_pci_info = {
    .name = TYPE_VFIO_PCI,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(VFIOPCIDevice),
    .class_init = vfio_pci_class_init,
};

static void vfio_pci_register_types(void)
{
    type_register_static(&vfio_pci_info);
}

type_init(vfio_pci_register_types)
