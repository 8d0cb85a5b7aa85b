/*
 * vfio-sim: QEMU's educational device (docs/specs/edu.rst, hw/misc/edu.c) as
 * it looks from inside a guest through vfio-pci.
 *
 * BAR0 (1 MiB) holds the registers.  The device computes factorials on its
 * own time, raises interrupts by INTx or, once MSI is enabled, by MSI, and
 * copies between its 4 KiB buffer (device address 0x40000) and memory with a
 * DMA engine whose addresses are masked to 28 bits.  Its DMA goes through the
 * simulated IOMMU into the program's memory; an access the IOMMU refuses
 * moves nothing (the real machine logs a DMAR fault, the sim counts it).
 *
 * Like QEMU's model, edu has no reset: its registers survive a close and a
 * re-open, and VFIO_DEVICE_RESET is refused.
 *
 * BAR0 is mappable, as on the rig; accesses through the mapping trap into
 * the model (mmio-trap.c), so they behave exactly like pread/pwrite.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "trace/trace-vfio_sim.h"

#define EDU_BAR_SIZE        (1 * MiB)
#define EDU_ID              0x010000edu
#define EDU_STATUS_COMPUTING 0x01
#define EDU_STATUS_IRQFACT  0x80
#define EDU_DMA_RUN         0x1
#define EDU_DMA_DIR_TO_RAM  0x2
#define EDU_DMA_IRQ_EN      0x4
#define EDU_FACT_IRQ        0x00000001
#define EDU_DMA_IRQ         0x00000100
#define EDU_DMA_START       0x40000
#define EDU_DMA_SIZE        4096
#define EDU_FACT_DELAY_NS   (10 * 1000)

typedef struct SimEdu {
    SimDevice *dev;
    uint32_t addr4;             /* liveness: holds ~(last written value) */
    uint32_t fact;              /* factorial argument, then result */
    uint32_t status;            /* EDU_STATUS_* */
    uint32_t irq_status;        /* raised interrupt bits */
    uint64_t dma_src, dma_dst, dma_cnt, dma_cmd;
    uint64_t dma_mask;          /* addresses are clamped to this */
    uint8_t dma_buf[EDU_DMA_SIZE];
    SimTimer fact_timer;        /* the factorial "thread" */
    SimTimer dma_timer;         /* DMA completion */
} SimEdu;

static void sim_edu_raise_irq(SimEdu *s, uint32_t val)
{
    s->irq_status |= val;
    if (s->irq_status) {
        if (sim_irq_msi_enabled(s->dev)) {
            sim_irq_msi(s->dev, 0);
        } else {
            sim_irq_set_intx(s->dev, true);
        }
    }
}

static void sim_edu_lower_irq(SimEdu *s, uint32_t val)
{
    s->irq_status &= ~val;
    if (!s->irq_status && !sim_irq_msi_enabled(s->dev)) {
        sim_irq_set_intx(s->dev, false);
    }
}

static void sim_edu_fact_done(void *opaque)
{
    SimEdu *s = opaque;
    uint32_t ret = 1;

    /*
     * The device multiplies in 32 bits: from 34! on, the product holds 2^32
     * and the answer is 0.  QEMU's edu loops through all N multiplications
     * (seconds of CPU for a large N); the result is the same.
     */
    if (s->fact >= 34) {
        ret = 0;
    } else {
        for (uint32_t v = s->fact; v > 0; v--) {
            ret *= v;
        }
    }
    s->fact = ret;
    s->status &= ~EDU_STATUS_COMPUTING;
    if (s->status & EDU_STATUS_IRQFACT) {
        sim_edu_raise_irq(s, EDU_FACT_IRQ);
    }
}

static bool sim_edu_in_buffer(uint64_t start, uint64_t size)
{
    uint64_t end = start + size;

    return end >= start && start >= EDU_DMA_START && end <= EDU_DMA_START + EDU_DMA_SIZE;
}

static void sim_edu_dma_done(void *opaque)
{
    SimEdu *s = opaque;
    SimDevice *dev = s->dev;

    if (!(s->dma_cmd & EDU_DMA_RUN)) {
        return;
    }
    if (!sim_pci_bus_master(dev)) {
        /* Bus mastering off: the transfer never reaches memory. */
        trace_vfio_sim_edu_dma(dev->cfg.bdf, s->dma_src, s->dma_dst, s->dma_cnt, -EPERM);
    } else if (!(s->dma_cmd & EDU_DMA_DIR_TO_RAM)) {
        uint64_t src = s->dma_src & s->dma_mask;
        int ret = -EINVAL;

        if (sim_edu_in_buffer(s->dma_dst, s->dma_cnt)) {
            ret = sim_dma_rw(dev, src, s->dma_buf + (s->dma_dst - EDU_DMA_START),
                             s->dma_cnt, false, SIM_DMA_IOMMU);
        }
        trace_vfio_sim_edu_dma(dev->cfg.bdf, src, s->dma_dst, s->dma_cnt, ret);
    } else {
        uint64_t dst = s->dma_dst & s->dma_mask;
        int ret = -EINVAL;

        if (sim_edu_in_buffer(s->dma_src, s->dma_cnt)) {
            ret = sim_dma_rw(dev, dst, s->dma_buf + (s->dma_src - EDU_DMA_START),
                             s->dma_cnt, true, SIM_DMA_IOMMU);
        }
        trace_vfio_sim_edu_dma(dev->cfg.bdf, s->dma_src, dst, s->dma_cnt, ret);
    }
    s->dma_cmd &= ~EDU_DMA_RUN;
    if (s->dma_cmd & EDU_DMA_IRQ_EN) {
        sim_edu_raise_irq(s, EDU_DMA_IRQ);
    }
}

