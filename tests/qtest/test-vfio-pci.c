/*
 * vfio-pci from the guest's side: an assigned edu driven through qtest.
 *
 * Every test starts its own Aperture with the edu of APERTURE_VFIO_DEVICE
 * (default 0000:00:01.0) at slot EDU_SLOT, so the same binary runs over
 * vfio-sim (meson test) and against Linux's vfio-pci in the rig
 * (tests/vm/rig.py check -x tests/qtest/test-vfio-pci).  Checks that need
 * the sim's view (its DMA mappings) or the host's (reopening the group)
 * are chosen by edu_on_sim().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <unistd.h>

#include "test-vfio-pci-edu.h"

#define EDU_SLOT        4
#define RAM_MB          128
/* Guest buffers: well below the edu's 256 MiB DMA limit. */
#define GPA_SRC         0x100000ULL
#define GPA_DST         0x200000ULL
#define GPA_MSI         0x300000ULL
#define MSI_DATA        0x4321
/* Where the hot-unplug test asks vfio-sim to trace. */
#define SIM_TRACE_EVENTS "vfio_sim_map_dma,vfio_sim_unmap_dma,vfio_sim_container_release"

static QTestState *edu_start(Edu *e, const char *extra)
{
    QTestState *qts = qtest_initf("-machine q35 -m %dM -device vfio-pci,host=%s,id=edu0,"
                                  "addr=%02x.0%s", RAM_MB, edu_host(), EDU_SLOT,
                                  extra ? extra : "");

    edu_attach(e, qts, EDU_SLOT);
    return qts;
}

static void edu_stop(Edu *e)
{
    QTestState *qts = e->qts;

    edu_detach(e);
    qtest_quit(qts);
}

/* The single device of query-vfio (fails unless there is exactly one). */
static JsonObject *vfio_device_info(QTestState *qts)
{
    JsonObject *info = edu_query_vfio(qts);
    JsonArray *devices = json_object_get_array_member(info, "devices");
    JsonObject *dev;

    g_assert_cmpuint(json_array_get_length(devices), ==, 1);
    dev = json_object_ref(json_array_get_object_element(devices, 0));
    json_object_unref(info);
    return dev;
}

/* ------------------------------------------------------------------------ */
/* Enumeration and BAR0 */

static void test_enumerate(void)
{
    Edu e;
    uint32_t type;
    uint8_t msi;

    edu_start(&e, NULL);
    g_assert_cmphex(qpci_config_readw(e.dev, PCI_VENDOR_ID), ==, EDU_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(e.dev, PCI_DEVICE_ID), ==, EDU_DEVICE_ID);
    /* BAR0: 1 MiB of 32-bit, non-prefetchable memory. */
    g_assert_cmphex(qpci_bar_size(e.dev, 0, &type), ==, 1 * 1024 * 1024);
    g_assert_cmphex(type & PCI_BASE_ADDRESS_SPACE_IO, ==, 0);
    g_assert_cmphex(type & PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==, 0);
    /* No other BAR, no ROM. */
    for (int bar = 1; bar < 6; bar++) {
        g_assert_cmphex(qpci_bar_size(e.dev, bar, NULL), ==, 0);
    }
    qpci_config_writel(e.dev, PCI_ROM_ADDRESS, 0xfffff800);
    g_assert_cmphex(qpci_config_readl(e.dev, PCI_ROM_ADDRESS), ==, 0);
    /* INTA and an MSI capability in a well-formed list. */
    g_assert_cmpuint(qpci_config_readb(e.dev, PCI_INTERRUPT_PIN), ==, 1);
    g_assert_true(qpci_config_readw(e.dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
    msi = qpci_find_capability(e.dev, PCI_CAP_ID_MSI, 0);
    g_assert_cmpuint(msi, >=, 0x40);
    g_assert_cmpuint(qpci_find_capability(e.dev, PCI_CAP_ID_MSIX, 0), ==, 0);
    /* The single-function device says so. */
    g_assert_cmphex(qpci_config_readb(e.dev, PCI_HEADER_TYPE) & 0x80, ==, 0);
    edu_stop(&e);
}

static void test_bar0_id(void)
{
    Edu e;
    g_autoptr(JsonObject) dev = NULL;

    edu_start(&e, NULL);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_writel(&e, EDU_REG_LIVENESS, 0x12345678);
    g_assert_cmphex(edu_readl(&e, EDU_REG_LIVENESS), ==, 0xedcba987);
    /* BAR0 is served from the mmap (the sim's and the kernel's edu allow it). */
    dev = vfio_device_info(e.qts);
    g_assert_cmpint(json_object_get_int_member(dev, "mmap-areas"), ==, 1);
    edu_stop(&e);
}

static void test_bar0_no_mmap(void)
{
    Edu e;
    uint32_t result = 0;
    g_autoptr(JsonObject) dev = NULL;

    edu_start(&e, ",x-no-mmap=on");
    dev = vfio_device_info(e.qts);
    g_assert_cmpint(json_object_get_int_member(dev, "mmap-areas"), ==, 0);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    g_assert_true(edu_factorial(&e, 7, &result));
    g_assert_cmpuint(result, ==, 5040);
    edu_stop(&e);
}

static void test_romfile(void)
{
    g_autofree char *dir = g_dir_make_tmp("vfio-pci-rom-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "edu.rom", NULL);
    g_autofree char *opts = g_strdup_printf(",romfile=%s", path);
    g_autofree char *hidden = g_strdup_printf(",romfile=%s,rombar=0", path);
    uint8_t rom[3000], got[3000];
    const uint64_t rom_gpa = 0xe8000000ULL;
    Edu e;

    for (size_t i = 0; i < sizeof(rom); i++) {
        rom[i] = (uint8_t)(i ^ (i >> 8));
    }
    rom[0] = 0x55;
    rom[1] = 0xaa;
    g_assert_true(g_file_set_contents(path, (const char *)rom, sizeof(rom), NULL));

    /* romfile= replaces the device's ROM: a 4 KiB ROM BAR with the file in it. */
    edu_start(&e, opts);
    qpci_config_writel(e.dev, PCI_ROM_ADDRESS, 0xfffff800);
    g_assert_cmphex(qpci_config_readl(e.dev, PCI_ROM_ADDRESS), ==, 0xfffff000);
    qpci_config_writel(e.dev, PCI_ROM_ADDRESS, rom_gpa | PCI_ROM_ADDRESS_ENABLE);
    qtest_memread(e.qts, rom_gpa, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), rom, sizeof(rom));
    /* The device itself is untouched by it. */
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_stop(&e);

    /* rombar=0 hides any ROM. */
    edu_start(&e, hidden);
    qpci_config_writel(e.dev, PCI_ROM_ADDRESS, 0xfffff800);
    g_assert_cmphex(qpci_config_readl(e.dev, PCI_ROM_ADDRESS), ==, 0);
    edu_stop(&e);
    unlink(path);
    rmdir(dir);
}

static void test_factorial(void)
{
    Edu e;
    uint32_t result = 0;

    edu_start(&e, NULL);
    g_assert_true(edu_factorial(&e, 10, &result));
    g_assert_cmpuint(result, ==, 3628800);
    g_assert_true(edu_factorial(&e, 12, &result));
    g_assert_cmpuint(result, ==, 479001600);
    edu_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* DMA */

static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 8));
    }
}

