/*
 * libqtest: drive an Aperture (or QEMU) process through the qtest protocol.
 *
 * The design follows QEMU's tests/qtest/libqtest.c in what it does on the
 * wire (the binary connects to sockets the test listens on; replies are
 * "OK ..." lines, interrupts arrive as asynchronous "IRQ" lines); the code
 * is Aperture's own.
 *
 * Failure handling: every protocol error fails the test through
 * qtest_fatal(), which prints what was expected and what arrived, kills the
 * child and aborts.  A SIGABRT hook (for g_assert in the test itself) and
 * PR_SET_PDEATHSIG (for a test that dies any other way) make sure no binary
 * outlives its test.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libqtest.h"

#ifndef QTEST_DEFAULT_BINARY
#define QTEST_DEFAULT_BINARY "aperture"
#endif

/* How long qtest_quit waits after SIGTERM before SIGKILL, in seconds. */
#define QTEST_TERM_GRACE_S 30

struct QTestState {
    pid_t pid;              /* the child, or -1 once reaped */
    int wstatus;            /* its wait status once reaped */
    int expected_status;    /* exit status qtest_quit accepts */
    bool sent_sigterm;      /* qtest_quit signalled it: SIGTERM death is fine */
    int qtest_rfd;          /* qtest replies come from here */
    int qtest_wfd;          /* qtest commands go here (== rfd for sockets) */
    int qmp_fd;             /* QMP socket, or -1 (stdio mode) */
    GString *rx;            /* bytes read from the qtest channel, not yet a line */
    GString *qmp_rx;        /* bytes read from QMP, not yet a whole object */
    GQueue events;          /* JsonObject *: QMP events not yet consumed */
    bool big_endian;        /* from "endianness" */
    bool irq_level[QTEST_MAX_IRQ];  /* last IRQ raise/lower per line */
    char *tmpdir;           /* private directory of the sockets, removed on quit */
};

/* Every live state, so that the SIGABRT hook can kill the children. */
static GList *live_states;
static struct sigaction old_sigabrt;
static bool sigabrt_installed;

static int qtest_timeout_s(void)
{
    const char *env = g_getenv("QTEST_TIMEOUT");
    int v = env ? atoi(env) : 0;

    return v > 0 ? v : 120;
}

static void kill_children_on_abort(int signo)
{
    for (GList *l = live_states; l; l = l->next) {
        QTestState *s = l->data;

        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
        }
    }
    sigaction(SIGABRT, &old_sigabrt, NULL);
    raise(signo);
}

static void register_state(QTestState *s)
{
    if (!sigabrt_installed) {
        struct sigaction sa = { .sa_handler = kill_children_on_abort };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGABRT, &sa, &old_sigabrt);
        sigabrt_installed = true;
    }
    live_states = g_list_prepend(live_states, s);
}

static void unregister_state(QTestState *s)
{
    live_states = g_list_remove(live_states, s);
}

/* Fail the test: message, kill the child, abort (so the test shows as failed). */
static void G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN qtest_fatal(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "libqtest: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (s && s->pid > 0) {
        kill(s->pid, SIGKILL);
    }
    abort();
}

const char *qtest_binary(void)
{
    const char *env = g_getenv("QTEST_APERTURE_BINARY");

    return env && *env ? env : QTEST_DEFAULT_BINARY;
}

int qtest_pid(QTestState *s)
{
    return s->pid;
}

static char *describe_status(int wstatus)
{
    if (WIFEXITED(wstatus)) {
        return g_strdup_printf("exit status %d", WEXITSTATUS(wstatus));
    }
    if (WIFSIGNALED(wstatus)) {
        return g_strdup_printf("signal %d (%s)%s", WTERMSIG(wstatus),
                               strsignal(WTERMSIG(wstatus)),
                               WCOREDUMP(wstatus) ? ", core dumped" : "");
    }
    return g_strdup_printf("wait status 0x%x", wstatus);
}

