/*
 * Pluggable RAM and its RamDiscardManager (see include/hw/mem/pluggable-ram.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/ramblock.h"
#include "hw/mem/pluggable-ram.h"
#include "sysemu/ram-discard.h"
#include "trace/trace-hw_mem.h"

struct PluggableRam {
    /* Our manager; its address is what the region holds. */
    RamDiscardManager rdm;
    /* The managed region (referenced) and its RAM block. */
    MemoryRegion *mr;
    RAMBlock *rb;
    /* Bytes per block (power of two) and number of blocks in the region. */
    uint64_t block_size;
    unsigned long nb_blocks;
    /* Bit i set: block i is plugged. */
    unsigned long *plugged;
    /* Registered RamDiscardListener *, in registration order. */
    GPtrArray *listeners;
};

static PluggableRam *rdm_to_pr(const RamDiscardManager *rdm)
{
    return container_of(rdm, PluggableRam, rdm);
}

static uint64_t section_start(const MemoryRegionSection *s)
{
    return s->offset_within_region;
}

static uint64_t section_end(const MemoryRegionSection *s)
{
    return s->offset_within_region + int128_get64(s->size);
}

/*
 * Call @fn for each maximal run of blocks in state @plugged that
 * intersects @section, with @section narrowed to the run, in address
 * order; stop at and return the first non-zero result.
 */
