/*
 * Clocks and timers (qemu/timer.h), on a manual virtual clock and on real
 * time through the main loop.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"

typedef struct Fired {
    GArray *ids;            /* of int, in firing order */
    GArray *times;          /* of int64_t: the clock as the callback saw it */
} Fired;

typedef struct TestTimer {
    QEMUTimer *timer;
    Fired *fired;
    QEMUClockType type;
    int id;
    int64_t period_ns;      /* re-arm this far after the deadline, if > 0 */
    int remaining;          /* re-arms left */
    bool free_self;
} TestTimer;

static void timer_cb(void *opaque)
{
    TestTimer *t = opaque;
    int64_t now = qemu_clock_get_ns(t->type);

    g_array_append_val(t->fired->ids, t->id);
    g_array_append_val(t->fired->times, now);
    if (t->period_ns && t->remaining-- > 0) {
        timer_mod_ns(t->timer, now + t->period_ns);
    }
    if (t->free_self) {
        timer_free(t->timer);
        t->timer = NULL;
    }
}

static void fired_init(Fired *f)
{
    f->ids = g_array_new(false, false, sizeof(int));
    f->times = g_array_new(false, false, sizeof(int64_t));
}

static void fired_destroy(Fired *f)
{
    g_array_free(f->ids, true);
    g_array_free(f->times, true);
}

static void test_timer_init(TestTimer *t, Fired *f, QEMUClockType type, int id)
{
    *t = (TestTimer){ .fired = f, .type = type, .id = id };
    t->timer = timer_new_ns(type, timer_cb, t);
}

/* Manual virtual clock, fresh for each test. */
static void manual_virtual_clock(void)
{
    g_assert_true(qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, true));
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
}

static void test_virtual_timers_fire_in_order_on_step(void)
{
    Fired f;
    TestTimer t[4];
    int64_t start;

    manual_virtual_clock();
    fired_init(&f);
    start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    for (int i = 0; i < 4; i++) {
        test_timer_init(&t[i], &f, QEMU_CLOCK_VIRTUAL, i);
    }
    timer_mod_ns(t[0].timer, start + 300);
    timer_mod_ns(t[1].timer, start + 100);
    timer_mod_ns(t[2].timer, start + 200);
    timer_mod_ns(t[3].timer, start + 200);     /* same time: after t[2] */

    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_VIRTUAL, 99), ==, start + 99);
    g_assert_cmpuint(f.ids->len, ==, 0);
    g_assert_cmpint(qemu_clock_deadline_ns(QEMU_CLOCK_VIRTUAL), ==, 1);
    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_VIRTUAL, 201), ==, start + 300);
    g_assert_cmpuint(f.ids->len, ==, 4);
    g_assert_cmpint(g_array_index(f.ids, int, 0), ==, 1);
    g_assert_cmpint(g_array_index(f.ids, int, 1), ==, 2);
    g_assert_cmpint(g_array_index(f.ids, int, 2), ==, 3);
    g_assert_cmpint(g_array_index(f.ids, int, 3), ==, 0);
    /* Each callback saw the clock at its own deadline. */
    g_assert_cmpint(g_array_index(f.times, int64_t, 0), ==, start + 100);
    g_assert_cmpint(g_array_index(f.times, int64_t, 1), ==, start + 200);
    g_assert_cmpint(g_array_index(f.times, int64_t, 3), ==, start + 300);
    g_assert_cmpint(qemu_clock_deadline_ns(QEMU_CLOCK_VIRTUAL), ==, -1);
    for (int i = 0; i < 4; i++) {
        g_assert_false(timer_pending(t[i].timer));
        timer_free(t[i].timer);
    }
    fired_destroy(&f);
}

