/*
 * vfio-pci config space emulation (hw/vfio/pci-config.c) in process, over
 * a fake transport: the "device" is a config space the test writes, with
 * capability lists no sim device has -- capabilities to pass through and
 * to hide, loops, pointers into the header, extended capabilities -- and
 * the checks read the result as the guest does, through
 * vfio_pci_read_config/vfio_pci_write_config.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/pci/msi.h"
#include "hw/vfio/vfio-pci.h"

/* ------------------------------------------------------------------------ */
/* The fake device: a config space and a log of what reached it */

typedef struct FakeDevice {
    uint8_t config[PCIE_CONFIG_SPACE_SIZE];
    uint32_t size;              /* bytes of config region */
    uint32_t writes;            /* config writes that reached the device */
    uint32_t msi_vectors;       /* the kernel's MSI count */
} FakeDevice;

static FakeDevice fake;

static ssize_t fake_region_read(VFIODevice *vdev, uint8_t nr, off_t off, void *buf,
                                size_t size)
{
    g_assert_cmpuint(nr, ==, VFIO_PCI_CONFIG_REGION_INDEX);
    g_assert_cmpuint(off + size, <=, fake.size);
    memcpy(buf, fake.config + off, size);
    return size;
}

static ssize_t fake_region_write(VFIODevice *vdev, uint8_t nr, off_t off, const void *buf,
                                 size_t size)
{
    g_assert_cmpuint(nr, ==, VFIO_PCI_CONFIG_REGION_INDEX);
    g_assert_cmpuint(off + size, <=, fake.size);
    fake.writes++;
    /* A device whose registers ignore writes: what the guest reads is ours or the device's. */
    return size;
}

static int fake_get_irq_info(VFIODevice *vdev, struct vfio_irq_info *info)
{
    info->count = info->index == VFIO_PCI_MSI_IRQ_INDEX ? fake.msi_vectors : 0;
    info->flags = VFIO_IRQ_INFO_EVENTFD;
    return 0;
}

static const VFIODeviceIOOps fake_io_ops = {
    .get_irq_info = fake_get_irq_info,
    .region_read = fake_region_read,
    .region_write = fake_region_write,
};

static void fake_init(uint32_t size)
{
    memset(&fake, 0, sizeof(fake));
    fake.size = size;
    fake.msi_vectors = 1;
    pci_set_word(fake.config + PCI_VENDOR_ID, 0x1af4);
    pci_set_word(fake.config + PCI_DEVICE_ID, 0x10f1);
    fake.config[PCI_INTERRUPT_PIN] = 1;
}

/* Standard capability @id at @pos linking to @next. */
static void fake_cap(uint8_t pos, uint8_t id, uint8_t next)
{
    fake.config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    fake.config[pos + PCI_CAP_LIST_ID] = id;
    fake.config[pos + PCI_CAP_LIST_NEXT] = next;
}

static void fake_ext_cap(uint16_t pos, uint16_t id, uint16_t next)
{
    /* ID in bits 15:0, version 19:16, next 31:20 */
    pci_set_long(fake.config + pos, id | 1u << 16 | (uint32_t)next << 20);
}

/* ------------------------------------------------------------------------ */
/* A vfio-pci instance wired to the fake, set up as realize would */

static VFIOPCIDevice *vdev_new(uint32_t guest_config_size)
{
    VFIOPCIDevice *vdev = VFIO_PCI(object_new(TYPE_VFIO_PCI));
    PCIDevice *pdev = &vdev->pdev;
    Error *err = NULL;

    /* What the PCI core allocates and initialises before the device's realize. */
    pdev->config_size = guest_config_size;
    pdev->config = g_malloc0(guest_config_size);
    pdev->cmask = g_malloc0(guest_config_size);
    pdev->wmask = g_malloc0(guest_config_size);
    pdev->w1cmask = g_malloc0(guest_config_size);
    pdev->used = g_malloc0(guest_config_size);
    memset(pdev->wmask + PCI_CONFIG_HEADER_SIZE, 0xff,
           guest_config_size - PCI_CONFIG_HEADER_SIZE);
    pdev->wmask[PCI_INTERRUPT_LINE] = 0xff;
    g_strlcpy(pdev->name, "04.0/vfio-pci", sizeof(pdev->name));

    vdev->vbasedev.name = g_strdup("fake");
    vdev->vbasedev.io_ops = &fake_io_ops;
    vdev->vbasedev.fd = -1;
    vdev->config_size = fake.size;
    g_assert_true(vfio_pci_config_setup(vdev, &err));
    g_assert_null(err);
    vfio_pci_msix_early_setup(vdev);
    vfio_pci_add_capabilities(vdev);
    return vdev;
}

