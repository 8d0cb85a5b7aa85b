/*
 * Fuzz the migration stream loader (migration/savevm.c, migration/ram.c):
 * whatever the bytes, qemu_loadvm_state() must return (true or false with
 * a message), never crash, hang or read outside the stream and the guest's
 * RAM blocks.  The "machine" has two RAM blocks and one device whose
 * loader reads every section type, so inputs mutated from a real stream
 * (corpus/fuzz-migration-stream, made by the smoke build below) reach every
 * check of the format: header, configuration, section framing, CRCs, RAM
 * chunks, the end marker.
 *
 * Built two ways: as a libFuzzer target (tests/fuzz/meson.build), and with
 * -DFUZZ_MIGRATION_MAIN as a program that writes valid streams, loads them,
 * then loads random mutations of them (a smoke test in the normal build,
 * `fuzz-migration-stream-smoke ITERATIONS SEED [SEED_DIR]`; with SEED_DIR
 * it also writes the seed corpus there).
 */
#include "fuzz.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "exec/ramblock.h"
#include "migration/migration-int.h"

#define FUZZ_RAM_PAGES  64
#define FUZZ_ROM_PAGES  2
#define FUZZ_PAGE       ((size_t)TARGET_PAGE_SIZE)

static RAMBlock *fuzz_ram, *fuzz_rom;
static uint8_t fuzz_dev_state[64];
static uint32_t fuzz_dev_rounds;

static bool fuzzdev_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    fuzz_dev_rounds = 0;
    qemu_put_be32(f, 0xf00d);
    return true;
}

static int fuzzdev_save_iterate(QEMUFile *f, void *opaque, Error **errp)
{
    if (fuzz_dev_rounds >= 2) {
        return 1;
    }
    /* A length-prefixed blob: the loader trusts the length only within the section. */
    qemu_put_be32(f, 16);
    qemu_put_buffer(f, fuzz_dev_state, 16);
    fuzz_dev_rounds++;
    return 0;
}

static int fuzzdev_save_complete(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_buffer(f, fuzz_dev_state, sizeof(fuzz_dev_state));
    return 1;
}

static bool fuzzdev_save_state(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_byte(f, 8);
    qemu_put_buffer(f, fuzz_dev_state, 8);
    return true;
}

static bool fuzzdev_switchover_ack_needed(void *opaque)
{
    return true;
}

static bool fuzzdev_load_state(QEMUFile *f, void *opaque, int version_id, int type,
                               Error **errp)
{
    uint8_t buf[256];
    uint32_t len;
    uint8_t n;

    switch (type) {
    case MIG_SECTION_START:
        if (qemu_get_be32(f) != 0xf00d) {
            error_setg(errp, "bad marker");
            return false;
        }
        return true;
    case MIG_SECTION_PART:
        len = qemu_get_be32(f);
        if (len > sizeof(buf)) {
            error_setg(errp, "blob of %u bytes", len);
            return false;
        }
        if (!qemu_get_buffer(f, buf, len)) {
            return false;
        }
        /* The first blob is the device's "initial data". */
        qemu_loadvm_approve_switchover();
        return true;
    case MIG_SECTION_END:
        return qemu_get_buffer(f, fuzz_dev_state, sizeof(fuzz_dev_state));
    case MIG_SECTION_FULL:
        n = qemu_get_byte(f);
        return qemu_get_buffer(f, buf, n);
    }
    return false;
}

static const SaveVMHandlers fuzzdev_handlers = {
    .save_setup = fuzzdev_save_setup,
    .save_live_iterate = fuzzdev_save_iterate,
    .save_live_complete = fuzzdev_save_complete,
    .save_state = fuzzdev_save_state,
    .switchover_ack_needed = fuzzdev_switchover_ack_needed,
    .load_state = fuzzdev_load_state,
};

static bool fuzz_send_rp(void *opaque, uint16_t type, const void *data, uint16_t len)
{
    return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    qemu_init_main_loop(&error_abort);
    fuzz_ram = qemu_ram_alloc(FUZZ_RAM_PAGES * FUZZ_PAGE, 0, NULL, &error_abort);
    qemu_ram_set_idstr(fuzz_ram, "f.ram");
    fuzz_rom = qemu_ram_alloc(FUZZ_ROM_PAGES * FUZZ_PAGE, 0, NULL, &error_abort);
    qemu_ram_set_idstr(fuzz_rom, "f.rom");
    register_savevm_live("fuzzdev", 0, 1, &fuzzdev_handlers, NULL, &error_abort);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QEMUFile *f = qemu_file_new_input_buffer(data, size, "fuzz");
    LoadVMContext ctx = { .send_rp = fuzz_send_rp };
    Error *err = NULL;
    bool ok = qemu_loadvm_state(f, &ctx, &err);

    /* A failure always says why; a success says nothing. */
    fuzz_check(ok == !err);
    fuzz_check(ok || error_get_pretty(err)[0]);
    error_free(err);
    qemu_fclose(f);
    return 0;
}

