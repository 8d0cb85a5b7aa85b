/*
 * The legacy container backend: IOMMU type selection, GET_INFO, DMA
 * map/unmap with the kernel quirks, dirty tracking, RAM discard, and the
 * backend-neutral helpers.  On vfio-sim and on a real kernel (the device
 * from APERTURE_VFIO_DEVICE, the IOMMU's defaults); other IOMMU set-ups,
 * old kernels' quirks and injected faults skip there as sim-only.
 */
#include "vfio-sim-test.h"
#include "qemu/range.h"
#include "sysemu/ram-discard.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

/* A guest with one edu attached, for the tests that need a live container. */
typedef struct Fixture {
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;
    VFIOContainer *container;
    VFIOContainerBase *bc;
} Fixture;

/*
 * Attach the device under test.  With @sim_only_why the test needs vfio-sim
 * (its @topology, faults or counters) and skips elsewhere; false: skipped.
 */
static bool fixture_setup(Fixture *f, const char *topology, const char *sim_only_why)
{
    if (sim_only_why ? !test_start_sim(topology, sim_only_why) : !test_start()) {
        return false;
    }
    test_guest_init(&f->g, "guest");
    leak_check_begin(&f->lc);
    attach_ok(&f->dev, test_edu(), &f->g);
    f->bc = f->dev.bcontainer;
    f->container = vfio_container_from_base(f->bc);
    return true;
}

static void fixture_teardown(Fixture *f)
{
    detach(&f->dev);
    leak_check_end(&f->lc, &f->g);
    test_guest_destroy(&f->g);
}

/* Page-aligned anonymous memory for mapping tests. */
static void *test_buffer(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    memset(p, 0xa5, size);
    return p;
}

/* A raw MAP_DMA on the container: 0 or -errno (what the kernel holds). */
static int raw_map(VFIOContainer *c, hwaddr iova, hwaddr size, void *vaddr)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
    };

    return ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

/* A raw UNMAP_DMA: 0 or -errno. */
static int raw_unmap(VFIOContainer *c, hwaddr iova, hwaddr size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = iova, .size = size,
    };

    return ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

/*
 * The kernel no longer maps the guest's RAM: check by mapping it, then
 * give the mapping back to the table so the listener finds what it made.
 */
static void assert_ram_unmapped_then_restore(Fixture *f)
{
    void *ram = memory_region_get_ram_ptr(&f->g.ram);

    g_assert_cmpint(raw_map(f->container, 0, TEST_RAM_SIZE, ram), ==, 0);
    g_assert_cmpint(raw_unmap(f->container, 0, TEST_RAM_SIZE), ==, 0);
    g_assert_cmpint(vfio_container_dma_map(f->bc, 0, TEST_RAM_SIZE, ram, false), ==, 0);
}

/* ------------------------------------------------------------------------ */
/* IOMMU type and info */

static void test_iommu_type_prefers_type1v2(void)
{
    Fixture f;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    g_assert_cmpuint(f.container->iommu_type, ==, VFIO_TYPE1v2_IOMMU);
    g_assert_true(f.container->unmap_all_supported);
    fixture_teardown(&f);
}

static void test_iommu_type_falls_back_to_type1(void)
{
    Fixture f;

    if (!fixture_setup(&f, "[iommu]\nextensions=TYPE1\n",
                       "an IOMMU that offers TYPE1 without TYPE1v2")) {
        return;
    }
    g_assert_cmpuint(f.container->iommu_type, ==, VFIO_TYPE1_IOMMU);
    g_assert_false(f.container->unmap_all_supported);
    fixture_teardown(&f);
}

static void test_get_info_parsed(void)
{
    Fixture f;
    const Range *r;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    /* What Linux 6.12 reported on the rig (RIG-FACTS.md). */
    g_assert_cmphex(f.bc->pgsizes, ==, 0x40201000);
    g_assert_cmpuint(vfio_container_min_pagesize(f.bc), ==, 4096);
    g_assert_cmpuint(g_list_length(f.bc->iova_ranges), ==, 2);
    r = f.bc->iova_ranges->data;
    g_assert_cmphex(range_lob(r), ==, 0);
    g_assert_cmphex(range_upb(r), ==, 0xfedfffff);
    r = f.bc->iova_ranges->next->data;
    g_assert_cmphex(range_lob(r), ==, 0xfef00000);
    g_assert_cmphex(range_upb(r), ==, (1ULL << 48) - 1);
    g_assert_cmpuint(f.bc->dma_max_mappings, ==, 65535);
    g_assert_true(f.bc->dirty_pages_supported);
    g_assert_cmphex(f.bc->dirty_pgsizes & 4096, ==, 4096);
    g_assert_cmpuint(f.bc->max_dirty_bitmap_size, ==, 256 * MiB);
    fixture_teardown(&f);
}