static void vdev_free(VFIOPCIDevice *vdev)
{
    msi_uninit(&vdev->pdev);
    vfio_pci_config_teardown(vdev);
    g_clear_pointer(&vdev->vbasedev.name, g_free);
    /* PCIDevice's finalize frees the config arrays. */
    object_unref(vdev);
}

static uint32_t rd(VFIOPCIDevice *vdev, uint32_t addr, int len)
{
    return vfio_pci_read_config(&vdev->pdev, addr, len);
}

/* The guest's view of the standard list: "ID@OFFSET" entries. */
static char *guest_caps(VFIOPCIDevice *vdev)
{
    GString *s = g_string_new(NULL);
    int budget = 64;

    if (!(rd(vdev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
        return g_string_free(s, false);
    }
    for (uint8_t pos = rd(vdev, PCI_CAPABILITY_LIST, 1); pos && budget--;
         pos = rd(vdev, pos + PCI_CAP_LIST_NEXT, 1)) {
        g_string_append_printf(s, "%s%02x@%02x", s->len ? " " : "",
                               rd(vdev, pos + PCI_CAP_LIST_ID, 1), pos);
    }
    return g_string_free(s, false);
}

static char *guest_ext_caps(VFIOPCIDevice *vdev)
{
    GString *s = g_string_new(NULL);
    int budget = 64;

    for (uint16_t pos = PCI_CONFIG_SPACE_SIZE; pos && budget--;) {
        uint32_t header = rd(vdev, pos, 4);

        if (!header) {
            break;
        }
        g_string_append_printf(s, "%s%04x@%03x", s->len ? " " : "", PCI_EXT_CAP_ID(header),
                               pos);
        pos = PCI_EXT_CAP_NEXT(header);
    }
    return g_string_free(s, false);
}

/* ------------------------------------------------------------------------ */
/* Tests */

static void test_std_caps_hidden(void)
{
    VFIOPCIDevice *vdev;
    g_autofree char *caps = NULL;

    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_CAPABILITY_LIST] = 0x40;
    fake_cap(0x40, PCI_CAP_ID_PM, 0x48);
    fake_cap(0x48, PCI_CAP_ID_AF, 0x50);
    fake_cap(0x50, PCI_CAP_ID_MSI, 0x70);
    pci_set_word(fake.config + 0x50 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT |
                 PCI_MSI_FLAGS_MASKBIT | (2 << 1));
    fake_cap(0x70, PCI_CAP_ID_VNDR, 0x80);
    fake_cap(0x80, PCI_CAP_ID_EA, 0x90);
    fake_cap(0x90, PCI_CAP_ID_EXP, 0);
    fake.msi_vectors = 4;

    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    caps = guest_caps(vdev);
    /* AF (its FLR) and EA (fixed BARs) are gone; the rest keep the device's order. */
    g_assert_cmpstr(caps, ==, "01@40 05@50 09@70 10@90");
    /* MSI is Aperture's: 4 vectors, 64-bit, per-vector mask, disabled. */
    g_assert_cmphex(rd(vdev, 0x50 + PCI_MSI_FLAGS, 2), ==,
                    PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (2 << 1));
    g_assert_cmpuint(vdev->msi_cap_size, ==, 0x18);
    /* Pass-through capability bodies read from the device. */
    fake.config[0x72] = 0x5a;
    g_assert_cmphex(rd(vdev, 0x72, 1), ==, 0x5a);
    /* The guest cannot relink the list: next pointers are ours. */
    vfio_pci_write_config(&vdev->pdev, 0x41, 0x48, 1);
    g_assert_cmphex(rd(vdev, 0x41, 1), ==, 0x50);
    g_assert_cmpuint(fake.writes, ==, 1);
    vdev_free(vdev);
}

static void test_std_caps_malformed(void)
{
    VFIOPCIDevice *vdev;
    g_autofree char *loop = NULL, *header = NULL, *trunc = NULL;

    /* A loop back to the first capability. */
    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_CAPABILITY_LIST] = 0x40;
    fake_cap(0x40, PCI_CAP_ID_PM, 0x50);
    fake_cap(0x50, PCI_CAP_ID_VNDR, 0x40);
    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    loop = guest_caps(vdev);
    g_assert_cmpstr(loop, ==, "01@40 09@50");
    vdev_free(vdev);

    /* A pointer into the header: no capabilities at all. */
    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    fake.config[PCI_CAPABILITY_LIST] = 0x10;
    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    header = guest_caps(vdev);
    g_assert_cmpstr(header, ==, "");
    g_assert_cmphex(rd(vdev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, ==, 0);
    vdev_free(vdev);

    /* Reserved low pointer bits ignored; an MSI too long for its room is hidden. */
    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_CAPABILITY_LIST] = 0x43;
    fake_cap(0x40, PCI_CAP_ID_MSI, 0x48);
    pci_set_word(fake.config + 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT);
    fake_cap(0x48, PCI_CAP_ID_PM, 0xfc);
    fake_cap(0xfc, PCI_CAP_ID_VNDR, 0);
    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    trunc = guest_caps(vdev);
    g_assert_cmpstr(trunc, ==, "01@48 09@fc");
    g_assert_false(msi_present(&vdev->pdev));
    vdev_free(vdev);
}

