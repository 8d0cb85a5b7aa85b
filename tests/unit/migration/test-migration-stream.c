/*
 * The migration stream in one process (migration/savevm.c, migration/ram.c):
 * a stream written from RAM blocks and a test device is loaded back after
 * the memory was scribbled over, and must restore it byte for byte; the
 * loader refuses streams from another configuration with a message naming
 * what differs, and fails cleanly (never crashes, never reads past a
 * section) on truncated and corrupted streams.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "exec/ramblock.h"
#include "migration/migration-int.h"

#define RAM_PAGES   64
#define PAGE        ((size_t)TARGET_PAGE_SIZE)

/* A device with iterative and non-iterative state. */
typedef struct TestDev {
    uint32_t rounds;                /* iterate rounds before it says "done" */
    uint32_t round;
    uint8_t state[300];             /* sent in the END section */
    uint8_t config[64];             /* sent in the FULL section */
    const char *compat;
    bool ack_needed;                /* switchover_ack_needed */
    bool approve_on_part;           /* qemu_loadvm_approve_switchover on the first PART */
    GString *load_log;              /* section types seen on load: "SPPEF" */
    bool load_cleanup_called;
} TestDev;

static TestDev dev;
static RAMBlock *ram, *rom;

static bool dev_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    TestDev *d = opaque;

    d->round = 0;
    qemu_put_be32(f, 0x5e7u);
    return true;
}

static int dev_save_iterate(QEMUFile *f, void *opaque, Error **errp)
{
    TestDev *d = opaque;

    if (d->round >= d->rounds) {
        return 1;
    }
    qemu_put_be32(f, d->round++);
    return d->round >= d->rounds;
}

static int dev_save_complete(QEMUFile *f, void *opaque, Error **errp)
{
    TestDev *d = opaque;

    qemu_put_buffer(f, d->state, sizeof(d->state));
    return 1;
}

static bool dev_save_state(QEMUFile *f, void *opaque, Error **errp)
{
    TestDev *d = opaque;

    qemu_put_byte(f, sizeof(d->config));
    qemu_put_buffer(f, d->config, sizeof(d->config));
    return true;
}

static char *dev_compat(void *opaque)
{
    return g_strdup(((TestDev *)opaque)->compat);
}

static bool dev_switchover_ack_needed(void *opaque)
{
    return ((TestDev *)opaque)->ack_needed;
}

static bool dev_load_state(QEMUFile *f, void *opaque, int version_id, int type,
                           Error **errp)
{
    TestDev *d = opaque;
    uint32_t v;
    uint8_t n;

    switch (type) {
    case MIG_SECTION_START:
        g_string_append_c(d->load_log, 'S');
        if (qemu_get_be32(f) != 0x5e7u) {
            error_setg(errp, "bad setup marker");
            return false;
        }
        return true;
    case MIG_SECTION_PART:
        g_string_append_c(d->load_log, 'P');
        v = qemu_get_be32(f);
        if (d->approve_on_part && v == 0) {
            g_assert_cmpint(qemu_loadvm_approve_switchover(), ==, 0);
        }
        return true;
    case MIG_SECTION_END:
        g_string_append_c(d->load_log, 'E');
        return qemu_get_buffer(f, d->state, sizeof(d->state));
    case MIG_SECTION_FULL:
        g_string_append_c(d->load_log, 'F');
        n = qemu_get_byte(f);
        if (n != sizeof(d->config)) {
            error_setg(errp, "config of %u bytes", n);
            return false;
        }
        return qemu_get_buffer(f, d->config, n);
    }
    return false;
}

static void dev_load_cleanup(void *opaque)
{
    ((TestDev *)opaque)->load_cleanup_called = true;
}

static const SaveVMHandlers dev_handlers = {
    .save_setup = dev_save_setup,
    .save_live_iterate = dev_save_iterate,
    .save_live_complete = dev_save_complete,
    .save_state = dev_save_state,
    .compat_string = dev_compat,
    .switchover_ack_needed = dev_switchover_ack_needed,
    .load_state = dev_load_state,
    .load_cleanup = dev_load_cleanup,
};

