/*
 * Device regions: the slow path (MMIO callbacks over the transport's
 * region read/write) and the fast path (mmap of the mappable parts as
 * RAM-device subregions) (include/hw/vfio/vfio-device.h).
 *
 * A region the kernel marks mappable is mapped whole, unless its info
 * carries a sparse-mmap capability: then only the listed areas are (the
 * rest, an MSI-X table say, must trap).  Accesses outside the mapped parts
 * fall through to the slow path, which is the region's own MemoryRegion.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/vfio-info.h"
#include "hw/vfio/vfio-device.h"
#include "trace/trace-hw_vfio.h"

#include <sys/mman.h>

/* ------------------------------------------------------------------------ */
/* Slow path */

void vfio_region_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    VFIORegion *region = opaque;
    VFIODevice *vbasedev = region->vbasedev;
    union {
        uint8_t byte;
        uint16_t word;
        uint32_t dword;
        uint64_t qword;
    } buf;
    ssize_t ret;

    switch (size) {
    case 1:
        buf.byte = data;
        break;
    case 2:
        buf.word = GUINT16_TO_LE(data);
        break;
    case 4:
        buf.dword = GUINT32_TO_LE(data);
        break;
    case 8:
        buf.qword = GUINT64_TO_LE(data);
        break;
    default:
        error_report("vfio %s: region %d: bad write size %u", vbasedev->name, region->nr,
                     size);
        return;
    }
    ret = vbasedev->io_ops->region_write(vbasedev, region->nr, addr, &buf, size);
    trace_vfio_region_write(vbasedev->name, region->nr, addr, data, size);
    if (ret != (ssize_t)size) {
        error_report("vfio %s: region %d: write of %u bytes at 0x%" PRIx64 " failed: %s",
                     vbasedev->name, region->nr, size, (uint64_t)addr,
                     ret < 0 ? strerror(-ret) : "short write");
    }
}

uint64_t vfio_region_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIORegion *region = opaque;
    VFIODevice *vbasedev = region->vbasedev;
    union {
        uint8_t byte;
        uint16_t word;
        uint32_t dword;
        uint64_t qword;
    } buf;
    uint64_t data;
    ssize_t ret;

    if (size != 1 && size != 2 && size != 4 && size != 8) {
        error_report("vfio %s: region %d: bad read size %u", vbasedev->name, region->nr,
                     size);
        return UINT64_MAX;
    }
    ret = vbasedev->io_ops->region_read(vbasedev, region->nr, addr, &buf, size);
    if (ret != (ssize_t)size) {
        error_report("vfio %s: region %d: read of %u bytes at 0x%" PRIx64 " failed: %s",
                     vbasedev->name, region->nr, size, (uint64_t)addr,
                     ret < 0 ? strerror(-ret) : "short read");
        return size == 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
    }
    switch (size) {
    case 1:
        data = buf.byte;
        break;
    case 2:
        data = GUINT16_FROM_LE(buf.word);
        break;
    case 4:
        data = GUINT32_FROM_LE(buf.dword);
        break;
    default:
        data = GUINT64_FROM_LE(buf.qword);
        break;
    }
    trace_vfio_region_read(vbasedev->name, region->nr, addr, size, data);
    return data;
}

