/*
 * Live migration of a VM with an assigned device, over vfio-sim
 * (hw/vfio/migration.c, migration/): a migratable device writes guest
 * pages by DMA while the VM migrates, in each dirty tracking mode (the
 * sim's "mig" device for DMA logging and the IOMMU's all-dirty scope, its
 * page-pinning "pin" device for the pinned scope);
 * the destination's RAM equals the source's at switchover byte for byte,
 * the device's state equals, and the device keeps running (DMA, MSI-X)
 * once the destination runs.  Then the same under faults at each step (a
 * refused state transition at setup and at switchover, short data_fd
 * reads, the channel closed, the destination killed before and at the
 * switchover, a destination that refuses the device data): the source VM
 * keeps running, its device back in RUNNING, no VFIO mapping or fd
 * leaked, and a second migration is correct.  And the configuration
 * checks: a device missing or different on the destination, blockers.
 *
 * The aperture processes run with the sim preloaded (meson sets LD_PRELOAD
 * and VFIO_SIM_CONFIG); a test that needs another topology or faults sets
 * VFIO_SIM_CONFIG / VFIO_SIM_FAULTS for the process it starts.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "qpci.h"
#include "test-migration-util.h"

#define RAM_MB          64
#define RAM_BYTES       ((uint64_t)RAM_MB << 20)
#define MIG_HOST        "0000:00:02.0"
#define PIN_HOST        "0000:00:04.0"
#define MIG_SLOT        5
#define MIG2_SLOT       6

/* Guest memory the device writes, the MSI-X target, data filled by the test */
#define GPA_WINDOW      0x1000000ULL
#define WINDOW_PAGES    256
#define GPA_MSI         0x2fff000ULL
#define MSIX_DATA       0x4321
#define GPA_DATA        0x2000000ULL
#define DATA_BYTES      (8 << 20)

/* The mig device's registers (contrib/vfio-sim/dev-mig.c) */
#define MIG_REG_ID          0x00
#define MIG_REG_CTRL        0x04
#define MIG_REG_STATUS      0x08
#define MIG_REG_DMA_BASE    0x10
#define MIG_REG_DMA_PAGES   0x18
#define MIG_REG_RATE        0x1c
#define MIG_REG_PATTERN     0x20
#define MIG_REG_SEQ_LO      0x24
#define MIG_REG_SEQ_HI      0x28
#define MIG_REG_FAULTS      0x2c
#define MIG_REG_STATE_INDEX 0x30
#define MIG_REG_STATE_DATA  0x34
#define MIG_REG_STATE_SIZE  0x38
#define MIG_ID              0x3147494du
#define MIG_CTRL_ON_IRQ     0x3

/* The pin device's engine (contrib/vfio-sim/dev-pin.c) */
#define PIN_REG_ID          0x00
#define PIN_REG_PATTERN     0x18
#define PIN_REG_PINNED      0x1c
#define PIN_REG_ENGINE      0x24
#define PIN_REG_WINDOW      0x28
#define PIN_REG_PAGES       0x30
#define PIN_REG_RATE        0x34
#define PIN_REG_KEEP        0x38
#define PIN_REG_SEQ_LO      0x3c
#define PIN_REG_SEQ_HI      0x40
#define PIN_REG_FAULTS      0x44
#define PIN_REG_HELD        0x48
#define PIN_ID              0x314e4950u

/* How the test makes the containers track. */
typedef enum TrackMode {
    TRACK_DMA_LOGGING,          /* the device logs its DMA */
    TRACK_CONTAINER_ALL,        /* x-vfio-dma-logging=false: the IOMMU, every mapped page */
    TRACK_CONTAINER_PINNED,     /* a pinning device alone: the IOMMU, pinned pages */
} TrackMode;

/* What query-migrate reports for each, and the test's name for it. */
static const char *const mode_names[] = {
    [TRACK_DMA_LOGGING] = "device-dma-logging",
    [TRACK_CONTAINER_ALL] = "container",
    [TRACK_CONTAINER_PINNED] = "container",
};
static const char *const mode_labels[] = {
    [TRACK_DMA_LOGGING] = "device-dma-logging",
    [TRACK_CONTAINER_ALL] = "container-all-dirty",
    [TRACK_CONTAINER_PINNED] = "container-pinned",
};

typedef struct MigDev MigDev;

/* What the tests need to know of a device model. */
typedef struct DevKind {
    const char *host;
    uint32_t id;                /* register 0 */
    uint32_t reg_seq_lo, reg_seq_hi, reg_faults;
    const uint32_t *regs;       /* compared between source and destination */
    size_t nr_regs;
    bool internal_state;        /* STATE_INDEX / STATE_DATA / STATE_SIZE (mig) */
    uint32_t state_bytes;       /* device data a migration carries, at least */
    bool msix;                  /* MSI-X vector 0 after each pass (mig) */
    /* Point the engine at @window, @rate pages per tick, and start it. */
    void (*start_engine)(MigDev *d, uint64_t window, uint32_t rate);
} DevKind;

/* The assigned device as the guest sees it. */
struct MigDev {
    const DevKind *kind;
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar0;
};

