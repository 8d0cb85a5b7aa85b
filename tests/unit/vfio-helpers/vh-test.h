/*
 * Helpers shared by the vfio-helpers tests.
 *
 * The tests run against whatever answers /dev/vfio: vfio-sim when the
 * library is preloaded (meson's vfio_sim_test_env), or the real kernel (the
 * rig in tests/vm, or a host with a device bound to vfio-pci).  The device
 * under test comes from the environment:
 *
 *   APERTURE_VFIO_DEVICE   PCI address of an edu bound to vfio-pci
 *                          (default 0000:00:01.0)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TESTS_UNIT_VFIO_HELPERS_VH_TEST_H
#define TESTS_UNIT_VFIO_HELPERS_VH_TEST_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/vfio-helpers.h"

#define VH_DEFAULT_DEVICE   "0000:00:01.0"
#define VH_PAGE             ((size_t)4096)

/* edu (QEMU docs/specs/edu.rst): ids and BAR0 registers. */
#define EDU_VENDOR_ID       0x1234
#define EDU_DEVICE_ID       0x11e8
#define EDU_REG_ID          0x00
#define EDU_ID_VALUE        0x010000edu
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
#define EDU_REG_DMA_SRC     0x80
#define EDU_REG_DMA_DST     0x88
#define EDU_REG_DMA_COUNT   0x90
#define EDU_REG_DMA_CMD     0x98
#define EDU_DMA_START       0x1
#define EDU_DMA_TO_RAM      0x2
#define EDU_DMA_IRQ         0x4
#define EDU_IRQ_DMA         0x100       /* IRQ status bit of a finished DMA */
#define EDU_DMA_BUFFER      0x40000     /* device address of its 4 KiB buffer */
#define EDU_DMA_BUFFER_SIZE 4096
#define EDU_DMA_MASK_BITS   28

/*
 * A diagnostic: a TAP comment, or a line on stderr in a subprocess test
 * (whose stdout the parent does not show).
 */
void vh_message(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* The device under test. */
const char *vh_device(void);

/*
 * Skip the current test (returning false) when there is no VFIO or no such
 * device: /dev/vfio/vfio missing, or the device has no IOMMU group.
 */
bool vh_require_device(const char *bdf);

/* Open @bdf; the test fails with the error's message if it cannot. */
QEMUVFIOState *vh_open(const char *bdf);

/* Page-aligned anonymous memory, filled with @byte; free with vh_free(). */
void *vh_alloc(size_t size, int byte);
void vh_free(void *p, size_t size);

/* Fail the test unless @err is set and its message contains @needle; frees it. */
void vh_assert_error(Error **err, const char *needle);
/* Fail the test with the message of @err if it is set. */
void vh_assert_no_error(Error *err);

/*
 * The fds opened by qemu_vfio_open_pci(): call vh_fds_snapshot() before the
 * open, then vh_dup_vfio_fds() after it to get duplicates of the new
 * container and group fds (identified by asking them).  With both held, the
 * group stays attached to the container after qemu_vfio_close(), so the
 * container can still be asked what is mapped.
 */
GHashTable *vh_fds_snapshot(void);
void vh_dup_vfio_fds(GHashTable *before, int *container, int *group);

/*
 * Bytes still mapped in @container: UNMAP_DMA of the whole IOVA space
 * (VFIO_DMA_UNMAP_FLAG_ALL when the kernel has it).  Unmaps them, too.
 */
uint64_t vh_container_unmap_everything(int container);

/* Wait up to @timeout_ms for @e to be set, and clear it; false on timeout. */
bool vh_notifier_wait(EventNotifier *e, int timeout_ms);

/* BAR0 registers of the edu, through the region (exact on sim and kernel). */
uint32_t vh_bar0_read32(QEMUVFIOState *s, uint32_t offset);
void vh_bar0_write32(QEMUVFIOState *s, uint32_t offset, uint32_t val);

#endif
