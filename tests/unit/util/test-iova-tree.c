/*
 * IOVA tree (qemu/iova-tree.h): behaviour cases, then random operations
 * checked against a brute-force model.
 */
#include "qemu/osdep.h"
#include "qemu/iova-tree.h"

#define RW 3    /* IOMMU_RW */

static DMAMap mk(uint64_t iova, uint64_t size, uint64_t xlat)
{
    return (DMAMap){ .iova = iova, .translated_addr = xlat, .size = size, .perm = RW };
}

static int insert(IOVATree *t, uint64_t iova, uint64_t size, uint64_t xlat)
{
    DMAMap m = mk(iova, size, xlat);

    return iova_tree_insert(t, &m);
}

static void test_insert_rejects_overlap_accepts_touching(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    const DMAMap *found;

    g_assert_cmpint(insert(t, 0x1000, 0xfff, 0xa000), ==, IOVA_OK);
    g_assert_cmpint(insert(t, 0x2000, 0xfff, 0xb000), ==, IOVA_OK);   /* touches */
    g_assert_cmpint(insert(t, 0x0, 0xfff, 0xc000), ==, IOVA_OK);      /* touches */
    g_assert_cmpint(insert(t, 0x1fff, 0, 0xd000), ==, IOVA_ERR_OVERLAP);
    g_assert_cmpint(insert(t, 0x0, 0x10000, 0xd000), ==, IOVA_ERR_OVERLAP);
    g_assert_cmpint(insert(t, 0x2800, 0x10, 0xd000), ==, IOVA_ERR_OVERLAP);
    g_assert_cmpuint(iova_tree_nr_maps(t), ==, 3);
    found = iova_tree_find_address(t, 0x1fff);
    g_assert_nonnull(found);
    g_assert_cmphex(found->iova, ==, 0x1000);
    g_assert_cmphex(found->translated_addr, ==, 0xa000);
    g_assert_null(iova_tree_find_address(t, 0x3000));
}

static void test_insert_rejects_invalid(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap m = mk(UINT64_MAX, 1, 0);

    g_assert_cmpint(iova_tree_insert(t, NULL), ==, IOVA_ERR_INVALID);
    g_assert_cmpint(iova_tree_insert(t, &m), ==, IOVA_ERR_INVALID);   /* wraps */
    m = mk(0, 0xfff, UINT64_MAX - 0xffe);
    g_assert_cmpint(iova_tree_insert(t, &m), ==, IOVA_ERR_INVALID);   /* xlat wraps */
    m = mk(0, 0xfff, 0);
    m.perm = 0;
    g_assert_cmpint(iova_tree_insert(t, &m), ==, IOVA_ERR_INVALID);   /* IOMMU_NONE */
    m.perm = 4;
    g_assert_cmpint(iova_tree_insert(t, &m), ==, IOVA_ERR_INVALID);
    m.perm = 1;
    g_assert_cmpint(iova_tree_insert(t, &m), ==, IOVA_OK);
    g_assert_cmpuint(iova_tree_nr_maps(t), ==, 1);
}

static void test_full_space_mapping(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap m = mk(0, UINT64_MAX, 0);
    DMAMap q = mk(0, 0xfff, 0);

    g_assert_cmpint(iova_tree_insert(t, &m), ==, IOVA_OK);
    g_assert_nonnull(iova_tree_find_address(t, UINT64_MAX));
    g_assert_nonnull(iova_tree_find_address(t, 0));
    g_assert_cmpint(iova_tree_alloc_map(t, &q, 0, UINT64_MAX), ==, IOVA_ERR_NOMEM);
    g_assert_cmpint(iova_tree_alloc_map_top_down(t, &q, 0, UINT64_MAX), ==,
                    IOVA_ERR_NOMEM);
    g_assert_cmpuint(iova_tree_remove(t, mk(UINT64_MAX, 0, 0)), ==, 1);
    g_assert_cmpuint(iova_tree_nr_maps(t), ==, 0);
    /* On an empty tree a whole-space allocation fits. */
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0, UINT64_MAX), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0);
}

