/*
 * RAM pre-copy: the "ram" migration handler.
 *
 * Source: every migratable block (named, not device memory) gets a bitmap
 * of pages still to send, all set at the start.  Iteration sends the set
 * pages in address order, clearing them; a page that is all zeroes goes as
 * a zero chunk (no data).  When the bitmap runs low (or empty), the
 * migration thread asks for the exact figure: a dirty sync
 * (memory_global_dirty_log_sync, which makes VFIO and every other
 * listener report what their devices wrote, then each block's MIGRATION
 * bits test-and-cleared into our bitmap).  With the VM stopped, complete
 * does a last sync and sends what is left.
 *
 * Guest pages go to the stream by reference (qemu_put_buffer_async): no
 * copy between guest RAM and the socket.  A page written after it was
 * queued and before it reached the socket is sent with its new contents,
 * and it is dirty again, so it is sent once more: never stale.
 *
 * The "needed bytes" accounting (parameter x-needed-bytes) keeps a 64-bit
 * hash of each page as last sent: a page whose contents did not change
 * since it was sent was dirty only to the tracker, and a perfect tracker
 * would not have sent it.  That is how the benchmark compares trackers
 * within one run.
 *
 * Destination: chunks are bounds-checked against the block table built
 * from the configuration record and read straight into guest memory.
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/qmp-registry.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"
#include "exec/ramlist.h"
#include "migration/migration-int.h"
#include "trace/trace-migration.h"

#define PAGE_SIZE_BYTES     ((uint64_t)TARGET_PAGE_SIZE)
/* Page data per section (one iterate round). */
#define RAM_SECTION_DATA    (4 * MiB)
/* Pages a section may scan (zero pages cost reading them). */
#define RAM_SECTION_SCAN    (16384)
/* Longest chunk, in pages. */
#define RAM_CHUNK_MAX_PAGES 1024
/* Bytes of a chunk header: kind, block, offset, pages. */
#define RAM_CHUNK_HEADER    (1 + 4 + 8 + 4)

typedef struct RAMBlockMig {
    RAMBlock *rb;                   /* not owned; kept alive: blocks cannot go
                                       while we migrate (see the notifier) */
    uint8_t *host;
    uint64_t used_length;           /* bytes, fixed for the migration */
    uint64_t pages;
    unsigned long *bmap;            /* pages to send */
    uint64_t *hash;                 /* x-needed-bytes: hash of the page as last sent */
    unsigned long *sent;            /* x-needed-bytes: sent at least once */
} RAMBlockMig;

typedef struct RAMState {
    RAMBlockMig *blocks;
    uint32_t nr_blocks;
    uint64_t dirty_pages;           /* set bits over every bmap */
    uint32_t cur_block;             /* scan position */
    uint64_t cur_page;
    bool dirty_log_started;
    bool last_stage_synced;
    bool in_downtime;               /* complete has started */
    bool count_needed;
    uint64_t zero_hash;             /* hash of an all-zero page */
    int64_t last_sync_ns;
    RAMBlockNotifier notifier;
    bool notifier_registering;      /* ignore the replay of existing blocks */
    int blocks_changed;             /* atomic: a block appeared, went or was resized */
} RAMState;

static RAMState ram_state;

typedef struct RAMLoadBlock {
    RAMBlock *rb;
    uint8_t *host;
    uint64_t used_length;
} RAMLoadBlock;

/* Destination: the configuration's blocks, by index (incoming thread). */
static RAMLoadBlock *load_blocks;
static uint32_t nr_load_blocks;

/* ------------------------------------------------------------------------ */
/* Helpers */

bool mig_page_is_zero(const void *p)
{
    const uint64_t *w = p;

    for (unsigned i = 0; i < TARGET_PAGE_SIZE / 8; i += 8) {
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
            w[i + 7]) {
            return false;
        }
    }
    return true;
}

