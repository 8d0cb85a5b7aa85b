/*
 * Reading the VFIO "info" ioctls: the argsz growth protocol, capability
 * chains, and the type1 IOMMU information.
 *
 * Every VFIO info structure starts with `argsz` and `flags`.  When the kernel
 * has more to say than the caller's buffer holds (capability chains), it
 * writes the size it needs into argsz and returns success with the chain
 * left out, so the caller grows the buffer and asks again.  Capabilities are
 * a linked list of vfio_info_cap_header inside the same buffer; `next` is an
 * offset from the start of the buffer, 0 ending the list.
 *
 * The kernel is trusted not to lie, but a bug or a different kernel must not
 * make us read outside the buffer or loop forever: these helpers check every
 * offset, and they are the only code in the tree that walks a chain.
 */
#ifndef QEMU_VFIO_INFO_H
#define QEMU_VFIO_INFO_H

#include "qemu/osdep.h"
#include <linux/vfio.h>

/* An info buffer larger than this is refused (the kernel's largest is a few KiB). */
#define VFIO_INFO_MAX_SIZE      (1u << 20)

/*
 * Issue @request on @fd with a copy of @arg (@arg_size bytes, whose argsz
 * field is overwritten), growing the buffer while the kernel asks for more.
 * On success returns 0 and a g_malloc'd buffer in *@info of *@info_size
 * bytes (at least @arg_size); on failure returns -errno and *@info is NULL.
 * -E2BIG means the kernel asked for more than VFIO_INFO_MAX_SIZE.
 */
int vfio_info_ioctl(int fd, unsigned long request, const void *arg, size_t arg_size,
                    void **info, size_t *info_size);

/*
 * Find capability @id in the chain of @info (@info_size bytes) that starts
 * at @first_offset.  The capability must be at least @min_size bytes (header
 * included), lie wholly inside the buffer and end before the next capability
 * starts.  Returns 0 with *@cap set,
 * -ENOENT when the chain has no such capability, -EINVAL when the chain is
 * malformed (an offset inside the fixed part or outside the buffer, a
 * header not aligned to 8 bytes, offsets that do not strictly increase, so a loop is
 * impossible).
 */
int vfio_info_cap_find(const void *info, size_t info_size, uint32_t first_offset,
                       uint16_t id, size_t min_size,
                       const struct vfio_info_cap_header **cap);

/*
 * The number of bytes from capability @cap to the next one (or to the end
 * of the buffer): the room a variable-length capability may use.
 */
size_t vfio_info_cap_room(const void *info, size_t info_size,
                          const struct vfio_info_cap_header *cap);

/* What a type1 VFIO_IOMMU_GET_INFO says, in a form the rest of the tree uses. */
typedef struct VFIOIOMMUInfo {
    uint64_t iova_pgsizes;          /* IOMMU page sizes (bitmap), never 0 */
    GList *iova_ranges;             /* Range * (inclusive), sorted; NULL: no cap */
    uint32_t dma_max_mappings;      /* mappings allowed: DMA-avail cap or 65535 */
    bool dma_avail_reported;        /* the kernel sent the DMA-avail capability */
    bool dirty_pages_supported;     /* migration cap present with the host page size */
    uint64_t dirty_pgsizes;         /* migration cap's pgsize_bitmap */
    uint64_t max_dirty_bitmap_size; /* bytes, from the migration cap */
} VFIOIOMMUInfo;

/* The kernel's default limit of simultaneous type1 mappings (dma_entry_limit). */
#define VFIO_DEFAULT_DMA_MAX_MAPPINGS   65535

/*
 * Parse a type1 info buffer of @size bytes.  A malformed capability or
 * chain is an error naming the capability (IOVA range, DMA avail,
 * migration) being read or looked for, the offset at fault and what is
 * wrong there; a missing capability takes its documented default.
 */
bool vfio_iommu_info_parse(const struct vfio_iommu_type1_info *info, size_t size,
                           VFIOIOMMUInfo *out, Error **errp);
void vfio_iommu_info_clear(VFIOIOMMUInfo *info);

#endif /* QEMU_VFIO_INFO_H */
