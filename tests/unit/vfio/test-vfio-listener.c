/*
 * The VFIO memory listener: which sections are mapped and how, what a
 * mapping error does before and after initialisation, and vIOMMU sections.
 * The kernel's table is checked directly with probes, and DMA through the
 * edu shows where mappings lead.  On vfio-sim and on a real kernel (the edu
 * from APERTURE_VFIO_DEVICE); the budget cases need a sim topology.
 */
#include "test-vfio-listener-util.h"
#include "qemu/range.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#define RAM_SIZE (2 * MiB)

/* A guest with RAM at 0 and whatever the test adds. */
typedef struct Guest {
    LGuest g;
    MemoryRegion ram;
} Guest;

static void guest_init(Guest *g, const char *name)
{
    g_autofree char *ram = g_strdup_printf("%s-ram", name);

    lguest_init(&g->g, name);
    g_assert_true(memory_region_init_ram(&g->ram, NULL, ram, RAM_SIZE, &error_abort));
    memory_region_add_subregion(&g->g.root, 0, &g->ram);
}

static void guest_destroy(Guest *g)
{
    lguest_destroy(&g->g);
    memory_region_unparent(&g->ram);
}

static void *host_buffer(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Section kinds */

static void test_ram_mapped_and_dma_lands(void)
{
    Guest g;
    VFIODevice dev;
    const DMAMap *m;
    uint8_t *ram;
    int fd;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-ram");
    ram = memory_region_get_ram_ptr(&g.ram);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    fd = container_fd(dev.bcontainer);

    m = table_lookup(dev.bcontainer, 0);
    g_assert_nonnull(m);
    g_assert_cmphex(m->iova, ==, 0);
    g_assert_cmphex(m->size, ==, RAM_SIZE - 1);
    g_assert_cmphex(m->translated_addr, ==, (uintptr_t)ram);
    g_assert_cmpint(m->perm, ==, IOMMU_RW);
    g_assert_cmpuint(kernel_mapped_pages(fd, 0, RAM_SIZE), ==, RAM_SIZE / PAGE);

    /* The edu copies page 1 to page 5 through the IOMMU. */
    memset(ram + PAGE, 0x5a, PAGE);
    memset(ram + 5 * PAGE, 0, PAGE);
    dev_enable(&dev);
    edu_dma(&dev, PAGE, PAGE, false);
    edu_dma(&dev, 5 * PAGE, PAGE, true);
    g_assert_cmpmem(ram + 5 * PAGE, PAGE, ram + PAGE, PAGE);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    guest_destroy(&g);
}

static void test_rom_mapped_readonly(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion rom;
    const DMAMap *m;
    uint8_t *rom_ptr;
    uint64_t faults;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-rom");
    g_assert_true(memory_region_init_rom(&rom, NULL, "lst-rom-rom", 64 * KiB, &error_abort));
    memory_region_add_subregion(&g.g.root, 0x400000, &rom);
    rom_ptr = memory_region_get_ram_ptr(&rom);
    memset(rom_ptr, 0x11, 64 * KiB);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);

    m = table_lookup(dev.bcontainer, 0x400000);
    g_assert_nonnull(m);
    g_assert_cmphex(m->size, ==, 64 * KiB - 1);
    g_assert_cmpint(m->perm, ==, IOMMU_RO);
    g_assert_cmpuint(kernel_mapped_pages(container_fd(dev.bcontainer), 0x400000, 64 * KiB),
                     ==, 16);

    /* The device reads the ROM but cannot write it. */
    dev_enable(&dev);
    edu_dma(&dev, 0x400000, PAGE, false);
    edu_dma(&dev, 0x0, PAGE, true);
    g_assert_cmpint(((uint8_t *)memory_region_get_ram_ptr(&g.ram))[0], ==, 0x11);
    /* The write faults in the IOMMU (a real kernel logs a DMAR fault): the ROM keeps its bytes. */
    faults = vfio_sim_present() ? sim_status("dma-faults " EDU1) : 0;
    memset(memory_region_get_ram_ptr(&g.ram), 0x22, PAGE);
    edu_dma(&dev, 0x0, PAGE, false);
    edu_dma(&dev, 0x400000, PAGE, true);
    if (vfio_sim_present()) {
        g_assert_cmpuint(sim_status("dma-faults " EDU1), ==, faults + 1);
    }
    for (unsigned i = 0; i < 64 * KiB; i++) {
        if (rom_ptr[i] != 0x11) {
            g_error("ROM byte 0x%x is 0x%02x after a device write, expected 0x11", i,
                    rom_ptr[i]);
        }
    }

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &rom);
    memory_region_unparent(&rom);
    guest_destroy(&g);
}

