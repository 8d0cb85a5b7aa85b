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

/* The two ends of one migration and the URI between them. */
typedef struct {
    QTestState *src;
    QTestState *dst;
    char *uri;
} Migration;

/* A destination listening on mig_tmpdir()/@sock_name, then its source. */
static void start_unix(Migration *m, const char *sock_name)
{
    g_autofree char *sock = mig_path(sock_name);

    m->uri = g_strdup_printf("unix:%s", sock);
    m->dst = start_dest(m->uri);
    m->src = start_source();
}

static void end_migration(Migration *m)
{
    qtest_quit(m->src);
    qtest_quit(m->dst);
    g_free(m->uri);
}

static void migrate_and_check(Migration *m)
{
    g_autofree char *rs = NULL;

    mig_set_param(m->src, "max-bandwidth", 0);
    mig_migrate(m->src, m->uri);
    mig_wait_completed(m->src, m->dst);
    rs = mig_runstate(m->dst);
    g_assert_cmpstr(rs, ==, "running");
    check_same_memory(m->src, m->dst);
}

/* What the channel tests share once both ends are up: the small guest goes over. */
static void migrate_filled_guest(Migration *m)
{
    fill_guest(m->src);
    migrate_and_check(m);
    end_migration(m);
}

/* A limited bandwidth keeps the migration in pre-copy long enough to act on it. */
static void start_throttled(Migration *m, const char *sock_name, uint64_t size, uint32_t seed,
                            int64_t bandwidth)
{
    start_unix(m, sock_name);
    mig_fill(m->src, 0, size, seed);
    mig_set_param(m->src, "max-bandwidth", bandwidth);
    mig_migrate(m->src, m->uri);
}

/* As start_throttled, returning once pre-copy runs: what the test does next meets it there. */
static void start_throttled_active(Migration *m, const char *sock_name, uint64_t size,
                                   uint32_t seed, int64_t bandwidth)
{
    start_throttled(m, sock_name, size, seed, bandwidth);
    g_free(mig_wait_status(m->src, 10, "active", NULL));
}

static void finish_unthrottled(Migration *m)
{
    mig_set_param(m->src, "max-bandwidth", 0);
    mig_wait_completed(m->src, m->dst);
    check_same_memory(m->src, m->dst);
}

/* After a migration that did not finish, the source runs on and can migrate again. */
static void expect_source_migrates_again(Migration *m)
{
    g_autofree char *rs = mig_runstate(m->src);

    g_assert_cmpstr(rs, ==, "running");
    m->dst = start_dest(m->uri);
    migrate_and_check(m);
    end_migration(m);
}

static void test_unix(void)
{
    Migration m;

    start_unix(&m, "unix.sock");
    migrate_filled_guest(&m);
}

static void test_tcp(void)
{
    Migration m;
    JsonObject *info;
    JsonArray *addrs;
    JsonObject *a;

    m.dst = start_dest("tcp:127.0.0.1:0");
    m.src = start_source();
    info = mig_qmp(m.dst, "{'execute': 'query-migrate'}");
    /* Port 0: the destination picked one and says which. */
    g_assert_cmpstr(json_object_get_string_member(info, "status"), ==, "setup");
    addrs = json_object_get_array_member(info, "socket-address");
    g_assert_cmpuint(json_array_get_length(addrs), ==, 1);
    a = json_array_get_object_element(addrs, 0);
    g_assert_cmpstr(json_object_get_string_member(a, "type"), ==, "inet");
    g_assert_cmpstr(json_object_get_string_member(a, "host"), ==, "127.0.0.1");
    g_assert_cmpstr(json_object_get_string_member(a, "port"), !=, "0");
    m.uri = g_strdup_printf("tcp:127.0.0.1:%s", json_object_get_string_member(a, "port"));
    json_object_unref(info);
    migrate_filled_guest(&m);
}

/*
 * A destination on @incoming, or a source when NULL, that inherits fd @keep
 * (every other end stays close-on-exec).
 */
static QTestState *start_with_fd(int keep, const char *incoming)
{
    QTestState *s;

    g_assert_cmpint(fcntl(keep, F_SETFD, 0), ==, 0);
    s = incoming ? start_dest(incoming) : start_source();
    g_assert_cmpint(fcntl(keep, F_SETFD, FD_CLOEXEC), ==, 0);
    return s;
}

static void test_fd(void)
{
    int sv[2];
    g_autofree char *incoming = NULL;
    Migration m;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    incoming = g_strdup_printf("fd:%d", sv[0]);
    m.dst = start_with_fd(sv[0], incoming);
    m.src = start_with_fd(sv[1], NULL);
    close(sv[0]);
    close(sv[1]);
    /* The number is the source process's own copy of the socket. */
    m.uri = g_strdup_printf("fd:%d", sv[1]);
    migrate_filled_guest(&m);
}

