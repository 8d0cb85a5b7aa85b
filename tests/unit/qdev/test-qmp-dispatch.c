/*
 * QMP without a socket: the registry, request checking, built-in commands,
 * events; the run state and its change handlers.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-monitor.h"
#include "qapi/qmp-registry.h"
#include "hw/qdev-core.h"
#include "sysemu/runstate.h"

static GPtrArray *events;   /* event names */
static unsigned listener;

static void record_event(const char *name, JsonObject *event, void *opaque)
{
    g_assert_true(json_object_has_member(event, "timestamp"));
    g_ptr_array_add(events, g_strdup(name));
}

static void setup(void)
{
    runstate_reset_for_test();
    qmp_register_builtin_commands();
    events = g_ptr_array_new_with_free_func(g_free);
    listener = qapi_event_add_listener(record_event, NULL);
}

static void teardown(void)
{
    qapi_event_remove_listener(listener);
    g_ptr_array_free(events, true);
    runstate_reset_for_test();
}

/* Run @json through qmp_dispatch; the reply as QMP text. */
static char *run(const char *json)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *rsp;
    JsonNode *node;
    char *text;

    g_assert_true(json_parser_load_from_data(parser, json, -1, NULL));
    rsp = qmp_dispatch(json_node_get_object(json_parser_get_root(parser)));
    node = json_node_init_object(json_node_alloc(), rsp);
    text = qmp_json_to_string(node);
    json_node_unref(node);
    json_object_unref(rsp);
    return text;
}

#define assert_reply(json, expect)              \
    do {                                        \
        g_autofree char *got_ = run(json);      \
        g_assert_cmpstr(got_, ==, (expect));    \
    } while (0)

static void test_request_shape(void)
{
    setup();
    assert_reply("{}", "{\"error\": {\"class\": \"GenericError\", "
                       "\"desc\": \"QMP input lacks member 'execute'\"}}");
    assert_reply("{\"execute\": 1}", "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"QMP input member 'execute' must be a string\"}}");
    assert_reply("{\"execute\": \"stop\", \"arguments\": []}",
                 "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"QMP input member 'arguments' must be an object\"}}");
    assert_reply("{\"execute\": \"stop\", \"extra\": 1, \"id\": \"x\"}",
                 "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"QMP input member 'extra' is unexpected\"}, \"id\": \"x\"}");
    assert_reply("{\"execute\": \"no-such\", \"id\": [1, {\"a\": null}]}",
                 "{\"error\": {\"class\": \"CommandNotFound\", "
                 "\"desc\": \"The command no-such has not been found\"}, "
                 "\"id\": [1, {\"a\": null}]}");
    assert_reply("{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}",
                 "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"Parameter 'x' is unexpected\"}}");
    teardown();
}

static void test_status_stop_cont(void)
{
    setup();
    assert_reply("{\"execute\": \"query-status\"}",
                 "{\"return\": {\"running\": false, \"status\": \"prelaunch\"}}");
    assert_reply("{\"execute\": \"stop\"}", "{\"return\": {}}");
    /* Stopping a stopped VM keeps its state and sends no event. */
    assert_reply("{\"execute\": \"query-status\"}",
                 "{\"return\": {\"running\": false, \"status\": \"prelaunch\"}}");
    g_assert_cmpuint(events->len, ==, 0);
    assert_reply("{\"execute\": \"cont\", \"id\": 1}", "{\"return\": {}, \"id\": 1}");
    assert_reply("{\"execute\": \"query-status\"}",
                 "{\"return\": {\"running\": true, \"status\": \"running\"}}");
    assert_reply("{\"execute\": \"cont\"}", "{\"return\": {}}");
    assert_reply("{\"execute\": \"stop\"}", "{\"return\": {}}");
    assert_reply("{\"execute\": \"query-status\"}",
                 "{\"return\": {\"running\": false, \"status\": \"paused\"}}");
    g_assert_cmpuint(events->len, ==, 2);
    g_assert_cmpstr(events->pdata[0], ==, "RESUME");
    g_assert_cmpstr(events->pdata[1], ==, "STOP");
    teardown();
}

