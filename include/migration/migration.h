/*
 * Live migration: what the rest of Aperture sees of migration/.
 *
 * The source runs a migration thread (migration/migration.c) through
 * QEMU's states:
 *
 *   none -> setup -> active [-> pre-switchover] -> device -> completed
 *                       \________________________________\-> failed
 *   any active state --migrate_cancel--> cancelling -> cancelled
 *
 * "device" is the stop-and-copy phase (VM stopped, the last dirty pages
 * and the device state going out); "pre-switchover" is the pause before it
 * with the pause-before-switchover capability.  Each change sends a
 * MIGRATION event {"status": NAME}.  The destination's incoming side goes
 * none -> setup (listening) -> active (loading) -> completed | failed.
 *
 * How the thread and the main loop share the machine (the BQL), the
 * channels, the QMP commands: docs/migration.md; the byte format:
 * docs/migration-stream.md.
 *
 * Threading: everything here is for the main loop thread or a thread
 * holding the BQL, except where noted.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/* QEMU's MigrationStatus, in QEMU's spelling for QMP. */
typedef enum MigrationStatus {
    MIGRATION_STATUS_NONE,
    MIGRATION_STATUS_SETUP,
    MIGRATION_STATUS_CANCELLING,
    MIGRATION_STATUS_CANCELLED,
    MIGRATION_STATUS_ACTIVE,
    MIGRATION_STATUS_PRE_SWITCHOVER,
    MIGRATION_STATUS_DEVICE,
    MIGRATION_STATUS_COMPLETED,
    MIGRATION_STATUS_FAILED,
    MIGRATION_STATUS__MAX
} MigrationStatus;

/* Section types of the stream (docs/migration-stream.md). */
#define MIG_SECTION_START   0x01
#define MIG_SECTION_PART    0x02
#define MIG_SECTION_END     0x03
#define MIG_SECTION_FULL    0x04

/* "none", "setup", "active", "pre-switchover", "device", ... */
const char *migration_status_name(MigrationStatus status);

/* The outgoing migration's status (any thread). */
MigrationStatus migration_status(void);
/* An outgoing migration is between setup and its end (any thread). */
bool migration_is_running(void);
/* An outgoing or incoming migration is in progress. */
bool migration_is_active(void);

/* ---- blockers ---- */

/*
 * Refuse migration for the reason in *@reasonp (a device that cannot
 * migrate).  On success the blocker keeps *@reasonp (still the caller's
 * handle for migrate_del_blocker); on failure (a migration is running) it
 * is freed, *@reasonp is NULL and @errp says why.
 */
bool migrate_add_blocker(Error **reasonp, Error **errp);
/* Remove and free the blocker; *@reasonp becomes NULL.  NULL/unset is fine. */
void migrate_del_blocker(Error **reasonp);

/*
 * A device could not follow the VM during an outgoing migration (a VFIO
 * state change refused in a VM change handler): fail the migration with
 * @err (taken; freed when no migration runs).  BQL.
 */
void migration_fail(Error *err);

/* ---- capabilities and parameters (QMP migrate-set-*) ---- */

/* The switchover-ack capability is on. */
bool migrate_switchover_ack(void);
/*
 * Parameter x-vfio-dma-logging (default true): VFIO devices may track
 * their own DMA.  False makes the containers use the IOMMU's tracking
 * during the migration (QEMU's vfio-pci x-device-dirty-page-tracking=off,
 * for every device at once): for benchmarks and tests of that mode.
 */
bool migrate_vfio_dma_logging(void);

/* ---- notifiers ---- */

typedef enum MigrationEventType {
    MIG_EVENT_SETUP,        /* an outgoing migration starts (before save_setup) */
    MIG_EVENT_DONE,         /* it completed: the VM now runs at the destination */
    MIG_EVENT_FAILED,       /* it failed or was cancelled: the VM stays here */
} MigrationEventType;

typedef struct MigrationNotifier MigrationNotifier;
struct MigrationNotifier {
    /* Called with the BQL held, from the migration thread or the main loop. */
    void (*notify)(MigrationNotifier *n, MigrationEventType event);
};
void migration_add_notifier(MigrationNotifier *n);
void migration_remove_notifier(MigrationNotifier *n);

/* ---- statistics other subsystems feed ---- */

/*
 * A subsystem's report for query-migrate: @fn adds members to the JSON
 * object of key @key (created for it).  VFIO reports its dirty tracking
 * mode this way.  The JsonObject type is json-glib's.
 */
typedef struct _JsonObject JsonObject;
void migration_register_info(const char *key, void (*fn)(JsonObject *obj, void *opaque),
                             void *opaque);

/* ---- program start and exit (system/vl.c) ---- */

/*
 * -incoming URI | defer: bool migration_incoming_start(const char *uri,
 * Error **errp), declared in sysemu/runstate.h for system/vl.c.  The VM
 * waits in state inmigrate for a stream (from URI, or from the URI of a
 * later migrate-incoming) and runs once it is loaded if qemu_autostart().
 */
/*
 * At exit: cancel a running migration and wait for its threads.  Called
 * with the BQL held (released while waiting).
 */
void migration_shutdown(void);

#endif /* MIGRATION_MIGRATION_H */