static uint64_t mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void mmio_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
}

static const MemoryRegionOps mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
};

static void test_mmio_skipped(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion mmio;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-mmio");
    memory_region_init_io(&mmio, NULL, &mmio_ops, NULL, "lst-mmio-regs", 64 * KiB);
    memory_region_add_subregion(&g.g.root, 0x400000, &mmio);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);

    g_assert_null(table_lookup(dev.bcontainer, 0x400000));
    g_assert_cmpuint(kernel_mapped_pages(container_fd(dev.bcontainer), 0x400000, 64 * KiB),
                     ==, 0);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1);
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 0);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &mmio);
    memory_region_unparent(&mmio);
    guest_destroy(&g);
}

static void test_ram_device_mapped_for_p2p(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion bar;
    void *bar_mem;
    const DMAMap *m;

    if (!test_start()) {
        return;
    }
    bar_mem = host_buffer(64 * KiB);
    guest_init(&g, "lst-p2p");
    g_assert_true(memory_region_init_ram_device_ptr(&bar, NULL, "lst-p2p-bar", 64 * KiB,
                                                    bar_mem, &error_abort));
    memory_region_add_subregion(&g.g.root, 0x800000, &bar);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);

    m = table_lookup(dev.bcontainer, 0x800000);
    g_assert_nonnull(m);
    g_assert_cmphex(m->translated_addr, ==, (uintptr_t)bar_mem);
    g_assert_cmpint(m->perm, ==, IOMMU_RW);
    g_assert_cmpuint(kernel_mapped_pages(container_fd(dev.bcontainer), 0x800000, 64 * KiB),
                     ==, 16);

    /* Unmapped with the region. */
    memory_region_del_subregion(&g.g.root, &bar);
    g_assert_null(table_lookup(dev.bcontainer, 0x800000));
    g_assert_cmpuint(kernel_mapped_pages(container_fd(dev.bcontainer), 0x800000, 64 * KiB),
                     ==, 0);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_unparent(&bar);
    guest_destroy(&g);
    munmap(bar_mem, 64 * KiB);
}

static void test_ram_device_failure_is_a_warning(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion bar;
    void *bar_mem;
    StderrCapture cap;
    g_autofree char *text = NULL;

    if (!test_start()) {
        return;
    }
    bar_mem = host_buffer(64 * KiB);
    guest_init(&g, "lst-p2p-warn");
    g_assert_true(memory_region_init_ram_device_ptr(&bar, NULL, "lst-p2p-warn-bar", 64 * KiB,
                                                    bar_mem, &error_abort));
    /* In the MSI window, outside the IOVA ranges. */
    memory_region_add_subregion(&g.g.root, 0xfee00000, &bar);
    stderr_capture_begin(&cap);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    text = stderr_capture_end(&cap);
    assert_contains(text, "warning");
    assert_contains(text, "lst-p2p-warn-bar");
    assert_contains(text, "peer-to-peer");
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 0);
    g_assert_null(table_lookup(dev.bcontainer, 0xfee00000));
    /* The RAM is mapped all the same. */
    g_assert_nonnull(table_lookup(dev.bcontainer, 0));

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &bar);
    memory_region_unparent(&bar);
    guest_destroy(&g);
    munmap(bar_mem, 64 * KiB);
}

static void test_unaligned_head_tail_skipped(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion alias;
    const DMAMap *m;
    int fd;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-unaligned");
    /* RAM [0x800, 0x3800) shown at 0x10800: one partial page at each end. */
    memory_region_init_alias(&alias, NULL, "lst-unaligned-alias", &g.ram, 0x800, 0x3000);
    memory_region_add_subregion_overlap(&g.g.root, 0x400800, &alias, 1);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    fd = container_fd(dev.bcontainer);

    m = table_lookup(dev.bcontainer, 0x401000);
    g_assert_nonnull(m);
    g_assert_cmphex(m->iova, ==, 0x401000);
    g_assert_cmphex(m->size + 1, ==, 0x2000);
    g_assert_cmphex(m->translated_addr, ==,
                    (uintptr_t)memory_region_get_ram_ptr(&g.ram) + 0x1000);
    g_assert_cmpint(kernel_maps_page(fd, 0x400000), ==, 0);
    g_assert_cmpint(kernel_maps_page(fd, 0x401000), ==, 1);
    g_assert_cmpint(kernel_maps_page(fd, 0x402000), ==, 1);
    g_assert_cmpint(kernel_maps_page(fd, 0x403000), ==, 0);
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 0);

    /* Removing it unmaps exactly those two pages. */
    memory_region_del_subregion(&g.g.root, &alias);
    g_assert_cmpuint(kernel_mapped_pages(fd, 0x400000, 0x4000), ==, 0);
    g_assert_cmpuint(kernel_mapped_pages(fd, 0, RAM_SIZE), ==, RAM_SIZE / PAGE);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_unparent(&alias);
    guest_destroy(&g);
}