static void test_stop_cont_while_inmigrate(void)
{
    setup();
    runstate_set(RUN_STATE_INMIGRATE);
    /* Neither starts nor stops the VM: they decide whether it starts after migration. */
    assert_reply("{\"execute\": \"stop\"}", "{\"return\": {}}");
    g_assert_false(qemu_autostart());
    assert_reply("{\"execute\": \"cont\"}", "{\"return\": {}}");
    g_assert_true(qemu_autostart());
    g_assert_true(runstate_check(RUN_STATE_INMIGRATE));
    g_assert_cmpuint(events->len, ==, 0);
    runstate_set(RUN_STATE_SHUTDOWN);
    assert_reply("{\"execute\": \"cont\"}", "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"Resetting the Virtual Machine is required\"}}");
    teardown();
}

static void test_quit_requests_shutdown(void)
{
    setup();
    g_assert_false(qemu_system_shutdown_requested());
    assert_reply("{\"execute\": \"quit\"}", "{\"return\": {}}");
    g_assert_true(qemu_system_shutdown_requested());
    /* The main loop sees the request at once and sends SHUTDOWN. */
    g_assert_cmpint(qemu_main_loop(), ==, 0);
    g_assert_cmpuint(events->len, ==, 1);
    g_assert_cmpstr(events->pdata[0], ==, "SHUTDOWN");
    g_assert_true(runstate_check(RUN_STATE_SHUTDOWN));
    teardown();
}

static void test_device_del_not_found(void)
{
    setup();
    assert_reply("{\"execute\": \"device_del\", \"arguments\": {\"id\": \"nope\"}}",
                 "{\"error\": {\"class\": \"DeviceNotFound\", "
                 "\"desc\": \"Device 'nope' not found\"}}");
    /* The class is per command: the next error is generic again. */
    assert_reply("{\"execute\": \"device_del\"}",
                 "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"Parameter 'id' is missing\"}}");
    assert_reply("{\"execute\": \"device_del\", \"arguments\": {\"id\": 5}}",
                 "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"Invalid parameter type for 'id', expected: string\"}}");
    teardown();
}

static void test_version_and_commands(void)
{
    g_autofree char *cmds = NULL;

    setup();
    assert_reply("{\"execute\": \"query-version\"}",
                 "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 10}, "
                 "\"package\": \"aperture-" APERTURE_VERSION "\"}}");
    cmds = run("{\"execute\": \"query-commands\"}");
    g_assert_nonnull(strstr(cmds, "{\"name\": \"qmp_capabilities\"}"));
    g_assert_nonnull(strstr(cmds, "{\"name\": \"device_del\"}"));
    g_assert_nonnull(strstr(cmds, "{\"name\": \"query-status\"}"));
    teardown();
}

/* A command registered by "another subsystem". */
static bool qmp_test_echo(JsonObject *args, JsonNode **ret, Error **errp)
{
    const char *text;

    if (!qmp_arg_string(args, "text", true, &text, errp)) {
        return false;
    }
    if (!strcmp(text, "fail")) {
        qmp_set_error_class(QMP_ERROR_CLASS_DEVICE_NOT_ACTIVE);
        error_setg(errp, "asked to fail");
        return false;
    }
    *ret = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(*ret, text);
    return true;
}

static void test_registered_command(void)
{
    setup();
    if (!qmp_command_exists("x-test-echo")) {
        qmp_register_command("x-test-echo", qmp_test_echo, 0);
    }
    assert_reply("{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"a\\\"b\\n\"}}",
                 "{\"return\": \"a\\\"b\\n\"}");
    assert_reply("{\"execute\": \"x-test-echo\", \"arguments\": {\"text\": \"fail\"}}",
                 "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"asked to fail\"}}");
    teardown();
}

