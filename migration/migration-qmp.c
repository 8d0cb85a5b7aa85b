/*
 * QMP commands of migration (docs/migration.md):
 *   migrate {"uri"}            migrate_cancel              migrate-continue {"state"}
 *   migrate-incoming {"uri"}   query-migrate
 *   migrate-set-parameters {"downtime-limit", "max-bandwidth", "x-needed-bytes",
 *                           "x-vfio-dma-logging"}
 *   query-migrate-parameters
 *   migrate-set-capabilities {"capabilities": [{"capability", "state"}]}
 *   query-migrate-capabilities
 * Names, arguments and error messages follow QEMU's where QEMU has them.
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qapi/qmp-registry.h"
#include "migration/migration-int.h"

/* QEMU's limit for downtime-limit: 2000 s. */
#define MAX_DOWNTIME_MS     (2000 * 1000)

static JsonNode *object_node(JsonObject *obj)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), obj);

    json_object_unref(obj);
    return node;
}

static bool qmp_arg_int(JsonObject *args, const char *name, bool *present, int64_t *value,
                        Error **errp)
{
    JsonNode *node = json_object_get_member(args, name);

    *present = node != NULL;
    if (!node) {
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64) {
        error_setg(errp, "Invalid parameter type for '%s', expected: integer", name);
        return false;
    }
    *value = json_node_get_int(node);
    return true;
}

static bool qmp_arg_bool(JsonObject *args, const char *name, bool *present, bool *value,
                         Error **errp)
{
    JsonNode *node = json_object_get_member(args, name);

    *present = node != NULL;
    if (!node) {
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
        error_setg(errp, "Invalid parameter type for '%s', expected: boolean", name);
        return false;
    }
    *value = json_node_get_boolean(node);
    return true;
}

static bool qmp_migrate(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const allowed[] = { "detach", NULL };
    static const char *const required[] = { "uri", NULL };
    const char *uri;
    bool present, detach;

    if (!qmp_check_args(args, allowed, required, errp) ||
        !qmp_arg_string(args, "uri", true, &uri, errp) ||
        !qmp_arg_bool(args, "detach", &present, &detach, errp)) {
        return false;
    }
    return migrate_start(uri, errp);
}

static bool qmp_migrate_cancel(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const none[] = { NULL };

    if (!qmp_check_args(args, none, NULL, errp)) {
        return false;
    }
    migrate_cancel_request();
    return true;
}

static bool qmp_migrate_continue(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const required[] = { "state", NULL };
    const char *state;

    if (!qmp_check_args(args, NULL, required, errp) ||
        !qmp_arg_string(args, "state", true, &state, errp)) {
        return false;
    }
    return migrate_continue_request(state, errp);
}

static bool qmp_migrate_incoming(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const required[] = { "uri", NULL };
    const char *uri;

    if (!qmp_check_args(args, NULL, required, errp) ||
        !qmp_arg_string(args, "uri", true, &uri, errp)) {
        return false;
    }
    return migration_incoming_qmp(uri, errp);
}

static bool qmp_query_migrate(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const none[] = { NULL };
    JsonObject *info;

    if (!qmp_check_args(args, none, NULL, errp)) {
        return false;
    }
    info = json_object_new();
    /* The outgoing side when there is one, else the incoming side, else {}. */
    if (!migration_query_outgoing(info)) {
        migration_incoming_query(info);
    }
    *ret = object_node(info);
    return true;
}

static bool qmp_migrate_set_parameters(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const allowed[] = {
        "downtime-limit", "max-bandwidth", "x-needed-bytes", "x-vfio-dma-logging", NULL
    };
    bool has_downtime, has_bw, has_needed, needed = false, has_logging, logging = true;
    int64_t downtime = 0, bw = 0;

    if (!qmp_check_args(args, allowed, NULL, errp) ||
        !qmp_arg_int(args, "downtime-limit", &has_downtime, &downtime, errp) ||
        !qmp_arg_int(args, "max-bandwidth", &has_bw, &bw, errp) ||
        !qmp_arg_bool(args, "x-needed-bytes", &has_needed, &needed, errp) ||
        !qmp_arg_bool(args, "x-vfio-dma-logging", &has_logging, &logging, errp)) {
        return false;
    }
    if (has_downtime && (downtime < 0 || downtime > MAX_DOWNTIME_MS)) {
        error_setg(errp, "Parameter 'downtime_limit' expects an integer in the range of 0 "
                   "to %d milliseconds", MAX_DOWNTIME_MS);
        return false;
    }
    if (has_bw && bw < 0) {
        error_setg(errp, "Parameter 'max_bandwidth' expects a non-negative number of "
                   "bytes per second (0: no limit)");
        return false;
    }
    if ((has_needed || has_logging) && migration_is_running()) {
        error_setg(errp, "Parameter '%s' cannot change during a migration",
                   has_needed ? "x-needed-bytes" : "x-vfio-dma-logging");
        return false;
    }
    /* The migration thread reads these as it goes: new values apply at once. */
    if (has_downtime) {
        qatomic_set(&migrate_params.downtime_limit_ms, downtime);
    }
    if (has_bw) {
        qatomic_set(&migrate_params.max_bandwidth, bw);
    }
    if (has_needed) {
        migrate_params.x_needed_bytes = needed;
    }
    if (has_logging) {
        migrate_params.x_vfio_dma_logging = logging;
    }
    return true;
}

