/*
 * Helpers for the listener, discard and dirty-tracking tests (see
 * test-vfio-listener-util.h).
 */
#include "test-vfio-listener-util.h"
#include "exec/ram_addr.h"
#include "exec/ramblock.h"
#include "qemu/bitops.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

/* edu registers (QEMU docs/specs/edu.rst) */
#define EDU_DMA_SRC         0x80
#define EDU_DMA_DST         0x88
#define EDU_DMA_COUNT       0x90
#define EDU_DMA_CMD         0x98
#define EDU_DMA_RUN         0x1
#define EDU_DMA_TO_RAM      0x2
#define EDU_DMA_BUFFER      0x40000

/* mig registers (contrib/vfio-sim/dev-mig.c) */
#define MIG_CTRL            0x04
#define MIG_DMA_BASE_LO     0x10
#define MIG_DMA_BASE_HI     0x14
#define MIG_DMA_PAGES       0x18
#define MIG_RATE            0x1c
#define MIG_SEQ_LO          0x24
#define MIG_FAULTS          0x2c

/* pin registers (contrib/vfio-sim/dev-pin.c) */
#define PIN_IOVA_LO         0x08
#define PIN_IOVA_HI         0x0c
#define PIN_CMD             0x10
#define PIN_RESULT          0x14
#define PIN_PATTERN         0x18
#define PIN_CMD_WRITE       3

#define WAIT_US             (5 * G_USEC_PER_SEC)

void lguest_init(LGuest *g, const char *name)
{
    memory_region_init(&g->root, NULL, name, UINT64_MAX);
    address_space_init(&g->as, &g->root, name);
}

void lguest_destroy(LGuest *g)
{
    address_space_destroy(&g->as);
    memory_region_unparent(&g->root);
}

bool ldev_attach(VFIODevice *vdev, const char *bdf, AddressSpace *as, Error **errp)
{
    vfio_device_init(vdev, bdf, NULL, VFIO_DEVICE_FLAGS_PCI, NULL, NULL);
    if (!vfio_device_attach(bdf, vdev, as, errp)) {
        vfio_device_finalize(vdev);
        return false;
    }
    return true;
}

void ldev_attach_ok(VFIODevice *vdev, const char *bdf, AddressSpace *as)
{
    Error *err = NULL;

    if (!ldev_attach(vdev, bdf, as, &err)) {
        g_autofree char *text = error_text(&err);

        g_error("attaching %s failed: %s", bdf, text);
    }
}

void assert_nothing_left(AddressSpace *as)
{
    assert_kernel_released();
    g_assert_null(vfio_address_space_find(as));
    for (int id = 0; id < 16; id++) {
        g_assert_null(vfio_group_find(id));
    }
}

/* A page the probes map: any page of ours will do, it is never written. */
static void *probe_page(void)
{
    static void *page;

    if (!page) {
        page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        g_assert_true(page != MAP_FAILED);
        memset(page, 0, PAGE);
    }
    return page;
}

int container_fd(VFIOContainerBase *bc)
{
    return vfio_container_from_base(bc)->fd;
}

int kernel_maps_page(int fd, hwaddr iova)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ,
        .vaddr = (uintptr_t)probe_page(), .iova = iova, .size = PAGE,
    };
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = iova, .size = PAGE,
    };

    if (ioctl(fd, VFIO_IOMMU_MAP_DMA, &map) == 0) {
        g_assert_cmpint(ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap), ==, 0);
        return 0;
    }
    if (errno == EEXIST) {
        return 1;
    }
    /*
     * EINVAL: outside the IOVA ranges; ENOSPC: the budget is used up, which
     * the kernel checks after overlaps.  Either way nothing is mapped there.
     */
    g_assert_true(errno == EINVAL || errno == ENOSPC);
    return 0;
}

uint64_t kernel_mapped_pages(int fd, hwaddr iova, hwaddr size)
{
    uint64_t n = 0;

    for (hwaddr a = iova; a < iova + size; a += PAGE) {
        n += kernel_maps_page(fd, a);
    }
    return n;
}

const DMAMap *table_lookup(VFIOContainerBase *bc, hwaddr iova)
{
    return iova_tree_find_address(bc->mappings, iova);
}

uint64_t table_mapped_pages(VFIOContainerBase *bc, hwaddr iova, hwaddr size)
{
    uint64_t n = 0;

    for (hwaddr a = iova; a < iova + size; a += PAGE) {
        n += table_lookup(bc, a) != NULL;
    }
    return n;
}