static void mig_start_engine(MigDev *d, uint64_t window, uint32_t rate)
{
    qpci_msix_enable(d->dev);
    qpci_msix_set_vector(d->dev, 0, GPA_MSI, MSIX_DATA);
    qpci_io_writel(d->dev, d->bar0, MIG_REG_DMA_BASE, window);
    qpci_io_writel(d->dev, d->bar0, MIG_REG_DMA_BASE + 4, window >> 32);
    qpci_io_writel(d->dev, d->bar0, MIG_REG_DMA_PAGES, WINDOW_PAGES);
    qpci_io_writel(d->dev, d->bar0, MIG_REG_RATE, rate);
    qpci_io_writel(d->dev, d->bar0, MIG_REG_CTRL, MIG_CTRL_ON_IRQ);
}

/*
 * Half the window stays pinned and is written through the pins, which no
 * dirty bit records: only "pinned pages are dirty while pinned" brings
 * them over.  The other half goes through vfio_dma_rw, which marks them.
 */
static void pin_start_engine(MigDev *d, uint64_t window, uint32_t rate)
{
    qpci_io_writel(d->dev, d->bar0, PIN_REG_WINDOW, window);
    qpci_io_writel(d->dev, d->bar0, PIN_REG_WINDOW + 4, window >> 32);
    qpci_io_writel(d->dev, d->bar0, PIN_REG_PAGES, WINDOW_PAGES);
    qpci_io_writel(d->dev, d->bar0, PIN_REG_KEEP, WINDOW_PAGES / 2);
    qpci_io_writel(d->dev, d->bar0, PIN_REG_PATTERN, 0x9a9a0000);
    qpci_io_writel(d->dev, d->bar0, PIN_REG_RATE, rate);
    qpci_io_writel(d->dev, d->bar0, PIN_REG_ENGINE, 1);
}

static const uint32_t mig_regs[] = {
    MIG_REG_CTRL, MIG_REG_DMA_BASE, MIG_REG_DMA_BASE + 4, MIG_REG_DMA_PAGES, MIG_REG_RATE,
    MIG_REG_PATTERN, MIG_REG_SEQ_LO, MIG_REG_SEQ_HI, MIG_REG_FAULTS, MIG_REG_STATE_SIZE,
};

static const uint32_t pin_regs[] = {
    PIN_REG_PATTERN, PIN_REG_PINNED, PIN_REG_ENGINE, PIN_REG_WINDOW, PIN_REG_WINDOW + 4,
    PIN_REG_PAGES, PIN_REG_RATE, PIN_REG_KEEP, PIN_REG_SEQ_LO, PIN_REG_SEQ_HI, PIN_REG_FAULTS,
};

static const DevKind mig_kind = {
    .host = MIG_HOST, .id = MIG_ID,
    .reg_seq_lo = MIG_REG_SEQ_LO, .reg_seq_hi = MIG_REG_SEQ_HI, .reg_faults = MIG_REG_FAULTS,
    .regs = mig_regs, .nr_regs = G_N_ELEMENTS(mig_regs),
    .internal_state = true, .state_bytes = 64 * 1024, .msix = true,
    .start_engine = mig_start_engine,
};

static const DevKind pin_kind = {
    .host = PIN_HOST, .id = PIN_ID,
    .reg_seq_lo = PIN_REG_SEQ_LO, .reg_seq_hi = PIN_REG_SEQ_HI, .reg_faults = PIN_REG_FAULTS,
    .regs = pin_regs, .nr_regs = G_N_ELEMENTS(pin_regs),
    .state_bytes = 64,          /* its registers */
    .start_engine = pin_start_engine,
};

/* The device a tracking mode is shown with. */
static const DevKind *mode_kind(TrackMode mode)
{
    return mode == TRACK_CONTAINER_PINNED ? &pin_kind : &mig_kind;
}

/* ------------------------------------------------------------------------ */
/* Processes */

/* Start aperture with @sim_config (NULL: inherited) and @sim_faults (NULL: none). */
static QTestState *start_vm(const char *sim_config, const char *sim_faults, const char *fmt,
                            ...) G_GNUC_PRINTF(3, 4);

static QTestState *start_vm(const char *sim_config, const char *sim_faults, const char *fmt,
                            ...)
{
    g_autofree char *config = sim_config ? g_strconcat("VFIO_SIM_CONFIG=", sim_config, NULL)
                                         : NULL;
    g_autofree char *faults = sim_faults ? g_strconcat("VFIO_SIM_FAULTS=", sim_faults, NULL)
                                         : g_strdup("VFIO_SIM_FAULTS");
    const char *env[3] = { faults, config, NULL };
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_initf_env(env, "-machine q35 -m %d %s", RAM_MB, args);
}

static QTestState *start_source(const DevKind *kind, const char *faults)
{
    return start_vm(NULL, faults, "-device vfio-pci,host=%s,id=mig0,addr=%02x.0", kind->host,
                    MIG_SLOT);
}

/* The destination, paused after loading (-S) so that its state can be compared. */
static QTestState *start_dest(const DevKind *kind, const char *uri, const char *faults)
{
    return start_vm(NULL, faults, "-device vfio-pci,host=%s,id=mig0,addr=%02x.0 -S "
                    "-incoming %s", kind->host, MIG_SLOT, uri);
}

