/*
 * Clocks and timers (see include/qemu/timer.h).
 *
 * Each clock keeps its pending timers in a singly linked list sorted by
 * (expire_time, seq).  The number of pending timers in this program is small
 * (device timers, migration), so a list beats a heap on constant factors
 * and keeps "first to fire" at the head, which is all the main loop asks.
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include "trace/trace-util.h"

#include <time.h>

typedef struct QEMUClock {
    /* Protects every field below and the list fields of its timers. */
    GMutex lock;
    /* Pending timers, sorted by (expire_time, seq). */
    QEMUTimer *active;
    /* Timers fire only while enabled; a host-driven VIRTUAL clock also stands still. */
    bool enabled;
    /* VIRTUAL only: moved by qemu_clock_step/qemu_clock_set_ns alone. */
    bool manual;
    /*
     * VIRTUAL only: the value while standing still (manual or disabled);
     * while running, the value at host time rt_base.
     */
    int64_t base_ns;
    int64_t rt_base;
    /* Arming counter: equal expiry times fire in arming order. */
    uint64_t next_seq;
} QEMUClock;

static QEMUClock qemu_clocks[QEMU_CLOCK_MAX];

static int64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

static QEMUClock *qemu_clock_get(QEMUClockType type)
{
    static gsize initialized;

    if (g_once_init_enter(&initialized)) {
        for (int i = 0; i < QEMU_CLOCK_MAX; i++) {
            g_mutex_init(&qemu_clocks[i].lock);
            qemu_clocks[i].enabled = true;
        }
        qemu_clocks[QEMU_CLOCK_VIRTUAL].rt_base = realtime_ns();
        g_once_init_leave(&initialized, 1);
    }
    assert(type >= 0 && type < QEMU_CLOCK_MAX);
    return &qemu_clocks[type];
}

/* Current value; clock->lock held (or REALTIME, which needs no state). */
static int64_t clock_now_locked(QEMUClock *clock)
{
    if (clock == &qemu_clocks[QEMU_CLOCK_REALTIME]) {
        return realtime_ns();
    }
    if (clock->manual || !clock->enabled) {
        return clock->base_ns;
    }
    return clock->base_ns + (realtime_ns() - clock->rt_base);
}

int64_t qemu_clock_get_ns(QEMUClockType type)
{
    QEMUClock *clock = qemu_clock_get(type);
    int64_t now;

    if (type == QEMU_CLOCK_REALTIME) {
        return realtime_ns();
    }
    g_mutex_lock(&clock->lock);
    now = clock_now_locked(clock);
    g_mutex_unlock(&clock->lock);
    return now;
}

void qemu_clock_enable(QEMUClockType type, bool enabled)
{
    QEMUClock *clock = qemu_clock_get(type);

    g_mutex_lock(&clock->lock);
    if (clock->enabled != enabled && type == QEMU_CLOCK_VIRTUAL && !clock->manual) {
        if (enabled) {
            clock->rt_base = realtime_ns();
        } else {
            clock->base_ns = clock_now_locked(clock);
        }
    }
    clock->enabled = enabled;
    g_mutex_unlock(&clock->lock);
    /* Timers that expired while disabled may fire now. */
    qemu_notify_event();
}

bool qemu_clock_set_manual(QEMUClockType type, bool manual)
{
    QEMUClock *clock = qemu_clock_get(type);

    if (type != QEMU_CLOCK_VIRTUAL) {
        return false;
    }
    g_mutex_lock(&clock->lock);
    if (clock->manual != manual) {
        if (manual) {
            clock->base_ns = clock_now_locked(clock);
        } else {
            clock->rt_base = realtime_ns();
        }
        clock->manual = manual;
    }
    g_mutex_unlock(&clock->lock);
    qemu_notify_event();
    return true;
}

bool qemu_clock_is_manual(QEMUClockType type)
{
    QEMUClock *clock = qemu_clock_get(type);
    bool manual;

    g_mutex_lock(&clock->lock);
    manual = clock->manual;
    g_mutex_unlock(&clock->lock);
    return manual;
}

