/*
 * Rendering region trees into flat views: holes, priorities, overlaps,
 * aliases, disabled and read-only regions, the full 2^64 space,
 * transactions, memory_region_find and region lifetime.
 *
 * Views are printed as "START+SIZE NAME@OFFSET[ ro]" (memory-test-util.h).
 */
#include "memory-test-util.h"
#include "exec/address-spaces.h"

/* A test machine: a 64 KiB root container shown by one address space. */
typedef struct Fixture {
    MemoryRegion root;
    AddressSpace as;
} Fixture;

static void fixture_init(Fixture *f)
{
    memory_region_init(&f->root, NULL, "root", 0x10000);
    address_space_init(&f->as, &f->root, "test");
}

static void fixture_fini(Fixture *f)
{
    address_space_destroy(&f->as);
    memory_region_unparent(&f->root);
}

/* A leaf whose accesses fail: rendering doesn't care what a leaf does. */
static void leaf(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_io(mr, NULL, NULL, NULL, name, size);
}

static void test_empty(void)
{
    Fixture f;

    fixture_init(&f);
    assert_lines(flatview_lines(&f.as), NO_LINES);
    fixture_fini(&f);
}

static void test_holes(void)
{
    Fixture f;
    MemoryRegion a, b;

    fixture_init(&f);
    leaf(&a, "a", 0x1000);
    leaf(&b, "b", 0x2000);
    memory_region_add_subregion(&f.root, 0x3000, &b);
    memory_region_add_subregion(&f.root, 0x1000, &a);
    assert_lines(flatview_lines(&f.as), LINES("0x1000+0x1000 a@0x0", "0x3000+0x2000 b@0x0"));
    memory_region_unparent(&a);
    memory_region_unparent(&b);
    assert_lines(flatview_lines(&f.as), NO_LINES);
    fixture_fini(&f);
}

static void test_priority(void)
{
    Fixture f;
    MemoryRegion low, high;

    /* The higher priority shows whichever was added first. */
    fixture_init(&f);
    leaf(&low, "low", 0x4000);
    leaf(&high, "high", 0x1000);
    memory_region_add_subregion_overlap(&f.root, 0x1000, &high, 1);
    memory_region_add_subregion_overlap(&f.root, 0, &low, 0);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x1000 low@0x0", "0x1000+0x1000 high@0x0", "0x2000+0x2000 low@0x2000"));

    /* A lower priority below the other: the other one shows everywhere it is. */
    memory_region_del_subregion(&f.root, &high);
    memory_region_add_subregion_overlap(&f.root, 0x1000, &high, -1);
    assert_lines(flatview_lines(&f.as), LINES("0x0+0x4000 low@0x0"));
    memory_region_unparent(&low);
    memory_region_unparent(&high);
    fixture_fini(&f);
}

static void test_equal_priority_last_added_wins(void)
{
    Fixture f;
    MemoryRegion first, second;

    fixture_init(&f);
    leaf(&first, "first", 0x2000);
    leaf(&second, "second", 0x2000);
    memory_region_add_subregion_overlap(&f.root, 0x0, &first, 0);
    memory_region_add_subregion_overlap(&f.root, 0x1000, &second, 0);
    assert_lines(flatview_lines(&f.as), LINES("0x0+0x1000 first@0x0", "0x1000+0x2000 second@0x0"));
    memory_region_unparent(&first);
    memory_region_unparent(&second);
    fixture_fini(&f);
}

static void test_region_with_subregions(void)
{
    Fixture f;
    MemoryRegion dev, reg;

    /* A leaf that also holds subregions: the children cover it. */
    fixture_init(&f);
    leaf(&dev, "dev", 0x4000);
    leaf(&reg, "reg", 0x1000);
    memory_region_add_subregion(&dev, 0x1000, &reg);
    memory_region_add_subregion(&f.root, 0x8000, &dev);
    assert_lines(flatview_lines(&f.as), LINES("0x8000+0x1000 dev@0x0", "0x9000+0x1000 reg@0x0",
                                              "0xa000+0x2000 dev@0x2000"));
    memory_region_unparent(&reg);
    memory_region_unparent(&dev);
    fixture_fini(&f);
}