bool qtest_probe_child(QTestState *s)
{
    pid_t r;

    if (s->pid <= 0) {
        return false;
    }
    do {
        r = waitpid(s->pid, &s->wstatus, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        return true;
    }
    s->pid = -1;
    return false;
}

/* Fail with the child's fate if it is gone; @what says what we were doing. */
static void check_alive(QTestState *s, const char *what)
{
    if (!qtest_probe_child(s)) {
        g_autofree char *st = describe_status(s->wstatus);

        qtest_fatal(s, "%s died while %s: %s", qtest_binary(), what, st);
    }
}

/* ------------------------------------------------------------------------ */
/* Spawning */

static int listen_unix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        qtest_fatal(NULL, "socket path too long: %s", path);
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        qtest_fatal(NULL, "socket: %s", strerror(errno));
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
        qtest_fatal(NULL, "listening on %s: %s", path, strerror(errno));
    }
    return fd;
}

/* Accept one connection on @lfd, giving up when the child dies or time runs out. */
static int accept_child(QTestState *s, int lfd, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + qtest_timeout_s() * G_TIME_SPAN_SECOND;

    for (;;) {
        struct pollfd pfd = { .fd = lfd, .events = POLLIN };
        int r = poll(&pfd, 1, 100);

        if (r > 0) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            if (fd >= 0) {
                return fd;
            }
            if (errno != EINTR && errno != EAGAIN) {
                qtest_fatal(s, "accept (%s): %s", what, strerror(errno));
            }
        } else if (r < 0 && errno != EINTR) {
            qtest_fatal(s, "poll (%s): %s", what, strerror(errno));
        }
        check_alive(s, what);
        if (g_get_monotonic_time() > deadline) {
            qtest_fatal(s, "%s did not connect the %s socket within %d s", qtest_binary(),
                        what, qtest_timeout_s());
        }
    }
}

/* argv = binary [-trace T] @pre... @extra_args... @post... */
static char **build_argv(const char *const *pre, const char *extra_args,
                         const char *const *post)
{
    GPtrArray *argv = g_ptr_array_new();
    const char *trace = g_getenv("QTEST_TRACE");

    g_ptr_array_add(argv, g_strdup(qtest_binary()));
    if (trace && *trace) {
        g_ptr_array_add(argv, g_strdup("-trace"));
        g_ptr_array_add(argv, g_strdup(trace));
    }
    for (; pre && *pre; pre++) {
        g_ptr_array_add(argv, g_strdup(*pre));
    }
    if (extra_args && *extra_args) {
        g_autoptr(GError) err = NULL;
        char **words = NULL;
        int n = 0;

        if (!g_shell_parse_argv(extra_args, &n, &words, &err)) {
            /* An all-blank string is "no arguments", anything else a bug. */
            if (!g_error_matches(err, G_SHELL_ERROR, G_SHELL_ERROR_EMPTY_STRING)) {
                qtest_fatal(NULL, "cannot parse arguments \"%s\": %s", extra_args,
                            err->message);
            }
        }
        for (int i = 0; i < n; i++) {
            g_ptr_array_add(argv, words[i]);
        }
        g_free(words);
    }
    for (; post && *post; post++) {
        g_ptr_array_add(argv, g_strdup(*post));
    }
    g_ptr_array_add(argv, NULL);
    return (char **)g_ptr_array_free(argv, false);
}

/*
 * Fork and exec @argv; in the child, @stdin_fd/@stdout_fd (if >= 0) become
 * fds 0 and 1.
 */
