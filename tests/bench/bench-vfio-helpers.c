/*
 * vfio-helpers' DMA mapping table (an IOVA tree: O(log n) allocation,
 * lookup by host address and removal) against the classic table of QEMU's
 * util/vfio-helpers.c (an array sorted by host address, insert and remove
 * by memmove + realloc, water marks, temporaries not recorded), measured
 * in the same run against vfio-sim.
 *
 * Phases, each run by both implementations on their own container:
 *   fixed     100k fixed 4 KiB mappings, host pages in shuffled order
 *             (buffers are not allocated in address order)
 *   lookup    1M lookups of a random mapped host address (the "already
 *             mapped" path of dma_map) with the 100k fixed mappings in place
 *   temp      1M temporary map/reset cycles (map one 4 KiB buffer as a
 *             temporary, reset the temporaries) with the 100k fixed in place
 *   unmap     unmap 20k of the fixed mappings by host, in shuffled order
 *
 * The sim's floor (a bare MAP_DMA + UNMAP_DMA pair, no table) is measured
 * too: what the temp phase costs beyond it is bookkeeping.
 *
 * Reported per phase: time per operation for each, the ratio
 * baseline / tree (> 1: the tree is faster) and ioctls per operation
 * (counted by vfio-helpers' own MAP/UNMAP counter and by a wrapper around
 * the baseline's ioctls; MAP calls cross-checked with the sim's counter).
 *
 * The sim's type1 limit is raised to 1M mappings through a topology file.
 * Run outside the sim, the program re-executes itself with the sim
 * preloaded (from this build tree).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/vfio-helpers.h"

#include <glib/gstdio.h>
#include <libgen.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE            ((size_t)4096)
#define NR_FIXED        100000
#define NR_LOOKUPS      1000000
#define NR_TEMP_CYCLES  1000000
#define NR_TEMP_BUFS    1024
#define NR_UNMAPS       20000
#define NR_FLOOR        100000
#define HELPERS_DEVICE  "0000:00:01.0"
#define BASELINE_DEVICE "0000:00:03.0"

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* The baseline: QEMU's table, re-implemented here as it stands upstream. */

#define BASE_IOVA_MIN   0x10000ULL
#define BASE_IOVA_MAX   (1ULL << 39)

typedef struct BaseMapping {
    void *host;
    size_t size;
    uint64_t iova;
} BaseMapping;

typedef struct Baseline {
    int container;
    int group;
    BaseMapping *mappings;      /* sorted by host */
    int nr_mappings;
    uint64_t low_water_mark;
    uint64_t high_water_mark;
    uint64_t ioctls;            /* MAP_DMA + UNMAP_DMA issued */
} Baseline;

static int base_ioctl(Baseline *b, unsigned long req, void *arg)
{
    b->ioctls++;
    return ioctl(b->container, req, arg);
}

static void base_open(Baseline *b, const char *bdf)
{
    g_autofree char *link = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
    g_autofree char *path = NULL;
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof(target) - 1);

    memset(b, 0, sizeof(*b));
    if (n < 0) {
        fprintf(stderr, "baseline: %s: %s\n", link, strerror(errno));
        exit(1);
    }
    target[n] = 0;
    path = g_strdup_printf("/dev/vfio/%s", basename(target));
    b->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    b->group = open(path, O_RDWR | O_CLOEXEC);
    if (b->container < 0 || b->group < 0 ||
        ioctl(b->group, VFIO_GROUP_SET_CONTAINER, &b->container) < 0 ||
        ioctl(b->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
        fprintf(stderr, "baseline: cannot set up a container for %s: %s\n", bdf,
                strerror(errno));
        exit(1);
    }
    b->low_water_mark = BASE_IOVA_MIN;
    b->high_water_mark = BASE_IOVA_MAX;
}

static void base_close(Baseline *b)
{
    g_free(b->mappings);
    close(b->group);
    close(b->container);
}

/*
 * The mapping containing @host, or NULL with *index the position after
 * which a new mapping goes (-1: at the front): a binary search by host.
 */
static BaseMapping *base_find(Baseline *b, void *host, int *index)
{
    int lo = 0, hi = b->nr_mappings - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        BaseMapping *m = &b->mappings[mid];

        if ((uint8_t *)host < (uint8_t *)m->host) {
            hi = mid - 1;
        } else if ((uint8_t *)host >= (uint8_t *)m->host + m->size) {
            lo = mid + 1;
        } else {
            *index = mid;
            return m;
        }
    }
    *index = hi;
    return NULL;
}

