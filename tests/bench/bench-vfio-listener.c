/*
 * The VFIO listener on a 64 GiB guest, against vfio-sim.
 *
 * Mapping: 64 GiB of pluggable RAM in 2 MiB blocks (virtio-mem style), so
 * 32768 DMA mappings, one per block.  Measured: plugging everything (one
 * populate notification, 32768 MAP_DMA), unplugging everything, and the
 * replay when the listener registers with everything plugged (and its
 * unregistration).  Floor, in the same run on the same container: the same
 * 32768 MAP_DMA ioctls issued raw, then unmapped raw.
 *
 * log_sync: 64 GiB of plain RAM (one mapping) under dirty tracking,
 *   dense   the IOMMU reports every page dirty (an edu: a DMA-capable device);
 *   sparse  a page-pinning device wrote 1024 scattered pages (the IOMMU
 *           reports those only);
 *   dmalog  the migratable device's own DMA log, 1024 pages written.
 * Baselines: memcpy of the 2 MiB bitmap (what touching the bitmap once
 * costs), and the raw bitmap query of the same range (GET_BITMAP or
 * DMA_LOGGING_REPORT: what the sim itself costs).  The listener's own share
 * is the sync's time minus the time spent inside the query ioctl during
 * that very sync (timed by wrappers), which is steadier on a busy machine
 * than subtracting two separate runs.
 *
 * ioctls are counted by a wrapper around the container's backend operations
 * (every MAP/UNMAP/dirty query goes through them) and cross-checked with the
 * sim's MAP_DMA counter.  The memory is RAM_NORESERVE: 64 GiB costs nothing
 * until touched.  Times are wall-clock medians.  Run outside the sim, the
 * program re-executes itself with the sim preloaded from this build tree.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "exec/ram_addr.h"
#include "hw/mem/pluggable-ram.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-device.h"
#include "hw/vfio/vfio-listener.h"

#include <sys/ioctl.h>
#include <time.h>
#include <linux/vfio.h>

#define GUEST_SIZE  (64 * GiB)
#define BLOCK       (2 * MiB)
#define NR_BLOCKS   (GUEST_SIZE / BLOCK)
#define PLUG_BASE   (4 * GiB)       /* above the 32-bit hole: one IOVA range */
#define PAGE        4096ULL
#define NR_PAGES    (GUEST_SIZE / PAGE)
#define SPARSE      1024
#define REPS        5

#define EDU1 "0000:00:01.0"
#define MIG2 "0000:00:02.0"
#define PIN4 "0000:00:04.0"

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return v[n / 2];
}

/* ------------------------------------------------------------------------ */
/* Counting the backend's ioctls */

static const VFIOIOMMUOps *real_ops;
static VFIOIOMMUOps counting_ops;
static uint64_t nr_map, nr_unmap, nr_query;
/* Time spent in the dirty-bitmap ioctls (the sim's work), for the listener's own share. */
static uint64_t query_ns;
static const VFIODeviceIOOps *real_io_ops;
static VFIODeviceIOOps timing_io_ops;

static int count_map(const VFIOContainerBase *bc, hwaddr iova, hwaddr size, void *vaddr,
                     bool readonly)
{
    nr_map++;
    return real_ops->dma_map(bc, iova, size, vaddr, readonly);
}

static int count_unmap(const VFIOContainerBase *bc, hwaddr iova, hwaddr size, bool all)
{
    nr_unmap++;
    return real_ops->dma_unmap(bc, iova, size, all);
}

static int count_unmap_bitmap(const VFIOContainerBase *bc, hwaddr iova, hwaddr size,
                              VFIOBitmap *vbmap)
{
    nr_unmap++;
    return real_ops->dma_unmap_bitmap(bc, iova, size, vbmap);
}

static int count_query(const VFIOContainerBase *bc, VFIOBitmap *vbmap, hwaddr iova,
                       hwaddr size)
{
    uint64_t t0 = now_ns();
    int ret;

    nr_query++;
    ret = real_ops->query_dirty_bitmap(bc, vbmap, iova, size);
    query_ns += now_ns() - t0;
    return ret;
}

static int time_device_feature(VFIODevice *vdev, struct vfio_device_feature *feature)
{
    uint64_t t0 = now_ns();
    int ret = real_io_ops->device_feature(vdev, feature);

    query_ns += now_ns() - t0;
    return ret;
}

static void time_device_ioctls(VFIODevice *dev)
{
    real_io_ops = dev->io_ops;
    timing_io_ops = *real_io_ops;
    timing_io_ops.device_feature = time_device_feature;
    dev->io_ops = &timing_io_ops;
}

