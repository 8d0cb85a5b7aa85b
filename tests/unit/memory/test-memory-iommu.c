/*
 * IOMMU notifiers: registration and its errors, the flags the model is told
 * about, delivery of map/unmap events only to notifiers whose range,
 * flags and context match, cropping, replay and unmapping a whole range.
 *
 * Notifiers log "NAME map|unmap IOVA+LEN->XLAT" into a shared log.
 */
#include "memory-test-util.h"

/* A model with two contexts, 4 KiB pages, page N mapped to 0x100000 + N pages. */
typedef struct TestIOMMU {
    IOMMUMemoryRegion iommu;
    /* "old->new" for each notify_flag_changed call. */
    GPtrArray *flag_log;
    /* Refuse a MAP notifier (as a model without caching mode would). */
    bool refuse_map;
    /* Refuse any change that drops flags (without saying why if quiet). */
    bool refuse_drop;
    bool refuse_drop_quietly;
    /* Pages mapped (bit per page) for translate and replay. */
    uint64_t mapped;
} TestIOMMU;

static GPtrArray *notify_log;

static IOMMUTLBEntry test_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                    IOMMUAccessFlags flag, int idx)
{
    TestIOMMU *t = container_of(iommu, TestIOMMU, iommu);
    unsigned page = addr >> 12;
    IOMMUTLBEntry e = {
        .iova = addr & ~0xfffULL,
        .translated_addr = 0x100000 + (addr & ~0xfffULL),
        .addr_mask = 0xfff,
        .perm = page < 64 && (t->mapped & (1ULL << page)) ? IOMMU_RW : IOMMU_NONE,
    };

    return e;
}

static int test_notify_flag_changed(IOMMUMemoryRegion *iommu, IOMMUNotifierFlag old,
                                    IOMMUNotifierFlag new, Error **errp)
{
    TestIOMMU *t = container_of(iommu, TestIOMMU, iommu);

    g_ptr_array_add(t->flag_log, g_strdup_printf("%d->%d", old, new));
    if (t->refuse_map && (new & IOMMU_NOTIFIER_MAP)) {
        error_setg(errp, "this IOMMU cannot notify mappings");
        return -EINVAL;
    }
    if (t->refuse_drop && (old & ~new)) {
        if (!t->refuse_drop_quietly) {
            error_setg(errp, "this IOMMU keeps notifying");
        }
        return -EBUSY;
    }
    return 0;
}

static int test_num_indexes(IOMMUMemoryRegion *iommu)
{
    return 2;
}

static const IOMMUMemoryRegionOps test_ops = {
    .translate = test_translate,
    .notify_flag_changed = test_notify_flag_changed,
    .num_indexes = test_num_indexes,
};

static void test_iommu_init(TestIOMMU *t)
{
    memset(t, 0, sizeof(*t));
    g_assert_true(memory_region_init_iommu(&t->iommu, NULL, &test_ops, "test-iommu", 0x100000,
                                           &error_abort));
    t->flag_log = g_ptr_array_new_with_free_func(g_free);
    notify_log = g_ptr_array_new_with_free_func(g_free);
}

static void test_iommu_fini(TestIOMMU *t)
{
    memory_region_unparent(&t->iommu.parent_obj);
    g_ptr_array_free(t->flag_log, true);
    g_ptr_array_free(notify_log, true);
    notify_log = NULL;
}

static char **take(GPtrArray **arr)
{
    char **lines;

    g_ptr_array_set_free_func(*arr, NULL);
    g_ptr_array_add(*arr, NULL);
    lines = (char **)g_ptr_array_free(*arr, false);
    *arr = g_ptr_array_new_with_free_func(g_free);
    return lines;
}

/* A notifier that knows its name. */
typedef struct NamedNotifier {
    IOMMUNotifier n;
    const char *name;
} NamedNotifier;

static void named_notify(IOMMUNotifier *n, IOMMUTLBEntry *e)
{
    NamedNotifier *nn = container_of(n, NamedNotifier, n);

    g_ptr_array_add(notify_log,
                    g_strdup_printf("%s %s 0x%" PRIx64 "+0x%" PRIx64 "->0x%" PRIx64, nn->name,
                                    e->perm == IOMMU_NONE ? "unmap" : "map", e->iova,
                                    e->addr_mask + 1, e->translated_addr));
}