static void test_remove_takes_whole_overlapping_mappings(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();

    insert(t, 0x1000, 0xfff, 0);
    insert(t, 0x2000, 0xfff, 0);
    insert(t, 0x3000, 0xfff, 0);
    insert(t, 0x5000, 0xfff, 0);
    /* [0x2800, 0x3000] touches two mappings partly: both go entirely. */
    g_assert_cmpuint(iova_tree_remove(t, mk(0x2800, 0x800, 0)), ==, 2);
    g_assert_null(iova_tree_find_address(t, 0x2000));
    g_assert_null(iova_tree_find_address(t, 0x3fff));
    g_assert_nonnull(iova_tree_find_address(t, 0x1000));
    g_assert_cmpuint(iova_tree_remove(t, mk(0x4000, 0xfff, 0)), ==, 0);
    /* A range running off the end of the space stops there. */
    g_assert_cmpuint(iova_tree_remove(t, mk(0x1800, UINT64_MAX, 0)), ==, 2);
    g_assert_cmpuint(iova_tree_nr_maps(t), ==, 0);
}

static void test_find_iova_by_translated_address(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap q = { .translated_addr = 0x7f0000001234, .size = 0 };
    const DMAMap *m;

    insert(t, 0x10000, 0x1fff, 0x7f0000000000);
    insert(t, 0x20000, 0x0fff, 0x7f0000001000);   /* same host page, again */
    insert(t, 0x30000, 0x0fff, 0x7f0000100000);
    m = iova_tree_find_iova(t, &q);
    g_assert_nonnull(m);
    /* Both contain the address: the lowest translated_addr wins. */
    g_assert_cmphex(m->iova, ==, 0x10000);
    g_assert_cmphex(m->iova + (q.translated_addr - m->translated_addr), ==, 0x11234);
    iova_tree_remove(t, *m);
    m = iova_tree_find_iova(t, &q);
    g_assert_nonnull(m);
    g_assert_cmphex(m->iova, ==, 0x20000);
    q.translated_addr = 0x7f0000002000;
    g_assert_null(iova_tree_find_iova(t, &q));
    q.size = 0x100000;
    m = iova_tree_find_iova(t, &q);
    g_assert_nonnull(m);
    g_assert_cmphex(m->iova, ==, 0x30000);
}

static void test_alloc_lowest_first(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap m = mk(0, 0xfff, 0x1000);

    insert(t, 0x12000, 0xfff, 0);
    insert(t, 0x14000, 0x1fff, 0);
    /* Window [0x10000, 0x1ffff]: holes 0x10000-0x11fff, 0x13000, 0x16000-. */
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x10000);
    m.size = 0x1fff;
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x16000);
    m.size = 0xfff;
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x11000);
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x13000);   /* fills the hole exactly */
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x18000);
    g_assert_cmpuint(iova_tree_nr_maps(t), ==, 7);
}

static void test_alloc_top_down_highest_first(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap m = mk(0, 0xfff, 0x1000);

    insert(t, 0x1e000, 0xfff, 0);
    g_assert_cmpint(iova_tree_alloc_map_top_down(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x1f000);
    g_assert_cmpint(iova_tree_alloc_map_top_down(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x1d000);
    m.size = 0x2fff;
    g_assert_cmpint(iova_tree_alloc_map_top_down(t, &m, 0x10000, 0x1ffff), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x1a000);
}

static void test_alloc_nomem_leaves_map_untouched(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap m = mk(0xdead, 0x1fff, 0);

    insert(t, 0x10000, 0xfff, 0);
    insert(t, 0x11800, 0xfff, 0);
    /* Free: 0x11000-0x117ff (2 KiB), 0x12800-0x12fff (2 KiB): none fits. */
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x10000, 0x12fff), ==, IOVA_ERR_NOMEM);
    g_assert_cmpint(iova_tree_alloc_map_top_down(t, &m, 0x10000, 0x12fff), ==,
                    IOVA_ERR_NOMEM);
    g_assert_cmphex(m.iova, ==, 0xdead);
    g_assert_cmpuint(iova_tree_nr_maps(t), ==, 2);
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0x20000, 0x1ffff), ==, IOVA_ERR_INVALID);
    m.perm = 0;
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0, UINT64_MAX), ==, IOVA_ERR_INVALID);
}

