/*
 * Flat view rebuild and listener fan-out with 10k regions.
 *
 * The machine: 10,000 leaves (every other one RAM, the rest I/O) of 4 KiB,
 * 8 KiB apart, in the system memory container.  Measured:
 *
 *   build    all 10k added in one transaction (one rebuild, 10k region_add
 *            per listener);
 *   toggle   a sample of the leaves disabled then enabled again, each in
 *            its own transaction: every toggle is a full rebuild of a 10k
 *            range view plus a diff that reports 1 del or add and ~10k
 *            region_nop per listener;
 *   teardown all removed in one transaction.
 *
 * with 0, 1, 4 and 16 listeners that count their callbacks, the regions added
 * in address order; then with 0 and 16 listeners added in a shuffled order
 * (which defeats the renderer's already-sorted fast path).  Toggling all
 * 10k leaves would take 20k rebuilds (about a minute with 16 listeners), so
 * a fixed sample of 256 leaves spread over the range is toggled; the
 * per-rebuild and per-callback figures do not depend on which are picked.
 *
 * Baselines, measured in the same run on the same tree:
 *   floor   qsort of the 10k leaf ranges by address: what any renderer that
 *           starts from an unordered tree must at least pay;
 *   naive   a QEMU-style renderer that inserts each leaf into the holes of
 *           a sorted array (linear scan + memmove per leaf, O(n^2)); the
 *           memory core's two-pass renderer must produce the same ranges.
 * "x floor" divides a rebuild's time by the floor's; the listener-cost
 * column subtracts the 0-listener rebuild time (same add order) and divides by the number
 * of callbacks.  Times are thread CPU time.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"

#include <time.h>

#define NR_REGIONS   10000
#define REGION_SIZE  0x1000
#define REGION_STEP  0x2000
#define NR_TOGGLED   256
#define BASE_ADDR    0x100000000ULL

static MemoryRegion regions[NR_REGIONS];
/* The order in which build() adds the regions (a permutation of indexes). */
static unsigned add_order[NR_REGIONS];

/*
 * CPU time of this thread, not wall time: the bench must give the same
 * figures on a machine busy with parallel builds, where wall time of a long
 * loop is inflated by preemption while a short burst is not.
 */
static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Counting listener */

typedef struct CountListener {
    MemoryListener ml;
    /* Callbacks received (add, del, nop). */
    uint64_t calls;
    /* Folded section data, so the callbacks do the minimum a real one does. */
    uint64_t checksum;
} CountListener;

static void count_section(MemoryListener *l, MemoryRegionSection *s)
{
    CountListener *c = container_of(l, CountListener, ml);

    c->calls++;
    c->checksum += s->offset_within_address_space ^ s->offset_within_region;
}

static void count_listener_init(CountListener *c, unsigned priority)
{
    memset(c, 0, sizeof(*c));
    c->ml.region_add = count_section;
    c->ml.region_del = count_section;
    c->ml.region_nop = count_section;
    c->ml.priority = priority;
    c->ml.name = "bench";
}

/* ------------------------------------------------------------------------ */
/* Baselines */

typedef struct Leaf {
    Int128 start;
    Int128 size;
    MemoryRegion *mr;
    hwaddr offset;
} Leaf;

static int leaf_cmp(const void *a, const void *b)
{
    const Leaf *x = a, *y = b;

    return int128_lt(x->start, y->start) ? -1 : int128_gt(x->start, y->start);
}

/* The leaves of the bench tree in list order (newest first, so descending). */
static Leaf *collect_leaves(MemoryRegion *root, size_t *n)
{
    Leaf *leaves = g_new(Leaf, NR_REGIONS);
    GList *l;

    *n = 0;
    for (l = root->subregions.head; l; l = l->next) {
        MemoryRegion *mr = l->data;

        if (mr->enabled) {
            leaves[(*n)++] = (Leaf) { int128_make64(mr->addr), mr->size, mr, 0 };
        }
    }
    return leaves;
}

/* Floor: sort the leaves and emit them, nothing else. */
static uint64_t floor_once(MemoryRegion *root)
{
    size_t n, i;
    Leaf *leaves = collect_leaves(root, &n);
    Leaf *out = g_new(Leaf, n);
    uint64_t t0 = now_ns(), t;

        qsort(leaves, n, sizeof(Leaf), leaf_cmp);
    for (i = 0; i < n; i++) {
        out[i] = leaves[i];
    }
    t = now_ns() - t0;
    g_free(leaves);
    g_free(out);
    return t;
}

typedef struct NaiveView {
    Leaf *r;
    size_t nr;
    size_t cap;
} NaiveView;

static void naive_insert(NaiveView *v, size_t pos, Leaf leaf)
{
    if (v->nr == v->cap) {
        v->cap = MAX(16, v->cap * 2);
        v->r = g_renew(Leaf, v->r, v->cap);
    }
    memmove(&v->r[pos + 1], &v->r[pos], (v->nr - pos) * sizeof(Leaf));
    v->r[pos] = leaf;
    v->nr++;
}

