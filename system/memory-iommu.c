/*
 * IOMMU memory regions and their notifiers.
 *
 * An IOMMU region appears in flat views like any leaf; accesses that reach
 * it are translated by the model's ops into another address space
 * (memory-access.c).  Subscribers such as VFIO register IOMMUNotifiers to
 * mirror the model's mappings into the host IOMMU.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "memory-internal.h"
#include "trace/trace-system.h"

bool memory_region_init_iommu(IOMMUMemoryRegion *iommu_mr, void *owner,
                              const IOMMUMemoryRegionOps *ops, const char *name,
                              uint64_t size, Error **errp)
{
    MemoryRegion *mr = &iommu_mr->parent_obj;

    memset(iommu_mr, 0, sizeof(*iommu_mr));
    memory_region_do_init(mr, owner, name, size);
    if (!size) {
        error_setg(errp, "IOMMU region '%s': size must not be 0", mr->name);
        memory_region_make_inert(mr);
        return false;
    }
    if (!ops || !ops->translate) {
        error_setg(errp, "IOMMU region '%s': ops need a translate callback", mr->name);
        memory_region_make_inert(mr);
        return false;
    }
    iommu_mr->ops = ops;
    g_queue_init(&iommu_mr->iommu_notify);
    iommu_mr->iommu_notify_flags = IOMMU_NOTIFIER_NONE;
    mr->is_iommu = true;
    mr->terminates = true;
    return true;
}

void memory_region_iommu_finalize(MemoryRegion *mr)
{
    IOMMUMemoryRegion *iommu_mr = container_of(mr, IOMMUMemoryRegion, parent_obj);

    /* Subscribers should have left first; don't leave them pointing at freed state. */
    while (!g_queue_is_empty(&iommu_mr->iommu_notify)) {
        IOMMUNotifier *n = g_queue_peek_head(&iommu_mr->iommu_notify);

        warn_report("IOMMU region '%s' finalised with a notifier registered",
                    memory_region_name(mr));
        g_queue_unlink(&iommu_mr->iommu_notify, &n->node);
        n->iommu_mr = NULL;
    }
}

void iommu_notifier_init(IOMMUNotifier *n, IOMMUNotify fn, IOMMUNotifierFlag flags,
                         hwaddr start, hwaddr end, int iommu_idx)
{
    memset(n, 0, sizeof(*n));
    n->notify = fn;
    n->notifier_flags = flags;
    n->start = start;
    n->end = end;
    n->iommu_idx = iommu_idx;
    n->node.data = n;
}

uint64_t memory_region_iommu_get_min_page_size(IOMMUMemoryRegion *iommu_mr)
{
    if (iommu_mr->ops->get_min_page_size) {
        return iommu_mr->ops->get_min_page_size(iommu_mr);
    }
    return qemu_real_host_page_size();
}

int memory_region_iommu_attrs_to_index(IOMMUMemoryRegion *iommu_mr, MemTxAttrs attrs)
{
    if (iommu_mr->ops->attrs_to_index) {
        return iommu_mr->ops->attrs_to_index(iommu_mr, attrs);
    }
    return 0;
}

int memory_region_iommu_num_indexes(IOMMUMemoryRegion *iommu_mr)
{
    if (iommu_mr->ops->num_indexes) {
        return iommu_mr->ops->num_indexes(iommu_mr);
    }
    return 1;
}

int memory_region_iommu_set_page_size_mask(IOMMUMemoryRegion *iommu_mr,
                                           uint64_t page_size_mask, Error **errp)
{
    if (iommu_mr->ops->iommu_set_page_size_mask) {
        return iommu_mr->ops->iommu_set_page_size_mask(iommu_mr, page_size_mask, errp);
    }
    return 0;
}

int memory_region_iommu_set_iova_ranges(IOMMUMemoryRegion *iommu_mr, GList *iova_ranges,
                                        Error **errp)
{
    if (iommu_mr->ops->iommu_set_iova_ranges) {
        return iommu_mr->ops->iommu_set_iova_ranges(iommu_mr, iova_ranges, errp);
    }
    return 0;
}

