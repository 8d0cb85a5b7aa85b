/*
 * Rendering a region tree into a FlatView, and looking things up in one.
 *
 * The visible leaf at an address is the first leaf, in rendering order,
 * whose clipped window covers it.  Rendering order is a depth-first walk
 * where a container's children come before the container's own content,
 * and children are visited highest priority first (the most recently added
 * first among equals); an alias walks its target's subtree shifted by the
 * alias offset and clipped to the alias window.
 *
 * Rather than inserting each leaf into the holes of a sorted array (which
 * costs a linear scan and a memmove per leaf, O(n^2) for n regions), the
 * renderer works in two passes:
 *   1. collect every enabled leaf's clipped window as a "piece" tagged with
 *      its rank in rendering order;
 *   2. sweep the pieces by start address with a min-heap on rank: at each
 *      point the lowest-ranked live piece is visible.
 * Sorting is linear (a radix sort, or nothing when the pieces arrive in
 * order, the common case); the sweep is O(n log k) for k overlapping
 * pieces, O(n) when nothing overlaps.  Adjacent output ranges that continue the same region with
 * the same attributes are merged, so the view is canonical: two trees
 * showing the same thing render to equal views, which is what makes the
 * listener diff exact.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "memory-internal.h"
#include "trace/trace-system.h"

/* A leaf's window, clipped by its ancestors and aliases. */
typedef struct RenderPiece {
    /* First address covered in the address space. */
    Int128 start;
    /* Address after the last one covered. */
    Int128 end;
    /* The leaf. */
    MemoryRegion *mr;
    /* Offset in @mr shown at @start. */
    hwaddr offset_in_region;
    /* memory_region_get_dirty_log_mask(mr), read once per render. */
    uint8_t dirty_log_mask;
    /* Read-only / non-volatile somewhere on the path from the root. */
    bool readonly;
    bool nonvolatile;
} RenderPiece;

/*
 * A piece's start as a sort key.  A piece ends at most at 2^64 and is not
 * empty, so its start always fits in 64 bits.
 */
typedef struct RenderKey {
    uint64_t start;
    uint32_t index;
} RenderKey;

/*
 * Scratch space reused across renders (the memory core is single-threaded),
 * so a rebuild of a large tree does not allocate per piece.
 */
typedef struct Renderer {
    /* Pieces in rendering order: the index is the rank. */
    RenderPiece *pieces;
    size_t nr_pieces;
    size_t cap_pieces;
    /* Piece indexes sorted by start. */
    uint32_t *order;
    /* Min-heap of piece indexes (by index, i.e. rank). */
    uint32_t *heap;
    /* Sort keys and the radix sort's second buffer. */
    RenderKey *keys;
    RenderKey *keys_tmp;
    size_t cap_index;
} Renderer;

static Renderer renderer;

static void render_push(Renderer *r, MemoryRegion *mr, Int128 start, Int128 end,
                        Int128 origin, bool readonly, bool nonvolatile)
{
    RenderPiece *p;

    if (r->nr_pieces == r->cap_pieces) {
        r->cap_pieces = MAX(64, r->cap_pieces * 2);
        r->pieces = g_renew(RenderPiece, r->pieces, r->cap_pieces);
    }
    p = &r->pieces[r->nr_pieces++];
    p->start = start;
    p->end = end;
    p->mr = mr;
    p->offset_in_region = int128_get64(int128_sub(start, origin));
    p->dirty_log_mask = memory_region_get_dirty_log_mask(mr);
    p->readonly = readonly;
    p->nonvolatile = nonvolatile;
}

/*
 * Collect the pieces of @mr, whose offset 0 sits at address @origin (which
 * may be negative or beyond 2^64 inside an alias), clipped to
 * [@clip_start, @clip_end).
 */
static void render_collect(Renderer *r, MemoryRegion *mr, Int128 origin, Int128 clip_start,
                           Int128 clip_end, bool readonly, bool nonvolatile)
{
    Int128 start, end;
    GList *l;

    if (!mr->enabled) {
        return;
    }
    readonly |= mr->readonly;
    nonvolatile |= mr->nonvolatile;
    start = int128_max(origin, clip_start);
    end = int128_min(int128_add(origin, mr->size), clip_end);
    if (int128_le(end, start)) {
        return;
    }
    if (mr->alias) {
        render_collect(r, mr->alias, int128_sub(origin, int128_make64(mr->alias_offset)),
                       start, end, readonly, nonvolatile);
        return;
    }
    for (l = mr->subregions.head; l; l = l->next) {
        MemoryRegion *sub = l->data;

        render_collect(r, sub, int128_add(origin, int128_make64(sub->addr)), start, end,
                       readonly, nonvolatile);
    }
    if (mr->terminates) {
        render_push(r, mr, start, end, origin, readonly, nonvolatile);
    }
}

/*
 * Fill r->order with piece indexes sorted by start, ties in rank order.
 * Pieces usually arrive sorted, or reverse-sorted (equal-priority siblings
 * are stored newest first, and machines add them in address order): both
 * are detected in one pass.  Otherwise an LSD radix sort on the 64-bit
 * starts, one byte per pass, skipping bytes that are equal in every key
 * (most high bytes): stable, so ties keep their rank order, and much
 * cheaper than a comparison sort over an index array.
 */
