/*
 * Live migration of RAM between two aperture processes (migration/):
 * every channel (unix, tcp, fd, file, -incoming defer), pages written
 * during pre-copy, the destination's memory equal to the source's byte for
 * byte, events and run states, cancel, a destination that dies, the pause
 * before switchover, QMP and qtest answering during a migration, and
 * truncated, corrupt and mismatched streams refused by -incoming with one
 * clear line and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test-migration-util.h"

#define RAM_MB      32
#define RAM_BYTES   ((uint64_t)RAM_MB << 20)
#define MACHINE     "-machine q35 -m 32"

static QTestState *start_source(void)
{
    return qtest_init(MACHINE);
}

static QTestState *start_dest(const char *incoming)
{
    return qtest_initf(MACHINE " -incoming %s", incoming);
}

/* Some data, a lot of zero pages: what a small guest looks like. */
static void fill_guest(QTestState *s)
{
    mig_fill(s, 0x100000, 4 << 20, 1);
    mig_fill(s, 20 << 20, 1 << 20, 2);
    qtest_memset(s, 0x7000, 0x5a, 4096);
}

static void check_same_memory(QTestState *src, QTestState *dst)
{
    mig_assert_memory_equal(src, dst, 0, RAM_BYTES);
}

static void migrate_and_check(QTestState *src, QTestState *dst, const char *uri)
{
    g_autofree char *rs = NULL;

    mig_set_param(src, "max-bandwidth", 0);
    mig_migrate(src, uri);
    mig_wait_completed(src, dst);
    rs = mig_runstate(dst);
    g_assert_cmpstr(rs, ==, "running");
    check_same_memory(src, dst);
}

