/*
 * Helpers for the listener, discard and dirty-tracking tests (on vfio-sim
 * or a real kernel, see vfio-sim-test.h): guests the tests lay out
 * themselves, what the kernel maps, and devices that write guest memory by
 * DMA (edu; the sim's mig and pin).
 */
#ifndef TESTS_UNIT_VFIO_TEST_VFIO_LISTENER_UTIL_H
#define TESTS_UNIT_VFIO_TEST_VFIO_LISTENER_UTIL_H

#include "vfio-sim-test.h"
#include "hw/vfio/vfio-listener.h"

#define PAGE 4096ULL

/* An empty 2^64 root and its address space; tests add regions to @root. */
typedef struct LGuest {
    MemoryRegion root;
    AddressSpace as;
} LGuest;

void lguest_init(LGuest *g, const char *name);
void lguest_destroy(LGuest *g);

/* Attach @bdf to @as (false and @errp on failure) / asserting success. */
bool ldev_attach(VFIODevice *vdev, const char *bdf, AddressSpace *as, Error **errp);
void ldev_attach_ok(VFIODevice *vdev, const char *bdf, AddressSpace *as);

/* Nothing of VFIO is left: nothing held by the kernel, no address space, no group. */
void assert_nothing_left(AddressSpace *as);

/*
 * What the kernel maps, asked without trusting our table: a one-page
 * MAP_DMA at @iova fails EEXIST exactly when something is mapped there
 * (undone at once otherwise).  1 mapped, 0 not mapped.
 */
int kernel_maps_page(int container_fd, hwaddr iova);
/* Pages of [iova, iova + size) the kernel maps. */
uint64_t kernel_mapped_pages(int container_fd, hwaddr iova, hwaddr size);
/* The /dev/vfio/vfio fd of a legacy container. */
int container_fd(VFIOContainerBase *bc);
/* Pages of [iova, iova + size) in the container's mapping table. */
uint64_t table_mapped_pages(VFIOContainerBase *bc, hwaddr iova, hwaddr size);
/* The table entry holding @iova (NULL if none). */
const DMAMap *table_lookup(VFIOContainerBase *bc, hwaddr iova);

/* 32-bit register access through the device's region @index. */
uint32_t dev_read32(VFIODevice *vdev, int index, uint64_t off);
void dev_write32(VFIODevice *vdev, int index, uint64_t off, uint32_t val);
/* Memory decoding and bus mastering on. */
void dev_enable(VFIODevice *vdev);

/* edu: copy @count bytes between its buffer and @iova, waiting for the end. */
void edu_dma(VFIODevice *vdev, hwaddr iova, uint32_t count, bool to_ram);
/* mig: its DMA engine writes the page at @iova once (and is then stopped). */
void mig_write_page(VFIODevice *vdev, hwaddr iova);
/* mig: the engine's fault count (DMA the IOMMU refused). */
uint32_t mig_faults(VFIODevice *vdev);
/* pin: write @pattern over the page at @iova through the pinning API; 0 or -errno. */
int pin_write_page(VFIODevice *vdev, hwaddr iova, uint32_t pattern);

/* Whether page @addr of RAM region @mr is dirty for migration. */
bool ram_page_dirty(MemoryRegion *mr, hwaddr addr);
/* Clear every migration dirty bit of @mr (as a migration pass would). */
void ram_clear_dirty(MemoryRegion *mr);
/* Number of migration-dirty pages of @mr. */
uint64_t ram_dirty_pages(MemoryRegion *mr);

/*
 * A vIOMMU model: a page table (4 KiB pages) translating its region into
 * @target.  map/unmap change the table and tell the notifiers, as a guest
 * IOMMU driver's invalidations would; @size of map/unmap is a power of two
 * and @iova/@gpa are aligned to it (an IOTLB entry).
 */
typedef struct TestIOMMU {
    IOMMUMemoryRegion iommu;
    AddressSpace *target;
    GTree *pages;                   /* iova page -> TestIOMMUEntry * */
} TestIOMMU;

typedef struct TestIOMMUEntry {
    hwaddr gpa;                     /* page address in @target */
    IOMMUAccessFlags perm;
} TestIOMMUEntry;

void test_iommu_init(TestIOMMU *t, const char *name, uint64_t size, AddressSpace *target);
void test_iommu_destroy(TestIOMMU *t);
void test_iommu_map(TestIOMMU *t, hwaddr iova, hwaddr gpa, hwaddr size, IOMMUAccessFlags perm);
void test_iommu_unmap(TestIOMMU *t, hwaddr iova, hwaddr size);
/* The model's entry for page @iova, or NULL. */
const TestIOMMUEntry *test_iommu_lookup(TestIOMMU *t, hwaddr iova);

/* Everything written to stderr between begin and end (returned, g_free it). */
typedef struct StderrCapture {
    int saved;
    int fd;
    char *path;
} StderrCapture;

void stderr_capture_begin(StderrCapture *cap);
char *stderr_capture_end(StderrCapture *cap);

#endif