static void test_fixed_up_temporary_down_meet(void)
{
    /* The vfio-helpers layout: both ends of one window until they meet. */
    g_autoptr(IOVATree) t = iova_tree_new();
    DMAMap m = mk(0, 0xfff, 0);
    int fixed = 0, temp = 0;

    for (;;) {
        if (iova_tree_alloc_map(t, &m, 0x10000, 0x10000 + 64 * 0x1000 - 1) != IOVA_OK) {
            break;
        }
        g_assert_cmphex(m.iova, ==, 0x10000 + fixed * 0x1000);
        fixed++;
        if (iova_tree_alloc_map_top_down(t, &m, 0x10000,
                                         0x10000 + 64 * 0x1000 - 1) != IOVA_OK) {
            break;
        }
        temp++;
        g_assert_cmphex(m.iova, ==, 0x10000 + (64 - temp) * 0x1000);
    }
    g_assert_cmpint(fixed + temp, ==, 64);
}

static bool collect(const DMAMap *map, void *opaque)
{
    GArray *a = opaque;

    g_array_append_val(a, map->iova);
    return a->len == 3;
}

static void test_foreach_in_order_and_stops(void)
{
    g_autoptr(IOVATree) t = iova_tree_new();
    g_autoptr(GArray) a = g_array_new(false, false, sizeof(uint64_t));

    insert(t, 0x5000, 0, 0);
    insert(t, 0x1000, 0, 0);
    insert(t, 0x3000, 0, 0);
    insert(t, 0x2000, 0, 0);
    iova_tree_foreach(t, collect, a);
    g_assert_cmpuint(a->len, ==, 3);
    g_assert_cmphex(g_array_index(a, uint64_t, 0), ==, 0x1000);
    g_assert_cmphex(g_array_index(a, uint64_t, 1), ==, 0x2000);
    g_assert_cmphex(g_array_index(a, uint64_t, 2), ==, 0x3000);
}

/* ------------------------------------------------------------------------ */
/* Brute-force model */

typedef struct ModelState {
    GArray *maps;       /* DMAMap, unsorted */
    uint64_t base;      /* all addresses are base + [0, UNIVERSE) */
} ModelState;

#define UNIVERSE 4096

static uint64_t mlast(const DMAMap *m)
{
    return m->iova + m->size;
}

static bool model_overlaps(const DMAMap *m, uint64_t first, uint64_t last)
{
    return m->iova <= last && mlast(m) >= first;
}

/* The lowest-IOVA mapping overlapping [first, last], or -1. */
static int model_find(ModelState *s, uint64_t first, uint64_t last)
{
    int best = -1;

    for (guint i = 0; i < s->maps->len; i++) {
        DMAMap *m = &g_array_index(s->maps, DMAMap, i);

        if (model_overlaps(m, first, last) &&
            (best < 0 || m->iova < g_array_index(s->maps, DMAMap, best).iova)) {
            best = i;
        }
    }
    return best;
}

static int model_find_xlat(ModelState *s, uint64_t first, uint64_t last)
{
    int best = -1;

    for (guint i = 0; i < s->maps->len; i++) {
        DMAMap *m = &g_array_index(s->maps, DMAMap, i);
        DMAMap *b;

        if (m->translated_addr > last || m->translated_addr + m->size < first) {
            continue;
        }
        b = best < 0 ? NULL : &g_array_index(s->maps, DMAMap, best);
        if (!b || m->translated_addr < b->translated_addr ||
            (m->translated_addr == b->translated_addr && m->iova < b->iova)) {
            best = i;
        }
    }
    return best;
}

