/*
 * Dirty tracking of device DMA, in each mode: a device writes known guest
 * pages by DMA, and after memory_global_dirty_log_sync() every one of them
 * is set in RAM's migration bitmap (and, where the mode is precise, nothing
 * else is).  On vfio-sim and on a real kernel: there the edu (from
 * APERTURE_VFIO_DEVICE) shows container mode, where the kernel reports
 * every mapped page dirty; DMA logging, page pinning and other IOMMU
 * set-ups need the sim's devices and topologies.
 */
#include "test-vfio-listener-util.h"
#include "exec/ram_addr.h"

#define RAM_SIZE (16 * MiB)

typedef struct Guest {
    LGuest g;
    MemoryRegion ram;
} Guest;

static void guest_init(Guest *g, const char *name, uint64_t ram_size)
{
    g_autofree char *ram = g_strdup_printf("%s-ram", name);

    lguest_init(&g->g, name);
    g_assert_true(memory_region_init_ram(&g->ram, NULL, ram, ram_size, &error_abort));
    memory_region_add_subregion(&g->g.root, 0, &g->ram);
}

static void guest_destroy(Guest *g)
{
    lguest_destroy(&g->g);
    memory_region_unparent(&g->ram);
}

static void dirty_log_start(void)
{
    g_assert_true(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &error_abort));
}

static void dirty_log_stop(void)
{
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
}

/* Every page of @pages (guest page numbers) is dirty, and with @exact nothing else. */
static void assert_dirty_exactly(MemoryRegion *mr, const uint64_t *pages, size_t n, bool exact)
{
    for (size_t i = 0; i < n; i++) {
        if (!ram_page_dirty(mr, pages[i] * PAGE)) {
            g_error("page %" PRIu64 " of %s was written by DMA but is not dirty", pages[i],
                    memory_region_name(mr));
        }
    }
    if (exact) {
        g_assert_cmpuint(ram_dirty_pages(mr), ==, n);
    }
}

static const uint64_t written[] = { 0, 1, 63, 64, 65, 1000, 2047, 2048, 4095 };

#define SIM_ONLY_DMA_LOGGING "a device with DMA logging (the sim's mig)"
#define SIM_ONLY_PINNING "a page-pinning device (the sim's pin)"

/*
 * The devices the parametrised tests run with: the sim's pin and mig, and
 * (on any VFIO) the device under test, an edu, which neither pins nor logs.
 */
#define DEV_EDU NULL

/* Start a test for @bdf (DEV_EDU: the device under test); false: skipped. */
static bool start_with(const char *bdf)
{
    if (bdf == DEV_EDU) {
        return test_start();
    }
    return test_start_sim(NULL, !strcmp(bdf, MIG2) ? SIM_ONLY_DMA_LOGGING : SIM_ONLY_PINNING);
}

/* The device writes the page at @iova by DMA. */
static void dma_write_page(VFIODevice *dev, const char *bdf, hwaddr iova, uint32_t pattern)
{
    if (bdf == DEV_EDU) {
        edu_dma(dev, iova, PAGE, true);
    } else if (!strcmp(bdf, PIN4)) {
        g_assert_cmpint(pin_write_page(dev, iova, pattern), ==, 0);
    } else {
        mig_write_page(dev, iova);
    }
}

