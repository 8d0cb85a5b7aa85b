/*
 * RAM with coordinated discard (the pluggable-RAM RamDiscardManager): only
 * plugged blocks are mapped, plugs and unplugs are followed, a plug that
 * cannot be mapped is vetoed and rolled back, and a layout that could
 * exhaust the DMA-mapping budget is warned about.  On vfio-sim and on a
 * real kernel (the edu from APERTURE_VFIO_DEVICE); budgets, faults, other
 * IOMMU page sizes and the sim's pinning device skip there.
 */
#include "test-vfio-listener-util.h"
#include "hw/mem/pluggable-ram.h"
#include "exec/ramblock.h"

#define BLOCK (2 * MiB)
#define MEM_SIZE (64 * MiB)
/* Below 256 MiB, where the edu's 28-bit DMA reaches. */
#define MEM_BASE (128 * MiB)

/* A guest with 2 MiB of boot RAM at 0 and 64 MiB of pluggable memory at MEM_BASE. */
typedef struct Guest {
    LGuest g;
    MemoryRegion ram;
    MemoryRegion mem;
    PluggableRam *pr;
} Guest;

static void guest_init(Guest *g, const char *name)
{
    g_autofree char *ram = g_strdup_printf("%s-ram", name);
    g_autofree char *mem = g_strdup_printf("%s-mem", name);

    lguest_init(&g->g, name);
    g_assert_true(memory_region_init_ram(&g->ram, NULL, ram, 2 * MiB, &error_abort));
    memory_region_add_subregion(&g->g.root, 0, &g->ram);
    g_assert_true(memory_region_init_ram_flags(&g->mem, NULL, mem, MEM_SIZE, RAM_NORESERVE,
                                               &error_abort));
    g->pr = pluggable_ram_new(&g->mem, BLOCK, &error_abort);
    memory_region_add_subregion(&g->g.root, MEM_BASE, &g->mem);
}

static void guest_destroy(Guest *g)
{
    memory_region_del_subregion(&g->g.root, &g->mem);
    pluggable_ram_free(g->pr);
    lguest_destroy(&g->g);
    memory_region_unparent(&g->mem);
    memory_region_unparent(&g->ram);
}

static void plug(Guest *g, unsigned block, unsigned n)
{
    g_assert_true(pluggable_ram_plug(g->pr, block * BLOCK, n * BLOCK, &error_abort));
}

static void unplug(Guest *g, unsigned block, unsigned n)
{
    g_assert_true(pluggable_ram_unplug(g->pr, block * BLOCK, n * BLOCK, &error_abort));
}

/* Blocks mapped (in the table and in the kernel) are exactly the plugged ones. */
static void assert_mapped_blocks(Guest *g, VFIOContainerBase *bc)
{
    int fd = container_fd(bc);
    uint8_t *host = memory_region_get_ram_ptr(&g->mem);

    for (unsigned b = 0; b < MEM_SIZE / BLOCK; b++) {
        hwaddr iova = MEM_BASE + b * BLOCK;
        bool plugged = pluggable_ram_is_plugged(g->pr, b * BLOCK, BLOCK);
        const DMAMap *m = table_lookup(bc, iova);

        if (plugged != (m != NULL)) {
            g_error("block %u is %splugged but %smapped", b, plugged ? "" : "un",
                    m ? "" : "not ");
        }
        /* One mapping per block, so each can go alone. */
        if (m) {
            g_assert_cmphex(m->iova, ==, iova);
            g_assert_cmphex(m->size + 1, ==, BLOCK);
            g_assert_cmphex(m->translated_addr, ==, (uintptr_t)host + b * BLOCK);
        }
        g_assert_cmpint(kernel_maps_page(fd, iova), ==, plugged);
        g_assert_cmpint(kernel_maps_page(fd, iova + BLOCK - PAGE), ==, plugged);
    }
}

