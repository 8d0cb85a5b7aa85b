/*
 * PCI class codes and vendor/device ids used by Aperture's device models.
 *
 * Class codes are base class << 8 | subclass, as PCIDeviceClass.class_id
 * takes them.
 */
#ifndef HW_PCI_PCI_IDS_H
#define HW_PCI_PCI_IDS_H

#define PCI_CLASS_NOT_DEFINED           0x0000
#define PCI_CLASS_STORAGE_OTHER         0x0180
#define PCI_CLASS_NETWORK_ETHERNET      0x0200
#define PCI_CLASS_DISPLAY_VGA           0x0300
#define PCI_CLASS_BRIDGE_HOST           0x0600
#define PCI_CLASS_BRIDGE_ISA            0x0601
#define PCI_CLASS_BRIDGE_PCI            0x0604
#define PCI_CLASS_SYSTEM_OTHER          0x0880
#define PCI_CLASS_OTHERS                0xff00

#define PCI_VENDOR_ID_INTEL             0x8086
#define PCI_VENDOR_ID_REDHAT            0x1b36
/* QEMU's vendor id for its example devices (edu is 1234:11e8). */
#define PCI_VENDOR_ID_QEMU              0x1234

/* Aperture's test device (hw/pci/pci-testdev.c). */
#define PCI_DEVICE_ID_APERTURE_TESTDEV  0x7e57

#endif /* HW_PCI_PCI_IDS_H */