static pid_t spawn(char **argv, int stdin_fd, int stdout_fd)
{
    g_autofree char *cmd = g_strjoinv(" ", argv);
    pid_t pid;

    g_test_message("starting: %s", cmd);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        qtest_fatal(NULL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* No binary may outlive a test that crashed without our hooks. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (stdin_fd >= 0 && dup2(stdin_fd, 0) < 0) {
            _exit(127);
        }
        if (stdout_fd >= 0 && dup2(stdout_fd, 1) < 0) {
            _exit(127);
        }
        signal(SIGABRT, SIG_DFL);
        execv(argv[0], argv);
        fprintf(stderr, "libqtest: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static QTestState *state_new(void)
{
    QTestState *s = g_new0(QTestState, 1);

    s->pid = -1;
    s->qtest_rfd = s->qtest_wfd = s->qmp_fd = -1;
    s->rx = g_string_new(NULL);
    s->qmp_rx = g_string_new(NULL);
    g_queue_init(&s->events);
    return s;
}

static bool query_big_endian(QTestState *s);

QTestState *qtest_init_without_qmp_handshake(const char *extra_args)
{
    QTestState *s = state_new();
    g_autofree char *qtest_path = NULL;
    g_autofree char *qmp_path = NULL;
    g_autofree char *qtest_arg = NULL;
    g_autofree char *chardev_arg = NULL;
    char **argv;
    int qtest_lfd, qmp_lfd;

    s->tmpdir = g_dir_make_tmp("aperture-qtest-XXXXXX", NULL);
    if (!s->tmpdir) {
        qtest_fatal(NULL, "cannot create a temporary directory");
    }
    qtest_path = g_build_filename(s->tmpdir, "qtest.sock", NULL);
    qmp_path = g_build_filename(s->tmpdir, "qmp.sock", NULL);
    qtest_lfd = listen_unix(qtest_path);
    qmp_lfd = listen_unix(qmp_path);

    qtest_arg = g_strdup_printf("unix:%s", qtest_path);
    chardev_arg = g_strdup_printf("socket,path=%s,id=char0", qmp_path);
    {
        const char *pre[] = {
            "-qtest", qtest_arg,
            "-qtest-log", g_getenv("QTEST_LOG") ? "/dev/fd/2" : "/dev/null",
            "-chardev", chardev_arg,
            "-mon", "chardev=char0,mode=control",
            "-display", "none",
            NULL
        };
        const char *post[] = { "-accel", "qtest", NULL };

        argv = build_argv(pre, extra_args, post);
    }
    register_state(s);
    s->pid = spawn(argv, -1, -1);
    g_strfreev(argv);

    s->qtest_rfd = s->qtest_wfd = accept_child(s, qtest_lfd, "qtest");
    s->qmp_fd = accept_child(s, qmp_lfd, "QMP");
    close(qtest_lfd);
    close(qmp_lfd);
    unlink(qtest_path);
    unlink(qmp_path);

    s->big_endian = query_big_endian(s);
    return s;
}

QTestState *qtest_init(const char *extra_args)
{
    QTestState *s = qtest_init_without_qmp_handshake(extra_args);
    JsonObject *greeting = qtest_qmp_receive_dict(s);

    if (!json_object_has_member(greeting, "QMP")) {
        g_autofree char *txt = qtest_json_to_string(greeting);

        qtest_fatal(s, "expected the QMP greeting, got %s", txt);
    }
    json_object_unref(greeting);
    qtest_qmp_assert_success(s, "{'execute': 'qmp_capabilities'}");
    return s;
}

QTestState *qtest_initf(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_init(args);
}

QTestState *qtest_initf_env(const char *const *env, const char *fmt, ...)
{
    g_autoptr(GPtrArray) saved = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *args = NULL;
    QTestState *s;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* The child inherits our environment at spawn: set, spawn, put back. */
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        g_autofree char *name = eq ? g_strndup(env[i], eq - env[i]) : g_strdup(env[i]);

        g_ptr_array_add(saved, g_strdup(name));
        g_ptr_array_add(saved, g_strdup(g_getenv(name)));
        if (eq) {
            g_setenv(name, eq + 1, true);
        } else {
            g_unsetenv(name);
        }
    }
    s = qtest_init(args);
    for (guint i = 0; i < saved->len; i += 2) {
        const char *value = g_ptr_array_index(saved, i + 1);

        if (value) {
            g_setenv(g_ptr_array_index(saved, i), value, true);
        } else {
            g_unsetenv(g_ptr_array_index(saved, i));
        }
    }
    return s;
}

QTestState *qtest_init_stdio(const char *extra_args)
{
    QTestState *s = state_new();
    const char *pre[] = {
        "-qtest", "stdio",
        "-qtest-log", g_getenv("QTEST_LOG") ? "/dev/fd/2" : "/dev/null",
        "-display", "none",
        NULL
    };
    const char *post[] = { "-accel", "qtest", NULL };
    char **argv = build_argv(pre, extra_args, post);
    int to_child[2], from_child[2];

    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0) {
        qtest_fatal(NULL, "pipe: %s", strerror(errno));
    }
    register_state(s);
    s->pid = spawn(argv, to_child[0], from_child[1]);
    g_strfreev(argv);
    close(to_child[0]);
    close(from_child[1]);
    s->qtest_wfd = to_child[1];
    s->qtest_rfd = from_child[0];
    s->big_endian = query_big_endian(s);
    return s;
}

void qtest_set_expected_status(QTestState *s, int status)
{
    s->expected_status = status;
}

/* Wait for the child until @deadline_s seconds from now; false on timeout. */
static bool wait_child(QTestState *s, int deadline_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)deadline_s * G_TIME_SPAN_SECOND;

    while (qtest_probe_child(s)) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(10 * 1000);
    }
    return true;
}

