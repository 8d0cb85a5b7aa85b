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

/* RAM -> device buffer -> other RAM: the bytes arrive through the IOMMU. */
static void test_dma_round_trip(void)
{
    VtDevice d;
    uint8_t *src, *dst;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x31, VFIO_DMA_MAP_FLAG_READ);
    dst = vt_alloc(VT_PAGE, 0xee);
    vt_assert_ok(vt_map(d.container, IOVA_BASE + 0x10000, dst, VT_PAGE, MAP_RW));
    /* The cmd register reads back the direction bit once done. */
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_DMA_CMD) & EDU_DMA_START, ==, 0);
    g_assert_true(vt_edu_dma(&d, IOVA_BASE + 0x10000, EDU_DMA_BUFFER_SIZE, true,
                             DMA_TIMEOUT_MS));
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_DMA_CMD), ==, EDU_DMA_TO_RAM);
    g_assert_cmpmem(dst, VT_PAGE, src, VT_PAGE);
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
    vt_device_close(&d);
}

/* A partial transfer writes exactly its bytes and nothing around them. */
static void test_dma_partial(void)
{
    VtDevice d;
    uint8_t *src, *dst;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x5, MAP_RW);
    dst = vt_alloc(VT_PAGE, 0xee);
    vt_assert_ok(vt_map(d.container, IOVA_BASE + VT_PAGE, dst, VT_PAGE, MAP_RW));
    g_assert_true(vt_edu_dma(&d, IOVA_BASE + VT_PAGE + 100, 64, true, DMA_TIMEOUT_MS));
    assert_all(dst, 100, 0xee, "before the transfer");
    g_assert_cmpmem(dst + 100, 64, src, 64);
    assert_all(dst + 164, VT_PAGE - 164, 0xee, "after the transfer");
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
    vt_device_close(&d);
}

/* Writes to a read-only mapping are blocked by the IOMMU. */
static void test_dma_to_read_only_blocked(void)
{
    VtDevice d;
    uint8_t *src, *ro;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x77, VFIO_DMA_MAP_FLAG_READ);
    ro = vt_alloc(VT_PAGE, 0x5a);
    vt_assert_ok(vt_map(d.container, IOVA_BASE + VT_PAGE, ro, VT_PAGE, VFIO_DMA_MAP_FLAG_READ));
    g_assert_true(vt_edu_dma(&d, IOVA_BASE + VT_PAGE, 256, true, DMA_TIMEOUT_MS));
    assert_all(ro, VT_PAGE, 0x5a, "read-only mapping");
    /* The fault leaves the device usable. */
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_ID), ==, EDU_ID_VALUE);
    vt_free(src, VT_PAGE);
    vt_free(ro, VT_PAGE);
    vt_device_close(&d);
}

/*
 * A transfer that runs past the end of a mapping: the mapped part may land, the
 * unmapped IOVA behind it does not reach the memory next to the mapped buffer.
 */
static void test_dma_to_unmapped_blocked(void)
{
    VtDevice d;
    uint8_t *src, *two;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x11, VFIO_DMA_MAP_FLAG_READ);
    two = vt_alloc(2 * VT_PAGE, 0xc3);
    /* Only the first page of TWO is mapped. */
    vt_assert_ok(vt_map(d.container, IOVA_BASE + 0x100000, two, VT_PAGE, MAP_RW));
    /* Entirely unmapped. */
    g_assert_true(vt_edu_dma(&d, IOVA_BASE + 0x200000, 256, true, DMA_TIMEOUT_MS));
    /* Straddling the end of the mapping into the unmapped page. */
    g_assert_true(vt_edu_dma(&d, IOVA_BASE + 0x100000 + VT_PAGE - 64, 256, true,
                             DMA_TIMEOUT_MS));
    assert_all(two + VT_PAGE, VT_PAGE, 0xc3, "page behind the mapping");
    assert_all(two, VT_PAGE - 64, 0xc3, "mapped page before the transfer");
    vt_free(src, VT_PAGE);
    vt_free(two, 2 * VT_PAGE);
    vt_device_close(&d);
}