static void test_misaligned_alias_warns(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion alias;
    StderrCapture cap;
    g_autofree char *text = NULL;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-misaligned");
    /* Offset 0x800 in RAM shown page aligned: no IOMMU page fits. */
    memory_region_init_alias(&alias, NULL, "lst-misaligned-alias", &g.ram, 0x800, 0x4000);
    memory_region_add_subregion(&g.g.root, 0x400000, &alias);
    stderr_capture_begin(&cap);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    text = stderr_capture_end(&cap);
    /* Sections name the leaf region: the RAM the alias shows. */
    assert_contains(text, "lst-misaligned-ram");
    g_assert_null(table_lookup(dev.bcontainer, 0x400000));
    g_assert_cmpuint(kernel_mapped_pages(container_fd(dev.bcontainer), 0x400000, 0x4000), ==,
                     0);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &alias);
    memory_region_unparent(&alias);
    guest_destroy(&g);
}

/* ------------------------------------------------------------------------ */
/* Errors before and after initialisation */

static void test_outside_iova_ranges_fails_realize(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion msi_ram;
    Error *err = NULL;
    g_autofree char *text = NULL;
    int fds = count_fds();

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-outside");
    /* RAM in the MSI window [0xfee00000, 0xfeefffff]: no IOVA there. */
    g_assert_true(memory_region_init_ram(&msi_ram, NULL, "lst-outside-msi-ram", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 0xfee00000, &msi_ram);

    g_assert_false(ldev_attach(&dev, test_edu(), &g.g.as, &err));
    text = error_text(&err);
    assert_contains(text, "lst-outside-msi-ram");
    assert_contains(text, "IOVA ranges");
    assert_nothing_left(&g.g.as);
    g_assert_cmpint(count_fds(), ==, fds);

    memory_region_del_subregion(&g.g.root, &msi_ram);
    memory_region_unparent(&msi_ram);
    guest_destroy(&g);
}

/*
 * A container whose backend is raw ioctls on a sim container the test
 * owns, so the kernel's table can be probed after a failed registration
 * (the legacy backend closes its container with the failure).
 */
typedef struct RawContainer {
    VFIOContainerBase bc;
    int fd;
    int group;
} RawContainer;

static int raw_dma_map(const VFIOContainerBase *bc, hwaddr iova, hwaddr size, void *vaddr,
                       bool readonly)
{
    const RawContainer *rc = container_of(bc, RawContainer, bc);
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | (readonly ? 0 : VFIO_DMA_MAP_FLAG_WRITE),
        .vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
    };

    return ioctl(rc->fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int raw_dma_unmap(const VFIOContainerBase *bc, hwaddr iova, hwaddr size, bool all)
{
    const RawContainer *rc = container_of(bc, RawContainer, bc);
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = iova, .size = size,
    };

    g_assert_false(all);
    return ioctl(rc->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

static const VFIOIOMMUOps raw_ops = {
    .name = "raw-test",
    .dma_map = raw_dma_map,
    .dma_unmap = raw_dma_unmap,
};

static void raw_container_open(RawContainer *rc, AddressSpace *as, int groupid)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", groupid);
    Range *r;

    rc->fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    rc->group = open(path, O_RDWR | O_CLOEXEC);
    g_assert_cmpint(rc->fd, >=, 0);
    g_assert_cmpint(rc->group, >=, 0);
    g_assert_cmpint(ioctl(rc->group, VFIO_GROUP_SET_CONTAINER, &rc->fd), ==, 0);
    g_assert_cmpint(ioctl(rc->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), ==, 0);
    vfio_container_base_init(&rc->bc, vfio_address_space_get(as), &raw_ops);
    rc->bc.pgsizes = PAGE;
    rc->bc.dma_max_mappings = 65535;
    r = g_new(Range, 1);
    range_set_bounds(r, 0, 0xfedfffff);
    rc->bc.iova_ranges = g_list_append(rc->bc.iova_ranges, r);
    r = g_new(Range, 1);
    range_set_bounds(r, 0xfef00000, (1ULL << 48) - 1);
    rc->bc.iova_ranges = g_list_append(rc->bc.iova_ranges, r);
}

static void raw_container_close(RawContainer *rc)
{
    VFIOAddressSpace *space = rc->bc.space;

    vfio_container_listener_unregister(&rc->bc);
    vfio_container_base_finalize(&rc->bc);
    vfio_address_space_put(space);
    close(rc->group);
    close(rc->fd);
}

static void test_failed_replay_leaves_nothing_mapped(void)
{
    Guest g;
    RawContainer rc;
    MemoryRegion high, msi_ram;
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-replay-fail");
    /* Replayed in address order: RAM at 0 and 4 GiB are mapped, then the MSI RAM fails. */
    g_assert_true(memory_region_init_ram(&high, NULL, "lst-replay-fail-high", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 4 * GiB, &high);
    g_assert_true(memory_region_init_ram(&msi_ram, NULL, "lst-replay-fail-msi", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 0xfee00000, &msi_ram);
    raw_container_open(&rc, &g.g.as, test_edu_group());

    g_assert_false(vfio_container_listener_register(&rc.bc, &err));
    text = error_text(&err);
    assert_contains(text, "lst-replay-fail-msi");
    g_assert_false(rc.bc.listener_registered);
    g_assert_cmpuint(vfio_container_dma_mappings(&rc.bc), ==, 0);
    g_assert_cmpuint(kernel_mapped_pages(rc.fd, 0, RAM_SIZE), ==, 0);
    g_assert_cmpuint(kernel_mapped_pages(rc.fd, 4 * GiB, 1 * MiB), ==, 0);

    /* Without the bad RAM the same container registers and maps both. */
    memory_region_del_subregion(&g.g.root, &msi_ram);
    g_assert_true(vfio_container_listener_register(&rc.bc, &error_abort));
    g_assert_true(rc.bc.initialized);
    g_assert_cmpuint(kernel_mapped_pages(rc.fd, 0, RAM_SIZE), ==, RAM_SIZE / PAGE);
    g_assert_cmpuint(kernel_mapped_pages(rc.fd, 4 * GiB, 1 * MiB), ==, 256);
    raw_container_close(&rc);
    assert_nothing_left(&g.g.as);

    memory_region_del_subregion(&g.g.root, &high);
    memory_region_unparent(&high);
    memory_region_unparent(&msi_ram);
    guest_destroy(&g);
}

static void test_outside_iova_ranges_after_init_counted(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion msi_ram;
    StderrCapture cap;
    g_autofree char *text = NULL;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-outside-late");
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    g_assert_true(memory_region_init_ram(&msi_ram, NULL, "lst-outside-late-msi-ram", 1 * MiB,
                                         &error_abort));
    stderr_capture_begin(&cap);
    memory_region_add_subregion(&g.g.root, 0xfee00000, &msi_ram);
    text = stderr_capture_end(&cap);
    assert_contains(text, "lst-outside-late-msi-ram");
    assert_contains(text, "IOVA ranges");
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 1);
    g_assert_null(table_lookup(dev.bcontainer, 0xfee00000));
    /* Removing the section that was never mapped is quiet. */
    memory_region_del_subregion(&g.g.root, &msi_ram);
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 1);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 1);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_unparent(&msi_ram);
    guest_destroy(&g);
}

#define BUDGET_TOPOLOGY "[iommu]\ndma-entry-limit = 3\n"

static void test_budget_exceeded_fails_realize(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion ram[3];
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!test_start_sim(BUDGET_TOPOLOGY, "a DMA-mapping limit of 3 (dma_entry_limit)")) {
        return;
    }
    guest_init(&g, "lst-budget");
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("lst-budget-ram%d", i);

        g_assert_true(memory_region_init_ram(&ram[i], NULL, name, 1 * MiB, &error_abort));
        memory_region_add_subregion(&g.g.root, (i + 1) * 16 * MiB, &ram[i]);
    }
    g_assert_false(ldev_attach(&dev, test_edu(), &g.g.as, &err));
    text = error_text(&err);
    /* The fourth section does not fit in a budget of three. */
    assert_contains(text, "lst-budget-ram2");
    assert_contains(text, "budget of 3");
    assert_nothing_left(&g.g.as);

    for (int i = 0; i < 3; i++) {
        memory_region_del_subregion(&g.g.root, &ram[i]);
        memory_region_unparent(&ram[i]);
    }
    guest_destroy(&g);
    sim_load(NULL);
}