static void dev_register(int version)
{
    g_assert_true(register_savevm_live("testdev", 0, version, &dev_handlers, &dev,
                                       &error_abort));
}

/* Every 8th page of RAM holds a pattern, the rest is zero; the ROM is all pattern. */
static void fill_memory(uint8_t seed)
{
    uint8_t *r = qemu_ram_get_host_addr(ram), *o = qemu_ram_get_host_addr(rom);

    memset(r, 0, RAM_PAGES * PAGE);
    for (size_t p = 0; p < RAM_PAGES; p += 8) {
        for (size_t i = 0; i < PAGE; i++) {
            r[p * PAGE + i] = (uint8_t)(i * 31 + p + seed);
        }
    }
    for (size_t i = 0; i < 2 * PAGE; i++) {
        o[i] = (uint8_t)(i ^ seed);
    }
    for (size_t i = 0; i < sizeof(dev.state); i++) {
        dev.state[i] = (uint8_t)(i + seed);
    }
    memset(dev.config, seed, sizeof(dev.config));
}

static void scribble(void)
{
    memset(qemu_ram_get_host_addr(ram), 0xee, RAM_PAGES * PAGE);
    memset(qemu_ram_get_host_addr(rom), 0xee, 2 * PAGE);
    memset(dev.state, 0xee, sizeof(dev.state));
    memset(dev.config, 0xee, sizeof(dev.config));
}

static bool memory_matches(uint8_t seed)
{
    g_autofree uint8_t *r = g_memdup2(qemu_ram_get_host_addr(ram), RAM_PAGES * PAGE);
    g_autofree uint8_t *o = g_memdup2(qemu_ram_get_host_addr(rom), 2 * PAGE);
    g_autofree uint8_t *st = g_memdup2(dev.state, sizeof(dev.state));
    g_autofree uint8_t *cf = g_memdup2(dev.config, sizeof(dev.config));

    fill_memory(seed);
    return !memcmp(r, qemu_ram_get_host_addr(ram), RAM_PAGES * PAGE) &&
           !memcmp(o, qemu_ram_get_host_addr(rom), 2 * PAGE) &&
           !memcmp(st, dev.state, sizeof(dev.state)) &&
           !memcmp(cf, dev.config, sizeof(dev.config));
}

/* Write a whole stream the way the migration thread does; g_free it. */
static uint8_t *save_stream(uint32_t flags, size_t *len)
{
    QEMUFile *f = qemu_file_new_output_memory("stream");
    Error *err = NULL;
    uint8_t *data;
    int ret;

    memset(&mig_stats, 0, sizeof(mig_stats));
    bql_lock();
    g_assert_true(qemu_savevm_state_header(f, flags, &err));
    g_assert_true(qemu_savevm_state_setup(f, &err));
    bql_unlock();
    do {
        ret = qemu_savevm_state_iterate(f, &err);
        g_assert_cmpint(ret, >=, 0);
    } while (!ret);
    bql_lock();
    qemu_savevm_state_pending_exact();
    g_assert_true(qemu_savevm_state_complete(f, &err));
    qemu_savevm_state_cleanup();
    bql_unlock();
    g_assert_null(err);
    data = qemu_file_memory_dup(f, len);
    qemu_fclose(f);
    return data;
}

/* Return-path messages the loader sent. */
static GArray *rp_messages;

static bool record_rp(void *opaque, uint16_t type, const void *data, uint16_t len)
{
    g_array_append_val(rp_messages, type);
    return true;
}

