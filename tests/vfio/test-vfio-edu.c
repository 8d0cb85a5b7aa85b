/*
 * VFIO conformance: an edu doing DMA through the IOMMU and raising interrupts.
 *
 * The edu's DMA engine copies between its 4 KiB buffer (device address
 * 0x40000) and an IOVA; completion comes from a ~100 ms virtual timer.  Bus
 * mastering must be on for DMA and MSI.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "vfio-test.h"

#include <unistd.h>
#include <linux/pci_regs.h>

#define MAP_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_BASE 0x1000000ULL      /* below the edu's 28-bit DMA limit */
#define DMA_TIMEOUT_MS 10000
#define IRQ_TIMEOUT_MS 5000
#define IRQ_ABSENT_MS 300

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7);
    }
}

static void assert_all(const uint8_t *p, size_t n, uint8_t byte, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != byte) {
            g_autofree char *msg = g_strdup_printf("%s: byte %zu is 0x%02x, expected 0x%02x",
                                                   what, i, p[i], byte);
            g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
    }
}

/*
 * Fill a fresh page with a pattern from @seed, map it at IOVA_BASE with
 * @map_flags and DMA it into the edu's buffer: the starting point of every
 * device-to-RAM test.  Returns the page (vt_free it).
 */
static uint8_t *edu_load_pattern(VtDevice *d, uint8_t seed, uint32_t map_flags)
{
    uint8_t *src = vt_alloc(VT_PAGE, 0);

    fill_pattern(src, VT_PAGE, seed);
    vt_assert_ok(vt_map(d->container, IOVA_BASE, src, VT_PAGE, map_flags));
    g_assert_true(vt_edu_dma(d, IOVA_BASE, EDU_DMA_BUFFER_SIZE, false, DMA_TIMEOUT_MS));
    return src;
}

static bool open_edu(VtDevice *d)
{
    if (!vt_require_device(vt_device())) {
        return false;
    }
    vt_device_open(d, vt_device(), VFIO_TYPE1v2_IOMMU);
    g_assert_cmphex(vt_bar0_read32(d, EDU_REG_ID), ==, EDU_ID_VALUE);
    vt_cfg_command(d, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 0);
    return true;
}

/*
 * A device-to-RAM test: the edu's buffer holds the pattern of @src, and @dst
 * starts out filled with a marker byte so that stray or blocked writes show.
 */
typedef struct EduDma {
    VtDevice d;
    uint8_t *src;
    uint8_t *dst;
    size_t dst_size;
} EduDma;

/* False when the test was skipped (no device). */
static bool edu_dma_setup(EduDma *t, uint8_t seed, uint32_t src_flags, size_t dst_size,
                          int dst_fill)
{
    if (!open_edu(&t->d)) {
        return false;
    }
    t->src = edu_load_pattern(&t->d, seed, src_flags);
    t->dst_size = dst_size;
    t->dst = vt_alloc(dst_size, dst_fill);
    return true;
}

/* Only the first page of @dst, so that a larger @dst has unmapped memory behind it. */
static void edu_dma_map_dst(EduDma *t, uint64_t iova, uint32_t flags)
{
    vt_assert_ok(vt_map(t->d.container, iova, t->dst, VT_PAGE, flags));
}

/*
 * Completion is all that is asserted: a transfer the IOMMU blocks still
 * finishes, and what reached memory is for the caller to check.
 */
static void edu_dma_to_ram(EduDma *t, uint64_t iova, uint32_t count)
{
    g_assert_true(vt_edu_dma(&t->d, iova, count, true, DMA_TIMEOUT_MS));
}

static void edu_dma_teardown(EduDma *t)
{
    vt_free(t->src, VT_PAGE);
    vt_free(t->dst, t->dst_size);
    vt_device_close(&t->d);
}

/* RAM -> device buffer -> other RAM: the bytes arrive through the IOMMU. */
static void test_dma_round_trip(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x31, VFIO_DMA_MAP_FLAG_READ, VT_PAGE, 0xee)) {
        return;
    }
    edu_dma_map_dst(&t, IOVA_BASE + 0x10000, MAP_RW);
    /* The cmd register reads back the direction bit once done. */
    g_assert_cmphex(vt_bar0_read32(&t.d, EDU_REG_DMA_CMD) & EDU_DMA_START, ==, 0);
    edu_dma_to_ram(&t, IOVA_BASE + 0x10000, EDU_DMA_BUFFER_SIZE);
    g_assert_cmphex(vt_bar0_read32(&t.d, EDU_REG_DMA_CMD), ==, EDU_DMA_TO_RAM);
    g_assert_cmpmem(t.dst, VT_PAGE, t.src, VT_PAGE);
    edu_dma_teardown(&t);
}

