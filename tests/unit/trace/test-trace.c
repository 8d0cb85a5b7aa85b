/*
 * Trace core and generated trace code: run-time control (`-trace`), the log
 * backend's output, compiled-out events and, in the USDT build of this file,
 * the probe semaphores.
 *
 * The events come from tests/unit/trace/trace-events, turned into
 * TEST_TRACE_HEADER by tracetool at build time (see meson.build).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "trace/control.h"
#include TEST_TRACE_HEADER

#include <glib/gstdio.h>
#include <sys/wait.h>

typedef struct Fixture {
    char *dir;      /* scratch directory, removed by teardown */
    char *log;      /* dir/log: the log backend's file for the test */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("test-trace-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->log = g_build_filename(f->dir, "log", NULL);
    trace_set_log_file(f->log, &error_abort);
    g_assert_cmpint(trace_enable_events("-*", &error_abort), >, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) d = NULL;
    const char *name;

    trace_enable_events("-*", &error_abort);
    trace_set_log_file(NULL, &error_abort);
    d = g_dir_open(f->dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);

        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->log);
    g_free(f->dir);
}

static char *fixture_path(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static void write_file(const char *path, const char *contents)
{
    g_assert_true(g_file_set_contents(path, contents, -1, NULL));
}

/*
 * The messages of the log file @path, each line's "PID@SEC.USEC:" prefix
 * checked (the PID must be @pid, unless 0) and removed.
 */
static GPtrArray *read_log(const char *path, pid_t pid)
{
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *prefix = pid ? g_strdup_printf("%d@", (int)pid) : g_strdup("");
    g_autoptr(GRegex) re = g_regex_new("^([0-9]+@)?[0-9]+\\.[0-9]{6}:", 0, 0, NULL);
    GPtrArray *msgs = g_ptr_array_new_with_free_func(g_free);

    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    lines = g_strsplit(contents, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_autoptr(GMatchInfo) mi = NULL;
        const char *rest;
        int end;

        if (!lines[i + 1]) {
            /* After the last newline: must be empty (every line is complete). */
            g_assert_cmpstr(lines[i], ==, "");
            break;
        }
        g_assert_true(g_str_has_prefix(lines[i], prefix));
        rest = lines[i] + strlen(prefix);
        g_assert_true(g_regex_match(re, rest, 0, &mi));
        g_assert_true(g_match_info_fetch_pos(mi, 0, NULL, &end));
        g_ptr_array_add(msgs, g_strdup(rest + end));
    }
    return msgs;
}

/* Assert the log of process @pid holds exactly @expected (NULL-terminated), in order. */
static void assert_log_of(const char *path, pid_t pid, const char *const *expected)
{
    g_autoptr(GPtrArray) msgs = read_log(path, pid);
    guint n = expected ? g_strv_length((char **)expected) : 0;

    for (guint i = 0; i < MIN(n, msgs->len); i++) {
        g_assert_cmpstr(g_ptr_array_index(msgs, i), ==, expected[i]);
    }
    g_assert_cmpuint(msgs->len, ==, n);
}

static void assert_log(const char *path, const char *const *expected)
{
    assert_log_of(path, getpid(), expected);
}

/* Run @fn with fd @fd (1 or 2) redirected to a file; return what it wrote. */
static char *capture_fd(int fd, void (*fn)(void *), void *opaque)
{
    FILE *stream = fd == 1 ? stdout : stderr;
    g_autofree char *path = NULL;
    char *contents = NULL;
    int tmp = g_file_open_tmp("test-trace-capture-XXXXXX", &path, NULL);
    int saved = dup(fd);

    g_assert_cmpint(tmp, >=, 0);
    g_assert_cmpint(saved, >=, 0);
    fflush(stream);
    g_assert_cmpint(dup2(tmp, fd), ==, fd);
    fn(opaque);
    fflush(stream);
    g_assert_cmpint(dup2(saved, fd), ==, fd);
    close(saved);
    close(tmp);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_unlink(path);
    return contents;
}

/* Call every test event once with fixed arguments. */
static void emit_all(void)
{
    trace_test_trace_noargs();
    trace_test_trace_int(-42);
    trace_test_trace_u64(0xfee00000ULL, 0x1000);
    trace_test_trace_string("vfio0", 5);
    trace_test_trace_pointer(NULL, true);
    trace_test_trace_mixed(INT32_MIN, 255, -1, 7);
    trace_test_trace_percent(50);
    trace_test_trace_many(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    trace_test_glob_alpha();
    trace_test_glob_beta();
    trace_test_trace_disabled(1, "compiled out");
}

static bool state_of(const char *name)
{
    TraceEvent *ev = trace_event_find(name);

    g_assert_nonnull(ev);
    return trace_event_get_state(ev);
}

/* Events are off until asked for: nothing logged, every switch off. */
static void test_off_by_default(Fixture *f, gconstpointer data)
{
    emit_all();
    assert_log(f->log, NULL);
    g_assert_false(state_of("test_trace_int"));
    g_assert_false(trace_event_get_state_backends(TRACE_TEST_TRACE_INT));
    g_assert_false(trace_event_get_state_backends(TRACE_TEST_TRACE_MANY));
}

static void test_enable_exact_name(Fixture *f, gconstpointer data)
{
    static const char *const expected[] = { "test_trace_int value -42", NULL };

    g_assert_true(trace_opt_parse("test_trace_int", &error_abort));
    g_assert_true(state_of("test_trace_int"));
    g_assert_false(state_of("test_trace_u64"));
    g_assert_true(trace_event_get_state_backends(TRACE_TEST_TRACE_INT));
    emit_all();
    assert_log(f->log, expected);
}

static void test_enable_key(Fixture *f, gconstpointer data)
{
    static const char *const expected[] = {
        "test_trace_u64 iova 0xfee00000 size 0x1000", NULL
    };

    g_assert_true(trace_opt_parse("enable=test_trace_u64", &error_abort));
    emit_all();
    assert_log(f->log, expected);
}

static void test_enable_glob(Fixture *f, gconstpointer data)
{
    static const char *const expected[] = {
        "test_glob_alpha alpha", "test_glob_beta beta", NULL
    };

    g_assert_cmpint(trace_enable_events("test_glob_*", &error_abort), ==, 2);
    g_assert_cmpint(trace_enable_events("test_glob_?et[a]", &error_abort), ==, 1);
    emit_all();
    assert_log(f->log, expected);
}

/* A wildcard that matches nothing is not an error: the events may be elsewhere. */
static void test_glob_matches_nothing(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(trace_enable_events("no_such_event_*", &error_abort), ==, 0);
    g_assert_true(trace_opt_parse("no_such_event_*", &error_abort));
}

/* Items apply left to right, so a later "-" wins and an earlier one does not. */
static void test_disable_negative(Fixture *f, gconstpointer data)
{
    g_assert_true(trace_opt_parse("test_trace_*,-test_trace_int", &error_abort));
    g_assert_false(state_of("test_trace_int"));
    g_assert_true(state_of("test_trace_u64"));
    g_assert_true(state_of("test_trace_many"));
    g_assert_false(state_of("test_glob_alpha"));

    g_assert_true(trace_opt_parse("-test_trace_*,test_trace_int", &error_abort));
    g_assert_true(state_of("test_trace_int"));
    g_assert_false(state_of("test_trace_u64"));

    g_assert_true(trace_opt_parse("-test_trace_i*", &error_abort));
    g_assert_false(state_of("test_trace_int"));
}

static void test_events_file(Fixture *f, gconstpointer data)
{
    g_autofree char *events = fixture_path(f, "events");
    g_autofree char *opt = NULL;

    write_file(events, "# the glob events and most of test_trace_*\n"
                       "\n"
                       "test_glob_*\r\n"
                       "   test_trace_*   \n"
                       "-test_trace_string\n"
                       "  # indented comment\n"
                       "-test_glob_beta");
    opt = g_strdup_printf("events=%s", events);
    g_assert_true(trace_opt_parse(opt, &error_abort));
    g_assert_true(state_of("test_glob_alpha"));
    g_assert_false(state_of("test_glob_beta"));
    g_assert_true(state_of("test_trace_int"));
    g_assert_false(state_of("test_trace_string"));
}

/* An unknown name in an events file is reported with the file and line. */
static void test_events_file_error_line(Fixture *f, gconstpointer data)
{
    g_autofree char *events = fixture_path(f, "events");
    g_autofree char *opt = NULL;
    g_autofree char *want = NULL;
    Error *err = NULL;

    write_file(events, "# comment\ntest_trace_int\ntest_trace_nope\ntest_glob_alpha\n");
    opt = g_strdup_printf("events=%s", events);
    g_assert_false(trace_opt_parse(opt, &err));
    want = g_strdup_printf("%s:3: trace: no event named 'test_trace_nope'", events);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
    /* Lines before the error applied, lines after it did not. */
    g_assert_true(state_of("test_trace_int"));
    g_assert_false(state_of("test_glob_alpha"));
}

static void test_events_file_missing(Fixture *f, gconstpointer data)
{
    g_autofree char *opt = g_strdup_printf("events=%s/none", f->dir);
    Error *err = NULL;

    g_assert_false(trace_opt_parse(opt, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err), "trace: cannot read events file"));
    error_free(err);
}

static void report_err(void *opaque)
{
    error_report_err(opaque);
}

/* A misspelt name is an error whose hint names the close events. */
static void test_unknown_name(Fixture *f, gconstpointer data)
{
    Error *err = NULL;
    g_autofree char *out = NULL;

    g_assert_false(trace_opt_parse("test_trace_itn", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "trace: no event named 'test_trace_itn'");
    out = capture_fd(2, report_err, err);
    g_assert_nonnull(strstr(out, "did you mean: test_trace_int?"));
    g_assert_nonnull(strstr(out, "'-trace help' lists the events"));

    /* Nothing near: only the pointer to -trace help. */
    err = NULL;
    g_assert_cmpint(trace_enable_events("-zzzzzzzzzzzzzzzzzzzz", &err), ==, -1);
    g_free(out);
    out = capture_fd(2, report_err, err);
    g_assert_null(strstr(out, "did you mean"));
    g_assert_nonnull(strstr(out, "'-trace help' lists the events"));
}

static void test_bad_items(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *opt;
        const char *msg;
    } cases[] = {
        { "", "trace: empty event pattern" },
        { "-", "trace: empty event pattern" },
        { "enable=", "trace: empty event pattern" },
        { "test_trace_int,", "trace: empty event pattern" },
        { "foo=bar", "trace: unknown item 'foo='" },
        { "test_trace_int,help", "trace: 'help' cannot be combined with other items" },
        { "test_trace_disabled", "trace: event 'test_trace_disabled' is compiled out" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        Error *err = NULL;

        g_test_message("-trace '%s'", cases[i].opt);
        g_assert_false(trace_opt_parse(cases[i].opt, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        error_free(err);
    }
}

/* The log line of each event carries its arguments in its format. */
static void test_file_formatted_args(Fixture *f, gconstpointer data)
{
    g_autofree char *log = fixture_path(f, "other.log");
    g_autofree char *opt = g_strdup_printf("file=%s,test_trace_*", log);
    g_autofree char *ptr = g_strdup_printf("test_trace_pointer opaque %p flag 1", NULL);
    const char *const expected[] = {
        "test_trace_noargs no arguments",
        "test_trace_int value -42",
        "test_trace_u64 iova 0xfee00000 size 0x1000",
        "test_trace_string name \"vfio0\" len 5",
        ptr,
        "test_trace_mixed s32 -2147483648 u8 255 s64 -1 n 7",
        "test_trace_percent 50% done",
        "test_trace_many 1 2 3 4 5 6 7 8 9 10",
        NULL
    };

    g_assert_true(trace_opt_parse(opt, &error_abort));
    emit_all();
    assert_log(log, expected);
    /* The fixture's file got nothing once the output moved. */
    assert_log(f->log, NULL);
}

/* file= truncates: a second run does not append to the old log. */
static void test_file_truncates(Fixture *f, gconstpointer data)
{
    static const char *const expected[] = { "test_glob_alpha alpha", NULL };
    g_autofree char *opt = g_strdup_printf("file=%s,test_glob_alpha", f->log);

    write_file(f->log, "stale line\n");
    g_assert_true(trace_opt_parse(opt, &error_abort));
    trace_test_glob_alpha();
    assert_log(f->log, expected);
}

/* ",," in an item is a literal comma, so any path can be given. */
static void test_file_comma_in_path(Fixture *f, gconstpointer data)
{
    static const char *const expected[] = { "test_glob_beta beta", NULL };
    g_autofree char *log = fixture_path(f, "a,b.log");
    g_autofree char *escaped = fixture_path(f, "a,,b.log");
    g_autofree char *opt = g_strdup_printf("file=%s,test_glob_beta", escaped);

    g_assert_true(trace_opt_parse(opt, &error_abort));
    trace_test_glob_beta();
    assert_log(log, expected);
}

static void test_file_bad_path(Fixture *f, gconstpointer data)
{
    g_autofree char *opt = g_strdup_printf("file=%s/no/such/dir/log", f->dir);
    Error *err = NULL;

    g_assert_false(trace_opt_parse(opt, &err));
    g_assert_cmpint(error_get_errno(err), ==, ENOENT);
    g_assert_true(g_str_has_prefix(error_get_pretty(err), "trace: cannot open log file"));
    error_free(err);
}

static void emit_alpha(void *opaque)
{
    trace_test_glob_alpha();
}

/* "file=" sends the log back to stderr. */
static void test_file_empty_is_stderr(Fixture *f, gconstpointer data)
{
    g_autofree char *out = NULL;

    g_assert_true(trace_opt_parse("file=,test_glob_alpha", &error_abort));
    out = capture_fd(2, emit_alpha, NULL);
    g_assert_nonnull(strstr(out, ":test_glob_alpha alpha\n"));
    assert_log(f->log, NULL);
}

/* A 'disable' event has no code, no switch and no list entry. */
static void test_disabled_compiled_out(Fixture *f, gconstpointer data)
{
    TraceEvent *ev = trace_event_find("test_trace_disabled");
    Error *err = NULL;

    G_STATIC_ASSERT(!TRACE_TEST_TRACE_DISABLED_ENABLED);
    G_STATIC_ASSERT(TRACE_TEST_TRACE_INT_ENABLED);
    g_assert_false(trace_event_get_state_backends(TRACE_TEST_TRACE_DISABLED));
    g_assert_nonnull(ev);
    g_assert_false(trace_event_is_compiled_in(ev));
    g_assert_false(trace_event_get_state(ev));

    g_assert_cmpint(trace_enable_events("*", &error_abort), >, 0);
    g_assert_cmpint(trace_enable_events("test_trace_dis*", &error_abort), ==, 0);
    g_assert_cmpint(trace_enable_events("test_trace_disabled", &err), ==, -1);
    error_free_or_abort(&err);
    trace_test_trace_disabled(7, "never printed");
    assert_log(f->log, NULL);
}

static void list_to_stdout(void *opaque)
{
    g_assert_true(trace_opt_parse(opaque, &error_abort));
}

/* -trace help: every compiled-in event, sorted, on stdout. */
static void test_help_lists_events(Fixture *f, gconstpointer data)
{
    g_autofree char *out = capture_fd(1, list_to_stdout, (void *)"help");
    g_autofree char *out2 = capture_fd(1, list_to_stdout, (void *)"enable=help");
    g_auto(GStrv) names = g_strsplit(out, "\n", -1);
    guint n = g_strv_length(names);
    int ours = 0;

    g_assert_true(trace_opt_is_help("help"));
    g_assert_true(trace_opt_is_help("enable=help"));
    g_assert_false(trace_opt_is_help("helpful"));
    g_assert_cmpstr(out, ==, out2);

    g_assert_cmpuint(n, >=, 2);
    g_assert_cmpstr(names[n - 1], ==, "");
    for (guint i = 0; i + 1 < n; i++) {
        if (i > 0) {
            g_assert_cmpint(strcmp(names[i - 1], names[i]), <, 0);
        }
        g_assert_nonnull(trace_event_find(names[i]));
        ours += g_str_has_prefix(names[i], "test_");
    }
    g_assert_cmpint(ours, ==, 10);
    g_assert_null(strstr(out, "test_trace_disabled"));
    /* Listing changes no state. */
    g_assert_false(state_of("test_trace_int"));
}

/* argv[0], to run this program again (not /proc/self/exe: under valgrind that is valgrind). */
static const char *test_argv0;

#define ENV_CHILD "TEST_TRACE_ENV_CHILD"
#define ENV_TEST_PATH "/trace/env/applied-at-registration"

/*
 * APERTURE_TRACE is applied as each group registers, before main(): run
 * this test again in a child process started with the variable set.  (Plain
 * fork and exec: g_test_trap_subprocess leaves a GLib worker thread behind
 * that valgrind reports.)
 */
static void test_env(void)
{
    static const char *const expected[] = { "test_glob_alpha alpha", NULL };
    g_autofree char *dir = NULL;
    g_autofree char *log = NULL;
    g_autofree char *env = NULL;
    int status;
    pid_t pid;

    if (getenv(ENV_CHILD)) {
        g_assert_true(state_of("test_glob_alpha"));
        g_assert_false(state_of("test_glob_beta"));
        g_assert_false(state_of("test_trace_int"));
        trace_test_glob_alpha();
        trace_test_glob_beta();
        return;
    }
    dir = g_dir_make_tmp("test-trace-env-XXXXXX", NULL);
    log = g_build_filename(dir, "env.log", NULL);
    env = g_strdup_printf("file=%s,test_glob_*,-test_glob_beta,no_such_event", log);
    fflush(NULL);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        /* The child's TAP output must not mix with ours. */
        dup2(null, STDOUT_FILENO);
        setenv(TRACE_ENV, env, 1);
        setenv(ENV_CHILD, "1", 1);
        execl(test_argv0, test_argv0, "-p", ENV_TEST_PATH, (char *)NULL);
        _exit(127);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    assert_log_of(log, 0, expected);
    g_unlink(log);
    g_rmdir(dir);
}

#define FATAL_CHILD "TEST_TRACE_FATAL_CHILD"
#define FATAL_TEST_PATH "/trace/error/error-fatal-keeps-hint"

/*
 * With &error_fatal the program exits when the error is set, so a hint is
 * printed only if the function guards errp (ERRP_GUARD) and appends it
 * first.  The child parses @opt with &error_fatal; its stderr must end
 * with the hint.
 */
static void assert_fatal_prints_hint(const char *opt, const char *hint)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_auto(GStrv) envp = g_environ_setenv(g_get_environ(), FATAL_CHILD, opt, TRUE);
    const char *argv[] = { test_argv0, "-q", "-p", FATAL_TEST_PATH, NULL };
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &gerr));
    g_test_message("'%s' with &error_fatal printed: %s", opt, err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, hint));
}