/* Load @len bytes; true on success, else *@msg gets the error (g_free). */
static bool load_stream(const uint8_t *data, size_t len, bool with_rp, char **msg)
{
    QEMUFile *f = qemu_file_new_input_buffer(data, len, "stream");
    LoadVMContext ctx = { .send_rp = with_rp ? record_rp : NULL };
    Error *err = NULL;
    bool ok;

    g_string_truncate(dev.load_log, 0);
    dev.load_cleanup_called = false;
    ok = qemu_loadvm_state(f, &ctx, &err);
    qemu_fclose(f);
    g_assert_true(ok == !err);
    if (msg) {
        *msg = err ? g_strdup(error_get_pretty(err)) : NULL;
    }
    error_free(err);
    return ok;
}

static void setup(void)
{
    dev.rounds = 3;
    dev.compat = "model=1";
    dev.ack_needed = false;
    dev.approve_on_part = false;
    fill_memory(1);
}

static void test_round_trip(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    scribble();
    g_assert_true(load_stream(data, len, false, NULL));
    g_assert_true(memory_matches(1));
    /* START, one PART per round with data, END, FULL. */
    g_assert_cmpstr(dev.load_log->str, ==, "SPPPEF");
    g_assert_true(dev.load_cleanup_called);
}

static void test_zero_pages_have_no_data(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len, data_pages = RAM_PAGES / 8 + 2;

    setup();
    data = save_stream(0, &len);
    /* Page data of the pattern pages and the ROM, a few KiB of framing, no more. */
    g_assert_cmpuint(len, >=, data_pages * PAGE);
    g_assert_cmpuint(len, <, data_pages * PAGE + 4096);
    g_assert_cmpuint(mig_stats.ram_zero_pages, ==, RAM_PAGES - RAM_PAGES / 8);
    g_assert_cmpuint(mig_stats.ram_normal_pages, ==, data_pages);
}

static void expect_refused(const uint8_t *data, size_t len, const char *fragment)
{
    g_autofree char *msg = NULL;

    g_assert_false(load_stream(data, len, false, &msg));
    if (!strstr(msg, fragment)) {
        g_test_message("expected an error containing \"%s\", got \"%s\"", fragment, msg);
    }
    g_assert_nonnull(strstr(msg, fragment));
}

static void test_device_missing_here(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    unregister_savevm("testdev", &dev);
    expect_refused(data, len, "the source has device 'testdev' (instance 0), this VM has not");
    dev_register(1);
}

static void test_device_missing_on_source(void)
{
    g_autofree uint8_t *data = NULL;
    static TestDev other;
    size_t len;

    setup();
    data = save_stream(0, &len);
    other.load_log = g_string_new(NULL);
    g_assert_true(register_savevm_live("otherdev", 3, 1, &dev_handlers, &other,
                                       &error_abort));
    expect_refused(data, len, "device 'otherdev' (instance 3) exists here but not on the "
                   "source");
    unregister_savevm("otherdev", &other);
    g_string_free(other.load_log, true);
}

static void test_device_differs(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    dev.compat = "model=2";
    expect_refused(data, len, "device 'testdev' differs: the source has 'model=1', this VM "
                   "has 'model=2'");
}

static void test_device_version_too_new(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    unregister_savevm("testdev", &dev);
    dev_register(2);
    data = save_stream(0, &len);
    unregister_savevm("testdev", &dev);
    dev_register(1);
    expect_refused(data, len, "the stream has version 2 of its state, this build reads "
                   "versions 1 to 1");
}

static void test_ram_size_differs(void)
{
    g_autofree uint8_t *data = NULL;
    RAMBlock *extra;
    size_t len;

    setup();
    extra = qemu_ram_alloc(4 * PAGE, 0, NULL, &error_abort);
    qemu_ram_set_idstr(extra, "t.extra");
    data = save_stream(0, &len);
    qemu_ram_free(extra);
    expect_refused(data, len, "the source has RAM block 't.extra', this VM has not");
    extra = qemu_ram_alloc(8 * PAGE, 0, NULL, &error_abort);
    qemu_ram_set_idstr(extra, "t.extra");
    expect_refused(data, len, "RAM block 't.extra' has 0x4000 bytes on the source and "
                   "0x8000 here");
    qemu_ram_free(extra);
}

