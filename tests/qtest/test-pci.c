/*
 * The PCI layer seen from the guest, driven through qtest with
 * aperture-testdev (include/hw/pci/pci-testdev.h): enumeration through
 * conf1 and ECAM, config-space write masks, BAR sizing and decoding, the
 * ROM BAR, MSI and MSI-X delivered as writes into guest RAM, INTx routed
 * to the q35 GSIs, bus-master gating of DMA, query-pci, multifunction
 * rules, reset and hot-unplug.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <sys/wait.h>

#include "libqtest.h"
#include "qpci.h"
#include "hw/pci/pci-testdev.h"

#define TD_ARGS(extra) "-machine q35 -m 64M -device aperture-testdev,addr=3.0,id=td" extra
#define TD_DEVFN PCI_DEVFN(3, 0)

/* Guest RAM used as MSI targets and DMA buffers. */
#define MSI_ADDR        0x10000ULL
#define DMA_RAM         0x30000ULL
#define BAR0_ADDR       0xd0000000ULL   /* below qpci's allocation window */
#define BAR1_PORT       0xc000

#define MCH_VENDOR      0x8086
#define MCH_DEVICE      0x29c0

/* A machine, its bus and the test device at 03.0 with BAR0 at BAR0_ADDR. */
typedef struct Fixture {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar0;
} Fixture;

static void fixture_start(Fixture *f, const char *args, bool use_ecam)
{
    f->qts = qtest_init(args);
    f->bus = use_ecam ? qpci_new_ecam(f->qts, QPCI_ECAM_BASE) : qpci_new_conf1(f->qts);
    f->dev = qpci_device_find(f->bus, TD_DEVFN);
    g_assert_nonnull(f->dev);
    f->bar0 = qpci_iomap_at(f->dev, 0, BAR0_ADDR);
}

static void fixture_stop(Fixture *f)
{
    g_free(f->dev);
    qpci_free(f->bus);
    qtest_quit(f->qts);
}

static uint32_t td_read(Fixture *f, uint64_t reg)
{
    return qpci_io_readl(f->dev, f->bar0, reg);
}

static void td_write(Fixture *f, uint64_t reg, uint32_t val)
{
    qpci_io_writel(f->dev, f->bar0, reg, val);
}

/* The "regions" entry of BAR @bar of the device at @slot in query-pci, or NULL. */
static JsonObject *query_pci_device(QTestState *qts, int slot)
{
    JsonObject *resp = qtest_qmp(qts, "{'execute': 'query-pci'}");
    JsonArray *buses = json_object_get_array_member(resp, "return");
    JsonObject *found = NULL;

    g_assert_cmpuint(json_array_get_length(buses), ==, 1);
    {
        JsonObject *bus = json_array_get_object_element(buses, 0);
        JsonArray *devs = json_object_get_array_member(bus, "devices");

        for (guint i = 0; i < json_array_get_length(devs); i++) {
            JsonObject *d = json_array_get_object_element(devs, i);

            if (json_object_get_int_member(d, "slot") == slot) {
                found = json_object_ref(d);
            }
        }
    }
    json_object_unref(resp);
    return found;
}

/* Where query-pci says BAR @bar of the device at @slot is mapped (-1: unmapped). */
static int64_t query_bar_address(QTestState *qts, int slot, int bar)
{
    g_autoptr(JsonObject) d = query_pci_device(qts, slot);
    JsonArray *regions;

    g_assert_nonnull(d);
    regions = json_object_get_array_member(d, "regions");
    for (guint i = 0; i < json_array_get_length(regions); i++) {
        JsonObject *r = json_array_get_object_element(regions, i);

        if (json_object_get_int_member(r, "bar") == bar) {
            return json_object_get_int_member(r, "address");
        }
    }
    g_assert_not_reached();
}

/* ------------------------------------------------------------------------ */
/* Enumeration and config space */

typedef struct Found {
    int devfns[16];
    int n;
} Found;

static void collect(QPCIDevice *dev, int devfn, void *data)
{
    Found *found = data;

    g_assert_cmpint(found->n, <, 16);
    found->devfns[found->n++] = devfn;
    g_free(dev);
}

static void test_enumerate(gconstpointer data)
{
    bool use_ecam = GPOINTER_TO_INT(data);
    QTestState *qts = qtest_init("-machine q35 -m 64M -device aperture-testdev,addr=3.0 "
                                 "-device aperture-testdev,addr=5.0,multifunction=on "
                                 "-device aperture-testdev,addr=5.2");
    QPCIBus *bus = use_ecam ? qpci_new_ecam(qts, QPCI_ECAM_BASE) : qpci_new_conf1(qts);
    Found found = { .n = 0 };
    QPCIDevice *mch, *td;

    qpci_device_foreach(bus, -1, -1, collect, &found);
    g_assert_cmpint(found.n, ==, 4);
    g_assert_cmpint(found.devfns[0], ==, PCI_DEVFN(0, 0));
    g_assert_cmpint(found.devfns[1], ==, PCI_DEVFN(3, 0));
    g_assert_cmpint(found.devfns[2], ==, PCI_DEVFN(5, 0));
    g_assert_cmpint(found.devfns[3], ==, PCI_DEVFN(5, 2));

    mch = qpci_device_find(bus, 0);
    g_assert_cmphex(qpci_config_readw(mch, PCI_VENDOR_ID), ==, MCH_VENDOR);
    g_assert_cmphex(qpci_config_readw(mch, PCI_DEVICE_ID), ==, MCH_DEVICE);
    g_assert_cmphex(qpci_config_readw(mch, PCI_CLASS_DEVICE), ==, 0x0600);
    g_assert_cmphex(qpci_config_readb(mch, PCI_HEADER_TYPE), ==, 0);

    td = qpci_device_find(bus, PCI_DEVFN(3, 0));
    g_assert_cmphex(qpci_config_readl(td, PCI_VENDOR_ID), ==,
                    TESTDEV_DEVICE_ID << 16 | TESTDEV_VENDOR_ID);
    g_assert_cmphex(qpci_config_readb(td, PCI_REVISION_ID), ==, TESTDEV_REVISION);
    g_assert_cmphex(qpci_config_readw(td, PCI_CLASS_DEVICE), ==, TESTDEV_CLASS);
    g_assert_cmphex(qpci_config_readw(td, PCI_SUBSYSTEM_VENDOR_ID), ==, 0x1af4);
    g_assert_cmphex(qpci_config_readw(td, PCI_SUBSYSTEM_ID), ==, 0x1100);
    g_assert_cmphex(qpci_config_readb(td, PCI_INTERRUPT_PIN), ==, 1);
    g_assert_cmphex(qpci_config_readw(td, PCI_STATUS) & PCI_STATUS_CAP_LIST, !=, 0);
    g_assert_cmpuint(qpci_find_capability(td, PCI_CAP_ID_MSI, 0), !=, 0);
    g_assert_cmpuint(qpci_find_capability(td, PCI_CAP_ID_MSIX, 0), !=, 0);
    g_assert_cmpuint(qpci_find_capability(td, PCI_CAP_ID_PM, 0), ==, 0);
    /* The multifunction bit is on function 0 only here. */
    {
        QPCIDevice f0 = { .bus = bus, .devfn = PCI_DEVFN(5, 0) };
        QPCIDevice f2 = { .bus = bus, .devfn = PCI_DEVFN(5, 2) };

        g_assert_cmphex(qpci_config_readb(&f0, PCI_HEADER_TYPE), ==, 0x80);
        g_assert_cmphex(qpci_config_readb(&f2, PCI_HEADER_TYPE), ==, 0);
    }
    /* Empty slots and functions read all-ones. */
    {
        QPCIDevice empty = { .bus = bus, .devfn = PCI_DEVFN(9, 0) };

        g_assert_cmphex(qpci_config_readl(&empty, PCI_VENDOR_ID), ==, 0xffffffff);
        g_assert_cmphex(qpci_config_readb(&empty, PCI_HEADER_TYPE), ==, 0xff);
        qpci_config_writel(&empty, PCI_COMMAND, 0x7);
        g_assert_cmphex(qpci_config_readl(&empty, PCI_VENDOR_ID), ==, 0xffffffff);
    }
    g_free(mch);
    g_free(td);
    qpci_free(bus);
    qtest_quit(qts);
}

