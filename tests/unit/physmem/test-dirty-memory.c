/*
 * Dirty memory bitmaps checked against a bool-per-page model: ranges with
 * unaligned starts and lengths, the fast and general paths of
 * cpu_physical_memory_set_dirty_lebitmap, migration's per-block sync,
 * snapshots, and concurrent use while the bitmaps grow.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"

#define PAGE    ((uint64_t)TARGET_PAGE_SIZE)

/* A window of pages of one block, with the expected bits of each client. */
typedef struct Model {
    RAMBlock *rb;
    /* First page (global page number) of the window, and its length. */
    uint64_t first;
    uint64_t pages;
    bool *bits[DIRTY_MEMORY_NUM];
} Model;

/* A clean window of @pages pages at page @skip of a new block of @size. */
static void model_init(Model *m, uint64_t size, uint64_t skip, uint64_t pages)
{
    int c;

    m->rb = qemu_ram_alloc(size, RAM_NORESERVE, NULL, &error_abort);
    m->first = (qemu_ram_get_offset(m->rb) >> TARGET_PAGE_BITS) + skip;
    m->pages = pages;
    g_assert_cmpuint(skip + pages, <=, size / PAGE);
    cpu_physical_memory_clear_dirty_range(qemu_ram_get_offset(m->rb), size);
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        m->bits[c] = g_new0(bool, pages);
    }
}

static void model_destroy(Model *m)
{
    int c;

    qemu_ram_free(m->rb);
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        g_free(m->bits[c]);
    }
}

static ram_addr_t model_addr(const Model *m, uint64_t page)
{
    return (m->first + page) << TARGET_PAGE_BITS;
}

static void model_check(const Model *m, const char *what)
{
    uint64_t p;
    int c;

    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        for (p = 0; p < m->pages; p++) {
            bool got = cpu_physical_memory_get_dirty_flag(model_addr(m, p), c);

            if (got != m->bits[c][p]) {
                g_test_message("%s: client %d, page %" PRIu64 " of the window:"
                               " expected %d, got %d", what, c, p,
                               m->bits[c][p], got);
                g_assert_cmpint(got, ==, m->bits[c][p]);
            }
        }
    }
}

/* Pages [*first, *end) of the window touched by a byte range. */
static void model_pages(uint64_t start_byte, uint64_t length, uint64_t *first,
                        uint64_t *end)
{
    *first = start_byte / PAGE;
    *end = DIV_ROUND_UP(start_byte + length, PAGE);
}

static void test_new_block_dirty(void)
{
    RAMBlock *rb = qemu_ram_alloc(100 * PAGE, 0, NULL, &error_abort);
    ram_addr_t base = qemu_ram_get_offset(rb);
    int c;

    /* Nobody has seen a new block: dirty for every client. */
    for (c = 0; c < DIRTY_MEMORY_NUM; c++) {
        g_assert_true(cpu_physical_memory_all_dirty(base, 100 * PAGE, c));
    }
    g_assert_false(cpu_physical_memory_is_clean(base + 99 * PAGE));
    g_assert_cmpint(cpu_physical_memory_range_includes_clean(
                        base, 100 * PAGE, DIRTY_CLIENTS_ALL), ==, 0);
    qemu_ram_free(rb);
}

