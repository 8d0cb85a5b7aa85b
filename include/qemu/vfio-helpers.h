/*
 * vfio-helpers: drive a PCI device from userspace through VFIO.
 *
 * A userspace driver (QEMU's NVMe block driver is the model) opens a PCI
 * device bound to vfio-pci, maps memory for the device's DMA, maps or
 * accesses its BARs, and takes its interrupts on event notifiers.  The
 * device gets a container of its own (legacy /dev/vfio/vfio, type1 IOMMU).
 *
 * IOVA space.  The usable IOVAs are the kernel's IOVA ranges
 * (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE), or [0x10000, 1 << 39) when the
 * kernel reports none; each range is trimmed to whole IOMMU pages, and the
 * very last page of the 64-bit space is never used (so that iova + size
 * never wraps).  Inside that space:
 *
 *   lowest usable IOVA                                   highest usable IOVA
 *   | fixed mappings -> |        free         | <- temporary mappings |
 *                       ^ fixed_limit          ^ temp_start
 *
 *   - fixed (permanent) mappings take the lowest free IOVAs and stay until
 *     unmapped or the state is closed; a hole left by an unmapped one is
 *     reused by the next fixed mapping that fits;
 *   - temporary mappings take the highest free IOVAs, and
 *     qemu_vfio_dma_reset_temporary() drops all of them with one ioctl;
 *   - the two areas never cross: a fixed mapping always ends below
 *     temp_start and a temporary one starts at or above fixed_limit, so a
 *     request fails ("IOVA space exhausted") exactly when no free IOVA
 *     range of its size lies in its area.
 * The kernel's limit on the number of mappings (DMA-avail capability, or
 * 65535) is checked before asking the kernel.
 *
 * Guest RAM.  Every RAM block (exec/ramblock.h) is mapped as a fixed
 * mapping at open and followed through a RAMBlockNotifier: new blocks are
 * mapped, removed ones unmapped, resized ones remapped.  A block reserves
 * IOVA space for its max_size, so its IOVA never moves when it grows; only
 * its used size is mapped.
 *
 * Lookups by host address are O(log n) (the IOVA tree's reverse index).
 *
 * Thread safety: every function may be called from any thread; DMA
 * mappings are protected by a mutex held across the MAP/UNMAP ioctls.
 * IRQ set-up and BAR mapping are meant for the thread that owns the device.
 * qemu_vfio_close() must not race with other calls on the same state.
 *
 * Errors: functions that can fail for a user-visible reason return bool
 * (or a pointer) and set @errp with a message naming the device; thin
 * accessors of config space and BARs return 0 or -errno.
 */
#ifndef QEMU_VFIO_HELPERS_H
#define QEMU_VFIO_HELPERS_H

#include "qemu/osdep.h"
#include "qemu/event_notifier.h"

#include <linux/vfio.h>

typedef struct QEMUVFIOState QEMUVFIOState;

/* IOVA window used when the kernel reports no IOVA ranges. */
#define QEMU_VFIO_IOVA_MIN      0x10000ULL
#define QEMU_VFIO_IOVA_LIMIT    (1ULL << 39)    /* exclusive */

/*
 * Open the PCI device @device ("0000:00:01.0"): find its IOMMU group in
 * sysfs, check the group is viable, attach it to a new container with the
 * type1 IOMMU (v2 if offered), read the IOMMU's page sizes, IOVA ranges and
 * mapping limit, get the device fd, read its config and BAR regions, turn on
 * bus mastering and map every RAM block.  NULL with @errp set on failure,
 * with everything undone.
 */
QEMUVFIOState *qemu_vfio_open_pci(const char *device, Error **errp);

/*
 * Disable interrupts and bus mastering, reset the device if it supports
 * reset, release every DMA mapping (RAM blocks included) and close the
 * device, group and container.  NULL is fine.
 */
void qemu_vfio_close(QEMUVFIOState *s);

/* The PCI address given to qemu_vfio_open_pci(). */
const char *qemu_vfio_device_name(const QEMUVFIOState *s);

/*
 * Config space: @size bytes at @offset through the config region, retried
 * on EINTR.  0, -EINVAL when the range is outside config space, -EIO on a
 * short transfer, or -errno.
 */
int qemu_vfio_pci_read_config(QEMUVFIOState *s, void *buf, size_t size,
                              uint64_t offset);
int qemu_vfio_pci_write_config(QEMUVFIOState *s, const void *buf, size_t size,
                               uint64_t offset);

/* What the kernel said about a BAR (VFIO_DEVICE_GET_REGION_INFO). */
typedef struct QEMUVFIOBarInfo {
    uint64_t size_bytes;        /* 0: the BAR is not implemented */
    uint32_t flags;             /* VFIO_REGION_INFO_FLAG_READ|WRITE|MMAP|CAPS */
    /*
     * Parts that may be mmap'd: the whole BAR when it has MMAP and no
     * sparse-mmap capability, else the capability's areas (maybe none).
     */
    uint32_t nr_mmap_areas;
} QEMUVFIOBarInfo;

/* Info of BAR @index (0..5); false with @errp set for a bad index. */
bool qemu_vfio_pci_get_bar_info(QEMUVFIOState *s, int index,
                                QEMUVFIOBarInfo *info, Error **errp);