/* Recompute the union of the notifiers' flags and tell the model if it changed. */
static int memory_region_update_iommu_notify_flags(IOMMUMemoryRegion *iommu_mr, Error **errp)
{
    IOMMUNotifierFlag flags = IOMMU_NOTIFIER_NONE;
    GList *l;
    int ret = 0;

    for (l = iommu_mr->iommu_notify.head; l; l = l->next) {
        flags |= ((IOMMUNotifier *)l->data)->notifier_flags;
    }
    if (flags != iommu_mr->iommu_notify_flags && iommu_mr->ops->notify_flag_changed) {
        ret = iommu_mr->ops->notify_flag_changed(iommu_mr, iommu_mr->iommu_notify_flags,
                                                  flags, errp);
    }
    if (!ret) {
        iommu_mr->iommu_notify_flags = flags;
    }
    return ret;
}

int memory_region_register_iommu_notifier(MemoryRegion *mr, IOMMUNotifier *n, Error **errp)
{
    IOMMUMemoryRegion *iommu_mr = memory_region_get_iommu(mr);
    int ret;

    if (!iommu_mr) {
        error_setg(errp, "memory region '%s' is not an IOMMU region", memory_region_name(mr));
        return -EINVAL;
    }
    if (n->notifier_flags == IOMMU_NOTIFIER_NONE || (n->notifier_flags & ~IOMMU_NOTIFIER_ALL)) {
        error_setg(errp, "IOMMU region '%s': invalid notifier flags 0x%x",
                   memory_region_name(mr), n->notifier_flags);
        return -EINVAL;
    }
    if (n->start > n->end) {
        error_setg(errp, "IOMMU region '%s': notifier range [0x%" PRIx64 ", 0x%" PRIx64 "] "
                   "is empty", memory_region_name(mr), n->start, n->end);
        return -EINVAL;
    }
    if (n->iommu_idx < 0 || n->iommu_idx >= memory_region_iommu_num_indexes(iommu_mr)) {
        error_setg(errp, "IOMMU region '%s': no translation context %d",
                   memory_region_name(mr), n->iommu_idx);
        return -EINVAL;
    }
    if (n->iommu_mr) {
        error_setg(errp, "IOMMU region '%s': notifier already registered with '%s'",
                   memory_region_name(mr), memory_region_name(&n->iommu_mr->parent_obj));
        return -EINVAL;
    }
    n->node.data = n;
    g_queue_push_head_link(&iommu_mr->iommu_notify, &n->node);
    n->iommu_mr = iommu_mr;
    ret = memory_region_update_iommu_notify_flags(iommu_mr, errp);
    if (ret) {
        g_queue_unlink(&iommu_mr->iommu_notify, &n->node);
        n->iommu_mr = NULL;
        return ret;
    }
    trace_memory_iommu_notifier_register(memory_region_name(mr), n->start, n->end,
                                         n->notifier_flags);
    return 0;
}

void memory_region_unregister_iommu_notifier(MemoryRegion *mr, IOMMUNotifier *n)
{
    IOMMUMemoryRegion *iommu_mr = memory_region_get_iommu(mr);
    Error *err = NULL;
    int ret;

    if (!iommu_mr || n->iommu_mr != iommu_mr) {
        return;
    }
    g_queue_unlink(&iommu_mr->iommu_notify, &n->node);
    n->iommu_mr = NULL;
    /*
     * Dropping flags cannot be refused meaningfully (the notifier is gone
     * whatever the model says): report the refusal, naming the region, and
     * carry on.
     */
    ret = memory_region_update_iommu_notify_flags(iommu_mr, &err);
    if (ret) {
        if (!err) {
            error_setg_errno(&err, -ret, "notify_flag_changed failed");
        }
        error_prepend(&err, "IOMMU region '%s': the model refused to drop notifier "
                      "flags (0x%x) after an unregistration: ", memory_region_name(mr),
                      iommu_mr->iommu_notify_flags);
        warn_report_err(err);
        iommu_mr->iommu_notify_flags = IOMMU_NOTIFIER_NONE;
    }
    trace_memory_iommu_notifier_unregister(memory_region_name(mr), n->start, n->end);
}

