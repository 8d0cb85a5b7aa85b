/*
 * VFIO conformance suite: helpers shared by the test programs.
 *
 * The suite uses only libc, GLib and <linux/vfio.h>, so that one binary runs
 * against the real kernel (tests/vm) and against vfio-sim (LD_PRELOAD).  The
 * device under test comes from the environment:
 *
 *   APERTURE_VFIO_DEVICE    PCI address of an edu bound to vfio-pci
 *                           (default 0000:00:01.0)
 *   APERTURE_VFIO_DEVICE2   a second edu in another IOMMU group
 *                           (default 0000:00:03.0; "none" = there is none)
 *
 * Topology-specific variables are documented in test-vfio-topology.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef APERTURE_TESTS_VFIO_TEST_H
#define APERTURE_TESTS_VFIO_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <glib.h>
#include <linux/vfio.h>

#define VT_DEFAULT_DEVICE   "0000:00:01.0"
#define VT_DEFAULT_DEVICE2  "0000:00:03.0"
#define VT_PAGE             4096ULL

/* edu (QEMU docs/specs/edu.rst): PCI ids and BAR0 registers. */
#define EDU_VENDOR_ID       0x1234
#define EDU_DEVICE_ID       0x11e8
#define EDU_REG_ID          0x00
#define EDU_REG_LIVENESS    0x04
#define EDU_REG_FACTORIAL   0x08
#define EDU_REG_STATUS      0x20
#define EDU_STATUS_COMPUTING    0x01
#define EDU_STATUS_IRQ_FACT     0x80
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
#define EDU_REG_DMA_SRC     0x80
#define EDU_REG_DMA_DST     0x88
#define EDU_REG_DMA_COUNT   0x90
#define EDU_REG_DMA_CMD     0x98
#define EDU_DMA_START       0x01
#define EDU_DMA_TO_RAM      0x02
#define EDU_DMA_IRQ         0x04
#define EDU_DMA_BUFFER      0x40000     /* device-side address of its 4 KiB buffer */
#define EDU_DMA_BUFFER_SIZE 4096
#define EDU_ID_VALUE        0x010000edu

/* One device opened through the legacy container interface. */
typedef struct VtDevice {
    const char *bdf;        /* PCI address (not owned) */
    int group_id;           /* IOMMU group number */
    int container;          /* /dev/vfio/vfio fd, or -1 */
    int group;              /* /dev/vfio/GROUP fd, or -1 */
    int device;             /* device fd, or -1 */
    uint64_t cfg_offset;    /* file offset of the config space region */
    uint64_t bar0_offset;   /* file offset of BAR0 */
    uint64_t bar0_size;     /* BAR0 size in bytes */
} VtDevice;

/*
 * Environment.  vt_device2() returns NULL when the second device is disabled
 * with "none".
 */
const char *vt_device(void);
const char *vt_device2(void);

/* IOMMU group of a PCI device from sysfs, or -1 when it has none. */
int vt_group_of(const char *bdf);

/*
 * Skip the current test (and return false) when VFIO or the device is not
 * there: /dev/vfio/vfio missing, or BDF without an IOMMU group.
 */
bool vt_require_device(const char *bdf);

/* open() helpers returning the fd or -errno. */
int vt_open_container(void);
int vt_open_group(int group_id);

/*
 * Open BDF the usual way: container, group, SET_CONTAINER, SET_IOMMU(TYPE),
 * GET_DEVICE_FD, and look up the config and BAR0 regions.  Asserts on failure.
 */
void vt_device_open(VtDevice *d, const char *bdf, int iommu_type);
/* Open container and group and attach them, without SET_IOMMU. */
void vt_device_open_group(VtDevice *d, const char *bdf);
void vt_device_close(VtDevice *d);

/* Thin ioctl wrappers: 0 or -errno. */
int vt_ioctl(int fd, unsigned long req, void *arg);
int vt_map(int container, uint64_t iova, void *vaddr, uint64_t size, uint32_t flags);
int vt_unmap(int container, uint64_t iova, uint64_t size, uint32_t flags,
             uint64_t *unmapped_size);
int vt_region_info(int device, uint32_t index, struct vfio_region_info *info);
int vt_irq_info(int device, uint32_t index, struct vfio_irq_info *info);

/* SET_IRQS with eventfds (fd -1 = de-assign); DATA_NONE for trigger/mask/unmask. */
int vt_set_irq_eventfds(int device, uint32_t index, uint32_t start, uint32_t count,
                        const int *fds);
int vt_set_irq_none(int device, uint32_t index, uint32_t action, uint32_t start,
                    uint32_t count);

/*
 * GET_INFO on a container with the argsz protocol: returns a g_malloc'd
 * buffer of the size the kernel asked for (*argsz_first: what the first call
 * with the bare struct reported).
 */
struct vfio_iommu_type1_info *vt_iommu_info(int container, uint32_t *argsz_first);
/* First capability with ID in a GET_INFO buffer, bounds checked, or NULL. */
const struct vfio_info_cap_header *vt_find_cap(const void *buf, uint32_t argsz,
                                               uint32_t first_offset, uint16_t id);

/* Anonymous page-aligned memory, SIZE bytes, filled with BYTE. */
void *vt_alloc(size_t size, int byte);
void vt_free(void *p, size_t size);

/* Config space and BAR0 access through pread/pwrite (asserting full transfers). */
uint32_t vt_cfg_read(VtDevice *d, uint32_t off, unsigned size);
void vt_cfg_write(VtDevice *d, uint32_t off, unsigned size, uint32_t val);
uint32_t vt_bar0_read32(VtDevice *d, uint32_t off);
void vt_bar0_write32(VtDevice *d, uint32_t off, uint32_t val);
/* Set or clear bits of the PCI command register. */
void vt_cfg_command(VtDevice *d, uint16_t set, uint16_t clear);

/*
 * edu DMA: copy COUNT bytes between IOVA and the device buffer, wait for the
 * engine to finish (up to TIMEOUT_MS).  Returns false on timeout.
 */
bool vt_edu_dma(VtDevice *d, uint64_t iova, uint32_t count, bool to_ram, int timeout_ms);

/* Wait up to TIMEOUT_MS for an eventfd to fire; returns its count (0 = none). */
uint64_t vt_eventfd_wait(int fd, int timeout_ms);
int vt_eventfd(void);

/*
 * Check that CALL failed with errno EXPECTED and say what happened if not.
 * CALL returns -1/errno (libc) or -errno (vt_* wrappers); both are accepted.
 */
#define vt_assert_fails(call, expected) \
    do { \
        errno = 0; \
        long vt_ret_ = (long)(call); \
        int vt_err_ = errno; \
        vt_check_fails(vt_ret_, vt_err_, (expected), #call, __FILE__, __LINE__, G_STRFUNC); \
    } while (0)
/* Check that CALL succeeded (>= 0); evaluates to its value. */
#define vt_assert_ok(call) \
    ({ \
        errno = 0; \
        long vt_ret_ = (long)(call); \
        int vt_err_ = errno; \
        vt_check_ok(vt_ret_, vt_err_, #call, __FILE__, __LINE__, G_STRFUNC); \
    })

void vt_check_fails(long ret, int err, int expected, const char *what, const char *file,
                    int line, const char *func);
long vt_check_ok(long ret, int err, const char *what, const char *file, int line,
                 const char *func);

/* errno name ("EINVAL") for messages. */
const char *vt_errname(int err);

#endif
