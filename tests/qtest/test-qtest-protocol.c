/*
 * The qtest protocol as a client sees it: every command's reply in QEMU's
 * exact format, the virtual clock, interrupt interception, the log, the
 * stdio transport, and malformed input answered with FAIL instead of a
 * crash.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib/gstdio.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "libqtest.h"
#include "qpci.h"
#include "hw/pci/pci-testdev.h"

#define MACHINE_ARGS "-machine q35 -m 64M -device aperture-testdev,addr=3.0,id=td"

/* Send @cmd and check the reply is exactly @expected. */
static void check_reply(QTestState *qts, const char *cmd, const char *expected)
{
    g_autofree char *reply = qtest_cmd(qts, "%s", cmd);

    if (strcmp(reply, expected) != 0) {
        g_test_message("command \"%s\": expected \"%s\", got \"%s\"", cmd, expected, reply);
    }
    g_assert_cmpstr(reply, ==, expected);
}

/* Send @cmd and check the reply starts with @prefix. */
static void check_reply_prefix(QTestState *qts, const char *cmd, const char *prefix)
{
    g_autofree char *reply = qtest_cmd(qts, "%s", cmd);

    if (!g_str_has_prefix(reply, prefix)) {
        g_test_message("command \"%.60s\": expected a reply starting \"%s\", got \"%.80s\"",
                       cmd, prefix, reply);
    }
    g_assert_true(g_str_has_prefix(reply, prefix));
}

/* One command and the exact reply it must get. */
typedef struct Exchange {
    const char *cmd;
    const char *reply;
} Exchange;

/* Run @script, a list ended by a NULL command, in order on @qts. */
static void check_replies(QTestState *qts, const Exchange *script)
{
    for (; script->cmd; script++) {
        check_reply(qts, script->cmd, script->reply);
    }
}

/* A fresh machine per script, so no script sees memory another one wrote. */
static void test_script(const void *data)
{
    QTestState *qts = qtest_init(MACHINE_ARGS);

    check_replies(qts, data);
    qtest_quit(qts);
}

static void test_endianness(void)
{
    QTestState *qts = qtest_init(MACHINE_ARGS);

    check_reply(qts, "endianness", "OK little");
    g_assert_false(qtest_big_endian(qts));
    qtest_quit(qts);
}

static const Exchange memory_widths_script[] = {
    { "writeq 0x1000 0x1122334455667788", "OK" },
    { "readb 0x1000", "OK 0x0000000000000088" },
    { "readw 0x1000", "OK 0x0000000000007788" },
    { "readl 0x1000", "OK 0x0000000055667788" },
    { "readq 0x1000", "OK 0x1122334455667788" },
    { "readl 0x1004", "OK 0x0000000011223344" },
    /* Values are truncated to the width written. */
    { "writeb 0x1000 0xabcd", "OK" },
    { "readq 0x1000", "OK 0x11223344556677cd" },
    { "writew 0x1002 0x12345", "OK" },
    { "readq 0x1000", "OK 0x11223344234577cd" },
    { "writel 0x1004 4294967295", "OK" },
    { "readq 0x1000", "OK 0xffffffff234577cd" },
    /* Nothing mapped: all-ones. */
    { "readl 0xfed00000", "OK 0x00000000ffffffff" },
    { NULL }
};

static const Exchange port_widths_script[] = {
    { "inb 0x80", "OK 0x00ff" },
    { "inw 0x80", "OK 0xffff" },
    { "inl 0x80", "OK 0xffffffff" },
    /* CONFIG_ADDRESS reads back; CONFIG_DATA in every width. */
    { "outl 0xcf8 0x80000000", "OK" },
    { "inl 0xcf8", "OK 0x80000000" },
    { "inl 0xcfc", "OK 0x29c08086" },
    { "inw 0xcfc", "OK 0x8086" },
    { "inw 0xcfe", "OK 0x29c0" },
    { "inb 0xcfc", "OK 0x0086" },
    { "inb 0xcff", "OK 0x0029" },
    { NULL }
};

