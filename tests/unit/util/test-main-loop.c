/*
 * The main loop (qemu/main-loop.h): fd handlers, event notifier handlers,
 * bottom halves and cross-thread wakeups.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"

#include <glib-unix.h>

/* Drain whatever is ready without sleeping. */
static void drain(void)
{
    while (main_loop_wait(true)) {
        /* keep going */
    }
}

static void guard_expired(void *opaque)
{
    *(bool *)opaque = true;
}

/* Run the loop (sleeping) until *flag, failing after 10 s of real time. */
static void run_until(const bool *flag)
{
    bool timed_out = false;
    QEMUTimer *guard = timer_new_ms(QEMU_CLOCK_REALTIME, guard_expired, &timed_out);

    timer_mod(guard, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 10000);
    while (!*flag && !timed_out) {
        main_loop_wait(false);
    }
    timer_free(guard);
    g_assert_false(timed_out);
}

typedef struct FdState {
    int fds[2];
    int reads;
    int writes;
    bool remove_on_read;
    bool done;
} FdState;

static void fd_read_cb(void *opaque)
{
    FdState *s = opaque;
    char buf[16];

    s->reads++;
    g_assert_cmpint(read(s->fds[0], buf, sizeof(buf)), >, 0);
    if (s->remove_on_read) {
        qemu_set_fd_handler(s->fds[0], NULL, NULL, NULL);
    }
    s->done = true;
}

static void fd_write_cb(void *opaque)
{
    FdState *s = opaque;

    s->writes++;
    s->done = true;
    /* A write handler fires while writable: stop after the first call. */
    qemu_set_fd_handler(s->fds[1], NULL, NULL, NULL);
}

static void fd_state_init(FdState *s)
{
    memset(s, 0, sizeof(*s));
    g_assert_cmpint(g_unix_open_pipe(s->fds, FD_CLOEXEC, NULL), ==, true);
    g_assert_true(g_unix_set_fd_nonblocking(s->fds[0], true, NULL));
}

static void fd_state_cleanup(FdState *s)
{
    qemu_set_fd_handler(s->fds[0], NULL, NULL, NULL);
    qemu_set_fd_handler(s->fds[1], NULL, NULL, NULL);
    drain();
    close(s->fds[0]);
    close(s->fds[1]);
}

static void test_init_is_idempotent(void)
{
    g_assert_true(qemu_init_main_loop(&error_abort));
    g_assert_true(qemu_init_main_loop(&error_abort));
    g_assert_true(qemu_main_loop_context() == g_main_context_default());
}

static void test_fd_read_handler_fires_when_readable(void)
{
    FdState s;

    fd_state_init(&s);
    qemu_set_fd_handler(s.fds[0], fd_read_cb, NULL, &s);
    drain();
    g_assert_cmpint(s.reads, ==, 0);
    g_assert_cmpint(write(s.fds[1], "x", 1), ==, 1);
    run_until(&s.done);
    g_assert_cmpint(s.reads, ==, 1);
    fd_state_cleanup(&s);
}

static void test_fd_write_handler_fires_when_writable(void)
{
    FdState s;

    fd_state_init(&s);
    qemu_set_fd_handler(s.fds[1], NULL, fd_write_cb, &s);
    run_until(&s.done);
    g_assert_cmpint(s.writes, ==, 1);
    drain();
    g_assert_cmpint(s.writes, ==, 1);
    fd_state_cleanup(&s);
}

static void test_fd_handler_removed_with_null(void)
{
    FdState s;

    fd_state_init(&s);
    qemu_set_fd_handler(s.fds[0], fd_read_cb, NULL, &s);
    qemu_set_fd_handler(s.fds[0], NULL, NULL, NULL);
    g_assert_cmpint(write(s.fds[1], "x", 1), ==, 1);
    drain();
    g_assert_cmpint(s.reads, ==, 0);
    fd_state_cleanup(&s);
}

static void test_fd_handler_can_remove_itself(void)
{
    FdState s;

    fd_state_init(&s);
    s.remove_on_read = true;
    qemu_set_fd_handler(s.fds[0], fd_read_cb, NULL, &s);
    g_assert_cmpint(write(s.fds[1], "x", 1), ==, 1);
    run_until(&s.done);
    g_assert_cmpint(write(s.fds[1], "y", 1), ==, 1);
    drain();
    g_assert_cmpint(s.reads, ==, 1);
    fd_state_cleanup(&s);
}

static void fd_read_other_cb(void *opaque)
{
    FdState *s = opaque;

    s->writes += 100;   /* counted apart from fd_read_cb */
    s->done = true;
}

static void test_fd_handler_replaced(void)
{
    FdState s;

    fd_state_init(&s);
    qemu_set_fd_handler(s.fds[0], fd_read_cb, NULL, &s);
    qemu_set_fd_handler(s.fds[0], fd_read_other_cb, NULL, &s);
    g_assert_cmpint(write(s.fds[1], "x", 1), ==, 1);
    run_until(&s.done);
    g_assert_cmpint(s.reads, ==, 0);
    g_assert_cmpint(s.writes, >=, 100);
    fd_state_cleanup(&s);
}