/* Four independent lanes, so the multiplies overlap. */
static uint64_t ram_page_hash(const void *p)
{
    const uint64_t *w = p;
    uint64_t a = 0x9e3779b97f4a7c15ULL, b = 0xbf58476d1ce4e5b9ULL;
    uint64_t c = 0x94d049bb133111ebULL, d = 0x2545f4914f6cdd1dULL;

    for (unsigned i = 0; i < TARGET_PAGE_SIZE / 8; i += 4) {
        a = (a ^ w[i]) * 0x100000001b3ULL;
        b = (b ^ w[i + 1]) * 0xff51afd7ed558ccdULL;
        c = (c ^ w[i + 2]) * 0xc4ceb9fe1a85ec53ULL;
        d = (d ^ w[i + 3]) * 0x87c37b91114253d5ULL;
    }
    return a ^ rol64(b, 17) ^ rol64(c, 31) ^ rol64(d, 47);
}

bool ram_block_is_migratable(RAMBlock *rb)
{
    MemoryRegion *mr = qemu_ram_get_mr(rb);

    return qemu_ram_get_idstr(rb)[0] && !(mr && memory_region_is_ram_device(mr));
}

static int ram_collect_block(RAMBlock *rb, void *opaque)
{
    if (ram_block_is_migratable(rb)) {
        g_ptr_array_add(opaque, rb);
    }
    return 0;
}

/* The migratable blocks in ram_addr_t order. */
static GPtrArray *ram_migratable_blocks(void)
{
    GPtrArray *arr = g_ptr_array_new();

    qemu_ram_foreach_block(ram_collect_block, arr);
    return arr;
}

/* ------------------------------------------------------------------------ */
/* Configuration */

void ram_config_write(QEMUFile *f)
{
    g_autoptr(GPtrArray) blocks = ram_migratable_blocks();

    qemu_put_be32(f, blocks->len);
    for (guint i = 0; i < blocks->len; i++) {
        RAMBlock *rb = blocks->pdata[i];
        const char *name = qemu_ram_get_idstr(rb);

        qemu_put_byte(f, strlen(name));
        qemu_put_buffer(f, name, strlen(name));
        qemu_put_be64(f, qemu_ram_get_used_length(rb));
    }
}