static void test_nested_containers(void)
{
    Fixture f;
    MemoryRegion x, y, z;

    fixture_init(&f);
    memory_region_init(&x, NULL, "x", 0x8000);
    memory_region_init(&y, NULL, "y", 0x1000);
    leaf(&z, "z", 0x10);
    memory_region_add_subregion(&y, 0x10, &z);
    memory_region_add_subregion(&x, 0x100, &y);
    memory_region_add_subregion(&f.root, 0x8000, &x);
    assert_lines(flatview_lines(&f.as), LINES("0x8110+0x10 z@0x0"));
    memory_region_unparent(&z);
    memory_region_unparent(&y);
    memory_region_unparent(&x);
    fixture_fini(&f);
}

static void test_alias(void)
{
    Fixture f;
    MemoryRegion target, sub, alias, alias2;

    fixture_init(&f);
    leaf(&target, "target", 0x4000);
    leaf(&sub, "sub", 0x800);
    memory_region_add_subregion(&target, 0x1800, &sub);
    /* The target itself need not be mapped anywhere. */
    memory_region_init_alias(&alias, NULL, "alias", &target, 0x1000, 0x2000);
    memory_region_add_subregion(&f.root, 0x8000, &alias);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x8000+0x800 target@0x1000", "0x8800+0x800 sub@0x0",
                       "0x9000+0x1000 target@0x2000"));

    /* An alias of an alias adds up the offsets. */
    memory_region_init_alias(&alias2, NULL, "alias2", &alias, 0x1000, 0x1000);
    memory_region_add_subregion(&f.root, 0x0, &alias2);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x1000 target@0x2000", "0x8000+0x800 target@0x1000",
                       "0x8800+0x800 sub@0x0", "0x9000+0x1000 target@0x2000"));

    /* Moving the window re-renders it. */
    memory_region_set_alias_offset(&alias, 0);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x800 target@0x1000", "0x800+0x800 sub@0x0",
                       "0x8000+0x1800 target@0x0", "0x9800+0x800 sub@0x0"));
    memory_region_unparent(&alias2);
    memory_region_unparent(&alias);
    memory_region_unparent(&sub);
    memory_region_unparent(&target);
    fixture_fini(&f);
}

static void test_adjacent_aliases_merge(void)
{
    Fixture f;
    MemoryRegion target, lo, hi;

    /* Two windows that continue each other render as one range. */
    fixture_init(&f);
    leaf(&target, "target", 0x2000);
    memory_region_init_alias(&lo, NULL, "lo", &target, 0, 0x1000);
    memory_region_init_alias(&hi, NULL, "hi", &target, 0x1000, 0x1000);
    memory_region_add_subregion(&f.root, 0x4000, &lo);
    memory_region_add_subregion(&f.root, 0x5000, &hi);
    assert_lines(flatview_lines(&f.as), LINES("0x4000+0x2000 target@0x0"));
    /* ... but not when the offsets don't continue. */
    memory_region_set_address(&hi, 0x6000);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x4000+0x1000 target@0x0", "0x6000+0x1000 target@0x1000"));
    memory_region_unparent(&lo);
    memory_region_unparent(&hi);
    memory_region_unparent(&target);
    fixture_fini(&f);
}

static void test_disabled(void)
{
    Fixture f;
    MemoryRegion low, high, box, inner;

    fixture_init(&f);
    leaf(&low, "low", 0x4000);
    leaf(&high, "high", 0x1000);
    memory_region_add_subregion_overlap(&f.root, 0, &low, 0);
    memory_region_add_subregion_overlap(&f.root, 0x1000, &high, 1);
    memory_region_set_enabled(&high, false);
    assert_lines(flatview_lines(&f.as), LINES("0x0+0x4000 low@0x0"));
    memory_region_set_enabled(&high, true);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x1000 low@0x0", "0x1000+0x1000 high@0x0", "0x2000+0x2000 low@0x2000"));

    /* A disabled container hides its whole subtree. */
    memory_region_init(&box, NULL, "box", 0x1000);
    leaf(&inner, "inner", 0x100);
    memory_region_add_subregion(&box, 0, &inner);
    memory_region_set_enabled(&box, false);
    memory_region_add_subregion(&f.root, 0x8000, &box);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x1000 low@0x0", "0x1000+0x1000 high@0x0", "0x2000+0x2000 low@0x2000"));
    memory_region_set_enabled(&box, true);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x1000 low@0x0", "0x1000+0x1000 high@0x0", "0x2000+0x2000 low@0x2000",
                       "0x8000+0x100 inner@0x0"));
    memory_region_unparent(&inner);
    memory_region_unparent(&box);
    memory_region_unparent(&low);
    memory_region_unparent(&high);
    fixture_fini(&f);
}

