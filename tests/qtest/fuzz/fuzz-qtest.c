/*
 * fuzz-qtest: random qtest command sequences against an in-process q35
 * machine with PCI test devices -- config writes through conf1 and ECAM,
 * BAR and MSI-X table writes, port I/O, guest memory, the virtual clock,
 * interrupt interception, and raw text through the protocol parser.
 *
 * The machine is built once (q35, 64 MiB, aperture-testdev at 03.0, a
 * multifunction pair at 04.0/04.1); every input is decoded into protocol
 * lines fed to the in-process qtest server (qtest_server_inproc_recv), and
 * the machine is reset after it.  Every reply is checked to be a single
 * line starting with OK, FAIL, ERR or IRQ.
 *
 * Input: a stream of operations, one opcode byte each followed by its
 * arguments (missing bytes read as zero):
 *   0 ECAM write    devfn-sel, offset:2, size-sel, value:4
 *   1 conf1 write   devfn-sel, offset, port-off, size-sel, value:4
 *   2 config read   devfn-sel, offset:2, size-sel (ECAM) or conf1
 *   3 MMIO write    base-sel, offset:2, size-sel, value:8
 *   4 MMIO read     base-sel, offset:2, size-sel
 *   5 port I/O      port:2, size-sel, dir, value:4
 *   6 clock         kind, ns:2
 *   7 raw line      len, then len bytes (newlines inside split lines)
 *   8 bulk memory   kind (write/b64write/memset/read/b64read), base-sel, offset:2, len
 *   9 interrupts    kind (intercept in/out, set_irq_in), line, level
 *  10 device bring-up: map BARs of a device at fixed addresses, enable it,
 *     MSI/MSI-X aimed at RAM (so later ops reach its registers)
 *
 * Build: as a libFuzzer target (clang -fsanitize=fuzzer, linked with
 * libapsystem: tests/fuzz's fuzz_system_targets), or with
 * -DFUZZ_QTEST_MAIN as a program that runs N random inputs from a seed
 * (the qtest suite's smoke test: fuzz-qtest-smoke [N [SEED]]).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "exec/address-spaces.h"
#include "hw/boards.h"
#include "hw/qdev-properties.h"
#include "hw/pci/pci-testdev.h"
#include "sysemu/qtest.h"
#include "sysemu/runstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_RAM_SIZE   (64 * MiB)
#define FUZZ_ECAM       UINT64_C(0xb0000000)

static MemoryRegion fuzz_ram;
/* Replies of the current input; checked, then dropped. */
static GString *fuzz_replies;
/* Reply lines seen so far, by kind (the smoke test reports them). */
static unsigned long fuzz_nr_ok, fuzz_nr_fail, fuzz_nr_irq;

static void fuzz_abort_if(bool cond, const char *what, const char *detail)
{
    if (cond) {
        fprintf(stderr, "fuzz-qtest: %s: %s\n", what, detail);
        abort();
    }
}

static void fuzz_send(void *opaque, const char *str)
{
    g_string_append(fuzz_replies, str);
}

/* Every reply is one line of a known kind. */
static void fuzz_check_replies(void)
{
    g_auto(GStrv) lines = g_strsplit(fuzz_replies->str, "\n", 0);

    fuzz_abort_if(fuzz_replies->len && fuzz_replies->str[fuzz_replies->len - 1] != '\n',
                  "reply without a newline", fuzz_replies->str);
    for (int i = 0; lines[i] && lines[i + 1]; i++) {
        const char *l = lines[i];

        if (g_str_has_prefix(l, "OK")) {
            fuzz_nr_ok++;
        } else if (g_str_has_prefix(l, "FAIL") || g_str_has_prefix(l, "ERR")) {
            fuzz_nr_fail++;
        } else if (g_str_has_prefix(l, "IRQ ")) {
            fuzz_nr_irq++;
        } else {
            fuzz_abort_if(true, "unexpected reply", l);
        }
    }
    g_string_truncate(fuzz_replies, 0);
}

static void fuzz_machine_init(void)
{
    MachineClass *mc = machine_find_class("q35");
    MachineState *ms;
    Error *err = NULL;
    static const char *const devices[] = {
        "aperture-testdev,addr=3.0,id=a",
        "aperture-testdev,addr=4.0,multifunction=on,id=b,pin=2,msix-vectors=64",
        "aperture-testdev,addr=4.1,id=c,msi64=off,msi-mask=off,msix-vectors=0",
    };

    error_set_progname("fuzz-qtest");
    qemu_init_main_loop(&error_abort);
    if (!qtest_accel_init(&err)) {
        error_report_err(err);
        abort();
    }
    fuzz_abort_if(!mc, "set-up", "no q35 machine type linked in");
    ms = MACHINE(object_new(object_class_get_name(OBJECT_CLASS(mc))));
    current_machine = ms;
    ms->accel = g_strdup("qtest");
    if (!memory_region_init_ram(&fuzz_ram, NULL, "pc.ram", FUZZ_RAM_SIZE, &err)) {
        error_report_err(err);
        abort();
    }
    ms->ram = &fuzz_ram;
    ms->ram_size = ms->maxram_size = FUZZ_RAM_SIZE;
    if (!mc->init(ms, &err)) {
        error_report_err(err);
        abort();
    }
    for (size_t i = 0; i < G_N_ELEMENTS(devices); i++) {
        if (!qdev_device_add(devices[i], &err)) {
            error_report_err(err);
            abort();
        }
    }
    qemu_system_reset(SHUTDOWN_CAUSE_NONE);
    vm_start();
    fuzz_replies = g_string_new(NULL);
    qtest_server_inproc_init(fuzz_send, NULL);
}