/* Unlink @ts from its clock's list if pending; lock held. */
static void timer_unlink_locked(QEMUClock *clock, QEMUTimer *ts)
{
    QEMUTimer **p;

    if (ts->expire_time < 0) {
        return;
    }
    for (p = &clock->active; *p; p = &(*p)->next) {
        if (*p == ts) {
            *p = ts->next;
            break;
        }
    }
    ts->next = NULL;
    ts->expire_time = -1;
}

/*
 * Take the first timer of @clock if it expires at or before @limit; lock
 * held.  The timer comes back unlinked and not pending.
 */
static QEMUTimer *timer_pop_expired_locked(QEMUClock *clock, int64_t limit)
{
    QEMUTimer *ts = clock->active;

    if (!ts || ts->expire_time > limit) {
        return NULL;
    }
    clock->active = ts->next;
    ts->next = NULL;
    ts->expire_time = -1;
    return ts;
}

static void timer_fire(QEMUClockType type, QEMUTimer *ts, int64_t expire)
{
    QEMUTimerCB *cb = ts->cb;
    void *opaque = ts->opaque;

    /* @ts may be re-armed or freed by the callback: read it first. */
    trace_timer_fire(ts, type, expire);
    cb(opaque);
}

int64_t qemu_clock_step(QEMUClockType type, int64_t delta_ns)
{
    QEMUClock *clock = qemu_clock_get(type);
    int64_t now;

    if (delta_ns < 0) {
        return -EINVAL;
    }
    g_mutex_lock(&clock->lock);
    now = clock->base_ns;
    g_mutex_unlock(&clock->lock);
    if (delta_ns > INT64_MAX - now) {
        return -EINVAL;
    }
    return qemu_clock_set_ns(type, now + delta_ns);
}

int64_t qemu_clock_set_ns(QEMUClockType type, int64_t target)
{
    QEMUClock *clock = qemu_clock_get(type);
    int64_t from;

    g_mutex_lock(&clock->lock);
    if (!clock->manual || target < clock->base_ns) {
        g_mutex_unlock(&clock->lock);
        return -EINVAL;
    }
    from = clock->base_ns;
    /*
     * Walk the clock through each expiry on the way, so that a callback
     * reading the clock sees its own deadline and a timer it re-arms inside
     * the span fires at the right moment.
     */
    while (clock->enabled && clock->active && clock->active->expire_time <= target) {
        /* A timer armed in the past fires "now": never go backwards. */
        int64_t expire = MAX(clock->active->expire_time, clock->base_ns);
        QEMUTimer *ts = timer_pop_expired_locked(clock, target);

        clock->base_ns = expire;
        g_mutex_unlock(&clock->lock);
        timer_fire(type, ts, expire);
        g_mutex_lock(&clock->lock);
    }
    clock->base_ns = target;
    g_mutex_unlock(&clock->lock);
    trace_qemu_clock_step(type, from, target);
    return target;
}

int64_t qemu_clock_deadline_ns(QEMUClockType type)
{
    QEMUClock *clock = qemu_clock_get(type);
    int64_t deadline = -1;

    g_mutex_lock(&clock->lock);
    if (clock->active) {
        deadline = MAX(clock->active->expire_time - clock_now_locked(clock), 0);
    }
    g_mutex_unlock(&clock->lock);
    return deadline;
}

int64_t qemu_clock_deadline_ns_all(void)
{
    int64_t best = -1;

    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        QEMUClock *clock = qemu_clock_get(type);
        int64_t d = -1;
        bool counts;

        g_mutex_lock(&clock->lock);
        counts = clock->enabled;
        if (clock->active) {
            d = MAX(clock->active->expire_time - clock_now_locked(clock), 0);
        }
        /* A manual clock will not reach a future deadline by itself. */
        if (clock->manual && d > 0) {
            counts = false;
        }
        g_mutex_unlock(&clock->lock);
        if (counts && d >= 0 && (best < 0 || d < best)) {
            best = d;
        }
    }
    return best;
}

