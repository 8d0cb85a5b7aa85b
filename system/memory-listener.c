/*
 * Transactions, memory listeners and global dirty logging.
 *
 * Changes to the region tree only mark the views stale; the outermost
 * commit renders each address space once and reports the difference
 * between its old and new view to the address space's listeners.  The
 * callback order follows QEMU (see MemoryListener in exec/memory.h) because
 * listeners such as VFIO's rely on it: removals run in reverse priority
 * order before any addition, additions in priority order.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"
#include "memory-internal.h"
#include "trace/trace-system.h"

GQueue memory_listeners = G_QUEUE_INIT;
bool memory_region_update_pending;
unsigned int global_dirty_tracking;

static unsigned memory_region_transaction_depth;
/*
 * True while the views are being rebuilt and listeners called.  A listener
 * that changes the tree from a callback only marks the views stale; the
 * running rebuild sees the flag and goes round again, instead of rendering
 * recursively in the middle of a diff.
 */
static bool memory_update_running;

/* Callbacks dispatched per section. */
typedef enum {
    LISTENER_REGION_ADD,
    LISTENER_REGION_DEL,
    LISTENER_REGION_NOP,
    LISTENER_LOG_START,
    LISTENER_LOG_STOP,
} ListenerSectionOp;

static const char *const listener_op_names[] = {
    [LISTENER_REGION_ADD] = "region_add",
    [LISTENER_REGION_DEL] = "region_del",
    [LISTENER_REGION_NOP] = "region_nop",
    [LISTENER_LOG_START] = "log_start",
    [LISTENER_LOG_STOP] = "log_stop",
};

static void listener_call_one(MemoryListener *l, ListenerSectionOp op,
                              MemoryRegionSection *section, int old_mask, int new_mask)
{
    switch (op) {
    case LISTENER_REGION_ADD:
        if (!l->region_add) {
            return;
        }
        l->region_add(l, section);
        break;
    case LISTENER_REGION_DEL:
        if (!l->region_del) {
            return;
        }
        l->region_del(l, section);
        break;
    case LISTENER_REGION_NOP:
        if (!l->region_nop) {
            return;
        }
        l->region_nop(l, section);
        break;
    case LISTENER_LOG_START:
        if (!l->log_start) {
            return;
        }
        l->log_start(l, section, old_mask, new_mask);
        break;
    case LISTENER_LOG_STOP:
        if (!l->log_stop) {
            return;
        }
        l->log_stop(l, section, old_mask, new_mask);
        break;
    }
    /* Checked first: the arguments cost more than the disabled event itself. */
    if (!trace_event_get_state_backends(TRACE_MEMORY_LISTENER_SECTION)) {
        return;
    }
    trace_memory_listener_section(l->name ? l->name : "", listener_op_names[op],
                                  section->offset_within_address_space,
                                  int128_getlo(int128_sub(section->size, int128_one())),
                                  memory_region_name(section->mr));
}

/*
 * Call @op for range @fr of @fv on every listener of @as, in priority order
 * or, with @reverse, in reverse priority order.
 */
static void listeners_call_section(AddressSpace *as, FlatView *fv, const FlatRange *fr,
                                   ListenerSectionOp op, bool reverse, int old_mask,
                                   int new_mask)
{
    MemoryRegionSection section = flatview_section(fv, fr);
    GList *link = reverse ? as->listeners.tail : as->listeners.head;

    while (link) {
        /* The callback may not unregister listeners; take the next one first anyway. */
        GList *following = reverse ? link->prev : link->next;

        listener_call_one(link->data, op, &section, old_mask, new_mask);
        link = following;
    }
}

/* begin / commit / after-sync on every registered listener. */
typedef enum {
    LISTENER_BEGIN,
    LISTENER_COMMIT,
    LISTENER_AFTER_SYNC,
    LISTENER_GLOBAL_STOP,
} ListenerGlobalOp;

static void listeners_call_global(ListenerGlobalOp op, bool reverse)
{
    GList *link = reverse ? memory_listeners.tail : memory_listeners.head;

    while (link) {
        MemoryListener *l = link->data;

        link = reverse ? link->prev : link->next;
        switch (op) {
        case LISTENER_BEGIN:
            if (l->begin) {
                l->begin(l);
            }
            break;
        case LISTENER_COMMIT:
            if (l->commit) {
                l->commit(l);
            }
            break;
        case LISTENER_AFTER_SYNC:
            if (l->log_global_after_sync) {
                l->log_global_after_sync(l);
            }
            break;
        case LISTENER_GLOBAL_STOP:
            if (l->log_global_stop) {
                l->log_global_stop(l);
            }
            break;
        }
    }
}