/* ------------------------------------------------------------------------ */
/* Decoding */

typedef struct FuzzIn {
    const uint8_t *data;
    size_t size;
    size_t pos;
} FuzzIn;

static uint64_t in_bytes(FuzzIn *in, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)(in->pos < in->size ? in->data[in->pos++] : 0) << (8 * i);
    }
    return v;
}

static uint8_t in_u8(FuzzIn *in)
{
    return in_bytes(in, 1);
}

static void G_GNUC_PRINTF(1, 2) cmd(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *line = NULL;
    g_autofree char *full = NULL;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    full = g_strconcat(line, "\n", NULL);
    qtest_server_inproc_recv(full, strlen(full));
}

/* The functions worth hitting most, and sometimes any devfn. */
static int pick_devfn(uint8_t sel)
{
    static const int devfns[] = { 0x00, 0x18, 0x20, 0x21 };

    return sel < 224 ? devfns[sel % G_N_ELEMENTS(devfns)] : sel;
}

static const char *width_suffix(uint8_t sel)
{
    static const char *const w[] = { "b", "w", "l", "q" };

    return w[sel % 4];
}

/* Where BARs (op 10), RAM, ECAM and the IOAPIC live. */
static uint64_t pick_base(uint8_t sel)
{
    static const uint64_t bases[] = {
        0xd0000000ULL, 0xd0001000ULL, 0xd0002000ULL, 0xd0010000ULL, 0x200000000ULL,
        FUZZ_ECAM, 0x0, 0x10000, 0xfec00000ULL, 0xe0000000ULL,
    };

    return sel < 240 ? bases[sel % G_N_ELEMENTS(bases)] : (uint64_t)sel << 24;
}

/* Map and enable device @k's BARs and aim its interrupts at RAM at 0x10000. */
static void bring_up(int k)
{
    static const int devfns[] = { 0x18, 0x20, 0x21 };
    int devfn = devfns[k % 3];
    uint64_t cfg = FUZZ_ECAM + ((uint64_t)devfn << 12);

    cmd("writel 0x%" PRIx64 " 0x%x", cfg + 0x10, 0xd0000000u + k % 3 * 0x1000);
    cmd("writel 0x%" PRIx64 " 0x%x", cfg + 0x14, 0xc000u + k % 3 * 0x100);
    cmd("writel 0x%" PRIx64 " 0x0", cfg + 0x18);
    cmd("writel 0x%" PRIx64 " 0x2", cfg + 0x1c);
    cmd("writel 0x%" PRIx64 " 0x%x", cfg + 0x20, 0xd0010000u + k % 3 * 0x1000);
    cmd("writel 0x%" PRIx64 " 0x0", cfg + 0x24);
    cmd("writew 0x%" PRIx64 " 0x7", cfg + 0x4);
}