int qtest_wait_exit(QTestState *s)
{
    if (!wait_child(s, qtest_timeout_s())) {
        qtest_fatal(s, "%s did not exit within %d s", qtest_binary(), qtest_timeout_s());
    }
    return s->wstatus;
}

static void check_status(QTestState *s)
{
    int st = s->wstatus;

    if (WIFEXITED(st) && WEXITSTATUS(st) == s->expected_status) {
        return;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM && s->sent_sigterm) {
        return;
    }
    {
        g_autofree char *got = describe_status(st);

        qtest_fatal(NULL, "%s ended with %s, expected exit status %d", qtest_binary(), got,
                    s->expected_status);
    }
}

void qtest_quit(QTestState *s)
{
    if (!s) {
        return;
    }
    if (qtest_probe_child(s)) {
        kill(s->pid, SIGTERM);
        s->sent_sigterm = true;
        if (!wait_child(s, QTEST_TERM_GRACE_S)) {
            kill(s->pid, SIGKILL);
            while (waitpid(s->pid, &s->wstatus, 0) < 0 && errno == EINTR) {
            }
            s->pid = -1;
            qtest_fatal(NULL, "%s ignored SIGTERM for %d s", qtest_binary(),
                        QTEST_TERM_GRACE_S);
        }
    }
    unregister_state(s);
    if (s->qtest_rfd >= 0) {
        close(s->qtest_rfd);
    }
    if (s->qtest_wfd >= 0 && s->qtest_wfd != s->qtest_rfd) {
        close(s->qtest_wfd);
    }
    if (s->qmp_fd >= 0) {
        close(s->qmp_fd);
    }
    if (s->tmpdir) {
        rmdir(s->tmpdir);
        g_free(s->tmpdir);
    }
    g_string_free(s->rx, true);
    g_string_free(s->qmp_rx, true);
    g_queue_clear_full(&s->events, (GDestroyNotify)json_object_unref);
    check_status(s);
    g_free(s);
}

int qtest_run_binary(const char *args, char **out, char **err)
{
    char **argv = build_argv(NULL, args, NULL);
    g_autoptr(GError) gerr = NULL;
    int wstatus = 0;

    g_test_message("running: %s %s", argv[0], args ? args : "");
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &wstatus,
                      &gerr)) {
        qtest_fatal(NULL, "cannot run %s: %s", argv[0], gerr->message);
    }
    g_strfreev(argv);
    return wstatus;
}

/* ------------------------------------------------------------------------ */
/* Line I/O */

static void write_all(QTestState *s, int fd, const void *buf, size_t len, const char *what)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            check_alive(s, what);
            qtest_fatal(s, "writing to the %s channel: %s", what,
                        n < 0 ? strerror(errno) : "short write");
        }
        p += n;
        len -= n;
    }
}

void qtest_send_raw(QTestState *s, const void *buf, size_t len)
{
    write_all(s, s->qtest_wfd, buf, len, "qtest");
}

void qtest_sendf(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *str = NULL;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send_raw(s, str, strlen(str));
}

/* Append what @fd has to @buf, waiting at most the timeout. */
static void read_more(QTestState *s, int fd, GString *buf, const char *what)
{
    char chunk[4096];
    int timeout_ms = qtest_timeout_s() * 1000;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = poll(&pfd, 1, timeout_ms);
        ssize_t n;

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            qtest_fatal(s, "no %s reply from %s within %d s (pending: \"%s\")", what,
                        qtest_binary(), qtest_timeout_s(), buf->str);
        }
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            /* Give the child a moment to finish dying, for a better message. */
            wait_child(s, 2);
            check_alive(s, what);
            qtest_fatal(s, "%s closed the %s channel", qtest_binary(), what);
        }
        g_string_append_len(buf, chunk, n);
        return;
    }
}

/* The next line from the qtest channel, IRQ lines included. */
static char *recv_any_line(QTestState *s)
{
    char *eol;

    while (!(eol = memchr(s->rx->str, '\n', s->rx->len))) {
        read_more(s, s->qtest_rfd, s->rx, "qtest");
    }
    {
        size_t len = eol - s->rx->str;
        char *line = g_strndup(s->rx->str, len);

        g_string_erase(s->rx, 0, len + 1);
        return line;
    }
}