/* A partial transfer writes exactly its bytes and nothing around them. */
static void test_dma_partial(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x5, MAP_RW, VT_PAGE, 0xee)) {
        return;
    }
    edu_dma_map_dst(&t, IOVA_BASE + VT_PAGE, MAP_RW);
    edu_dma_to_ram(&t, IOVA_BASE + VT_PAGE + 100, 64);
    assert_all(t.dst, 100, 0xee, "before the transfer");
    g_assert_cmpmem(t.dst + 100, 64, t.src, 64);
    assert_all(t.dst + 164, VT_PAGE - 164, 0xee, "after the transfer");
    edu_dma_teardown(&t);
}

/* Writes to a read-only mapping are blocked by the IOMMU. */
static void test_dma_to_read_only_blocked(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x77, VFIO_DMA_MAP_FLAG_READ, VT_PAGE, 0x5a)) {
        return;
    }
    edu_dma_map_dst(&t, IOVA_BASE + VT_PAGE, VFIO_DMA_MAP_FLAG_READ);
    edu_dma_to_ram(&t, IOVA_BASE + VT_PAGE, 256);
    assert_all(t.dst, VT_PAGE, 0x5a, "read-only mapping");
    /* The fault leaves the device usable. */
    g_assert_cmphex(vt_bar0_read32(&t.d, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_dma_teardown(&t);
}

/*
 * A transfer that runs past the end of a mapping: the mapped part may land, the
 * unmapped IOVA behind it does not reach the memory next to the mapped buffer.
 */
static void test_dma_to_unmapped_blocked(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x11, VFIO_DMA_MAP_FLAG_READ, 2 * VT_PAGE, 0xc3)) {
        return;
    }
    edu_dma_map_dst(&t, IOVA_BASE + 0x100000, MAP_RW);
    /* Entirely unmapped. */
    edu_dma_to_ram(&t, IOVA_BASE + 0x200000, 256);
    /* Straddling the end of the mapping into the unmapped page. */
    edu_dma_to_ram(&t, IOVA_BASE + 0x100000 + VT_PAGE - 64, 256);
    assert_all(t.dst + VT_PAGE, VT_PAGE, 0xc3, "page behind the mapping");
    assert_all(t.dst, VT_PAGE - 64, 0xc3, "mapped page before the transfer");
    edu_dma_teardown(&t);
}

/* After UNMAP_DMA the device can no longer reach the memory. */
static void test_dma_after_unmap_blocked(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x42, VFIO_DMA_MAP_FLAG_READ, VT_PAGE, 0x99)) {
        return;
    }
    edu_dma_map_dst(&t, IOVA_BASE + VT_PAGE, MAP_RW);
    vt_assert_ok(vt_unmap(t.d.container, IOVA_BASE + VT_PAGE, VT_PAGE, 0, NULL));
    edu_dma_to_ram(&t, IOVA_BASE + VT_PAGE, 256);
    assert_all(t.dst, VT_PAGE, 0x99, "unmapped buffer");
    edu_dma_teardown(&t);
}

/* The edu masks DMA addresses to 28 bits: an IOVA above is clamped, not used. */
static void test_dma_address_mask(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x23, VFIO_DMA_MAP_FLAG_READ, VT_PAGE, 0)) {
        return;
    }
    edu_dma_map_dst(&t, IOVA_BASE + VT_PAGE, MAP_RW);
    /* 0x10000000 | x reaches x. */
    edu_dma_to_ram(&t, (1ULL << 28) | (IOVA_BASE + VT_PAGE), 128);
    g_assert_cmpmem(t.dst, 128, t.src, 128);
    edu_dma_teardown(&t);
}

/* A shared container: a mapping made after the device was opened is used at once. */
static void test_dma_sees_new_mapping(void)
{
    EduDma t;

    if (!edu_dma_setup(&t, 0x61, VFIO_DMA_MAP_FLAG_READ, VT_PAGE, 0)) {
        return;
    }
    /* Remap the same IOVA onto another buffer: the device follows. */
    vt_assert_ok(vt_unmap(t.d.container, IOVA_BASE, VT_PAGE, 0, NULL));
    edu_dma_map_dst(&t, IOVA_BASE, MAP_RW);
    edu_dma_to_ram(&t, IOVA_BASE, EDU_DMA_BUFFER_SIZE);
    g_assert_cmpmem(t.dst, VT_PAGE, t.src, VT_PAGE);
    edu_dma_teardown(&t);
}

