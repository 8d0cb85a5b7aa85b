/*
 * QMP monitors over chardevs: greeting, negotiation, JSON stream splitting,
 * replies and events (include/qapi/qmp-monitor.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-monitor.h"
#include "qapi/qmp-registry.h"
#include "trace/trace-qapi.h"

/* Limits on one request, as QEMU's JSON parser has them. */
#define QMP_MAX_REQUEST_BYTES (64 * MiB)
#define QMP_MAX_NESTING 1024

typedef struct MonitorQMP {
    CharBackend chr;        /* the connection */
    bool negotiated;        /* qmp_capabilities done on this connection */
    unsigned listener;      /* event listener handle */

    /* The JSON splitter: the bytes of the value being received. */
    GString *buf;
    int depth;              /* nesting of {} and [] */
    char in_string;         /* inside a string: its quote character (' or "), else 0 */
    bool escape;            /* after a backslash inside a string */
    bool in_scalar;         /* a top-level scalar (not an object) is being read */
    bool overflow;          /* the value exceeds the limits: drop it, then report */
} MonitorQMP;

/* MonitorQMP *. */
static GList *monitors;

/* ------------------------------------------------------------------ */
/* Output */

static void json_append_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20) {
                g_string_append_printf(out, "\\u%04x", *p);
            } else {
                g_string_append_c(out, *p);
            }
        }
    }
    g_string_append_c(out, '"');
}

static void json_append_node(GString *out, JsonNode *node)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *obj = json_node_get_object(node);
        GList *members = json_object_get_members(obj);

        g_string_append_c(out, '{');
        for (GList *l = members; l; l = l->next) {
            json_append_string(out, l->data);
            g_string_append(out, ": ");
            json_append_node(out, json_object_get_member(obj, l->data));
            if (l->next) {
                g_string_append(out, ", ");
            }
        }
        g_string_append_c(out, '}');
        g_list_free(members);
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);

        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            json_append_node(out, json_array_get_element(arr, i));
            if (i + 1 < n) {
                g_string_append(out, ", ");
            }
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(node)) {
        case G_TYPE_INT64:
            g_string_append_printf(out, "%" PRId64, json_node_get_int(node));
            break;
        case G_TYPE_DOUBLE: {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];

            g_string_append(out, g_ascii_dtostr(buf, sizeof(buf),
                                                json_node_get_double(node)));
            break;
        }
        case G_TYPE_BOOLEAN:
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
            break;
        case G_TYPE_STRING:
            json_append_string(out, json_node_get_string(node));
            break;
        default:
            g_string_append(out, "null");
        }
        break;
    }
}

char *qmp_json_to_string(JsonNode *node)
{
    GString *out = g_string_new(NULL);

    json_append_node(out, node);
    return g_string_free(out, false);
}

static void monitor_send(MonitorQMP *mon, JsonObject *obj)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), obj);
    g_autofree char *text = qmp_json_to_string(node);
    g_autofree char *line = g_strconcat(text, "\r\n", NULL);

    json_node_unref(node);
    trace_monitor_qmp_send(text);
    qemu_chr_fe_write_all(&mon->chr, (const uint8_t *)line, strlen(line));
}

static void monitor_send_error(MonitorQMP *mon, QmpErrorClass cls, const char *desc,
                               JsonNode *id)
{
    JsonObject *rsp = qmp_error_response(cls, desc);

    if (id) {
        json_object_set_member(rsp, "id", json_node_copy(id));
    }
    monitor_send(mon, rsp);
    json_object_unref(rsp);
}

static void monitor_send_greeting(MonitorQMP *mon)
{
    JsonObject *greeting = json_object_new();
    JsonObject *qmp = json_object_new();
    JsonObject *version = json_object_new();
    JsonObject *qemu = json_object_new();

    json_object_set_int_member(qemu, "micro", QMP_VERSION_MICRO);
    json_object_set_int_member(qemu, "minor", QMP_VERSION_MINOR);
    json_object_set_int_member(qemu, "major", QMP_VERSION_MAJOR);
    json_object_set_object_member(version, "qemu", qemu);
    json_object_set_string_member(version, "package", "");
    json_object_set_object_member(qmp, "version", version);
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    json_object_set_object_member(greeting, "QMP", qmp);
    monitor_send(mon, greeting);
    json_object_unref(greeting);
}

/* ------------------------------------------------------------------ */
/* Requests */