/* Same piece of the same region with the same access attributes. */
static bool flatrange_same(const FlatRange *a, const FlatRange *b)
{
    return a->mr == b->mr && int128_eq(a->start, b->start) && int128_eq(a->size, b->size) &&
           a->offset_in_region == b->offset_in_region && a->readonly == b->readonly &&
           a->nonvolatile == b->nonvolatile;
}

/*
 * Walk the two sorted views together.  A range is "old only" if it starts
 * before the current new range, or at the same address but differs; "new
 * only" symmetrically; equal ranges are unchanged.  The first pass
 * (@adding false) reports the old-only ranges as removed; the second
 * reports new-only ranges as added and unchanged ones as nop, with a log
 * change if their dirty-log mask differs.
 */
static void address_space_diff_pass(AddressSpace *as, FlatView *old_view, FlatView *new_view,
                                    bool adding)
{
    unsigned iold = 0, inew = 0;

    while (iold < old_view->nr || inew < new_view->nr) {
        const FlatRange *frold = iold < old_view->nr ? &old_view->ranges[iold] : NULL;
        const FlatRange *frnew = inew < new_view->nr ? &new_view->ranges[inew] : NULL;

        if (frold && (!frnew || int128_lt(frold->start, frnew->start) ||
                      (int128_eq(frold->start, frnew->start) &&
                       !flatrange_same(frold, frnew)))) {
            if (!adding) {
                listeners_call_section(as, old_view, frold, LISTENER_REGION_DEL, true, 0, 0);
            }
            iold++;
        } else if (frold && flatrange_same(frold, frnew)) {
            if (adding) {
                int o = frold->dirty_log_mask, n = frnew->dirty_log_mask;

                listeners_call_section(as, new_view, frnew, LISTENER_REGION_NOP, false, 0, 0);
                if (n & ~o) {
                    listeners_call_section(as, new_view, frnew, LISTENER_LOG_START, false, o, n);
                }
                if (o & ~n) {
                    listeners_call_section(as, new_view, frnew, LISTENER_LOG_STOP, true, o, n);
                }
            }
            iold++;
            inew++;
        } else {
            if (adding) {
                listeners_call_section(as, new_view, frnew, LISTENER_REGION_ADD, false, 0, 0);
            }
            inew++;
        }
    }
}

void address_space_set_flatview(AddressSpace *as, FlatView *new_view)
{
    FlatView *old_view = as->current_map;

    if (old_view == new_view) {
        return;
    }
    flatview_ref(new_view);
    if (!g_queue_is_empty(&as->listeners)) {
        address_space_diff_pass(as, old_view, new_view, false);
        address_space_diff_pass(as, old_view, new_view, true);
    }
    as->current_map = new_view;
    /*
     * Released only now, so every region of the old view stayed alive while
     * listeners were told about its removal.
     */
    flatview_unref(old_view);
}

/* Render each address space (sharing the view of a root shown twice) and report. */
static void memory_update_topology(void)
{
    unsigned nr_as = g_queue_get_length(&memory_address_spaces), i = 0;
    FlatView **views = g_new0(FlatView *, MAX(nr_as, 1));
    GList *l, *m;

    trace_memory_region_transaction_commit(nr_as, g_queue_get_length(&memory_listeners));
    for (l = memory_address_spaces.head; l; l = l->next, i++) {
        AddressSpace *as = l->data;
        unsigned j = 0;

        for (m = memory_address_spaces.head; m != l; m = m->next, j++) {
            if (((AddressSpace *)m->data)->root == as->root) {
                views[i] = views[j];
                flatview_ref(views[i]);
                break;
            }
        }
        if (!views[i]) {
            views[i] = flatview_render(as->root);
        }
    }

    listeners_call_global(LISTENER_BEGIN, false);
    i = 0;
    for (l = memory_address_spaces.head; l; l = l->next, i++) {
        address_space_set_flatview(l->data, views[i]);
        flatview_unref(views[i]);
    }
    listeners_call_global(LISTENER_COMMIT, false);
    g_free(views);
}

