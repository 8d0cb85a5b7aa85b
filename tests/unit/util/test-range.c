/*
 * Inclusive ranges and sorted range lists (qemu/range.h).
 */
#include "qemu/osdep.h"
#include "qemu/range.h"

static Range *new_range(uint64_t lob, uint64_t upb)
{
    Range *r = g_new(Range, 1);

    g_assert_cmpint(range_set_bounds(r, lob, upb), ==, 0);
    return r;
}

/* "[a,b] [c,d]" for readable failure messages. */
static char *list_str(GList *list)
{
    GString *s = g_string_new(NULL);

    for (GList *l = list; l; l = l->next) {
        Range *r = l->data;

        g_string_append_printf(s, "%s[0x%" PRIx64 ",0x%" PRIx64 "]",
                               l == list ? "" : " ", r->lob, r->upb);
    }
    return g_string_free(s, false);
}

static void assert_list(GList *list, const char *expect)
{
    g_autofree char *got = list_str(list);

    g_assert_cmpstr(got, ==, expect);
}

static void test_init_size_zero_is_empty(void)
{
    Range r;

    g_assert_cmpint(range_init(&r, 0, 0), ==, 0);
    g_assert_true(range_is_empty(&r));
    g_assert_cmpint(range_init(&r, 0x1000, 0), ==, 0);
    g_assert_true(range_is_empty(&r));
    g_assert_cmpuint(range_size(&r), ==, 0);
    g_assert_false(range_contains(&r, 0));
    g_assert_false(range_contains(&r, 1));
}

static void test_init_refuses_wrap(void)
{
    Range r;

    g_assert_cmpint(range_init(&r, UINT64_MAX, 2), ==, -ERANGE);
    g_assert_true(range_is_empty(&r));
    g_assert_cmpint(range_init(&r, 1ULL << 63, (1ULL << 63) + 1), ==, -ERANGE);
    /* Up to and including the last address is fine. */
    g_assert_cmpint(range_init(&r, UINT64_MAX, 1), ==, 0);
    g_assert_cmphex(range_lob(&r), ==, UINT64_MAX);
    g_assert_cmphex(range_upb(&r), ==, UINT64_MAX);
    g_assert_cmpint(range_init(&r, 1ULL << 63, 1ULL << 63), ==, 0);
    g_assert_cmphex(range_upb(&r), ==, UINT64_MAX);
    range_init_nofail(&r, 0x1000, 0x1000);
    g_assert_cmphex(range_upb(&r), ==, 0x1fff);
    g_assert_cmpuint(range_size(&r), ==, 0x1000);
}

static void test_full_space_is_representable(void)
{
    Range r = range_make(0, UINT64_MAX);

    g_assert_false(range_is_empty(&r));
    g_assert_true(range_is_full(&r));
    g_assert_true(range_contains(&r, 0));
    g_assert_true(range_contains(&r, UINT64_MAX));
    /* 2^64 does not fit: documented to read as 0. */
    g_assert_cmpuint(range_size(&r), ==, 0);
}

static void test_set_bounds_refuses_inverted(void)
{
    Range r;

    g_assert_cmpint(range_set_bounds(&r, 5, 4), ==, -ERANGE);
    g_assert_true(range_is_empty(&r));
    g_assert_cmpint(range_set_bounds(&r, 5, 5), ==, 0);
    g_assert_cmpuint(range_size(&r), ==, 1);
    r = range_make(9, 3);
    g_assert_true(range_is_empty(&r));
}

static void test_touching_ranges_do_not_overlap(void)
{
    Range a = range_make(0, 4), b = range_make(5, 9), c = range_make(4, 4);
    Range e;

    range_make_empty(&e);
    g_assert_false(range_overlaps_range(&a, &b));
    g_assert_cmpint(range_compare(&a, &b), ==, -1);
    g_assert_cmpint(range_compare(&b, &a), ==, 1);
    g_assert_true(range_overlaps_range(&a, &c));
    g_assert_cmpint(range_compare(&a, &c), ==, 0);
    g_assert_false(range_overlaps_range(&a, &e));
    g_assert_false(range_overlaps_range(&e, &e));
}

