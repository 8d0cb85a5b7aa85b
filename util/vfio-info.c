/*
 * VFIO info ioctls: argsz growth, capability chains, type1 IOMMU info.
 * See include/qemu/vfio-info.h.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/range.h"
#include "qemu/vfio-info.h"
#include "trace/trace-util.h"

#include <sys/ioctl.h>

/* A kernel that keeps asking for more is broken; stop after a few rounds. */
#define VFIO_INFO_MAX_ROUNDS    4

int vfio_info_ioctl(int fd, unsigned long request, const void *arg, size_t arg_size,
                    void **info, size_t *info_size)
{
    size_t size = arg_size;
    void *buf = NULL;

    assert(arg_size >= 2 * sizeof(uint32_t));
    *info = NULL;
    for (int round = 0; round < VFIO_INFO_MAX_ROUNDS; round++) {
        uint32_t argsz;

        buf = g_realloc(buf, size);
        memcpy(buf, arg, arg_size);
        memset((char *)buf + arg_size, 0, size - arg_size);
        argsz = size;
        memcpy(buf, &argsz, sizeof(argsz));

        if (ioctl(fd, request, buf) < 0) {
            int err = -errno;

            g_free(buf);
            return err;
        }
        memcpy(&argsz, buf, sizeof(argsz));
        trace_vfio_info_ioctl(fd, request, size, argsz);
        if (argsz <= size) {
            *info = buf;
            *info_size = size;
            return 0;
        }
        if (argsz > VFIO_INFO_MAX_SIZE) {
            g_free(buf);
            return -E2BIG;
        }
        size = argsz;
    }
    g_free(buf);
    return -E2BIG;
}

/* Where and why a chain is malformed, for messages. */
typedef struct VFIOInfoCapFault {
    uint64_t offset;    /* the offset that could not be followed, or the bad capability's */
    bool found;         /* the capability asked for is there, but bad */
    const char *why;    /* what is wrong with the offset or the capability */
} VFIOInfoCapFault;

/* The one walker: vfio_info_cap_find, filling @fault when the chain is malformed. */
static int vfio_info_cap_walk(const void *info, size_t info_size, uint32_t first_offset,
                              uint16_t id, size_t min_size,
                              const struct vfio_info_cap_header **cap,
                              VFIOInfoCapFault *fault)
{
    const struct vfio_info_cap_header *hdr;
    /* A capability never overlaps the two fixed words every info struct has. */
    uint64_t floor = 2 * sizeof(uint32_t);
    uint64_t off = first_offset;

    *cap = NULL;
    if (min_size < sizeof(*hdr)) {
        min_size = sizeof(*hdr);
    }
    fault->found = false;
    while (off) {
        fault->offset = off;
        /* The kernel aligns every capability to 8: they hold u64 fields. */
        if (off < floor) {
            fault->why = off == first_offset && floor == 2 * sizeof(uint32_t)
                         ? "is inside the info's fixed part" : "goes back into the chain";
        } else if (off % sizeof(uint64_t)) {
            fault->why = "is not 8-byte aligned";
        } else if (off + sizeof(*hdr) > info_size) {
            fault->why = "is past the end of the buffer";
        } else {
            fault->why = NULL;
        }
        if (fault->why) {
            trace_vfio_info_cap_malformed(id, off, info_size);
            return -EINVAL;
        }
        hdr = (const void *)((const char *)info + off);
        if (hdr->id == id) {
            /*
             * The capability must fit in the buffer and end before the next
             * one starts, so callers can size variable-length parts by
             * vfio_info_cap_room() without it ever being less than min_size.
             */
            fault->found = true;
            if (off + min_size > info_size) {
                fault->why = "runs past the end of the buffer";
            } else if (hdr->next && hdr->next < off + min_size) {
                fault->why = "overlaps the next capability";
            }
            if (fault->why) {
                trace_vfio_info_cap_malformed(id, off, info_size);
                return -EINVAL;
            }
            *cap = hdr;
            return 0;
        }
        /* Strictly increasing offsets make a cycle impossible. */
        floor = off + sizeof(*hdr);
        off = hdr->next;
    }
    return -ENOENT;
}

int vfio_info_cap_find(const void *info, size_t info_size, uint32_t first_offset,
                       uint16_t id, size_t min_size,
                       const struct vfio_info_cap_header **cap)
{
    VFIOInfoCapFault fault;

    return vfio_info_cap_walk(info, info_size, first_offset, id, min_size, cap, &fault);
}

size_t vfio_info_cap_room(const void *info, size_t info_size,
                          const struct vfio_info_cap_header *cap)
{
    size_t off = (const char *)cap - (const char *)info;

    if (cap->next > off && cap->next <= info_size) {
        return cap->next - off;
    }
    return info_size - off;
}