static void test_device_dma_logging(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion high;
    VFIOListenerState *ls;

    if (!test_start_sim(NULL, SIM_ONLY_DMA_LOGGING)) {
        return;
    }
    guest_init(&g, "dirty-dmalog", RAM_SIZE);
    g_assert_true(memory_region_init_ram(&high, NULL, "dirty-dmalog-high", 4 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 4 * GiB, &high);
    ldev_attach_ok(&dev, MIG2, &g.g.as);
    dev_enable(&dev);

    dirty_log_start();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING);
    g_assert_cmpstr(vfio_dirty_tracking_mode_name(
                        vfio_container_dirty_tracking_mode(dev.bcontainer)), ==,
                    "device-dma-logging");
    g_assert_true(dev.dirty_tracking);
    /* Below and above 4 GiB: one range each, not their 4 GiB hull. */
    ls = dev.bcontainer->listener_state;
    g_assert_cmpuint(ls->nr_log_ranges, ==, 2);
    g_assert_cmphex(ls->log_ranges[0].iova, ==, 0);
    g_assert_cmphex(ls->log_ranges[0].length, ==, RAM_SIZE);
    g_assert_cmphex(ls->log_ranges[1].iova, ==, 4 * GiB);
    g_assert_cmphex(ls->log_ranges[1].length, ==, 4 * MiB);

    ram_clear_dirty(&g.ram);
    ram_clear_dirty(&high);
    for (size_t i = 0; i < G_N_ELEMENTS(written); i++) {
        mig_write_page(&dev, written[i] * PAGE);
    }
    mig_write_page(&dev, 4 * GiB + 7 * PAGE);
    g_assert_cmpuint(mig_faults(&dev), ==, 0);
    memory_global_dirty_log_sync(false);
    assert_dirty_exactly(&g.ram, written, G_N_ELEMENTS(written), true);
    assert_dirty_exactly(&high, (uint64_t[]){ 7 }, 1, true);

    /* The device's log is read-and-clear: a second sync adds nothing. */
    ram_clear_dirty(&g.ram);
    memory_global_dirty_log_sync(false);
    g_assert_cmpuint(ram_dirty_pages(&g.ram), ==, 0);

    dirty_log_stop();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_NONE);
    g_assert_false(dev.dirty_tracking);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &high);
    memory_region_unparent(&high);
    guest_destroy(&g);
}

static void test_device_dma_logging_ram_added_later(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion late;

    if (!test_start_sim(NULL, SIM_ONLY_DMA_LOGGING)) {
        return;
    }
    guest_init(&g, "dirty-late", RAM_SIZE);
    ldev_attach_ok(&dev, MIG2, &g.g.as);
    dev_enable(&dev);
    dirty_log_start();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING);

    /* RAM outside the ranges the device logs: nobody watches it, so all of it is dirty. */
    g_assert_true(memory_region_init_ram(&late, NULL, "dirty-late-extra", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 64 * MiB, &late);
    ram_clear_dirty(&late);
    ram_clear_dirty(&g.ram);
    mig_write_page(&dev, 64 * MiB + 3 * PAGE);
    mig_write_page(&dev, 5 * PAGE);
    memory_global_dirty_log_sync(false);
    g_assert_cmpuint(ram_dirty_pages(&late), ==, 256);
    assert_dirty_exactly(&g.ram, (uint64_t[]){ 5 }, 1, true);

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &late);
    memory_region_unparent(&late);
    guest_destroy(&g);
}

static void test_container_pinning_device(void)
{
    Guest g;
    VFIODevice dev;

    if (!test_start_sim(NULL, SIM_ONLY_PINNING)) {
        return;
    }
    guest_init(&g, "dirty-pin", RAM_SIZE);
    ldev_attach_ok(&dev, PIN4, &g.g.as);
    dev_enable(&dev);
    dirty_log_start();
    /* The pinning device cannot log: the IOMMU tracks what is pinned and written. */
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_CONTAINER);
    g_assert_true(dev.bcontainer->dirty_pages_started);

    ram_clear_dirty(&g.ram);
    for (size_t i = 0; i < G_N_ELEMENTS(written); i++) {
        g_assert_cmpint(pin_write_page(&dev, written[i] * PAGE, 0x1234), ==, 0);
    }
    memory_global_dirty_log_sync(false);
    assert_dirty_exactly(&g.ram, written, G_N_ELEMENTS(written), true);
    g_assert_cmphex(((uint32_t *)memory_region_get_ram_ptr(&g.ram))[64 * PAGE / 4], ==,
                    0x1234);

    dirty_log_stop();
    g_assert_false(dev.bcontainer->dirty_pages_started);
    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_container_reports_every_mapped_page(void)
{
    Guest g;
    VFIODevice dev;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "dirty-edu", RAM_SIZE);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    dev_enable(&dev);
    dirty_log_start();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_CONTAINER);
    ram_clear_dirty(&g.ram);
    edu_dma(&dev, 77 * PAGE, PAGE, true);
    memory_global_dirty_log_sync(false);
    /* The kernel cannot tell what a DMA-capable device wrote: all of it. */
    g_assert_cmpuint(ram_dirty_pages(&g.ram), ==, RAM_SIZE / PAGE);

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_all_dirty_fallback(void)
{
    Guest g;
    VFIODevice dev;
    StderrCapture cap;
    g_autofree char *text = NULL;

    /* No migration capability with the host page size: the IOMMU cannot track. */
    if (!test_start_sim("[iommu]\nmigration-pgsize-bitmap = 0x200000\n",
                        "an IOMMU whose dirty page sizes lack the host page")) {
        return;
    }
    guest_init(&g, "dirty-none", RAM_SIZE);
    ldev_attach_ok(&dev, EDU1, &g.g.as);
    g_assert_false(dev.bcontainer->dirty_pages_supported);
    stderr_capture_begin(&cap);
    dirty_log_start();
    text = stderr_capture_end(&cap);
    assert_contains(text, "every mapped page counts as dirty");
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_ALL_DIRTY);
    g_assert_cmpstr(vfio_dirty_tracking_mode_name(VFIO_DIRTY_TRACKING_ALL_DIRTY), ==,
                    "all-dirty");

    ram_clear_dirty(&g.ram);
    dev_enable(&dev);
    edu_dma(&dev, 3 * PAGE, PAGE, true);
    memory_global_dirty_log_sync(false);
    g_assert_cmpuint(ram_dirty_pages(&g.ram), ==, RAM_SIZE / PAGE);
    /* And at every sync. */
    ram_clear_dirty(&g.ram);
    memory_global_dirty_log_sync(false);
    g_assert_cmpuint(ram_dirty_pages(&g.ram), ==, RAM_SIZE / PAGE);

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
    sim_load(NULL);
}

