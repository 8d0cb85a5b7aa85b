/*
 * The nop backend: events are registered and switch on and off at run time
 * like any other, but the generated trace_NAME() does nothing.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "trace/control.h"
#include "trace-tests_unit_trace_nop.h"

#include <glib/gstdio.h>

static void test_nop_emits_nothing(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-trace-nop-XXXXXX", NULL);
    g_autofree char *log = g_build_filename(dir, "log", NULL);
    g_autofree char *opt = g_strdup_printf("file=%s,test_*", log);
    g_autofree char *contents = NULL;
    TraceEvent *ev = trace_event_find("test_trace_int");

    g_assert_true(trace_opt_parse(opt, &error_abort));
    g_assert_nonnull(ev);
    g_assert_true(trace_event_get_state(ev));
    /* No backend wants the event, so argument-building guards stay off. */
    g_assert_false(trace_event_get_state_backends(TRACE_TEST_TRACE_INT));

    trace_test_trace_int(1);
    trace_test_trace_string("x", 1);
    trace_test_glob_alpha();

    g_assert_true(trace_set_log_file(NULL, &error_abort));
    g_assert_true(g_file_get_contents(log, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "");
    g_unlink(log);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/trace/nop/emits-nothing", test_nop_emits_nothing);
    return g_test_run();
}