static uint64_t sim_edu_read(SimEdu *s, uint64_t addr, unsigned size)
{
    if ((addr < 0x80 && size != 4) || (addr >= 0x80 && size != 4 && size != 8)) {
        return ~0ULL;
    }
    switch (addr) {
    case 0x00:
        return EDU_ID;
    case 0x04:
        return s->addr4;
    case 0x08:
        return s->fact;
    case 0x20:
        return s->status;
    case 0x24:
        return s->irq_status;
    case 0x80:
        return s->dma_src;
    case 0x88:
        return s->dma_dst;
    case 0x90:
        return s->dma_cnt;
    case 0x98:
        return s->dma_cmd;
    default:
        return ~0ULL;
    }
}

static void sim_edu_write(SimEdu *s, uint64_t addr, uint64_t val, unsigned size)
{
    if ((addr < 0x80 && size != 4) || (addr >= 0x80 && size != 4 && size != 8)) {
        return;
    }
    switch (addr) {
    case 0x04:
        s->addr4 = ~val;
        break;
    case 0x08:
        if (s->status & EDU_STATUS_COMPUTING) {
            break;
        }
        s->fact = val;
        s->status |= EDU_STATUS_COMPUTING;
        sim_timer_mod_ns(&s->fact_timer, EDU_FACT_DELAY_NS);
        break;
    case 0x20:
        if (val & EDU_STATUS_IRQFACT) {
            s->status |= EDU_STATUS_IRQFACT;
        } else {
            s->status &= ~EDU_STATUS_IRQFACT;
        }
        break;
    case 0x60:
        sim_edu_raise_irq(s, val);
        break;
    case 0x64:
        sim_edu_lower_irq(s, val);
        break;
    case 0x80:
    case 0x88:
    case 0x90:
        /* Ignored while a transfer runs. */
        if (s->dma_cmd & EDU_DMA_RUN) {
            break;
        }
        *(addr == 0x80 ? &s->dma_src : addr == 0x88 ? &s->dma_dst : &s->dma_cnt) = val;
        break;
    case 0x98:
        if (!(val & EDU_DMA_RUN) || (s->dma_cmd & EDU_DMA_RUN)) {
            break;
        }
        s->dma_cmd = val;
        sim_timer_mod_ns(&s->dma_timer, (int64_t)s->dev->cfg.dma_delay_us * 1000);
        break;
    }
}

static uint64_t sim_edu_bar_read(SimDevice *dev, int bar, uint64_t off, unsigned size)
{
    return sim_edu_read(dev->model, off, size);
}

static void sim_edu_bar_write(SimDevice *dev, int bar, uint64_t off, uint64_t val,
                              unsigned size)
{
    sim_edu_write(dev->model, off, val, size);
}

static void sim_edu_reset(SimDevice *dev)
{
    /* hw/misc/edu.c has no reset handler: the registers keep their values. */
}

static void sim_edu_realize(SimDevice *dev)
{
    SimEdu *s = g_new0(SimEdu, 1);

    s->dev = dev;
    s->dma_mask = dev->cfg.dma_mask_bits >= 64 ? UINT64_MAX
                                               : (1ULL << dev->cfg.dma_mask_bits) - 1;
    sim_timer_init(&s->fact_timer, sim_edu_fact_done, s);
    sim_timer_init(&s->dma_timer, sim_edu_dma_done, s);
    dev->model = s;
    sim_pci_config_init(dev, dev->cfg.vendor_id, dev->cfg.device_id, 0x10, 0x00ff00, 1);
    sim_pci_add_bar(dev, 0, EDU_BAR_SIZE, false, false, dev->cfg.bar0_mmap);
    dev->regions[0].trap_mmap = true;
    sim_pci_add_msi(dev, 0x40, 1, true);
}

static void sim_edu_finalize(SimDevice *dev)
{
    SimEdu *s = dev->model;

    sim_timer_del(&s->fact_timer);
    sim_timer_del(&s->dma_timer);
    g_free(s);
}

const SimDeviceOps sim_edu_ops = {
    .name = "edu",
    .realize = sim_edu_realize,
    .finalize = sim_edu_finalize,
    .reset = sim_edu_reset,
    .bar_read = sim_edu_bar_read,
    .bar_write = sim_edu_bar_write,
};
