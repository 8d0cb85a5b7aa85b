/*
 * vfio-sim: "pin", a device behind an emulated IOMMU (an mdev-like device
 * in a singleton group).
 *
 * It has no IOMMU of its own: like a mediated device, it asks the type1
 * driver to pin pages (vfio_pin_pages) and writes them either through the
 * pin, as hardware DMA into memory pinned for it, or through vfio_dma_rw.
 * A container whose every group is like this reports only pinned pages and
 * pages written through vfio_dma_rw dirty: the pinned scope, which is what
 * it exists to test.  It migrates (STOP_COPY, PRE_COPY, P2P) so that a
 * live migration can be run in that scope.
 *
 * BAR0 (4 KiB, not mappable), 32-bit registers:
 *   0x00 ID       "PIN1" (0x314e4950)  RO
 *   0x08/0x0c IOVA       target (lo/hi)
 *   0x10 CMD      1 pin the page at IOVA, 2 unpin it,
 *                 3 write PATTERN to the 4 KiB at IOVA (vfio_dma_rw),
 *                 4 read the 4 KiB at IOVA; CHECKSUM = sum of its 32-bit words
 *   0x14 RESULT   0 or the negative errno of the last command
 *   0x18 PATTERN  32-bit fill value, and the engine's pattern seed
 *   0x1c PINNED   pages pinned by CMD 1 now   RO
 *   0x20 CHECKSUM                    RO
 * The engine writes RATE pages of a window per tick (dma-period-us):
 *   0x24 ENGINE   bit 0: on
 *   0x28/0x2c WINDOW     IOVA of the window (lo/hi)
 *   0x30 PAGES    window size in 4 KiB pages
 *   0x34 RATE     pages written per tick (at most 4096)
 *   0x38 KEEP     the window's first KEEP pages are pinned on first use and
 *                 written through the pin; the others through vfio_dma_rw
 *   0x3c/0x40 SEQ        pages written so far (lo/hi)   RO
 *   0x44 FAULTS   writes refused so far          RO
 *   0x48 HELD     window pages the engine holds pinned  RO
 * Page N of the window, on its K-th write, is sim_dma_pattern_page(PATTERN,
 * N, K), as the mig device writes it.  Changing WINDOW, PAGES or KEEP lets
 * the engine's pins go; the unmap notifier drops the pins in the range.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "trace/trace-vfio_sim.h"

#define PIN_ID              0x314e4950u
#define PIN_STATE_VERSION   1
#define PIN_ENGINE_ON       0x1
#define PIN_MAX_WINDOW      (1u << 20)      /* pages: 4 GiB */

/* What migrates, besides the pins taken by CMD 1. */
typedef struct SimPinRegs {
    uint64_t iova;
    int32_t result;
    uint32_t pattern;
    uint32_t checksum;
    uint32_t engine;
    uint64_t window;
    uint32_t pages;
    uint32_t rate;
    uint32_t keep;
    uint32_t faults;
    uint64_t seq;
} SimPinRegs;

typedef struct SimPin {
    SimDevice *dev;
    SimPinRegs regs;
    GArray *pinned;             /* uint64_t IOVAs pinned by CMD 1 */
    unsigned long *held;        /* window pages the engine holds pinned */
    uint32_t nr_held;
    bool running;               /* not quiesced by migration */
    uint64_t dirty_bytes;       /* state changed since the last save */
    SimTimer tick;
} SimPin;

/* ---- the engine ---- */

static bool sim_pin_engine_active(SimPin *s)
{
    return s->running && (s->regs.engine & PIN_ENGINE_ON) && s->regs.pages &&
           s->dev->open_count;
}

static void sim_pin_schedule(SimPin *s)
{
    sim_timer_keep_ticking(&s->tick, sim_pin_engine_active(s),
                           (int64_t)s->dev->cfg.mig_period_us * 1000);
}

static uint32_t sim_pin_kept(SimPin *s)
{
    return MIN(s->regs.keep, s->regs.pages);
}