static void render_sort(Renderer *r)
{
    size_t n = r->nr_pieces, i;
    bool ascending = true, descending = true;
    unsigned shift;

    for (i = 1; i < n; i++) {
        Int128 prev = r->pieces[i - 1].start, cur = r->pieces[i].start;

        ascending &= int128_le(prev, cur);
        descending &= int128_gt(prev, cur);
    }
    if (ascending || descending) {
        for (i = 0; i < n; i++) {
            r->order[i] = descending ? n - 1 - i : i;
        }
        return;
    }

    for (i = 0; i < n; i++) {
        r->keys[i] = (RenderKey) { int128_get64(r->pieces[i].start), i };
    }
    for (shift = 0; shift < 64; shift += 8) {
        size_t count[256] = { 0 }, pos = 0;
        RenderKey *swap;
        unsigned b;

        for (i = 0; i < n; i++) {
            count[(r->keys[i].start >> shift) & 0xff]++;
        }
        if (count[(r->keys[0].start >> shift) & 0xff] == n) {
            continue;
        }
        for (b = 0; b < 256; b++) {
            size_t c = count[b];

            count[b] = pos;
            pos += c;
        }
        for (i = 0; i < n; i++) {
            r->keys_tmp[count[(r->keys[i].start >> shift) & 0xff]++] = r->keys[i];
        }
        swap = r->keys;
        r->keys = r->keys_tmp;
        r->keys_tmp = swap;
    }
    for (i = 0; i < n; i++) {
        r->order[i] = r->keys[i].index;
    }
}

static void heap_push(uint32_t *heap, size_t *n, uint32_t v)
{
    size_t i = (*n)++;

    while (i > 0 && heap[(i - 1) / 2] > v) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = v;
}

static void heap_pop(uint32_t *heap, size_t *n)
{
    uint32_t v = heap[--(*n)];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= *n) {
            break;
        }
        if (c + 1 < *n && heap[c + 1] < heap[c]) {
            c++;
        }
        if (heap[c] >= v) {
            break;
        }
        heap[i] = heap[c];
        i = c;
    }
    if (*n) {
        heap[i] = v;
    }
}

static bool flatrange_can_merge(const FlatRange *a, const FlatRange *b)
{
    return a->mr == b->mr &&
           int128_eq(int128_add(a->start, a->size), b->start) &&
           int128_eq(int128_add(int128_make64(a->offset_in_region), a->size),
                     int128_make64(b->offset_in_region)) &&
           a->dirty_log_mask == b->dirty_log_mask && a->readonly == b->readonly &&
           a->nonvolatile == b->nonvolatile;
}

static void flatview_emit(FlatView *fv, const RenderPiece *p, Int128 start, Int128 end)
{
    FlatRange fr = {
        .mr = p->mr,
        .offset_in_region = p->offset_in_region + int128_get64(int128_sub(start, p->start)),
        .start = start,
        .size = int128_sub(end, start),
        .dirty_log_mask = p->dirty_log_mask,
        .readonly = p->readonly,
        .nonvolatile = p->nonvolatile,
    };

    if (fv->nr && flatrange_can_merge(&fv->ranges[fv->nr - 1], &fr)) {
        int128_addto(&fv->ranges[fv->nr - 1].size, fr.size);
        return;
    }
    if (fv->nr == fv->nr_allocated) {
        fv->nr_allocated = MAX(8, fv->nr_allocated * 2);
        fv->ranges = g_renew(FlatRange, fv->ranges, fv->nr_allocated);
    }
    fv->ranges[fv->nr++] = fr;
}

/* Pass 2: the sweep described at the top of the file. */
static void render_sweep(Renderer *r, FlatView *fv)
{
    size_t n = r->nr_pieces, next = 0, heap_n = 0;
    Int128 pos = int128_zero();

    if (r->cap_index < n) {
        r->cap_index = MAX(n, r->cap_index * 2);
        r->order = g_renew(uint32_t, r->order, r->cap_index);
        r->heap = g_renew(uint32_t, r->heap, r->cap_index);
        r->keys = g_renew(RenderKey, r->keys, r->cap_index);
        r->keys_tmp = g_renew(RenderKey, r->keys_tmp, r->cap_index);
    }
    render_sort(r);

    while (next < n || heap_n) {
        const RenderPiece *top;
        Int128 seg_end;

        if (!heap_n) {
            pos = r->pieces[r->order[next]].start;
        }
        while (next < n && int128_le(r->pieces[r->order[next]].start, pos)) {
            heap_push(r->heap, &heap_n, r->order[next++]);
        }
        /* Drop pieces that ended; hidden ones that ended surface later. */
        while (heap_n && int128_le(r->pieces[r->heap[0]].end, pos)) {
            heap_pop(r->heap, &heap_n);
        }
        if (!heap_n) {
            continue;
        }
        top = &r->pieces[r->heap[0]];
        seg_end = top->end;
        if (next < n) {
            seg_end = int128_min(seg_end, r->pieces[r->order[next]].start);
        }
        flatview_emit(fv, top, pos, seg_end);
        pos = seg_end;
    }
}