bool ram_config_check(QEMUFile *f, Error **errp)
{
    g_autoptr(GPtrArray) local = ram_migratable_blocks();
    g_autofree bool *matched = g_new0(bool, local->len + 1);
    uint32_t n = qemu_get_be32(f);

    g_clear_pointer(&load_blocks, g_free);
    nr_load_blocks = 0;
    if (!qemu_file_check(f, errp)) {
        return false;
    }
    if (n > MIG_MAX_ENTRIES) {
        error_setg(errp, "the configuration lists %u RAM blocks (at most %d are accepted)",
                   n, MIG_MAX_ENTRIES);
        return false;
    }
    load_blocks = g_new0(RAMLoadBlock, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t len = qemu_get_byte(f);
        char name[256] = "";
        uint64_t size;
        guint j;

        qemu_get_buffer(f, name, len);
        size = qemu_get_be64(f);
        if (!qemu_file_check(f, errp)) {
            return false;
        }
        if (!len || strlen(name) != len) {
            error_setg(errp, "RAM block #%u of the configuration has a malformed name", i);
            return false;
        }
        for (j = 0; j < local->len; j++) {
            if (!strcmp(qemu_ram_get_idstr(local->pdata[j]), name)) {
                break;
            }
        }
        if (j == local->len) {
            error_setg(errp, "the source has RAM block '%s', this VM has not", name);
            error_append_hint(errp, "Start the destination with the same memory and "
                              "devices as the source.\n");
            return false;
        }
        if (matched[j]) {
            error_setg(errp, "RAM block '%s' is listed twice", name);
            return false;
        }
        if (size != qemu_ram_get_used_length(local->pdata[j])) {
            error_setg(errp, "RAM block '%s' has 0x%" PRIx64 " bytes on the source and 0x%"
                       PRIx64 " here", name, size,
                       (uint64_t)qemu_ram_get_used_length(local->pdata[j]));
            error_append_hint(errp, "Start the destination with the same memory size "
                              "(-m) and backends as the source.\n");
            return false;
        }
        matched[j] = true;
        load_blocks[i] = (RAMLoadBlock) {
            .rb = local->pdata[j],
            .host = qemu_ram_get_host_addr(local->pdata[j]),
            .used_length = size,
        };
    }
    for (guint j = 0; j < local->len; j++) {
        if (!matched[j]) {
            error_setg(errp, "RAM block '%s' exists here but not on the source",
                       qemu_ram_get_idstr(local->pdata[j]));
            return false;
        }
    }
    nr_load_blocks = n;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Source */

/*
 * A block of the migration is going away or changing size (main thread):
 * the next round fails, and the one in progress (which reads guest memory
 * without the BQL) ends before the block does.
 */
static void ram_notify_change(RAMState *rs, void *host, const char *what)
{
    for (uint32_t i = 0; i < rs->nr_blocks; i++) {
        if (rs->blocks[i].host == host) {
            trace_ram_block_changed(qemu_ram_get_idstr(rs->blocks[i].rb), what);
            qatomic_set(&rs->blocks_changed, 1);
            qemu_savevm_wait_unlocked_callbacks();
        }
    }
}

static void ram_block_added(RAMBlockNotifier *n, void *host, size_t size, size_t max_size)
{
    RAMState *rs = container_of(n, RAMState, notifier);

    if (!rs->notifier_registering) {
        /* A new block would not be in the destination's table either. */
        trace_ram_block_changed("(new block)", "added");
        qatomic_set(&rs->blocks_changed, 1);
    }
}

static void ram_block_removed(RAMBlockNotifier *n, void *host, size_t size, size_t max_size)
{
    ram_notify_change(container_of(n, RAMState, notifier), host, "removed");
}

static void ram_block_resized(RAMBlockNotifier *n, void *host, size_t old_size,
                              size_t new_size)
{
    ram_notify_change(container_of(n, RAMState, notifier), host, "resized");
}

static void ram_state_free(RAMState *rs)
{
    for (uint32_t i = 0; i < rs->nr_blocks; i++) {
        g_free(rs->blocks[i].bmap);
        g_free(rs->blocks[i].hash);
        g_free(rs->blocks[i].sent);
    }
    g_clear_pointer(&rs->blocks, g_free);
    rs->nr_blocks = 0;
    rs->dirty_pages = 0;
}

/* Fetch what was dirtied since the last sync into our bitmaps (BQL). */
static void ram_sync(RAMState *rs, bool last_stage)
{
    int64_t now;
    uint64_t found = 0, count;

    assert(bql_locked());
    memory_global_dirty_log_sync(last_stage);
    for (uint32_t i = 0; i < rs->nr_blocks; i++) {
        found += ramblock_dirty_bitmap_sync(rs->blocks[i].rb, rs->blocks[i].bmap);
    }
    rs->dirty_pages += found;
    now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    if (now > rs->last_sync_ns) {
        qatomic_set(&mig_stats.dirty_pages_rate,
                    found * NANOSECONDS_PER_SECOND / (now - rs->last_sync_ns));
    }
    rs->last_sync_ns = now;
    count = qatomic_read(&mig_stats.dirty_sync_count) + 1;
    qatomic_set(&mig_stats.dirty_sync_count, count);
    qatomic_set(&mig_stats.ram_remaining, rs->dirty_pages * PAGE_SIZE_BYTES);
    trace_ram_sync(count, found, rs->dirty_pages, last_stage);
    if (!last_stage) {
        JsonObject *data = json_object_new();

        json_object_set_int_member(data, "pass", count);
        qapi_event_send("MIGRATION_PASS", data);
        json_object_unref(data);
    }
}

static bool ram_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RAMState *rs = opaque;
    g_autoptr(GPtrArray) blocks = ram_migratable_blocks();
    uint64_t total = 0;

    ram_state_free(rs);
    rs->nr_blocks = blocks->len;
    rs->blocks = g_new0(RAMBlockMig, blocks->len ? blocks->len : 1);
    rs->count_needed = migrate_params.x_needed_bytes;
    rs->zero_hash = 0;
    for (guint i = 0; i < blocks->len; i++) {
        RAMBlockMig *b = &rs->blocks[i];

        b->rb = blocks->pdata[i];
        b->host = qemu_ram_get_host_addr(b->rb);
        b->used_length = qemu_ram_get_used_length(b->rb);
        b->pages = b->used_length / PAGE_SIZE_BYTES;
        b->bmap = bitmap_try_new(b->pages);
        if (rs->count_needed) {
            b->hash = g_try_new0(uint64_t, b->pages ? b->pages : 1);
            b->sent = bitmap_try_new(b->pages);
        }
        if (!b->bmap || (rs->count_needed && (!b->hash || !b->sent))) {
            error_setg(errp, "no memory for the dirty bitmap of RAM block '%s'",
                       qemu_ram_get_idstr(b->rb));
            return false;
        }
        /* Everything goes in the first pass. */
        bitmap_fill(b->bmap, b->pages);
        rs->dirty_pages += b->pages;
        total += b->used_length;
    }
    if (rs->count_needed) {
        static const uint8_t zero_page[TARGET_PAGE_SIZE];

        rs->zero_hash = ram_page_hash(zero_page);
    }
    rs->cur_block = 0;
    rs->cur_page = 0;
    rs->last_stage_synced = false;
    rs->in_downtime = false;
    qatomic_set(&rs->blocks_changed, 0);
    qatomic_set(&mig_stats.ram_total, total);
    qatomic_set(&mig_stats.ram_remaining, total);

    rs->notifier = (RAMBlockNotifier) {
        .ram_block_added = ram_block_added,
        .ram_block_removed = ram_block_removed,
        .ram_block_resized = ram_block_resized,
    };
    rs->notifier_registering = true;
    ram_block_notifier_add(&rs->notifier);
    rs->notifier_registering = false;

    if (!memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, errp)) {
        error_prepend(errp, "cannot start dirty page tracking: ");
        return false;
    }
    rs->dirty_log_started = true;
    rs->last_sync_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    /* Drop what was dirty before tracking started: the first pass sends it all. */
    ram_sync(rs, false);
    trace_ram_save_setup(rs->nr_blocks, total);
    return true;
}