static void test_get_info_configured(void)
{
    Fixture f;
    const Range *r;

    if (!fixture_setup(&f, "[iommu]\niova-ranges=0x0-0x3fffffff;0x100000000-0x1ffffffff\n"
                           "pgsizes=0x201000\ndma-entry-limit=100\n"
                           "migration-pgsize-bitmap=0x200000\n",
                       "an IOMMU with other IOVA ranges, page sizes and limits")) {
        return;
    }
    g_assert_cmphex(f.bc->pgsizes, ==, 0x201000);
    g_assert_cmpuint(g_list_length(f.bc->iova_ranges), ==, 2);
    r = f.bc->iova_ranges->next->data;
    g_assert_cmphex(range_lob(r), ==, 0x100000000ULL);
    g_assert_cmphex(range_upb(r), ==, 0x1ffffffffULL);
    g_assert_cmpuint(f.bc->dma_max_mappings, ==, 100);
    /* A migration capability without the host page size is no use. */
    g_assert_false(f.bc->dirty_pages_supported);
    fixture_teardown(&f);
}

static void test_iova_range_valid(void)
{
    Fixture f;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    g_assert_true(vfio_container_iova_range_valid(f.bc, 0, 4096));
    g_assert_true(vfio_container_iova_range_valid(f.bc, 0xfedff000, 0x1000));
    g_assert_false(vfio_container_iova_range_valid(f.bc, 0xfedff000, 0x2000));
    g_assert_false(vfio_container_iova_range_valid(f.bc, 0xfee00000, 0x1000));
    g_assert_true(vfio_container_iova_range_valid(f.bc, 0xfef00000, 0x1000));
    g_assert_false(vfio_container_iova_range_valid(f.bc, 1ULL << 48, 0x1000));
    g_assert_false(vfio_container_iova_range_valid(f.bc, 0, 0));
    g_assert_false(vfio_container_iova_range_valid(f.bc, UINT64_MAX - 0xfff, 0x2000));
    fixture_teardown(&f);
}

/* ------------------------------------------------------------------------ */
/* DMA */

static void test_map_unmap(void)
{
    Fixture f;
    void *buf;
    hwaddr iova = 0x10000000;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    buf = test_buffer(64 * KiB);
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova, 64 * KiB, buf, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 2);
    /* The kernel has it: mapping it again overlaps. */
    g_assert_cmpint(raw_map(f.container, iova, 4096, buf), ==, -EEXIST);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0xfee00000, 4096, buf, false), ==, -EINVAL);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 2);
    /* v2 refuses to split a mapping. */
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, iova, 4096, false), ==, -EINVAL);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, iova, 64 * KiB, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 1);
    g_assert_cmpint(raw_map(f.container, iova, 4096, buf), ==, 0);
    g_assert_cmpint(raw_unmap(f.container, iova, 4096), ==, 0);
    /* v2 takes a range covering several whole mappings. */
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova, 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova + 8192, 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, iova, 64 * KiB, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 1);
    fixture_teardown(&f);
    munmap(buf, 64 * KiB);
}

static void test_map_readonly(void)
{
    Fixture f;
    void *buf;
    const DMAMap *m;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    buf = test_buffer(4096);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20000000, 4096, buf, true), ==, 0);
    m = iova_tree_find_address(f.bc->mappings, 0x20000000);
    g_assert_nonnull(m);
    g_assert_cmpint(m->perm, ==, IOMMU_RO);
    g_assert_cmphex(m->translated_addr, ==, (uintptr_t)buf);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0x20000000, 4096, false), ==, 0);
    fixture_teardown(&f);
    munmap(buf, 4096);
}

