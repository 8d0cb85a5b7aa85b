/*
 * Pluggable RAM and its RamDiscardManager: the exact notifications
 * listeners receive on plug, unplug, veto rollback, registration and
 * unregistration, and the replay of populated and discarded parts.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "hw/mem/pluggable-ram.h"
#include "sysemu/ram-discard.h"

#define BLOCK   (64 * KiB)
#define NBLOCKS 16

/* Every test listener appends its events here, so the order is visible. */
static GString *event_log;

typedef struct TestListener {
    RamDiscardListener rdl;
    /* Prefix of this listener's events. */
    const char *tag;
    /* notify_populate returns this (0: accept). */
    int veto;
    /* Write into populated memory, as a DMA-mapping listener would pin it. */
    uint8_t *touch_host;
} TestListener;

static void log_event(const char *tag, const char *what,
                      const MemoryRegionSection *s)
{
    g_string_append_printf(event_log, "%s %s 0x%" PRIx64 "+0x%" PRIx64
                           " @0x%" PRIx64 "\n", tag, what,
                           s->offset_within_region, int128_get64(s->size),
                           s->offset_within_address_space);
}

static int tl_populate(RamDiscardListener *rdl, MemoryRegionSection *s)
{
    TestListener *tl = container_of(rdl, TestListener, rdl);

    log_event(tl->tag, tl->veto ? "populate-veto" : "populate", s);
    if (tl->touch_host) {
        memset(tl->touch_host + s->offset_within_region, 0xee,
               int128_get64(s->size));
    }
    return tl->veto;
}

static void tl_discard(RamDiscardListener *rdl, MemoryRegionSection *s)
{
    TestListener *tl = container_of(rdl, TestListener, rdl);

    log_event(tl->tag, "discard", s);
}

static void tl_init(TestListener *tl, const char *tag, bool double_discard)
{
    memset(tl, 0, sizeof(*tl));
    tl->tag = tag;
    ram_discard_listener_init(&tl->rdl, tl_populate, tl_discard,
                              double_discard);
}

/* Compare the events logged since the last call with @expected; clear. */
static void assert_events(const char *expected)
{
    if (strcmp(event_log->str, expected)) {
        g_test_message("expected events:\n%sgot:\n%s", expected,
                       event_log->str);
    }
    g_assert_cmpstr(event_log->str, ==, expected);
    g_string_truncate(event_log, 0);
}

static void assert_error_contains(Error **errp, const char *needle)
{
    g_assert_nonnull(*errp);
    if (!strstr(error_get_pretty(*errp), needle)) {
        g_test_message("error \"%s\" does not mention \"%s\"",
                       error_get_pretty(*errp), needle);
        g_assert_not_reached();
    }
    error_free_or_abort(errp);
}

/* A section of @mr: [offset, offset + size), at @as_addr in some space. */
static MemoryRegionSection make_section(MemoryRegion *mr, uint64_t offset,
                                        uint64_t size, uint64_t as_addr)
{
    return (MemoryRegionSection) {
        .mr = mr,
        .offset_within_region = offset,
        .size = int128_make64(size),
        .offset_within_address_space = as_addr,
    };
}

typedef struct Fixture {
    MemoryRegion mr;
    PluggableRam *pr;
    RamDiscardManager *rdm;
    uint8_t *host;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    g_string_truncate(event_log, 0);
    g_assert_true(memory_region_init_ram(&f->mr, NULL, "pram", NBLOCKS * BLOCK,
                                         &error_abort));
    f->host = memory_region_get_ram_ptr(&f->mr);
    f->pr = pluggable_ram_new(&f->mr, BLOCK, &error_abort);
    f->rdm = pluggable_ram_get_rdm(f->pr);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    pluggable_ram_free(f->pr);
    memory_region_unparent(&f->mr);
    g_assert_false(ram_block_discard_is_required());
}

static void test_create(Fixture *f, gconstpointer data)
{
    MemoryRegionSection whole = make_section(&f->mr, 0, NBLOCKS * BLOCK, 0);

    g_assert_true(memory_region_get_ram_discard_manager(&f->mr) == f->rdm);
    g_assert_cmphex(ram_discard_manager_get_min_granularity(f->rdm, &f->mr),
                    ==, BLOCK);
    g_assert_cmphex(pluggable_ram_get_block_size(f->pr), ==, BLOCK);
    g_assert_cmphex(pluggable_ram_get_plugged_size(f->pr), ==, 0);
    g_assert_false(ram_discard_manager_is_populated(f->rdm, &whole));
    /* It holds coordinated discard: disabling all discard now conflicts. */
    g_assert_true(ram_block_discard_is_required());
    g_assert_cmpint(ram_block_discard_disable(true), ==, -EBUSY);
    g_assert_cmpint(ram_block_uncoordinated_discard_disable(true), ==, 0);
    g_assert_cmpint(ram_block_uncoordinated_discard_disable(false), ==, 0);
}