static void monitor_handle_request(MonitorQMP *mon, JsonObject *req)
{
    JsonNode *exec = json_object_get_member(req, "execute");
    JsonNode *id = json_object_get_member(req, "id");
    const char *name = NULL;
    JsonObject *rsp;

    if (exec && JSON_NODE_HOLDS_VALUE(exec) &&
        json_node_get_value_type(exec) == G_TYPE_STRING) {
        name = json_node_get_string(exec);
    }
    /* Negotiation is per connection, so the monitor answers qmp_capabilities. */
    if (name && !strcmp(name, "qmp_capabilities")) {
        JsonObject *args = json_object_has_member(req, "arguments") &&
                           JSON_NODE_HOLDS_OBJECT(json_object_get_member(req, "arguments"))
                           ? json_object_get_object_member(req, "arguments") : NULL;

        if (mon->negotiated) {
            monitor_send_error(mon, QMP_ERROR_CLASS_COMMAND_NOT_FOUND,
                               "Capabilities negotiation is already complete, "
                               "command ignored", id);
            return;
        }
        if (args) {
            static const char *const allowed[] = { "enable", NULL };
            JsonNode *enable = json_object_get_member(args, "enable");
            Error *err = NULL;

            if (!qmp_check_args(args, allowed, NULL, &err)) {
                monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR, error_get_pretty(err),
                                   id);
                error_free(err);
                return;
            }
            if (enable && (!JSON_NODE_HOLDS_ARRAY(enable) ||
                           json_array_get_length(json_node_get_array(enable)) > 0)) {
                /* No capability is offered ("capabilities": []), so none can be enabled. */
                JsonArray *arr = JSON_NODE_HOLDS_ARRAY(enable) ? json_node_get_array(enable)
                                                               : NULL;
                JsonNode *first = arr ? json_array_get_element(arr, 0) : NULL;
                const char *name = first && JSON_NODE_HOLDS_VALUE(first) &&
                                   json_node_get_value_type(first) == G_TYPE_STRING
                                   ? json_node_get_string(first) : NULL;
                g_autofree char *desc = name
                    ? g_strdup_printf("Capability '%s' not available", name)
                    : g_strdup("Invalid parameter type for 'enable', expected: array of "
                               "capability names");

                monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR, desc, id);
                return;
            }
        }
        mon->negotiated = true;
        rsp = json_object_new();
        json_object_set_object_member(rsp, "return", json_object_new());
        if (id) {
            json_object_set_member(rsp, "id", json_node_copy(id));
        }
        monitor_send(mon, rsp);
        json_object_unref(rsp);
        return;
    }
    if (!mon->negotiated && name) {
        monitor_send_error(mon, QMP_ERROR_CLASS_COMMAND_NOT_FOUND,
                           "Expecting capabilities negotiation with 'qmp_capabilities'",
                           id);
        return;
    }
    rsp = qmp_dispatch(req);
    monitor_send(mon, rsp);
    json_object_unref(rsp);
}

char *qmp_json_normalize_quotes(const char *text, size_t len)
{
    GString *out = g_string_sized_new(len + 16);
    char quote = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (!quote) {
            if (c == '\'' || c == '"') {
                quote = c;
                g_string_append_c(out, '"');
            } else {
                g_string_append_c(out, c);
            }
            continue;
        }
        if (c == '\\' && i + 1 < len) {
            char next = text[++i];

            if (next == '\'') {
                g_string_append_c(out, '\'');     /* \' is QEMU's, not JSON's */
            } else {
                g_string_append_c(out, '\\');
                g_string_append_c(out, next);
            }
        } else if (c == quote) {
            quote = 0;
            g_string_append_c(out, '"');
        } else if (c == '"') {
            g_string_append(out, "\\\"");      /* a double quote inside '...' */
        } else {
            g_string_append_c(out, c);
        }
    }
    return g_string_free(out, false);
}

/* One complete top-level JSON text in mon->buf. */
static void monitor_handle_text(MonitorQMP *mon)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    g_autofree char *text = qmp_json_normalize_quotes(mon->buf->str, mon->buf->len);
    JsonNode *root;

    trace_monitor_qmp_receive(mon->buf->str);
    if (memchr(mon->buf->str, '\0', mon->buf->len)) {
        monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR,
                           "JSON parse error, NUL byte in input", NULL);
        return;
    }
    if (!json_parser_load_from_data(parser, text, -1, &gerr)) {
        g_autofree char *desc = g_strdup_printf("JSON parse error, %s", gerr->message);

        monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR, desc, NULL);
        return;
    }
    root = json_parser_get_root(parser);
    if (!root) {
        return;     /* only blanks */
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR,
                           "QMP input must be a JSON object", NULL);
        return;
    }
    monitor_handle_request(mon, json_node_get_object(root));
}