static const Exchange read_write_hex_script[] = {
    { "write 0x2000 4 0xdeadbeef", "OK" },
    { "read 0x2000 4", "OK 0xdeadbeef" },
    { "read 0x2000 0x2", "OK 0xdead" },
    /* Short data is zero-filled. */
    { "write 0x2000 4 0xab", "OK" },
    { "read 0x2000 4", "OK 0xab000000" },
    /* Upper-case digits are accepted; replies are lower case. */
    { "write 0x2000 2 0xABCD", "OK" },
    { "read 0x2000 2", "OK 0xabcd" },
    /* QEMU's answer to data shorter than "0x" plus a digit. */
    { "write 0x2000 4 0x", "ERR invalid argument size" },
    { "write 0x2000 4 ab", "ERR invalid argument size" },
    { "read 0x2000 4", "OK 0xabcd0000" },
    { NULL }
};

static const Exchange base64_script[] = {
    { "b64write 0x3000 4 3q2+7w==", "OK" },
    { "b64read 0x3000 4", "OK 3q2+7w==" },
    { "read 0x3000 4", "OK 0xdeadbeef" },
    { "b64read 0x3000 0", "OK " },
    /* Told 8 bytes, given 2: only 2 are written. */
    { "b64write 0x3000 8 AAA=", "OK" },
    { "read 0x3000 8", "OK 0x0000beef00000000" },
    { "b64write 0x3000 4 AA", "ERR invalid argument size" },
    { NULL }
};

static const Exchange memset_script[] = {
    { "memset 0x4000 16 0x5a", "OK" },
    { "read 0x4000 16", "OK 0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a" },
    { "memset 0x4000 0 0x11", "OK" },
    { "memset 0x4004 4 0x1ff", "OK" },
    { "read 0x4000 8", "OK 0x5a5a5a5affffffff" },
    { NULL }
};

static const Exchange unknown_command_script[] = {
    { "frobnicate 1 2", "FAIL Unknown command 'frobnicate'" },
    { "READL 0", "FAIL Unknown command 'READL'" },
    { "", "FAIL Unknown command ''" },
    { "readl\t0", "FAIL Unknown command 'readl\t0'" },
    { NULL }
};

/* As in QEMU: extra words; negative numbers wrap (unassigned: all-ones). */
static const Exchange accepted_oddities[] = {
    { "readl 0x10 extra words", "OK 0x0000000000000000" },
    { "readq -1", "OK 0xffffffffffffffff" },
    { "readw 18446744073709551615", "OK 0x000000000000ffff" },
    { "endianness", "OK little" },
    { NULL }
};

/* Each malformed line gets one FAIL/ERR reply; the server keeps going. */
static void test_malformed_lines(void)
{
    static const char *const bad[] = {
        "readl", "readl zz", "readl 0x", "readl -", "writel 0x10", "writel 0x10 zz",
        "writeq 0x10 0x1ffffffffffffffff", "outb 0x10000 1", "outb 0xcf8", "inb 0x1ffff",
        "inl", "read", "read 0", "read 0 0", "read 0 0x7fffffffffffffff", "write 0 1",
        "write 0 0xffffffffffff 0x00", "b64read 0", "b64read 0 0xffffffffff", "b64write 0 4",
        "memset 0 4", "memset 0 0x100000000000 1", "clock_step xyz", "clock_step -5",
        "clock_step 0", "clock_set", "clock_set abc", "irq_intercept_in", "irq_intercept_out",
        "set_irq_in", "set_irq_in ioapic", "set_irq_in ioapic unnamed-gpio-in 99 1",
        "set_irq_in ioapic unnamed-gpio-in -1 1", "set_irq_in nosuch unnamed-gpio-in 0 1",
        "set_irq_in ioapic unnamed-gpio-in x y", " ", "  readl 0",
    };
    QTestState *qts = qtest_init(MACHINE_ARGS);
    g_autofree char *huge = g_strnfill(100000, 'x');

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *reply = qtest_cmd(qts, "%s", bad[i]);

        if (!g_str_has_prefix(reply, "FAIL") && !g_str_has_prefix(reply, "ERR")) {
            g_test_message("\"%s\": expected FAIL or ERR, got \"%s\"", bad[i], reply);
        }
        g_assert_true(g_str_has_prefix(reply, "FAIL") || g_str_has_prefix(reply, "ERR"));
    }
    check_reply_prefix(qts, huge, "FAIL Unknown command 'xxxx");
    check_replies(qts, accepted_oddities);
    qtest_quit(qts);
}