/*
 * Map @size bytes of BAR @index from @offset with @prot (PROT_READ and/or
 * PROT_WRITE), MAP_SHARED.  The BAR must allow mmap of that range (MMAP
 * flag, within a sparse-mmap area if the BAR has them), @prot must be
 * allowed by the region's READ/WRITE flags, and @offset must be
 * page-aligned.  NULL with @errp set on failure.
 */
void *qemu_vfio_pci_map_bar(QEMUVFIOState *s, int index, uint64_t offset,
                            uint64_t size, int prot, Error **errp);
/* Undo qemu_vfio_pci_map_bar() (same index, offset and size); NULL is fine. */
void qemu_vfio_pci_unmap_bar(QEMUVFIOState *s, int index, void *bar,
                             uint64_t offset, uint64_t size);

/*
 * Access BAR @index with pread/pwrite on the device fd (for BARs, or parts,
 * that cannot be mmap'd; each call is one device access of @size bytes).
 * Retried on EINTR.  0, -EINVAL outside the BAR, -EIO on a short transfer,
 * or -errno.
 */
int qemu_vfio_pci_read_bar(QEMUVFIOState *s, int index, uint64_t offset,
                           void *buf, size_t size);
int qemu_vfio_pci_write_bar(QEMUVFIOState *s, int index, uint64_t offset,
                            const void *buf, size_t size);

/*
 * Deliver vector 0 of interrupt index @irq_type (VFIO_PCI_INTX_IRQ_INDEX,
 * VFIO_PCI_MSI_IRQ_INDEX or VFIO_PCI_MSIX_IRQ_INDEX) to @e.  Another index
 * in use is disabled first (vfio-pci allows one at a time).  INTx is
 * automasked: after handling one, call qemu_vfio_pci_unmask_irq().
 */
bool qemu_vfio_pci_init_irq(QEMUVFIOState *s, EventNotifier *e, int irq_type,
                            Error **errp);
/* Unmask INTx after an interrupt was handled.  False if INTx is not in use. */
bool qemu_vfio_pci_unmask_irq(QEMUVFIOState *s, Error **errp);
/* Stop delivering interrupts (a no-op when none is set up). */
void qemu_vfio_pci_disable_irq(QEMUVFIOState *s);

/*
 * Map [host, host + size) for DMA and return its IOVA in *@iova (may be
 * NULL).  @host and @size must be multiples of the host page size and the
 * IOMMU's smallest page.  When the range already lies inside one mapping
 * (a RAM block, say), that mapping's IOVA is returned and nothing new is
 * mapped.  Otherwise a new mapping is made: @temporary ones at the top of
 * the IOVA space, fixed ones at the bottom.  The device may read and
 * write the memory.  False with @errp set when the IOVA space or the
 * kernel's mapping budget is exhausted or the kernel refuses.
 */
bool qemu_vfio_dma_map(QEMUVFIOState *s, void *host, size_t size,
                       bool temporary, uint64_t *iova, Error **errp);

/*
 * Unmap every temporary mapping at once (one ioctl) and give their IOVA
 * space back.  The caller makes sure the device no longer uses them.
 * False with @errp set (and nothing forgotten) if the kernel refuses.
 */
bool qemu_vfio_dma_reset_temporary(QEMUVFIOState *s, Error **errp);

/*
 * Unmap the mapping that contains @host (fixed or temporary; not a RAM
 * block's, which follows the block).  Nothing happens when @host is not
 * mapped; a kernel failure is reported on stderr.
 */
void qemu_vfio_dma_unmap(QEMUVFIOState *s, void *host);

/*
 * The IOVA of [host, host + size) if one mapping covers all of it, in
 * O(log n).  False when it is not (wholly) mapped.
 */
bool qemu_vfio_dma_lookup(QEMUVFIOState *s, const void *host, size_t size,
                          uint64_t *iova);

/* A snapshot of the DMA state, for tests, benchmarks and monitoring. */
typedef struct QEMUVFIODMAStats {
    uint64_t iova_first;        /* lowest usable IOVA */
    uint64_t iova_last;         /* highest usable IOVA (inclusive) */
    uint64_t fixed_limit;       /* fixed mappings lie below (exclusive) */
    uint64_t temp_start;        /* temporary mappings lie at or above */
    uint64_t min_pgsize;        /* alignment of sizes and IOVAs, bytes */
    uint32_t nr_iova_ranges;    /* usable IOVA ranges */
    uint32_t nr_fixed;          /* fixed mappings, RAM blocks included */
    uint32_t nr_temporary;      /* temporary mappings */
    uint32_t nr_ram_blocks;     /* RAM blocks mapped */
    uint32_t max_mappings;      /* the kernel's budget for this container */
    uint64_t dma_ioctls;        /* MAP_DMA + UNMAP_DMA ioctls issued so far */
    uint64_t ram_block_errors;  /* RAM block map/unmap failures after open */
} QEMUVFIODMAStats;

void qemu_vfio_dma_get_stats(QEMUVFIOState *s, QEMUVFIODMAStats *stats);

/*
 * The usable IOVA ranges: a sorted list of g_malloc'd Range (inclusive),
 * owned by the caller (range_list_free()).
 */
GList *qemu_vfio_get_iova_ranges(QEMUVFIOState *s);

#endif /* QEMU_VFIO_HELPERS_H */
