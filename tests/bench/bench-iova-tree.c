/*
 * IOVA tree against the classic structure for DMA mappings: an array sorted
 * by IOVA, kept sorted by memmove on insert and remove, binary search for
 * lookups, first-fit allocation by a linear scan.  For lookups by
 * translated address the baseline gets a second array sorted by that
 * address, built once with qsort (maintaining it with memmove as well would
 * make even ascending inserts quadratic).  The tree maintains both of its
 * indexes on every insert and remove.  Both are measured in the same run.
 *
 * Mappings are 4 KiB pages at IOVA i * 8 KiB (a free page between any two),
 * translated to host addresses in a shuffled order.  Each figure is the
 * median over RUNS runs.  Operations whose baseline is O(n) per operation
 * are measured on fewer operations; the "ops" column says how many.
 */
#include "qemu/osdep.h"
#include "qemu/iova-tree.h"

#include <time.h>

#define N_MAPS          (1u << 20)
#define RUNS            3
#define PAGE            0x1000ULL
#define IOVA_STRIDE     0x2000ULL
#define N_LOOKUPS       (1u << 18)

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: fast, and a fixed seed makes every run the same. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_seed(uint64_t seed)
{
    rng_state = seed ? seed : 1;
}

/* ------------------------------------------------------------------------ */
/* The baseline: a sorted array (plus a lookup-only copy by translated address) */

typedef struct SortedArrays {
    DMAMap *by_iova;        /* maintained on insert/remove */
    DMAMap *by_xlat;        /* built by sa_index_xlat, for lookups only */
    size_t n;
    size_t cap;
} SortedArrays;

static void sa_init(SortedArrays *a, size_t cap)
{
    a->by_iova = g_new(DMAMap, cap);
    a->by_xlat = NULL;
    a->n = 0;
    a->cap = cap;
}

static int cmp_xlat(const void *a, const void *b)
{
    const DMAMap *x = a, *y = b;

    return x->translated_addr < y->translated_addr ? -1
         : x->translated_addr > y->translated_addr;
}

static void sa_index_xlat(SortedArrays *a)
{
    g_free(a->by_xlat);
    a->by_xlat = g_new(DMAMap, a->n);
    memcpy(a->by_xlat, a->by_iova, a->n * sizeof(DMAMap));
    qsort(a->by_xlat, a->n, sizeof(DMAMap), cmp_xlat);
}

static void sa_destroy(SortedArrays *a)
{
    g_free(a->by_iova);
    g_free(a->by_xlat);
}

