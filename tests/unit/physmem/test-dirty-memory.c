/*
 * Dirty memory bitmaps checked against a bool-per-page model: ranges with
 * unaligned starts and lengths, the fast and general paths of
 * cpu_physical_memory_set_dirty_lebitmap with and without a region logging
 * VGA, migration's per-block sync, snapshots, and concurrent use: setters
 * racing each other on the same words, setters racing migration's sync,
 * and both while the bitmaps grow.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"

#define PAGE    ((uint64_t)TARGET_PAGE_SIZE)

/*
 * A small RAM region that logs VGA, as a display's framebuffer would:
 * while one exists, set_dirty_lebitmap sets VGA as well as MIGRATION.
 */
static MemoryRegion *vga_logger_new(void)
{
    static unsigned count;
    MemoryRegion *mr = g_new0(MemoryRegion, 1);
    g_autofree char *name = g_strdup_printf("test.vga%u", count++);

    /* RAM block names are unique while the blocks exist. */
    g_assert_true(memory_region_init_ram(mr, NULL, name, 16 * PAGE,
                                         &error_abort));
    memory_region_set_log(mr, true, DIRTY_MEMORY_VGA);
    return mr;
}

static void vga_logger_free(MemoryRegion *mr)
{
    if (mr) {
        memory_region_set_log(mr, false, DIRTY_MEMORY_VGA);
        memory_region_unparent(mr);
        g_free(mr);
    }
}

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
 * one) and compare with the model.  MIGRATION must follow @tracking, VGA
 * must follow @vga (whether a region logs it).
 */
static void lebitmap_round_trips(unsigned phase, bool tracking, bool vga)
{
    MemoryRegion *vga_mr = vga ? vga_logger_new() : NULL;
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
                if (vga) {
                    m.bits[DIRTY_MEMORY_VGA][at + p] = true;
                }
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
            cpu_physical_memory_test_and_clear_dirty(
                model_addr(&m, pages / 4), pages * PAGE / 2,
                DIRTY_MEMORY_MIGRATION);
            memset(m.bits[DIRTY_MEMORY_MIGRATION] + pages / 4, 0, pages / 2);
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
    vga_logger_free(vga_mr);
}

static void test_lebitmap_fast(void)
{
    /* A region logs VGA: both clients set, as QEMU always does. */
    lebitmap_round_trips(0, true, true);
}

static void test_lebitmap_fast_headless(void)
{
    /* Nobody logs VGA: its bits are left alone, MIGRATION is set. */
    lebitmap_round_trips(0, true, false);
}

static void test_lebitmap_general(void)
{
    lebitmap_round_trips(1, true, true);
    lebitmap_round_trips(63, true, true);
    lebitmap_round_trips(17, true, true);
}

static void test_lebitmap_general_headless(void)
{
    lebitmap_round_trips(1, true, false);
    lebitmap_round_trips(40, true, false);
}

static void test_lebitmap_no_tracking(void)
{
    /* Without global dirty tracking only VGA hears of device writes. */
    lebitmap_round_trips(0, false, true);
    lebitmap_round_trips(5, false, true);
}

static void test_lebitmap_nothing_logged(void)
{
    /* Neither client: nothing is set, the pages are still counted. */
    lebitmap_round_trips(0, false, false);
    lebitmap_round_trips(9, false, false);
}

/* Is VGA set by a one-page set_dirty_lebitmap at page 0 of @rb? */
static bool lebitmap_sets_vga(RAMBlock *rb)
{
    uint64_t one = GUINT64_TO_LE(1);
    ram_addr_t base = qemu_ram_get_offset(rb);

    cpu_physical_memory_test_and_clear_dirty(base, PAGE, DIRTY_MEMORY_VGA);
    g_assert_cmpuint(cpu_physical_memory_set_dirty_lebitmap(
                         (unsigned long *)&one, base, 1), ==, 1);
    return cpu_physical_memory_get_dirty(base, PAGE, DIRTY_MEMORY_VGA);
}

