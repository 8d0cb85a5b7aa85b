/*
 * VFIODevice: device and region info, the region slow path and mmap fast
 * path (whole and sparse), IRQ signalling, reset.  On vfio-sim and on a
 * real kernel with QEMU's edu (APERTURE_VFIO_DEVICE); what needs the sim's
 * mig model (a vendor region, sparse mmap, reset) skips there.
 */
#include "vfio-sim-test.h"
#include "qemu/event_notifier.h"
#include "qemu/main-loop.h"

#include <poll.h>
#include <linux/vfio.h>

#define EDU_REG_ID          0x00
#define EDU_REG_LIVENESS    0x04
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
#define EDU_ID_VALUE        0x010000edu
#define MIG_ID_VALUE        0x3147494du

typedef struct Fixture {
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;
} Fixture;

/* Attach @name (NULL: the device under test, on any VFIO; else a sim device). */
static bool fixture_setup(Fixture *f, const char *name, bool no_mmap)
{
    if (name ? !test_start_sim(NULL, "the sim's mig device (a vendor region, sparse mmap, "
                                     "reset)")
             : !test_start()) {
        return false;
    }
    name = name ? name : test_edu();
    test_guest_init(&f->g, "guest");
    leak_check_begin(&f->lc);
    vfio_device_init(&f->dev, name, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    f->dev.no_mmap = no_mmap;
    g_assert_true(vfio_device_attach(name, &f->dev, &f->g.as, &error_abort));
    return true;
}

static void fixture_teardown(Fixture *f)
{
    detach(&f->dev);
    leak_check_end(&f->lc, &f->g);
    test_guest_destroy(&f->g);
}

/* ------------------------------------------------------------------------ */
/* Info */

static void test_region_info_edu(void)
{
    Fixture f;
    struct vfio_region_info *info, *again;

    if (!fixture_setup(&f, NULL, false)) {
        return;
    }
    g_assert_cmpint(vfio_device_get_region_info(&f.dev, VFIO_PCI_BAR0_REGION_INDEX, &info),
                    ==, 0);
    g_assert_cmphex(info->size, ==, 1 * MiB);
    g_assert_cmphex(info->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                                   VFIO_REGION_INFO_FLAG_MMAP), ==,
                    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                    VFIO_REGION_INFO_FLAG_MMAP);
    /* Read once, then served from the cache. */
    g_assert_cmpint(vfio_device_get_region_info(&f.dev, VFIO_PCI_BAR0_REGION_INDEX, &again),
                    ==, 0);
    g_assert_true(again == info);
    g_assert_cmpint(vfio_device_get_region_info(&f.dev, VFIO_PCI_CONFIG_REGION_INDEX, &info),
                    ==, 0);
    g_assert_cmphex(info->size, ==, 256);
    /* Conventional PCI edu: no VGA region; no such index at all past the last. */
    g_assert_cmpint(vfio_device_get_region_info(&f.dev, VFIO_PCI_VGA_REGION_INDEX, &info),
                    ==, -EINVAL);
    g_assert_null(info);
    g_assert_cmpint(vfio_device_get_region_info(&f.dev, f.dev.num_regions, &info), ==,
                    -EINVAL);
    fixture_teardown(&f);
}

static void test_region_by_type(void)
{
    Fixture f;
    struct vfio_region_info *info;

    if (!fixture_setup(&f, MIG2, false)) {
        return;
    }
    g_assert_true(f.dev.reset_works);
    g_assert_cmpuint(f.dev.num_regions, ==, VFIO_PCI_NUM_REGIONS + 1);
    /* The mig model's vendor region: PCI vendor type 0x1b36, subtype 1. */
    g_assert_cmpint(vfio_device_get_region_info_type(&f.dev, 0x80000000u | 0x1b36, 1, &info),
                    ==, 0);
    g_assert_cmpuint(info->index, ==, VFIO_PCI_NUM_REGIONS);
    g_assert_cmpint(vfio_device_get_region_info_type(&f.dev, 0x80000000u | 0x1b36, 2, &info),
                    ==, -ENODEV);
    fixture_teardown(&f);
}

