/*
 * Trace event registry and the `-trace` switches.
 *
 * Events are registered by constructors in the generated trace-GROUP.c files,
 * before main() runs; everything else is called from the main thread while
 * the command line is read, so the registry needs no locking.  The enable
 * state is a plain uint16_t per event: a trace point that races with a
 * `-trace` change may miss or emit one record, which is harmless.  Only the
 * log output is shared between threads, under trace_log_lock.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "trace/control.h"

#include <fnmatch.h>
#include <sys/time.h>

/* Every registered event, compiled in or not, in registration order. */
static GPtrArray *trace_events;
/* The event tables already registered (TraceEvent ** -> group name). */
static GHashTable *trace_group_tables;
/* Patterns from TRACE_ENV, applied to each group as it registers. */
static GPtrArray *trace_env_patterns;
static bool trace_env_read;

static FILE *trace_log_fp;            /* NULL means stderr */
static GMutex trace_log_lock;

/* Larger patterns get no edit-distance suggestions (cost is quadratic). */
#define TRACE_SUGGEST_MAX_LEN 128
#define TRACE_SUGGEST_MAX     5

static void trace_env_apply(TraceEvent **events);

static void trace_registry_alloc(void)
{
    if (!trace_group_tables) {
        trace_group_tables = g_hash_table_new(NULL, NULL);
        trace_events = g_ptr_array_new();
    }
}

void trace_event_register_group(const char *group, TraceEvent **events)
{
    trace_registry_alloc();
    if (g_hash_table_contains(trace_group_tables, events)) {
        return;
    }
    g_hash_table_insert(trace_group_tables, events, (gpointer)group);
    for (TraceEvent **pe = events; *pe; pe++) {
        g_ptr_array_add(trace_events, *pe);
    }
    trace_env_apply(events);
}

/*
 * Make sure the built-in groups are there even if their constructors have not
 * run yet.  Referencing trace_builtin_groups is also what makes the linker
 * pull every group of libaputil into a program that uses the trace core, so
 * `-trace help` lists events of code the program never calls.
 */
static void trace_registry_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    trace_registry_alloc();
    for (const TraceEventGroup *g = trace_builtin_groups; g->name; g++) {
        trace_event_register_group(g->name, g->events);
    }
}

TraceEvent *trace_event_find(const char *name)
{
    trace_registry_init();
    for (guint i = 0; i < trace_events->len; i++) {
        TraceEvent *ev = g_ptr_array_index(trace_events, i);

        if (strcmp(ev->name, name) == 0) {
            return ev;
        }
    }
    return NULL;
}

/* Split "-GLOB" / "GLOB" into the glob and whether to enable. */
static const char *trace_pattern_glob(const char *pattern, bool *enable)
{
    *enable = pattern[0] != '-';
    return *enable ? pattern : pattern + 1;
}

static bool trace_pattern_has_wildcard(const char *glob)
{
    return strpbrk(glob, "*?[\\") != NULL;
}

/*
 * Set every compiled-in event of the NULL-terminated @events matching @glob.
 * Returns how many matched; *@compiled_out counts the matching events that
 * are compiled out.
 */
static int trace_set_matching(TraceEvent **events, guint n_events, const char *glob,
                              bool enable, int *compiled_out)
{
    int matched = 0;

    for (guint i = 0; i < n_events && events[i]; i++) {
        TraceEvent *ev = events[i];

        if (fnmatch(glob, ev->name, 0) != 0) {
            continue;
        }
        if (!trace_event_is_compiled_in(ev)) {
            (*compiled_out)++;
            continue;
        }
        *ev->dstate = enable;
        matched++;
    }
    return matched;
}

/* Levenshtein distance, for "did you mean" hints. */
static size_t trace_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    g_autofree size_t *row = g_new(size_t, lb + 1);

    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            best = MIN(best, up + 1);
            best = MIN(best, row[j - 1] + 1);
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/*
 * Hint the events whose name is closest to @glob (by edit distance, else
 * containing it), then point at -trace help.
 */
