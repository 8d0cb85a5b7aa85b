/*
 * Helpers for tests that run the aperture binary and talk to it: spawn,
 * wait with a timeout, unix sockets, QMP lines.  Header-only so that each
 * test program stays one file plus this.
 *
 * The binary is APERTURE_BINARY (set by meson), or $QTEST_APERTURE_BINARY.
 */
#ifndef TEST_CMDLINE_H
#define TEST_CMDLINE_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>

/* Seconds a started binary may take for anything we wait for. */
#define TC_TIMEOUT_S 20

static inline const char *tc_binary(void)
{
    const char *env = g_getenv("QTEST_APERTURE_BINARY");

    return env ? env : APERTURE_BINARY;
}

/* Result of running the binary to completion. */
typedef struct TcRun {
    int status;         /* exit status, or 128 + signal */
    char *out;          /* stdout */
    char *err;          /* stderr */
} TcRun;

static inline void tc_run_free(TcRun *r)
{
    g_free(r->out);
    g_free(r->err);
}

/* Run the binary with the NULL-terminated @args (after argv[0]) and wait. */
static inline TcRun tc_run_argv(const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    TcRun r = { 0 };
    GError *gerr = NULL;
    int wstatus = 0;

    g_ptr_array_add(argv, (gpointer)tc_binary());
    for (; *args; args++) {
        g_ptr_array_add(argv, (gpointer)*args);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out,
                      &r.err, &wstatus, &gerr)) {
        g_error("cannot run %s: %s", tc_binary(), gerr->message);
    }
    g_ptr_array_free(argv, true);
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    return r;
}

/* Run with arguments split at spaces (no quoting). */
static inline TcRun tc_run(const char *args)
{
    gchar **v = g_strsplit(args, " ", -1);
    TcRun r = tc_run_argv((const char *const *)v);

    g_strfreev(v);
    return r;
}

/* Start the binary in the background with @args split at spaces. */
static inline GPid tc_spawn(const char *args)
{
    gchar **v = g_strsplit(args, " ", -1);
    GPtrArray *argv = g_ptr_array_new();
    GError *gerr = NULL;
    GPid pid;

    g_ptr_array_add(argv, (gpointer)tc_binary());
    for (gchar **p = v; *p; p++) {
        g_ptr_array_add(argv, *p);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                       NULL, &pid, &gerr)) {
        g_error("cannot start %s: %s", tc_binary(), gerr->message);
    }
    g_ptr_array_free(argv, true);
    g_strfreev(v);
    return pid;
}

/* Wait for @pid; its exit status (128 + signal), or -1 after the timeout (then it is killed). */
static inline int tc_wait(GPid pid)
{
    gint64 deadline = g_get_monotonic_time() + TC_TIMEOUT_S * G_USEC_PER_SEC;
    int wstatus;

    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);

        if (r == pid) {
            return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        }
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            return -1;
        }
        g_usleep(10 * 1000);
    }
}

/* Connect to the unix socket @path, retrying until the server is there. */
static inline int tc_connect(const char *path)
{
    gint64 deadline = g_get_monotonic_time() + TC_TIMEOUT_S * G_USEC_PER_SEC;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            return fd;
        }
        close(fd);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
}

/* A listening unix socket at @path (the binary connects as a client). */
static inline int tc_listen(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    unlink(path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

/* Accept on @lfd with the timeout. */
static inline int tc_accept(int lfd)
{
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    int fd;

    g_assert_cmpint(poll(&pfd, 1, TC_TIMEOUT_S * 1000), ==, 1);
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/* One line from @fd without "\r\n"; NULL at EOF.  Fails the test after the timeout. */
static inline char *tc_read_line(int fd)
{
    GString *s = g_string_new(NULL);

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char c;
        ssize_t n;

        g_assert_cmpint(poll(&pfd, 1, TC_TIMEOUT_S * 1000), ==, 1);
        n = read(fd, &c, 1);
        if (n <= 0) {
            if (s->len == 0) {
                g_string_free(s, true);
                return NULL;
            }
            break;
        }
        if (c == '\n') {
            break;
        }
        if (c != '\r') {
            g_string_append_c(s, c);
        }
    }
    return g_string_free(s, false);
}

static inline void tc_write(int fd, const char *s)
{
    size_t len = strlen(s);

    g_assert_cmpint(write(fd, s, len), ==, (ssize_t)len);
}

#endif /* TEST_CMDLINE_H */