static void test_lebitmap_vga_follows_logging(void)
{
    RAMBlock *rb = qemu_ram_alloc(64 * PAGE, 0, NULL, &error_abort);
    MemoryRegion *a, *b;

    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;
    g_assert_false(lebitmap_sets_vga(rb));
    a = vga_logger_new();
    g_assert_true(lebitmap_sets_vga(rb));
    /* Nested starts on one region and a second region: still logged. */
    memory_region_set_log(a, true, DIRTY_MEMORY_VGA);
    b = vga_logger_new();
    memory_region_set_log(a, false, DIRTY_MEMORY_VGA);
    vga_logger_free(a);
    g_assert_true(lebitmap_sets_vga(rb));
    /* A region finalized while logging stops counting too. */
    memory_region_unparent(b);
    g_free(b);
    g_assert_false(lebitmap_sets_vga(rb));
    /* Logging for CODE does not make anybody read VGA. */
    a = g_new0(MemoryRegion, 1);
    memory_region_init_ram(a, NULL, "test.code", 16 * PAGE, &error_abort);
    memory_region_set_log(a, true, DIRTY_MEMORY_CODE);
    g_assert_false(lebitmap_sets_vga(rb));
    memory_region_set_log(a, false, DIRTY_MEMORY_CODE);
    memory_region_unparent(a);
    g_free(a);
    global_dirty_tracking = 0;
    qemu_ram_free(rb);
}

static void test_lebitmap_edge_cases(void)
{
    uint64_t one = GUINT64_TO_LE(1), ones = ~0ULL;
    MemoryRegion *vga = vga_logger_new();
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
    vga_logger_free(vga);
}