void memory_region_notify_iommu_one(IOMMUNotifier *notifier, const IOMMUTLBEvent *event)
{
    const IOMMUTLBEntry *entry = &event->entry;
    IOMMUTLBEntry tmp = *entry;
    hwaddr last = entry->iova + entry->addr_mask;
    hwaddr lo, hi;

    if (!(event->type & notifier->notifier_flags)) {
        return;
    }
    /* Wrapped entries (iova + mask past 2^64) are clamped to the top of the space. */
    if (last < entry->iova) {
        last = HWADDR_MAX;
    }
    if (notifier->start > last || notifier->end < entry->iova) {
        return;
    }
    /*
     * Deliver exactly the overlap.  A model whose entry straddles a
     * notifier's range (QEMU asserts on that for MAP/UNMAP) still gets a
     * coherent event: the translated address moves with the start, so the
     * subscriber never maps or unmaps outside what it asked for.
     */
    lo = MAX(entry->iova, notifier->start);
    hi = MIN(last, notifier->end);
    tmp.iova = lo;
    tmp.translated_addr = entry->translated_addr + (lo - entry->iova);
    tmp.addr_mask = hi - lo;
    trace_memory_iommu_notify(event->type, tmp.iova, tmp.addr_mask, tmp.translated_addr,
                              tmp.perm);
    notifier->notify(notifier, &tmp);
}

void memory_region_notify_iommu(IOMMUMemoryRegion *iommu_mr, int iommu_idx,
                                const IOMMUTLBEvent event)
{
    GList *l = iommu_mr->iommu_notify.head;

    while (l) {
        IOMMUNotifier *n = l->data;

        /* A notifier may unregister itself from its callback. */
        l = l->next;
        if (n->iommu_idx == iommu_idx) {
            memory_region_notify_iommu_one(n, &event);
        }
    }
}

void memory_region_unmap_iommu_notifier_range(IOMMUNotifier *notifier)
{
    IOMMUTLBEvent event = {
        .type = IOMMU_NOTIFIER_UNMAP,
        .entry = {
            .target_as = NULL,
            .iova = notifier->start,
            .translated_addr = 0,
            .addr_mask = notifier->end - notifier->start,
            .perm = IOMMU_NONE,
        },
    };

    memory_region_notify_iommu_one(notifier, &event);
}

void memory_region_iommu_replay(IOMMUMemoryRegion *iommu_mr, IOMMUNotifier *n)
{
    MemoryRegion *mr = &iommu_mr->parent_obj;
    uint64_t granularity;
    Int128 addr, limit;

    if (iommu_mr->ops->replay) {
        iommu_mr->ops->replay(iommu_mr, n);
        return;
    }
    granularity = memory_region_iommu_get_min_page_size(iommu_mr);
    if (!granularity || (granularity & (granularity - 1))) {
        warn_report("IOMMU region '%s': bad page size 0x%" PRIx64 ", replay skipped",
                    memory_region_name(mr), granularity);
        return;
    }
    /* Walk only the notifier's window: it is all the subscriber asked for. */
    addr = int128_make64(QEMU_ALIGN_DOWN(n->start, granularity));
    limit = int128_min(int128_add(int128_make64(n->end), int128_one()), mr->size);
    for (; int128_lt(addr, limit); int128_addto(&addr, int128_make64(granularity))) {
        IOMMUTLBEntry entry = iommu_mr->ops->translate(iommu_mr, int128_get64(addr),
                                                       IOMMU_NONE, n->iommu_idx);

        if (entry.perm != IOMMU_NONE) {
            IOMMUTLBEvent event = { .type = IOMMU_NOTIFIER_MAP, .entry = entry };

            memory_region_notify_iommu_one(n, &event);
        }
    }
}