static int base_do_map(Baseline *b, void *host, size_t size, uint64_t iova)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uintptr_t)host,
        .iova = iova,
        .size = size,
    };

    return base_ioctl(b, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int base_dma_map(Baseline *b, void *host, size_t size, bool temporary,
                        uint64_t *iova)
{
    BaseMapping *m;
    int index, ret;
    uint64_t iova0;

    m = base_find(b, host, &index);
    if (m) {
        *iova = m->iova + ((uint8_t *)host - (uint8_t *)m->host);
        return 0;
    }
    if (b->high_water_mark - b->low_water_mark + 1 < size) {
        return -ENOMEM;
    }
    if (!temporary) {
        int pos = index + 1, shift;

        iova0 = b->low_water_mark;
        b->nr_mappings++;
        b->mappings = g_realloc_n(b->mappings, sizeof(b->mappings[0]), b->nr_mappings);
        shift = b->nr_mappings - pos - 1;
        if (shift) {
            memmove(&b->mappings[pos + 1], &b->mappings[pos],
                    shift * sizeof(b->mappings[0]));
        }
        b->mappings[pos] = (BaseMapping){ .host = host, .size = size, .iova = iova0 };
        ret = base_do_map(b, host, size, iova0);
        if (ret) {
            return ret;
        }
        b->low_water_mark += size;
    } else {
        iova0 = b->high_water_mark - size;
        ret = base_do_map(b, host, size, iova0);
        if (ret) {
            return ret;
        }
        b->high_water_mark -= size;
    }
    *iova = iova0;
    return 0;
}

static int base_reset_temporary(Baseline *b)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = b->high_water_mark,
        .size = BASE_IOVA_MAX - b->high_water_mark,
    };

    if (base_ioctl(b, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
        return -errno;
    }
    b->high_water_mark = BASE_IOVA_MAX;
    return 0;
}

static void base_dma_unmap(Baseline *b, void *host)
{
    int index;
    BaseMapping *m = base_find(b, host, &index);
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };

    if (!m) {
        return;
    }
    unmap.iova = m->iova;
    unmap.size = m->size;
    base_ioctl(b, VFIO_IOMMU_UNMAP_DMA, &unmap);
    memmove(m, m + 1, sizeof(*m) * (b->nr_mappings - index - 1));
    b->nr_mappings--;
    b->mappings = g_realloc_n(b->mappings, sizeof(b->mappings[0]), b->nr_mappings);
}

/* ------------------------------------------------------------------------ */
/* The run */

typedef struct Result {
    const char *name;
    uint64_t ops;
    uint64_t base_ns, tree_ns;
    uint64_t base_ioctls, tree_ioctls;
    uint64_t base_maps, tree_maps;    /* MAP_DMA seen by the sim */
} Result;

static int64_t sim_map_calls(void)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);
    char buf[4096];
    ssize_t n;
    const char *p;

    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    p = strstr(buf, "map-calls ");
    return p ? g_ascii_strtoll(p + strlen("map-calls "), NULL, 10) : -1;
}

static void print_result(const Result *r)
{
    double base = (double)r->base_ns / r->ops, tree = (double)r->tree_ns / r->ops;

    printf("%-8s %9" PRIu64 "  %10.3f  %10.3f  %7.2fx  %7.3f  %7.3f  %9" PRIu64
           " %9" PRIu64 "\n", r->name, r->ops, base / 1000, tree / 1000, base / tree,
           (double)r->base_ioctls / r->ops, (double)r->tree_ioctls / r->ops,
           r->base_maps, r->tree_maps);
}

static void die_on(bool cond, const char *what, Error *err)
{
    if (cond) {
        fprintf(stderr, "bench-vfio-helpers: %s failed%s%s\n", what, err ? ": " : "",
                err ? error_get_pretty(err) : "");
        exit(1);
    }
}

static void shuffle(uint32_t *v, size_t n, GRand *r)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = g_rand_int_range(r, 0, i + 1);
        uint32_t t = v[i];

        v[i] = v[j];
        v[j] = t;
    }
}

