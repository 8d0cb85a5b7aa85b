/*
 * Dirty memory bitmaps: one bit per target page of ram_addr_t space for
 * each dirty client (see exec/ram_addr.h).
 *
 * Why chunks and retired tables: the bitmaps must grow when blocks are
 * added, while a migration thread may be ORing a device's dirty bitmap
 * into them.  Reallocating one big bitmap would pull memory from under
 * that thread, and Aperture has no RCU to defer the free.  So each client's
 * bitmap is a table of fixed chunks of DIRTY_MEMORY_BLOCK_SIZE bits; growth
 * builds a bigger table that points at the same old chunks plus new ones,
 * publishes it with a release store, and keeps the old table forever (a
 * pointer per 8 GiB of RAM space; growth happens a few times per run).
 * Chunks are never freed either, so a reader holding any table sees valid
 * memory, and every table published after a block was added covers it.
 *
 * Setters lock, clearers do not.  A bitmap word changes in two ways only:
 *   - setters (cpu_physical_memory_set_dirty_range and _set_dirty_lebitmap;
 *     everything else that sets goes through them) hold dirty_set_lock and
 *     update a word with a plain load, an OR and a plain store, in loops
 *     the compiler vectorizes;
 *   - clearers (test_and_clear, ramblock_dirty_bitmap_sync, snapshots) take
 *     no lock: each word they clear goes through one atomic exchange or
 *     fetch-and, which returns the bits it removed to the caller.
 * Why that loses no dirty page.  Take a bit b that setter S sets in word W:
 * S loads W (value o) and later stores o | s, with b in s.  Another
 * operation X on W is one of:
 *   1. a setter: it holds dirty_set_lock too, so its load and store are
 *      both before S's load or both after S's store; in the second case
 *      its load sees b and its store keeps it.  (Without the lock, X could
 *      load before S's store and store after it, writing b = 0 unreported:
 *      the lost update the race tests catch.)
 *   2. a clearer before S's load: whatever it took it reported; S then
 *      stores b.
 *   3. a clearer between S's load and S's store: it reports the bits it
 *      took; S's store sets b and puts back the bits of o the clearer just
 *      took, so those pages are reported once more (sent twice by
 *      migration: conservative, never lost).
 *   4. a clearer after S's store: its atomic read-modify-write sees b and
 *      reports it.
 * So a 1 only becomes 0 through a clearer that reports it (clearers are
 * atomic) or through a setter storing a 0 its own load saw (setters are
 * serialized, and no clearer ever writes a 1).  The argument is per bit,
 * so it holds however a store reaches memory (a vector store may land in
 * pieces).  Formally the plain accesses race with the clearers' atomics;
 * what the code needs from the compiler is that it stores to the bitmap
 * only values it computed from loads made under the lock, which is what
 * the loops below compile to (one vector load and at most one store per
 * word; see the asm).  Readers (get_dirty, all_dirty) only load.
 *
 * dirty_set_lock is one lock for every client, as most setters set two or
 * three clients at once; it is a leaf lock, held for at most one chunk
 * (256 KiB of bitmap per client: tens of microseconds) per acquisition.
 * Uncontended, taking it costs what the one locked OR per word it replaces
 * cost for a single-word update, and nothing per word for a long one.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"
#include "physmem-internal.h"
#include "trace/trace-system.h"

/* The kernel's bitmaps are arrays of u64; ours are arrays of long. */
G_STATIC_ASSERT(sizeof(unsigned long) == sizeof(uint64_t));
/* Chunks hold whole words, so chunk boundaries are word boundaries. */
G_STATIC_ASSERT(DIRTY_MEMORY_BLOCK_SIZE % BITS_PER_LONG == 0);

typedef struct DirtyMemoryBlocks {
    /* Number of chunks; the table covers num_blocks * DIRTY_MEMORY_BLOCK_SIZE pages. */
    size_t num_blocks;
    /* Chunk i: the bits of pages [i, i + 1) * DIRTY_MEMORY_BLOCK_SIZE. */
    unsigned long *blocks[];
} DirtyMemoryBlocks;

/*
 * The current table of each client.  Readers load it with acquire
 * semantics and need no lock; dirty_memory_extend replaces it under the RAM
 * list lock.
 */
static DirtyMemoryBlocks *dirty_memory[DIRTY_MEMORY_NUM];
/* Tables replaced by bigger ones (see the top of the file); RAM list lock. */
static GPtrArray *retired_tables;

