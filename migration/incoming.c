/*
 * The incoming migration: -incoming URI | defer, migrate-incoming, and the
 * incoming thread that loads the stream.
 *
 * The main loop listens (unix:, tcp:) and accepts one connection; the
 * incoming thread then reads the stream, RAM straight into guest memory
 * without the BQL, device sections with it (migration/savevm.c).  Over a
 * socket the destination answers on the same connection (the return
 * path): the switchover approval, then LOADED or FAILED with the reason;
 * after LOADED it waits for the source's commit byte before it starts the
 * VM, so a source that gave up never finds its VM running twice.
 *
 * A stream that cannot be loaded (truncated, corrupt, from another
 * configuration) ends the process: "load of migration failed: REASON" on
 * stderr and exit status 1, as QEMU does.
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

typedef struct MigrationIncomingState {
    int status;                     /* MigrationStatus: none, setup, active, completed, failed;
                                       atomic, changed with the BQL */
    bool deferred;                  /* -incoming defer: waiting for migrate-incoming */
    bool started;                   /* listening or loading (migrate-incoming done) */
    bool shutting_down;             /* the process exits: a failed load is no news */
    int listen_fd;                  /* listening socket, -1 when none */
    char *bound;                    /* "tcp:127.0.0.1:40123": query-migrate's socket-address */
    GThread *thread;                /* the incoming thread, until joined */
    int thread_done;                /* atomic */
    QEMUFile *from_src;             /* the stream (closed after the join) */
    QEMUFile *to_src;               /* the return path, or NULL */
    GMutex rp_lock;                 /* serializes return-path messages */
    Error *error;                   /* why loading failed; set by the thread */
    int64_t start_ms;
    int64_t total_time_ms;
    uint64_t bytes;                 /* stream bytes read, at the end */
    uint64_t ram_bytes;             /* RAM section bytes */
} MigrationIncomingState;

static MigrationIncomingState incoming = {
    .listen_fd = -1,
};

bool migration_incoming_is_active(void)
{
    return qatomic_read(&incoming.status) == MIGRATION_STATUS_ACTIVE;
}

static void incoming_set_state(MigrationIncomingState *mis, MigrationStatus new)
{
    assert(bql_locked());
    if (qatomic_read(&mis->status) != (int)new) {
        trace_migration_incoming_state(migration_status_name(new));
        qatomic_set(&mis->status, new);
        migration_event_status(new);
    }
}

static bool incoming_send_rp(void *opaque, uint16_t type, const void *data, uint16_t len)
{
    MigrationIncomingState *mis = opaque;
    bool ok;

    if (!mis->to_src) {
        return false;
    }
    g_mutex_lock(&mis->rp_lock);
    qemu_put_be16(mis->to_src, type);
    qemu_put_be16(mis->to_src, len);
    qemu_put_buffer(mis->to_src, data, len);
    ok = !qemu_fflush(mis->to_src);
    g_mutex_unlock(&mis->rp_lock);
    trace_migration_incoming_rp(type, len, ok);
    return ok;
}

static void incoming_join_bh(void *opaque)
{
    MigrationIncomingState *mis = opaque;

    if (mis->thread && qatomic_read(&mis->thread_done)) {
        g_thread_join(mis->thread);
        mis->thread = NULL;
        qemu_fclose(mis->from_src);
        mis->from_src = NULL;
        qemu_fclose(mis->to_src);
        mis->to_src = NULL;
    }
}

static gpointer incoming_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    LoadVMContext ctx = {
        .send_rp = mis->to_src ? incoming_send_rp : NULL,
        .opaque = mis,
    };
    Error *err = NULL;
    bool ok;

    ok = qemu_loadvm_state(mis->from_src, &ctx, &err);
    if (ok && (ctx.flags & MIG_FLAG_RETURN_PATH)) {
        /* Tell the source, then wait for its go-ahead. */
        if (!incoming_send_rp(mis, MIG_RP_LOADED, NULL, 0)) {
            error_setg(&err, "cannot report success to the source: %s",
                       qemu_file_error_message(mis->to_src));
            ok = false;
        } else if (qemu_get_byte(mis->from_src) != MIG_COMMIT_BYTE) {
            if (qemu_file_check(mis->from_src, &err)) {
                error_setg(&err, "the source did not commit the switchover");
            } else {
                error_prepend(&err, "the source did not commit the switchover: ");
            }
            ok = false;
        }
    } else if (!ok && mis->to_src) {
        const char *msg = error_get_pretty(err);

        incoming_send_rp(mis, MIG_RP_FAILED, msg, MIN(strlen(msg), MIG_RP_MAX_PAYLOAD));
    }
    mis->bytes = qemu_file_transferred(mis->from_src);
    mis->ram_bytes = ctx.ram_bytes;

    bql_lock();
    mis->total_time_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - mis->start_ms;
    if (ok) {
        incoming_set_state(mis, MIGRATION_STATUS_COMPLETED);
        if (qemu_autostart()) {
            vm_start();
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    } else if (mis->shutting_down) {
        mis->error = err;
        incoming_set_state(mis, MIGRATION_STATUS_FAILED);
    } else {
        error_report("load of migration failed: %s", error_get_pretty(err));
        mis->error = err;
        incoming_set_state(mis, MIGRATION_STATUS_FAILED);
        qemu_system_set_exit_status(1);
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_ERROR);
    }
    trace_migration_incoming_done(ok, mis->bytes);
    bql_unlock();
    qatomic_set(&mis->thread_done, 1);
    qemu_bh_schedule_oneshot(incoming_join_bh, mis);
    return NULL;
}

