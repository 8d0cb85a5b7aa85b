/*
 * QMP against the running binary: greeting, negotiation, query-status,
 * stop/cont with events, bad input, unknown commands, quit; the server
 * (-qmp ...,server=on) and client (-chardev socket + -mon, as QEMU's
 * libqtest starts QEMU) forms; -S.
 */
#include "test-cmdline.h"

static char *tmpdir;

typedef struct Qmp {
    GPid pid;
    int fd;
} Qmp;

static const char *const greeting =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 10}, "
    "\"package\": \"\"}, \"capabilities\": []}}";

/* Send @request and check the next line is @expect. */
static void exchange(Qmp *q, const char *request, const char *expect)
{
    char *line;

    tc_write(q->fd, request);
    line = tc_read_line(q->fd);
    if (g_strcmp0(line, expect)) {
        g_test_message("-> %s\n   expected <- %s\n   got      <- %s", request, expect, line);
    }
    g_assert_cmpstr(line, ==, expect);
    g_free(line);
}

/* The next line is event @name (with @data_json, or no data when NULL). */
static void expect_event(Qmp *q, const char *name, const char *data_json)
{
    char *line = tc_read_line(q->fd);
    g_autofree char *tail = data_json
        ? g_strdup_printf("}, \"event\": \"%s\", \"data\": %s}", name, data_json)
        : g_strdup_printf("}, \"event\": \"%s\"}", name);

    g_assert_nonnull(line);
    if (!g_str_has_prefix(line, "{\"timestamp\": {\"seconds\": ") ||
        !g_str_has_suffix(line, tail)) {
        g_test_message("expected event %s, got %s", name, line);
    }
    g_assert_true(g_str_has_prefix(line, "{\"timestamp\": {\"seconds\": "));
    g_assert_nonnull(strstr(line, ", \"microseconds\": "));
    g_assert_true(g_str_has_suffix(line, tail));
    g_free(line);
}

static void expect_greeting(Qmp *q)
{
    char *line = tc_read_line(q->fd);

    g_assert_cmpstr(line, ==, greeting);
    g_free(line);
}

