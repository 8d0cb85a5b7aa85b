/*
 * bench-vfio-ioctl: what the type1 ioctls that Aperture's listener and dirty
 * tracking issue cost, against whatever answers /dev/vfio: the real kernel
 * (tests/vm/rig.py bench runs this inside the rig) or vfio-sim preloaded
 * (the meson benchmark).  Like the conformance suite it uses only libc, GLib
 * and <linux/vfio.h>, so the same binary runs on both.
 *
 * Figures, each a median and a 90th percentile over repeated samples:
 *   floor-getppid         a bare system call (the syscall floor)
 *   floor-check-extension VFIO_CHECK_EXTENSION on the container (the ioctl floor)
 *   floor-clock           clock_gettime(), what timing one operation adds
 *   map-/unmap-4k         MAP_DMA / UNMAP_DMA of 4 KiB (timed in batches of 64)
 *   map-/unmap-2m-thp     2 MiB, a 2 MiB-aligned buffer with MADV_HUGEPAGE
 *   map-/unmap-64m-thp    64 MiB, the same way
 *   map-/unmap-64m-4k     64 MiB with MADV_NOHUGEPAGE (4 KiB pages)
 *   dirty-start-1g        DIRTY_PAGES START with 1 GiB mapped (16 x 64 MiB)
 *   dirty-stop-1g         DIRTY_PAGES STOP, the same
 *   dirty-get-bitmap-1g   DIRTY_PAGES GET_BITMAP over that 1 GiB (32 KiB bitmap)
 *   dirty-unmap-bitmap-64m  UNMAP_DMA of 64 MiB with GET_DIRTY_BITMAP
 * The 1 GiB is one 64 MiB buffer mapped 16 times at consecutive IOVAs: the
 * kernel pins every mapped page, and the rig's guest has 1 GiB of RAM.
 *
 * Fast operations are timed in batches (the figure is the batch's time
 * divided by its size), so the clock's own cost (large under TCG) does not
 * count.  Compare the figures of two runs as ratios to their own floors: the
 * rig is a TCG guest, far slower than the host in absolute terms.
 *
 * Output: a table, then one line per figure for scripts:
 *   BENCH-META key=value ...
 *   BENCH vfio-ioctl/NAME MEDIAN_NS P90_NS SAMPLES BATCH LABEL...
 * (times per operation in nanoseconds; LABEL, the table's wording, runs to
 * the end of the line).
 * Exit status 77 (skip) when VFIO or the device is not there.
 *
 *   APERTURE_VFIO_DEVICE   the device whose group is used (default 0000:00:01.0)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <linux/vfio.h>

#define DEFAULT_DEVICE  "0000:00:01.0"
#define EXIT_SKIP       77

#define KiB             ((uint64_t)1024)
#define MiB             (1024 * KiB)
#define GiB             (1024 * MiB)
#define PAGE            (4 * KiB)
#define HUGE            (2 * MiB)
#define MAP_RW          (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* IOVAs: each figure has its own window, all inside the x86 IOVA range [0, 2^48). */
#define IOVA_4K         (4 * GiB)
#define IOVA_2M         (5 * GiB)
#define IOVA_64M        (6 * GiB)
#define IOVA_DIRTY      (8 * GiB)       /* 1 GiB */
#define IOVA_UNMAP_BM   (10 * GiB)

/* Samples per figure (odd, so the median is one sample) and batch sizes. */
#define FLOOR_SAMPLES   101
#define FLOOR_BATCH     1000
#define SMALL_SAMPLES   101
#define SMALL_BATCH     64              /* 4 KiB mappings per timed batch */
#define LARGE_SAMPLES   31              /* 2 MiB, 64 MiB */
#define DIRTY_SAMPLES   201
#define TRACK_SAMPLES   21
#define DIRTY_MAPPINGS  16              /* x 64 MiB = 1 GiB */

/* One reported figure. */
typedef struct Figure {
    const char *name;       /* machine-readable, after "vfio-ioctl/" */
    const char *label;      /* for the table */
    double median_ns;       /* per operation */
    double p90_ns;
    unsigned samples;       /* timed samples */
    unsigned batch;         /* operations per sample */
} Figure;