static void test_budget_exceeded_after_init_counted(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion ram[3];
    StderrCapture cap;
    g_autofree char *text = NULL;

    if (!test_start_sim(BUDGET_TOPOLOGY, "a DMA-mapping limit of 3 (dma_entry_limit)")) {
        return;
    }
    guest_init(&g, "lst-budget-late");
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    stderr_capture_begin(&cap);
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("lst-budget-late-ram%d", i);

        g_assert_true(memory_region_init_ram(&ram[i], NULL, name, 1 * MiB, &error_abort));
        memory_region_add_subregion(&g.g.root, (i + 1) * 16 * MiB, &ram[i]);
    }
    text = stderr_capture_end(&cap);
    assert_contains(text, "lst-budget-late-ram2");
    assert_contains(text, "budget");
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 1);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 3);
    g_assert_nonnull(table_lookup(dev.bcontainer, 32 * MiB));
    g_assert_null(table_lookup(dev.bcontainer, 48 * MiB));

    /* Room again: the section can come back. */
    memory_region_del_subregion(&g.g.root, &ram[0]);
    memory_region_del_subregion(&g.g.root, &ram[2]);
    memory_region_add_subregion(&g.g.root, 48 * MiB, &ram[2]);
    g_assert_nonnull(table_lookup(dev.bcontainer, 48 * MiB));
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 1);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    for (int i = 0; i < 3; i++) {
        if (i) {
            memory_region_del_subregion(&g.g.root, &ram[i]);
        }
        memory_region_unparent(&ram[i]);
    }
    guest_destroy(&g);
    sim_load(NULL);
}

