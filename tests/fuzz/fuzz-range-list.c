/*
 * Fuzz the sorted range lists and Range helpers of include/qemu/range.h
 * against a simple model.
 *
 * Input: one byte choosing the merge mode for the whole run (the header's
 * guarantees are stated for lists built with one mode), then operations of
 * one opcode byte plus operands (fuzz_addr() values, biased to collide):
 *   insert [lob, upb] or (lob, size) through range_init();
 *   range_inverse_array() over [low, high];
 *   the Range predicates on two ranges.
 * The model is an array kept sorted by the naive rule: absorb every element
 * that joins the growing hull until none does, then insert by lob.  After
 * every step the list must equal the model element by element.
 */
#include "fuzz.h"
#include "qemu/range.h"

#define MAX_OPS 256

enum {
    OP_INSERT_BOUNDS,
    OP_INSERT_SIZE,
    OP_INVERSE,
    OP_PREDICATES,
    OP_COUNT,
};

static bool model_touches(uint64_t upb, uint64_t lob)
{
    return upb != UINT64_MAX && upb + 1 == lob;
}

static bool model_joinable(const Range *a, const Range *b, RangeListMerge how)
{
    bool overlap = a->lob <= b->upb && b->lob <= a->upb;

    return overlap || (how == RANGE_LIST_MERGE_ADJACENT &&
                       (model_touches(a->upb, b->lob) || model_touches(b->upb, a->lob)));
}

static void model_insert(GArray *model, Range r, RangeListMerge how)
{
    guint i;

    if (how != RANGE_LIST_MERGE_NONE) {
        bool absorbed = true;

        while (absorbed) {
            absorbed = false;
            for (i = 0; i < model->len; i++) {
                Range *e = &g_array_index(model, Range, i);

                if (model_joinable(e, &r, how)) {
                    r.lob = MIN(r.lob, e->lob);
                    r.upb = MAX(r.upb, e->upb);
                    g_array_remove_index(model, i);
                    absorbed = true;
                    break;
                }
            }
        }
    }
    for (i = 0; i < model->len && g_array_index(model, Range, i).lob <= r.lob; i++) {
        /* stable: after equal lobs */
    }
    g_array_insert_val(model, i, r);
}

static void check_list(GList *list, GArray *model, RangeListMerge how)
{
    guint i = 0;

    for (GList *l = list; l; l = l->next, i++) {
        const Range *r = l->data;
        const Range *m;

        fuzz_check(i < model->len);
        m = &g_array_index(model, Range, i);
        fuzz_check(!range_is_empty(r));
        fuzz_check(r->lob == m->lob && r->upb == m->upb);
        if (l->next) {
            const Range *n = l->next->data;

            fuzz_check(r->lob <= n->lob);
            if (how != RANGE_LIST_MERGE_NONE) {
                fuzz_check(!range_overlaps_range(r, n));
            }
            if (how == RANGE_LIST_MERGE_ADJACENT) {
                fuzz_check(r->upb + 1 != n->lob);
            }
        }
    }
    fuzz_check(i == model->len);
}

/* The holes of [low, high] left by the (possibly overlapping) sorted @model. */
static GArray *model_inverse(GArray *model, uint64_t low, uint64_t high)
{
    GArray *holes = g_array_new(false, false, sizeof(Range));
    unsigned __int128 next = low;

    if (low > high) {
        return holes;
    }
    for (guint i = 0; i < model->len && next <= high; i++) {
        const Range *r = &g_array_index(model, Range, i);

        if (r->upb < next) {
            continue;
        }
        if (r->lob > high) {
            break;
        }
        if (r->lob > next) {
            Range h = { .lob = (uint64_t)next, .upb = r->lob - 1 };

            g_array_append_val(holes, h);
        }
        next = (unsigned __int128)r->upb + 1;
    }
    if (next <= high) {
        Range h = { .lob = (uint64_t)next, .upb = high };

        g_array_append_val(holes, h);
    }
    return holes;
}

static void check_inverse(GList *list, GArray *model, uint64_t low, uint64_t high)
{
    GList *out = NULL;
    g_autoptr(GArray) holes = model_inverse(model, low, high);

    range_inverse_array(list, &out, low, high);
    check_list(out, holes, RANGE_LIST_MERGE_ADJACENT);
    range_list_free(out);
}