static void test_config_readonly_header(void)
{
    Fixture f;
    uint32_t ids;

    fixture_start(&f, TD_ARGS(""), false);
    ids = qpci_config_readl(f.dev, PCI_VENDOR_ID);
    qpci_config_writel(f.dev, PCI_VENDOR_ID, 0);
    qpci_config_writel(f.dev, PCI_CLASS_REVISION, 0xffffffff);
    qpci_config_writeb(f.dev, PCI_HEADER_TYPE, 0x80);
    qpci_config_writeb(f.dev, PCI_INTERRUPT_PIN, 4);
    qpci_config_writeb(f.dev, PCI_CAPABILITY_LIST, 0);
    qpci_config_writel(f.dev, PCI_SUBSYSTEM_VENDOR_ID, 0);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_VENDOR_ID), ==, ids);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_CLASS_REVISION), ==,
                    (uint32_t)TESTDEV_CLASS << 16 | TESTDEV_REVISION);
    g_assert_cmphex(qpci_config_readb(f.dev, PCI_HEADER_TYPE), ==, 0);
    g_assert_cmphex(qpci_config_readb(f.dev, PCI_INTERRUPT_PIN), ==, 1);
    g_assert_cmphex(qpci_config_readb(f.dev, PCI_CAPABILITY_LIST), !=, 0);
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_SUBSYSTEM_ID), ==, 0x1100);

    /* Command: only I/O, memory, bus master, SERR and INTx disable stick. */
    qpci_config_writew(f.dev, PCI_COMMAND, 0xffff);
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_COMMAND), ==,
                    PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                    PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    qpci_config_writew(f.dev, PCI_COMMAND, 0);
    /* Status: the guest cannot set bits (write-1-to-clear ones stay clear). */
    qpci_config_writew(f.dev, PCI_STATUS, 0xffff);
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_STATUS), ==, PCI_STATUS_CAP_LIST);
    /* Cache line size and interrupt line are plain read/write. */
    qpci_config_writeb(f.dev, PCI_CACHE_LINE_SIZE, 0x10);
    qpci_config_writeb(f.dev, PCI_INTERRUPT_LINE, 0x0b);
    g_assert_cmphex(qpci_config_readb(f.dev, PCI_CACHE_LINE_SIZE), ==, 0x10);
    g_assert_cmphex(qpci_config_readb(f.dev, PCI_INTERRUPT_LINE), ==, 0x0b);
    /* BAR registers keep their type bits and drop the bits below the size. */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_0, 0x12345678);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_0), ==, 0x12345000);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_1, 0x1234);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_1), ==, 0x1201);
    fixture_stop(&f);
}

/* Bytes and words at every offset of the header agree with the dwords. */
static void test_config_sub_dword(gconstpointer data)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), GPOINTER_TO_INT(data));
    for (uint16_t off = 0; off < 0x40; off += 4) {
        uint32_t l = qpci_config_readl(f.dev, off);

        g_assert_cmphex(qpci_config_readw(f.dev, off), ==, l & 0xffff);
        g_assert_cmphex(qpci_config_readw(f.dev, off + 2), ==, l >> 16);
        for (int b = 0; b < 4; b++) {
            g_assert_cmphex(qpci_config_readb(f.dev, off + b), ==, (l >> (8 * b)) & 0xff);
        }
    }
    /* A byte write changes one byte of a writable register. */
    qpci_config_writel(f.dev, 0x80, 0);
    qpci_config_writeb(f.dev, 0x82, 0xab);
    g_assert_cmphex(qpci_config_readl(f.dev, 0x80), ==, 0x00ab0000);
    qpci_config_writew(f.dev, 0x80, 0x1234);
    g_assert_cmphex(qpci_config_readl(f.dev, 0x80), ==, 0x00ab1234);
    fixture_stop(&f);
}

static void test_config_conf1_rules(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    /* Without the enable bit, CONFIG_DATA reads all-ones and ignores writes. */
    qtest_outl(f.qts, 0xcf8, TD_DEVFN << 8 | PCI_COMMAND);
    g_assert_cmphex(qtest_inl(f.qts, 0xcfc), ==, 0xffffffff);
    qtest_outw(f.qts, 0xcfc, PCI_COMMAND_MEMORY);
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_COMMAND), ==, 0);
    /* Only a dword write sets CONFIG_ADDRESS. */
    qtest_outl(f.qts, 0xcf8, 0x80000000 | TD_DEVFN << 8);
    qtest_outb(f.qts, 0xcf8, 0);
    qtest_outw(f.qts, 0xcf8, 0);
    g_assert_cmphex(qtest_inl(f.qts, 0xcf8), ==, 0x80000000 | TD_DEVFN << 8);
    g_assert_cmphex(qtest_inw(f.qts, 0xcfe), ==, TESTDEV_DEVICE_ID);
    /* Bus 1 does not exist. */
    qtest_outl(f.qts, 0xcf8, 0x80010000);
    g_assert_cmphex(qtest_inl(f.qts, 0xcfc), ==, 0xffffffff);
    fixture_stop(&f);
}

/*
 * CONFIG_ADDRESS bits 1:0 add to the port offset (QEMU's pci_host.c): a
 * dword at 0xcfc then straddles two dwords, or runs past the end of the
 * 256 bytes and is cut short.
 */
static void test_config_straddling(void)
{
    Fixture f;
    QPCIBus *ecam;
    QPCIDevice *e;

    fixture_start(&f, TD_ARGS(",msi-vectors=0,msix-vectors=0"), false);
    ecam = qpci_new_ecam(f.qts, QPCI_ECAM_BASE);
    e = qpci_device_find(ecam, TD_DEVFN);
    qpci_config_writel(e, 0x40, 0);
    qpci_config_writel(e, 0xfc, 0);
    /* 0x3e..0x41: min_gnt and max_lat are read-only, 0x40.. is free storage. */
    qtest_outl(f.qts, 0xcf8, 0x80000000 | TD_DEVFN << 8 | 0x3e);
    qtest_outl(f.qts, 0xcfc, 0xaabbccdd);
    g_assert_cmphex(qpci_config_readl(e, 0x3c), ==, 0x00000100);
    g_assert_cmphex(qpci_config_readl(e, 0x40), ==, 0x0000aabb);
    g_assert_cmphex(qtest_inl(f.qts, 0xcfc), ==, 0xaabb0000);
    /* 0xfd..0xff: three bytes, the fourth would be past the end. */
    qtest_outl(f.qts, 0xcf8, 0x80000000 | TD_DEVFN << 8 | 0xfd);
    qtest_outl(f.qts, 0xcfc, 0x44332211);
    g_assert_cmphex(qpci_config_readl(e, 0xfc), ==, 0x33221100);
    g_assert_cmphex(qtest_inl(f.qts, 0xcfc), ==, 0x00332211);
    g_assert_cmphex(qpci_config_readl(e, 0x100), ==, 0);
    g_free(e);
    qpci_free(ecam);
    fixture_stop(&f);
}

