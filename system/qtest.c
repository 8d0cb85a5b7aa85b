/*
 * The qtest server: QEMU's qtest line protocol on a chardev.
 *
 * One command per line, words separated by single spaces; every command gets
 * exactly one reply line, and interrupt notifications ("IRQ raise N",
 * "IRQ lower N") may come before any reply.  The reply formats are QEMU's
 * (system/qtest.c), byte for byte:
 *
 *   outb|outw|outl ADDR VALUE     OK
 *   inb|inw|inl ADDR              OK 0x%04x            (value as a 32-bit int)
 *   writeb|w|l|q ADDR VALUE       OK
 *   readb|w|l|q ADDR              OK 0x%016llx
 *   read ADDR SIZE                OK 0x<2*SIZE lowercase hex digits>
 *   write ADDR SIZE 0xDATA        OK   (DATA shorter than SIZE: zero-filled;
 *                                       DATA under 3 chars: "ERR invalid argument size")
 *   b64read ADDR SIZE             OK <base64>
 *   b64write ADDR SIZE B64DATA    OK   (B64DATA under 3 chars: "ERR invalid argument size")
 *   memset ADDR SIZE VALUE        OK
 *   endianness                    OK little
 *   clock_step [NS]               OK <new clock> | FAIL could not advance time |
 *                                 FAIL cannot advance clock to the next deadline because
 *                                 there is no pending deadline
 *   clock_set NS                  OK <NS> | FAIL <current clock>
 *   irq_intercept_in|out PATH [NAME]   OK | FAIL Unknown device |
 *                                 FAIL IRQ intercept already enabled | FAIL No intercepts
 *                                 installed | FAIL Interception of named in-GPIOs not yet
 *                                 supported
 *   set_irq_in PATH NAME NUM LEVEL     OK | FAIL Unknown device
 *   anything else                 FAIL Unknown command 'WORD'
 * Numbers are C integers of any base (strtoull with base 0).  The clock is
 * QEMU_CLOCK_VIRTUAL counted from the server's start, so that it starts at 0
 * as QEMU's qtest clock does.
 *
 * Where QEMU asserts (missing or malformed arguments, a zero-length read,
 * an I/O port above 0xffff), Aperture answers "FAIL <command>: <problem>"
 * and carries on: the protocol is outside input.  Transfers are limited to
 * QTEST_MAX_TRANSFER bytes for the same reason.
 *
 * The log (-qtest-log FILE; stderr when not given, nothing for "none" or
 * /dev/null) has QEMU's format: "[I 0.000000] OPENED", "[R +T] command
 * words", "[S +T] reply", "[I +T] CLOSED", T in seconds since the client
 * connected.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "exec/address-spaces.h"
#include "chardev/char.h"
#include "hw/qdev-core.h"
#include "hw/irq.h"
#include "sysemu/qtest.h"
#include "trace/trace-accel_qtest.h"

/* Interrupt lines whose level the server tracks (QEMU's MAX_IRQ). */
#define QTEST_MAX_IRQ 256
/* Largest read/write/memset/b64 transfer accepted (a guard against huge allocations). */
#define QTEST_MAX_TRANSFER (64 * MiB)

#define FMT_timeval "%.06f"

/* An intercepted output line: forwards to the original wire and reports. */
typedef struct QTestOutIntercept {
    qemu_irq original;      /* the wire the device drove before (may be NULL) */
    qemu_irq icpt;          /* ours, installed in the device's output slot */
} QTestOutIntercept;

typedef struct QTestServer {
    bool initialized;
    /* The chardev front end (not used in-process). */
    CharBackend be;
    /* In-process replies (fuzzing); NULL: the chardev. */
    void (*inproc_send)(void *opaque, const char *str);
    void *inproc_opaque;
    /* Bytes received and not yet a whole line. */
    GString *inbuf;
    /* The log, or NULL; log_owned when we opened it. */
    FILE *log_fp;
    bool log_owned;
    /* Time since the client connected (log timestamps); NULL while closed. */
    GTimer *timer;
    bool opened;
    /* Last level reported per intercepted line. */
    int irq_levels[QTEST_MAX_IRQ];
    /* The device whose lines are intercepted, or NULL. */
    DeviceState *irq_intercept_dev;
    /* QTestOutIntercept *: freed at exit. */
    GPtrArray *out_intercepts;
    /*
     * QEMU_CLOCK_VIRTUAL when the server started.  QEMU's qtest clock
     * starts at 0 with the machine; Aperture's virtual clock has run for a
     * few microseconds by the time vl.c makes it manual, so the protocol
     * shows (and sets) it relative to this origin.
     */
    int64_t clock_origin;
} QTestServer;