static char *new_uri(const char *name)
{
    g_autofree char *sock = mig_path(name);

    return g_strdup_printf("unix:%s", sock);
}

/* x-query-vfio-migration's entry for @host (ref'd), or NULL. */
static JsonObject *vfio_mig_info(QTestState *s, const char *host)
{
    JsonObject *r = mig_qmp(s, "{'execute': 'x-query-vfio-migration'}");
    JsonArray *devs = json_object_get_array_member(r, "devices");
    JsonObject *found = NULL;

    for (guint i = 0; i < json_array_get_length(devs); i++) {
        JsonObject *o = json_array_get_object_element(devs, i);

        if (!strcmp(json_object_get_string_member(o, "host"), host)) {
            found = json_object_ref(o);
        }
    }
    json_object_unref(r);
    return found;
}

/* Skip unless the build migrates VFIO devices (vfio-pci calls hw/vfio/migration.c). */
static bool vfio_migration_available(void)
{
    static int available = -1;

    if (available < 0) {
        QTestState *s = start_source(&mig_kind, NULL);
        JsonObject *reply = qtest_qmp(s, "{'execute': 'x-query-vfio-migration'}");
        JsonObject *info = NULL;

        if (json_object_has_member(reply, "return")) {
            info = vfio_mig_info(s, MIG_HOST);
        }
        available = info && json_object_get_boolean_member(info, "migratable");
        if (info) {
            json_object_unref(info);
        }
        json_object_unref(reply);
        qtest_quit(s);
    }
    if (!available) {
        g_test_skip("vfio-pci does not register VFIO migration in this build "
                    "(vfio_migration_realize)");
    }
    return available;
}

static char *device_state(QTestState *s, const char *host)
{
    JsonObject *info = vfio_mig_info(s, host);
    char *st = g_strdup(json_object_get_string_member(info, "state"));

    json_object_unref(info);
    return st;
}

/* Open fds of @s's process. */
static int count_fds(QTestState *s)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", qtest_pid(s));
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    g_assert_nonnull(d);
    while ((e = readdir(d))) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* VFIO mappings of the first container (query-vfio). */
static int64_t vfio_mappings(QTestState *s)
{
    JsonObject *r = mig_qmp(s, "{'execute': 'query-vfio'}");
    JsonArray *cs = json_object_get_array_member(r, "containers");
    int64_t n = json_object_get_int_member(json_array_get_object_element(cs, 0), "mappings");

    json_object_unref(r);
    return n;
}

/* ------------------------------------------------------------------------ */
/* The device */

static void migdev_find(MigDev *d, const DevKind *kind, QTestState *qts, int slot)
{
    d->kind = kind;
    d->qts = qts;
    d->bus = qpci_new_conf1(qts);
    d->dev = qpci_device_find(d->bus, PCI_DEVFN(slot, 0));
    g_assert_nonnull(d->dev);
}

static uint32_t migdev_reg(MigDev *d, uint32_t reg)
{
    return qpci_io_readl(d->dev, d->bar0, reg);
}

/* Source: map BAR0, enable, the engine writing its window (1 MiB per slot). */
static void migdev_start(MigDev *d, const DevKind *kind, QTestState *qts, int slot,
                         uint32_t rate)
{
    migdev_find(d, kind, qts, slot);
    d->bar0 = qpci_iomap(d->dev, 0, NULL);
    qpci_device_enable(d->dev);
    g_assert_cmphex(migdev_reg(d, 0), ==, kind->id);
    kind->start_engine(d, GPA_WINDOW + (slot - MIG_SLOT) * 0x100000ULL, rate);
}

/* Destination: the device as the migration left it (BAR0 where the guest put it). */
static void migdev_attach(MigDev *d, const DevKind *kind, QTestState *qts, int slot)
{
    migdev_find(d, kind, qts, slot);
    d->bar0 = (QPCIBar) { .addr = qpci_config_readl(d->dev, 0x10) & ~0xfULL };
    g_assert_cmphex(migdev_reg(d, 0), ==, kind->id);
}

static void migdev_free(MigDev *d)
{
    g_free(d->dev);
    qpci_free(d->bus);
}

static uint64_t migdev_seq(MigDev *d)
{
    uint32_t lo = migdev_reg(d, d->kind->reg_seq_lo);

    return (uint64_t)migdev_reg(d, d->kind->reg_seq_hi) << 32 | lo;
}

/* Wait until the device wrote @pages more pages; false after 5 s. */
static bool migdev_wait_progress(MigDev *d, uint64_t pages)
{
    uint64_t start = migdev_seq(d);

    for (int i = 0; i < 500; i++) {
        if (migdev_seq(d) >= start + pages) {
            return true;
        }
        g_usleep(10 * 1000);
    }
    return false;
}

/* Registers, then every word of the internal state (@full) or 64 of them. */
static GArray *migdev_snapshot(MigDev *d, bool full)
{
    GArray *a = g_array_new(false, false, sizeof(uint32_t));
    uint32_t words;

    for (size_t i = 0; i < d->kind->nr_regs; i++) {
        uint32_t v = migdev_reg(d, d->kind->regs[i]);

        g_array_append_val(a, v);
    }
    if (!d->kind->internal_state) {
        return a;
    }
    words = migdev_reg(d, MIG_REG_STATE_SIZE) / 4;
    qpci_io_writel(d->dev, d->bar0, MIG_REG_STATE_INDEX, 0);
    for (uint32_t i = 0; i < (full ? words : 64); i++) {
        uint32_t v = migdev_reg(d, MIG_REG_STATE_DATA);

        g_array_append_val(a, v);
    }
    return a;
}

