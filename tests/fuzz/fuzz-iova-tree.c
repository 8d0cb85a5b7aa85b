/*
 * Fuzz the IOVA tree (include/qemu/iova-tree.h) against a simple model.
 *
 * Input: operations of one opcode byte plus operands (fuzz_addr() values,
 * biased so ranges collide, and reach the top of the 64-bit space):
 * insert, remove, the three lookups, bottom-up and top-down allocation, and
 * a foreach that stops early.  The model is an array of the mappings sorted
 * by IOVA, searched linearly; allocation in the model walks the free gaps
 * between the mappings in order and takes the first (bottom-up) or last
 * (top-down) that fits in the window.  After every step the tree must hold
 * exactly the model's mappings, in order.
 */
#include "fuzz.h"
#include "exec/memory.h"
#include "qemu/iova-tree.h"

#define MAX_OPS 256

enum {
    OP_INSERT,
    OP_REMOVE,
    OP_FIND,
    OP_FIND_ADDRESS,
    OP_FIND_IOVA,
    OP_ALLOC,
    OP_ALLOC_TOP_DOWN,
    OP_FOREACH_STOP,
    OP_COUNT,
};

/* Last address of [first, first + size], stopping at 2^64 - 1. */
static uint64_t last_of(uint64_t first, uint64_t size)
{
    return size > UINT64_MAX - first ? UINT64_MAX : first + size;
}

static bool overlaps(uint64_t a, uint64_t a_last, uint64_t b, uint64_t b_last)
{
    return a <= b_last && b <= a_last;
}

static bool map_equal(const DMAMap *a, const DMAMap *b)
{
    return a->iova == b->iova && a->translated_addr == b->translated_addr &&
           a->size == b->size && a->perm == b->perm;
}

/* Valid apart from the IOVA range: permissions and the translated range. */
static bool model_valid_except_iova(const DMAMap *m)
{
    return m->perm != IOMMU_NONE && !(m->perm & ~IOMMU_RW) &&
           m->size <= UINT64_MAX - m->translated_addr;
}

/* Index of the lowest-IOVA model mapping overlapping [first, last], or -1. */
static int model_find(GArray *model, uint64_t first, uint64_t last)
{
    for (guint i = 0; i < model->len; i++) {
        const DMAMap *m = &g_array_index(model, DMAMap, i);

        if (overlaps(m->iova, m->iova + m->size, first, last)) {
            return i;
        }
    }
    return -1;
}

static void model_add(GArray *model, const DMAMap *map)
{
    guint i;

    for (i = 0; i < model->len && g_array_index(model, DMAMap, i).iova < map->iova; i++) {
        /* find the slot */
    }
    g_array_insert_val(model, i, *map);
}

/*
 * What iova_tree_alloc_map(_top_down) must return, and the start it picks:
 * walk the free gaps between the sorted mappings, clipped to [begin, last],
 * and take the first that fits (or the last, top-down) at its low (high) end.
 */
static int model_alloc(GArray *model, const DMAMap *map, uint64_t begin, uint64_t last,
                       bool top_down, uint64_t *start)
{
    /* Signed and wide, so gaps can be empty (hi = lo - 1) and end at 2^64 - 1. */
    __int128 gap_lo = 0;            /* first free address after the previous mapping */
    bool found = false;

    if (!model_valid_except_iova(map) || begin > last) {
        return IOVA_ERR_INVALID;
    }
    if (map->size > last - begin) {
        return IOVA_ERR_NOMEM;
    }
    for (guint i = 0; i <= model->len; i++) {
        /* The gap [gap_lo, gap_hi]; after the last mapping it runs to 2^64 - 1. */
        __int128 gap_hi = i < model->len
            ? (__int128)g_array_index(model, DMAMap, i).iova - 1 : (__int128)UINT64_MAX;
        __int128 lo = MAX(gap_lo, (__int128)begin), hi = MIN(gap_hi, (__int128)last);

        if (i < model->len) {
            const DMAMap *m = &g_array_index(model, DMAMap, i);

            gap_lo = (__int128)m->iova + m->size + 1;
        }
        if (lo > hi || hi - lo < map->size) {
            continue;       /* empty or too small */
        }
        *start = top_down ? (uint64_t)(hi - map->size) : (uint64_t)lo;
        found = true;
        if (!top_down) {
            break;
        }
    }
    return found ? IOVA_OK : IOVA_ERR_NOMEM;
}

typedef struct Walk {
    GArray *model;
    guint seen;
    guint stop_after;   /* return true from the iterator on this call */
} Walk;

static bool walk_check(const DMAMap *map, void *opaque)
{
    Walk *w = opaque;

    fuzz_check(w->seen < w->model->len);
    fuzz_check(map_equal(map, &g_array_index(w->model, DMAMap, w->seen)));
    w->seen++;
    return w->seen == w->stop_after;
}