/* Append chunk(s) for [page, page + n) of block @bi; accounting included. */
static void ram_put_chunk(QEMUFile *f, RAMState *rs, uint32_t bi, uint64_t page, uint64_t n,
                          bool zero)
{
    RAMBlockMig *b = &rs->blocks[bi];

    qemu_put_byte(f, zero ? MIG_RAM_CHUNK_ZERO : MIG_RAM_CHUNK_DATA);
    qemu_put_be32(f, bi);
    qemu_put_be64(f, page * PAGE_SIZE_BYTES);
    qemu_put_be32(f, n);
    if (zero) {
        qatomic_set(&mig_stats.ram_zero_pages, qatomic_read(&mig_stats.ram_zero_pages) + n);
    } else {
        qemu_put_buffer_async(f, b->host + page * PAGE_SIZE_BYTES, n * PAGE_SIZE_BYTES);
        qatomic_set(&mig_stats.ram_normal_pages,
                    qatomic_read(&mig_stats.ram_normal_pages) + n);
    }
}

/* x-needed-bytes: would a perfect tracker have sent page @p of @b (contents @zero)? */
static void ram_account_needed(RAMState *rs, RAMBlockMig *b, uint64_t p, bool zero)
{
    uint64_t h = zero ? rs->zero_hash : ram_page_hash(b->host + p * PAGE_SIZE_BYTES);
    bool needed = !test_bit(p, b->sent) || b->hash[p] != h;

    if (needed && !zero) {
        qatomic_set(&mig_stats.ram_needed_bytes,
                    qatomic_read(&mig_stats.ram_needed_bytes) + PAGE_SIZE_BYTES);
    }
    b->hash[p] = h;
    set_bit(p, b->sent);
}