static void assert_same_device_state(MigDev *src, MigDev *dst, bool full)
{
    GArray *a = migdev_snapshot(src, full), *b = migdev_snapshot(dst, full);

    g_assert_cmpuint(a->len, ==, b->len);
    for (guint i = 0; i < a->len; i++) {
        if (g_array_index(a, uint32_t, i) != g_array_index(b, uint32_t, i)) {
            g_test_message("device state word %u: source 0x%08x, destination 0x%08x", i,
                           g_array_index(a, uint32_t, i), g_array_index(b, uint32_t, i));
            g_assert_not_reached();
        }
    }
    g_test_message("device state equal: %u words, %" G_GUINT64_FORMAT " pages written "
                   "at switchover", a->len, migdev_seq(src));
    g_array_free(a, true);
    g_array_free(b, true);
}

/* The destination runs: the device writes on, without DMA faults, and MSI-X arrives. */
static void assert_device_keeps_running(MigDev *d)
{
    qtest_writel(d->qts, GPA_MSI, 0);
    g_assert_true(migdev_wait_progress(d, 2 * WINDOW_PAGES));
    g_assert_cmpuint(migdev_reg(d, d->kind->reg_faults), ==, 0);
    if (!d->kind->msix) {
        return;
    }
    for (int i = 0; i < 500 && qtest_readl(d->qts, GPA_MSI) != MSIX_DATA; i++) {
        g_usleep(10 * 1000);
    }
    g_assert_cmphex(qtest_readl(d->qts, GPA_MSI), ==, MSIX_DATA);
}

/* ------------------------------------------------------------------------ */
/* Live migration per tracking mode */

static void set_mode(QTestState *src, TrackMode mode)
{
    if (mode == TRACK_CONTAINER_ALL) {
        /*
         * Every sync reports all of RAM dirty: it converges only when all of
         * it fits in the downtime limit, which a slow (sanitizer) build may
         * not manage in 300 ms.
         */
        JsonObject *r = mig_qmp(src, "{'execute': 'migrate-set-parameters', "
                                "'arguments': {'x-vfio-dma-logging': false, "
                                "'downtime-limit': 5000}}");

        json_object_unref(r);
    }
}

static void check_mode_used(QTestState *src, TrackMode mode)
{
    const DevKind *kind = mode_kind(mode);
    JsonObject *info = mig_qmp(src, "{'execute': 'query-migrate'}");
    JsonObject *vfio = json_object_get_object_member(info, "vfio");

    g_assert_cmpint(json_object_get_int_member(vfio, "devices"), >=, 1);
    g_assert_cmpint(json_object_get_int_member(vfio, "transferred"), >, kind->state_bytes);
    g_assert_cmpstr(json_object_get_string_member(vfio, "dirty-tracking"), ==,
                    mode_names[mode]);
    g_test_message("dirty syncs %" G_GINT64_FORMAT ", downtime %" G_GINT64_FORMAT " ms",
                   json_object_get_int_member(json_object_get_object_member(info, "ram"),
                                              "dirty-sync-count"),
                   json_object_get_int_member(info, "downtime"));
    json_object_unref(info);
}

static void test_live(gconstpointer opaque)
{
    TrackMode mode = GPOINTER_TO_INT(opaque);
    const DevKind *kind = mode_kind(mode);
    g_autofree char *uri = new_uri("live.sock");
    QTestState *src, *dst;
    MigDev sd, dd;

    if (!vfio_migration_available()) {
        return;
    }
    dst = start_dest(kind, uri, NULL);
    src = start_source(kind, NULL);
    mig_fill(src, GPA_DATA, DATA_BYTES, 11);
    migdev_start(&sd, kind, src, MIG_SLOT, 8);
    g_assert_true(migdev_wait_progress(&sd, 2 * WINDOW_PAGES));
    if (mode == TRACK_CONTAINER_PINNED) {
        /* The engine holds its pins: the container's scope is the pinned pages. */
        g_assert_cmpuint(migdev_reg(&sd, PIN_REG_HELD), ==, WINDOW_PAGES / 2);
    }
    set_mode(src, mode);
    /*
     * Slow enough for several passes while the device writes.  Not with the
     * IOMMU's all-dirty scope: every sync reports all of RAM dirty, so only
     * a bandwidth that sends it within the downtime limit converges.
     */
    mig_set_param(src, "max-bandwidth", mode == TRACK_CONTAINER_ALL ? 0 : 32 << 20);
    mig_migrate(src, uri);
    mig_wait_completed(src, dst);
    check_mode_used(src, mode);

    /* Source stopped at switchover, destination not started (-S): both frozen. */
    mig_assert_memory_equal(src, dst, 0, RAM_BYTES);
    migdev_attach(&dd, kind, dst, MIG_SLOT);
    assert_same_device_state(&sd, &dd, true);
    {
        g_autofree char *s1 = device_state(src, kind->host);
        g_autofree char *s2 = device_state(dst, kind->host);

        g_assert_cmpstr(s1, ==, "STOP");
        g_assert_cmpstr(s2, ==, "STOP");
    }
    json_object_unref(mig_qmp(dst, "{'execute': 'cont'}"));
    assert_device_keeps_running(&dd);
    if (mode == TRACK_CONTAINER_PINNED) {
        /* It pinned its pages again, through the destination's own mappings. */
        g_assert_cmpuint(migdev_reg(&dd, PIN_REG_HELD), ==, WINDOW_PAGES / 2);
    }
    {
        g_autofree char *st = device_state(dst, kind->host);

        g_assert_cmpstr(st, ==, "RUNNING");
    }
    migdev_free(&sd);
    migdev_free(&dd);
    qtest_quit(src);
    qtest_quit(dst);
}