static void test_periodic_timer_fires_each_period_within_one_step(void)
{
    Fired f;
    TestTimer t;
    int64_t start;

    manual_virtual_clock();
    fired_init(&f);
    start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    test_timer_init(&t, &f, QEMU_CLOCK_VIRTUAL, 1);
    t.period_ns = 1000;
    t.remaining = 100;
    timer_mod_ns(t.timer, start + 1000);
    qemu_clock_step(QEMU_CLOCK_VIRTUAL, 10500);
    g_assert_cmpuint(f.ids->len, ==, 10);
    for (guint i = 0; i < f.times->len; i++) {
        g_assert_cmpint(g_array_index(f.times, int64_t, i), ==, start + 1000 * (i + 1));
    }
    g_assert_cmpint(timer_expire_time_ns(t.timer), ==, start + 11000);
    timer_free(t.timer);
    fired_destroy(&f);
}

static void test_deleted_and_moved_timers(void)
{
    Fired f;
    TestTimer a, b;
    int64_t start;

    manual_virtual_clock();
    fired_init(&f);
    start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    test_timer_init(&a, &f, QEMU_CLOCK_VIRTUAL, 1);
    test_timer_init(&b, &f, QEMU_CLOCK_VIRTUAL, 2);
    timer_mod_ns(a.timer, start + 10);
    timer_mod_ns(b.timer, start + 20);
    g_assert_true(timer_pending(a.timer));
    timer_del(a.timer);
    timer_del(a.timer);
    g_assert_false(timer_pending(a.timer));
    g_assert_cmpint(timer_expire_time_ns(a.timer), ==, -1);
    /* Re-arming moves the timer; anticipate only moves it earlier. */
    timer_mod_ns(b.timer, start + 50);
    timer_mod_anticipate_ns(b.timer, start + 70);
    g_assert_cmpint(timer_expire_time_ns(b.timer), ==, start + 50);
    timer_mod_anticipate_ns(b.timer, start + 40);
    g_assert_cmpint(timer_expire_time_ns(b.timer), ==, start + 40);
    g_assert_true(timer_expired(b.timer, start + 40));
    g_assert_false(timer_expired(b.timer, start + 39));
    qemu_clock_step(QEMU_CLOCK_VIRTUAL, 100);
    g_assert_cmpuint(f.ids->len, ==, 1);
    g_assert_cmpint(g_array_index(f.ids, int, 0), ==, 2);
    g_assert_cmpint(g_array_index(f.times, int64_t, 0), ==, start + 40);
    timer_free(a.timer);
    timer_free(b.timer);
    timer_free(NULL);
    fired_destroy(&f);
}

static void test_timer_can_free_itself(void)
{
    Fired f;
    TestTimer t;

    manual_virtual_clock();
    fired_init(&f);
    test_timer_init(&t, &f, QEMU_CLOCK_VIRTUAL, 1);
    t.free_self = true;
    timer_mod_ns(t.timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + 5);
    qemu_clock_step(QEMU_CLOCK_VIRTUAL, 5);
    g_assert_cmpuint(f.ids->len, ==, 1);
    g_assert_null(t.timer);
    fired_destroy(&f);
}

static void test_scales(void)
{
    Fired f;
    TestTimer t;
    QEMUTimer embedded;
    int64_t start;

    manual_virtual_clock();
    fired_init(&f);
    start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    t = (TestTimer){ .fired = &f, .type = QEMU_CLOCK_VIRTUAL, .id = 1 };
    t.timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, timer_cb, &t);
    timer_mod(t.timer, start / SCALE_MS + 2);
    g_assert_cmpint(timer_expire_time_ns(t.timer), ==, (start / SCALE_MS + 2) * SCALE_MS);
    timer_free(t.timer);

    timer_init_ns(&embedded, QEMU_CLOCK_VIRTUAL, timer_cb, &t);
    t.timer = &embedded;
    timer_mod(&embedded, start + 3);
    g_assert_cmpint(timer_expire_time_ns(&embedded), ==, start + 3);
    timer_deinit(&embedded);
    /* Far-future times in coarse units saturate instead of wrapping. */
    timer_init_ms(&embedded, QEMU_CLOCK_VIRTUAL, timer_cb, &t);
    timer_mod(&embedded, INT64_MAX / 2);
    g_assert_cmpint(timer_expire_time_ns(&embedded), ==, INT64_MAX);
    timer_deinit(&embedded);
    g_assert_false(timer_pending(&embedded));
    fired_destroy(&f);
}