static void test_readonly_and_nonvolatile(void)
{
    Fixture f;
    MemoryRegion box, a, target, alias;

    fixture_init(&f);
    memory_region_init(&box, NULL, "box", 0x2000);
    leaf(&a, "a", 0x1000);
    memory_region_add_subregion(&box, 0, &a);
    memory_region_add_subregion(&f.root, 0, &box);
    memory_region_set_readonly(&box, true);
    leaf(&target, "target", 0x1000);
    memory_region_init_alias(&alias, NULL, "alias", &target, 0, 0x1000);
    memory_region_set_nonvolatile(&alias, true);
    memory_region_add_subregion(&f.root, 0x4000, &alias);
    assert_lines(flatview_lines(&f.as),
                 LINES("0x0+0x1000 a@0x0 ro", "0x4000+0x1000 target@0x0 nv"));
    memory_region_set_readonly(&box, false);
    assert_lines(flatview_lines(&f.as), LINES("0x0+0x1000 a@0x0", "0x4000+0x1000 target@0x0 nv"));
    memory_region_unparent(&alias);
    memory_region_unparent(&target);
    memory_region_unparent(&a);
    memory_region_unparent(&box);
    fixture_fini(&f);
}

static void test_full_address_space(void)
{
    MemoryRegion *sysmem = get_system_memory();
    MemoryRegion bg, top, mid;

    /* 2^64 bytes render without overflow, up to the last byte. */
    leaf(&bg, "bg", UINT64_MAX);
    leaf(&top, "top", 0x1000);
    leaf(&mid, "mid", 0x1000);
    memory_region_add_subregion_overlap(sysmem, 0, &bg, -1);
    assert_lines(flatview_lines(&address_space_memory), LINES("0x0+0x10000000000000000 bg@0x0"));
    memory_region_add_subregion(sysmem, 0xfffffffffffff000ULL, &top);
    memory_region_add_subregion(sysmem, 0x80000000ULL, &mid);
    assert_lines(flatview_lines(&address_space_memory),
                 LINES("0x0+0x80000000 bg@0x0", "0x80000000+0x1000 mid@0x0",
                       "0x80001000+0xffffffff7fffe000 bg@0x80001000",
                       "0xfffffffffffff000+0x1000 top@0x0"));
    g_assert_cmpuint(memory_region_size(&bg), ==, UINT64_MAX);
    memory_region_unparent(&top);
    memory_region_unparent(&mid);
    memory_region_unparent(&bg);
    assert_lines(flatview_lines(&address_space_memory), NO_LINES);
}

static void test_move_and_resize(void)
{
    Fixture f;
    MemoryRegion a, box;

    fixture_init(&f);
    leaf(&a, "a", 0x1000);
    memory_region_add_subregion(&f.root, 0x1000, &a);
    memory_region_set_address(&a, 0x3000);
    assert_lines(flatview_lines(&f.as), LINES("0x3000+0x1000 a@0x0"));
    memory_region_set_size(&a, 0x2000);
    assert_lines(flatview_lines(&f.as), LINES("0x3000+0x2000 a@0x0"));
    g_assert_cmpuint(memory_region_size(&a), ==, 0x2000);

    /* An unmapped region just records its new address. */
    memory_region_init(&box, NULL, "box", 0x100);
    memory_region_set_address(&box, 0x1234);
    g_assert_cmphex(box.addr, ==, 0x1234);
    memory_region_unparent(&box);
    memory_region_unparent(&a);
    fixture_fini(&f);
}