static void test_config_extended_space(void)
{
    QTestState *qts = qtest_init(TD_ARGS(""));
    QPCIBus *bus = qpci_new_ecam(qts, QPCI_ECAM_BASE);
    QPCIDevice *td = qpci_device_find(bus, TD_DEVFN);
    QPCIDevice *mch = qpci_device_find(bus, 0);

    /* The test device has 4 KiB of config space; its extended part is plain storage. */
    g_assert_cmphex(qpci_config_readl(td, 0x100), ==, 0);
    qpci_config_writel(td, 0x200, 0xa5a5a5a5);
    qpci_config_writel(td, 0xffc, 0x5a5a5a5a);
    g_assert_cmphex(qpci_config_readl(td, 0x200), ==, 0xa5a5a5a5);
    g_assert_cmphex(qpci_config_readl(td, 0xffc), ==, 0x5a5a5a5a);
    /* The MCH has 256 bytes: beyond reads all-ones, writes vanish. */
    g_assert_cmphex(qpci_config_readl(mch, 0x100), ==, 0xffffffff);
    qpci_config_writel(mch, 0x100, 0);
    g_assert_cmphex(qpci_config_readl(mch, 0x100), ==, 0xffffffff);
    /* ECAM past bus 0 finds nothing. */
    g_assert_cmphex(qtest_readl(qts, QPCI_ECAM_BASE + (1 << 20)), ==, 0xffffffff);
    g_free(td);
    g_free(mch);
    qpci_free(bus);
    qtest_quit(qts);
}

/* ------------------------------------------------------------------------ */
/* BARs */

static void test_bar_sizing(void)
{
    Fixture f;
    uint32_t type;

    fixture_start(&f, TD_ARGS(""), false);
    g_assert_cmphex(qpci_bar_size(f.dev, 0, &type), ==, TESTDEV_BAR0_SIZE);
    g_assert_cmphex(type, ==, PCI_BASE_ADDRESS_SPACE_MEMORY);
    g_assert_cmphex(qpci_bar_size(f.dev, 1, &type), ==, TESTDEV_BAR1_SIZE);
    g_assert_cmphex(type, ==, PCI_BASE_ADDRESS_SPACE_IO);
    g_assert_cmphex(qpci_bar_size(f.dev, 2, &type), ==, TESTDEV_BAR2_DEFAULT_SIZE);
    g_assert_cmphex(type, ==, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
    g_assert_cmphex(qpci_bar_size(f.dev, 4, &type), ==, 0x1000);
    g_assert_cmphex(type, ==, PCI_BASE_ADDRESS_MEM_TYPE_64);
    g_assert_cmphex(qpci_bar_size(f.dev, 6, NULL), ==, 0);

    /* The raw all-ones probe, as a BIOS sees it. */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_0, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_0), ==, 0xfffff000);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_1, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_1), ==, 0xffffff01);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_2, 0xffffffff);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_3, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_2), ==, 0xffff000c);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_3), ==, 0xffffffff);
    qpci_config_writel(f.dev, PCI_ROM_ADDRESS, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_ROM_ADDRESS), ==, 0);
    /* With decoding off, probing maps nothing. */
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, -1);
    fixture_stop(&f);

    /* bar2-size changes what the probe says. */
    fixture_start(&f, TD_ARGS(",bar2-size=1M"), false);
    g_assert_cmphex(qpci_bar_size(f.dev, 2, NULL), ==, 1 << 20);
    fixture_stop(&f);
}

static void test_bar_memory_decode(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_ID), ==, 0xffffffff);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, -1);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_ID), ==, TESTDEV_ID_VALUE);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, BAR0_ADDR);
    td_write(&f, TESTDEV_REG_SCRATCH, 0x600dcafe);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_SCRATCH), ==, 0x600dcafe);
    /* Sub-dword register reads see the right bytes. */
    g_assert_cmphex(qpci_io_readw(f.dev, f.bar0, TESTDEV_REG_SCRATCH + 2), ==, 0x600d);
    g_assert_cmphex(qpci_io_readb(f.dev, f.bar0, TESTDEV_REG_SCRATCH), ==, 0xfe);
    /* The DMA buffer takes any width. */
    qpci_io_writeq(f.dev, f.bar0, TESTDEV_BUFFER_OFFSET + 3, 0x1122334455667788ULL);
    g_assert_cmphex(qpci_io_readq(f.dev, f.bar0, TESTDEV_BUFFER_OFFSET + 3), ==,
                    0x1122334455667788ULL);

    qpci_command_update(f.dev, PCI_COMMAND_MEMORY, 0);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_ID), ==, 0xffffffff);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, -1);
    /* Moving an enabled BAR: the old address stops decoding. */
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    f.bar0 = qpci_iomap_at(f.dev, 0, BAR0_ADDR + 0x100000);
    g_assert_cmphex(qtest_readl(f.qts, BAR0_ADDR), ==, 0xffffffff);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_SCRATCH), ==, 0x600dcafe);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, BAR0_ADDR + 0x100000);
    fixture_stop(&f);
}

static void test_bar_io_decode(void)
{
    Fixture f;
    QPCIBar io;

    fixture_start(&f, TD_ARGS(""), false);
    io = qpci_iomap_at(f.dev, 1, BAR1_PORT);
    g_assert_true(io.is_io);
    g_assert_cmphex(qtest_inl(f.qts, BAR1_PORT), ==, 0xffffffff);
    qpci_command_update(f.dev, 0, PCI_COMMAND_IO);
    g_assert_cmphex(qpci_io_readl(f.dev, io, TESTDEV_REG_ID), ==, TESTDEV_ID_VALUE);
    qpci_io_writel(f.dev, io, TESTDEV_REG_SCRATCH, 0x1234);
    g_assert_cmphex(qpci_io_readw(f.dev, io, TESTDEV_REG_SCRATCH), ==, 0x1234);
    /* Memory decoding does not affect the I/O BAR and vice versa. */
    g_assert_cmphex(td_read(&f, TESTDEV_REG_ID), ==, 0xffffffff);
    g_assert_cmpint(query_bar_address(f.qts, 3, 1), ==, BAR1_PORT);
    qpci_command_update(f.dev, PCI_COMMAND_IO, 0);
    g_assert_cmphex(qtest_inl(f.qts, BAR1_PORT), ==, 0xffffffff);
    fixture_stop(&f);
}

static void test_bar_64bit_above_4g(void)
{
    Fixture f;
    QPCIBar bar2;
    const uint64_t addr = 0x200000000ULL;

    fixture_start(&f, TD_ARGS(""), false);
    bar2 = qpci_iomap_at(f.dev, 2, addr);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    g_assert_cmpint(query_bar_address(f.qts, 3, 2), ==, addr);
    qpci_io_writeq(f.dev, bar2, 0x8, 0xfeedfacecafebeefULL);
    qpci_io_writel(f.dev, bar2, TESTDEV_BAR2_DEFAULT_SIZE - 4, 0x11111111);
    g_assert_cmphex(qtest_readq(f.qts, addr + 8), ==, 0xfeedfacecafebeefULL);
    g_assert_cmphex(qtest_readl(f.qts, addr + TESTDEV_BAR2_DEFAULT_SIZE - 4), ==, 0x11111111);
    /* Past the end of the BAR: nothing. */
    g_assert_cmphex(qtest_readl(f.qts, addr + TESTDEV_BAR2_DEFAULT_SIZE), ==, 0xffffffff);
    /* The upper half alone moves it. */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_3, 3);
    g_assert_cmpint(query_bar_address(f.qts, 3, 2), ==, 0x300000000LL);
    g_assert_cmphex(qtest_readq(f.qts, 0x300000008ULL), ==, 0xfeedfacecafebeefULL);
    g_assert_cmphex(qtest_readq(f.qts, addr + 8), ==, 0xffffffffffffffffULL);
    fixture_stop(&f);
}