static void test_bad_magic_and_version(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    data[0] ^= 0xff;
    expect_refused(data, len, "not an Aperture migration stream");
    data[0] ^= 0xff;
    data[7] = 9;
    expect_refused(data, len, "migration stream version 9 is not supported");
    expect_refused(data, 0, "the stream ends early");
}

/* Offsets of the records: the loader must fail at every cut, never crash. */
static void test_truncated_everywhere(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    for (size_t cut = 0; cut < len; cut += (cut < 4096 || len - cut < 4096) ? 1 : 61) {
        g_autofree char *msg = NULL;

        if (load_stream(data, cut, false, &msg)) {
            g_test_message("a stream cut at %zu of %zu bytes loaded", cut, len);
            g_assert_not_reached();
        }
        g_assert_nonnull(msg);
    }
    g_assert_true(load_stream(data, len, false, NULL));
}

static void test_trailing_bytes_ignored_after_end(void)
{
    g_autofree uint8_t *data = NULL;
    g_autofree uint8_t *longer = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    longer = g_malloc0(len + 16);
    memcpy(longer, data, len);
    /* Bytes after the end marker belong to the next protocol step (the commit). */
    g_assert_true(load_stream(longer, len + 16, false, NULL));
}

static void test_corrupt_device_section(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len, pos;
    uint8_t pattern[8];

    setup();
    data = save_stream(0, &len);
    /* The END section carries dev.state: find its bytes and flip one. */
    memcpy(pattern, dev.state + 100, sizeof(pattern));
    for (pos = 0; pos + sizeof(pattern) <= len; pos++) {
        if (!memcmp(data + pos, pattern, sizeof(pattern))) {
            break;
        }
    }
    g_assert_cmpuint(pos + sizeof(pattern), <=, len);
    data[pos] ^= 0x01;
    scribble();
    expect_refused(data, len, "device 'testdev': the end section at offset");
    expect_refused(data, len, "is corrupt (CRC mismatch)");
    /* Nothing of the corrupt section was applied. */
    g_assert_cmphex(dev.state[100], ==, 0xee);
}

static void test_corrupt_config(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(0, &len);
    /* Header 12 bytes, record type, length, 32-byte digest: then the body. */
    data[12 + 1 + 4 + 32 + 2] ^= 0x40;
    expect_refused(data, len, "the configuration record is corrupt");
}

/* Random flips anywhere: loads or fails, never crashes or hangs. */
static void test_random_corruption_never_crashes(void)
{
    g_autofree uint8_t *data = NULL;
    g_autofree uint8_t *copy = NULL;
    GRand *rand = g_rand_new_with_seed(7);
    unsigned failed = 0;
    size_t len;

    setup();
    data = save_stream(0, &len);
    copy = g_malloc(len);
    for (int i = 0; i < 400; i++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + i % 4; k++) {
            /* Mostly in the framing (not page data), where it matters. */
            size_t pos = g_rand_int_range(rand, 0, (i & 1) ? 512 : (gint32)len);

            copy[pos] ^= 1u << g_rand_int_range(rand, 0, 8);
        }
        failed += !load_stream(copy, len, false, NULL);
    }
    g_test_message("%u of 400 corrupted streams refused", failed);
    g_assert_cmpuint(failed, >, 100);
    g_rand_free(rand);
}

static void test_switchover_ack_after_approval(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    dev.ack_needed = true;
    dev.approve_on_part = true;
    data = save_stream(MIG_FLAG_RETURN_PATH | MIG_FLAG_SWITCHOVER_ACK, &len);
    rp_messages = g_array_new(false, false, sizeof(uint16_t));
    g_assert_true(load_stream(data, len, true, NULL));
    /* One approval, sent when the device approved. */
    g_assert_cmpuint(rp_messages->len, ==, 1);
    g_assert_cmpuint(g_array_index(rp_messages, uint16_t, 0), ==, MIG_RP_SWITCHOVER_ACK);
    g_array_free(rp_messages, true);
}