/*
 * Serializes the setters' read-modify-write of bitmap words (see the top of
 * the file); clearers and readers never take it.  A static GMutex needs no
 * initialisation.
 */
static GMutex dirty_set_lock;

/*
 * Per client: how many memory regions log it (memory_region_set_log), as
 * the memory core reports with cpu_physical_memory_log_client().  Atomic.
 */
static unsigned dirty_log_users[DIRTY_MEMORY_NUM];

void cpu_physical_memory_log_client(unsigned client, bool log)
{
    assert(client < DIRTY_MEMORY_NUM);
    if (log) {
        qatomic_inc(&dirty_log_users[client]);
    } else {
        unsigned old = qatomic_fetch_dec(&dirty_log_users[client]);

        assert(old > 0);
    }
}

bool dirty_memory_extend(ram_addr_t ram_size)
{
    uint64_t pages = DIV_ROUND_UP(ram_size, TARGET_PAGE_SIZE);
    size_t new_num = DIV_ROUND_UP(pages, DIRTY_MEMORY_BLOCK_SIZE);
    size_t old_num = dirty_memory[0] ? dirty_memory[0]->num_blocks : 0;
    DirtyMemoryBlocks *tables[DIRTY_MEMORY_NUM] = { NULL };
    size_t j;
    int c;

    if (new_num <= old_num) {
        return true;
    }

    /* Build every client's table before publishing any. */
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        tables[c] = g_try_malloc0(sizeof(DirtyMemoryBlocks) +
                                  new_num * sizeof(tables[c]->blocks[0]));
        if (!tables[c]) {
            goto fail;
        }
        tables[c]->num_blocks = new_num;
        for (j = 0; j < old_num; j++) {
            tables[c]->blocks[j] = dirty_memory[c]->blocks[j];
        }
        for (j = old_num; j < new_num; j++) {
            tables[c]->blocks[j] = bitmap_try_new(DIRTY_MEMORY_BLOCK_SIZE);
            if (!tables[c]->blocks[j]) {
                goto fail;
            }
        }
    }

    if (!retired_tables) {
        retired_tables = g_ptr_array_new();
    }
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        DirtyMemoryBlocks *old = dirty_memory[c];

        qatomic_store_release(&dirty_memory[c], tables[c]);
        if (old) {
            g_ptr_array_add(retired_tables, old);
        }
    }
    trace_dirty_memory_extend(old_num, new_num);
    return true;

fail:
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        if (tables[c]) {
            for (j = old_num; j < new_num; j++) {
                g_free(tables[c]->blocks[j]);
            }
            g_free(tables[c]);
        }
    }
    return false;
}

/*
 * The table of @client, which must cover pages below @end_page: a range
 * outside every block ever added is a caller bug.
 */
static DirtyMemoryBlocks *dirty_table(unsigned client, uint64_t end_page)
{
    DirtyMemoryBlocks *t;

    assert(client < DIRTY_MEMORY_NUM);
    t = qatomic_load_acquire(&dirty_memory[client]);
    if (!t || end_page > t->num_blocks * DIRTY_MEMORY_BLOCK_SIZE) {
        error_report("dirty memory: page 0x%" PRIx64 " is beyond the RAM "
                     "address space", end_page - 1);
        abort();
    }
    return t;
}

/*
 * Iterates over the pages of a byte range, one chunk at a time: each step
 * yields bits [off, off + n) of chunk @map, which stand for pages
 * [page, page + n).
 */
typedef struct DirtyIter {
    /* Table being walked. */
    DirtyMemoryBlocks *table;
    /* First page of the current piece, and end of the range (exclusive). */
    uint64_t page, end;
    /* Pages of the next piece start here (page + n after a step). */
    uint64_t next;
    /* Current piece: chunk, first bit in it, number of bits. */
    unsigned long *map;
    unsigned long off, n;
} DirtyIter;

/* Pages [*first, *end) touched by [start, start + length); length > 0. */
static void dirty_page_range(ram_addr_t start, ram_addr_t length,
                             uint64_t *first, uint64_t *end)
{
    assert(length - 1 <= RAM_ADDR_MAX - start);
    *first = start >> TARGET_PAGE_BITS;
    *end = ((start + length - 1) >> TARGET_PAGE_BITS) + 1;
}