static void test_transaction_defers_rendering(void)
{
    Fixture f;
    MemoryRegion a, b;
    FlatView *before;

    fixture_init(&f);
    leaf(&a, "a", 0x1000);
    leaf(&b, "b", 0x1000);
    before = address_space_to_flatview(&f.as);
    memory_region_transaction_begin();
    memory_region_add_subregion(&f.root, 0, &a);
    memory_region_transaction_begin();
    memory_region_add_subregion(&f.root, 0x1000, &b);
    memory_region_transaction_commit();
    /* Still inside the outer transaction: nothing rendered yet. */
    g_assert_true(address_space_to_flatview(&f.as) == before);
    assert_lines(flatview_lines(&f.as), NO_LINES);
    memory_region_transaction_commit();
    assert_lines(flatview_lines(&f.as), LINES("0x0+0x1000 a@0x0", "0x1000+0x1000 b@0x0"));

    /* A transaction that changes nothing keeps the view. */
    before = address_space_to_flatview(&f.as);
    memory_region_transaction_begin();
    memory_region_transaction_commit();
    g_assert_true(address_space_to_flatview(&f.as) == before);
    memory_region_unparent(&a);
    memory_region_unparent(&b);
    fixture_fini(&f);
}

static void test_shared_root_shares_view(void)
{
    Fixture f;
    AddressSpace as2;
    MemoryRegion a;

    fixture_init(&f);
    address_space_init(&as2, &f.root, "test2");
    leaf(&a, "a", 0x1000);
    memory_region_add_subregion(&f.root, 0, &a);
    g_assert_true(address_space_to_flatview(&f.as) == address_space_to_flatview(&as2));
    address_space_destroy(&as2);
    memory_region_unparent(&a);
    fixture_fini(&f);
}

static void test_find(void)
{
    Fixture f;
    MemoryRegion box, a, b;
    MemoryRegionSection s;

    fixture_init(&f);
    memory_region_init(&box, NULL, "box", 0x8000);
    leaf(&a, "a", 0x1000);
    leaf(&b, "b", 0x1000);
    memory_region_add_subregion(&box, 0x1000, &a);
    memory_region_add_subregion(&box, 0x3000, &b);
    memory_region_add_subregion(&f.root, 0x4000, &box);

    /* Offsets are relative to the region searched; the section is clipped. */
    s = memory_region_find(&box, 0x1800, 0x100);
    g_assert_true(s.mr == &a);
    g_assert_cmphex(s.offset_within_region, ==, 0x800);
    g_assert_cmphex(s.offset_within_address_space, ==, 0x5800);
    g_assert_true(int128_eq(s.size, int128_make64(0x100)));
    /* creator, container, flat view and the section */
    g_assert_cmpuint(a.refcount, ==, 4);
    memory_region_unref(s.mr);

    /* Starting in a hole: the first mapped piece inside the window. */
    s = memory_region_find(&f.root, 0x5000, 0x4000);
    g_assert_true(s.mr == &a);
    memory_region_unref(s.mr);
    s = memory_region_find(&f.root, 0x6000, 0x2000);
    g_assert_true(s.mr == &b);
    g_assert_cmphex(s.offset_within_address_space, ==, 0x7000);
    g_assert_true(int128_eq(s.size, int128_make64(0x1000)));
    memory_region_unref(s.mr);

    /* Nothing there, or not in any address space. */
    s = memory_region_find(&f.root, 0x0, 0x4000);
    g_assert_null(s.mr);
    memory_region_del_subregion(&f.root, &box);
    s = memory_region_find(&box, 0x1000, 0x10);
    g_assert_null(s.mr);

    memory_region_unparent(&a);
    memory_region_unparent(&b);
    memory_region_unparent(&box);
    fixture_fini(&f);
}