static void count_ioctls(VFIOContainerBase *bc)
{
    real_ops = bc->ops;
    counting_ops = *real_ops;
    counting_ops.dma_map = count_map;
    counting_ops.dma_unmap = count_unmap;
    counting_ops.dma_unmap_bitmap = real_ops->dma_unmap_bitmap ? count_unmap_bitmap : NULL;
    counting_ops.query_dirty_bitmap = real_ops->query_dirty_bitmap ? count_query : NULL;
    bc->ops = &counting_ops;
}

static void uncount_ioctls(VFIOContainerBase *bc)
{
    bc->ops = real_ops;
}

static int64_t sim_map_calls(void)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);
    char buf[4096];
    const char *p;
    ssize_t n;

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

static void attach(VFIODevice *dev, const char *bdf, AddressSpace *as)
{
    vfio_device_init(dev, bdf, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    vfio_device_attach(bdf, dev, as, &error_abort);
}

static void detach(VFIODevice *dev)
{
    vfio_device_detach(dev);
    vfio_device_finalize(dev);
}

static void dev_write32(VFIODevice *dev, uint64_t off, uint32_t val)
{
    g_assert(dev->io_ops->region_write(dev, 0, off, &val, 4) == 4);
}

static uint32_t dev_read32(VFIODevice *dev, uint64_t off)
{
    uint32_t val = 0;

    g_assert(dev->io_ops->region_read(dev, 0, off, &val, 4) == 4);
    return val;
}

static void dev_enable(VFIODevice *dev)
{
    uint16_t cmd = 0x6;

    g_assert(dev->io_ops->region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd, 2) == 2);
}

/* ------------------------------------------------------------------------ */
/* Mapping 64 GiB of 2 MiB discard blocks */

typedef struct Row {
    const char *what;
    uint64_t ns;        /* median of REPS */
    uint64_t ops;       /* mappings (or pages) the figure is per */
    uint64_t ioctls;    /* backend calls for one run */
    int64_t sim_maps;   /* MAP_DMA the sim saw in one run (-1: not counted) */
} Row;

static void print_rows(const Row *rows, int n, const char *unit, uint64_t floor_ns)
{
    printf("  %-34s %11s %12s %9s %9s %11s\n", "", "total ms", unit, "x floor", "ioctls",
           "ioctls/op");
    for (int i = 0; i < n; i++) {
        const Row *r = &rows[i];

        printf("  %-34s %11.3f %12.4f %9.2f %9" PRIu64 " %11.5f\n", r->what, r->ns / 1e6,
               (double)r->ns / r->ops / 1000, floor_ns ? (double)r->ns / floor_ns : 0.0,
               r->ioctls, (double)r->ioctls / r->ops);
    }
}

