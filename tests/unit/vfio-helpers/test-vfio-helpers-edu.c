/*
 * vfio-helpers as a userspace driver of QEMU's edu device.
 *
 * The test drives the edu's DMA engine with memory mapped through
 * vfio-helpers -- RAM -> device buffer -> other RAM, through the IOMMU --
 * and takes the device's interrupts on an EventNotifier, by MSI and by
 * INTx.  It uses nothing but vfio-helpers and the kernel's VFIO interface,
 * so the same binary runs on vfio-sim (meson test) and on Linux (the rig in
 * tests/vm, or a host with an edu bound to vfio-pci): the device comes
 * from APERTURE_VFIO_DEVICE (default 0000:00:01.0).
 *
 * The edu masks DMA addresses to 28 bits: fixed mappings, which take the
 * lowest IOVAs, are what it can reach.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "vh-test.h"
#include "qemu/event_notifier.h"

#include <linux/pci_regs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define IRQ_TIMEOUT_MS  10000   /* the rig's edu completes DMA from a ~100 ms timer */

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7);
    }
}

/* Map @size bytes at @host as a fixed mapping the edu can reach. */
static uint64_t map_for_edu(QEMUVFIOState *s, void *host, size_t size)
{
    Error *err = NULL;
    uint64_t iova = 0;

    g_assert_true(qemu_vfio_dma_map(s, host, size, false, &iova, &err));
    vh_assert_no_error(err);
    if (iova + size > (1ULL << EDU_DMA_MASK_BITS)) {
        vh_message("IOVA 0x%" PRIx64 " is beyond the edu's 28-bit DMA mask", iova);
        g_assert_not_reached();
    }
    return iova;
}

/*
 * One edu DMA transfer of @count bytes between @iova and the device buffer,
 * finished when the device interrupts on @e.  @intx: the interrupt is INTx,
 * so it is unmasked after the ack.
 */
static void edu_dma(QEMUVFIOState *s, EventNotifier *e, uint64_t iova, uint32_t count,
                    bool to_ram, bool intx)
{
    Error *err = NULL;

    vh_bar0_write32(s, EDU_REG_DMA_SRC, to_ram ? EDU_DMA_BUFFER : (uint32_t)iova);
    vh_bar0_write32(s, EDU_REG_DMA_DST, to_ram ? (uint32_t)iova : EDU_DMA_BUFFER);
    vh_bar0_write32(s, EDU_REG_DMA_COUNT, count);
    vh_bar0_write32(s, EDU_REG_DMA_CMD,
                    EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0));
    if (!vh_notifier_wait(e, IRQ_TIMEOUT_MS)) {
        vh_message("no interrupt within %d ms after a DMA %s IOVA 0x%" PRIx64
                       " (cmd 0x%x, irq status 0x%x)", IRQ_TIMEOUT_MS,
                       to_ram ? "to" : "from", iova, vh_bar0_read32(s, EDU_REG_DMA_CMD),
                       vh_bar0_read32(s, EDU_REG_IRQ_STATUS));
        g_assert_not_reached();
    }
    g_assert_cmphex(vh_bar0_read32(s, EDU_REG_DMA_CMD) & EDU_DMA_START, ==, 0);
    g_assert_cmphex(vh_bar0_read32(s, EDU_REG_IRQ_STATUS) & EDU_IRQ_DMA, ==, EDU_IRQ_DMA);
    vh_bar0_write32(s, EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
    if (intx) {
        g_assert_true(qemu_vfio_pci_unmask_irq(s, &err));
        vh_assert_no_error(err);
    }
}

