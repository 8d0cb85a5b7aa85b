/*
 * bench-migration: live-migrate a big guest while vfio-sim's migratable
 * device writes guest memory at a steady rate, once per dirty tracking mode,
 * and report what each mode cost:
 *
 *   total time, downtime, stream bytes, page data sent, dirty syncs, and the
 *   page data a perfect tracker would have had to send in the same run
 *   (migration parameter x-needed-bytes: a page resent with unchanged
 *   contents was dirty only to the tracker).
 *
 * Modes: device DMA logging and the IOMMU's tracking with the all-dirty
 * scope (x-vfio-dma-logging=false: every mapped page is dirty at every
 * sync), both with the sim's "mig" device; the IOMMU's pinned scope with its
 * "pin" device, which holds the first half of its window pinned and writes
 * the other half through vfio_dma_rw (pinned pages are dirty at every sync,
 * the others once per write).  A mode that has not converged after
 * BENCH_MIGRATION_FORCE_S seconds is forced: the downtime limit is raised so
 * that the next check switches over, as an operator would, and the row says
 * so.
 *
 * Guest RAM is a memory-backend-file in /dev/shm filled with data, so every
 * page is a real page to send (BENCH_MIGRATION_DATA_PCT of them; the rest
 * zero).  Environment (defaults): BENCH_MIGRATION_RAM_MB (4096),
 * BENCH_MIGRATION_DATA_PCT (100), BENCH_MIGRATION_RATE (device pages per
 * 1 ms tick, 32 = 128 MiB/s), BENCH_MIGRATION_WINDOW_MB (256),
 * BENCH_MIGRATION_BANDWIDTH_MB (1024: the link, MiB/s), BENCH_MIGRATION_FORCE_S
 * (20), BENCH_MIGRATION_MODES (all three, comma-separated, in that order),
 * BENCH_MIGRATION_WARMUP (1: one unreported migration of the first mode
 * before the measured ones).
 * Needs the aperture binary and vfio-sim preloaded (meson sets both).
 * Output: a table, and one "BENCH migration/MODE key=value ..." line per mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../qtest/qpci.h"
#include "../qtest/test-migration-util.h"

#define MIG_SLOT        5
#define GPA_WINDOW      0x10000000ULL       /* 256 MiB */

/* A device engine: where its registers are (contrib/vfio-sim/dev-{mig,pin}.c). */
typedef struct BenchDev {
    const char *host;
    uint32_t reg_on, reg_base, reg_pages, reg_rate, reg_seq_lo, reg_seq_hi;
    uint32_t reg_keep;          /* pages kept pinned (pin), 0 = none */
} BenchDev;

static const BenchDev mig_dev = {
    .host = "0000:00:02.0", .reg_on = 0x04, .reg_base = 0x10, .reg_pages = 0x18,
    .reg_rate = 0x1c, .reg_seq_lo = 0x24, .reg_seq_hi = 0x28,
};

static const BenchDev pin_dev = {
    .host = "0000:00:04.0", .reg_on = 0x24, .reg_base = 0x28, .reg_pages = 0x30,
    .reg_rate = 0x34, .reg_seq_lo = 0x3c, .reg_seq_hi = 0x40, .reg_keep = 0x38,
};

typedef struct BenchConfig {
    uint64_t ram_mb;
    unsigned data_pct;
    unsigned rate;
    uint64_t window_mb;
    uint64_t bandwidth_mb;
    unsigned force_s;
    bool warmup;                /* one unreported migration first */
} BenchConfig;

typedef struct BenchResult {
    const char *mode;
    bool available;
    char *why;                  /* when not */
    char *tracking;             /* what query-migrate reported */
    bool forced;
    int64_t total_ms, downtime_ms, setup_ms;
    int64_t stream_bytes, page_bytes, needed_bytes, zero_pages, vfio_bytes;
    int64_t syncs;
    uint64_t device_pages;      /* pages the device wrote during the migration */
} BenchResult;

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *v = g_getenv(name);

    return v && *v ? g_ascii_strtoull(v, NULL, 0) : def;
}

static const char *env_str(const char *name, const char *def)
{
    const char *v = g_getenv(name);

    return v && *v ? v : def;
}

