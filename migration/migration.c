/*
 * The outgoing migration: state machine, migration thread, return path,
 * blockers and notifiers (include/migration/migration.h).
 *
 * Threads (docs/migration.md has the whole story):
 *  - the main loop runs QMP: migrate creates the channel and starts the
 *    migration thread; migrate_cancel shuts the channel down so that the
 *    thread's blocked I/O fails; query-migrate reads the statistics;
 *  - the migration thread writes the stream.  It takes the BQL for what
 *    touches the machine (setup and its dirty log start, dirty syncs,
 *    stopping the VM, the device state, every state change and event) and
 *    sends RAM without it, so guests, QMP and qtest keep going meanwhile;
 *  - the return-path thread reads the destination's answers (switchover
 *    approval, the load result) and wakes the migration thread.
 *
 * The end of a migration, on the source: the stream's end marker, then
 * the destination's verdict on the return path (LOADED or FAILED, or the
 * connection closing), then a commit byte; the destination starts the VM
 * only after the commit.  Whatever fails before the commit, the source
 * resumes its VM and its devices: nothing runs twice.
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/qmp-registry.h"
#include "sysemu/runstate.h"
#include "migration/channel.h"
#include "migration/migration-int.h"
#include "trace/trace-migration.h"

/* Rate limiting and bandwidth measurement window. */
#define MIG_WINDOW_NS           (100 * SCALE_MS)
/* How long the thread sleeps while waiting for an approval. */
#define MIG_ACK_POLL_NS         (10 * SCALE_MS)

typedef struct MigrationState {
    int status;                     /* MigrationStatus; atomic, changed with the BQL */
    char *uri;                      /* of the current/last migration; BQL */
    GThread *thread;                /* the migration thread, until joined; BQL */
    int thread_done;                /* atomic: the thread has returned (join is quick) */
    GThread *rp_thread;             /* the return-path reader, or NULL */
    QEMUFile *to_dst;               /* the stream; migration thread */
    QEMUFile *from_dst;             /* the return path, or NULL; return-path thread */
    RunState vm_old_state;          /* run state when the VM was stopped for the switchover */
    bool stopped_vm;                /* the thread stopped the VM */
    bool shutting_down;             /* migration_shutdown: do not restart the VM */

    /* @lock protects the fields below and pairs with @cond */
    GMutex lock;
    GCond cond;                     /* cancel, continue, return-path news */
    Error *error;                   /* why it failed (first reason) */
    bool stop;                      /* cancel or failure: the thread must stop */
    bool continue_requested;        /* migrate-continue */
    bool rp_ack;                    /* switchover approved */
    bool rp_loaded;                 /* the destination loaded everything */
    bool rp_closed;                 /* the return path ended (EOF or error) */
    char *rp_error;                 /* the destination's reason for failing */

    /* Times (ms, except where noted); written by the thread, read by QMP */
    int64_t start_ms;               /* realtime at migrate */
    int64_t setup_time_ms;
    int64_t total_time_ms;          /* at the end */
    int64_t downtime_ms;
    int64_t expected_downtime_ms;
    int64_t downtime_start_ns;
} MigrationState;

static MigrationState current_migration = {
    .status = MIGRATION_STATUS_NONE,
};

MigrationStats mig_stats;
MigrationParameters migrate_params = {
    .downtime_limit_ms = 300,
    .max_bandwidth = 128 * MiB,
    .x_vfio_dma_logging = true,
};
MigrationCapabilities migrate_caps = {
    .return_path = true,
    .events = true,
};

/* Error * of each blocker (the caller's; see migrate_add_blocker). */
static GSList *migration_blockers;
static GList *migration_notifiers;

typedef struct InfoProvider {
    char *key;
    void (*fn)(JsonObject *obj, void *opaque);
    void *opaque;
} InfoProvider;
static GList *info_providers;

static const char *const status_names[MIGRATION_STATUS__MAX] = {
    [MIGRATION_STATUS_NONE] = "none",
    [MIGRATION_STATUS_SETUP] = "setup",
    [MIGRATION_STATUS_CANCELLING] = "cancelling",
    [MIGRATION_STATUS_CANCELLED] = "cancelled",
    [MIGRATION_STATUS_ACTIVE] = "active",
    [MIGRATION_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [MIGRATION_STATUS_DEVICE] = "device",
    [MIGRATION_STATUS_COMPLETED] = "completed",
    [MIGRATION_STATUS_FAILED] = "failed",
};

const char *migration_status_name(MigrationStatus status)
{
    return status < MIGRATION_STATUS__MAX ? status_names[status] : "?";
}

MigrationStatus migration_status(void)
{
    return qatomic_read(&current_migration.status);
}

static bool migration_status_running(MigrationStatus st)
{
    switch (st) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_CANCELLING:
        return true;
    default:
        return false;
    }
}