static void test_ranges_random(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0x5eed);
    const uint64_t pages = 700;
    Model m;
    int i;

    /* Window starting mid-word, so ranges cross words in every way. */
    model_init(&m, 1024 * PAGE, 37, pages);
    for (i = 0; i < 3000; i++) {
        uint64_t start = g_rand_int_range(r, 0, pages * PAGE);
        uint64_t len = g_rand_int_range(r, 0, MIN(pages * PAGE - start,
                                                  200 * PAGE) + 1);
        unsigned c = g_rand_int_range(r, 0, DIRTY_MEMORY_NUM);
        uint64_t fp, ep, p;
        bool any = false, all = true;

        model_pages(start, len, &fp, &ep);
        if (!len) {
            ep = fp;
        }
        for (p = fp; p < ep; p++) {
            any |= m.bits[c][p];
            all &= m.bits[c][p];
        }
        switch (g_rand_int_range(r, 0, 4)) {
        case 0: {
            uint8_t mask = g_rand_int_range(r, 0, DIRTY_CLIENTS_ALL + 1);
            unsigned k;

            cpu_physical_memory_set_dirty_range(model_addr(&m, 0) + start, len,
                                                mask);
            for (k = 0; k < DIRTY_MEMORY_NUM; k++) {
                for (p = fp; (mask & (1 << k)) && p < ep; p++) {
                    m.bits[k][p] = true;
                }
            }
            break;
        }
        case 1:
            g_assert_cmpint(cpu_physical_memory_test_and_clear_dirty(
                                model_addr(&m, 0) + start, len, c), ==, any);
            for (p = fp; p < ep; p++) {
                m.bits[c][p] = false;
            }
            break;
        case 2:
            g_assert_cmpint(cpu_physical_memory_get_dirty(
                                model_addr(&m, 0) + start, len, c), ==, any);
            g_assert_cmpint(cpu_physical_memory_all_dirty(
                                model_addr(&m, 0) + start, len, c), ==, all);
            break;
        default:
            g_assert_cmpint(cpu_physical_memory_range_includes_clean(
                                model_addr(&m, 0) + start, len, 1 << c), ==,
                            all ? 0 : 1 << c);
            break;
        }
    }
    model_check(&m, "random ranges");
    model_destroy(&m);
}

/*
 * A little-endian u64 bitmap of @pages bits with about @density_pct % of
 * them set, and garbage (all ones) in the bits past @pages that the
 * function must ignore.
 */
static uint64_t *make_lebitmap(GRand *r, uint64_t pages, int density_pct,
                               bool *expect)
{
    uint64_t nwords = DIV_ROUND_UP(pages, 64);
    uint64_t *bm = g_new0(uint64_t, nwords);
    uint64_t i;

    for (i = 0; i < pages; i++) {
        expect[i] = density_pct == 100 ||
                    (density_pct && g_rand_int_range(r, 0, 100) < density_pct);
        if (expect[i]) {
            bm[i / 64] |= 1ULL << (i % 64);
        }
    }
    if (pages % 64) {
        bm[nwords - 1] |= ~0ULL << (pages % 64);
    }
    for (i = 0; i < nwords; i++) {
        bm[i] = GUINT64_TO_LE(bm[i]);
    }
    return bm;
}

/*
 * Apply random kernel-style bitmaps at window pages whose global index
 * modulo 64 is @phase (0: the word-at-a-time path; otherwise the general
 * one) and compare with the model.
 */
static void lebitmap_round_trips(unsigned phase, bool tracking)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0xd1a7 + phase);
    static const int densities[] = { 0, 1, 30, 100 };
    const uint64_t pages = 2048;
    bool *expect = g_new0(bool, pages);
    Model m;
    int i;

    global_dirty_tracking = tracking ? GLOBAL_DIRTY_MIGRATION : 0;
    model_init(&m, 4096 * PAGE, 0, pages);
    g_assert_cmpuint(m.first % 64, ==, 0);
    for (i = 0; i < 40; i++) {
        uint64_t at = g_rand_int_range(r, 0, 24) * 64 + phase;
        uint64_t n = g_rand_int_range(r, 1, pages - at + 1);
        int density = densities[i % ARRAY_SIZE(densities)];
        g_autofree uint64_t *bm = make_lebitmap(r, n, density, expect);
        uint64_t count = 0, ret, p;

        /* Sometimes whole words, sometimes a ragged last word. */
        if (i % 3 == 0 && n >= 64) {
            n -= n % 64;
        }
        for (p = 0; p < n; p++) {
            if (expect[p]) {
                count++;
                m.bits[DIRTY_MEMORY_VGA][at + p] = true;
                if (tracking) {
                    m.bits[DIRTY_MEMORY_MIGRATION][at + p] = true;
                }
            }
        }
        ret = cpu_physical_memory_set_dirty_lebitmap((unsigned long *)bm,
                                                     model_addr(&m, at), n);
        g_assert_cmpuint(ret, ==, count);
        if (i % 8 == 7) {
            model_check(&m, "lebitmap");
            /* Clear some so later rounds set bits into clean words again. */
            cpu_physical_memory_test_and_clear_dirty(model_addr(&m, 0),
                                                     pages * PAGE / 2,
                                                     DIRTY_MEMORY_VGA);
            memset(m.bits[DIRTY_MEMORY_VGA], 0, pages / 2);
        }
    }
    model_check(&m, "lebitmap");
    /* Without TCG nobody asks for CODE: never set. */
    g_assert_false(cpu_physical_memory_get_dirty(model_addr(&m, 0),
                                                 pages * PAGE,
                                                 DIRTY_MEMORY_CODE));
    model_destroy(&m);
    g_free(expect);
    global_dirty_tracking = 0;
}