/* QEMU's qtest clock starts at 0. */
static const Exchange clock_script[] = {
    { "clock_step 100", "OK 100" },
    { "clock_step",
      "FAIL cannot advance clock to the next deadline because there is no pending deadline" },
    { "clock_step 0", "FAIL could not advance time" },
    { "clock_set 1000", "OK 1000" },
    { "clock_set 500", "FAIL 1000" },
    { "clock_set 1000", "OK 1000" },
    { NULL }
};

static void test_clock(void)
{
    QTestState *qts = qtest_init(MACHINE_ARGS);
    QPCIBus *bus = qpci_new_conf1(qts);
    QPCIDevice *dev = qpci_device_find(bus, PCI_DEVFN(3, 0));
    QPCIBar bar;

    check_replies(qts, clock_script);
    g_assert_cmpint(qtest_clock_step(qts, 24), ==, 1024);
    g_assert_cmpint(qtest_clock_set(qts, 2000), ==, 2000);

    /* A device timer: clock_step without argument lands on its deadline. */
    g_assert_nonnull(dev);
    bar = qpci_iomap(dev, 0, NULL);
    qpci_device_enable(dev);
    qpci_io_writel(dev, bar, TESTDEV_REG_TIMER, 5000);
    g_assert_cmpuint(qpci_io_readl(dev, bar, TESTDEV_REG_TIMER_COUNT), ==, 0);
    check_reply(qts, "clock_step", "OK 7000");
    g_assert_cmpuint(qpci_io_readl(dev, bar, TESTDEV_REG_TIMER_COUNT), ==, 1);
    /* Stepping over a deadline fires it on the way. */
    qpci_io_writel(dev, bar, TESTDEV_REG_TIMER, 10);
    g_assert_cmpint(qtest_clock_step(qts, 1000), ==, 8000);
    g_assert_cmpuint(qpci_io_readl(dev, bar, TESTDEV_REG_TIMER_COUNT), ==, 2);
    qpci_io_writel(dev, bar, TESTDEV_REG_TIMER, 300);
    g_assert_cmpint(qtest_clock_set(qts, 8299), ==, 8299);
    g_assert_cmpuint(qpci_io_readl(dev, bar, TESTDEV_REG_TIMER_COUNT), ==, 2);
    g_assert_cmpint(qtest_clock_set(qts, 8300), ==, 8300);
    g_assert_cmpuint(qpci_io_readl(dev, bar, TESTDEV_REG_TIMER_COUNT), ==, 3);

    g_free(dev);
    qpci_free(bus);
    qtest_quit(qts);
}

/* Read one line as it arrives, IRQ notifications included, and check it is @expected. */
static void check_raw_line(QTestState *qts, const char *expected)
{
    g_autofree char *line = qtest_recv_line_raw(qts);

    g_assert_cmpstr(line, ==, expected);
}

static const Exchange irq_intercept_in_script[] = {
    { "irq_intercept_in nosuch", "FAIL Unknown device" },
    { "irq_intercept_in ioapic name", "FAIL Interception of named in-GPIOs not yet supported" },
    { "irq_intercept_in ioapic", "OK" },
    { "irq_intercept_in ioapic", "OK" },
    { "irq_intercept_in /machine/ioapic", "OK" },
    { "irq_intercept_in q35", "FAIL IRQ intercept already enabled" },
    { NULL }
};

