/*
 * The VM's run state and what happens on transitions.
 *
 *   prelaunch --cont/vm_start--> running <--stop/cont--> paused
 *   any --quit/signal--> shutdown (the main loop then exits)
 * and, for migration, inmigrate (destination waiting for the stream),
 * finish-migrate (source stopped for the final pass), postmigrate (source
 * after completion).
 *
 * Change handlers (QEMU's VM change state handlers) run on every
 * transition between running and not running: on start in increasing
 * priority, on stop in decreasing priority (so a device is stopped before
 * what it depends on).  The virtual clock runs only while running.
 *
 * Threading: main loop thread only (requests may come from any thread).
 */
#ifndef SYSEMU_RUNSTATE_H
#define SYSEMU_RUNSTATE_H

#include "qemu/osdep.h"

typedef enum RunState {
    RUN_STATE_PRELAUNCH,        /* -S: created, not started yet */
    RUN_STATE_RUNNING,
    RUN_STATE_PAUSED,           /* stopped by the user (stop) */
    RUN_STATE_INMIGRATE,        /* incoming migration in progress */
    RUN_STATE_FINISH_MIGRATE,   /* outgoing migration's stopped phase */
    RUN_STATE_POSTMIGRATE,      /* outgoing migration completed */
    RUN_STATE_INTERNAL_ERROR,   /* stopped after an unrecoverable device error */
    RUN_STATE_SHUTDOWN,         /* quit / signal: the process is exiting */
    RUN_STATE__MAX
} RunState;

/* Why the machine shuts down or resets (QEMU's ShutdownCause, the subset we use). */
typedef enum ShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,      /* an error forces the exit */
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,   /* QMP quit */
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,     /* SIGINT, SIGTERM, SIGHUP */
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE__MAX
} ShutdownCause;

/* QMP's name ("running", "paused", "prelaunch", "inmigrate", ...). */
const char *runstate_name(RunState state);
/* QMP's name of a cause ("host-qmp-quit", "host-signal", ...). */
const char *shutdown_cause_name(ShutdownCause cause);

RunState runstate_get(void);
bool runstate_check(RunState state);
/* Set the state without starting or stopping anything (migration uses it). */
void runstate_set(RunState state);
/* The state is RUN_STATE_RUNNING. */
bool runstate_is_running(void);

typedef void VMChangeStateHandler(void *opaque, bool running, RunState state);
typedef struct VMChangeStateEntry VMChangeStateEntry;

VMChangeStateEntry *qemu_add_vm_change_state_handler(VMChangeStateHandler *cb, void *opaque);
VMChangeStateEntry *qemu_add_vm_change_state_handler_prio(VMChangeStateHandler *cb,
                                                          void *opaque, int priority);
void qemu_del_vm_change_state_handler(VMChangeStateEntry *e);

/*
 * Start the VM (cont): running, handlers told, virtual clock enabled,
 * RESUME event.  No-op when already running.
 */
void vm_start(void);
/*
 * Stop the VM into @state (paused by stop): handlers told, virtual clock
 * stopped, STOP event.  When not running, only the state changes.
 * Returns 0 (kept int for QEMU's callers).
 */
int vm_stop(RunState state);
/* As vm_stop, but also when already stopped (migration's finish-migrate). */
int vm_stop_force_state(RunState state);

/*
 * Ask the main loop to shut down: SHUTDOWN event {"guest": false,
 * "reason": ...}, state shutdown, the loop exits with status 0.
 * Safe from signal handlers and other threads.
 */
void qemu_system_shutdown_request(ShutdownCause cause);
/* A shutdown was requested and not yet handled. */
bool qemu_system_shutdown_requested(void);
/* Exit status for main(): set by whoever requests an error shutdown (default 0). */
void qemu_system_set_exit_status(int status);

/*
 * Reset the machine now: cold reset of every device (hw/qdev-core.h),
 * RESET event with @cause.
 */
void qemu_system_reset(ShutdownCause cause);

/*
 * Run the main loop until shutdown; returns the exit status.  Handles
 * pending shutdown requests between iterations.
 */
int qemu_main_loop(void);

/*
 * Whether the VM starts by itself: true unless -S.  With -incoming, the
 * migration code starts the VM after a successful incoming migration only
 * when this is true (QEMU's autostart).
 */
bool qemu_autostart(void);
void qemu_set_autostart(bool autostart);

/*
 * -incoming URI ("unix:PATH", "defer", ...): implemented by migration/.
 * vl.c calls it after the devices are realized, with the run state set to
 * inmigrate; until migration/ defines it (vl.c declares it weak), the option
 * is refused with one line.
 */
bool migration_incoming_start(const char *uri, Error **errp);

/*
 * The aperture program (system/vl.c): parse the command line, build the
 * machine, run the main loop; returns the exit status.
 */
int qemu_main(int argc, char **argv);

/* Forget handlers and state (tests). */
void runstate_reset_for_test(void);

#endif /* SYSEMU_RUNSTATE_H */