static void dirty_iter_init_pages(DirtyIter *it, unsigned client,
                                  uint64_t first, uint64_t end)
{
    it->table = dirty_table(client, end);
    it->next = first;
    it->end = end;
}

static void dirty_iter_init(DirtyIter *it, unsigned client, ram_addr_t start,
                            ram_addr_t length)
{
    uint64_t first, end;

    dirty_page_range(start, length, &first, &end);
    dirty_iter_init_pages(it, client, first, end);
}

static bool dirty_iter_next(DirtyIter *it)
{
    uint64_t idx;

    if (it->next >= it->end) {
        return false;
    }
    it->page = it->next;
    idx = it->page / DIRTY_MEMORY_BLOCK_SIZE;
    it->off = it->page % DIRTY_MEMORY_BLOCK_SIZE;
    it->n = MIN(it->end - it->page, DIRTY_MEMORY_BLOCK_SIZE - it->off);
    it->map = it->table->blocks[idx];
    it->next = it->page + it->n;
    return true;
}

/* Set pages [first, end) for each client of @mask; dirty_set_lock held. */
static void dirty_set_pages_locked(uint64_t first, uint64_t end, uint8_t mask)
{
    DirtyIter it;
    unsigned c;

    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        if (mask & (1 << c)) {
            dirty_iter_init_pages(&it, c, first, end);
            while (dirty_iter_next(&it)) {
                bitmap_set(it.map, it.off, it.n);
            }
        }
    }
}

void cpu_physical_memory_set_dirty_range(ram_addr_t start, ram_addr_t length,
                                         uint8_t mask)
{
    uint64_t first, end;

    if (!length || !(mask & DIRTY_CLIENTS_ALL)) {
        return;
    }
    dirty_page_range(start, length, &first, &end);
    /* One chunk per hold, so that a huge new block does not stall setters. */
    while (first < end) {
        uint64_t stop = MIN(end, ROUND_DOWN(first, DIRTY_MEMORY_BLOCK_SIZE) +
                                     DIRTY_MEMORY_BLOCK_SIZE);

        g_mutex_lock(&dirty_set_lock);
        dirty_set_pages_locked(first, stop, mask);
        g_mutex_unlock(&dirty_set_lock);
        first = stop;
    }
}

void cpu_physical_memory_set_dirty_flag(ram_addr_t addr, unsigned client)
{
    cpu_physical_memory_set_dirty_range(addr, 1, 1 << client);
}

bool cpu_physical_memory_get_dirty(ram_addr_t start, ram_addr_t length,
                                   unsigned client)
{
    DirtyIter it;

    if (!length) {
        return false;
    }
    dirty_iter_init(&it, client, start, length);
    while (dirty_iter_next(&it)) {
        if (find_next_bit(it.map, it.off + it.n, it.off) < it.off + it.n) {
            return true;
        }
    }
    return false;
}

bool cpu_physical_memory_all_dirty(ram_addr_t start, ram_addr_t length,
                                   unsigned client)
{
    DirtyIter it;

    if (!length) {
        return true;
    }
    dirty_iter_init(&it, client, start, length);
    while (dirty_iter_next(&it)) {
        if (find_next_zero_bit(it.map, it.off + it.n, it.off) <
            it.off + it.n) {
            return false;
        }
    }
    return true;
}

bool cpu_physical_memory_get_dirty_flag(ram_addr_t addr, unsigned client)
{
    return cpu_physical_memory_get_dirty(addr, 1, client);
}

bool cpu_physical_memory_is_clean(ram_addr_t addr)
{
    return !cpu_physical_memory_get_dirty_flag(addr, DIRTY_MEMORY_VGA) ||
           !cpu_physical_memory_get_dirty_flag(addr, DIRTY_MEMORY_CODE) ||
           !cpu_physical_memory_get_dirty_flag(addr, DIRTY_MEMORY_MIGRATION);
}

uint8_t cpu_physical_memory_range_includes_clean(ram_addr_t start,
                                                 ram_addr_t length,
                                                 uint8_t mask)
{
    uint8_t ret = 0;
    unsigned c;

    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        if ((mask & (1 << c)) &&
            !cpu_physical_memory_all_dirty(start, length, c)) {
            ret |= 1 << c;
        }
    }
    return ret;
}

