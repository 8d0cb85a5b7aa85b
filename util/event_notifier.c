/*
 * Event notifiers on Linux eventfd (see include/qemu/event_notifier.h).
 */
#include "qemu/osdep.h"
#include "qemu/event_notifier.h"
#include "qemu/main-loop.h"

#include <sys/eventfd.h>

int event_notifier_init(EventNotifier *e, bool active)
{
    int fd = eventfd(active ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC);

    e->handler = NULL;
    if (fd < 0) {
        e->rfd = e->wfd = -1;
        e->initialized = false;
        return -errno;
    }
    e->rfd = e->wfd = fd;
    e->initialized = true;
    return 0;
}

void event_notifier_init_fd(EventNotifier *e, int fd)
{
    e->rfd = e->wfd = fd;
    e->initialized = true;
    e->handler = NULL;
}

void event_notifier_cleanup(EventNotifier *e)
{
    if (!e->initialized) {
        return;
    }
    /* A main-loop watch on a closed (and maybe reused) fd would misfire. */
    if (e->handler) {
        event_notifier_set_handler(e, NULL);
    }
    if (e->rfd != e->wfd) {
        close(e->rfd);
    }
    close(e->wfd);
    e->rfd = e->wfd = -1;
    e->initialized = false;
}

int event_notifier_get_fd(const EventNotifier *e)
{
    return e->rfd;
}

int event_notifier_get_wfd(const EventNotifier *e)
{
    return e->wfd;
}

int event_notifier_set(EventNotifier *e)
{
    uint64_t value = 1;
    ssize_t ret;

    if (!e->initialized) {
        return -EBADF;
    }
    do {
        ret = write(e->wfd, &value, sizeof(value));
    } while (ret < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, which is still "set". */
    if (ret < 0 && errno != EAGAIN) {
        return -errno;
    }
    return 0;
}

bool event_notifier_test_and_clear(EventNotifier *e)
{
    uint64_t value;
    ssize_t ret;

    if (!e->initialized) {
        return false;
    }
    do {
        ret = read(e->rfd, &value, sizeof(value));
    } while (ret < 0 && errno == EINTR);
    /* An eventfd read returns the whole counter and resets it, or EAGAIN. */
    return ret == sizeof(value) && value != 0;
}