static int pluggable_ram_for_each_run(PluggableRam *pr,
                                      const MemoryRegionSection *section,
                                      bool plugged,
                                      int (*fn)(MemoryRegionSection *part,
                                                void *opaque),
                                      void *opaque)
{
    unsigned long first, end, a, b;
    int ret;

    if (!int128_nz(section->size)) {
        return 0;
    }
    first = section_start(section) / pr->block_size;
    end = DIV_ROUND_UP(section_end(section), pr->block_size);
    assert(end <= pr->nb_blocks);

    for (a = first; a < end; a = b) {
        MemoryRegionSection part = *section;

        if (plugged) {
            a = find_next_bit(pr->plugged, end, a);
            b = find_next_zero_bit(pr->plugged, end, a);
        } else {
            a = find_next_zero_bit(pr->plugged, end, a);
            b = find_next_bit(pr->plugged, end, a);
        }
        if (a >= end) {
            break;
        }
        if (!memory_region_section_intersect_range(
                &part, a * pr->block_size, (b - a) * pr->block_size)) {
            continue;
        }
        ret = fn(&part, opaque);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

/* Whether blocks [first, first + n) are all in state @plugged. */
static bool pluggable_ram_range_is(PluggableRam *pr, unsigned long first,
                                   unsigned long n, bool plugged)
{
    unsigned long end = first + n;

    if (plugged) {
        return find_next_zero_bit(pr->plugged, end, first) >= end;
    }
    return find_next_bit(pr->plugged, end, first) >= end;
}

static bool pluggable_ram_check_range(PluggableRam *pr, uint64_t offset,
                                      uint64_t size, Error **errp)
{
    uint64_t region_size = (uint64_t)pr->nb_blocks * pr->block_size;

    if (!size || !QEMU_IS_ALIGNED(offset, pr->block_size) ||
        !QEMU_IS_ALIGNED(size, pr->block_size) || offset > region_size ||
        size > region_size - offset) {
        error_setg(errp, "pluggable RAM '%s': range 0x%" PRIx64 "+0x%" PRIx64
                   " is not a non-empty run of 0x%" PRIx64 "-byte blocks "
                   "inside its 0x%" PRIx64 " bytes",
                   memory_region_name(pr->mr), offset, size, pr->block_size,
                   region_size);
        return false;
    }
    return true;
}

/* The part of @rdl's section inside [offset, offset + size), if any. */
static bool listener_part(RamDiscardListener *rdl, uint64_t offset,
                          uint64_t size, MemoryRegionSection *part)
{
    *part = *rdl->section;
    return memory_region_section_intersect_range(part, offset, size);
}

bool pluggable_ram_plug(PluggableRam *pr, uint64_t offset, uint64_t size,
                        Error **errp)
{
    MemoryRegionSection part;
    int ret = 0;
    guint i, j;

    if (!pluggable_ram_check_range(pr, offset, size, errp)) {
        return false;
    }
    if (!pluggable_ram_range_is(pr, offset / pr->block_size,
                                size / pr->block_size, false)) {
        error_setg(errp, "pluggable RAM '%s': range 0x%" PRIx64 "+0x%" PRIx64
                   " is already (partly) plugged", memory_region_name(pr->mr),
                   offset, size);
        return false;
    }

    for (i = 0; i < pr->listeners->len; i++) {
        RamDiscardListener *rdl = g_ptr_array_index(pr->listeners, i);

        if (!listener_part(rdl, offset, size, &part)) {
            continue;
        }
        ret = rdl->notify_populate(rdl, &part);
        if (ret) {
            break;
        }
    }
    if (ret) {
        trace_pluggable_ram_plug_vetoed(memory_region_name(pr->mr), offset,
                                        size, i, ret);
        /* Undo, newest first, what the earlier listeners were told. */
        for (j = i; j-- > 0;) {
            RamDiscardListener *rdl = g_ptr_array_index(pr->listeners, j);

            if (listener_part(rdl, offset, size, &part)) {
                rdl->notify_discard(rdl, &part);
            }
        }
        /* A listener may have populated the memory (VFIO pins it). */
        ram_block_discard_range(pr->rb, offset, size);
        error_setg_errno(errp, -ret, "pluggable RAM '%s': cannot plug 0x%"
                         PRIx64 "+0x%" PRIx64 ": a listener refused",
                         memory_region_name(pr->mr), offset, size);
        return false;
    }

    bitmap_set(pr->plugged, offset / pr->block_size, size / pr->block_size);
    trace_pluggable_ram_plug(memory_region_name(pr->mr), offset, size);
    return true;
}

bool pluggable_ram_unplug(PluggableRam *pr, uint64_t offset, uint64_t size,
                          Error **errp)
{
    MemoryRegionSection part;
    int ret;
    guint i;

    if (!pluggable_ram_check_range(pr, offset, size, errp)) {
        return false;
    }
    if (!pluggable_ram_range_is(pr, offset / pr->block_size,
                                size / pr->block_size, true)) {
        error_setg(errp, "pluggable RAM '%s': range 0x%" PRIx64 "+0x%" PRIx64
                   " is not entirely plugged", memory_region_name(pr->mr),
                   offset, size);
        return false;
    }
    /* First the memory: if it cannot go, the blocks stay plugged. */
    ret = ram_block_discard_range(pr->rb, offset, size);
    if (ret) {
        error_setg_errno(errp, -ret, "pluggable RAM '%s': cannot discard 0x%"
                         PRIx64 "+0x%" PRIx64, memory_region_name(pr->mr),
                         offset, size);
        return false;
    }
    for (i = 0; i < pr->listeners->len; i++) {
        RamDiscardListener *rdl = g_ptr_array_index(pr->listeners, i);

        if (listener_part(rdl, offset, size, &part)) {
            rdl->notify_discard(rdl, &part);
        }
    }
    bitmap_clear(pr->plugged, offset / pr->block_size, size / pr->block_size);
    trace_pluggable_ram_unplug(memory_region_name(pr->mr), offset, size);
    return true;
}

static int notify_discard_part(MemoryRegionSection *part, void *opaque)
{
    RamDiscardListener *rdl = opaque;

    rdl->notify_discard(rdl, part);
    return 0;
}

/* Tell @rdl that everything plugged in its section goes away. */
static void pluggable_ram_discard_all_for(PluggableRam *pr,
                                          RamDiscardListener *rdl)
{
    if (rdl->double_discard_supported) {
        rdl->notify_discard(rdl, rdl->section);
    } else {
        pluggable_ram_for_each_run(pr, rdl->section, true,
                                   notify_discard_part, rdl);
    }
}

bool pluggable_ram_unplug_all(PluggableRam *pr, Error **errp)
{
    uint64_t size = (uint64_t)pr->nb_blocks * pr->block_size;
    int ret;
    guint i;

    if (bitmap_empty(pr->plugged, pr->nb_blocks)) {
        return true;
    }
    ret = ram_block_discard_range(pr->rb, 0, size);
    if (ret) {
        error_setg_errno(errp, -ret, "pluggable RAM '%s': cannot discard its "
                         "memory", memory_region_name(pr->mr));
        return false;
    }
    for (i = 0; i < pr->listeners->len; i++) {
        pluggable_ram_discard_all_for(pr, g_ptr_array_index(pr->listeners, i));
    }
    bitmap_zero(pr->plugged, pr->nb_blocks);
    trace_pluggable_ram_unplug(memory_region_name(pr->mr), 0, size);
    return true;
}

bool pluggable_ram_is_plugged(PluggableRam *pr, uint64_t offset, uint64_t size)
{
    if (!pluggable_ram_check_range(pr, offset, size, NULL)) {
        return false;
    }
    return pluggable_ram_range_is(pr, offset / pr->block_size,
                                  size / pr->block_size, true);
}

uint64_t pluggable_ram_get_plugged_size(PluggableRam *pr)
{
    return (uint64_t)bitmap_count_one(pr->plugged, pr->nb_blocks) *
           pr->block_size;
}

uint64_t pluggable_ram_get_block_size(PluggableRam *pr)
{
    return pr->block_size;
}

RamDiscardManager *pluggable_ram_get_rdm(PluggableRam *pr)
{
    return &pr->rdm;
}

/* RamDiscardManager operations */

static uint64_t pr_get_min_granularity(const RamDiscardManager *rdm,
                                       const MemoryRegion *mr)
{
    PluggableRam *pr = rdm_to_pr(rdm);

    assert(mr == pr->mr);
    return pr->block_size;
}

static bool pr_is_populated(const RamDiscardManager *rdm,
                            const MemoryRegionSection *section)
{
    PluggableRam *pr = rdm_to_pr(rdm);
    unsigned long first, end;

    assert(section->mr == pr->mr);
    if (!int128_nz(section->size)) {
        return true;
    }
    first = section_start(section) / pr->block_size;
    end = DIV_ROUND_UP(section_end(section), pr->block_size);
    return pluggable_ram_range_is(pr, first, end - first, true);
}

static int pr_replay_populated(const RamDiscardManager *rdm,
                               MemoryRegionSection *section,
                               ReplayRamPopulate replay_fn, void *opaque)
{
    PluggableRam *pr = rdm_to_pr(rdm);

    assert(section->mr == pr->mr);
    return pluggable_ram_for_each_run(pr, section, true, replay_fn, opaque);
}

static int pr_replay_discarded(const RamDiscardManager *rdm,
                               MemoryRegionSection *section,
                               ReplayRamDiscard replay_fn, void *opaque)
{
    PluggableRam *pr = rdm_to_pr(rdm);

    assert(section->mr == pr->mr);
    return pluggable_ram_for_each_run(pr, section, false, replay_fn, opaque);
}

static int notify_populate_part(MemoryRegionSection *part, void *opaque)
{
    RamDiscardListener *rdl = opaque;

    return rdl->notify_populate(rdl, part);
}

static void pr_register_listener(RamDiscardManager *rdm,
                                 RamDiscardListener *rdl,
                                 MemoryRegionSection *section)
{
    PluggableRam *pr = rdm_to_pr(rdm);
    int ret;

    assert(section->mr == pr->mr);
    assert(!rdl->section);
    rdl->section = memory_region_section_new_copy(section);
    g_ptr_array_add(pr->listeners, rdl);
    trace_pluggable_ram_register_listener(memory_region_name(pr->mr),
                                          section_start(section),
                                          int128_get64(section->size));

    ret = pluggable_ram_for_each_run(pr, rdl->section, true,
                                     notify_populate_part, rdl);
    if (ret) {
        /*
         * The interface gives registration no way to fail (as in QEMU):
         * the listener stays registered and learns of later changes.
         */
        error_report("pluggable RAM '%s': a new listener refused the plugged "
                     "memory: %s", memory_region_name(pr->mr),
                     g_strerror(-ret));
    }
}

static void pr_unregister_listener(RamDiscardManager *rdm,
                                   RamDiscardListener *rdl)
{
    PluggableRam *pr = rdm_to_pr(rdm);

    assert(rdl->section && rdl->section->mr == pr->mr);
    if (!bitmap_empty(pr->plugged, pr->nb_blocks)) {
        pluggable_ram_discard_all_for(pr, rdl);
    }
    trace_pluggable_ram_unregister_listener(memory_region_name(pr->mr),
                                            section_start(rdl->section),
                                            int128_get64(rdl->section->size));
    g_assert(g_ptr_array_remove(pr->listeners, rdl));
    memory_region_section_free_copy(rdl->section);
    rdl->section = NULL;
}

static const RamDiscardManagerOps pluggable_ram_rdm_ops = {
    .get_min_granularity = pr_get_min_granularity,
    .is_populated = pr_is_populated,
    .replay_populated = pr_replay_populated,
    .replay_discarded = pr_replay_discarded,
    .register_listener = pr_register_listener,
    .unregister_listener = pr_unregister_listener,
};

PluggableRam *pluggable_ram_new(MemoryRegion *mr, uint64_t block_size,
                                Error **errp)
{
    ERRP_GUARD();
    const char *name = memory_region_name(mr);
    RAMBlock *rb = memory_region_is_ram(mr) && !memory_region_is_ram_device(mr)
                   ? memory_region_get_ram_block(mr) : NULL;
    uint64_t size;
    PluggableRam *pr;
    int ret;

    if (!rb) {
        error_setg(errp, "pluggable RAM '%s': not a RAM region", name);
        return NULL;
    }
    size = memory_region_size(mr);
    if (!is_power_of_2(block_size) || block_size < qemu_ram_pagesize(rb)) {
        error_setg(errp, "pluggable RAM '%s': block size 0x%" PRIx64 " must "
                   "be a power of two of at least the page size 0x%zx",
                   name, block_size, qemu_ram_pagesize(rb));
        return NULL;
    }
    if (!size || !QEMU_IS_ALIGNED(size, block_size)) {
        error_setg(errp, "pluggable RAM '%s': size 0x%" PRIx64 " is not a "
                   "multiple of the block size 0x%" PRIx64, name, size,
                   block_size);
        return NULL;
    }
    if (memory_region_has_ram_discard_manager(mr)) {
        error_setg(errp, "pluggable RAM '%s': the region has a RAM discard "
                   "manager already", name);
        return NULL;
    }
    ret = ram_block_coordinated_discard_require(true);
    if (ret) {
        error_setg_errno(errp, -ret, "pluggable RAM '%s': discarding RAM is "
                         "disabled", name);
        error_append_hint(errp, "A device that cannot follow discards (e.g. "
                          "VFIO with an sPAPR IOMMU) is in use.\n");
        return NULL;
    }
    /* Everything starts unplugged: give back whatever was populated. */
    ret = ram_block_discard_range(rb, 0, size);
    if (ret) {
        error_setg_errno(errp, -ret, "pluggable RAM '%s': cannot discard its "
                         "memory", name);
        ram_block_coordinated_discard_require(false);
        return NULL;
    }

    pr = g_new0(PluggableRam, 1);
    pr->rdm.ops = &pluggable_ram_rdm_ops;
    pr->mr = mr;
    pr->rb = rb;
    pr->block_size = block_size;
    pr->nb_blocks = size / block_size;
    pr->plugged = bitmap_new(pr->nb_blocks);
    pr->listeners = g_ptr_array_new();
    memory_region_ref(mr);
    ret = memory_region_set_ram_discard_manager(mr, &pr->rdm);
    assert(ret == 0);
    trace_pluggable_ram_new(name, size, block_size);
    return pr;
}

void pluggable_ram_free(PluggableRam *pr)
{
    if (!pr) {
        return;
    }
    /* Listeners hold copies of sections of our region: they must go first. */
    assert(pr->listeners->len == 0);
    memory_region_set_ram_discard_manager(pr->mr, NULL);
    ram_block_coordinated_discard_require(false);
    memory_region_unref(pr->mr);
    g_ptr_array_free(pr->listeners, true);
    g_free(pr->plugged);
    g_free(pr);
}