static void test_too_large_bitmap_split(void)
{
    Guest g;
    VFIODevice dev;
    VFIOListenerState *ls;
    const DMAMap *m;

    /* 64 bytes of bitmap: 512 pages, 2 MiB per query; the RAM is 16 MiB. */
    if (!test_start_sim("[iommu]\nmax-dirty-bitmap-size = 64\n",
                        "a max_dirty_bitmap_size of 64 bytes and a pinning device")) {
        return;
    }
    guest_init(&g, "dirty-split", RAM_SIZE);
    ldev_attach_ok(&dev, PIN4, &g.g.as);
    g_assert_cmpuint(dev.bcontainer->max_dirty_bitmap_size, ==, 64);
    /* Mapped in pieces one query can cover: the kernel refuses queries splitting one. */
    ls = dev.bcontainer->listener_state;
    g_assert_cmpuint(ls->map_chunk, ==, 2 * MiB);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, RAM_SIZE / (2 * MiB));
    m = table_lookup(dev.bcontainer, 2 * MiB);
    g_assert_cmphex(m->iova, ==, 2 * MiB);
    g_assert_cmphex(m->size + 1, ==, 2 * MiB);

    dev_enable(&dev);
    dirty_log_start();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_CONTAINER);
    ram_clear_dirty(&g.ram);
    for (size_t i = 0; i < G_N_ELEMENTS(written); i++) {
        g_assert_cmpint(pin_write_page(&dev, written[i] * PAGE, 0xabcd), ==, 0);
    }
    ls->sync_queries = 0;
    memory_global_dirty_log_sync(false);
    assert_dirty_exactly(&g.ram, written, G_N_ELEMENTS(written), true);
    g_assert_cmpuint(ls->sync_queries, ==, RAM_SIZE / (2 * MiB));

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
    sim_load(NULL);
}

/*
 * @data: the device (DEV_EDU: the device under test).  The sim's pin and mig
 * report exactly the pages they wrote; for the edu the kernel's unmap
 * bitmap has every page of the mapping.
 */
