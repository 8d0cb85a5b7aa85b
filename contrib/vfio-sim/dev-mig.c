/*
 * vfio-sim: "mig", a migratable device with a DMA engine.
 *
 * It has what migration needs to be tested end to end: internal state that
 * changes while it runs, a DMA engine that writes guest pages at a
 * configurable rate and pattern (so dirty tracking has something to find),
 * migration v2 with pre-copy and P2P, and DMA logging.  Its state after
 * RESUMING equals the source's.
 *
 * BAR0 (16 KiB): page 0 holds the registers and is not mappable (a sparse
 * mmap capability offers pages 1-3, plain scratch memory).  BAR2 (4 KiB)
 * holds the MSI-X table (vector 0: engine pass done) and is mappable.
 * Region 9 is a read-only vendor region (capability type) with an ID string.
 *
 * Registers (32-bit):
 *   0x00 ID        "MIG1" (0x3147494d)       RO
 *   0x04 CTRL      bit 0: engine on; bit 1: interrupt after each pass
 *   0x08 STATUS    bit 0: engine running; bit 1: DMA fault (write 1 to clear)
 *   0x10/0x14 DMA_BASE   IOVA of the target window (lo/hi)
 *   0x18 DMA_PAGES       window size in 4 KiB pages
 *   0x1c RATE            pages written per tick
 *   0x20 PATTERN         seed of the written pattern
 *   0x24/0x28 SEQ        pages written so far (lo/hi)   RO
 *   0x2c FAULTS          DMA faults so far              RO
 *   0x30 STATE_INDEX     word index into the internal state
 *   0x34 STATE_DATA      that word (the index advances after each access)
 *   0x38 STATE_SIZE      bytes of internal state        RO
 *
 * Page N of the window, on its K-th write, holds 64-bit words
 * PATTERN << 32 | (K << 16 ^ word index) ^ N — see sim_dma_pattern_page().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "trace/trace-vfio_sim.h"

#define MIG_BAR0_SIZE   (16 * KiB)
#define MIG_BAR2_SIZE   (4 * KiB)
#define MIG_ID          0x3147494du
#define MIG_CTRL_ON     0x1
#define MIG_CTRL_IRQ    0x2
#define MIG_STATUS_RUN  0x1
#define MIG_STATUS_FAULT 0x2
#define MIG_REGION_ID   "vfio-sim mig vendor region"
#define MIG_STATE_VERSION 1

typedef struct SimMigRegs {
    uint32_t ctrl;
    uint32_t status;
    uint64_t dma_base;
    uint32_t dma_pages;
    uint32_t rate;
    uint32_t pattern;
    uint32_t faults;
    uint64_t seq;
    uint32_t state_index;
} SimMigRegs;

typedef struct SimMig {
    SimDevice *dev;
    SimMigRegs regs;
    uint32_t *state;            /* internal state, cfg.mig_state_size bytes */
    uint32_t state_words;
    bool running;               /* not quiesced by migration */
    uint64_t dirty_bytes;       /* state changed since the last save */
    SimTimer tick;
} SimMig;

static bool sim_mig_engine_active(SimMig *s)
{
    return s->running && (s->regs.ctrl & MIG_CTRL_ON) && s->regs.dma_pages &&
           s->dev->open_count;
}

static void sim_mig_schedule(SimMig *s)
{
    sim_timer_keep_ticking(&s->tick, sim_mig_engine_active(s),
                           (int64_t)s->dev->cfg.mig_period_us * 1000);
}

static void sim_mig_touch_state(SimMig *s, uint32_t word, uint32_t value)
{
    s->state[word % s->state_words] = value;
    s->dirty_bytes += 4;
}

static void sim_mig_tick(void *opaque)
{
    SimMig *s = opaque;
    SimDevice *dev = s->dev;
    uint64_t buf[SIM_PAGE_SIZE / 8];

    if (!sim_mig_engine_active(s)) {
        return;
    }
    for (uint32_t i = 0; i < s->regs.rate; i++) {
        uint64_t page = s->regs.seq % s->regs.dma_pages;
        uint64_t k = s->regs.seq / s->regs.dma_pages;
        int ret = -EPERM;

        sim_dma_pattern_page(s->regs.pattern, page, k, buf);
        if (sim_pci_bus_master(dev)) {
            ret = sim_dma_rw(dev, s->regs.dma_base + page * SIM_PAGE_SIZE, buf, sizeof(buf),
                             true, SIM_DMA_IOMMU);
        }
        if (ret < 0) {
            s->regs.faults++;
            s->regs.status |= MIG_STATUS_FAULT;
        }
        s->regs.seq++;
        /* The device's internal state evolves with its work. */
        sim_mig_touch_state(s, (uint32_t)s->regs.seq, (uint32_t)(s->regs.seq * 2654435761u));
        if (page == s->regs.dma_pages - 1 && (s->regs.ctrl & MIG_CTRL_IRQ)) {
            sim_irq_msi(dev, 0);
        }
    }
    sim_mig_schedule(s);
}