static void test_unix(void)
{
    g_autofree char *sock = mig_path("unix.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();

    fill_guest(src);
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_tcp(void)
{
    QTestState *dst = start_dest("tcp:127.0.0.1:0");
    QTestState *src = start_source();
    JsonObject *info = mig_qmp(dst, "{'execute': 'query-migrate'}");
    JsonArray *addrs;
    JsonObject *a;
    g_autofree char *uri = NULL;

    /* Port 0: the destination picked one and says which. */
    g_assert_cmpstr(json_object_get_string_member(info, "status"), ==, "setup");
    addrs = json_object_get_array_member(info, "socket-address");
    g_assert_cmpuint(json_array_get_length(addrs), ==, 1);
    a = json_array_get_object_element(addrs, 0);
    g_assert_cmpstr(json_object_get_string_member(a, "type"), ==, "inet");
    g_assert_cmpstr(json_object_get_string_member(a, "host"), ==, "127.0.0.1");
    g_assert_cmpstr(json_object_get_string_member(a, "port"), !=, "0");
    uri = g_strdup_printf("tcp:127.0.0.1:%s", json_object_get_string_member(a, "port"));
    json_object_unref(info);

    fill_guest(src);
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

/* Spawn with fd @keep inherited (every other end stays close-on-exec). */
static QTestState *start_with_fd(int keep, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static QTestState *start_with_fd(int keep, const char *fmt, ...)
{
    g_autofree char *args = NULL;
    QTestState *s;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_assert_cmpint(fcntl(keep, F_SETFD, 0), ==, 0);
    s = qtest_init(args);
    g_assert_cmpint(fcntl(keep, F_SETFD, FD_CLOEXEC), ==, 0);
    return s;
}

static void test_fd(void)
{
    int sv[2];
    QTestState *src, *dst;
    g_autofree char *uri = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    dst = start_with_fd(sv[0], MACHINE " -incoming fd:%d", sv[0]);
    src = start_with_fd(sv[1], MACHINE);
    close(sv[0]);
    close(sv[1]);
    fill_guest(src);
    /* The number is the source process's own copy of the socket. */
    uri = g_strdup_printf("fd:%d", sv[1]);
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_defer(void)
{
    g_autofree char *sock = mig_path("defer.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest("defer");
    QTestState *src = start_source();
    g_autofree char *st = mig_status(dst);
    g_autofree char *err = NULL;
    JsonObject *r;

    /* Nothing listens before migrate-incoming. */
    g_assert_cmpstr(st, ==, "none");
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    r = mig_qmp(dst, "{'execute': 'migrate-incoming', 'arguments': {'uri': '%s'}}", uri);
    json_object_unref(r);
    err = mig_qmp_error(dst, "{'execute': 'migrate-incoming', 'arguments': {'uri': '%s'}}",
                        uri);
    g_assert_cmpstr(err, ==, "The incoming migration has already been started");
    fill_guest(src);
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_file(void)
{
    g_autofree char *file = mig_path("stream.bin");
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    QTestState *src = start_source();
    QTestState *dst;
    g_autofree char *st = NULL;
    g_autofree char *rs = NULL;

    fill_guest(src);
    mig_migrate(src, uri);
    st = mig_wait_status(src, 60, "completed", NULL);
    /* No return path: the source completes when the file is written. */
    rs = mig_runstate(src);
    g_assert_cmpstr(rs, ==, "postmigrate");

    dst = start_dest(uri);
    g_free(mig_wait_status(dst, 60, "completed", NULL));
    check_same_memory(src, dst);
    qtest_quit(src);
    qtest_quit(dst);
}

/* Pages written by the guest (qtest) while RAM is being sent arrive too. */
static void test_dirty_during_precopy(void)
{
    g_autofree char *sock = mig_path("dirty.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();
    JsonObject *info;
    int writes = 0;

    mig_fill(src, 0, 8 << 20, 3);
    /* 8 MiB at 16 MiB/s: half a second of pre-copy, at least. */
    mig_set_param(src, "max-bandwidth", 16 << 20);
    mig_migrate(src, uri);
    for (gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC; g_get_monotonic_time() < end;) {
        uint64_t page = g_test_rand_int_range(0, RAM_MB * 256);

        qtest_writeq(src, page * 4096 + 8 * (writes % 512), 0x1234567800000000ULL | writes);
        writes++;
    }
    g_test_message("%d writes during pre-copy", writes);
    /* Stop writing and let it converge. */
    mig_set_param(src, "max-bandwidth", 0);
    mig_wait_completed(src, dst);
    info = mig_qmp(src, "{'execute': 'query-migrate'}");
    /* More than the first pass: the written pages were found by dirty syncs. */
    g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(info, "ram"),
                                               "dirty-sync-count"), >=, 2);
    json_object_unref(info);
    check_same_memory(src, dst);
    qtest_quit(src);
    qtest_quit(dst);
}

static void expect_event_status(QTestState *s, const char *status)
{
    JsonObject *ev = qtest_qmp_eventwait_ref(s, "MIGRATION");

    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(ev, "data"),
                                                  "status"), ==, status);
    json_object_unref(ev);
}

static void test_events_and_runstates(void)
{
    g_autofree char *sock = mig_path("events.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();
    g_autofree char *rs = mig_runstate(dst);
    JsonObject *info;

    g_assert_cmpstr(rs, ==, "inmigrate");
    fill_guest(src);
    mig_migrate(src, uri);
    /* The VM stops, then its last state goes out. */
    expect_event_status(src, "setup");
    expect_event_status(src, "active");
    qtest_qmp_eventwait(src, "STOP");
    expect_event_status(src, "device");
    expect_event_status(src, "completed");
    expect_event_status(dst, "active");
    expect_event_status(dst, "completed");
    qtest_qmp_eventwait(dst, "RESUME");
    mig_wait_completed(src, dst);

    info = mig_qmp(src, "{'execute': 'query-migrate'}");
    g_assert_true(json_object_has_member(info, "downtime"));
    g_assert_true(json_object_has_member(info, "setup-time"));
    g_assert_true(json_object_has_member(info, "total-time"));
    {
        JsonObject *ram = json_object_get_object_member(info, "ram");

        g_assert_cmpint(json_object_get_int_member(ram, "total"), ==, RAM_BYTES + 0);
        g_assert_cmpint(json_object_get_int_member(ram, "remaining"), ==, 0);
        g_assert_cmpint(json_object_get_int_member(ram, "normal"), >=, (5 << 20) / 4096);
        g_assert_cmpint(json_object_get_int_member(ram, "duplicate"), >, 0);
        g_assert_cmpint(json_object_get_int_member(ram, "transferred"), <, 8 << 20);
    }
    json_object_unref(info);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_cancel(void)
{
    g_autofree char *sock = mig_path("cancel.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();
    g_autofree char *rs = NULL;
    JsonObject *r;

    mig_fill(src, 0, 8 << 20, 4);
    mig_set_param(src, "max-bandwidth", 1 << 20);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 10, "active", NULL));
    r = mig_qmp(src, "{'execute': 'migrate_cancel'}");
    json_object_unref(r);
    g_free(mig_wait_status(src, 10, "cancelled", NULL));
    rs = mig_runstate(src);
    g_assert_cmpstr(rs, ==, "running");
    /* The destination saw half a stream: it fails and exits 1. */
    qtest_set_expected_status(dst, 1);
    g_assert_true(WIFEXITED(qtest_wait_exit(dst)));
    qtest_quit(dst);

    /* The source can migrate again, and what arrives is right. */
    dst = start_dest(uri);
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_destination_killed(void)
{
    g_autofree char *sock = mig_path("killed.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();
    g_autofree char *rs = NULL;
    JsonObject *info;

    mig_fill(src, 0, 8 << 20, 5);
    mig_set_param(src, "max-bandwidth", 2 << 20);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 10, "active", NULL));
    kill(qtest_pid(dst), SIGKILL);
    /* Killed: qtest_quit would call that a failure; its state is dropped. */
    dst = NULL;
    g_free(mig_wait_status(src, 30, "failed", NULL));
    info = mig_qmp(src, "{'execute': 'query-migrate'}");
    g_test_message("error-desc: %s", json_object_get_string_member(info, "error-desc"));
    g_assert_true(json_object_has_member(info, "error-desc"));
    json_object_unref(info);
    rs = mig_runstate(src);
    g_assert_cmpstr(rs, ==, "running");

    dst = start_dest(uri);
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_pause_before_switchover(void)
{
    g_autofree char *sock = mig_path("pause.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();
    g_autofree char *rs = NULL;
    g_autofree char *err = NULL;
    JsonObject *r;

    fill_guest(src);
    err = mig_qmp_error(src, "{'execute': 'migrate-continue', "
                        "'arguments': {'state': 'pre-switchover'}}");
    g_assert_cmpstr(err, ==, "Migration not in expected state: none");
    mig_set_cap(src, "pause-before-switchover", true);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 30, "pre-switchover", NULL));
    /* Paused with the VM stopped, and QMP answers meanwhile. */
    rs = mig_runstate(src);
    g_assert_cmpstr(rs, ==, "finish-migrate");
    r = mig_qmp(src, "{'execute': 'migrate-continue', 'arguments': {'state': 'pre-switchover'}}");
    json_object_unref(r);
    mig_wait_completed(src, dst);
    check_same_memory(src, dst);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_switchover_ack_ram_only(void)
{
    g_autofree char *sock = mig_path("ack.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();

    mig_set_cap(src, "switchover-ack", true);
    mig_set_cap(dst, "switchover-ack", true);
    fill_guest(src);
    /* No device needs approval: the destination approves at once. */
    migrate_and_check(src, dst, uri);
    qtest_quit(src);
    qtest_quit(dst);
}

/* QMP and qtest keep answering while the migration thread works. */
static void test_monitor_responsive(void)
{
    g_autofree char *sock = mig_path("resp.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst = start_dest(uri);
    QTestState *src = start_source();
    gint64 worst = 0;
    int rounds = 0;

    mig_fill(src, 0, 16 << 20, 6);
    mig_set_param(src, "max-bandwidth", 16 << 20);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 10, "active", NULL));
    for (gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC / 2;
         g_get_monotonic_time() < end; rounds++) {
        gint64 t0 = g_get_monotonic_time();
        g_autofree char *rs = mig_runstate(src);

        qtest_readl(src, 0x1000);
        worst = MAX(worst, g_get_monotonic_time() - t0);
        g_assert_cmpstr(rs, ==, "running");
    }
    g_test_message("%d QMP + qtest round trips during pre-copy, slowest %" G_GINT64_FORMAT
                   " us", rounds, worst);
    g_assert_cmpint(worst, <, 200 * 1000);
    mig_set_param(src, "max-bandwidth", 0);
    mig_wait_completed(src, dst);
    check_same_memory(src, dst);
    qtest_quit(src);
    qtest_quit(dst);
}

static void test_qmp_errors(void)
{
    QTestState *s = start_source();
    JsonObject *info = mig_qmp(s, "{'execute': 'query-migrate'}");
    JsonObject *params;
    char *err;

    /* No migration yet: an empty answer, as QEMU's. */
    g_assert_cmpuint(json_object_get_size(info), ==, 0);
    json_object_unref(info);

    err = mig_qmp_error(s, "{'execute': 'migrate', 'arguments': {'uri': 'exec:cat'}}");
    g_assert_nonnull(strstr(err, "unknown migration protocol"));
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate', 'arguments': {'uri': 'unix:%s'}}",
                        "/nonexistent/x.sock");
    g_assert_nonnull(strstr(err, "cannot connect to '/nonexistent/x.sock'"));
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate', 'arguments': {'uri': 'tcp:localhost'}}");
    g_assert_nonnull(strstr(err, "expected tcp:HOST:PORT"));
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate-incoming', 'arguments': {'uri': 'unix:/x'}}");
    g_assert_cmpstr(err, ==, "'-incoming' was not specified on the command line");
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate-set-parameters', "
                        "'arguments': {'downtime-limit': -1}}");
    g_assert_nonnull(strstr(err, "downtime_limit"));
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate-set-parameters', "
                        "'arguments': {'no-such-parameter': 1}}");
    g_assert_cmpstr(err, ==, "Parameter 'no-such-parameter' is unexpected");
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate-set-capabilities', 'arguments': "
                        "{'capabilities': [{'capability': 'postcopy-ram', 'state': true}]}}");
    g_assert_cmpstr(err, ==, "Parameter 'capability' does not accept value 'postcopy-ram'");
    g_free(err);
    err = mig_qmp_error(s, "{'execute': 'migrate-set-capabilities', 'arguments': "
                        "{'capabilities': [{'capability': 'return-path', 'state': false}, "
                        "{'capability': 'switchover-ack', 'state': true}]}}");
    g_assert_cmpstr(err, ==, "Capability 'switchover-ack' requires capability 'return-path'");
    g_free(err);

    mig_set_param(s, "downtime-limit", 123);
    mig_set_param(s, "max-bandwidth", 1 << 30);
    params = mig_qmp(s, "{'execute': 'query-migrate-parameters'}");
    g_assert_cmpint(json_object_get_int_member(params, "downtime-limit"), ==, 123);
    g_assert_cmpint(json_object_get_int_member(params, "max-bandwidth"), ==, 1 << 30);
    json_object_unref(params);
    qtest_quit(s);
}

/* ------------------------------------------------------------------------ */
/* Streams fed to -incoming file: */

static uint8_t *good_stream;
static gsize good_len;

/* A stream of a 32 MiB guest, made once. */
static void make_good_stream(void)
{
    g_autofree char *file = mig_path("good.bin");
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    QTestState *src;

    if (good_stream) {
        return;
    }
    src = start_source();
    fill_guest(src);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 60, "completed", NULL));
    qtest_quit(src);
    g_assert_true(g_file_get_contents(file, (char **)&good_stream, &good_len, NULL));
}