static void test_dma_into_guest_ram(void)
{
    Edu e;
    uint8_t pattern[EDU_DMA_BUFFER_SIZE], got[EDU_DMA_BUFFER_SIZE + 64];
    const uint32_t len = EDU_DMA_BUFFER_SIZE;

    edu_start(&e, NULL);
    fill_pattern(pattern, len, 0x5a);
    qtest_memwrite(e.qts, GPA_SRC, pattern, len);
    qtest_memset(e.qts, GPA_DST - 32, 0xee, len + 64);

    /* Guest RAM -> edu, then edu -> guest RAM elsewhere: both through the IOMMU. */
    g_assert_true(edu_dma(&e, GPA_SRC, 0, len, false, 0));
    g_assert_true(edu_dma(&e, GPA_DST, 0, len, true, 0));

    qtest_memread(e.qts, GPA_DST - 32, got, len + 64);
    g_assert_cmpmem(got + 32, len, pattern, len);
    for (int i = 0; i < 32; i++) {
        g_assert_cmphex(got[i], ==, 0xee);
        g_assert_cmphex(got[32 + len + i], ==, 0xee);
    }

    /* A partial transfer at an offset in the buffer lands where it was sent. */
    qtest_memset(e.qts, GPA_DST, 0, 256);
    g_assert_true(edu_dma(&e, GPA_DST + 16, 128, 64, true, 0));
    qtest_memread(e.qts, GPA_DST, got, 256);
    g_assert_cmpmem(got + 16, 64, pattern + 128, 64);
    g_assert_cmphex(got[15], ==, 0);
    g_assert_cmphex(got[80], ==, 0);
    edu_stop(&e);
}

static void test_bus_master_mid_dma(void)
{
    Edu e;
    uint8_t pattern[512], got[512], old[512];
    bool moved, untouched;

    edu_start(&e, NULL);
    fill_pattern(pattern, sizeof(pattern), 0x11);
    memset(old, 0xaa, sizeof(old));
    qtest_memwrite(e.qts, GPA_SRC, pattern, sizeof(pattern));
    g_assert_true(edu_dma(&e, GPA_SRC, 0, sizeof(pattern), false, 0));

    /* Start with bus mastering off, turn it on while the transfer runs. */
    qtest_memwrite(e.qts, GPA_DST, old, sizeof(old));
    qpci_command_update(e.dev, PCI_COMMAND_MASTER, 0);
    edu_dma_start(&e, GPA_DST, 0, sizeof(pattern), true, 0);
    qpci_command_update(e.dev, 0, PCI_COMMAND_MASTER);
    g_assert_true(edu_dma_wait(&e));
    qtest_memread(e.qts, GPA_DST, got, sizeof(got));
    moved = !memcmp(got, pattern, sizeof(got));
    untouched = !memcmp(got, old, sizeof(got));
    g_test_message("DMA with bus mastering enabled mid-flight: %s",
                   moved ? "moved" : untouched ? "blocked" : "torn");
    g_assert_true(moved || untouched);

    /* Toggle it off for good mid-flight: nothing may land after that. */
    qtest_memwrite(e.qts, GPA_DST, old, sizeof(old));
    edu_dma_start(&e, GPA_DST, 0, sizeof(pattern), true, 0);
    qpci_command_update(e.dev, PCI_COMMAND_MASTER, 0);
    g_assert_true(edu_dma_wait(&e));
    qtest_memread(e.qts, GPA_DST, got, sizeof(got));
    g_assert_true(!memcmp(got, pattern, sizeof(got)) || !memcmp(got, old, sizeof(got)));

    /* The device and the mappings are fine afterwards. */
    qpci_command_update(e.dev, 0, PCI_COMMAND_MASTER);
    qtest_memwrite(e.qts, GPA_DST, old, sizeof(old));
    g_assert_true(edu_dma(&e, GPA_DST, 0, sizeof(pattern), true, 0));
    qtest_memread(e.qts, GPA_DST, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), pattern, sizeof(pattern));
    edu_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Interrupts */

static bool msi_arrived(Edu *e, void *opaque)
{
    return qtest_readl(e->qts, GPA_MSI) == GPOINTER_TO_UINT(opaque);
}

static void test_msi_into_guest_ram(void)
{
    Edu e;
    g_autoptr(JsonObject) dev = NULL;
    uint8_t pattern[64];

    edu_start(&e, NULL);
    qtest_writel(e.qts, GPA_MSI, 0);
    qpci_msi_enable(e.dev, GPA_MSI, MSI_DATA, 1);

    /* A raised interrupt arrives as the message, written into guest RAM. */
    edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
    g_assert_true(edu_wait(&e, msi_arrived, GUINT_TO_POINTER(MSI_DATA)));
    g_assert_cmphex(edu_readl(&e, EDU_REG_IRQ_STATUS), ==, 1);
    edu_writel(&e, EDU_REG_IRQ_ACK, 1);
    g_assert_cmphex(edu_readl(&e, EDU_REG_IRQ_STATUS), ==, 0);

    dev = vfio_device_info(e.qts);
    g_assert_cmpstr(json_object_get_string_member(dev, "interrupt-mode"), ==, "msi");
    g_assert_cmpint(json_object_get_int_member(dev, "msi-count"), >=, 1);

    /* The DMA completion interrupt too, with the message the guest changed. */
    qtest_writel(e.qts, GPA_MSI, 0);
    qpci_msi_enable(e.dev, GPA_MSI, MSI_DATA + 1, 1);
    fill_pattern(pattern, sizeof(pattern), 3);
    qtest_memwrite(e.qts, GPA_SRC, pattern, sizeof(pattern));
    g_assert_true(edu_dma(&e, GPA_SRC, 0, sizeof(pattern), false, EDU_DMA_IRQ));
    g_assert_true(edu_wait(&e, msi_arrived, GUINT_TO_POINTER(MSI_DATA + 1)));
    g_assert_cmphex(edu_readl(&e, EDU_REG_IRQ_STATUS), ==, EDU_DMA_IRQ_VALUE);
    edu_writel(&e, EDU_REG_IRQ_ACK, EDU_DMA_IRQ_VALUE);

    /* Without bus mastering the message cannot be written. */
    qtest_writel(e.qts, GPA_MSI, 0);
    qpci_command_update(e.dev, PCI_COMMAND_MASTER, 0);
    edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
    for (int i = 0; i < 50; i++) {
        g_assert_cmphex(qtest_readl(e.qts, GPA_MSI), ==, 0);
        g_usleep(1000);
    }
    edu_writel(&e, EDU_REG_IRQ_ACK, 1);

    /* MSI off: back to INTx. */
    qpci_command_update(e.dev, 0, PCI_COMMAND_MASTER);
    qpci_msi_disable(e.dev);
    json_object_unref(g_steal_pointer(&dev));
    dev = vfio_device_info(e.qts);
    g_assert_cmpstr(json_object_get_string_member(dev, "interrupt-mode"), ==, "intx");
    edu_stop(&e);
}

