/*
 * vfio-sim: the type1 IOMMU driver's mappings (drivers/vfio/vfio_iommu_type1.c):
 * GET_INFO, MAP_DMA, UNMAP_DMA, DIRTY_PAGES, page pinning, and the IOVA ->
 * process memory translation that device DMA goes through.
 *
 * Mappings are kept in a tree keyed by IOVA, as the kernel's rb-tree; the
 * lookups reproduce vfio_find_dma()'s comparisons exactly, because the
 * argument checks of UNMAP_DMA and GET_BITMAP are defined by them (which
 * mapping "contains" a zero-length range, for instance).
 *
 * The dirty scope follows the kernel: every page of a mapping is reported
 * dirty while any group in the container may DMA without telling the
 * kernel (num_non_pinned_groups > 0); otherwise only pages pinned (they stay
 * dirty while pinned) or written through vfio_dma_rw() since the last report.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "sim.h"
#include "caps.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

#include <stddef.h>

#define SIM_PAGE_MASK (~(SIM_PAGE_SIZE - 1))

/* offsetofend() of the kernel. */
#define sim_offsetofend(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

uint64_t sim_iommu_pgsize_bitmap(SimContainer *c)
{
    /* No IOMMU domain (only emulated groups): the driver's initial PAGE_MASK. */
    return c->has_iommu_group ? sim_world->cfg.iommu.pgsizes : SIM_PAGE_MASK;
}

static uint64_t sim_iommu_pgsize(SimContainer *c)
{
    uint64_t bm = sim_iommu_pgsize_bitmap(c);

    return 1ULL << __builtin_ctzll(bm);
}

/* ---- lookups (vfio_find_dma and friends) ---- */

/* The mapping with the greatest IOVA below @limit, or NULL. */
static SimDma *sim_dma_below(SimContainer *c, uint64_t limit)
{
    GTreeNode *n = g_tree_lower_bound(c->dmas, &limit);

    n = n ? g_tree_node_previous(n) : g_tree_node_last(c->dmas);
    return n ? g_tree_node_value(n) : NULL;
}

/*
 * vfio_find_dma(): some mapping that overlaps [start, start + size).  With
 * size 0 it is the mapping that contains @start other than at its first byte.
 */
static SimDma *sim_find_dma(SimContainer *c, uint64_t start, uint64_t size)
{
    SimDma *dma = sim_dma_below(c, start + size);

    if (!size) {
        dma = sim_dma_below(c, start);
    }
    if (dma && start < dma->iova + dma->size) {
        return dma;
    }
    return NULL;
}

/* The lowest mapping overlapping [start, start + size), or NULL. */
static GTreeNode *sim_find_first_node(SimContainer *c, uint64_t start, uint64_t size)
{
    uint64_t key = start + 1;
    GTreeNode *n = g_tree_lower_bound(c->dmas, &key);
    GTreeNode *prev = n ? g_tree_node_previous(n) : g_tree_node_last(c->dmas);
    SimDma *dma;

    if (prev) {
        dma = g_tree_node_value(prev);
        if (start < dma->iova + dma->size) {
            n = prev;
        }
    }
    if (!n) {
        return NULL;
    }
    dma = g_tree_node_value(n);
    if (size && dma->iova >= start + size) {
        return NULL;
    }
    return n;
}

static bool sim_iova_valid(SimContainer *c, uint64_t start, uint64_t last)
{
    const SimIommuConfig *io = &sim_world->cfg.iommu;

    if (!c->has_iommu_group || !io->nr_iova_ranges) {
        return true;    /* a container of emulated devices only has no aperture */
    }
    for (int i = 0; i < io->nr_iova_ranges; i++) {
        if (start >= io->iova_ranges[i].start && last <= io->iova_ranges[i].end) {
            return true;
        }
    }
    return false;
}

/* ---- dirty bitmaps ---- */

static uint64_t sim_dma_npages(SimContainer *c, SimDma *dma)
{
    return dma->size >> __builtin_ctzll(sim_iommu_pgsize(c));
}