static void named_init(NamedNotifier *nn, const char *name, IOMMUNotifierFlag flags,
                       hwaddr start, hwaddr end, int idx)
{
    iommu_notifier_init(&nn->n, named_notify, flags, start, end, idx);
    nn->name = name;
}

static IOMMUTLBEvent map_event(hwaddr iova, hwaddr size)
{
    return (IOMMUTLBEvent) {
        .type = IOMMU_NOTIFIER_MAP,
        .entry = { .iova = iova, .translated_addr = 0x100000 + iova, .addr_mask = size - 1,
                   .perm = IOMMU_RW },
    };
}

static IOMMUTLBEvent unmap_event(hwaddr iova, hwaddr size)
{
    return (IOMMUTLBEvent) {
        .type = IOMMU_NOTIFIER_UNMAP,
        .entry = { .iova = iova, .addr_mask = size - 1, .perm = IOMMU_NONE },
    };
}

static void test_delivery_matches_range_flags_and_context(void)
{
    TestIOMMU t;
    NamedNotifier all, map_only, unmap_only, high, ctx1;
    MemoryRegion *mr;

    test_iommu_init(&t);
    mr = &t.iommu.parent_obj;
    named_init(&all, "all", IOMMU_NOTIFIER_IOTLB_EVENTS, 0, 0xffff, 0);
    named_init(&map_only, "map_only", IOMMU_NOTIFIER_MAP, 0, 0xffff, 0);
    named_init(&unmap_only, "unmap_only", IOMMU_NOTIFIER_UNMAP, 0, 0xffff, 0);
    named_init(&high, "high", IOMMU_NOTIFIER_IOTLB_EVENTS, 0x10000, 0x1ffff, 0);
    named_init(&ctx1, "ctx1", IOMMU_NOTIFIER_IOTLB_EVENTS, 0, 0xffff, 1);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &all.n, &error_abort), ==, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &map_only.n, &error_abort), ==, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &unmap_only.n, &error_abort), ==,
                    0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &high.n, &error_abort), ==, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &ctx1.n, &error_abort), ==, 0);
    /* The model heard the union of flags grow once. */
    assert_lines(take(&t.flag_log), LINES("0->3"));

    /* Notifiers are called most recently registered first. */
    memory_region_notify_iommu(&t.iommu, 0, map_event(0x1000, 0x1000));
    assert_lines(take(&notify_log), LINES("map_only map 0x1000+0x1000->0x101000",
                                          "all map 0x1000+0x1000->0x101000"));
    memory_region_notify_iommu(&t.iommu, 0, unmap_event(0x1000, 0x1000));
    assert_lines(take(&notify_log), LINES("unmap_only unmap 0x1000+0x1000->0x0",
                                          "all unmap 0x1000+0x1000->0x0"));
    memory_region_notify_iommu(&t.iommu, 0, map_event(0x10000, 0x1000));
    assert_lines(take(&notify_log), LINES("high map 0x10000+0x1000->0x110000"));
    memory_region_notify_iommu(&t.iommu, 1, map_event(0x2000, 0x1000));
    assert_lines(take(&notify_log), LINES("ctx1 map 0x2000+0x1000->0x102000"));
    memory_region_notify_iommu(&t.iommu, 0, map_event(0x40000, 0x1000));
    assert_lines(take(&notify_log), NO_LINES);

    /* An entry straddling ranges: each notifier gets only its part. */
    memory_region_notify_iommu(&t.iommu, 0, map_event(0x0, 0x20000));
    assert_lines(take(&notify_log), LINES("high map 0x10000+0x10000->0x110000",
                                          "map_only map 0x0+0x10000->0x100000",
                                          "all map 0x0+0x10000->0x100000"));

    memory_region_unregister_iommu_notifier(mr, &map_only.n);
    memory_region_unregister_iommu_notifier(mr, &unmap_only.n);
    memory_region_unregister_iommu_notifier(mr, &high.n);
    memory_region_unregister_iommu_notifier(mr, &ctx1.n);
    assert_lines(take(&t.flag_log), NO_LINES);
    memory_region_unregister_iommu_notifier(mr, &all.n);
    assert_lines(take(&t.flag_log), LINES("3->0"));
    /* Unregistering again is a no-op. */
    memory_region_unregister_iommu_notifier(mr, &all.n);
    memory_region_notify_iommu(&t.iommu, 0, map_event(0x1000, 0x1000));
    assert_lines(take(&notify_log), NO_LINES);
    test_iommu_fini(&t);
}

