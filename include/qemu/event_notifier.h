/*
 * Event notifiers: a counter in the kernel (Linux eventfd) that one side
 * signals and the other polls, reads and resets.
 *
 * VFIO delivers device interrupts on these (VFIO_DEVICE_SET_IRQS takes
 * their fds), KVM takes them as irqfds, and the main loop watches them with
 * event_notifier_set_handler() (qemu/main-loop.h).  The fd is non-blocking
 * and close-on-exec.  Setting and clearing may happen from any thread.
 */
#ifndef QEMU_EVENT_NOTIFIER_H
#define QEMU_EVENT_NOTIFIER_H

typedef struct EventNotifier EventNotifier;

/* Called from the main loop when the notifier has been set. */
typedef void EventNotifierHandler(EventNotifier *e);

struct EventNotifier {
    int rfd;            /* fd to poll and read (the eventfd); -1 if none */
    int wfd;            /* fd to write; the same eventfd as rfd */
    bool initialized;   /* owns rfd/wfd: event_notifier_cleanup closes them */
    /*
     * Handler registered with event_notifier_set_handler(), or NULL.
     * Owned by the main loop code; read it, don't write it.
     */
    EventNotifierHandler *handler;
};

/*
 * Create the eventfd, set (counter 1) when @active.  Returns 0, or -errno
 * with @e left uninitialized (cleanup is then a no-op).
 */
int event_notifier_init(EventNotifier *e, bool active);

/*
 * Adopt an existing eventfd @fd (one handed over by another process, say).
 * @e takes ownership: event_notifier_cleanup closes it.
 */
void event_notifier_init_fd(EventNotifier *e, int fd);

/*
 * Remove the main-loop handler if any, then close the fd.  Safe on a
 * notifier that failed to initialize or was cleaned up already.
 */
void event_notifier_cleanup(EventNotifier *e);

/* The fd to poll (and to hand to VFIO_DEVICE_SET_IRQS / KVM_IRQFD). */
int event_notifier_get_fd(const EventNotifier *e);
/* The fd to write to signal the notifier. */
int event_notifier_get_wfd(const EventNotifier *e);

/*
 * Signal: add 1 to the counter.  Returns 0, or -errno.  A counter already
 * at its maximum counts as set (returns 0).
 */
int event_notifier_set(EventNotifier *e);

/* Reset the counter; return whether it was set. */
bool event_notifier_test_and_clear(EventNotifier *e);

#endif /* QEMU_EVENT_NOTIFIER_H */