static void test_event_format(void)
{
    JsonObject *data = json_object_new();

    setup();
    json_object_set_string_member(data, "device", "d0");
    qapi_event_send("DEVICE_DELETED", data);
    qapi_event_send("STOP", NULL);
    json_object_unref(data);
    g_assert_cmpuint(events->len, ==, 2);
    g_assert_cmpstr(events->pdata[0], ==, "DEVICE_DELETED");
    teardown();
}

/* ------------------------------------------------------------------ */
/* Run state */

static GString *notes;

static void note_change(void *opaque, bool running, RunState state)
{
    g_string_append_printf(notes, "%s:%d:%s,", (const char *)opaque, running,
                           runstate_name(state));
}

static void test_change_handler_order(void)
{
    VMChangeStateEntry *a, *b, *c;

    setup();
    notes = g_string_new(NULL);
    b = qemu_add_vm_change_state_handler_prio(note_change, (void *)"b", 10);
    a = qemu_add_vm_change_state_handler_prio(note_change, (void *)"a", 0);
    c = qemu_add_vm_change_state_handler(note_change, (void *)"c");     /* priority 0, after a */
    vm_start();
    g_assert_cmpstr(notes->str, ==, "a:1:running,c:1:running,b:1:running,");
    g_string_truncate(notes, 0);
    vm_stop(RUN_STATE_PAUSED);
    g_assert_cmpstr(notes->str, ==, "b:0:paused,c:0:paused,a:0:paused,");
    g_string_truncate(notes, 0);
    /* Forced state while stopped: handlers are not called again. */
    vm_stop_force_state(RUN_STATE_FINISH_MIGRATE);
    g_assert_cmpstr(notes->str, ==, "");
    g_assert_true(runstate_check(RUN_STATE_FINISH_MIGRATE));
    qemu_del_vm_change_state_handler(c);
    vm_start();
    g_assert_cmpstr(notes->str, ==, "a:1:running,b:1:running,");
    qemu_del_vm_change_state_handler(a);
    qemu_del_vm_change_state_handler(b);
    g_string_free(notes, true);
    teardown();
}

static void test_runstate_names(void)
{
    g_assert_cmpstr(runstate_name(RUN_STATE_PRELAUNCH), ==, "prelaunch");
    g_assert_cmpstr(runstate_name(RUN_STATE_INMIGRATE), ==, "inmigrate");
    g_assert_cmpstr(runstate_name(RUN_STATE_FINISH_MIGRATE), ==, "finish-migrate");
    g_assert_cmpstr(runstate_name(RUN_STATE_POSTMIGRATE), ==, "postmigrate");
    g_assert_cmpstr(shutdown_cause_name(SHUTDOWN_CAUSE_HOST_QMP_QUIT), ==, "host-qmp-quit");
    g_assert_cmpstr(shutdown_cause_name(SHUTDOWN_CAUSE_HOST_SIGNAL), ==, "host-signal");
}

static void test_system_reset_event(void)
{
    setup();
    assert_reply("{\"execute\": \"system_reset\"}", "{\"return\": {}}");
    g_assert_cmpuint(events->len, ==, 1);
    g_assert_cmpstr(events->pdata[0], ==, "RESET");
    qdev_machine_teardown();
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/dispatch/request-shape", test_request_shape);
    g_test_add_func("/qmp/dispatch/status-stop-cont", test_status_stop_cont);
    g_test_add_func("/qmp/dispatch/stop-cont-while-inmigrate", test_stop_cont_while_inmigrate);
    g_test_add_func("/qmp/dispatch/quit-requests-shutdown", test_quit_requests_shutdown);
    g_test_add_func("/qmp/dispatch/device-del-not-found", test_device_del_not_found);
    g_test_add_func("/qmp/dispatch/version-and-commands", test_version_and_commands);
    g_test_add_func("/qmp/dispatch/registered-command", test_registered_command);
    g_test_add_func("/qmp/event/listeners", test_event_format);
    g_test_add_func("/qmp/event/system-reset", test_system_reset_event);
    g_test_add_func("/runstate/change-handler-order", test_change_handler_order);
    g_test_add_func("/runstate/names", test_runstate_names);
    return g_test_run();
}