static QTestServer qts;

static double qtest_elapsed(void)
{
    return qts.timer ? g_timer_elapsed(qts.timer, NULL) : 0.0;
}

/* ------------------------------------------------------------------------ */
/* Sending and logging */

static void qtest_send(const char *str)
{
    if (qts.log_fp && qts.opened) {
        fprintf(qts.log_fp, "[S +" FMT_timeval "] %s", qtest_elapsed(), str);
    }
    if (qts.inproc_send) {
        qts.inproc_send(qts.inproc_opaque, str);
    } else {
        qemu_chr_fe_write_all(&qts.be, (const uint8_t *)str, strlen(str));
    }
}

static void G_GNUC_PRINTF(1, 2) qtest_sendf(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *buf = NULL;

    va_start(ap, fmt);
    buf = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send(buf);
}

/* A free-text line in the log (not sent). */
static void G_GNUC_PRINTF(1, 2) qtest_log_note(const char *fmt, ...)
{
    va_list ap;

    if (!qts.log_fp || !qts.opened) {
        return;
    }
    fprintf(qts.log_fp, "[S +" FMT_timeval "] ", qtest_elapsed());
    va_start(ap, fmt);
    vfprintf(qts.log_fp, fmt, ap);
    va_end(ap);
}

static void qtest_log_command(gchar **words)
{
    if (!qts.log_fp) {
        return;
    }
    fprintf(qts.log_fp, "[R +" FMT_timeval "]", qtest_elapsed());
    for (int i = 0; words[i]; i++) {
        fprintf(qts.log_fp, " %s", words[i]);
    }
    fprintf(qts.log_fp, "\n");
}

/* ------------------------------------------------------------------------ */
/* Interrupt interception */

static void qtest_report_irq(int n, int level)
{
    if (n < 0 || n >= QTEST_MAX_IRQ) {
        qtest_sendf("IRQ %s %d\n", level ? "raise" : "lower", n);
        return;
    }
    if (qts.irq_levels[n] != level) {
        qts.irq_levels[n] = level;
        qtest_sendf("IRQ %s %d\n", level ? "raise" : "lower", n);
    }
}

static void qtest_irq_in_handler(void *opaque, int n, int level)
{
    trace_qtest_irq(n, level);
    qtest_report_irq(n, level);
}

static void qtest_irq_out_handler(void *opaque, int n, int level)
{
    QTestOutIntercept *oi = opaque;

    qemu_set_irq(oi->original, level);
    trace_qtest_irq(n, level);
    qtest_report_irq(n, level);
}

static bool qtest_intercept_out(DeviceState *dev, const char *name)
{
    bool found = false;

    for (GSList *l = dev->gpios; l; l = l->next) {
        NamedGPIOList *ngl = l->data;

        if (g_strcmp0(ngl->name, name) != 0) {
            continue;
        }
        for (int i = 0; i < ngl->num_out; i++) {
            QTestOutIntercept *oi = g_new0(QTestOutIntercept, 1);

            oi->original = *ngl->out[i];
            oi->icpt = qemu_allocate_irq(qtest_irq_out_handler, oi, i);
            *ngl->out[i] = oi->icpt;
            g_ptr_array_add(qts.out_intercepts, oi);
        }
        found = true;
    }
    return found;
}

static bool qtest_intercept_in(DeviceState *dev)
{
    bool found = false;

    for (GSList *l = dev->gpios; l; l = l->next) {
        NamedGPIOList *ngl = l->data;

        if (ngl->num_in) {
            qemu_irq_intercept_in(ngl->in, qtest_irq_in_handler, NULL, ngl->num_in);
            found = true;
        }
    }
    return found;
}

