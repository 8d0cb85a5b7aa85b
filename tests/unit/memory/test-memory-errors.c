/*
 * Bad input is an Error naming the region, never an abort, and leaves the
 * tree (and so the flat view and the listeners) unchanged.
 */
#include "memory-test-util.h"
#include "exec/ramblock.h"

#include <glib/gstdio.h>

typedef struct Fixture {
    MemoryRegion root, a, b;
    AddressSpace as;
    RecListener l;
} Fixture;

/* "a" (0x1000 bytes) at 0x1000, "b" (0x100) at 0x4000, and a recording listener. */
static void fixture_init(Fixture *f)
{
    memory_region_init(&f->root, NULL, "root", 0x10000);
    memory_region_init_io(&f->a, NULL, NULL, NULL, "a", 0x1000);
    memory_region_init_io(&f->b, NULL, NULL, NULL, "b", 0x100);
    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    memory_region_add_subregion(&f->root, 0x4000, &f->b);
    address_space_init(&f->as, &f->root, "errors");
    rec_listener_init(&f->l, "L", 0, true, false);
    memory_listener_register(&f->l.ml, &f->as);
    rec_log_clear();
}

/* Nothing was reported to the listener and the view is still the initial one. */
static void assert_unchanged(Fixture *f)
{
    assert_lines(rec_log_take(), NO_LINES);
    assert_lines(flatview_lines(&f->as), LINES("0x1000+0x1000 a@0x0", "0x4000+0x100 b@0x0"));
}

static void fixture_fini(Fixture *f)
{
    memory_listener_unregister(&f->l.ml);
    address_space_destroy(&f->as);
    memory_region_unparent(&f->a);
    memory_region_unparent(&f->b);
    memory_region_unparent(&f->root);
    rec_log_clear();
}

static void test_add_subregion_errors(void)
{
    Fixture f;
    MemoryRegion c, box, alias, zero;
    Error *err = NULL;

    fixture_init(&f);
    memory_region_init_io(&c, NULL, NULL, NULL, "c", 0x2000);

    /* Already mapped. */
    g_assert_false(memory_region_add_subregion_checked(&f.root, 0x8000, &f.a, &err));
    assert_error_mentions(&err, "'a'", "already mapped", "'root'", NULL);
    /* Does not fit (past the end, and wrapping past 2^64). */
    g_assert_false(memory_region_add_subregion_checked(&f.root, 0xf000, &c, &err));
    assert_error_mentions(&err, "'c'", "0x2000", "0xf000", "does not fit", "'root'", NULL);
    g_assert_false(memory_region_add_subregion_checked(&f.root, UINT64_MAX, &c, &err));
    assert_error_mentions(&err, "does not fit", NULL);
    g_assert_null(c.container);
    /* Into an alias. */
    memory_region_init_alias(&alias, NULL, "alias", &f.a, 0, 0x1000);
    g_assert_false(memory_region_add_subregion_checked(&alias, 0, &c, &err));
    assert_error_mentions(&err, "'alias'", "is an alias", NULL);
    /* A cycle, directly and through an alias. */
    memory_region_init(&box, NULL, "box", 0x2000);
    memory_region_add_subregion(&box, 0, &c);
    /* (Any enabled change rebuilds every address space, as in QEMU.) */
    rec_log_clear();
    g_assert_false(memory_region_add_subregion_checked(&c, 0, &box, &err));
    assert_error_mentions(&err, "cycle", NULL);
    g_assert_false(memory_region_add_subregion_checked(&box, 0, &box, &err));
    assert_error_mentions(&err, "cycle", NULL);
    memory_region_unparent(&alias);
    memory_region_init_alias(&alias, NULL, "loop", &box, 0, 0x1000);
    g_assert_false(memory_region_add_subregion_checked(&c, 0x1000, &alias, &err));
    assert_error_mentions(&err, "'loop'", "cycle", NULL);
    /* Uninitialised regions. */
    memset(&zero, 0, sizeof(zero));
    g_assert_false(memory_region_add_subregion_checked(&f.root, 0, &zero, &err));
    assert_error_mentions(&err, "uninitialised", NULL);
    g_assert_false(memory_region_add_subregion_checked(&zero, 0, &c, &err));
    assert_error_mentions(&err, "uninitialised", NULL);
    /* The QEMU-style wrapper reports and carries on. */
    memory_region_add_subregion(&f.root, 0xf000, &box);
    g_assert_null(box.container);
    assert_unchanged(&f);

    /* Removing what isn't there. */
    g_assert_false(memory_region_del_subregion_checked(&f.root, &c, &err));
    assert_error_mentions(&err, "'c'", "not a subregion", "'root'", NULL);
    memory_region_del_subregion(&f.root, &box);
    assert_unchanged(&f);

    memory_region_unparent(&alias);
    memory_region_unparent(&c);
    memory_region_unparent(&box);
    fixture_fini(&f);
}