static void test_defer(void)
{
    g_autofree char *sock = mig_path("defer.sock");
    g_autofree char *st = NULL;
    g_autofree char *err = NULL;
    Migration m;
    JsonObject *r;

    m.uri = g_strdup_printf("unix:%s", sock);
    m.dst = start_dest("defer");
    m.src = start_source();
    st = mig_status(m.dst);
    /* Nothing listens before migrate-incoming. */
    g_assert_cmpstr(st, ==, "none");
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    r = mig_qmp(m.dst, "{'execute': 'migrate-incoming', 'arguments': {'uri': '%s'}}", m.uri);
    json_object_unref(r);
    err = mig_qmp_error(m.dst, "{'execute': 'migrate-incoming', 'arguments': {'uri': '%s'}}",
                        m.uri);
    g_assert_cmpstr(err, ==, "The incoming migration has already been started");
    migrate_filled_guest(&m);
}

/* A filled source migrated to @uri (file:); no destination runs meanwhile. */
static QTestState *save_to_file(const char *uri)
{
    QTestState *src = start_source();

    fill_guest(src);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 60, "completed", NULL));
    return src;
}

static void test_file(void)
{
    g_autofree char *file = mig_path("stream.bin");
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    QTestState *src = save_to_file(uri);
    QTestState *dst;
    g_autofree char *rs = NULL;

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
    Migration m;
    JsonObject *info;
    int writes = 0;

    /* 8 MiB at 16 MiB/s: half a second of pre-copy, at least. */
    start_throttled(&m, "dirty.sock", 8 << 20, 3, 16 << 20);
    for (gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC; g_get_monotonic_time() < end;) {
        uint64_t page = g_test_rand_int_range(0, RAM_MB * 256);

        qtest_writeq(m.src, page * 4096 + 8 * (writes % 512), 0x1234567800000000ULL | writes);
        writes++;
    }
    g_test_message("%d writes during pre-copy", writes);
    /* Stop writing and let it converge. */
    finish_unthrottled(&m);
    info = mig_qmp(m.src, "{'execute': 'query-migrate'}");
    /* More than the first pass: the written pages were found by dirty syncs. */
    g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(info, "ram"),
                                               "dirty-sync-count"), >=, 2);
    json_object_unref(info);
    end_migration(&m);
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
    g_autofree char *rs = NULL;
    Migration m;
    JsonObject *info;

    start_unix(&m, "events.sock");
    rs = mig_runstate(m.dst);
    g_assert_cmpstr(rs, ==, "inmigrate");
    fill_guest(m.src);
    mig_migrate(m.src, m.uri);
    /* The VM stops, then its last state goes out. */
    expect_event_status(m.src, "setup");
    expect_event_status(m.src, "active");
    qtest_qmp_eventwait(m.src, "STOP");
    expect_event_status(m.src, "device");
    expect_event_status(m.src, "completed");
    expect_event_status(m.dst, "active");
    expect_event_status(m.dst, "completed");
    qtest_qmp_eventwait(m.dst, "RESUME");
    mig_wait_completed(m.src, m.dst);

    info = mig_qmp(m.src, "{'execute': 'query-migrate'}");
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
    end_migration(&m);
}

static void test_cancel(void)
{
    Migration m;
    JsonObject *r;

    start_throttled_active(&m, "cancel.sock", 8 << 20, 4, 1 << 20);
    r = mig_qmp(m.src, "{'execute': 'migrate_cancel'}");
    json_object_unref(r);
    g_free(mig_wait_status(m.src, 10, "cancelled", NULL));
    /* The destination saw half a stream: it fails and exits 1. */
    qtest_set_expected_status(m.dst, 1);
    g_assert_true(WIFEXITED(qtest_wait_exit(m.dst)));
    qtest_quit(m.dst);
    expect_source_migrates_again(&m);
}

static void test_destination_killed(void)
{
    Migration m;
    JsonObject *info;

    start_throttled_active(&m, "killed.sock", 8 << 20, 5, 2 << 20);
    kill(qtest_pid(m.dst), SIGKILL);
    /* Killed: qtest_quit would call that a failure; its state is dropped. */
    m.dst = NULL;
    g_free(mig_wait_status(m.src, 30, "failed", NULL));
    info = mig_qmp(m.src, "{'execute': 'query-migrate'}");
    g_test_message("error-desc: %s", json_object_get_string_member(info, "error-desc"));
    g_assert_true(json_object_has_member(info, "error-desc"));
    json_object_unref(info);
    expect_source_migrates_again(&m);
}

static void test_pause_before_switchover(void)
{
    g_autofree char *rs = NULL;
    g_autofree char *err = NULL;
    Migration m;
    JsonObject *r;

    start_unix(&m, "pause.sock");
    fill_guest(m.src);
    err = mig_qmp_error(m.src, "{'execute': 'migrate-continue', "
                        "'arguments': {'state': 'pre-switchover'}}");
    g_assert_cmpstr(err, ==, "Migration not in expected state: none");
    mig_set_cap(m.src, "pause-before-switchover", true);
    mig_migrate(m.src, m.uri);
    g_free(mig_wait_status(m.src, 30, "pre-switchover", NULL));
    /* Paused with the VM stopped, and QMP answers meanwhile. */
    rs = mig_runstate(m.src);
    g_assert_cmpstr(rs, ==, "finish-migrate");
    r = mig_qmp(m.src,
                "{'execute': 'migrate-continue', 'arguments': {'state': 'pre-switchover'}}");
    json_object_unref(r);
    mig_wait_completed(m.src, m.dst);
    check_same_memory(m.src, m.dst);
    end_migration(&m);
}