static void qtest_cmd_irq_intercept(gchar **words)
{
    bool is_out = words[0][14] == 'o';
    DeviceState *dev;
    bool ok;

    if (!words[1]) {
        qtest_sendf("FAIL %s: missing device path\n", words[0]);
        return;
    }
    dev = qdev_resolve_path(words[1], NULL);
    if (!dev) {
        qtest_send("FAIL Unknown device\n");
        return;
    }
    if (words[2] && !is_out) {
        qtest_send("FAIL Interception of named in-GPIOs not yet supported\n");
        return;
    }
    if (qts.irq_intercept_dev) {
        qtest_send(qts.irq_intercept_dev != dev ? "FAIL IRQ intercept already enabled\n"
                                                 : "OK\n");
        return;
    }
    ok = is_out ? qtest_intercept_out(dev, words[2]) : qtest_intercept_in(dev);
    if (!ok) {
        qtest_send("FAIL No intercepts installed\n");
        return;
    }
    qts.irq_intercept_dev = dev;
    qtest_send("OK\n");
}

/* ------------------------------------------------------------------------ */
/* Argument parsing */

/* Parse a whole word as an unsigned number, base 0 (strtoull's; "-1" wraps). */
static bool qtest_parse_u64(const char *word, uint64_t *out)
{
    char *end;

    if (!word || !*word) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(word, &end, 0);
    return !errno && end != word && !*end;
}

static bool qtest_parse_i64(const char *word, int64_t *out)
{
    char *end;

    if (!word || !*word) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoll(word, &end, 0);
    return !errno && end != word && !*end;
}

/* Parse @nwords arguments after the command as u64s; reply FAIL and return false if not. */
static bool qtest_args_u64(gchar **words, int nwords, uint64_t *vals)
{
    static const char *const what[] = { "address", "size or value", "value" };

    for (int i = 0; i < nwords; i++) {
        if (!words[i + 1]) {
            qtest_sendf("FAIL %s: missing %s\n", words[0], what[MIN(i, 2)]);
            return false;
        }
        if (!qtest_parse_u64(words[i + 1], &vals[i])) {
            qtest_sendf("FAIL %s: invalid number '%s'\n", words[0], words[i + 1]);
            return false;
        }
    }
    return true;
}