/* The engine lets go of its pins in [iova, iova + size) (everything: size 0). */
static void sim_pin_release_held(SimPin *s, uint64_t iova, uint64_t size)
{
    uint32_t kept = sim_pin_kept(s);

    if (!s->held || !s->nr_held) {
        return;
    }
    for (uint32_t p = 0; s->nr_held && p < kept; p++) {
        uint64_t a = s->regs.window + (uint64_t)p * SIM_PAGE_SIZE;

        if (sim_bitmap_test(s->held, p) && (!size || (a >= iova && a - iova < size))) {
            sim_dma_unpin_page(s->dev, a);
            sim_bitmap_clear1(s->held, p);
            s->nr_held--;
        }
    }
    trace_vfio_sim_pin_release(s->dev->cfg.bdf, iova, size, s->nr_held);
}

/* The window changed shape (its pins already let go): a map for the new one. */
static void sim_pin_reshape(SimPin *s)
{
    g_free(s->held);
    s->held = g_malloc0(sim_bitmap_bytes(sim_pin_kept(s)) ?: 8);
    s->nr_held = 0;
}

static int sim_pin_engine_write(SimPin *s, uint64_t page, void *buf)
{
    uint64_t iova = s->regs.window + page * SIM_PAGE_SIZE;
    int ret;

    if (!sim_pci_bus_master(s->dev)) {
        return -EPERM;
    }
    if (page >= sim_pin_kept(s)) {
        return sim_dma_rw(s->dev, iova, buf, SIM_PAGE_SIZE, true, SIM_DMA_RW);
    }
    if (!sim_bitmap_test(s->held, page)) {
        ret = sim_dma_pin_page(s->dev, iova, true);
        if (ret < 0) {
            return ret;
        }
        sim_bitmap_set(s->held, page, 1);
        s->nr_held++;
    }
    return sim_dma_rw(s->dev, iova, buf, SIM_PAGE_SIZE, true, SIM_DMA_PINNED);
}

static void sim_pin_tick(void *opaque)
{
    SimPin *s = opaque;
    uint64_t buf[SIM_PAGE_SIZE / 8];

    if (!sim_pin_engine_active(s)) {
        return;
    }
    for (uint32_t i = 0; i < s->regs.rate; i++) {
        uint64_t page = s->regs.seq % s->regs.pages;

        sim_dma_pattern_page(s->regs.pattern, page, s->regs.seq / s->regs.pages, buf);
        if (sim_pin_engine_write(s, page, buf) < 0) {
            s->regs.faults++;
        }
        s->regs.seq++;
    }
    s->dirty_bytes += sizeof(s->regs.seq) + sizeof(s->regs.faults);
    sim_pin_schedule(s);
}

/* ---- registers ---- */

static void sim_pin_command(SimPin *s, uint32_t cmd)
{
    uint32_t buf[SIM_PAGE_SIZE / 4];
    uint64_t page = s->regs.iova & ~(SIM_PAGE_SIZE - 1);

    switch (cmd) {
    case 1:
        s->regs.result = sim_dma_pin_page(s->dev, s->regs.iova, true);
        if (!s->regs.result) {
            g_array_append_val(s->pinned, page);
        }
        break;
    case 2:
        s->regs.result = -EINVAL;
        for (guint i = 0; i < s->pinned->len; i++) {
            if (g_array_index(s->pinned, uint64_t, i) == page) {
                s->regs.result = sim_dma_unpin_page(s->dev, s->regs.iova);
                g_array_remove_index_fast(s->pinned, i);
                break;
            }
        }
        break;
    case 3:
        for (unsigned i = 0; i < G_N_ELEMENTS(buf); i++) {
            buf[i] = s->regs.pattern;
        }
        s->regs.result = sim_dma_rw(s->dev, s->regs.iova, buf, sizeof(buf), true, SIM_DMA_RW);
        break;
    case 4:
        s->regs.result = sim_dma_rw(s->dev, s->regs.iova, buf, sizeof(buf), false, SIM_DMA_RW);
        s->regs.checksum = 0;
        for (unsigned i = 0; !s->regs.result && i < G_N_ELEMENTS(buf); i++) {
            s->regs.checksum += buf[i];
        }
        break;
    default:
        s->regs.result = -EINVAL;
        break;
    }
}

