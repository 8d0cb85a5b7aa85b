/*
 * Helpers shared by the memory core tests: error checks, flat view dumps,
 * a recording MemoryListener and a register-file I/O device.
 */
#ifndef MEMORY_TEST_UTIL_H
#define MEMORY_TEST_UTIL_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"

/* Fail with the message of @err if it is set. */
void assert_no_error(Error *err);
/* Check that *@errp is set and mentions every NULL-terminated needle; free it. */
void assert_error_mentions(Error **errp, ...) G_GNUC_NULL_TERMINATED;

/*
 * Compare a list of strings with the expected NULL-terminated list; on a
 * difference print both in full, then fail.  Frees @got.
 */
void assert_lines(char **got, const char *const *expected);
#define LINES(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define NO_LINES ((const char *const[]) { NULL })

/*
 * The ranges of @as's current view, one string each:
 * "START+SIZE NAME@OFFSET" with " ro" / " nv" appended when set; sizes in
 * hex, 2^64 as 0x10000000000000000.
 */
char **flatview_lines(AddressSpace *as);

/*
 * A listener that appends one line per callback to a log shared by every
 * recording listener, so the relative order of listeners is visible:
 *   "L begin", "L commit",
 *   "L add START+SIZE NAME@OFFSET[ ro]", "L del ...", "L nop ...",
 *   "L log_start ... OLD->NEW", "L log_stop ... OLD->NEW",
 *   "L sync ...", "L sync_global", "L global_start", "L global_stop",
 *   "L after_sync".
 */
typedef struct RecListener {
    /* The listener registered with the memory core. */
    MemoryListener ml;
    /* Prefix of this listener's lines. */
    const char *tag;
    /* Make log_global_start fail with this message when set. */
    const char *refuse_global_start;
} RecListener;

/*
 * Fill @rl: every callback records; @with_nop false leaves region_nop out
 * (so tests of big changes aren't drowned in nops); @with_sync_global uses
 * log_sync_global instead of log_sync.
 */
void rec_listener_init(RecListener *rl, const char *tag, unsigned priority, bool with_nop,
                       bool with_sync_global);
/* The lines recorded since the last call, and clear the log. */
char **rec_log_take(void);
/* Forget what was recorded. */
void rec_log_clear(void);

/*
 * A 256-byte register file behind I/O callbacks that logs each callback
 * as "r OFFSET/SIZE" or "w OFFSET/SIZE=VALUE" into its own log.
 */
typedef struct RegFile {
    /* Register contents, little-endian byte order. */
    uint8_t regs[256];
    /* Callback log. */
    GPtrArray *log;
    /* Whether to serve values in big-endian (the ops' endianness decides). */
    bool big_endian;
} RegFile;

void regfile_init(RegFile *rf);
void regfile_destroy(RegFile *rf);
/* The callbacks recorded since the last call, and clear the log. */
char **regfile_log_take(RegFile *rf);
/* Callbacks for a MemoryRegionOps: read/write serve rf->regs. */
uint64_t regfile_read(void *opaque, hwaddr addr, unsigned size);
void regfile_write(void *opaque, hwaddr addr, uint64_t data, unsigned size);

#endif /* MEMORY_TEST_UTIL_H */