static void test_alias_errors(void)
{
    Fixture f;
    MemoryRegion alias, bad;
    Error *err = NULL;

    fixture_init(&f);
    g_assert_false(memory_region_init_alias_checked(&bad, NULL, "bad", &f.a, 0x800, 0x1000,
                                                    &err));
    assert_error_mentions(&err, "'bad'", "outside", "'a'", NULL);
    /* A failed init leaves a harmless region: empty, disabled, unparentable. */
    g_assert_cmpuint(memory_region_size(&bad), ==, 0);
    g_assert_false(bad.enabled);
    g_assert_true(memory_region_add_subregion_checked(&f.root, 0x9000, &bad, &error_abort));
    assert_lines(rec_log_take(), NO_LINES);
    memory_region_unparent(&bad);
    rec_log_clear();

    memory_region_init_alias(&alias, NULL, "alias", &f.a, 0, 0x800);
    memory_region_add_subregion(&f.root, 0x8000, &alias);
    rec_log_clear();
    g_assert_false(memory_region_set_alias_offset_checked(&alias, 0x900, &err));
    assert_error_mentions(&err, "'alias'", "outside", NULL);
    g_assert_false(memory_region_set_alias_offset_checked(&f.a, 0, &err));
    assert_error_mentions(&err, "'a'", "not an alias", NULL);
    g_assert_false(memory_region_set_size_checked(&alias, 0x1001, &err));
    assert_error_mentions(&err, "'alias'", "outside", NULL);
    memory_region_set_alias_offset(&alias, UINT64_MAX);
    g_assert_cmphex(alias.alias_offset, ==, 0);
    assert_lines(rec_log_take(), NO_LINES);
    memory_region_unparent(&alias);

    /* An uninitialised target. */
    memset(&bad, 0, sizeof(bad));
    g_assert_false(memory_region_init_alias_checked(&alias, NULL, "alias", &bad, 0, 1, &err));
    assert_error_mentions(&err, "'alias'", "not initialised", NULL);
    memory_region_unparent(&alias);
    rec_log_clear();
    fixture_fini(&f);
}

static void test_move_and_resize_errors(void)
{
    Fixture f;
    MemoryRegion box, inner;
    Error *err = NULL;

    fixture_init(&f);
    g_assert_false(memory_region_set_address_checked(&f.a, 0xf800, &err));
    assert_error_mentions(&err, "'a'", "does not fit", "'root'", NULL);
    memory_region_set_address(&f.a, 0x10000);
    g_assert_false(memory_region_set_size_checked(&f.b, 0xc001, &err));
    assert_error_mentions(&err, "'b'", "does not fit", NULL);
    assert_unchanged(&f);

    /* A container cannot shrink below a subregion. */
    memory_region_init(&box, NULL, "box", 0x1000);
    memory_region_init_io(&inner, NULL, NULL, NULL, "inner", 0x100);
    memory_region_add_subregion(&box, 0x800, &inner);
    g_assert_false(memory_region_set_size_checked(&box, 0x800, &err));
    assert_error_mentions(&err, "'box'", "'inner'", "outside", NULL);
    g_assert_true(memory_region_set_size_checked(&box, 0x900, &error_abort));
    memory_region_unparent(&inner);
    memory_region_unparent(&box);
    fixture_fini(&f);
}

