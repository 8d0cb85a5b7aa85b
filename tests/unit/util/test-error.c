/*
 * The Error API (qapi/error.h): setting, propagating, prefixes, hints, and
 * the &error_fatal / &error_abort conventions (checked in subprocesses).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"

#include <signal.h>
#include <sys/wait.h>

static bool fail_with(Error **errp, const char *what)
{
    error_setg(errp, "cannot open '%s'", what);
    return false;
}

static void test_setg_sets_message(void)
{
    Error *err = NULL;

    g_assert_false(fail_with(&err, "/dev/vfio/7"));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "cannot open '/dev/vfio/7'");
    g_assert_cmpint(error_get_errno(err), ==, 0);
    error_free(err);
}

static void test_setg_errno_appends_strerror(void)
{
    Error *err = NULL;
    g_autofree char *expect = g_strdup_printf("open: %s", g_strerror(EBUSY));

    error_setg_errno(&err, EBUSY, "open");
    g_assert_cmpstr(error_get_pretty(err), ==, expect);
    g_assert_cmpint(error_get_errno(err), ==, EBUSY);
    error_free(err);
}

static void test_setg_preserves_errno(void)
{
    Error *err = NULL;

    errno = ENOSPC;
    error_setg_errno(&err, EBADF, "x");
    error_append_hint(&err, "hint\n");
    g_assert_cmpint(errno, ==, ENOSPC);
    error_free(err);
}

static void test_null_errp_ignores_error(void)
{
    g_assert_false(fail_with(NULL, "x"));
    error_prepend(NULL, "prefix: ");
    error_append_hint(NULL, "hint\n");
    error_propagate(NULL, NULL);
    error_free(NULL);
}

static void test_propagate_moves_error(void)
{
    Error *local = NULL, *dst = NULL;

    fail_with(&local, "a");
    error_propagate(&dst, local);
    g_assert_true(dst == local);
    error_free(dst);
}

static void test_propagate_keeps_first_error(void)
{
    Error *first = NULL, *second = NULL, *dst = NULL;

    fail_with(&first, "first");
    fail_with(&second, "second");
    error_propagate(&dst, first);
    /* The second error is freed, not leaked; the first one stays. */
    error_propagate(&dst, second);
    g_assert_cmpstr(error_get_pretty(dst), ==, "cannot open 'first'");
    error_free(dst);
}

static void test_propagate_null_is_noop(void)
{
    Error *dst = NULL;

    error_propagate(&dst, NULL);
    g_assert_null(dst);
    fail_with(&dst, "x");
    error_propagate(&dst, NULL);
    g_assert_nonnull(dst);
    error_free(dst);
}

static void test_propagate_to_null_frees(void)
{
    Error *local = NULL;

    fail_with(&local, "x");
    error_propagate(NULL, local);   /* valgrind/ASan would report a leak */
}

static void test_prepend_adds_prefix(void)
{
    Error *err = NULL;

    error_prepend(&err, "nothing set: ");
    g_assert_null(err);
    fail_with(&err, "x");
    error_prepend(&err, "vfio %s: ", "0000:01:00.0");
    error_prepend(&err, "device: ");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "device: vfio 0000:01:00.0: cannot open 'x'");
    error_free(err);
}

static void test_propagate_prepend(void)
{
    Error *local = NULL, *dst = NULL;

    fail_with(&local, "x");
    error_propagate_prepend(&dst, local, "group %d: ", 7);
    g_assert_cmpstr(error_get_pretty(dst), ==, "group 7: cannot open 'x'");
    error_free(dst);
}

static void test_copy_is_deep(void)
{
    Error *err = NULL, *copy;

    error_setg_errno(&err, EIO, "read");
    error_append_hint(&err, "check the cable\n");
    copy = error_copy(err);
    error_free(err);
    g_assert_cmpint(error_get_errno(copy), ==, EIO);
    g_assert_nonnull(strstr(error_get_pretty(copy), "read: "));
    error_free(copy);
}

