/*
 * A guest-side driver for QEMU's edu device assigned with vfio-pci, over
 * qtest (libqtest + qpci): what the vfio-pci tests and the demo share.
 *
 * edu (QEMU docs/specs/edu.rst), BAR0 registers, 32-bit unless noted:
 *   0x00 ID 0x010000ed      0x04 liveness (reads ~value written)
 *   0x08 factorial          0x20 status (bit 0 computing, bit 7 IRQ when done)
 *   0x24 IRQ status         0x60 raise IRQ (value ORed in)   0x64 acknowledge
 *   0x80 DMA source, 0x88 DMA destination, 0x90 count, 0x98 command
 *        (64-bit registers; bit 0 run, bit 1 edu -> RAM, bit 2 IRQ when done)
 * The DMA buffer is at device address 0x40000 (4 KiB); DMA addresses are
 * masked to 28 bits, so guest buffers must lie below 256 MiB.
 *
 * Environment:
 *   APERTURE_VFIO_DEVICE   host address of the edu (default 0000:00:01.0)
 *   VFIO_SIM_CONFIG        set (even empty) when the binary runs over
 *                          vfio-sim: the tests then check the sim's side too
 *   APERTURE_EDU_TIMEOUT_MS  how long to wait for the device (default 30000;
 *                          the real edu in the rig runs under TCG)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef APERTURE_TESTS_VFIO_PCI_EDU_H
#define APERTURE_TESTS_VFIO_PCI_EDU_H

#include "qpci.h"

#define EDU_VENDOR_ID       0x1234
#define EDU_DEVICE_ID       0x11e8
#define EDU_ID_VALUE        0x010000edu

#define EDU_REG_ID          0x00
#define EDU_REG_LIVENESS    0x04
#define EDU_REG_FACTORIAL   0x08
#define EDU_REG_STATUS      0x20
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
#define EDU_REG_DMA_SRC     0x80
#define EDU_REG_DMA_DST     0x88
#define EDU_REG_DMA_COUNT   0x90
#define EDU_REG_DMA_CMD     0x98

#define EDU_STATUS_COMPUTING 0x01
#define EDU_DMA_RUN         0x1
#define EDU_DMA_TO_RAM      0x2
#define EDU_DMA_IRQ         0x4
#define EDU_DMA_IRQ_VALUE   0x100
#define EDU_DMA_BUFFER      0x40000
#define EDU_DMA_BUFFER_SIZE 4096

typedef struct Edu {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;        /* at devfn PCI_DEVFN(slot, 0) */
    int slot;
    QPCIBar bar0;           /* mapped by edu_attach */
    uint64_t bar0_size;
} Edu;

/* The edu to assign (APERTURE_VFIO_DEVICE or 0000:00:01.0). */
const char *edu_host(void);
/* The binary runs over vfio-sim (VFIO_SIM_CONFIG is set). */
bool edu_on_sim(void);
/* Milliseconds to wait for the device before failing. */
int edu_timeout_ms(void);

/*
 * Find the assigned edu at @slot on bus 0 of @qts (fails the test if the
 * function is absent), map BAR0 from qpci's window and enable decoding
 * and bus mastering.
 */
void edu_attach(Edu *e, QTestState *qts, int slot);
void edu_detach(Edu *e);

uint32_t edu_readl(Edu *e, uint64_t reg);
void edu_writel(Edu *e, uint64_t reg, uint32_t value);

/*
 * Poll @cond(e, opaque) until it holds or the timeout passes; each poll
 * is a qtest round trip, which lets the main loop deliver interrupts.
 */
bool edu_wait(Edu *e, bool (*cond)(Edu *e, void *opaque), void *opaque);

/* n! computed by the device; false on timeout. */
bool edu_factorial(Edu *e, uint32_t n, uint32_t *result);
/*
 * One DMA of @len bytes: to the device's buffer from guest @gpa
 * (@to_ram false) or from the buffer to @gpa, with @extra command bits
 * (EDU_DMA_IRQ).  Waits for completion; false on timeout.
 */
bool edu_dma(Edu *e, uint64_t gpa, uint32_t buf_off, uint32_t len, bool to_ram,
             uint32_t extra);
/* Start a DMA and return at once (bus-mastering races). */
void edu_dma_start(Edu *e, uint64_t gpa, uint32_t buf_off, uint32_t len, bool to_ram,
                   uint32_t extra);
bool edu_dma_wait(Edu *e);

/* The GSI the edu's INTx pin reaches on q35 (PIRQ E..H swizzle), or -1 without a pin. */
int edu_intx_gsi(Edu *e);

/* query-vfio's "return" object (caller unrefs). */
JsonObject *edu_query_vfio(QTestState *qts);

#endif /* APERTURE_TESTS_VFIO_PCI_EDU_H */