static void test_extend_takes_the_hull(void)
{
    Range r = range_make(10, 20), gap = range_make(40, 50), e;

    range_make_empty(&e);
    range_extend(&r, &gap);
    g_assert_cmphex(r.lob, ==, 10);
    g_assert_cmphex(r.upb, ==, 50);
    range_extend(&r, &e);
    g_assert_cmphex(r.upb, ==, 50);
    range_extend(&e, &gap);
    g_assert_cmphex(e.lob, ==, 40);
    g_assert_cmphex(e.upb, ==, 50);
}

static void test_contains_range(void)
{
    Range outer = range_make(10, 20), in = range_make(10, 20);
    Range out = range_make(9, 12), e;

    range_make_empty(&e);
    g_assert_true(range_contains_range(&outer, &in));
    g_assert_false(range_contains_range(&outer, &out));
    g_assert_true(range_contains_range(&outer, &e));
}

static void test_ranges_overlap_with_lengths(void)
{
    g_assert_true(ranges_overlap(0, 10, 9, 1));
    g_assert_false(ranges_overlap(0, 10, 10, 1));
    g_assert_false(ranges_overlap(0, 0, 0, 10));
    /* A length running past the end of the space stops at UINT64_MAX. */
    g_assert_true(ranges_overlap(UINT64_MAX - 1, 100, UINT64_MAX, 1));
    g_assert_false(ranges_overlap(UINT64_MAX - 1, 100, 0, 5));
}

static void test_list_insert_merges_overlap_not_touch(void)
{
    GList *list = NULL;

    list = range_list_insert(list, new_range(10, 19));
    list = range_list_insert(list, new_range(30, 39));
    list = range_list_insert(list, new_range(20, 29));     /* touches both */
    assert_list(list, "[0xa,0x13] [0x14,0x1d] [0x1e,0x27]");
    list = range_list_insert(list, new_range(0, 5));
    list = range_list_insert(list, new_range(50, 60));
    assert_list(list, "[0x0,0x5] [0xa,0x13] [0x14,0x1d] [0x1e,0x27] [0x32,0x3c]");
    /* One range overlapping three elements merges them into one hull. */
    list = range_list_insert(list, new_range(15, 35));
    assert_list(list, "[0x0,0x5] [0xa,0x27] [0x32,0x3c]");
    list = range_list_insert(list, new_range(55, UINT64_MAX));
    assert_list(list, "[0x0,0x5] [0xa,0x27] [0x32,0xffffffffffffffff]");
    range_list_free(list);
}

static void test_list_insert_adjacent_mode_merges_touching(void)
{
    GList *list = NULL;

    list = range_list_insert_full(list, new_range(10, 19), RANGE_LIST_MERGE_ADJACENT);
    list = range_list_insert_full(list, new_range(30, 39), RANGE_LIST_MERGE_ADJACENT);
    list = range_list_insert_full(list, new_range(0, 8), RANGE_LIST_MERGE_ADJACENT);
    assert_list(list, "[0x0,0x8] [0xa,0x13] [0x1e,0x27]");
    list = range_list_insert_full(list, new_range(20, 29), RANGE_LIST_MERGE_ADJACENT);
    assert_list(list, "[0x0,0x8] [0xa,0x27]");
    list = range_list_insert_full(list, new_range(9, 9), RANGE_LIST_MERGE_ADJACENT);
    assert_list(list, "[0x0,0x27]");
    list = range_list_insert_full(list, new_range(UINT64_MAX, UINT64_MAX),
                                  RANGE_LIST_MERGE_ADJACENT);
    assert_list(list, "[0x0,0x27] [0xffffffffffffffff,0xffffffffffffffff]");
    range_list_free(list);
}

