/*
 * The exact sequence of MemoryListener callbacks: registration replay,
 * unregistration, every kind of topology change, priority ordering across
 * listeners, dirty logging per region and global dirty tracking.
 *
 * Recording listeners write "TAG CALLBACK [SECTION]" lines to one shared
 * log (memory-test-util.h); sections print as "START+SIZE NAME@OFFSET".
 */
#include "memory-test-util.h"
#include "exec/ram_addr.h"

typedef struct Fixture {
    MemoryRegion root;
    AddressSpace as;
    /* I/O regions "a" at 0x1000 and "b" at 0x3000, 0x1000 bytes each. */
    MemoryRegion a, b;
    /* RAM at 0x8000 once fixture_add_ram() has run. */
    MemoryRegion ram;
    bool has_ram;
    /*
     * From fixture_listen(); fixture_fini() unregisters them, in registration
     * order, before it tears any region down, as the tests used to by hand.
     */
    RecListener *listeners[4];
    unsigned n_listeners;
} Fixture;

/* An I/O region without callbacks: listeners only see where it is mapped. */
static void map_io(MemoryRegion *parent, hwaddr addr, MemoryRegion *mr, const char *name,
                   uint64_t size)
{
    memory_region_init_io(mr, NULL, NULL, NULL, name, size);
    memory_region_add_subregion(parent, addr, mr);
}

static void fixture_init(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    memory_region_init(&f->root, NULL, "root", 0x10000);
    address_space_init(&f->as, &f->root, "test");
    map_io(&f->root, 0x1000, &f->a, "a", 0x1000);
    map_io(&f->root, 0x3000, &f->b, "b", 0x1000);
    rec_log_clear();
}

static void fixture_fini(Fixture *f)
{
    for (unsigned i = 0; i < f->n_listeners; i++) {
        memory_listener_unregister(&f->listeners[i]->ml);
    }
    if (f->has_ram) {
        memory_region_unparent(&f->ram);
    }
    memory_region_unparent(&f->a);
    memory_region_unparent(&f->b);
    address_space_destroy(&f->as);
    memory_region_unparent(&f->root);
    rec_log_clear();
}

/* Registration order matters: it breaks ties between equal priorities. */
static void fixture_listen(Fixture *f, RecListener *l, const char *tag, unsigned priority,
                           bool with_nop, bool with_sync_global)
{
    g_assert_cmpuint(f->n_listeners, <, G_N_ELEMENTS(f->listeners));
    rec_listener_init(l, tag, priority, with_nop, with_sync_global);
    memory_listener_register(&l->ml, &f->as);
    f->listeners[f->n_listeners++] = l;
}

/*
 * The fixture with one listener "L"; its registration replay is dropped, as
 * test_register_replays_view() is where that is checked.
 */
static void fixture_init_listening(Fixture *f, RecListener *l, bool with_nop)
{
    fixture_init(f);
    fixture_listen(f, l, "L", 0, with_nop, false);
    rec_log_clear();
}

static void fixture_add_ram(Fixture *f, const char *name, uint64_t size)
{
    g_assert_true(memory_region_init_ram(&f->ram, NULL, name, size, &error_abort));
    memory_region_add_subregion(&f->root, 0x8000, &f->ram);
    f->has_ram = true;
}

static void test_register_replays_view(void)
{
    Fixture f;
    RecListener l;

    fixture_init(&f);
    rec_listener_init(&l, "L", 0, true, false);
    memory_listener_register(&l.ml, &f.as);
    assert_lines(rec_log_take(), LINES("L begin", "L add 0x1000+0x1000 a@0x0",
                                       "L add 0x3000+0x1000 b@0x0", "L commit"));
    g_assert_true(l.ml.address_space == &f.as);

    /* Registering twice is reported and changes nothing. */
    memory_listener_register(&l.ml, &f.as);
    assert_lines(rec_log_take(), NO_LINES);

    memory_listener_unregister(&l.ml);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x1000+0x1000 a@0x0",
                                       "L del 0x3000+0x1000 b@0x0", "L commit"));
    g_assert_null(l.ml.address_space);
    /* A second unregistration is a no-op. */
    memory_listener_unregister(&l.ml);
    assert_lines(rec_log_take(), NO_LINES);
    fixture_fini(&f);
}