static void test_io_ops_errors(void)
{
    static const MemoryRegionOps bad_size = {
        .read = regfile_read, .write = regfile_write, .valid.max_access_size = 3,
    };
    static const MemoryRegionOps min_above_max = {
        .read = regfile_read, .write = regfile_write,
        .impl = { .min_access_size = 8, .max_access_size = 4 },
    };
    static const MemoryRegionOps no_read = { .write = regfile_write };
    MemoryRegion mr;
    Error *err = NULL;

    g_assert_false(memory_region_init_io_checked(&mr, NULL, &bad_size, NULL, "dev0", 0x10, &err));
    assert_error_mentions(&err, "'dev0'", "1, 2, 4 or 8", NULL);
    memory_region_unparent(&mr);
    g_assert_false(memory_region_init_io_checked(&mr, NULL, &min_above_max, NULL, "dev1", 0x10,
                                                 &err));
    assert_error_mentions(&err, "'dev1'", "above the maximum", NULL);
    memory_region_unparent(&mr);
    g_assert_false(memory_region_init_io_checked(&mr, NULL, &no_read, NULL, "dev2", 0x10, &err));
    assert_error_mentions(&err, "'dev2'", "read", NULL);
    memory_region_unparent(&mr);
    /* The wrapper reports and leaves the same inert region. */
    memory_region_init_io(&mr, NULL, &no_read, NULL, "dev3", 0x10);
    g_assert_false(mr.enabled);
    memory_region_unparent(&mr);
}

