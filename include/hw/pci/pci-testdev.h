/*
 * aperture-testdev: a PCI device for the qtest suite (hw/pci/pci-testdev.c).
 *
 * Register and BAR layout only (no Aperture types), so tests may include it.
 *
 *   BAR0  32-bit MMIO, 4 KiB: registers at 0x000..0x0ff, DMA buffer at
 *         0x800..0xfff (any access size)
 *   BAR1  I/O, 256 bytes: the same registers
 *   BAR2  64-bit prefetchable memory (RAM), bar2-size bytes (default 64 KiB)
 *   BAR4  64-bit MSI-X BAR: table at 0, PBA at 0x800 (if msix-vectors > 0)
 *   MSI   msi-vectors vectors (0: no MSI capability), msi64, msi-mask
 *   INTx  pin (1 = INTA .. 4 = INTD, 0 = none), default INTA
 *
 * Registers are 32 bits wide:
 *   ID          RO  TESTDEV_ID_VALUE
 *   SCRATCH     RW  any value
 *   IRQ_RAISE   W   signal vector VALUE: MSI-X if enabled, else MSI if
 *                   enabled, else assert INTx (IRQ_STATUS bit 0);
 *               R   number of IRQ_RAISE writes
 *   IRQ_STATUS  R   bit 0: INTx asserted by the device
 *   IRQ_ACK     W   deassert INTx
 *   DMA_ADDR_LO/HI  RW  bus address for DMA
 *   DMA_LEN     RW  bytes (1..2048)
 *   DMA_CMD     W   TESTDEV_DMA_* bits; runs at once
 *   DMA_STATUS  R   MemTxResult of the last DMA (0 = OK), 0xffffffff = bad length
 *   DMA_VECTOR  RW  vector signalled after a DMA with TESTDEV_DMA_IRQ
 *   TIMER       W   signal TIMER_VECTOR after VALUE ns of QEMU_CLOCK_VIRTUAL
 *   TIMER_COUNT R   timer expiries so far
 *   TIMER_VECTOR RW vector the timer signals
 */
#ifndef HW_PCI_PCI_TESTDEV_H
#define HW_PCI_PCI_TESTDEV_H

#define TYPE_PCI_TESTDEV            "aperture-testdev"
#define TESTDEV_VENDOR_ID           0x1234
#define TESTDEV_DEVICE_ID           0x7e57
#define TESTDEV_REVISION            0x01
#define TESTDEV_CLASS               0x00ff  /* unclassified device */
#define TESTDEV_ID_VALUE            0x7e57de71u

#define TESTDEV_BAR0_SIZE           0x1000
#define TESTDEV_BAR1_SIZE           0x100
#define TESTDEV_BAR2_DEFAULT_SIZE   0x10000
#define TESTDEV_MSIX_BAR            4
#define TESTDEV_MSIX_PBA_OFFSET     0x800
#define TESTDEV_BUFFER_OFFSET       0x800
#define TESTDEV_BUFFER_SIZE         0x800

#define TESTDEV_REG_ID              0x00
#define TESTDEV_REG_SCRATCH         0x04
#define TESTDEV_REG_IRQ_RAISE       0x08
#define TESTDEV_REG_IRQ_STATUS      0x0c
#define TESTDEV_REG_IRQ_ACK         0x10
#define TESTDEV_REG_DMA_ADDR_LO     0x20
#define TESTDEV_REG_DMA_ADDR_HI     0x24
#define TESTDEV_REG_DMA_LEN         0x28
#define TESTDEV_REG_DMA_CMD         0x2c
#define TESTDEV_REG_DMA_STATUS      0x30
#define TESTDEV_REG_DMA_VECTOR      0x34
#define TESTDEV_REG_TIMER           0x40
#define TESTDEV_REG_TIMER_COUNT     0x44
#define TESTDEV_REG_TIMER_VECTOR    0x48

#define TESTDEV_DMA_TO_RAM          0x1     /* buffer -> guest memory (else the reverse) */
#define TESTDEV_DMA_IRQ             0x2     /* signal DMA_VECTOR when done */

#endif /* HW_PCI_PCI_TESTDEV_H */