static void test_error_fatal_keeps_hint(void)
{
    const char *child_opt = getenv(FATAL_CHILD);

    if (child_opt) {
        trace_opt_parse(child_opt, &error_fatal);
        return;     /* not reached: the option is bad */
    }
    /* trace_opt_parse's own hint. */
    assert_fatal_prints_hint("bogus=1", "known: PATTERN, enable=PATTERN");
    /* trace_enable_events's (through trace_opt_parse). */
    assert_fatal_prints_hint("test_trace_itn", "did you mean: test_trace_int?");
}

#ifdef TEST_TRACE_USDT
/*
 * A tracer attaching to a probe increments its semaphore; the generated
 * code then fires the probe and reports the event as wanted.
 */
static void test_usdt_semaphore(Fixture *f, gconstpointer data)
{
    g_assert_false(trace_event_get_state_backends(TRACE_TEST_TRACE_U64));
    aperture_test_trace_u64_semaphore++;
    g_assert_true(trace_event_get_state_backends(TRACE_TEST_TRACE_U64));
    trace_test_trace_u64(1, 2);     /* the probe is a nop without a tracer */
    aperture_test_trace_u64_semaphore--;
    /* The log backend's switch is separate. */
    assert_log(f->log, NULL);
}
#endif

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    test_argv0 = argv[0];
    g_test_init(&argc, &argv, NULL);
    ADD("/trace/off-by-default", test_off_by_default);
    ADD("/trace/enable/exact-name", test_enable_exact_name);
    ADD("/trace/enable/enable-key", test_enable_key);
    ADD("/trace/enable/glob", test_enable_glob);
    ADD("/trace/enable/glob-matches-nothing-ok", test_glob_matches_nothing);
    ADD("/trace/enable/negative-pattern", test_disable_negative);
    ADD("/trace/events-file/patterns", test_events_file);
    ADD("/trace/events-file/error-names-file-and-line", test_events_file_error_line);
    ADD("/trace/events-file/missing", test_events_file_missing);
    ADD("/trace/error/unknown-name-hint", test_unknown_name);
    ADD("/trace/error/bad-items", test_bad_items);
    ADD("/trace/file/formatted-args", test_file_formatted_args);
    ADD("/trace/file/truncates", test_file_truncates);
    ADD("/trace/file/comma-in-path", test_file_comma_in_path);
    ADD("/trace/file/bad-path", test_file_bad_path);
    ADD("/trace/file/empty-is-stderr", test_file_empty_is_stderr);
    ADD("/trace/disabled/compiled-out", test_disabled_compiled_out);
    ADD("/trace/help/lists-events", test_help_lists_events);
    g_test_add_func(ENV_TEST_PATH, test_env);
    g_test_add_func(FATAL_TEST_PATH, test_error_fatal_keeps_hint);
#ifdef TEST_TRACE_USDT
    ADD("/trace/usdt/semaphore", test_usdt_semaphore);
#endif
    return g_test_run();
}