bool qemu_clock_run_timers(QEMUClockType type)
{
    QEMUClock *clock = qemu_clock_get(type);
    bool ran = false;

    for (;;) {
        QEMUTimer *ts;
        int64_t now;

        g_mutex_lock(&clock->lock);
        if (!clock->enabled) {
            g_mutex_unlock(&clock->lock);
            break;
        }
        now = clock_now_locked(clock);
        ts = timer_pop_expired_locked(clock, now);
        g_mutex_unlock(&clock->lock);
        if (!ts) {
            break;
        }
        timer_fire(type, ts, now);
        ran = true;
    }
    return ran;
}

bool qemu_clock_run_all_timers(void)
{
    bool ran = false;

    for (int type = 0; type < QEMU_CLOCK_MAX; type++) {
        ran |= qemu_clock_run_timers(type);
    }
    return ran;
}

void timer_init(QEMUTimer *ts, QEMUClockType type, int scale,
                QEMUTimerCB *cb, void *opaque)
{
    qemu_clock_get(type);   /* validates @type, initializes the clocks */
    *ts = (QEMUTimer) {
        .expire_time = -1,
        .type = type,
        .scale = scale,
        .cb = cb,
        .opaque = opaque,
    };
}

void timer_deinit(QEMUTimer *ts)
{
    timer_del(ts);
}

QEMUTimer *timer_new(QEMUClockType type, int scale, QEMUTimerCB *cb,
                     void *opaque)
{
    QEMUTimer *ts = g_new(QEMUTimer, 1);

    timer_init(ts, type, scale, cb, opaque);
    return ts;
}

void timer_free(QEMUTimer *ts)
{
    if (ts) {
        timer_del(ts);
        g_free(ts);
    }
}

/* Arm @ts at @expire_ns; with @only_earlier, keep an earlier pending expiry. */
static void timer_arm(QEMUTimer *ts, int64_t expire_ns, bool only_earlier)
{
    QEMUClock *clock = qemu_clock_get(ts->type);
    QEMUTimer **p;
    bool first;

    expire_ns = MAX(expire_ns, 0);
    g_mutex_lock(&clock->lock);
    if (only_earlier && ts->expire_time >= 0 && ts->expire_time <= expire_ns) {
        g_mutex_unlock(&clock->lock);
        return;
    }
    timer_unlink_locked(clock, ts);
    ts->expire_time = expire_ns;
    ts->seq = clock->next_seq++;
    for (p = &clock->active; *p && (*p)->expire_time <= expire_ns; p = &(*p)->next) {
        /* keep arming order among equal expiry times */
    }
    ts->next = *p;
    *p = ts;
    first = clock->active == ts;
    g_mutex_unlock(&clock->lock);
    /* A new earliest deadline: the main loop must recompute its timeout. */
    if (first) {
        qemu_notify_event();
    }
}

/* Timer units to ns, saturating instead of overflowing. */
static int64_t timer_scale_to_ns(const QEMUTimer *ts, int64_t t)
{
    if (t > INT64_MAX / ts->scale) {
        return INT64_MAX;
    }
    return t * ts->scale;
}

void timer_mod_ns(QEMUTimer *ts, int64_t expire_time_ns)
{
    timer_arm(ts, expire_time_ns, false);
}

void timer_mod(QEMUTimer *ts, int64_t expire_time)
{
    timer_arm(ts, timer_scale_to_ns(ts, expire_time), false);
}

void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time_ns)
{
    timer_arm(ts, expire_time_ns, true);
}

void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time)
{
    timer_arm(ts, timer_scale_to_ns(ts, expire_time), true);
}

void timer_del(QEMUTimer *ts)
{
    QEMUClock *clock = qemu_clock_get(ts->type);

    g_mutex_lock(&clock->lock);
    timer_unlink_locked(clock, ts);
    g_mutex_unlock(&clock->lock);
}

int64_t timer_expire_time_ns(QEMUTimer *ts)
{
    QEMUClock *clock = qemu_clock_get(ts->type);
    int64_t t;

    g_mutex_lock(&clock->lock);
    t = ts->expire_time;
    g_mutex_unlock(&clock->lock);
    return t;
}

bool timer_pending(QEMUTimer *ts)
{
    return timer_expire_time_ns(ts) >= 0;
}

bool timer_expired(QEMUTimer *ts, int64_t current_time)
{
    int64_t t = timer_expire_time_ns(ts);

    return t >= 0 && t <= timer_scale_to_ns(ts, current_time);
}