static void bench_mapping(void)
{
    MemoryRegion root, mem;
    AddressSpace as;
    PluggableRam *pr;
    VFIODevice dev;
    VFIOContainerBase *bc;
    int fd;
    uint64_t t[REPS];
    Row rows[6];
    int64_t maps0;
    uint64_t ioc0;
    uint8_t *host;

    memory_region_init(&root, NULL, "bench-map", UINT64_MAX);
    g_assert(memory_region_init_ram_flags(&mem, NULL, "bench-map-mem", GUEST_SIZE,
                                          RAM_NORESERVE, &error_abort));
    pr = pluggable_ram_new(&mem, BLOCK, &error_abort);
    memory_region_add_subregion(&root, PLUG_BASE, &mem);
    address_space_init(&as, &root, "bench-map");
    host = memory_region_get_ram_ptr(&mem);
    attach(&dev, EDU1, &as);
    bc = dev.bcontainer;
    fd = vfio_container_from_base(bc)->fd;
    count_ioctls(bc);

    /* Plug everything: one populate of 64 GiB, 32768 mappings. */
    rows[0] = (Row){ .what = "plug 64 GiB (populate, map)", .ops = NR_BLOCKS };
    rows[1] = (Row){ .what = "unplug 64 GiB (discard, unmap)", .ops = NR_BLOCKS };
    for (int r = 0; r < REPS; r++) {
        uint64_t t0;

        maps0 = sim_map_calls();
        ioc0 = nr_map + nr_unmap;
        t0 = now_ns();
        pluggable_ram_plug(pr, 0, GUEST_SIZE, &error_abort);
        t[r] = now_ns() - t0;
        rows[0].ioctls = nr_map + nr_unmap - ioc0;
        rows[0].sim_maps = sim_map_calls() - maps0;
        g_assert(vfio_container_dma_mappings(bc) == NR_BLOCKS);
        ioc0 = nr_map + nr_unmap;
        t0 = now_ns();
        pluggable_ram_unplug_all(pr, &error_abort);
        rows[1].ns += now_ns() - t0;    /* summed, divided below */
        rows[1].ioctls = nr_map + nr_unmap - ioc0;
        g_assert(vfio_container_dma_mappings(bc) == 0);
    }
    rows[0].ns = median(t, REPS);
    rows[1].ns /= REPS;

    /* The replay: the listener registers with everything plugged. */
    pluggable_ram_plug(pr, 0, GUEST_SIZE, &error_abort);
    rows[2] = (Row){ .what = "register with 64 GiB plugged", .ops = NR_BLOCKS };
    rows[3] = (Row){ .what = "unregister", .ops = NR_BLOCKS };
    for (int r = 0; r < REPS; r++) {
        uint64_t t0;

        ioc0 = nr_map + nr_unmap;
        t0 = now_ns();
        vfio_container_listener_unregister(bc);
        rows[3].ns += now_ns() - t0;
        rows[3].ioctls = nr_map + nr_unmap - ioc0;
        ioc0 = nr_map + nr_unmap;
        maps0 = sim_map_calls();
        t0 = now_ns();
        vfio_container_listener_register(bc, &error_abort);
        t[r] = now_ns() - t0;
        rows[2].ioctls = nr_map + nr_unmap - ioc0;
        rows[2].sim_maps = sim_map_calls() - maps0;
    }
    rows[2].ns = median(t, REPS);
    rows[3].ns /= REPS;
    pluggable_ram_unplug_all(pr, &error_abort);

    /* The floor: the same MAP_DMA ioctls, raw, on the same container. */
    rows[4] = (Row){ .what = "floor: raw MAP_DMA x32768", .ops = NR_BLOCKS,
                     .ioctls = NR_BLOCKS };
    rows[5] = (Row){ .what = "floor: raw UNMAP_DMA x32768", .ops = NR_BLOCKS,
                     .ioctls = NR_BLOCKS };
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();

        for (uint64_t b = 0; b < NR_BLOCKS; b++) {
            struct vfio_iommu_type1_dma_map map = {
                .argsz = sizeof(map),
                .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                .vaddr = (uintptr_t)host + b * BLOCK,
                .iova = PLUG_BASE + b * BLOCK,
                .size = BLOCK,
            };

            g_assert(ioctl(fd, VFIO_IOMMU_MAP_DMA, &map) == 0);
        }
        t[r] = now_ns() - t0;
        t0 = now_ns();
        for (uint64_t b = 0; b < NR_BLOCKS; b++) {
            struct vfio_iommu_type1_dma_unmap unmap = {
                .argsz = sizeof(unmap), .iova = PLUG_BASE + b * BLOCK, .size = BLOCK,
            };

            g_assert(ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0);
        }
        rows[5].ns += now_ns() - t0;
    }
    rows[4].ns = median(t, REPS);
    rows[5].ns /= REPS;

    printf("\nMapping a 64 GiB guest of 2 MiB discard blocks (32768 mappings), edu "
           "container, median of %d:\n", REPS);
    print_rows(rows, 6, "us/mapping", rows[4].ns);
    printf("  MAP_DMA seen by the sim: plug %" PRId64 ", register %" PRId64
           " (one per mapping); unplug and unregister need one UNMAP_DMA each.\n",
           rows[0].sim_maps, rows[2].sim_maps);

    uncount_ioctls(bc);
    detach(&dev);
    address_space_destroy(&as);
    memory_region_del_subregion(&root, &mem);
    pluggable_ram_free(pr);
    memory_region_unparent(&mem);
    memory_region_unparent(&root);
}

/* ------------------------------------------------------------------------ */
/* log_sync of 64 GiB */

typedef struct SyncGuest {
    MemoryRegion root, ram;
    AddressSpace as;
    VFIODevice dev;
} SyncGuest;

static void sync_guest_init(SyncGuest *g, const char *bdf)
{
    memory_region_init(&g->root, NULL, "bench-sync", UINT64_MAX);
    g_assert(memory_region_init_ram_flags(&g->ram, NULL, "bench-sync-ram", GUEST_SIZE,
                                          RAM_NORESERVE, &error_abort));
    /* At 4 GiB: the edu's container has no IOVA below 4 GiB for all of it. */
    memory_region_add_subregion(&g->root, PLUG_BASE, &g->ram);
    address_space_init(&g->as, &g->root, "bench-sync");
    attach(&g->dev, bdf, &g->as);
    dev_enable(&g->dev);
}