static void test_region_del_unmaps_what_was_mapped(void)
{
    Guest g;
    VFIODevice dev;
    MemoryRegion extra;
    int fd;

    if (!test_start()) {
        return;
    }
    guest_init(&g, "lst-del");
    g_assert_true(memory_region_init_ram(&extra, NULL, "lst-del-extra", 1 * MiB,
                                         &error_abort));
    memory_region_add_subregion(&g.g.root, 64 * MiB, &extra);
    ldev_attach_ok(&dev, test_edu(), &g.g.as);
    fd = container_fd(dev.bcontainer);
    g_assert_cmpuint(kernel_mapped_pages(fd, 64 * MiB, 1 * MiB), ==, 256);

    /* Moving a region unmaps the old place and maps the new one. */
    memory_region_set_address(&extra, 96 * MiB);
    g_assert_cmpuint(kernel_mapped_pages(fd, 64 * MiB, 1 * MiB), ==, 0);
    g_assert_cmpuint(kernel_mapped_pages(fd, 96 * MiB, 1 * MiB), ==, 256);
    /* A region covering part of another splits it: sections change, mappings follow. */
    memory_region_set_enabled(&extra, false);
    g_assert_cmpuint(kernel_mapped_pages(fd, 96 * MiB, 1 * MiB), ==, 0);
    memory_region_set_enabled(&extra, true);
    g_assert_cmpuint(table_mapped_pages(dev.bcontainer, 96 * MiB, 1 * MiB), ==, 256);
    g_assert_cmpuint(kernel_mapped_pages(fd, 96 * MiB, 1 * MiB), ==, 256);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 2);

    detach(&dev);
    assert_nothing_left(&g.g.as);
    memory_region_del_subregion(&g.g.root, &extra);
    memory_region_unparent(&extra);
    guest_destroy(&g);
}

/* ------------------------------------------------------------------------ */
/* vIOMMU */

/*
 * The device's address space: a vIOMMU window of @window bytes at IOVA 0,
 * translating into a system memory with @ram_size bytes of RAM at 0.
 */
typedef struct IommuGuest {
    LGuest sys;                     /* guest physical memory */
    MemoryRegion ram;
    LGuest dma;                     /* what the device sees */
    TestIOMMU iommu;
} IommuGuest;

static void iommu_guest_init(IommuGuest *g, const char *name, uint64_t window,
                             uint64_t ram_size)
{
    g_autofree char *sys = g_strdup_printf("%s-sys", name);
    g_autofree char *ram = g_strdup_printf("%s-ram", name);
    g_autofree char *dma = g_strdup_printf("%s-dma", name);
    g_autofree char *iommu = g_strdup_printf("%s-viommu", name);

    lguest_init(&g->sys, sys);
    g_assert_true(memory_region_init_ram(&g->ram, NULL, ram, ram_size, &error_abort));
    memory_region_add_subregion(&g->sys.root, 0, &g->ram);
    lguest_init(&g->dma, dma);
    test_iommu_init(&g->iommu, iommu, window, &g->sys.as);
    memory_region_add_subregion(&g->dma.root, 0, &g->iommu.iommu.parent_obj);
}