/* Pinned pages are dirty for as long as they stay pinned. */
static void sim_dma_populate_bitmap(SimContainer *c, SimDma *dma)
{
    GHashTableIter it;
    gpointer key;
    unsigned shift = __builtin_ctzll(sim_iommu_pgsize(c));

    if (!dma->pinned) {
        return;
    }
    g_hash_table_iter_init(&it, dma->pinned);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        uint64_t iova = *(uint64_t *)key;

        sim_bitmap_set(dma->bitmap, (iova - dma->iova) >> shift, 1);
    }
}

static int sim_dma_bitmap_alloc(SimContainer *c, SimDma *dma)
{
    uint64_t bytes = sim_bitmap_bytes(sim_dma_npages(c, dma)) + sizeof(uint64_t);

    dma->bitmap = g_try_malloc0(bytes);
    return dma->bitmap ? 0 : -ENOMEM;
}

static gboolean sim_dma_track_start(gpointer key, gpointer value, gpointer opaque)
{
    SimContainer *c = opaque;
    SimDma *dma = value;

    if (sim_dma_bitmap_alloc(c, dma) < 0) {
        return true;
    }
    sim_dma_populate_bitmap(c, dma);
    return false;
}

static gboolean sim_dma_track_stop(gpointer key, gpointer value, gpointer opaque)
{
    SimDma *dma = value;

    g_clear_pointer(&dma->bitmap, g_free);
    return false;
}

static gboolean sim_dma_set_full(gpointer key, gpointer value, gpointer opaque)
{
    SimContainer *c = opaque;
    SimDma *dma = value;

    if (dma->bitmap) {
        sim_bitmap_set(dma->bitmap, 0, sim_dma_npages(c, dma));
    }
    return false;
}

/*
 * update_user_bitmap(): write @dma's bits into the user bitmap at the bit
 * of dma->iova relative to @base.  The first partial u64 keeps the bits the
 * user already had below the shift (an earlier mapping's); whole words after
 * it are overwritten.
 */
static int sim_update_user_bitmap(SimContainer *c, SimDma *dma, uint64_t base,
                                  uint64_t *user_bitmap)
{
    unsigned shift_pg = __builtin_ctzll(sim_iommu_pgsize(c));
    uint64_t nbits = dma->size >> shift_pg;
    uint64_t bit_offset = (dma->iova - base) >> shift_pg;
    uint64_t copy_offset = bit_offset / 64;
    unsigned shift = bit_offset % 64;
    uint64_t nwords = DIV_ROUND_UP(nbits + shift, 64);
    g_autofree uint64_t *words = g_try_malloc0(nwords * 8);
    int ret;

    if (!words) {
        return -ENOMEM;
    }
    if (c->num_non_pinned_groups && dma->iommu_mapped) {
        sim_bitmap_set(dma->bitmap, 0, nbits);
    }
    /* bitmap_shift_left() by @shift bits, a word at a time. */
    for (uint64_t i = 0; i < DIV_ROUND_UP(nbits, 64); i++) {
        uint64_t v = dma->bitmap[i];

        if (i == nbits / 64 && nbits % 64) {
            v &= (1ULL << (nbits % 64)) - 1;
        }
        words[i] |= v << shift;
        if (shift && i + 1 < nwords) {
            words[i + 1] |= v >> (64 - shift);
        }
    }
    if (shift) {
        uint64_t leftover;

        if (sim_copy_from_user(&leftover, user_bitmap + copy_offset, sizeof(leftover)) < 0) {
            return -EFAULT;
        }
        words[0] |= leftover & ((1ULL << shift) - 1);
    }
    ret = sim_copy_to_user(user_bitmap + copy_offset, words, nwords * 8);
    return ret;
}

static int sim_verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
    if (!npages || !bitmap_size ||
        bitmap_size > sim_world->cfg.iommu.max_dirty_bitmap_size ||
        bitmap_size < sim_bitmap_bytes(npages)) {
        return -EINVAL;
    }
    return 0;
}