/* An edu with one eventfd on interrupt @index (MSI or INTx). */
typedef struct EduIrq {
    VtDevice d;
    uint32_t index;
    int efd;
} EduIrq;

static void irq_attach(EduIrq *t, uint32_t index)
{
    t->index = index;
    t->efd = vt_eventfd();
    vt_assert_ok(vt_set_irq_eventfds(t->d.device, index, 0, 1, &t->efd));
}

static void irq_detach(EduIrq *t)
{
    vt_assert_ok(vt_set_irq_none(t->d.device, t->index, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0));
    close(t->efd);
}

/* False when the test was skipped (no device). */
static bool edu_irq_open(EduIrq *t, uint32_t index)
{
    if (!open_edu(&t->d)) {
        return false;
    }
    irq_attach(t, index);
    return true;
}

static void edu_irq_close(EduIrq *t)
{
    irq_detach(t);
    vt_device_close(&t->d);
}

/* MASK or UNMASK: only INTx has them, and a single line. */
static void irq_action(EduIrq *t, uint32_t action)
{
    vt_assert_ok(vt_set_irq_none(t->d.device, t->index, action, 0, 1));
}

/*
 * MSI messages may add up in the eventfd before it is read; INTx is automasked
 * after its first signal, so anything but exactly one is a bug.
 */
static void irq_expect_event(EduIrq *t, int timeout_ms)
{
    uint64_t count = vt_eventfd_wait(t->efd, timeout_ms);

    if (t->index == VFIO_PCI_INTX_IRQ_INDEX) {
        g_assert_cmpuint(count, ==, 1);
    } else {
        g_assert_cmpuint(count, >=, 1);
    }
}

/* Short: waiting for something that must not come costs the full timeout. */
static void irq_expect_none(EduIrq *t)
{
    g_assert_cmpuint(vt_eventfd_wait(t->efd, IRQ_ABSENT_MS), ==, 0);
}

static void irq_raise(EduIrq *t, uint32_t bits)
{
    vt_bar0_write32(&t->d, EDU_REG_IRQ_RAISE, bits);
    irq_expect_event(t, IRQ_TIMEOUT_MS);
}

/* The status check tells which of the edu's sources fired, not just that one did. */
static void irq_ack_status(EduIrq *t, uint32_t bits)
{
    g_assert_cmphex(vt_bar0_read32(&t->d, EDU_REG_IRQ_STATUS) & bits, ==, bits);
    vt_bar0_write32(&t->d, EDU_REG_IRQ_ACK, bits);
}

static void test_msi_raise(void)
{
    EduIrq t;

    if (!edu_irq_open(&t, VFIO_PCI_MSI_IRQ_INDEX)) {
        return;
    }
    irq_raise(&t, 0x1000);
    irq_ack_status(&t, 0x1000);
    g_assert_cmphex(vt_bar0_read32(&t.d, EDU_REG_IRQ_STATUS), ==, 0);
    /* MSI is edge: a second raise is a second message. */
    irq_raise(&t, 0x2);
    vt_bar0_write32(&t.d, EDU_REG_IRQ_ACK, 0x2);
    edu_irq_close(&t);
}

static void test_msi_factorial(void)
{
    EduIrq t;

    if (!edu_irq_open(&t, VFIO_PCI_MSI_IRQ_INDEX)) {
        return;
    }
    vt_bar0_write32(&t.d, EDU_REG_STATUS, EDU_STATUS_IRQ_FACT);
    vt_bar0_write32(&t.d, EDU_REG_FACTORIAL, 12);
    irq_expect_event(&t, IRQ_TIMEOUT_MS);
    g_assert_cmpuint(vt_bar0_read32(&t.d, EDU_REG_FACTORIAL), ==, 479001600);
    /* The factorial interrupt is status bit 0x1. */
    irq_ack_status(&t, 0x1);
    vt_bar0_write32(&t.d, EDU_REG_STATUS, 0);
    edu_irq_close(&t);
}