static bool irq_is(Edu *e, void *opaque)
{
    int gsi = GPOINTER_TO_INT(opaque) & 0xff;
    bool level = GPOINTER_TO_INT(opaque) >> 8;

    return qtest_get_irq(e->qts, gsi) == level;
}

static void test_intx_raises_gsi(void)
{
    Edu e;
    g_autoptr(JsonObject) dev = NULL;
    int gsi;

    edu_start(&e, NULL);
    gsi = edu_intx_gsi(&e);
    g_assert_cmpint(gsi, ==, 16 + (EDU_SLOT + 0) % 4 + 4);
    qtest_irq_intercept_in(e.qts, "ioapic");
    g_assert_false(qtest_get_irq(e.qts, gsi));

    for (int round = 0; round < 3; round++) {
        /* Raise: the line goes up on the slot's GSI, and stays up. */
        edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
        g_assert_true(edu_wait(&e, irq_is, GINT_TO_POINTER(1 << 8 | gsi)));
        for (int i = 16; i < 24; i++) {
            g_assert_true(i == gsi || !qtest_get_irq(e.qts, i));
        }
        /* The guest's acknowledgement is its EOI: the line drops. */
        edu_writel(&e, EDU_REG_IRQ_ACK, 1);
        g_assert_false(qtest_get_irq(e.qts, gsi));
        for (int i = 0; i < 20; i++) {
            g_usleep(1000);
            g_assert_false(qtest_get_irq(e.qts, gsi));
        }
        g_assert_cmphex(edu_readl(&e, EDU_REG_IRQ_STATUS), ==, 0);
    }
    dev = vfio_device_info(e.qts);
    g_assert_cmpstr(json_object_get_string_member(dev, "interrupt-mode"), ==, "intx");
    g_assert_cmpint(json_object_get_int_member(dev, "intx-count"), >=, 3);

    /* Masking INTx in the command register while one is pending drops the line... */
    edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
    g_assert_true(edu_wait(&e, irq_is, GINT_TO_POINTER(1 << 8 | gsi)));
    qpci_command_update(e.dev, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_false(qtest_get_irq(e.qts, gsi));
    /* ...and unmasking it brings it back while the device still asserts. */
    qpci_command_update(e.dev, PCI_COMMAND_INTX_DISABLE, 0);
    g_assert_true(edu_wait(&e, irq_is, GINT_TO_POINTER(1 << 8 | gsi)));
    edu_writel(&e, EDU_REG_IRQ_ACK, 1);
    g_assert_false(qtest_get_irq(e.qts, gsi));

    /* INTx disable in the command register keeps the line quiet. */
    qpci_command_update(e.dev, 0, PCI_COMMAND_INTX_DISABLE);
    edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
    for (int i = 0; i < 50; i++) {
        g_assert_false(qtest_get_irq(e.qts, gsi));
        g_usleep(1000);
    }
    edu_writel(&e, EDU_REG_IRQ_ACK, 1);
    qpci_command_update(e.dev, PCI_COMMAND_INTX_DISABLE, 0);
    edu_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* MSI-X: vfio-sim's "mig" device (BAR0 registers + sparse mmap, BAR2 table) */

#define MIG_SLOT            5
#define MIG_REG_CTRL        0x04
#define MIG_REG_DMA_BASE    0x10
#define MIG_REG_DMA_PAGES   0x18
#define MIG_REG_RATE        0x1c
#define MIG_CTRL_ON_IRQ     0x3
#define GPA_MIG_WINDOW      0x400000ULL
#define MSIX_DATA           0xabcd

static bool msix_pending(Edu *e, void *opaque)
{
    return qpci_msix_pending(e->dev, 0);
}

static void mig_engine(Edu *m, bool on)
{
    qpci_io_writel(m->dev, m->bar0, MIG_REG_CTRL, on ? MIG_CTRL_ON_IRQ : 0);
}

static void test_msix_sim_mig(void)
{
    const char *mig = g_getenv("APERTURE_VFIO_MIG_DEVICE");
    g_autoptr(JsonObject) dev = NULL;
    QTestState *qts;
    QPCIBar bar2;
    Edu m;

    if (!edu_on_sim() || !mig) {
        g_test_skip("sim-only: needs vfio-sim's mig device (APERTURE_VFIO_MIG_DEVICE)");
        return;
    }
    qts = qtest_initf("-machine q35 -m %dM -device vfio-pci,host=%s,id=mig0,addr=%02x.0",
                      RAM_MB, mig, MIG_SLOT);
    edu_attach(&m, qts, MIG_SLOT);
    bar2 = qpci_iomap(m.dev, 2, NULL);
    g_assert_cmpuint(qpci_config_readb(m.dev, PCI_INTERRUPT_PIN), ==, 1);
    g_assert_cmpuint(qpci_find_capability(m.dev, PCI_CAP_ID_MSIX, 0), !=, 0);
    g_assert_cmpuint(qpci_msix_table_size(m.dev), ==, 2);

    /* BAR0's registers trap, its sparse pages are mapped; BAR2 (the table) is not. */
    dev = vfio_device_info(qts);
    g_assert_cmpint(json_object_get_int_member(dev, "mmap-areas"), ==, 1);

    qpci_msix_enable(m.dev);
    json_object_unref(g_steal_pointer(&dev));
    dev = vfio_device_info(qts);
    g_assert_cmpstr(json_object_get_string_member(dev, "interrupt-mode"), ==, "msix");
    qpci_msix_set_vector(m.dev, 0, GPA_MSI, MSIX_DATA);
    qtest_writel(qts, GPA_MSI, 0);
    qpci_io_writel(m.dev, m.bar0, MIG_REG_DMA_BASE, GPA_MIG_WINDOW);
    qpci_io_writel(m.dev, m.bar0, MIG_REG_DMA_PAGES, 4);
    qpci_io_writel(m.dev, m.bar0, MIG_REG_RATE, 4);

    /* A pass of the engine ends with vector 0, written into guest RAM. */
    mig_engine(&m, true);
    g_assert_true(edu_wait(&m, msi_arrived, GUINT_TO_POINTER(MSIX_DATA)));
    mig_engine(&m, false);

    /* Masked in Aperture's table: the message waits in the PBA... */
    qpci_msix_mask_vector(m.dev, 0, true);
    qtest_writel(qts, GPA_MSI, 0);
    mig_engine(&m, true);
    g_assert_true(edu_wait(&m, msix_pending, NULL));
    mig_engine(&m, false);
    g_assert_cmphex(qtest_readl(qts, GPA_MSI), ==, 0);
    /* ...and arrives on unmask. */
    qpci_msix_mask_vector(m.dev, 0, false);
    g_assert_cmphex(qtest_readl(qts, GPA_MSI), ==, MSIX_DATA);
    g_assert_false(qpci_msix_pending(m.dev, 0));

    /* The function mask holds everything back the same way. */
    qpci_msix_function_mask(m.dev, true);
    qtest_writel(qts, GPA_MSI, 0);
    mig_engine(&m, true);
    g_assert_true(edu_wait(&m, msix_pending, NULL));
    mig_engine(&m, false);
    g_assert_cmphex(qtest_readl(qts, GPA_MSI), ==, 0);
    qpci_msix_function_mask(m.dev, false);
    g_assert_cmphex(qtest_readl(qts, GPA_MSI), ==, MSIX_DATA);

    /* Writes all over BAR2: table entries that do not exist, the PBA, the rest. */
    for (uint64_t off = 0; off < 0x1000; off += 4) {
        qpci_io_writel(m.dev, bar2, off, 0xffffffff);
    }
    for (uint64_t off = 0x20; off < 0x40; off++) {
        qpci_io_writeb(m.dev, bar2, off, 0x5a);
        qpci_io_writeq(m.dev, bar2, off & ~7, 0x5a5a5a5a5a5a5a5aULL);
    }
    /* Every vector masked by the writes above; program vector 0 again and use it. */
    g_assert_true(qpci_msix_masked(m.dev, 0));
    qpci_msix_set_vector(m.dev, 0, GPA_MSI, MSIX_DATA + 1);
    qtest_writel(qts, GPA_MSI, 0);
    mig_engine(&m, true);
    g_assert_true(edu_wait(&m, msi_arrived, GUINT_TO_POINTER(MSIX_DATA + 1)));
    mig_engine(&m, false);

    /* MSI-X off: back to INTx. */
    qpci_msix_disable(m.dev);
    json_object_unref(g_steal_pointer(&dev));
    dev = vfio_device_info(qts);
    g_assert_cmpstr(json_object_get_string_member(dev, "interrupt-mode"), ==, "intx");
    edu_stop(&m);
}

/* ------------------------------------------------------------------------ */
/* A guest that does not play by the rules */

static bool liveness_is(Edu *e, void *opaque)
{
    return edu_readl(e, EDU_REG_LIVENESS) == GPOINTER_TO_UINT(opaque);
}

static bool msi_disabled(Edu *e, void *opaque)
{
    uint8_t cap = GPOINTER_TO_UINT(opaque);

    return !(qpci_config_readw(e->dev, cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

static void test_msi_aimed_at_itself(void)
{
    Edu e;
    g_autoptr(JsonObject) dev = NULL;
    uint8_t cap;

    edu_start(&e, NULL);
    cap = qpci_find_capability(e.dev, PCI_CAP_ID_MSI, 0);

    /* The message lands in the device's own BAR (its liveness register). */
    qpci_msi_enable(e.dev, e.bar0.addr + EDU_REG_LIVENESS, 0x1234, 1);
    edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
    g_assert_true(edu_wait(&e, liveness_is, GUINT_TO_POINTER(~0x1234u)));
    edu_writel(&e, EDU_REG_IRQ_ACK, 1);

    /*
     * The message is a config write through ECAM that disables MSI while
     * Aperture is delivering it.
     */
    qpci_msi_enable(e.dev, QPCI_ECAM_BASE + (PCI_DEVFN(EDU_SLOT, 0) << 12) + cap +
                    PCI_MSI_FLAGS, 0, 1);
    edu_writel(&e, EDU_REG_IRQ_RAISE, 1);
    g_assert_true(edu_wait(&e, msi_disabled, GUINT_TO_POINTER(cap)));
    edu_writel(&e, EDU_REG_IRQ_ACK, 1);
    dev = vfio_device_info(e.qts);
    g_assert_cmpstr(json_object_get_string_member(dev, "interrupt-mode"), ==, "intx");
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_stop(&e);
}

/* Restore a working configuration and prove the device still answers. */
static void edu_recover(Edu *e)
{
    uint8_t msi = qpci_find_capability(e->dev, PCI_CAP_ID_MSI, 0);
    uint32_t result = 0;

    if (msi) {
        qpci_msi_disable(e->dev);
    }
    qpci_config_writew(e->dev, PCI_COMMAND, 0);
    qpci_config_writel(e->dev, PCI_ROM_ADDRESS, 0);
    qpci_iomap_at(e->dev, 0, e->bar0.addr);
    qpci_device_enable(e->dev);
    g_assert_cmphex(edu_readl(e, EDU_REG_ID), ==, EDU_ID_VALUE);
    g_assert_true(edu_factorial(e, 5, &result));
    g_assert_cmpuint(result, ==, 120);
}

/* Offsets a fuzzer should hit often: the registers Aperture acts on. */
static uint16_t fuzz_offset(GRand *rand, uint8_t msi)
{
    static const uint16_t hot[] = {
        PCI_COMMAND, PCI_COMMAND + 1, PCI_STATUS, PCI_CACHE_LINE_SIZE, PCI_HEADER_TYPE,
        PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_1, PCI_BASE_ADDRESS_5, PCI_ROM_ADDRESS,
        PCI_CAPABILITY_LIST, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, 0xfc, 0xfd, 0xfe, 0xff,
    };

    switch (g_rand_int_range(rand, 0, 4)) {
    case 0:
        return hot[g_rand_int_range(rand, 0, G_N_ELEMENTS(hot))];
    case 1:
        /* The MSI capability, flags and address especially. */
        return msi ? msi + g_rand_int_range(rand, 0, 24) : 0x40;
    default:
        return g_rand_int_range(rand, 0, 0x100);
    }
}

static void test_config_fuzz(void)
{
    Edu e;
    QPCIBus *ecam;
    QPCIDevice ecam_dev;
    guint32 seed = g_test_rand_int();
    GRand *rand = g_rand_new_with_seed(seed);
    int iterations = edu_on_sim() ? 4000 : 1500;
    uint8_t msi;

    g_test_message("seed %u (G_TEST_SEED / -seed to replay)", seed);
    edu_start(&e, NULL);
    msi = qpci_find_capability(e.dev, PCI_CAP_ID_MSI, 0);
    ecam = qpci_new_ecam(e.qts, QPCI_ECAM_BASE);
    ecam_dev = (QPCIDevice) { .bus = ecam, .devfn = PCI_DEVFN(EDU_SLOT, 0) };

    for (int i = 0; i < iterations; i++) {
        static const int sizes[] = { 1, 2, 4 };
        uint32_t val = g_rand_int(rand);
        int size = sizes[g_rand_int_range(rand, 0, 3)];
        bool wide = g_rand_int_range(rand, 0, 8) == 0;
        QPCIDevice *d = wide ? &ecam_dev : e.dev;
        uint16_t off = wide ? g_rand_int_range(rand, 0, 0x1000) : fuzz_offset(rand, msi);

        if (!wide) {
            /* conf1 keeps the access inside the dword of the port offset. */
            off = MIN(off, 0x100 - size);
        }
        if (g_rand_int_range(rand, 0, 4) == 0) {
            switch (size) {
            case 1:
                qpci_config_readb(d, off);
                break;
            case 2:
                qpci_config_readw(d, off);
                break;
            default:
                qpci_config_readl(d, off);
                break;
            }
            continue;
        }
        switch (size) {
        case 1:
            qpci_config_writeb(d, off, val);
            break;
        case 2:
            qpci_config_writew(d, off, val);
            break;
        default:
            qpci_config_writel(d, off, val);
            break;
        }
    }
    /* The read-only identity is intact and the process is alive. */
    g_assert_cmphex(qpci_config_readw(e.dev, PCI_VENDOR_ID), ==, EDU_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(e.dev, PCI_DEVICE_ID), ==, EDU_DEVICE_ID);
    g_assert_cmpuint(qpci_config_readb(e.dev, PCI_INTERRUPT_PIN), ==, 1);
    g_assert_true(qtest_probe_child(e.qts));
    /* Config space beyond the device's 256 bytes stays zero. */
    g_assert_cmphex(qpci_config_readl(&ecam_dev, 0x100), ==, 0);
    g_assert_cmphex(qpci_config_readl(&ecam_dev, 0xffc), ==, 0);
    edu_recover(&e);
    qpci_free(ecam);
    g_rand_free(rand);
    edu_stop(&e);
}

static void test_bar_access_sizes(void)
{
    Edu e;
    uint64_t end;

    edu_start(&e, NULL);
    end = e.bar0_size;
    /* Reads of every size at every alignment over the registers... */
    for (uint64_t off = 0; off < 0x100; off++) {
        qpci_io_readb(e.dev, e.bar0, off);
        qpci_io_readw(e.dev, e.bar0, off);
        qpci_io_readl(e.dev, e.bar0, off);
        qpci_io_readq(e.dev, e.bar0, off);
    }
    /* ...at the end of the BAR, and across it. */
    for (uint64_t off = end - 16; off < end + 16; off++) {
        qpci_io_readb(e.dev, e.bar0, off);
        qpci_io_readw(e.dev, e.bar0, off);
        qpci_io_readl(e.dev, e.bar0, off);
        qpci_io_readq(e.dev, e.bar0, off);
    }
    /* Writes of every size and alignment at harmless registers and beyond the end. */
    for (uint64_t off = EDU_REG_LIVENESS; off < EDU_REG_LIVENESS + 4; off++) {
        qpci_io_writeb(e.dev, e.bar0, off, 0xa5);
        qpci_io_writew(e.dev, e.bar0, off, 0xa5a5);
        qpci_io_writel(e.dev, e.bar0, off, 0xa5a5a5a5);
    }
    qpci_io_writeq(e.dev, e.bar0, EDU_REG_LIVENESS - 4, 0x0123456789abcdefULL);
    for (uint64_t off = end - 8; off < end + 8; off++) {
        qpci_io_writeb(e.dev, e.bar0, off, 0x5a);
        qpci_io_writew(e.dev, e.bar0, off, 0x5a5a);
        qpci_io_writel(e.dev, e.bar0, off, 0x5a5a5a5a);
        qpci_io_writeq(e.dev, e.bar0, off, 0x5a5a5a5a5a5a5a5aULL);
    }
    /* The device is unharmed. */
    edu_writel(&e, EDU_REG_LIVENESS, 0x0f0f0f0f);
    g_assert_cmphex(edu_readl(&e, EDU_REG_LIVENESS), ==, 0xf0f0f0f0);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);

    /* With decoding off the BAR is gone from the guest's view. */
    qpci_command_update(e.dev, PCI_COMMAND_MEMORY, 0);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, 0xffffffff);
    qpci_command_update(e.dev, 0, PCI_COMMAND_MEMORY);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Reset, unplug, failures */

static void test_system_reset(void)
{
    Edu e;
    uint32_t result = 0;

    edu_start(&e, NULL);
    qpci_msi_enable(e.dev, GPA_MSI, MSI_DATA, 1);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    qtest_qmp_assert_success(e.qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(e.qts, "RESET");
    /* Decoding, bus mastering, BARs and MSI are back to power-on values. */
    g_assert_cmphex(qpci_config_readw(e.dev, PCI_COMMAND) &
                    (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), ==, 0);
    g_assert_cmphex(qpci_config_readl(e.dev, PCI_BASE_ADDRESS_0), ==, 0);
    g_assert_cmphex(qpci_config_readw(e.dev, qpci_find_capability(e.dev, PCI_CAP_ID_MSI, 0) +
                                      PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE, ==, 0);
    /* ...and the device works again once the guest sets it up. */
    qpci_iomap_at(e.dev, 0, e.bar0.addr);
    qpci_device_enable(e.dev);
    g_assert_true(edu_factorial(&e, 6, &result));
    g_assert_cmpuint(result, ==, 720);
    edu_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Hot reset: an edu without FLR, behind a bridge, its group peer bound to vfio-pci */

/* @ini in a new temporary file, for VFIO_SIM_CONFIG (g_free the path, unlink the file). */
static char *sim_topology_file(const char *ini)
{
    GError *err = NULL;
    char *path;
    int fd = g_file_open_tmp("vfio-pci-topology-XXXXXX.ini", &path, &err);

    g_assert_no_error(err);
    close(fd);
    g_assert_true(g_file_set_contents(path, ini, -1, NULL));
    return path;
}

/*
 * The two devices of one group on a bus a reset can reach: on the sim, a
 * topology like the rig's bridge (written for the process we start); in
 * the rig, its both-bound phase (APERTURE_VFIO_GROUP_PEER, driver vfio).
 */
static bool bridge_pair(const char **dev, const char **peer, char **sim_config)
{
    static const char ini[] =
        "[device 0000:01:01.0]\nmodel = edu\ngroup = 5\n"
        "[device 0000:01:02.0]\nmodel = edu\ngroup = 5\n";
    const char *p = g_getenv("APERTURE_VFIO_GROUP_PEER");
    const char *drv = g_getenv("APERTURE_VFIO_GROUP_PEER_DRIVER");

    *sim_config = NULL;
    if (edu_on_sim()) {
        *sim_config = sim_topology_file(ini);
        *dev = "0000:01:01.0";
        *peer = "0000:01:02.0";
        return true;
    }
    if (!p || !*p || g_strcmp0(drv, "vfio")) {
        g_test_skip("needs a group peer bound to vfio-pci (APERTURE_VFIO_GROUP_PEER, "
                    "the rig's bridge topology)");
        return false;
    }
    *dev = edu_host();
    *peer = p;
    return true;
}

static QTestState *bridge_start(const char *sim_config, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static QTestState *bridge_start(const char *sim_config, const char *fmt, ...)
{
    g_autofree char *config = sim_config ? g_strconcat("VFIO_SIM_CONFIG=", sim_config, NULL)
                                         : NULL;
    const char *env[] = { config, NULL };
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_initf_env(env, "-machine q35 -m %dM %s", RAM_MB, args);
}

/* query-vfio's "hot-resets" of the device assigned from @host. */
static int64_t hot_resets_of(QTestState *qts, const char *host, bool *bus_reset)
{
    JsonObject *info = edu_query_vfio(qts);
    JsonArray *devices = json_object_get_array_member(info, "devices");
    int64_t n = -1;

    for (guint i = 0; i < json_array_get_length(devices); i++) {
        JsonObject *d = json_array_get_object_element(devices, i);

        if (!strcmp(json_object_get_string_member(d, "host"), host)) {
            n = json_object_get_int_member(d, "hot-resets");
            *bus_reset = json_object_get_boolean_member(d, "bus-reset");
        }
    }
    json_object_unref(info);
    g_assert_cmpint(n, >=, 0);
    return n;
}

static void system_reset(QTestState *qts)
{
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(qts, "RESET");
}

/* One device assigned: its own reset resets the bus, the unassigned peer with it. */
static void test_hot_reset_one_device(void)
{
    g_autofree char *sim_config = NULL;
    const char *dev, *peer;
    bool bus_reset = false;
    int64_t before;
    uint32_t result = 0;
    Edu e;

    if (!bridge_pair(&dev, &peer, &sim_config)) {
        return;
    }
    e.qts = bridge_start(sim_config, "-device vfio-pci,host=%s,id=edu0,addr=%02x.0", dev,
                         EDU_SLOT);
    edu_attach(&e, e.qts, EDU_SLOT);
    /* The machine's first reset, at start, was one already. */
    before = hot_resets_of(e.qts, dev, &bus_reset);
    g_assert_true(bus_reset);
    g_assert_cmpint(before, ==, 1);
    system_reset(e.qts);
    g_assert_cmpint(hot_resets_of(e.qts, dev, &bus_reset), ==, before + 1);
    /* The device works after it. */
    qpci_iomap_at(e.dev, 0, e.bar0.addr);
    qpci_device_enable(e.dev);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    g_assert_true(edu_factorial(&e, 5, &result));
    g_assert_cmpuint(result, ==, 120);
    edu_stop(&e);
    if (sim_config) {
        unlink(sim_config);
    }
}

/* Both assigned: neither resets the other on its own; the machine reset does it once. */
static void test_hot_reset_two_devices(void)
{
    g_autofree char *sim_config = NULL;
    const char *dev, *peer;
    bool bus_reset = false;
    int64_t a, b;
    QTestState *qts;

    if (!bridge_pair(&dev, &peer, &sim_config)) {
        return;
    }
    qts = bridge_start(sim_config, "-device vfio-pci,host=%s,id=edu0,addr=%02x.0 "
                       "-device vfio-pci,host=%s,id=edu1,addr=%02x.0", dev, EDU_SLOT, peer,
                       EDU_SLOT + 1);
    a = hot_resets_of(qts, dev, &bus_reset);
    b = hot_resets_of(qts, peer, &bus_reset);
    g_assert_cmpint(a, ==, 1);
    g_assert_cmpint(b, ==, 1);
    system_reset(qts);
    g_assert_cmpint(hot_resets_of(qts, dev, &bus_reset), ==, 2);
    g_assert_cmpint(hot_resets_of(qts, peer, &bus_reset), ==, 2);
    qtest_quit(qts);
    if (sim_config) {
        unlink(sim_config);
    }
}

/*
 * The peer in a group this VM does not hold: no hot reset (the kernel would
 * refuse it too), a warning, and the device still works.  Sim-only: the
 * rig's bridge puts both edus in one group.
 */
static void test_hot_reset_foreign_group(void)
{
    static const char ini[] =
        "[device 0000:01:01.0]\nmodel = edu\ngroup = 5\n"
        "[device 0000:01:02.0]\nmodel = edu\ngroup = 6\n";
    g_autofree char *sim_config = NULL;
    bool bus_reset = false;
    uint32_t result = 0;
    Edu e;

    if (!edu_on_sim()) {
        g_test_skip("sim-only: needs a bus shared by two groups");
        return;
    }
    sim_config = sim_topology_file(ini);
    e.qts = bridge_start(sim_config, "-device vfio-pci,host=0000:01:01.0,id=edu0,addr=%02x.0",
                         EDU_SLOT);
    edu_attach(&e, e.qts, EDU_SLOT);
    system_reset(e.qts);
    g_assert_cmpint(hot_resets_of(e.qts, "0000:01:01.0", &bus_reset), ==, 0);
    g_assert_true(bus_reset);
    qpci_iomap_at(e.dev, 0, e.bar0.addr);
    qpci_device_enable(e.dev);
    g_assert_true(edu_factorial(&e, 4, &result));
    g_assert_cmpuint(result, ==, 24);
    edu_stop(&e);
    unlink(sim_config);
}

typedef struct SimMapping {
    char *container;
    uint64_t iova, size;
} SimMapping;

static uint64_t trace_field(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    g_assert_nonnull(p);
    return g_ascii_strtoull(p + strlen(key), NULL, 0);
}

static char *trace_container(const char *line)
{
    const char *p = strstr(line, "container ");

    g_assert_nonnull(p);
    p += strlen("container ");
    return g_strndup(p, strcspn(p, " "));
}

/*
 * Replay the sim's MAP_DMA/UNMAP_DMA trace: the mappings still live at the
 * end (a g_ptr_array of SimMapping), and the containers released.
 */
static GPtrArray *sim_trace_replay(const char *path, guint *released, guint *maps)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *live = g_ptr_array_new();

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    *released = *maps = 0;
    for (int i = 0; lines[i]; i++) {
        const char *l = lines[i];

        if (strstr(l, "vfio_sim_map_dma ") && g_str_has_suffix(l, "-> 0")) {
            SimMapping *m = g_new0(SimMapping, 1);

            m->container = trace_container(l);
            m->iova = trace_field(l, " iova ");
            m->size = trace_field(l, " size ");
            g_ptr_array_add(live, m);
            (*maps)++;
        } else if (strstr(l, "vfio_sim_unmap_dma ") && g_str_has_suffix(l, "-> 0")) {
            g_autofree char *c = trace_container(l);
            uint64_t iova = trace_field(l, " iova "), size = trace_field(l, " size ");
            bool all = trace_field(l, " flags ") & VFIO_DMA_UNMAP_FLAG_ALL;

            for (guint j = live->len; j-- > 0;) {
                SimMapping *m = g_ptr_array_index(live, j);

                if (!strcmp(m->container, c) &&
                    (all || (m->iova >= iova && m->iova + m->size <= iova + size))) {
                    g_free(m->container);
                    g_free(m);
                    g_ptr_array_remove_index(live, j);
                }
            }
        } else if (strstr(l, "vfio_sim_container_release ")) {
            (*released)++;
        }
    }
    return live;
}

static bool group_reopens(int group)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", group);
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        g_test_message("open %s: %s", path, g_strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

static void test_hot_unplug(void)
{
    g_autofree char *dir = g_dir_make_tmp("vfio-pci-unplug-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "sim-trace.log", NULL);
    g_autofree char *spec = g_strdup_printf("%s,file=%s", SIM_TRACE_EVENTS, trace);
    g_autoptr(JsonObject) info = NULL;
    g_autoptr(JsonObject) event = NULL;
    JsonObject *container;
    JsonArray *devices;
    Edu e;
    int group;

    g_assert_nonnull(dir);
    if (edu_on_sim()) {
        /* The child's sim reads this at start-up; ours has started already. */
        g_setenv("VFIO_SIM_TRACE", spec, true);
    }
    edu_start(&e, NULL);
    g_unsetenv("VFIO_SIM_TRACE");
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);

    info = edu_query_vfio(e.qts);
    container = json_array_get_object_element(json_object_get_array_member(info,
                                                                         "containers"), 0);
    g_assert_cmpint(json_object_get_int_member(container, "mappings"), >=, 1);
    group = json_object_get_int_member(json_array_get_object_element(
        json_object_get_array_member(info, "devices"), 0), "group");
    json_object_unref(g_steal_pointer(&info));
    if (!edu_on_sim()) {
        /* The host allows one open of a group: ours is in use by Aperture. */
        g_assert_false(group_reopens(group));
    }

    qtest_qmp_assert_success(e.qts, "{'execute': 'device_del', 'arguments': {'id': 'edu0'}}");
    event = qtest_qmp_eventwait_ref(e.qts, "DEVICE_DELETED");
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(event, "data"),
                                                  "device"), ==, "edu0");

    /* Aperture holds nothing any more... */
    info = edu_query_vfio(e.qts);
    devices = json_object_get_array_member(info, "devices");
    g_assert_cmpuint(json_array_get_length(devices), ==, 0);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(info, "groups")), ==, 0);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(info, "containers")),
                     ==, 0);
    g_assert_cmphex(qpci_config_readw(e.dev, PCI_VENDOR_ID), ==, 0xffff);

    /* ...and the kernel's side agrees. */
    if (edu_on_sim()) {
        guint released, maps;
        g_autoptr(GPtrArray) live = sim_trace_replay(trace, &released, &maps);

        g_test_message("sim: %u MAP_DMA, %u still mapped, %u container(s) released", maps,
                       live->len, released);
        g_assert_cmpuint(maps, >=, 1);
        g_assert_cmpuint(live->len, ==, 0);
        g_assert_cmpuint(released, ==, 1);
        unlink(trace);
    } else {
        g_assert_true(group_reopens(group));
    }
    rmdir(dir);
    g_assert_true(qtest_probe_child(e.qts));

    /* Everything was released: the same device plugs in again and works. */
    {
        g_autofree char *cmd = g_strdup_printf(
            "{'execute': 'device_add', 'arguments': {'driver': 'vfio-pci', 'host': '%s', "
            "'id': 'edu1', 'addr': '%02x.0'}}", edu_host(), EDU_SLOT);
        uint32_t result = 0;
        QTestState *qts = e.qts;

        edu_detach(&e);
        qtest_qmp_assert_success(qts, "%s", cmd);
        edu_attach(&e, qts, EDU_SLOT);
        g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
        g_assert_true(edu_factorial(&e, 4, &result));
        g_assert_cmpuint(result, ==, 24);
    }
    edu_stop(&e);
}

/* device_add of @args must fail with an error naming @needle. */
static void device_add_fails(QTestState *qts, const char *args, const char *needle)
{
    g_autofree char *cmd = g_strdup_printf("{'execute': 'device_add', 'arguments': %s}", args);
    g_autoptr(JsonObject) reply = qtest_qmp(qts, "%s", cmd);
    const char *desc;

    g_assert_true(json_object_has_member(reply, "error"));
    desc = json_object_get_string_member(json_object_get_object_member(reply, "error"),
                                         "desc");
    g_test_message("device_add %s -> %s", args, desc);
    g_assert_nonnull(strstr(desc, needle));
}

/* The counts of query-vfio's lists. */
static void assert_vfio_counts(QTestState *qts, guint devices, guint groups, guint containers)
{
    g_autoptr(JsonObject) info = edu_query_vfio(qts);

    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(info, "devices")), ==,
                     devices);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(info, "groups")), ==,
                     groups);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(info, "containers")),
                     ==, containers);
}