static void negotiate(Qmp *q)
{
    exchange(q, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
}

static void expect_status(Qmp *q, bool running, const char *status)
{
    g_autofree char *reply =
        g_strdup_printf("{\"return\": {\"running\": %s, \"status\": \"%s\"}}",
                        running ? "true" : "false", status);

    exchange(q, "{\"execute\": \"query-status\"}", reply);
}

/*
 * The run-state event goes out before @command's own reply, so the reply is
 * only consumed; query-status then shows the state the event announced.
 */
static void change_run_state(Qmp *q, const char *command, const char *event,
                             bool running, const char *status)
{
    g_autofree char *request = g_strdup_printf("{\"execute\": \"%s\"}", command);

    tc_write(q->fd, request);
    expect_event(q, event, NULL);
    g_free(tc_read_line(q->fd));
    expect_status(q, running, status);
}

/* The binary is the server here: tc_connect() retries until it has bound @sock. */
static void qmp_spawn_and_connect(Qmp *q, const char *args, const char *sock)
{
    q->pid = tc_spawn(args);
    q->fd = tc_connect(sock);
    expect_greeting(q);
}

static void qmp_start_server(Qmp *q, const char *name, const char *extra)
{
    g_autofree char *sock = g_build_filename(tmpdir, name, NULL);
    g_autofree char *args = g_strdup_printf("-machine q35 -accel qtest -qmp "
                                            "unix:%s,server=on,wait=off -display none%s%s",
                                            sock, *extra ? " " : "", extra);

    qmp_spawn_and_connect(q, args, sock);
}

/*
 * The binary is the client here, so @sock must be listening before it starts.
 * Returns the listening socket for qmp_quit_client().
 */
static int qmp_start_client(Qmp *q, const char *args, const char *sock)
{
    int lfd = tc_listen(sock);

    q->pid = tc_spawn(args);
    q->fd = tc_accept(lfd);
    expect_greeting(q);
    return lfd;
}

static void qmp_quit(Qmp *q)
{
    char *line;

    exchange(q, "{\"execute\": \"quit\"}", "{\"return\": {}}");
    expect_event(q, "SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
    line = tc_read_line(q->fd);
    g_assert_null(line);        /* the connection closes as the process exits */
    close(q->fd);
    g_assert_cmpint(tc_wait(q->pid), ==, 0);
}

static void qmp_quit_client(Qmp *q, int lfd, const char *sock)
{
    qmp_quit(q);
    close(lfd);
    unlink(sock);
}

static gboolean contains(const char *line, const char *part)
{
    return strstr(line, part) != NULL;
}

/*
 * The reply and DEVICE_DELETED may come in either order, so read until both
 * are seen; @match (g_str_has_suffix or contains) says how strictly any
 * non-reply line is held to @event.
 */
static void device_del_and_wait(Qmp *q, const char *id,
                                gboolean (*match)(const char *line, const char *event),
                                const char *event)
{
    g_autofree char *request =
        g_strdup_printf("{\"execute\": \"device_del\", \"arguments\": {\"id\": \"%s\"}}", id);
    bool got_return = false, got_event = false;

    tc_write(q->fd, request);
    while (!got_return || !got_event) {
        char *line = tc_read_line(q->fd);

        g_assert_nonnull(line);
        if (!strcmp(line, "{\"return\": {}}")) {
            got_return = true;
        } else {
            g_assert_true(match(line, event));
            got_event = true;
        }
        g_free(line);
    }
}

static void test_session(void)
{
    Qmp q;

    qmp_start_server(&q, "session.sock", "");
    exchange(&q, "{\"execute\": \"query-status\"}",
             "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities "
             "negotiation with 'qmp_capabilities'\"}}");
    negotiate(&q);
    exchange(&q, "{\"execute\": \"query-status\", \"id\": \"a1\"}",
             "{\"return\": {\"running\": true, \"status\": \"running\"}, \"id\": \"a1\"}");

    change_run_state(&q, "stop", "STOP", false, "paused");
    change_run_state(&q, "cont", "RESUME", true, "running");
    qmp_quit(&q);
}

static void test_bad_input(void)
{
    Qmp q;
    char *line;

    qmp_start_server(&q, "bad.sock", "");
    negotiate(&q);
    exchange(&q, "{\"execute\": \"no-such-command\", \"id\": 3}",
             "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
             "no-such-command has not been found\"}, \"id\": 3}");
    exchange(&q, "{\"arguments\": {}}", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
             "\"QMP input lacks member 'execute'\"}}");
    exchange(&q, "[\"execute\", \"quit\"]", "{\"error\": {\"class\": \"GenericError\", "
             "\"desc\": \"QMP input must be a JSON object\"}}");
    exchange(&q, "{\"execute\": \"stop\", \"arguments\": 5}",
             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
             "'arguments' must be an object\"}}");
    exchange(&q, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"ghost\"}}",
             "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'ghost' not "
             "found\"}}");
    exchange(&q, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"/machine/ioapic\"}}",
             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device 'ioapic' does not "
             "support hotplugging\"}}");
    tc_write(q.fd, "{\"execute\": tru}\n");
    line = tc_read_line(q.fd);
    g_assert_true(g_str_has_prefix(line, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                                         "\"JSON parse error, "));
    g_free(line);
    tc_write(q.fd, "}\n");
    line = tc_read_line(q.fd);
    g_assert_nonnull(strstr(line, "\"class\": \"GenericError\""));
    g_free(line);
    /* Still serving after all that. */
    exchange(&q, "{\"execute\": \"query-version\"}",
             "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 10}, "
             "\"package\": \"aperture-0.1.0\"}}");
    qmp_quit(&q);
}

static void test_start_stopped(void)
{
    Qmp q;

    qmp_start_server(&q, "prelaunch.sock", "-S");
    negotiate(&q);
    expect_status(&q, false, "prelaunch");
    change_run_state(&q, "cont", "RESUME", true, "running");
    qmp_quit(&q);
}

/* QEMU's libqtest: the test listens, the binary connects through -chardev/-mon. */
static void test_client_mode(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "client.sock", NULL);
    g_autofree char *args = g_strdup_printf("-chardev socket,path=%s,id=char0 -mon "
                                            "chardev=char0,mode=control -display none "
                                            "-audio none -accel qtest", sock);
    Qmp q;
    int lfd = qmp_start_client(&q, args, sock);

    negotiate(&q);
    expect_status(&q, true, "running");
    qmp_quit_client(&q, lfd, sock);
}

/* -qmp unix:PATH without server=on connects too. */
static void test_qmp_client_short_form(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "short.sock", NULL);
    g_autofree char *args = g_strdup_printf("-qmp unix:%s -display none", sock);
    Qmp q;
    int lfd = qmp_start_client(&q, args, sock);

    negotiate(&q);
    qmp_quit_client(&q, lfd, sock);
}