static void check_tree(IOVATree *tree, GArray *model)
{
    Walk w = { .model = model, .stop_after = 0 };

    fuzz_check(iova_tree_nr_maps(tree) == model->len);
    iova_tree_foreach(tree, walk_check, &w);
    fuzz_check(w.seen == model->len);
}

static DMAMap decode_map(FuzzInput *in)
{
    return (DMAMap){
        .iova = fuzz_addr(in),
        .size = fuzz_addr(in),
        .translated_addr = fuzz_addr(in),
        .perm = fuzz_u8(in) % 5,        /* 1..3 valid; 0 and 4 not */
    };
}

static void check_found(const DMAMap *got, GArray *model, int want)
{
    if (want < 0) {
        fuzz_check(got == NULL);
    } else {
        fuzz_check(got != NULL);
        fuzz_check(map_equal(got, &g_array_index(model, DMAMap, want)));
    }
}

/* Lowest translated_addr (then IOVA) among mappings whose translated range overlaps. */
static int model_find_iova(GArray *model, uint64_t first, uint64_t last)
{
    int best = -1;

    for (guint i = 0; i < model->len; i++) {
        const DMAMap *m = &g_array_index(model, DMAMap, i);
        const DMAMap *b = best < 0 ? NULL : &g_array_index(model, DMAMap, best);

        if (!overlaps(m->translated_addr, m->translated_addr + m->size, first, last)) {
            continue;
        }
        if (!b || m->translated_addr < b->translated_addr ||
            (m->translated_addr == b->translated_addr && m->iova < b->iova)) {
            best = i;
        }
    }
    return best;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = fuzz_input(data, size);
    g_autoptr(IOVATree) tree = iova_tree_new();
    g_autoptr(GArray) model = g_array_new(false, false, sizeof(DMAMap));

    for (int op = 0; op < MAX_OPS && !fuzz_input_done(&in); op++) {
        uint8_t opcode = fuzz_u8(&in) % OP_COUNT;

        switch (opcode) {
        case OP_INSERT: {
            DMAMap map = decode_map(&in);
            int want;

            if (!model_valid_except_iova(&map) || map.size > UINT64_MAX - map.iova) {
                want = IOVA_ERR_INVALID;
            } else if (model_find(model, map.iova, map.iova + map.size) >= 0) {
                want = IOVA_ERR_OVERLAP;
            } else {
                want = IOVA_OK;
                model_add(model, &map);
            }
            fuzz_check(iova_tree_insert(tree, &map) == want);
            break;
        }
        case OP_REMOVE: {
            DMAMap map = { .iova = fuzz_addr(&in), .size = fuzz_addr(&in) };
            uint64_t last = last_of(map.iova, map.size);
            unsigned int want = 0;
            int i;

            while ((i = model_find(model, map.iova, last)) >= 0) {
                g_array_remove_index(model, i);
                want++;
            }
            fuzz_check(iova_tree_remove(tree, map) == want);
            break;
        }
        case OP_FIND: {
            DMAMap map = { .iova = fuzz_addr(&in), .size = fuzz_addr(&in) };

            check_found(iova_tree_find(tree, &map), model,
                        model_find(model, map.iova, last_of(map.iova, map.size)));
            break;
        }
        case OP_FIND_ADDRESS: {
            uint64_t iova = fuzz_addr(&in);

            check_found(iova_tree_find_address(tree, iova), model,
                        model_find(model, iova, iova));
            break;
        }
        case OP_FIND_IOVA: {
            DMAMap map = { .translated_addr = fuzz_addr(&in), .size = fuzz_addr(&in) };

            check_found(iova_tree_find_iova(tree, &map), model,
                        model_find_iova(model, map.translated_addr,
                                        last_of(map.translated_addr, map.size)));
            break;
        }
        case OP_ALLOC:
        case OP_ALLOC_TOP_DOWN: {
            bool top_down = opcode == OP_ALLOC_TOP_DOWN;
            DMAMap map = decode_map(&in);
            uint64_t begin = fuzz_addr(&in), last = fuzz_addr(&in);
            uint64_t old_iova = map.iova, start = 0;
            int want = model_alloc(model, &map, begin, last, top_down, &start);
            int ret = top_down ? iova_tree_alloc_map_top_down(tree, &map, begin, last)
                               : iova_tree_alloc_map(tree, &map, begin, last);

            fuzz_check(ret == want);
            if (want == IOVA_OK) {
                fuzz_check(map.iova == start);
                model_add(model, &map);
            } else {
                fuzz_check(map.iova == old_iova);
            }
            break;
        }
        case OP_FOREACH_STOP: {
            Walk w = { .model = model, .stop_after = fuzz_u8(&in) % 8 + 1 };

            iova_tree_foreach(tree, walk_check, &w);
            fuzz_check(w.seen == MIN(w.stop_after, model->len));
            break;
        }
        }
        check_tree(tree, model);
    }
    return 0;
}
