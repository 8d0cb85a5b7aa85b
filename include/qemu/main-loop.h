/*
 * The main loop: fd handlers, bottom halves and timers on GLib's default
 * GMainContext.
 *
 * One thread runs the loop by calling main_loop_wait() repeatedly; fd
 * handlers, bottom halves and timer callbacks (qemu/timer.h) run there.
 * Because the loop is the default GMainContext, GLib sources attached to it
 * (GIO sockets, g_timeout_add ...) are dispatched by main_loop_wait too.
 *
 * Thread safety: qemu_set_fd_handler, qemu_bh_schedule, qemu_bh_cancel,
 * qemu_bh_schedule_oneshot and qemu_notify_event may be called from any
 * thread and wake the loop when needed.  qemu_bh_new/qemu_bh_delete and the
 * handlers' own data are the loop thread's business.
 *
 * The big lock (BQL): whatever is "main loop thread only" (the memory core,
 * devices, QMP, run state) may also be used by another thread that holds
 * the BQL.  The loop thread holds it while it dispatches and releases it
 * only while it sleeps in poll(), so a helper thread (the migration thread)
 * that takes it runs between two dispatches, never during one.  The program
 * (system/vl.c) takes it once at start-up and keeps it; main_loop_wait()
 * called by a thread that does not hold it takes it for the iteration, so
 * tests that never heard of the lock keep working.
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include "qemu/event_notifier.h"

/*
 * Set up the loop (sources on the default GMainContext).  Idempotent; the
 * other functions call it when needed, so calling it is only a way to
 * report failure early.  Returns true (it cannot fail today).
 */
bool qemu_init_main_loop(Error **errp);

/* The GMainContext the loop runs (GLib's default context). */
GMainContext *qemu_main_loop_context(void);

/*
 * Run one iteration: poll every source (without sleeping when @nonblocking,
 * otherwise until something is ready or the next timer is due), then
 * dispatch what is ready: fd handlers, bottom halves, expired timers.
 * Returns true when anything was dispatched.
 */
bool main_loop_wait(bool nonblocking);

/*
 * The big lock.  Not recursive: bql_lock() with the lock held by the same
 * thread aborts.  bql_locked() says whether the calling thread holds it.
 */
void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);

/* Make a main_loop_wait sleeping in another thread return promptly. */
void qemu_notify_event(void);

typedef void IOHandler(void *opaque);

/*
 * Watch @fd: call @fd_read(opaque) while it is readable (or hung up or in
 * error) and @fd_write(opaque) while it is writable (or in error).  Replaces
 * any handlers @fd had; both NULL removes them.  A handler may change or
 * remove its own fd's handlers, after which the other handler of the old
 * pair is not called for this round.  Negative @fd is ignored.
 */
void qemu_set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write,
                         void *opaque);

/*
 * Call @handler(e) from the loop whenever @e is set (NULL removes it).  The
 * handler is expected to event_notifier_test_and_clear(e) -- otherwise it
 * is called again at once.
 */
void event_notifier_set_handler(EventNotifier *e, EventNotifierHandler *handler);

/*
 * Bottom halves: deferred calls run by the loop thread.  Scheduling is
 * cheap, thread-safe and idempotent (a BH scheduled twice before it runs
 * runs once).  A BH runs once per qemu_bh_schedule, on the loop iteration
 * after it was scheduled or the one it was scheduled from; BHs scheduled
 * by BHs run on the next iteration, so a BH re-scheduling itself cannot
 * starve the loop.  BHs run in scheduling order.
 */
typedef struct QEMUBH QEMUBH;
typedef void QEMUBHFunc(void *opaque);

QEMUBH *qemu_bh_new(QEMUBHFunc *cb, void *opaque);
void qemu_bh_schedule(QEMUBH *bh);
/* Unschedule; no effect if not scheduled. */
void qemu_bh_cancel(QEMUBH *bh);
/* Cancel and free.  May be called from the BH's own callback; NULL is fine. */
void qemu_bh_delete(QEMUBH *bh);
/* Run @cb(opaque) once on the loop thread; callable from any thread. */
void qemu_bh_schedule_oneshot(QEMUBHFunc *cb, void *opaque);

#endif /* QEMU_MAIN_LOOP_H */