static void test_irq_intercept_in(void)
{
    QTestState *qts = qtest_init(MACHINE_ARGS);

    check_replies(qts, irq_intercept_in_script);

    /* The notification comes before the reply, once per change of level. */
    qtest_sendf(qts, "set_irq_in ioapic unnamed-gpio-in 5 1\n");
    check_raw_line(qts, "IRQ raise 5");
    check_raw_line(qts, "OK");
    check_reply(qts, "set_irq_in ioapic unnamed-gpio-in 5 1", "OK");
    g_assert_true(qtest_get_irq(qts, 5));
    qtest_set_irq_in(qts, "ioapic", NULL, 5, 0);
    g_assert_false(qtest_get_irq(qts, 5));
    qtest_quit(qts);
}

static void test_irq_intercept_out(void)
{
    QTestState *qts = qtest_init(MACHINE_ARGS);
    QPCIBus *bus = qpci_new_conf1(qts);
    QPCIDevice *dev = qpci_device_find(bus, PCI_DEVFN(3, 0));
    QPCIBar bar = qpci_iomap(dev, 0, NULL);

    qpci_device_enable(dev);
    check_reply(qts, "irq_intercept_out q35", "OK");
    /* Slot 3 INTA drives PIRQ (3 + 0) % 4 + 4 = 7: the host bridge's output 7. */
    qpci_io_writel(dev, bar, TESTDEV_REG_IRQ_RAISE, 0);
    g_assert_true(qtest_get_irq(qts, 7));
    qpci_io_writel(dev, bar, TESTDEV_REG_IRQ_ACK, 0);
    g_assert_false(qtest_get_irq(qts, 7));
    g_free(dev);
    qpci_free(bus);
    qtest_quit(qts);
}

/* "[I 0.000001] OPENED", "[R +0.000123] cmd", "[S +0.000125] reply". */
static bool log_line_matches(const char *line, const char *tag, const char *rest)
{
    g_autofree char *pattern = g_strdup_printf("^\\[%s[0-9]+\\.[0-9]{6}\\] %s$", tag, rest);

    return g_regex_match_simple(pattern, line, 0, 0);
}

/* The log records each exchange as a received line and then the line sent back. */
static void check_logged(char **lines, const Exchange *ex)
{
    g_assert_true(log_line_matches(lines[0], "R \\+", ex->cmd));
    g_assert_true(log_line_matches(lines[1], "S \\+", ex->reply));
}

/* libqtest asks the endianness itself before the test's first command. */
static const Exchange endianness_probe = { "endianness", "OK little" };

static const Exchange log_script[] = {
    { "endianness", "OK little" },
    { "readb 0x0", "OK 0x0000000000000000" },
    { "nope", "FAIL Unknown command 'nope'" },
    { NULL }
};