static void test_list_insert_none_mode_keeps_overlaps(void)
{
    GList *list = NULL;
    Range *second = new_range(5, 6);

    list = range_list_insert_full(list, new_range(5, 20), RANGE_LIST_MERGE_NONE);
    list = range_list_insert_full(list, new_range(0, 10), RANGE_LIST_MERGE_NONE);
    list = range_list_insert_full(list, second, RANGE_LIST_MERGE_NONE);
    assert_list(list, "[0x0,0xa] [0x5,0x14] [0x5,0x6]");
    /* Equal lobs keep insertion order. */
    g_assert_true(g_list_nth_data(list, 2) == second);
    range_list_free(list);
}

/*
 * Random inserts into a small universe: the union of the list must equal
 * the union of what was inserted, elements must be sorted and disjoint
 * (and, in adjacent mode, separated by at least one missing member).
 */
#define UNIVERSE 300

static void check_list_vs_model(GList *list, const bool *model, RangeListMerge how)
{
    bool covered[UNIVERSE] = { false };
    const Range *prev = NULL;

    for (GList *l = list; l; l = l->next) {
        const Range *r = l->data;

        g_assert_false(range_is_empty(r));
        g_assert_cmpuint(r->upb, <, UNIVERSE);
        if (prev) {
            g_assert_cmpuint(prev->upb, <, r->lob);
            if (how == RANGE_LIST_MERGE_ADJACENT) {
                g_assert_cmpuint(prev->upb + 1, <, r->lob);
            }
        }
        for (uint64_t i = r->lob; i <= r->upb; i++) {
            covered[i] = true;
        }
        prev = r;
    }
    for (int i = 0; i < UNIVERSE; i++) {
        if (covered[i] != model[i]) {
            g_autofree char *s = list_str(list);

            g_test_message("member %d: expected %d in %s", i, model[i], s);
            g_assert_not_reached();
        }
    }
}

static void random_list_inserts(RangeListMerge how, guint32 seed)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);

    for (int round = 0; round < 50; round++) {
        bool model[UNIVERSE] = { false };
        GList *list = NULL;

        for (int n = 0; n < 40; n++) {
            uint64_t lob = g_rand_int_range(r, 0, UNIVERSE);
            uint64_t len = g_rand_int_range(r, 0, 20);
            uint64_t upb = MIN(lob + len, UNIVERSE - 1);

            for (uint64_t i = lob; i <= upb; i++) {
                model[i] = true;
            }
            list = range_list_insert_full(list, new_range(lob, upb), how);
            check_list_vs_model(list, model, how);
        }
        range_list_free(list);
    }
}

static void test_list_insert_overlapping_random(void)
{
    random_list_inserts(RANGE_LIST_MERGE_OVERLAPPING, 11);
}

static void test_list_insert_adjacent_random(void)
{
    random_list_inserts(RANGE_LIST_MERGE_ADJACENT, 12);
}

static void test_inverse_gives_holes(void)
{
    GList *in = NULL, *out = NULL;

    in = range_list_insert(in, new_range(0x1000, 0x1fff));
    in = range_list_insert(in, new_range(0x3000, 0x3fff));
    range_inverse_array(in, &out, 0, 0x4fff);
    assert_list(out, "[0x0,0xfff] [0x2000,0x2fff] [0x4000,0x4fff]");
    range_list_free(out);
    out = NULL;

    /* Span starting and ending inside reserved ranges. */
    range_inverse_array(in, &out, 0x1800, 0x3800);
    assert_list(out, "[0x2000,0x2fff]");
    range_list_free(out);
    out = NULL;

    /* Fully covered span: no hole. */
    range_inverse_array(in, &out, 0x1000, 0x1fff);
    g_assert_null(out);

    /* Inverted span: nothing. */
    range_inverse_array(in, &out, 5, 4);
    g_assert_null(out);
    range_list_free(in);
}