static void test_hotplug_failures_leave_nothing(void)
{
    QTestState *qts = qtest_initf("-machine q35 -m %dM", RAM_MB);
    g_autofree char *good = g_strdup_printf("{'driver': 'vfio-pci', 'host': '%s', "
                                            "'id': 'edu0', 'addr': '%02x.0'}",
                                            edu_host(), EDU_SLOT);
    g_autofree char *dup = g_strdup_printf("{'driver': 'vfio-pci', 'host': '%s', "
                                           "'id': 'edu1'}", edu_host());
    g_autofree char *cmd = g_strdup_printf("{'execute': 'device_add', 'arguments': %s}",
                                           good);
    Edu e;

    device_add_fails(qts, "{'driver': 'vfio-pci', 'host': '0000:00:1f.7'}", "0000:00:1f.7");
    device_add_fails(qts, "{'driver': 'vfio-pci'}", "no host device given");
    assert_vfio_counts(qts, 0, 0, 0);

    qtest_qmp_assert_success(qts, "%s", cmd);
    assert_vfio_counts(qts, 1, 1, 1);
    /* The same device again: refused by the group it already opened... */
    device_add_fails(qts, dup, "already attached");
    /* ...which stays as it was, and so does the device. */
    assert_vfio_counts(qts, 1, 1, 1);
    edu_attach(&e, qts, EDU_SLOT);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_stop(&e);
}