uint32_t dev_read32(VFIODevice *vdev, int index, uint64_t off)
{
    uint32_t val = 0;

    g_assert_cmpint(vdev->io_ops->region_read(vdev, index, off, &val, 4), ==, 4);
    return GUINT32_FROM_LE(val);
}

void dev_write32(VFIODevice *vdev, int index, uint64_t off, uint32_t val)
{
    val = GUINT32_TO_LE(val);
    g_assert_cmpint(vdev->io_ops->region_write(vdev, index, off, &val, 4), ==, 4);
}

void dev_enable(VFIODevice *vdev)
{
    uint16_t cmd = 0;

    g_assert_cmpint(vdev->io_ops->region_read(vdev, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd,
                                              2), ==, 2);
    cmd |= 0x6;     /* memory space, bus master */
    g_assert_cmpint(vdev->io_ops->region_write(vdev, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd,
                                               2), ==, 2);
}

void edu_dma(VFIODevice *vdev, hwaddr iova, uint32_t count, bool to_ram)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;

    dev_write32(vdev, 0, to_ram ? EDU_DMA_SRC : EDU_DMA_DST, EDU_DMA_BUFFER);
    dev_write32(vdev, 0, to_ram ? EDU_DMA_DST : EDU_DMA_SRC, (uint32_t)iova);
    dev_write32(vdev, 0, EDU_DMA_COUNT, count);
    dev_write32(vdev, 0, EDU_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
    while (dev_read32(vdev, 0, EDU_DMA_CMD) & EDU_DMA_RUN) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(200);
    }
}

void mig_write_page(VFIODevice *vdev, hwaddr iova)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    uint32_t seq;

    dev_write32(vdev, 0, MIG_CTRL, 0);
    dev_write32(vdev, 0, MIG_DMA_BASE_LO, (uint32_t)iova);
    dev_write32(vdev, 0, MIG_DMA_BASE_HI, iova >> 32);
    dev_write32(vdev, 0, MIG_DMA_PAGES, 1);
    dev_write32(vdev, 0, MIG_RATE, 1);
    seq = dev_read32(vdev, 0, MIG_SEQ_LO);
    dev_write32(vdev, 0, MIG_CTRL, 1);
    while (dev_read32(vdev, 0, MIG_SEQ_LO) == seq) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(200);
    }
    dev_write32(vdev, 0, MIG_CTRL, 0);
}

uint32_t mig_faults(VFIODevice *vdev)
{
    return dev_read32(vdev, 0, MIG_FAULTS);
}

int pin_write_page(VFIODevice *vdev, hwaddr iova, uint32_t pattern)
{
    dev_write32(vdev, 0, PIN_IOVA_LO, (uint32_t)iova);
    dev_write32(vdev, 0, PIN_IOVA_HI, iova >> 32);
    dev_write32(vdev, 0, PIN_PATTERN, pattern);
    dev_write32(vdev, 0, PIN_CMD, PIN_CMD_WRITE);
    return (int32_t)dev_read32(vdev, 0, PIN_RESULT);
}

bool ram_page_dirty(MemoryRegion *mr, hwaddr addr)
{
    return memory_region_get_dirty(mr, addr, PAGE, DIRTY_MEMORY_MIGRATION);
}

void ram_clear_dirty(MemoryRegion *mr)
{
    memory_region_test_and_clear_dirty(mr, 0, memory_region_size(mr), DIRTY_MEMORY_MIGRATION);
}

uint64_t ram_dirty_pages(MemoryRegion *mr)
{
    uint64_t n = 0;

    for (hwaddr a = 0; a < memory_region_size(mr); a += PAGE) {
        n += ram_page_dirty(mr, a);
    }
    return n;
}

void stderr_capture_begin(StderrCapture *cap)
{
    g_autoptr(GError) gerr = NULL;

    cap->fd = g_file_open_tmp("vfio-test-stderr-XXXXXX", &cap->path, &gerr);
    g_assert_no_error(gerr);
    fflush(stderr);
    cap->saved = dup(STDERR_FILENO);
    dup2(cap->fd, STDERR_FILENO);
}

char *stderr_capture_end(StderrCapture *cap)
{
    g_autoptr(GError) gerr = NULL;
    char *text = NULL;

    fflush(stderr);
    dup2(cap->saved, STDERR_FILENO);
    close(cap->saved);
    close(cap->fd);
    g_assert_true(g_file_get_contents(cap->path, &text, NULL, &gerr));
    unlink(cap->path);
    g_free(cap->path);
    /* Show it anyway: a failing test's log should have it. */
    if (*text) {
        g_test_message("stderr: %s", text);
    }
    return text;
}