static void test_step_refuses_bad_requests(void)
{
    int64_t now;

    manual_virtual_clock();
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_VIRTUAL, -1), ==, -EINVAL);
    g_assert_cmpint(qemu_clock_set_ns(QEMU_CLOCK_VIRTUAL, now - 1), ==, -EINVAL);
    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_VIRTUAL, INT64_MAX), ==, -EINVAL);
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL), ==, now);
    /* Real time cannot be stepped or made manual. */
    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_REALTIME, 10), ==, -EINVAL);
    g_assert_false(qemu_clock_set_manual(QEMU_CLOCK_REALTIME, true));
    g_assert_false(qemu_clock_is_manual(QEMU_CLOCK_REALTIME));
    g_assert_cmpint(qemu_clock_set_ns(QEMU_CLOCK_VIRTUAL, now + 1000), ==, now + 1000);
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL), ==, now + 1000);
}

static void test_manual_clock_stands_still(void)
{
    int64_t now;

    manual_virtual_clock();
    g_assert_true(qemu_clock_is_manual(QEMU_CLOCK_VIRTUAL));
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_usleep(2000);
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL), ==, now);
}

static void test_disabled_clock_fires_nothing(void)
{
    Fired f;
    TestTimer t;
    int64_t start;

    manual_virtual_clock();
    fired_init(&f);
    start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    test_timer_init(&t, &f, QEMU_CLOCK_VIRTUAL, 1);
    timer_mod_ns(t.timer, start + 10);
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, false);
    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_VIRTUAL, 100), ==, start + 100);
    while (main_loop_wait(true)) {
        /* drain */
    }
    g_assert_cmpuint(f.ids->len, ==, 0);
    /* Once enabled again, the expired timer fires from the main loop. */
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    g_assert_cmpint(qemu_clock_deadline_ns_all(), ==, 0);
    while (main_loop_wait(true)) {
        /* drain */
    }
    g_assert_cmpuint(f.ids->len, ==, 1);
    timer_free(t.timer);
    fired_destroy(&f);
}

static void test_expired_virtual_timer_fires_from_main_loop(void)
{
    Fired f;
    TestTimer t;

    manual_virtual_clock();
    fired_init(&f);
    test_timer_init(&t, &f, QEMU_CLOCK_VIRTUAL, 1);
    /* A future deadline on a manual clock never wakes the loop... */
    timer_mod_ns(t.timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + 1);
    g_assert_cmpint(qemu_clock_deadline_ns_all(), ==, -1);
    while (main_loop_wait(true)) {
        /* drain */
    }
    g_assert_cmpuint(f.ids->len, ==, 0);
    /* ...but one in the past fires on the next iteration. */
    timer_mod_ns(t.timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - 1);
    g_assert_true(main_loop_wait(true));
    g_assert_cmpuint(f.ids->len, ==, 1);
    timer_free(t.timer);
    fired_destroy(&f);
}

static void test_host_driven_virtual_clock_runs_and_freezes(void)
{
    int64_t a, b;

    g_assert_true(qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, false));
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    a = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_usleep(2000);
    b = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_assert_cmpint(b - a, >=, 2000 * SCALE_US);
    /* Stopped ("VM paused"): the value holds still. */
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, false);
    a = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_usleep(2000);
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL), ==, a);
    /* Restarted, it continues from where it stopped, not from host time. */
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    b = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_assert_cmpint(b - a, <, 1000 * SCALE_US);
    /* Switching to manual keeps the value. */
    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, true);
    a = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    g_assert_cmpint(a, >=, b);
    g_assert_cmpint(qemu_clock_step(QEMU_CLOCK_VIRTUAL, 5), ==, a + 5);
}