/* Start the binary with @args; its exit status and stderr. */
static int run_aperture(const char *args, char **err)
{
    g_autofree char *cmd = g_strdup_printf("%s -machine q35 -m %dM -display none -accel qtest "
                                           "-nodefaults %s", qtest_binary(), RAM_MB, args);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) gerr = NULL;
    int status = -1;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &gerr));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, err,
                               &status, &gerr));
    return status;
}

static void expect_failure(const char *args, const char *needle)
{
    g_autofree char *err = NULL;
    int status = run_aperture(args, &err);

    g_test_message("%s -> %s", args, err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, needle));
}

static void test_realize_failures(void)
{
    g_autofree char *dup = g_strdup_printf("-device vfio-pci,host=%s -device vfio-pci,host=%s",
                                           edu_host(), edu_host());
    g_autofree char *both = g_strdup_printf("-device vfio-pci,host=%s,sysfsdev=/sys/bus/pci/"
                                            "devices/%s", edu_host(), edu_host());

    expect_failure("-device vfio-pci", "no host device given");
    expect_failure(both, "mutually exclusive");
    expect_failure("-device vfio-pci,host=0000:00:1f.7", "0000:00:1f.7");
    /* The second realize fails after the first attached the group. */
    expect_failure(dup, "already attached");
}