static void test_bar_overlap(void)
{
    QTestState *qts = qtest_init("-machine q35 -m 64M -device aperture-testdev,addr=3.0 "
                                 "-device aperture-testdev,addr=4.0");
    QPCIBus *bus = qpci_new_conf1(qts);
    QPCIDevice *a = qpci_device_find(bus, PCI_DEVFN(3, 0));
    QPCIDevice *b = qpci_device_find(bus, PCI_DEVFN(4, 0));
    QPCIBar bar_a = qpci_iomap_at(a, 0, BAR0_ADDR);
    QPCIBar bar_b = qpci_iomap_at(b, 0, BAR0_ADDR + 0x1000);

    qpci_command_update(a, 0, PCI_COMMAND_MEMORY);
    qpci_command_update(b, 0, PCI_COMMAND_MEMORY);
    qpci_io_writel(a, bar_a, TESTDEV_REG_SCRATCH, 0xaaaa);
    qpci_io_writel(b, bar_b, TESTDEV_REG_SCRATCH, 0xbbbb);

    /* b moves onto a: the one mapped last shows. */
    bar_b = qpci_iomap_at(b, 0, BAR0_ADDR);
    g_assert_cmphex(qtest_readl(qts, BAR0_ADDR + TESTDEV_REG_SCRATCH), ==, 0xbbbb);
    /* b stops decoding: a shows again. */
    qpci_command_update(b, PCI_COMMAND_MEMORY, 0);
    g_assert_cmphex(qtest_readl(qts, BAR0_ADDR + TESTDEV_REG_SCRATCH), ==, 0xaaaa);
    qpci_command_update(b, 0, PCI_COMMAND_MEMORY);
    g_assert_cmphex(qtest_readl(qts, BAR0_ADDR + TESTDEV_REG_SCRATCH), ==, 0xbbbb);

    /* A BAR over guest RAM hides it while mapped (priority 1 over RAM). */
    qtest_writel(qts, 0x100000 + TESTDEV_REG_SCRATCH, 0x12121212);
    qpci_iomap_at(a, 0, 0x100000);
    g_assert_cmphex(qtest_readl(qts, 0x100000 + TESTDEV_REG_SCRATCH), ==, 0xaaaa);
    qpci_command_update(a, PCI_COMMAND_MEMORY, 0);
    g_assert_cmphex(qtest_readl(qts, 0x100000 + TESTDEV_REG_SCRATCH), ==, 0x12121212);

    /* Over the ECAM window: ECAM hides, conf1 still reaches the device. */
    qpci_iomap_at(a, 0, QPCI_ECAM_BASE);
    qpci_command_update(a, 0, PCI_COMMAND_MEMORY);
    g_assert_cmphex(qtest_readl(qts, QPCI_ECAM_BASE + TESTDEV_REG_ID), ==, TESTDEV_ID_VALUE);
    qpci_command_update(a, PCI_COMMAND_MEMORY, 0);
    g_assert_cmphex(qtest_readl(qts, QPCI_ECAM_BASE), ==, MCH_DEVICE << 16 | MCH_VENDOR);

    g_free(a);
    g_free(b);
    qpci_free(bus);
    qtest_quit(qts);
}

/* Addresses QEMU refuses to map (checked against pci_bar_address()). */
static void test_bar_unmappable(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, BAR0_ADDR);
    /* Address 0 is not a mapping on q35. */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_0, 0);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, -1);
    /* A 32-bit BAR reaching 4 GiB. */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_0, 0xfffff000);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, -1);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_0, 0xffffe000);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, 0xffffe000);
    /* An I/O BAR past the 64 KiB port space, and one at its very end. */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_1, 0x10000);
    g_assert_cmpint(query_bar_address(f.qts, 3, 1), ==, -1);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_1, 0xff00);
    g_assert_cmpint(query_bar_address(f.qts, 3, 1), ==, 0xff00);
    g_assert_cmphex(qtest_inl(f.qts, 0xff00 + TESTDEV_REG_ID), ==, TESTDEV_ID_VALUE);
    /* A 64-bit BAR ending at 2^64 - 1 (the "unmapped" value). */
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_2, 0xffff0000);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_3, 0xffffffff);
    g_assert_cmpint(query_bar_address(f.qts, 3, 2), ==, -1);
    qpci_config_writel(f.dev, PCI_BASE_ADDRESS_3, 0x7fffffff);
    g_assert_cmpint(query_bar_address(f.qts, 3, 2), ==, 0x7fffffffffff0000LL);
    g_assert_cmphex(qtest_readl(f.qts, BAR0_ADDR), ==, 0xffffffff);
    fixture_stop(&f);
}

static void test_rom_bar(void)
{
    g_autofree char *dir = g_dir_make_tmp("qtest-rom-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "rom.bin", NULL);
    g_autofree char *args = NULL;
    g_autofree char *args_norom = NULL;
    uint8_t rom[3000];
    Fixture f;

    for (size_t i = 0; i < sizeof(rom); i++) {
        rom[i] = i * 13 + 1;
    }
    rom[0] = 0x55;
    rom[1] = 0xaa;
    g_assert_true(g_file_set_contents(path, (char *)rom, sizeof(rom), NULL));
    args = g_strdup_printf(TD_ARGS(",romfile=%s"), path);
    fixture_start(&f, args, false);
    /* 3000 bytes round up to a 4 KiB ROM. */
    g_assert_cmphex(qpci_bar_size(f.dev, 6, NULL), ==, 0x1000);
    qpci_config_writel(f.dev, PCI_ROM_ADDRESS, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_ROM_ADDRESS), ==, 0xfffff001);
    /* Mapped only with the enable bit and memory decoding. */
    qpci_config_writel(f.dev, PCI_ROM_ADDRESS, 0xe0400000);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    g_assert_cmphex(qtest_readw(f.qts, 0xe0400000), ==, 0xffff);
    qpci_iomap_at(f.dev, 6, 0xe0400000);
    g_assert_cmphex(qtest_readw(f.qts, 0xe0400000), ==, 0xaa55);
    {
        uint8_t back[sizeof(rom)];

        qtest_memread(f.qts, 0xe0400000, back, sizeof(back));
        g_assert_cmpmem(back, sizeof(back), rom, sizeof(rom));
    }
    /* Read-only. */
    qtest_writel(f.qts, 0xe0400000, 0);
    g_assert_cmphex(qtest_readw(f.qts, 0xe0400000), ==, 0xaa55);
    g_assert_cmpint(query_bar_address(f.qts, 3, 6), ==, 0xe0400000);
    fixture_stop(&f);

    /* rombar=0: the file is loaded but no ROM BAR is offered. */
    args_norom = g_strdup_printf(TD_ARGS(",romfile=%s,rombar=0"), path);
    fixture_start(&f, args_norom, false);
    g_assert_cmphex(qpci_bar_size(f.dev, 6, NULL), ==, 0);
    fixture_stop(&f);

    /* A missing file fails start-up with one line. */
    {
        g_autofree char *bad = g_strdup_printf(TD_ARGS(",romfile=%s/nonexistent") " -display none",
                                               dir);
        g_autofree char *err = NULL;
        int st = qtest_run_binary(bad, NULL, &err);

        g_assert_true(WIFEXITED(st));
        g_assert_cmpint(WEXITSTATUS(st), ==, 1);
        g_assert_nonnull(strstr(err, "romfile"));
    }
    g_unlink(path);
    g_rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* MSI */

static void test_msi_deliver(gconstpointer data)
{
    bool msi64 = GPOINTER_TO_INT(data);
    Fixture f;

    fixture_start(&f, msi64 ? TD_ARGS(",msix-vectors=0")
                            : TD_ARGS(",msix-vectors=0,msi64=off"), false);
    qpci_device_enable(f.dev);
    qpci_msi_enable(f.dev, MSI_ADDR, 0x4020, 4);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0x4020);
    /* With 4 vectors the vector number replaces the data's two low bits. */
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 3);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0x4023);
    /* A vector the guest did not enable is dropped. */
    qtest_writel(f.qts, MSI_ADDR, 0);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 4);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    /* MSI takes the place of INTx. */
    g_assert_cmphex(td_read(&f, TESTDEV_REG_IRQ_STATUS), ==, 0);
    /* Disabled: nothing. */
    qpci_msi_disable(f.dev);
    qpci_config_writew(f.dev, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                       PCI_COMMAND_INTX_DISABLE);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 1);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    fixture_stop(&f);
}