bool cpu_physical_memory_test_and_clear_dirty(ram_addr_t start,
                                              ram_addr_t length,
                                              unsigned client)
{
    bool dirty = false;
    DirtyIter it;

    if (!length) {
        return false;
    }
    dirty_iter_init(&it, client, start, length);
    while (dirty_iter_next(&it)) {
        dirty |= bitmap_test_and_clear_atomic(it.map, it.off, it.n);
    }
    return dirty;
}

void cpu_physical_memory_clear_dirty_range(ram_addr_t start, ram_addr_t length)
{
    unsigned c;

    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        cpu_physical_memory_test_and_clear_dirty(start, length, c);
    }
}

/*
 * Words of the kernel bitmap handled together on the word path: one 64-byte
 * cache line, 512 pages.
 */
#define LEBITMAP_BATCH_WORDS 8

/*
 * OR one batch of source words into @dst, unless every bit is there
 * already (the steady state of a guest that keeps dirtying the same
 * pages): then the line is not written, so it stays clean in the cache,
 * and bits a concurrent clearer just took are not put back for nothing.
 * Plain accesses under dirty_set_lock; both loops vectorize.
 */
static inline __attribute__((always_inline)) void
lebitmap_or_batch(unsigned long *__restrict dst,
                  const uint64_t *__restrict src)
{
    unsigned long need = 0;
    unsigned j;

    for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
        need |= GUINT64_FROM_LE(src[j]) & ~dst[j];
    }
    if (!need) {
        return;
    }
    for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
        dst[j] |= GUINT64_FROM_LE(src[j]);
    }
}

/*
 * Bits set in one batch.  @vector_popcount: the target counts whole
 * vectors (AVX-512 VPOPCNTDQ), and the loop below vectorizes into that.
 * Otherwise pairwise sums: a running total would make every batch wait for
 * eight dependent additions.
 */
static inline __attribute__((always_inline)) uint64_t
lebitmap_batch_count(const uint64_t *s, const bool vector_popcount)
{
    uint64_t n = 0;
    unsigned j;

    if (vector_popcount) {
        for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
            n += (uint64_t)__builtin_popcountll(s[j]);
        }
        return n;
    }
    G_STATIC_ASSERT(LEBITMAP_BATCH_WORDS == 8);
    return ((ctpop64(s[0]) + ctpop64(s[1])) + (ctpop64(s[2]) + ctpop64(s[3]))) +
           ((ctpop64(s[4]) + ctpop64(s[5])) + (ctpop64(s[6]) + ctpop64(s[7])));
}

/*
 * OR @nbits bits of @src into the same bits of the @ndst (0 to 2) word
 * aligned bitmaps @dst0 and @dst1; returns the number of bits set in @src.
 * The caller holds dirty_set_lock if @ndst > 0.
 *
 * One pass over each batch of source words: a zero batch (sparse bitmaps)
 * costs one test, an all-ones batch (dense ones) needs no counting (unless
 * counting is as cheap as testing), and each destination gets plain vector
 * ORs.  @ndst and @vector_popcount are constants in each instantiation.
 */
static inline __attribute__((always_inline)) uint64_t
lebitmap_or_aligned_body(const uint64_t *__restrict src,
                         unsigned long *__restrict dst0,
                         unsigned long *__restrict dst1, const unsigned ndst,
                         unsigned long nbits, const bool vector_popcount)
{
    unsigned long nwords = DIV_ROUND_UP(nbits, 64);
    unsigned long batched = nbits / (64 * LEBITMAP_BATCH_WORDS) *
                            LEBITMAP_BATCH_WORDS;
    uint64_t dirty = 0;
    unsigned long k;
    unsigned j;

    for (k = 0; k < batched; k += LEBITMAP_BATCH_WORDS) {
        const uint64_t *s = src + k;
        uint64_t n;

        if (vector_popcount) {
            /* Counting is as cheap as testing: the count is the test. */
            n = lebitmap_batch_count(s, true);
        } else {
            uint64_t any = 0, all = ~0ULL;

            for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
                any |= s[j];
                all &= s[j];
            }
            n = !any ? 0
                : all == ~0ULL ? 64 * LEBITMAP_BATCH_WORDS
                : lebitmap_batch_count(s, false);
        }
        if (!n) {
            continue;
        }
        dirty += n;
        if (ndst > 0) {
            lebitmap_or_batch(dst0 + k, s);
        }
        if (ndst > 1) {
            lebitmap_or_batch(dst1 + k, s);
        }
    }
    /* The ragged tail: fewer than a batch of words, the last maybe partial. */
    for (k = batched; k < nwords; k++) {
        unsigned long w = GUINT64_FROM_LE(src[k]);

        if (k == nwords - 1) {
            w &= BITMAP_LAST_WORD_MASK(nbits);
        }
        dirty += ctpopl(w);
        if (ndst > 0 && (w & ~dst0[k])) {
            dst0[k] |= w;
        }
        if (ndst > 1 && (w & ~dst1[k])) {
            dst1[k] |= w;
        }
    }
    return dirty;
}

