/*
 * Ranges of 64-bit addresses with inclusive bounds, and sorted lists of them.
 *
 * A Range holds its lowest and highest member (lob and upb, both inclusive),
 * so [0, UINT64_MAX] -- the whole 64-bit space -- is representable, which a
 * (start, size) pair cannot do.  The empty range is the one with lob > upb;
 * range_make_empty() writes the canonical one, lob = 1, upb = 0.
 *
 * Two units are used and the names say which:
 *   - "size" is a byte count (exclusive end: start + size);
 *   - "upb"/"last" is the last member (inclusive end).
 *
 * Sizes: the size of [0, UINT64_MAX] is 2^64, which does not fit in uint64_t;
 * range_size() returns 0 for it as well as for the empty range, so check
 * range_is_empty() or range_is_full() first where that matters.
 */
#ifndef QEMU_RANGE_H
#define QEMU_RANGE_H

typedef struct Range {
    uint64_t lob;       /* lowest member; lob > upb means empty */
    uint64_t upb;       /* highest member (inclusive) */
} Range;

static inline bool range_is_empty(const Range *range)
{
    return range->lob > range->upb;
}

/* Whether @range is the whole space [0, UINT64_MAX]. */
static inline bool range_is_full(const Range *range)
{
    return range->lob == 0 && range->upb == UINT64_MAX;
}

static inline void range_make_empty(Range *range)
{
    range->lob = 1;
    range->upb = 0;
}

/* The range [lob, upb]; empty when lob > upb. */
static inline Range range_make(uint64_t lob, uint64_t upb)
{
    Range r = { .lob = lob, .upb = upb };

    if (lob > upb) {
        range_make_empty(&r);
    }
    return r;
}

/*
 * Set @range to [lob, upb].  lob > upb is refused with -ERANGE and leaves the
 * range empty (use range_make_empty() to make an empty range on purpose).
 */
int range_set_bounds(Range *range, uint64_t lob, uint64_t upb);

/*
 * Set @range to [lob, lob + size - 1]: the @size bytes starting at @lob.
 * size 0 gives the empty range.  Returns 0, or -ERANGE (range left empty)
 * when the range would run past UINT64_MAX.
 */
int range_init(Range *range, uint64_t lob, uint64_t size);

/* range_init for arguments known to be valid: aborts on -ERANGE. */
void range_init_nofail(Range *range, uint64_t lob, uint64_t size);

/* Lowest/highest member; @range must not be empty. */
static inline uint64_t range_lob(const Range *range)
{
    assert(!range_is_empty(range));
    return range->lob;
}

static inline uint64_t range_upb(const Range *range)
{
    assert(!range_is_empty(range));
    return range->upb;
}

/*
 * Number of members: 0 for the empty range, and 0 (2^64 truncated) for the
 * full range -- see the header comment.
 */
static inline uint64_t range_size(const Range *range)
{
    return range_is_empty(range) ? 0 : range->upb - range->lob + 1;
}

static inline bool range_contains(const Range *range, uint64_t val)
{
    return val >= range->lob && val <= range->upb;
}

/* Whether every member of @inner is in @outer; the empty range is in all. */
static inline bool range_contains_range(const Range *outer, const Range *inner)
{
    return range_is_empty(inner) ||
           (inner->lob >= outer->lob && inner->upb <= outer->upb);
}

/* Whether the ranges share a member (never true with an empty range). */
static inline bool range_overlaps_range(const Range *a, const Range *b)
{
    if (range_is_empty(a) || range_is_empty(b)) {
        return false;
    }
    return a->lob <= b->upb && b->lob <= a->upb;
}

/*
 * Order for non-empty ranges: -1 if @a lies wholly below @b, 1 if wholly
 * above, 0 if they overlap.  Touching ranges ([0,4] and [5,9]) do not
 * overlap.
 */
