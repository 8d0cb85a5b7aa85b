/*
 * vfio-pci's emulated state for migration: the VFIODeviceOps config hooks
 * (include/hw/vfio/vfio-pci.h).  The device's own state travels on its
 * data_fd (hw/vfio/migration.c); what Aperture emulates in front of it --
 * the guest's view of config space (BARs, ROM, interrupt line, MSI and
 * MSI-X capabilities, command register) and the MSI-X table -- travels
 * here, in the FULL section, and is applied before the device runs.
 *
 * Format: be32 magic "VPCI", be32 config size, be32 MSI-X vectors, the
 * config bytes, 16 bytes per MSI-X vector.
 *
 * Loading goes through vfio_pci_write_config(), as if the guest wrote the
 * values, so a hostile stream can do no more than a guest could, and
 * every side effect (BAR mappings, VFIO interrupt setup) happens the one
 * way it already happens.  The order is one vfio-pci can act on: BARs and
 * ROM (mappings), interrupt line, MSI message, MSI-X table, the MSI/MSI-X
 * enables (vectors registered with VFIO), and last the command register,
 * which turns decoding and bus mastering (DMA) back on.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/vfio/vfio-pci.h"
#include "trace/trace-hw_vfio.h"

#define VFIO_PCI_STATE_MAGIC    0x56504349u     /* "VPCI" */
#define VFIO_PCI_STATE_HEADER   12

static uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static uint32_t vfio_pci_msix_vectors(PCIDevice *pdev)
{
    return msix_present(pdev) ? pdev->msix_entries_nr : 0;
}

static int vfio_pci_save_config(VFIODevice *vbasedev, GByteArray *out, Error **errp)
{
    VFIOPCIDevice *vdev = vbasedev->opaque;
    PCIDevice *pdev = &vdev->pdev;
    uint32_t vectors = vfio_pci_msix_vectors(pdev);
    uint32_t hdr[3] = {
        GUINT32_TO_BE(VFIO_PCI_STATE_MAGIC), GUINT32_TO_BE(pdev->config_size),
        GUINT32_TO_BE(vectors),
    };

    g_byte_array_append(out, (const uint8_t *)hdr, sizeof(hdr));
    g_byte_array_append(out, pdev->config, pdev->config_size);
    if (vectors) {
        g_byte_array_append(out, pdev->msix_table, vectors * PCI_MSIX_ENTRY_SIZE);
    }
    trace_vfio_pci_save_config(vbasedev->name, pdev->config_size, vectors);
    return 0;
}

/* The guest writes @len bytes at @off of the saved config space @cfg. */
static void vfio_pci_replay(PCIDevice *pdev, const uint8_t *cfg, uint32_t off, int len)
{
    uint32_t v = len == 1 ? cfg[off] : len == 2 ? pci_get_word(cfg + off)
                                                : pci_get_long(cfg + off);

    vfio_pci_write_config(pdev, off, v, len);
}

static int vfio_pci_load_config(VFIODevice *vbasedev, const uint8_t *data, size_t size,
                                Error **errp)
{
    VFIOPCIDevice *vdev = vbasedev->opaque;
    PCIDevice *pdev = &vdev->pdev;
    uint32_t vectors = vfio_pci_msix_vectors(pdev);
    uint32_t magic, cfg_size, entries;
    const uint8_t *cfg;

    if (size < VFIO_PCI_STATE_HEADER) {
        error_setg(errp, "vfio %s: config state of %zu bytes is too short", vbasedev->name,
                   size);
        return -EINVAL;
    }
    magic = be32_at(data);
    cfg_size = be32_at(data + 4);
    entries = be32_at(data + 8);
    if (magic != VFIO_PCI_STATE_MAGIC || cfg_size != pdev->config_size || entries != vectors ||
        size != VFIO_PCI_STATE_HEADER + (size_t)cfg_size + (size_t)entries * PCI_MSIX_ENTRY_SIZE) {
        error_setg(errp, "vfio %s: config state does not fit this device (%u config bytes, "
                   "%u MSI-X vectors; this one has %u and %u)", vbasedev->name, cfg_size,
                   entries, pdev->config_size, vectors);
        return -EINVAL;
    }
    trace_vfio_pci_load_config(vbasedev->name, cfg_size, entries);
    cfg = data + VFIO_PCI_STATE_HEADER;
    for (uint32_t off = PCI_BASE_ADDRESS_0; off <= PCI_BASE_ADDRESS_5; off += 4) {
        vfio_pci_replay(pdev, cfg, off, 4);
    }
    vfio_pci_replay(pdev, cfg, PCI_ROM_ADDRESS, 4);
    vfio_pci_replay(pdev, cfg, PCI_INTERRUPT_LINE, 1);
    if (msi_present(pdev)) {
        for (uint32_t off = 4; off + 4 <= vdev->msi_cap_size; off += 4) {
            vfio_pci_replay(pdev, cfg, pdev->msi_cap + off, 4);
        }
        vfio_pci_replay(pdev, cfg, pdev->msi_cap + PCI_MSI_FLAGS, 2);
    }
    if (vectors) {
        memcpy(pdev->msix_table, cfg + cfg_size, vectors * PCI_MSIX_ENTRY_SIZE);
        vfio_pci_replay(pdev, cfg, pdev->msix_cap + PCI_MSIX_FLAGS, 2);
    }
    vfio_pci_replay(pdev, cfg, PCI_COMMAND, 2);
    return 0;
}

const VFIODeviceOps vfio_pci_device_ops = {
    .vfio_save_config = vfio_pci_save_config,
    .vfio_load_config = vfio_pci_load_config,
};