static bool qtest_check_len(gchar **words, uint64_t len)
{
    if (len > QTEST_MAX_TRANSFER) {
        qtest_sendf("FAIL %s: size 0x%" PRIx64 " above the limit 0x%llx\n", words[0], len,
                    (unsigned long long)QTEST_MAX_TRANSFER);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Commands */

static void qtest_cmd_out(gchar **words)
{
    uint64_t v[2];
    unsigned size = words[0][3] == 'b' ? 1 : words[0][3] == 'w' ? 2 : 4;
    uint8_t buf[4];

    if (!qtest_args_u64(words, 2, v)) {
        return;
    }
    if (v[0] > 0xffff) {
        qtest_sendf("FAIL %s: port 0x%" PRIx64 " above 0xffff\n", words[0], v[0]);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        buf[i] = v[1] >> (8 * i);
    }
    address_space_write(&address_space_io, v[0], MEMTXATTRS_UNSPECIFIED, buf, size);
    qtest_send("OK\n");
}

static void qtest_cmd_in(gchar **words)
{
    uint64_t addr;
    unsigned size = words[0][2] == 'b' ? 1 : words[0][2] == 'w' ? 2 : 4;
    uint8_t buf[4] = { 0 };
    uint32_t value = 0;

    if (!qtest_args_u64(words, 1, &addr)) {
        return;
    }
    if (addr > 0xffff) {
        qtest_sendf("FAIL %s: port 0x%" PRIx64 " above 0xffff\n", words[0], addr);
        return;
    }
    address_space_read(&address_space_io, addr, MEMTXATTRS_UNSPECIFIED, buf, size);
    for (unsigned i = 0; i < size; i++) {
        value |= (uint32_t)buf[i] << (8 * i);
    }
    qtest_sendf("OK 0x%04x\n", value);
}

static unsigned qtest_width(char c)
{
    return c == 'b' ? 1 : c == 'w' ? 2 : c == 'l' ? 4 : 8;
}

static void qtest_cmd_write_n(gchar **words)
{
    uint64_t v[2];
    unsigned size = qtest_width(words[0][5]);
    uint8_t buf[8];

    if (!qtest_args_u64(words, 2, v)) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        buf[i] = v[1] >> (8 * i);
    }
    address_space_write(&address_space_memory, v[0], MEMTXATTRS_UNSPECIFIED, buf, size);
    qtest_send("OK\n");
}

static void qtest_cmd_read_n(gchar **words)
{
    uint64_t addr;
    unsigned size = qtest_width(words[0][4]);
    uint8_t buf[8] = { 0 };
    uint64_t value = 0;

    if (!qtest_args_u64(words, 1, &addr)) {
        return;
    }
    address_space_read(&address_space_memory, addr, MEMTXATTRS_UNSPECIFIED, buf, size);
    for (unsigned i = 0; i < size; i++) {
        value |= (uint64_t)buf[i] << (8 * i);
    }
    qtest_sendf("OK 0x%016" PRIx64 "\n", value);
}

static void qtest_cmd_read(gchar **words)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v[2];
    g_autofree uint8_t *data = NULL;
    g_autofree char *enc = NULL;

    if (!qtest_args_u64(words, 2, v) || !qtest_check_len(words, v[1])) {
        return;
    }
    if (v[1] == 0) {
        /* QEMU asserts here: an empty reply would confuse clients. */
        qtest_send("FAIL read: size must not be 0\n");
        return;
    }
    data = g_malloc(v[1]);
    address_space_read(&address_space_memory, v[0], MEMTXATTRS_UNSPECIFIED, data, v[1]);
    enc = g_malloc(2 * v[1] + 1);
    for (uint64_t i = 0; i < v[1]; i++) {
        enc[2 * i] = hex[data[i] >> 4];
        enc[2 * i + 1] = hex[data[i] & 0xf];
    }
    enc[2 * v[1]] = '\0';
    qtest_sendf("OK 0x%s\n", enc);
}

/* QEMU's nibble decoder: -1 for a non-hex character (kept, for identical bytes). */
static int qtest_hex2nib(char ch)
{
    return g_ascii_xdigit_value(ch);
}

static void qtest_cmd_write(gchar **words)
{
    uint64_t v[2];
    g_autofree uint8_t *data = NULL;
    size_t data_len;

    if (!qtest_args_u64(words, 2, v) || !qtest_check_len(words, v[1])) {
        return;
    }
    if (!words[3]) {
        qtest_send("FAIL write: missing data\n");
        return;
    }
    data_len = strlen(words[3]);
    if (data_len < 3) {
        qtest_send("ERR invalid argument size\n");
        return;
    }
    data = g_malloc(v[1] ? v[1] : 1);
    for (uint64_t i = 0; i < v[1]; i++) {
        if (i * 2 + 4 <= data_len) {
            /* Same bytes as QEMU for bad digits: (-1 << 4) | -1 is 0xff. */
            unsigned hi = (unsigned)qtest_hex2nib(words[3][i * 2 + 2]);
            unsigned lo = (unsigned)qtest_hex2nib(words[3][i * 2 + 3]);

            data[i] = ((hi << 4) | lo) & 0xff;
        } else {
            data[i] = 0;
        }
    }
    address_space_write(&address_space_memory, v[0], MEMTXATTRS_UNSPECIFIED, data, v[1]);
    qtest_send("OK\n");
}

static void qtest_cmd_b64read(gchar **words)
{
    uint64_t v[2];
    g_autofree uint8_t *data = NULL;
    g_autofree char *b64 = NULL;

    if (!qtest_args_u64(words, 2, v) || !qtest_check_len(words, v[1])) {
        return;
    }
    data = g_malloc(v[1] ? v[1] : 1);
    address_space_read(&address_space_memory, v[0], MEMTXATTRS_UNSPECIFIED, data, v[1]);
    b64 = g_base64_encode(data, v[1]);
    qtest_sendf("OK %s\n", b64);
}