/* Record an "IRQ raise|lower N" line; false if @line is not one. */
static bool handle_irq_line(QTestState *s, const char *line)
{
    g_auto(GStrv) w = NULL;
    gint64 n;
    char *end;

    if (!g_str_has_prefix(line, "IRQ ")) {
        return false;
    }
    w = g_strsplit(line, " ", 0);
    if (g_strv_length(w) != 3 ||
        (strcmp(w[1], "raise") != 0 && strcmp(w[1], "lower") != 0)) {
        qtest_fatal(s, "malformed interrupt notification \"%s\"", line);
    }
    n = g_ascii_strtoll(w[2], &end, 0);
    if (*end || n < 0 || n >= QTEST_MAX_IRQ) {
        qtest_fatal(s, "interrupt number out of range in \"%s\"", line);
    }
    s->irq_level[n] = w[1][0] == 'r';
    return true;
}

char *qtest_recv_line_raw(QTestState *s)
{
    char *line = recv_any_line(s);

    handle_irq_line(s, line);
    return line;
}

char *qtest_recv_line(QTestState *s)
{
    for (;;) {
        char *line = recv_any_line(s);

        if (!handle_irq_line(s, line)) {
            return line;
        }
        g_free(line);
    }
}

char *qtest_cmd(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *str = NULL;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_sendf(s, "%s\n", str);
    return qtest_recv_line(s);
}

/*
 * The reply words of "OK ..." with at least @nargs words after OK; anything
 * else fails the test, naming @cmd.
 */
static char **rsp_args(QTestState *s, const char *cmd, int nargs)
{
    char *line = qtest_recv_line(s);
    char **w = g_strsplit(line, " ", 0);

    if (!w[0] || strcmp(w[0], "OK") != 0 || g_strv_length(w) < (guint)nargs + 1) {
        qtest_fatal(s, "command \"%s\": expected \"OK\" with %d value(s), got \"%s\"", cmd,
                    nargs, line);
    }
    g_free(line);
    return w;
}

static void rsp_ok(QTestState *s, const char *cmd)
{
    g_strfreev(rsp_args(s, cmd, 0));
}

/* Send "@cmd" + newline and expect a plain OK. */
static void cmd_ok(QTestState *s, const char *cmd)
{
    qtest_sendf(s, "%s\n", cmd);
    rsp_ok(s, cmd);
}

/* Send "@cmd" + newline and parse the unsigned value of "OK VALUE". */
static uint64_t cmd_value(QTestState *s, const char *cmd)
{
    char **w;
    uint64_t v;
    char *end;

    qtest_sendf(s, "%s\n", cmd);
    w = rsp_args(s, cmd, 1);
    errno = 0;
    v = g_ascii_strtoull(w[1], &end, 0);
    if (errno || *end || end == w[1]) {
        qtest_fatal(s, "command \"%s\": bad value \"%s\"", cmd, w[1]);
    }
    g_strfreev(w);
    return v;
}

static bool query_big_endian(QTestState *s)
{
    char **w;
    bool big;

    qtest_sendf(s, "endianness\n");
    w = rsp_args(s, "endianness", 1);
    if (strcmp(w[1], "big") != 0 && strcmp(w[1], "little") != 0) {
        qtest_fatal(s, "endianness: expected big or little, got \"%s\"", w[1]);
    }
    big = strcmp(w[1], "big") == 0;
    g_strfreev(w);
    return big;
}

bool qtest_big_endian(QTestState *s)
{
    return s->big_endian;
}

/* ------------------------------------------------------------------------ */
/* Memory and I/O */

static uint32_t port_in(QTestState *s, const char *op, uint16_t addr)
{
    g_autofree char *cmd = g_strdup_printf("%s 0x%x", op, addr);
    uint64_t v = cmd_value(s, cmd);

    if (v > UINT32_MAX) {
        qtest_fatal(s, "%s: value 0x%" G_GINT64_MODIFIER "x out of range", cmd, v);
    }
    return v;
}

static void port_out(QTestState *s, const char *op, uint16_t addr, uint32_t value)
{
    g_autofree char *cmd = g_strdup_printf("%s 0x%x 0x%x", op, addr, value);

    cmd_ok(s, cmd);
}

uint8_t qtest_inb(QTestState *s, uint16_t addr)
{
    return port_in(s, "inb", addr);
}