static int run(void)
{
    size_t pool_size = (size_t)(NR_FIXED + NR_TEMP_BUFS) * PAGE;
    uint8_t *pool, *temps;
    uint32_t *order = g_new(uint32_t, NR_FIXED);
    uint32_t *probes = g_new(uint32_t, NR_LOOKUPS);
    GRand *rand = g_rand_new_with_seed(7);
    QEMUVFIOState *s;
    QEMUVFIODMAStats st;
    Baseline b;
    Error *err = NULL;
    Result res[4];
    uint64_t t0, iova, sink = 0, io0, maps0, floor_ns;
    int i;

    /* Untouched anonymous memory: the sim only checks that it is mapped. */
    pool = mmap(NULL, pool_size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    die_on(pool == MAP_FAILED, "mmap of the buffers", NULL);
    temps = pool + (size_t)NR_FIXED * PAGE;
    for (i = 0; i < NR_FIXED; i++) {
        order[i] = i;
    }
    shuffle(order, NR_FIXED, rand);
    for (i = 0; i < NR_LOOKUPS; i++) {
        probes[i] = g_rand_int_range(rand, 0, NR_FIXED);
    }

    s = qemu_vfio_open_pci(HELPERS_DEVICE, &err);
    die_on(!s, "qemu_vfio_open_pci", err);
    base_open(&b, BASELINE_DEVICE);

    /* fixed */
    res[0] = (Result){ .name = "fixed", .ops = NR_FIXED };
    maps0 = sim_map_calls();
    t0 = now_ns();
    for (i = 0; i < NR_FIXED; i++) {
        die_on(base_dma_map(&b, pool + (size_t)order[i] * PAGE, PAGE, false, &iova) < 0,
               "baseline fixed map", NULL);
    }
    res[0].base_ns = now_ns() - t0;
    res[0].base_ioctls = b.ioctls;
    res[0].base_maps = sim_map_calls() - maps0;
    maps0 = sim_map_calls();
    qemu_vfio_dma_get_stats(s, &st);
    io0 = st.dma_ioctls;
    t0 = now_ns();
    for (i = 0; i < NR_FIXED; i++) {
        bool ok = qemu_vfio_dma_map(s, pool + (size_t)order[i] * PAGE, PAGE, false, &iova,
                                    &err);
        die_on(!ok, "fixed map", err);
    }
    res[0].tree_ns = now_ns() - t0;
    qemu_vfio_dma_get_stats(s, &st);
    res[0].tree_ioctls = st.dma_ioctls - io0;
    res[0].tree_maps = sim_map_calls() - maps0;

    /* lookup */
    res[1] = (Result){ .name = "lookup", .ops = NR_LOOKUPS };
    io0 = b.ioctls;
    t0 = now_ns();
    for (i = 0; i < NR_LOOKUPS; i++) {
        base_dma_map(&b, pool + (size_t)probes[i] * PAGE + 8, PAGE / 2, false, &iova);
        sink += iova;
    }
    res[1].base_ns = now_ns() - t0;
    res[1].base_ioctls = b.ioctls - io0;
    qemu_vfio_dma_get_stats(s, &st);
    io0 = st.dma_ioctls;
    t0 = now_ns();
    for (i = 0; i < NR_LOOKUPS; i++) {
        qemu_vfio_dma_lookup(s, pool + (size_t)probes[i] * PAGE + 8, PAGE / 2, &iova);
        sink += iova;
    }
    res[1].tree_ns = now_ns() - t0;
    qemu_vfio_dma_get_stats(s, &st);
    res[1].tree_ioctls = st.dma_ioctls - io0;

    /* temp: one temporary map and one reset per cycle */
    res[2] = (Result){ .name = "temp", .ops = NR_TEMP_CYCLES };
    io0 = b.ioctls;
    maps0 = sim_map_calls();
    t0 = now_ns();
    for (i = 0; i < NR_TEMP_CYCLES; i++) {
        die_on(base_dma_map(&b, temps + (size_t)(i % NR_TEMP_BUFS) * PAGE, PAGE, true,
                            &iova) < 0 || base_reset_temporary(&b) < 0,
               "baseline temporary cycle", NULL);
    }
    res[2].base_ns = now_ns() - t0;
    res[2].base_ioctls = b.ioctls - io0;
    res[2].base_maps = sim_map_calls() - maps0;
    qemu_vfio_dma_get_stats(s, &st);
    io0 = st.dma_ioctls;
    maps0 = sim_map_calls();
    t0 = now_ns();
    for (i = 0; i < NR_TEMP_CYCLES; i++) {
        bool ok = qemu_vfio_dma_map(s, temps + (size_t)(i % NR_TEMP_BUFS) * PAGE, PAGE,
                                    true, &iova, &err) &&
                  qemu_vfio_dma_reset_temporary(s, &err);

        die_on(!ok, "temporary cycle", err);
    }
    res[2].tree_ns = now_ns() - t0;
    qemu_vfio_dma_get_stats(s, &st);
    res[2].tree_ioctls = st.dma_ioctls - io0;
    res[2].tree_maps = sim_map_calls() - maps0;

    /* The sim's floor: the same MAP + UNMAP pair with no table at all. */
    t0 = now_ns();
    for (i = 0; i < NR_FLOOR; i++) {
        struct vfio_iommu_type1_dma_unmap unmap = {
            .argsz = sizeof(unmap), .iova = BASE_IOVA_MAX - PAGE, .size = PAGE,
        };

        die_on(base_do_map(&b, temps, PAGE, BASE_IOVA_MAX - PAGE) < 0 ||
               ioctl(b.container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0, "floor", NULL);
    }
    floor_ns = now_ns() - t0;

    /* unmap */
    res[3] = (Result){ .name = "unmap", .ops = NR_UNMAPS };
    shuffle(order, NR_FIXED, rand);
    io0 = b.ioctls;
    t0 = now_ns();
    for (i = 0; i < NR_UNMAPS; i++) {
        base_dma_unmap(&b, pool + (size_t)order[i] * PAGE);
    }
    res[3].base_ns = now_ns() - t0;
    res[3].base_ioctls = b.ioctls - io0;
    qemu_vfio_dma_get_stats(s, &st);
    io0 = st.dma_ioctls;
    t0 = now_ns();
    for (i = 0; i < NR_UNMAPS; i++) {
        qemu_vfio_dma_unmap(s, pool + (size_t)order[i] * PAGE);
    }
    res[3].tree_ns = now_ns() - t0;
    qemu_vfio_dma_get_stats(s, &st);
    res[3].tree_ioctls = st.dma_ioctls - io0;
    die_on(st.nr_fixed != NR_FIXED - NR_UNMAPS || b.nr_mappings != NR_FIXED - NR_UNMAPS,
           "unmap bookkeeping", NULL);

    printf("vfio-helpers DMA table vs QEMU's sorted array, on vfio-sim "
           "(%d fixed 4 KiB mappings in place)\n", NR_FIXED);
    printf("%-8s %9s  %10s  %10s  %8s  %7s  %7s  %9s %9s\n", "phase", "ops", "array us/op",
           "tree us/op", "ratio", "ioc/op", "ioc/op", "array MAP", "tree MAP");
    printf("%-8s %9s  %10s  %10s  %8s  %7s  %7s  %9s %9s\n", "", "", "", "", "arr/tree",
           "array", "tree", "(sim)", "(sim)");
    for (i = 0; i < 4; i++) {
        print_result(&res[i]);
    }
    printf("ratio > 1: the tree is faster.  ioctls counted by the callers "
           "(MAP_DMA + UNMAP_DMA); MAP columns: the sim's map-calls counter.\n");
    printf("sim floor: a bare MAP_DMA + UNMAP_DMA pair costs %.3f us (the temp phase's "
           "ioctls)\n", (double)floor_ns / NR_FLOOR / 1000);

    t0 = now_ns();
    qemu_vfio_close(s);
    printf("close with %d mappings left: %.3f ms\n", NR_FIXED - NR_UNMAPS,
           (now_ns() - t0) / 1e6);
    base_close(&b);
    munmap(pool, pool_size);
    g_free(order);
    g_free(probes);
    g_rand_free(rand);
    return sink == 42;
}

/* ------------------------------------------------------------------------ */
/* Getting the sim */

static bool sim_loaded(void)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

/* Re-execute under the sim library of this build tree; returns on failure. */
static void reexec_with_sim(char **argv)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
    g_autofree char *lib = NULL;
    g_autofree char *preload = NULL;
    const char *old = g_getenv("LD_PRELOAD");

    if (!dir || g_getenv("BENCH_VFIO_HELPERS_REEXEC")) {
        return;
    }
    lib = g_build_filename(dir, "..", "..", "contrib", "vfio-sim", "libvfio-sim.so", NULL);
    if (access(lib, R_OK) != 0) {
        return;
    }
    preload = old && *old ? g_strdup_printf("%s:%s", old, lib) : g_strdup(lib);
    g_setenv("LD_PRELOAD", preload, true);
    g_setenv("BENCH_VFIO_HELPERS_REEXEC", "1", true);
#if defined(__SANITIZE_ADDRESS__)
    g_setenv("ASAN_OPTIONS", "verify_asan_link_order=0", false);
#endif
    execv(exe, argv);
}

int main(int argc, char **argv)
{
    g_autofree char *dir = NULL;
    g_autofree char *conf = NULL;
    int ret;

    /* Before any VFIO call: the sim builds its world from this file. */
    dir = g_dir_make_tmp("bench-vfio-helpers-XXXXXX", NULL);
    conf = g_build_filename(dir, "sim.conf", NULL);
    if (!g_file_set_contents(conf, "[iommu]\ndma-entry-limit = 1000000\n", -1, NULL)) {
        fprintf(stderr, "bench-vfio-helpers: cannot write %s\n", conf);
        return 1;
    }
    g_setenv("VFIO_SIM_CONFIG", conf, true);
    if (!sim_loaded()) {
        g_unlink(conf);
        g_rmdir(dir);
        reexec_with_sim(argv);
        printf("bench-vfio-helpers: skipped: vfio-sim is not loaded and "
               "libvfio-sim.so was not found next to this build\n");
        return 0;
    }
    ret = run();
    g_unlink(conf);
    g_rmdir(dir);
    return ret;
}