static void test_log_format(void)
{
    g_autofree char *dir = g_dir_make_tmp("qtest-log-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "qtest.log", NULL);
    g_autofree char *args = g_strdup_printf("%s -qtest-log %s", MACHINE_ARGS, path);
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    QTestState *qts = qtest_init(args);

    check_replies(qts, log_script);
    qtest_quit(qts);

    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    lines = g_strsplit(contents, "\n", 0);
    /* OPENED, the probe's two lines, then two per exchange of the script. */
    g_assert_cmpuint(g_strv_length(lines), >=, 3 + 2 * (G_N_ELEMENTS(log_script) - 1));
    g_assert_true(log_line_matches(lines[0], "I ", "OPENED"));
    check_logged(&lines[1], &endianness_probe);
    for (size_t i = 0; log_script[i].cmd; i++) {
        check_logged(&lines[3 + 2 * i], &log_script[i]);
    }
    g_unlink(path);
    g_rmdir(dir);
}

static void test_stdio(void)
{
    QTestState *qts = qtest_init_stdio("-machine q35 -m 32M");

    check_reply(qts, "endianness", "OK little");
    qtest_writel(qts, 0x100, 0xcafe);
    g_assert_cmphex(qtest_readl(qts, 0x100), ==, 0xcafe);
    g_assert_cmpint(qtest_clock_step(qts, 10), ==, 10);
    qtest_quit(qts);
}

/* Lines may arrive in pieces or several per packet; replies come in order. */
static void test_split_and_batched_input(void)
{
    static const char *const pieces[] = { "rea", "db 0x10", "00\nreadb 0x1001\nreadb 0x1002\n" };
    QTestState *qts = qtest_init(MACHINE_ARGS);
    char *line;

    qtest_writel(qts, 0x1000, 0x04030201);
    for (size_t i = 0; i < G_N_ELEMENTS(pieces); i++) {
        qtest_send_raw(qts, pieces[i], strlen(pieces[i]));
        g_usleep(20 * 1000);
    }
    for (int i = 1; i <= 3; i++) {
        g_autofree char *expected = g_strdup_printf("OK 0x%016x", i);

        line = qtest_recv_line(qts);
        g_assert_cmpstr(line, ==, expected);
        g_free(line);
    }
    qtest_quit(qts);
}

/* libqtest helpers on top of the raw commands. */
static void test_client_helpers(void)
{
    QTestState *qts = qtest_init(MACHINE_ARGS);
    uint8_t out[300], in[300];

    for (size_t i = 0; i < sizeof(out); i++) {
        out[i] = i * 7 + 3;
    }
    qtest_memwrite(qts, 0x5000, out, sizeof(out));
    memset(in, 0, sizeof(in));
    qtest_memread(qts, 0x5000, in, sizeof(in));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    qtest_bufwrite(qts, 0x6000, out, sizeof(out));
    memset(in, 0, sizeof(in));
    qtest_bufread(qts, 0x6000, in, sizeof(in));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    qtest_memset(qts, 0x6000, 0xee, 4);
    g_assert_cmphex(qtest_readl(qts, 0x6000), ==, 0xeeeeeeee);
    qtest_writew(qts, 0x6000, 0x1234);
    g_assert_cmphex(qtest_readw(qts, 0x6000), ==, 0x1234);
    qtest_writeb(qts, 0x6000, 0x56);
    g_assert_cmphex(qtest_readb(qts, 0x6000), ==, 0x56);
    qtest_writeq(qts, 0x6008, 0x0123456789abcdefULL);
    g_assert_cmphex(qtest_readq(qts, 0x6008), ==, 0x0123456789abcdefULL);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/qtest/protocol/endianness", test_endianness);
    qtest_add_data_func("/qtest/protocol/memory-widths", memory_widths_script, test_script);
    qtest_add_data_func("/qtest/protocol/port-widths", port_widths_script, test_script);
    qtest_add_data_func("/qtest/protocol/read-write-hex", read_write_hex_script, test_script);
    qtest_add_data_func("/qtest/protocol/base64", base64_script, test_script);
    qtest_add_data_func("/qtest/protocol/memset", memset_script, test_script);
    qtest_add_data_func("/qtest/protocol/unknown-command", unknown_command_script, test_script);
    qtest_add_func("/qtest/protocol/malformed-lines-fail", test_malformed_lines);
    qtest_add_func("/qtest/protocol/clock", test_clock);
    qtest_add_func("/qtest/protocol/irq-intercept-in", test_irq_intercept_in);
    qtest_add_func("/qtest/protocol/irq-intercept-out", test_irq_intercept_out);
    qtest_add_func("/qtest/protocol/log-format", test_log_format);
    qtest_add_func("/qtest/protocol/stdio", test_stdio);
    qtest_add_func("/qtest/protocol/split-and-batched-input", test_split_and_batched_input);
    qtest_add_func("/qtest/libqtest/helpers", test_client_helpers);
    return g_test_run();
}
