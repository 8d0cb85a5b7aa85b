/*
 * Fuzz trace_opt_parse(), the parser behind `-trace`, on arbitrary strings.
 *
 * Input: the -trace argument, optionally followed by a NUL byte and the
 * contents of an events file.  Every "events=..." item is pointed at a
 * temporary file holding those contents and every "file=..." at /dev/null,
 * so the fuzzer neither reads nor creates files of its choosing.
 *
 * Checked: no crash or sanitizer report, false exactly when an error is set,
 * a non-empty message, and the state reset afterwards.  The events known are
 * those of tests/unit/trace/trace-events (group tests_fuzz) plus the tree's.
 */
#include "fuzz.h"
#include "qapi/error.h"
#include "trace/control.h"
#include "trace-tests_fuzz.h"

static char *events_path;   /* the temporary events file */
static int events_fd = -1;

static void remove_events_file(void)
{
    unlink(events_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int null = open("/dev/null", O_WRONLY);

    /* "-trace help" prints the event list on stdout; libFuzzer uses stderr. */
    fuzz_check(null >= 0);
    dup2(null, STDOUT_FILENO);
    close(null);

    events_fd = g_file_open_tmp("fuzz-trace-opts-XXXXXX", &events_path, NULL);
    fuzz_check(events_fd >= 0);
    atexit(remove_events_file);
    /* Enabled events log to /dev/null, not into libFuzzer's output. */
    fuzz_check(trace_set_log_file("/dev/null", &error_abort));
    return 0;
}

/* Rewrite the items that name files (",," is a literal comma, kept as is). */
static char *rewrite_paths(const char *opt)
{
    GString *out = g_string_new(NULL);
    const char *p = opt;

    while (true) {
        const char *end = p;
        g_autoptr(GString) item = g_string_new(NULL);

        while (*end && !(*end == ',' && end[1] != ',')) {
            if (*end == ',') {
                g_string_append(item, ",,");
                end += 2;
            } else {
                g_string_append_c(item, *end++);
            }
        }
        if (g_str_has_prefix(item->str, "events=")) {
            g_string_append_printf(out, "events=%s", events_path);
        } else if (g_str_has_prefix(item->str, "file=")) {
            g_string_append(out, "file=/dev/null");
        } else {
            g_string_append(out, item->str);
        }
        if (!*end) {
            break;
        }
        g_string_append_c(out, ',');
        p = end + 1;
    }
    return g_string_free(out, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t opt_len = nul ? (size_t)(nul - data) : size;
    g_autofree char *raw = g_strndup((const char *)data, opt_len);
    g_autofree char *opt = rewrite_paths(raw);
    Error *err = NULL;
    bool ok;

    /* The events file gets whatever follows the NUL. */
    fuzz_check(ftruncate(events_fd, 0) == 0);
    if (nul) {
        size_t len = size - opt_len - 1;

        fuzz_check(pwrite(events_fd, nul + 1, len, 0) == (ssize_t)len);
    }

    ok = trace_opt_parse(opt, &err);
    fuzz_check(ok == (err == NULL));
    if (err) {
        fuzz_check(error_get_pretty(err)[0] != '\0');
        error_free(err);
    }

    /* A compiled-in test event follows its switch. */
    trace_test_trace_int(1);
    fuzz_check(trace_enable_events("-*", &error_abort) > 0);
    fuzz_check(!trace_event_get_state(trace_event_find("test_trace_int")));
    fuzz_check(trace_set_log_file("/dev/null", &error_abort));
    return 0;
}