/* The container and group under test, and what was learnt about them. */
typedef struct Bench {
    const char *bdf;        /* device whose group is attached (not owned) */
    int group_id;
    int container;          /* /dev/vfio/vfio fd */
    int group;              /* /dev/vfio/GROUP fd */
    int iommu_type;         /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
    bool sim;               /* vfio-sim answers (its control file exists) */
    GArray *figures;        /* of Figure */
} Bench;

static G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "bench-vfio-ioctl: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) void skip(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    printf("bench-vfio-ioctl: SKIP: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(EXIT_SKIP);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Record a figure from N per-operation samples (sorted in place). */
static void record(Bench *b, const char *name, const char *label, double *ns, unsigned n,
                   unsigned batch)
{
    Figure f = { .name = name, .label = label, .samples = n, .batch = batch };

    qsort(ns, n, sizeof(*ns), cmp_double);
    f.median_ns = n % 2 ? ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2;
    f.p90_ns = ns[(9 * n + 9) / 10 - 1];      /* ceil(0.9 n) - 1 */
    g_array_append_val(b->figures, f);
}

static const Figure *find_figure(Bench *b, const char *name)
{
    for (unsigned i = 0; i < b->figures->len; i++) {
        const Figure *f = &g_array_index(b->figures, Figure, i);

        if (!strcmp(f->name, name)) {
            return f;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* ioctls: die on failure, naming the operation */

static void dma_map(Bench *b, uint64_t iova, void *vaddr, uint64_t size)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = MAP_RW,
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };

    if (ioctl(b->container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
        die("MAP_DMA iova 0x%" PRIx64 " size 0x%" PRIx64 ": %s",
            iova, size, g_strerror(errno));
    }
}

static void dma_unmap(Bench *b, uint64_t iova, uint64_t size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = iova,
        .size = size,
    };

    if (ioctl(b->container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 || unmap.size != size) {
        die("UNMAP_DMA iova 0x%" PRIx64 " size 0x%" PRIx64 ": %s "
            "(unmapped 0x%" PRIx64 ")", iova, size, g_strerror(errno),
            (uint64_t)unmap.size);
    }
}

/* UNMAP_DMA with GET_DIRTY_BITMAP into BITMAP (4 KiB pages). */
static void dma_unmap_bitmap(Bench *b, uint64_t iova, uint64_t size, uint64_t *bitmap)
{
    struct {
        struct vfio_iommu_type1_dma_unmap unmap;
        struct vfio_bitmap bitmap;
    } arg = {
        .unmap = {
            .argsz = sizeof(arg),
            .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
            .iova = iova,
            .size = size,
        },
        .bitmap = { .pgsize = PAGE, .size = size / PAGE / 8, .data = (void *)bitmap },
    };

    if (ioctl(b->container, VFIO_IOMMU_UNMAP_DMA, &arg) < 0) {
        die("UNMAP_DMA with GET_DIRTY_BITMAP iova 0x%" PRIx64 ": %s", iova,
            g_strerror(errno));
    }
}

static void dirty_ctl(Bench *b, uint32_t flag, const char *what)
{
    struct vfio_iommu_type1_dirty_bitmap db = { .argsz = sizeof(db), .flags = flag };

    if (ioctl(b->container, VFIO_IOMMU_DIRTY_PAGES, &db) < 0) {
        die("DIRTY_PAGES %s: %s", what, g_strerror(errno));
    }
}

static void dirty_get(Bench *b, uint64_t iova, uint64_t size, uint64_t *bitmap)
{
    struct {
        struct vfio_iommu_type1_dirty_bitmap db;
        struct vfio_iommu_type1_dirty_bitmap_get get;
    } arg = {
        .db = { .argsz = sizeof(arg), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
        .get = {
            .iova = iova,
            .size = size,
            .bitmap = { .pgsize = PAGE, .size = size / PAGE / 8, .data = (void *)bitmap },
        },
    };

    if (ioctl(b->container, VFIO_IOMMU_DIRTY_PAGES, &arg) < 0) {
        die("DIRTY_PAGES GET_BITMAP iova 0x%" PRIx64 " size 0x%"
            PRIx64 ": %s", iova, size, g_strerror(errno));
    }
}

/* ------------------------------------------------------------------------ */
/* Set-up */

static int group_of(const char *bdf)
{
    g_autofree char *link = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
    g_autofree char *target = g_file_read_link(link, NULL);
    g_autofree char *base = NULL;
    char *end;
    long id;

    if (!target) {
        return -1;
    }
    base = g_path_get_basename(target);
    id = strtol(base, &end, 10);
    return end == base || *end || id < 0 ? -1 : (int)id;
}

static void bench_open(Bench *b)
{
    struct vfio_group_status status = { .argsz = sizeof(status) };
    g_autofree char *path = NULL;

    if (access("/dev/vfio/vfio", F_OK) != 0) {
        skip("no VFIO here: /dev/vfio/vfio is missing");
    }
    b->group_id = group_of(b->bdf);
    if (b->group_id < 0) {
        skip("device %s has no IOMMU group here", b->bdf);
    }
    b->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (b->container < 0) {
        die("open /dev/vfio/vfio: %s", g_strerror(errno));
    }
    if (ioctl(b->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
        die("unexpected VFIO API version");
    }
    path = g_strdup_printf("/dev/vfio/%d", b->group_id);
    b->group = open(path, O_RDWR | O_CLOEXEC);
    if (b->group < 0) {
        if (errno == ENOENT) {
            skip("%s is missing (is %s bound to vfio-pci?)", path, b->bdf);
        }
        die("open %s: %s", path, g_strerror(errno));
    }
    if (ioctl(b->group, VFIO_GROUP_GET_STATUS, &status) < 0 ||
        !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        skip("group %d of %s is not viable", b->group_id, b->bdf);
    }
    if (ioctl(b->group, VFIO_GROUP_SET_CONTAINER, &b->container) < 0) {
        die("SET_CONTAINER: %s", g_strerror(errno));
    }
    b->iommu_type = ioctl(b->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1 ?
                    VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
    if (ioctl(b->container, VFIO_SET_IOMMU, b->iommu_type) < 0) {
        die("SET_IOMMU(%d): %s", b->iommu_type, g_strerror(errno));
    }
}

/*
 * SIZE bytes of anonymous memory aligned to 2 MiB, huge pages asked for or
 * refused, every page touched so that the figures measure pinning, not
 * page allocation.
 */
static void *alloc_buffer(size_t size, bool huge)
{
    size_t len = size + HUGE;
    char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *buf;

    if (raw == MAP_FAILED) {
        die("mmap %zu bytes: %s", len, g_strerror(errno));
    }
    buf = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    if (buf > raw) {
        munmap(raw, buf - raw);
    }
    if (buf + size < raw + len) {
        munmap(buf + size, raw + len - (buf + size));
    }
    /* Without THP support the advice fails; the figure then uses 4 KiB pages. */
    madvise(buf, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    for (size_t off = 0; off < size; off += PAGE) {
        buf[off] = 1;
    }
    return buf;
}

/* KiB of BUF's mapping backed by transparent huge pages (from /proc/self/smaps). */
static long thp_kib(const void *buf)
{
    g_autofree char *smaps = NULL;
    g_auto(GStrv) lines = NULL;
    bool inside = false;

    if (!g_file_get_contents("/proc/self/smaps", &smaps, NULL, NULL)) {
        return -1;
    }
    lines = g_strsplit(smaps, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long start, end;
        long kib;

        if (sscanf(*l, "%lx-%lx ", &start, &end) == 2 && strchr(*l, ' ') &&
            g_ascii_isxdigit(**l)) {
            inside = (uintptr_t)buf >= start && (uintptr_t)buf < end;
        } else if (inside && sscanf(*l, "AnonHugePages: %ld kB", &kib) == 1) {
            return kib;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* The figures */

static void bench_floors(Bench *b)
{
    double ns[FLOOR_SAMPLES];
    volatile pid_t sink = 0;

    for (int warm = 0; warm < FLOOR_BATCH; warm++) {
        sink += getppid();
    }
    for (unsigned s = 0; s < FLOOR_SAMPLES; s++) {
        uint64_t t0 = now_ns();

        for (unsigned i = 0; i < FLOOR_BATCH; i++) {
            sink += getppid();
        }
        ns[s] = (double)(now_ns() - t0) / FLOOR_BATCH;
    }
    record(b, "floor-getppid", "syscall floor: getppid()", ns, FLOOR_SAMPLES, FLOOR_BATCH);

    for (unsigned s = 0; s < FLOOR_SAMPLES; s++) {
        uint64_t t0 = now_ns();

        for (unsigned i = 0; i < FLOOR_BATCH; i++) {
            if (ioctl(b->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) < 0) {
                die("VFIO_CHECK_EXTENSION: %s", g_strerror(errno));
            }
        }
        ns[s] = (double)(now_ns() - t0) / FLOOR_BATCH;
    }
    record(b, "floor-check-extension", "ioctl floor: VFIO_CHECK_EXTENSION", ns,
           FLOOR_SAMPLES, FLOOR_BATCH);

    for (unsigned s = 0; s < FLOOR_SAMPLES; s++) {
        uint64_t t0 = now_ns();
        uint64_t sum = 0;

        for (unsigned i = 0; i < FLOOR_BATCH; i++) {
            sum += now_ns();
        }
        ns[s] = (double)(now_ns() - t0) / FLOOR_BATCH;
        sink += (pid_t)sum;
    }
    record(b, "floor-clock", "clock_gettime() (timing overhead)", ns, FLOOR_SAMPLES,
           FLOOR_BATCH);
    (void)sink;
}

static void bench_map_4k(Bench *b)
{
    char *buf = alloc_buffer(SMALL_BATCH * PAGE, false);
    double map_ns[SMALL_SAMPLES], unmap_ns[SMALL_SAMPLES];

    for (int s = -1; s < SMALL_SAMPLES; s++) {     /* -1: warm-up */
        uint64_t t0, t1, t2;

        t0 = now_ns();
        for (unsigned i = 0; i < SMALL_BATCH; i++) {
            dma_map(b, IOVA_4K + i * PAGE, buf + i * PAGE, PAGE);
        }
        t1 = now_ns();
        for (unsigned i = 0; i < SMALL_BATCH; i++) {
            dma_unmap(b, IOVA_4K + i * PAGE, PAGE);
        }
        t2 = now_ns();
        if (s >= 0) {
            map_ns[s] = (double)(t1 - t0) / SMALL_BATCH;
            unmap_ns[s] = (double)(t2 - t1) / SMALL_BATCH;
        }
    }
    record(b, "map-4k", "MAP_DMA 4 KiB", map_ns, SMALL_SAMPLES, SMALL_BATCH);
    record(b, "unmap-4k", "UNMAP_DMA 4 KiB", unmap_ns, SMALL_SAMPLES, SMALL_BATCH);
    munmap(buf, SMALL_BATCH * PAGE);
}

/* MAP_DMA then UNMAP_DMA of BUF (SIZE bytes) at IOVA, each timed. */
static void bench_map_large(Bench *b, void *buf, uint64_t size, uint64_t iova,
                            const char *map_name, const char *map_label,
                            const char *unmap_name, const char *unmap_label)
{
    double map_ns[LARGE_SAMPLES], unmap_ns[LARGE_SAMPLES];

    for (int s = -1; s < LARGE_SAMPLES; s++) {
        uint64_t t0, t1, t2;

        t0 = now_ns();
        dma_map(b, iova, buf, size);
        t1 = now_ns();
        dma_unmap(b, iova, size);
        t2 = now_ns();
        if (s >= 0) {
            map_ns[s] = t1 - t0;
            unmap_ns[s] = t2 - t1;
        }
    }
    record(b, map_name, map_label, map_ns, LARGE_SAMPLES, 1);
    record(b, unmap_name, unmap_label, unmap_ns, LARGE_SAMPLES, 1);
}

static void bench_dirty(Bench *b, void *buf64m)
{
    const uint64_t span = DIRTY_MAPPINGS * 64 * MiB;
    g_autofree uint64_t *bitmap = g_malloc0(span / PAGE / 8);
    double ns[DIRTY_SAMPLES], stop_ns[TRACK_SAMPLES];
    uint64_t dirty = 0;

    for (unsigned i = 0; i < DIRTY_MAPPINGS; i++) {
        dma_map(b, IOVA_DIRTY + i * 64 * MiB, buf64m, 64 * MiB);
    }

    for (int s = -1; s < TRACK_SAMPLES; s++) {
        uint64_t t0, t1, t2;

        t0 = now_ns();
        dirty_ctl(b, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, "START");
        t1 = now_ns();
        dirty_ctl(b, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, "STOP");
        t2 = now_ns();
        if (s >= 0) {
            ns[s] = t1 - t0;
            stop_ns[s] = t2 - t1;
        }
    }
    record(b, "dirty-start-1g", "DIRTY_PAGES START, 1 GiB mapped", ns, TRACK_SAMPLES, 1);
    record(b, "dirty-stop-1g", "DIRTY_PAGES STOP, 1 GiB mapped", stop_ns, TRACK_SAMPLES, 1);

    dirty_ctl(b, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, "START");
    dirty_get(b, IOVA_DIRTY, span, bitmap);
    for (uint64_t i = 0; i < span / PAGE / 64; i++) {
        dirty += __builtin_popcountll(bitmap[i]);
    }
    /* Without a page-pinning device every mapped page is dirty on every query. */
    if (dirty != span / PAGE) {
        fprintf(stderr, "bench-vfio-ioctl: note: GET_BITMAP reported %" PRIu64
                " of %" PRIu64 " pages dirty\n", dirty, span / PAGE);
    }
    for (unsigned s = 0; s < DIRTY_SAMPLES; s++) {
        uint64_t t0 = now_ns();

        dirty_get(b, IOVA_DIRTY, span, bitmap);
        ns[s] = now_ns() - t0;
    }
    record(b, "dirty-get-bitmap-1g", "DIRTY_PAGES GET_BITMAP 1 GiB (16 x 64 MiB)", ns,
           DIRTY_SAMPLES, 1);

    for (int s = -1; s < LARGE_SAMPLES; s++) {
        uint64_t t0;

        dma_map(b, IOVA_UNMAP_BM, buf64m, 64 * MiB);
        t0 = now_ns();
        dma_unmap_bitmap(b, IOVA_UNMAP_BM, 64 * MiB, bitmap);
        if (s >= 0) {
            ns[s] = now_ns() - t0;
        }
    }
    record(b, "dirty-unmap-bitmap-64m", "UNMAP_DMA 64 MiB THP + GET_DIRTY_BITMAP", ns,
           LARGE_SAMPLES, 1);

    dirty_ctl(b, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, "STOP");
    for (unsigned i = 0; i < DIRTY_MAPPINGS; i++) {
        dma_unmap(b, IOVA_DIRTY + i * 64 * MiB, 64 * MiB);
    }
}

/* ------------------------------------------------------------------------ */
/* Output */

static const char *fmt_time(char *out, size_t n, double ns)
{
    if (ns < 1000) {
        snprintf(out, n, "%.0f ns", ns);
    } else if (ns < 1000000) {
        snprintf(out, n, "%.2f us", ns / 1000);
    } else {
        snprintf(out, n, "%.2f ms", ns / 1000000);
    }
    return out;
}

/* The 1-minute load average: other work on the machine shows in the p90s. */
static double load_average(void)
{
    g_autofree char *s = NULL;

    if (!g_file_get_contents("/proc/loadavg", &s, NULL, NULL)) {
        return -1;
    }
    return g_ascii_strtod(s, NULL);
}

static void report(Bench *b, const char *backend, const char *thp_note)
{
    const Figure *sys = find_figure(b, "floor-getppid");
    const Figure *ext = find_figure(b, "floor-check-extension");

    printf("\nbench-vfio-ioctl: %s, device %s (group %d), %s\n", backend, b->bdf,
           b->group_id, b->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");
    printf("THP: %s\n", thp_note);
    printf("load average %.2f on %ld CPUs\n\n", load_average(), sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-44s %10s %10s %10s %10s %10s\n", "figure", "median", "p90", "x syscall",
           "x CHK_EXT", "samples");
    for (unsigned i = 0; i < b->figures->len; i++) {
        const Figure *f = &g_array_index(b->figures, Figure, i);
        char med[32], p90[32], samples[32];

        if (f->batch > 1) {
            snprintf(samples, sizeof(samples), "%u x %u", f->samples, f->batch);
        } else {
            snprintf(samples, sizeof(samples), "%u", f->samples);
        }
        printf("%-44s %10s %10s %10.1f %10.2f %10s\n", f->label,
               fmt_time(med, sizeof(med), f->median_ns), fmt_time(p90, sizeof(p90), f->p90_ns),
               f->median_ns / sys->median_ns, f->median_ns / ext->median_ns, samples);
    }
    printf("\n");
    for (unsigned i = 0; i < b->figures->len; i++) {
        const Figure *f = &g_array_index(b->figures, Figure, i);

        printf("BENCH vfio-ioctl/%s %.1f %.1f %u %u %s\n", f->name, f->median_ns, f->p90_ns,
               f->samples, f->batch, f->label);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    Bench b = { .container = -1, .group = -1 };
    const char *dev = g_getenv("APERTURE_VFIO_DEVICE");
    g_autofree char *backend = NULL;
    g_autofree char *thp_note = NULL;
    g_autofree char *thp_mode = NULL;
    struct utsname uts;
    char *buf2m, *buf64m, *buf64m_small;
    long thp2m, thp64m, thp64m_small;
    uint64_t t0 = now_ns();

    if (argc > 1) {
        fprintf(stderr, "usage: %s (no arguments; APERTURE_VFIO_DEVICE selects the device)\n",
                argv[0]);
        return 2;
    }
    b.bdf = dev && *dev ? dev : DEFAULT_DEVICE;
    b.figures = g_array_new(false, true, sizeof(Figure));
    uname(&uts);
    bench_open(&b);
    b.sim = access("/dev/vfio-sim", F_OK) == 0;
    backend = b.sim ? g_strdup_printf("vfio-sim (host Linux %s)", uts.release) :
                      g_strdup_printf("Linux %s VFIO", uts.release);
    if (g_file_get_contents("/sys/kernel/mm/transparent_hugepage/enabled", &thp_mode, NULL,
                            NULL)) {
        g_strstrip(thp_mode);
    }

    buf2m = alloc_buffer(2 * MiB, true);
    buf64m = alloc_buffer(64 * MiB, true);
    buf64m_small = alloc_buffer(64 * MiB, false);
    thp2m = thp_kib(buf2m);
    thp64m = thp_kib(buf64m);
    thp64m_small = thp_kib(buf64m_small);
    thp_note = g_strdup_printf("2 MiB buffer %ld/2048 KiB huge, 64 MiB buffer %ld/65536 KiB "
                               "huge, 64 MiB 4 KiB-page buffer %ld KiB huge (enabled: %s)",
                               thp2m, thp64m, thp64m_small, thp_mode ? thp_mode : "?");

    bench_floors(&b);
    bench_map_4k(&b);
    bench_map_large(&b, buf2m, 2 * MiB, IOVA_2M, "map-2m-thp", "MAP_DMA 2 MiB THP",
                    "unmap-2m-thp", "UNMAP_DMA 2 MiB THP");
    bench_map_large(&b, buf64m, 64 * MiB, IOVA_64M, "map-64m-thp", "MAP_DMA 64 MiB THP",
                    "unmap-64m-thp", "UNMAP_DMA 64 MiB THP");
    bench_map_large(&b, buf64m_small, 64 * MiB, IOVA_64M, "map-64m-4k",
                    "MAP_DMA 64 MiB 4 KiB pages", "unmap-64m-4k", "UNMAP_DMA 64 MiB 4 KiB pages");
    bench_dirty(&b, buf64m);

    report(&b, backend, thp_note);
    printf("BENCH-META backend=%s kernel=%s device=%s group=%d iommu=%s thp-2m-kib=%ld "
           "thp-64m-kib=%ld load=%.2f elapsed-s=%.1f\n", b.sim ? "vfio-sim" : "linux", uts.release,
           b.bdf, b.group_id, b.iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1",
           thp2m, thp64m, load_average(), (now_ns() - t0) / 1e9);

    close(b.group);
    close(b.container);
    munmap(buf2m, 2 * MiB);
    munmap(buf64m, 64 * MiB);
    munmap(buf64m_small, 64 * MiB);
    g_array_free(b.figures, true);
    return 0;
}
