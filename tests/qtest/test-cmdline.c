/*
 * The aperture command line, run as a user would: every malformed option
 * exits with status 1 and one line on stderr; help and version exit 0;
 * -daemonize, -pidfile and signals behave.
 */
#include "test-cmdline.h"

static char *tmpdir;

typedef struct BadCase {
    const char *args;       /* split at spaces */
    const char *line;       /* the one line expected on stderr (without "\n") */
} BadCase;

static void check_bad(gconstpointer data)
{
    const BadCase *c = data;
    g_autofree char *expect = g_strdup_printf("%s\n", c->line);
    TcRun r = tc_run(c->args);

    if (r.status != 1 || strcmp(r.err, expect) || *r.out) {
        g_test_message("aperture %s\n  expected: status 1, stderr '%s'\n"
                       "  got:      status %d, stderr '%s', stdout '%s'", c->args, c->line,
                       r.status, r.err, r.out);
    }
    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpstr(r.err, ==, expect);
    g_assert_cmpstr(r.out, ==, "");
    tc_run_free(&r);
}

static const BadCase bad_cases[] = {
    { "-m foo", "aperture: -m foo: invalid size 'foo'" },
    { "-m 1X", "aperture: -m 1X: invalid size '1X'" },
    { "-m -1", "aperture: -m -1: invalid size '-1'" },
    { "-m 1G,maxmem=big", "aperture: -m 1G,maxmem=big: invalid size 'big'" },
    { "-m 1G,maxmem=512M", "aperture: -m 1G,maxmem=512M: invalid value of maxmem: maximum "
                           "memory size (0x20000000) must be at least the initial memory size "
                           "(0x40000000)" },
    { "-m 1G,color=red", "aperture: -m 1G,color=red: Invalid parameter 'color'" },
    { "-m", "aperture: -m: requires an argument" },
    { "-bogus", "aperture: -bogus: invalid option" },
    { "--bogus", "aperture: -bogus: invalid option" },
    { "disk.img", "aperture: unexpected argument 'disk.img' (options start with '-')" },
    { "-accel kvm", "aperture: -accel kvm: accelerator 'kvm' is not supported (Aperture has "
                    "only 'qtest')" },
    { "-accel tcg", "aperture: -accel tcg: accelerator 'tcg' is not supported (Aperture has "
                    "only 'qtest')" },
    { "-machine q35,accel=kvm", "aperture: -machine q35,accel=kvm: accelerator 'kvm' is not "
                                "supported (Aperture has only 'qtest')" },
    { "-machine pc", "aperture: -machine pc: unsupported machine type 'pc' (use -machine "
                     "help to list them)" },
    { "-M q35,bogus=1", "aperture: -M q35,bogus=1: Invalid parameter 'bogus'" },
    { "-machine q35,memory-backend=nope", "aperture: -machine q35,memory-backend=nope: "
                                          "Memory backend 'nope' not found" },
    { "-device nope", "aperture: -device nope: 'nope' is not a valid device model name" },
    { "-device nope,help", "aperture: -device nope,help: 'nope' is not a valid device model "
                           "name" },
    { "-device ioapic", "aperture: -device ioapic: Parameter 'driver' expects a pluggable "
                        "device type ('ioapic')" },
    { "-device {\"driver\":\"nope\"}", "aperture: -device {\"driver\":\"nope\"}: 'nope' is not "
                                      "a valid device model name" },
    { "-device {\"driver\":null}", "aperture: -device {\"driver\":null}: Invalid parameter type "
                                   "for 'driver', expected: scalar" },
    { "-object memory-backend-ram,id=m0", "aperture: -object memory-backend-ram,id=m0: "
                                          "memory backend 'm0': can't create backend with "
                                          "size 0" },
    { "-object memory-backend-ram,size=1M", "aperture: -object memory-backend-ram,size=1M: "
                                            "Parameter 'id' is missing" },
    { "-object memory-backend-ram,id=m0,size=1M,share=maybe",
      "aperture: -object memory-backend-ram,id=m0,size=1M,share=maybe: Property "
      "'memory-backend-ram.share': invalid boolean 'maybe' (use on/off, yes/no or true/false)" },
    { "-object memory-backend-file,id=m0,size=1M", "aperture: -object "
      "memory-backend-file,id=m0,size=1M: memory backend 'm0': mem-path property not set" },
    { "-object memory-backend-ram,id=m0,size=64M -machine q35,memory-backend=m0 -m 128M",
      "aperture: -machine q35,memory-backend=m0: Machine memory size does not match the size "
      "of the memory backend (-m 0x8000000, backend 0x4000000)" },
    { "-object frobnicator,id=x", "aperture: -object frobnicator,id=x: Invalid parameter type "
                                  "for 'qom-type', expected: a user-creatable object type "
                                  "('frobnicator')" },
    { "-chardev socket,id=c0", "aperture: -chardev socket,id=c0: chardev: socket: a unix "
                               "socket path= is required (TCP is not supported)" },
    { "-chardev tcp,id=c0", "aperture: -chardev tcp,id=c0: 'tcp' is not a valid char driver "
                            "name" },
    { "-chardev null,id=c0 -chardev null,id=c0", "aperture: -chardev null,id=c0: Duplicate "
                                                 "chardev ID 'c0'" },
    { "-mon chardev=nochar,mode=control", "aperture: -mon chardev=nochar,mode=control: chardev "
                                          "\"nochar\" not found" },
    { "-chardev null,id=c0 -mon chardev=c0,mode=readline",
      "aperture: -mon chardev=c0,mode=readline: only mode=control (QMP) is supported" },
    { "-qmp tcp:localhost:4444", "aperture: -qmp tcp:localhost:4444: 'tcp:localhost:4444' is "
                                 "not a valid char driver (unix:PATH, stdio, file:PATH, null)" },
    { "-display gtk", "aperture: -display gtk: only 'none' is supported" },
    { "-audio pa", "aperture: -audio pa: only 'none' is supported" },
    { "-trace no_such_event_xyz", "aperture: -trace no_such_event_xyz: trace: no event named "
                                  "'no_such_event_xyz'" },
    { "-pidfile /nonexistent-dir/x.pid", "aperture: -pidfile /nonexistent-dir/x.pid: cannot "
      "create PID file: No such file or directory" },
    { "-name", "aperture: -name: requires an argument" },
};