static void test_lebitmap_fast(void)
{
    lebitmap_round_trips(0, true);
}

static void test_lebitmap_general(void)
{
    lebitmap_round_trips(1, true);
    lebitmap_round_trips(63, true);
    lebitmap_round_trips(17, true);
}

static void test_lebitmap_no_tracking(void)
{
    /* Without global dirty tracking only VGA hears of device writes. */
    lebitmap_round_trips(0, false);
    lebitmap_round_trips(5, false);
}

static void test_lebitmap_edge_cases(void)
{
    uint64_t one = GUINT64_TO_LE(1), ones = ~0ULL;
    Model m;

    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;
    model_init(&m, 256 * PAGE, 0, 256);
    /* Zero pages: nothing read, nothing set. */
    g_assert_cmpuint(cpu_physical_memory_set_dirty_lebitmap(
                         NULL, model_addr(&m, 0), 0), ==, 0);
    /* One page; only bit 0 of the word counts. */
    g_assert_cmpuint(cpu_physical_memory_set_dirty_lebitmap(
                         (unsigned long *)&ones, model_addr(&m, 200), 1), ==, 1);
    m.bits[DIRTY_MEMORY_VGA][200] = m.bits[DIRTY_MEMORY_MIGRATION][200] = true;
    g_assert_cmpuint(cpu_physical_memory_set_dirty_lebitmap(
                         (unsigned long *)&one, model_addr(&m, 255), 1), ==, 1);
    m.bits[DIRTY_MEMORY_VGA][255] = m.bits[DIRTY_MEMORY_MIGRATION][255] = true;
    /* Already dirty pages still count as reported. */
    g_assert_cmpuint(cpu_physical_memory_set_dirty_lebitmap(
                         (unsigned long *)&ones, model_addr(&m, 192), 64), ==,
                     64);
    memset(&m.bits[DIRTY_MEMORY_VGA][192], 1, 64);
    memset(&m.bits[DIRTY_MEMORY_MIGRATION][192], 1, 64);
    model_check(&m, "edge cases");
    model_destroy(&m);
    global_dirty_tracking = 0;
}

static void test_lebitmap_chunk_boundary(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0xb0dd);
    /* Bitmap chunks cover 8 GiB: put a window across the first boundary. */
    const uint64_t chunk_pages = DIRTY_MEMORY_BLOCK_SIZE;
    const uint64_t pages = 1024;
    bool *expect = g_new0(bool, pages);
    unsigned phase;
    Model m;

    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;
    model_init(&m, 9 * GiB, chunk_pages - pages / 2, pages);
    g_assert_cmpuint(m.first, <, chunk_pages);
    g_assert_cmpuint(m.first + pages, >, chunk_pages);
    for (phase = 0; phase < 64; phase += 21) {
        uint64_t n = pages - phase, p, count = 0;
        g_autofree uint64_t *bm = make_lebitmap(r, n, 50, expect);

        for (p = 0; p < n; p++) {
            count += expect[p];
            if (expect[p]) {
                m.bits[DIRTY_MEMORY_VGA][phase + p] = true;
                m.bits[DIRTY_MEMORY_MIGRATION][phase + p] = true;
            }
        }
        g_assert_cmpuint(cpu_physical_memory_set_dirty_lebitmap(
                             (unsigned long *)bm, model_addr(&m, phase), n),
                         ==, count);
        model_check(&m, "chunk boundary");
    }
    /* Ranges across the boundary too. */
    g_assert_true(cpu_physical_memory_test_and_clear_dirty(
                      model_addr(&m, 1), (pages - 2) * PAGE,
                      DIRTY_MEMORY_MIGRATION));
    memset(&m.bits[DIRTY_MEMORY_MIGRATION][1], 0, pages - 2);
    model_check(&m, "chunk boundary clear");
    model_destroy(&m);
    g_free(expect);
    global_dirty_tracking = 0;
}

