/*
 * Throughput of cpu_physical_memory_set_dirty_lebitmap, the call that ORs a
 * VFIO dirty bitmap into Aperture's dirty memory on every migration sync,
 * against memcpy of the same bitmap measured in the same run.
 *
 * Guests of 1 GiB (32 KiB bitmap) and 64 GiB (2 MiB bitmap).  The RAM is a
 * real RAM block from qemu_ram_alloc(RAM_NORESERVE): it reserves address
 * space but is never touched, so no 64 GiB of memory is needed.
 *
 * Bitmaps: "sparse" (one word in 64 has a few bits, like a device writing
 * a few buffers), "dense" (every page dirty) and "random" (each page dirty
 * with probability 1/2: every word needs an update, the worst case).
 *
 * Clients set: "mig" is the usual headless case (global dirty tracking on,
 * no region logs VGA: one destination bitmap); "vga+mig" adds a region
 * that logs VGA, so VGA is set too (two destinations, QEMU's behaviour).
 *
 * Destination state before each timed call:
 *   steady     the bits are already set (repeated syncs, nobody clears);
 *   migration  MIGRATION was cleared by a migration sync (untimed); VGA,
 *              where logged, is still set (nobody clears it in the bench);
 *   cold       every client clear: each dirty word is written.
 *
 * The ratio is lebitmap time / memcpy time (goal: <= 2).  Each figure is
 * the median of per-call times.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"

#include <time.h>

#define PAGE            ((uint64_t)TARGET_PAGE_SIZE)
/* Per measurement: at least this many calls and this much time. */
#define MIN_CALLS       30
#define MIN_NS          (150 * 1000 * 1000ULL)
#define MAX_CALLS       20000

typedef enum { SPARSE, DENSE, RANDOM, NR_PATTERNS } Pattern;
typedef enum { STEADY, MIGRATION, COLD, NR_STATES } DestState;

static const char *const pattern_names[] = { "sparse", "dense", "random" };
static const char *const state_names[] = { "steady", "migration", "cold" };
static const char *const clients_names[] = { "mig", "vga+mig" };

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return v[n / 2];
}

/* A kernel-layout (little-endian u64) bitmap of @pages bits. */
static uint64_t *make_bitmap(uint64_t pages, Pattern pattern, uint64_t *count)
{
    uint64_t nwords = pages / 64;
    uint64_t *bm = g_new0(uint64_t, nwords);
    GRand *r = g_rand_new_with_seed(42);
    uint64_t i;

    *count = 0;
    for (i = 0; i < nwords; i++) {
        uint64_t w = 0;

        switch (pattern) {
        case SPARSE:
            if (g_rand_int_range(r, 0, 64) == 0) {
                w = (uint64_t)g_rand_int(r) & 0x0f0f;
                w |= 1;
            }
            break;
        case DENSE:
            w = ~0ULL;
            break;
        default:
            w = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
            break;
        }
        *count += ctpop64(w);
        bm[i] = GUINT64_TO_LE(w);
    }
    g_rand_free(r);
    return bm;
}

/* Put the destination bits of @rb in @state before a timed call. */
static void prepare(RAMBlock *rb, unsigned long *sync_dest, DestState state,
                    const uint64_t *bm, uint64_t pages)
{
    ram_addr_t base = qemu_ram_get_offset(rb);

    switch (state) {
    case STEADY:
        cpu_physical_memory_set_dirty_lebitmap((unsigned long *)bm, base,
                                               pages);
        break;
    case MIGRATION:
        cpu_physical_memory_set_dirty_lebitmap((unsigned long *)bm, base,
                                               pages);
        ramblock_dirty_bitmap_sync(rb, sync_dest);
        break;
    default:
        cpu_physical_memory_clear_dirty_range(base, pages * PAGE);
        break;
    }
}