/* Remove RAM files that runs which died left behind (their pid is gone). */
static void remove_stale_ram_files(void)
{
    GDir *dir = g_dir_open("/dev/shm", 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        const char *dash = strrchr(name, '-');
        g_autofree char *proc = NULL;
        g_autofree char *path = NULL;

        if (!g_str_has_prefix(name, "aperture-bench-") || !dash) {
            continue;
        }
        proc = g_strdup_printf("/proc/%s", dash + 1);
        if (!g_file_test(proc, G_FILE_TEST_EXISTS)) {
            path = g_build_filename("/dev/shm", name, NULL);
            unlink(path);
        }
    }
    if (dir) {
        g_dir_close(dir);
    }
}

/* The source's RAM: a tmpfs file of @mb MiB, @pct % of its pages non-zero. */
static char *make_ram_file(const char *tag, uint64_t mb, unsigned pct, bool fill)
{
    char *path = g_strdup_printf("/dev/shm/aperture-bench-%s-%d", tag, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    g_autofree uint64_t *buf = g_malloc(1 << 20);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, mb << 20), ==, 0);
    for (uint64_t m = 0; fill && m < mb; m++) {
        for (size_t w = 0; w < (1 << 20) / 8; w++) {
            size_t page = (m * 256 + w / 512);

            buf[w] = page % 100 < pct ? (m << 32 | w) * 0x9e3779b97f4a7c15ULL + 1 : 0;
        }
        g_assert_cmpint(pwrite(fd, buf, 1 << 20, m << 20), ==, 1 << 20);
    }
    close(fd);
    return path;
}

static QTestState *start_vm(const char *ram_file, const BenchConfig *c, const char *dev,
                            const char *extra)
{
    return qtest_initf("-object memory-backend-file,id=ram0,size=%" G_GUINT64_FORMAT "M,"
                       "mem-path=%s,share=on -machine q35,memory-backend=ram0 "
                       "-device vfio-pci,host=%s,id=dev0,addr=%02x.0 %s", c->ram_mb, ram_file,
                       dev, MIG_SLOT, extra);
}

static int64_t obj_int(JsonObject *o, const char *name)
{
    return o && json_object_has_member(o, name) ? json_object_get_int_member(o, name) : 0;
}

static uint64_t dev_seq(const BenchDev *bd, QPCIDevice *d, QPCIBar bar)
{
    uint32_t lo = qpci_io_readl(d, bar, bd->reg_seq_lo);

    return (uint64_t)qpci_io_readl(d, bar, bd->reg_seq_hi) << 32 | lo;
}

static void bench_result_clear(BenchResult *r)
{
    g_free(r->why);
    g_free(r->tracking);
}