/* ------------------------------------------------------------------------ */
/* Regions */

static void test_region_slow_path(void)
{
    Fixture f;
    VFIORegion bar0;
    uint64_t v;

    /* x-no-mmap: every access goes through pread/pwrite. */
    if (!fixture_setup(&f, NULL, true)) {
        return;
    }
    g_assert_true(vfio_region_setup(NULL, &f.dev, &bar0, VFIO_PCI_BAR0_REGION_INDEX, "bar0",
                                    &error_abort));
    g_assert_nonnull(bar0.mem);
    g_assert_cmpuint(bar0.size, ==, 1 * MiB);
    g_assert_cmpuint(bar0.nr_mmaps, ==, 0);
    g_assert_true(vfio_region_mmap(&bar0, &error_abort));
    g_assert_cmphex(vfio_region_read(&bar0, EDU_REG_ID, 4), ==, EDU_ID_VALUE);
    /* edu's liveness register answers the inverse of what was written. */
    vfio_region_write(&bar0, EDU_REG_LIVENESS, 0x12345678, 4);
    g_assert_cmphex(vfio_region_read(&bar0, EDU_REG_LIVENESS, 4), ==, ~0x12345678u);
    /* Through the memory core, as a guest access would come. */
    g_assert_cmpint(memory_region_dispatch_read(bar0.mem, EDU_REG_ID, &v, 4,
                                                MEMTXATTRS_UNSPECIFIED), ==, MEMTX_OK);
    g_assert_cmphex(v, ==, EDU_ID_VALUE);
    vfio_region_exit(&bar0);
    vfio_region_finalize(&bar0);
    g_assert_null(bar0.mem);
    fixture_teardown(&f);
}

static void test_region_read_failure_all_ones(void)
{
    Fixture f;
    VFIORegion cfg;

    if (!fixture_setup(&f, NULL, true)) {
        return;
    }
    g_assert_true(vfio_region_setup(NULL, &f.dev, &cfg, VFIO_PCI_CONFIG_REGION_INDEX, "cfg",
                                    &error_abort));
    /* Little-endian values of every width: vendor 0x1234, device 0x11e8. */
    g_assert_cmphex(vfio_region_read(&cfg, 0, 2), ==, 0x1234);
    g_assert_cmphex(vfio_region_read(&cfg, 0, 1), ==, 0x34);
    g_assert_cmphex(vfio_region_read(&cfg, 3, 1), ==, 0x11);
    g_assert_cmphex(vfio_region_read(&cfg, 0, 4), ==, 0x11e81234);
    /* Past the end of config space the kernel refuses the read (EFAULT): all ones. */
    g_test_message("an error report about the failed read follows");
    g_assert_cmphex(vfio_region_read(&cfg, 256, 4), ==, 0xffffffff);
    vfio_region_finalize(&cfg);
    fixture_teardown(&f);
}