static void monitor_reset_splitter(MonitorQMP *mon)
{
    g_string_truncate(mon->buf, 0);
    mon->depth = 0;
    mon->in_string = 0;
    mon->escape = false;
    mon->in_scalar = false;
    mon->overflow = false;
}

static void monitor_finish_value(MonitorQMP *mon)
{
    if (mon->overflow) {
        monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR,
                           "JSON parse error, request too large or too deeply nested", NULL);
    } else {
        monitor_handle_text(mon);
    }
    monitor_reset_splitter(mon);
}

/*
 * Split the input stream into top-level JSON values: an object or array
 * ends when its brackets balance (outside strings); a top-level scalar or
 * garbage ends at white space or the start of the next object.
 */
static void monitor_feed(MonitorQMP *mon, char c)
{
    if (mon->in_scalar) {
        if (g_ascii_isspace(c) || c == '{' || c == '[') {
            monitor_finish_value(mon);
            if (c == '{' || c == '[') {
                monitor_feed(mon, c);
            }
            return;
        }
        if (mon->buf->len < 1024) {
            g_string_append_c(mon->buf, c);
        }
        return;
    }
    if (mon->depth == 0) {
        if (g_ascii_isspace(c)) {
            return;
        }
        if (c == '{' || c == '[') {
            mon->depth = 1;
            g_string_append_c(mon->buf, c);
            return;
        }
        if (c == '}' || c == ']') {
            g_autofree char *desc = g_strdup_printf("JSON parse error, unexpected '%c'", c);

            monitor_send_error(mon, QMP_ERROR_CLASS_GENERIC_ERROR, desc, NULL);
            return;
        }
        mon->in_scalar = true;
        g_string_append_c(mon->buf, c);
        return;
    }

    if (mon->buf->len < QMP_MAX_REQUEST_BYTES) {
        g_string_append_c(mon->buf, c);
    } else {
        mon->overflow = true;
    }
    if (mon->in_string) {
        if (mon->escape) {
            mon->escape = false;
        } else if (c == '\\') {
            mon->escape = true;
        } else if (c == mon->in_string) {
            mon->in_string = 0;
        }
        return;
    }
    switch (c) {
    case '"':
    case '\'':
        mon->in_string = c;
        break;
    case '{':
    case '[':
        if (++mon->depth > QMP_MAX_NESTING) {
            mon->overflow = true;
        }
        break;
    case '}':
    case ']':
        if (--mon->depth == 0) {
            monitor_finish_value(mon);
        }
        break;
    }
}

static int monitor_can_read(void *opaque)
{
    return 4096;
}

static void monitor_read(void *opaque, const uint8_t *buf, int size)
{
    MonitorQMP *mon = opaque;

    for (int i = 0; i < size; i++) {
        monitor_feed(mon, (char)buf[i]);
    }
    /* A scalar at the very end of a read with nothing after it waits for more input. */
}

static void monitor_event(void *opaque, QEMUChrEvent event)
{
    MonitorQMP *mon = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        trace_monitor_qmp_connected(qemu_chr_fe_get_driver(&mon->chr)->label);
        mon->negotiated = false;
        monitor_reset_splitter(mon);
        monitor_send_greeting(mon);
        break;
    case CHR_EVENT_CLOSED:
        trace_monitor_qmp_disconnected(qemu_chr_fe_get_driver(&mon->chr)->label);
        mon->negotiated = false;
        monitor_reset_splitter(mon);
        break;
    default:
        break;
    }
}

static void monitor_emit_event(const char *name, JsonObject *event, void *opaque)
{
    MonitorQMP *mon = opaque;

    if (mon->negotiated) {
        monitor_send(mon, event);
    }
}

bool monitor_init_qmp(Chardev *chr, Error **errp)
{
    MonitorQMP *mon = g_new0(MonitorQMP, 1);

    if (!qemu_chr_fe_init(&mon->chr, chr, errp)) {
        g_free(mon);
        return false;
    }
    mon->buf = g_string_new(NULL);
    mon->listener = qapi_event_add_listener(monitor_emit_event, mon);
    monitors = g_list_append(monitors, mon);
    qemu_chr_fe_set_handlers(&mon->chr, monitor_can_read, monitor_read, monitor_event, NULL,
                             mon, NULL, true);
    return true;
}

void monitor_cleanup(void)
{
    while (monitors) {
        MonitorQMP *mon = monitors->data;

        monitors = g_list_delete_link(monitors, monitors);
        qapi_event_remove_listener(mon->listener);
        qemu_chr_fe_deinit(&mon->chr, true);
        g_string_free(mon->buf, true);
        g_free(mon);
    }
}