static void test_maps_only_populated(void)
{
    Guest g;
    VFIODevice dev;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "discard-populated");
    plug(&g, 0, 2);
    plug(&g, 5, 1);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    assert_mapped_blocks(&g, dev.bcontainer);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1 + 3);
    g_assert_cmpuint(g_list_length(dev.bcontainer->vrdl_list), ==, 1);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_follows_plug_and_unplug(void)
{
    Guest g;
    VFIODevice dev;
    uint8_t *host;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "discard-follow");
    host = memory_region_get_ram_ptr(&g.mem);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1);

    plug(&g, 3, 4);
    assert_mapped_blocks(&g, dev.bcontainer);
    unplug(&g, 4, 1);
    assert_mapped_blocks(&g, dev.bcontainer);
    plug(&g, 31, 1);
    assert_mapped_blocks(&g, dev.bcontainer);

    /* DMA reaches plugged memory. */
    dev_enable(&dev);
    memset(host + 31 * BLOCK, 0x3c, PAGE);
    edu_dma(&dev, MEM_BASE + 31 * BLOCK, PAGE, false);
    edu_dma(&dev, PAGE, PAGE, true);
    g_assert_cmpint(((uint8_t *)memory_region_get_ram_ptr(&g.ram))[PAGE], ==, 0x3c);

    /* A reset unplugs everything in one notification. */
    g_assert_true(pluggable_ram_unplug_all(g.pr, &error_abort));
    assert_mapped_blocks(&g, dev.bcontainer);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_populate_vetoed_by_budget(void)
{
    Guest g;
    VFIODevice dev;
    Error *err = NULL;
    StderrCapture cap;
    g_autofree char *text = NULL;

    /* Room for the boot RAM and four blocks. */
    if (!test_start_sim("[iommu]\ndma-entry-limit = 5\n",
                        "a DMA-mapping limit of 5 (dma_entry_limit)")) {
        return;
    }
    guest_init(&g, "discard-veto");
    stderr_capture_begin(&cap);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    text = stderr_capture_end(&cap);
    /* 32 possible block mappings and the boot RAM's cannot fit in 5. */
    assert_contains(text, "could need up to 32 DMA mappings");
    plug(&g, 0, 2);

    /* Three more do not fit: the plug is refused and nothing of it stays mapped. */
    stderr_capture_begin(&cap);
    g_assert_false(pluggable_ram_plug(g.pr, 10 * BLOCK, 3 * BLOCK, &err));
    g_free(stderr_capture_end(&cap));
    g_assert_cmpint(error_get_errno(err), ==, ENOSPC);
    error_free(err);
    g_assert_false(pluggable_ram_is_plugged(g.pr, 10 * BLOCK, BLOCK));
    assert_mapped_blocks(&g, dev.bcontainer);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 3);

    /* Two do. */
    plug(&g, 10, 2);
    assert_mapped_blocks(&g, dev.bcontainer);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
    sim_load(NULL);
}

static void test_populate_vetoed_by_kernel(void)
{
    Guest g;
    VFIODevice dev;
    Error *err = NULL;
    StderrCapture cap;

    if (!test_start_sim(NULL, "an injected ENOSPC on MAP_DMA")) {
        return;
    }
    guest_init(&g, "discard-enospc");
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    /* The third MAP_DMA from now fails: two blocks of the plug were mapped already. */
    sim_fault("map-enospc-at=3");
    stderr_capture_begin(&cap);
    g_assert_false(pluggable_ram_plug(g.pr, 6 * BLOCK, 4 * BLOCK, &err));
    g_free(stderr_capture_end(&cap));
    g_assert_cmpint(error_get_errno(err), ==, ENOSPC);
    error_free(err);
    assert_mapped_blocks(&g, dev.bcontainer);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1);
    sim_fault("map-enospc-at=0");
    plug(&g, 6, 4);
    assert_mapped_blocks(&g, dev.bcontainer);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_replay_failure_fails_realize(void)
{
    Guest g;
    VFIODevice dev;
    Error *err = NULL;
    StderrCapture cap;
    g_autofree char *text = NULL;

    if (!test_start_sim("[iommu]\ndma-entry-limit = 4\n",
                        "a DMA-mapping limit of 4 (dma_entry_limit)")) {
        return;
    }
    guest_init(&g, "discard-replay");
    plug(&g, 0, 8);
    stderr_capture_begin(&cap);
    g_assert_false(ldev_attach(&dev, test_edu(), &g.g.as, &err));
    g_free(stderr_capture_end(&cap));
    text = error_text(&err);
    assert_contains(text, "discard-replay-mem");
    assert_contains(text, "budget");
    assert_nothing_left(&g.g.as);
    /* The memory itself is still plugged: only VFIO refused it. */
    g_assert_true(pluggable_ram_is_plugged(g.pr, 0, 8 * BLOCK));

    guest_destroy(&g);
    sim_load(NULL);
}

