/*
 * The QMP command registry, dispatch and events (include/qapi/qmp-registry.h).
 */
#include "qemu/osdep.h"
#include <sys/time.h>
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "qom/opts.h"
#include "trace/trace-qapi.h"

typedef struct QmpCommand {
    const char *name;       /* static storage (the caller's) */
    QmpCommandFunc fn;
    unsigned options;       /* QmpCommandOptions */
} QmpCommand;

/* name -> QmpCommand *. */
static GHashTable *commands;
/* The class of the error the running command returns. */
static QmpErrorClass current_error_class;

typedef struct EventListener {
    unsigned handle;
    QapiEventListener fn;
    void *opaque;
} EventListener;

/* EventListener *, in registration order. */
static GList *event_listeners;
static unsigned next_listener_handle = 1;

static const char *const error_class_names[] = {
    [QMP_ERROR_CLASS_GENERIC_ERROR] = "GenericError",
    [QMP_ERROR_CLASS_COMMAND_NOT_FOUND] = "CommandNotFound",
    [QMP_ERROR_CLASS_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [QMP_ERROR_CLASS_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [QMP_ERROR_CLASS_KVM_MISSING_CAP] = "KVMMissingCap",
};

const char *qmp_error_class_name(QmpErrorClass cls)
{
    assert(cls < ARRAY_SIZE(error_class_names));
    return error_class_names[cls];
}

void qmp_set_error_class(QmpErrorClass cls)
{
    current_error_class = cls;
}

void qmp_register_command(const char *name, QmpCommandFunc fn, unsigned options)
{
    QmpCommand *cmd;

    if (!commands) {
        commands = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    }
    if (g_hash_table_lookup(commands, name)) {
        fprintf(stderr, "QMP command '%s' registered twice\n", name);
        abort();
    }
    cmd = g_new0(QmpCommand, 1);
    cmd->name = name;
    cmd->fn = fn;
    cmd->options = options;
    g_hash_table_insert(commands, (gpointer)name, cmd);
}

bool qmp_command_exists(const char *name)
{
    return commands && g_hash_table_lookup(commands, name);
}

GList *qmp_command_names(void)
{
    GList *names = commands ? g_hash_table_get_keys(commands) : NULL;

    return g_list_sort(names, (GCompareFunc)strcmp);
}

/* {"error": {"class": CLASS, "desc": DESC}} */
JsonObject *qmp_error_response(QmpErrorClass cls, const char *desc)
{
    JsonObject *rsp = json_object_new();
    JsonObject *err = json_object_new();

    json_object_set_string_member(err, "class", qmp_error_class_name(cls));
    json_object_set_string_member(err, "desc", desc);
    json_object_set_object_member(rsp, "error", err);
    return rsp;
}

/*
 * Check the request's shape as QEMU does; returns the command name or NULL
 * with *errp set.
 */
static const char *qmp_check_request(JsonObject *request, Error **errp)
{
    const char *exec_key = NULL;
    GList *members = json_object_get_members(request);
    const char *name = NULL;

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *value = json_object_get_member(request, key);

        if (!strcmp(key, "execute")) {
            if (!JSON_NODE_HOLDS_VALUE(value) ||
                json_node_get_value_type(value) != G_TYPE_STRING) {
                error_setg(errp, "QMP input member '%s' must be a string", key);
                goto out;
            }
            exec_key = key;
            name = json_node_get_string(value);
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(value)) {
                error_setg(errp, "QMP input member 'arguments' must be an object");
                goto out;
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            goto out;
        }
    }
    if (!exec_key) {
        error_setg(errp, "QMP input lacks member 'execute'");
    }
    g_list_free(members);
    return name;

out:
    g_list_free(members);
    return NULL;
}

JsonObject *qmp_dispatch(JsonObject *request)
{
    Error *err = NULL;
    const char *name = qmp_check_request(request, &err);
    QmpCommand *cmd;
    JsonObject *args, *rsp;
    JsonNode *ret = NULL;

    if (!name) {
        rsp = qmp_error_response(QMP_ERROR_CLASS_GENERIC_ERROR, error_get_pretty(err));
        error_free(err);
        goto out;
    }
    cmd = commands ? g_hash_table_lookup(commands, name) : NULL;
    if (!cmd) {
        g_autofree char *desc = g_strdup_printf("The command %s has not been found", name);

        rsp = qmp_error_response(QMP_ERROR_CLASS_COMMAND_NOT_FOUND, desc);
        goto out;
    }
    if (json_object_has_member(request, "arguments")) {
        args = json_object_ref(json_object_get_object_member(request, "arguments"));
    } else {
        args = json_object_new();
    }
    trace_qmp_dispatch(name);
    current_error_class = QMP_ERROR_CLASS_GENERIC_ERROR;
    if (!cmd->fn(args, &ret, &err)) {
        assert(err);
        trace_qmp_dispatch_error(name, error_get_pretty(err));
        rsp = qmp_error_response(current_error_class, error_get_pretty(err));
        error_free(err);
        if (ret) {
            json_node_unref(ret);
        }
    } else {
        assert(!err);
        rsp = json_object_new();
        if (!ret) {
            JsonObject *empty = json_object_new();

            ret = json_node_init_object(json_node_alloc(), empty);
            json_object_unref(empty);   /* the node holds it */
        }
        json_object_set_member(rsp, "return", ret);
    }
    json_object_unref(args);
out:
    if (json_object_has_member(request, "id")) {
        json_object_set_member(rsp, "id",
                               json_node_copy(json_object_get_member(request, "id")));
    }
    return rsp;
}

unsigned qapi_event_add_listener(QapiEventListener fn, void *opaque)
{
    EventListener *el = g_new0(EventListener, 1);

    el->handle = next_listener_handle++;
    el->fn = fn;
    el->opaque = opaque;
    event_listeners = g_list_append(event_listeners, el);
    return el->handle;
}

void qapi_event_remove_listener(unsigned handle)
{
    for (GList *l = event_listeners; l; l = l->next) {
        EventListener *el = l->data;

        if (el->handle == handle) {
            event_listeners = g_list_delete_link(event_listeners, l);
            g_free(el);
            return;
        }
    }
}

void qapi_event_send(const char *name, JsonObject *data)
{
    JsonObject *event = json_object_new();
    JsonObject *ts = json_object_new();
    struct timeval tv;

    gettimeofday(&tv, NULL);
    json_object_set_int_member(ts, "seconds", tv.tv_sec);
    json_object_set_int_member(ts, "microseconds", tv.tv_usec);
    json_object_set_object_member(event, "timestamp", ts);
    json_object_set_string_member(event, "event", name);
    if (data) {
        json_object_set_object_member(event, "data", json_object_ref(data));
    }
    trace_qapi_event_send(name);
    for (GList *l = event_listeners; l;) {
        EventListener *el = l->data;

        l = l->next;    /* a listener may remove itself */
        el->fn(name, event, el->opaque);
    }
    json_object_unref(event);
}

static bool name_in(const char *name, const char *const *list)
{
    for (; list && *list; list++) {
        if (!strcmp(name, *list)) {
            return true;
        }
    }
    return false;
}

bool qmp_check_args(JsonObject *args, const char *const *allowed,
                    const char *const *required, Error **errp)
{
    GList *members = json_object_get_members(args);
    bool ok = true;

    for (GList *l = members; l; l = l->next) {
        if (!name_in(l->data, allowed) && !name_in(l->data, required)) {
            error_setg(errp, "Parameter '%s' is unexpected", (const char *)l->data);
            ok = false;
            break;
        }
    }
    g_list_free(members);
    for (; ok && required && *required; required++) {
        if (!json_object_has_member(args, *required)) {
            error_setg(errp, "Parameter '%s' is missing", *required);
            ok = false;
        }
    }
    return ok;
}

bool qmp_arg_string(JsonObject *args, const char *name, bool required, const char **value,
                    Error **errp)
{
    JsonNode *node = json_object_get_member(args, name);

    *value = NULL;
    if (!node) {
        if (required) {
            error_setg(errp, "Parameter '%s' is missing", name);
            return false;
        }
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
        error_setg(errp, "Invalid parameter type for '%s', expected: string", name);
        return false;
    }
    *value = json_node_get_string(node);
    return true;
}

QOpts *qmp_args_to_qopts(JsonObject *args, Error **errp)
{
    QOpts *opts = qopts_new();
    GList *members = json_object_get_members(args);

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *node = json_object_get_member(args, key);
        g_autofree char *value = NULL;

        if (JSON_NODE_HOLDS_VALUE(node)) {
            switch (json_node_get_value_type(node)) {
            case G_TYPE_STRING:
                value = g_strdup(json_node_get_string(node));
                break;
            case G_TYPE_INT64:
                value = g_strdup_printf("%" PRId64, json_node_get_int(node));
                break;
            case G_TYPE_BOOLEAN:
                value = g_strdup(json_node_get_boolean(node) ? "on" : "off");
                break;
            case G_TYPE_DOUBLE: {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];

                value = g_strdup(g_ascii_dtostr(buf, sizeof(buf), json_node_get_double(node)));
                break;
            }
            default:
                break;
            }
        }
        if (!value) {
            error_setg(errp, "Invalid parameter type for '%s', expected: scalar", key);
            goto fail;
        }
        if (!qopts_add(opts, key, value, errp)) {
            goto fail;
        }
    }
    g_list_free(members);
    return opts;

fail:
    g_list_free(members);
    qopts_free(opts);
    return NULL;
}