static void test_block_sync(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0x5c);
    /* 300 pages used of 400: the last used word is partial. */
    RAMBlock *rb = qemu_ram_alloc_resizeable(300 * PAGE, 400 * PAGE, NULL,
                                             NULL, &error_abort);
    ram_addr_t base = qemu_ram_get_offset(rb);
    unsigned long *dest = bitmap_new(300);
    bool dirty[300] = { false }, in_dest[300] = { false };
    uint64_t p, expect_new = 0;
    int round;

    /* A new block is all dirty: the first sync reports every page. */
    g_assert_cmpuint(ramblock_dirty_bitmap_sync(rb, dest), ==, 300);
    g_assert_true(bitmap_full(dest, 300));
    g_assert_false(cpu_physical_memory_get_dirty(base, 300 * PAGE,
                                                 DIRTY_MEMORY_MIGRATION));
    /* Other clients keep their bits. */
    g_assert_true(cpu_physical_memory_all_dirty(base, 300 * PAGE,
                                                DIRTY_MEMORY_VGA));
    bitmap_zero(dest, 300);

    /* Pages past used_length are not the block's to report or clear. */
    cpu_physical_memory_set_dirty_range(base + 300 * PAGE, 10 * PAGE,
                                        1 << DIRTY_MEMORY_MIGRATION);

    for (round = 0; round < 5; round++) {
        for (p = 0; p < 300; p++) {
            if (g_rand_int_range(r, 0, 4) == 0) {
                cpu_physical_memory_set_dirty_flag(base + p * PAGE,
                                                   DIRTY_MEMORY_MIGRATION);
                dirty[p] = true;
            }
        }
        expect_new = 0;
        for (p = 0; p < 300; p++) {
            if (dirty[p] && !in_dest[p]) {
                expect_new++;
            }
            in_dest[p] |= dirty[p];
            dirty[p] = false;
        }
        /* Only pages not yet in dest count as new. */
        g_assert_cmpuint(ramblock_dirty_bitmap_sync(rb, dest), ==, expect_new);
        for (p = 0; p < 300; p++) {
            g_assert_cmpint(test_bit(p, dest), ==, in_dest[p]);
        }
        g_assert_false(cpu_physical_memory_get_dirty(base, 300 * PAGE,
                                                     DIRTY_MEMORY_MIGRATION));
        /* Migration sent some pages: they leave dest. */
        for (p = round; p < 300; p += 3) {
            clear_bit(p, dest);
            in_dest[p] = false;
        }
    }
    g_assert_true(cpu_physical_memory_all_dirty(base + 300 * PAGE, 10 * PAGE,
                                                DIRTY_MEMORY_MIGRATION));
    g_free(dest);
    qemu_ram_free(rb);
}

static void test_snapshot(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0x54a9);
    DirtyBitmapSnapshot *snap;
    const uint64_t lo = 70, hi = 330;    /* snapshot pages [lo, hi) */
    Model m;
    uint64_t p;

    model_init(&m, 512 * PAGE, 0, 400);
    for (p = 0; p < 400; p++) {
        if (g_rand_boolean(r)) {
            cpu_physical_memory_set_dirty_flag(model_addr(&m, p),
                                               DIRTY_MEMORY_VGA);
            m.bits[DIRTY_MEMORY_VGA][p] = true;
        }
    }
    /* An unaligned byte range: pages it touches are in the snapshot. */
    snap = cpu_physical_memory_snapshot_and_clear_dirty(
        model_addr(&m, lo) + 5, (hi - lo - 1) * PAGE, DIRTY_MEMORY_VGA);
    for (p = lo; p < hi; p++) {
        g_assert_cmpint(cpu_physical_memory_snapshot_get_dirty(
                            snap, model_addr(&m, p), PAGE), ==,
                        m.bits[DIRTY_MEMORY_VGA][p]);
        m.bits[DIRTY_MEMORY_VGA][p] = false;
    }
    g_assert_true(cpu_physical_memory_snapshot_get_dirty(
                      snap, model_addr(&m, lo), (hi - lo) * PAGE));
    /* Cleared inside the range, untouched outside it. */
    model_check(&m, "after snapshot");
    g_free(snap);
    model_destroy(&m);
}

/* Concurrency */

typedef struct SyncRace {
    RAMBlock *rb;
    uint64_t pages;
    /* The setter has reported every page. */
    bool done;
} SyncRace;