/* access_ok(): the range must lie in the user half of the address space. */
static bool sim_access_ok(uint64_t addr, uint64_t size)
{
    const uint64_t task_size = (1ULL << 47) - SIM_PAGE_SIZE;

    return size <= task_size && addr <= task_size - size;
}

/*
 * VADDR updates are refused while an emulated-IOMMU group is attached: such
 * devices could not pin or access pages while a vaddr is invalid.
 */
static bool sim_vaddr_allowed(SimContainer *c)
{
    if (!sim_world->cfg.iommu.update_vaddr) {
        return false;
    }
    for (GList *l = c->groups; l; l = l->next) {
        if (((SimGroup *)l->data)->emulated) {
            return false;
        }
    }
    return true;
}

/* ---- GET_INFO ---- */

long sim_iommu_get_info(SimContainer *c, void *arg)
{
    const SimIommuConfig *io = &sim_world->cfg.iommu;
    struct vfio_iommu_type1_info info;
    size_t minsz = sim_offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
    size_t capsz = sim_offsetofend(struct vfio_iommu_type1_info, cap_offset);
    SimCaps caps;
    long ret;

    memset(&info, 0, sizeof(info));
    if (sim_copy_from_user(&info, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    if (info.argsz >= capsz) {
        minsz = capsz;
        info.cap_offset = 0;
    }
    info.flags = VFIO_IOMMU_INFO_PGSIZES;
    info.iova_pgsizes = sim_iommu_pgsize_bitmap(c);

    sim_caps_init(&caps);
    {
        struct vfio_iommu_type1_info_cap_migration mig = {
            .header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1 },
            .flags = 0,
            .pgsize_bitmap = io->mig_pgsize_bitmap ? io->mig_pgsize_bitmap
                                                   : sim_iommu_pgsize(c),
            .max_dirty_bitmap_size = io->max_dirty_bitmap_size,
        };
        struct vfio_iommu_type1_info_dma_avail avail = {
            .header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
            .avail = c->dma_avail,
        };

        sim_caps_add(&caps, &mig, sizeof(mig));
        sim_caps_add(&caps, &avail, sizeof(avail));
    }
    if (c->has_iommu_group && io->nr_iova_ranges) {
        size_t size = sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
                      io->nr_iova_ranges * sizeof(struct vfio_iova_range);
        g_autofree struct vfio_iommu_type1_info_cap_iova_range *r = g_malloc0(size);

        r->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
        r->header.version = 1;
        r->nr_iovas = io->nr_iova_ranges;
        memcpy(r->iova_ranges, io->iova_ranges,
               io->nr_iova_ranges * sizeof(struct vfio_iova_range));
        sim_caps_add(&caps, r, size);
    }
    info.flags |= VFIO_IOMMU_INFO_CAPS;
    ret = sim_caps_copy_out(&caps, arg, info.argsz, sizeof(info), &info.argsz);
    sim_caps_free(&caps);
    if (ret < 0) {
        return ret;
    }
    info.cap_offset = ret;
    trace_vfio_sim_iommu_get_info(c, info.argsz, info.cap_offset);
    return sim_copy_to_user(arg, &info, minsz);
}

/* ---- MAP_DMA ---- */

/* ---- locked memory (vfio_lock_acct) ---- */

uint64_t sim_locked_vm;

/* CAP_IPC_LOCK in the effective set: the kernel then skips the limit, not the charge. */
static bool sim_has_ipc_lock(void)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

    if (syscall(SYS_capget, &hdr, data) < 0) {
        return false;
    }
    return data[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32));
}

/*
 * Pinning @npages more: within RLIMIT_MEMLOCK, or the process may lock
 * any amount (vfio_pin_pages_remote fails ENOMEM otherwise).
 */