static void test_free_or_abort_clears(void)
{
    Error *err = NULL;

    fail_with(&err, "x");
    error_free_or_abort(&err);
    g_assert_null(err);
}

static void test_autoptr_frees(void)
{
    g_autoptr(Error) err = NULL;

    fail_with(&err, "x");
    g_assert_nonnull(err);
}

/* Callee in the ERRP_GUARD tests: fails and adds a hint. */
static bool guarded_fail(Error **errp)
{
    ERRP_GUARD();

    fail_with(errp, "guarded");
    /* Reading *errp is safe even when the caller passed NULL. */
    if (*errp) {
        error_append_hint(errp, "try unbinding the driver\n");
    }
    return false;
}

static void test_errp_guard_with_local_error(void)
{
    Error *err = NULL;

    g_assert_false(guarded_fail(&err));
    g_assert_cmpstr(error_get_pretty(err), ==, "cannot open 'guarded'");
    error_free(err);
    g_assert_false(guarded_fail(NULL));
}

/*
 * Subprocess tests.  The test binary re-runs itself with only one test
 * selected (-p) and GLib's --GTestSubprocess flag, which makes
 * g_test_subprocess() true in the child -- the g_test_trap_subprocess()
 * protocol -- but through g_spawn_sync, so the parent sees the exact wait
 * status (exit code 1 versus SIGABRT) and no GLib child-watch thread is
 * left behind for valgrind to report.
 */
static const char *test_argv0;

typedef struct Trap {
    int status;             /* wait status of the child */
    char *err;              /* its stderr */
} Trap;

static void trap_run(Trap *t)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *out = NULL;
    const char *argv[] = {
        test_argv0, "-q", "-p", g_test_get_path(), "--GTestSubprocess", NULL
    };

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                      &out, &t->err, &t->status, &gerr)) {
        g_error("cannot run %s: %s", test_argv0, gerr->message);
    }
    g_test_message("child stderr: %s", t->err);
}

static void trap_assert_exit_code(const Trap *t, int code)
{
    g_assert_true(WIFEXITED(t->status));
    g_assert_cmpint(WEXITSTATUS(t->status), ==, code);
}

static void trap_assert_aborted(const Trap *t)
{
    g_assert_true(WIFSIGNALED(t->status));
    g_assert_cmpint(WTERMSIG(t->status), ==, SIGABRT);
}

static void trap_assert_stderr(const Trap *t, const char *pattern)
{
    if (!g_pattern_match_simple(pattern, t->err)) {
        g_test_message("stderr \"%s\" does not match \"%s\"", t->err, pattern);
        g_assert_not_reached();
    }
}

static void test_fatal_exits_1(void)
{
    Trap t;

    if (g_test_subprocess()) {
        error_set_progname("aperture-test");
        fail_with(&error_fatal, "/dev/vfio/vfio");
        fprintf(stderr, "not reached\n");
        return;
    }
    trap_run(&t);
    trap_assert_exit_code(&t, 1);
    trap_assert_stderr(&t, "aperture-test: cannot open '/dev/vfio/vfio'\n");
    g_free(t.err);
}

static void test_fatal_via_errp_guard_prints_hint(void)
{
    Trap t;

    if (g_test_subprocess()) {
        guarded_fail(&error_fatal);
        return;
    }
    trap_run(&t);
    trap_assert_exit_code(&t, 1);
    trap_assert_stderr(&t, "*cannot open 'guarded'\ntry unbinding the driver\n");
    g_free(t.err);
}

static void test_propagate_to_fatal_exits_1(void)
{
    Trap t;

    if (g_test_subprocess()) {
        Error *local = NULL;

        fail_with(&local, "x");
        error_propagate_prepend(&error_fatal, local, "realize: ");
        return;
    }
    trap_run(&t);
    trap_assert_exit_code(&t, 1);
    trap_assert_stderr(&t, "*realize: cannot open 'x'\n");
    g_free(t.err);
}