static inline int range_compare(const Range *a, const Range *b)
{
    assert(!range_is_empty(a) && !range_is_empty(b));
    if (a->upb < b->lob) {
        return -1;
    }
    if (a->lob > b->upb) {
        return 1;
    }
    return 0;
}

/*
 * Grow @range to the smallest range holding both it and @extend_by (the
 * hull: any gap between them is included).  An empty @extend_by changes
 * nothing; an empty @range becomes @extend_by.
 */
static inline void range_extend(Range *range, const Range *extend_by)
{
    if (range_is_empty(extend_by)) {
        return;
    }
    if (range_is_empty(range)) {
        *range = *extend_by;
        return;
    }
    range->lob = MIN(range->lob, extend_by->lob);
    range->upb = MAX(range->upb, extend_by->upb);
}

/*
 * Whether [first1, first1 + len1) and [first2, first2 + len2) overlap, for
 * (start, byte count) pairs; a zero length overlaps nothing.  Ranges that
 * would run past UINT64_MAX are taken to stop there.
 */
static inline bool ranges_overlap(uint64_t first1, uint64_t len1,
                                  uint64_t first2, uint64_t len2)
{
    uint64_t last1, last2;

    if (!len1 || !len2) {
        return false;
    }
    last1 = first1 + len1 - 1 < first1 ? UINT64_MAX : first1 + len1 - 1;
    last2 = first2 + len2 - 1 < first2 ? UINT64_MAX : first2 + len2 - 1;
    return first1 <= last2 && first2 <= last1;
}

/*
 * Sorted range lists: a GList whose data are g_malloc'ed Range objects
 * (never empty), in increasing order of lob.  The list owns the Ranges:
 * free with range_list_free().
 */

/* What range_list_insert_full merges into the new element. */
typedef enum RangeListMerge {
    /*
     * Nothing: the new range is inserted before the first element with a
     * greater lob (after elements with the same lob), and overlapping
     * elements stay separate.
     */
    RANGE_LIST_MERGE_NONE,
    /*
     * Elements sharing at least one member with the new range (and, in a
     * chain, with the merged result) become one element, their hull.
     * Touching elements ([0,4] and [5,9]) stay separate.  This is
     * range_list_insert().
     */
    RANGE_LIST_MERGE_OVERLAPPING,
    /*
     * As RANGE_LIST_MERGE_OVERLAPPING, and elements that touch the result
     * (upb + 1 == lob on either side) are merged too.
     */
    RANGE_LIST_MERGE_ADJACENT,
} RangeListMerge;

/*
 * Insert @data (g_malloc'ed, not empty, ownership passes to the list) into
 * the sorted @list, merging as @how says, and return the new list head.
 * A merge frees @data and every element absorbed; the surviving element is
 * the first one that overlapped (or touched) @data.
 *
 * For the merging modes, the result has no two elements that overlap (or,
 * for RANGE_LIST_MERGE_ADJACENT, touch) provided @list had none before.
 */
GList *range_list_insert_full(GList *list, Range *data, RangeListMerge how);

/*
 * range_list_insert_full(list, data, RANGE_LIST_MERGE_OVERLAPPING), which is
 * what QEMU's range_list_insert does: overlapping ranges merge, ranges that
 * merely touch do not.
 */
GList *range_list_insert(GList *list, Range *data);

/* Free a range list and its Ranges. */
void range_list_free(GList *list);

/*
 * range_inverse_array:
 * @in_ranges: sorted range list (by lob; overlapping elements are fine)
 * @out_ranges: where the holes go
 * @low, @high: the span to invert, inclusive
 *
 * Compute the members of [low, high] covered by no range of @in_ranges, as
 * maximal ranges in increasing order, and insert them into the sorted list
 * *@out_ranges (normally NULL on entry) without merging.  Nothing is added
 * when low > high or the span is fully covered.  Used to turn a device's
 * reserved IOVA regions into the usable windows around them.
 */
void range_inverse_array(GList *in_ranges, GList **out_ranges,
                         uint64_t low, uint64_t high);

#endif /* QEMU_RANGE_H */