static void sync_guest_destroy(SyncGuest *g)
{
    detach(&g->dev);
    address_space_destroy(&g->as);
    memory_region_del_subregion(&g->root, &g->ram);
    memory_region_unparent(&g->ram);
    memory_region_unparent(&g->root);
}

/* 1024 pages spread over the guest, the same in every run. */
static hwaddr sparse_page(unsigned i)
{
    return (hwaddr)(((uint64_t)i * 2654435761u) % NR_PAGES) * PAGE;
}

/* The pinning device writes page @iova through the pinning API. */
static void pin_write(VFIODevice *dev, hwaddr iova)
{
    dev_write32(dev, 0x08, (uint32_t)iova);
    dev_write32(dev, 0x0c, iova >> 32);
    dev_write32(dev, 0x18, 0xbeef);
    dev_write32(dev, 0x10, 3);
    g_assert(dev_read32(dev, 0x14) == 0);
}

/* The migratable device's engine writes page @iova once. */
static void mig_write(VFIODevice *dev, hwaddr iova)
{
    uint32_t seq;

    dev_write32(dev, 0x04, 0);
    dev_write32(dev, 0x10, (uint32_t)iova);
    dev_write32(dev, 0x14, iova >> 32);
    dev_write32(dev, 0x18, 1);
    dev_write32(dev, 0x1c, 1);
    seq = dev_read32(dev, 0x24);
    dev_write32(dev, 0x04, 1);
    while (dev_read32(dev, 0x24) == seq) {
        g_usleep(100);
    }
    dev_write32(dev, 0x04, 0);
}

typedef enum { DENSE, SPARSE_PIN, SPARSE_DMALOG } SyncKind;

/* One figure: median log_sync time, dirty pages found, queries per sync. */
static void bench_sync_one(SyncKind kind, Row *ours, Row *raw, uint64_t *found,
                           uint64_t *own_ns)
{
    static const char *const bdf[] = { EDU1, PIN4, MIG2 };
    SyncGuest g;
    VFIOListenerState *ls;
    uint64_t t[REPS], traw[REPS], own[REPS];
    size_t bytes = NR_PAGES / 8;
    uint64_t *bitmap = g_malloc0(bytes);

    sync_guest_init(&g, bdf[kind]);
    g_assert(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &error_abort));
    ls = g.dev.bcontainer->listener_state;
    count_ioctls(g.dev.bcontainer);
    time_device_ioctls(&g.dev);
    for (int r = 0; r < REPS; r++) {
        uint64_t q0, t0;

        if (kind == SPARSE_PIN) {
            for (unsigned i = 0; i < SPARSE; i++) {
                pin_write(&g.dev, PLUG_BASE + sparse_page(i));
            }
        } else if (kind == SPARSE_DMALOG) {
            for (unsigned i = 0; i < SPARSE; i++) {
                mig_write(&g.dev, PLUG_BASE + sparse_page(i));
            }
        }
        memory_region_test_and_clear_dirty(&g.ram, 0, GUEST_SIZE, DIRTY_MEMORY_MIGRATION);
        q0 = ls->sync_queries;
        ls->dirty_pages_reported = 0;
        query_ns = 0;
        t0 = now_ns();
        memory_global_dirty_log_sync(false);
        t[r] = now_ns() - t0;
        own[r] = t[r] - query_ns;
        ours->ioctls = ls->sync_queries - q0;
        *found = ls->dirty_pages_reported;
    }
    ours->ns = median(t, REPS);
    ours->ops = GUEST_SIZE / GiB;
    *own_ns = median(own, REPS);

    /* The sim's own cost: the same query, raw, into a bitmap nobody reads. */
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();

        if (kind == SPARSE_DMALOG) {
            uint64_t buf[DIV_ROUND_UP(sizeof(struct vfio_device_feature) +
                                      sizeof(struct vfio_device_feature_dma_logging_report),
                                      8)] = { 0 };
            struct vfio_device_feature *f = (void *)buf;
            struct vfio_device_feature_dma_logging_report *rep = (void *)f->data;

            f->argsz = sizeof(buf);
            f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
            rep->iova = PLUG_BASE;
            rep->length = GUEST_SIZE;
            rep->page_size = PAGE;
            rep->bitmap = (uintptr_t)bitmap;
            memset(bitmap, 0, bytes);
            g_assert(g.dev.io_ops->device_feature(&g.dev, f) == 0);
        } else {
            VFIOBitmap vbmap = { .bitmap = bitmap, .size = bytes, .pages = NR_PAGES };

            memset(bitmap, 0, bytes);
            g_assert(vfio_container_iommu_query_dirty_bitmap(g.dev.bcontainer, &vbmap,
                                                             PLUG_BASE, GUEST_SIZE) == 0);
        }
        traw[r] = now_ns() - t0;
    }
    raw->ns = median(traw, REPS);
    raw->ops = GUEST_SIZE / GiB;
    raw->ioctls = 1;

    uncount_ioctls(g.dev.bcontainer);
    g.dev.io_ops = real_io_ops;
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    sync_guest_destroy(&g);
    g_free(bitmap);
}

