/*
 * A hostile guest against the PCI layer: thousands of config writes of
 * every size at every offset (through conf1 at every port offset and
 * through ECAM, aligned or not, past 256 and 4096 bytes), BARs thrown over
 * each other and over RAM, ECAM and the conf1 ports, MSI-X tables written
 * at random and interrupts aimed anywhere.  After each round the machine
 * must still answer and every device must still be what it was (its ids
 * are read-only), and a system reset must bring the bus back to order.
 *
 * The sequence is reproducible: QTEST_FUZZ_SEED=N replays it (the seed is
 * printed), QTEST_FUZZ_ITERATIONS scales it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "libqtest.h"
#include "qpci.h"
#include "hw/pci/pci-testdev.h"

#define FUZZ_ARGS "-machine q35 -m 64M " \
    "-device aperture-testdev,addr=3.0,id=a " \
    "-device aperture-testdev,addr=4.0,multifunction=on,id=b,pin=2 " \
    "-device aperture-testdev,addr=4.1,id=c,msi64=off,msix-vectors=64 " \
    "-device aperture-testdev,addr=1f.0,id=d,msi-mask=off,msix-vectors=0"

static const int fuzz_devfns[] = { PCI_DEVFN(0, 0), PCI_DEVFN(3, 0), PCI_DEVFN(4, 0),
                                   PCI_DEVFN(4, 1), PCI_DEVFN(31, 0) };

static GRand *fuzz_rand(void)
{
    const char *env = g_getenv("QTEST_FUZZ_SEED");
    guint32 seed = env ? (guint32)strtoul(env, NULL, 0) : g_test_rand_int();

    g_test_message("seed %u (QTEST_FUZZ_SEED=%u replays it)", seed, seed);
    return g_rand_new_with_seed(seed);
}

static int fuzz_iterations(int dflt)
{
    const char *env = g_getenv("QTEST_FUZZ_ITERATIONS");
    int n = env ? atoi(env) : 0;

    return n > 0 ? n : dflt;
}

/* A value biased towards the interesting ones. */
static uint32_t fuzz_value(GRand *r)
{
    switch (g_rand_int_range(r, 0, 10)) {
    case 0:
    case 1:
        return 0xffffffff;
    case 2:
        return 0;
    case 3:
        return 1u << g_rand_int_range(r, 0, 32);
    default:
        return g_rand_int(r);
    }
}

/* The ids of every function as query-pci reports them: slot.fn -> vendor<<16|device. */
static GHashTable *query_ids(QTestState *qts)
{
    GHashTable *ids = g_hash_table_new(g_direct_hash, g_direct_equal);
    JsonObject *resp = qtest_qmp(qts, "{'execute': 'query-pci'}");
    JsonArray *buses = json_object_get_array_member(resp, "return");
    JsonArray *devs = json_object_get_array_member(json_array_get_object_element(buses, 0),
                                                   "devices");

    for (guint i = 0; i < json_array_get_length(devs); i++) {
        JsonObject *d = json_array_get_object_element(devs, i);
        JsonObject *id = json_object_get_object_member(d, "id");
        JsonObject *ci = json_object_get_object_member(d, "class_info");
        int devfn = PCI_DEVFN(json_object_get_int_member(d, "slot"),
                              json_object_get_int_member(d, "function"));
        uint64_t v = (uint64_t)json_object_get_int_member(id, "vendor") << 32 |
                     json_object_get_int_member(id, "device") << 16 |
                     json_object_get_int_member(ci, "class");

        g_hash_table_insert(ids, GINT_TO_POINTER(devfn + 1), GSIZE_TO_POINTER(v));
    }
    json_object_unref(resp);
    return ids;
}

static gboolean same_entry(gpointer key, gpointer value, gpointer other)
{
    return g_hash_table_lookup(other, key) != value;
}

/* The machine answers and the devices are the same as at the start. */
static void check_identity(QTestState *qts, GHashTable *expected)
{
    g_autoptr(GHashTable) now = NULL;
    g_autofree char *reply = qtest_cmd(qts, "endianness");

    g_assert_cmpstr(reply, ==, "OK little");
    now = query_ids(qts);
    g_assert_cmpuint(g_hash_table_size(now), ==, g_hash_table_size(expected));
    g_assert_null(g_hash_table_find(expected, same_entry, now));
}