bool migration_is_running(void)
{
    return migration_status_running(migration_status());
}

bool migration_is_active(void)
{
    return migration_is_running() || migration_incoming_is_active();
}

void migration_event_status(MigrationStatus status)
{
    JsonObject *data = json_object_new();

    json_object_set_string_member(data, "status", migration_status_name(status));
    qapi_event_send("MIGRATION", data);
    json_object_unref(data);
}

/* Move from @old to @new if the status is @old; BQL.  Returns whether it moved. */
static bool migrate_set_state(MigrationState *s, MigrationStatus old, MigrationStatus new)
{
    assert(bql_locked());
    if (qatomic_cmpxchg(&s->status, (int)old, (int)new) != (int)old) {
        return false;
    }
    trace_migrate_set_state(migration_status_name(old), migration_status_name(new));
    migration_event_status(new);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Blockers, notifiers, info providers */

bool migrate_add_blocker(Error **reasonp, Error **errp)
{
    assert(reasonp && *reasonp);
    if (migration_is_running()) {
        error_propagate_prepend(errp, *reasonp, "disallowing migration blocker (migration "
                                "in progress) for: ");
        *reasonp = NULL;
        return false;
    }
    migration_blockers = g_slist_prepend(migration_blockers, *reasonp);
    return true;
}

void migrate_del_blocker(Error **reasonp)
{
    if (reasonp && *reasonp) {
        migration_blockers = g_slist_remove(migration_blockers, *reasonp);
        error_free(*reasonp);
        *reasonp = NULL;
    }
}

void migration_add_notifier(MigrationNotifier *n)
{
    migration_notifiers = g_list_append(migration_notifiers, n);
}

void migration_remove_notifier(MigrationNotifier *n)
{
    migration_notifiers = g_list_remove(migration_notifiers, n);
}

static void migration_notify(MigrationEventType event)
{
    GList *copy = g_list_copy(migration_notifiers);

    assert(bql_locked());
    for (GList *l = copy; l; l = l->next) {
        MigrationNotifier *n = l->data;

        n->notify(n, event);
    }
    g_list_free(copy);
}

void migration_register_info(const char *key, void (*fn)(JsonObject *obj, void *opaque),
                             void *opaque)
{
    InfoProvider *p = g_new0(InfoProvider, 1);

    p->key = g_strdup(key);
    p->fn = fn;
    p->opaque = opaque;
    info_providers = g_list_append(info_providers, p);
}

void migration_call_info_providers(const char *key, JsonObject *obj)
{
    for (GList *l = info_providers; l; l = l->next) {
        InfoProvider *p = l->data;

        if (!strcmp(p->key, key)) {
            p->fn(obj, p->opaque);
        }
    }
}

bool migrate_switchover_ack(void)
{
    return migrate_caps.switchover_ack;
}

bool migrate_vfio_dma_logging(void)
{
    return migrate_params.x_vfio_dma_logging;
}

void mig_stats_account_section(const char *stats_class, uint64_t bytes)
{
    uint64_t *counter = &mig_stats.device_transferred;

    if (stats_class && !strcmp(stats_class, "ram")) {
        counter = &mig_stats.ram_transferred;
    } else if (stats_class && !strcmp(stats_class, "vfio")) {
        counter = &mig_stats.vfio_transferred;
    }
    qatomic_set(counter, qatomic_read(counter) + bytes);
}

/* ------------------------------------------------------------------------ */
/* Stopping the thread */

/* Record @err as the reason (the first one wins) and stop the thread. */
static void migrate_set_error(MigrationState *s, Error *err)
{
    g_mutex_lock(&s->lock);
    if (!s->error) {
        s->error = err;
        err = NULL;
    }
    s->stop = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    error_free(err);
}

void migration_fail(Error *err)
{
    if (!migration_is_running()) {
        error_free(err);
        return;
    }
    migrate_set_error(&current_migration, err);
    if (current_migration.to_dst) {
        /* Wake a thread blocked writing: the stream is void now. */
        qemu_file_shutdown(current_migration.to_dst);
    }
}

bool migration_should_stop(void)
{
    MigrationState *s = &current_migration;
    bool stop;

    g_mutex_lock(&s->lock);
    stop = s->stop;
    g_mutex_unlock(&s->lock);
    return stop || qemu_system_shutdown_requested();
}

/*
 * Sleep until @deadline_ns (realtime) or until something happens (cancel,
 * continue, return-path news).
 */
static void migration_wait(MigrationState *s, int64_t deadline_ns)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (deadline_ns <= now) {
        return;
    }
    g_mutex_lock(&s->lock);
    if (!s->stop) {
        g_cond_wait_until(&s->cond, &s->lock,
                          g_get_monotonic_time() + (deadline_ns - now) / 1000);
    }
    g_mutex_unlock(&s->lock);
}

