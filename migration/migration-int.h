/*
 * What the files of migration/ share: parameters, statistics, the stream
 * writer and loader (savevm.c) and RAM (ram.c).  Not for other
 * subsystems: they use include/migration/.
 */
#ifndef MIGRATION_MIGRATION_INT_H
#define MIGRATION_MIGRATION_INT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/cpu-common.h"
#include "migration/migration.h"
#include "migration/qemu-file.h"
#include "migration/register.h"
#include <json-glib/json-glib.h>

/* ------------------------------------------------------------------------ */
/* Stream constants (docs/migration-stream.md) */

#define MIG_STREAM_MAGIC        0x4150524du     /* "APRM" */
#define MIG_STREAM_VERSION      1

/* Header flags */
#define MIG_FLAG_RETURN_PATH    (1u << 0)       /* the destination answers */
#define MIG_FLAG_SWITCHOVER_ACK (1u << 1)       /* ... and approves the switchover */
#define MIG_FLAG_ALL            (MIG_FLAG_RETURN_PATH | MIG_FLAG_SWITCHOVER_ACK)

/* Record types besides the sections (include/migration/migration.h) */
#define MIG_RECORD_CONFIG       0x10
#define MIG_RECORD_EOF          0xff
/* Section record flags */
#define MIG_SECTION_FLAG_CRC    0x01
/* The byte after every section's payload (and CRC) */
#define MIG_SECTION_FOOTER      0x7e

/* Largest configuration record and section payload a loader accepts */
#define MIG_MAX_CONFIG_BYTES    (1 * MiB)
#define MIG_MAX_SECTION_BYTES   (64 * MiB)
/* Most devices and RAM blocks a configuration may list */
#define MIG_MAX_ENTRIES         4096

/* RAM section chunks */
#define MIG_RAM_CHUNK_DATA      0x01
#define MIG_RAM_CHUNK_ZERO      0x02

/* Return path messages (destination -> source) */
#define MIG_RP_SWITCHOVER_ACK   0x0001          /* no payload */
#define MIG_RP_LOADED           0x0002          /* no payload: loaded, VM may start there */
#define MIG_RP_FAILED           0x0003          /* payload: UTF-8 reason */
#define MIG_RP_MAX_PAYLOAD      4096

/* ------------------------------------------------------------------------ */
/* Parameters and capabilities */

typedef struct MigrationParameters {
    uint64_t downtime_limit_ms;     /* longest acceptable stop, ms (300) */
    uint64_t max_bandwidth;         /* bytes/s while the VM runs (128 MiB/s) */
    bool x_needed_bytes;            /* count what a perfect tracker would send */
    bool x_vfio_dma_logging;        /* VFIO devices may log their DMA (else the IOMMU tracks) */
} MigrationParameters;

typedef struct MigrationCapabilities {
    bool return_path;               /* wait for the destination's verdict (default on) */
    bool switchover_ack;            /* wait for its approval to switch over */
    bool pause_before_switchover;   /* stop in pre-switchover until migrate-continue */
    bool events;                    /* accepted for QEMU compatibility (events always go) */
} MigrationCapabilities;

/* The values in force (BQL; the migration thread reads a copy made at start). */
extern MigrationParameters migrate_params;
extern MigrationCapabilities migrate_caps;

/* ------------------------------------------------------------------------ */
/* Statistics: written by the migration thread with qatomic_set, read by QMP */

typedef struct MigrationStats {
    uint64_t transferred;           /* stream bytes written */
    uint64_t ram_transferred;       /* bytes of RAM sections */
    uint64_t ram_total;             /* bytes of migratable RAM */
    uint64_t ram_remaining;         /* dirty bytes not sent yet */
    uint64_t ram_normal_pages;      /* pages sent with their data */
    uint64_t ram_zero_pages;        /* pages sent as zero (no data) */
    uint64_t ram_needed_bytes;      /* page data a perfect tracker would send */
    uint64_t ram_precopy_bytes;     /* RAM bytes sent while the VM ran */
    uint64_t ram_downtime_bytes;    /* RAM bytes sent with the VM stopped */
    uint64_t dirty_sync_count;      /* dirty bitmap syncs */
    uint64_t dirty_pages_rate;      /* pages dirtied per second (last sync) */
    uint64_t pages_per_second;      /* pages sent per second (last window) */
    uint64_t bandwidth;             /* bytes/s measured (last window) */
    uint64_t vfio_transferred;      /* bytes of "vfio" class sections */
    uint64_t device_transferred;    /* bytes of other device sections */
} MigrationStats;