/* ------------------------------------------------------------------------ */
/* vIOMMU model */

static gint test_iommu_cmp(gconstpointer a, gconstpointer b, gpointer opaque)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

    return x < y ? -1 : x > y;
}

const TestIOMMUEntry *test_iommu_lookup(TestIOMMU *t, hwaddr iova)
{
    return g_tree_lookup(t->pages, (gpointer)(uintptr_t)(iova / PAGE));
}

static IOMMUTLBEntry test_iommu_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                          IOMMUAccessFlags flag, int iommu_idx)
{
    TestIOMMU *t = container_of(iommu, TestIOMMU, iommu);
    const TestIOMMUEntry *e = test_iommu_lookup(t, addr);
    IOMMUTLBEntry entry = {
        .target_as = t->target,
        .iova = addr & ~(PAGE - 1),
        .addr_mask = PAGE - 1,
        .perm = IOMMU_NONE,
    };

    if (e) {
        entry.translated_addr = e->gpa;
        entry.perm = e->perm;
    }
    return entry;
}

typedef struct ReplayCtx {
    TestIOMMU *t;
    IOMMUNotifier *n;
} ReplayCtx;

static gboolean test_iommu_replay_one(gpointer key, gpointer value, gpointer opaque)
{
    ReplayCtx *ctx = opaque;
    const TestIOMMUEntry *e = value;
    IOMMUTLBEvent event = {
        .type = IOMMU_NOTIFIER_MAP,
        .entry = {
            .target_as = ctx->t->target,
            .iova = (uintptr_t)key * PAGE,
            .translated_addr = e->gpa,
            .addr_mask = PAGE - 1,
            .perm = e->perm,
        },
    };

    memory_region_notify_iommu_one(ctx->n, &event);
    return false;
}

/* Only what is mapped: walking a 2^64 region page by page would never end. */
static void test_iommu_replay(IOMMUMemoryRegion *iommu, IOMMUNotifier *n)
{
    TestIOMMU *t = container_of(iommu, TestIOMMU, iommu);
    ReplayCtx ctx = { .t = t, .n = n };

    g_tree_foreach(t->pages, test_iommu_replay_one, &ctx);
}

static const IOMMUMemoryRegionOps test_iommu_ops = {
    .translate = test_iommu_translate,
    .replay = test_iommu_replay,
};

void test_iommu_init(TestIOMMU *t, const char *name, uint64_t size, AddressSpace *target)
{
    g_assert_true(memory_region_init_iommu(&t->iommu, NULL, &test_iommu_ops, name, size,
                                           &error_abort));
    t->target = target;
    t->pages = g_tree_new_full(test_iommu_cmp, NULL, NULL, g_free);
}

void test_iommu_destroy(TestIOMMU *t)
{
    memory_region_unparent(&t->iommu.parent_obj);
    g_tree_destroy(t->pages);
}

static void test_iommu_notify(TestIOMMU *t, IOMMUNotifierFlag type, hwaddr iova, hwaddr gpa,
                              hwaddr size, IOMMUAccessFlags perm)
{
    IOMMUTLBEvent event = {
        .type = type,
        .entry = {
            .target_as = t->target,
            .iova = iova,
            .translated_addr = gpa,
            .addr_mask = size - 1,
            .perm = perm,
        },
    };

    g_assert_true(is_power_of_2(size) && !(iova & (size - 1)));
    memory_region_notify_iommu(&t->iommu, 0, event);
}

void test_iommu_map(TestIOMMU *t, hwaddr iova, hwaddr gpa, hwaddr size, IOMMUAccessFlags perm)
{
    for (hwaddr off = 0; off < size; off += PAGE) {
        TestIOMMUEntry *e = g_new(TestIOMMUEntry, 1);

        e->gpa = gpa + off;
        e->perm = perm;
        g_tree_replace(t->pages, (gpointer)(uintptr_t)((iova + off) / PAGE), e);
    }
    test_iommu_notify(t, IOMMU_NOTIFIER_MAP, iova, gpa, size, perm);
}

void test_iommu_unmap(TestIOMMU *t, hwaddr iova, hwaddr size)
{
    for (hwaddr off = 0; off < size; off += PAGE) {
        g_tree_remove(t->pages, (gpointer)(uintptr_t)((iova + off) / PAGE));
    }
    test_iommu_notify(t, IOMMU_NOTIFIER_UNMAP, iova, 0, size, IOMMU_NONE);
}