static void test_msi_mask_pending(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(",msix-vectors=0"), false);
    qpci_device_enable(f.dev);
    qpci_msi_enable(f.dev, MSI_ADDR, 0x100, 4);
    qpci_msi_set_mask(f.dev, 1 << 1);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 1);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    g_assert_cmphex(qpci_msi_pending(f.dev), ==, 1 << 1);
    /* Unmasking delivers the pending vector and clears its bit. */
    qpci_msi_set_mask(f.dev, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0x101);
    g_assert_cmphex(qpci_msi_pending(f.dev), ==, 0);
    /* Mask bits of vectors the device does not have are read-only. */
    qpci_msi_set_mask(f.dev, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, qpci_find_capability(f.dev, PCI_CAP_ID_MSI, 0) +
                                      PCI_MSI_MASK_64), ==, 0xf);
    fixture_stop(&f);
}

static void test_msi_config_rules(void)
{
    Fixture f;
    uint8_t cap;
    uint16_t flags;

    fixture_start(&f, TD_ARGS(",msix-vectors=0"), false);
    cap = qpci_find_capability(f.dev, PCI_CAP_ID_MSI, 0);
    flags = qpci_config_readw(f.dev, cap + PCI_MSI_FLAGS);
    /* 4 vectors offered, 64-bit, per-vector masking. */
    g_assert_cmphex(flags, ==, (2 << 1) | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
    /* Asking for 32 vectors gets the 4 offered. */
    qpci_config_writew(f.dev, cap + PCI_MSI_FLAGS, flags | (5 << 4) | PCI_MSI_FLAGS_ENABLE);
    g_assert_cmphex(qpci_config_readw(f.dev, cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QSIZE, ==,
                    2 << 4);
    /* The address's two low bits are read-only, the data is 16 bits. */
    qpci_config_writel(f.dev, cap + PCI_MSI_ADDRESS_LO, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, cap + PCI_MSI_ADDRESS_LO), ==, 0xfffffffc);
    qpci_config_writel(f.dev, cap + PCI_MSI_DATA_64, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, cap + PCI_MSI_DATA_64), ==, 0xffff);
    /* The pending bits are the device's. */
    qpci_config_writel(f.dev, cap + PCI_MSI_PENDING_64, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(f.dev, cap + PCI_MSI_PENDING_64), ==, 0);
    fixture_stop(&f);
}

static void test_msi_bus_master_gate(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(",msix-vectors=0"), false);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    qpci_msi_enable(f.dev, MSI_ADDR, 0x77, 1);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MASTER);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0x77);
    fixture_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* MSI-X */

static void test_msix_deliver(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_device_enable(f.dev);
    qpci_msix_enable(f.dev);
    g_assert_cmpuint(qpci_msix_table_size(f.dev), ==, 8);
    for (int v = 0; v < 8; v++) {
        g_assert_true(qpci_msix_masked(f.dev, v));
        qpci_msix_set_vector(f.dev, v, MSI_ADDR + 4 * v, 0x1000 + v);
    }
    for (int v = 7; v >= 0; v--) {
        td_write(&f, TESTDEV_REG_IRQ_RAISE, v);
    }
    for (int v = 0; v < 8; v++) {
        g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR + 4 * v), ==, 0x1000 + v);
    }
    /* Reprogramming a vector takes effect on the next message. */
    qpci_msix_set_vector(f.dev, 1, 0x20000, 0xabcdef01);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 1);
    g_assert_cmphex(qtest_readl(f.qts, 0x20000), ==, 0xabcdef01);
    /* Out-of-range vectors are ignored. */
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 8);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0xffffffff);
    /* Disabled: nothing. */
    qtest_writel(f.qts, MSI_ADDR, 0);
    qpci_msix_disable(f.dev);
    qpci_config_writew(f.dev, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                       PCI_COMMAND_INTX_DISABLE);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    fixture_stop(&f);
}

static void test_msix_mask_pending(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_device_enable(f.dev);
    qpci_msix_enable(f.dev);
    qpci_msix_set_vector(f.dev, 2, MSI_ADDR, 0x22);
    qpci_msix_mask_vector(f.dev, 2, true);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 2);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    g_assert_true(qpci_msix_pending(f.dev, 2));
    g_assert_false(qpci_msix_pending(f.dev, 3));
    qpci_msix_mask_vector(f.dev, 2, false);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0x22);
    g_assert_false(qpci_msix_pending(f.dev, 2));

    /* The function mask holds every vector; clearing it delivers what is pending. */
    qtest_writel(f.qts, MSI_ADDR, 0);
    qpci_msix_function_mask(f.dev, true);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 2);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    g_assert_true(qpci_msix_pending(f.dev, 2));
    qpci_msix_function_mask(f.dev, false);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0x22);
    g_assert_false(qpci_msix_pending(f.dev, 2));
    fixture_stop(&f);
}

static void test_msix_table_access(void)
{
    Fixture f;
    QPCIBar tb;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_device_enable(f.dev);
    qpci_msix_enable(f.dev);
    tb = f.dev->msix_table_bar;
    /* Entries start masked with a zero message. */
    g_assert_cmphex(qpci_io_readl(f.dev, tb, 0xc), ==, 1);
    g_assert_cmphex(qpci_io_readq(f.dev, tb, 0), ==, 0);
    /* Qword access to the address. */
    qpci_io_writeq(f.dev, tb, 0x10, 0x123456789abcdef0ULL);
    g_assert_cmphex(qpci_io_readq(f.dev, tb, 0x10), ==, 0x123456789abcdef0ULL);
    g_assert_cmphex(qpci_io_readl(f.dev, tb, 0x14), ==, 0x12345678);
    /* Byte access is refused: reads all-ones, writes nothing. */
    g_assert_cmphex(qpci_io_readb(f.dev, tb, 0x10), ==, 0xff);
    qpci_io_writeb(f.dev, tb, 0x10, 0);
    g_assert_cmphex(qpci_io_readl(f.dev, tb, 0x10), ==, 0x9abcdef0);
    /* Past the 8-entry table, nothing answers and writes go nowhere. */
    qpci_io_writel(f.dev, tb, 8 * 16, 0x1234);
    qpci_io_writel(f.dev, tb, 0x7fc, 0x1234);
    g_assert_cmphex(qpci_io_readl(f.dev, tb, 8 * 16), ==, 0xffffffff);
    g_assert_cmphex(qpci_io_readl(f.dev, tb, 0x7fc), ==, 0xffffffff);
    /* The PBA is read-only. */
    qpci_io_writel(f.dev, f.dev->msix_pba_bar, f.dev->msix_pba_off, 0xffffffff);
    g_assert_cmphex(qpci_io_readl(f.dev, f.dev->msix_pba_bar, f.dev->msix_pba_off), ==, 0);
    /* Message control: only enable and function mask are writable. */
    {
        uint8_t cap = qpci_find_capability(f.dev, PCI_CAP_ID_MSIX, 0);

        qpci_config_writew(f.dev, cap + PCI_MSIX_FLAGS, 0xffff);
        g_assert_cmphex(qpci_config_readw(f.dev, cap + PCI_MSIX_FLAGS), ==,
                        PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | 7);
        qpci_config_writel(f.dev, cap + PCI_MSIX_TABLE, 0xffffffff);
        g_assert_cmphex(qpci_config_readl(f.dev, cap + PCI_MSIX_TABLE), ==, TESTDEV_MSIX_BAR);
    }
    fixture_stop(&f);
}