typedef uint64_t LebitmapOrFn(const uint64_t *, unsigned long *,
                              unsigned long *, unsigned, unsigned long);

/* One instantiation per number of destinations, per instruction set. */
#define LEBITMAP_OR_ALIGNED(name, attrs, vpop)                              \
    static uint64_t attrs name(const uint64_t *src, unsigned long *dst0,    \
                               unsigned long *dst1, unsigned ndst,          \
                               unsigned long nbits)                         \
    {                                                                       \
        switch (ndst) {                                                     \
        case 0:                                                             \
            return lebitmap_or_aligned_body(src, NULL, NULL, 0, nbits,      \
                                            vpop);                          \
        case 1:                                                             \
            return lebitmap_or_aligned_body(src, dst0, NULL, 1, nbits,      \
                                            vpop);                          \
        default:                                                            \
            return lebitmap_or_aligned_body(src, dst0, dst1, 2, nbits,      \
                                            vpop);                          \
        }                                                                   \
    }

LEBITMAP_OR_ALIGNED(lebitmap_or_aligned_generic, , false)

#if defined(__x86_64__) && !defined(__AVX2__)
/*
 * Baseline x86-64 has neither POPCNT nor 32-byte vectors, and both matter
 * here: counting is most of the cost on bitmaps of mixed words, and AVX2
 * halves the instructions per destination line.  AVX-512 VPOPCNTDQ (Ice
 * Lake, Zen 4) counts four words per instruction, which takes counting out
 * of the way; 256-bit vectors still, as 512-bit ones buy nothing for
 * 64-byte batches.
 */
LEBITMAP_OR_ALIGNED(lebitmap_or_aligned_popcnt,
                    __attribute__((target("popcnt"))), false)
LEBITMAP_OR_ALIGNED(lebitmap_or_aligned_avx2,
                    __attribute__((target("avx2,popcnt"))), false)
LEBITMAP_OR_ALIGNED(lebitmap_or_aligned_vpopcnt,
                    __attribute__((target("avx2,popcnt,avx512f,avx512vl,"
                                          "avx512vpopcntdq,"
                                          "prefer-vector-width=256"))),
                    true)

static LebitmapOrFn *lebitmap_or_aligned_select(void)
{
    static LebitmapOrFn *fn;
    LebitmapOrFn *f = qatomic_read(&fn);

    if (!f) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512vpopcntdq") &&
            __builtin_cpu_supports("avx512vl")) {
            f = lebitmap_or_aligned_vpopcnt;
        } else if (__builtin_cpu_supports("avx2") &&
                   __builtin_cpu_supports("popcnt")) {
            f = lebitmap_or_aligned_avx2;
        } else if (__builtin_cpu_supports("popcnt")) {
            f = lebitmap_or_aligned_popcnt;
        } else {
            f = lebitmap_or_aligned_generic;
        }
        qatomic_set(&fn, f);
    }
    return f;
}
#else
static inline LebitmapOrFn *lebitmap_or_aligned_select(void)
{
    return lebitmap_or_aligned_generic;
}
#endif

/*
 * The fast path of set_dirty_lebitmap: page @first starts a word, so each
 * source word lands on one word of each chunk.  The lock is taken per chunk
 * piece (once per call for ranges inside one 8 GiB chunk).
 */