static uint64_t sim_pin_bar_read(SimDevice *dev, int bar, uint64_t off, unsigned size)
{
    SimPin *s = dev->model;

    if (size != 4 || (off & 3)) {
        return ~0u;
    }
    switch (off) {
    case 0x00:
        return PIN_ID;
    case 0x08:
        return (uint32_t)s->regs.iova;
    case 0x0c:
        return s->regs.iova >> 32;
    case 0x14:
        return (uint32_t)s->regs.result;
    case 0x18:
        return s->regs.pattern;
    case 0x1c:
        return s->pinned->len;
    case 0x20:
        return s->regs.checksum;
    case 0x24:
        return s->regs.engine;
    case 0x28:
        return (uint32_t)s->regs.window;
    case 0x2c:
        return s->regs.window >> 32;
    case 0x30:
        return s->regs.pages;
    case 0x34:
        return s->regs.rate;
    case 0x38:
        return s->regs.keep;
    case 0x3c:
        return (uint32_t)s->regs.seq;
    case 0x40:
        return s->regs.seq >> 32;
    case 0x44:
        return s->regs.faults;
    case 0x48:
        return s->nr_held;
    default:
        return 0;
    }
}

static void sim_pin_bar_write(SimDevice *dev, int bar, uint64_t off, uint64_t val,
                              unsigned size)
{
    SimPin *s = dev->model;

    if (size != 4 || (off & 3)) {
        return;
    }
    switch (off) {
    case 0x08:
        s->regs.iova = (s->regs.iova & ~0xffffffffULL) | val;
        break;
    case 0x0c:
        s->regs.iova = (s->regs.iova & 0xffffffffULL) | (uint64_t)val << 32;
        break;
    case 0x10:
        sim_pin_command(s, val);
        break;
    case 0x18:
        s->regs.pattern = val;
        break;
    case 0x24:
        s->regs.engine = val & PIN_ENGINE_ON;
        break;
    case 0x28:
        sim_pin_release_held(s, 0, 0);
        s->regs.window = (s->regs.window & ~0xffffffffULL) | (val & ~(SIM_PAGE_SIZE - 1));
        break;
    case 0x2c:
        sim_pin_release_held(s, 0, 0);
        s->regs.window = (s->regs.window & 0xffffffffULL) | (uint64_t)val << 32;
        break;
    case 0x30:
        sim_pin_release_held(s, 0, 0);
        s->regs.pages = MIN(val, PIN_MAX_WINDOW);
        sim_pin_reshape(s);
        break;
    case 0x34:
        s->regs.rate = MIN(val, 4096);
        break;
    case 0x38:
        sim_pin_release_held(s, 0, 0);
        s->regs.keep = MIN(val, PIN_MAX_WINDOW);
        sim_pin_reshape(s);
        break;
    default:
        return;
    }
    s->dirty_bytes += 4;
    sim_pin_schedule(s);
}

/* ---- lifecycle and migration ---- */

/* The unmap notifier: a vendor driver must unpin what is going away. */
static void sim_pin_dma_unmap(SimDevice *dev, uint64_t iova, uint64_t size)
{
    SimPin *s = dev->model;

    for (guint i = 0; i < s->pinned->len;) {
        uint64_t p = g_array_index(s->pinned, uint64_t, i);

        if (p >= iova && p < iova + size) {
            sim_dma_unpin_page(dev, p);
            g_array_remove_index_fast(s->pinned, i);
        } else {
            i++;
        }
    }
    if (size) {
        sim_pin_release_held(s, iova, size);
    }
}

static void sim_pin_unpin_all(SimPin *s)
{
    while (s->pinned->len) {
        sim_dma_unpin_page(s->dev, g_array_index(s->pinned, uint64_t, 0));
        g_array_remove_index_fast(s->pinned, 0);
    }
    sim_pin_release_held(s, 0, 0);
}

static void sim_pin_reset(SimDevice *dev)
{
    SimPin *s = dev->model;

    sim_pin_unpin_all(s);
    memset(&s->regs, 0, sizeof(s->regs));
    s->regs.rate = dev->cfg.mig_rate_pages;
    sim_pin_reshape(s);
    s->running = true;
    s->dirty_bytes = 0;
    sim_timer_del(&s->tick);
}

static void sim_pin_set_running(SimDevice *dev, bool running)
{
    SimPin *s = dev->model;

    /* Quiesced, it keeps its pins: they are what the pinned scope reports. */
    s->running = running;
    sim_pin_schedule(s);
}

