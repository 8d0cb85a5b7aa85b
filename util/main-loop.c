/*
 * The main loop (see include/qemu/main-loop.h).
 *
 * Three kinds of GSource on GLib's default context:
 *  - one per watched fd (IOHandlerSource).  Changing an fd's handlers
 *    replaces its source instead of editing it, so a source being
 *    dispatched never sees its callbacks change under it, and a handler
 *    that removes itself only destroys the source (GLib keeps it alive
 *    until dispatch returns);
 *  - one for bottom halves, ready while any BH is scheduled;
 *  - one for timers, whose prepare() turns the earliest deadline into the
 *    poll timeout.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "trace/trace-util.h"

/* ------------------------------------------------------------------------ */
/* fd handlers */

typedef struct IOHandlerSource {
    GSource source;
    int fd;
    gpointer tag;           /* from g_source_add_unix_fd */
    IOHandler *fd_read;     /* immutable once attached, like the rest */
    IOHandler *fd_write;
    void *opaque;
} IOHandlerSource;

/* Protects io_handlers. */
static GMutex io_handlers_lock;
/* fd -> IOHandlerSource (holding a reference) for every watched fd. */
static GHashTable *io_handlers;

#define IO_READ_CONDS   (G_IO_IN | G_IO_HUP | G_IO_ERR)
#define IO_WRITE_CONDS  (G_IO_OUT | G_IO_ERR)

static gboolean io_handler_check(GSource *source)
{
    IOHandlerSource *s = (IOHandlerSource *)source;

    return g_source_query_unix_fd(source, s->tag) != 0;
}