/* Bad JSON for -device: one line (json-glib words the detail). */
static void test_device_bad_json(void)
{
    TcRun r = tc_run("-device {\"driver\":");

    g_assert_cmpint(r.status, ==, 1);
    g_assert_true(g_str_has_prefix(r.err, "aperture: -device {\"driver\":: JSON parse error, "));
    g_assert_nonnull(strchr(r.err, '\n'));
    g_assert_cmpstr(strchr(r.err, '\n'), ==, "\n");
    g_assert_cmpstr(r.out, ==, "");
    tc_run_free(&r);
}

static void test_version(void)
{
    TcRun r = tc_run("-version");

    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_str_has_prefix(r.out, "Aperture emulator version "));
    g_assert_cmpstr(r.err, ==, "");
    tc_run_free(&r);
}

static void test_help(void)
{
    TcRun r = tc_run("-help");

    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "usage: aperture [options]"));
    g_assert_nonnull(strstr(r.out, "-qmp unix:PATH"));
    g_assert_cmpstr(r.err, ==, "");
    tc_run_free(&r);
}

static void test_device_help(void)
{
    TcRun r = tc_run("-device help");

    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, !=, "");
    g_assert_cmpstr(r.err, ==, "");
    tc_run_free(&r);
    /* Any concrete device type can list its properties (ioapic has none). */
    r = tc_run("-device ioapic,help");
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "ioapic options:\nThere are no options for ioapic.\n");
    tc_run_free(&r);
}