static void test_granularity_below_iommu_page_refused(void)
{
    LGuest g;
    MemoryRegion mem;
    PluggableRam *pr;
    VFIODevice dev;
    Error *err = NULL;
    g_autofree char *text = NULL;

    /* An IOMMU whose smallest page is 2 MiB cannot unmap 4 KiB blocks alone. */
    if (!test_start_sim("[iommu]\npgsizes = 0x40200000\n",
                        "an IOMMU whose smallest page is 2 MiB")) {
        return;
    }
    lguest_init(&g, "discard-gran");
    g_assert_true(memory_region_init_ram(&mem, NULL, "discard-gran-mem", 4 * MiB,
                                         &error_abort));
    pr = pluggable_ram_new(&mem, PAGE, &error_abort);
    memory_region_add_subregion(&g.root, 0, &mem);
    g_assert_false(ldev_attach(&dev, test_edu(), &g.as, &err));
    text = error_text(&err);
    assert_contains(text, "discard-gran-mem");
    assert_contains(text, "granularity");
    assert_nothing_left(&g.as);

    memory_region_del_subregion(&g.root, &mem);
    pluggable_ram_free(pr);
    lguest_destroy(&g);
    memory_region_unparent(&mem);
    sim_load(NULL);
}

/* The device at @iova writes a page of guest memory by DMA. */
static void dma_write_page(VFIODevice *dev, bool pin, hwaddr iova, uint32_t pattern)
{
    if (pin) {
        g_assert_cmpint(pin_write_page(dev, iova, pattern), ==, 0);
    } else {
        edu_dma(dev, iova, PAGE, true);
    }
}

/*
 * Dirty tracking (container mode) over plugged blocks.  The pinning device
 * (the sim's pin, @data PIN4) dirties exactly the pages it writes; a
 * DMA-capable device (the edu, @data NULL: the device under test) every
 * page of every plugged block, since the kernel cannot tell what it wrote.
 */
static void test_dirty_sync_covers_plugged_blocks(gconstpointer data)
{
    const bool pin = data != NULL;
    const uint64_t block_pages = BLOCK / PAGE;
    Guest g;
    VFIODevice dev;

    if (pin ? !test_start_sim(NULL, "a page-pinning device (the sim's pin)") : !test_start()) {
        return;
    }
    guest_init(&g, "discard-dirty");
    plug(&g, 1, 1);
    plug(&g, 3, 2);
    ldev_attach_ok(&dev, pin ? PIN4 : test_edu(), &g.g.as);
    dev_enable(&dev);
    g_assert_true(memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION, &error_abort));
    g_assert_cmpint(vfio_container_dirty_tracking_mode(dev.bcontainer), ==,
                    VFIO_DIRTY_TRACKING_CONTAINER);
    ram_clear_dirty(&g.mem);
    dma_write_page(&dev, pin, MEM_BASE + 1 * BLOCK + 5 * PAGE, 1);
    dma_write_page(&dev, pin, MEM_BASE + 4 * BLOCK, 2);
    memory_global_dirty_log_sync(false);
    g_assert_true(ram_page_dirty(&g.mem, 1 * BLOCK + 5 * PAGE));
    g_assert_true(ram_page_dirty(&g.mem, 4 * BLOCK));
    g_assert_cmpuint(ram_dirty_pages(&g.mem), ==, pin ? 2 : 3 * block_pages);
    if (!pin) {
        /* Nothing of an unplugged block. */
        g_assert_false(ram_page_dirty(&g.mem, 0));
        g_assert_false(ram_page_dirty(&g.mem, 2 * BLOCK));
        g_assert_false(ram_page_dirty(&g.mem, 5 * BLOCK));
    }

    /* Unplugging during migration keeps what was written there. */
    ram_clear_dirty(&g.mem);
    dma_write_page(&dev, pin, MEM_BASE + 3 * BLOCK + PAGE, 3);
    unplug(&g, 3, 1);
    g_assert_true(ram_page_dirty(&g.mem, 3 * BLOCK + PAGE));
    if (!pin) {
        /* The unmap's bitmap: every page of the block, nothing of the others. */
        g_assert_cmpuint(ram_dirty_pages(&g.mem), ==, block_pages);
    }
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/discard/maps-only-populated", test_maps_only_populated);
    g_test_add_func("/vfio/discard/follows-plug-and-unplug", test_follows_plug_and_unplug);
    g_test_add_func("/vfio/discard/populate-vetoed/budget", test_populate_vetoed_by_budget);
    g_test_add_func("/vfio/discard/populate-vetoed/kernel-enospc-rolls-back",
                    test_populate_vetoed_by_kernel);
    g_test_add_func("/vfio/discard/replay-failure-fails-realize",
                    test_replay_failure_fails_realize);
    g_test_add_func("/vfio/discard/granularity-below-iommu-page-refused",
                    test_granularity_below_iommu_page_refused);
    g_test_add_data_func("/vfio/discard/dirty-sync-covers-plugged-blocks", PIN4,
                         test_dirty_sync_covers_plugged_blocks);
    g_test_add_data_func("/vfio/discard/dirty-sync-dma-device-every-plugged-page", NULL,
                         test_dirty_sync_covers_plugged_blocks);
    return g_test_run();
}