static bool vfio_iommu_info_parse_iova_ranges(const struct vfio_iommu_type1_info *info,
                                              size_t size,
                                              const struct vfio_info_cap_header *hdr,
                                              VFIOIOMMUInfo *out, Error **errp)
{
    const struct vfio_iommu_type1_info_cap_iova_range *cap = (const void *)hdr;
    size_t room = vfio_info_cap_room(info, size, hdr);
    uint64_t prev_end = 0;

    if (cap->nr_iovas == 0 ||
        cap->nr_iovas > (room - sizeof(*cap)) / sizeof(struct vfio_iova_range)) {
        error_setg(errp, "IOMMU info: the IOVA range capability at offset 0x%zx holds %u "
                   "ranges in %zu bytes", (size_t)((const char *)hdr - (const char *)info),
                   cap->nr_iovas, room);
        return false;
    }
    for (uint32_t i = 0; i < cap->nr_iovas; i++) {
        const struct vfio_iova_range *r = &cap->iova_ranges[i];
        Range *range;

        if (r->start > r->end || (i > 0 && r->start <= prev_end)) {
            error_setg(errp, "IOMMU info: the IOVA range capability's range %u [0x%" PRIx64
                       ", 0x%" PRIx64 "] is empty, overlapping or out of order", i,
                       (uint64_t)r->start, (uint64_t)r->end);
            return false;
        }
        prev_end = r->end;
        range = g_new(Range, 1);
        range_set_bounds(range, r->start, r->end);
        out->iova_ranges = g_list_append(out->iova_ranges, range);
        trace_vfio_iommu_info_iova_range(r->start, r->end);
    }
    return true;
}

/*
 * Find type1 capability @id (called @name in messages) in @info; false
 * with errp set, naming the capability, the offset and the fault, when the
 * chain is malformed.  *@hdr is NULL when the capability is absent.
 */
static bool vfio_iommu_info_cap(const struct vfio_iommu_type1_info *info, size_t size,
                                uint16_t id, const char *name, size_t min_size,
                                const struct vfio_info_cap_header **hdr, Error **errp)
{
    VFIOInfoCapFault fault;
    int ret = vfio_info_cap_walk(info, size, info->cap_offset, id, min_size, hdr, &fault);

    if (ret != -EINVAL) {
        return true;
    }
    if (fault.found) {
        error_setg(errp, "IOMMU info: the %s capability at offset 0x%" PRIx64 " %s "
                   "(%zu bytes of info, the capability needs %zu)", name, fault.offset,
                   fault.why, size, min_size);
    } else {
        error_setg(errp, "IOMMU info: malformed capability chain while looking for the %s "
                   "capability: offset 0x%" PRIx64 " %s (%zu bytes of info)", name,
                   fault.offset, fault.why, size);
    }
    return false;
}

bool vfio_iommu_info_parse(const struct vfio_iommu_type1_info *info, size_t size,
                           VFIOIOMMUInfo *out, Error **errp)
{
    const struct vfio_info_cap_header *hdr;
    uint64_t host_page = qemu_real_host_page_size();

    memset(out, 0, sizeof(*out));
    out->dma_max_mappings = VFIO_DEFAULT_DMA_MAX_MAPPINGS;

    if (size < offsetof(struct vfio_iommu_type1_info, cap_offset)) {
        error_setg(errp, "IOMMU info is %zu bytes, too short", size);
        return false;
    }
    out->iova_pgsizes = host_page;
    if ((info->flags & VFIO_IOMMU_INFO_PGSIZES) && info->iova_pgsizes) {
        out->iova_pgsizes = info->iova_pgsizes;
    }
    if (!(info->flags & VFIO_IOMMU_INFO_CAPS) || size < sizeof(*info) ||
        !info->cap_offset) {
        return true;
    }

    if (!vfio_iommu_info_cap(info, size, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, "IOVA range",
                             sizeof(struct vfio_iommu_type1_info_cap_iova_range), &hdr,
                             errp)) {
        goto fail;
    }
    if (hdr && !vfio_iommu_info_parse_iova_ranges(info, size, hdr, out, errp)) {
        goto fail;
    }

    if (!vfio_iommu_info_cap(info, size, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, "DMA avail",
                             sizeof(struct vfio_iommu_type1_info_dma_avail), &hdr, errp)) {
        goto fail;
    }
    if (hdr) {
        out->dma_max_mappings = ((const struct vfio_iommu_type1_info_dma_avail *)hdr)->avail;
        out->dma_avail_reported = true;
    }

    if (!vfio_iommu_info_cap(info, size, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, "migration",
                             sizeof(struct vfio_iommu_type1_info_cap_migration), &hdr,
                             errp)) {
        goto fail;
    }
    if (hdr) {
        const struct vfio_iommu_type1_info_cap_migration *mig = (const void *)hdr;

        out->dirty_pgsizes = mig->pgsize_bitmap;
        out->max_dirty_bitmap_size = mig->max_dirty_bitmap_size;
        /* Dirty bitmaps come in host pages; any other granule is unusable. */
        out->dirty_pages_supported = (mig->pgsize_bitmap & host_page) != 0 &&
                                     mig->max_dirty_bitmap_size > 0;
    }
    trace_vfio_iommu_info_parsed(out->iova_pgsizes, out->dma_max_mappings,
                                 out->dirty_pages_supported,
                                 out->max_dirty_bitmap_size);
    return true;

fail:
    vfio_iommu_info_clear(out);
    return false;
}

void vfio_iommu_info_clear(VFIOIOMMUInfo *info)
{
    g_list_free_full(info->iova_ranges, g_free);
    info->iova_ranges = NULL;
}