static void test_msix_over_msi(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_device_enable(f.dev);
    qpci_msi_enable(f.dev, MSI_ADDR, 0x11, 1);
    qpci_msix_enable(f.dev);
    qpci_msix_set_vector(f.dev, 0, MSI_ADDR + 0x100, 0x22);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR + 0x100), ==, 0x22);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0);
    fixture_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* INTx */

typedef struct IntxCase {
    const char *addr;   /* addr= of the device */
    int slot;
    int pin;            /* 1 = INTA */
    int gsi;            /* where q35 routes it */
} IntxCase;

static void test_intx_routing(void)
{
    /* ICH9: (slot + pin) % 4 -> PIRQ E..H for ordinary slots, A..D for 25..29 and 31. */
    static const IntxCase cases[] = {
        { "3.0", 3, 1, 23 },
        { "4.0", 4, 2, 21 },
        { "6.0", 6, 4, 21 },
        { "8.0", 8, 1, 20 },
        { "19.0", 25, 1, 16 },
        { "1d.0", 29, 3, 18 },
        { "1e.0", 30, 3, 22 },
        { "1f.0", 31, 4, 19 },
    };
    GString *args = g_string_new("-machine q35 -m 64M");
    QTestState *qts;
    QPCIBus *bus;

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_string_append_printf(args, " -device aperture-testdev,addr=%s,pin=%d,msix-vectors=0",
                               cases[i].addr, cases[i].pin);
    }
    qts = qtest_init(args->str);
    bus = qpci_new_conf1(qts);
    qtest_irq_intercept_in(qts, "ioapic");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        QPCIDevice *dev = qpci_device_find(bus, PCI_DEVFN(cases[i].slot, 0));
        QPCIBar bar = qpci_iomap_at(dev, 0, BAR0_ADDR + i * 0x1000);
        g_autoptr(JsonObject) q = query_pci_device(qts, cases[i].slot);

        g_test_message("slot %d pin %d: expect GSI %d", cases[i].slot, cases[i].pin,
                       cases[i].gsi);
        g_assert_cmpint(json_object_get_int_member(q, "irq_pin"), ==, cases[i].pin);
        qpci_command_update(dev, 0, PCI_COMMAND_MEMORY);
        g_assert_false(qtest_get_irq(qts, cases[i].gsi));
        qpci_io_writel(dev, bar, TESTDEV_REG_IRQ_RAISE, 0);
        g_assert_true(qtest_get_irq(qts, cases[i].gsi));
        for (int gsi = 0; gsi < 24; gsi++) {
            if (gsi != cases[i].gsi) {
                g_assert_false(qtest_get_irq(qts, gsi));
            }
        }
        g_assert_cmphex(qpci_io_readl(dev, bar, TESTDEV_REG_IRQ_STATUS), ==, 1);
        g_assert_cmphex(qpci_config_readw(dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, !=, 0);
        qpci_io_writel(dev, bar, TESTDEV_REG_IRQ_ACK, 0);
        g_assert_false(qtest_get_irq(qts, cases[i].gsi));
        g_assert_cmphex(qpci_config_readw(dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, ==, 0);
        g_free(dev);
    }
    qpci_free(bus);
    qtest_quit(qts);
    g_string_free(args, true);
}

static void test_intx_disable_bit(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(",msix-vectors=0"), false);
    qtest_irq_intercept_in(f.qts, "ioapic");
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_true(qtest_get_irq(f.qts, 23));
    qpci_command_update(f.dev, 0, PCI_COMMAND_INTX_DISABLE);
    g_assert_false(qtest_get_irq(f.qts, 23));
    /* The device still holds it: status says so, and it comes back. */
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, !=, 0);
    qpci_command_update(f.dev, PCI_COMMAND_INTX_DISABLE, 0);
    g_assert_true(qtest_get_irq(f.qts, 23));
    /* Enabling MSI takes INTx down. */
    qpci_command_update(f.dev, 0, PCI_COMMAND_MASTER);
    qpci_msi_enable(f.dev, MSI_ADDR, 0, 1);
    g_assert_false(qtest_get_irq(f.qts, 23));
    fixture_stop(&f);
}

static void test_intx_shared_line(void)
{
    /* Slots 3 and 7, INTA: both PIRQ H, GSI 23. */
    QTestState *qts = qtest_init("-machine q35 -m 64M "
                                 "-device aperture-testdev,addr=3.0,msix-vectors=0 "
                                 "-device aperture-testdev,addr=7.0,msix-vectors=0");
    QPCIBus *bus = qpci_new_conf1(qts);
    QPCIDevice *a = qpci_device_find(bus, PCI_DEVFN(3, 0));
    QPCIDevice *b = qpci_device_find(bus, PCI_DEVFN(7, 0));
    QPCIBar bar_a = qpci_iomap_at(a, 0, BAR0_ADDR);
    QPCIBar bar_b = qpci_iomap_at(b, 0, BAR0_ADDR + 0x1000);

    qtest_irq_intercept_in(qts, "ioapic");
    qpci_command_update(a, 0, PCI_COMMAND_MEMORY);
    qpci_command_update(b, 0, PCI_COMMAND_MEMORY);
    qpci_io_writel(a, bar_a, TESTDEV_REG_IRQ_RAISE, 0);
    qpci_io_writel(b, bar_b, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_true(qtest_get_irq(qts, 23));
    qpci_io_writel(a, bar_a, TESTDEV_REG_IRQ_ACK, 0);
    g_assert_true(qtest_get_irq(qts, 23));
    qpci_io_writel(b, bar_b, TESTDEV_REG_IRQ_ACK, 0);
    g_assert_false(qtest_get_irq(qts, 23));
    /* Raising twice is one level, not two. */
    qpci_io_writel(a, bar_a, TESTDEV_REG_IRQ_RAISE, 0);
    qpci_io_writel(a, bar_a, TESTDEV_REG_IRQ_RAISE, 0);
    qpci_io_writel(a, bar_a, TESTDEV_REG_IRQ_ACK, 0);
    g_assert_false(qtest_get_irq(qts, 23));
    g_free(a);
    g_free(b);
    qpci_free(bus);
    qtest_quit(qts);
}

/* ------------------------------------------------------------------------ */
/* DMA */

static void td_dma(Fixture *f, uint64_t addr, uint32_t len, uint32_t cmd)
{
    td_write(f, TESTDEV_REG_DMA_ADDR_LO, addr);
    td_write(f, TESTDEV_REG_DMA_ADDR_HI, addr >> 32);
    td_write(f, TESTDEV_REG_DMA_LEN, len);
    td_write(f, TESTDEV_REG_DMA_CMD, cmd);
}

static void test_dma(void)
{
    Fixture f;
    uint8_t pattern[64], back[64];

    for (size_t i = 0; i < sizeof(pattern); i++) {
        pattern[i] = 0xc0 ^ i;
    }
    fixture_start(&f, TD_ARGS(""), false);
    qpci_device_enable(f.dev);
    /* Device -> RAM. */
    qtest_memwrite(f.qts, BAR0_ADDR + TESTDEV_BUFFER_OFFSET, pattern, sizeof(pattern));
    td_dma(&f, DMA_RAM + 5, sizeof(pattern), TESTDEV_DMA_TO_RAM);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_DMA_STATUS), ==, 0);
    qtest_memread(f.qts, DMA_RAM + 5, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), pattern, sizeof(pattern));
    g_assert_cmphex(qtest_readb(f.qts, DMA_RAM + 4), ==, 0);
    g_assert_cmphex(qtest_readb(f.qts, DMA_RAM + 5 + sizeof(pattern)), ==, 0);
    /* RAM -> device. */
    qtest_memset(f.qts, DMA_RAM + 0x1000, 0x3c, 32);
    td_dma(&f, DMA_RAM + 0x1000, 32, 0);
    g_assert_cmphex(qtest_readl(f.qts, BAR0_ADDR + TESTDEV_BUFFER_OFFSET), ==, 0x3c3c3c3c);
    /* Only 32 bytes were copied: pattern[32..35] is still there. */
    g_assert_cmphex(qtest_readl(f.qts, BAR0_ADDR + TESTDEV_BUFFER_OFFSET + 32), ==, 0xe3e2e1e0);
    /* Bad lengths. */
    td_dma(&f, DMA_RAM, 0, TESTDEV_DMA_TO_RAM);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_DMA_STATUS), ==, 0xffffffff);
    td_dma(&f, DMA_RAM, TESTDEV_BUFFER_SIZE + 1, TESTDEV_DMA_TO_RAM);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_DMA_STATUS), ==, 0xffffffff);
    /* With an MSI-X interrupt when done. */
    qpci_msix_enable(f.dev);
    qpci_msix_set_vector(f.dev, 5, MSI_ADDR, 0xd0e);
    td_write(&f, TESTDEV_REG_DMA_VECTOR, 5);
    td_dma(&f, DMA_RAM + 0x2000, 4, TESTDEV_DMA_TO_RAM | TESTDEV_DMA_IRQ);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 0xd0e);
    fixture_stop(&f);
}