static void qtest_cmd_b64write(gchar **words)
{
    uint64_t v[2];
    gsize out_len;
    guchar *data;

    if (!qtest_args_u64(words, 2, v) || !qtest_check_len(words, v[1])) {
        return;
    }
    if (!words[3]) {
        qtest_send("FAIL b64write: missing data\n");
        return;
    }
    if (strlen(words[3]) < 3) {
        qtest_send("ERR invalid argument size\n");
        return;
    }
    data = g_base64_decode_inplace(words[3], &out_len);
    if (out_len != v[1]) {
        qtest_log_note("b64write: data length mismatch (told %" PRIu64 ", found %zu)\n", v[1],
                       (size_t)out_len);
        out_len = MIN(out_len, v[1]);
    }
    /* Truncated to what was decoded (QEMU would read past it). */
    address_space_write(&address_space_memory, v[0], MEMTXATTRS_UNSPECIFIED, data, out_len);
    qtest_send("OK\n");
}

static void qtest_cmd_memset(gchar **words)
{
    uint64_t v[3];

    if (!qtest_args_u64(words, 3, v) || !qtest_check_len(words, v[1])) {
        return;
    }
    if (v[1]) {
        address_space_set(&address_space_memory, v[0], (uint8_t)v[2], v[1],
                          MEMTXATTRS_UNSPECIFIED);
    }
    qtest_send("OK\n");
}

/* The clock as the client sees it. */
static int64_t qtest_clock_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - qts.clock_origin;
}

static void qtest_cmd_clock_step(gchar **words)
{
    int64_t old_ns = qtest_clock_now();
    int64_t ns, new_ns;

    if (words[1]) {
        if (!qtest_parse_i64(words[1], &ns)) {
            qtest_sendf("FAIL clock_step: invalid number '%s'\n", words[1]);
            return;
        }
    } else {
        ns = qemu_clock_deadline_ns(QEMU_CLOCK_VIRTUAL);
        if (ns < 0) {
            qtest_send("FAIL cannot advance clock to the next deadline because there is no "
                       "pending deadline\n");
            return;
        }
    }
    new_ns = ns >= 0 ? qemu_clock_step(QEMU_CLOCK_VIRTUAL, ns) : -EINVAL;
    if (new_ns >= 0) {
        new_ns -= qts.clock_origin;
    }
    if (new_ns > old_ns) {
        qtest_sendf("OK %" PRIi64 "\n", new_ns);
    } else {
        qtest_send("FAIL could not advance time\n");
    }
}

static void qtest_cmd_clock_set(gchar **words)
{
    int64_t ns, new_ns;

    if (!words[1]) {
        qtest_send("FAIL clock_set: missing value\n");
        return;
    }
    if (!qtest_parse_i64(words[1], &ns)) {
        qtest_sendf("FAIL clock_set: invalid number '%s'\n", words[1]);
        return;
    }
    new_ns = -EINVAL;
    if (ns >= 0 && ns <= INT64_MAX - qts.clock_origin) {
        new_ns = qemu_clock_set_ns(QEMU_CLOCK_VIRTUAL, ns + qts.clock_origin);
    }
    if (new_ns < 0) {
        /* Backwards (or not manual): the clock stays where it is, as in QEMU. */
        new_ns = qtest_clock_now();
    } else {
        new_ns -= qts.clock_origin;
    }
    qtest_sendf("%s %" PRIi64 "\n", new_ns == ns ? "OK" : "FAIL", new_ns);
}

static void qtest_cmd_set_irq_in(gchar **words)
{
    DeviceState *dev;
    NamedGPIOList *ngl;
    const char *name;
    int64_t num, level;

    if (!words[1] || !words[2] || !words[3] || !words[4]) {
        qtest_send("FAIL set_irq_in: expected PATH NAME NUM LEVEL\n");
        return;
    }
    dev = qdev_resolve_path(words[1], NULL);
    if (!dev) {
        qtest_send("FAIL Unknown device\n");
        return;
    }
    if (!qtest_parse_i64(words[3], &num) || !qtest_parse_i64(words[4], &level) ||
        level < INT_MIN || level > INT_MAX) {
        qtest_send("FAIL set_irq_in: invalid number\n");
        return;
    }
    name = strcmp(words[2], "unnamed-gpio-in") == 0 ? NULL : words[2];
    ngl = qdev_get_named_gpio_list(dev, name);
    if (!ngl || num < 0 || num >= ngl->num_in) {
        qtest_sendf("FAIL set_irq_in: no input line %s[%" PRIi64 "]\n", words[2], num);
        return;
    }
    qemu_set_irq(ngl->in[num], level);
    qtest_send("OK\n");
}