static void test_msi_dma_done(void)
{
    EduIrq t;
    uint8_t *src;

    if (!open_edu(&t.d)) {
        return;
    }
    src = vt_alloc(VT_PAGE, 0x17);
    vt_assert_ok(vt_map(t.d.container, IOVA_BASE, src, VT_PAGE, VFIO_DMA_MAP_FLAG_READ));
    irq_attach(&t, VFIO_PCI_MSI_IRQ_INDEX);
    /* By hand: vt_edu_dma() polls for completion and sets no EDU_DMA_IRQ. */
    vt_bar0_write32(&t.d, EDU_REG_DMA_SRC, IOVA_BASE);
    vt_bar0_write32(&t.d, EDU_REG_DMA_DST, EDU_DMA_BUFFER);
    vt_bar0_write32(&t.d, EDU_REG_DMA_COUNT, 128);
    vt_bar0_write32(&t.d, EDU_REG_DMA_CMD, EDU_DMA_START | EDU_DMA_IRQ);
    irq_expect_event(&t, DMA_TIMEOUT_MS);
    /* The DMA interrupt is status bit 0x100. */
    irq_ack_status(&t, 0x100);
    irq_detach(&t);
    vt_free(src, VT_PAGE);
    vt_device_close(&t.d);
}

/* INTx is level and automasked: one event until the user acks and unmasks. */
static void test_intx_delivery(void)
{
    EduIrq t;

    if (!open_edu(&t.d)) {
        return;
    }
    vt_cfg_command(&t.d, 0, PCI_COMMAND_INTX_DISABLE);
    irq_attach(&t, VFIO_PCI_INTX_IRQ_INDEX);
    irq_raise(&t, 0x4);
    /* Automasked: raising again while masked signals nothing. */
    vt_bar0_write32(&t.d, EDU_REG_IRQ_ACK, 0x4);
    vt_bar0_write32(&t.d, EDU_REG_IRQ_RAISE, 0x8);
    irq_expect_none(&t);
    /* Unmasking with the line still asserted delivers it. */
    irq_action(&t, VFIO_IRQ_SET_ACTION_UNMASK);
    irq_expect_event(&t, IRQ_TIMEOUT_MS);
    vt_bar0_write32(&t.d, EDU_REG_IRQ_ACK, 0x8);
    irq_action(&t, VFIO_IRQ_SET_ACTION_UNMASK);
    irq_expect_none(&t);
    /* Acked and unmasked: the next raise is a new event. */
    irq_raise(&t, 0x10);
    vt_bar0_write32(&t.d, EDU_REG_IRQ_ACK, 0x10);
    edu_irq_close(&t);
}

/* A user mask holds a raised INTx back until unmask. */
static void test_intx_user_mask(void)
{
    EduIrq t;

    if (!edu_irq_open(&t, VFIO_PCI_INTX_IRQ_INDEX)) {
        return;
    }
    irq_action(&t, VFIO_IRQ_SET_ACTION_MASK);
    vt_bar0_write32(&t.d, EDU_REG_IRQ_RAISE, 0x20);
    irq_expect_none(&t);
    irq_action(&t, VFIO_IRQ_SET_ACTION_UNMASK);
    irq_expect_event(&t, IRQ_TIMEOUT_MS);
    vt_bar0_write32(&t.d, EDU_REG_IRQ_ACK, 0x20);
    edu_irq_close(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/edu/dma-round-trip", test_dma_round_trip);
    g_test_add_func("/vfio/edu/dma-partial", test_dma_partial);
    g_test_add_func("/vfio/edu/dma-to-read-only-blocked", test_dma_to_read_only_blocked);
    g_test_add_func("/vfio/edu/dma-to-unmapped-blocked", test_dma_to_unmapped_blocked);
    g_test_add_func("/vfio/edu/dma-after-unmap-blocked", test_dma_after_unmap_blocked);
    g_test_add_func("/vfio/edu/dma-address-28-bit-mask", test_dma_address_mask);
    g_test_add_func("/vfio/edu/dma-follows-remap", test_dma_sees_new_mapping);
    g_test_add_func("/vfio/edu/msi-raise", test_msi_raise);
    g_test_add_func("/vfio/edu/msi-factorial", test_msi_factorial);
    g_test_add_func("/vfio/edu/msi-dma-done", test_msi_dma_done);
    g_test_add_func("/vfio/edu/intx-delivery", test_intx_delivery);
    g_test_add_func("/vfio/edu/intx-user-mask", test_intx_user_mask);
    return g_test_run();
}