static bool sim_lock_allowed(uint64_t npages)
{
    struct rlimit rl;
    bool ok = true;

    /* The limit first: when it is unlimited, no capability question (MAP_DMA is hot). */
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        sim_locked_vm + npages > rl.rlim_cur >> SIM_PAGE_SHIFT) {
        ok = sim_has_ipc_lock();
    }
    trace_vfio_sim_memlock(sim_locked_vm, npages, ok);
    return ok;
}

static void sim_lock_charge(SimDma *dma)
{
    dma->locked_pages = dma->size >> SIM_PAGE_SHIFT;
    dma->locked_by = getpid();
    sim_locked_vm += dma->locked_pages;
}

static int sim_dma_do_map(SimContainer *c, struct vfio_iommu_type1_dma_map *map)
{
    SimFaults *faults = &sim_world->cfg.faults;
    bool set_vaddr = map->flags & VFIO_DMA_MAP_FLAG_VADDR;
    bool prot = map->flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
    uint64_t pgsize = sim_iommu_pgsize(c);
    SimDma *dma;

    if ((prot && set_vaddr) || (!prot && !set_vaddr)) {
        return -EINVAL;
    }
    if (!map->size || ((map->size | map->iova | map->vaddr) & (pgsize - 1))) {
        return -EINVAL;
    }
    if (map->iova + map->size - 1 < map->iova || map->vaddr + map->size - 1 < map->vaddr) {
        return -EINVAL;
    }
    dma = sim_find_dma(c, map->iova, map->size);
    if (set_vaddr) {
        if (!dma) {
            return -ENOENT;
        }
        if (!dma->vaddr_invalid || dma->iova != map->iova || dma->size != map->size) {
            return -EINVAL;
        }
        dma->vaddr = map->vaddr;
        dma->vaddr_invalid = false;
        return 0;
    }
    if (dma) {
        if (faults->map_overlap_ebusy) {
            trace_vfio_sim_fault("map-overlap-ebusy", faults->map_calls);
            return -EBUSY;
        }
        return -EEXIST;
    }
    faults->map_calls++;
    if (faults->map_ebusy_at && faults->map_calls == faults->map_ebusy_at) {
        trace_vfio_sim_fault("map-ebusy", faults->map_calls);
        return -EBUSY;
    }
    if (faults->map_enospc_at && faults->map_calls == faults->map_enospc_at) {
        trace_vfio_sim_fault("map-enospc", faults->map_calls);
        return -ENOSPC;
    }
    if (!c->dma_avail) {
        return -ENOSPC;
    }
    if (!sim_iova_valid(c, map->iova, map->iova + map->size - 1)) {
        return -EINVAL;
    }
    /* With an IOMMU domain the kernel pins every page now: holes fault. */
    if (c->has_iommu_group && sim_check_mapped(map->vaddr, map->size) < 0) {
        return -EFAULT;
    }
    if (c->has_iommu_group && !sim_lock_allowed(map->size >> SIM_PAGE_SHIFT)) {
        return -ENOMEM;
    }
    dma = g_new0(SimDma, 1);
    dma->iova = map->iova;
    dma->size = map->size;
    dma->vaddr = map->vaddr;
    dma->readable = map->flags & VFIO_DMA_MAP_FLAG_READ;
    dma->writable = map->flags & VFIO_DMA_MAP_FLAG_WRITE;
    dma->iommu_mapped = c->has_iommu_group;
    if (c->dirty_tracking && sim_dma_bitmap_alloc(c, dma) < 0) {
        g_free(dma);
        return -ENOMEM;
    }
    g_tree_insert(c->dmas, &dma->iova, dma);
    c->dma_avail--;
    if (dma->iommu_mapped) {
        sim_lock_charge(dma);
    }
    return 0;
}

