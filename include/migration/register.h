/*
 * Device state in the migration stream: the handler registry.
 *
 * Whatever has state to migrate registers a SaveVMHandlers table under a
 * unique (idstr, instance_id) with a version.  The stream's configuration
 * record lists every registered handler, so the destination can refuse a
 * stream whose device set differs from its own before it loads anything
 * (docs/migration-stream.md).  Then each handler's data travels in
 * sections: START (save_setup), PART (save_live_iterate, repeated while
 * the VM runs), END (save_live_complete, with the VM stopped) and FULL
 * (save_state, once, for state that is only sent at the end: config space,
 * emulated registers).
 *
 * What a handler writes into a section is its own business: the core
 * frames it with the section's length (and a CRC-32 unless the handler
 * says the data is bulk guest memory), so a handler cannot read past its
 * section on load and a corrupt section is detected before it is applied.
 *
 * Threading and locks, on the source (migration thread):
 *  - save_setup, save_live_complete, save_state, save_cleanup,
 *    state_pending_exact: with the BQL held;
 *  - save_live_iterate, state_pending_estimate: without the BQL, so the
 *    main loop (QMP, qtest, devices) keeps running; a handler that needs
 *    main-loop state there takes the BQL itself.
 * On the destination (incoming thread): load_setup, load_state,
 * load_complete and load_cleanup with the BQL held, unless the handler
 * sets load_unlocked (RAM, which only writes guest memory).
 * Registration and unregistration: with the BQL held.
 */
#ifndef MIGRATION_REGISTER_H
#define MIGRATION_REGISTER_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"

typedef struct SaveVMHandlers {
    /* ---- source ---- */

    /*
     * Migration starts (VM running): prepare, and write the payload of the
     * START section (may be empty).
     */
    bool (*save_setup)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * Write one round of data for a PART section while the VM runs.
     * Returns 1 when there is nothing left to send for now, 0 when there
     * is more, -errno on failure (with the reason in *errp).  A handler
     * should bound one round (a few MiB or a few tens of ms): the
     * migration thread checks rate limits and cancellation between rounds.
     * NULL: the handler has nothing to iterate.
     */
    int (*save_live_iterate)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * The VM is stopped: write the remaining data.  Returns 1 when done,
     * 0 to be called again (each call's data is its own section; the last
     * one is the END section), -errno on failure.
     */
    int (*save_live_complete)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * Non-iterative state (a FULL section), written after every
     * save_live_complete, VM stopped.
     */
    bool (*save_state)(QEMUFile *f, void *opaque, Error **errp);
    /* After completion, failure or cancellation (VM stopped or running). */
    void (*save_cleanup)(void *opaque);
    /*
     * Add the bytes still to send to *@pending: a cheap estimate, and an
     * exact figure (which may fetch dirty state; BQL held).  The migration
     * switches over when the exact total fits in the downtime limit.
     */
    void (*state_pending_estimate)(void *opaque, uint64_t *pending);
    void (*state_pending_exact)(void *opaque, uint64_t *pending);
    /*
     * With the switchover-ack capability: does the destination have to
     * approve the switchover for this handler (qemu_loadvm_approve_switchover
     * once its initial data is loaded)?
     */
    bool (*switchover_ack_needed)(void *opaque);
    /*
     * A string the destination compares with its own before loading
     * anything ("vendor=0x1234,device=0x11e8"); NULL or "" when any
     * instance of the handler accepts any other.  Returned g_malloc'd.
     */
    char *(*compat_string)(void *opaque);

    /* ---- destination ---- */

    /* Before the first section of this handler (BQL). */
    bool (*load_setup)(void *opaque, Error **errp);
    /*
     * Load one section's payload: @f is limited to it (reading past it
     * fails) and every byte must be consumed.  @section_type is
     * MIG_SECTION_START, _PART, _END or _FULL (migration/migration.h).
     */
    bool (*load_state)(QEMUFile *f, void *opaque, int version_id, int section_type,
                       Error **errp);
    /*
     * The whole stream is loaded and checked: last chance to refuse it
     * before the destination reports success to the source (BQL).
     */
    bool (*load_complete)(void *opaque, Error **errp);
    /* After load_complete, or when loading failed (BQL). */
    void (*load_cleanup)(void *opaque);

    /* ---- properties ---- */

    /* load_state runs without the BQL (it only writes guest memory). */
    bool load_unlocked;
    /* Sections carry no CRC (bulk guest data that must not be copied). */
    bool no_crc;
    /* Statistics class for query-migrate ("ram", "vfio"); NULL: "device". */
    const char *stats_class;
} SaveVMHandlers;

/*
 * Register @ops for (@idstr, @instance_id): at most 255 bytes of name.
 * Fails (false, errp) when the pair is registered already or while a
 * migration is running.
 */
bool register_savevm_live(const char *idstr, uint32_t instance_id, int version_id,
                          const SaveVMHandlers *ops, void *opaque, Error **errp);
/*
 * Remove the handler registered with @opaque under @idstr.  During an
 * outgoing migration the migration fails ("device removed"); the call
 * waits for the handler's current callback to return.
 */
void unregister_savevm(const char *idstr, void *opaque);

/*
 * Destination: a handler whose switchover_ack_needed was true has loaded
 * its initial data.  When every such handler has approved, the destination
 * tells the source it may switch over.  Incoming thread; 0 or -errno.
 */
int qemu_loadvm_approve_switchover(void);

#endif /* MIGRATION_REGISTER_H */