static void test_add_and_remove(void)
{
    Fixture f;
    RecListener l;
    MemoryRegion c;

    fixture_init_listening(&f, &l, true);

    map_io(&f.root, 0x2000, &c, "c", 0x800);
    assert_lines(rec_log_take(), LINES("L begin", "L nop 0x1000+0x1000 a@0x0",
                                       "L add 0x2000+0x800 c@0x0", "L nop 0x3000+0x1000 b@0x0",
                                       "L commit"));
    memory_region_del_subregion(&f.root, &c);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x2000+0x800 c@0x0",
                                       "L nop 0x1000+0x1000 a@0x0", "L nop 0x3000+0x1000 b@0x0",
                                       "L commit"));
    memory_region_unparent(&c);
    fixture_fini(&f);
}

static void test_resize_move_enable(void)
{
    Fixture f;
    RecListener l;

    fixture_init_listening(&f, &l, false);

    memory_region_set_size(&f.a, 0x1800);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x1000+0x1000 a@0x0",
                                       "L add 0x1000+0x1800 a@0x0", "L commit"));
    memory_region_set_address(&f.b, 0x8000);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x3000+0x1000 b@0x0",
                                       "L add 0x8000+0x1000 b@0x0", "L commit"));
    memory_region_set_enabled(&f.a, false);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x1000+0x1800 a@0x0", "L commit"));
    /* No change, no rebuild: not even begin/commit. */
    memory_region_set_enabled(&f.a, false);
    assert_lines(rec_log_take(), NO_LINES);
    memory_region_set_enabled(&f.a, true);
    assert_lines(rec_log_take(), LINES("L begin", "L add 0x1000+0x1800 a@0x0", "L commit"));
    /* An attribute change is a removal and an addition. */
    memory_region_set_readonly(&f.b, true);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x8000+0x1000 b@0x0",
                                       "L add 0x8000+0x1000 b@0x0 ro", "L commit"));
    fixture_fini(&f);
}

static void test_overlap_splits_section(void)
{
    Fixture f;
    RecListener l;
    MemoryRegion hi;

    fixture_init_listening(&f, &l, false);

    memory_region_init_io(&hi, NULL, NULL, NULL, "hi", 0x400);
    memory_region_add_subregion_overlap(&f.root, 0x1400, &hi, 1);
    assert_lines(rec_log_take(),
                 LINES("L begin", "L del 0x1000+0x1000 a@0x0", "L add 0x1000+0x400 a@0x0",
                       "L add 0x1400+0x400 hi@0x0", "L add 0x1800+0x800 a@0x800", "L commit"));
    memory_region_unparent(&hi);
    assert_lines(rec_log_take(),
                 LINES("L begin", "L del 0x1000+0x400 a@0x0", "L del 0x1400+0x400 hi@0x0",
                       "L del 0x1800+0x800 a@0x800", "L add 0x1000+0x1000 a@0x0", "L commit"));
    fixture_fini(&f);
}

static void test_transaction_reports_once(void)
{
    Fixture f;
    RecListener l;

    fixture_init_listening(&f, &l, false);

    memory_region_transaction_begin();
    memory_region_set_address(&f.a, 0x5000);
    memory_region_set_enabled(&f.b, false);
    /* Moving back and forth inside a transaction nets out. */
    memory_region_set_address(&f.a, 0x6000);
    assert_lines(rec_log_take(), NO_LINES);
    memory_region_transaction_commit();
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x1000+0x1000 a@0x0",
                                       "L del 0x3000+0x1000 b@0x0",
                                       "L add 0x6000+0x1000 a@0x0", "L commit"));
    fixture_fini(&f);
}

static void test_priority_order(void)
{
    Fixture f;
    RecListener p10, p0, p5, p0b;
    MemoryRegion c;

    fixture_init(&f);
    fixture_listen(&f, &p10, "P10", 10, false, false);
    fixture_listen(&f, &p0, "P0", 0, false, false);
    fixture_listen(&f, &p5, "P5", 5, false, false);
    fixture_listen(&f, &p0b, "P0b", 0, false, false);
    rec_log_clear();

    /* Additions: increasing priority, registration order among equals. */
    map_io(&f.root, 0x8000, &c, "c", 0x100);
    assert_lines(rec_log_take(),
                 LINES("P0 begin", "P0b begin", "P5 begin", "P10 begin",
                       "P0 add 0x8000+0x100 c@0x0", "P0b add 0x8000+0x100 c@0x0",
                       "P5 add 0x8000+0x100 c@0x0", "P10 add 0x8000+0x100 c@0x0",
                       "P0 commit", "P0b commit", "P5 commit", "P10 commit"));
    /* Removals: the exact reverse. */
    memory_region_del_subregion(&f.root, &c);
    assert_lines(rec_log_take(),
                 LINES("P0 begin", "P0b begin", "P5 begin", "P10 begin",
                       "P10 del 0x8000+0x100 c@0x0", "P5 del 0x8000+0x100 c@0x0",
                       "P0b del 0x8000+0x100 c@0x0", "P0 del 0x8000+0x100 c@0x0",
                       "P0 commit", "P0b commit", "P5 commit", "P10 commit"));
    memory_region_unparent(&c);
    fixture_fini(&f);
}