long sim_iommu_map_dma(SimContainer *c, void *arg)
{
    struct vfio_iommu_type1_dma_map map;
    size_t minsz = sim_offsetofend(struct vfio_iommu_type1_dma_map, size);
    uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
    int ret;

    if (sim_copy_from_user(&map, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (map.argsz < minsz || (map.flags & ~mask)) {
        return -EINVAL;
    }
    if ((map.flags & VFIO_DMA_MAP_FLAG_VADDR) && !sim_vaddr_allowed(c)) {
        return -EINVAL;
    }
    ret = sim_dma_do_map(c, &map);
    trace_vfio_sim_map_dma(c, map.iova, map.size, map.vaddr, map.flags, ret);
    return ret;
}

/* ---- UNMAP_DMA ---- */

static void sim_remove_dma(SimContainer *c, SimDma *dma)
{
    /* Devices that pinned pages here must let go first (the unmap notifier). */
    if (dma->pinned && g_hash_table_size(dma->pinned)) {
        for (GList *l = c->groups; l; l = l->next) {
            for (GList *d = ((SimGroup *)l->data)->devices; d; d = d->next) {
                SimDevice *dev = d->data;

                if (dev->ops->dma_unmap && dev->open_count) {
                    dev->ops->dma_unmap(dev, dma->iova, dma->size);
                }
            }
        }
    }
    if (dma->locked_by == getpid()) {
        sim_locked_vm -= dma->locked_pages;
    }
    g_tree_remove(c->dmas, &dma->iova);
    c->dma_avail++;
}

static int sim_dma_do_unmap(SimContainer *c, struct vfio_iommu_type1_dma_unmap *unmap,
                            struct vfio_bitmap *bitmap)
{
    bool unmap_all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
    bool invalidate_vaddr = unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR;
    uint64_t pgsize = sim_iommu_pgsize(c);
    uint64_t iova = unmap->iova, size = unmap->size, unmapped = 0;
    GTreeNode *n, *first;
    int ret = -EINVAL;
    SimDma *dma;

    if (iova & (pgsize - 1)) {
        goto out;
    }
    if (unmap_all) {
        if (iova || size) {
            goto out;
        }
        size = UINT64_MAX;
    } else if (!size || (size & (pgsize - 1)) || iova + size - 1 < iova) {
        goto out;
    }
    /* Linux 4.15-5.0 refused a range ending exactly at 2^64. */
    if (sim_world->cfg.iommu.quirk_unmap_overflow && !unmap_all && c->v2 &&
        iova + size == 0) {
        trace_vfio_sim_fault("unmap-overflow-quirk", iova);
        goto out;
    }
    if ((unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
        (!c->dirty_tracking || bitmap->pgsize != pgsize)) {
        goto out;
    }
    /* v2: the range must not split a mapping at either end. */
    if (c->v2 && !unmap_all) {
        dma = sim_find_dma(c, iova, 1);
        if (dma && dma->iova != iova) {
            goto out;
        }
        dma = sim_find_dma(c, iova + size - 1, 0);
        if (dma && dma->iova + dma->size != iova + size) {
            goto out;
        }
    }
    ret = 0;
    n = first = sim_find_first_node(c, iova, size);
    while (n) {
        GTreeNode *next = g_tree_node_next(n);

        dma = g_tree_node_value(n);
        if (dma->iova >= iova + size) {
            break;
        }
        if (!c->v2 && iova > dma->iova) {
            break;
        }
        if (invalidate_vaddr) {
            if (dma->vaddr_invalid) {
                /* Undo what this call invalidated, then refuse. */
                for (GTreeNode *u = first; u != n; u = g_tree_node_next(u)) {
                    ((SimDma *)g_tree_node_value(u))->vaddr_invalid = false;
                }
                ret = -EINVAL;
                unmapped = 0;
                break;
            }
            dma->vaddr_invalid = true;
            unmapped += dma->size;
            n = next;
            continue;
        }
        if (unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
            ret = sim_update_user_bitmap(c, dma, iova, (uint64_t *)(uintptr_t)bitmap->data);
            if (ret) {
                break;
            }
        }
        unmapped += dma->size;
        sim_remove_dma(c, dma);
        n = next;
    }
out:
    unmap->size = unmapped;
    return ret;
}

long sim_iommu_unmap_dma(SimContainer *c, void *arg)
{
    struct vfio_iommu_type1_dma_unmap unmap;
    struct vfio_bitmap bitmap = { 0 };
    size_t minsz = sim_offsetofend(struct vfio_iommu_type1_dma_unmap, size);
    uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR |
                    VFIO_DMA_UNMAP_FLAG_ALL;
    int ret;

    if (sim_copy_from_user(&unmap, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (unmap.argsz < minsz || (unmap.flags & ~mask)) {
        return -EINVAL;
    }
    if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
        (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR))) {
        return -EINVAL;
    }
    if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR) && !sim_vaddr_allowed(c)) {
        return -EINVAL;
    }
    if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
        if (unmap.argsz < minsz + sizeof(bitmap)) {
            return -EINVAL;
        }
        if (sim_copy_from_user(&bitmap, (char *)arg + minsz, sizeof(bitmap)) < 0) {
            return -EFAULT;
        }
        if (!sim_access_ok((uintptr_t)bitmap.data, bitmap.size) || !bitmap.pgsize) {
            return -EINVAL;
        }
        ret = sim_verify_bitmap_size(unmap.size >> __builtin_ctzll(bitmap.pgsize),
                                     bitmap.size);
        if (ret) {
            return ret;
        }
    }
    ret = sim_dma_do_unmap(c, &unmap, &bitmap);
    trace_vfio_sim_unmap_dma(c, unmap.iova, unmap.size, unmap.flags, ret);
    if (ret) {
        return ret;
    }
    return sim_copy_to_user(arg, &unmap, minsz);
}