/*
 * Guest RAM beyond what the process may lock: the kernel refuses to pin it
 * (ENOMEM at MAP_DMA), realize fails, and the message says why.  In a
 * subprocess, which gives up CAP_IPC_LOCK for the programs it starts and
 * lowers RLIMIT_MEMLOCK below the guest's 128 MiB.
 */
static void test_realize_memlock_too_small(void)
{
    struct rlimit rl;
    g_autofree char *dev = NULL;
    g_autofree char *hint = NULL;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
        return;
    }
    /* Root gets the bounding set's capabilities at exec: take it out of there. */
    if (prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) && errno != EPERM) {
        g_error("PR_CAPBSET_DROP: %s", g_strerror(errno));
    }
    g_assert_cmpint(getrlimit(RLIMIT_MEMLOCK, &rl), ==, 0);
    rl.rlim_cur = rl.rlim_max = MIN(rl.rlim_max, 4 << 20);     /* lowering needs no right */
    g_assert_cmpint(setrlimit(RLIMIT_MEMLOCK, &rl), ==, 0);
    dev = g_strdup_printf("-device vfio-pci,host=%s", edu_host());
    hint = g_strdup_printf("for DMA: Cannot allocate memory (the kernel pins mapped pages "
                           "and, without CAP_IPC_LOCK, counts them against RLIMIT_MEMLOCK, %"
                           PRIu64 " KiB here", (uint64_t)rl.rlim_cur >> 10);
    expect_failure(dev, hint);
}