uint16_t qtest_inw(QTestState *s, uint16_t addr)
{
    return port_in(s, "inw", addr);
}

uint32_t qtest_inl(QTestState *s, uint16_t addr)
{
    return port_in(s, "inl", addr);
}

void qtest_outb(QTestState *s, uint16_t addr, uint8_t value)
{
    port_out(s, "outb", addr, value);
}

void qtest_outw(QTestState *s, uint16_t addr, uint16_t value)
{
    port_out(s, "outw", addr, value);
}

void qtest_outl(QTestState *s, uint16_t addr, uint32_t value)
{
    port_out(s, "outl", addr, value);
}

static uint64_t mem_read(QTestState *s, const char *op, uint64_t addr)
{
    g_autofree char *cmd = g_strdup_printf("%s 0x%" G_GINT64_MODIFIER "x", op, addr);

    return cmd_value(s, cmd);
}

static void mem_write(QTestState *s, const char *op, uint64_t addr, uint64_t value)
{
    g_autofree char *cmd = g_strdup_printf("%s 0x%" G_GINT64_MODIFIER "x 0x%"
                                           G_GINT64_MODIFIER "x", op, addr, value);

    cmd_ok(s, cmd);
}

uint8_t qtest_readb(QTestState *s, uint64_t addr)
{
    return mem_read(s, "readb", addr);
}

uint16_t qtest_readw(QTestState *s, uint64_t addr)
{
    return mem_read(s, "readw", addr);
}

uint32_t qtest_readl(QTestState *s, uint64_t addr)
{
    return mem_read(s, "readl", addr);
}

uint64_t qtest_readq(QTestState *s, uint64_t addr)
{
    return mem_read(s, "readq", addr);
}

void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value)
{
    mem_write(s, "writeb", addr, value);
}

void qtest_writew(QTestState *s, uint64_t addr, uint16_t value)
{
    mem_write(s, "writew", addr, value);
}

void qtest_writel(QTestState *s, uint64_t addr, uint32_t value)
{
    mem_write(s, "writel", addr, value);
}

void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value)
{
    mem_write(s, "writeq", addr, value);
}

static int hex_nibble(char c)
{
    return g_ascii_xdigit_value(c);
}

void qtest_memread(QTestState *s, uint64_t addr, void *data, size_t size)
{
    g_autofree char *cmd = NULL;
    uint8_t *out = data;
    char **w;
    const char *hex;

    if (!size) {
        return;
    }
    cmd = g_strdup_printf("read 0x%" G_GINT64_MODIFIER "x 0x%zx", addr, size);
    qtest_sendf(s, "%s\n", cmd);
    w = rsp_args(s, cmd, 1);
    hex = w[1];
    if (strncmp(hex, "0x", 2) != 0 || strlen(hex) != 2 + 2 * size) {
        qtest_fatal(s, "%s: expected 0x and %zu hex digits, got \"%s\"", cmd, 2 * size, hex);
    }
    for (size_t i = 0; i < size; i++) {
        int hi = hex_nibble(hex[2 + 2 * i]), lo = hex_nibble(hex[3 + 2 * i]);

        if (hi < 0 || lo < 0) {
            qtest_fatal(s, "%s: bad hex data \"%s\"", cmd, hex);
        }
        out[i] = hi << 4 | lo;
    }
    g_strfreev(w);
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *data, size_t size)
{
    const uint8_t *in = data;
    GString *cmd;

    if (!size) {
        return;
    }
    cmd = g_string_sized_new(32 + 2 * size);
    g_string_append_printf(cmd, "write 0x%" G_GINT64_MODIFIER "x 0x%zx 0x", addr, size);
    for (size_t i = 0; i < size; i++) {
        g_string_append_printf(cmd, "%02x", in[i]);
    }
    qtest_sendf(s, "%s\n", cmd->str);
    rsp_ok(s, "write");
    g_string_free(cmd, true);
}

void qtest_bufread(QTestState *s, uint64_t addr, void *data, size_t size)
{
    g_autofree char *cmd = g_strdup_printf("b64read 0x%" G_GINT64_MODIFIER "x 0x%zx", addr,
                                           size);
    char **w;
    gsize len;
    guchar *bytes;

    qtest_sendf(s, "%s\n", cmd);
    w = rsp_args(s, cmd, size ? 1 : 0);
    bytes = g_base64_decode(w[1] ? w[1] : "", &len);
    if (len != size) {
        qtest_fatal(s, "%s: asked for %zu bytes, decoded %zu", cmd, size, (size_t)len);
    }
    memcpy(data, bytes, len);
    g_free(bytes);
    g_strfreev(w);
}