/* The destination's news as an error, or NULL while all is well. */
static Error *migration_rp_error(MigrationState *s)
{
    Error *err = NULL;

    g_mutex_lock(&s->lock);
    if (s->rp_error) {
        error_setg(&err, "the destination failed: %s", s->rp_error);
    } else if (s->rp_closed && !s->rp_loaded) {
        error_setg(&err, "the destination closed the connection");
    }
    g_mutex_unlock(&s->lock);
    return err;
}

/* ------------------------------------------------------------------------ */
/* The return path */

static gpointer migration_rp_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    QEMUFile *f = s->from_dst;

    for (;;) {
        uint16_t type = qemu_get_be16(f);
        uint16_t len = qemu_get_be16(f);
        char buf[MIG_RP_MAX_PAYLOAD + 1] = "";

        if (qemu_file_get_error(f)) {
            break;
        }
        if (len > MIG_RP_MAX_PAYLOAD) {
            qemu_file_set_error(f, -EINVAL, "return-path message of %u bytes", len);
            break;
        }
        qemu_get_buffer(f, buf, len);
        if (qemu_file_get_error(f)) {
            break;
        }
        trace_migration_rp_message(type, len);
        g_mutex_lock(&s->lock);
        switch (type) {
        case MIG_RP_SWITCHOVER_ACK:
            s->rp_ack = true;
            break;
        case MIG_RP_LOADED:
            s->rp_loaded = true;
            break;
        case MIG_RP_FAILED:
            g_free(s->rp_error);
            s->rp_error = g_strndup(buf, len);
            break;
        default:
            g_free(s->rp_error);
            s->rp_error = g_strdup_printf("unknown return-path message 0x%04x", type);
            break;
        }
        g_cond_broadcast(&s->cond);
        g_mutex_unlock(&s->lock);
    }
    trace_migration_rp_closed(qemu_file_error_message(f) ? qemu_file_error_message(f) : "");
    g_mutex_lock(&s->lock);
    s->rp_closed = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The migration thread */

/* Counters kept across iterations (migration thread only). */
typedef struct MigrationRate {
    int64_t window_start_ns;
    uint64_t window_start_bytes;
    uint64_t window_start_pages;
    uint64_t bandwidth;             /* bytes/s, 0 until measured */
    /* max-bandwidth accounting: since when, from which byte count, at what limit */
    int64_t limit_start_ns;
    uint64_t limit_start_bytes;
    uint64_t limit;
} MigrationRate;

static uint64_t migration_pages_sent(void)
{
    return qatomic_read(&mig_stats.ram_normal_pages) + qatomic_read(&mig_stats.ram_zero_pages);
}

/* Close the measurement window when due; update the statistics. */
static void migration_update_rate(MigrationState *s, MigrationRate *r, uint64_t pending)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int64_t elapsed = now - r->window_start_ns;
    uint64_t bytes = qemu_file_transferred(s->to_dst) - r->window_start_bytes;
    uint64_t pages = migration_pages_sent() - r->window_start_pages;

    qatomic_set(&mig_stats.transferred, qemu_file_transferred(s->to_dst));
    /* A first estimate after 10 ms: small guests may be done before 100. */
    if (elapsed < MIG_WINDOW_NS && (r->bandwidth || elapsed < 10 * SCALE_MS)) {
        return;
    }
    if (elapsed > 0) {
        r->bandwidth = bytes * NANOSECONDS_PER_SECOND / elapsed;
        qatomic_set(&mig_stats.bandwidth, r->bandwidth);
        qatomic_set(&mig_stats.pages_per_second, pages * NANOSECONDS_PER_SECOND / elapsed);
    }
    if (r->bandwidth) {
        qatomic_set(&s->expected_downtime_ms, pending * 1000 / r->bandwidth);
    }
    trace_migration_rate(r->bandwidth, pending, qatomic_read(&s->expected_downtime_ms));
    if (elapsed >= MIG_WINDOW_NS) {
        r->window_start_ns = now;
        r->window_start_bytes = qemu_file_transferred(s->to_dst);
        r->window_start_pages = migration_pages_sent();
    }
}