/* Run a destination on @data; it must exit 1 saying @fragment on one line. */
static void expect_stream_refused(const void *data, size_t len, const char *extra,
                                  const char *fragment)
{
    g_autofree char *file = mig_path("bad.bin");
    g_autofree char *args = g_strdup_printf("-machine q35 %s -accel qtest -display none "
                                            "-incoming file:%s", extra, file);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int status;

    g_assert_true(g_file_set_contents(file, data, len, NULL));
    status = qtest_run_binary(args, &out, &err);
    g_test_message("stderr: %s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_true(g_str_has_prefix(err, "aperture: load of migration failed: "));
    g_assert_nonnull(strstr(err, fragment));
    /* One line. */
    g_assert_cmpuint(strlen(err), ==, strcspn(err, "\n") + 1);
}

static void test_stream_truncated(void)
{
    make_good_stream();
    expect_stream_refused(good_stream, good_len / 2, "-m 32", "the stream ends early");
    expect_stream_refused(good_stream, 10, "-m 32", "the stream ends early");
    expect_stream_refused(good_stream, 0, "-m 32", "the stream ends early");
    /* Everything but the end marker. */
    expect_stream_refused(good_stream, good_len - 9, "-m 32", "before the end marker");
}

static void test_stream_corrupt(void)
{
    g_autofree uint8_t *copy = NULL;

    make_good_stream();
    copy = g_memdup2(good_stream, good_len);
    copy[0] = 'X';
    expect_stream_refused(copy, good_len, "-m 32", "not an Aperture migration stream");
    memcpy(copy, good_stream, good_len);
    copy[40] ^= 0x10;
    expect_stream_refused(copy, good_len, "-m 32", "the configuration record is corrupt");
    memcpy(copy, good_stream, good_len);
    /* The end marker's byte count. */
    copy[good_len - 1] ^= 0x01;
    expect_stream_refused(copy, good_len, "-m 32", "the stream is corrupt");
    {
        g_autofree char *noise = g_strnfill(4096, 'z');

        expect_stream_refused(noise, 4096, "-m 32", "not an Aperture migration stream");
    }
}

static void test_stream_mismatched(void)
{
    make_good_stream();
    expect_stream_refused(good_stream, good_len, "-m 64",
                          "RAM block 'pc.ram' has 0x2000000 bytes on the source and "
                          "0x4000000 here");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    qtest_add_func("/migration/ram/unix", test_unix);
    qtest_add_func("/migration/ram/tcp-port-0", test_tcp);
    qtest_add_func("/migration/ram/fd", test_fd);
    qtest_add_func("/migration/ram/file", test_file);
    qtest_add_func("/migration/ram/incoming-defer", test_defer);
    qtest_add_func("/migration/ram/pages-written-during-precopy-arrive",
                   test_dirty_during_precopy);
    qtest_add_func("/migration/events-and-run-states", test_events_and_runstates);
    qtest_add_func("/migration/cancel-keeps-source-running", test_cancel);
    qtest_add_func("/migration/destination-killed-source-keeps-running",
                   test_destination_killed);
    qtest_add_func("/migration/pause-before-switchover", test_pause_before_switchover);
    qtest_add_func("/migration/switchover-ack-without-devices", test_switchover_ack_ram_only);
    qtest_add_func("/migration/qmp-and-qtest-answer-during-precopy", test_monitor_responsive);
    qtest_add_func("/migration/qmp/errors-and-parameters", test_qmp_errors);
    qtest_add_func("/migration/stream/truncated-refused", test_stream_truncated);
    qtest_add_func("/migration/stream/corrupt-refused", test_stream_corrupt);
    qtest_add_func("/migration/stream/mismatched-ram-refused", test_stream_mismatched);
    return g_test_run();
}