static void test_registration_errors(void)
{
    TestIOMMU t;
    NamedNotifier nn, other;
    MemoryRegion plain;
    Error *err = NULL;
    MemoryRegion *mr;

    test_iommu_init(&t);
    mr = &t.iommu.parent_obj;
    memory_region_init_io(&plain, NULL, NULL, NULL, "plain", 0x1000);

    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0, 0xfff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(&plain, &nn.n, &err), ==, -EINVAL);
    assert_error_mentions(&err, "plain", "not an IOMMU", NULL);

    named_init(&nn, "nn", IOMMU_NOTIFIER_NONE, 0, 0xfff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &err), ==, -EINVAL);
    assert_error_mentions(&err, "test-iommu", "flags", NULL);

    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0x2000, 0x1000, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &err), ==, -EINVAL);
    assert_error_mentions(&err, "test-iommu", "empty", NULL);

    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0, 0xfff, 2);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &err), ==, -EINVAL);
    assert_error_mentions(&err, "test-iommu", "context 2", NULL);

    /* The model may refuse; the notifier is then not registered. */
    t.refuse_map = true;
    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0, 0xfff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &err), ==, -EINVAL);
    assert_error_mentions(&err, "cannot notify mappings", NULL);
    g_assert_null(nn.n.iommu_mr);
    assert_lines(take(&t.flag_log), LINES("0->2"));
    memory_region_notify_iommu(&t.iommu, 0, map_event(0, 0x1000));
    assert_lines(take(&notify_log), NO_LINES);

    /* Registering twice. */
    t.refuse_map = false;
    named_init(&other, "other", IOMMU_NOTIFIER_UNMAP, 0, 0xfff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &other.n, &error_abort), ==, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &other.n, &err), ==, -EINVAL);
    assert_error_mentions(&err, "already registered", NULL);
    memory_region_unregister_iommu_notifier(mr, &other.n);

    memory_region_unparent(&plain);
    test_iommu_fini(&t);
}

/* Run @fn(@opaque) with stderr going to a file; return what it printed. */
static char *capture_stderr(void (*fn)(void *), void *opaque)
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    char *text;
    long len;

    g_assert_nonnull(tmp);
    g_assert_cmpint(saved, >=, 0);
    fflush(stderr);
    g_assert_cmpint(dup2(fileno(tmp), STDERR_FILENO), ==, STDERR_FILENO);
    fn(opaque);
    fflush(stderr);
    g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
    close(saved);
    len = lseek(fileno(tmp), 0, SEEK_END);
    g_assert_cmpint(len, >=, 0);
    text = g_malloc0(len + 1);
    g_assert_cmpint(pread(fileno(tmp), text, len, 0), ==, len);
    fclose(tmp);
    return text;
}

typedef struct Unregister {
    MemoryRegion *mr;
    IOMMUNotifier *n;
} Unregister;

static void do_unregister(void *opaque)
{
    Unregister *u = opaque;

    memory_region_unregister_iommu_notifier(u->mr, u->n);
}

/*
 * A model refusing to drop flags on unregistration cannot keep the
 * notifier, but the refusal is reported (naming the region and the cause),
 * not swallowed.
 */
static void test_unregister_refusal_reported(void)
{
    TestIOMMU t;
    NamedNotifier nn;
    MemoryRegion *mr;
    g_autofree char *out = NULL;
    g_autofree char *quiet = NULL;

    test_iommu_init(&t);
    mr = &t.iommu.parent_obj;
    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0, 0xfff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &error_abort), ==, 0);
    t.refuse_drop = true;
    out = capture_stderr(do_unregister, &(Unregister){ mr, &nn.n });
    g_test_message("stderr: %s", out);
    g_assert_nonnull(strstr(out, "warning: IOMMU region 'test-iommu'"));
    g_assert_nonnull(strstr(out, "this IOMMU keeps notifying"));
    g_assert_null(nn.n.iommu_mr);
    memory_region_notify_iommu(&t.iommu, 0, map_event(0, 0x1000));
    assert_lines(take(&notify_log), NO_LINES);

    /* A model that gives no reason: the errno stands for it. */
    t.refuse_drop = false;
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &error_abort), ==, 0);
    t.refuse_drop = t.refuse_drop_quietly = true;
    quiet = capture_stderr(do_unregister, &(Unregister){ mr, &nn.n });
    g_test_message("stderr: %s", quiet);
    g_assert_nonnull(strstr(quiet, "IOMMU region 'test-iommu'"));
    g_assert_nonnull(strstr(quiet, strerror(EBUSY)));
    t.refuse_drop = t.refuse_drop_quietly = false;
    test_iommu_fini(&t);
}