/*
 * Insert [start, end) of @mr into the holes of @v, scanning from the
 * beginning each time, as QEMU's renderer does.
 */
static void naive_fill(NaiveView *v, MemoryRegion *mr, Int128 start, Int128 end, Int128 origin)
{
    size_t i;

    for (i = 0; i < v->nr && int128_lt(start, end); i++) {
        Int128 rs = v->r[i].start, re = int128_add(rs, v->r[i].size);

        if (int128_ge(start, re)) {
            continue;
        }
        if (int128_lt(start, rs)) {
            Int128 stop = int128_min(end, rs);

            naive_insert(v, i, (Leaf) { start, int128_sub(stop, start), mr,
                                        int128_get64(int128_sub(start, origin)) });
            i++;
            start = stop;
        }
        start = int128_max(start, int128_min(end, re));
    }
    if (int128_lt(start, end)) {
        naive_insert(v, v->nr, (Leaf) { start, int128_sub(end, start), mr,
                                        int128_get64(int128_sub(start, origin)) });
    }
}

static void naive_render(NaiveView *v, MemoryRegion *mr, Int128 origin, Int128 cs, Int128 ce)
{
    Int128 start, end;
    GList *l;

    if (!mr->enabled) {
        return;
    }
    start = int128_max(origin, cs);
    end = int128_min(int128_add(origin, mr->size), ce);
    if (int128_le(end, start)) {
        return;
    }
    if (mr->alias) {
        naive_render(v, mr->alias, int128_sub(origin, int128_make64(mr->alias_offset)), start,
                     end);
        return;
    }
    for (l = mr->subregions.head; l; l = l->next) {
        MemoryRegion *sub = l->data;

        naive_render(v, sub, int128_add(origin, int128_make64(sub->addr)), start, end);
    }
    if (mr->terminates) {
        naive_fill(v, mr, start, end, origin);
    }
}

/* Time one naive render and check it matches the memory core's view. */
static uint64_t naive_once(MemoryRegion *root, AddressSpace *as)
{
    NaiveView v = { 0 };
    FlatView *fv = address_space_get_flatview(as);
    uint64_t t0 = now_ns(), t;
    size_t i;

    naive_render(&v, root, int128_zero(), int128_zero(), int128_2_64());
    t = now_ns() - t0;
    if (v.nr != fv->nr) {
        fprintf(stderr, "naive renderer: %zu ranges, memory core: %u\n", v.nr, fv->nr);
        exit(1);
    }
    for (i = 0; i < v.nr; i++) {
        if (v.r[i].mr != fv->ranges[i].mr || int128_ne(v.r[i].start, fv->ranges[i].start) ||
            int128_ne(v.r[i].size, fv->ranges[i].size) ||
            v.r[i].offset != fv->ranges[i].offset_in_region) {
            fprintf(stderr, "naive renderer and memory core differ at range %zu\n", i);
            exit(1);
        }
    }
    flatview_unref(fv);
    g_free(v.r);
    return t;
}

/* ------------------------------------------------------------------------ */
/* The measured scenarios */

typedef struct Result {
    /* Regions added in address order (false: shuffled). */
    bool sorted;
    unsigned listeners;
    uint64_t build_ns;
    uint64_t toggle_ns;
    uint64_t teardown_ns;
    uint64_t toggle_calls;
    uint64_t build_calls;
} Result;

static void build(MemoryRegion *sysmem)
{
    unsigned i;

    memory_region_transaction_begin();
    for (i = 0; i < NR_REGIONS; i++) {
        unsigned r = add_order[i];

        memory_region_add_subregion(sysmem, BASE_ADDR + (hwaddr)r * REGION_STEP, &regions[r]);
    }
    memory_region_transaction_commit();
}

static void teardown(MemoryRegion *sysmem)
{
    unsigned i;

    memory_region_transaction_begin();
    for (i = 0; i < NR_REGIONS; i++) {
        memory_region_del_subregion(sysmem, &regions[i]);
    }
    memory_region_transaction_commit();
}

static uint64_t total_calls(CountListener *ls, unsigned n)
{
    uint64_t sum = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        sum += ls[i].calls;
    }
    return sum;
}

/*
 * Add order: address order, or a fixed pseudo-random shuffle.  The memory
 * core keeps equal-priority siblings newest first, so address order hands
 * the renderer its leaves in reverse address order (its fast path); a
 * shuffle makes it sort.
 */
static void set_add_order(bool sorted)
{
    GRand *rand = g_rand_new_with_seed(42);
    unsigned i;

    for (i = 0; i < NR_REGIONS; i++) {
        add_order[i] = i;
    }
    for (i = NR_REGIONS - 1; !sorted && i > 0; i--) {
        unsigned j = g_rand_int_range(rand, 0, i + 1), tmp = add_order[i];

        add_order[i] = add_order[j];
        add_order[j] = tmp;
    }
    g_rand_free(rand);
}