static void qtest_process_command(gchar **words)
{
    const char *cmd = words[0];

    qtest_log_command(words);
    if (!cmd) {
        qtest_send("FAIL Unknown command ''\n");
        return;
    }
    trace_qtest_command(cmd);
    if (!strcmp(cmd, "irq_intercept_out") || !strcmp(cmd, "irq_intercept_in")) {
        qtest_cmd_irq_intercept(words);
    } else if (!strcmp(cmd, "set_irq_in")) {
        qtest_cmd_set_irq_in(words);
    } else if (!strcmp(cmd, "outb") || !strcmp(cmd, "outw") || !strcmp(cmd, "outl")) {
        qtest_cmd_out(words);
    } else if (!strcmp(cmd, "inb") || !strcmp(cmd, "inw") || !strcmp(cmd, "inl")) {
        qtest_cmd_in(words);
    } else if (!strcmp(cmd, "writeb") || !strcmp(cmd, "writew") || !strcmp(cmd, "writel") ||
               !strcmp(cmd, "writeq")) {
        qtest_cmd_write_n(words);
    } else if (!strcmp(cmd, "readb") || !strcmp(cmd, "readw") || !strcmp(cmd, "readl") ||
               !strcmp(cmd, "readq")) {
        qtest_cmd_read_n(words);
    } else if (!strcmp(cmd, "read")) {
        qtest_cmd_read(words);
    } else if (!strcmp(cmd, "b64read")) {
        qtest_cmd_b64read(words);
    } else if (!strcmp(cmd, "write")) {
        qtest_cmd_write(words);
    } else if (!strcmp(cmd, "memset")) {
        qtest_cmd_memset(words);
    } else if (!strcmp(cmd, "b64write")) {
        qtest_cmd_b64write(words);
    } else if (!strcmp(cmd, "endianness")) {
        qtest_send("OK little\n");
    } else if (qtest_enabled() && !strcmp(cmd, "clock_step")) {
        qtest_cmd_clock_step(words);
    } else if (qtest_enabled() && !strcmp(cmd, "clock_set")) {
        qtest_cmd_clock_set(words);
    } else if (!strcmp(cmd, "module_load") && words[1] && words[2]) {
        /* Aperture has no loadable modules (QEMU without modules says the same). */
        qtest_send("FAIL\n");
    } else {
        qtest_sendf("FAIL Unknown command '%s'\n", cmd);
    }
}

/* Run every complete line of @buf, removing them from it. */
static void qtest_process_inbuf(GString *buf)
{
    char *end;

    while ((end = memchr(buf->str, '\n', buf->len)) != NULL) {
        size_t len = end - buf->str;
        g_autofree char *line = g_strndup(buf->str, len);
        g_auto(GStrv) words = g_strsplit(line, " ", 0);

        g_string_erase(buf, 0, len + 1);
        qtest_process_command(words);
    }
}

/* ------------------------------------------------------------------------ */
/* Chardev front end */

static int qtest_can_read(void *opaque)
{
    return 1024;
}

static void qtest_read(void *opaque, const uint8_t *buf, int size)
{
    g_string_append_len(qts.inbuf, (const char *)buf, size);
    qtest_process_inbuf(qts.inbuf);
}

static void qtest_event(void *opaque, QEMUChrEvent event)
{
    switch (event) {
    case CHR_EVENT_OPENED:
        memset(qts.irq_levels, 0, sizeof(qts.irq_levels));
        g_clear_pointer(&qts.timer, g_timer_destroy);
        qts.timer = g_timer_new();
        qts.opened = true;
        if (qts.log_fp) {
            fprintf(qts.log_fp, "[I " FMT_timeval "] OPENED\n", qtest_elapsed());
        }
        trace_qtest_event("opened");
        break;
    case CHR_EVENT_CLOSED:
        qts.opened = false;
        if (qts.log_fp) {
            fprintf(qts.log_fp, "[I +" FMT_timeval "] CLOSED\n", qtest_elapsed());
        }
        g_clear_pointer(&qts.timer, g_timer_destroy);
        g_string_truncate(qts.inbuf, 0);
        trace_qtest_event("closed");
        break;
    default:
        break;
    }
}