static void check_predicates(Range a, Range b, uint64_t first1, uint64_t len1,
                             uint64_t first2, uint64_t len2)
{
    bool a_empty = a.lob > a.upb, b_empty = b.lob > b.upb;
    unsigned __int128 last1 = (unsigned __int128)first1 + len1 - 1;
    unsigned __int128 last2 = (unsigned __int128)first2 + len2 - 1;
    Range hull = a;

    fuzz_check(range_is_empty(&a) == a_empty);
    fuzz_check(range_size(&a) == (a_empty ? 0 : a.upb - a.lob + 1));
    fuzz_check(range_overlaps_range(&a, &b) ==
               (!a_empty && !b_empty && a.lob <= b.upb && b.lob <= a.upb));
    fuzz_check(range_contains_range(&a, &b) ==
               (b_empty || (b.lob >= a.lob && b.upb <= a.upb)));
    if (!a_empty && !b_empty) {
        int want = a.upb < b.lob ? -1 : a.lob > b.upb ? 1 : 0;

        fuzz_check(range_compare(&a, &b) == want);
    }
    range_extend(&hull, &b);
    if (b_empty) {
        fuzz_check(hull.lob == a.lob && hull.upb == a.upb);
    } else if (a_empty) {
        fuzz_check(hull.lob == b.lob && hull.upb == b.upb);
    } else {
        fuzz_check(hull.lob == MIN(a.lob, b.lob) && hull.upb == MAX(a.upb, b.upb));
    }

    /* (start, length) pairs are clipped at UINT64_MAX. */
    last1 = MIN(last1, (unsigned __int128)UINT64_MAX);
    last2 = MIN(last2, (unsigned __int128)UINT64_MAX);
    fuzz_check(ranges_overlap(first1, len1, first2, len2) ==
               (len1 && len2 && first1 <= last2 && first2 <= last1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = fuzz_input(data, size);
    RangeListMerge how = fuzz_u8(&in) % 3;
    g_autoptr(GArray) model = g_array_new(false, false, sizeof(Range));
    GList *list = NULL;

    for (int op = 0; op < MAX_OPS && !fuzz_input_done(&in); op++) {
        switch (fuzz_u8(&in) % OP_COUNT) {
        case OP_INSERT_BOUNDS: {
            uint64_t lob = fuzz_addr(&in), upb = fuzz_addr(&in);
            Range *r = g_new(Range, 1);
            int ret = range_set_bounds(r, lob, upb);

            if (lob > upb) {
                fuzz_check(ret == -ERANGE && range_is_empty(r));
                g_free(r);
                break;
            }
            fuzz_check(ret == 0 && r->lob == lob && r->upb == upb);
            list = range_list_insert_full(list, r, how);
            model_insert(model, range_make(lob, upb), how);
            break;
        }
        case OP_INSERT_SIZE: {
            uint64_t lob = fuzz_addr(&in), sz = fuzz_addr(&in);
            Range *r = g_new(Range, 1);
            int ret = range_init(r, lob, sz);
            bool wraps = sz && (unsigned __int128)lob + sz - 1 > UINT64_MAX;

            fuzz_check(ret == (wraps ? -ERANGE : 0));
            if (wraps || !sz) {
                fuzz_check(range_is_empty(r));
                g_free(r);
                break;
            }
            fuzz_check(r->lob == lob && range_size(r) == sz);
            list = range_list_insert_full(list, r, how);
            model_insert(model, range_make(lob, lob + sz - 1), how);
            break;
        }
        case OP_INVERSE: {
            uint64_t low = fuzz_addr(&in), high = fuzz_addr(&in);

            check_inverse(list, model, low, high);
            break;
        }
        case OP_PREDICATES: {
            Range a = { .lob = fuzz_addr(&in), .upb = fuzz_addr(&in) };
            Range b = { .lob = fuzz_addr(&in), .upb = fuzz_addr(&in) };
            uint64_t f1 = fuzz_addr(&in), l1 = fuzz_addr(&in);
            uint64_t f2 = fuzz_addr(&in), l2 = fuzz_addr(&in);

            check_predicates(a, b, f1, l1, f2, l2);
            break;
        }
        }
        check_list(list, model, how);
    }
    range_list_free(list);
    return 0;
}