static void test_lifetime(void)
{
    Fixture f;
    MemoryRegion a, box, child;
    MemoryRegionSection s, *copy;

    fixture_init(&f);
    leaf(&a, "a", 0x1000);
    memory_region_add_subregion(&f.root, 0, &a);
    g_assert_cmpuint(a.refcount, ==, 3);     /* creator, container, flat view */

    /* A section copy keeps the region alive after its creator lets go. */
    s = memory_region_find(&f.root, 0, 0x1000);
    copy = memory_region_section_new_copy(&s);
    memory_region_unref(s.mr);
    memory_region_unparent(&a);
    /* The copy's own reference and the one of the old view the copy pins. */
    g_assert_cmpuint(a.refcount, ==, 2);
    g_assert_cmpstr(memory_region_name(&a), ==, "a");
    assert_lines(flatview_lines(&f.as), NO_LINES);
    memory_region_section_free_copy(copy);
    g_assert_cmpuint(a.refcount, ==, 0);

    /* Unparenting twice, or a zeroed region, is harmless. */
    memory_region_unparent(&a);
    memset(&box, 0, sizeof(box));
    memory_region_unparent(&box);

    /* A finalised container lets its children go. */
    memory_region_init(&box, NULL, "box", 0x1000);
    leaf(&child, "child", 0x100);
    memory_region_add_subregion(&box, 0, &child);
    memory_region_unparent(&box);
    g_assert_null(child.container);
    g_assert_cmpuint(child.refcount, ==, 1);
    memory_region_unparent(&child);
    fixture_fini(&f);
}

/*
 * The visible leaf at @addr by definition: the first leaf, walking
 * children in list order before the region itself, whose window covers
 * @addr.  Independent of the renderer, for comparing against it.
 */
static MemoryRegion *model_owner(MemoryRegion *mr, Int128 origin, Int128 lo, Int128 hi,
                                 Int128 addr, hwaddr *offset)
{
    GList *l;

    if (!mr->enabled) {
        return NULL;
    }
    lo = int128_max(lo, origin);
    hi = int128_min(hi, int128_add(origin, mr->size));
    if (int128_lt(addr, lo) || int128_ge(addr, hi)) {
        return NULL;
    }
    if (mr->alias) {
        return model_owner(mr->alias, int128_sub(origin, int128_make64(mr->alias_offset)), lo,
                           hi, addr, offset);
    }
    for (l = mr->subregions.head; l; l = l->next) {
        MemoryRegion *sub = l->data;
        MemoryRegion *found = model_owner(sub, int128_add(origin, int128_make64(sub->addr)),
                                          lo, hi, addr, offset);

        if (found) {
            return found;
        }
    }
    if (mr->terminates) {
        *offset = int128_get64(int128_sub(addr, origin));
        return mr;
    }
    return NULL;
}

#define RND_UNIT   0x100
#define RND_UNITS  64
#define RND_LEAVES 12
#define RND_BOXES  3
#define RND_ALIASES 4

/* Place @mr at a random offset of @container where it fits (it always does). */
static void random_place(GRand *rand, MemoryRegion *container, MemoryRegion *mr)
{
    uint64_t room = memory_region_size(container) - memory_region_size(mr);
    hwaddr offset = g_rand_int_range(rand, 0, room / RND_UNIT + 1) * RND_UNIT;

    g_assert_true(memory_region_add_subregion_overlap_checked(
        container, offset, mr, g_rand_int_range(rand, -2, 3), &error_abort));
}