/* ---- DIRTY_PAGES ---- */

static int sim_iova_dirty_bitmap(SimContainer *c, uint64_t *user_bitmap, uint64_t iova,
                                 uint64_t size)
{
    SimDma *dma = sim_find_dma(c, iova, 1);
    GTreeNode *n;
    int ret;

    /* The range must cover whole mappings, as for a v2 unmap. */
    if (dma && dma->iova != iova) {
        return -EINVAL;
    }
    dma = sim_find_dma(c, iova + size - 1, 0);
    if (dma && dma->iova + dma->size != iova + size) {
        return -EINVAL;
    }
    for (n = g_tree_node_first(c->dmas); n; n = g_tree_node_next(n)) {
        dma = g_tree_node_value(n);
        if (dma->iova < iova) {
            continue;
        }
        if (dma->iova > iova + size - 1) {
            break;
        }
        ret = sim_update_user_bitmap(c, dma, iova, user_bitmap);
        if (ret) {
            return ret;
        }
        /* Reported: start over from the pinned pages. */
        memset(dma->bitmap, 0, sim_bitmap_bytes(sim_dma_npages(c, dma)));
        sim_dma_populate_bitmap(c, dma);
    }
    return 0;
}

long sim_iommu_dirty_pages(SimContainer *c, void *arg)
{
    struct vfio_iommu_type1_dirty_bitmap dirty;
    size_t minsz = sim_offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
    uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
                    VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
    struct vfio_iommu_type1_dirty_bitmap_get range;
    uint64_t pgsize = sim_iommu_pgsize(c);
    int ret;

    if (!c->v2) {
        return -EACCES;
    }
    if (sim_copy_from_user(&dirty, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (dirty.argsz < minsz || (dirty.flags & ~mask)) {
        return -EINVAL;
    }
    if (__builtin_popcount(dirty.flags) != 1) {
        return -EINVAL;
    }
    if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
        if (!c->dirty_tracking) {
            g_tree_foreach(c->dmas, sim_dma_track_start, c);
            c->dirty_tracking = true;
        }
        trace_vfio_sim_dirty_pages(c, "start", 0, 0);
        return 0;
    }
    if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
        if (c->dirty_tracking) {
            c->dirty_tracking = false;
            g_tree_foreach(c->dmas, sim_dma_track_stop, c);
        }
        trace_vfio_sim_dirty_pages(c, "stop", 0, 0);
        return 0;
    }
    /* GET_BITMAP */
    if (dirty.argsz - minsz < sizeof(range)) {
        return -EINVAL;
    }
    if (sim_copy_from_user(&range, (char *)arg + minsz, sizeof(range)) < 0) {
        return -EFAULT;
    }
    if (range.iova + range.size < range.iova) {
        return -EINVAL;
    }
    if (!sim_access_ok((uintptr_t)range.bitmap.data, range.bitmap.size) || !range.bitmap.pgsize) {
        return -EINVAL;
    }
    ret = sim_verify_bitmap_size(range.size >> __builtin_ctzll(range.bitmap.pgsize),
                                 range.bitmap.size);
    if (ret) {
        return ret;
    }
    if (range.bitmap.pgsize != pgsize || (range.iova & (pgsize - 1)) || !range.size ||
        (range.size & (pgsize - 1))) {
        return -EINVAL;
    }
    if (!c->dirty_tracking) {
        return -EINVAL;
    }
    ret = sim_iova_dirty_bitmap(c, (uint64_t *)(uintptr_t)range.bitmap.data, range.iova,
                                range.size);
    trace_vfio_sim_dirty_pages(c, "get-bitmap", range.iova, range.size);
    return ret;
}