/* After a reset the bus is in order again: conf1 and ECAM both see every device. */
static void check_after_reset(QTestState *qts)
{
    QPCIBus *conf1 = qpci_new_conf1(qts);
    QPCIBus *ecam = qpci_new_ecam(qts, QPCI_ECAM_BASE);

    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    for (size_t i = 0; i < G_N_ELEMENTS(fuzz_devfns); i++) {
        QPCIDevice *a = qpci_device_find(conf1, fuzz_devfns[i]);
        QPCIDevice *b = qpci_device_find(ecam, fuzz_devfns[i]);

        g_assert_nonnull(a);
        g_assert_nonnull(b);
        g_assert_cmphex(qpci_config_readl(a, 0), ==, qpci_config_readl(b, 0));
        g_assert_cmphex(qpci_config_readw(a, PCI_COMMAND), ==, 0);
        g_free(a);
        g_free(b);
    }
    qpci_free(conf1);
    qpci_free(ecam);
}

/* One config write of a random size at a random offset through ECAM or conf1. */
static void fuzz_config_write(QTestState *qts, GRand *r)
{
    int devfn = g_rand_boolean(r) ? fuzz_devfns[g_rand_int_range(r, 0, G_N_ELEMENTS(fuzz_devfns))]
                                  : g_rand_int_range(r, 0, 256);
    static const int sizes[] = { 1, 2, 4, 8 };
    int size = sizes[g_rand_int_range(r, 0, 4)];
    uint32_t val = fuzz_value(r);
    /* Mostly the header and capabilities, sometimes anywhere up to 8 KiB. */
    uint32_t off = g_rand_int_range(r, 0, 8) ? g_rand_int_range(r, 0, 0x100)
                                             : g_rand_int_range(r, 0, 0x2000);

    if (g_rand_boolean(r)) {
        uint64_t addr = QPCI_ECAM_BASE + ((uint64_t)devfn << 12) + off;

        switch (size) {
        case 1:
            qtest_writeb(qts, addr, val);
            break;
        case 2:
            qtest_writew(qts, addr, val);
            break;
        case 4:
            qtest_writel(qts, addr, val);
            break;
        default:
            qtest_writeq(qts, addr, (uint64_t)val << 32 | fuzz_value(r));
            break;
        }
    } else {
        uint16_t port = 0xcfc + g_rand_int_range(r, 0, 4);

        /* Now and then CONFIG_ADDRESS itself gets a random value, or a narrow write. */
        if (!g_rand_int_range(r, 0, 20)) {
            qtest_outl(qts, 0xcf8, fuzz_value(r));
        } else if (!g_rand_int_range(r, 0, 20)) {
            qtest_outw(qts, 0xcf8 + g_rand_int_range(r, 0, 4), val);
        } else {
            qtest_outl(qts, 0xcf8, 0x80000000 | devfn << 8 | (off & 0xfc));
        }
        switch (size) {
        case 1:
            qtest_outb(qts, port, val);
            break;
        case 2:
            qtest_outw(qts, port, val);
            break;
        default:
            qtest_outl(qts, port, val);
            break;
        }
    }
}

/* A random access somewhere a BAR, the ECAM window or a device register may be. */
static void fuzz_mmio(QTestState *qts, GRand *r)
{
    static const uint64_t bases[] = { 0xc0000000ULL, 0xd0000000ULL, 0xe0000000ULL,
                                      QPCI_ECAM_BASE, 0x100000000ULL, 0 };
    uint64_t addr = bases[g_rand_int_range(r, 0, G_N_ELEMENTS(bases))] +
                    g_rand_int_range(r, 0, 0x10000);

    switch (g_rand_int_range(r, 0, 6)) {
    case 0:
        qtest_writel(qts, addr & ~3ULL, fuzz_value(r));
        break;
    case 1:
        qtest_readl(qts, addr);
        break;
    case 2:
        qtest_writeb(qts, addr, fuzz_value(r));
        break;
    case 3:
        qtest_inl(qts, g_rand_int_range(r, 0, 0x10000));
        break;
    case 4:
        qtest_outl(qts, g_rand_int_range(r, 0, 0x10000), fuzz_value(r));
        break;
    default:
        qtest_writeq(qts, addr & ~7ULL, (uint64_t)fuzz_value(r) << 32 | fuzz_value(r));
        break;
    }
}