/* The destination starts by itself (no -S): the device resumes at once. */
static void test_live_autostart(void)
{
    g_autofree char *uri = new_uri("auto.sock");
    QTestState *src, *dst;
    MigDev sd, dd;

    if (!vfio_migration_available()) {
        return;
    }
    dst = start_vm(NULL, NULL, "-device vfio-pci,host=%s,id=mig0,addr=%02x.0 -incoming %s",
                   MIG_HOST, MIG_SLOT, uri);
    src = start_source(&mig_kind, NULL);
    migdev_start(&sd, &mig_kind, src, MIG_SLOT, 8);
    g_assert_true(migdev_wait_progress(&sd, WINDOW_PAGES));
    mig_set_param(src, "max-bandwidth", 0);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 60, "completed", NULL));
    g_free(mig_wait_status(dst, 60, "completed", NULL));
    migdev_attach(&dd, &mig_kind, dst, MIG_SLOT);
    /* It carries on from where the source stopped. */
    g_assert_cmpuint(migdev_seq(&dd), >=, migdev_seq(&sd));
    assert_device_keeps_running(&dd);
    migdev_free(&sd);
    migdev_free(&dd);
    qtest_quit(src);
    qtest_quit(dst);
}

/* With switchover-ack, the destination approves once the initial data is in. */
static void test_switchover_ack(void)
{
    g_autofree char *uri = new_uri("ack.sock");
    QTestState *src, *dst;
    MigDev sd, dd;

    if (!vfio_migration_available()) {
        return;
    }
    dst = start_dest(&mig_kind, uri, NULL);
    src = start_source(&mig_kind, NULL);
    mig_set_cap(src, "switchover-ack", true);
    mig_set_cap(dst, "switchover-ack", true);
    migdev_start(&sd, &mig_kind, src, MIG_SLOT, 4);
    mig_migrate(src, uri);
    mig_wait_completed(src, dst);
    mig_assert_memory_equal(src, dst, 0, RAM_BYTES);
    migdev_attach(&dd, &mig_kind, dst, MIG_SLOT);
    assert_same_device_state(&sd, &dd, false);
    migdev_free(&sd);
    migdev_free(&dd);
    qtest_quit(src);
    qtest_quit(dst);
}

/* Two migratable devices: P2P states in between, both states arrive. */
static void test_two_devices_p2p(void)
{
    g_autofree char *topo = mig_path("two-mig.ini");
    g_autofree char *uri = new_uri("p2p.sock");
    static const char ini[] =
        "[device 0000:00:02.0]\nmodel = mig\ngroup = 2\n"
        "[device 0000:00:07.0]\nmodel = mig\ngroup = 7\ndma-pattern = 0x77770000\n";
    const char *devs = "-device vfio-pci,host=0000:00:02.0,id=mig0,addr=05.0 "
                       "-device vfio-pci,host=0000:00:07.0,id=mig1,addr=06.0";
    QTestState *src, *dst;
    MigDev s1, s2, d1, d2;

    if (!vfio_migration_available()) {
        return;
    }
    g_assert_true(g_file_set_contents(topo, ini, -1, NULL));
    dst = start_vm(topo, NULL, "%s -S -incoming %s", devs, uri);
    src = start_vm(topo, NULL, "%s", devs);
    migdev_start(&s1, &mig_kind, src, MIG_SLOT, 4);
    migdev_start(&s2, &mig_kind, src, MIG2_SLOT, 4);
    mig_set_param(src, "max-bandwidth", 0);
    mig_migrate(src, uri);
    mig_wait_completed(src, dst);
    mig_assert_memory_equal(src, dst, 0, RAM_BYTES);
    migdev_attach(&d1, &mig_kind, dst, MIG_SLOT);
    migdev_attach(&d2, &mig_kind, dst, MIG2_SLOT);
    assert_same_device_state(&s1, &d1, false);
    assert_same_device_state(&s2, &d2, false);
    json_object_unref(mig_qmp(dst, "{'execute': 'cont'}"));
    assert_device_keeps_running(&d1);
    g_assert_true(migdev_wait_progress(&d2, WINDOW_PAGES));
    migdev_free(&s1);
    migdev_free(&s2);
    migdev_free(&d1);
    migdev_free(&d2);
    qtest_quit(src);
    qtest_quit(dst);
}