/* ---- groups come and go ---- */

void sim_iommu_update_scope(SimContainer *c)
{
    bool had_iommu = c->has_iommu_group;
    int non_pinned = 0;

    c->has_iommu_group = false;
    for (GList *l = c->groups; l; l = l->next) {
        SimGroup *g = l->data;

        c->has_iommu_group |= !g->emulated;
        non_pinned += !g->pinned_scope;
    }
    if (c->has_iommu_group && !had_iommu) {
        /* Replay: existing mappings now go through the IOMMU domain. */
        for (GTreeNode *n = g_tree_node_first(c->dmas); n; n = g_tree_node_next(n)) {
            SimDma *dma = g_tree_node_value(n);

            /* Pinned now, and charged (the limit is not checked here). */
            dma->iommu_mapped = true;
            sim_lock_charge(dma);
        }
    }
    /* Removal of a group without pinned scope may promote the scope. */
    if (non_pinned < c->num_non_pinned_groups && c->dirty_tracking) {
        g_tree_foreach(c->dmas, sim_dma_set_full, c);
    }
    c->num_non_pinned_groups = non_pinned;
}

void sim_iommu_release_all(SimContainer *c)
{
    GTreeNode *n;

    while ((n = g_tree_node_first(c->dmas))) {
        sim_remove_dma(c, g_tree_node_value(n));
    }
    c->has_iommu_group = false;
    c->num_non_pinned_groups = 0;
}

/* ---- device DMA ---- */

/* Every page of [start, end) within @dma is pinned. */
static bool sim_dma_range_pinned(SimDma *dma, uint64_t start, uint64_t end)
{
    for (uint64_t page = start & SIM_PAGE_MASK; page < end; page += SIM_PAGE_SIZE) {
        if (!dma->pinned || !g_hash_table_contains(dma->pinned, &page)) {
            return false;
        }
    }
    return true;
}