/* The device answers as an edu through config space, the region and a BAR mmap. */
static void test_identify(void)
{
    QEMUVFIOState *s;
    QEMUVFIOBarInfo bar;
    Error *err = NULL;
    uint16_t ids[2], cmd;
    volatile uint32_t *regs;

    if (!vh_require_device(vh_device())) {
        return;
    }
    s = vh_open(vh_device());
    g_assert_cmpstr(qemu_vfio_device_name(s), ==, vh_device());
    g_assert_cmpint(qemu_vfio_pci_read_config(s, ids, sizeof(ids), PCI_VENDOR_ID), ==, 0);
    g_assert_cmphex(ids[0], ==, EDU_VENDOR_ID);
    g_assert_cmphex(ids[1], ==, EDU_DEVICE_ID);
    /* Open turned bus mastering on: the edu needs it for DMA and MSI. */
    g_assert_cmpint(qemu_vfio_pci_read_config(s, &cmd, sizeof(cmd), PCI_COMMAND), ==, 0);
    g_assert_cmphex(cmd & PCI_COMMAND_MASTER, ==, PCI_COMMAND_MASTER);

    g_assert_true(qemu_vfio_pci_get_bar_info(s, 0, &bar, &err));
    g_assert_cmphex(bar.size_bytes, ==, 1 * MiB);
    g_assert_cmphex(bar.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE),
                    ==, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
    g_assert_cmphex(vh_bar0_read32(s, EDU_REG_ID), ==, EDU_ID_VALUE);
    if (bar.nr_mmap_areas) {
        regs = qemu_vfio_pci_map_bar(s, 0, 0, VH_PAGE, PROT_READ | PROT_WRITE, &err);
        vh_assert_no_error(err);
        g_assert_nonnull(regs);
        g_assert_cmphex(regs[EDU_REG_ID / 4], ==, EDU_ID_VALUE);
        qemu_vfio_pci_unmap_bar(s, 0, (void *)regs, 0, VH_PAGE);
    }
    qemu_vfio_close(s);
}

/*
 * The userspace-driver round trip: a buffer goes RAM -> edu -> other RAM
 * through two fixed mappings, each transfer ending with an interrupt on the
 * event notifier.
 */
static void dma_round_trip(int irq_type)
{
    bool intx = irq_type == VFIO_PCI_INTX_IRQ_INDEX;
    QEMUVFIOState *s;
    EventNotifier e;
    Error *err = NULL;
    uint8_t *src, *dst;
    uint64_t src_iova, dst_iova, iova;

    if (!vh_require_device(vh_device())) {
        return;
    }
    s = vh_open(vh_device());
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    g_assert_true(qemu_vfio_pci_init_irq(s, &e, irq_type, &err));
    vh_assert_no_error(err);

    src = vh_alloc(EDU_DMA_BUFFER_SIZE, 0);
    dst = vh_alloc(2 * EDU_DMA_BUFFER_SIZE, 0xee);
    fill_pattern(src, EDU_DMA_BUFFER_SIZE, intx ? 0x31 : 0x5c);
    src_iova = map_for_edu(s, src, EDU_DMA_BUFFER_SIZE);
    dst_iova = map_for_edu(s, dst, 2 * EDU_DMA_BUFFER_SIZE);
    g_assert_true(qemu_vfio_dma_lookup(s, dst + VH_PAGE, VH_PAGE, &iova));
    g_assert_cmphex(iova, ==, dst_iova + VH_PAGE);

    edu_dma(s, &e, src_iova, EDU_DMA_BUFFER_SIZE, false, intx);
    /* Into the second page of dst, found by host address. */
    edu_dma(s, &e, iova, EDU_DMA_BUFFER_SIZE, true, intx);
    g_assert_cmpmem(dst + VH_PAGE, EDU_DMA_BUFFER_SIZE, src, EDU_DMA_BUFFER_SIZE);
    for (size_t i = 0; i < VH_PAGE; i++) {
        if (dst[i] != 0xee) {
            vh_message("byte %zu of the page before the target is 0x%02x", i, dst[i]);
            g_assert_not_reached();
        }
    }
    /* No interrupt is pending once both are acked. */
    g_assert_false(vh_notifier_wait(&e, 0));

    qemu_vfio_close(s);
    event_notifier_cleanup(&e);
    vh_free(src, EDU_DMA_BUFFER_SIZE);
    vh_free(dst, 2 * EDU_DMA_BUFFER_SIZE);
}

static void test_dma_round_trip_msi(void)
{
    dma_round_trip(VFIO_PCI_MSI_IRQ_INDEX);
}

static void test_dma_round_trip_intx(void)
{
    dma_round_trip(VFIO_PCI_INTX_IRQ_INDEX);
}

/*
 * Interrupts move from one index to another on the same notifier; the
 * edu's "raise" register triggers them without DMA.
 */
