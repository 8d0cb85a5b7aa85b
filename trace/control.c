/*
 * Trace event registry and the `-trace` switches.
 *
 * Events are registered by constructors in the generated trace-GROUP.c files,
 * before main() runs, so the registry needs no locking for registration.  The
 * enable state is a plain uint16_t per event: a trace point that races with a
 * `-trace` change may miss or emit one record, which is harmless.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "trace/control.h"

#include <fnmatch.h>
#include <sys/time.h>

typedef struct TraceGroup {
    const char *name;
    TraceEvent **events;
} TraceGroup;

static GArray *trace_groups;          /* of TraceGroup */
static FILE *trace_log_fp;            /* NULL means stderr */
static GMutex trace_log_lock;

void trace_event_register_group(const char *group, TraceEvent **events)
{
    TraceGroup g = { .name = group, .events = events };

    if (!trace_groups) {
        trace_groups = g_array_new(false, false, sizeof(TraceGroup));
    }
    g_array_append_val(trace_groups, g);
}

#define for_each_trace_event(ev)                                             \
    for (guint _gi = 0; trace_groups && _gi < trace_groups->len; _gi++)      \
        for (TraceEvent **_pe = g_array_index(trace_groups, TraceGroup,      \
                                              _gi).events;                   \
             (ev = *_pe) != NULL; _pe++)

TraceEvent *trace_event_find(const char *name)
{
    TraceEvent *ev;

    for_each_trace_event(ev) {
        if (strcmp(ev->name, name) == 0) {
            return ev;
        }
    }
    return NULL;
}

int trace_enable_events(const char *pattern, Error **errp)
{
    bool enable = true;
    bool wildcard;
    TraceEvent *ev;
    int changed = 0;

    if (pattern[0] == '-') {
        enable = false;
        pattern++;
    }
    if (!pattern[0]) {
        error_setg(errp, "trace: empty event pattern");
        return -1;
    }
    wildcard = strpbrk(pattern, "*?[") != NULL;
    for_each_trace_event(ev) {
        if (fnmatch(pattern, ev->name, 0) == 0) {
            *ev->dstate = enable;
            changed++;
        }
    }
    if (!changed && !wildcard) {
        error_setg(errp, "trace: no event named '%s'", pattern);
        error_append_hint(errp, "use '-trace help' to list the events\n");
        return -1;
    }
    return changed;
}

static bool trace_enable_events_file(const char *path, Error **errp)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) gerr = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &contents, NULL, &gerr)) {
        error_setg(errp, "trace: cannot read events file: %s", gerr->message);
        return false;
    }
    lines = g_strsplit(contents, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);

        if (!line[0] || line[0] == '#') {
            continue;
        }
        if (trace_enable_events(line, errp) < 0) {
            error_prepend(errp, "%s:%d: ", path, i + 1);
            return false;
        }
    }
    return true;
}

bool trace_set_log_file(const char *path, Error **errp)
{
    FILE *fp = NULL;

    if (path && path[0]) {
        fp = fopen(path, "a");
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

bool trace_opt_parse(const char *optarg, Error **errp)
{
    g_auto(GStrv) parts = g_strsplit(optarg, ",", -1);

    for (int i = 0; parts[i]; i++) {
        const char *p = parts[i];

        if (g_str_has_prefix(p, "events=")) {
            if (!trace_enable_events_file(p + strlen("events="), errp)) {
                return false;
            }
        } else if (g_str_has_prefix(p, "enable=")) {
            if (trace_enable_events(p + strlen("enable="), errp) < 0) {
                return false;
            }
        } else if (g_str_has_prefix(p, "file=")) {
            if (!trace_set_log_file(p + strlen("file="), errp)) {
                return false;
            }
        } else if (strchr(p, '=')) {
            error_setg(errp, "trace: unknown option '%.*s'",
                       (int)(strchr(p, '=') - p), p);
            return false;
        } else if (trace_enable_events(p, errp) < 0) {
            return false;
        }
    }
    return true;
}

static gint trace_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void trace_list_events(FILE *fp)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    TraceEvent *ev;

    for_each_trace_event(ev) {
        g_ptr_array_add(names, (gpointer)ev->name);
    }
    g_ptr_array_sort(names, trace_name_cmp);
    for (guint i = 0; i < names->len; i++) {
        fprintf(fp, "%s\n", (const char *)names->pdata[i]);
    }
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
