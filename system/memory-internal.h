/*
 * State and helpers shared by the memory core's files (system/memory*.c);
 * not for use outside the memory core.
 *
 *   memory.c           regions: init, lifetime, the tree, accessors, the
 *                      system address spaces
 *   memory-ram.c       RAM-backed regions (physmem glue), dirty helpers,
 *                      RAM discard manager slot
 *   memory-flatview.c  rendering a tree into a FlatView, memory_region_find
 *   memory-listener.c  transactions, listeners, the old/new view diff,
 *                      global dirty logging
 *   memory-access.c    address_space_rw and friends, I/O dispatch
 *   memory-iommu.c     IOMMU regions and notifiers
 */
#ifndef SYSTEM_MEMORY_INTERNAL_H
#define SYSTEM_MEMORY_INTERNAL_H

#include "exec/memory.h"

/* Every AddressSpace, in creation order (AddressSpace.address_spaces_link). */
extern GQueue memory_address_spaces;
/* Every registered listener in priority order (MemoryListener.link). */
extern GQueue memory_listeners;
/*
 * Set when a change may alter some rendering; the outermost commit rebuilds
 * the flat views and clears it.
 */
extern bool memory_region_update_pending;

/* The ops of regions that answer nothing (containers, failed inits). */
extern const MemoryRegionOps unassigned_mem_ops;
/* The ops of RAM-device regions: exact-width host loads and stores. */
extern const MemoryRegionOps ram_device_mem_ops;
/* What address_space_translate returns for holes and refused translations. */
extern MemoryRegion io_mem_unassigned;

/* Limit of IOMMU hops in one translation, against mapping loops. */
#define MEMORY_IOMMU_MAX_DEPTH 16

/*
 * Initialise the fields common to every region kind: one creator
 * reference, enabled, a container of @size (UINT64_MAX: 2^64).
 */
void memory_region_do_init(MemoryRegion *mr, void *owner, const char *name, uint64_t size);
/*
 * Turn a region whose kind-specific init failed into the documented
 * harmless state: an empty, disabled container of size 0 with no RAM.
 */
void memory_region_make_inert(MemoryRegion *mr);
/* Release what a RAM region's init allocated (memory-ram.c). */
void memory_region_release_ram(MemoryRegion *mr);
/* Detach the notifiers of an IOMMU region being finalised (memory-iommu.c). */
void memory_region_iommu_finalize(MemoryRegion *mr);
/* Whether a RAM region may take @size (resizeable block, within max). */
bool memory_region_ram_size_ok(MemoryRegion *mr, uint64_t size, Error **errp);
/* 2^64 when @size is UINT64_MAX, else @size. */
Int128 memory_region_size_from_u64(uint64_t size);

/* Render the tree under @root into a new view (one reference); NULL: empty view. */
FlatView *flatview_render(MemoryRegion *root);
/* The section describing range @fr of @fv. */
MemoryRegionSection flatview_section(FlatView *fv, const FlatRange *fr);
/* The range of @fv containing @addr, or NULL (then *@next is the next range or NULL). */
const FlatRange *flatview_lookup(const FlatView *fv, hwaddr addr, const FlatRange **next);

/* Make @as show @new_view, telling its listeners the difference. Consumes no reference. */
void address_space_set_flatview(AddressSpace *as, FlatView *new_view);

/* Value of @n bytes of @p in little-endian order, and the reverse. */
uint64_t memory_ldn_le(const void *p, unsigned n);
void memory_stn_le(void *p, unsigned n, uint64_t v);

#endif /* SYSTEM_MEMORY_INTERNAL_H */