FlatView *flatview_render(MemoryRegion *root)
{
    FlatView *fv = g_new0(FlatView, 1);
    unsigned i;

    fv->ref = 1;
    fv->root = root;
    memory_region_ref(root);
    if (root) {
        renderer.nr_pieces = 0;
        render_collect(&renderer, root, int128_zero(), int128_zero(), int128_2_64(), false,
                       false);
        render_sweep(&renderer, fv);
        trace_memory_flatview_render(root->name, (unsigned)renderer.nr_pieces, fv->nr);
    }
    for (i = 0; i < fv->nr; i++) {
        memory_region_ref(fv->ranges[i].mr);
    }
    return fv;
}

void flatview_ref(FlatView *fv)
{
    fv->ref++;
}

void flatview_unref(FlatView *fv)
{
    unsigned i;

    if (!fv) {
        return;
    }
    assert(fv->ref > 0);
    if (--fv->ref) {
        return;
    }
    /* Dropping these references may finalise regions; fv is already unreachable. */
    for (i = 0; i < fv->nr; i++) {
        memory_region_unref(fv->ranges[i].mr);
    }
    memory_region_unref(fv->root);
    g_free(fv->ranges);
    g_free(fv);
}

FlatView *address_space_get_flatview(AddressSpace *as)
{
    flatview_ref(as->current_map);
    return as->current_map;
}

void flatview_for_each_range(FlatView *fv, flatview_cb cb, void *opaque)
{
    unsigned i;

    for (i = 0; i < fv->nr; i++) {
        const FlatRange *fr = &fv->ranges[i];

        if (cb(fr->start, fr->size, fr->mr, fr->offset_in_region, opaque)) {
            break;
        }
    }
}

MemoryRegionSection flatview_section(FlatView *fv, const FlatRange *fr)
{
    return (MemoryRegionSection) {
        .size = fr->size,
        .mr = fr->mr,
        .fv = fv,
        .offset_within_region = fr->offset_in_region,
        .offset_within_address_space = int128_get64(fr->start),
        .readonly = fr->readonly,
        .nonvolatile = fr->nonvolatile,
    };
}

const FlatRange *flatview_lookup(const FlatView *fv, hwaddr addr, const FlatRange **next)
{
    unsigned lo = 0, hi = fv->nr;
    Int128 a = int128_make64(addr);

    /* Find the first range starting after @addr; the one before may hold it. */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (int128_le(fv->ranges[mid].start, a)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (next) {
        *next = lo < fv->nr ? &fv->ranges[lo] : NULL;
    }
    if (lo > 0) {
        const FlatRange *fr = &fv->ranges[lo - 1];

        if (int128_lt(a, int128_add(fr->start, fr->size))) {
            return fr;
        }
    }
    return NULL;
}

/* The address space whose root is the top of @mr's container chain, or NULL. */
static AddressSpace *memory_region_to_address_space(MemoryRegion *root)
{
    GList *l;

    for (l = memory_address_spaces.head; l; l = l->next) {
        AddressSpace *as = l->data;

        if (as->root == root) {
            return as;
        }
    }
    return NULL;
}

MemoryRegionSection memory_region_find(MemoryRegion *mr, hwaddr addr, uint64_t size)
{
    MemoryRegionSection ret = { .mr = NULL };
    Int128 start = int128_make64(addr), end;
    const FlatRange *fr, *next;
    MemoryRegion *root = mr;
    AddressSpace *as;
    FlatView *fv;

    while (root->container) {
        int128_addto(&start, int128_make64(root->addr));
        root = root->container;
    }
    as = memory_region_to_address_space(root);
    if (!as || !size || int128_ge(start, int128_2_64())) {
        return ret;
    }
    end = int128_min(int128_add(start, int128_make64(size)), int128_2_64());
    fv = as->current_map;
    fr = flatview_lookup(fv, int128_get64(start), &next);
    if (!fr) {
        /* Nothing at @start: the first range beginning inside the window, if any. */
        if (!next || int128_ge(next->start, end)) {
            return ret;
        }
        fr = next;
    }
    start = int128_max(start, fr->start);
    end = int128_min(end, int128_add(fr->start, fr->size));
    ret = flatview_section(fv, fr);
    ret.offset_within_region += int128_get64(int128_sub(start, fr->start));
    ret.offset_within_address_space = int128_get64(start);
    ret.size = int128_sub(end, start);
    memory_region_ref(ret.mr);
    return ret;
}

MemoryRegionSection *memory_region_section_new_copy(MemoryRegionSection *s)
{
    MemoryRegionSection *copy = g_memdup2(s, sizeof(*s));

    memory_region_ref(copy->mr);
    if (copy->fv) {
        flatview_ref(copy->fv);
    }
    return copy;
}

void memory_region_section_free_copy(MemoryRegionSection *s)
{
    if (!s) {
        return;
    }
    if (s->fv) {
        flatview_unref(s->fv);
    }
    memory_region_unref(s->mr);
    g_free(s);
}