int sim_dma_rw(SimDevice *dev, uint64_t iova, void *buf, size_t len, bool write,
               SimDmaPath path)
{
    SimContainer *c = sim_device_container(dev);
    uint64_t pos;
    int ret = 0;

    if (!len) {
        return 0;
    }
    if (!c || !c->iommu_set || iova + len - 1 < iova) {
        ret = -EFAULT;
        goto fault;
    }
    /* Check the whole range first: a faulting transfer moves nothing. */
    for (pos = iova; pos < iova + len;) {
        SimDma *dma = sim_find_dma(c, pos, 1);

        if (!dma) {
            ret = -EFAULT;
            goto fault;
        }
        if ((write && !dma->writable) || (!write && !dma->readable) ||
            (path != SIM_DMA_IOMMU && !dma->readable)) {
            ret = -EPERM;
            goto fault;
        }
        /* A device touching pages it does not hold is a vendor driver bug. */
        if (path == SIM_DMA_PINNED &&
            !sim_dma_range_pinned(dma, pos, MIN(dma->iova + dma->size, iova + len))) {
            ret = -EFAULT;
            goto fault;
        }
        pos = dma->iova + dma->size;
    }
    for (pos = iova; pos < iova + len;) {
        SimDma *dma = sim_find_dma(c, pos, 1);
        uint64_t off = pos - dma->iova;
        uint64_t chunk = MIN(dma->size - off, iova + len - pos);
        void *host = (void *)(uintptr_t)(dma->vaddr + off);
        char *b = (char *)buf + (pos - iova);

        ret = write ? sim_copy_to_user(host, b, chunk) : sim_copy_from_user(b, host, chunk);
        if (ret < 0) {
            goto fault;
        }
        if (write && path == SIM_DMA_RW && c->dirty_tracking && dma->bitmap) {
            unsigned shift = __builtin_ctzll(sim_iommu_pgsize(c));

            sim_bitmap_set(dma->bitmap, off >> shift,
                           ((off + chunk - 1) >> shift) - (off >> shift) + 1);
        }
        pos += chunk;
    }
    if (write) {
        sim_log_mark(dev, iova, len);
    }
    trace_vfio_sim_dma(dev->cfg.bdf, iova, len, write, 0);
    return 0;

fault:
    dev->dma_faults++;
    trace_vfio_sim_dma(dev->cfg.bdf, iova, len, write, ret);
    return ret;
}

int sim_dma_pin_page(SimDevice *dev, uint64_t iova, bool write)
{
    SimContainer *c = sim_device_container(dev);
    SimGroup *g = dev->group;
    SimDma *dma;
    gpointer count;

    if (!c || !c->iommu_set) {
        return -EINVAL;
    }
    if (!c->v2) {
        return -EACCES;
    }
    iova &= SIM_PAGE_MASK;
    dma = sim_find_dma(c, iova, SIM_PAGE_SIZE);
    if (!dma) {
        return -EINVAL;
    }
    if (!dma->readable || (write && !dma->writable)) {
        return -EPERM;
    }
    if (!dma->pinned) {
        dma->pinned = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    }
    count = g_hash_table_lookup(dma->pinned, &iova);
    if (!count) {
        g_hash_table_insert(dma->pinned, g_memdup2(&iova, sizeof(iova)), GINT_TO_POINTER(1));
    } else {
        g_hash_table_insert(dma->pinned, g_memdup2(&iova, sizeof(iova)),
                            GINT_TO_POINTER(GPOINTER_TO_INT(count) + 1));
    }
    if (c->dirty_tracking && dma->bitmap) {
        sim_bitmap_set(dma->bitmap, (iova - dma->iova) >> __builtin_ctzll(sim_iommu_pgsize(c)),
                       1);
    }
    if (!g->pinned_scope) {
        g->pinned_scope = true;
        c->num_non_pinned_groups--;
    }
    return 0;
}

int sim_dma_unpin_page(SimDevice *dev, uint64_t iova)
{
    SimContainer *c = sim_device_container(dev);
    SimDma *dma;
    gpointer count;

    if (!c || !c->iommu_set) {
        return -EINVAL;
    }
    iova &= SIM_PAGE_MASK;
    dma = sim_find_dma(c, iova, SIM_PAGE_SIZE);
    if (!dma || !dma->pinned) {
        return -EINVAL;
    }
    count = g_hash_table_lookup(dma->pinned, &iova);
    if (!count) {
        return -EINVAL;
    }
    if (GPOINTER_TO_INT(count) == 1) {
        g_hash_table_remove(dma->pinned, &iova);
    } else {
        g_hash_table_insert(dma->pinned, g_memdup2(&iova, sizeof(iova)),
                            GINT_TO_POINTER(GPOINTER_TO_INT(count) - 1));
    }
    return 0;
}