static Result run(MemoryRegion *sysmem, unsigned nr_listeners, bool sorted)
{
    CountListener *ls = g_new(CountListener, MAX(nr_listeners, 1));
    Result res = { .listeners = nr_listeners, .sorted = sorted };
    uint64_t t0, calls0;
    unsigned i;

    set_add_order(sorted);

    for (i = 0; i < nr_listeners; i++) {
        count_listener_init(&ls[i], i % 3);
        memory_listener_register(&ls[i].ml, &address_space_memory);
    }

    t0 = now_ns();
    build(sysmem);
    res.build_ns = now_ns() - t0;
    res.build_calls = total_calls(ls, nr_listeners);

    calls0 = total_calls(ls, nr_listeners);
    t0 = now_ns();
    for (i = 0; i < NR_TOGGLED; i++) {
        MemoryRegion *mr = &regions[(uint64_t)i * NR_REGIONS / NR_TOGGLED];

        memory_region_set_enabled(mr, false);
        memory_region_set_enabled(mr, true);
    }
    res.toggle_ns = now_ns() - t0;
    res.toggle_calls = total_calls(ls, nr_listeners) - calls0;

    t0 = now_ns();
    teardown(sysmem);
    res.teardown_ns = now_ns() - t0;

    for (i = 0; i < nr_listeners; i++) {
        memory_listener_unregister(&ls[i].ml);
    }
    g_free(ls);
    return res;
}

int main(int argc, char **argv)
{
    static const struct {
        unsigned listeners;
        bool sorted;
    } scenarios[] = { { 0, true }, { 1, true }, { 4, true }, { 16, true },
                      { 0, false }, { 16, false } };
    MemoryRegion *sysmem = get_system_memory();
    Result results[ARRAY_SIZE(scenarios)];
    uint64_t floor_ns = UINT64_MAX, naive_ns = UINT64_MAX, t_all = now_ns();
    double rebuild0_us, floor_us;
    unsigned i;

    for (i = 0; i < NR_REGIONS; i++) {
        g_autofree char *name = g_strdup_printf("bench-%u", i);

        if (i % 2) {
            memory_region_init_io(&regions[i], NULL, NULL, NULL, name, REGION_SIZE);
        } else {
            memory_region_init_ram(&regions[i], NULL, name, REGION_SIZE, &error_fatal);
        }
    }

    /* Baselines on the built tree; best of 5 (3 for the slow naive one). */
    set_add_order(true);
    build(sysmem);
    for (i = 0; i < 5; i++) {
        floor_ns = MIN(floor_ns, floor_once(sysmem));
    }
    for (i = 0; i < 3; i++) {
        naive_ns = MIN(naive_ns, naive_once(sysmem, &address_space_memory));
    }
    teardown(sysmem);

    for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
        results[i] = run(sysmem, scenarios[i].listeners, scenarios[i].sorted);
    }

    floor_us = floor_ns / 1e3;
    rebuild0_us = results[0].toggle_ns / 1e3 / (2 * NR_TOGGLED);
    printf("bench-memory-listener: %u regions (half RAM, half I/O), %u toggled twice each\n",
           NR_REGIONS, NR_TOGGLED);
    printf("baselines: floor (qsort of %u ranges) %.1f us; naive insertion renderer %.1f us "
           "(%.1fx floor, %.1fx a memory-core rebuild)\n\n", NR_REGIONS, floor_us,
           naive_ns / 1e3, naive_ns / (double)floor_ns, naive_ns / 1e3 / rebuild0_us);
    printf("%-8s | %9s | %8s | %11s | %8s | %10s | %11s | %7s\n", "order", "listeners",
           "build ms", "teardown ms", "rebuilds", "us/rebuild", "ns/callback", "x floor");
    printf("---------+-----------+----------+-------------+----------+------------+-------------+"
           "--------\n");
    for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
        Result *r = &results[i];
        double per_rebuild_us = r->toggle_ns / 1e3 / (2 * NR_TOGGLED);
        /* Listener cost: above the 0-listener rebuild of the same order. */
        double base_us = r->sorted ? rebuild0_us : results[4].toggle_ns / 1e3 / (2 * NR_TOGGLED);
        double per_cb_ns = r->toggle_calls ?
            (per_rebuild_us - base_us) * 1e3 * (2 * NR_TOGGLED) / r->toggle_calls : 0;

        printf("%-8s | %9u | %8.2f | %11.2f | %8u | %10.1f | %11.2f | %6.2fx\n",
               r->sorted ? "address" : "shuffled", r->listeners, r->build_ns / 1e6,
               r->teardown_ns / 1e6, 2 * NR_TOGGLED, per_rebuild_us, per_cb_ns,
               per_rebuild_us / floor_us);
    }
    printf("\ncallbacks with 1 listener: build %" PRIu64 ", per toggle rebuild %.0f "
           "(1 add or del + nops); total CPU %.1f s\n", results[1].build_calls,
           results[1].toggle_calls / (2.0 * NR_TOGGLED), (now_ns() - t_all) / 1e9);

    for (i = 0; i < NR_REGIONS; i++) {
        memory_region_unparent(&regions[i]);
    }
    memory_map_cleanup();
    return 0;
}