/*
 * max-bandwidth: a section may be larger than what one window allows, so
 * the budget is counted from when the limit took effect: after N bytes the
 * thread may not be earlier than N / limit seconds past that point.
 */
static void migration_rate_limit(MigrationState *s, MigrationRate *r)
{
    uint64_t limit = qatomic_read(&migrate_params.max_bandwidth);
    uint64_t now_bytes = qemu_file_transferred(s->to_dst);
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int64_t due;

    if (limit != r->limit) {
        /* A new limit counts from now. */
        r->limit = limit;
        r->limit_start_ns = now;
        r->limit_start_bytes = now_bytes;
    }
    if (!limit) {
        return;
    }
    due = r->limit_start_ns +
          (int64_t)((double)(now_bytes - r->limit_start_bytes) * NANOSECONDS_PER_SECOND / limit);
    if (due > now) {
        trace_migration_rate_limit(now_bytes - r->limit_start_bytes, limit);
        /* Woken early by return-path news: sleep on unless told to stop. */
        while (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < due && !migration_should_stop()) {
            migration_wait(s, due);
        }
    } else if (now - due > MIG_WINDOW_NS) {
        /* Idle time is not credit for a burst later. */
        r->limit_start_ns = now - MIG_WINDOW_NS;
        r->limit_start_bytes = now_bytes;
    }
}

/*
 * Pre-copy: iterate until what is left fits in the downtime limit (and
 * the destination approved, with switchover-ack).  false with *errp when
 * it must stop.
 */
static bool migration_iterate(MigrationState *s, Error **errp)
{
    MigrationRate r = {
        .window_start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME),
        .window_start_bytes = qemu_file_transferred(s->to_dst),
        .window_start_pages = migration_pages_sent(),
    };
    bool need_ack = migrate_caps.switchover_ack && s->from_dst;
    bool all_done = false;

    if (need_ack) {
        bql_lock();
        need_ack = qemu_savevm_switchover_ack_needed();
        bql_unlock();
    }
    for (;;) {
        uint64_t pending, threshold;
        Error *err;
        int ret;

        if (migration_should_stop()) {
            return false;
        }
        if ((err = migration_rp_error(s))) {
            error_propagate(errp, err);
            return false;
        }
        migration_rate_limit(s, &r);
        pending = qemu_savevm_state_pending_estimate();
        migration_update_rate(s, &r, pending);
        threshold = r.bandwidth * qatomic_read(&migrate_params.downtime_limit_ms) / 1000;
        if (pending <= threshold || all_done) {
            bool acked;

            bql_lock();
            pending = qemu_savevm_state_pending_exact();
            bql_unlock();
            g_mutex_lock(&s->lock);
            acked = s->rp_ack;
            g_mutex_unlock(&s->lock);
            trace_migration_converge_check(pending, threshold, acked);
            if (pending <= threshold && (!need_ack || acked)) {
                return true;
            }
            if (pending <= threshold) {
                /* Converged, but the destination has not approved yet. */
                migration_wait(s, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + MIG_ACK_POLL_NS);
            }
        }
        ret = qemu_savevm_state_iterate(s->to_dst, errp);
        if (ret < 0) {
            return false;
        }
        all_done = ret == 1;
        if (qemu_fflush(s->to_dst)) {
            qemu_file_check(s->to_dst, errp);
            return false;
        }
    }
}