/*
 * Send dirty pages into @f until a section's worth is queued or nothing
 * is dirty.  Returns true when no dirty page is left.
 */
static bool ram_send_some(RAMState *rs, QEMUFile *f)
{
    uint64_t data_bytes = 0, scanned = 0;
    bool wrapped = false;

    while (rs->dirty_pages && data_bytes < RAM_SECTION_DATA && scanned < RAM_SECTION_SCAN) {
        RAMBlockMig *b;
        uint64_t first, end, run_start;
        bool run_zero = false;

        if (rs->cur_block >= rs->nr_blocks) {
            if (wrapped) {
                break;
            }
            /* Pages dirtied behind the cursor: another pass. */
            rs->cur_block = 0;
            rs->cur_page = 0;
            wrapped = true;
            continue;
        }
        b = &rs->blocks[rs->cur_block];
        first = rs->cur_page < b->pages ? find_next_bit(b->bmap, b->pages, rs->cur_page)
                                        : b->pages;
        if (first >= b->pages) {
            rs->cur_block++;
            rs->cur_page = 0;
            continue;
        }
        end = find_next_zero_bit(b->bmap, MIN(b->pages, first + RAM_CHUNK_MAX_PAGES), first);
        bitmap_clear(b->bmap, first, end - first);
        rs->dirty_pages -= end - first;
        rs->cur_page = end;
        scanned += end - first;

        /* Split the run into chunks of zero and non-zero pages. */
        run_start = first;
        for (uint64_t p = first; p < end; p++) {
            bool zero = mig_page_is_zero(b->host + p * PAGE_SIZE_BYTES);

            if (rs->count_needed) {
                ram_account_needed(rs, b, p, zero);
            }
            if (p > run_start && zero != run_zero) {
                ram_put_chunk(f, rs, rs->cur_block, run_start, p - run_start, run_zero);
                if (!run_zero) {
                    data_bytes += (p - run_start) * PAGE_SIZE_BYTES;
                }
                run_start = p;
            }
            run_zero = zero;
        }
        ram_put_chunk(f, rs, rs->cur_block, run_start, end - run_start, run_zero);
        if (!run_zero) {
            data_bytes += (end - run_start) * PAGE_SIZE_BYTES;
        }
    }
    qatomic_set(&mig_stats.ram_remaining, rs->dirty_pages * PAGE_SIZE_BYTES);
    if (rs->in_downtime) {
        qatomic_set(&mig_stats.ram_downtime_bytes,
                    qatomic_read(&mig_stats.ram_downtime_bytes) + qemu_file_memory_size(f));
    } else {
        qatomic_set(&mig_stats.ram_precopy_bytes,
                    qatomic_read(&mig_stats.ram_precopy_bytes) + qemu_file_memory_size(f));
    }
    return rs->dirty_pages == 0;
}

static int ram_save_iterate(QEMUFile *f, void *opaque, Error **errp)
{
    RAMState *rs = opaque;

    if (qatomic_read(&rs->blocks_changed)) {
        error_setg(errp, "RAM blocks were added, removed or resized during the migration");
        return -EBUSY;
    }
    return ram_send_some(rs, f) ? 1 : 0;
}

static int ram_save_complete(QEMUFile *f, void *opaque, Error **errp)
{
    RAMState *rs = opaque;

    if (qatomic_read(&rs->blocks_changed)) {
        error_setg(errp, "RAM blocks were added, removed or resized during the migration");
        return -EBUSY;
    }
    if (!rs->last_stage_synced) {
        rs->in_downtime = true;
        ram_sync(rs, true);
        rs->last_stage_synced = true;
    }
    return ram_send_some(rs, f) ? 1 : 0;
}