static void test_switchover_ack_ram_only(void)
{
    Migration m;

    start_unix(&m, "ack.sock");
    mig_set_cap(m.src, "switchover-ack", true);
    mig_set_cap(m.dst, "switchover-ack", true);
    /* No device needs approval: the destination approves at once. */
    migrate_filled_guest(&m);
}

/* QMP and qtest keep answering while the migration thread works. */
static void test_monitor_responsive(void)
{
    Migration m;
    gint64 worst = 0;
    int rounds = 0;

    start_throttled_active(&m, "resp.sock", 16 << 20, 6, 16 << 20);
    for (gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC / 2;
         g_get_monotonic_time() < end; rounds++) {
        gint64 t0 = g_get_monotonic_time();
        g_autofree char *rs = mig_runstate(m.src);

        qtest_readl(m.src, 0x1000);
        worst = MAX(worst, g_get_monotonic_time() - t0);
        g_assert_cmpstr(rs, ==, "running");
    }
    g_test_message("%d QMP + qtest round trips during pre-copy, slowest %" G_GINT64_FORMAT
                   " us", rounds, worst);
    g_assert_cmpint(worst, <, 200 * 1000);
    finish_unthrottled(&m);
    end_migration(&m);
}

/* @partial: the message carries details of its own and need only contain @desc. */
static const struct {
    const char *cmd;
    const char *desc;
    bool partial;
} qmp_refusals[] = {
    { "{'execute': 'migrate', 'arguments': {'uri': 'exec:cat'}}",
      "unknown migration protocol", true },
    { "{'execute': 'migrate', 'arguments': {'uri': 'unix:/nonexistent/x.sock'}}",
      "cannot connect to '/nonexistent/x.sock'", true },
    { "{'execute': 'migrate', 'arguments': {'uri': 'tcp:localhost'}}",
      "expected tcp:HOST:PORT", true },
    { "{'execute': 'migrate-incoming', 'arguments': {'uri': 'unix:/x'}}",
      "'-incoming' was not specified on the command line", false },
    { "{'execute': 'migrate-set-parameters', 'arguments': {'downtime-limit': -1}}",
      "downtime_limit", true },
    { "{'execute': 'migrate-set-parameters', 'arguments': {'no-such-parameter': 1}}",
      "Parameter 'no-such-parameter' is unexpected", false },
    { "{'execute': 'migrate-set-capabilities', 'arguments': "
      "{'capabilities': [{'capability': 'postcopy-ram', 'state': true}]}}",
      "Parameter 'capability' does not accept value 'postcopy-ram'", false },
    { "{'execute': 'migrate-set-capabilities', 'arguments': "
      "{'capabilities': [{'capability': 'return-path', 'state': false}, "
      "{'capability': 'switchover-ack', 'state': true}]}}",
      "Capability 'switchover-ack' requires capability 'return-path'", false },
};

static void test_qmp_errors(void)
{
    QTestState *s = start_source();
    JsonObject *info = mig_qmp(s, "{'execute': 'query-migrate'}");
    JsonObject *params;

    /* No migration yet: an empty answer, as QEMU's. */
    g_assert_cmpuint(json_object_get_size(info), ==, 0);
    json_object_unref(info);

    for (size_t i = 0; i < G_N_ELEMENTS(qmp_refusals); i++) {
        g_autofree char *err = mig_qmp_error(s, "%s", qmp_refusals[i].cmd);

        /* Names the command when a partial match fails. */
        g_test_message("%s: %s", qmp_refusals[i].cmd, err);
        if (qmp_refusals[i].partial) {
            g_assert_nonnull(strstr(err, qmp_refusals[i].desc));
        } else {
            g_assert_cmpstr(err, ==, qmp_refusals[i].desc);
        }
    }

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

    if (good_stream) {
        return;
    }
    qtest_quit(save_to_file(uri));
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

/* A fresh copy each time, so that no alteration reaches the next case. */
static void expect_altered_refused(gsize off, uint8_t byte, const char *fragment)
{
    g_autofree uint8_t *copy = g_memdup2(good_stream, good_len);

    copy[off] = byte;
    expect_stream_refused(copy, good_len, "-m 32", fragment);
}

static void test_stream_corrupt(void)
{
    g_autofree char *noise = g_strnfill(4096, 'z');

    make_good_stream();
    expect_altered_refused(0, 'X', "not an Aperture migration stream");
    expect_altered_refused(40, good_stream[40] ^ 0x10, "the configuration record is corrupt");
    /* The end marker's byte count. */
    expect_altered_refused(good_len - 1, good_stream[good_len - 1] ^ 0x01,
                           "the stream is corrupt");
    expect_stream_refused(noise, 4096, "-m 32", "not an Aperture migration stream");
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
