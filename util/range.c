/*
 * Inclusive 64-bit ranges and sorted range lists (see include/qemu/range.h).
 */
#include "qemu/osdep.h"
#include "qemu/range.h"

int range_set_bounds(Range *range, uint64_t lob, uint64_t upb)
{
    if (lob > upb) {
        range_make_empty(range);
        return -ERANGE;
    }
    range->lob = lob;
    range->upb = upb;
    return 0;
}

int range_init(Range *range, uint64_t lob, uint64_t size)
{
    if (!size) {
        range_make_empty(range);
        return 0;
    }
    /* The last member is lob + size - 1; it must not wrap past 2^64 - 1. */
    if (size - 1 > UINT64_MAX - lob) {
        range_make_empty(range);
        return -ERANGE;
    }
    range->lob = lob;
    range->upb = lob + (size - 1);
    return 0;
}

void range_init_nofail(Range *range, uint64_t lob, uint64_t size)
{
    int ret = range_init(range, lob, size);

    assert(ret == 0);
    (void)ret;
}

/* Whether the member after @upb is @lob: [.., upb] and [lob, ..] touch. */
static inline bool range_touches(uint64_t upb, uint64_t lob)
{
    return upb != UINT64_MAX && upb + 1 == lob;
}

/* Whether list element @elem and @r should become one under @how. */
static bool range_list_joinable(const Range *elem, const Range *r,
                                RangeListMerge how)
{
    if (range_overlaps_range(elem, r)) {
        return true;
    }
    return how == RANGE_LIST_MERGE_ADJACENT &&
           (range_touches(elem->upb, r->lob) || range_touches(r->upb, elem->lob));
}

GList *range_list_insert_full(GList *list, Range *data, RangeListMerge how)
{
    GList *l;
    Range *cur;

    assert(!range_is_empty(data));
    if (how == RANGE_LIST_MERGE_NONE) {
        /* After every element with the same lob: insertion is stable. */
        for (l = list; l && ((Range *)l->data)->lob <= data->lob; l = l->next) {
            /* skip */
        }
        return g_list_insert_before(list, l, data);
    }

    /* Skip the elements wholly below @data that it cannot join. */
    for (l = list; l; l = l->next) {
        cur = l->data;
        if (cur->upb >= data->lob || range_list_joinable(cur, data, how)) {
            break;
        }
    }
    if (!l || !range_list_joinable(l->data, data, how)) {
        /* Everything from @l on lies wholly above @data. */
        return g_list_insert_before(list, l, data);
    }

    cur = l->data;
    range_extend(cur, data);
    g_free(data);
    /* The hull may now reach elements further up: absorb them. */
    while (l->next && range_list_joinable(cur, l->next->data, how)) {
        GList *next = l->next;

        range_extend(cur, next->data);
        g_free(next->data);
        list = g_list_delete_link(list, next);
    }
    return list;
}

GList *range_list_insert(GList *list, Range *data)
{
    return range_list_insert_full(list, data, RANGE_LIST_MERGE_OVERLAPPING);
}

void range_list_free(GList *list)
{
    g_list_free_full(list, g_free);
}

static GList *range_inverse_add_hole(GList *out, uint64_t lob, uint64_t upb)
{
    Range *hole = g_new(Range, 1);

    hole->lob = lob;
    hole->upb = upb;
    return range_list_insert_full(out, hole, RANGE_LIST_MERGE_NONE);
}

void range_inverse_array(GList *in_ranges, GList **out_ranges,
                         uint64_t low, uint64_t high)
{
    /* Lowest member of [low, high] not yet known to be covered. */
    uint64_t next = low;
    GList *l;

    if (low > high) {
        return;
    }
    for (l = in_ranges; l; l = l->next) {
        const Range *r = l->data;

        if (range_is_empty(r) || r->upb < next) {
            continue;
        }
        if (r->lob > high) {
            break;
        }
        if (r->lob > next) {
            *out_ranges = range_inverse_add_hole(*out_ranges, next, r->lob - 1);
        }
        if (r->upb >= high) {
            return;     /* covered up to the end of the span */
        }
        next = r->upb + 1;
    }
    *out_ranges = range_inverse_add_hole(*out_ranges, next, high);
}