typedef struct NotifierState {
    EventNotifier e;
    int count;
    bool done;
} NotifierState;

static void notifier_handler(EventNotifier *e)
{
    NotifierState *s = container_of(e, NotifierState, e);

    g_assert_true(event_notifier_test_and_clear(e));
    s->count++;
    s->done = true;
}

static void test_event_notifier_handler_fires(void)
{
    NotifierState s = { 0 };

    g_assert_cmpint(event_notifier_init(&s.e, false), ==, 0);
    event_notifier_set_handler(&s.e, notifier_handler);
    drain();
    g_assert_cmpint(s.count, ==, 0);
    event_notifier_set(&s.e);
    event_notifier_set(&s.e);
    run_until(&s.done);
    drain();
    g_assert_cmpint(s.count, ==, 1);
    /* cleanup removes the handler before closing the fd */
    event_notifier_cleanup(&s.e);
    g_assert_null(s.e.handler);
    drain();
}

static gpointer notifier_setter(gpointer opaque)
{
    NotifierState *s = opaque;

    g_usleep(20000);
    event_notifier_set(&s->e);
    return NULL;
}

static void test_event_notifier_set_from_thread_wakes_loop(void)
{
    NotifierState s = { 0 };
    GThread *t;

    g_assert_cmpint(event_notifier_init(&s.e, false), ==, 0);
    event_notifier_set_handler(&s.e, notifier_handler);
    t = g_thread_new("setter", notifier_setter, &s);
    run_until(&s.done);
    g_thread_join(t);
    g_assert_cmpint(s.count, ==, 1);
    event_notifier_cleanup(&s.e);
}

typedef struct BHState {
    QEMUBH *bh;
    GArray *log;        /* of int: which BH ran */
    int id;
    int reschedule;     /* times left to re-schedule itself */
    bool delete_self;
    bool done;
} BHState;

static void bh_cb(void *opaque)
{
    BHState *s = opaque;

    g_array_append_val(s->log, s->id);
    s->done = true;
    if (s->reschedule > 0) {
        s->reschedule--;
        qemu_bh_schedule(s->bh);
    }
    if (s->delete_self) {
        qemu_bh_delete(s->bh);
        s->bh = NULL;
    }
}

static void test_bh_runs_once_per_schedule(void)
{
    g_autoptr(GArray) log = g_array_new(false, false, sizeof(int));
    BHState s = { .log = log, .id = 1 };

    s.bh = qemu_bh_new(bh_cb, &s);
    drain();
    g_assert_cmpuint(log->len, ==, 0);
    qemu_bh_schedule(s.bh);
    qemu_bh_schedule(s.bh);     /* coalesces */
    drain();
    g_assert_cmpuint(log->len, ==, 1);
    qemu_bh_schedule(s.bh);
    drain();
    g_assert_cmpuint(log->len, ==, 2);
    qemu_bh_delete(s.bh);
}

static void test_bh_cancel_prevents_run(void)
{
    g_autoptr(GArray) log = g_array_new(false, false, sizeof(int));
    BHState s = { .log = log, .id = 1 };

    s.bh = qemu_bh_new(bh_cb, &s);
    qemu_bh_schedule(s.bh);
    qemu_bh_cancel(s.bh);
    qemu_bh_cancel(s.bh);
    drain();
    g_assert_cmpuint(log->len, ==, 0);
    /* Deleting a scheduled BH unschedules it. */
    qemu_bh_schedule(s.bh);
    qemu_bh_delete(s.bh);
    drain();
    g_assert_cmpuint(log->len, ==, 0);
}

static void test_bhs_run_in_scheduling_order(void)
{
    g_autoptr(GArray) log = g_array_new(false, false, sizeof(int));
    BHState s[3];

    for (int i = 0; i < 3; i++) {
        s[i] = (BHState){ .log = log, .id = i };
        s[i].bh = qemu_bh_new(bh_cb, &s[i]);
    }
    qemu_bh_schedule(s[2].bh);
    qemu_bh_schedule(s[0].bh);
    qemu_bh_schedule(s[1].bh);
    drain();
    g_assert_cmpuint(log->len, ==, 3);
    g_assert_cmpint(g_array_index(log, int, 0), ==, 2);
    g_assert_cmpint(g_array_index(log, int, 1), ==, 0);
    g_assert_cmpint(g_array_index(log, int, 2), ==, 1);
    for (int i = 0; i < 3; i++) {
        qemu_bh_delete(s[i].bh);
    }
}

static void test_bh_rescheduling_itself_runs_once_per_iteration(void)
{
    g_autoptr(GArray) log = g_array_new(false, false, sizeof(int));
    BHState s = { .log = log, .id = 7, .reschedule = 3 };

    s.bh = qemu_bh_new(bh_cb, &s);
    qemu_bh_schedule(s.bh);
    g_assert_true(main_loop_wait(true));
    g_assert_cmpuint(log->len, ==, 1);
    g_assert_true(main_loop_wait(true));
    g_assert_cmpuint(log->len, ==, 2);
    drain();
    g_assert_cmpuint(log->len, ==, 4);
    qemu_bh_delete(s.bh);
}