static void test_map_ebusy_retried_once(void)
{
    Fixture f;
    void *buf;

    if (!fixture_setup(&f, NULL, "injected EBUSY and ENOSPC on MAP_DMA")) {
        return;
    }
    buf = test_buffer(4096);
    /* The next MAP_DMA fails with EBUSY: the backend unmaps and maps again. */
    sim_fault("map-ebusy-at=1");
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20000000, 4096, buf, false), ==, 0);
    g_assert_cmpuint(sim_status("map-calls"), ==, 2);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 2);
    g_assert_cmpint(raw_map(f.container, 0x20000000, 4096, buf), ==, -EEXIST);
    sim_fault("map-ebusy-at=1");
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20001000, 4096, buf, false), ==, 0);
    sim_fault("map-ebusy-at=0,map-enospc-at=1");
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20002000, 4096, buf, false), ==, -ENOSPC);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 3);
    sim_fault("map-enospc-at=0");
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0x20000000, 0x2000, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 1);
    fixture_teardown(&f);
    munmap(buf, 4096);
}

/*
 * A MAP over a lingering mapping fails EBUSY (early type1): the container
 * unmaps the range and maps again; the table holds the new mapping only.
 */
static void test_map_ebusy_over_mapping_replaces_it(void)
{
    Fixture f;
    uint8_t *buf;
    hwaddr iova = 0x20000000;
    uint32_t before;
    const DMAMap *m;

    if (!fixture_setup(&f, NULL, "EBUSY on an overlapping MAP_DMA (early type1)")) {
        return;
    }
    buf = test_buffer(2 * 4096);
    before = vfio_container_dma_mappings(f.bc);
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova, 4096, buf, false), ==, 0);
    sim_fault("map-overlap-ebusy=1");
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova, 4096, buf + 4096, true), ==, 0);
    sim_fault("map-overlap-ebusy=0");
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, before + 1);
    m = iova_tree_find_address(f.bc->mappings, iova);
    g_assert_nonnull(m);
    g_assert_cmphex(m->translated_addr, ==, (uintptr_t)(buf + 4096));
    g_assert_cmpint(m->perm, ==, IOMMU_RO);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, iova, 4096, false), ==, 0);
    fixture_teardown(&f);
    munmap(buf, 2 * 4096);
}

/*
 * EBUSY, the unmap of the retry takes the old mapping away, then the
 * second MAP fails: the table must forget the old mapping too (the kernel
 * no longer has it), or the listener would later unmap or count a mapping
 * that does not exist.
 */
static void test_map_ebusy_failed_retry_forgets_unmapped(void)
{
    Fixture f;
    uint8_t *buf;
    hwaddr iova = 0x20000000;
    uint32_t before;

    if (!fixture_setup(&f, NULL,
                       "EBUSY on an overlapping MAP_DMA (early type1) and injected ENOSPC")) {
        return;
    }
    buf = test_buffer(2 * 4096);
    before = vfio_container_dma_mappings(f.bc);
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova, 4096, buf, false), ==, 0);
    /* MAP over it: EBUSY (not counted); UNMAP; MAP again: the first counted, ENOSPC. */
    sim_fault("map-overlap-ebusy=1,map-enospc-at=1");
    g_assert_cmpint(vfio_container_dma_map(f.bc, iova, 4096, buf + 4096, false), ==, -ENOSPC);
    sim_fault("map-overlap-ebusy=0,map-enospc-at=0");
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, before);
    g_assert_null(iova_tree_find_address(f.bc->mappings, iova));
    /* The kernel has nothing there either: a raw MAP goes through. */
    g_assert_cmpint(raw_map(f.container, iova, 4096, buf), ==, 0);
    g_assert_cmpint(raw_unmap(f.container, iova, 4096), ==, 0);
    fixture_teardown(&f);
    munmap(buf, 2 * 4096);
}

static void test_map_budget_enospc(void)
{
    Fixture f;
    void *buf;

    /* Room for the guest RAM and two more. */
    if (!fixture_setup(&f, "[iommu]\ndma-entry-limit=3\n",
                       "a DMA-mapping limit of 3 (dma_entry_limit)")) {
        return;
    }
    buf = test_buffer(4 * 4096);
    g_assert_cmpuint(f.bc->dma_max_mappings, ==, 3);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20000000, 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20001000, 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20002000, 4096, buf, false), ==, -ENOSPC);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, f.bc->dma_max_mappings);
    fixture_teardown(&f);
    munmap(buf, 4 * 4096);
}