static uint64_t lebitmap_or_words(const uint64_t *src, uint64_t first,
                                  uint64_t pages, uint8_t clients)
{
    LebitmapOrFn *or_aligned = lebitmap_or_aligned_select();
    DirtyIter it[DIRTY_MEMORY_NUM];
    uint64_t dirty = 0;
    unsigned c, ndst = 0;

    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        if (clients & (1 << c)) {
            dirty_iter_init_pages(&it[ndst++], c, first, first + pages);
        }
    }
    /* set_dirty_lebitmap never sets CODE: at most VGA and MIGRATION. */
    assert(ndst <= 2);
    if (!ndst) {
        /* Nobody to tell: just count. */
        return or_aligned(src, NULL, NULL, 0, pages);
    }
    /* All iterators walk the same pieces; step them together. */
    while (dirty_iter_next(&it[0])) {
        unsigned long *dst[2] = { NULL, NULL };

        for (c = 0; c < ndst; c++) {
            if (c) {
                dirty_iter_next(&it[c]);
            }
            dst[c] = it[c].map + it[c].off / BITS_PER_LONG;
        }
        g_mutex_lock(&dirty_set_lock);
        dirty += or_aligned(src + (it[0].page - first) / 64, dst[0], dst[1],
                            ndst, it[0].n);
        g_mutex_unlock(&dirty_set_lock);
    }
    return dirty;
}

/*
 * Source words per hold of dirty_set_lock on the general path: 256K pages,
 * so that a huge unaligned bitmap does not stall other setters.
 */
#define LEBITMAP_RUNS_WORDS_PER_LOCK 4096

/* The general path: any page alignment, one range update per run of ones. */
static uint64_t lebitmap_or_runs(const uint64_t *src, uint64_t first,
                                 uint64_t pages, uint8_t clients)
{
    uint64_t nwords = DIV_ROUND_UP(pages, 64);
    uint64_t dirty = 0, held_from = 0;
    bool held = false;
    uint64_t w;

    for (w = 0; w < nwords; w++) {
        uint64_t bits = GUINT64_FROM_LE(src[w]);

        if (w == nwords - 1 && pages % 64) {
            bits &= MAKE_64BIT_MASK(0, pages % 64);
        }
        dirty += ctpop64(bits);
        if (!clients || !bits) {
            continue;
        }
        if (held && w - held_from >= LEBITMAP_RUNS_WORDS_PER_LOCK) {
            g_mutex_unlock(&dirty_set_lock);
            held = false;
        }
        if (!held) {
            g_mutex_lock(&dirty_set_lock);
            held = true;
            held_from = w;
        }
        while (bits) {
            int lo = ctz64(bits);
            int len = cto64(bits >> lo);
            uint64_t p = first + w * 64 + lo;

            dirty_set_pages_locked(p, p + len, clients);
            bits = lo + len >= 64 ? 0 : bits & ~MAKE_64BIT_MASK(lo, len);
        }
    }
    if (held) {
        g_mutex_unlock(&dirty_set_lock);
    }
    return dirty;
}

uint8_t cpu_physical_memory_dirty_report_clients(void)
{
    uint8_t clients = 0;

    /*
     * QEMU sets VGA always, for its display emulation; here only while some
     * region logs it, since the bits have no other reader.  Without TCG
     * nobody translates code: the CODE client stays clean.
     */
    if (qatomic_read(&dirty_log_users[DIRTY_MEMORY_VGA])) {
        clients |= 1 << DIRTY_MEMORY_VGA;
    }
    if (qatomic_read(&global_dirty_tracking)) {
        clients |= 1 << DIRTY_MEMORY_MIGRATION;
    }
    return clients;
}

uint64_t cpu_physical_memory_set_dirty_lebitmap(unsigned long *bitmap,
                                                ram_addr_t start,
                                                ram_addr_t pages)
{
    const uint64_t *src = (const uint64_t *)bitmap;
    uint64_t first = start >> TARGET_PAGE_BITS;
    uint8_t clients;
    uint64_t dirty;
    bool fast;

    assert(QEMU_IS_ALIGNED(start, TARGET_PAGE_SIZE));
    if (!pages) {
        return 0;
    }
    clients = cpu_physical_memory_dirty_report_clients();
    /* Out of range is a caller bug even when no client is set. */
    dirty_table(DIRTY_MEMORY_MIGRATION, first + pages);
    fast = first % BITS_PER_LONG == 0;
    if (fast) {
        dirty = lebitmap_or_words(src, first, pages, clients);
    } else {
        dirty = lebitmap_or_runs(src, first, pages, clients);
    }
    trace_cpu_physical_memory_set_dirty_lebitmap(start, pages, fast, clients,
                                                 dirty);
    return dirty;
}

