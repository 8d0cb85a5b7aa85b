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
 * Bits themselves change only through atomic word operations.
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

void cpu_physical_memory_set_dirty_range(ram_addr_t start, ram_addr_t length,
                                         uint8_t mask)
{
    DirtyIter it;
    unsigned c;

    if (!length) {
        return;
    }
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        if (!(mask & (1 << c))) {
            continue;
        }
        dirty_iter_init(&it, c, start, length);
        while (dirty_iter_next(&it)) {
            bitmap_set_atomic(it.map, it.off, it.n);
        }
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
 * Words of the kernel bitmap pre-checked together on the word path: one
 * 64-byte cache line, 512 pages.
 */
#define LEBITMAP_BATCH_WORDS 8

/*
 * OR @nbits bits of @src into the same bits of each of the @ndst word
 * aligned bitmaps @dst; returns the number of bits set in @src.
 *
 * Why not just bitmap_or_le64_atomic per client: that reads and counts the
 * source once per client, and QEMU always sets two (VGA, MIGRATION), which
 * doubles the cost of the common cases.  Here one pass over each batch of
 * source words counts its bits and checks whether any is missing from any
 * client.  Zero batches cost one test; batches already present everywhere
 * (the steady state of a guest that keeps dirtying the same pages, whose
 * VGA bits nobody clears) are never written; otherwise each word missing
 * bits in a client gets one atomic OR there, so concurrent clearers
 * (migration's sync) lose nothing.  bitmap_or_le64_atomic does the ragged
 * tail.  @ndst is a constant in each instantiation, so the loops unroll.
 */
static inline __attribute__((always_inline)) uint64_t
lebitmap_or_aligned_body(const uint64_t *src, unsigned long *const *dst,
                         const unsigned ndst, unsigned long nbits)
{
    unsigned long batched = nbits / (64 * LEBITMAP_BATCH_WORDS) *
                            LEBITMAP_BATCH_WORDS;
    uint64_t dirty = 0;
    unsigned long k, j;
    unsigned c;

    for (k = 0; k < batched; k += LEBITMAP_BATCH_WORDS) {
        const uint64_t *s = src + k;
        unsigned long need = 0, any = 0;

        for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
            any |= s[j];
        }
        if (!any) {
            continue;
        }
        for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
            unsigned long w = GUINT64_FROM_LE(s[j]);

            for (c = 0; c < ndst; c++) {
                need |= w & ~qatomic_read(&dst[c][k + j]);
            }
            dirty += ctpopl(w);
        }
        if (!need) {
            continue;
        }
        for (j = 0; j < LEBITMAP_BATCH_WORDS; j++) {
            unsigned long w = GUINT64_FROM_LE(s[j]);

            for (c = 0; c < ndst; c++) {
                if (w & ~qatomic_read(&dst[c][k + j])) {
                    qatomic_or(&dst[c][k + j], w);
                }
            }
        }
    }
    if (batched * 64 < nbits) {
        unsigned long count = 0;

        for (c = 0; c < ndst; c++) {
            count = bitmap_or_le64_atomic(dst[c] + batched, 0, src + batched,
                                          nbits - batched * 64);
        }
        dirty += count;
    }
    return dirty;
}

/* One instantiation per number of clients (VGA; VGA and MIGRATION). */
static inline __attribute__((always_inline)) uint64_t
lebitmap_or_aligned_any(const uint64_t *src, unsigned long *const *dst,
                        unsigned ndst, unsigned long nbits)
{
    switch (ndst) {
    case 1:
        return lebitmap_or_aligned_body(src, dst, 1, nbits);
    case 2:
        return lebitmap_or_aligned_body(src, dst, 2, nbits);
    default:
        return lebitmap_or_aligned_body(src, dst, 3, nbits);
    }
}

typedef uint64_t LebitmapOrFn(const uint64_t *, unsigned long *const *,
                              unsigned, unsigned long);

static uint64_t lebitmap_or_aligned_generic(const uint64_t *src,
                                            unsigned long *const *dst,
                                            unsigned ndst, unsigned long nbits)
{
    return lebitmap_or_aligned_any(src, dst, ndst, nbits);
}

#if defined(__x86_64__) && !defined(__POPCNT__)
/*
 * Baseline x86-64 has no POPCNT, and counting is a good part of the cost on
 * dense bitmaps; every x86-64 CPU of the last fifteen years has it.
 */
static uint64_t __attribute__((target("popcnt")))
lebitmap_or_aligned_popcnt(const uint64_t *src, unsigned long *const *dst,
                           unsigned ndst, unsigned long nbits)
{
    return lebitmap_or_aligned_any(src, dst, ndst, nbits);
}

static LebitmapOrFn *lebitmap_or_aligned_select(void)
{
    static LebitmapOrFn *fn;
    LebitmapOrFn *f = qatomic_read(&fn);

    if (!f) {
        __builtin_cpu_init();
        f = __builtin_cpu_supports("popcnt") ? lebitmap_or_aligned_popcnt
                                             : lebitmap_or_aligned_generic;
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
 * source word lands on one word of each chunk.
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
    /* All iterators walk the same pieces; step them together. */
    while (dirty_iter_next(&it[0])) {
        unsigned long *dst[DIRTY_MEMORY_NUM];

        for (c = 0; c < ndst; c++) {
            if (c) {
                dirty_iter_next(&it[c]);
            }
            dst[c] = it[c].map + it[c].off / BITS_PER_LONG;
        }
        dirty += or_aligned(src + (it[0].page - first) / 64, dst, ndst,
                            it[0].n);
    }
    return dirty;
}

/* The general path: any page alignment, one range update per run of ones. */
static uint64_t lebitmap_or_runs(const uint64_t *src, uint64_t first,
                                 uint64_t pages, uint8_t clients)
{
    uint64_t nwords = DIV_ROUND_UP(pages, 64);
    uint64_t dirty = 0;
    uint64_t w;

    for (w = 0; w < nwords; w++) {
        uint64_t bits = GUINT64_FROM_LE(src[w]);

        if (w == nwords - 1 && pages % 64) {
            bits &= MAKE_64BIT_MASK(0, pages % 64);
        }
        dirty += ctpop64(bits);
        while (bits) {
            int lo = ctz64(bits);
            int len = cto64(bits >> lo);

            cpu_physical_memory_set_dirty_range(
                (first + w * 64 + lo) << TARGET_PAGE_BITS,
                (ram_addr_t)len << TARGET_PAGE_BITS, clients);
            bits = lo + len >= 64 ? 0 : bits & ~MAKE_64BIT_MASK(lo, len);
        }
    }
    return dirty;
}

uint64_t cpu_physical_memory_set_dirty_lebitmap(unsigned long *bitmap,
                                                ram_addr_t start,
                                                ram_addr_t pages)
{
    const uint64_t *src = (const uint64_t *)bitmap;
    uint64_t first = start >> TARGET_PAGE_BITS;
    uint8_t clients = 1 << DIRTY_MEMORY_VGA;
    uint64_t dirty;
    bool fast;

    assert(QEMU_IS_ALIGNED(start, TARGET_PAGE_SIZE));
    if (!pages) {
        return 0;
    }
    /* Without TCG nobody translates code: the CODE client stays clean. */
    if (qatomic_read(&global_dirty_tracking)) {
        clients |= 1 << DIRTY_MEMORY_MIGRATION;
    }
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