static void test_region_mmap_whole(void)
{
    Fixture f;
    VFIORegion bar0;
    MemoryRegion root;
    AddressSpace as;

    if (!fixture_setup(&f, NULL, false)) {
        return;
    }
    g_assert_true(vfio_region_setup(NULL, &f.dev, &bar0, VFIO_PCI_BAR0_REGION_INDEX, "bar0",
                                    &error_abort));
    g_assert_cmpuint(bar0.nr_mmaps, ==, 1);
    g_assert_cmpint(bar0.mmaps[0].offset, ==, 0);
    g_assert_cmpuint(bar0.mmaps[0].size, ==, 1 * MiB);
    g_assert_true(vfio_region_mmap(&bar0, &error_abort));
    g_assert_nonnull(bar0.mmaps[0].mmap);
    g_assert_true(memory_region_is_ram_device(&bar0.mmaps[0].mem));
    g_assert_true(memory_region_is_mapped(&bar0.mmaps[0].mem));
    /* A load from the mapping reaches the device. */
    g_assert_cmphex(*(volatile uint32_t *)((char *)bar0.mmaps[0].mmap + EDU_REG_ID), ==,
                    EDU_ID_VALUE);

    /* The BAR in a bus address space: accesses take the mmap'd RAM-device path. */
    memory_region_init(&root, NULL, "bus", 1ULL << 32);
    memory_region_add_subregion(&root, 0xfe000000, bar0.mem);
    address_space_init(&as, &root, "bus");
    g_assert_cmphex(address_space_ldl_le(&as, 0xfe000000 + EDU_REG_ID, MEMTXATTRS_UNSPECIFIED,
                                         NULL), ==, EDU_ID_VALUE);
    address_space_stl_le(&as, 0xfe000000 + EDU_REG_LIVENESS, 0xcafe0000,
                         MEMTXATTRS_UNSPECIFIED, NULL);
    g_assert_cmphex(address_space_ldl_le(&as, 0xfe000000 + EDU_REG_LIVENESS,
                                         MEMTXATTRS_UNSPECIFIED, NULL), ==, ~0xcafe0000u);
    memory_region_del_subregion(&root, bar0.mem);
    address_space_destroy(&as);
    memory_region_unparent(&root);

    vfio_region_unmap(&bar0);
    g_assert_null(bar0.mmaps[0].mmap);
    /* Mapped again, then torn down whole. */
    g_assert_true(vfio_region_mmap(&bar0, &error_abort));
    vfio_region_exit(&bar0);
    g_assert_false(memory_region_is_mapped(&bar0.mmaps[0].mem));
    vfio_region_finalize(&bar0);
    fixture_teardown(&f);
}

/*
 * A region finalised inside a memory transaction while a flat view still
 * shows it and its mmap: the memory core finalises both MemoryRegions at
 * the outermost commit, after vfio_region_finalize has returned, so their
 * storage must still be there then (under ASan a use after free otherwise).
 * It is freed by the main loop afterwards.
 */
static void test_region_finalize_in_transaction(void)
{
    Fixture f;
    VFIORegion bar0;
    MemoryRegion root;
    AddressSpace as;
    MemTxResult r;

    if (!fixture_setup(&f, NULL, false)) {
        return;
    }
    g_assert_true(vfio_region_setup(NULL, &f.dev, &bar0, VFIO_PCI_BAR0_REGION_INDEX, "bar0",
                                    &error_abort));
    g_assert_true(vfio_region_mmap(&bar0, &error_abort));
    memory_region_init(&root, NULL, "bus", 1ULL << 32);
    memory_region_add_subregion(&root, 0xfe000000, bar0.mem);
    address_space_init(&as, &root, "bus");
    g_assert_cmphex(address_space_ldl_le(&as, 0xfe000000 + EDU_REG_ID, MEMTXATTRS_UNSPECIFIED,
                                         NULL), ==, EDU_ID_VALUE);

    memory_region_transaction_begin();
    vfio_region_exit(&bar0);
    vfio_region_finalize(&bar0);
    g_assert_null(bar0.mem);
    g_assert_null(bar0.mmaps);
    memory_region_transaction_commit();     /* the old view lets the regions go here */

    g_assert_cmphex(address_space_ldl_le(&as, 0xfe000000 + EDU_REG_ID, MEMTXATTRS_UNSPECIFIED,
                                         &r), ==, 0xffffffff);
    g_assert_cmpuint(r, ==, MEMTX_DECODE_ERROR);
    main_loop_wait(true);                   /* frees the storage */
    address_space_destroy(&as);
    memory_region_unparent(&root);
    fixture_teardown(&f);
}