static gint cmp_iova(gconstpointer a, gconstpointer b)
{
    const DMAMap *x = a, *y = b;

    return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* Every free [start, end] inside [begin, last], lowest first, into @holes. */
static void model_holes(ModelState *s, uint64_t begin, uint64_t last, GArray *holes)
{
    uint64_t cursor = begin;
    bool cursor_valid = true;

    g_array_sort(s->maps, cmp_iova);
    for (guint i = 0; i < s->maps->len && cursor_valid; i++) {
        DMAMap *m = &g_array_index(s->maps, DMAMap, i);

        if (mlast(m) < cursor) {
            continue;
        }
        if (m->iova > last) {
            break;
        }
        if (m->iova > cursor) {
            uint64_t h[2] = { cursor, m->iova - 1 };

            g_array_append_vals(holes, h, 2);
        }
        if (mlast(m) >= last) {
            cursor_valid = false;
        } else {
            cursor = mlast(m) + 1;
        }
    }
    if (cursor_valid) {
        uint64_t h[2] = { cursor, last };

        g_array_append_vals(holes, h, 2);
    }
}

static int model_alloc(ModelState *s, uint64_t size, uint64_t begin, uint64_t last,
                       bool top_down, uint64_t *iova)
{
    g_autoptr(GArray) holes = g_array_new(false, false, sizeof(uint64_t));
    int found = -1;

    model_holes(s, begin, last, holes);
    for (guint i = 0; i < holes->len; i += 2) {
        uint64_t lo = g_array_index(holes, uint64_t, i);
        uint64_t hi = g_array_index(holes, uint64_t, i + 1);

        if (hi - lo >= size) {
            found = i;
            if (!top_down) {
                break;
            }
        }
    }
    if (found < 0) {
        return IOVA_ERR_NOMEM;
    }
    *iova = top_down ? g_array_index(holes, uint64_t, found + 1) - size
                     : g_array_index(holes, uint64_t, found);
    return IOVA_OK;
}

static void assert_same_map(const DMAMap *got, int idx, ModelState *s)
{
    if (idx < 0) {
        g_assert_null(got);
    } else {
        DMAMap *want = &g_array_index(s->maps, DMAMap, idx);

        g_assert_nonnull(got);
        g_assert_cmphex(got->iova, ==, want->iova);
        g_assert_cmphex(got->size, ==, want->size);
        g_assert_cmphex(got->translated_addr, ==, want->translated_addr);
        g_assert_cmpint(got->perm, ==, want->perm);
    }
}

typedef struct WalkCheck {
    ModelState *s;
    guint next;
} WalkCheck;

static bool walk_check(const DMAMap *map, void *opaque)
{
    WalkCheck *w = opaque;

    g_assert_cmpuint(w->next, <, w->s->maps->len);
    assert_same_map(map, w->next, w->s);
    w->next++;
    return false;
}

static uint64_t rand_addr(GRand *r, ModelState *s)
{
    return s->base + g_rand_int_range(r, 0, UNIVERSE);
}

/* Mostly small sizes; now and then a big one. */
static uint64_t rand_size(GRand *r)
{
    return g_rand_int_range(r, 0, 8) ? g_rand_int_range(r, 0, 48)
                                     : g_rand_int_range(r, 0, UNIVERSE / 4);
}

static void random_ops(guint32 seed, uint64_t base, int nops)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    g_autoptr(IOVATree) t = iova_tree_new();
    ModelState s = { .maps = g_array_new(false, false, sizeof(DMAMap)), .base = base };

    for (int op = 0; op < nops; op++) {
        int kind = g_rand_int_range(r, 0, 100);
        DMAMap m = mk(rand_addr(r, &s), rand_size(r), rand_addr(r, &s));
        bool wraps = m.size > UINT64_MAX - m.iova;
        bool xlat_wraps = m.size > UINT64_MAX - m.translated_addr;
        /* Queries and removal clamp a wrapping range at 2^64 - 1. */
        uint64_t last = wraps ? UINT64_MAX : m.iova + m.size;

        if (kind < 30) {
            int want = wraps || xlat_wraps ? IOVA_ERR_INVALID
                       : model_find(&s, m.iova, last) >= 0 ? IOVA_ERR_OVERLAP
                       : IOVA_OK;

            g_assert_cmpint(iova_tree_insert(t, &m), ==, want);
            if (want == IOVA_OK) {
                g_array_append_val(s.maps, m);
            }
        } else if (kind < 45) {
            unsigned expect = 0;

            for (guint i = 0; i < s.maps->len; i++) {
                if (model_overlaps(&g_array_index(s.maps, DMAMap, i), m.iova, last)) {
                    g_array_remove_index_fast(s.maps, i--);
                    expect++;
                }
            }
            g_assert_cmpuint(iova_tree_remove(t, m), ==, expect);
        } else if (kind < 55) {
            assert_same_map(iova_tree_find(t, &m), model_find(&s, m.iova, last), &s);
            assert_same_map(iova_tree_find_address(t, m.iova),
                            model_find(&s, m.iova, m.iova), &s);
        } else if (kind < 65) {
            uint64_t xl = m.size > UINT64_MAX - m.translated_addr ? UINT64_MAX
                                                                 : m.translated_addr + m.size;

            assert_same_map(iova_tree_find_iova(t, &m),
                            model_find_xlat(&s, m.translated_addr, xl), &s);
        } else {
            /* alloc, either direction, in a random window */
            bool top_down = kind >= 82;
            uint64_t begin = rand_addr(r, &s);
            uint64_t wlast = rand_addr(r, &s);
            uint64_t want_iova = 0;
            int want, got;
            DMAMap a = mk(0x5a5a, rand_size(r), rand_addr(r, &s));

            if (g_rand_int_range(r, 0, 4) == 0) {
                begin = base;
                wlast = base + UNIVERSE - 1;
            }
            if (begin > wlast) {
                want = IOVA_ERR_INVALID;
            } else if (a.size > UINT64_MAX - a.translated_addr) {
                want = IOVA_ERR_INVALID;
            } else {
                want = model_alloc(&s, a.size, begin, wlast, top_down, &want_iova);
            }
            got = top_down ? iova_tree_alloc_map_top_down(t, &a, begin, wlast)
                           : iova_tree_alloc_map(t, &a, begin, wlast);
            if (got != want) {
                g_test_message("op %d: alloc size 0x%" PRIx64 " in [0x%" PRIx64
                               ", 0x%" PRIx64 "] top_down %d: expected %d, got %d",
                               op, a.size, begin, wlast, top_down, want, got);
            }
            g_assert_cmpint(got, ==, want);
            if (want == IOVA_OK) {
                g_assert_cmphex(a.iova, ==, want_iova);
                g_array_append_val(s.maps, a);
            } else {
                g_assert_cmphex(a.iova, ==, 0x5a5a);
            }
        }
        g_assert_cmpuint(iova_tree_nr_maps(t), ==, s.maps->len);
        if (op % 16 == 0) {
            g_assert_true(iova_tree_verify(t));
        }
        if (op % 500 == 0) {
            WalkCheck w = { .s = &s };

            g_array_sort(s.maps, cmp_iova);
            iova_tree_foreach(t, walk_check, &w);
            g_assert_cmpuint(w.next, ==, s.maps->len);
        }
    }
    g_array_free(s.maps, true);
}