static void test_unmap_during_migration_keeps_dirty_pages(gconstpointer data)
{
    const char *bdf = data;
    Guest g;
    VFIODevice dev;
    MemoryRegion hot;
    uint64_t pages[] = { 2, 200 };

    if (!start_with(bdf)) {
        return;
    }
    guest_init(&g, "dirty-unmap", RAM_SIZE);
    g_assert_true(memory_region_init_ram(&hot, NULL, "dirty-unmap-hot", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 32 * MiB, &hot);
    ldev_attach_ok(&dev, bdf ? bdf : test_edu(), &g.g.as);
    dev_enable(&dev);
    dirty_log_start();
    ram_clear_dirty(&hot);
    for (size_t i = 0; i < G_N_ELEMENTS(pages); i++) {
        dma_write_page(&dev, bdf, 32 * MiB + pages[i] * PAGE, 0x77);
    }
    /* The region goes before any sync: the unmap must collect its dirty pages. */
    memory_region_del_subregion(&g.g.root, &hot);
    g_assert_null(table_lookup(dev.bcontainer, 32 * MiB));
    assert_dirty_exactly(&hot, pages, G_N_ELEMENTS(pages), bdf != DEV_EDU);
    if (bdf == DEV_EDU) {
        g_assert_cmpuint(ram_dirty_pages(&hot), ==, 1 * MiB / PAGE);
    }

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_unparent(&hot);
    guest_destroy(&g);
}

/*
 * @data: the device (DEV_EDU: the device under test).  The sim's pin
 * reports the pages it wrote; for the edu the kernel reports every page
 * the vIOMMU maps.
 */
static void test_viommu_sync_through_translation(gconstpointer data)
{
    const char *bdf = data;
    const bool edu = bdf == DEV_EDU;
    LGuest sys, dma;
    MemoryRegion ram;
    TestIOMMU iommu;
    VFIODevice dev;

    if (!start_with(bdf)) {
        return;
    }
    lguest_init(&sys, "dirty-viommu-sys");
    g_assert_true(memory_region_init_ram(&ram, NULL, "dirty-viommu-ram", RAM_SIZE,
                                         &error_abort));
    memory_region_add_subregion(&sys.root, 0, &ram);
    lguest_init(&dma, "dirty-viommu-dma");
    test_iommu_init(&iommu, "dirty-viommu", 256 * MiB, &sys.as);
    memory_region_add_subregion(&dma.root, 0, &iommu.iommu.parent_obj);
    ldev_attach_ok(&dev, edu ? test_edu() : bdf, &dma.as);
    dev_enable(&dev);
    /* IOVA 0x100000.. shows guest pages 40..43, IOVA 0x300000 page 7. */
    test_iommu_map(&iommu, 0x100000, 40 * PAGE, 4 * PAGE, IOMMU_RW);
    test_iommu_map(&iommu, 0x300000, 7 * PAGE, PAGE, IOMMU_RW);

    dirty_log_start();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_CONTAINER);
    ram_clear_dirty(&ram);
    dma_write_page(&dev, bdf, 0x102000, 1);
    dma_write_page(&dev, bdf, 0x300000, 2);
    memory_global_dirty_log_sync(false);
    /* The guest pages behind the IOVAs, not the IOVAs. */
    if (edu) {
        assert_dirty_exactly(&ram, (uint64_t[]){ 7, 40, 41, 42, 43 }, 5, true);
    } else {
        assert_dirty_exactly(&ram, (uint64_t[]){ 7, 42 }, 2, true);
    }

    /* A vIOMMU unmap during migration keeps what was dirtied. */
    ram_clear_dirty(&ram);
    dma_write_page(&dev, bdf, 0x101000, 3);
    test_iommu_unmap(&iommu, 0x100000, 4 * PAGE);
    if (edu) {
        assert_dirty_exactly(&ram, (uint64_t[]){ 40, 41, 42, 43 }, 4, true);
    } else {
        assert_dirty_exactly(&ram, (uint64_t[]){ 41 }, 1, true);
    }

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&dma.as);
    lguest_destroy(&dma);
    test_iommu_destroy(&iommu);
    lguest_destroy(&sys);
    memory_region_unparent(&ram);
}