static void ram_save_cleanup(void *opaque)
{
    RAMState *rs = opaque;

    if (rs->dirty_log_started) {
        memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
        rs->dirty_log_started = false;
    }
    if (rs->notifier.ram_block_added) {
        ram_block_notifier_remove(&rs->notifier);
        rs->notifier.ram_block_added = NULL;
    }
    ram_state_free(rs);
}

static void ram_state_pending_estimate(void *opaque, uint64_t *pending)
{
    *pending += ((RAMState *)opaque)->dirty_pages * PAGE_SIZE_BYTES;
}

static void ram_state_pending_exact(void *opaque, uint64_t *pending)
{
    RAMState *rs = opaque;

    ram_sync(rs, false);
    *pending += rs->dirty_pages * PAGE_SIZE_BYTES;
}

/* ------------------------------------------------------------------------ */
/* Destination */

static bool ram_load_chunk(QEMUFile *f, Error **errp)
{
    uint8_t kind = qemu_get_byte(f);
    uint32_t bi = qemu_get_be32(f);
    uint64_t offset = qemu_get_be64(f);
    uint32_t npages = qemu_get_be32(f);
    RAMLoadBlock *b;

    if (qemu_file_get_error(f)) {
        return false;
    }
    if (kind != MIG_RAM_CHUNK_DATA && kind != MIG_RAM_CHUNK_ZERO) {
        error_setg(errp, "RAM chunk of unknown kind 0x%02x", kind);
        return false;
    }
    if (bi >= nr_load_blocks) {
        error_setg(errp, "RAM chunk for block #%u, but the configuration lists %u", bi,
                   nr_load_blocks);
        return false;
    }
    b = &load_blocks[bi];
    if (!npages || offset % PAGE_SIZE_BYTES || offset >= b->used_length ||
        npages > (b->used_length - offset) / PAGE_SIZE_BYTES) {
        error_setg(errp, "RAM chunk [0x%" PRIx64 " + %u pages] lies outside block '%s' "
                   "(0x%" PRIx64 " bytes) or is misaligned", offset, npages,
                   qemu_ram_get_idstr(b->rb), b->used_length);
        return false;
    }
    if (kind == MIG_RAM_CHUNK_DATA) {
        return qemu_get_buffer(f, b->host + offset, (uint64_t)npages * PAGE_SIZE_BYTES);
    }
    for (uint32_t i = 0; i < npages; i++) {
        uint8_t *p = b->host + offset + i * PAGE_SIZE_BYTES;

        /* Reading a never-touched page allocates nothing; writing would. */
        if (!mig_page_is_zero(p)) {
            memset(p, 0, PAGE_SIZE_BYTES);
        }
    }
    return true;
}

static bool ram_load_state(QEMUFile *f, void *opaque, int version_id, int section_type,
                           Error **errp)
{
    while (qemu_file_limit_remaining(f)) {
        if (!ram_load_chunk(f, errp)) {
            return false;
        }
    }
    return true;
}

static void ram_load_cleanup(void *opaque)
{
    g_clear_pointer(&load_blocks, g_free);
    nr_load_blocks = 0;
}

static const SaveVMHandlers ram_handlers = {
    .save_setup = ram_save_setup,
    .save_live_iterate = ram_save_iterate,
    .save_live_complete = ram_save_complete,
    .save_cleanup = ram_save_cleanup,
    .state_pending_estimate = ram_state_pending_estimate,
    .state_pending_exact = ram_state_pending_exact,
    .load_state = ram_load_state,
    .load_cleanup = ram_load_cleanup,
    .load_unlocked = true,
    .no_crc = true,
    .stats_class = "ram",
};

static void __attribute__((constructor)) ram_mig_register(void)
{
    register_savevm_live("ram", 0, 1, &ram_handlers, &ram_state, &error_abort);
}