static void test_unmap_overflow_quirk(void)
{
    Fixture f;
    void *buf;
    hwaddr top = (1ULL << 48) - 4096;

    /* A 4.15-5.0 kernel without UNMAP_ALL: unmapping up to 2^64 is EINVAL. */
    if (!fixture_setup(&f, "[iommu]\nextensions=TYPE1v2;TYPE1\nquirk-unmap-overflow=true\n",
                       "the unmap overflow quirk of Linux 4.15-5.0")) {
        return;
    }
    buf = test_buffer(4096);
    g_assert_false(f.container->unmap_all_supported);
    g_assert_cmpint(vfio_container_dma_map(f.bc, top, 4096, buf, false), ==, 0);
    /* Everything from @top to the end of the address space. */
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, top, -top, false), ==, 0);
    g_assert_cmpint(raw_map(f.container, top, 4096, buf), ==, 0);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, top, 4096, false), ==, 0);
    /* unmap-all splits at 2^63 and hits the quirk in the upper half. */
    g_assert_cmpint(vfio_container_dma_map(f.bc, top, 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0, 0, true), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 0);
    g_assert_cmpint(raw_map(f.container, top, 4096, buf), ==, 0);
    g_assert_cmpint(raw_unmap(f.container, top, 4096), ==, 0);
    assert_ram_unmapped_then_restore(&f);
    fixture_teardown(&f);
    munmap(buf, 4096);
}

static void test_type1_v1_unmap_semantics(void)
{
    Fixture f;
    void *buf;

    /* Type1 (v1) unmaps whole mappings, and none when the range starts inside one. */
    if (!fixture_setup(&f, "[iommu]\nextensions=TYPE1;UNMAP_ALL\n",
                       "an IOMMU that offers type1 v1 only")) {
        return;
    }
    buf = test_buffer(4 * 4096);
    g_assert_cmpuint(f.container->iommu_type, ==, VFIO_TYPE1_IOMMU);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20000000, 2 * 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20002000, 2 * 4096, buf, false), ==, 0);
    /* Starts inside the first mapping: nothing goes. */
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0x20001000, 2 * 4096, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 3);
    g_assert_cmpint(raw_map(f.container, 0x20001000, 4096, buf), ==, -EEXIST);
    g_assert_cmpint(raw_map(f.container, 0x20002000, 4096, buf), ==, -EEXIST);
    /* Starts at the second, ends inside it: all of it goes. */
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0x20002000, 4096, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 2);
    g_assert_null(iova_tree_find_address(f.bc->mappings, 0x20003000));
    g_assert_cmpint(raw_map(f.container, 0x20003000, 4096, buf), ==, 0);
    g_assert_cmpint(raw_unmap(f.container, 0x20003000, 4096), ==, 0);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0x20000000, 2 * 4096, false), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 1);
    fixture_teardown(&f);
    munmap(buf, 4 * 4096);
}

static void test_unmap_all(void)
{
    Fixture f;
    void *buf;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    buf = test_buffer(4096);
    g_assert_true(f.container->unmap_all_supported);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20000000, 4096, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0xfef00000, 4096, buf, true), ==, 0);
    g_assert_cmpint(vfio_container_dma_unmap(f.bc, 0, 0, true), ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 0);
    g_assert_cmpint(raw_map(f.container, 0x20000000, 4096, buf), ==, 0);
    g_assert_cmpint(raw_unmap(f.container, 0x20000000, 4096), ==, 0);
    assert_ram_unmapped_then_restore(&f);
    fixture_teardown(&f);
    munmap(buf, 4096);
}

/* ------------------------------------------------------------------------ */
/* Dirty tracking through the IOMMU */

static void test_dirty_pages_ops(void)
{
    Fixture f;
    VFIOBitmap vbmap;
    size_t size = 16 * 4096;
    void *buf;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    buf = test_buffer(size);
    g_assert_cmpint(vfio_container_dma_map(f.bc, 0x20000000, size, buf, false), ==, 0);
    g_assert_cmpint(vfio_container_iommu_set_dirty_tracking(f.bc, true), ==, 0);
    g_assert_true(f.bc->dirty_pages_started);

    g_assert_cmpint(vfio_bitmap_alloc(&vbmap, size), ==, 0);
    g_assert_cmpuint(vbmap.pages, ==, 16);
    g_assert_cmpuint(vbmap.size, ==, 8);
    g_assert_cmpint(vfio_container_iommu_query_dirty_bitmap(f.bc, &vbmap, 0x20000000, size),
                    ==, 0);
    /* vfio-pci pins nothing: the kernel reports every mapped page dirty. */
    g_assert_cmphex(vbmap.bitmap[0], ==, 0xffff);

    /* Unmap with the bitmap: the mapping goes, its dirty pages come back. */
    memset(vbmap.bitmap, 0, vbmap.size);
    g_assert_cmpint(vfio_container_dma_unmap_bitmap(f.bc, 0x20000000, size, &vbmap), ==, 0);
    g_assert_cmphex(vbmap.bitmap[0], ==, 0xffff);
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, 1);
    vfio_bitmap_free(&vbmap);

    g_assert_cmpint(vfio_container_iommu_set_dirty_tracking(f.bc, false), ==, 0);
    g_assert_false(f.bc->dirty_pages_started);
    fixture_teardown(&f);
    munmap(buf, size);
}