static void test_abort_aborts_with_location(void)
{
    Trap t;

    if (g_test_subprocess()) {
        fail_with(&error_abort, "/dev/vfio/vfio");
        return;
    }
    trap_run(&t);
    trap_assert_aborted(&t);
    trap_assert_stderr(&t, "Unexpected error in fail_with() at *test-error.c:*"
                           "cannot open '/dev/vfio/vfio'*");
    g_free(t.err);
}

static void test_propagate_to_abort_aborts(void)
{
    Trap t;

    if (g_test_subprocess()) {
        Error *local = NULL;

        fail_with(&local, "x");
        error_propagate(&error_abort, local);
        return;
    }
    trap_run(&t);
    trap_assert_aborted(&t);
    trap_assert_stderr(&t, "Unexpected error in fail_with()*");
    g_free(t.err);
}

static void test_report_err_prints_message_then_hint(void)
{
    Trap t;

    if (g_test_subprocess()) {
        Error *err = NULL;

        error_set_progname("aperture");
        fail_with(&err, "x");
        error_append_hint(&err, "hint one\n");
        error_append_hint(&err, "hint %d\n", 2);
        error_report_err(err);
        err = NULL;
        fail_with(&err, "y");
        warn_report_err(err);
        error_report("plain %d", 1);
        warn_report("careful");
        info_report("fyi");
        return;
    }
    trap_run(&t);
    trap_assert_exit_code(&t, 0);
    trap_assert_stderr(&t, "aperture: cannot open 'x'\nhint one\nhint 2\n"
                           "aperture: warning: cannot open 'y'\n"
                           "aperture: plain 1\n"
                           "aperture: warning: careful\n"
                           "aperture: info: fyi\n");
    g_free(t.err);
}

int main(int argc, char **argv)
{
    test_argv0 = argv[0];
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/error/setg-sets-message", test_setg_sets_message);
    g_test_add_func("/util/error/setg-errno-appends-strerror",
                    test_setg_errno_appends_strerror);
    g_test_add_func("/util/error/setg-preserves-errno", test_setg_preserves_errno);
    g_test_add_func("/util/error/null-errp-ignores-error", test_null_errp_ignores_error);
    g_test_add_func("/util/error/propagate-moves-error", test_propagate_moves_error);
    g_test_add_func("/util/error/propagate-keeps-first-error",
                    test_propagate_keeps_first_error);
    g_test_add_func("/util/error/propagate-null-is-noop", test_propagate_null_is_noop);
    g_test_add_func("/util/error/propagate-to-null-frees", test_propagate_to_null_frees);
    g_test_add_func("/util/error/prepend-adds-prefix", test_prepend_adds_prefix);
    g_test_add_func("/util/error/propagate-prepend", test_propagate_prepend);
    g_test_add_func("/util/error/copy-is-deep", test_copy_is_deep);
    g_test_add_func("/util/error/free-or-abort-clears", test_free_or_abort_clears);
    g_test_add_func("/util/error/autoptr-frees", test_autoptr_frees);
    g_test_add_func("/util/error/errp-guard-with-local-error",
                    test_errp_guard_with_local_error);
    g_test_add_func("/util/error/fatal-exits-1", test_fatal_exits_1);
    g_test_add_func("/util/error/fatal-via-errp-guard-prints-hint",
                    test_fatal_via_errp_guard_prints_hint);
    g_test_add_func("/util/error/propagate-to-fatal-exits-1",
                    test_propagate_to_fatal_exits_1);
    g_test_add_func("/util/error/abort-aborts-with-location",
                    test_abort_aborts_with_location);
    g_test_add_func("/util/error/propagate-to-abort-aborts",
                    test_propagate_to_abort_aborts);
    g_test_add_func("/util/error/report-err-prints-message-then-hint",
                    test_report_err_prints_message_then_hint);
    return g_test_run();
}