static void test_random_ops_low_addresses(void)
{
    for (guint32 seed = 100; seed < 104; seed++) {
        random_ops(seed, 0, 8000);
    }
}

static void test_random_ops_top_of_space(void)
{
    /* The universe ends at 2^64 - 1: overflow edges get exercised. */
    for (guint32 seed = 200; seed < 204; seed++) {
        random_ops(seed, UINT64_MAX - (UNIVERSE - 1), 8000);
    }
}

static void test_many_maps_stay_logarithmic(void)
{
    /*
     * 200k single-page mappings with every other page free: a hole search
     * that scanned would take seconds here, and removal must keep the gap
     * bookkeeping right as the tree shrinks.
     */
    g_autoptr(IOVATree) t = iova_tree_new();
    const int n = 200000;
    DMAMap m = mk(0, 0xfff, 0);

    for (int i = 0; i < n; i++) {
        g_assert_cmpint(insert(t, (uint64_t)i * 0x2000, 0xfff, (uint64_t)i << 20), ==,
                        IOVA_OK);
    }
    for (int i = 0; i < 1000; i++) {
        /* Fits nowhere between the pages: only above the last one. */
        m.size = 0x1fff;
        g_assert_cmpint(iova_tree_alloc_map(t, &m, 0, UINT64_MAX), ==, IOVA_OK);
        g_assert_cmphex(m.iova, ==, (uint64_t)n * 0x2000 - 0x1000 + (uint64_t)i * 0x2000);
    }
    g_assert_true(iova_tree_verify(t));
    for (int i = 0; i < n; i += 2) {
        g_assert_cmpuint(iova_tree_remove(t, mk((uint64_t)i * 0x2000, 0, 0)), ==, 1);
    }
    g_assert_true(iova_tree_verify(t));
    /*
     * Now the pages at odd multiples of 0x2000 remain: the free ranges are
     * [0, 0x1fff] and then [0x3000 + k * 0x4000, 0x5fff + k * 0x4000].
     */
    m.size = 0x2fff;
    g_assert_cmpint(iova_tree_alloc_map(t, &m, 0, UINT64_MAX), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0x3000);
    /* Below 0x10000000 the top free range is clipped to 0x1001 bytes. */
    g_assert_cmpint(iova_tree_alloc_map_top_down(t, &m, 0, 0x10000000), ==, IOVA_OK);
    g_assert_cmphex(m.iova, ==, 0xfffb000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/iova-tree/insert-rejects-overlap-accepts-touching",
                    test_insert_rejects_overlap_accepts_touching);
    g_test_add_func("/util/iova-tree/insert-rejects-invalid", test_insert_rejects_invalid);
    g_test_add_func("/util/iova-tree/full-space-mapping", test_full_space_mapping);
    g_test_add_func("/util/iova-tree/remove-takes-whole-overlapping-mappings",
                    test_remove_takes_whole_overlapping_mappings);
    g_test_add_func("/util/iova-tree/find-iova-by-translated-address",
                    test_find_iova_by_translated_address);
    g_test_add_func("/util/iova-tree/alloc-lowest-first", test_alloc_lowest_first);
    g_test_add_func("/util/iova-tree/alloc-top-down-highest-first",
                    test_alloc_top_down_highest_first);
    g_test_add_func("/util/iova-tree/alloc-nomem-leaves-map-untouched",
                    test_alloc_nomem_leaves_map_untouched);
    g_test_add_func("/util/iova-tree/fixed-up-temporary-down-meet",
                    test_fixed_up_temporary_down_meet);
    g_test_add_func("/util/iova-tree/foreach-in-order-and-stops",
                    test_foreach_in_order_and_stops);
    g_test_add_func("/util/iova-tree/random-ops-match-model-low-addresses",
                    test_random_ops_low_addresses);
    g_test_add_func("/util/iova-tree/random-ops-match-model-top-of-space",
                    test_random_ops_top_of_space);
    g_test_add_func("/util/iova-tree/many-maps-stay-logarithmic",
                    test_many_maps_stay_logarithmic);
    return g_test_run();
}