static void trace_hint_similar(Error **errp, const char *glob)
{
    ERRP_GUARD();
    size_t len = strlen(glob);
    size_t max_dist = MAX(2, len / 4);
    size_t best = SIZE_MAX;
    g_autoptr(GString) near = g_string_new(NULL);
    g_autoptr(GString) containing = g_string_new(NULL);
    int n_near = 0, n_containing = 0;

    for (guint i = 0; i < trace_events->len; i++) {
        TraceEvent *ev = g_ptr_array_index(trace_events, i);
        size_t dist;

        if (!trace_event_is_compiled_in(ev)) {
            continue;
        }
        if (len >= 3 && n_containing < TRACE_SUGGEST_MAX && strstr(ev->name, glob)) {
            g_string_append_printf(containing, "%s%s", n_containing++ ? ", " : "",
                                   ev->name);
        }
        if (len > TRACE_SUGGEST_MAX_LEN) {
            continue;
        }
        dist = trace_edit_distance(glob, ev->name);
        if (dist > max_dist || dist > best) {
            continue;
        }
        if (dist < best) {
            best = dist;
            g_string_truncate(near, 0);
            n_near = 0;
        }
        if (n_near < TRACE_SUGGEST_MAX) {
            g_string_append_printf(near, "%s%s", n_near++ ? ", " : "", ev->name);
        }
    }
    if (n_near || n_containing) {
        error_append_hint(errp, "did you mean: %s?\n", n_near ? near->str : containing->str);
    }
    error_append_hint(errp, "'-trace help' lists the events; '*' and '?' match "
                      "several\n");
}

int trace_enable_events(const char *pattern, Error **errp)
{
    ERRP_GUARD();
    bool enable;
    const char *glob = trace_pattern_glob(pattern, &enable);
    int compiled_out = 0;
    int matched;

    trace_registry_init();
    if (!glob[0]) {
        error_setg(errp, "trace: empty event pattern");
        return -1;
    }
    matched = trace_set_matching((TraceEvent **)trace_events->pdata, trace_events->len,
                                 glob, enable, &compiled_out);
    if (matched || trace_pattern_has_wildcard(glob)) {
        return matched;
    }
    if (compiled_out) {
        error_setg(errp, "trace: event '%s' is compiled out", glob);
        error_append_hint(errp, "remove 'disable' from its line in trace-events "
                          "and rebuild\n");
    } else {
        error_setg(errp, "trace: no event named '%s'", glob);
        trace_hint_similar(errp, glob);
    }
    return -1;
}

/* Each line of @path that is not blank or a comment, stripped. */
static GPtrArray *trace_read_events_file(const char *path, Error **errp)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) gerr = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *patterns;

    if (!g_file_get_contents(path, &contents, NULL, &gerr)) {
        error_setg(errp, "trace: cannot read events file: %s", gerr->message);
        return NULL;
    }
    patterns = g_ptr_array_new_with_free_func(g_free);
    lines = g_strsplit(contents, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);

        /* Keep the line number for messages: an empty slot for a skipped line. */
        g_ptr_array_add(patterns, line[0] && line[0] != '#' ? g_strdup(line) : NULL);
    }
    return patterns;
}

static bool trace_enable_events_file(const char *path, Error **errp)
{
    g_autoptr(GPtrArray) patterns = trace_read_events_file(path, errp);

    if (!patterns) {
        return false;
    }
    for (guint i = 0; i < patterns->len; i++) {
        const char *p = g_ptr_array_index(patterns, i);
        Error *local_err = NULL;

        if (p && trace_enable_events(p, &local_err) < 0) {
            error_propagate_prepend(errp, local_err, "%s:%u: ", path, i + 1);
            return false;
        }
    }
    return true;
}

bool trace_set_log_file(const char *path, Error **errp)
{
    FILE *fp = NULL;

    if (path && path[0]) {
        fp = fopen(path, "we");
        if (!fp) {
            error_setg_errno(errp, errno, "trace: cannot open log file '%s'", path);
            return false;
        }
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    g_mutex_lock(&trace_log_lock);
    if (trace_log_fp) {
        fclose(trace_log_fp);
    }
    trace_log_fp = fp;
    g_mutex_unlock(&trace_log_lock);
    return true;
}

/* Split a -trace argument at single commas; ",," stands for a comma. */
static GPtrArray *trace_opt_split(const char *optarg)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) cur = g_string_new(NULL);

    for (const char *p = optarg;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || !*p) {
            g_ptr_array_add(items, g_strdup(cur->str));
            g_string_truncate(cur, 0);
            if (!*p) {
                return items;
            }
        } else {
            g_string_append_c(cur, *p);
        }
    }
}

bool trace_opt_is_help(const char *optarg)
{
    return strcmp(optarg, "help") == 0 || strcmp(optarg, "enable=help") == 0;
}

static void trace_warn_no_log_backend(void)
{
#ifndef CONFIG_TRACE_LOG
    static bool warned;

    if (!warned) {
        warned = true;
        warn_report("trace: the log backend is not built in (meson option "
                    "trace_backends); enabled events print nothing");
    }
#endif
}

