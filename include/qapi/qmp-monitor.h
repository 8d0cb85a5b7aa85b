/*
 * QMP monitors: the JSON protocol over a chardev (-qmp, -mon mode=control).
 *
 * On connection the monitor sends the greeting
 *   {"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 10}, "package": ""},
 *            "capabilities": []}}
 * and accepts only qmp_capabilities until negotiation (other commands get
 * CommandNotFound).  Input is a stream of JSON values, split at the end of
 * each top-level value (no newline needed); each reply or event is one line
 * ending in "\r\n".  Bad JSON, a value that is not an object, or a request
 * without "execute" gets a GenericError reply; the connection stays usable.
 *
 * Threading: main loop thread only.
 */
#ifndef QAPI_QMP_MONITOR_H
#define QAPI_QMP_MONITOR_H

#include "qemu/osdep.h"
#include "chardev/char.h"
#include <json-glib/json-glib.h>

/* QEMU's version as QMP reports it (QEMU-compatible clients check it). */
#define QMP_VERSION_MAJOR 10
#define QMP_VERSION_MINOR 0
#define QMP_VERSION_MICRO 0

/* Serve QMP on @chr (which the monitor then owns).  Fails if @chr is in use. */
bool monitor_init_qmp(Chardev *chr, Error **errp);
/* Close every monitor (orderly exit); their chardevs are deleted. */
void monitor_cleanup(void);

/*
 * QEMU's JSON extension, in standard JSON: strings may be single-quoted
 * ('a "b"' becomes "a \"b\""), and \' is an escaped quote in either kind.
 * @text need not be valid; g_free the result.
 */
char *qmp_json_normalize_quotes(const char *text, size_t len);

/*
 * @node as QMP writes it: QEMU's spacing ({"a": 1, "b": [1, 2]}), strings
 * escaped per RFC 8259.  g_free the result.
 */
char *qmp_json_to_string(JsonNode *node);

#endif /* QAPI_QMP_MONITOR_H */