static void test_sysfsdev(void)
{
    g_autofree char *opts = g_strdup_printf("sysfsdev=/sys/bus/pci/devices/%s", edu_host());
    QTestState *qts = qtest_initf("-machine q35 -m %dM -device vfio-pci,%s,id=edu0,addr=%02x.0",
                                  RAM_MB, opts, EDU_SLOT);
    Edu e;

    edu_attach(&e, qts, EDU_SLOT);
    g_assert_cmphex(edu_readl(&e, EDU_REG_ID), ==, EDU_ID_VALUE);
    edu_stop(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vfio-pci/edu/enumerate", test_enumerate);
    qtest_add_func("/vfio-pci/edu/bar0-id", test_bar0_id);
    qtest_add_func("/vfio-pci/edu/bar0-trapped-with-x-no-mmap", test_bar0_no_mmap);
    qtest_add_func("/vfio-pci/edu/sysfsdev", test_sysfsdev);
    qtest_add_func("/vfio-pci/edu/romfile", test_romfile);
    qtest_add_func("/vfio-pci/edu/factorial", test_factorial);
    qtest_add_func("/vfio-pci/edu/dma-into-guest-ram", test_dma_into_guest_ram);
    qtest_add_func("/vfio-pci/edu/msi-into-guest-ram", test_msi_into_guest_ram);
    qtest_add_func("/vfio-pci/edu/intx-raises-gsi", test_intx_raises_gsi);
    qtest_add_func("/vfio-pci/sim/msix-mig", test_msix_sim_mig);
    qtest_add_func("/vfio-pci/malicious/config-fuzz", test_config_fuzz);
    qtest_add_func("/vfio-pci/malicious/bar-access-sizes", test_bar_access_sizes);
    qtest_add_func("/vfio-pci/malicious/bus-master-mid-dma", test_bus_master_mid_dma);
    qtest_add_func("/vfio-pci/malicious/msi-aimed-at-itself", test_msi_aimed_at_itself);
    qtest_add_func("/vfio-pci/edu/system-reset", test_system_reset);
    qtest_add_func("/vfio-pci/hot-reset/one-device", test_hot_reset_one_device);
    qtest_add_func("/vfio-pci/hot-reset/two-devices-once", test_hot_reset_two_devices);
    qtest_add_func("/vfio-pci/hot-reset/peer-in-foreign-group-refused",
                   test_hot_reset_foreign_group);
    qtest_add_func("/vfio-pci/edu/hot-unplug-releases-everything", test_hot_unplug);
    qtest_add_func("/vfio-pci/realize-failures", test_realize_failures);
    qtest_add_func("/vfio-pci/realize-memlock-too-small", test_realize_memlock_too_small);
    qtest_add_func("/vfio-pci/hotplug-failures-leave-nothing",
                   test_hotplug_failures_leave_nothing);
    return g_test_run();
}