static void test_dirty_bitmap_too_big(void)
{
    Fixture f;
    VFIOBitmap vbmap;
    uint32_t mappings;

    /* 8 bytes of bitmap: 64 pages per query at most. */
    if (!fixture_setup(&f, "[iommu]\nmax-dirty-bitmap-size=8\n",
                       "a max_dirty_bitmap_size of 8 bytes")) {
        return;
    }
    mappings = vfio_container_dma_mappings(f.bc);
    g_assert_cmpuint(f.bc->max_dirty_bitmap_size, ==, 8);
    g_assert_cmpint(vfio_container_iommu_set_dirty_tracking(f.bc, true), ==, 0);
    g_assert_cmpint(vfio_bitmap_alloc(&vbmap, TEST_RAM_SIZE), ==, 0);
    g_assert_cmpuint(vbmap.size, ==, 64);
    g_assert_cmpint(vfio_container_iommu_query_dirty_bitmap(f.bc, &vbmap, 0, TEST_RAM_SIZE),
                    ==, -E2BIG);
    g_assert_cmpint(vfio_container_dma_unmap_bitmap(f.bc, 0, TEST_RAM_SIZE, &vbmap), ==,
                    -E2BIG);
    /* Nothing was unmapped. */
    g_assert_cmpuint(vfio_container_dma_mappings(f.bc), ==, mappings);
    vfio_bitmap_free(&vbmap);
    g_assert_cmpint(vfio_container_iommu_set_dirty_tracking(f.bc, false), ==, 0);
    fixture_teardown(&f);
}

static void test_dirty_tracking_unsupported(void)
{
    Fixture f;
    VFIOBitmap vbmap;

    if (!fixture_setup(&f, "[iommu]\nmigration-pgsize-bitmap=0x200000\n",
                       "an IOMMU whose dirty page sizes lack the host page")) {
        return;
    }
    g_assert_false(f.bc->dirty_pages_supported);
    g_assert_cmpint(vfio_container_iommu_set_dirty_tracking(f.bc, true), ==, -ENOTSUP);
    g_assert_false(f.bc->dirty_pages_started);
    g_assert_cmpint(vfio_bitmap_alloc(&vbmap, 4096), ==, 0);
    g_assert_cmpint(vfio_container_iommu_query_dirty_bitmap(f.bc, &vbmap, 0, 4096), ==,
                    -ENOTSUP);
    g_assert_cmpint(vfio_container_dma_unmap_bitmap(f.bc, 0, 4096, &vbmap), ==, -ENOTSUP);
    vfio_bitmap_free(&vbmap);
    fixture_teardown(&f);
}

/* ------------------------------------------------------------------------ */
/* RAM discard */

static void test_discard_type1_uncoordinated_only(void)
{
    Fixture f;

    if (!fixture_setup(&f, NULL, NULL)) {
        return;
    }
    /* Type1 follows a RamDiscardManager: coordinated discard stays possible. */
    g_assert_true(ram_block_discard_is_disabled());
    g_assert_cmpint(ram_block_discard_require(true), ==, -EBUSY);
    g_assert_cmpint(ram_block_coordinated_discard_require(true), ==, 0);
    ram_block_coordinated_discard_require(false);
    fixture_teardown(&f);
    g_assert_false(ram_block_discard_is_disabled());
}

static void test_discard_per_group_counts(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice a, b;

    if (!test_start_two()) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);
    attach_ok(&a, test_edu(), &g);
    attach_ok(&b, test_edu2(), &g);
    detach(&a);
    /* The second device's group still holds its restriction. */
    g_assert_true(ram_block_discard_is_disabled());
    g_assert_cmpint(ram_block_discard_require(true), ==, -EBUSY);
    detach(&b);
    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