static gpointer race_setter(gpointer opaque)
{
    SyncRace *s = opaque;
    g_autoptr(GRand) r = g_rand_new_with_seed(0x7ace);
    uint64_t *order = g_new(uint64_t, s->pages);
    uint64_t i;

    for (i = 0; i < s->pages; i++) {
        order[i] = i;
    }
    for (i = s->pages - 1; i > 0; i--) {
        uint64_t j = g_rand_int_range(r, 0, i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    /*
     * Each page once, as a device would report it, in random order; in
     * 1024-page bitmaps, so that the batched word path does the work.
     */
    for (i = 0; i < s->pages; i++) {
        uint64_t window = order[i] - order[i] % 1024, bit = order[i] % 1024;
        uint64_t words[1024 / 64] = { 0 };

        words[bit / 64] = GUINT64_TO_LE(1ULL << (bit % 64));
        cpu_physical_memory_set_dirty_lebitmap(
            (unsigned long *)words,
            qemu_ram_get_offset(s->rb) + window * PAGE, 1024);
    }
    g_free(order);
    qatomic_store_release(&s->done, true);
    return NULL;
}

static gpointer race_grower(gpointer opaque)
{
    GPtrArray *blocks = opaque;
    int i;

    /* Each new block extends the bitmaps (8 GiB chunks) under the setter. */
    for (i = 0; i < 6; i++) {
        g_ptr_array_add(blocks, qemu_ram_alloc(8 * GiB, RAM_NORESERVE, NULL,
                                               &error_abort));
    }
    return NULL;
}

static void test_concurrent_no_lost_bits(void)
{
    SyncRace s = { .pages = 64 * 1024 };
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    unsigned long *dest = bitmap_new(s.pages);
    uint64_t total = 0;
    GThread *setter, *grower;
    bool last = false;
    guint i;

    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;
    s.rb = qemu_ram_alloc(s.pages * PAGE, RAM_NORESERVE, NULL, &error_abort);
    cpu_physical_memory_clear_dirty_range(qemu_ram_get_offset(s.rb),
                                          s.pages * PAGE);
    setter = g_thread_new("setter", race_setter, &s);
    grower = g_thread_new("grower", race_grower, blocks);
    /* Migration: sync until the setter is done, then once more. */
    while (!last) {
        last = qatomic_load_acquire(&s.done);
        total += ramblock_dirty_bitmap_sync(s.rb, dest);
    }
    g_thread_join(setter);
    g_thread_join(grower);

    /* Every page reported exactly once, none lost in the race. */
    g_assert_cmpuint(total, ==, s.pages);
    g_assert_true(bitmap_full(dest, s.pages));
    for (i = 0; i < blocks->len; i++) {
        qemu_ram_free(blocks->pdata[i]);
    }
    qemu_ram_free(s.rb);
    g_free(dest);
    global_dirty_tracking = 0;
}

static void test_out_of_range_aborts(void)
{
    if (g_test_subprocess()) {
        cpu_physical_memory_set_dirty_range(last_ram_offset() + 64 * GiB, PAGE,
                                            DIRTY_CLIENTS_ALL);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*beyond the RAM address space*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/physmem/dirty/new-block-is-dirty", test_new_block_dirty);
    g_test_add_func("/physmem/dirty/ranges-random-unaligned",
                    test_ranges_random);
    g_test_add_func("/physmem/dirty/lebitmap/word-path", test_lebitmap_fast);
    g_test_add_func("/physmem/dirty/lebitmap/general-path",
                    test_lebitmap_general);
    g_test_add_func("/physmem/dirty/lebitmap/vga-only-without-tracking",
                    test_lebitmap_no_tracking);
    g_test_add_func("/physmem/dirty/lebitmap/edge-cases",
                    test_lebitmap_edge_cases);
    g_test_add_func("/physmem/dirty/lebitmap/across-chunks",
                    test_lebitmap_chunk_boundary);
    g_test_add_func("/physmem/dirty/block-sync", test_block_sync);
    g_test_add_func("/physmem/dirty/snapshot", test_snapshot);
    g_test_add_func("/physmem/dirty/concurrent-sync-loses-nothing",
                    test_concurrent_no_lost_bits);
    g_test_add_func("/physmem/dirty/out-of-range-aborts",
                    test_out_of_range_aborts);
    return g_test_run();
}