static void test_realtime_timers_fire_from_main_loop_in_order(void)
{
    Fired f;
    TestTimer t[3];
    int64_t start;

    fired_init(&f);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    for (int i = 0; i < 3; i++) {
        test_timer_init(&t[i], &f, QEMU_CLOCK_REALTIME, i);
    }
    timer_mod_ns(t[0].timer, start + 30 * SCALE_MS);
    timer_mod_ns(t[1].timer, start + 10 * SCALE_MS);
    timer_mod_ns(t[2].timer, start + 20 * SCALE_MS);
    g_assert_cmpint(qemu_clock_deadline_ns(QEMU_CLOCK_REALTIME), >, 0);
    while (f.ids->len < 3) {
        /* Blocks in poll until the next deadline: no busy loop needed. */
        main_loop_wait(false);
        g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start, <,
                        10 * NANOSECONDS_PER_SECOND);
    }
    for (int i = 0; i < 3; i++) {
        int64_t when = g_array_index(f.times, int64_t, i);

        g_assert_cmpint(g_array_index(f.ids, int, i), ==, (i + 1) % 3);
        /* Never early. */
        g_assert_cmpint(when, >=, start + (i + 1) * 10 * SCALE_MS);
        timer_free(t[i].timer);
    }
    fired_destroy(&f);
}

typedef struct ArmState {
    QEMUTimer *timer;
    bool fired;
} ArmState;

static void arm_cb(void *opaque)
{
    ((ArmState *)opaque)->fired = true;
}

static gpointer arm_thread(gpointer opaque)
{
    ArmState *s = opaque;

    g_usleep(20000);
    timer_mod_ns(s->timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + SCALE_MS);
    return NULL;
}

static void set_flag(void *opaque)
{
    *(bool *)opaque = true;
}

static void test_timer_armed_from_thread_wakes_loop(void)
{
    ArmState s = { 0 };
    QEMUTimer *guard;
    bool timed_out = false;
    GThread *th;

    s.timer = timer_new_ns(QEMU_CLOCK_REALTIME, arm_cb, &s);
    /* A far guard; the loop sleeps toward it until the thread arms. */
    guard = timer_new_ms(QEMU_CLOCK_REALTIME, set_flag, &timed_out);
    timer_mod(guard, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 10000);
    th = g_thread_new("arm", arm_thread, &s);
    while (!s.fired && !timed_out) {
        main_loop_wait(false);
    }
    g_thread_join(th);
    g_assert_false(timed_out);
    timer_free(guard);
    timer_free(s.timer);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/timer/virtual-timers-fire-in-order-on-step",
                    test_virtual_timers_fire_in_order_on_step);
    g_test_add_func("/util/timer/periodic-timer-fires-each-period-within-one-step",
                    test_periodic_timer_fires_each_period_within_one_step);
    g_test_add_func("/util/timer/deleted-and-moved-timers", test_deleted_and_moved_timers);
    g_test_add_func("/util/timer/timer-can-free-itself", test_timer_can_free_itself);
    g_test_add_func("/util/timer/scales", test_scales);
    g_test_add_func("/util/timer/step-refuses-bad-requests", test_step_refuses_bad_requests);
    g_test_add_func("/util/timer/manual-clock-stands-still", test_manual_clock_stands_still);
    g_test_add_func("/util/timer/disabled-clock-fires-nothing",
                    test_disabled_clock_fires_nothing);
    g_test_add_func("/util/timer/expired-virtual-timer-fires-from-main-loop",
                    test_expired_virtual_timer_fires_from_main_loop);
    g_test_add_func("/util/timer/host-driven-virtual-clock-runs-and-freezes",
                    test_host_driven_virtual_clock_runs_and_freezes);
    g_test_add_func("/util/timer/realtime-timers-fire-from-main-loop-in-order",
                    test_realtime_timers_fire_from_main_loop_in_order);
    g_test_add_func("/util/timer/armed-from-thread-wakes-loop",
                    test_timer_armed_from_thread_wakes_loop);
    return g_test_run();
}