static void test_region_mmap_sparse(void)
{
    Fixture f;
    VFIORegion bar0;

    /* mig's BAR0: page 0 (registers) traps, pages 1-3 are offered for mmap. */
    if (!fixture_setup(&f, MIG2, false)) {
        return;
    }
    g_assert_true(vfio_region_setup(NULL, &f.dev, &bar0, VFIO_PCI_BAR0_REGION_INDEX, "bar0",
                                    &error_abort));
    g_assert_cmpuint(bar0.size, ==, 16 * KiB);
    g_assert_cmpuint(bar0.nr_mmaps, ==, 1);
    g_assert_cmpint(bar0.mmaps[0].offset, ==, 4 * KiB);
    g_assert_cmpuint(bar0.mmaps[0].size, ==, 12 * KiB);
    g_assert_true(vfio_region_mmap(&bar0, &error_abort));
    /* The registers answer through the slow path. */
    g_assert_cmphex(vfio_region_read(&bar0, 0, 4), ==, MIG_ID_VALUE);
    /* The scratch pages are plain memory behind the mapping. */
    *(volatile uint32_t *)bar0.mmaps[0].mmap = 0x5a5a1234;
    g_assert_cmphex(vfio_region_read(&bar0, 4 * KiB, 4), ==, 0x5a5a1234);
    vfio_region_exit(&bar0);
    vfio_region_finalize(&bar0);
    fixture_teardown(&f);
}

static void test_region_absent(void)
{
    Fixture f;
    VFIORegion vga;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!fixture_setup(&f, NULL, false)) {
        return;
    }
    g_assert_false(vfio_region_setup(NULL, &f.dev, &vga, VFIO_PCI_VGA_REGION_INDEX, "vga",
                                     &err));
    text = error_text(&err);
    assert_contains(text, test_edu());
    assert_contains(text, ": cannot read the info of region 8");
    g_assert_null(vga.mem);
    fixture_teardown(&f);
}

/* ------------------------------------------------------------------------ */
/* IRQs */

static bool wait_event(EventNotifier *e, int timeout_ms)
{
    struct pollfd pfd = { .fd = event_notifier_get_fd(e), .events = POLLIN };

    if (poll(&pfd, 1, timeout_ms) != 1) {
        return false;
    }
    return event_notifier_test_and_clear(e);
}

static void test_irq_intx(void)
{
    Fixture f;
    VFIORegion bar0;
    struct vfio_irq_info info;
    EventNotifier e;

    if (!fixture_setup(&f, NULL, true)) {
        return;
    }
    g_assert_cmpint(vfio_device_get_irq_info(&f.dev, VFIO_PCI_INTX_IRQ_INDEX, &info), ==, 0);
    g_assert_cmpuint(info.count, ==, 1);
    g_assert_cmphex(info.flags & (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
                                  VFIO_IRQ_INFO_AUTOMASKED), ==,
                    VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);
    g_assert_true(vfio_region_setup(NULL, &f.dev, &bar0, VFIO_PCI_BAR0_REGION_INDEX, "bar0",
                                    &error_abort));
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    g_assert_true(vfio_device_irq_set_signaling(&f.dev, VFIO_PCI_INTX_IRQ_INDEX, 0,
                                                VFIO_IRQ_SET_ACTION_TRIGGER,
                                                event_notifier_get_fd(&e), &error_abort));

    vfio_region_write(&bar0, EDU_REG_IRQ_RAISE, 1, 4);
    g_assert_true(wait_event(&e, 2000));
    /* Automasked: raising again signals nothing until unmasked. */
    vfio_region_write(&bar0, EDU_REG_IRQ_ACK, 1, 4);
    vfio_region_write(&bar0, EDU_REG_IRQ_RAISE, 2, 4);
    g_assert_false(wait_event(&e, 100));
    vfio_device_irq_unmask(&f.dev, VFIO_PCI_INTX_IRQ_INDEX);
    g_assert_true(wait_event(&e, 2000));
    vfio_region_write(&bar0, EDU_REG_IRQ_ACK, 2, 4);
    /* Masked by us, then unmasked: the pending line signals again. */
    vfio_device_irq_mask(&f.dev, VFIO_PCI_INTX_IRQ_INDEX);
    vfio_device_irq_unmask(&f.dev, VFIO_PCI_INTX_IRQ_INDEX);
    vfio_region_write(&bar0, EDU_REG_IRQ_RAISE, 4, 4);
    g_assert_true(wait_event(&e, 2000));
    vfio_region_write(&bar0, EDU_REG_IRQ_ACK, 4, 4);

    vfio_device_irq_disable(&f.dev, VFIO_PCI_INTX_IRQ_INDEX);
    vfio_region_write(&bar0, EDU_REG_IRQ_RAISE, 1, 4);
    g_assert_false(wait_event(&e, 100));
    vfio_region_write(&bar0, EDU_REG_IRQ_ACK, 1, 4);

    event_notifier_cleanup(&e);
    vfio_region_finalize(&bar0);
    fixture_teardown(&f);
}