void memory_region_transaction_begin(void)
{
    memory_region_transaction_depth++;
}

void memory_region_transaction_commit(void)
{
    if (!memory_region_transaction_depth) {
        error_report("memory_region_transaction_commit without a matching begin: ignored");
        return;
    }
    if (--memory_region_transaction_depth || memory_update_running) {
        return;
    }
    memory_update_running = true;
    while (memory_region_update_pending) {
        memory_region_update_pending = false;
        memory_update_topology();
    }
    memory_update_running = false;
}

/* ------------------------------------------------------------------------ */
/* Registration */

/* Insert @link (data: a listener) after every listener of lower or equal priority. */
static void listener_list_insert(GQueue *q, GList *link, unsigned priority)
{
    GList *l;

    for (l = q->head; l; l = l->next) {
        MemoryListener *other = l->data;

        if (priority < other->priority) {
            g_queue_insert_before_link(q, l, link);
            return;
        }
    }
    g_queue_push_tail_link(q, link);
}

void memory_listener_register(MemoryListener *listener, AddressSpace *as)
{
    FlatView *view;
    unsigned i;

    if (!as || !as->current_map) {
        error_report("memory listener '%s': no (or a destroyed) address space: ignored",
                     listener->name ? listener->name : "");
        return;
    }
    if (listener->address_space) {
        error_report("memory listener '%s' is already registered on '%s': ignored",
                     listener->name ? listener->name : "", listener->address_space->name);
        return;
    }
    trace_memory_listener_register(listener->name ? listener->name : "", as->name,
                                   listener->priority);
    listener->address_space = as;
    listener->link.data = listener;
    listener->link_as.data = listener;
    listener_list_insert(&memory_listeners, &listener->link, listener->priority);
    listener_list_insert(&as->listeners, &listener->link_as, listener->priority);

    /* Replay what the address space shows now, as if it had just appeared. */
    if (listener->begin) {
        listener->begin(listener);
    }
    if (global_dirty_tracking && listener->log_global_start) {
        Error *err = NULL;

        /*
         * Registration cannot fail: a listener that refuses tracking while
         * it is on is reported; the tracking of the others goes on.
         */
        if (!listener->log_global_start(listener, &err)) {
            error_prepend(&err, "memory listener '%s' cannot start dirty tracking: ",
                          listener->name ? listener->name : "");
            error_report_err(err);
        }
    }
    view = as->current_map;
    flatview_ref(view);
    for (i = 0; i < view->nr; i++) {
        MemoryRegionSection section = flatview_section(view, &view->ranges[i]);

        listener_call_one(listener, LISTENER_REGION_ADD, &section, 0, 0);
        if (view->ranges[i].dirty_log_mask) {
            listener_call_one(listener, LISTENER_LOG_START, &section, 0,
                              view->ranges[i].dirty_log_mask);
        }
    }
    if (listener->commit) {
        listener->commit(listener);
    }
    flatview_unref(view);
}

void memory_listener_unregister(MemoryListener *listener)
{
    AddressSpace *as = listener->address_space;
    FlatView *view;
    unsigned i;

    if (!as) {
        return;
    }
    trace_memory_listener_unregister(listener->name ? listener->name : "", as->name);
    if (listener->begin) {
        listener->begin(listener);
    }
    view = as->current_map;
    flatview_ref(view);
    for (i = 0; i < view->nr; i++) {
        MemoryRegionSection section = flatview_section(view, &view->ranges[i]);

        if (view->ranges[i].dirty_log_mask) {
            listener_call_one(listener, LISTENER_LOG_STOP, &section,
                              view->ranges[i].dirty_log_mask, 0);
        }
        listener_call_one(listener, LISTENER_REGION_DEL, &section, 0, 0);
    }
    if (listener->commit) {
        listener->commit(listener);
    }
    flatview_unref(view);
    g_queue_unlink(&memory_listeners, &listener->link);
    g_queue_unlink(&as->listeners, &listener->link_as);
    listener->address_space = NULL;
}

/* ------------------------------------------------------------------------ */
/* Dirty logging */

uint8_t memory_region_get_dirty_log_mask(MemoryRegion *mr)
{
    uint8_t mask = mr->dirty_log_mask;

    /*
     * Migration tracks guest RAM and what IOMMUs translate to; device
     * memory (RAM-device) is not migrated, so it is not logged.
     */
    if (global_dirty_tracking &&
        ((mr->ram_block && !mr->ram_device) || mr->is_iommu)) {
        mask |= 1 << DIRTY_MEMORY_MIGRATION;
    }
    return mask;
}