static void test_create_errors(void)
{
    MemoryRegion ram, io;
    Error *err = NULL;
    PluggableRam *pr;

    memory_region_init_ram(&ram, NULL, "pram-err", 4 * BLOCK, &error_abort);
    memory_region_init_io(&io, NULL, NULL, NULL, "io", 4 * BLOCK);

    g_assert_null(pluggable_ram_new(&io, BLOCK, &err));
    assert_error_contains(&err, "'io': not a RAM region");
    g_assert_null(pluggable_ram_new(&ram, 3 * 4096, &err));
    assert_error_contains(&err, "must be a power of two");
    g_assert_null(pluggable_ram_new(&ram, 2048, &err));
    assert_error_contains(&err, "at least the page size 0x1000");
    g_assert_null(pluggable_ram_new(&ram, 8 * BLOCK, &err));
    assert_error_contains(&err, "not a multiple of the block size");

    /* Refuses to start while discard is disabled. */
    g_assert_cmpint(ram_block_discard_disable(true), ==, 0);
    g_assert_null(pluggable_ram_new(&ram, BLOCK, &err));
    assert_error_contains(&err, "discarding RAM is disabled");
    g_assert_cmpint(ram_block_discard_disable(false), ==, 0);

    /* One manager per region. */
    pr = pluggable_ram_new(&ram, BLOCK, &error_abort);
    g_assert_null(pluggable_ram_new(&ram, BLOCK, &err));
    assert_error_contains(&err, "has a RAM discard manager already");
    pluggable_ram_free(pr);
    g_assert_null(memory_region_get_ram_discard_manager(&ram));
    g_assert_false(ram_block_discard_is_required());

    memory_region_unparent(&io);
    memory_region_unparent(&ram);
}

static void test_starts_discarded(void)
{
    MemoryRegion ram;
    PluggableRam *pr;
    uint8_t *host;

    memory_region_init_ram(&ram, NULL, "pram-dirty", 4 * BLOCK, &error_abort);
    host = memory_region_get_ram_ptr(&ram);
    memset(host, 0x77, 4 * BLOCK);
    pr = pluggable_ram_new(&ram, BLOCK, &error_abort);
    /* Unplugged memory was handed back: it reads as zeroes again. */
    g_assert_cmphex(host[0], ==, 0);
    g_assert_cmphex(host[4 * BLOCK - 1], ==, 0);
    pluggable_ram_free(pr);
    memory_region_unparent(&ram);
}

static void test_plug_unplug(Fixture *f, gconstpointer data)
{
    MemoryRegionSection whole = make_section(&f->mr, 0, NBLOCKS * BLOCK,
                                             0x100000);
    /* B listens to blocks 2..5 only, mapped elsewhere. */
    MemoryRegionSection part = make_section(&f->mr, 2 * BLOCK, 4 * BLOCK,
                                            0x800000);
    TestListener a, b;

    tl_init(&a, "A", false);
    tl_init(&b, "B", false);
    ram_discard_manager_register_listener(f->rdm, &a.rdl, &whole);
    ram_discard_manager_register_listener(f->rdm, &b.rdl, &part);
    g_assert_true(a.rdl.section != &whole);
    assert_events("");

    /* Blocks 1..4: both hear of it, B only of its own part. */
    g_assert_true(pluggable_ram_plug(f->pr, 1 * BLOCK, 4 * BLOCK,
                                     &error_abort));
    assert_events("A populate 0x10000+0x40000 @0x110000\n"
                  "B populate 0x20000+0x30000 @0x800000\n");
    g_assert_true(pluggable_ram_is_plugged(f->pr, 1 * BLOCK, 4 * BLOCK));
    g_assert_false(pluggable_ram_is_plugged(f->pr, 0, 2 * BLOCK));
    g_assert_cmphex(pluggable_ram_get_plugged_size(f->pr), ==, 4 * BLOCK);

    /* Outside B's section: only A. */
    g_assert_true(pluggable_ram_plug(f->pr, 10 * BLOCK, BLOCK, &error_abort));
    assert_events("A populate 0xa0000+0x10000 @0x1a0000\n");

    /* Unplug gives the memory back, then tells listeners in order. */
    memset(f->host + 3 * BLOCK, 0x55, BLOCK);
    g_assert_true(pluggable_ram_unplug(f->pr, 3 * BLOCK, BLOCK, &error_abort));
    assert_events("A discard 0x30000+0x10000 @0x130000\n"
                  "B discard 0x30000+0x10000 @0x810000\n");
    g_assert_cmphex(f->host[3 * BLOCK], ==, 0);
    g_assert_false(pluggable_ram_is_plugged(f->pr, 3 * BLOCK, BLOCK));

    /* Unregistering discards what the listener still has, run by run. */
    ram_discard_manager_unregister_listener(f->rdm, &b.rdl);
    assert_events("B discard 0x20000+0x10000 @0x800000\n"
                  "B discard 0x40000+0x10000 @0x820000\n");
    g_assert_null(b.rdl.section);
    ram_discard_manager_unregister_listener(f->rdm, &a.rdl);
    assert_events("A discard 0x10000+0x20000 @0x110000\n"
                  "A discard 0x40000+0x10000 @0x140000\n"
                  "A discard 0xa0000+0x10000 @0x1a0000\n");
}