static void test_other_address_space(void)
{
    Fixture f;
    MemoryRegion root2, c;
    AddressSpace as2;
    RecListener l;

    fixture_init(&f);
    memory_region_init(&root2, NULL, "root2", 0x10000);
    address_space_init(&as2, &root2, "other");
    fixture_listen(&f, &l, "L", 0, false, false);
    rec_log_clear();

    /* begin/commit go to every listener; sections only to those of the space. */
    map_io(&root2, 0, &c, "c", 0x100);
    assert_lines(rec_log_take(), LINES("L begin", "L commit"));
    memory_region_unparent(&c);
    address_space_destroy(&as2);
    memory_region_unparent(&root2);
    fixture_fini(&f);
}

/* A listener that reacts to "trigger" appearing by disabling region "b". */
typedef struct Reactor {
    RecListener rl;
    MemoryRegion *victim;
} Reactor;

static void reactor_add(MemoryListener *ml, MemoryRegionSection *s)
{
    Reactor *r = container_of(ml, Reactor, rl.ml);

    if (!strcmp(memory_region_name(s->mr), "trigger")) {
        memory_region_set_enabled(r->victim, false);
    }
}

static void test_callback_changes_topology(void)
{
    Fixture f;
    Reactor r;
    RecListener l;
    MemoryRegion trigger;

    fixture_init(&f);
    rec_listener_init(&l, "L", 1, false, false);
    memory_listener_register(&l.ml, &f.as);
    memset(&r, 0, sizeof(r));
    r.rl.tag = "R";
    r.rl.ml.region_add = reactor_add;
    r.rl.ml.name = "reactor";
    r.victim = &f.b;
    memory_listener_register(&r.rl.ml, &f.as);
    rec_log_clear();

    /* The change made from the callback is reported by a second round. */
    map_io(&f.root, 0x8000, &trigger, "trigger", 0x100);
    assert_lines(rec_log_take(),
                 LINES("L begin", "L add 0x8000+0x100 trigger@0x0", "L commit",
                       "L begin", "L del 0x3000+0x1000 b@0x0", "L commit"));
    assert_lines(flatview_lines(&f.as),
                 LINES("0x1000+0x1000 a@0x0", "0x8000+0x100 trigger@0x0"));
    memory_listener_unregister(&r.rl.ml);
    memory_listener_unregister(&l.ml);
    memory_region_unparent(&trigger);
    fixture_fini(&f);
}

