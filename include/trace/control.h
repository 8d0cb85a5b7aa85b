/*
 * Trace event control: the registry of every event compiled into the program
 * and the run-time switches behind `-trace`.
 */
#ifndef TRACE_CONTROL_H
#define TRACE_CONTROL_H

#include "qemu/osdep.h"

typedef struct TraceEvent {
    const char *name;
    /* Non-zero while the event is enabled; read by the inline trace_*() */
    uint16_t *dstate;
} TraceEvent;

/* Called by each generated trace-GROUP.c from a constructor. */
void trace_event_register_group(const char *group, TraceEvent **events);

/* The event called @name, or NULL. */
TraceEvent *trace_event_find(const char *name);

/*
 * Enable (or disable, with a leading '-') every event whose name matches the
 * glob @pattern.  Returns the number of events changed; a pattern without a
 * wildcard that names no event is an error.
 */
int trace_enable_events(const char *pattern, Error **errp);

/*
 * Apply one `-trace` argument: "PATTERN", "enable=PATTERN", "events=FILE"
 * (one pattern per line, '#' comments) and "file=PATH" (log destination),
 * comma-separated.
 */
bool trace_opt_parse(const char *optarg, Error **errp);

/* Print every registered event name to @fp, one per line, sorted. */
void trace_list_events(FILE *fp);

/* Redirect the log backend; NULL or "" means stderr. */
bool trace_set_log_file(const char *path, Error **errp);

/* Log backend: one line with a pid and timestamp prefix. */
void trace_log_emit(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif /* TRACE_CONTROL_H */
