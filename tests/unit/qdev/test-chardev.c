/*
 * Chardevs on the main loop (unix sockets, file, null) and the QMP monitor
 * on top of them.
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include "qapi/error.h"
#include "qapi/qmp-monitor.h"
#include "qapi/qmp-registry.h"
#include "qemu/main-loop.h"
#include "chardev/char.h"
#include "sysemu/runstate.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* Run the loop until @done or 5 s pass. */
static void pump_until(bool (*done)(void *), void *opaque)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (!done(opaque)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        main_loop_wait(true);
        g_usleep(1000);
    }
}

static void pump_a_while(void)
{
    for (int i = 0; i < 20; i++) {
        main_loop_wait(true);
        g_usleep(500);
    }
}

static struct sockaddr_un unix_addr(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    return addr;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un addr = unix_addr(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    return fd;
}

/* Read one "\r\n"-terminated line from @fd while running the loop. */
static char *read_line(int fd)
{
    GString *s = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char c;

        main_loop_wait(true);
        if (poll(&pfd, 1, 1) == 1) {
            g_assert_cmpint(read(fd, &c, 1), ==, 1);
            if (c == '\n') {
                break;
            }
            if (c != '\r') {
                g_string_append_c(s, c);
            }
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
    return g_string_free(s, false);
}

static void write_str(int fd, const char *s)
{
    g_assert_cmpint(write(fd, s, strlen(s)), ==, (ssize_t)strlen(s));
}

/* ------------------------------------------------------------------ */
/* A front end recording what it gets. */

typedef struct Recorder {
    CharBackend be;
    GString *input;
    int opened, closed;
    int budget;             /* can_read's answer; -1: 4096 */
} Recorder;

static int rec_can_read(void *opaque)
{
    Recorder *r = opaque;

    return r->budget < 0 ? 4096 : r->budget;
}

static void rec_read(void *opaque, const uint8_t *buf, int size)
{
    Recorder *r = opaque;

    g_string_append_len(r->input, (const char *)buf, size);
    if (r->budget > 0) {
        r->budget -= size;
    }
}

static void rec_event(void *opaque, QEMUChrEvent event)
{
    Recorder *r = opaque;

    if (event == CHR_EVENT_OPENED) {
        r->opened++;
    } else if (event == CHR_EVENT_CLOSED) {
        r->closed++;
    }
}

static void rec_attach(Recorder *r, Chardev *chr)
{
    memset(r, 0, sizeof(*r));
    r->input = g_string_new(NULL);
    r->budget = -1;
    g_assert_true(qemu_chr_fe_init(&r->be, chr, &error_abort));
    qemu_chr_fe_set_handlers(&r->be, rec_can_read, rec_read, rec_event, NULL, r, NULL, true);
}

static void rec_detach(Recorder *r)
{
    qemu_chr_fe_deinit(&r->be, true);
    g_string_free(r->input, true);
}

static int rec_write(Recorder *r, const char *s)
{
    return qemu_chr_fe_write_all(&r->be, (const uint8_t *)s, strlen(s));
}

static bool input_has(void *opaque)
{
    Recorder *r = opaque;

    return r->input->len >= 5;
}

static bool was_closed(void *opaque)
{
    return ((Recorder *)opaque)->closed > 0;
}

static bool was_opened(void *opaque)
{
    return ((Recorder *)opaque)->opened > 0;
}

static void test_socket_server(void)
{
    g_autofree char *path = tmp_path("server.sock");
    g_autofree char *spec = g_strdup_printf("socket,id=srv,path=%s,server=on,wait=off", path);
    Chardev *chr = qemu_chr_new_from_opts(spec, &error_abort);
    Recorder r;
    char buf[16];
    int fd;

    rec_attach(&r, chr);
    g_assert_true(qemu_chr_find("srv") == chr);
    g_assert_cmpint(r.opened, ==, 0);
    fd = connect_unix(path);
    pump_until(was_opened, &r);
    write_str(fd, "hello");
    pump_until(input_has, &r);
    g_assert_cmpstr(r.input->str, ==, "hello");
    g_assert_cmpint(rec_write(&r, "world"), ==, 5);
    g_assert_cmpint(read(fd, buf, 5), ==, 5);
    g_assert_cmpmem(buf, 5, "world", 5);

    /* The peer hangs up: CLOSED, and the server accepts a new peer. */
    close(fd);
    pump_until(was_closed, &r);
    g_assert_cmpint(rec_write(&r, "x"), ==, -ENOTCONN);
    fd = connect_unix(path);
    r.opened = 0;
    pump_until(was_opened, &r);
    close(fd);
    rec_detach(&r);
    g_assert_null(qemu_chr_find("srv"));
    /* The socket file goes with the chardev. */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void test_socket_flow_control(void)
{
    g_autofree char *path = tmp_path("flow.sock");
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    Chardev *chr = qemu_chr_new("flow", spec, &error_abort);
    Recorder r;
    int fd;

    rec_attach(&r, chr);
    r.budget = 2;       /* takes 2 bytes, then nothing until accept_input */
    fd = connect_unix(path);
    write_str(fd, "abcdef");
    pump_a_while();
    g_assert_cmpstr(r.input->str, ==, "ab");
    r.budget = -1;
    qemu_chr_fe_accept_input(&r.be);
    pump_until(input_has, &r);
    pump_a_while();
    g_assert_cmpstr(r.input->str, ==, "abcdef");
    close(fd);
    rec_detach(&r);
}

static void test_socket_client(void)
{
    g_autofree char *path = tmp_path("client.sock");
    g_autofree char *spec = g_strdup_printf("unix:%s", path);
    struct sockaddr_un addr = unix_addr(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Chardev *chr;
    Recorder r;
    int fd;

    g_assert_cmpint(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    /* The client connects at creation: already open when the front end attaches. */
    chr = qemu_chr_new("cli", spec, &error_abort);
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    rec_attach(&r, chr);
    g_assert_cmpint(r.opened, ==, 1);
    write_str(fd, "12345");
    pump_until(input_has, &r);
    g_assert_cmpstr(r.input->str, ==, "12345");
    close(fd);
    pump_until(was_closed, &r);
    rec_detach(&r);
    close(lfd);
    unlink(path);
}

static void test_file_and_null(void)
{
    g_autofree char *path = tmp_path("out.txt");
    g_autofree char *spec = g_strdup_printf("file,id=f0,path=%s", path);
    g_autofree char *content = NULL;
    Recorder r;

    rec_attach(&r, qemu_chr_new_from_opts(spec, &error_abort));
    g_assert_cmpint(r.opened, ==, 1);
    qemu_chr_fe_printf(&r.be, "line %d\n", 1);
    rec_detach(&r);
    g_assert_true(g_file_get_contents(path, &content, NULL, NULL));
    g_assert_cmpstr(content, ==, "line 1\n");

    rec_attach(&r, qemu_chr_new("n0", "null", &error_abort));
    g_assert_cmpint(rec_write(&r, "abc"), ==, 3);
    rec_detach(&r);
}

static void test_errors(void)
{
    g_autofree char *missing = tmp_path("missing.sock");
    g_autofree char *client = g_strdup_printf("socket,id=c1,path=%s", missing);
    g_autofree char *client_wait = g_strdup_printf("socket,id=c2,path=%s,wait=off", missing);
    g_autofree char *refused = g_strdup_printf("Failed to connect to '%s': %s", missing,
                                               g_strerror(ENOENT));
    struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        { "socket,path=/tmp/x", "Parameter 'id' is missing" },
        { "id=x", "Parameter 'backend' is missing" },
        { "tcp,id=x", "'tcp' is not a valid char driver name" },
        { "socket,id=x", "chardev: socket: a unix socket path= is required (TCP is not "
          "supported)" },
        { "file,id=x", "chardev: file: no filename given" },
        { "null,id=1x", "Parameter 'id' expects an identifier ('1x')" },
        { "null,id=x,bogus=1", "Invalid parameter 'bogus'" },
        { "socket,id=x,path=/tmp/y,server=maybe", "Parameter 'server' expects 'on' or 'off' "
          "('maybe')" },
        { client, refused },
        { client_wait, "'wait' option is incompatible with socket in client connect mode" },
    };
    Chardev *keep = qemu_chr_new_from_opts("null,id=dup", &error_abort);
    Error *err = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_assert_null(qemu_chr_new_from_opts(cases[i].spec, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        g_clear_pointer(&err, error_free);
    }
    g_assert_null(qemu_chr_new_from_opts("null,id=dup", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Duplicate chardev ID 'dup'");
    g_clear_pointer(&err, error_free);
    g_assert_null(qemu_chr_new("x", "tcp:localhost:4444", &err));
    g_assert_nonnull(err);
    g_clear_pointer(&err, error_free);
    qemu_chr_delete(keep);
}

/* ------------------------------------------------------------------ */
/* QMP monitor over a socket */

#define QMP_ERROR(class, desc) \
    "{\"error\": {\"class\": \"" class "\", \"desc\": \"" desc "\"}}"
#define QMP_PRELAUNCH "{\"return\": {\"running\": false, \"status\": \"prelaunch\"}, "

/* A QMP monitor on a new server socket at @path; returns a connected peer. */
static int monitor_start(const char *id, const char *path)
{
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    Chardev *chr = qemu_chr_new(id, spec, &error_abort);

    runstate_reset_for_test();
    qmp_register_builtin_commands();
    g_assert_true(monitor_init_qmp(chr, &error_abort));
    return connect_unix(path);
}

static void monitor_stop(int fd)
{
    close(fd);
    monitor_cleanup();
    runstate_reset_for_test();
}

/* Hang up and connect again; the new session must greet afresh. */
static int monitor_reconnect(int fd, const char *path)
{
    g_autofree char *greeting = NULL;

    close(fd);
    fd = connect_unix(path);
    greeting = read_line(fd);
    g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    return fd;
}

/* Send @req; the next line must be @reply, or contain @part where @reply is NULL. */
static void expect_reply(int fd, const char *req, const char *reply, const char *part)
{
    g_autofree char *line = NULL;

    write_str(fd, req);
    line = read_line(fd);
    if (reply) {
        g_assert_cmpstr(line, ==, reply);
    } else {
        g_assert_nonnull(strstr(line, part));
    }
}

static void test_monitor_session(void)
{
    static const struct {
        const char *req;
        const char *reply;
        const char *part;
    } steps[] = {
        { "{\"execute\": \"query-status\"}",
          QMP_ERROR("CommandNotFound",
                    "Expecting capabilities negotiation with 'qmp_capabilities'") },
        /* Capabilities that are not offered cannot be enabled; nothing is negotiated then. */
        { "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
          QMP_ERROR("GenericError", "Capability 'oob' not available") },
        { "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"x\": 1}}",
          QMP_ERROR("GenericError", "Parameter 'x' is unexpected") },
        { "{\"execute\": \"query-status\"}", .part = "CommandNotFound" },

        /* Two requests in one write, the second split over two writes. */
        { "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[]},"
          "\"id\":\"n\"}{\"execute\":\"qu",
          "{\"return\": {}, \"id\": \"n\"}" },
        { "ery-status\", \"id\": \"}{\"}\n", QMP_PRELAUNCH "\"id\": \"}{\"}" },

        { "{\"execute\":\"qmp_capabilities\"}",
          QMP_ERROR("CommandNotFound",
                    "Capabilities negotiation is already complete, command ignored") },

        /* QEMU's single-quoted strings, with brackets and quotes inside. */
        { "{'execute': 'query-status', 'id': 'it\\'s {\"}'}",
          QMP_PRELAUNCH "\"id\": \"it's {\\\"}\"}" },

        /* Garbage of every kind gets an error and the session goes on. */
        { "}", QMP_ERROR("GenericError", "JSON parse error, unexpected '}'") },
        { "nonsense\n",
          .part = "\"class\": \"GenericError\", \"desc\": \"JSON parse error, " },
        { "\"str\"\n", QMP_ERROR("GenericError", "QMP input must be a JSON object") },
        { "{\"execute\": }", .part = "\"desc\": \"JSON parse error, " },
    };
    g_autofree char *path = tmp_path("qmp.sock");
    int fd = monitor_start("mon0", path);
    char *line;

    line = read_line(fd);
    g_assert_cmpstr(line, ==, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, "
                              "\"major\": 10}, \"package\": \"\"}, \"capabilities\": []}}");
    g_free(line);
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        expect_reply(fd, steps[i].req, steps[i].reply, steps[i].part);
    }

    /* Events reach the negotiated monitor. */
    write_str(fd, "{\"execute\": \"cont\"}");
    line = read_line(fd);
    g_assert_true(g_str_has_prefix(line, "{\"timestamp\": {\"seconds\": "));
    g_assert_true(g_str_has_suffix(line, "}, \"event\": \"RESUME\"}"));
    g_free(line);
    line = read_line(fd);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");
    g_free(line);

    /* A new connection starts over with a greeting and negotiation. */
    fd = monitor_reconnect(fd, path);
    expect_reply(fd, "{\"execute\": \"stop\"}", NULL, "CommandNotFound");
    monitor_stop(fd);
}

/*
 * Random bytes and mutated requests never crash the monitor, and it still
 * answers a well-formed request afterwards (once a pending value is closed).
 */
static void test_monitor_random_input(void)
{
    static const char *const seeds[] = {
        "{\"execute\": \"query-status\", \"id\": [1, {\"a\": \"b\"}]}",
        "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"x\"}}",
        "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
        "[[[[{\"\\\"\": \"\\u0000\"}]]]]", "\"str\\\"ing\"", "-1.5e300 ", "null ",
    };
    g_autofree char *path = tmp_path("fuzz.sock");
    int fd = monitor_start("fuzzmon", path);
    GRand *rand = g_rand_new_with_seed(0x5eed);

    g_free(read_line(fd));
    write_str(fd, "{\"execute\": \"qmp_capabilities\"}");
    g_free(read_line(fd));

    for (int round = 0; round < 300; round++) {
        GString *chunk = g_string_new(seeds[g_rand_int_range(rand, 0, G_N_ELEMENTS(seeds))]);
        int mutations = g_rand_int_range(rand, 0, 4);

        for (int m = 0; m < mutations && chunk->len; m++) {
            guint pos = g_rand_int_range(rand, 0, chunk->len);

            switch (g_rand_int_range(rand, 0, 3)) {
            case 0:
                chunk->str[pos] = (char)g_rand_int_range(rand, 0, 256);
                break;
            case 1:
                g_string_erase(chunk, pos, 1);
                break;
            default:
                g_string_insert_c(chunk, pos, "{}[]\",:\\"[g_rand_int_range(rand, 0, 8)]);
            }
        }
        if (g_rand_int_range(rand, 0, 4) == 0) {
            for (int i = 0; i < 32; i++) {
                g_string_append_c(chunk, (char)g_rand_int_range(rand, 0, 256));
            }
        }
        g_assert_cmpint(write(fd, chunk->str, chunk->len), ==, (ssize_t)chunk->len);
        g_string_free(chunk, true);
        main_loop_wait(true);
    }
    /* Drain replies, then close any open string/brackets and ask once more. */
    pump_a_while();
    {
        char buf[65536];

        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
            pump_a_while();
        }
    }
    /* A new session resets the parser. */
    fd = monitor_reconnect(fd, path);
    expect_reply(fd, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}", NULL);
    g_rand_free(rand);
    monitor_stop(fd);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-chardev-XXXXXX", NULL);
    qemu_init_main_loop(&error_abort);
    g_test_add_func("/chardev/socket/server", test_socket_server);
    g_test_add_func("/chardev/socket/flow-control", test_socket_flow_control);
    g_test_add_func("/chardev/socket/client", test_socket_client);
    g_test_add_func("/chardev/file-and-null", test_file_and_null);
    g_test_add_func("/chardev/errors", test_errors);
    g_test_add_func("/qmp/monitor/session", test_monitor_session);
    g_test_add_func("/qmp/monitor/random-input", test_monitor_random_input);
    ret = g_test_run();
    qemu_chr_cleanup();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