/* Wait for the destination's verdict on the return path. */
static bool migration_await_destination(MigrationState *s, Error **errp)
{
    Error *err = NULL;

    g_mutex_lock(&s->lock);
    while (!s->stop && !s->rp_loaded && !s->rp_error && !s->rp_closed) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
    if (migration_should_stop()) {
        return false;
    }
    if ((err = migration_rp_error(s))) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

/* Stop-and-copy, and the end of the stream.  Runs with the BQL and returns with it. */
static bool migration_completion(MigrationState *s, Error **errp)
{
    MigrationStatus active = MIGRATION_STATUS_ACTIVE;

    s->downtime_start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    s->vm_old_state = runstate_get();
    s->stopped_vm = true;
    vm_stop_force_state(RUN_STATE_FINISH_MIGRATE);

    if (migrate_caps.pause_before_switchover) {
        if (!migrate_set_state(s, active, MIGRATION_STATUS_PRE_SWITCHOVER)) {
            return false;
        }
        active = MIGRATION_STATUS_PRE_SWITCHOVER;
        bql_unlock();
        g_mutex_lock(&s->lock);
        while (!s->stop && !s->continue_requested) {
            g_cond_wait(&s->cond, &s->lock);
        }
        g_mutex_unlock(&s->lock);
        bql_lock();
        if (migration_should_stop()) {
            return false;
        }
    }
    if (!migrate_set_state(s, active, MIGRATION_STATUS_DEVICE)) {
        return false;
    }
    if (!qemu_savevm_state_complete(s->to_dst, errp)) {
        return false;
    }
    qatomic_set(&mig_stats.transferred, qemu_file_transferred(s->to_dst));
    if (s->from_dst && migrate_caps.return_path) {
        bool ok;

        bql_unlock();
        ok = migration_await_destination(s, errp);
        if (ok) {
            qemu_put_byte(s->to_dst, MIG_COMMIT_BYTE);
            ok = !qemu_fflush(s->to_dst) || !qemu_file_check(s->to_dst, errp);
        }
        bql_lock();
        if (!ok) {
            return false;
        }
    }
    return true;
}

static void migration_join_bh(void *opaque)
{
    MigrationState *s = opaque;

    if (s->thread && qatomic_read(&s->thread_done)) {
        g_thread_join(s->thread);
        s->thread = NULL;
    }
}

/* The end, successful or not (BQL held). */
static void migration_finish(MigrationState *s, bool ok)
{
    MigrationStatus st = migration_status();
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    assert(bql_locked());
    if (ok) {
        qatomic_set(&s->downtime_ms, (now - s->downtime_start_ns) / SCALE_MS);
        runstate_set(RUN_STATE_POSTMIGRATE);
        qemu_savevm_state_cleanup();
        migration_notify(MIG_EVENT_DONE);
        migrate_set_state(s, MIGRATION_STATUS_DEVICE, MIGRATION_STATUS_COMPLETED);
    } else {
        Error *err = NULL;

        g_mutex_lock(&s->lock);
        s->stop = true;
        err = s->error ? error_copy(s->error) : NULL;
        g_mutex_unlock(&s->lock);
        if (err) {
            error_report("migration failed: %s", error_get_pretty(err));
            error_free(err);
        }
        qemu_savevm_state_cleanup();
        migration_notify(MIG_EVENT_FAILED);
        if (s->stopped_vm && runstate_check(RUN_STATE_FINISH_MIGRATE)) {
            if (s->vm_old_state == RUN_STATE_RUNNING && !s->shutting_down) {
                vm_start();
            } else {
                runstate_set(s->vm_old_state);
            }
        }
        if (st == MIGRATION_STATUS_CANCELLING) {
            migrate_set_state(s, st, MIGRATION_STATUS_CANCELLED);
        } else {
            migrate_set_state(s, st, MIGRATION_STATUS_FAILED);
        }
    }
    qatomic_set(&s->total_time_ms,
                qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - s->start_ms);
    trace_migration_finish(migration_status_name(migration_status()),
                           qemu_file_transferred(s->to_dst));
}

static gpointer migration_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    Error *err = NULL;
    uint32_t flags = 0;
    bool ok;

    if (s->from_dst) {
        flags |= MIG_FLAG_RETURN_PATH;
        if (migrate_caps.switchover_ack) {
            flags |= MIG_FLAG_SWITCHOVER_ACK;
        }
    }
    bql_lock();
    migration_notify(MIG_EVENT_SETUP);
    ok = qemu_savevm_state_header(s->to_dst, flags, &err) &&
         qemu_savevm_state_setup(s->to_dst, &err);
    bql_unlock();
    if (ok && qemu_fflush(s->to_dst)) {
        ok = qemu_file_check(s->to_dst, &err);
    }
    qatomic_set(&s->setup_time_ms, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - s->start_ms);
    if (ok && s->from_dst) {
        s->rp_thread = g_thread_new("mig/return", migration_rp_thread, s);
    }
    if (ok) {
        bql_lock();
        ok = migrate_set_state(s, MIGRATION_STATUS_SETUP, MIGRATION_STATUS_ACTIVE);
        bql_unlock();
    }
    ok = ok && migration_iterate(s, &err);
    bql_lock();
    ok = ok && migration_completion(s, &err);
    if (!ok && err) {
        int ferr = qemu_file_get_error(s->to_dst);

        if (ferr == -EPIPE || ferr == -ECONNRESET) {
            error_prepend(&err, "the destination closed the connection: ");
        }
        if (ferr == -ECANCELED) {
            /* A cancel shut the channel: that is the reason, not the I/O error. */
            error_free(err);
            err = NULL;
        } else {
            migrate_set_error(s, err);
            err = NULL;
        }
    }
    migration_finish(s, ok);
    bql_unlock();

    /* Wake the return-path thread and wait for it (no BQL: it never takes it). */
    qemu_file_shutdown(s->to_dst);
    if (s->rp_thread) {
        g_thread_join(s->rp_thread);
        s->rp_thread = NULL;
    }
    qemu_fclose(s->from_dst);
    s->from_dst = NULL;
    qemu_fclose(s->to_dst);
    s->to_dst = NULL;
    qatomic_set(&s->thread_done, 1);
    qemu_bh_schedule_oneshot(migration_join_bh, s);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* QMP entry points (BQL) */

bool migrate_start(const char *uri, Error **errp)
{
    MigrationState *s = &current_migration;
    MigAddress addr;
    bool bidirectional;
    int fd;

    if (migration_is_running()) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    if (migration_incoming_is_active() || runstate_check(RUN_STATE_INMIGRATE)) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return false;
    }
    if (migration_blockers) {
        error_setg(errp, "disallowing migration: %s",
                   error_get_pretty(migration_blockers->data));
        return false;
    }
    if (s->thread) {
        /* The last migration's thread has finished its work: collect it. */
        g_thread_join(s->thread);
        s->thread = NULL;
    }
    if (!mig_address_parse(uri, &addr, errp)) {
        return false;
    }
    fd = mig_channel_connect(&addr, &bidirectional, errp);
    mig_address_clear(&addr);
    if (fd < 0) {
        return false;
    }
    if (migrate_caps.switchover_ack && (!bidirectional || !migrate_caps.return_path)) {
        error_setg(errp, "Capability 'switchover-ack' requires a return path (a socket "
                   "channel and capability 'return-path')");
        close(fd);
        return false;
    }

    memset(&mig_stats, 0, sizeof(mig_stats));
    g_mutex_lock(&s->lock);
    g_clear_pointer(&s->error, error_free);
    g_clear_pointer(&s->rp_error, g_free);
    s->stop = s->continue_requested = false;
    s->rp_ack = s->rp_loaded = s->rp_closed = false;
    g_mutex_unlock(&s->lock);
    g_free(s->uri);
    s->uri = g_strdup(uri);
    s->stopped_vm = false;
    s->shutting_down = false;
    s->start_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    s->setup_time_ms = s->total_time_ms = s->downtime_ms = s->expected_downtime_ms = 0;
    s->to_dst = qemu_file_new_output(fd, uri);
    s->from_dst = NULL;
    if (bidirectional && migrate_caps.return_path) {
        int rfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

        if (rfd < 0) {
            error_setg_errno(errp, errno, "cannot duplicate the channel's fd");
            qemu_fclose(s->to_dst);
            s->to_dst = NULL;
            return false;
        }
        s->from_dst = qemu_file_new_input(rfd, "return path");
    }
    qatomic_set(&s->thread_done, 0);
    trace_migrate_start(uri, bidirectional);
    migrate_set_state(s, migration_status(), MIGRATION_STATUS_SETUP);
    s->thread = g_thread_new("mig/src", migration_thread, s);
    return true;
}