static void test_machine_and_object_help(void)
{
    TcRun r = tc_run("-machine help");

    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "\nq35 "));
    tc_run_free(&r);
    r = tc_run("-object memory-backend-memfd,help");
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "memory-backend-memfd options:\n"));
    g_assert_nonnull(strstr(r.out, "  size=<size>"));
    tc_run_free(&r);
    r = tc_run("-trace help");
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "qdev_realize\n"));
    tc_run_free(&r);
}

/* Start with a QMP server socket and extra @args; returns the QMP fd after negotiation. */
static int start_with_qmp(const char *sock, const char *args, GPid *pid)
{
    g_autofree char *cmd = g_strdup_printf("-qmp unix:%s,server=on,wait=off%s%s", sock,
                                           *args ? " " : "", args);
    int fd;
    char *line;

    *pid = tc_spawn(cmd);
    fd = tc_connect(sock);
    line = tc_read_line(fd);
    g_assert_true(g_str_has_prefix(line, "{\"QMP\": "));
    g_free(line);
    tc_write(fd, "{\"execute\": \"qmp_capabilities\"}\n");
    line = tc_read_line(fd);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");
    g_free(line);
    return fd;
}

static void test_sigterm_exits_cleanly(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "term.sock", NULL);
    GPid pid;
    int fd = start_with_qmp(sock, "-nodefaults -display none -audio none -name guest=vm1",
                            &pid);
    char *line;

    tc_write(fd, "{\"execute\": \"query-name\"}\n");
    line = tc_read_line(fd);
    g_assert_cmpstr(line, ==, "{\"return\": {\"name\": \"vm1\"}}");
    g_free(line);
    kill(pid, SIGTERM);
    line = tc_read_line(fd);
    g_assert_nonnull(strstr(line, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
                                  "\"reason\": \"host-signal\"}}"));
    g_free(line);
    close(fd);
    g_assert_cmpint(tc_wait(pid), ==, 0);
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
}

static void test_daemonize_and_pidfile(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "daemon.sock", NULL);
    g_autofree char *pidfile = g_build_filename(tmpdir, "aperture.pid", NULL);
    g_autofree char *args = g_strdup_printf("-daemonize -pidfile %s -qmp "
                                            "unix:daemon.sock,server=on,wait=off", pidfile);
    g_autofree char *content = NULL;
    g_autofree char *cwd = g_get_current_dir();
    TcRun r;
    pid_t daemon_pid;
    char *line;
    int fd;

    g_assert_cmpint(chdir(tmpdir), ==, 0);
    r = tc_run(args);
    g_assert_cmpint(chdir(cwd), ==, 0);
    /* The parent returns once the daemon is up. */
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.err, ==, "");
    tc_run_free(&r);
    g_assert_true(g_file_get_contents(pidfile, &content, NULL, NULL));
    daemon_pid = atoi(content);
    g_assert_cmpint(daemon_pid, >, 1);
    g_assert_cmpint(kill(daemon_pid, 0), ==, 0);

    fd = tc_connect(sock);
    line = tc_read_line(fd);
    g_assert_true(g_str_has_prefix(line, "{\"QMP\": "));
    g_free(line);
    tc_write(fd, "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"quit\"}");
    g_free(tc_read_line(fd));
    g_free(tc_read_line(fd));
    /* The daemon is not our child: wait for it to go away and take its pidfile along. */
    for (int i = 0; i < TC_TIMEOUT_S * 100 && kill(daemon_pid, 0) == 0; i++) {
        g_usleep(10 * 1000);
    }
    g_assert_cmpint(kill(daemon_pid, 0), ==, -1);
    g_assert_false(g_file_test(pidfile, G_FILE_TEST_EXISTS));
    /* The daemon chdir'd to / but still removed its (relative) socket. */
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    close(fd);
}