/* @data: the device (DEV_EDU: the device under test, every mapped page dirty). */
static void test_query_dirty_bitmap_api(gconstpointer data)
{
    const char *bdf = data;
    Guest g;
    VFIODevice dev;
    Error *err = NULL;

    if (!start_with(bdf)) {
        return;
    }
    guest_init(&g, "dirty-api", RAM_SIZE);
    ldev_attach_ok(&dev, bdf ? bdf : test_edu(), &g.g.as);
    dev_enable(&dev);
    dirty_log_start();
    ram_clear_dirty(&g.ram);
    dma_write_page(&dev, bdf, 9 * PAGE, 5);
    /* The backend-neutral entry point, for a range given with its RAM address. */
    g_assert_true(vfio_container_query_dirty_bitmap(dev.bcontainer, 0, RAM_SIZE,
                                                    memory_region_get_ram_addr(&g.ram),
                                                    &err));
    if (bdf == DEV_EDU) {
        g_assert_cmpuint(ram_dirty_pages(&g.ram), ==, RAM_SIZE / PAGE);
    } else {
        assert_dirty_exactly(&g.ram, (uint64_t[]){ 9 }, 1, true);
    }

    dirty_log_stop();
    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_mixed_devices_use_the_container(void)
{
    Guest g;
    VFIODevice mig, edu;

    if (!test_start_sim(NULL, SIM_ONLY_DMA_LOGGING)) {
        return;
    }
    guest_init(&g, "dirty-mixed", RAM_SIZE);
    ldev_attach_ok(&mig, MIG2, &g.g.as);
    ldev_attach_ok(&edu, EDU1, &g.g.as);
    g_assert_true(mig.bcontainer == edu.bcontainer);
    dirty_log_start();
    /* The edu cannot log its DMA, so nobody's log is used. */
    g_assert_cmpint(vfio_container_dirty_tracking_mode(mig.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_CONTAINER);
    g_assert_false(mig.dirty_tracking);
    g_assert_true(mig.dirty_pages_supported);
    g_assert_false(edu.dirty_pages_supported);
    dirty_log_stop();

    detach(&edu);
    detach(&mig);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_device_joining_during_logging(void)
{
    Guest g;
    VFIODevice mig, edu;

    if (!test_start_sim(NULL, SIM_ONLY_DMA_LOGGING)) {
        return;
    }
    guest_init(&g, "dirty-join", RAM_SIZE);
    ldev_attach_ok(&mig, MIG2, &g.g.as);
    dev_enable(&mig);
    dirty_log_start();
    g_assert_cmpint(vfio_container_dirty_tracking_mode(mig.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_DEVICE_DMA_LOGGING);
    /* A device that logs nothing joins: what it may write is unknown. */
    ldev_attach_ok(&edu, EDU1, &g.g.as);
    g_assert_true(mig.bcontainer == edu.bcontainer);
    ram_clear_dirty(&g.ram);
    memory_global_dirty_log_sync(false);
    g_assert_cmpuint(ram_dirty_pages(&g.ram), ==, RAM_SIZE / PAGE);
    detach(&edu);
    /* Only the logging device again: precise once more. */
    ram_clear_dirty(&g.ram);
    mig_write_page(&mig, 12 * PAGE);
    memory_global_dirty_log_sync(false);
    assert_dirty_exactly(&g.ram, (uint64_t[]){ 12 }, 1, true);
    dirty_log_stop();

    detach(&mig);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/dirty/device-dma-logging/written-pages-dirty",
                    test_device_dma_logging);
    g_test_add_func("/vfio/dirty/device-dma-logging/unlogged-ram-all-dirty",
                    test_device_dma_logging_ram_added_later);
    g_test_add_func("/vfio/dirty/container/pinning-device-written-pages-dirty",
                    test_container_pinning_device);
    g_test_add_func("/vfio/dirty/container/dma-device-every-mapped-page",
                    test_container_reports_every_mapped_page);
    g_test_add_func("/vfio/dirty/all-dirty-fallback/every-mapped-page-every-sync",
                    test_all_dirty_fallback);
    g_test_add_func("/vfio/dirty/container/too-large-bitmap-split",
                    test_too_large_bitmap_split);
    g_test_add_data_func("/vfio/dirty/container/unmap-keeps-dirty-pages", PIN4,
                         test_unmap_during_migration_keeps_dirty_pages);
    g_test_add_data_func("/vfio/dirty/device-dma-logging/unmap-keeps-dirty-pages", MIG2,
                         test_unmap_during_migration_keeps_dirty_pages);
    g_test_add_data_func("/vfio/dirty/container/dma-device-unmap-returns-every-mapped-page",
                         DEV_EDU, test_unmap_during_migration_keeps_dirty_pages);
    g_test_add_data_func("/vfio/dirty/viommu/sync-through-translation", PIN4,
                         test_viommu_sync_through_translation);
    g_test_add_data_func("/vfio/dirty/viommu/dma-device-every-translated-page", DEV_EDU,
                         test_viommu_sync_through_translation);
    g_test_add_data_func("/vfio/dirty/query-dirty-bitmap-api/pinning-device", PIN4,
                         test_query_dirty_bitmap_api);
    g_test_add_data_func("/vfio/dirty/query-dirty-bitmap-api/dma-device", DEV_EDU,
                         test_query_dirty_bitmap_api);
    g_test_add_func("/vfio/dirty/container/mixed-devices-use-the-container",
                    test_mixed_devices_use_the_container);
    g_test_add_func("/vfio/dirty/device-dma-logging/device-joining-makes-all-dirty",
                    test_device_joining_during_logging);
    return g_test_run();
}