static void test_switchover_ack_without_needers(void)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    setup();
    data = save_stream(MIG_FLAG_RETURN_PATH | MIG_FLAG_SWITCHOVER_ACK, &len);
    rp_messages = g_array_new(false, false, sizeof(uint16_t));
    g_assert_true(load_stream(data, len, true, NULL));
    g_assert_cmpuint(rp_messages->len, ==, 1);
    g_array_free(rp_messages, true);
    /* A return path is required when the stream asks for answers. */
    expect_refused(data, len, "this channel cannot carry them");
}

static void test_handler_removed_during_migration(void)
{
    QEMUFile *f = qemu_file_new_output_memory("stream");
    Error *err = NULL;

    setup();
    bql_lock();
    g_assert_true(qemu_savevm_state_header(f, 0, &err));
    g_assert_true(qemu_savevm_state_setup(f, &err));
    /* Registering during a migration is refused ... */
    g_assert_cmpuint(qemu_savevm_nr_handlers(), ==, 2);
    unregister_savevm("testdev", &dev);
    bql_unlock();
    /* ... and a removal fails it: the device state would be missing. */
    g_assert_cmpint(qemu_savevm_state_iterate(f, &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "device 'testdev' was removed during "
                            "the migration"));
    error_free(err);
    bql_lock();
    qemu_savevm_state_cleanup();
    bql_unlock();
    qemu_fclose(f);
    g_assert_cmpuint(qemu_savevm_nr_handlers(), ==, 1);
    dev_register(1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    ram = qemu_ram_alloc(RAM_PAGES * PAGE, 0, NULL, &error_abort);
    qemu_ram_set_idstr(ram, "t.ram");
    rom = qemu_ram_alloc(2 * PAGE, 0, NULL, &error_abort);
    qemu_ram_set_idstr(rom, "t.rom");
    dev.load_log = g_string_new(NULL);
    dev_register(1);

    g_test_add_func("/migration/stream/round-trip-restores-memory-and-device",
                    test_round_trip);
    g_test_add_func("/migration/stream/zero-pages-have-no-data", test_zero_pages_have_no_data);
    g_test_add_func("/migration/stream/refused/device-missing-here",
                    test_device_missing_here);
    g_test_add_func("/migration/stream/refused/device-missing-on-source",
                    test_device_missing_on_source);
    g_test_add_func("/migration/stream/refused/device-differs", test_device_differs);
    g_test_add_func("/migration/stream/refused/device-version-too-new",
                    test_device_version_too_new);
    g_test_add_func("/migration/stream/refused/ram-block-size-differs",
                    test_ram_size_differs);
    g_test_add_func("/migration/stream/refused/bad-magic-and-version",
                    test_bad_magic_and_version);
    g_test_add_func("/migration/stream/refused/truncated-at-every-offset",
                    test_truncated_everywhere);
    g_test_add_func("/migration/stream/bytes-after-end-marker-not-read",
                    test_trailing_bytes_ignored_after_end);
    g_test_add_func("/migration/stream/refused/corrupt-device-section-not-applied",
                    test_corrupt_device_section);
    g_test_add_func("/migration/stream/refused/corrupt-configuration", test_corrupt_config);
    g_test_add_func("/migration/stream/random-corruption-never-crashes",
                    test_random_corruption_never_crashes);
    g_test_add_func("/migration/stream/switchover-ack/sent-after-approval",
                    test_switchover_ack_after_approval);
    g_test_add_func("/migration/stream/switchover-ack/sent-at-once-without-needers",
                    test_switchover_ack_without_needers);
    g_test_add_func("/migration/stream/handler-removed-during-migration-fails-it",
                    test_handler_removed_during_migration);
    return g_test_run();
}