static void test_bh_can_delete_itself(void)
{
    g_autoptr(GArray) log = g_array_new(false, false, sizeof(int));
    BHState s = { .log = log, .id = 1, .delete_self = true };

    s.bh = qemu_bh_new(bh_cb, &s);
    qemu_bh_schedule(s.bh);
    drain();
    g_assert_cmpuint(log->len, ==, 1);
    g_assert_null(s.bh);
    qemu_bh_delete(NULL);
}

static gpointer bh_scheduler(gpointer opaque)
{
    BHState *s = opaque;

    g_usleep(20000);
    qemu_bh_schedule(s->bh);
    return NULL;
}

static void test_bh_scheduled_from_thread_wakes_loop(void)
{
    g_autoptr(GArray) log = g_array_new(false, false, sizeof(int));
    BHState s = { .log = log, .id = 1 };
    GThread *t;

    s.bh = qemu_bh_new(bh_cb, &s);
    t = g_thread_new("scheduler", bh_scheduler, &s);
    run_until(&s.done);
    g_thread_join(t);
    g_assert_cmpuint(log->len, ==, 1);
    qemu_bh_delete(s.bh);
}

static void oneshot_cb(void *opaque)
{
    (*(int *)opaque)++;
}

static gpointer oneshot_thread(gpointer opaque)
{
    qemu_bh_schedule_oneshot(oneshot_cb, opaque);
    return NULL;
}

static void test_bh_oneshot_runs_once_on_loop_thread(void)
{
    int count = 0;

    g_thread_join(g_thread_new("oneshot", oneshot_thread, &count));
    g_assert_cmpint(count, ==, 0);
    drain();
    g_assert_cmpint(count, ==, 1);
    drain();
    g_assert_cmpint(count, ==, 1);
}

static gpointer notify_later(gpointer opaque)
{
    g_usleep(50000);
    qatomic_set((int *)opaque, 1);
    qemu_notify_event();
    return NULL;
}

static void test_notify_event_wakes_blocking_wait(void)
{
    int flag = 0;
    GThread *t = g_thread_new("notify", notify_later, &flag);
    QEMUTimer *guard;
    bool timed_out = false;

    /* Only the guard timer is armed: without the wakeup we'd sleep 10 s. */
    guard = timer_new_ms(QEMU_CLOCK_REALTIME, guard_expired, &timed_out);
    timer_mod(guard, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 10000);
    while (!qatomic_read(&flag) && !timed_out) {
        main_loop_wait(false);
    }
    g_assert_false(timed_out);
    timer_free(guard);
    g_thread_join(t);
}

static gboolean glib_idle_cb(gpointer opaque)
{
    (*(int *)opaque)++;
    return G_SOURCE_REMOVE;
}

static void test_glib_sources_are_dispatched(void)
{
    int count = 0;

    g_idle_add(glib_idle_cb, &count);
    drain();
    g_assert_cmpint(count, ==, 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/main-loop/init-is-idempotent", test_init_is_idempotent);
    g_test_add_func("/util/main-loop/fd/read-handler-fires-when-readable",
                    test_fd_read_handler_fires_when_readable);
    g_test_add_func("/util/main-loop/fd/write-handler-fires-when-writable",
                    test_fd_write_handler_fires_when_writable);
    g_test_add_func("/util/main-loop/fd/null-handlers-remove",
                    test_fd_handler_removed_with_null);
    g_test_add_func("/util/main-loop/fd/handler-can-remove-itself",
                    test_fd_handler_can_remove_itself);
    g_test_add_func("/util/main-loop/fd/handler-replaced", test_fd_handler_replaced);
    g_test_add_func("/util/main-loop/event-notifier/handler-fires-once-per-clear",
                    test_event_notifier_handler_fires);
    g_test_add_func("/util/main-loop/event-notifier/set-from-thread-wakes-loop",
                    test_event_notifier_set_from_thread_wakes_loop);
    g_test_add_func("/util/main-loop/bh/runs-once-per-schedule",
                    test_bh_runs_once_per_schedule);
    g_test_add_func("/util/main-loop/bh/cancel-prevents-run", test_bh_cancel_prevents_run);
    g_test_add_func("/util/main-loop/bh/run-in-scheduling-order",
                    test_bhs_run_in_scheduling_order);
    g_test_add_func("/util/main-loop/bh/rescheduling-itself-runs-once-per-iteration",
                    test_bh_rescheduling_itself_runs_once_per_iteration);
    g_test_add_func("/util/main-loop/bh/can-delete-itself", test_bh_can_delete_itself);
    g_test_add_func("/util/main-loop/bh/scheduled-from-thread-wakes-loop",
                    test_bh_scheduled_from_thread_wakes_loop);
    g_test_add_func("/util/main-loop/bh/oneshot-runs-once",
                    test_bh_oneshot_runs_once_on_loop_thread);
    g_test_add_func("/util/main-loop/notify-event-wakes-blocking-wait",
                    test_notify_event_wakes_blocking_wait);
    g_test_add_func("/util/main-loop/glib-sources-are-dispatched",
                    test_glib_sources_are_dispatched);
    return g_test_run();
}