static void test_plug_errors(Fixture *f, gconstpointer data)
{
    MemoryRegionSection whole = make_section(&f->mr, 0, NBLOCKS * BLOCK, 0);
    TestListener a;
    Error *err = NULL;

    tl_init(&a, "A", false);
    ram_discard_manager_register_listener(f->rdm, &a.rdl, &whole);
    g_assert_true(pluggable_ram_plug(f->pr, 4 * BLOCK, 2 * BLOCK,
                                     &error_abort));
    g_string_truncate(event_log, 0);

    g_assert_false(pluggable_ram_plug(f->pr, 4096, BLOCK, &err));
    assert_error_contains(&err, "not a non-empty run of 0x10000-byte blocks");
    g_assert_false(pluggable_ram_plug(f->pr, 0, BLOCK + 4096, &err));
    assert_error_contains(&err, "not a non-empty run");
    g_assert_false(pluggable_ram_plug(f->pr, 0, 0, &err));
    assert_error_contains(&err, "not a non-empty run");
    g_assert_false(pluggable_ram_plug(f->pr, 15 * BLOCK, 2 * BLOCK, &err));
    assert_error_contains(&err, "inside its 0x100000 bytes");
    g_assert_false(pluggable_ram_plug(f->pr, UINT64_MAX - BLOCK + 1,
                                      2 * BLOCK, &err));
    assert_error_contains(&err, "not a non-empty run");
    g_assert_false(pluggable_ram_plug(f->pr, 3 * BLOCK, 2 * BLOCK, &err));
    assert_error_contains(&err, "is already (partly) plugged");
    g_assert_false(pluggable_ram_unplug(f->pr, 5 * BLOCK, 2 * BLOCK, &err));
    assert_error_contains(&err, "is not entirely plugged");
    g_assert_false(pluggable_ram_unplug(f->pr, 4 * BLOCK, 4096, &err));
    assert_error_contains(&err, "not a non-empty run");
    /* Nothing changed, nobody was told anything. */
    assert_events("");
    g_assert_cmphex(pluggable_ram_get_plugged_size(f->pr), ==, 2 * BLOCK);
    g_assert_false(pluggable_ram_is_plugged(f->pr, 4096, BLOCK));

    ram_discard_manager_unregister_listener(f->rdm, &a.rdl);
}

