/*
 * vfio-sim: the sim thread — the device side of the simulated machine.
 *
 * Hardware works while the program does something else: a DMA completes a
 * millisecond after it was started, a DMA engine writes guest pages at its
 * own pace, an unmask eventfd is signalled by another thread.  One thread
 * does all of it: it sleeps in poll() on a wake-up eventfd and the watched
 * devices' unmask eventfds until the earliest timer is due, then handles
 * the signalled fds and the due timers with sim_lock held.  It starts on first use
 * and is stopped (joined) at exit, and after fork() the child starts its
 * own when it needs one.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>

static pthread_t sim_worker_thread;
static bool sim_worker_running;     /* thread started and not told to quit */
static bool sim_worker_quit;
static int sim_worker_wake_fd = -1; /* eventfd: timers changed or quit */
static GList *sim_timers;           /* SimTimer *, armed */
static GHashTable *sim_watched;     /* SimDevice * -> watch count */

int64_t sim_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sim_worker_kick(void)
{
    uint64_t one = 1;

    if (sim_worker_wake_fd >= 0 && sim_real.write(sim_worker_wake_fd, &one, 8) < 0) {
        sim_debug("worker wake: %s", strerror(errno));
    }
}

static int64_t sim_worker_timeout_ms(int64_t now)
{
    int64_t next = INT64_MAX;

    for (GList *l = sim_timers; l; l = l->next) {
        next = MIN(next, ((SimTimer *)l->data)->deadline_ns);
    }
    if (next == INT64_MAX) {
        return -1;
    }
    return next <= now ? 0 : MAX(1, (next - now + 999999) / 1000000);
}

static void sim_worker_run_timers(void)
{
    int64_t now = sim_clock_ns();
    bool again = true;

    /* A timer callback may arm or cancel timers: restart after each one. */
    while (again) {
        again = false;
        for (GList *l = sim_timers; l; l = l->next) {
            SimTimer *t = l->data;

            if (t->deadline_ns <= now) {
                sim_timers = g_list_delete_link(sim_timers, l);
                t->deadline_ns = -1;
                t->fn(t->opaque);
                again = true;
                break;
            }
        }
    }
}

static void *sim_worker_main(void *opaque)
{
    sim_thread_enter();
    pthread_mutex_lock(&sim_lock);
    while (!sim_worker_quit) {
        struct pollfd fds[1 + SIM_MAX_DEVICES];
        SimDevice *devs[1 + SIM_MAX_DEVICES];
        int nfds = 0;
        int64_t timeout = sim_worker_timeout_ms(sim_clock_ns());
        GHashTableIter it;
        gpointer key;

        fds[nfds].fd = sim_worker_wake_fd;
        fds[nfds++].events = POLLIN;
        if (sim_watched) {
            g_hash_table_iter_init(&it, sim_watched);
            while (g_hash_table_iter_next(&it, &key, NULL) && nfds < (int)G_N_ELEMENTS(fds)) {
                SimDevice *dev = key;

                if (dev->irq.intx_unmask_fd >= 0) {
                    devs[nfds] = dev;
                    fds[nfds].fd = dev->irq.intx_unmask_fd;
                    fds[nfds++].events = POLLIN;
                }
            }
        }
        pthread_mutex_unlock(&sim_lock);
        poll(fds, nfds, timeout > INT32_MAX ? INT32_MAX : (int)timeout);
        pthread_mutex_lock(&sim_lock);
        if (fds[0].revents & POLLIN) {
            uint64_t v;

            (void)!sim_real.read(sim_worker_wake_fd, &v, sizeof(v));
        }
        for (int i = 1; i < nfds && !sim_worker_quit; i++) {
            if ((fds[i].revents & POLLIN) && sim_watched &&
                g_hash_table_contains(sim_watched, devs[i])) {
                sim_irq_poll(devs[i]);
            }
        }
        if (sim_worker_quit) {
            break;
        }
        sim_worker_run_timers();
    }
    pthread_mutex_unlock(&sim_lock);
    sim_thread_leave();
    return NULL;
}

/* Locked.  Start the thread if it is not running. */
static void sim_worker_ensure(void)
{
    sigset_t all, old;

    if (sim_worker_running) {
        return;
    }
    if (sim_worker_wake_fd < 0) {
        sim_worker_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (sim_worker_wake_fd < 0) {
            sim_debug("no worker wake-up fd: %s", strerror(errno));
            return;
        }
    }
    sim_worker_quit = false;
    /* The sim thread takes no signals: they belong to the program. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&sim_worker_thread, NULL, sim_worker_main, NULL) == 0) {
        sim_worker_running = true;
    } else {
        sim_debug("cannot start the sim thread");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void sim_timer_init(SimTimer *t, SimTimerFn *fn, void *opaque)
{
    t->fn = fn;
    t->opaque = opaque;
    t->deadline_ns = -1;
}

void sim_timer_mod_ns(SimTimer *t, int64_t delay_ns)
{
    if (t->deadline_ns < 0) {
        sim_timers = g_list_prepend(sim_timers, t);
    }
    t->deadline_ns = sim_clock_ns() + MAX(delay_ns, 0);
    sim_worker_ensure();
    sim_worker_kick();
}

void sim_timer_del(SimTimer *t)
{
    if (t->deadline_ns >= 0) {
        sim_timers = g_list_remove(sim_timers, t);
        t->deadline_ns = -1;
    }
}

void sim_timer_keep_ticking(SimTimer *t, bool active, int64_t period_ns)
{
    if (!active) {
        sim_timer_del(t);
    } else if (t->deadline_ns < 0) {
        sim_timer_mod_ns(t, period_ns);
    }
}

void sim_worker_watch(SimDevice *dev, bool watch)
{
    int n;

    if (!sim_watched) {
        sim_watched = g_hash_table_new(NULL, NULL);
    }
    n = GPOINTER_TO_INT(g_hash_table_lookup(sim_watched, dev)) + (watch ? 1 : -1);
    if (n > 0) {
        g_hash_table_insert(sim_watched, dev, GINT_TO_POINTER(n));
        sim_worker_ensure();
    } else {
        g_hash_table_remove(sim_watched, dev);
    }
    sim_worker_kick();
}

/* Locked: forget every timer and watched device (the world is replaced). */
void sim_worker_reset(void)
{
    for (GList *l = sim_timers; l; l = l->next) {
        ((SimTimer *)l->data)->deadline_ns = -1;
    }
    g_list_free(sim_timers);
    sim_timers = NULL;
    g_clear_pointer(&sim_watched, g_hash_table_destroy);
    sim_worker_kick();
}

/* Not locked: joins the thread, which needs the lock to finish. */
void sim_worker_stop(void)
{
    bool join;

    pthread_mutex_lock(&sim_lock);
    join = sim_worker_running;
    sim_worker_quit = true;
    sim_worker_reset();
    sim_worker_running = false;
    pthread_mutex_unlock(&sim_lock);
    if (join && !pthread_equal(pthread_self(), sim_worker_thread)) {
        pthread_join(sim_worker_thread, NULL);
    }
}

void sim_worker_after_fork(void)
{
    /* The thread did not come along, and the wake-up fd is the parent's. */
    sim_worker_running = false;
    if (sim_worker_wake_fd >= 0) {
        sim_real.close(sim_worker_wake_fd);
        sim_worker_wake_fd = -1;
    }
    if (sim_timers || (sim_watched && g_hash_table_size(sim_watched))) {
        sim_worker_ensure();
    }
}