static uint32_t sim_mig_reg_read(SimMig *s, uint64_t off)
{
    switch (off) {
    case 0x00:
        return MIG_ID;
    case 0x04:
        return s->regs.ctrl;
    case 0x08:
        return s->regs.status | (sim_mig_engine_active(s) ? MIG_STATUS_RUN : 0);
    case 0x10:
        return (uint32_t)s->regs.dma_base;
    case 0x14:
        return s->regs.dma_base >> 32;
    case 0x18:
        return s->regs.dma_pages;
    case 0x1c:
        return s->regs.rate;
    case 0x20:
        return s->regs.pattern;
    case 0x24:
        return (uint32_t)s->regs.seq;
    case 0x28:
        return s->regs.seq >> 32;
    case 0x2c:
        return s->regs.faults;
    case 0x30:
        return s->regs.state_index;
    case 0x34: {
        uint32_t v = s->state[s->regs.state_index % s->state_words];

        s->regs.state_index = (s->regs.state_index + 1) % s->state_words;
        return v;
    }
    case 0x38:
        return s->state_words * 4;
    default:
        return 0;
    }
}

static void sim_mig_reg_write(SimMig *s, uint64_t off, uint32_t val)
{
    switch (off) {
    case 0x04:
        s->regs.ctrl = val & (MIG_CTRL_ON | MIG_CTRL_IRQ);
        break;
    case 0x08:
        s->regs.status &= ~(val & MIG_STATUS_FAULT);
        break;
    case 0x10:
        s->regs.dma_base = (s->regs.dma_base & ~0xffffffffULL) | val;
        break;
    case 0x14:
        s->regs.dma_base = (s->regs.dma_base & 0xffffffffULL) | (uint64_t)val << 32;
        break;
    case 0x18:
        s->regs.dma_pages = val;
        break;
    case 0x1c:
        s->regs.rate = MIN(val, 4096);
        break;
    case 0x20:
        s->regs.pattern = val;
        break;
    case 0x30:
        s->regs.state_index = val % s->state_words;
        break;
    case 0x34:
        sim_mig_touch_state(s, s->regs.state_index, val);
        s->regs.state_index = (s->regs.state_index + 1) % s->state_words;
        break;
    default:
        return;
    }
    s->dirty_bytes += 4;
    sim_mig_schedule(s);
}

static uint64_t sim_mig_bar_read(SimDevice *dev, int bar, uint64_t off, unsigned size)
{
    SimMig *s = dev->model;
    uint32_t v = 0;

    if (bar == 0 && off < SIM_PAGE_SIZE) {
        if (size != 4 || (off & 3)) {
            return ~0u;
        }
        return sim_mig_reg_read(s, off);
    }
    if (bar == 0 || bar == 2) {
        memcpy(&v, dev->regions[bar].mem + off, size);
        return v;
    }
    if (bar == VFIO_PCI_NUM_REGIONS) {
        for (unsigned i = 0; i < size; i++) {
            uint64_t o = off + i;

            v |= (uint32_t)(o < sizeof(MIG_REGION_ID) ? MIG_REGION_ID[o] : 0) << (8 * i);
        }
    }
    return v;
}

static void sim_mig_bar_write(SimDevice *dev, int bar, uint64_t off, uint64_t val,
                              unsigned size)
{
    SimMig *s = dev->model;

    if (bar == 0 && off < SIM_PAGE_SIZE) {
        if (size == 4 && !(off & 3)) {
            sim_mig_reg_write(s, off, val);
        }
        return;
    }
    if (bar == 0 || bar == 2) {
        memcpy(dev->regions[bar].mem + off, &val, size);
    }
}

static void sim_mig_set_running(SimDevice *dev, bool running)
{
    SimMig *s = dev->model;

    s->running = running;
    sim_mig_schedule(s);
}