static void test_daemonize_failure_reported(void)
{
    TcRun r = tc_run("-daemonize -machine q35,memory-backend=nope");

    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpstr(r.err, ==, "aperture: -machine q35,memory-backend=nope: Memory backend "
                               "'nope' not found\n");
    tc_run_free(&r);
}

static void test_memory_backends_start(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "mem.sock", NULL);
    g_autofree char *file = g_build_filename(tmpdir, "ram-file", NULL);
    g_autofree char *args = g_strdup_printf(
        "-m 3G -object memory-backend-memfd,id=mem0,size=3G,share=on "
        "-machine q35,memory-backend=mem0,accel=qtest -object "
        "memory-backend-file,id=f0,size=2M,mem-path=%s,prealloc=on", file);
    GPid pid;
    int fd = start_with_qmp(sock, args, &pid);
    char *line;

    tc_write(fd, "{\"execute\": \"quit\"}\n");
    line = tc_read_line(fd);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");
    g_free(line);
    close(fd);
    g_assert_cmpint(tc_wait(pid), ==, 0);
    unlink(file);
}

/* QMP over the process's stdin/stdout. */
static void test_qmp_stdio(void)
{
    const char *argv[] = { tc_binary(), "-qmp", "stdio", "-display", "none", NULL };
    GError *gerr = NULL;
    GPid pid;
    int in_fd, out_fd;
    char *line;

    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                           &in_fd, &out_fd, NULL, &gerr));
    line = tc_read_line(out_fd);
    g_assert_true(g_str_has_prefix(line, "{\"QMP\": "));
    g_free(line);
    tc_write(in_fd, "{\"execute\": \"qmp_capabilities\"}\n");
    line = tc_read_line(out_fd);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");
    g_free(line);
    tc_write(in_fd, "{\"execute\": \"quit\"}\n");
    line = tc_read_line(out_fd);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");
    g_free(line);
    g_assert_cmpint(tc_wait(pid), ==, 0);
    close(in_fd);
    close(out_fd);
}

/* QEMU's older spelling "server,nowait" still works. */
static void test_legacy_server_nowait(void)
{
    g_autofree char *sock = g_build_filename(tmpdir, "legacy.sock", NULL);
    g_autofree char *args = g_strdup_printf("-qmp unix:%s,server,nowait", sock);
    GPid pid = tc_spawn(args);
    int fd = tc_connect(sock);
    char *line = tc_read_line(fd);

    g_assert_true(g_str_has_prefix(line, "{\"QMP\": "));
    g_free(line);
    tc_write(fd, "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"quit\"}");
    g_free(tc_read_line(fd));
    g_free(tc_read_line(fd));
    close(fd);
    g_assert_cmpint(tc_wait(pid), ==, 0);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-cmdline-XXXXXX", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *name = g_strdup_printf("/cmdline/bad/%zu", i);

        g_test_add_data_func(name, &bad_cases[i], check_bad);
    }
    g_test_add_func("/cmdline/device-bad-json", test_device_bad_json);
    g_test_add_func("/cmdline/version", test_version);
    g_test_add_func("/cmdline/help", test_help);
    g_test_add_func("/cmdline/device-help", test_device_help);
    g_test_add_func("/cmdline/machine-object-trace-help", test_machine_and_object_help);
    g_test_add_func("/cmdline/sigterm-exits-cleanly", test_sigterm_exits_cleanly);
    g_test_add_func("/cmdline/daemonize-and-pidfile", test_daemonize_and_pidfile);
    g_test_add_func("/cmdline/daemonize-failure-reported", test_daemonize_failure_reported);
    g_test_add_func("/cmdline/memory-backends-start", test_memory_backends_start);
    g_test_add_func("/cmdline/qmp-stdio", test_qmp_stdio);
    g_test_add_func("/cmdline/legacy-server-nowait", test_legacy_server_nowait);
    ret = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