/* After UNMAP_DMA the device can no longer reach the memory. */
static void test_dma_after_unmap_blocked(void)
{
    VtDevice d;
    uint8_t *src, *dst;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x42, VFIO_DMA_MAP_FLAG_READ);
    dst = vt_alloc(VT_PAGE, 0x99);
    vt_assert_ok(vt_map(d.container, IOVA_BASE + VT_PAGE, dst, VT_PAGE, MAP_RW));
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE + VT_PAGE, VT_PAGE, 0, NULL));
    g_assert_true(vt_edu_dma(&d, IOVA_BASE + VT_PAGE, 256, true, DMA_TIMEOUT_MS));
    assert_all(dst, VT_PAGE, 0x99, "unmapped buffer");
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
    vt_device_close(&d);
}

/* The edu masks DMA addresses to 28 bits: an IOVA above is clamped, not used. */
static void test_dma_address_mask(void)
{
    VtDevice d;
    uint8_t *src, *dst;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x23, VFIO_DMA_MAP_FLAG_READ);
    dst = vt_alloc(VT_PAGE, 0);
    vt_assert_ok(vt_map(d.container, IOVA_BASE + VT_PAGE, dst, VT_PAGE, MAP_RW));
    /* 0x10000000 | x reaches x. */
    g_assert_true(vt_edu_dma(&d, (1ULL << 28) | (IOVA_BASE + VT_PAGE), 128, true,
                             DMA_TIMEOUT_MS));
    g_assert_cmpmem(dst, 128, src, 128);
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
    vt_device_close(&d);
}

/* A shared container: a mapping made after the device was opened is used at once. */
static void test_dma_sees_new_mapping(void)
{
    VtDevice d;
    uint8_t *src, *dst;

    if (!open_edu(&d)) {
        return;
    }
    src = edu_load_pattern(&d, 0x61, VFIO_DMA_MAP_FLAG_READ);
    dst = vt_alloc(VT_PAGE, 0);
    /* Remap the same IOVA onto another buffer: the device follows. */
    vt_assert_ok(vt_unmap(d.container, IOVA_BASE, VT_PAGE, 0, NULL));
    vt_assert_ok(vt_map(d.container, IOVA_BASE, dst, VT_PAGE, MAP_RW));
    g_assert_true(vt_edu_dma(&d, IOVA_BASE, EDU_DMA_BUFFER_SIZE, true, DMA_TIMEOUT_MS));
    g_assert_cmpmem(dst, VT_PAGE, src, VT_PAGE);
    vt_free(src, VT_PAGE);
    vt_free(dst, VT_PAGE);
    vt_device_close(&d);
}

static void test_msi_raise(void)
{
    VtDevice d;
    int efd;

    if (!open_edu(&d)) {
        return;
    }
    efd = vt_eventfd();
    vt_assert_ok(vt_set_irq_eventfds(d.device, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd));
    vt_bar0_write32(&d, EDU_REG_IRQ_RAISE, 0x1000);
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), >=, 1);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_IRQ_STATUS) & 0x1000, ==, 0x1000);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x1000);
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_IRQ_STATUS), ==, 0);
    /* MSI is edge: a second raise is a second message. */
    vt_bar0_write32(&d, EDU_REG_IRQ_RAISE, 0x2);
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), >=, 1);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x2);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
                                 0, 0));
    close(efd);
    vt_device_close(&d);
}