static void test_msi_clamped_to_kernel(void)
{
    VFIOPCIDevice *vdev;

    /* The capability offers 32 vectors, the kernel 2: the guest sees 2. */
    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_CAPABILITY_LIST] = 0x40;
    fake_cap(0x40, PCI_CAP_ID_MSI, 0);
    pci_set_word(fake.config + 0x40 + PCI_MSI_FLAGS, 5 << 1);
    fake.msi_vectors = 2;
    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    g_assert_cmphex(rd(vdev, 0x40 + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK, ==, 1 << 1);
    vdev_free(vdev);

    /* No MSI from the kernel at all: no MSI for the guest. */
    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_CAPABILITY_LIST] = 0x40;
    fake_cap(0x40, PCI_CAP_ID_MSI, 0);
    fake.msi_vectors = 0;
    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    g_assert_false(msi_present(&vdev->pdev));
    vdev_free(vdev);
}

static void test_ext_caps_hidden(void)
{
    VFIOPCIDevice *vdev;
    g_autofree char *caps = NULL, *head_kept = NULL, *looped = NULL;

    /* SR-IOV at the head and ARI in the middle are dropped. */
    fake_init(PCIE_CONFIG_SPACE_SIZE);
    fake_ext_cap(0x100, PCI_EXT_CAP_ID_SRIOV, 0x140);
    fake_ext_cap(0x140, PCI_EXT_CAP_ID_ERR, 0x180);
    fake_ext_cap(0x180, PCI_EXT_CAP_ID_ARI, 0x1c0);
    fake_ext_cap(0x1c0, PCI_EXT_CAP_ID_DSN, 0);
    vdev = vdev_new(PCIE_CONFIG_SPACE_SIZE);
    caps = guest_ext_caps(vdev);
    /* The head cannot move: a null header (ID 0) points at the first one kept. */
    g_assert_cmpstr(caps, ==, "0000@100 0001@140 0003@1c0");
    /* Their bodies come from the device. */
    pci_set_long(fake.config + 0x1c4, 0xdeadbeef);
    g_assert_cmphex(rd(vdev, 0x1c4, 4), ==, 0xdeadbeef);
    vdev_free(vdev);

    /* A head that is kept stays as the device has it. */
    fake_init(PCIE_CONFIG_SPACE_SIZE);
    fake_ext_cap(0x100, PCI_EXT_CAP_ID_ERR, 0x200);
    fake_ext_cap(0x200, PCI_EXT_CAP_ID_REBAR, 0);
    vdev = vdev_new(PCIE_CONFIG_SPACE_SIZE);
    head_kept = guest_ext_caps(vdev);
    g_assert_cmpstr(head_kept, ==, "0001@100");
    vdev_free(vdev);

    /* A capability pointing at itself ends the walk. */
    fake_init(PCIE_CONFIG_SPACE_SIZE);
    fake_ext_cap(0x100, PCI_EXT_CAP_ID_VNDR, 0x100);
    vdev = vdev_new(PCIE_CONFIG_SPACE_SIZE);
    looped = guest_ext_caps(vdev);
    g_assert_cmpstr(looped, ==, "000b@100");
    vdev_free(vdev);
}