static gboolean io_handler_dispatch(GSource *source, GSourceFunc callback,
                                    gpointer user_data)
{
    IOHandlerSource *s = (IOHandlerSource *)source;
    GIOCondition revents = g_source_query_unix_fd(source, s->tag);

    if (s->fd_read && (revents & IO_READ_CONDS)) {
        s->fd_read(s->opaque);
    }
    /* The read handler may have replaced or removed this fd's handlers. */
    if (g_source_is_destroyed(source)) {
        return G_SOURCE_REMOVE;
    }
    if (s->fd_write && (revents & IO_WRITE_CONDS)) {
        s->fd_write(s->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs io_handler_funcs = {
    .check = io_handler_check,
    .dispatch = io_handler_dispatch,
};

/* ------------------------------------------------------------------------ */
/* Bottom halves */

struct QEMUBH {
    QEMUBHFunc *cb;
    void *opaque;
    GList link;             /* in bh_pending while scheduled; data = this */
    bool scheduled;         /* protected by bh_lock */
    bool oneshot;           /* freed by the loop after its one run */
};

/* Protects bh_pending and QEMUBH.scheduled. */
static GMutex bh_lock;
/* Scheduled BHs in scheduling order. */
static GQueue bh_pending = G_QUEUE_INIT;

static bool bh_any_pending(void)
{
    bool pending;

    g_mutex_lock(&bh_lock);
    pending = !g_queue_is_empty(&bh_pending);
    g_mutex_unlock(&bh_lock);
    return pending;
}

static gboolean bh_source_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return bh_any_pending();
}

static gboolean bh_source_check(GSource *source)
{
    return bh_any_pending();
}

static gboolean bh_source_dispatch(GSource *source, GSourceFunc callback,
                                   gpointer user_data)
{
    guint budget;

    g_mutex_lock(&bh_lock);
    /* Only what was scheduled before this dispatch: no starvation. */
    budget = bh_pending.length;
    g_mutex_unlock(&bh_lock);

    while (budget--) {
        QEMUBH *bh;
        QEMUBHFunc *cb;
        void *opaque;
        bool oneshot;
        GList *link;

        g_mutex_lock(&bh_lock);
        link = g_queue_pop_head_link(&bh_pending);
        if (link) {
            bh = link->data;
            bh->scheduled = false;
        }
        g_mutex_unlock(&bh_lock);
        if (!link) {
            break;
        }
        /* The callback may delete or re-schedule @bh: read it first. */
        cb = bh->cb;
        opaque = bh->opaque;
        oneshot = bh->oneshot;
        cb(opaque);
        if (oneshot) {
            g_free(bh);
        }
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs bh_source_funcs = {
    .prepare = bh_source_prepare,
    .check = bh_source_check,
    .dispatch = bh_source_dispatch,
};

/* ------------------------------------------------------------------------ */
/* Timers */

/* Poll timeout in ms for a deadline in ns: rounded up, so never early. */
static gint timeout_ms_for(int64_t deadline_ns)
{
    int64_t ms;

    if (deadline_ns < 0) {
        return -1;
    }
    ms = DIV_ROUND_UP(deadline_ns, SCALE_MS);
    return ms > INT_MAX ? INT_MAX : (gint)ms;
}

static gboolean timer_source_prepare(GSource *source, gint *timeout)
{
    int64_t deadline = qemu_clock_deadline_ns_all();

    *timeout = timeout_ms_for(deadline);
    return deadline == 0;
}

static gboolean timer_source_check(GSource *source)
{
    return qemu_clock_deadline_ns_all() == 0;
}

static gboolean timer_source_dispatch(GSource *source, GSourceFunc callback,
                                      gpointer user_data)
{
    qemu_clock_run_all_timers();
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
    .prepare = timer_source_prepare,
    .check = timer_source_check,
    .dispatch = timer_source_dispatch,
};

/* ------------------------------------------------------------------------ */
/* The big lock */

static GMutex bql;
/* Whether this thread holds @bql. */
static __thread bool bql_held;

void bql_lock(void)
{
    assert(!bql_held);
    g_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    assert(bql_held);
    bql_held = false;
    g_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}

/*
 * GLib calls this with the context unlocked, between prepare and check:
 * the only place the loop thread sleeps, so the only place it lets other
 * threads have the BQL.
 */
static gint main_loop_poll(GPollFD *fds, guint nfds, gint timeout)
{
    bool held = bql_held;
    gint ret;

    if (held) {
        bql_unlock();
    }
    ret = g_poll(fds, nfds, timeout);
    if (held) {
        bql_lock();
    }
    return ret;
}

/* ------------------------------------------------------------------------ */
/* The loop */

static void main_loop_init_once(void)
{
    static gsize initialized;

    if (g_once_init_enter(&initialized)) {
        GMainContext *ctx = g_main_context_default();
        GSource *src;

        io_handlers = g_hash_table_new(NULL, NULL);
        g_main_context_set_poll_func(ctx, main_loop_poll);

        src = g_source_new(&bh_source_funcs, sizeof(GSource));
        g_source_set_name(src, "aperture-bh");
        g_source_attach(src, ctx);
        g_source_unref(src);

        src = g_source_new(&timer_source_funcs, sizeof(GSource));
        g_source_set_name(src, "aperture-timers");
        g_source_attach(src, ctx);
        g_source_unref(src);

        g_once_init_leave(&initialized, 1);
    }
}

bool qemu_init_main_loop(Error **errp)
{
    main_loop_init_once();
    return true;
}

GMainContext *qemu_main_loop_context(void)
{
    return g_main_context_default();
}

bool main_loop_wait(bool nonblocking)
{
    bool progress;
    bool take_bql = !bql_held;

    main_loop_init_once();
    if (take_bql) {
        bql_lock();
    }
    progress = g_main_context_iteration(g_main_context_default(), !nonblocking);
    if (take_bql) {
        bql_unlock();
    }
    trace_main_loop_wait(nonblocking, progress);
    return progress;
}

void qemu_notify_event(void)
{
    g_main_context_wakeup(g_main_context_default());
}

void qemu_set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write,
                         void *opaque)
{
    IOHandlerSource *old, *s;

    if (fd < 0) {
        return;
    }
    main_loop_init_once();
    trace_qemu_set_fd_handler(fd, (void *)fd_read, (void *)fd_write, opaque);

    g_mutex_lock(&io_handlers_lock);
    old = g_hash_table_lookup(io_handlers, GINT_TO_POINTER(fd));
    if (old) {
        g_hash_table_remove(io_handlers, GINT_TO_POINTER(fd));
        g_source_destroy(&old->source);
        g_source_unref(&old->source);
    }
    if (fd_read || fd_write) {
        GIOCondition cond = (fd_read ? IO_READ_CONDS : 0) |
                            (fd_write ? IO_WRITE_CONDS : 0);

        s = (IOHandlerSource *)g_source_new(&io_handler_funcs, sizeof(*s));
        s->fd = fd;
        s->fd_read = fd_read;
        s->fd_write = fd_write;
        s->opaque = opaque;
        s->tag = g_source_add_unix_fd(&s->source, fd, cond);
        g_source_set_name(&s->source, "aperture-fd");
        /* Attaching from another thread wakes the loop (GLib does it). */
        g_source_attach(&s->source, g_main_context_default());
        g_hash_table_insert(io_handlers, GINT_TO_POINTER(fd), s);
    }
    g_mutex_unlock(&io_handlers_lock);
}

static void event_notifier_dispatch(void *opaque)
{
    EventNotifier *e = opaque;
    EventNotifierHandler *handler = e->handler;

    if (handler) {
        handler(e);
    }
}

void event_notifier_set_handler(EventNotifier *e, EventNotifierHandler *handler)
{
    e->handler = handler;
    qemu_set_fd_handler(event_notifier_get_fd(e),
                        handler ? event_notifier_dispatch : NULL, NULL, e);
}

QEMUBH *qemu_bh_new(QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = g_new0(QEMUBH, 1);

    main_loop_init_once();
    bh->cb = cb;
    bh->opaque = opaque;
    bh->link.data = bh;
    return bh;
}

void qemu_bh_schedule(QEMUBH *bh)
{
    bool newly;

    g_mutex_lock(&bh_lock);
    newly = !bh->scheduled;
    if (newly) {
        bh->scheduled = true;
        g_queue_push_tail_link(&bh_pending, &bh->link);
    }
    g_mutex_unlock(&bh_lock);
    /*
     * The loop thread itself checks for BHs before it next sleeps; any
     * other thread must wake it.
     */
    if (newly && !g_main_context_is_owner(g_main_context_default())) {
        qemu_notify_event();
    }
}

void qemu_bh_cancel(QEMUBH *bh)
{
    g_mutex_lock(&bh_lock);
    if (bh->scheduled) {
        g_queue_unlink(&bh_pending, &bh->link);
        bh->scheduled = false;
    }
    g_mutex_unlock(&bh_lock);
}

void qemu_bh_delete(QEMUBH *bh)
{
    if (bh) {
        qemu_bh_cancel(bh);
        g_free(bh);
    }
}

void qemu_bh_schedule_oneshot(QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = qemu_bh_new(cb, opaque);

    bh->oneshot = true;
    qemu_bh_schedule(bh);
}
