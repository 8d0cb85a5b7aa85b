/*
 * The VM's run state, start/stop, shutdown and reset requests
 * (include/sysemu/runstate.h).
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/qmp-registry.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "sysemu/runstate.h"
#include "sysemu/reset.h"
#include "trace/trace-system.h"

struct VMChangeStateEntry {
    VMChangeStateHandler *cb;
    void *opaque;
    int priority;
};

static RunState current_run_state = RUN_STATE_PRELAUNCH;
/* VMChangeStateEntry *, sorted by increasing priority (stable). */
static GList *vm_change_state_head;
/* A ShutdownCause + 1, or 0; set from any thread or a signal handler. */
static int shutdown_requested;
static int exit_status;
static bool autostart = true;

static const char *const runstate_names[RUN_STATE__MAX] = {
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_INMIGRATE] = "inmigrate",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
    [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_SHUTDOWN] = "shutdown",
};

static const char *const shutdown_cause_names[SHUTDOWN_CAUSE__MAX] = {
    [SHUTDOWN_CAUSE_NONE] = "none",
    [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
    [SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
};

bool qemu_autostart(void)
{
    return autostart;
}

void qemu_set_autostart(bool value)
{
    autostart = value;
}

const char *runstate_name(RunState state)
{
    assert(state < RUN_STATE__MAX);
    return runstate_names[state];
}

const char *shutdown_cause_name(ShutdownCause cause)
{
    assert(cause < SHUTDOWN_CAUSE__MAX);
    return shutdown_cause_names[cause];
}

RunState runstate_get(void)
{
    return current_run_state;
}

bool runstate_check(RunState state)
{
    return current_run_state == state;
}

void runstate_set(RunState state)
{
    assert(state < RUN_STATE__MAX);
    if (state != current_run_state) {
        trace_runstate_set(runstate_name(current_run_state), runstate_name(state));
    }
    current_run_state = state;
}

bool runstate_is_running(void)
{
    return current_run_state == RUN_STATE_RUNNING;
}

VMChangeStateEntry *qemu_add_vm_change_state_handler_prio(VMChangeStateHandler *cb,
                                                          void *opaque, int priority)
{
    VMChangeStateEntry *e = g_new0(VMChangeStateEntry, 1);
    GList *l = vm_change_state_head;

    e->cb = cb;
    e->opaque = opaque;
    e->priority = priority;
    /* After every entry of the same or a lower priority: registration order among equals. */
    while (l && ((VMChangeStateEntry *)l->data)->priority <= priority) {
        l = l->next;
    }
    vm_change_state_head = g_list_insert_before(vm_change_state_head, l, e);
    return e;
}

VMChangeStateEntry *qemu_add_vm_change_state_handler(VMChangeStateHandler *cb, void *opaque)
{
    return qemu_add_vm_change_state_handler_prio(cb, opaque, 0);
}

void qemu_del_vm_change_state_handler(VMChangeStateEntry *e)
{
    vm_change_state_head = g_list_remove(vm_change_state_head, e);
    g_free(e);
}

/* Low priorities first when starting, high priorities first when stopping. */
static void vm_state_notify(bool running, RunState state)
{
    GList *list = g_list_copy(vm_change_state_head);   /* handlers may unregister */

    trace_vm_state_notify(running, runstate_name(state));
    if (running) {
        for (GList *l = list; l; l = l->next) {
            VMChangeStateEntry *e = l->data;

            e->cb(e->opaque, running, state);
        }
    } else {
        for (GList *l = g_list_last(list); l; l = l->prev) {
            VMChangeStateEntry *e = l->data;

            e->cb(e->opaque, running, state);
        }
    }
    g_list_free(list);
}

void vm_start(void)
{
    if (runstate_is_running()) {
        return;
    }
    runstate_set(RUN_STATE_RUNNING);
    vm_state_notify(true, RUN_STATE_RUNNING);
    qemu_clock_enable(QEMU_CLOCK_VIRTUAL, true);
    qapi_event_send("RESUME", NULL);
}

static void do_vm_stop(RunState state, bool send_stop)
{
    if (runstate_is_running()) {
        qemu_clock_enable(QEMU_CLOCK_VIRTUAL, false);
        runstate_set(state);
        vm_state_notify(false, state);
        if (send_stop) {
            qapi_event_send("STOP", NULL);
        }
    } else {
        runstate_set(state);
    }
}

int vm_stop(RunState state)
{
    if (!runstate_is_running()) {
        /*
         * As QEMU: stopping a stopped VM keeps its state (paused stays
         * paused, prelaunch stays prelaunch) unless a state is forced.
         */
        return 0;
    }
    do_vm_stop(state, true);
    return 0;
}

int vm_stop_force_state(RunState state)
{
    do_vm_stop(state, true);
    return 0;
}

void qemu_system_shutdown_request(ShutdownCause cause)
{
    trace_qemu_system_shutdown_request(shutdown_cause_name(cause));
    qatomic_set(&shutdown_requested, (int)cause + 1);
    qemu_notify_event();
}

bool qemu_system_shutdown_requested(void)
{
    return qatomic_read(&shutdown_requested) != 0;
}

void qemu_system_set_exit_status(int status)
{
    exit_status = status;
}

typedef struct QEMUResetEntry {
    QEMUResetHandler *func;
    void *opaque;
} QEMUResetEntry;

static GList *reset_handlers;       /* QEMUResetEntry *, in registration order */

void qemu_register_reset(QEMUResetHandler *func, void *opaque)
{
    QEMUResetEntry *e = g_new(QEMUResetEntry, 1);

    e->func = func;
    e->opaque = opaque;
    reset_handlers = g_list_append(reset_handlers, e);
}

void qemu_unregister_reset(QEMUResetHandler *func, void *opaque)
{
    for (GList *l = reset_handlers; l; l = l->next) {
        QEMUResetEntry *e = l->data;

        if (e->func == func && e->opaque == opaque) {
            reset_handlers = g_list_delete_link(reset_handlers, l);
            g_free(e);
            return;
        }
    }
}

static void qdev_reset_one(DeviceState *dev, void *opaque)
{
    /* Only top-level devices: device_cold_reset recurses into their buses. */
    if (dev->parent_bus == sysbus_get_default()) {
        device_cold_reset(dev);
    }
}

void qemu_system_reset(ShutdownCause cause)
{
    MachineClass *mc = current_machine ? MACHINE_GET_CLASS(current_machine) : NULL;
    JsonObject *data;

    qdev_foreach(qdev_reset_one, NULL);
    for (GList *l = reset_handlers; l;) {
        QEMUResetEntry *e = l->data;

        /* A handler may unregister itself. */
        l = l->next;
        e->func(e->opaque);
    }
    if (mc && mc->reset) {
        mc->reset(current_machine, cause);
    }
    if (cause != SHUTDOWN_CAUSE_NONE) {
        data = json_object_new();
        json_object_set_boolean_member(data, "guest", cause >= SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        json_object_set_string_member(data, "reason", shutdown_cause_name(cause));
        qapi_event_send("RESET", data);
        json_object_unref(data);
    }
}

/* Stop for good: handlers hear "not running" (no STOP event, as QEMU). */
static void vm_shutdown(void)
{
    do_vm_stop(RUN_STATE_SHUTDOWN, false);
}

int qemu_main_loop(void)
{
    ShutdownCause cause;
    JsonObject *data;

    while (!qemu_system_shutdown_requested()) {
        main_loop_wait(false);
    }
    cause = qatomic_read(&shutdown_requested) - 1;
    data = json_object_new();
    json_object_set_boolean_member(data, "guest", cause >= SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    json_object_set_string_member(data, "reason", shutdown_cause_name(cause));
    qapi_event_send("SHUTDOWN", data);
    json_object_unref(data);
    vm_shutdown();
    return exit_status;
}

void runstate_reset_for_test(void)
{
    g_list_free_full(vm_change_state_head, g_free);
    vm_change_state_head = NULL;
    current_run_state = RUN_STATE_PRELAUNCH;
    qatomic_set(&shutdown_requested, 0);
    exit_status = 0;
    autostart = true;
}