bool memory_region_is_logging(MemoryRegion *mr, uint8_t client)
{
    return client < 8 && (memory_region_get_dirty_log_mask(mr) & (1 << client));
}

void memory_region_set_log(MemoryRegion *mr, bool log, unsigned client)
{
    uint8_t bit;

    if (client >= DIRTY_MEMORY_NUM || client == DIRTY_MEMORY_MIGRATION) {
        error_report("memory region '%s': dirty log client %u cannot be set per region",
                     memory_region_name(mr), client);
        return;
    }
    if (!log && !mr->log_count[client]) {
        error_report("memory region '%s': unbalanced stop of dirty log client %u",
                     memory_region_name(mr), client);
        return;
    }
    mr->log_count[client] += log ? 1 : -1;
    bit = mr->log_count[client] ? 1 << client : 0;
    if ((mr->dirty_log_mask & (1 << client)) == bit) {
        return;
    }
    memory_region_transaction_begin();
    mr->dirty_log_mask = (mr->dirty_log_mask & ~(1 << client)) | bit;
    cpu_physical_memory_log_client(client, bit);
    memory_region_update_pending |= mr->enabled;
    memory_region_transaction_commit();
}

bool memory_global_dirty_log_start(unsigned int flags, Error **errp)
{
    GList *l;

    if (!flags || (flags & ~GLOBAL_DIRTY_MASK)) {
        error_setg(errp, "invalid global dirty tracking flags 0x%x", flags);
        return false;
    }
    flags &= ~global_dirty_tracking;
    if (!flags) {
        return true;
    }
    if (global_dirty_tracking) {
        /* Another reason is already tracking: the listeners know. */
        global_dirty_tracking |= flags;
        trace_memory_global_dirty_log(global_dirty_tracking);
        return true;
    }

    for (l = memory_listeners.head; l; l = l->next) {
        MemoryListener *listener = l->data;

        if (listener->log_global_start && !listener->log_global_start(listener, errp)) {
            GList *undo;

            /* Stop those that started, in reverse; not the one that refused. */
            for (undo = l->prev; undo; undo = undo->prev) {
                MemoryListener *started = undo->data;

                if (started->log_global_stop) {
                    started->log_global_stop(started);
                }
            }
            error_prepend(errp, "memory listener '%s': ",
                          listener->name ? listener->name : "");
            return false;
        }
    }
    global_dirty_tracking |= flags;
    trace_memory_global_dirty_log(global_dirty_tracking);

    /* Every RAM section now logs for migration: listeners get log_start. */
    memory_region_transaction_begin();
    memory_region_update_pending = true;
    memory_region_transaction_commit();
    return true;
}

void memory_global_dirty_log_stop(unsigned int flags)
{
    flags &= global_dirty_tracking;
    if (!flags) {
        return;
    }
    global_dirty_tracking &= ~flags;
    trace_memory_global_dirty_log(global_dirty_tracking);
    if (global_dirty_tracking) {
        return;
    }
    memory_region_transaction_begin();
    memory_region_update_pending = true;
    memory_region_transaction_commit();
    listeners_call_global(LISTENER_GLOBAL_STOP, true);
}

void memory_global_dirty_log_sync(bool last_stage)
{
    GList *l;

    for (l = memory_listeners.head; l; l = l->next) {
        MemoryListener *listener = l->data;

        if (listener->log_sync) {
            FlatView *view = address_space_get_flatview(listener->address_space);
            unsigned i;

            for (i = 0; i < view->nr; i++) {
                MemoryRegionSection section;

                if (!view->ranges[i].dirty_log_mask) {
                    continue;
                }
                section = flatview_section(view, &view->ranges[i]);
                listener->log_sync(listener, &section);
            }
            flatview_unref(view);
            trace_memory_global_dirty_log_sync(listener->name ? listener->name : "", false);
        } else if (listener->log_sync_global) {
            listener->log_sync_global(listener, last_stage);
            trace_memory_global_dirty_log_sync(listener->name ? listener->name : "", true);
        }
    }
    memory_global_after_dirty_log_sync();
}

void memory_global_after_dirty_log_sync(void)
{
    listeners_call_global(LISTENER_AFTER_SYNC, false);
}