static void test_irq_switch(void)
{
    QEMUVFIOState *s;
    EventNotifier e;
    Error *err = NULL;

    if (!vh_require_device(vh_device())) {
        return;
    }
    s = vh_open(vh_device());
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);

    g_assert_true(qemu_vfio_pci_init_irq(s, &e, VFIO_PCI_INTX_IRQ_INDEX, &err));
    vh_assert_no_error(err);
    vh_bar0_write32(s, EDU_REG_IRQ_RAISE, 0x4);
    g_assert_true(vh_notifier_wait(&e, IRQ_TIMEOUT_MS));
    vh_bar0_write32(s, EDU_REG_IRQ_ACK, 0x4);
    g_assert_true(qemu_vfio_pci_unmask_irq(s, &err));
    vh_assert_no_error(err);

    g_assert_true(qemu_vfio_pci_init_irq(s, &e, VFIO_PCI_MSI_IRQ_INDEX, &err));
    vh_assert_no_error(err);
    /* Unmask is an INTx notion. */
    g_assert_false(qemu_vfio_pci_unmask_irq(s, &err));
    vh_assert_error(&err, "INTx is not in use");
    vh_bar0_write32(s, EDU_REG_IRQ_RAISE, 0x8);
    g_assert_true(vh_notifier_wait(&e, IRQ_TIMEOUT_MS));
    vh_bar0_write32(s, EDU_REG_IRQ_ACK, 0x8);

    /* Disabled: a raise reaches nobody. */
    qemu_vfio_pci_disable_irq(s);
    vh_bar0_write32(s, EDU_REG_IRQ_RAISE, 0x10);
    g_assert_false(vh_notifier_wait(&e, 300));
    vh_bar0_write32(s, EDU_REG_IRQ_ACK, 0x10);

    /* The edu has no MSI-X: a clear error, not a crash. */
    g_assert_false(qemu_vfio_pci_init_irq(s, &e, VFIO_PCI_MSIX_IRQ_INDEX, &err));
    vh_assert_error(&err, "MSI-X");

    qemu_vfio_close(s);
    event_notifier_cleanup(&e);
}

/*
 * Close leaves nothing mapped: with the group and container kept alive by
 * duplicated fds, UNMAP_DMA of the whole IOVA space finds nothing left.
 */
static void test_close_releases_all(void)
{
    g_autoptr(GHashTable) before = NULL;
    QEMUVFIOState *s;
    Error *err = NULL;
    int container, group;
    uint8_t *fixed, *tmp, *probe;

    if (!vh_require_device(vh_device())) {
        return;
    }
    fixed = vh_alloc(4 * VH_PAGE, 0);
    tmp = vh_alloc(2 * VH_PAGE, 0);
    probe = vh_alloc(VH_PAGE, 0);
    before = vh_fds_snapshot();
    s = vh_open(vh_device());
    vh_dup_vfio_fds(before, &container, &group);

    g_assert_true(qemu_vfio_dma_map(s, fixed, 2 * VH_PAGE, false, NULL, &err));
    g_assert_true(qemu_vfio_dma_map(s, fixed + 2 * VH_PAGE, 2 * VH_PAGE, false, NULL, &err));
    g_assert_true(qemu_vfio_dma_map(s, tmp, VH_PAGE, true, NULL, &err));
    g_assert_true(qemu_vfio_dma_map(s, tmp + VH_PAGE, VH_PAGE, true, NULL, &err));
    vh_assert_no_error(err);
    qemu_vfio_close(s);

    g_assert_cmpuint(vh_container_unmap_everything(container), ==, 0);
    /* The probe is sensitive: a page mapped now is found. */
    {
        struct vfio_iommu_type1_dma_map map = {
            .argsz = sizeof(map),
            .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            .vaddr = (uintptr_t)probe,
            .iova = 0x100000,
            .size = VH_PAGE,
        };

        g_assert_cmpint(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), ==, 0);
        g_assert_cmpuint(vh_container_unmap_everything(container), ==, VH_PAGE);
    }
    close(group);
    close(container);
    vh_free(fixed, 4 * VH_PAGE);
    vh_free(tmp, 2 * VH_PAGE);
    vh_free(probe, VH_PAGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio-helpers/edu/identify", test_identify);
    g_test_add_func("/vfio-helpers/edu/dma-round-trip-msi", test_dma_round_trip_msi);
    g_test_add_func("/vfio-helpers/edu/dma-round-trip-intx", test_dma_round_trip_intx);
    g_test_add_func("/vfio-helpers/edu/irq-switch-and-disable", test_irq_switch);
    g_test_add_func("/vfio-helpers/edu/close-releases-all", test_close_releases_all);
    return g_test_run();
}