static void test_region_log_start_stop(void)
{
    Fixture f;
    RecListener l1, l2;
    MemoryRegion *ram = &f.ram;

    fixture_init(&f);
    fixture_add_ram(&f, "listener-ram", 0x1000);
    fixture_listen(&f, &l1, "L1", 0, false, false);
    fixture_listen(&f, &l2, "L2", 1, false, false);
    rec_log_clear();

    memory_region_set_log(ram, true, DIRTY_MEMORY_VGA);
    g_assert_cmpuint(memory_region_get_dirty_log_mask(ram), ==, 1 << DIRTY_MEMORY_VGA);
    assert_lines(rec_log_take(),
                 LINES("L1 begin", "L2 begin", "L1 log_start 0x8000+0x1000 listener-ram@0x0 0->1",
                       "L2 log_start 0x8000+0x1000 listener-ram@0x0 0->1", "L1 commit",
                       "L2 commit"));
    /* Nested: the second start changes nothing. */
    memory_region_set_log(ram, true, DIRTY_MEMORY_VGA);
    assert_lines(rec_log_take(), NO_LINES);

    /* A listener registered now is told the section is logged. */
    memory_listener_unregister(&l2.ml);
    assert_lines(rec_log_take(),
                 LINES("L2 begin", "L2 del 0x1000+0x1000 a@0x0", "L2 del 0x3000+0x1000 b@0x0",
                       "L2 log_stop 0x8000+0x1000 listener-ram@0x0 1->0",
                       "L2 del 0x8000+0x1000 listener-ram@0x0", "L2 commit"));
    memory_listener_register(&l2.ml, &f.as);
    assert_lines(rec_log_take(),
                 LINES("L2 begin", "L2 add 0x1000+0x1000 a@0x0", "L2 add 0x3000+0x1000 b@0x0",
                       "L2 add 0x8000+0x1000 listener-ram@0x0",
                       "L2 log_start 0x8000+0x1000 listener-ram@0x0 0->1", "L2 commit"));

    /* Stopping: reverse priority order. */
    memory_region_set_log(ram, false, DIRTY_MEMORY_VGA);
    assert_lines(rec_log_take(), NO_LINES);
    memory_region_set_log(ram, false, DIRTY_MEMORY_VGA);
    assert_lines(rec_log_take(),
                 LINES("L1 begin", "L2 begin", "L2 log_stop 0x8000+0x1000 listener-ram@0x0 1->0",
                       "L1 log_stop 0x8000+0x1000 listener-ram@0x0 1->0", "L1 commit",
                       "L2 commit"));
    /* Unbalanced stops and the migration client are refused. */
    memory_region_set_log(ram, false, DIRTY_MEMORY_VGA);
    memory_region_set_log(ram, true, DIRTY_MEMORY_MIGRATION);
    assert_lines(rec_log_take(), NO_LINES);
    g_assert_cmpuint(memory_region_get_dirty_log_mask(ram), ==, 0);
    fixture_fini(&f);
}

static void test_global_dirty_log(void)
{
    Fixture f;
    RecListener a, b;
    Error *err = NULL;

    fixture_init(&f);
    fixture_add_ram(&f, "global-ram", 0x2000);
    fixture_listen(&f, &a, "A", 0, false, false);
    fixture_listen(&f, &b, "B", 1, false, true);
    rec_log_clear();

    /* Listeners first, then every RAM section (only RAM) starts logging. */
    g_assert_true(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &err));
    assert_no_error(err);
    assert_lines(rec_log_take(),
                 LINES("A global_start", "B global_start", "A begin", "B begin",
                       "A log_start 0x8000+0x2000 global-ram@0x0 0->4",
                       "B log_start 0x8000+0x2000 global-ram@0x0 0->4", "A commit", "B commit"));
    g_assert_true(memory_region_is_logging(&f.ram, DIRTY_MEMORY_MIGRATION));
    g_assert_false(memory_region_is_logging(&f.a, DIRTY_MEMORY_MIGRATION));

    /* A second reason: nothing to tell. */
    g_assert_true(memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE, &err));
    assert_lines(rec_log_take(), NO_LINES);

    /* Sync: per logged section with log_sync, else once globally; then after_sync. */
    memory_global_dirty_log_sync(false);
    assert_lines(rec_log_take(), LINES("A sync 0x8000+0x2000 global-ram@0x0", "B sync_global",
                                       "A after_sync", "B after_sync"));
    memory_global_dirty_log_sync(true);
    assert_lines(rec_log_take(), LINES("A sync 0x8000+0x2000 global-ram@0x0",
                                       "B sync_global last", "A after_sync", "B after_sync"));

    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    assert_lines(rec_log_take(), NO_LINES);
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
    assert_lines(rec_log_take(),
                 LINES("A begin", "B begin", "B log_stop 0x8000+0x2000 global-ram@0x0 4->0",
                       "A log_stop 0x8000+0x2000 global-ram@0x0 4->0", "A commit", "B commit",
                       "B global_stop", "A global_stop"));
    g_assert_cmpuint(global_dirty_tracking, ==, 0);

    /* Bad flags are an error, not an abort. */
    g_assert_false(memory_global_dirty_log_start(0, &err));
    assert_error_mentions(&err, "flags", NULL);
    g_assert_false(memory_global_dirty_log_start(0x100, &err));
    assert_error_mentions(&err, "0x100", NULL);
    fixture_fini(&f);
}