static void test_alias_of_iommu(void)
{
    TestIOMMU t;
    MemoryRegion alias;
    NamedNotifier nn;

    test_iommu_init(&t);
    memory_region_init_alias(&alias, NULL, "iommu-alias", &t.iommu.parent_obj, 0, 0x100000);
    g_assert_true(memory_region_is_iommu(&alias));
    g_assert_true(memory_region_get_iommu(&alias) == &t.iommu);
    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0, 0xffff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(&alias, &nn.n, &error_abort), ==, 0);
    memory_region_notify_iommu(&t.iommu, 0, map_event(0x3000, 0x1000));
    assert_lines(take(&notify_log), LINES("nn map 0x3000+0x1000->0x103000"));
    memory_region_unregister_iommu_notifier(&alias, &nn.n);
    memory_region_unparent(&alias);
    test_iommu_fini(&t);
}

static void test_replay_and_unmap_range(void)
{
    TestIOMMU t;
    NamedNotifier nn, unmap_only;
    MemoryRegion *mr;

    test_iommu_init(&t);
    mr = &t.iommu.parent_obj;
    t.mapped = (1ULL << 1) | (1ULL << 3) | (1ULL << 9);
    named_init(&nn, "nn", IOMMU_NOTIFIER_IOTLB_EVENTS, 0x1000, 0x7fff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(mr, &nn.n, &error_abort), ==, 0);

    /* Without a replay callback the core walks the notifier's window. */
    memory_region_iommu_replay(&t.iommu, &nn.n);
    assert_lines(take(&notify_log), LINES("nn map 0x1000+0x1000->0x101000",
                                          "nn map 0x3000+0x1000->0x103000"));
    /* A notifier that only wants unmaps hears nothing from a replay. */
    named_init(&unmap_only, "unmap_only", IOMMU_NOTIFIER_UNMAP, 0, 0xffff, 0);
    memory_region_iommu_replay(&t.iommu, &unmap_only.n);
    assert_lines(take(&notify_log), NO_LINES);

    memory_region_unmap_iommu_notifier_range(&nn.n);
    assert_lines(take(&notify_log), LINES("nn unmap 0x1000+0x7000->0x0"));
    g_assert_cmpuint(memory_region_iommu_get_min_page_size(&t.iommu), ==,
                     qemu_real_host_page_size());
    g_assert_cmpint(memory_region_iommu_num_indexes(&t.iommu), ==, 2);
    g_assert_cmpint(memory_region_iommu_attrs_to_index(&t.iommu, MEMTXATTRS_UNSPECIFIED), ==, 0);
    g_assert_cmpint(memory_region_iommu_set_page_size_mask(&t.iommu, 0x1000, &error_abort), ==,
                    0);
    memory_region_unregister_iommu_notifier(mr, &nn.n);
    test_iommu_fini(&t);
}

static void test_finalize_detaches_notifiers(void)
{
    TestIOMMU t;
    NamedNotifier nn;

    test_iommu_init(&t);
    named_init(&nn, "nn", IOMMU_NOTIFIER_MAP, 0, 0xffff, 0);
    g_assert_cmpint(memory_region_register_iommu_notifier(&t.iommu.parent_obj, &nn.n,
                                                          &error_abort), ==, 0);
    /* Reported, not fatal: the notifier is left unregistered. */
    test_iommu_fini(&t);
    g_assert_null(nn.n.iommu_mr);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/iommu/delivery-matches-range-flags-and-context",
                    test_delivery_matches_range_flags_and_context);
    g_test_add_func("/memory/iommu/registration-errors", test_registration_errors);
    g_test_add_func("/memory/iommu/unregister-refusal-reported",
                    test_unregister_refusal_reported);
    g_test_add_func("/memory/iommu/alias-of-iommu", test_alias_of_iommu);
    g_test_add_func("/memory/iommu/replay-and-unmap-range", test_replay_and_unmap_range);
    g_test_add_func("/memory/iommu/finalize-detaches-notifiers",
                    test_finalize_detaches_notifiers);
    return g_test_run();
}