static void run_mode(const BenchConfig *c, const char *mode, const char *src_ram,
                     BenchResult *r)
{
    g_autofree char *dst_ram = make_ram_file("dst", c->ram_mb, 0, false);
    g_autofree char *sock = mig_path("bench.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf("-incoming %s", uri);
    const BenchDev *bd = !strcmp(mode, "container-pinned") ? &pin_dev : &mig_dev;
    QTestState *src, *dst;
    JsonObject *info, *ram, *vfio;
    QPCIBus *bus;
    QPCIDevice *d;
    QPCIBar bar0;
    uint64_t seq0;
    gint64 t0;

    memset(r, 0, sizeof(*r));
    r->mode = mode;
    src = start_vm(src_ram, c, bd->host, "");
    info = mig_qmp(src, "{'execute': 'x-query-vfio-migration'}");
    {
        JsonObject *dev = json_array_get_object_element(
            json_object_get_array_member(info, "devices"), 0);

        r->available = dev && json_object_get_boolean_member(dev, "migratable");
        if (!r->available) {
            r->why = g_strdup(dev && json_object_has_member(dev, "blocker")
                              ? json_object_get_string_member(dev, "blocker")
                              : "the device does not migrate");
        }
    }
    json_object_unref(info);
    if (!r->available) {
        qtest_quit(src);
        unlink(dst_ram);
        return;
    }
    dst = start_vm(dst_ram, c, bd->host, incoming);
    /* It has the file mapped: the name can go now, whatever happens next. */
    unlink(dst_ram);

    /* The device writes the window at a steady rate. */
    bus = qpci_new_conf1(src);
    d = qpci_device_find(bus, PCI_DEVFN(MIG_SLOT, 0));
    bar0 = qpci_iomap(d, 0, NULL);
    qpci_device_enable(d);
    qpci_io_writel(d, bar0, bd->reg_base, GPA_WINDOW);
    qpci_io_writel(d, bar0, bd->reg_base + 4, 0);
    qpci_io_writel(d, bar0, bd->reg_pages, c->window_mb * 256);
    if (bd->reg_keep) {
        qpci_io_writel(d, bar0, bd->reg_keep, c->window_mb * 128);
    }
    qpci_io_writel(d, bar0, bd->reg_rate, c->rate);
    qpci_io_writel(d, bar0, bd->reg_on, 1);
    g_usleep(G_USEC_PER_SEC / 2);
    seq0 = dev_seq(bd, d, bar0);
    json_object_unref(mig_qmp(src, "{'execute': 'migrate-set-parameters', 'arguments': "
                              "{'max-bandwidth': %" G_GUINT64_FORMAT ", 'downtime-limit': 300, "
                              "'x-needed-bytes': true, 'x-vfio-dma-logging': %s}}",
                              c->bandwidth_mb << 20,
                              !strcmp(mode, "device-dma-logging") ? "true" : "false"));
    mig_migrate(src, uri);
    t0 = g_get_monotonic_time();
    for (;;) {
        g_autofree char *st = mig_status(src);

        if (!strcmp(st, "completed") || !strcmp(st, "failed")) {
            g_assert_cmpstr(st, ==, "completed");
            break;
        }
        if (!r->forced && g_get_monotonic_time() - t0 > (gint64)c->force_s * G_USEC_PER_SEC) {
            /* Not converging: switch over whatever it costs. */
            r->forced = true;
            json_object_unref(mig_qmp(src, "{'execute': 'migrate-set-parameters', "
                                      "'arguments': {'downtime-limit': 2000000}}"));
        }
        g_usleep(50 * 1000);
    }
    g_free(mig_wait_status(dst, 120, "completed", NULL));
    r->device_pages = dev_seq(bd, d, bar0) - seq0;
    info = mig_qmp(src, "{'execute': 'query-migrate'}");
    ram = json_object_get_object_member(info, "ram");
    vfio = json_object_get_object_member(info, "vfio");
    r->total_ms = obj_int(info, "total-time");
    r->downtime_ms = obj_int(info, "downtime");
    r->setup_ms = obj_int(info, "setup-time");
    r->stream_bytes = obj_int(info, "x-stream-bytes");
    r->page_bytes = obj_int(ram, "normal-bytes");
    r->needed_bytes = obj_int(ram, "x-needed-bytes");
    r->zero_pages = obj_int(ram, "duplicate");
    r->syncs = obj_int(ram, "dirty-sync-count");
    r->vfio_bytes = obj_int(vfio, "transferred");
    r->tracking = g_strdup(vfio && json_object_has_member(vfio, "dirty-tracking")
                           ? json_object_get_string_member(vfio, "dirty-tracking") : "none");
    json_object_unref(info);
    g_free(d);
    qpci_free(bus);
    qtest_quit(src);
    qtest_quit(dst);
    unlink(dst_ram);
}

int main(int argc, char **argv)
{
    g_auto(GStrv) modes = g_strsplit(env_str("BENCH_MIGRATION_MODES",
                                             "device-dma-logging,container-all-dirty,"
                                             "container-pinned"), ",", -1);
    guint nr_modes = g_strv_length(modes);
    BenchConfig c = {
        .ram_mb = env_u64("BENCH_MIGRATION_RAM_MB", 4096),
        .data_pct = env_u64("BENCH_MIGRATION_DATA_PCT", 100),
        .rate = env_u64("BENCH_MIGRATION_RATE", 32),
        .window_mb = env_u64("BENCH_MIGRATION_WINDOW_MB", 256),
        .bandwidth_mb = env_u64("BENCH_MIGRATION_BANDWIDTH_MB", 1024),
        .force_s = env_u64("BENCH_MIGRATION_FORCE_S", 20),
        .warmup = env_u64("BENCH_MIGRATION_WARMUP", 1),
    };
    g_autofree BenchResult *res = g_new0(BenchResult, nr_modes);
    g_autofree char *src_ram = NULL;
    gint64 t;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("# bench-migration: %" G_GUINT64_FORMAT " MiB guest (%u%% pages with data), device "
           "writing %u pages/ms over a %" G_GUINT64_FORMAT " MiB window, link %" G_GUINT64_FORMAT
           " MiB/s, downtime limit 300 ms, forced switchover after %u s\n", c.ram_mb,
           c.data_pct, c.rate, c.window_mb, c.bandwidth_mb, c.force_s);
    remove_stale_ram_files();
    t = g_get_monotonic_time();
    src_ram = make_ram_file("src", c.ram_mb, c.data_pct, true);
    printf("# guest RAM file written in %.1f s\n", (g_get_monotonic_time() - t) / 1e6);
    fflush(stdout);
    if (c.warmup && nr_modes) {
        /*
         * The first migration on a fresh RAM file runs markedly slower
         * (1.8x at 4 GiB here, whichever the mode): tmpfs and page-table
         * warm-up, not tracking.  Measured runs come after one.
         */
        BenchResult warm;

        run_mode(&c, modes[0], src_ram, &warm);
        printf("# warm-up migration (%s): %" G_GINT64_FORMAT " ms, not reported\n", modes[0],
               warm.total_ms);
        bench_result_clear(&warm);
        fflush(stdout);
    }
    for (guint i = 0; i < nr_modes; i++) {
        run_mode(&c, modes[i], src_ram, &res[i]);
    }
    unlink(src_ram);

    printf("\n%-20s %-19s %9s %9s %8s %11s %11s %11s %7s %6s %11s\n", "mode", "tracking",
           "total ms", "downtime", "setup", "stream MiB", "pages MiB", "perfect MiB", "ratio",
           "syncs", "device MiB");
    for (guint i = 0; i < nr_modes; i++) {
        BenchResult *r = &res[i];

        if (!r->available) {
            printf("%-20s unavailable: %s\n", r->mode, r->why);
            continue;
        }
        printf("%-20s %-19s %9" G_GINT64_FORMAT " %7" G_GINT64_FORMAT "%s %8" G_GINT64_FORMAT
               " %11.1f %11.1f %11.1f %6.2fx %6" G_GINT64_FORMAT " %11.1f\n", r->mode,
               r->tracking, r->total_ms, r->downtime_ms, r->forced ? "*f" : "  ", r->setup_ms,
               r->stream_bytes / 1048576.0, r->page_bytes / 1048576.0,
               r->needed_bytes / 1048576.0,
               r->needed_bytes ? (double)r->page_bytes / r->needed_bytes : 0.0, r->syncs,
               r->device_pages * 4096 / 1048576.0);
    }
    printf("(*f: did not converge within %u s; switched over with the downtime limit "
           "raised)\n", c.force_s);
    printf("(perfect: page data a tracker reporting only pages whose contents changed would "
           "have sent; ratio = pages sent / perfect)\n");
    for (guint i = 0; i < nr_modes; i++) {
        BenchResult *r = &res[i];

        if (r->available) {
            printf("BENCH migration/%s total_ms=%" G_GINT64_FORMAT " downtime_ms=%" G_GINT64_FORMAT
                   " forced=%d stream_bytes=%" G_GINT64_FORMAT " page_bytes=%" G_GINT64_FORMAT
                   " perfect_bytes=%" G_GINT64_FORMAT " syncs=%" G_GINT64_FORMAT
                   " vfio_bytes=%" G_GINT64_FORMAT " device_bytes=%" G_GUINT64_FORMAT "\n",
                   r->mode, r->total_ms, r->downtime_ms, r->forced, r->stream_bytes,
                   r->page_bytes, r->needed_bytes, r->syncs, r->vfio_bytes,
                   r->device_pages * 4096);
        }
        bench_result_clear(r);
    }
    return 0;
}