#ifdef FUZZ_MIGRATION_MAIN
/* Write a stream of the fuzz machine (with @flags) the way the source does. */
static uint8_t *fuzz_make_stream(uint32_t flags, size_t *len)
{
    QEMUFile *f = qemu_file_new_output_memory("stream");
    uint8_t *ram = qemu_ram_get_host_addr(fuzz_ram);
    Error *err = NULL;
    uint8_t *out;

    /* A few pages with data, the rest zero: small seeds, both chunk kinds. */
    for (size_t p = 0; p < FUZZ_RAM_PAGES; p += 21) {
        memset(ram + p * FUZZ_PAGE, 0x11 * (p % 7 + 1), FUZZ_PAGE);
    }
    memset(qemu_ram_get_host_addr(fuzz_rom), 0x33, FUZZ_PAGE);
    for (size_t i = 0; i < sizeof(fuzz_dev_state); i++) {
        fuzz_dev_state[i] = i;
    }
    bql_lock();
    fuzz_check(qemu_savevm_state_header(f, flags, &err));
    fuzz_check(qemu_savevm_state_setup(f, &err));
    bql_unlock();
    while (qemu_savevm_state_iterate(f, &err) == 0) {
    }
    bql_lock();
    fuzz_check(qemu_savevm_state_complete(f, &err));
    qemu_savevm_state_cleanup();
    bql_unlock();
    out = qemu_file_memory_dup(f, len);
    qemu_fclose(f);
    return out;
}

static void fuzz_write_seed(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    fuzz_check(g_file_set_contents(path, (const char *)data, len, NULL));
}

/* Load a mutation of @base: flips, truncation, a duplicated or dropped span. */
static void fuzz_mutate_and_load(GRand *rand, const uint8_t *base, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len * 2 + 16);
    size_t n = len;
    int kind = g_rand_int_range(rand, 0, 5);

    memcpy(buf, base, len);
    switch (kind) {
    case 0:     /* bit flips, mostly in the framing before the page data */
        for (int i = g_rand_int_range(rand, 1, 6); i > 0; i--) {
            size_t pos = g_rand_int_range(rand, 0, MIN(len, (size_t)(g_rand_boolean(rand)
                                                                     ? 400 : len)));

            buf[pos] ^= 1u << g_rand_int_range(rand, 0, 8);
        }
        break;
    case 1:     /* truncation */
        n = g_rand_int_range(rand, 0, len);
        break;
    case 2: {   /* a span duplicated */
        size_t a = g_rand_int_range(rand, 0, len), b = g_rand_int_range(rand, a, len + 1);

        memcpy(buf + b, base + a, MIN(b - a, len));
        memcpy(buf + b + (b - a), base + b, len - b);
        n = len + (b - a);
        break;
    }
    case 3: {   /* a span dropped */
        size_t a = g_rand_int_range(rand, 0, len), b = g_rand_int_range(rand, a, len + 1);

        memmove(buf + a, buf + b, len - b);
        n = len - (b - a);
        break;
    }
    default:    /* a 32-bit field overwritten with an extreme value */
        if (len >= 4) {
            static const uint32_t extremes[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff,
                                                 0xfffffffe, 4096, 65536 };
            uint32_t v = GUINT32_TO_BE(extremes[g_rand_int_range(rand, 0, 8)]);
            size_t pos = g_rand_int_range(rand, 0, MIN(len, 400) - 3);

            memcpy(buf + pos, &v, 4);
        }
        break;
    }
    LLVMFuzzerTestOneInput(buf, n);
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 1000;
    guint32 seed = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
    const char *seed_dir = argc > 3 ? argv[3] : NULL;
    g_autofree uint8_t *plain = NULL, *acked = NULL;
    size_t plain_len, acked_len;
    GRand *rand = g_rand_new_with_seed(seed);

    LLVMFuzzerInitialize(&argc, &argv);
    plain = fuzz_make_stream(0, &plain_len);
    acked = fuzz_make_stream(MIG_FLAG_RETURN_PATH | MIG_FLAG_SWITCHOVER_ACK, &acked_len);
    {
        QEMUFile *f = qemu_file_new_input_buffer(plain, plain_len, "seed");
        LoadVMContext ctx = { .send_rp = fuzz_send_rp };

        /* The seeds themselves load. */
        fuzz_check(qemu_loadvm_state(f, &ctx, &error_abort));
        qemu_fclose(f);
    }
    if (seed_dir) {
        fuzz_write_seed(seed_dir, "plain", plain, plain_len);
        fuzz_write_seed(seed_dir, "switchover-ack", acked, acked_len);
        fuzz_write_seed(seed_dir, "header-only", plain, 12);
        fuzz_write_seed(seed_dir, "truncated-config", plain, 60);
    }
    printf("1..1\n");
    for (int i = 0; i < iterations; i++) {
        if (i & 1) {
            fuzz_mutate_and_load(rand, plain, plain_len);
        } else {
            fuzz_mutate_and_load(rand, acked, acked_len);
        }
    }
    printf("ok 1 %d mutated streams loaded or refused without a crash\n", iterations);
    g_rand_free(rand);
    return 0;
}
#endif
