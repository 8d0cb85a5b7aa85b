/*
 * Event notifiers (qemu/event_notifier.h).
 */
#include "qemu/osdep.h"
#include "qemu/event_notifier.h"

#include <sys/eventfd.h>

static void test_init_inactive_is_clear(void)
{
    EventNotifier e;

    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

static void test_init_active_is_set(void)
{
    EventNotifier e;

    g_assert_cmpint(event_notifier_init(&e, true), ==, 0);
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

static void test_sets_coalesce_until_cleared(void)
{
    EventNotifier e;

    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(event_notifier_set(&e), ==, 0);
    }
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

static void test_fd_is_nonblocking_cloexec(void)
{
    EventNotifier e;
    int fd;

    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    fd = event_notifier_get_fd(&e);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(event_notifier_get_wfd(&e), ==, fd);
    g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    event_notifier_cleanup(&e);
}

static void test_cleanup_closes_and_is_idempotent(void)
{
    EventNotifier e;
    int fd;

    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    fd = event_notifier_get_fd(&e);
    event_notifier_cleanup(&e);
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    g_assert_cmpint(errno, ==, EBADF);
    g_assert_cmpint(event_notifier_get_fd(&e), ==, -1);
    event_notifier_cleanup(&e);
    /* Using a cleaned-up notifier is an error code, not a crash. */
    g_assert_cmpint(event_notifier_set(&e), ==, -EBADF);
    g_assert_false(event_notifier_test_and_clear(&e));
}

static void test_init_fd_adopts_eventfd(void)
{
    EventNotifier e;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t one = 1;

    g_assert_cmpint(fd, >=, 0);
    event_notifier_init_fd(&e, fd);
    g_assert_cmpint(event_notifier_get_fd(&e), ==, fd);
    /* Someone else (a device, the kernel) signals through the same fd. */
    g_assert_cmpint(write(fd, &one, sizeof(one)), ==, sizeof(one));
    g_assert_true(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
}

static gpointer setter_thread(gpointer opaque)
{
    EventNotifier *e = opaque;

    for (int i = 0; i < 1000; i++) {
        g_assert_cmpint(event_notifier_set(e), ==, 0);
    }
    return NULL;
}

static void test_set_from_another_thread(void)
{
    EventNotifier e;
    GThread *t;

    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    t = g_thread_new("setter", setter_thread, &e);
    g_thread_join(t);
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/event-notifier/init-inactive-is-clear",
                    test_init_inactive_is_clear);
    g_test_add_func("/util/event-notifier/init-active-is-set", test_init_active_is_set);
    g_test_add_func("/util/event-notifier/sets-coalesce-until-cleared",
                    test_sets_coalesce_until_cleared);
    g_test_add_func("/util/event-notifier/fd-is-nonblocking-cloexec",
                    test_fd_is_nonblocking_cloexec);
    g_test_add_func("/util/event-notifier/cleanup-closes-and-is-idempotent",
                    test_cleanup_closes_and_is_idempotent);
    g_test_add_func("/util/event-notifier/init-fd-adopts-eventfd",
                    test_init_fd_adopts_eventfd);
    g_test_add_func("/util/event-notifier/set-from-another-thread",
                    test_set_from_another_thread);
    return g_test_run();
}