static void test_discard_group_opt_in(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice dev;

    if (!test_start()) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);
    vfio_device_init(&dev, test_edu(), NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    dev.ram_block_discard_allowed = true;
    g_assert_true(vfio_device_attach(test_edu(), &dev, &g.as, &error_abort));
    g_assert_true(dev.group->ram_block_discard_allowed);
    g_assert_false(ram_block_discard_is_disabled());
    g_assert_cmpint(ram_block_discard_require(true), ==, 0);
    ram_block_discard_require(false);
    detach(&dev);
    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

static void test_discard_setting_must_agree_in_group(void)
{
    TestGuest g;
    LeakCheck lc;
    VFIODevice a, b;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start_sim("[device 0000:00:01.0]\ngroup=7\n[device 0000:00:03.0]\ngroup=7\n",
                        "two vfio-pci devices in one IOMMU group")) {
        return;
    }
    test_guest_init(&g, "guest");
    leak_check_begin(&lc);
    vfio_device_init(&a, EDU1, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    a.ram_block_discard_allowed = true;
    g_assert_true(vfio_device_attach(EDU1, &a, &g.as, &error_abort));
    vfio_device_init(&b, EDU3, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    g_assert_false(vfio_device_attach(EDU3, &b, &g.as, &err));
    text = error_text(&err);
    assert_contains(text, "vfio 0000:00:03.0: group 7: the device forbids RAM discard");
    assert_contains(text, "must agree within a group");
    g_assert_cmpint(b.fd, ==, -1);
    vfio_device_finalize(&b);
    g_assert_cmpuint(g_list_length(a.group->device_list), ==, 1);
    g_assert_false(ram_block_discard_is_disabled());
    detach(&a);
    leak_check_end(&lc, &g);
    test_guest_destroy(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/container/iommu-type/prefers-type1v2",
                    test_iommu_type_prefers_type1v2);
    g_test_add_func("/vfio/container/iommu-type/type1-without-v2",
                    test_iommu_type_falls_back_to_type1);
    g_test_add_func("/vfio/container/get-info/rig-values", test_get_info_parsed);
    g_test_add_func("/vfio/container/get-info/configured-values", test_get_info_configured);
    g_test_add_func("/vfio/container/iova-range-valid", test_iova_range_valid);
    g_test_add_func("/vfio/container/dma/map-unmap", test_map_unmap);
    g_test_add_func("/vfio/container/dma/map-readonly", test_map_readonly);
    g_test_add_func("/vfio/container/dma/map-ebusy-retried-once", test_map_ebusy_retried_once);
    g_test_add_func("/vfio/container/dma/map-ebusy-over-mapping-replaces-it",
                    test_map_ebusy_over_mapping_replaces_it);
    g_test_add_func("/vfio/container/dma/map-ebusy-failed-retry-forgets-unmapped",
                    test_map_ebusy_failed_retry_forgets_unmapped);
    g_test_add_func("/vfio/container/dma/budget-enospc", test_map_budget_enospc);
    g_test_add_func("/vfio/container/dma/unmap-overflow-quirk", test_unmap_overflow_quirk);
    g_test_add_func("/vfio/container/dma/unmap-all", test_unmap_all);
    g_test_add_func("/vfio/container/dma/type1-v1-unmaps-whole-mappings",
                    test_type1_v1_unmap_semantics);
    g_test_add_func("/vfio/container/dirty/start-query-unmap-stop", test_dirty_pages_ops);
    g_test_add_func("/vfio/container/dirty/bitmap-too-big-refused", test_dirty_bitmap_too_big);
    g_test_add_func("/vfio/container/dirty/unsupported-without-host-page",
                    test_dirty_tracking_unsupported);
    g_test_add_func("/vfio/container/discard/type1-forbids-uncoordinated-only",
                    test_discard_type1_uncoordinated_only);
    g_test_add_func("/vfio/container/discard/held-per-group", test_discard_per_group_counts);
    g_test_add_func("/vfio/group/discard-opt-in", test_discard_group_opt_in);
    g_test_add_func("/vfio/group/discard-setting-must-agree",
                    test_discard_setting_must_agree_in_group);
    return g_test_run();
}