/* Migration data: a version, the registers, the state words. */
static void sim_mig_save(SimDevice *dev, GByteArray *out)
{
    SimMig *s = dev->model;
    uint32_t version = MIG_STATE_VERSION;

    g_byte_array_append(out, (const uint8_t *)&version, sizeof(version));
    g_byte_array_append(out, (const uint8_t *)&s->state_words, sizeof(s->state_words));
    g_byte_array_append(out, (const uint8_t *)&s->regs, sizeof(s->regs));
    g_byte_array_append(out, (const uint8_t *)s->state, s->state_words * 4);
    s->dirty_bytes = 0;
}

static int sim_mig_load(SimDevice *dev, const uint8_t *data, size_t len)
{
    SimMig *s = dev->model;
    uint32_t version, words;

    if (len < 8) {
        return -EINVAL;
    }
    memcpy(&version, data, 4);
    memcpy(&words, data + 4, 4);
    if (version != MIG_STATE_VERSION || words != s->state_words ||
        len != 8 + sizeof(s->regs) + (size_t)words * 4) {
        return -EINVAL;
    }
    memcpy(&s->regs, data + 8, sizeof(s->regs));
    memcpy(s->state, data + 8 + sizeof(s->regs), words * 4);
    s->dirty_bytes = 0;
    sim_mig_schedule(s);
    return 0;
}

static uint64_t sim_mig_dirty_bytes(SimDevice *dev)
{
    return ((SimMig *)dev->model)->dirty_bytes;
}

static void sim_mig_reset(SimDevice *dev)
{
    SimMig *s = dev->model;

    memset(&s->regs, 0, sizeof(s->regs));
    s->regs.rate = dev->cfg.mig_rate_pages;
    s->regs.pattern = dev->cfg.mig_pattern;
    for (uint32_t i = 0; i < s->state_words; i++) {
        s->state[i] = i * 0x01000193u;
    }
    s->dirty_bytes = 0;
    s->running = true;
    for (int bar = 0; bar <= 2; bar += 2) {
        if (dev->regions[bar].mem) {
            memset(dev->regions[bar].mem, 0, dev->regions[bar].size);
        }
    }
    sim_timer_del(&s->tick);
}

static void sim_mig_realize(SimDevice *dev)
{
    SimMig *s = g_new0(SimMig, 1);
    SimRegion *vendor = &dev->regions[VFIO_PCI_NUM_REGIONS];

    s->dev = dev;
    s->state_words = dev->cfg.mig_state_size / 4;
    s->state = g_new0(uint32_t, s->state_words);
    sim_timer_init(&s->tick, sim_mig_tick, s);
    dev->model = s;
    dev->mig_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
    sim_pci_config_init(dev, dev->cfg.vendor_id, dev->cfg.device_id, 0x01, 0x00ff00, 1);
    sim_pci_add_bar(dev, 0, MIG_BAR0_SIZE, false, false, dev->cfg.bar0_mmap);
    dev->regions[0].nr_sparse = 1;
    dev->regions[0].sparse[0].offset = SIM_PAGE_SIZE;
    dev->regions[0].sparse[0].size = MIG_BAR0_SIZE - SIM_PAGE_SIZE;
    sim_pci_add_bar(dev, 2, MIG_BAR2_SIZE, false, true, true);
    sim_pci_add_msix(dev, 0x40, dev->cfg.msix_vectors, 2, 0, 0x800);
    vendor->size = SIM_PAGE_SIZE;
    vendor->flags = VFIO_REGION_INFO_FLAG_READ;
    /* VFIO_REGION_TYPE_PCI_VENDOR_TYPE, spelled unsigned: the macro shifts into the sign bit */
    vendor->type = 0x80000000u | dev->cfg.vendor_id;
    vendor->subtype = 1;
    dev->nr_regions = VFIO_PCI_NUM_REGIONS + 1;
}

static void sim_mig_finalize(SimDevice *dev)
{
    SimMig *s = dev->model;

    sim_timer_del(&s->tick);
    g_free(s->state);
    g_free(s);
}

const SimDeviceOps sim_mig_ops = {
    .name = "mig",
    .realize = sim_mig_realize,
    .finalize = sim_mig_finalize,
    .reset = sim_mig_reset,
    .bar_read = sim_mig_bar_read,
    .bar_write = sim_mig_bar_write,
    .set_running = sim_mig_set_running,
    .save = sim_mig_save,
    .load = sim_mig_load,
    .dirty_bytes = sim_mig_dirty_bytes,
};