static void fuzz_op(FuzzIn *in)
{
    uint8_t op = in_u8(in) % 11;

    switch (op) {
    case 0: {
        int devfn = pick_devfn(in_u8(in));
        uint16_t off = in_bytes(in, 2) & 0x1fff;
        const char *w = width_suffix(in_u8(in));
        uint32_t v = in_bytes(in, 4);

        cmd("write%s 0x%" PRIx64 " 0x%x", w, FUZZ_ECAM + ((uint64_t)devfn << 12) + off, v);
        break;
    }
    case 1: {
        int devfn = pick_devfn(in_u8(in));
        uint8_t off = in_u8(in), port = in_u8(in) & 3, w = in_u8(in) % 3;
        uint32_t v = in_bytes(in, 4);

        cmd("outl 0xcf8 0x%x", 0x80000000u | devfn << 8 | (off & 0xfc));
        cmd("out%s 0x%x 0x%x", w == 0 ? "b" : w == 1 ? "w" : "l", 0xcfc + port, v);
        break;
    }
    case 2: {
        int devfn = pick_devfn(in_u8(in));
        uint16_t off = in_bytes(in, 2) & 0xfff;
        uint8_t w = in_u8(in);

        if (w & 0x80) {
            cmd("outl 0xcf8 0x%x", 0x80000000u | devfn << 8 | (off & 0xfc));
            cmd("in%s 0x%x", (w & 3) == 0 ? "b" : (w & 3) == 1 ? "w" : "l", 0xcfc + (off & 3));
        } else {
            cmd("read%s 0x%" PRIx64, width_suffix(w), FUZZ_ECAM + ((uint64_t)devfn << 12) + off);
        }
        break;
    }
    case 3: {
        uint64_t addr = pick_base(in_u8(in)) + in_bytes(in, 2);
        const char *w = width_suffix(in_u8(in));
        uint64_t v = in_bytes(in, 8);

        cmd("write%s 0x%" PRIx64 " 0x%" PRIx64, w, addr, v);
        break;
    }
    case 4: {
        uint64_t addr = pick_base(in_u8(in)) + in_bytes(in, 2);

        cmd("read%s 0x%" PRIx64, width_suffix(in_u8(in)), addr);
        break;
    }
    case 5: {
        uint16_t port = in_bytes(in, 2);
        uint8_t w = in_u8(in) % 3, dir = in_u8(in);
        uint32_t v = in_bytes(in, 4);
        const char *s = w == 0 ? "b" : w == 1 ? "w" : "l";

        /* Favour the conf1 ports and the BAR ports of op 10. */
        if (port & 0x8000) {
            port = (port & 1 ? 0xcf8 : 0xc000) + (port & 0x1ff);
        }
        if (dir & 1) {
            cmd("out%s 0x%x 0x%x", s, port, v);
        } else {
            cmd("in%s 0x%x", s, port);
        }
        break;
    }
    case 6: {
        uint8_t kind = in_u8(in);
        uint16_t ns = in_bytes(in, 2);

        if (kind % 3 == 0) {
            cmd("clock_step");
        } else if (kind % 3 == 1) {
            cmd("clock_step %u", ns);
        } else {
            /* Relative to now, so most sets move forward. */
            cmd("clock_set %" PRIi64, (int64_t)ns * 16);
        }
        break;
    }
    case 7: {
        uint8_t len = in_u8(in);
        g_autofree char *raw = g_malloc(len + 2);
        uint8_t i;

        for (i = 0; i < len && in->pos < in->size; i++) {
            raw[i] = in_u8(in);
        }
        raw[i++] = '\n';
        qtest_server_inproc_recv(raw, i);
        break;
    }
    case 8: {
        uint8_t kind = in_u8(in) % 5;
        uint64_t addr = pick_base(in_u8(in)) + in_bytes(in, 2);
        uint8_t len = in_u8(in);
        g_autofree char *hex = NULL;

        switch (kind) {
        case 0:
            hex = g_strnfill(len * 2 + 1, 'a' + len % 6);
            cmd("write 0x%" PRIx64 " 0x%x 0x%s", addr, len, hex);
            break;
        case 1:
            cmd("b64write 0x%" PRIx64 " 0x%x 3q2+7w==", addr, len);
            break;
        case 2:
            cmd("memset 0x%" PRIx64 " 0x%x 0x%x", addr, len, len);
            break;
        case 3:
            cmd("read 0x%" PRIx64 " 0x%x", addr, len);
            break;
        default:
            cmd("b64read 0x%" PRIx64 " 0x%x", addr, len);
            break;
        }
        break;
    }
    case 9: {
        uint8_t kind = in_u8(in) % 3, line = in_u8(in), level = in_u8(in);

        if (kind == 0) {
            cmd("irq_intercept_in ioapic");
        } else if (kind == 1) {
            cmd("irq_intercept_out q35");
        } else {
            cmd("set_irq_in ioapic unnamed-gpio-in %d %d", line % 30, level % 3);
        }
        break;
    }
    default:
        bring_up(in_u8(in));
        break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_machine_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzIn in = { .data = data, .size = size };
    static bool initialized;

    if (!initialized) {
        /* libFuzzer calls LLVMFuzzerInitialize; other drivers may not. */
        if (!fuzz_replies) {
            fuzz_machine_init();
        }
        initialized = true;
    }
    while (in.pos < in.size) {
        fuzz_op(&in);
        fuzz_check_replies();
    }
    /* Each input starts from a reset machine and a quiet protocol. */
    qemu_system_reset(SHUTDOWN_CAUSE_NONE);
    qtest_server_inproc_reset();
    g_string_truncate(fuzz_replies, 0);
    return 0;
}

#ifdef FUZZ_QTEST_MAIN
/*
 * Smoke test: fuzz-qtest-smoke [N [SEED]] runs N random inputs (default
 * 300) of up to 512 bytes from SEED (default 1), printing TAP.
 */
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300;
    guint32 seed = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    uint8_t buf[512];

    printf("1..1\n");
    fflush(stdout);
    fuzz_machine_init();
    for (int i = 0; i < n; i++) {
        size_t len = g_rand_int_range(r, 1, sizeof(buf));

        for (size_t j = 0; j < len; j++) {
            buf[j] = g_rand_int(r);
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("ok 1 /qtest/fuzz/smoke %d inputs from seed %u: %lu OK, %lu FAIL/ERR, %lu IRQ\n",
           n, seed, fuzz_nr_ok, fuzz_nr_fail, fuzz_nr_irq);
    return 0;
}
#endif