/* ------------------------------------------------------------------------ */
/* Faults: the source must come out of every one intact */

typedef enum FaultStep {
    FAULT_SETUP_TRANSITION,     /* RUNNING -> PRE_COPY refused */
    FAULT_SWITCHOVER_TRANSITION,/* -> STOP_COPY refused, device left where it was */
    FAULT_SWITCHOVER_TO_ERROR,  /* -> STOP_COPY refused, device left in ERROR (reset) */
    FAULT_SHORT_READS,          /* data_fd reads return half: must not matter */
    FAULT_CHANNEL_CLOSED,       /* the destination quits during pre-copy */
    FAULT_DEST_KILLED,          /* SIGKILL during pre-copy */
    FAULT_DEST_KILLED_AT_SWITCHOVER, /* SIGKILL with the source stopped at pre-switchover */
    FAULT_DEST_REFUSES_DATA,    /* RESUMING -> STOP refuses the device data */
    FAULT__MAX,
} FaultStep;

static const char *const fault_names[FAULT__MAX] = {
    [FAULT_SETUP_TRANSITION] = "setup-transition-refused",
    [FAULT_SWITCHOVER_TRANSITION] = "switchover-transition-refused",
    [FAULT_SWITCHOVER_TO_ERROR] = "switchover-transition-to-error",
    [FAULT_SHORT_READS] = "short-data-fd-reads",
    [FAULT_CHANNEL_CLOSED] = "channel-closed",
    [FAULT_DEST_KILLED] = "destination-killed",
    [FAULT_DEST_KILLED_AT_SWITCHOVER] = "destination-killed-at-switchover",
    [FAULT_DEST_REFUSES_DATA] = "destination-refuses-device-data",
};

static void run_fault(FaultStep step, TrackMode mode)
{
    const DevKind *kind = mode_kind(mode);
    g_autofree char *uri = new_uri("fault.sock");
    const char *src_faults = NULL, *dst_faults = NULL;
    QTestState *src, *dst;
    MigDev sd, dd;
    int fds_before;
    int64_t maps_before;
    bool expect_success = step == FAULT_SHORT_READS;
    bool reset_expected = step == FAULT_SWITCHOVER_TO_ERROR;
    uint64_t seq;

    switch (step) {
    case FAULT_SETUP_TRANSITION:
        src_faults = "mig-fail-state=PRE_COPY,mig-fail-to-error=false";
        break;
    case FAULT_SWITCHOVER_TRANSITION:
        src_faults = "mig-fail-state=STOP_COPY,mig-fail-to-error=false";
        break;
    case FAULT_SWITCHOVER_TO_ERROR:
        src_faults = "mig-fail-state=STOP_COPY,mig-fail-to-error=true";
        break;
    case FAULT_SHORT_READS:
        src_faults = "data-short-read-at=2";
        break;
    case FAULT_DEST_REFUSES_DATA:
        dst_faults = "resume-corrupt=true";
        break;
    default:
        break;
    }
    dst = start_dest(kind, uri, dst_faults);
    src = start_source(kind, src_faults);
    set_mode(src, mode);
    migdev_start(&sd, kind, src, MIG_SLOT, 8);
    g_assert_true(migdev_wait_progress(&sd, WINDOW_PAGES));
    fds_before = count_fds(src);
    maps_before = vfio_mappings(src);

    if (step == FAULT_DEST_KILLED_AT_SWITCHOVER) {
        mig_set_cap(src, "pause-before-switchover", true);
    }
    if (step == FAULT_CHANNEL_CLOSED || step == FAULT_DEST_KILLED) {
        /* Long enough a pre-copy to act in. */
        mig_fill(src, GPA_DATA, DATA_BYTES, 5);
        mig_set_param(src, "max-bandwidth", 4 << 20);
    } else {
        mig_set_param(src, "max-bandwidth", 0);
    }
    mig_migrate(src, uri);
    switch (step) {
    case FAULT_CHANNEL_CLOSED:
        g_free(mig_wait_status(src, 30, "active", NULL));
        /* A clean exit: the reply may or may not make it out first. */
        qtest_qmp_send(dst, "{'execute': 'quit'}");
        qtest_wait_exit(dst);
        qtest_quit(dst);
        dst = NULL;
        break;
    case FAULT_DEST_KILLED:
        g_free(mig_wait_status(src, 30, "active", NULL));
        kill(qtest_pid(dst), SIGKILL);
        dst = NULL;
        break;
    case FAULT_DEST_KILLED_AT_SWITCHOVER:
        g_free(mig_wait_status(src, 30, "pre-switchover", NULL));
        kill(qtest_pid(dst), SIGKILL);
        dst = NULL;
        json_object_unref(mig_qmp(src, "{'execute': 'migrate-continue', "
                                  "'arguments': {'state': 'pre-switchover'}}"));
        break;
    default:
        break;
    }

    if (expect_success) {
        mig_wait_completed(src, dst);
        migdev_attach(&dd, kind, dst, MIG_SLOT);
        assert_same_device_state(&sd, &dd, false);
        mig_assert_memory_equal(src, dst, 0, RAM_BYTES);
        migdev_free(&dd);
        migdev_free(&sd);
        qtest_quit(src);
        qtest_quit(dst);
        return;
    }

    g_free(mig_wait_status(src, 60, "failed", NULL));
    {
        JsonObject *info = mig_qmp(src, "{'execute': 'query-migrate'}");

        g_test_message("%s: %s", fault_names[step],
                       json_object_get_string_member(info, "error-desc"));
        json_object_unref(info);
    }
    /* The VM runs, the device is RUNNING and, unless it had to be reset, works on. */
    {
        g_autofree char *rs = mig_runstate(src);
        g_autofree char *ds = device_state(src, kind->host);

        g_assert_cmpstr(rs, ==, "running");
        g_assert_cmpstr(ds, ==, "RUNNING");
    }
    seq = migdev_seq(&sd);
    if (reset_expected) {
        /* The kernel left the device in ERROR: only a reset brought it back. */
        g_test_message("device reset after ERROR (sequence now %" G_GUINT64_FORMAT ")", seq);
    } else {
        g_assert_true(migdev_wait_progress(&sd, WINDOW_PAGES));
        g_assert_cmpuint(migdev_reg(&sd, kind->reg_faults), ==, 0);
        if (mode == TRACK_CONTAINER_PINNED) {
            g_assert_cmpuint(migdev_reg(&sd, PIN_REG_HELD), ==, WINDOW_PAGES / 2);
        }
    }
    /* Nothing left behind: no data_fd, no tracking, the same mappings and fds. */
    {
        JsonObject *info = vfio_mig_info(src, kind->host);

        g_assert_false(json_object_get_boolean_member(info, "data-fd"));
        json_object_unref(info);
    }
    g_assert_cmpint(vfio_mappings(src), ==, maps_before);
    g_assert_cmpint(count_fds(src), ==, fds_before);

    /* The destination that saw the failure exits with status 1 (unless killed). */
    if (dst) {
        qtest_set_expected_status(dst, 1);
        qtest_wait_exit(dst);
        qtest_quit(dst);
    }

    /* And the source migrates correctly afterwards (its faults were one-shot or reset). */
    if (step != FAULT_SETUP_TRANSITION && step != FAULT_SWITCHOVER_TRANSITION &&
        step != FAULT_SWITCHOVER_TO_ERROR) {
        g_autofree char *uri2 = new_uri("again.sock");

        if (reset_expected) {
            qpci_device_enable(sd.dev);
        }
        mig_set_cap(src, "pause-before-switchover", false);
        dst = start_dest(kind, uri2, NULL);
        mig_set_param(src, "max-bandwidth", 0);
        mig_migrate(src, uri2);
        mig_wait_completed(src, dst);
        mig_assert_memory_equal(src, dst, 0, RAM_BYTES);
        migdev_attach(&dd, kind, dst, MIG_SLOT);
        assert_same_device_state(&sd, &dd, false);
        migdev_free(&dd);
        qtest_quit(dst);
    }
    migdev_free(&sd);
    qtest_quit(src);
}