/* The peer hanging up does not end the VM; a new connection is greeted again. */
static void test_reconnect_to_server(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "again.sock", NULL);
    Qmp q;

    qmp_start_server(&q, "again.sock", "");
    negotiate(&q);
    close(q.fd);
    q.fd = tc_connect(sock);
    expect_greeting(&q);
    exchange(&q, "{\"execute\": \"stop\"}",
             "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities "
             "negotiation with 'qmp_capabilities'\"}}");
    negotiate(&q);
    qmp_quit(&q);
}

/* server=on without wait=off: the machine waits for the first client. */
static void test_server_waits_for_client(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "wait.sock", NULL);
    g_autofree char *args = g_strdup_printf("-qmp unix:%s,server=on -display none", sock);
    Qmp q;

    qmp_spawn_and_connect(&q, args, sock);
    negotiate(&q);
    expect_status(&q, true, "running");
    qmp_quit(&q);
}

/* The first user-creatable device on a PCI bus that `-device help` lists, or NULL. */
static char *find_pci_device(void)
{
    const char *args[] = { "-device", "help", NULL };
    TcRun r = tc_run_argv(args);
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    char *found = NULL;

    for (int i = 0; lines[i] && !found; i++) {
        if (g_str_has_prefix(lines[i], "name \"") && strstr(lines[i], "\", bus PCI")) {
            found = g_strndup(lines[i] + 6, strchr(lines[i] + 6, '"') - (lines[i] + 6));
        }
    }
    tc_run_free(&r);
    return found;
}

/*
 * device_del: {"return": {}} and DEVICE_DELETED once the device is gone;
 * device_add hot-plugs.
 */
static void test_device_del(void)
{
    g_autofree char *driver = find_pci_device();
    g_autofree char *extra = NULL;
    Qmp q;

    if (!driver) {
        g_test_skip("no hot-pluggable PCI device type in this build");
        return;
    }
    /* QEMU's JSON form of -device. */
    extra = g_strdup_printf("-device {\"driver\":\"%s\",\"id\":\"hp0\"}", driver);
    qmp_start_server(&q, "devdel.sock", extra);
    negotiate(&q);
    device_del_and_wait(&q, "hp0", g_str_has_suffix,
                        "\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"hp0\", "
                        "\"path\": \"/machine/peripheral/hp0\"}}");
    exchange(&q, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"hp0\"}}",
             "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'hp0' not "
             "found\"}}");

    /* device_add hot-plugs one; it can be removed again. */
    {
        g_autofree char *add = g_strdup_printf("{\"execute\": \"device_add\", \"arguments\": "
                                               "{\"driver\": \"%s\", \"id\": \"hp1\"}}",
                                               driver);

        exchange(&q, add, "{\"return\": {}}");
        exchange(&q, add, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"Duplicate ID 'hp1' for device\"}}");
    }
    device_del_and_wait(&q, "hp1", contains,
                        "\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"hp1\"");
    exchange(&q, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"ioapic\"}}",
             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'driver' "
             "expects a pluggable device type ('ioapic')\"}}");
    exchange(&q, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"x\"}}",
             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'driver' "
             "is missing\"}}");
    exchange(&q, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": [1]}}",
             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter "
             "type for 'driver', expected: scalar\"}}");
    qmp_quit(&q);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    tmpdir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
    g_test_add_func("/qmp/binary/session", test_session);
    g_test_add_func("/qmp/binary/bad-input", test_bad_input);
    g_test_add_func("/qmp/binary/start-stopped", test_start_stopped);
    g_test_add_func("/qmp/binary/client-mode-chardev-mon", test_client_mode);
    g_test_add_func("/qmp/binary/client-mode-short-form", test_qmp_client_short_form);
    g_test_add_func("/qmp/binary/reconnect-to-server", test_reconnect_to_server);
    g_test_add_func("/qmp/binary/server-waits-for-client", test_server_waits_for_client);
    g_test_add_func("/qmp/binary/device-del", test_device_del);
    ret = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