static bool qmp_query_migrate_parameters(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const none[] = { NULL };
    JsonObject *p;

    if (!qmp_check_args(args, none, NULL, errp)) {
        return false;
    }
    p = json_object_new();
    json_object_set_int_member(p, "downtime-limit", migrate_params.downtime_limit_ms);
    json_object_set_int_member(p, "max-bandwidth", migrate_params.max_bandwidth);
    json_object_set_boolean_member(p, "x-needed-bytes", migrate_params.x_needed_bytes);
    json_object_set_boolean_member(p, "x-vfio-dma-logging", migrate_params.x_vfio_dma_logging);
    *ret = object_node(p);
    return true;
}

typedef struct CapabilityDef {
    const char *name;
    bool *state;
} CapabilityDef;

static const CapabilityDef capabilities[] = {
    { "return-path", &migrate_caps.return_path },
    { "switchover-ack", &migrate_caps.switchover_ack },
    { "pause-before-switchover", &migrate_caps.pause_before_switchover },
    { "events", &migrate_caps.events },
};

static bool qmp_migrate_set_capabilities(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const required[] = { "capabilities", NULL };
    MigrationCapabilities next = migrate_caps;
    JsonNode *node;
    JsonArray *list;

    if (!qmp_check_args(args, NULL, required, errp)) {
        return false;
    }
    if (migration_is_running()) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    node = json_object_get_member(args, "capabilities");
    if (!JSON_NODE_HOLDS_ARRAY(node)) {
        error_setg(errp, "Invalid parameter type for 'capabilities', expected: array");
        return false;
    }
    list = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *el = json_array_get_element(list, i);
        static const char *const cap_required[] = { "capability", "state", NULL };
        const char *name;
        bool present, state;
        size_t k;

        if (!JSON_NODE_HOLDS_OBJECT(el)) {
            error_setg(errp, "Invalid parameter type for 'capabilities[%u]', expected: "
                       "object", i);
            return false;
        }
        if (!qmp_check_args(json_node_get_object(el), NULL, cap_required, errp) ||
            !qmp_arg_string(json_node_get_object(el), "capability", true, &name, errp) ||
            !qmp_arg_bool(json_node_get_object(el), "state", &present, &state, errp)) {
            return false;
        }
        for (k = 0; k < G_N_ELEMENTS(capabilities); k++) {
            if (!strcmp(capabilities[k].name, name)) {
                break;
            }
        }
        if (k == G_N_ELEMENTS(capabilities)) {
            error_setg(errp, "Parameter 'capability' does not accept value '%s'", name);
            return false;
        }
        /* Same offset in the scratch copy. */
        *(bool *)((char *)&next + ((char *)capabilities[k].state - (char *)&migrate_caps)) =
            state;
    }
    if (next.switchover_ack && !next.return_path) {
        error_setg(errp, "Capability 'switchover-ack' requires capability 'return-path'");
        return false;
    }
    migrate_caps = next;
    return true;
}

static bool qmp_query_migrate_capabilities(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const none[] = { NULL };
    JsonArray *list;

    if (!qmp_check_args(args, none, NULL, errp)) {
        return false;
    }
    list = json_array_new();
    for (size_t k = 0; k < G_N_ELEMENTS(capabilities); k++) {
        JsonObject *c = json_object_new();

        json_object_set_string_member(c, "capability", capabilities[k].name);
        json_object_set_boolean_member(c, "state", *capabilities[k].state);
        json_array_add_object_element(list, c);
    }
    *ret = json_node_init_array(json_node_alloc(), list);
    json_array_unref(list);
    return true;
}

static void __attribute__((constructor)) migration_qmp_register(void)
{
    qmp_register_command("migrate", qmp_migrate, 0);
    qmp_register_command("migrate_cancel", qmp_migrate_cancel, 0);
    qmp_register_command("migrate-continue", qmp_migrate_continue, 0);
    qmp_register_command("migrate-incoming", qmp_migrate_incoming, 0);
    qmp_register_command("query-migrate", qmp_query_migrate, 0);
    qmp_register_command("migrate-set-parameters", qmp_migrate_set_parameters, 0);
    qmp_register_command("query-migrate-parameters", qmp_query_migrate_parameters, 0);
    qmp_register_command("migrate-set-capabilities", qmp_migrate_set_capabilities, 0);
    qmp_register_command("query-migrate-capabilities", qmp_query_migrate_capabilities, 0);
}