static void bench_log_sync(void)
{
    size_t bytes = NR_PAGES / 8;
    uint8_t *src = g_malloc(bytes), *dst = g_malloc(bytes);
    uint64_t t[REPS * 4], found[3], own[3];
    Row rows[7];
    Row memcpy_row = { .what = "baseline: memcpy of the 2 MiB bitmap", .ops = GUEST_SIZE / GiB };

    memset(src, 0xff, bytes);
    memset(dst, 0, bytes);
    for (int r = 0; r < REPS * 4; r++) {
        uint64_t t0 = now_ns();

        memcpy(dst, src, bytes);
        t[r] = now_ns() - t0;
        src[r] ^= dst[bytes - 1 - r];
    }
    memcpy_row.ns = median(t, REPS * 4);

    rows[0] = (Row){ .what = "dense: container, edu (all dirty)" };
    rows[1] = (Row){ .what = "  sim floor: raw GET_BITMAP" };
    rows[2] = (Row){ .what = "sparse: container, pin (1024 pages)" };
    rows[3] = (Row){ .what = "  sim floor: raw GET_BITMAP" };
    rows[4] = (Row){ .what = "sparse: DMA logging, mig (1024 pg)" };
    rows[5] = (Row){ .what = "  sim floor: raw DMA_LOGGING_REPORT" };
    bench_sync_one(DENSE, &rows[0], &rows[1], &found[0], &own[0]);
    bench_sync_one(SPARSE_PIN, &rows[2], &rows[3], &found[1], &own[1]);
    bench_sync_one(SPARSE_DMALOG, &rows[4], &rows[5], &found[2], &own[2]);
    rows[6] = memcpy_row;

    printf("\nlog_sync of a 64 GiB guest (16M pages, 2 MiB bitmap), median of %d; "
           "x floor = x memcpy of the bitmap:\n", REPS);
    print_rows(rows, 7, "us/GiB", memcpy_row.ns);
    printf("  The listener's own share (the sync minus the time inside the bitmap ioctl, "
           "measured in the same call):\n");
    for (int i = 0; i < 3; i++) {
        printf("  %-34s %8.3f ms = %7.2f x memcpy, %8" PRIu64 " dirty pages found\n",
               rows[2 * i].what, own[i] / 1e6, (double)own[i] / memcpy_row.ns, found[i]);
    }
    g_free(src);
    g_free(dst);
}

/* ------------------------------------------------------------------------ */

static bool sim_loaded(void)
{
    int fd = open("/dev/vfio-sim", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

/* Run again with this build's libvfio-sim.so preloaded; returns if it cannot. */
static void run_under_sim(char **argv)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
    g_autofree char *lib = NULL;
    g_autofree char *preload = NULL;
    const char *old = g_getenv("LD_PRELOAD");

    if (!dir || g_getenv("BENCH_VFIO_LISTENER_UNDER_SIM")) {
        return;
    }
    lib = g_build_filename(dir, "..", "..", "contrib", "vfio-sim", "libvfio-sim.so", NULL);
    if (access(lib, R_OK)) {
        return;
    }
    preload = old && *old ? g_strdup_printf("%s:%s", old, lib) : g_strdup(lib);
    g_setenv("LD_PRELOAD", preload, true);
    g_setenv("BENCH_VFIO_LISTENER_UNDER_SIM", "1", true);
#if defined(__SANITIZE_ADDRESS__)
    g_setenv("ASAN_OPTIONS", "verify_asan_link_order=0", false);
#endif
    execv(exe, argv);
}

int main(int argc, char **argv)
{
    /* The built-in topology: edu, mig, edu, pin; 65535 mappings allowed. */
    g_setenv("VFIO_SIM_CONFIG", "", true);
    if (!sim_loaded()) {
        run_under_sim(argv);
        printf("bench-vfio-listener: skipped: vfio-sim is not loaded and libvfio-sim.so "
               "was not found in this build tree\n");
        return 0;
    }
    printf("bench-vfio-listener: the VFIO listener on a 64 GiB guest over vfio-sim\n");
    bench_mapping();
    bench_log_sync();
    return 0;
}