static void test_veto_rolls_back(Fixture *f, gconstpointer data)
{
    MemoryRegionSection whole = make_section(&f->mr, 0, NBLOCKS * BLOCK, 0);
    MemoryRegionSection low = make_section(&f->mr, 0, 8 * BLOCK, 0x40000000);
    TestListener a, b, c, d;
    Error *err = NULL;

    tl_init(&a, "A", false);
    tl_init(&b, "B", false);
    tl_init(&c, "C", false);
    tl_init(&d, "D", false);
    a.touch_host = f->host;
    ram_discard_manager_register_listener(f->rdm, &a.rdl, &whole);
    ram_discard_manager_register_listener(f->rdm, &b.rdl, &low);
    ram_discard_manager_register_listener(f->rdm, &c.rdl, &whole);
    ram_discard_manager_register_listener(f->rdm, &d.rdl, &whole);

    /* C refuses: A and B are told to discard, newest first; D never hears. */
    c.veto = -ENOSPC;
    g_assert_false(pluggable_ram_plug(f->pr, 6 * BLOCK, 4 * BLOCK, &err));
    assert_events("A populate 0x60000+0x40000 @0x60000\n"
                  "B populate 0x60000+0x20000 @0x40060000\n"
                  "C populate-veto 0x60000+0x40000 @0x60000\n"
                  "B discard 0x60000+0x20000 @0x40060000\n"
                  "A discard 0x60000+0x40000 @0x60000\n");
    assert_error_contains(&err, "cannot plug 0x60000+0x40000: a listener "
                          "refused: No space left on device");
    /* Still unplugged, and what A touched was discarded again. */
    g_assert_cmphex(pluggable_ram_get_plugged_size(f->pr), ==, 0);
    g_assert_cmphex(f->host[6 * BLOCK], ==, 0);
    g_assert_cmphex(f->host[10 * BLOCK - 1], ==, 0);

    /* The first listener refusing: nobody to roll back. */
    c.veto = 0;
    a.veto = -EIO;
    g_assert_false(pluggable_ram_plug(f->pr, 0, BLOCK, &err));
    assert_events("A populate-veto 0x0+0x10000 @0x0\n");
    error_free_or_abort(&err);

    /* Once nobody refuses, the same plug works. */
    a.veto = 0;
    g_assert_true(pluggable_ram_plug(f->pr, 6 * BLOCK, 4 * BLOCK,
                                     &error_abort));
    assert_events("A populate 0x60000+0x40000 @0x60000\n"
                  "B populate 0x60000+0x20000 @0x40060000\n"
                  "C populate 0x60000+0x40000 @0x60000\n"
                  "D populate 0x60000+0x40000 @0x60000\n");

    ram_discard_manager_unregister_listener(f->rdm, &d.rdl);
    ram_discard_manager_unregister_listener(f->rdm, &c.rdl);
    ram_discard_manager_unregister_listener(f->rdm, &b.rdl);
    ram_discard_manager_unregister_listener(f->rdm, &a.rdl);
    g_string_truncate(event_log, 0);
}

static void test_register_replays(Fixture *f, gconstpointer data)
{
    /* A section starting and ending mid-block. */
    MemoryRegionSection sec = make_section(&f->mr, BLOCK + 0x3000,
                                           8 * BLOCK, 0x2000000);
    TestListener a, dd;

    g_assert_true(pluggable_ram_plug(f->pr, 0, 2 * BLOCK, &error_abort));
    g_assert_true(pluggable_ram_plug(f->pr, 4 * BLOCK, BLOCK, &error_abort));
    g_assert_true(pluggable_ram_plug(f->pr, 8 * BLOCK, 2 * BLOCK,
                                     &error_abort));

    /* Registration announces the plugged parts of the section. */
    tl_init(&a, "A", false);
    ram_discard_manager_register_listener(f->rdm, &a.rdl, &sec);
    assert_events("A populate 0x13000+0xd000 @0x2000000\n"
                  "A populate 0x40000+0x10000 @0x202d000\n"
                  "A populate 0x80000+0x13000 @0x206d000\n");

    /* Double discard: one notification for the whole section. */
    tl_init(&dd, "DD", true);
    ram_discard_manager_register_listener(f->rdm, &dd.rdl, &sec);
    g_string_truncate(event_log, 0);
    ram_discard_manager_unregister_listener(f->rdm, &dd.rdl);
    assert_events("DD discard 0x13000+0x80000 @0x2000000\n");

    /* A refusing at registration stays registered (it cannot fail). */
    tl_init(&dd, "V", false);
    dd.veto = -EPERM;
    ram_discard_manager_register_listener(f->rdm, &dd.rdl, &sec);
    assert_events("V populate-veto 0x13000+0xd000 @0x2000000\n");
    g_assert_nonnull(dd.rdl.section);
    dd.veto = 0;
    ram_discard_manager_unregister_listener(f->rdm, &dd.rdl);
    ram_discard_manager_unregister_listener(f->rdm, &a.rdl);
    g_string_truncate(event_log, 0);
}

static int replay_record(MemoryRegionSection *s, void *opaque)
{
    log_event(opaque, "replay", s);
    return 0;
}

static int replay_stop_second(MemoryRegionSection *s, void *opaque)
{
    int *calls = opaque;

    return ++*calls == 2 ? -ECANCELED : 0;
}