void qtest_bufwrite(QTestState *s, uint64_t addr, const void *data, size_t size)
{
    g_autofree char *b64 = g_base64_encode(data, size);

    qtest_sendf(s, "b64write 0x%" G_GINT64_MODIFIER "x 0x%zx %s\n", addr, size, b64);
    rsp_ok(s, "b64write");
}

void qtest_memset(QTestState *s, uint64_t addr, uint8_t pattern, size_t size)
{
    g_autofree char *cmd = g_strdup_printf("memset 0x%" G_GINT64_MODIFIER "x 0x%zx 0x%02x",
                                           addr, size, pattern);

    cmd_ok(s, cmd);
}

/* ------------------------------------------------------------------------ */
/* Clock and interrupts */

static int64_t clock_cmd(QTestState *s, const char *cmd)
{
    char **w;
    int64_t v;
    char *end;

    qtest_sendf(s, "%s\n", cmd);
    w = rsp_args(s, cmd, 1);
    v = g_ascii_strtoll(w[1], &end, 0);
    if (*end || end == w[1]) {
        qtest_fatal(s, "%s: bad clock value \"%s\"", cmd, w[1]);
    }
    g_strfreev(w);
    return v;
}

int64_t qtest_clock_step(QTestState *s, int64_t step_ns)
{
    g_autofree char *cmd = g_strdup_printf("clock_step %" G_GINT64_FORMAT, step_ns);

    return clock_cmd(s, cmd);
}

int64_t qtest_clock_step_next(QTestState *s)
{
    return clock_cmd(s, "clock_step");
}

int64_t qtest_clock_set(QTestState *s, int64_t ns)
{
    g_autofree char *cmd = g_strdup_printf("clock_set %" G_GINT64_FORMAT, ns);

    return clock_cmd(s, cmd);
}

void qtest_irq_intercept_in(QTestState *s, const char *path)
{
    g_autofree char *cmd = g_strdup_printf("irq_intercept_in %s", path);

    cmd_ok(s, cmd);
}

void qtest_irq_intercept_out(QTestState *s, const char *path)
{
    g_autofree char *cmd = g_strdup_printf("irq_intercept_out %s", path);

    cmd_ok(s, cmd);
}

bool qtest_get_irq(QTestState *s, int num)
{
    g_assert_cmpint(num, >=, 0);
    g_assert_cmpint(num, <, QTEST_MAX_IRQ);
    /* A round trip: every IRQ line sent before its reply is read by then. */
    qtest_inb(s, 0);
    return s->irq_level[num];
}

void qtest_set_irq_in(QTestState *s, const char *path, const char *name, int num,
                      int level)
{
    g_autofree char *cmd = g_strdup_printf("set_irq_in %s %s %d %d", path,
                                           name ? name : "unnamed-gpio-in", num, level);

    cmd_ok(s, cmd);
}

/* ------------------------------------------------------------------------ */
/* QMP */

/*
 * Rewrite QEMU-test-style JSON (single-quoted strings) into standard JSON.
 * Double-quoted strings pass through unchanged.
 */
static char *json_requote(const char *in)
{
    GString *out = g_string_sized_new(strlen(in) + 8);
    char quote = 0;

    for (const char *p = in; *p; p++) {
        char c = *p;

        if (!quote) {
            if (c == '\'' || c == '"') {
                quote = c;
                g_string_append_c(out, '"');
            } else {
                g_string_append_c(out, c);
            }
            continue;
        }
        if (c == '\\' && p[1]) {
            /* \' inside a single-quoted string is a plain quote. */
            if (p[1] == '\'') {
                g_string_append_c(out, '\'');
            } else {
                g_string_append_c(out, c);
                g_string_append_c(out, p[1]);
            }
            p++;
        } else if (c == quote) {
            quote = 0;
            g_string_append_c(out, '"');
        } else if (c == '"') {
            g_string_append(out, "\\\"");
        } else {
            g_string_append_c(out, c);
        }
    }
    return g_string_free(out, false);
}

char *qtest_json_to_string(JsonObject *obj)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    json_node_set_object(node, obj);
    return json_to_string(node, false);
}

