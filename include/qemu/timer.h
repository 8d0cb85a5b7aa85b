/*
 * Clocks and timers.
 *
 * Clocks (all in nanoseconds, all monotonic):
 *   QEMU_CLOCK_REALTIME  host monotonic time; always runs.
 *   QEMU_CLOCK_VIRTUAL   guest time.  Two modes:
 *     - host-driven (default): runs with host time while enabled, stands
 *       still while disabled (qemu_clock_enable(QEMU_CLOCK_VIRTUAL, false)
 *       is what "VM stopped" means for it).  Starts at 0 when the timer
 *       code is first used.
 *     - manual (qemu_clock_set_manual): only qemu_clock_step() and
 *       qemu_clock_set_ns() move it -- the qtest `clock_step` model, where a
 *       test decides when guest time passes.
 *
 * Timers fire on the main loop thread (qemu/main-loop.h) once their clock
 * reaches the expiry time, earliest first (ties in arming order).  A manual
 * clock's timers fire inside qemu_clock_step()/qemu_clock_set_ns(), in
 * order, each seeing the clock at its own expiry time; a timer already
 * expired when armed fires on the next main-loop iteration.
 *
 * Threads: timer_mod, timer_del, timer_pending and qemu_clock_get_ns may be
 * called from any thread (arming from another thread wakes the main loop).
 * Callbacks run on the main loop thread, or on the thread stepping a manual
 * clock, which should be the main loop thread too.  A callback may re-arm,
 * delete or free its own timer; deleting a timer from another thread while
 * its callback runs does not wait for the callback.
 */
#ifndef QEMU_TIMER_H
#define QEMU_TIMER_H

#define SCALE_MS 1000000
#define SCALE_US 1000
#define SCALE_NS 1

#define NANOSECONDS_PER_SECOND 1000000000LL

typedef enum QEMUClockType {
    QEMU_CLOCK_REALTIME = 0,
    QEMU_CLOCK_VIRTUAL = 1,
    QEMU_CLOCK_MAX
} QEMUClockType;

typedef void QEMUTimerCB(void *opaque);

typedef struct QEMUTimer QEMUTimer;

/*
 * A timer.  Allocate with timer_new_*() or embed and timer_init_*(); the
 * fields are private to qemu-timer.c (protected by the clock's lock).
 */
struct QEMUTimer {
    int64_t expire_time;        /* ns on its clock; -1 while not pending */
    QEMUClockType type;         /* which clock */
    int scale;                  /* ns per unit of timer_mod's argument */
    QEMUTimerCB *cb;            /* called when it fires */
    void *opaque;               /* passed to cb */
    uint64_t seq;               /* arming order, breaks ties in expire_time */
    QEMUTimer *next;            /* next pending timer on the clock, or NULL */
};

/* Current value of @type's clock. */
int64_t qemu_clock_get_ns(QEMUClockType type);

static inline int64_t qemu_clock_get_us(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_US;
}

static inline int64_t qemu_clock_get_ms(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_MS;
}

/*
 * Stop (enabled = false) or restart a clock's timers.  A disabled clock's
 * timers do not fire, and a host-driven VIRTUAL clock stands still while
 * disabled.  Clocks start enabled.
 */
void qemu_clock_enable(QEMUClockType type, bool enabled);

/*
 * Put QEMU_CLOCK_VIRTUAL in manual mode (or back in host-driven mode,
 * continuing from its current value).  Returns false, changing nothing, for
 * any other clock: real time cannot be stepped.
 */
bool qemu_clock_set_manual(QEMUClockType type, bool manual);
bool qemu_clock_is_manual(QEMUClockType type);

/*
 * Advance a manual clock by @delta_ns (>= 0), or to @ns (>= its current
 * value), firing the timers that expire on the way in order; a timer
 * re-armed by its callback within the span fires again.  Returns the new
 * value of the clock, or -EINVAL (nothing changed) when the clock is not
 * manual, the argument goes backwards, or the value would overflow.
 */
int64_t qemu_clock_step(QEMUClockType type, int64_t delta_ns);
int64_t qemu_clock_set_ns(QEMUClockType type, int64_t ns);

/*
 * Nanoseconds until the first pending timer of @type expires (0 if one has
 * expired already), or -1 if none is pending.  Ignores whether the clock is
 * enabled.  For a manual clock this is how far to step to reach the next
 * timer.
 */
int64_t qemu_clock_deadline_ns(QEMUClockType type);

/*
 * Nanoseconds until the main loop has a timer to run: the minimum over the
 * enabled clocks of qemu_clock_deadline_ns, where a manual clock counts
 * only when a timer has already expired (it will not advance by itself).
 * -1 for none.
 */
int64_t qemu_clock_deadline_ns_all(void);

/*
 * Fire the expired timers of @type (if enabled), or of every clock.
 * Returns whether any timer fired.  Called by the main loop.
 */
bool qemu_clock_run_timers(QEMUClockType type);
bool qemu_clock_run_all_timers(void);

/* Initialize an embedded timer (not pending).  @scale is SCALE_NS/US/MS. */
void timer_init(QEMUTimer *ts, QEMUClockType type, int scale,
                QEMUTimerCB *cb, void *opaque);

static inline void timer_init_ns(QEMUTimer *ts, QEMUClockType type,
                                 QEMUTimerCB *cb, void *opaque)
{
    timer_init(ts, type, SCALE_NS, cb, opaque);
}

static inline void timer_init_ms(QEMUTimer *ts, QEMUClockType type,
                                 QEMUTimerCB *cb, void *opaque)
{
    timer_init(ts, type, SCALE_MS, cb, opaque);
}

/* Disarm an embedded timer before its memory goes away. */
void timer_deinit(QEMUTimer *ts);

/* A new timer (not pending); free with timer_free. */
QEMUTimer *timer_new(QEMUClockType type, int scale, QEMUTimerCB *cb,
                     void *opaque);

static inline QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_NS, cb, opaque);
}

static inline QEMUTimer *timer_new_us(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_US, cb, opaque);
}

static inline QEMUTimer *timer_new_ms(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_MS, cb, opaque);
}

/* Disarm and free; NULL is fine.  May be called from the timer's callback. */
void timer_free(QEMUTimer *ts);

/*
 * Arm (or re-arm) @ts to fire when its clock reaches @expire_time, in the
 * timer's scale (ns for timer_mod_ns).  A time in the past fires on the next
 * main-loop iteration (or the next step of a manual clock).  Negative
 * times are treated as 0.
 */
void timer_mod(QEMUTimer *ts, int64_t expire_time);
void timer_mod_ns(QEMUTimer *ts, int64_t expire_time_ns);
/* As timer_mod, but only if that is earlier than the pending expiry. */
void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time);
void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time_ns);

/* Disarm; no effect on a timer that is not pending. */
void timer_del(QEMUTimer *ts);

bool timer_pending(QEMUTimer *ts);
/* Whether @ts is pending and expires at or before @current_time (its scale). */
bool timer_expired(QEMUTimer *ts, int64_t current_time);
/* The pending expiry in ns, or -1 if not pending. */
int64_t timer_expire_time_ns(QEMUTimer *ts);

#endif /* QEMU_TIMER_H */