extern MigrationStats mig_stats;

/* Add @bytes of section payload of class @stats_class (NULL: device). */
void mig_stats_account_section(const char *stats_class, uint64_t bytes);

/* ------------------------------------------------------------------------ */
/* The stream writer and loader (savevm.c) */

/*
 * Source, in this order: header (and configuration), setup, iterate until
 * converged, complete; cleanup always.  Writer functions return false with
 * errp (the stream or a handler failed).
 */
bool qemu_savevm_state_header(QEMUFile *f, uint32_t flags, Error **errp);
bool qemu_savevm_state_setup(QEMUFile *f, Error **errp);
/* One round for each iterating handler; 1 when none has more for now. */
int qemu_savevm_state_iterate(QEMUFile *f, Error **errp);
bool qemu_savevm_state_complete(QEMUFile *f, Error **errp);
void qemu_savevm_state_cleanup(void);
uint64_t qemu_savevm_state_pending_estimate(void);
uint64_t qemu_savevm_state_pending_exact(void);
/* Some handler needs the destination's approval (switchover-ack). */
bool qemu_savevm_switchover_ack_needed(void);
/* A handler was removed during the migration (its idstr, or NULL). */
const char *qemu_savevm_removed_handler(void);

/* What the loader needs from the incoming side. */
typedef struct LoadVMContext {
    /* Send a return-path message; NULL when there is no return path. */
    bool (*send_rp)(void *opaque, uint16_t type, const void *data, uint16_t len);
    void *opaque;
    /* Filled by the loader */
    uint32_t flags;                 /* header flags */
    uint64_t ram_bytes;             /* bytes of RAM sections loaded */
} LoadVMContext;

/*
 * Destination: load a whole stream from @f.  Called without the BQL (the
 * incoming thread); device sections take it.  On failure every handler's
 * load_cleanup has run and @errp says what was wrong and where.
 */
bool qemu_loadvm_state(QEMUFile *f, LoadVMContext *ctx, Error **errp);

/* Handlers registered now (tests, query). */
guint qemu_savevm_nr_handlers(void);
/*
 * Wait until no handler callback that runs without the BQL (iterate,
 * pending estimate) is in progress.  For the main thread before it frees
 * what such a callback may be reading (a RAM block).
 */
void qemu_savevm_wait_unlocked_callbacks(void);

/* ------------------------------------------------------------------------ */
/* RAM (ram.c) */

/* The blocks that migrate: named, not device memory. */
bool ram_block_is_migratable(RAMBlock *rb);
/* Write the RAM part of the configuration record. */
void ram_config_write(QEMUFile *f);
/*
 * Read the RAM part of a configuration record and compare it with the
 * local blocks; on success the loader's block table is set.
 */
bool ram_config_check(QEMUFile *f, Error **errp);

/* Is the 4 KiB page at @p all zeroes? */
bool mig_page_is_zero(const void *p);

/* ------------------------------------------------------------------------ */
/* The source (migration.c), the destination (incoming.c), QMP (migration-qmp.c) */

/* The commit byte the source sends after the destination reported success. */
#define MIG_COMMIT_BYTE         0xc0

/* Start an outgoing migration to @uri (BQL): QMP migrate. */
bool migrate_start(const char *uri, Error **errp);
/* QMP migrate_cancel: no-op when nothing runs. */
void migrate_cancel_request(void);
/* QMP migrate-continue from @state ("pre-switchover"). */
bool migrate_continue_request(const char *state, Error **errp);
/* Fill query-migrate's reply for the outgoing side; false when it has none. */
bool migration_query_outgoing(JsonObject *ret);
/* Let registered providers add to the object of @key. */
void migration_call_info_providers(const char *key, JsonObject *obj);
/* Send a MIGRATION event (BQL). */
void migration_event_status(MigrationStatus status);

/* QMP migrate-incoming. */
bool migration_incoming_qmp(const char *uri, Error **errp);
/* Fill query-migrate's reply for the incoming side; false when it has none. */
bool migration_incoming_query(JsonObject *ret);
/* The incoming side is loading a stream. */
bool migration_incoming_is_active(void);
/* At exit: stop listening, stop the incoming thread (BQL, released while waiting). */
void migration_incoming_shutdown(void);

/* Time budget (ns) the migration thread gives one iterate round. */
#define MIG_ITERATE_BUDGET_NS   (50 * 1000 * 1000)

/* The migration thread asked to stop (cancel, failure): handlers return soon. */
bool migration_should_stop(void);

#endif /* MIGRATION_MIGRATION_INT_H */