/*
 * Length of the first complete JSON value in @buf (skipping leading
 * whitespace), or 0 if it is not complete yet.
 */
static size_t json_value_end(const char *buf, size_t len)
{
    int depth = 0;
    bool in_str = false, esc = false, started = false;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            depth++;
            started = true;
        } else if (c == '}' || c == ']') {
            depth--;
            if (started && depth == 0) {
                return i + 1;
            }
        }
    }
    return 0;
}

JsonObject *qtest_qmp_receive_dict(QTestState *s)
{
    size_t end;

    if (s->qmp_fd < 0) {
        qtest_fatal(s, "no QMP connection (started with qtest_init_stdio?)");
    }
    while (!(end = json_value_end(s->qmp_rx->str, s->qmp_rx->len))) {
        read_more(s, s->qmp_fd, s->qmp_rx, "QMP");
    }
    {
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) err = NULL;
        g_autofree char *text = g_strndup(s->qmp_rx->str, end);
        JsonNode *root;
        JsonObject *obj;

        g_string_erase(s->qmp_rx, 0, end);
        if (!json_parser_load_from_data(parser, text, -1, &err)) {
            qtest_fatal(s, "QMP sent bad JSON (%s): %s", err->message, text);
        }
        root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
            qtest_fatal(s, "QMP sent a non-object: %s", text);
        }
        obj = json_node_dup_object(root);
        return obj;
    }
}

JsonObject *qtest_qmp_receive(QTestState *s)
{
    for (;;) {
        JsonObject *obj = qtest_qmp_receive_dict(s);

        if (!json_object_has_member(obj, "event")) {
            return obj;
        }
        g_queue_push_tail(&s->events, obj);
    }
}

void qtest_qmp_send_raw(QTestState *s, const char *text)
{
    if (s->qmp_fd < 0) {
        qtest_fatal(s, "no QMP connection (started with qtest_init_stdio?)");
    }
    write_all(s, s->qmp_fd, text, strlen(text), "QMP");
}

static void qmp_vsend(QTestState *s, const char *fmt, va_list ap)
{
    g_autofree char *raw = g_strdup_vprintf(fmt, ap);
    g_autofree char *json = json_requote(raw);
    g_autofree char *line = g_strconcat(json, "\n", NULL);

    /*
     * One write: after a command that ends the monitor (quit), a second
     * write for the newline could meet a closed socket.
     */
    qtest_qmp_send_raw(s, line);
}

void qtest_qmp_send(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qmp_vsend(s, fmt, ap);
    va_end(ap);
}

JsonObject *qtest_vqmp(QTestState *s, const char *fmt, va_list ap)
{
    qmp_vsend(s, fmt, ap);
    return qtest_qmp_receive(s);
}

JsonObject *qtest_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    JsonObject *r;

    va_start(ap, fmt);
    r = qtest_vqmp(s, fmt, ap);
    va_end(ap);
    return r;
}

void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    JsonObject *r;

    va_start(ap, fmt);
    r = qtest_vqmp(s, fmt, ap);
    va_end(ap);
    if (!json_object_has_member(r, "return")) {
        g_autofree char *txt = qtest_json_to_string(r);

        qtest_fatal(s, "QMP command failed: %s", txt);
    }
    json_object_unref(r);
}

static bool event_is(JsonObject *obj, const char *name)
{
    const char *ev = json_object_get_string_member_with_default(obj, "event", NULL);

    return ev && strcmp(ev, name) == 0;
}

JsonObject *qtest_qmp_event_ref(QTestState *s, const char *name)
{
    while (!g_queue_is_empty(&s->events)) {
        JsonObject *obj = g_queue_pop_head(&s->events);

        if (event_is(obj, name)) {
            return obj;
        }
        json_object_unref(obj);
    }
    return NULL;
}

JsonObject *qtest_qmp_eventwait_ref(QTestState *s, const char *name)
{
    JsonObject *obj = qtest_qmp_event_ref(s, name);

    while (!obj) {
        obj = qtest_qmp_receive_dict(s);
        if (!event_is(obj, name)) {
            json_object_unref(obj);
            obj = NULL;
        }
    }
    return obj;
}

void qtest_qmp_eventwait(QTestState *s, const char *name)
{
    json_object_unref(qtest_qmp_eventwait_ref(s, name));
}