void migrate_cancel_request(void)
{
    MigrationState *s = &current_migration;
    MigrationStatus st = migration_status();

    if (!migration_status_running(st) || st == MIGRATION_STATUS_CANCELLING) {
        return;
    }
    migrate_set_state(s, st, MIGRATION_STATUS_CANCELLING);
    g_mutex_lock(&s->lock);
    s->stop = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    if (s->to_dst) {
        qemu_file_shutdown(s->to_dst);
    }
}

bool migrate_continue_request(const char *state, Error **errp)
{
    MigrationState *s = &current_migration;

    if (strcmp(state, "pre-switchover") ||
        migration_status() != MIGRATION_STATUS_PRE_SWITCHOVER) {
        error_setg(errp, "Migration not in expected state: %s",
                   migration_status_name(migration_status()));
        return false;
    }
    g_mutex_lock(&s->lock);
    s->continue_requested = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    return true;
}

bool migration_query_outgoing(JsonObject *ret)
{
    MigrationState *s = &current_migration;
    MigrationStatus st = migration_status();
    JsonObject *ram, *vfio;
    uint64_t normal;

    if (st == MIGRATION_STATUS_NONE) {
        return false;
    }
    json_object_set_string_member(ret, "status", migration_status_name(st));
    if (migration_status_running(st)) {
        json_object_set_int_member(ret, "total-time",
                                   qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - s->start_ms);
        if (st != MIGRATION_STATUS_SETUP) {
            json_object_set_int_member(ret, "expected-downtime",
                                       qatomic_read(&s->expected_downtime_ms));
        }
    } else {
        json_object_set_int_member(ret, "total-time", qatomic_read(&s->total_time_ms));
    }
    if (st == MIGRATION_STATUS_COMPLETED) {
        json_object_set_int_member(ret, "downtime", qatomic_read(&s->downtime_ms));
    }
    if (st != MIGRATION_STATUS_SETUP) {
        json_object_set_int_member(ret, "setup-time", qatomic_read(&s->setup_time_ms));
    }
    normal = qatomic_read(&mig_stats.ram_normal_pages);
    ram = json_object_new();
    json_object_set_int_member(ram, "transferred", qatomic_read(&mig_stats.ram_transferred));
    json_object_set_int_member(ram, "remaining", qatomic_read(&mig_stats.ram_remaining));
    json_object_set_int_member(ram, "total", qatomic_read(&mig_stats.ram_total));
    json_object_set_int_member(ram, "duplicate", qatomic_read(&mig_stats.ram_zero_pages));
    json_object_set_int_member(ram, "normal", normal);
    json_object_set_int_member(ram, "normal-bytes", normal * TARGET_PAGE_SIZE);
    json_object_set_int_member(ram, "dirty-sync-count",
                               qatomic_read(&mig_stats.dirty_sync_count));
    json_object_set_int_member(ram, "pages-per-second",
                               qatomic_read(&mig_stats.pages_per_second));
    json_object_set_double_member(ram, "mbps",
                                  qatomic_read(&mig_stats.bandwidth) * 8.0 / 1e6);
    json_object_set_int_member(ram, "dirty-pages-rate",
                               qatomic_read(&mig_stats.dirty_pages_rate));
    json_object_set_int_member(ram, "precopy-bytes",
                               qatomic_read(&mig_stats.ram_precopy_bytes));
    json_object_set_int_member(ram, "downtime-bytes",
                               qatomic_read(&mig_stats.ram_downtime_bytes));
    json_object_set_int_member(ram, "page-size", TARGET_PAGE_SIZE);
    if (migrate_params.x_needed_bytes) {
        json_object_set_int_member(ram, "x-needed-bytes",
                                   qatomic_read(&mig_stats.ram_needed_bytes));
    }
    json_object_set_object_member(ret, "ram", ram);
    vfio = json_object_new();
    json_object_set_int_member(vfio, "transferred", qatomic_read(&mig_stats.vfio_transferred));
    migration_call_info_providers("vfio", vfio);
    json_object_set_object_member(ret, "vfio", vfio);
    json_object_set_int_member(ret, "x-device-transferred",
                               qatomic_read(&mig_stats.device_transferred));
    json_object_set_int_member(ret, "x-stream-bytes", qatomic_read(&mig_stats.transferred));
    if (st == MIGRATION_STATUS_FAILED) {
        g_mutex_lock(&s->lock);
        if (s->error) {
            json_object_set_string_member(ret, "error-desc", error_get_pretty(s->error));
        }
        g_mutex_unlock(&s->lock);
    }
    return true;
}

void migration_shutdown(void)
{
    MigrationState *s = &current_migration;

    assert(bql_locked());
    s->shutting_down = true;
    migrate_cancel_request();
    if (s->thread) {
        GThread *t = s->thread;

        s->thread = NULL;
        bql_unlock();
        g_thread_join(t);
        bql_lock();
    }
    migration_incoming_shutdown();
}