static void test_irq_set_refused(void)
{
    Fixture f;
    EventNotifier e;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!fixture_setup(&f, NULL, true)) {
        return;
    }
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    /* Conventional PCI has no ERR interrupt. */
    g_assert_false(vfio_device_irq_set_signaling(&f.dev, VFIO_PCI_ERR_IRQ_INDEX, 0,
                                                 VFIO_IRQ_SET_ACTION_TRIGGER,
                                                 event_notifier_get_fd(&e), &err));
    text = error_text(&err);
    assert_contains(text, test_edu());
    assert_contains(text, ": cannot set the trigger ERR[0] eventfd");
    event_notifier_cleanup(&e);
    fixture_teardown(&f);
}

static void test_reset_not_offered(void)
{
    Fixture f;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!fixture_setup(&f, NULL, true)) {
        return;
    }
    /* QEMU's edu has no FLR: the kernel offers no VFIO_DEVICE_RESET. */
    g_assert_false(f.dev.reset_works);
    g_assert_false(vfio_device_reset(&f.dev, &err));
    text = error_text(&err);
    assert_contains(text, test_edu());
    assert_contains(text, ": the device offers no reset");
    fixture_teardown(&f);
}

static void test_reset_offered(void)
{
    Fixture f;

    if (!fixture_setup(&f, MIG2, true)) {
        return;
    }
    g_assert_true(f.dev.reset_works);
    g_assert_true(vfio_device_reset(&f.dev, &error_abort));
    fixture_teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /*
     * A finalised region's storage is freed by a main-loop BH, and the
     * first BH opens the loop's own fds: open them now, so that the leak
     * checks (which count fds) do not take them for a leak.
     */
    main_loop_wait(true);
    g_test_add_func("/vfio/device/region-info-cached", test_region_info_edu);
    g_test_add_func("/vfio/device/region-by-type", test_region_by_type);
    g_test_add_func("/vfio/region/slow-path-no-mmap", test_region_slow_path);
    g_test_add_func("/vfio/region/config-widths-and-failed-read",
                    test_region_read_failure_all_ones);
    g_test_add_func("/vfio/region/mmap-whole-bar", test_region_mmap_whole);
    g_test_add_func("/vfio/region/mmap-sparse-areas-only", test_region_mmap_sparse);
    g_test_add_func("/vfio/region/finalize-inside-transaction",
                    test_region_finalize_in_transaction);
    g_test_add_func("/vfio/region/absent-region-refused", test_region_absent);
    g_test_add_func("/vfio/irq/intx-eventfd-mask-unmask-disable", test_irq_intx);
    g_test_add_func("/vfio/irq/set-refused-names-index", test_irq_set_refused);
    g_test_add_func("/vfio/device/reset-refused-when-not-offered", test_reset_not_offered);
    g_test_add_func("/vfio/device/reset-when-offered", test_reset_offered);
    return g_test_run();
}