static void test_lebitmap_chunk_boundary(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(0xb0dd);
    /* Bitmap chunks cover 8 GiB: put a window across the first boundary. */
    const uint64_t chunk_pages = DIRTY_MEMORY_BLOCK_SIZE;
    const uint64_t pages = 1024;
    bool *expect = g_new0(bool, pages);
    MemoryRegion *vga = vga_logger_new();
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
    vga_logger_free(vga);
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

/* Spin until *@p == @want (or, with @stop, until it is negative). */
static int wait_for(int *p, int want, bool stop)
{
    unsigned spins = 0;
    int v;

    while ((v = qatomic_load_acquire(p)) != want && !(stop && v < 0)) {
        /* Yield now and then: the other thread may be waiting for a CPU. */
        if (++spins % (64 * 1024) == 0) {
            g_thread_yield();
        }
    }
    return v;
}

/*
 * Setters racing each other.  Two threads set disjoint bits of the same
 * eight words (one batch of the word path) over and over; every bit is set
 * once per pass, so a bit missing at the end of a pass was lost: one setter
 * loaded the word before the other stored it and stored after it.  That is
 * what dirty_set_lock prevents; without it these tests fail within a few
 * hundred passes.
 */

#define RACE_WORDS      8
#define RACE_PAGES      (RACE_WORDS * 64)
/*
 * The helper thread is created anew every few passes: on a loaded machine
 * a new thread tends to start on another CPU, while two threads that have
 * been waiting for each other drift onto one CPU and stop racing.
 */
#define RACE_PASSES_PER_THREAD  16
/* Threads per test: at least the first, at most the second, ~0.3 s. */
#define RACE_MIN_THREADS        20
#define RACE_MAX_THREADS        2000
#define RACE_USECS              (300 * 1000)

typedef enum {
    /* set_dirty_lebitmap from the window's first page: the word path. */
    SETTER_WORD_PATH,
    /* set_dirty_lebitmap from the window's second page: the general path. */
    SETTER_GENERAL_PATH,
    /* cpu_physical_memory_set_dirty_range, one page per call. */
    SETTER_RANGE,
} SetterKind;

typedef struct SetterRace {
    /* First page of the window (word aligned). */
    ram_addr_t base;
    /* How the helper thread sets its bits. */
    SetterKind helper_kind;
    /*
     * Pass the helper is to run (-1: exit), the pass it is running (the
     * main thread starts its own part when it sees this, so that both run
     * at once) and the last pass it finished.
     */
    int started;
    int running;
    int finished;
} SetterRace;

/*
 * One pass of one setter over the window: step i sets bit 2 * i + @parity
 * of every word, so the two setters (parities 0 and 1) touch the same words
 * all along but never the same bit.
 */
static void race_setter_pass(ram_addr_t base, SetterKind kind,
                             unsigned parity)
{
    unsigned i, w;

    for (i = 0; i < 32; i++) {
        unsigned bit = 2 * i + parity;
        uint64_t words[RACE_WORDS] = { 0 };

        switch (kind) {
        case SETTER_WORD_PATH:
            for (w = 0; w < RACE_WORDS; w++) {
                words[w] = GUINT64_TO_LE(1ULL << bit);
            }
            cpu_physical_memory_set_dirty_lebitmap((unsigned long *)words,
                                                   base, RACE_PAGES);
            break;
        case SETTER_GENERAL_PATH:
            /* Bitmap bit k is page k + 1 of the window; page 0 is even. */
            g_assert_cmpuint(parity, ==, 1);
            for (w = 0; w < RACE_WORDS; w++) {
                uint64_t k = w * 64 + bit - 1;

                words[k / 64] |= GUINT64_TO_LE(1ULL << (k % 64));
            }
            cpu_physical_memory_set_dirty_lebitmap((unsigned long *)words,
                                                   base + PAGE,
                                                   RACE_PAGES - 1);
            break;
        default:
            for (w = 0; w < RACE_WORDS; w++) {
                cpu_physical_memory_set_dirty_range(
                    base + (w * 64 + bit) * PAGE, PAGE,
                    1 << DIRTY_MEMORY_MIGRATION);
            }
            break;
        }
    }
}

static gpointer race_helper(gpointer opaque)
{
    SetterRace *r = opaque;
    int pass = 0;

    for (;;) {
        pass = wait_for(&r->started, pass + 1, true);
        if (pass < 0) {
            return NULL;
        }
        qatomic_store_release(&r->running, pass);
        race_setter_pass(r->base, r->helper_kind, 1);
        qatomic_store_release(&r->finished, pass);
    }
}

/* Pages of the window the two setters left clean: lost updates. */
static uint64_t race_count_lost(ram_addr_t base, uint64_t *first_lost)
{
    uint64_t lost = 0, p;

    for (p = RACE_PAGES; p-- > 0;) {
        if (!cpu_physical_memory_get_dirty_flag(base + p * PAGE,
                                                DIRTY_MEMORY_MIGRATION)) {
            lost++;
            *first_lost = p;
        }
    }
    return lost;
}

/* The main thread sets the even bits on the word path, @helper the odd. */
static void setters_race(SetterKind helper, bool vga)
{
    RAMBlock *rb = qemu_ram_alloc(RACE_PAGES * PAGE, 0, NULL, &error_abort);
    MemoryRegion *vga_mr = vga ? vga_logger_new() : NULL;
    int64_t deadline = g_get_monotonic_time() + RACE_USECS;
    SetterRace r = {
        .base = qemu_ram_get_offset(rb),
        .helper_kind = helper,
    };
    int threads, pass;

    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;
    for (threads = 0; threads < RACE_MAX_THREADS; threads++) {
        GThread *thread;

        if (threads >= RACE_MIN_THREADS && g_get_monotonic_time() > deadline) {
            break;
        }
        r.started = r.running = r.finished = 0;
        thread = g_thread_new("setter", race_helper, &r);
        for (pass = 1; pass <= RACE_PASSES_PER_THREAD; pass++) {
            uint64_t lost, first_lost = 0;

            cpu_physical_memory_test_and_clear_dirty(
                r.base, RACE_PAGES * PAGE, DIRTY_MEMORY_MIGRATION);
            qatomic_store_release(&r.started, pass);
            wait_for(&r.running, pass, false);
            race_setter_pass(r.base, SETTER_WORD_PATH, 0);
            wait_for(&r.finished, pass, false);

            lost = race_count_lost(r.base, &first_lost);
            if (lost) {
                g_test_message("thread %d, pass %d: %" PRIu64 " of %d pages "
                               "lost, the first page %" PRIu64 " (set by the "
                               "%s thread)", threads, pass, lost, RACE_PAGES,
                               first_lost, first_lost % 2 ? "helper" : "main");
            }
            g_assert_cmpuint(lost, ==, 0);
        }
        qatomic_store_release(&r.started, -1);
        g_thread_join(thread);
    }
    g_test_message("%d threads of %d passes: no page lost", threads,
                   RACE_PASSES_PER_THREAD);
    global_dirty_tracking = 0;
    vga_logger_free(vga_mr);
    qemu_ram_free(rb);
}

static void test_setters_race_word_path(void)
{
    setters_race(SETTER_WORD_PATH, false);
    /* Two destinations per batch. */
    setters_race(SETTER_WORD_PATH, true);
}

static void test_setters_race_general_path(void)
{
    setters_race(SETTER_GENERAL_PATH, false);
}

static void test_setters_race_range(void)
{
    setters_race(SETTER_RANGE, false);
}

/*
 * Setters racing migration's sync: two setters report every page of a
 * block once between them (even pages through set_dirty_lebitmap, odd ones
 * through set_dirty_flag, so they share words), in random order, while
 * the main thread syncs the block and a third thread adds blocks, which
 * extends the bitmaps under them.  The sync must see every page exactly
 * once: a page whose bit a setter put back after a sync took it is already
 * in the destination, and no page may be lost.
 */

typedef struct SyncRace {
    RAMBlock *rb;
    uint64_t pages;
    /* Setters still reporting. */
    int running;
} SyncRace;

typedef struct SyncRaceSetter {
    SyncRace *race;
    /* 0: even pages by set_dirty_lebitmap; 1: odd ones by set_dirty_flag. */
    unsigned parity;
} SyncRaceSetter;

static gpointer race_setter(gpointer opaque)
{
    SyncRaceSetter *setter = opaque;
    SyncRace *s = setter->race;
    g_autoptr(GRand) r = g_rand_new_with_seed(0x7ace + setter->parity);
    uint64_t n = s->pages / 2;
    uint64_t *order = g_new(uint64_t, n);
    ram_addr_t base = qemu_ram_get_offset(s->rb);
    uint64_t i;

    for (i = 0; i < n; i++) {
        order[i] = 2 * i + setter->parity;
    }
    for (i = n - 1; i > 0; i--) {
        uint64_t j = g_rand_int_range(r, 0, i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    /*
     * Each page once, as a device would report it, in random order; in
     * 1024-page bitmaps, so that the batched word path does the work.
     */
    for (i = 0; i < n; i++) {
        uint64_t window = order[i] - order[i] % 1024, bit = order[i] % 1024;
        uint64_t words[1024 / 64] = { 0 };

        if (setter->parity) {
            cpu_physical_memory_set_dirty_flag(base + order[i] * PAGE,
                                               DIRTY_MEMORY_MIGRATION);
            continue;
        }
        words[bit / 64] = GUINT64_TO_LE(1ULL << (bit % 64));
        cpu_physical_memory_set_dirty_lebitmap((unsigned long *)words,
                                               base + window * PAGE, 1024);
    }
    g_free(order);
    qatomic_dec(&s->running);
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
    SyncRace s = { .pages = 64 * 1024, .running = 2 };
    SyncRaceSetter setters[2] = { { &s, 0 }, { &s, 1 } };
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    unsigned long *dest = bitmap_new(s.pages);
    uint64_t total = 0;
    GThread *threads[2], *grower;
    bool last = false;
    guint i;

    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;
    s.rb = qemu_ram_alloc(s.pages * PAGE, RAM_NORESERVE, NULL, &error_abort);
    cpu_physical_memory_clear_dirty_range(qemu_ram_get_offset(s.rb),
                                          s.pages * PAGE);
    for (i = 0; i < 2; i++) {
        threads[i] = g_thread_new("setter", race_setter, &setters[i]);
    }
    grower = g_thread_new("grower", race_grower, blocks);
    /* Migration: sync until the setters are done, then once more. */
    while (!last) {
        last = qatomic_load_acquire(&s.running) == 0;
        total += ramblock_dirty_bitmap_sync(s.rb, dest);
    }
    for (i = 0; i < 2; i++) {
        g_thread_join(threads[i]);
    }
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
    g_test_add_func("/physmem/dirty/lebitmap/word-path-vga-unlogged",
                    test_lebitmap_fast_headless);
    g_test_add_func("/physmem/dirty/lebitmap/general-path",
                    test_lebitmap_general);
    g_test_add_func("/physmem/dirty/lebitmap/general-path-vga-unlogged",
                    test_lebitmap_general_headless);
    g_test_add_func("/physmem/dirty/lebitmap/vga-only-without-tracking",
                    test_lebitmap_no_tracking);
    g_test_add_func("/physmem/dirty/lebitmap/nothing-logged-only-counts",
                    test_lebitmap_nothing_logged);
    g_test_add_func("/physmem/dirty/lebitmap/vga-set-while-a-region-logs-it",
                    test_lebitmap_vga_follows_logging);
    g_test_add_func("/physmem/dirty/lebitmap/edge-cases",
                    test_lebitmap_edge_cases);
    g_test_add_func("/physmem/dirty/lebitmap/across-chunks",
                    test_lebitmap_chunk_boundary);
    g_test_add_func("/physmem/dirty/block-sync", test_block_sync);
    g_test_add_func("/physmem/dirty/snapshot", test_snapshot);
    g_test_add_func("/physmem/dirty/concurrent-sync-loses-nothing",
                    test_concurrent_no_lost_bits);
    g_test_add_func("/physmem/dirty/setters-race/word-path-vs-word-path",
                    test_setters_race_word_path);
    g_test_add_func("/physmem/dirty/setters-race/word-path-vs-general-path",
                    test_setters_race_general_path);
    g_test_add_func("/physmem/dirty/setters-race/word-path-vs-set-range",
                    test_setters_race_range);
    g_test_add_func("/physmem/dirty/out-of-range-aborts",
                    test_out_of_range_aborts);
    return g_test_run();
}