static void test_config_writes(void)
{
    g_autoptr(GRand) r = fuzz_rand();
    QTestState *qts = qtest_init(FUZZ_ARGS);
    g_autoptr(GHashTable) ids = query_ids(qts);
    int n = fuzz_iterations(4000);

    g_assert_cmpuint(g_hash_table_size(ids), ==, G_N_ELEMENTS(fuzz_devfns));
    for (int i = 1; i <= n; i++) {
        fuzz_config_write(qts, r);
        if (!(i % 4)) {
            fuzz_mmio(qts, r);
        }
        if (!(i % 500)) {
            check_identity(qts, ids);
        }
    }
    check_identity(qts, ids);
    check_after_reset(qts);
    check_identity(qts, ids);
    qtest_quit(qts);
}

/* BARs of every device thrown at the same few addresses, decoding toggled at random. */
static void test_bars_over_each_other(void)
{
    static const uint64_t spots[] = { 0xd0000000ULL, 0xd0000800ULL, 0xd0001000ULL,
                                      QPCI_ECAM_BASE, 0x100000ULL, 0x100000000ULL };
    g_autoptr(GRand) r = fuzz_rand();
    QTestState *qts = qtest_init(FUZZ_ARGS);
    g_autoptr(GHashTable) ids = query_ids(qts);
    QPCIBus *bus = qpci_new_conf1(qts);
    QPCIDevice *devs[4];
    int n = fuzz_iterations(4000) / 4;

    for (int i = 0; i < 4; i++) {
        devs[i] = qpci_device_find(bus, fuzz_devfns[i + 1]);
        g_assert_nonnull(devs[i]);
    }
    for (int i = 1; i <= n; i++) {
        QPCIDevice *d = devs[g_rand_int_range(r, 0, 4)];
        int bar = g_rand_int_range(r, 0, 7);
        uint64_t at = spots[g_rand_int_range(r, 0, G_N_ELEMENTS(spots))];

        switch (g_rand_int_range(r, 0, 4)) {
        case 0:
            qpci_command_update(d, PCI_COMMAND_MEMORY | PCI_COMMAND_IO,
                                g_rand_int(r) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO));
            break;
        case 1:
            /* I/O BARs go to a few ports, conf1's included. */
            if (bar == 1) {
                qpci_config_writel(d, PCI_BASE_ADDRESS_1, g_rand_boolean(r) ? 0xc00 : 0xc000);
            } else if (bar == 6) {
                qpci_config_writel(d, PCI_ROM_ADDRESS, (at & 0xfffff800) | PCI_ROM_ADDRESS_ENABLE);
            } else {
                /* Both halves: the upper one of a 32-bit BAR is the next BAR. */
                qpci_config_writel(d, PCI_BASE_ADDRESS_0 + 4 * bar, at);
                if (bar < 5) {
                    qpci_config_writel(d, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), at >> 32);
                }
            }
            break;
        case 2:
            qtest_readl(qts, at + g_rand_int_range(r, 0, 0x40));
            break;
        default:
            qtest_writel(qts, at + (g_rand_int_range(r, 0, 0x10) & ~3), fuzz_value(r));
            break;
        }
        if (!(i % 250)) {
            check_identity(qts, ids);
        }
    }
    check_identity(qts, ids);
    check_after_reset(qts);

    /* Once put in order, each device answers at its own address. */
    for (int i = 0; i < 4; i++) {
        QPCIBar bar0 = qpci_iomap_at(devs[i], 0, 0xd0000000ULL + i * 0x1000);

        qpci_command_update(devs[i], 0, PCI_COMMAND_MEMORY);
        qpci_io_writel(devs[i], bar0, TESTDEV_REG_SCRATCH, 0x5ca1ab1e + i);
    }
    for (int i = 0; i < 4; i++) {
        g_assert_cmphex(qtest_readl(qts, 0xd0000000ULL + i * 0x1000 + TESTDEV_REG_ID), ==,
                        TESTDEV_ID_VALUE);
        g_assert_cmphex(qtest_readl(qts, 0xd0000000ULL + i * 0x1000 + TESTDEV_REG_SCRATCH), ==,
                        0x5ca1ab1e + i);
    }
    for (int i = 0; i < 4; i++) {
        g_free(devs[i]);
    }
    qpci_free(bus);
    qtest_quit(qts);
}