/* @opaque: the step, plus the mode times FAULT__MAX. */
static void test_fault(gconstpointer opaque)
{
    int n = GPOINTER_TO_INT(opaque);

    if (vfio_migration_available()) {
        run_fault(n % FAULT__MAX, n / FAULT__MAX);
    }
}

/* A fault chosen at random (seeded by the test's random seed), in a random mode. */
static void test_random_faults(void)
{
    if (!vfio_migration_available()) {
        return;
    }
    for (int i = 0; i < 3; i++) {
        FaultStep step = g_test_rand_int_range(0, FAULT__MAX);
        TrackMode mode = g_test_rand_int_range(0, G_N_ELEMENTS(mode_labels));

        g_test_message("random fault %d: %s in mode %s", i, fault_names[step],
                       mode_labels[mode]);
        run_fault(step, mode);
    }
}

/* ------------------------------------------------------------------------ */
/* Configuration checks */

/* Stream from a source with the device, to a destination described by @dst_args. */
static void expect_dest_refuses(const char *topo_ini, const char *dst_args, const char *what)
{
    g_autofree char *file = mig_path("vfio-stream.bin");
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    g_autofree char *topo = mig_path("dst-topo.ini");
    g_autofree char *args = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    QTestState *src = start_source(&mig_kind, NULL);
    MigDev sd;
    int status;

    migdev_start(&sd, &mig_kind, src, MIG_SLOT, 4);
    mig_set_param(src, "max-bandwidth", 0);
    mig_migrate(src, uri);
    g_free(mig_wait_status(src, 60, "completed", NULL));
    migdev_free(&sd);
    qtest_quit(src);

    if (topo_ini) {
        g_assert_true(g_file_set_contents(topo, topo_ini, -1, NULL));
        g_setenv("VFIO_SIM_CONFIG", topo, true);
    }
    args = g_strdup_printf("-machine q35 -m %d -accel qtest -display none %s "
                           "-incoming %s", RAM_MB, dst_args, uri);
    status = qtest_run_binary(args, &out, &err);
    g_setenv("VFIO_SIM_CONFIG", "", true);
    g_test_message("stderr: %s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, "load of migration failed: "));
    g_assert_nonnull(strstr(err, what));
}

static void test_dest_device_missing(void)
{
    if (vfio_migration_available()) {
        expect_dest_refuses(NULL, "", "the source has device 'vfio-pci@00:05.0/vfio' "
                            "(instance 0), this VM has not");
    }
}

/* The destination's mig device differs by the sim setting @key. */
static void expect_refused_with_dest_setting(const char *key, const char *what)
{
    g_autofree char *ini = g_strdup_printf("[device %s]\nmodel = mig\ngroup = 2\n%s\n",
                                           MIG_HOST, key);
    g_autofree char *dev = g_strdup_printf("-device vfio-pci,host=%s,addr=%02x.0", MIG_HOST,
                                           MIG_SLOT);

    if (vfio_migration_available()) {
        expect_dest_refuses(ini, dev, what);
    }
}

static void test_dest_device_differs(void)
{
    expect_refused_with_dest_setting("device-id = 0x10f9",
                                     "device 'vfio-pci@00:05.0/vfio' differs: the source has "
                                     "'vendor=0x1b36,device=0x10f0', this VM has "
                                     "'vendor=0x1b36,device=0x10f9'");
}

/* Same IDs, another MSI-X table size: vfio-pci's config state does not fit. */
static void test_dest_config_differs(void)
{
    expect_refused_with_dest_setting("msix-vectors = 4",
                                     "vfio 0000:00:02.0: config state does not fit this "
                                     "device (");
}

static void test_dest_device_elsewhere(void)
{
    g_autofree char *dev = g_strdup_printf("-device vfio-pci,host=%s,addr=%02x.0", MIG_HOST,
                                           MIG2_SLOT);

    if (vfio_migration_available()) {
        expect_dest_refuses(NULL, dev, "the source has device 'vfio-pci@00:05.0/vfio'");
    }
}

static void test_blockers(void)
{
    QTestState *s;
    char *err;
    g_autofree char *out = NULL;
    g_autofree char *args = NULL;
    int status;

    if (!vfio_migration_available()) {
        return;
    }
    /* enable-migration=off: a blocker with the reason. */
    s = start_vm(NULL, NULL, "-device vfio-pci,host=%s,enable-migration=off,addr=%02x.0",
                 MIG_HOST, MIG_SLOT);
    err = mig_qmp_error(s, "{'execute': 'migrate', 'arguments': {'uri': 'file:/dev/null'}}");
    g_assert_nonnull(strstr(err, "disallowing migration: vfio 0000:00:02.0: migration is "
                            "disabled for this device"));
    qtest_quit(s);
    g_free(err);

    /* A device without VFIO migration (edu): a blocker... */
    s = start_vm(NULL, NULL, "-device vfio-pci,host=0000:00:01.0,addr=%02x.0", MIG_SLOT);
    err = mig_qmp_error(s, "{'execute': 'migrate', 'arguments': {'uri': 'file:/dev/null'}}");
    g_assert_nonnull(strstr(err, "does not support VFIO migration"));
    qtest_quit(s);
    g_free(err);

    /* ... or, with enable-migration=on, a device that does not realize. */
    args = g_strdup_printf("-machine q35 -accel qtest -display none -device "
                           "vfio-pci,host=0000:00:01.0,enable-migration=on");
    status = qtest_run_binary(args, &out, &err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, "does not support VFIO migration"));
    g_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    qtest_add_data_func("/migration/vfio/live/device-dma-logging",
                        GINT_TO_POINTER(TRACK_DMA_LOGGING), test_live);
    qtest_add_data_func("/migration/vfio/live/container-all-dirty",
                        GINT_TO_POINTER(TRACK_CONTAINER_ALL), test_live);
    qtest_add_data_func("/migration/vfio/live/container-pinned",
                        GINT_TO_POINTER(TRACK_CONTAINER_PINNED), test_live);
    qtest_add_func("/migration/vfio/live/destination-autostart", test_live_autostart);
    qtest_add_func("/migration/vfio/switchover-ack", test_switchover_ack);
    qtest_add_func("/migration/vfio/two-devices-p2p", test_two_devices_p2p);
    /* Every step with DMA logging and with the pinning device; all-dirty at random. */
    for (int i = 0; i < FAULT__MAX; i++) {
        g_autofree char *path = g_strdup_printf("/migration/vfio/fault/%s", fault_names[i]);
        g_autofree char *pinned = g_strdup_printf("/migration/vfio/fault/container-pinned/%s",
                                                  fault_names[i]);

        qtest_add_data_func(path, GINT_TO_POINTER(i), test_fault);
        qtest_add_data_func(pinned, GINT_TO_POINTER(TRACK_CONTAINER_PINNED * FAULT__MAX + i),
                            test_fault);
    }
    qtest_add_func("/migration/vfio/fault/random", test_random_faults);
    qtest_add_func("/migration/vfio/refused/device-missing", test_dest_device_missing);
    qtest_add_func("/migration/vfio/refused/device-differs", test_dest_device_differs);
    qtest_add_func("/migration/vfio/refused/config-state-differs", test_dest_config_differs);
    qtest_add_func("/migration/vfio/refused/device-at-another-address",
                   test_dest_device_elsewhere);
    qtest_add_func("/migration/vfio/blockers", test_blockers);
    return g_test_run();
}