static void test_inverse_full_space_edges(void)
{
    GList *in = NULL, *out = NULL;

    /* No ranges: the whole span is one hole, including 2^64 - 1. */
    range_inverse_array(NULL, &out, 0, UINT64_MAX);
    assert_list(out, "[0x0,0xffffffffffffffff]");
    range_list_free(out);
    out = NULL;

    in = range_list_insert(in, new_range(0, 0));
    in = range_list_insert(in, new_range(0xfee00000, 0xfeefffff));
    in = range_list_insert(in, new_range(UINT64_MAX, UINT64_MAX));
    range_inverse_array(in, &out, 0, UINT64_MAX);
    assert_list(out, "[0x1,0xfedfffff] [0xfef00000,0xfffffffffffffffe]");
    range_list_free(out);
    range_list_free(in);
}

static void test_inverse_random_vs_model(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(13);

    for (int round = 0; round < 500; round++) {
        bool covered[UNIVERSE] = { false };
        bool expect[UNIVERSE] = { false };
        GList *in = NULL, *out = NULL;
        uint64_t low = g_rand_int_range(r, 0, UNIVERSE);
        uint64_t high = g_rand_int_range(r, low, UNIVERSE);
        /* Inputs may overlap: built unmerged. */
        int n = g_rand_int_range(r, 0, 12);

        for (int k = 0; k < n; k++) {
            uint64_t lob = g_rand_int_range(r, 0, UNIVERSE);
            uint64_t len = g_rand_int_range(r, 0, 40);
            uint64_t upb = MIN(lob + len, UNIVERSE - 1);

            for (uint64_t i = lob; i <= upb; i++) {
                covered[i] = true;
            }
            in = range_list_insert_full(in, new_range(lob, upb), RANGE_LIST_MERGE_NONE);
        }
        for (uint64_t i = low; i <= high; i++) {
            expect[i] = !covered[i];
        }
        range_inverse_array(in, &out, low, high);
        /* Holes must be the maximal runs of uncovered members. */
        check_list_vs_model(out, expect, RANGE_LIST_MERGE_ADJACENT);
        range_list_free(in);
        range_list_free(out);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/range/init-size-zero-is-empty", test_init_size_zero_is_empty);
    g_test_add_func("/util/range/init-refuses-wrap", test_init_refuses_wrap);
    g_test_add_func("/util/range/full-space-is-representable",
                    test_full_space_is_representable);
    g_test_add_func("/util/range/set-bounds-refuses-inverted",
                    test_set_bounds_refuses_inverted);
    g_test_add_func("/util/range/touching-ranges-do-not-overlap",
                    test_touching_ranges_do_not_overlap);
    g_test_add_func("/util/range/extend-takes-the-hull", test_extend_takes_the_hull);
    g_test_add_func("/util/range/contains-range", test_contains_range);
    g_test_add_func("/util/range/ranges-overlap-with-lengths",
                    test_ranges_overlap_with_lengths);
    g_test_add_func("/util/range/list/insert-merges-overlap-not-touch",
                    test_list_insert_merges_overlap_not_touch);
    g_test_add_func("/util/range/list/adjacent-mode-merges-touching",
                    test_list_insert_adjacent_mode_merges_touching);
    g_test_add_func("/util/range/list/none-mode-keeps-overlaps-stable",
                    test_list_insert_none_mode_keeps_overlaps);
    g_test_add_func("/util/range/list/overlapping-mode-random-vs-model",
                    test_list_insert_overlapping_random);
    g_test_add_func("/util/range/list/adjacent-mode-random-vs-model",
                    test_list_insert_adjacent_random);
    g_test_add_func("/util/range/inverse/gives-holes", test_inverse_gives_holes);
    g_test_add_func("/util/range/inverse/full-space-edges", test_inverse_full_space_edges);
    g_test_add_func("/util/range/inverse/random-vs-model", test_inverse_random_vs_model);
    return g_test_run();
}