static const MemoryRegionOps vfio_region_ops = {
    .read = vfio_region_read,
    .write = vfio_region_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

/* ------------------------------------------------------------------------ */
/* Set-up */

static gint vfio_mmap_compare(gconstpointer a, gconstpointer b)
{
    const VFIOMmap *x = a, *y = b;

    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * The mappable parts of @region from its sparse-mmap capability: every
 * area must be page aligned, inside the region and disjoint from the
 * others; empty areas are skipped.
 */
static bool vfio_region_setup_sparse(VFIORegion *region, const struct vfio_region_info *info,
                                     const struct vfio_info_cap_header *hdr, Error **errp)
{
    const struct vfio_region_info_cap_sparse_mmap *sparse = (const void *)hdr;
    size_t room = vfio_info_cap_room(info, info->argsz, hdr);
    uint64_t page = qemu_real_host_page_size();
    uint32_t n = 0;

    if (sparse->nr_areas > (room - sizeof(*sparse)) / sizeof(sparse->areas[0])) {
        error_setg(errp, "region %d: the sparse mmap capability lists %u areas in %zu "
                   "bytes", region->nr, sparse->nr_areas, room);
        return false;
    }
    region->mmaps = g_new0(VFIOMmap, sparse->nr_areas ? sparse->nr_areas : 1);
    for (uint32_t i = 0; i < sparse->nr_areas; i++) {
        uint64_t off = sparse->areas[i].offset, size = sparse->areas[i].size;

        trace_vfio_region_sparse_mmap_entry(region->vbasedev->name, region->nr, i, off,
                                            size);
        if (!size) {
            continue;
        }
        if (off % page || size % page || off > region->size ||
            size > region->size - off) {
            error_setg(errp, "region %d: sparse mmap area %u [0x%" PRIx64 ", +0x%" PRIx64
                       ") is unaligned or outside the region (0x%zx bytes)", region->nr, i,
                       off, size, region->size);
            return false;
        }
        region->mmaps[n].offset = off;
        region->mmaps[n].size = size;
        n++;
    }
    qsort(region->mmaps, n, sizeof(VFIOMmap), vfio_mmap_compare);
    for (uint32_t i = 1; i < n; i++) {
        if (region->mmaps[i].offset < region->mmaps[i - 1].offset +
                                      (off_t)region->mmaps[i - 1].size) {
            error_setg(errp, "region %d: sparse mmap areas overlap at 0x%" PRIx64,
                       region->nr, (uint64_t)region->mmaps[i].offset);
            return false;
        }
    }
    region->nr_mmaps = n;
    return true;
}

bool vfio_region_setup(void *owner, VFIODevice *vbasedev, VFIORegion *region,
                       int index, const char *name, Error **errp)
{
    ERRP_GUARD();
    const struct vfio_info_cap_header *hdr;
    struct vfio_region_info *info;
    int ret;

    memset(region, 0, sizeof(*region));
    ret = vfio_device_get_region_info(vbasedev, index, &info);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot read the info of region %d",
                         vbasedev->name, index);
        return false;
    }
    /*
     * Offsets into the device fd are off_t: a region that does not fit in
     * one cannot be read, written or mapped, whatever the kernel says.
     */
    if (info->size > INT64_MAX || info->offset > INT64_MAX - info->size) {
        error_setg(errp, "vfio %s: region %d [0x%llx, +0x%llx) does not fit in a file "
                   "offset", vbasedev->name, index, (unsigned long long)info->offset,
                   (unsigned long long)info->size);
        return false;
    }
    region->vbasedev = vbasedev;
    region->flags = info->flags;
    region->size = info->size;
    region->fd_offset = info->offset;
    region->nr = index;
    trace_vfio_region_setup(vbasedev->name, index, name, info->flags, info->offset,
                            info->size);
    if (!region->size) {
        return true;
    }

    region->mem = g_new0(MemoryRegion, 1);
    if (!memory_region_init_io_checked(region->mem, owner, &vfio_region_ops, region, name,
                                       region->size, errp)) {
        goto fail;
    }
    if (vbasedev->no_mmap || !(region->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        return true;
    }

    ret = vfio_region_info_cap_find(info, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1,
                                    sizeof(struct vfio_region_info_cap_sparse_mmap), &hdr);
    if (ret == 0) {
        if (!vfio_region_setup_sparse(region, info, hdr, errp)) {
            goto fail;
        }
    } else if (ret == -ENOENT) {
        region->mmaps = g_new0(VFIOMmap, 1);
        region->mmaps[0].offset = 0;
        region->mmaps[0].size = region->size;
        region->nr_mmaps = 1;
    } else if (ret == -ENOTSUP) {
        /*
         * Some parts must trap but we cannot read which: mapping nothing
         * is slow but correct.
         */
        warn_report("vfio %s: region %d: the sparse mmap capability has a version we "
                    "cannot read; the region stays unmapped", vbasedev->name, index);
    } else {
        error_setg(errp, "region %d: the capability chain of its info is malformed", index);
        goto fail;
    }
    return true;

fail:
    error_prepend(errp, "vfio %s: ", vbasedev->name);
    vfio_region_finalize(region);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Fast path */

static void vfio_region_unmap_one(VFIORegion *region, VFIOMmap *m)
{
    trace_vfio_region_unmap(region->vbasedev->name, region->nr, m->offset, m->size);
    /* unparent takes the subregion out of region->mem and drops it. */
    memory_region_unparent(&m->mem);
    munmap(m->mmap, m->size);
    m->mmap = NULL;
}

bool vfio_region_mmap(VFIORegion *region, Error **errp)
{
    VFIODevice *vbasedev = region->vbasedev;
    int prot = 0;
    uint32_t i;

    if (!region->mem || !region->nr_mmaps) {
        return true;
    }
    prot |= region->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0;
    prot |= region->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0;

    for (i = 0; i < region->nr_mmaps; i++) {
        VFIOMmap *m = &region->mmaps[i];
        g_autofree char *name = NULL;
        void *p;

        if (m->mmap) {
            continue;
        }
        p = mmap(NULL, m->size, prot, MAP_SHARED, vbasedev->fd,
                 region->fd_offset + m->offset);
        if (p == MAP_FAILED) {
            error_setg_errno(errp, errno, "vfio %s: cannot mmap region %d [0x%" PRIx64
                             ", +0x%zx)", vbasedev->name, region->nr,
                             (uint64_t)m->offset, m->size);
            goto unwind;
        }
        name = g_strdup_printf("%s mmaps[%u]", memory_region_name(region->mem), i);
        if (!memory_region_init_ram_device_ptr(&m->mem, memory_region_owner(region->mem),
                                               name, m->size, p, errp)) {
            munmap(p, m->size);
            goto unwind;
        }
        memory_region_add_subregion(region->mem, m->offset, &m->mem);
        m->mmap = p;
        trace_vfio_region_mmap(vbasedev->name, region->nr, name, m->offset, m->size, p);
    }
    return true;

unwind:
    while (i-- > 0) {
        if (region->mmaps[i].mmap) {
            vfio_region_unmap_one(region, &region->mmaps[i]);
        }
    }
    return false;
}

void vfio_region_unmap(VFIORegion *region)
{
    for (uint32_t i = 0; i < region->nr_mmaps; i++) {
        if (region->mmaps[i].mmap) {
            vfio_region_unmap_one(region, &region->mmaps[i]);
        }
    }
}

void vfio_region_exit(VFIORegion *region)
{
    for (uint32_t i = 0; i < region->nr_mmaps; i++) {
        VFIOMmap *m = &region->mmaps[i];

        if (m->mmap && memory_region_is_mapped(&m->mem)) {
            memory_region_del_subregion(region->mem, &m->mem);
        }
    }
    trace_vfio_region_exit(region->vbasedev ? region->vbasedev->name : "?", region->nr);
}

/*
 * The storage of a finalised region's MemoryRegions (region->mem and the
 * mmaps array, which embeds the RAM-device regions), freed by a bottom half.
 *
 * Why not at once: memory_region_unparent() drops our references, but a
 * region stays referenced by the flat view that shows it until a commit
 * renders a new view, and the memory core finalises it then, writing into
 * its storage.  Inside an outer transaction that commit is the caller's
 * outermost one, after we return; freeing now would be a use after free
 * (the vfio-pci teardown, or any caller batching changes, hits it).  The
 * memory core has no hook for "last reference dropped" (references count
 * on the region, not on an owner object whose finalisation would free it,
 * as in QEMU), so the storage is freed at a point that is provably later:
 * a BH.  BHs run from main_loop_wait() at the top of the loop, where no
 * transaction is open (a transaction is a begin/commit pair within one
 * call on the loop thread, or on a thread holding the BQL, which the loop
 * does not dispatch under), so the commit has happened, the old view is
 * gone and every listener has released its sections of these regions.
 */
typedef struct VFIORegionStorage {
    MemoryRegion *mem;
    VFIOMmap *mmaps;
} VFIORegionStorage;

static void vfio_region_storage_free(void *opaque)
{
    VFIORegionStorage *storage = opaque;

    trace_vfio_region_storage_free(storage->mem, storage->mmaps);
    g_free(storage->mmaps);
    g_free(storage->mem);
    g_free(storage);
}

void vfio_region_finalize(VFIORegion *region)
{
    VFIORegionStorage *storage;

    vfio_region_unmap(region);
    if (region->mem) {
        memory_region_unparent(region->mem);
    }
    if (region->mem || region->mmaps) {
        storage = g_new(VFIORegionStorage, 1);
        storage->mem = g_steal_pointer(&region->mem);
        storage->mmaps = g_steal_pointer(&region->mmaps);
        qemu_bh_schedule_oneshot(vfio_region_storage_free, storage);
    }
    region->nr_mmaps = 0;
    trace_vfio_region_finalize(region->vbasedev ? region->vbasedev->name : "?", region->nr);
}