static void iommu_guest_destroy(IommuGuest *g)
{
    lguest_destroy(&g->dma);
    test_iommu_destroy(&g->iommu);
    lguest_destroy(&g->sys);
    memory_region_unparent(&g->ram);
}

/*
 * The container maps exactly the model, page by page: the same pages, the
 * same host addresses and permissions, in the table and in the kernel.
 */
static void assert_matches_model(IommuGuest *g, VFIOContainerBase *bc, uint64_t window)
{
    uint8_t *ram = memory_region_get_ram_ptr(&g->ram);
    int fd = container_fd(bc);

    for (hwaddr iova = 0; iova < window; iova += PAGE) {
        const TestIOMMUEntry *e = test_iommu_lookup(&g->iommu, iova);
        const DMAMap *m = table_lookup(bc, iova);

        if (!e) {
            if (m) {
                g_error("iova 0x%" PRIx64 ": mapped to 0x%" PRIx64 ", the vIOMMU maps nothing",
                        iova, m->translated_addr + (iova - m->iova));
            }
            g_assert_cmpint(kernel_maps_page(fd, iova), ==, 0);
            continue;
        }
        if (!m) {
            g_error("iova 0x%" PRIx64 ": not mapped, the vIOMMU maps it to 0x%" PRIx64, iova,
                    e->gpa);
        }
        g_assert_cmphex(m->translated_addr + (iova - m->iova), ==, (uintptr_t)ram + e->gpa);
        g_assert_cmpint(m->perm, ==, e->perm == IOMMU_RO ? IOMMU_RO : IOMMU_RW);
        g_assert_cmpint(kernel_maps_page(fd, iova), ==, 1);
    }
}

static void test_viommu_map_unmap_storm(void)
{
    const uint64_t window = 16 * MiB, ram_size = 16 * MiB;
    const unsigned events = 5000;
    IommuGuest g;
    VFIODevice dev;
    GRand *rand;
    uint8_t *ram;
    unsigned maps = 0, unmaps = 0;

    if (!test_start()) {
        return;
    }
    rand = g_rand_new_with_seed(0x5eed);
    /* One more page of RAM and IOVA beyond the storm's: the DMA check's scratch. */
    iommu_guest_init(&g, "storm", window + PAGE, ram_size + PAGE);
    ram = memory_region_get_ram_ptr(&g.ram);
    for (uint64_t i = 0; i < ram_size; i += PAGE) {
        memset(ram + i, (uint8_t)(i / PAGE), PAGE);
    }
    ldev_attach_ok(&dev, test_edu(), &g.dma.as);
    g_assert_nonnull(dev.bcontainer->giommu_list);

    for (unsigned i = 0; i < events; i++) {
        /* Blocks of 1 to 16 pages, naturally aligned, as IOTLB entries are. */
        uint64_t size = PAGE << g_rand_int_range(rand, 0, 5);
        hwaddr iova = QEMU_ALIGN_DOWN((hwaddr)g_rand_int_range(rand, 0, window / PAGE) * PAGE,
                                      size);
        hwaddr gpa = QEMU_ALIGN_DOWN((hwaddr)g_rand_int_range(rand, 0, ram_size / PAGE) * PAGE,
                                     size);

        if (g_rand_int_range(rand, 0, 100) < 55) {
            test_iommu_map(&g.iommu, iova, gpa, size,
                           g_rand_boolean(rand) ? IOMMU_RW : IOMMU_RO);
            maps++;
        } else {
            test_iommu_unmap(&g.iommu, iova, size);
            unmaps++;
        }
    }
    g_test_message("%u map and %u unmap events, %u mappings at the end", maps, unmaps,
                   vfio_container_dma_mappings(dev.bcontainer));
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 0);
    assert_matches_model(&g, dev.bcontainer, window);

    /*
     * The device's DMA follows the translations: the edu copies mapped
     * pages into a scratch page mapped past the storm's window.
     */
    test_iommu_map(&g.iommu, window, ram_size, PAGE, IOMMU_RW);
    dev_enable(&dev);
    for (int i = 0, copied = 0; copied < 8 && i < 1000; i++) {
        hwaddr iova = (hwaddr)g_rand_int_range(rand, 0, window / PAGE) * PAGE;
        const TestIOMMUEntry *e = test_iommu_lookup(&g.iommu, iova);

        if (!e) {
            continue;
        }
        memset(ram + ram_size, 0xee, PAGE);
        edu_dma(&dev, iova, PAGE, false);
        edu_dma(&dev, window, PAGE, true);
        g_assert_cmpmem(ram + ram_size, PAGE, ram + e->gpa, PAGE);
        copied++;
    }
    if (vfio_sim_present()) {
        g_assert_cmpuint(sim_status("dma-faults " EDU1), ==, 0);
    }

    detach(&dev);
    assert_nothing_left(&g.dma.as);
    iommu_guest_destroy(&g);
    g_rand_free(rand);
}