/* Migration data: a version, the registers, the pages CMD 1 pinned. */
static void sim_pin_save(SimDevice *dev, GByteArray *out)
{
    SimPin *s = dev->model;
    uint32_t version = PIN_STATE_VERSION, n = s->pinned->len;

    g_byte_array_append(out, (const uint8_t *)&version, sizeof(version));
    g_byte_array_append(out, (const uint8_t *)&n, sizeof(n));
    g_byte_array_append(out, (const uint8_t *)&s->regs, sizeof(s->regs));
    g_byte_array_append(out, (const uint8_t *)s->pinned->data, n * sizeof(uint64_t));
    s->dirty_bytes = 0;
}

/*
 * The pages the source had pinned are pinned again here, through this
 * container's mappings: if one of them is not mapped the state cannot be
 * taken, and the device is left as it was.
 */
static int sim_pin_load(SimDevice *dev, const uint8_t *data, size_t len)
{
    SimPin *s = dev->model;
    SimPinRegs regs;
    uint32_t version, n;
    const uint8_t *iovas;
    int ret = 0;
    uint32_t i;

    if (len < 8) {
        return -EINVAL;
    }
    memcpy(&version, data, 4);
    memcpy(&n, data + 4, 4);
    if (version != PIN_STATE_VERSION || n > (len - 8) / sizeof(uint64_t) ||
        len != 8 + sizeof(regs) + (size_t)n * sizeof(uint64_t)) {
        return -EINVAL;
    }
    memcpy(&regs, data + 8, sizeof(regs));
    if (regs.pages > PIN_MAX_WINDOW || regs.keep > PIN_MAX_WINDOW || regs.rate > 4096 ||
        (regs.window & (SIM_PAGE_SIZE - 1))) {
        return -EINVAL;
    }
    iovas = data + 8 + sizeof(regs);
    for (i = 0; i < n; i++) {
        uint64_t iova;

        memcpy(&iova, iovas + i * sizeof(iova), sizeof(iova));
        ret = sim_dma_pin_page(dev, iova, true);
        if (ret < 0) {
            break;
        }
    }
    trace_vfio_sim_pin_load(dev->cfg.bdf, n, ret);
    if (ret < 0) {
        while (i--) {
            uint64_t iova;

            memcpy(&iova, iovas + i * sizeof(iova), sizeof(iova));
            sim_dma_unpin_page(dev, iova);
        }
        return -EINVAL;
    }
    sim_pin_unpin_all(s);
    g_array_set_size(s->pinned, 0);
    g_array_append_vals(s->pinned, iovas, n);
    s->regs = regs;
    sim_pin_reshape(s);
    s->dirty_bytes = 0;
    sim_pin_schedule(s);
    return 0;
}

static uint64_t sim_pin_dirty_bytes(SimDevice *dev)
{
    return ((SimPin *)dev->model)->dirty_bytes;
}

static void sim_pin_realize(SimDevice *dev)
{
    SimPin *s = g_new0(SimPin, 1);

    s->dev = dev;
    s->pinned = g_array_new(false, false, sizeof(uint64_t));
    s->running = true;
    sim_timer_init(&s->tick, sim_pin_tick, s);
    dev->model = s;
    dev->mig_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
    sim_pci_config_init(dev, dev->cfg.vendor_id, dev->cfg.device_id, 0x01, 0x00ff00, 0);
    sim_pci_add_bar(dev, 0, SIM_PAGE_SIZE, false, false, dev->cfg.bar0_mmap);
}

static void sim_pin_finalize(SimDevice *dev)
{
    SimPin *s = dev->model;

    sim_timer_del(&s->tick);
    g_array_free(s->pinned, true);
    g_free(s->held);
    g_free(s);
}

const SimDeviceOps sim_pin_ops = {
    .name = "pin",
    .realize = sim_pin_realize,
    .finalize = sim_pin_finalize,
    .reset = sim_pin_reset,
    .bar_read = sim_pin_bar_read,
    .bar_write = sim_pin_bar_write,
    .set_running = sim_pin_set_running,
    .save = sim_pin_save,
    .load = sim_pin_load,
    .dirty_bytes = sim_pin_dirty_bytes,
    .dma_unmap = sim_pin_dma_unmap,
};