static void test_dma_bus_master_gate(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY);
    qtest_memset(f.qts, BAR0_ADDR + TESTDEV_BUFFER_OFFSET, 0x99, 16);
    td_dma(&f, DMA_RAM, 16, TESTDEV_DMA_TO_RAM);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_DMA_STATUS), !=, 0);
    g_assert_cmphex(qtest_readl(f.qts, DMA_RAM), ==, 0);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MASTER);
    td_dma(&f, DMA_RAM, 16, TESTDEV_DMA_TO_RAM);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_DMA_STATUS), ==, 0);
    g_assert_cmphex(qtest_readl(f.qts, DMA_RAM), ==, 0x99999999);
    fixture_stop(&f);
}

/* A device DMAing or signalling into its own registers must not recurse. */
static void test_dma_reentrancy(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_device_enable(f.dev);
    /* The buffer holds "DMA to RAM" for DMA_CMD; the DMA targets DMA_CMD. */
    qtest_writel(f.qts, BAR0_ADDR + TESTDEV_BUFFER_OFFSET, TESTDEV_DMA_TO_RAM);
    td_dma(&f, BAR0_ADDR + TESTDEV_REG_DMA_CMD, 4, TESTDEV_DMA_TO_RAM);
    /* MSI-X vector 0 aimed at IRQ_RAISE with data 0: raises itself. */
    qpci_msix_enable(f.dev);
    qpci_msix_set_vector(f.dev, 0, BAR0_ADDR + TESTDEV_REG_IRQ_RAISE, 0);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_ID), ==, TESTDEV_ID_VALUE);
    /* One raise from the test and one from the message; the next one is refused. */
    g_assert_cmpuint(td_read(&f, TESTDEV_REG_IRQ_RAISE), ==, 2);
    fixture_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* QMP, device model */

static void test_query_pci(void)
{
    Fixture f;
    JsonObject *d;
    JsonArray *regions;

    fixture_start(&f, TD_ARGS(""), false);
    qpci_iomap_at(f.dev, 1, BAR1_PORT);
    qpci_command_update(f.dev, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    qpci_config_writeb(f.dev, PCI_INTERRUPT_LINE, 11);

    d = query_pci_device(f.qts, 0);
    g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(d, "id"),
                                               "vendor"), ==, MCH_VENDOR);
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(d,
                                                                                "class_info"),
                                                  "desc"), ==, "Host bridge");
    json_object_unref(d);

    d = query_pci_device(f.qts, 3);
    g_assert_nonnull(d);
    g_assert_cmpint(json_object_get_int_member(d, "bus"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(d, "function"), ==, 0);
    g_assert_cmpstr(json_object_get_string_member(d, "qdev_id"), ==, "td");
    g_assert_cmpint(json_object_get_int_member(d, "irq_pin"), ==, 1);
    g_assert_cmpint(json_object_get_int_member(d, "irq"), ==, 11);
    {
        JsonObject *id = json_object_get_object_member(d, "id");
        JsonObject *ci = json_object_get_object_member(d, "class_info");

        g_assert_cmpint(json_object_get_int_member(id, "vendor"), ==, TESTDEV_VENDOR_ID);
        g_assert_cmpint(json_object_get_int_member(id, "device"), ==, TESTDEV_DEVICE_ID);
        g_assert_cmpint(json_object_get_int_member(id, "subsystem-vendor"), ==, 0x1af4);
        g_assert_cmpint(json_object_get_int_member(id, "subsystem"), ==, 0x1100);
        g_assert_cmpint(json_object_get_int_member(ci, "class"), ==, TESTDEV_CLASS);
    }
    regions = json_object_get_array_member(d, "regions");
    g_assert_cmpuint(json_array_get_length(regions), ==, 4);
    {
        JsonObject *r0 = json_array_get_object_element(regions, 0);
        JsonObject *r1 = json_array_get_object_element(regions, 1);
        JsonObject *r2 = json_array_get_object_element(regions, 2);
        JsonObject *r4 = json_array_get_object_element(regions, 3);

        g_assert_cmpint(json_object_get_int_member(r0, "bar"), ==, 0);
        g_assert_cmpstr(json_object_get_string_member(r0, "type"), ==, "memory");
        g_assert_cmpint(json_object_get_int_member(r0, "address"), ==, BAR0_ADDR);
        g_assert_cmpint(json_object_get_int_member(r0, "size"), ==, TESTDEV_BAR0_SIZE);
        g_assert_false(json_object_get_boolean_member(r0, "prefetch"));
        g_assert_false(json_object_get_boolean_member(r0, "mem_type_64"));
        g_assert_cmpstr(json_object_get_string_member(r1, "type"), ==, "io");
        g_assert_cmpint(json_object_get_int_member(r1, "address"), ==, BAR1_PORT);
        g_assert_false(json_object_has_member(r1, "prefetch"));
        g_assert_cmpint(json_object_get_int_member(r2, "bar"), ==, 2);
        g_assert_true(json_object_get_boolean_member(r2, "prefetch"));
        g_assert_true(json_object_get_boolean_member(r2, "mem_type_64"));
        g_assert_cmpint(json_object_get_int_member(r2, "address"), ==, -1);
        g_assert_cmpint(json_object_get_int_member(r4, "bar"), ==, 4);
    }
    json_object_unref(d);
    fixture_stop(&f);
}

/* Start-up failures: exit status 1 and the reason on stderr. */
static void check_startup_fails(const char *args, const char *needle)
{
    g_autofree char *full = g_strdup_printf("-machine q35 -m 64M -display none %s", args);
    g_autofree char *err = NULL;
    int st = qtest_run_binary(full, NULL, &err);

    g_test_message("%s -> %s", args, err);
    g_assert_true(WIFEXITED(st));
    g_assert_cmpint(WEXITSTATUS(st), ==, 1);
    g_assert_nonnull(strstr(err, needle));
}