uint64_t ramblock_dirty_bitmap_sync(RAMBlock *rb, unsigned long *dest_bmap)
{
    uint64_t first = qemu_ram_get_offset(rb) >> TARGET_PAGE_BITS;
    uint64_t pages = qemu_ram_get_used_length(rb) >> TARGET_PAGE_BITS;
    uint64_t newly_dirty = 0;
    DirtyIter it;

    /* Blocks start on bitmap words (RAM_BLOCK_ADDR_ALIGN). */
    assert(first % BITS_PER_LONG == 0);
    if (!pages) {
        return 0;
    }
    dirty_iter_init_pages(&it, DIRTY_MEMORY_MIGRATION, first, first + pages);
    while (dirty_iter_next(&it)) {
        unsigned long *src = it.map + it.off / BITS_PER_LONG;
        unsigned long *dst = dest_bmap + (it.page - first) / BITS_PER_LONG;
        unsigned long nwords = DIV_ROUND_UP(it.n, BITS_PER_LONG);
        unsigned long k;

        for (k = 0; k < nwords; k++) {
            unsigned long mask = ~0UL;
            unsigned long bits;

            if (k == nwords - 1) {
                mask = BITMAP_LAST_WORD_MASK(it.n);
            }
            /* A relaxed read first: most words are clean. */
            if (!(qatomic_read(&src[k]) & mask)) {
                continue;
            }
            if (mask == ~0UL) {
                bits = qatomic_xchg(&src[k], 0);
            } else {
                bits = qatomic_fetch_and(&src[k], ~mask) & mask;
            }
            newly_dirty += ctpopl(bits & ~dst[k]);
            dst[k] |= bits;
        }
    }
    trace_ramblock_dirty_bitmap_sync(ram_block_name(rb), pages, newly_dirty);
    return newly_dirty;
}

struct DirtyBitmapSnapshot {
    /* Address of the page of bit 0 (the range start, rounded to a word). */
    ram_addr_t start;
    /* End of the range covered (exclusive, page aligned). */
    ram_addr_t end;
    /* Bit i: page start / TARGET_PAGE_SIZE + i was dirty. */
    unsigned long dirty[];
};

DirtyBitmapSnapshot *cpu_physical_memory_snapshot_and_clear_dirty(
    ram_addr_t start, ram_addr_t length, unsigned client)
{
    DirtyBitmapSnapshot *snap;
    uint64_t first, end, base;
    DirtyIter it;

    if (!length) {
        snap = g_malloc0(sizeof(*snap));
        snap->start = snap->end = start & TARGET_PAGE_MASK;
        return snap;
    }
    dirty_page_range(start, length, &first, &end);
    base = ROUND_DOWN(first, (uint64_t)BITS_PER_LONG);
    snap = g_malloc0(sizeof(*snap) +
                     BITS_TO_LONGS(end - base) * sizeof(unsigned long));
    snap->start = base << TARGET_PAGE_BITS;
    snap->end = end << TARGET_PAGE_BITS;

    dirty_iter_init_pages(&it, client, first, end);
    while (dirty_iter_next(&it)) {
        /* Bits [off, off + n) of the chunk; words are shared with base. */
        unsigned long bit = it.off;
        unsigned long stop = it.off + it.n;

        while (bit < stop) {
            unsigned long word = bit / BITS_PER_LONG;
            unsigned long lo = bit % BITS_PER_LONG;
            unsigned long hi = MIN(stop - word * BITS_PER_LONG, BITS_PER_LONG);
            unsigned long mask = BITMAP_FIRST_WORD_MASK(lo) &
                                 BITMAP_LAST_WORD_MASK(hi);
            /* Global page of this word's bit 0, relative to base. */
            uint64_t rel = it.page - it.off + word * BITS_PER_LONG - base;
            unsigned long bits = 0;

            if (qatomic_read(&it.map[word]) & mask) {
                bits = qatomic_fetch_and(&it.map[word], ~mask) & mask;
            }
            snap->dirty[rel / BITS_PER_LONG] |= bits;
            bit = word * BITS_PER_LONG + hi;
        }
    }
    return snap;
}

bool cpu_physical_memory_snapshot_get_dirty(DirtyBitmapSnapshot *snap,
                                            ram_addr_t start,
                                            ram_addr_t length)
{
    uint64_t first, end;

    if (!length) {
        return false;
    }
    dirty_page_range(start, length, &first, &end);
    assert(start >= snap->start && (end << TARGET_PAGE_BITS) <= snap->end);
    first -= snap->start >> TARGET_PAGE_BITS;
    end -= snap->start >> TARGET_PAGE_BITS;
    return find_next_bit(snap->dirty, end, first) < end;
}