static void test_header_emulation(void)
{
    VFIOPCIDevice *vdev;

    fake_init(PCI_CONFIG_SPACE_SIZE);
    /* Host resources and state the guest must not see. */
    pci_set_long(fake.config + PCI_BASE_ADDRESS_0, 0xfe000000);
    pci_set_long(fake.config + PCI_ROM_ADDRESS, 0xfd000001);
    pci_set_word(fake.config + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    fake.config[PCI_INTERRUPT_LINE] = 11;
    fake.config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_MFD;
    vdev = vdev_new(PCIE_CONFIG_SPACE_SIZE);

    g_assert_cmphex(rd(vdev, PCI_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(rd(vdev, PCI_DEVICE_ID, 2), ==, 0x10f1);
    g_assert_cmphex(rd(vdev, PCI_BASE_ADDRESS_0, 4), ==, 0);
    g_assert_cmphex(rd(vdev, PCI_ROM_ADDRESS, 4), ==, 0);
    g_assert_cmphex(rd(vdev, PCI_COMMAND, 2) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO), ==, 0);
    g_assert_cmphex(rd(vdev, PCI_INTERRUPT_LINE, 1), ==, 0);
    g_assert_cmphex(rd(vdev, PCI_INTERRUPT_PIN, 1), ==, 1);
    /* multifunction=off (the default) is what the guest sees. */
    g_assert_cmphex(rd(vdev, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MFD, ==, 0);
    /* The interrupt line is a scratch register. */
    vfio_pci_write_config(&vdev->pdev, PCI_INTERRUPT_LINE, 10, 1);
    g_assert_cmphex(rd(vdev, PCI_INTERRUPT_LINE, 1), ==, 10);
    /* Beyond the device's 256 bytes: zeros that stay zeros, never the device. */
    fake.writes = 0;
    vfio_pci_write_config(&vdev->pdev, 0x100, 0xffffffff, 4);
    vfio_pci_write_config(&vdev->pdev, 0xffc, 0xffffffff, 4);
    g_assert_cmpuint(fake.writes, ==, 0);
    g_assert_cmphex(rd(vdev, 0x100, 4), ==, 0);
    g_assert_cmphex(rd(vdev, 0xffc, 4), ==, 0);
    /* An access straddling the end reaches the device only for its own bytes. */
    vfio_pci_write_config(&vdev->pdev, 0xfe, 0xffffffff, 4);
    g_assert_cmpuint(fake.writes, ==, 1);
    fake.config[0xfe] = 0xab;
    fake.config[0xff] = 0xcd;
    g_assert_cmphex(rd(vdev, 0xfe, 4), ==, 0xcdab);
    vdev_free(vdev);

    /* A pin no PCI device can have reads as none. */
    fake_init(PCI_CONFIG_SPACE_SIZE);
    fake.config[PCI_INTERRUPT_PIN] = 9;
    vdev = vdev_new(PCI_CONFIG_SPACE_SIZE);
    g_assert_cmphex(rd(vdev, PCI_INTERRUPT_PIN, 1), ==, 0);
    vdev_free(vdev);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio-pci/config/std-caps-unsupported-hidden", test_std_caps_hidden);
    g_test_add_func("/vfio-pci/config/std-caps-malformed-lists", test_std_caps_malformed);
    g_test_add_func("/vfio-pci/config/msi-vectors-clamped-to-kernel",
                    test_msi_clamped_to_kernel);
    g_test_add_func("/vfio-pci/config/ext-caps-unsupported-hidden", test_ext_caps_hidden);
    g_test_add_func("/vfio-pci/config/header-emulation", test_header_emulation);
    return g_test_run();
}