static void test_random_trees_match_model(void)
{
    GRand *rand = g_rand_new_with_seed(1234);
    unsigned seed;

    for (seed = 0; seed < 200; seed++) {
        MemoryRegion root, leaves[RND_LEAVES], boxes[RND_BOXES], aliases[RND_ALIASES];
        AddressSpace as;
        unsigned i, u;

        memory_region_init(&root, NULL, "root", RND_UNITS * RND_UNIT);
        address_space_init(&as, &root, "random");
        memory_region_transaction_begin();
        for (i = 0; i < RND_BOXES; i++) {
            g_autofree char *name = g_strdup_printf("box%u", i);
            MemoryRegion *parent = i ? &boxes[g_rand_int_range(rand, 0, i)] : &root;
            unsigned max_units = MIN(32, memory_region_size(parent) / RND_UNIT);

            /* Nested boxes are never bigger than their parent, and hold any leaf. */
            memory_region_init(&boxes[i], NULL, name,
                               g_rand_int_range(rand, 8, max_units + 1) * RND_UNIT);
            random_place(rand, parent, &boxes[i]);
        }
        for (i = 0; i < RND_LEAVES; i++) {
            g_autofree char *name = g_strdup_printf("leaf%u", i);
            unsigned where = g_rand_int_range(rand, 0, RND_BOXES + 1);

            leaf(&leaves[i], name, g_rand_int_range(rand, 1, 9) * RND_UNIT);
            random_place(rand, where == RND_BOXES ? &root : &boxes[where], &leaves[i]);
            if (g_rand_int_range(rand, 0, 8) == 0) {
                memory_region_set_enabled(&leaves[i], false);
            }
        }
        for (i = 0; i < RND_ALIASES; i++) {
            g_autofree char *name = g_strdup_printf("alias%u", i);
            MemoryRegion *target = g_rand_boolean(rand) ? &leaves[i] : &boxes[i % RND_BOXES];
            uint64_t tsize = memory_region_size(target) / RND_UNIT;
            uint64_t size = g_rand_int_range(rand, 1, tsize + 1);
            uint64_t off = g_rand_int_range(rand, 0, tsize - size + 1);

            memory_region_init_alias(&aliases[i], NULL, name, target, off * RND_UNIT,
                                     size * RND_UNIT);
            random_place(rand, &root, &aliases[i]);
        }
        memory_region_transaction_commit();

        for (u = 0; u < RND_UNITS * RND_UNIT; u += RND_UNIT / 4) {
            hwaddr model_off = 0, xlat, len = 1;
            MemoryRegion *want = model_owner(&root, 0, 0, int128_2_64(), u, &model_off);
            MemoryRegion *got = address_space_translate(&as, u, &xlat, &len, false,
                                                        MEMTXATTRS_UNSPECIFIED);

            if (!want) {
                g_assert_false(memory_region_is_ram(got));
                g_assert_true(got->name && !strcmp(got->name, "unassigned"));
            } else if (got != want || xlat != model_off) {
                g_test_message("seed %u addr 0x%x: model %s@0x%" PRIx64 ", view %s@0x%" PRIx64,
                               seed, u, want->name, model_off, got->name, xlat);
                g_test_fail();
                return;
            }
        }

        address_space_destroy(&as);
        for (i = 0; i < RND_ALIASES; i++) {
            memory_region_unparent(&aliases[i]);
        }
        for (i = 0; i < RND_LEAVES; i++) {
            memory_region_unparent(&leaves[i]);
        }
        for (i = RND_BOXES; i-- > 0;) {
            memory_region_unparent(&boxes[i]);
        }
        memory_region_unparent(&root);
    }
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/flatview/empty", test_empty);
    g_test_add_func("/memory/flatview/holes", test_holes);
    g_test_add_func("/memory/flatview/priority", test_priority);
    g_test_add_func("/memory/flatview/equal-priority-last-added-wins",
                    test_equal_priority_last_added_wins);
    g_test_add_func("/memory/flatview/region-with-subregions", test_region_with_subregions);
    g_test_add_func("/memory/flatview/nested-containers", test_nested_containers);
    g_test_add_func("/memory/flatview/alias", test_alias);
    g_test_add_func("/memory/flatview/adjacent-aliases-merge", test_adjacent_aliases_merge);
    g_test_add_func("/memory/flatview/disabled", test_disabled);
    g_test_add_func("/memory/flatview/readonly-nonvolatile", test_readonly_and_nonvolatile);
    g_test_add_func("/memory/flatview/full-address-space", test_full_address_space);
    g_test_add_func("/memory/flatview/move-and-resize", test_move_and_resize);
    g_test_add_func("/memory/flatview/transaction-defers-rendering",
                    test_transaction_defers_rendering);
    g_test_add_func("/memory/flatview/shared-root-shares-view", test_shared_root_shares_view);
    g_test_add_func("/memory/flatview/find", test_find);
    g_test_add_func("/memory/flatview/lifetime", test_lifetime);
    g_test_add_func("/memory/flatview/random-trees-match-model", test_random_trees_match_model);
    ret = g_test_run();
    memory_map_cleanup();
    return ret;
}
