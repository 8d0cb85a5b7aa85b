/*
 * QMP commands and events: the registry other subsystems add to.
 *
 * A subsystem registers its commands once (from a type_init-style
 * constructor or its init function):
 *
 *     static bool qmp_query_pci(JsonObject *args, JsonNode **ret, Error **errp)
 *     {
 *         *ret = ...;          // the "return" value; leave NULL for {}
 *         return true;
 *     }
 *     qmp_register_command("query-pci", qmp_query_pci, 0);
 *
 * The handler gets the "arguments" object (an empty object when absent;
 * borrowed, do not unref) and returns false with *errp set on failure; the
 * reply is {"error": {"class": CLASS, "desc": message}}, CLASS being
 * "GenericError" unless the handler called qmp_set_error_class().  On
 * success *ret (owned by the monitor) becomes "return"; NULL gives {}.
 *
 * Events go to every monitor that finished capabilities negotiation:
 *     {"timestamp": {"seconds": S, "microseconds": U}, "event": NAME, "data": {...}}
 * ("data" omitted when NULL).
 *
 * json-glib types come from <json-glib/json-glib.h>.
 *
 * Threading: main loop thread only.
 */
#ifndef QAPI_QMP_REGISTRY_H
#define QAPI_QMP_REGISTRY_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

typedef bool (*QmpCommandFunc)(JsonObject *args, JsonNode **ret, Error **errp);

typedef enum QmpCommandOptions {
    QCO_NO_OPTIONS = 0,
    /* Allowed before capabilities negotiation (only qmp_capabilities). */
    QCO_ALLOW_PRECONFIG_NEGOTIATION = 1 << 0,
} QmpCommandOptions;

/* QMP error classes (QEMU's ErrorClass). */
typedef enum QmpErrorClass {
    QMP_ERROR_CLASS_GENERIC_ERROR,      /* "GenericError" */
    QMP_ERROR_CLASS_COMMAND_NOT_FOUND,  /* "CommandNotFound" */
    QMP_ERROR_CLASS_DEVICE_NOT_ACTIVE,  /* "DeviceNotActive" */
    QMP_ERROR_CLASS_DEVICE_NOT_FOUND,   /* "DeviceNotFound" */
    QMP_ERROR_CLASS_KVM_MISSING_CAP,    /* "KVMMissingCap" */
} QmpErrorClass;

/* Register @name; registering a name twice aborts (a programming error). */
void qmp_register_command(const char *name, QmpCommandFunc fn, unsigned options);
/* Whether @name is registered. */
bool qmp_command_exists(const char *name);
/* Registered names, sorted; free the list (not the strings) with g_list_free. */
GList *qmp_command_names(void);

/*
 * For a handler about to fail: the reply's error class (reset to
 * GenericError before each command).
 */
void qmp_set_error_class(QmpErrorClass cls);
const char *qmp_error_class_name(QmpErrorClass cls);

/*
 * Send event @name to every negotiated monitor.  @data (may be NULL) is
 * borrowed: the caller still owns it.
 */
void qapi_event_send(const char *name, JsonObject *data);

/*
 * Observe every event (tests, and monitors): @fn(name, the full event
 * object, opaque).  Returns a handle for qapi_event_remove_listener.
 */
typedef void (*QapiEventListener)(const char *name, JsonObject *event, void *opaque);
unsigned qapi_event_add_listener(QapiEventListener fn, void *opaque);
void qapi_event_remove_listener(unsigned handle);

/*
 * Run one command from C: @request is {"execute": NAME, "arguments": ...}
 * as a monitor would receive it after negotiation.  Returns the reply
 * object (caller unrefs) -- the way unit tests drive QMP without a socket.
 */
JsonObject *qmp_dispatch(JsonObject *request);

/* {"error": {"class": CLASS, "desc": @desc}}; caller unrefs. */
JsonObject *qmp_error_response(QmpErrorClass cls, const char *desc);

/*
 * Argument checking for handlers: fails ("Parameter 'X' is unexpected")
 * for a member of @args not in the NULL-terminated @allowed, or ("Parameter
 * 'X' is missing") for a missing one of the NULL-terminated @required.
 */
bool qmp_check_args(JsonObject *args, const char *const *allowed,
                    const char *const *required, Error **errp);
/*
 * A string argument: *@value is NULL when absent (@required fails then);
 * a non-string fails ("Invalid parameter type for 'X', expected: string").
 */
bool qmp_arg_string(JsonObject *args, const char *name, bool required, const char **value,
                    Error **errp);

/*
 * A flat JSON object as command-line options (device_add, -device '{...}'):
 * strings as they are, integers in decimal, booleans as on/off.  Fails
 * ("Invalid parameter type for 'X', expected: scalar") for null, arrays
 * and objects.  Free with qopts_free (qom/opts.h).
 */
struct QOpts;
struct QOpts *qmp_args_to_qopts(JsonObject *args, Error **errp);

/* Register the built-in commands (query-status, stop, cont, quit, device_del ...). */
void qmp_register_builtin_commands(void);

#endif /* QAPI_QMP_REGISTRY_H */