bool trace_opt_parse(const char *optarg, Error **errp)
{
    ERRP_GUARD();
    g_autoptr(GPtrArray) items = trace_opt_split(optarg);

    if (trace_opt_is_help(optarg)) {
        trace_list_events(stdout);
        return true;
    }
    for (guint i = 0; i < items->len; i++) {
        const char *p = g_ptr_array_index(items, i);
        const char *eq = strchr(p, '=');

        if (trace_opt_is_help(p)) {
            error_setg(errp, "trace: 'help' cannot be combined with other items");
            return false;
        } else if (g_str_has_prefix(p, "events=")) {
            if (!trace_enable_events_file(p + strlen("events="), errp)) {
                return false;
            }
            trace_warn_no_log_backend();
        } else if (g_str_has_prefix(p, "enable=")) {
            if (trace_enable_events(p + strlen("enable="), errp) < 0) {
                return false;
            }
            trace_warn_no_log_backend();
        } else if (g_str_has_prefix(p, "file=")) {
            if (!trace_set_log_file(p + strlen("file="), errp)) {
                return false;
            }
        } else if (eq) {
            error_setg(errp, "trace: unknown item '%.*s='", (int)(eq - p), p);
            error_append_hint(errp, "known: PATTERN, enable=PATTERN, events=FILE, "
                              "file=PATH, help\n");
            return false;
        } else {
            if (trace_enable_events(p, errp) < 0) {
                return false;
            }
            trace_warn_no_log_backend();
        }
    }
    return true;
}

/*
 * Read TRACE_ENV once: file= takes effect at once, the patterns are kept and
 * applied to each group as it registers (so their order is kept per event).
 */
static void trace_env_read_once(void)
{
    const char *env = getenv(TRACE_ENV);
    g_autoptr(GPtrArray) items = NULL;

    trace_env_read = true;
    if (!env || !env[0]) {
        return;
    }
    trace_env_patterns = g_ptr_array_new_with_free_func(g_free);
    items = trace_opt_split(env);
    for (guint i = 0; i < items->len; i++) {
        const char *p = g_ptr_array_index(items, i);
        Error *err = NULL;

        if (g_str_has_prefix(p, "events=")) {
            g_autoptr(GPtrArray) lines =
                trace_read_events_file(p + strlen("events="), &err);

            for (guint j = 0; lines && j < lines->len; j++) {
                if (g_ptr_array_index(lines, j)) {
                    g_ptr_array_add(trace_env_patterns,
                                    g_strdup(g_ptr_array_index(lines, j)));
                }
            }
        } else if (g_str_has_prefix(p, "file=")) {
            trace_set_log_file(p + strlen("file="), &err);
        } else if (g_str_has_prefix(p, "enable=")) {
            g_ptr_array_add(trace_env_patterns, g_strdup(p + strlen("enable=")));
        } else if (strchr(p, '=') || trace_opt_is_help(p)) {
            error_setg(&err, "trace: unknown item '%s'", p);
        } else {
            g_ptr_array_add(trace_env_patterns, g_strdup(p));
        }
        if (err) {
            error_prepend(&err, "%s: ", TRACE_ENV);
            warn_report_err(err);
        }
    }
}

static void trace_env_apply(TraceEvent **events)
{
    if (!trace_env_read) {
        trace_env_read_once();
    }
    for (guint i = 0; trace_env_patterns && i < trace_env_patterns->len; i++) {
        bool enable;
        const char *glob = trace_pattern_glob(g_ptr_array_index(trace_env_patterns, i),
                                              &enable);
        int compiled_out = 0;

        if (glob[0]) {
            trace_set_matching(events, G_MAXUINT, glob, enable, &compiled_out);
        }
    }
}

static gint trace_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void trace_list_events(FILE *fp)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    trace_registry_init();
    for (guint i = 0; i < trace_events->len; i++) {
        TraceEvent *ev = g_ptr_array_index(trace_events, i);

        if (trace_event_is_compiled_in(ev)) {
            g_ptr_array_add(names, (gpointer)ev->name);
        }
    }
    g_ptr_array_sort(names, trace_name_cmp);
    for (guint i = 0; i < names->len; i++) {
        fprintf(fp, "%s\n", (const char *)names->pdata[i]);
    }
    fflush(fp);
}

void trace_log_emit(const char *fmt, ...)
{
    struct timeval tv;
    va_list ap;
    FILE *fp;

    gettimeofday(&tv, NULL);
    g_mutex_lock(&trace_log_lock);
    fp = trace_log_fp ? trace_log_fp : stderr;
    fprintf(fp, "%d@%lld.%06ld:", getpid(), (long long)tv.tv_sec, (long)tv.tv_usec);
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    g_mutex_unlock(&trace_log_lock);
}