static void test_global_start_rollback(void)
{
    Fixture f;
    RecListener a, b, c;
    Error *err = NULL;

    fixture_init(&f);
    fixture_listen(&f, &a, "A", 0, false, false);
    fixture_listen(&f, &b, "B", 1, false, false);
    fixture_listen(&f, &c, "C", 2, false, false);
    b.refuse_global_start = "device cannot track";
    rec_log_clear();

    g_assert_false(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &err));
    assert_error_mentions(&err, "B", "device cannot track", NULL);
    assert_lines(rec_log_take(),
                 LINES("A global_start", "B global_start refused", "A global_stop"));
    g_assert_cmpuint(global_dirty_tracking, ==, 0);
    fixture_fini(&f);
}

static void test_register_while_tracking(void)
{
    Fixture f;
    RecListener l;

    fixture_init(&f);
    fixture_add_ram(&f, "tracked-ram", 0x1000);
    g_assert_true(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &error_abort));
    rec_log_clear();

    fixture_listen(&f, &l, "L", 0, false, false);
    assert_lines(rec_log_take(),
                 LINES("L begin", "L global_start", "L add 0x1000+0x1000 a@0x0",
                       "L add 0x3000+0x1000 b@0x0", "L add 0x8000+0x1000 tracked-ram@0x0",
                       "L log_start 0x8000+0x1000 tracked-ram@0x0 0->4", "L commit"));
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    fixture_fini(&f);
}

static void test_destroy_unregisters(void)
{
    MemoryRegion root, a;
    AddressSpace as;
    RecListener l;

    memory_region_init(&root, NULL, "root", 0x1000);
    map_io(&root, 0, &a, "a", 0x100);
    address_space_init(&as, &root, "doomed");
    rec_listener_init(&l, "L", 0, false, false);
    memory_listener_register(&l.ml, &as);
    rec_log_clear();
    address_space_destroy(&as);
    assert_lines(rec_log_take(), LINES("L begin", "L del 0x0+0x100 a@0x0", "L commit"));
    g_assert_null(l.ml.address_space);
    memory_region_unparent(&a);
    memory_region_unparent(&root);
}

/*
 * A listener that mirrors the view from the callbacks alone: region_add
 * must be for a section it doesn't have, region_del and region_nop for one
 * it has.  After every commit its set must equal the view.
 */
typedef struct Mirror {
    MemoryListener ml;
    GHashTable *sections;
    unsigned errors;
} Mirror;

static char *mirror_key(MemoryRegionSection *s)
{
    return g_strdup_printf("0x%" PRIx64 "+0x%" PRIx64 " %s@0x%" PRIx64 "%s",
                           s->offset_within_address_space, int128_get64(s->size),
                           memory_region_name(s->mr), s->offset_within_region,
                           s->readonly ? " ro" : "");
}

static void mirror_add(MemoryListener *l, MemoryRegionSection *s)
{
    Mirror *m = container_of(l, Mirror, ml);
    char *key = mirror_key(s);

    if (g_hash_table_contains(m->sections, key)) {
        g_test_message("region_add for a section already there: %s", key);
        m->errors++;
    }
    g_hash_table_add(m->sections, key);
}

static void mirror_del(MemoryListener *l, MemoryRegionSection *s)
{
    Mirror *m = container_of(l, Mirror, ml);
    g_autofree char *key = mirror_key(s);

    if (!g_hash_table_remove(m->sections, key)) {
        g_test_message("region_del for a section not there: %s", key);
        m->errors++;
    }
}

static void mirror_nop(MemoryListener *l, MemoryRegionSection *s)
{
    Mirror *m = container_of(l, Mirror, ml);
    g_autofree char *key = mirror_key(s);

    if (!g_hash_table_contains(m->sections, key)) {
        g_test_message("region_nop for a section not there: %s", key);
        m->errors++;
    }
}

static void mirror_check(Mirror *m, AddressSpace *as, unsigned step)
{
    char **lines = flatview_lines(as);
    guint i, n = g_strv_length(lines);

    if (n != g_hash_table_size(m->sections)) {
        g_test_message("step %u: view has %u sections, mirror %u", step, n,
                       g_hash_table_size(m->sections));
        m->errors++;
    }
    for (i = 0; i < n; i++) {
        if (!g_hash_table_contains(m->sections, lines[i])) {
            g_test_message("step %u: mirror lacks %s", step, lines[i]);
            m->errors++;
        }
    }
    g_strfreev(lines);
}