/* Index of the first element whose key is > @key. */
static size_t sa_upper(const DMAMap *v, size_t n, uint64_t key, bool xlat)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k = xlat ? v[mid].translated_addr : v[mid].iova;

        if (k <= key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void sa_insert_at(DMAMap *v, size_t n, size_t pos, const DMAMap *m)
{
    memmove(&v[pos + 1], &v[pos], (n - pos) * sizeof(*v));
    v[pos] = *m;
}

static int sa_insert(SortedArrays *a, const DMAMap *m)
{
    size_t pos = sa_upper(a->by_iova, a->n, m->iova, false);

    if ((pos > 0 && a->by_iova[pos - 1].iova + a->by_iova[pos - 1].size >= m->iova) ||
        (pos < a->n && a->by_iova[pos].iova <= m->iova + m->size)) {
        return IOVA_ERR_OVERLAP;
    }
    g_assert(a->n < a->cap);
    sa_insert_at(a->by_iova, a->n, pos, m);
    a->n++;
    return IOVA_OK;
}

static const DMAMap *sa_find(const DMAMap *v, size_t n, uint64_t addr, bool xlat)
{
    size_t pos = sa_upper(v, n, addr, xlat);
    const DMAMap *m;

    if (!pos) {
        return NULL;
    }
    m = &v[pos - 1];
    return (xlat ? m->translated_addr : m->iova) + m->size >= addr ? m : NULL;
}

static void sa_remove(SortedArrays *a, uint64_t iova)
{
    const DMAMap *m = sa_find(a->by_iova, a->n, iova, false);
    size_t pi;

    g_assert(m);
    pi = m - a->by_iova;
    memmove(&a->by_iova[pi], &a->by_iova[pi + 1], (a->n - pi - 1) * sizeof(DMAMap));
    a->n--;
}

/* First fit by scanning, as an allocator without gap bookkeeping must. */
static int sa_alloc(SortedArrays *a, DMAMap *m, uint64_t begin, uint64_t last)
{
    uint64_t cursor = begin;

    for (size_t i = 0; i < a->n; i++) {
        const DMAMap *e = &a->by_iova[i];

        if (e->iova + e->size < cursor) {
            continue;
        }
        if (e->iova > cursor && e->iova - cursor > m->size) {
            break;
        }
        cursor = e->iova + e->size + 1;
    }
    if (cursor > last || last - cursor < m->size) {
        return IOVA_ERR_NOMEM;
    }
    m->iova = cursor;
    return sa_insert(a, m);
}

/* ------------------------------------------------------------------------ */
/* Workload */

/* Mapping number @i: IOVA by position, host address shuffled by @perm. */
static DMAMap mapping(const uint32_t *perm, uint32_t i)
{
    return (DMAMap){
        .iova = (uint64_t)i * IOVA_STRIDE,
        .translated_addr = 0x7f0000000000ULL + (uint64_t)perm[i] * PAGE,
        .size = PAGE - 1,
        .perm = 3,
    };
}

static uint32_t *shuffled(uint32_t n, uint64_t seed)
{
    uint32_t *p = g_new(uint32_t, n);

    rng_seed(seed);
    for (uint32_t i = 0; i < n; i++) {
        p[i] = i;
    }
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = rng_next() % (i + 1);
        uint32_t t = p[i];

        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

static uint32_t *xlat_perm;     /* host page of mapping i */

typedef struct Result {
    double ops_per_s[RUNS];
} Result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(Result *r)
{
    qsort(r->ops_per_s, RUNS, sizeof(double), cmp_double);
    return r->ops_per_s[RUNS / 2];
}

static double rate(uint64_t ops, uint64_t t0)
{
    uint64_t dt = now_ns() - t0;

    return ops * 1e9 / (dt ? dt : 1);
}

static void build_tree(IOVATree *t, uint32_t n, const uint32_t *order)
{
    for (uint32_t k = 0; k < n; k++) {
        DMAMap m = mapping(xlat_perm, order ? order[k] : k);

        if (iova_tree_insert(t, &m) != IOVA_OK) {
            g_error("tree insert failed");
        }
    }
}

static void build_arrays(SortedArrays *a, uint32_t n, const uint32_t *order)
{
    for (uint32_t k = 0; k < n; k++) {
        DMAMap m = mapping(xlat_perm, order ? order[k] : k);

        if (sa_insert(a, &m) != IOVA_OK) {
            g_error("array insert failed");
        }
    }
}

/*
 * Insert @n mappings (ascending, or in @order), timed from empty.  The tree
 * is returned through @keep when non-NULL (saves building it again).
 */
static double run_insert_tree(uint32_t n, const uint32_t *order, IOVATree **keep)
{
    IOVATree *t = iova_tree_new();
    uint64_t t0 = now_ns();
    double r;

    build_tree(t, n, order);
    r = rate(n, t0);
    if (keep) {
        iova_tree_destroy(*keep);
        *keep = t;
    } else {
        iova_tree_destroy(t);
    }
    return r;
}

static double run_insert_array(uint32_t n, const uint32_t *order)
{
    SortedArrays a;
    uint64_t t0;
    double r;

    sa_init(&a, n);
    t0 = now_ns();
    build_arrays(&a, n, order);
    r = rate(n, t0);
    sa_destroy(&a);
    return r;
}

/*
 * Operations on a full structure (N_MAPS mappings).  @k is the number of
 * operations; the k random pages are taken from the free pages between
 * mappings (for insert) or from the mappings (for remove).
 */
typedef enum {
    OP_INSERT_INTO_FULL,
    OP_REMOVE_FROM_FULL,
    OP_FIND_BY_IOVA,
    OP_FIND_BY_XLAT,
    OP_ALLOC_FRAGMENTED,
} FullOp;

static DMAMap extra_mapping(uint32_t j)
{
    /* The free page above mapping j, translated beyond all others. */
    return (DMAMap){
        .iova = (uint64_t)j * IOVA_STRIDE + PAGE,
        .translated_addr = 0x7f0000000000ULL + ((uint64_t)N_MAPS + j) * PAGE,
        .size = PAGE - 1,
        .perm = 3,
    };
}

static double run_full_tree(IOVATree *t, FullOp op, uint32_t k, uint64_t seed)
{
    g_autofree uint32_t *pick = g_new(uint32_t, k);
    volatile uint64_t sink = 0;
    uint64_t t0;
    double r;

    rng_seed(seed);
    for (uint32_t i = 0; i < k; i++) {
        pick[i] = rng_next() % N_MAPS;
    }
    t0 = now_ns();
    switch (op) {
    case OP_INSERT_INTO_FULL:
        for (uint32_t i = 0; i < k; i++) {
            DMAMap m = extra_mapping(pick[i]);

            sink += iova_tree_insert(t, &m);
        }
        r = rate(k, t0);
        for (uint32_t i = 0; i < k; i++) {
            iova_tree_remove(t, extra_mapping(pick[i]));
        }
        return r;
    case OP_REMOVE_FROM_FULL:
        for (uint32_t i = 0; i < k; i++) {
            sink += iova_tree_remove(t, mapping(xlat_perm, pick[i]));
        }
        r = rate(k, t0);
        for (uint32_t i = 0; i < k; i++) {
            DMAMap m = mapping(xlat_perm, pick[i]);

            iova_tree_insert(t, &m);
        }
        return r;
    case OP_FIND_BY_IOVA:
        for (uint32_t i = 0; i < k; i++) {
            const DMAMap *m = iova_tree_find_address(t, (uint64_t)pick[i] * IOVA_STRIDE + 5);

            sink += m->translated_addr;
        }
        return rate(k, t0);
    case OP_FIND_BY_XLAT:
        for (uint32_t i = 0; i < k; i++) {
            DMAMap q = {
                .translated_addr = 0x7f0000000000ULL + (uint64_t)pick[i] * PAGE + 7,
            };

            sink += iova_tree_find_iova(t, &q)->iova;
        }
        return rate(k, t0);
    case OP_ALLOC_FRAGMENTED: {
        /* 8 KiB fits in none of the 4 KiB holes: only above the last map. */
        g_autofree uint64_t *got = g_new(uint64_t, k);

        for (uint32_t i = 0; i < k; i++) {
            DMAMap m = { .translated_addr = i * 2 * PAGE, .size = 2 * PAGE - 1, .perm = 3 };

            if (iova_tree_alloc_map(t, &m, 0, UINT64_MAX) != IOVA_OK) {
                g_error("tree alloc failed");
            }
            got[i] = m.iova;
        }
        r = rate(k, t0);
        for (uint32_t i = 0; i < k; i++) {
            iova_tree_remove(t, (DMAMap){ .iova = got[i] });
        }
        return r;
    }
    }
    g_assert_not_reached();
}

static double run_full_array(SortedArrays *a, FullOp op, uint32_t k, uint64_t seed)
{
    g_autofree uint32_t *pick = g_new(uint32_t, k);
    volatile uint64_t sink = 0;
    uint64_t t0;
    double r;

    rng_seed(seed);
    for (uint32_t i = 0; i < k; i++) {
        pick[i] = rng_next() % N_MAPS;
    }
    t0 = now_ns();
    switch (op) {
    case OP_INSERT_INTO_FULL:
        for (uint32_t i = 0; i < k; i++) {
            DMAMap m = extra_mapping(pick[i]);

            sink += sa_insert(a, &m);
        }
        r = rate(k, t0);
        for (uint32_t i = 0; i < k; i++) {
            if (sa_find(a->by_iova, a->n, extra_mapping(pick[i]).iova, false)) {
                sa_remove(a, extra_mapping(pick[i]).iova);
            }
        }
        return r;
    case OP_REMOVE_FROM_FULL:
        for (uint32_t i = 0; i < k; i++) {
            uint64_t iova = (uint64_t)pick[i] * IOVA_STRIDE;

            if (sa_find(a->by_iova, a->n, iova, false)) {
                sa_remove(a, iova);
            }
        }
        r = rate(k, t0);
        for (uint32_t i = 0; i < k; i++) {
            DMAMap m = mapping(xlat_perm, pick[i]);

            sa_insert(a, &m);
        }
        return r;
    case OP_FIND_BY_IOVA:
        for (uint32_t i = 0; i < k; i++) {
            sink += sa_find(a->by_iova, a->n, (uint64_t)pick[i] * IOVA_STRIDE + 5,
                            false)->translated_addr;
        }
        return rate(k, t0);
    case OP_FIND_BY_XLAT:
        for (uint32_t i = 0; i < k; i++) {
            sink += sa_find(a->by_xlat, a->n,
                            0x7f0000000000ULL + (uint64_t)pick[i] * PAGE + 7, true)->iova;
        }
        return rate(k, t0);
    case OP_ALLOC_FRAGMENTED: {
        g_autofree uint64_t *got = g_new(uint64_t, k);

        for (uint32_t i = 0; i < k; i++) {
            DMAMap m = { .translated_addr = i * 2 * PAGE, .size = 2 * PAGE - 1, .perm = 3 };

            if (sa_alloc(a, &m, 0, UINT64_MAX) != IOVA_OK) {
                g_error("array alloc failed");
            }
            got[i] = m.iova;
        }
        r = rate(k, t0);
        for (uint32_t i = 0; i < k; i++) {
            sa_remove(a, got[i]);
        }
        return r;
    }
    }
    g_assert_not_reached();
}

static void print_row(const char *what, const char *n, uint32_t ops_array,
                      uint32_t ops_tree, double array, double tree)
{
    g_autofree char *ops = ops_array == ops_tree
        ? g_strdup_printf("%u", ops_tree)
        : g_strdup_printf("%u/%u", ops_array, ops_tree);

    if (array > 0) {
        printf("%-34s %5s %13s %14.0f %14.0f %9.2fx\n", what, n, ops, array, tree,
               tree / array);
    } else {
        printf("%-34s %5s %13s %14s %14.0f %10s\n", what, n, ops, "-", tree, "-");
    }
    fflush(stdout);
}

static void bench_insert(const char *what, const char *nname, uint32_t n,
                         const uint32_t *order, bool with_array, IOVATree **keep)
{
    Result ra = { { 0 } }, rt = { { 0 } };

    for (int run = 0; run < RUNS; run++) {
        if (with_array) {
            ra.ops_per_s[run] = run_insert_array(n, order);
        }
        rt.ops_per_s[run] = run_insert_tree(n, order, keep);
    }
    print_row(what, nname, n, n, with_array ? median(&ra) : 0, median(&rt));
}

static void bench_full(const char *what, FullOp op, IOVATree *t, SortedArrays *a,
                       uint32_t k_array, uint32_t k_tree)
{
    Result ra, rt;

    for (int run = 0; run < RUNS; run++) {
        ra.ops_per_s[run] = run_full_array(a, op, k_array, 1000 + run);
        rt.ops_per_s[run] = run_full_tree(t, op, k_tree, 1000 + run);
    }
    print_row(what, "1M", k_array, k_tree, median(&ra), median(&rt));
}

int main(int argc, char **argv)
{
    uint64_t start = now_ns();
    g_autofree uint32_t *small_order = NULL;
    IOVATree *tree = NULL;
    SortedArrays arrays;

    xlat_perm = shuffled(N_MAPS, 1);
    /* A random order of the first 16Ki mappings. */
    small_order = shuffled(16384, 3);

    printf("bench-iova-tree: %u mappings of 4 KiB; baseline = array sorted by IOVA\n"
           "(memmove insert/remove, binary search, linear first fit; a qsorted copy by\n"
           "translated address for reverse lookups); median of %d runs;\n"
           "\"ops\" = operations timed per run (array/tree when they differ)\n\n",
           N_MAPS, RUNS);
    printf("%-34s %5s %13s %14s %14s %10s\n", "operation", "n", "ops",
           "array ops/s", "tree ops/s", "tree/array");

    /* The last tree built here is the full tree of the later rows. */
    bench_insert("insert, ascending IOVA", "1M", N_MAPS, NULL, true, &tree);
    /* Random order: memmove makes the array quadratic, so 16Ki mappings. */
    bench_insert("insert, random order", "16K", 16384, small_order, true, NULL);

    sa_init(&arrays, N_MAPS + 1000);
    build_arrays(&arrays, N_MAPS, NULL);
    sa_index_xlat(&arrays);

    bench_full("insert into full, random position", OP_INSERT_INTO_FULL, tree, &arrays,
               50, 50000);
    bench_full("remove from full, random mapping", OP_REMOVE_FROM_FULL, tree, &arrays,
               50, 50000);
    bench_full("lookup by IOVA (hit)", OP_FIND_BY_IOVA, tree, &arrays,
               N_LOOKUPS, N_LOOKUPS);
    bench_full("lookup by translated address", OP_FIND_BY_XLAT, tree, &arrays,
               N_LOOKUPS, N_LOOKUPS);
    bench_full("alloc 8 KiB, first fit, 1M holes", OP_ALLOC_FRAGMENTED, tree, &arrays,
               20, 50000);

    g_assert_cmpuint(iova_tree_nr_maps(tree), ==, N_MAPS);
    g_assert_cmpuint(arrays.n, ==, N_MAPS);
    iova_tree_destroy(tree);
    sa_destroy(&arrays);
    g_free(xlat_perm);
    printf("\ntotal %.1f s\n", (now_ns() - start) / 1e9);
    return 0;
}