static void test_viommu_replay_on_add(void)
{
    IommuGuest g;
    VFIODevice dev;

    if (!test_start()) {
        return;
    }
    iommu_guest_init(&g, "replay", 16 * MiB, 4 * MiB);
    /* Mapped before VFIO listens: nobody is notified. */
    test_iommu_map(&g.iommu, 0x10000, 0x3000, PAGE, IOMMU_RW);
    test_iommu_map(&g.iommu, 0x200000, 0x100000, 16 * PAGE, IOMMU_RO);
    ldev_attach_ok(&dev, test_edu(), &g.dma.as);
    assert_matches_model(&g, dev.bcontainer, 4 * MiB);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 17);

    detach(&dev);
    assert_nothing_left(&g.dma.as);
    iommu_guest_destroy(&g);
}

static void test_viommu_translation_not_ram_skipped(void)
{
    IommuGuest g;
    VFIODevice dev;
    MemoryRegion mmio;
    StderrCapture cap;
    g_autofree char *text = NULL;

    if (!test_start()) {
        return;
    }
    iommu_guest_init(&g, "notram", 16 * MiB, 4 * MiB);
    memory_region_init_io(&mmio, NULL, &mmio_ops, NULL, "notram-mmio", 1 * MiB);
    memory_region_add_subregion(&g.sys.root, 8 * MiB, &mmio);
    ldev_attach_ok(&dev, test_edu(), &g.dma.as);

    stderr_capture_begin(&cap);
    test_iommu_map(&g.iommu, 0x20000, 8 * MiB, PAGE, IOMMU_RW);
    text = stderr_capture_end(&cap);
    assert_contains(text, "not guest RAM");
    assert_contains(text, "notram-mmio");
    g_assert_cmpuint(dev.bcontainer->mapping_errors, ==, 1);
    g_assert_null(table_lookup(dev.bcontainer, 0x20000));
    g_assert_cmpint(kernel_maps_page(container_fd(dev.bcontainer), 0x20000), ==, 0);
    /* RAM next to it still maps. */
    test_iommu_map(&g.iommu, 0x21000, 0x1000, PAGE, IOMMU_RW);
    g_assert_nonnull(table_lookup(dev.bcontainer, 0x21000));

    detach(&dev);
    assert_nothing_left(&g.dma.as);
    memory_region_del_subregion(&g.sys.root, &mmio);
    memory_region_unparent(&mmio);
    iommu_guest_destroy(&g);
}

static void test_viommu_whole_space_section(void)
{
    LGuest sys, dma;
    MemoryRegion ram;
    TestIOMMU iommu;
    VFIODevice dev;
    int fd;

    if (!test_start()) {
        return;
    }
    lguest_init(&sys, "whole-sys");
    g_assert_true(memory_region_init_ram(&ram, NULL, "whole-ram", 4 * MiB, &error_abort));
    memory_region_add_subregion(&sys.root, 0, &ram);
    lguest_init(&dma, "whole-dma");
    /* A vIOMMU covering all 2^64 bytes of the device's space. */
    test_iommu_init(&iommu, "whole-viommu", UINT64_MAX, &sys.as);
    memory_region_add_subregion(&dma.root, 0, &iommu.iommu.parent_obj);
    test_iommu_map(&iommu, 0, 0, PAGE, IOMMU_RW);
    test_iommu_map(&iommu, 0xfffe0000000ULL, 0x1000, PAGE, IOMMU_RW);
    ldev_attach_ok(&dev, test_edu(), &dma.as);
    fd = container_fd(dev.bcontainer);
    g_assert_cmpint(kernel_maps_page(fd, 0), ==, 1);
    g_assert_cmpint(kernel_maps_page(fd, 0xfffe0000000ULL), ==, 1);
    test_iommu_map(&iommu, 0x7000, 0x2000, PAGE, IOMMU_RO);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 3);

    /* The 2^64-byte section goes: everything it mapped goes with it. */
    memory_region_set_enabled(&iommu.iommu.parent_obj, false);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 0);
    g_assert_cmpint(kernel_maps_page(fd, 0), ==, 0);
    g_assert_cmpint(kernel_maps_page(fd, 0x7000), ==, 0);
    g_assert_cmpint(kernel_maps_page(fd, 0xfffe0000000ULL), ==, 0);
    g_assert_null(dev.bcontainer->giommu_list);
    /* And comes back with a replay. */
    memory_region_set_enabled(&iommu.iommu.parent_obj, true);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 3);

    detach(&dev);
    assert_nothing_left(&dma.as);
    lguest_destroy(&dma);
    test_iommu_destroy(&iommu);
    lguest_destroy(&sys);
    memory_region_unparent(&ram);
}