/* Start loading from @fd (BQL). */
static void incoming_start_thread(MigrationIncomingState *mis, int fd)
{
    mis->from_src = qemu_file_new_input(fd, "migration stream");
    mis->to_src = NULL;
    if (mig_channel_is_socket(fd)) {
        int wfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

        if (wfd >= 0) {
            mis->to_src = qemu_file_new_output(wfd, "return path");
        }
    }
    mis->start_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    qatomic_set(&mis->thread_done, 0);
    incoming_set_state(mis, MIGRATION_STATUS_ACTIVE);
    mis->thread = g_thread_new("mig/dst", incoming_thread, mis);
}

static void incoming_accept(void *opaque)
{
    MigrationIncomingState *mis = opaque;
    int fd = mig_channel_accept(mis->listen_fd);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            warn_report("incoming migration: accept failed: %s", strerror(errno));
        }
        return;
    }
    trace_migration_incoming_accept(fd);
    /* One stream per process: stop listening. */
    qemu_set_fd_handler(mis->listen_fd, NULL, NULL, NULL);
    close(mis->listen_fd);
    mis->listen_fd = -1;
    incoming_start_thread(mis, fd);
}

static bool incoming_listen(MigrationIncomingState *mis, const char *uri, Error **errp)
{
    MigAddress addr;
    bool is_listener;
    char *bound = NULL;
    int fd;

    if (!mig_address_parse(uri, &addr, errp)) {
        return false;
    }
    fd = mig_channel_listen(&addr, &is_listener, &bound, errp);
    mig_address_clear(&addr);
    if (fd < 0) {
        return false;
    }
    mis->started = true;
    g_free(mis->bound);
    mis->bound = bound;
    incoming_set_state(mis, MIGRATION_STATUS_SETUP);
    if (is_listener) {
        mis->listen_fd = fd;
        qemu_set_fd_handler(fd, incoming_accept, NULL, mis);
    } else {
        incoming_start_thread(mis, fd);
    }
    return true;
}

bool migration_incoming_start(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = &incoming;

    if (!strcmp(uri, "defer")) {
        mis->deferred = true;
        return true;
    }
    return incoming_listen(mis, uri, errp);
}

bool migration_incoming_qmp(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = &incoming;

    if (!mis->deferred) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return false;
    }
    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    return incoming_listen(mis, uri, errp);
}

bool migration_incoming_query(JsonObject *ret)
{
    MigrationIncomingState *mis = &incoming;
    MigrationStatus st = qatomic_read(&mis->status);

    if (st == MIGRATION_STATUS_NONE) {
        return false;
    }
    json_object_set_string_member(ret, "status", migration_status_name(st));
    if (mis->bound) {
        JsonArray *arr = json_array_new();
        JsonObject *sa = json_object_new();

        if (g_str_has_prefix(mis->bound, "tcp:")) {
            const char *hp = mis->bound + 4;
            const char *colon = strrchr(hp, ':');
            g_autofree char *host = g_strndup(hp, colon - hp);

            json_object_set_string_member(sa, "type", "inet");
            if (host[0] == '[') {
                host[strlen(host) - 1] = 0;
                json_object_set_string_member(sa, "host", host + 1);
            } else {
                json_object_set_string_member(sa, "host", host);
            }
            json_object_set_string_member(sa, "port", colon + 1);
        } else {
            json_object_set_string_member(sa, "type", "unix");
            json_object_set_string_member(sa, "path", mis->bound + 5);
        }
        json_array_add_object_element(arr, sa);
        json_object_set_array_member(ret, "socket-address", arr);
    }
    if (st == MIGRATION_STATUS_COMPLETED || st == MIGRATION_STATUS_FAILED) {
        JsonObject *ram = json_object_new();

        json_object_set_int_member(ret, "total-time", mis->total_time_ms);
        json_object_set_int_member(ram, "transferred", mis->ram_bytes);
        json_object_set_object_member(ret, "ram", ram);
        json_object_set_int_member(ret, "x-stream-bytes", mis->bytes);
    }
    if (st == MIGRATION_STATUS_FAILED && mis->error) {
        json_object_set_string_member(ret, "error-desc", error_get_pretty(mis->error));
    }
    return true;
}

void migration_incoming_shutdown(void)
{
    MigrationIncomingState *mis = &incoming;

    assert(bql_locked());
    mis->shutting_down = true;
    if (mis->listen_fd >= 0) {
        qemu_set_fd_handler(mis->listen_fd, NULL, NULL, NULL);
        close(mis->listen_fd);
        mis->listen_fd = -1;
    }
    if (mis->thread) {
        GThread *t = mis->thread;

        if (mis->from_src) {
            qemu_file_shutdown(mis->from_src);
        }
        mis->thread = NULL;
        bql_unlock();
        g_thread_join(t);
        bql_lock();
        qemu_fclose(mis->from_src);
        mis->from_src = NULL;
        qemu_fclose(mis->to_src);
        mis->to_src = NULL;
    }
    g_clear_pointer(&mis->bound, g_free);
    g_clear_pointer(&mis->error, error_free);
}