static void run(uint64_t guest_size, bool vga, Pattern pattern,
                DestState state, RAMBlock *rb, uint64_t *copy_dst,
                unsigned long *sync_dest)
{
    uint64_t pages = guest_size / PAGE;
    size_t bytes = pages / 8;
    uint64_t count, ret = 0;
    g_autofree uint64_t *bm = make_bitmap(pages, pattern, &count);
    g_autofree uint64_t *t_set = g_new(uint64_t, MAX_CALLS);
    g_autofree uint64_t *t_cpy = g_new(uint64_t, MAX_CALLS);
    uint64_t start = now_ns(), t0, ns_set, ns_cpy;
    size_t n = 0;

    /* Interleave the two so both see the same machine state. */
    while (n < MAX_CALLS && (n < MIN_CALLS || now_ns() - start < MIN_NS)) {
        prepare(rb, sync_dest, state, bm, pages);
        t0 = now_ns();
        ret = cpu_physical_memory_set_dirty_lebitmap((unsigned long *)bm,
                                                     qemu_ram_get_offset(rb),
                                                     pages);
        t_set[n] = now_ns() - t0;

        t0 = now_ns();
        memcpy(copy_dst, bm, bytes);
        t_cpy[n] = now_ns() - t0;
        /* Keep the copy from being optimised away. */
        __asm__ __volatile__("" : : "r"(copy_dst) : "memory");
        n++;
    }
    if (ret != count) {
        fprintf(stderr, "wrong count: %" PRIu64 " != %" PRIu64 "\n", ret,
                count);
        exit(1);
    }
    ns_set = median(t_set, n);
    ns_cpy = median(t_cpy, n);
    printf("%6" PRIu64 " GiB  %8zu KiB  %-8s %-7s %-10s %10.2f %10.2f %7.2f "
           "%7.1f\n", (uint64_t)(guest_size / GiB), bytes / 1024,
           clients_names[vga], pattern_names[pattern],
           state_names[state], (double)bytes / ns_cpy,
           (double)bytes / ns_set, (double)ns_set / ns_cpy,
           (double)ns_set / 1000);
}

int main(int argc, char **argv)
{
    static const uint64_t sizes[] = { 1 * GiB, 64 * GiB };
    MemoryRegion vga_ram = { 0 };
    size_t i;

    /* As memory_global_dirty_log_start() would: MIGRATION is set too. */
    global_dirty_tracking = GLOBAL_DIRTY_MIGRATION;

    printf("cpu_physical_memory_set_dirty_lebitmap vs memcpy of the bitmap "
           "(median per call; GB/s of bitmap)\n");
#ifdef __x86_64__
    /* What lebitmap_or_aligned_select() picks from. */
    __builtin_cpu_init();
    printf("host: avx2 %s, avx512vpopcntdq %s\n",
           __builtin_cpu_supports("avx2") ? "yes" : "no",
           __builtin_cpu_supports("avx512vpopcntdq") ? "yes" : "no");
#endif
    printf("%10s  %12s  %-8s %-7s %-10s %10s %10s %7s %7s\n", "guest",
           "bitmap", "clients", "pattern", "dest", "memcpy", "lebitmap",
           "ratio", "us");
    /* A display's framebuffer, for the rows where VGA is logged. */
    memory_region_init_ram(&vga_ram, NULL, "bench.vga", 64 * KiB,
                           &error_fatal);
    for (i = 0; i < ARRAY_SIZE(sizes); i++) {
        uint64_t pages = sizes[i] / PAGE;
        RAMBlock *rb = qemu_ram_alloc(sizes[i], RAM_NORESERVE, NULL,
                                      &error_fatal);
        uint64_t *copy_dst = g_new0(uint64_t, pages / 64);
        unsigned long *sync_dest = bitmap_new(pages);
        int p, s, vga;

        for (vga = 0; vga < 2; vga++) {
            if (vga) {
                memory_region_set_log(&vga_ram, true, DIRTY_MEMORY_VGA);
            }
            for (p = 0; p < NR_PATTERNS; p++) {
                for (s = 0; s < NR_STATES; s++) {
                    run(sizes[i], vga, p, s, rb, copy_dst, sync_dest);
                }
            }
            if (vga) {
                memory_region_set_log(&vga_ram, false, DIRTY_MEMORY_VGA);
            }
        }
        g_free(sync_dest);
        g_free(copy_dst);
        qemu_ram_free(rb);
    }
    memory_region_unparent(&vga_ram);
    return 0;
}