/* MSI-X tables and MSI capabilities written at random, interrupts aimed anywhere. */
static void test_msix_tables(void)
{
    g_autoptr(GRand) r = fuzz_rand();
    QTestState *qts = qtest_init(FUZZ_ARGS);
    g_autoptr(GHashTable) ids = query_ids(qts);
    QPCIBus *bus = qpci_new_conf1(qts);
    QPCIDevice *devs[3];
    QPCIBar bar0[3];
    int n = fuzz_iterations(4000) / 2;

    for (int i = 0; i < 3; i++) {
        devs[i] = qpci_device_find(bus, fuzz_devfns[i + 1]);
        bar0[i] = qpci_iomap_at(devs[i], 0, 0xd0000000ULL + i * 0x1000);
        qpci_device_enable(devs[i]);
        qpci_msix_enable(devs[i]);
        qpci_msi_enable(devs[i], 0x10000, 0x1234, 4);
    }
    for (int i = 1; i <= n; i++) {
        int k = g_rand_int_range(r, 0, 3);
        QPCIDevice *d = devs[k];
        uint8_t cap;

        switch (g_rand_int_range(r, 0, 6)) {
        case 0: {
            /* Anywhere in the MSI-X BAR: table, the hole after it, the PBA. */
            uint64_t off = g_rand_int_range(r, 0, 0x1000);

            if (g_rand_boolean(r)) {
                qpci_io_writel(d, d->msix_table_bar, off & ~3ULL, fuzz_value(r));
            } else {
                qpci_io_writeb(d, d->msix_table_bar, off, fuzz_value(r));
            }
            break;
        }
        case 1:
            /* An entry aimed at RAM, a BAR, ECAM or nowhere. */
            qpci_msix_set_vector(d, g_rand_int_range(r, 0, 8),
                                 g_rand_boolean(r) ? 0x10000 + g_rand_int_range(r, 0, 0x100) * 4
                                                   : (uint64_t)fuzz_value(r) << 2,
                                 fuzz_value(r));
            break;
        case 2:
            qpci_io_writel(d, bar0[k], TESTDEV_REG_IRQ_RAISE, g_rand_int_range(r, 0, 70));
            break;
        case 3:
            cap = qpci_find_capability(d, PCI_CAP_ID_MSIX, 0);
            qpci_config_writew(d, cap + PCI_MSIX_FLAGS, fuzz_value(r));
            break;
        case 4:
            cap = qpci_find_capability(d, PCI_CAP_ID_MSI, 0);
            qpci_config_writel(d, cap + 4 * g_rand_int_range(r, 0, 6), fuzz_value(r));
            break;
        default:
            qpci_io_readl(d, d->msix_pba_bar, d->msix_pba_off + 4 * g_rand_int_range(r, 0, 4));
            break;
        }
        if (!(i % 250)) {
            check_identity(qts, ids);
        }
    }
    check_identity(qts, ids);
    check_after_reset(qts);
    for (int i = 0; i < 3; i++) {
        g_free(devs[i]);
    }
    qpci_free(bus);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/pci/fuzz/config-writes", test_config_writes);
    qtest_add_func("/pci/fuzz/bars-over-each-other", test_bars_over_each_other);
    qtest_add_func("/pci/fuzz/msix-tables", test_msix_tables);
    return g_test_run();
}