static void test_replay(Fixture *f, gconstpointer data)
{
    MemoryRegionSection sec = make_section(&f->mr, BLOCK + 0x3000,
                                           8 * BLOCK, 0x2000000);
    MemoryRegionSection plugged = make_section(&f->mr, 4 * BLOCK, BLOCK, 0);
    MemoryRegionSection empty = make_section(&f->mr, 5 * BLOCK, 0, 0);
    int calls = 0;

    g_assert_true(pluggable_ram_plug(f->pr, 0, 2 * BLOCK, &error_abort));
    g_assert_true(pluggable_ram_plug(f->pr, 4 * BLOCK, BLOCK, &error_abort));
    g_assert_true(pluggable_ram_plug(f->pr, 8 * BLOCK, 2 * BLOCK,
                                     &error_abort));

    g_assert_cmpint(ram_discard_manager_replay_populated(
                        f->rdm, &sec, replay_record, (void *)"pop"), ==, 0);
    assert_events("pop replay 0x13000+0xd000 @0x2000000\n"
                  "pop replay 0x40000+0x10000 @0x202d000\n"
                  "pop replay 0x80000+0x13000 @0x206d000\n");
    g_assert_cmpint(ram_discard_manager_replay_discarded(
                        f->rdm, &sec, replay_record, (void *)"dis"), ==, 0);
    assert_events("dis replay 0x20000+0x20000 @0x200d000\n"
                  "dis replay 0x50000+0x30000 @0x203d000\n");

    /* A non-zero return stops the walk and comes back. */
    g_assert_cmpint(ram_discard_manager_replay_populated(
                        f->rdm, &sec, replay_stop_second, &calls), ==,
                    -ECANCELED);
    g_assert_cmpint(calls, ==, 2);

    g_assert_true(ram_discard_manager_is_populated(f->rdm, &plugged));
    g_assert_false(ram_discard_manager_is_populated(f->rdm, &sec));
    g_assert_true(ram_discard_manager_is_populated(f->rdm, &empty));
    g_assert_cmpint(ram_discard_manager_replay_populated(
                        f->rdm, &empty, replay_record, (void *)"none"), ==, 0);
    assert_events("");
}

static void test_unplug_all(Fixture *f, gconstpointer data)
{
    MemoryRegionSection whole = make_section(&f->mr, 0, NBLOCKS * BLOCK, 0);
    TestListener a, dd;

    /* Nothing plugged: nothing to say. */
    g_assert_true(pluggable_ram_unplug_all(f->pr, &error_abort));
    tl_init(&a, "A", false);
    tl_init(&dd, "DD", true);
    ram_discard_manager_register_listener(f->rdm, &a.rdl, &whole);
    ram_discard_manager_register_listener(f->rdm, &dd.rdl, &whole);
    g_assert_true(pluggable_ram_unplug_all(f->pr, &error_abort));
    assert_events("");

    g_assert_true(pluggable_ram_plug(f->pr, BLOCK, BLOCK, &error_abort));
    g_assert_true(pluggable_ram_plug(f->pr, 5 * BLOCK, 3 * BLOCK,
                                     &error_abort));
    memset(f->host + 5 * BLOCK, 0x42, BLOCK);
    g_string_truncate(event_log, 0);
    g_assert_true(pluggable_ram_unplug_all(f->pr, &error_abort));
    assert_events("A discard 0x10000+0x10000 @0x10000\n"
                  "A discard 0x50000+0x30000 @0x50000\n"
                  "DD discard 0x0+0x100000 @0x0\n");
    g_assert_cmphex(pluggable_ram_get_plugged_size(f->pr), ==, 0);
    g_assert_cmphex(f->host[5 * BLOCK], ==, 0);

    /* Nothing plugged any more: unregistering is silent. */
    ram_discard_manager_unregister_listener(f->rdm, &dd.rdl);
    ram_discard_manager_unregister_listener(f->rdm, &a.rdl);
    assert_events("");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    event_log = g_string_new(NULL);

#define ADD(path, fn) \
    g_test_add("/physmem/pluggable-ram/" path, Fixture, NULL, fixture_setup, \
               fn, fixture_teardown)
    ADD("create", test_create);
    ADD("plug-unplug-notify-in-order", test_plug_unplug);
    ADD("plug-errors-change-nothing", test_plug_errors);
    ADD("veto-rolls-back-in-reverse", test_veto_rolls_back);
    ADD("register-replays-unregister-discards", test_register_replays);
    ADD("replay-populated-discarded", test_replay);
    ADD("unplug-all", test_unplug_all);
#undef ADD
    g_test_add_func("/physmem/pluggable-ram/create-errors", test_create_errors);
    g_test_add_func("/physmem/pluggable-ram/starts-discarded",
                    test_starts_discarded);

    ret = g_test_run();
    g_string_free(event_log, true);
    return ret;
}
