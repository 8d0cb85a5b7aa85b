/*
 * The built-in QMP commands: status, stop/cont, quit, system_reset,
 * device_del, version and command queries.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-monitor.h"
#include "qapi/qmp-registry.h"
#include "hw/boards.h"
#include "hw/qdev-properties.h"
#include "qom/opts.h"
#include "sysemu/runstate.h"

static const char *const no_args[] = { NULL };

static JsonNode *object_node(JsonObject *obj)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), obj);

    json_object_unref(obj);
    return node;
}

static bool qmp_query_status(JsonObject *args, JsonNode **ret, Error **errp)
{
    JsonObject *st;

    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    st = json_object_new();
    json_object_set_boolean_member(st, "running", runstate_is_running());
    json_object_set_string_member(st, "status", runstate_name(runstate_get()));
    *ret = object_node(st);
    return true;
}

static bool qmp_stop(JsonObject *args, JsonNode **ret, Error **errp)
{
    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        /* As QEMU: the VM will not start after the incoming migration. */
        qemu_set_autostart(false);
        return true;
    }
    vm_stop(RUN_STATE_PAUSED);
    return true;
}

static bool qmp_cont(JsonObject *args, JsonNode **ret, Error **errp)
{
    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        /* As QEMU: start once the incoming migration completes. */
        qemu_set_autostart(true);
        return true;
    }
    if (runstate_check(RUN_STATE_INTERNAL_ERROR) || runstate_check(RUN_STATE_SHUTDOWN)) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return false;
    }
    vm_start();
    return true;
}

static bool qmp_quit(JsonObject *args, JsonNode **ret, Error **errp)
{
    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return true;
}

static bool qmp_system_reset(JsonObject *args, JsonNode **ret, Error **errp)
{
    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    qemu_system_reset(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return true;
}

static bool qmp_device_del(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const required[] = { "id", NULL };
    const char *id;
    DeviceState *dev;

    if (!qmp_check_args(args, NULL, required, errp) ||
        !qmp_arg_string(args, "id", true, &id, errp)) {
        return false;
    }
    /* QEMU: an absolute QOM path, or the id of a -device/device_add device. */
    if (id[0] == '/') {
        dev = qdev_resolve_path(id, NULL);
    } else {
        dev = qdev_find_recursive(sysbus_get_default(), id);
    }
    if (!dev) {
        qmp_set_error_class(QMP_ERROR_CLASS_DEVICE_NOT_FOUND);
        error_setg(errp, "Device '%s' not found", id);
        return false;
    }
    return qdev_unplug(dev, errp);
}

static bool qmp_device_add(JsonObject *args, JsonNode **ret, Error **errp)
{
    g_autoptr(QOpts) opts = qmp_args_to_qopts(args, errp);

    return opts && qdev_device_add_opts(opts, errp) != NULL;
}

static bool qmp_query_version(JsonObject *args, JsonNode **ret, Error **errp)
{
    JsonObject *v, *qemu;

    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    v = json_object_new();
    qemu = json_object_new();
    json_object_set_int_member(qemu, "micro", QMP_VERSION_MICRO);
    json_object_set_int_member(qemu, "minor", QMP_VERSION_MINOR);
    json_object_set_int_member(qemu, "major", QMP_VERSION_MAJOR);
    json_object_set_object_member(v, "qemu", qemu);
    json_object_set_string_member(v, "package", "aperture-" APERTURE_VERSION);
    *ret = object_node(v);
    return true;
}

static bool qmp_query_commands(JsonObject *args, JsonNode **ret, Error **errp)
{
    JsonArray *arr;
    GList *names;

    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    arr = json_array_new();
    names = qmp_command_names();
    /* qmp_capabilities is answered by the monitor itself but is a command too. */
    names = g_list_insert_sorted(names, (gpointer)"qmp_capabilities", (GCompareFunc)strcmp);
    for (GList *l = names; l; l = l->next) {
        JsonObject *cmd = json_object_new();

        json_object_set_string_member(cmd, "name", l->data);
        json_array_add_object_element(arr, cmd);
    }
    g_list_free(names);
    *ret = json_node_init_array(json_node_alloc(), arr);
    json_array_unref(arr);
    return true;
}

static bool qmp_query_name(JsonObject *args, JsonNode **ret, Error **errp)
{
    JsonObject *obj;

    if (!qmp_check_args(args, no_args, NULL, errp)) {
        return false;
    }
    obj = json_object_new();
    if (current_machine && current_machine->guest_name) {
        json_object_set_string_member(obj, "name", current_machine->guest_name);
    }
    *ret = object_node(obj);
    return true;
}

void qmp_register_builtin_commands(void)
{
    if (qmp_command_exists("query-status")) {
        return;
    }
    qmp_register_command("query-status", qmp_query_status, 0);
    qmp_register_command("stop", qmp_stop, 0);
    qmp_register_command("cont", qmp_cont, 0);
    qmp_register_command("quit", qmp_quit, 0);
    qmp_register_command("system_reset", qmp_system_reset, 0);
    qmp_register_command("device_add", qmp_device_add, 0);
    qmp_register_command("device_del", qmp_device_del, 0);
    qmp_register_command("query-version", qmp_query_version, 0);
    qmp_register_command("query-commands", qmp_query_commands, 0);
    qmp_register_command("query-name", qmp_query_name, 0);
}