#define MIRROR_LEAVES 10
#define MIRROR_UNIT   0x100

static void test_random_changes_keep_mirror(void)
{
    MemoryRegion root, leaves[MIRROR_LEAVES];
    AddressSpace as;
    Mirror m = {
        .ml = { .region_add = mirror_add, .region_del = mirror_del, .region_nop = mirror_nop,
                .name = "mirror" },
        .sections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    GRand *rand = g_rand_new_with_seed(99);
    unsigned step, i;

    memory_region_init(&root, NULL, "root", 64 * MIRROR_UNIT);
    address_space_init(&as, &root, "mirror");
    for (i = 0; i < MIRROR_LEAVES; i++) {
        g_autofree char *name = g_strdup_printf("m%u", i);

        memory_region_init_io(&leaves[i], NULL, NULL, NULL, name,
                              g_rand_int_range(rand, 1, 9) * MIRROR_UNIT);
        memory_region_add_subregion_overlap(&root, g_rand_int_range(rand, 0, 56) * MIRROR_UNIT,
                                            &leaves[i], g_rand_int_range(rand, -1, 2));
    }
    memory_listener_register(&m.ml, &as);
    mirror_check(&m, &as, 0);

    for (step = 1; step <= 500 && !m.errors; step++) {
        unsigned batch = g_rand_int_range(rand, 1, 4), b;

        memory_region_transaction_begin();
        for (b = 0; b < batch; b++) {
            MemoryRegion *mr = &leaves[g_rand_int_range(rand, 0, MIRROR_LEAVES)];
            uint64_t units = memory_region_size(mr) / MIRROR_UNIT;

            switch (g_rand_int_range(rand, 0, 5)) {
            case 0:
                memory_region_set_enabled(mr, !mr->enabled);
                break;
            case 1:
                memory_region_set_address(mr, g_rand_int_range(rand, 0, 64 - units + 1) *
                                              MIRROR_UNIT);
                break;
            case 2:
                memory_region_del_subregion(&root, mr);
                memory_region_add_subregion_overlap(&root, g_rand_int_range(rand, 0, 56) *
                                                    MIRROR_UNIT, mr,
                                                    g_rand_int_range(rand, -1, 2));
                break;
            case 3:
                memory_region_set_readonly(mr, !mr->readonly);
                break;
            case 4:
                if (mr->addr + 8 * MIRROR_UNIT <= 64 * MIRROR_UNIT) {
                    memory_region_set_size(mr, g_rand_int_range(rand, 1, 9) * MIRROR_UNIT);
                }
                break;
            }
        }
        memory_region_transaction_commit();
        mirror_check(&m, &as, step);
    }
    g_assert_cmpuint(m.errors, ==, 0);

    memory_listener_unregister(&m.ml);
    g_assert_cmpuint(g_hash_table_size(m.sections), ==, 0);
    g_hash_table_destroy(m.sections);
    g_rand_free(rand);
    address_space_destroy(&as);
    for (i = 0; i < MIRROR_LEAVES; i++) {
        memory_region_unparent(&leaves[i]);
    }
    memory_region_unparent(&root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/listener/register-replays-view", test_register_replays_view);
    g_test_add_func("/memory/listener/add-and-remove", test_add_and_remove);
    g_test_add_func("/memory/listener/resize-move-enable", test_resize_move_enable);
    g_test_add_func("/memory/listener/overlap-splits-section", test_overlap_splits_section);
    g_test_add_func("/memory/listener/transaction-reports-once", test_transaction_reports_once);
    g_test_add_func("/memory/listener/priority-order", test_priority_order);
    g_test_add_func("/memory/listener/other-address-space", test_other_address_space);
    g_test_add_func("/memory/listener/callback-changes-topology",
                    test_callback_changes_topology);
    g_test_add_func("/memory/listener/region-log-start-stop", test_region_log_start_stop);
    g_test_add_func("/memory/listener/global-dirty-log", test_global_dirty_log);
    g_test_add_func("/memory/listener/global-start-rollback", test_global_start_rollback);
    g_test_add_func("/memory/listener/register-while-tracking", test_register_while_tracking);
    g_test_add_func("/memory/listener/destroy-unregisters", test_destroy_unregisters);
    g_test_add_func("/memory/listener/random-changes-keep-mirror",
                    test_random_changes_keep_mirror);
    return g_test_run();
}