static void test_viommu_partial_unmap_keeps_the_rest(void)
{
    IommuGuest g;
    VFIODevice dev;

    if (!test_start()) {
        return;
    }
    iommu_guest_init(&g, "partial", 16 * MiB, 4 * MiB);
    ldev_attach_ok(&dev, test_edu(), &g.dma.as);
    /* One 64 KiB entry, then the guest invalidates one page in its middle. */
    test_iommu_map(&g.iommu, 0x40000, 0x80000, 16 * PAGE, IOMMU_RW);
    test_iommu_unmap(&g.iommu, 0x44000, PAGE);
    assert_matches_model(&g, dev.bcontainer, 1 * MiB);
    g_assert_cmpuint(vfio_container_dma_mappings(dev.bcontainer), ==, 2);
    /* And remaps another page over the tail with other permissions. */
    test_iommu_map(&g.iommu, 0x4f000, 0x10000, PAGE, IOMMU_RO);
    assert_matches_model(&g, dev.bcontainer, 1 * MiB);

    detach(&dev);
    assert_nothing_left(&g.dma.as);
    iommu_guest_destroy(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vfio/listener/ram/mapped-and-dma-lands", test_ram_mapped_and_dma_lands);
    g_test_add_func("/vfio/listener/rom/mapped-read-only", test_rom_mapped_readonly);
    g_test_add_func("/vfio/listener/mmio/skipped", test_mmio_skipped);
    g_test_add_func("/vfio/listener/ram-device/mapped-for-p2p", test_ram_device_mapped_for_p2p);
    g_test_add_func("/vfio/listener/ram-device/failure-is-a-warning",
                    test_ram_device_failure_is_a_warning);
    g_test_add_func("/vfio/listener/unaligned/head-and-tail-skipped",
                    test_unaligned_head_tail_skipped);
    g_test_add_func("/vfio/listener/unaligned/misaligned-alias-warns",
                    test_misaligned_alias_warns);
    g_test_add_func("/vfio/listener/errors/outside-iova-ranges-fails-realize",
                    test_outside_iova_ranges_fails_realize);
    g_test_add_func("/vfio/listener/errors/failed-replay-leaves-nothing-mapped",
                    test_failed_replay_leaves_nothing_mapped);
    g_test_add_func("/vfio/listener/errors/outside-iova-ranges-after-init-counted",
                    test_outside_iova_ranges_after_init_counted);
    g_test_add_func("/vfio/listener/errors/budget-exceeded-fails-realize",
                    test_budget_exceeded_fails_realize);
    g_test_add_func("/vfio/listener/errors/budget-exceeded-after-init-counted",
                    test_budget_exceeded_after_init_counted);
    g_test_add_func("/vfio/listener/region-del/unmaps-what-was-mapped",
                    test_region_del_unmaps_what_was_mapped);
    g_test_add_func("/vfio/listener/viommu/map-unmap-storm", test_viommu_map_unmap_storm);
    g_test_add_func("/vfio/listener/viommu/replay-on-add", test_viommu_replay_on_add);
    g_test_add_func("/vfio/listener/viommu/translation-not-ram-skipped",
                    test_viommu_translation_not_ram_skipped);
    g_test_add_func("/vfio/listener/viommu/whole-space-section",
                    test_viommu_whole_space_section);
    g_test_add_func("/vfio/listener/viommu/partial-unmap-keeps-the-rest",
                    test_viommu_partial_unmap_keeps_the_rest);
    return g_test_run();
}