static void test_ram_errors(void)
{
    MemoryRegion mr, first;
    Error *err = NULL;
    size_t page = qemu_real_host_page_size();
    g_autofree char *dir = g_dir_make_tmp("mem-errors-XXXXXX", NULL);
    g_autofree char *missing = g_build_filename(dir, "no", "such", "dir", "file", NULL);

    g_assert_false(memory_region_init_ram(&mr, NULL, "ram0", 0, &err));
    assert_error_mentions(&err, "'ram0'", "size must not be 0", NULL);
    g_assert_cmpuint(memory_region_size(&mr), ==, 0);
    g_assert_null(mr.ram_block);
    memory_region_unparent(&mr);

    g_assert_false(memory_region_init_rom(&mr, NULL, "rom0", 0, &err));
    assert_error_mentions(&err, "'rom0'", NULL);
    memory_region_unparent(&mr);

    g_assert_false(memory_region_init_ram_from_fd(&mr, NULL, "fd0", page + 1, RAM_SHARED, 0, 0,
                                                  &err));
    assert_error_mentions(&err, "'fd0'", "host page size", NULL);
    memory_region_unparent(&mr);
    g_assert_false(memory_region_init_ram_from_fd(&mr, NULL, "fd1", page, RAM_SHARED, -1, 0,
                                                  &err));
    assert_error_mentions(&err, "'fd1'", "file descriptor", NULL);
    memory_region_unparent(&mr);

    g_assert_false(memory_region_init_ram_from_file(&mr, NULL, "file0", page, RAM_SHARED, "",
                                                    false, &err));
    assert_error_mentions(&err, "'file0'", "path", NULL);
    memory_region_unparent(&mr);
    /* physmem's own failure is passed on. */
    g_assert_false(memory_region_init_ram_from_file(&mr, NULL, "file1", page, RAM_SHARED,
                                                    missing, false, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_null(mr.ram_block);
    memory_region_unparent(&mr);

    g_assert_false(memory_region_init_ram_ptr(&mr, NULL, "ptr0", page, NULL, &err));
    assert_error_mentions(&err, "'ptr0'", "NULL", NULL);
    memory_region_unparent(&mr);
    g_assert_false(memory_region_init_ram_device_ptr(&mr, NULL, "dev0", page, NULL, &err));
    assert_error_mentions(&err, "'dev0'", "NULL", NULL);
    memory_region_unparent(&mr);
    g_assert_false(memory_region_init_resizeable_ram(&mr, NULL, "rs0", 2 * page, page, NULL,
                                                     &err));
    assert_error_mentions(&err, "'rs0'", "maximum size", NULL);
    memory_region_unparent(&mr);

    /* Guest RAM names identify blocks for migration: no duplicates. */
    g_assert_true(memory_region_init_ram(&first, NULL, "dup", page, &error_abort));
    g_assert_false(memory_region_init_ram(&mr, NULL, "dup", page, &err));
    assert_error_mentions(&err, "'dup'", "exists already", NULL);
    memory_region_unparent(&mr);
    /* A plain RAM region cannot be resized. */
    g_assert_false(memory_region_ram_resize(&first, 2 * page, &err));
    assert_error_mentions(&err, "'dup'", "not resizeable", NULL);
    g_assert_false(memory_region_set_size_checked(&first, 2 * page, &err));
    assert_error_mentions(&err, "'dup'", "not resizeable", NULL);
    memory_region_unparent(&first);
    g_rmdir(dir);
}

static void test_ram_resize(void)
{
    MemoryRegion mr;
    Error *err = NULL;
    size_t page = qemu_real_host_page_size();

    g_assert_true(memory_region_init_resizeable_ram(&mr, NULL, "rs1", page, 4 * page, NULL,
                                                    &error_abort));
    g_assert_true(memory_region_ram_resize(&mr, 3 * page, &error_abort));
    g_assert_cmpuint(memory_region_size(&mr), ==, 3 * page);
    g_assert_false(memory_region_ram_resize(&mr, 5 * page, &err));
    assert_error_mentions(&err, "'rs1'", NULL);
    g_assert_cmpuint(memory_region_size(&mr), ==, 3 * page);
    g_assert_false(memory_region_ram_resize(&mr, 0, &err));
    assert_error_mentions(&err, "'rs1'", NULL);
    memory_region_unparent(&mr);
}

static void test_iommu_init_errors(void)
{
    static const IOMMUMemoryRegionOps no_translate = { 0 };
    IOMMUMemoryRegion iommu;
    Error *err = NULL;

    g_assert_false(memory_region_init_iommu(&iommu, NULL, &no_translate, "iommu0", 0x1000,
                                            &err));
    assert_error_mentions(&err, "'iommu0'", "translate", NULL);
    g_assert_false(memory_region_is_iommu(&iommu.parent_obj));
    memory_region_unparent(&iommu.parent_obj);
    g_assert_false(memory_region_init_iommu(&iommu, NULL, NULL, "iommu1", 0, &err));
    assert_error_mentions(&err, "'iommu1'", "size", NULL);
    memory_region_unparent(&iommu.parent_obj);
}

static void test_unbalanced_commit(void)
{
    /* Reported, ignored; a following transaction still works. */
    memory_region_transaction_commit();
    memory_region_transaction_begin();
    memory_region_transaction_commit();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/errors/add-subregion", test_add_subregion_errors);
    g_test_add_func("/memory/errors/alias", test_alias_errors);
    g_test_add_func("/memory/errors/move-and-resize", test_move_and_resize_errors);
    g_test_add_func("/memory/errors/io-ops", test_io_ops_errors);
    g_test_add_func("/memory/errors/ram", test_ram_errors);
    g_test_add_func("/memory/errors/ram-resize", test_ram_resize);
    g_test_add_func("/memory/errors/iommu-init", test_iommu_init_errors);
    g_test_add_func("/memory/errors/unbalanced-commit", test_unbalanced_commit);
    return g_test_run();
}