static void qtest_server_cleanup(void)
{
    if (qts.be.chr) {
        qemu_chr_fe_deinit(&qts.be, false);
    }
    if (qts.log_fp && qts.log_owned) {
        fclose(qts.log_fp);
    }
    qts.log_fp = NULL;
    g_clear_pointer(&qts.timer, g_timer_destroy);
    if (qts.inbuf) {
        g_string_free(qts.inbuf, true);
        qts.inbuf = NULL;
    }
    if (qts.out_intercepts) {
        /* The devices are gone by now: free the lines without unhooking them. */
        for (guint i = 0; i < qts.out_intercepts->len; i++) {
            QTestOutIntercept *oi = g_ptr_array_index(qts.out_intercepts, i);

            qemu_free_irq(oi->icpt);
            g_free(oi);
        }
        g_ptr_array_free(qts.out_intercepts, true);
        qts.out_intercepts = NULL;
    }
    qts.initialized = false;
}

/* Open the log: NULL means stderr (QEMU's default), "none" and /dev/null nothing. */
static bool qtest_open_log(const char *log_path, Error **errp)
{
    if (!log_path) {
        qts.log_fp = stderr;
        return true;
    }
    if (!strcmp(log_path, "none") || !strcmp(log_path, "/dev/null")) {
        return true;
    }
    qts.log_fp = fopen(log_path, "w+");
    if (!qts.log_fp) {
        error_setg_errno(errp, errno, "cannot open qtest log '%s'", log_path);
        return false;
    }
    qts.log_owned = true;
    /* Line-buffered, so a test (or a person) can follow it while it runs. */
    setvbuf(qts.log_fp, NULL, _IOLBF, 0);
    return true;
}

static void qtest_server_state_init(void)
{
    qts.clock_origin = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    qts.inbuf = g_string_new(NULL);
    qts.out_intercepts = g_ptr_array_new();
    qts.initialized = true;
    atexit(qtest_server_cleanup);
}

void qtest_server_init(const char *chardev_spec, const char *log_path, Error **errp)
{
    ERRP_GUARD();
    Chardev *chr;

    if (qts.initialized) {
        error_setg(errp, "Only one instance of qtest can be created");
        return;
    }
    if (!chardev_spec || !*chardev_spec) {
        error_setg(errp, "No backend specified");
        return;
    }
    chr = qemu_chr_new("qtest", chardev_spec, errp);
    if (!chr) {
        error_prepend(errp, "Failed to initialize device for qtest: \"%s\": ", chardev_spec);
        return;
    }
    if (!qemu_chr_fe_init(&qts.be, chr, errp)) {
        qemu_chr_delete(chr);
        return;
    }
    if (!qtest_open_log(log_path, errp)) {
        qemu_chr_fe_deinit(&qts.be, true);
        return;
    }
    qtest_server_state_init();
    trace_qtest_server_init(chardev_spec, log_path ? log_path : "(stderr)");
    qemu_chr_fe_set_handlers(&qts.be, qtest_can_read, qtest_read, qtest_event, NULL, NULL,
                             NULL, true);
}

void qtest_server_inproc_init(void (*send)(void *opaque, const char *str), void *opaque)
{
    if (!qts.initialized) {
        qtest_server_state_init();
    }
    qts.inproc_send = send;
    qts.inproc_opaque = opaque;
    qts.opened = true;
}

void qtest_server_inproc_recv(const char *buf, size_t len)
{
    g_string_append_len(qts.inbuf, buf, len);
    qtest_process_inbuf(qts.inbuf);
}

void qtest_server_inproc_reset(void)
{
    memset(qts.irq_levels, 0, sizeof(qts.irq_levels));
    qts.irq_intercept_dev = NULL;
    if (qts.inbuf) {
        g_string_truncate(qts.inbuf, 0);
    }
}