static void test_msi_factorial(void)
{
    VtDevice d;
    int efd;

    if (!open_edu(&d)) {
        return;
    }
    efd = vt_eventfd();
    vt_assert_ok(vt_set_irq_eventfds(d.device, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd));
    vt_bar0_write32(&d, EDU_REG_STATUS, EDU_STATUS_IRQ_FACT);
    vt_bar0_write32(&d, EDU_REG_FACTORIAL, 12);
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), >=, 1);
    g_assert_cmpuint(vt_bar0_read32(&d, EDU_REG_FACTORIAL), ==, 479001600);
    /* The factorial interrupt is status bit 0x1. */
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_IRQ_STATUS) & 0x1, ==, 0x1);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x1);
    vt_bar0_write32(&d, EDU_REG_STATUS, 0);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
                                 0, 0));
    close(efd);
    vt_device_close(&d);
}

static void test_msi_dma_done(void)
{
    VtDevice d;
    int efd;
    uint8_t *src;

    if (!open_edu(&d)) {
        return;
    }
    src = vt_alloc(VT_PAGE, 0x17);
    vt_assert_ok(vt_map(d.container, IOVA_BASE, src, VT_PAGE, VFIO_DMA_MAP_FLAG_READ));
    efd = vt_eventfd();
    vt_assert_ok(vt_set_irq_eventfds(d.device, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd));
    vt_bar0_write32(&d, EDU_REG_DMA_SRC, IOVA_BASE);
    vt_bar0_write32(&d, EDU_REG_DMA_DST, EDU_DMA_BUFFER);
    vt_bar0_write32(&d, EDU_REG_DMA_COUNT, 128);
    vt_bar0_write32(&d, EDU_REG_DMA_CMD, EDU_DMA_START | EDU_DMA_IRQ);
    g_assert_cmpuint(vt_eventfd_wait(efd, DMA_TIMEOUT_MS), >=, 1);
    /* The DMA interrupt is status bit 0x100. */
    g_assert_cmphex(vt_bar0_read32(&d, EDU_REG_IRQ_STATUS) & 0x100, ==, 0x100);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x100);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
                                 0, 0));
    close(efd);
    vt_free(src, VT_PAGE);
    vt_device_close(&d);
}

/* INTx is level and automasked: one event until the user acks and unmasks. */
static void test_intx_delivery(void)
{
    VtDevice d;
    int efd;

    if (!open_edu(&d)) {
        return;
    }
    vt_cfg_command(&d, 0, PCI_COMMAND_INTX_DISABLE);
    efd = vt_eventfd();
    vt_assert_ok(vt_set_irq_eventfds(d.device, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd));
    vt_bar0_write32(&d, EDU_REG_IRQ_RAISE, 0x4);
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), ==, 1);
    /* Automasked: raising again while masked signals nothing. */
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x4);
    vt_bar0_write32(&d, EDU_REG_IRQ_RAISE, 0x8);
    g_assert_cmpuint(vt_eventfd_wait(efd, 300), ==, 0);
    /* Unmasking with the line still asserted delivers it. */
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
                                 0, 1));
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), ==, 1);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x8);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
                                 0, 1));
    g_assert_cmpuint(vt_eventfd_wait(efd, 300), ==, 0);
    /* Acked and unmasked: the next raise is a new event. */
    vt_bar0_write32(&d, EDU_REG_IRQ_RAISE, 0x10);
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), ==, 1);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x10);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
                                 0, 0));
    close(efd);
    vt_device_close(&d);
}

/* A user mask holds a raised INTx back until unmask. */
static void test_intx_user_mask(void)
{
    VtDevice d;
    int efd;

    if (!open_edu(&d)) {
        return;
    }
    efd = vt_eventfd();
    vt_assert_ok(vt_set_irq_eventfds(d.device, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd));
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_MASK,
                                 0, 1));
    vt_bar0_write32(&d, EDU_REG_IRQ_RAISE, 0x20);
    g_assert_cmpuint(vt_eventfd_wait(efd, 300), ==, 0);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
                                 0, 1));
    g_assert_cmpuint(vt_eventfd_wait(efd, 5000), ==, 1);
    vt_bar0_write32(&d, EDU_REG_IRQ_ACK, 0x20);
    vt_assert_ok(vt_set_irq_none(d.device, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
                                 0, 0));
    close(efd);
    vt_device_close(&d);
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