static void test_device_address_rules(void)
{
    check_startup_fails("-device aperture-testdev,addr=3.0 -device aperture-testdev,addr=3.0",
                        "not available");
    check_startup_fails("-device aperture-testdev,addr=5.0 -device aperture-testdev,addr=5.1",
                        "single function");
    check_startup_fails("-device aperture-testdev,addr=5.1,multifunction=on "
                        "-device aperture-testdev,addr=5.0", "indicates single function");
    check_startup_fails("-device aperture-testdev,addr=0.0", "not available");
    check_startup_fails("-device aperture-testdev,addr=20.0", "addr");
    check_startup_fails("-device aperture-testdev,msi-vectors=3", "MSI");
    check_startup_fails("-device aperture-testdev,pin=5", "pin");
    check_startup_fails("-device mch", "mch");
}

static void test_default_addresses(void)
{
    /* Without addr=, the first free slot after the MCH. */
    QTestState *qts = qtest_init("-machine q35 -m 64M -device aperture-testdev "
                                 "-device aperture-testdev,addr=2.0 -device aperture-testdev");
    g_autoptr(JsonObject) d1 = query_pci_device(qts, 1);
    g_autoptr(JsonObject) d2 = query_pci_device(qts, 2);
    g_autoptr(JsonObject) d3 = query_pci_device(qts, 3);

    g_assert_nonnull(d1);
    g_assert_nonnull(d2);
    g_assert_nonnull(d3);
    qtest_quit(qts);
}

static void test_system_reset(void)
{
    Fixture f;

    fixture_start(&f, TD_ARGS(""), false);
    qtest_irq_intercept_in(f.qts, "ioapic");
    qpci_device_enable(f.dev);
    td_write(&f, TESTDEV_REG_SCRATCH, 0x5555);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_true(qtest_get_irq(f.qts, 23));
    qpci_msix_enable(f.dev);
    qtest_qmp_assert_success(f.qts, "{'execute': 'system_reset'}");
    g_assert_false(qtest_get_irq(f.qts, 23));
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_COMMAND), ==, 0);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_0), ==, 0);
    g_assert_cmphex(qpci_config_readl(f.dev, PCI_BASE_ADDRESS_2), ==, 0xc);
    g_assert_cmphex(qpci_config_readw(f.dev, qpci_find_capability(f.dev, PCI_CAP_ID_MSIX, 0) +
                                      PCI_MSIX_FLAGS), ==, 7);
    g_assert_cmpint(query_bar_address(f.qts, 3, 0), ==, -1);
    f.bar0 = qpci_iomap_at(f.dev, 0, BAR0_ADDR);
    qpci_device_enable(f.dev);
    g_assert_cmphex(td_read(&f, TESTDEV_REG_SCRATCH), ==, 0);
    fixture_stop(&f);
}

static void test_hot_unplug(void)
{
    Fixture f;
    JsonObject *ev, *resp;

    fixture_start(&f, TD_ARGS(" -device aperture-testdev,addr=4.0,id=other"), false);
    qtest_irq_intercept_in(f.qts, "ioapic");
    qpci_device_enable(f.dev);
    qpci_iomap_at(f.dev, 2, 0x200000000ULL);
    qpci_msix_enable(f.dev);
    qpci_msix_set_vector(f.dev, 0, MSI_ADDR, 1);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_cmphex(qtest_readl(f.qts, MSI_ADDR), ==, 1);
    qpci_msix_disable(f.dev);
    td_write(&f, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_true(qtest_get_irq(f.qts, 23));

    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del', 'arguments': {'id': 'td'}}");
    ev = qtest_qmp_eventwait_ref(f.qts, "DEVICE_DELETED");
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(ev, "data"),
                                                  "device"), ==, "td");
    json_object_unref(ev);
    /* Gone: config space, BARs, its interrupt. */
    g_assert_cmphex(qpci_config_readw(f.dev, PCI_VENDOR_ID), ==, 0xffff);
    g_assert_cmphex(qtest_readl(f.qts, BAR0_ADDR), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(f.qts, 0x200000000ULL), ==, 0xffffffff);
    g_assert_false(qtest_get_irq(f.qts, 23));
    g_assert_null(query_pci_device(f.qts, 3));
    g_assert_nonnull(query_pci_device(f.qts, 4));
    /* Twice is an error; the MCH cannot go. */
    resp = qtest_qmp(f.qts, "{'execute': 'device_del', 'arguments': {'id': 'td'}}");
    g_assert_true(json_object_has_member(resp, "error"));
    json_object_unref(resp);
    resp = qtest_qmp(f.qts, "{'execute': 'device_del', 'arguments': {'id': '/machine/q35'}}");
    g_assert_true(json_object_has_member(resp, "error"));
    json_object_unref(resp);
    /* The other device is unaffected. */
    {
        QPCIDevice *other = qpci_device_find(f.bus, PCI_DEVFN(4, 0));

        g_assert_nonnull(other);
        g_free(other);
    }
    fixture_stop(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_data_func("/pci/enumerate/conf1", GINT_TO_POINTER(false), test_enumerate);
    qtest_add_data_func("/pci/enumerate/ecam", GINT_TO_POINTER(true), test_enumerate);
    qtest_add_func("/pci/config/readonly-header", test_config_readonly_header);
    qtest_add_data_func("/pci/config/sub-dword/conf1", GINT_TO_POINTER(false),
                        test_config_sub_dword);
    qtest_add_data_func("/pci/config/sub-dword/ecam", GINT_TO_POINTER(true),
                        test_config_sub_dword);
    qtest_add_func("/pci/config/conf1-rules", test_config_conf1_rules);
    qtest_add_func("/pci/config/straddling-conf1", test_config_straddling);
    qtest_add_func("/pci/config/extended-space", test_config_extended_space);
    qtest_add_func("/pci/bar/sizing", test_bar_sizing);
    qtest_add_func("/pci/bar/memory-decode", test_bar_memory_decode);
    qtest_add_func("/pci/bar/io-decode", test_bar_io_decode);
    qtest_add_func("/pci/bar/64bit-above-4g", test_bar_64bit_above_4g);
    qtest_add_func("/pci/bar/overlap", test_bar_overlap);
    qtest_add_func("/pci/bar/unmappable", test_bar_unmappable);
    qtest_add_func("/pci/bar/rom", test_rom_bar);
    qtest_add_data_func("/pci/msi/deliver-64", GINT_TO_POINTER(true), test_msi_deliver);
    qtest_add_data_func("/pci/msi/deliver-32", GINT_TO_POINTER(false), test_msi_deliver);
    qtest_add_func("/pci/msi/mask-pending", test_msi_mask_pending);
    qtest_add_func("/pci/msi/config-rules", test_msi_config_rules);
    qtest_add_func("/pci/msi/bus-master-gate", test_msi_bus_master_gate);
    qtest_add_func("/pci/msix/deliver", test_msix_deliver);
    qtest_add_func("/pci/msix/mask-pending", test_msix_mask_pending);
    qtest_add_func("/pci/msix/table-access", test_msix_table_access);
    qtest_add_func("/pci/msix/over-msi", test_msix_over_msi);
    qtest_add_func("/pci/intx/routing", test_intx_routing);
    qtest_add_func("/pci/intx/disable-bit", test_intx_disable_bit);
    qtest_add_func("/pci/intx/shared-line", test_intx_shared_line);
    qtest_add_func("/pci/dma/to-and-from-ram", test_dma);
    qtest_add_func("/pci/dma/bus-master-gate", test_dma_bus_master_gate);
    qtest_add_func("/pci/dma/reentrancy", test_dma_reentrancy);
    qtest_add_func("/pci/qmp/query-pci", test_query_pci);
    qtest_add_func("/pci/device/address-rules", test_device_address_rules);
    qtest_add_func("/pci/device/default-addresses", test_default_addresses);
    qtest_add_func("/pci/device/system-reset", test_system_reset);
    qtest_add_func("/pci/device/hot-unplug", test_hot_unplug);
    return g_test_run();
}
