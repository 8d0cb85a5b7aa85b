/*
 * Pluggable RAM: a RAM region usable block by block, with virtio-mem's
 * semantics, and the RamDiscardManager that tells listeners (VFIO) which
 * blocks are plugged.
 *
 * The region is cut into blocks of block_size bytes.  A plugged block is
 * guest RAM; an unplugged one has its memory given back to the host and
 * must not be used (nor mapped for DMA).  Everything starts unplugged.
 *
 *  - plug(range): every block of the range must be unplugged.  Listeners
 *    whose section intersects the range hear notify_populate in
 *    registration order; if one vetoes, the listeners already told hear
 *    notify_discard in reverse order, the memory is discarded again (a
 *    listener may have touched it) and the plug fails with the veto's
 *    errno; the blocks stay unplugged.
 *  - unplug(range): every block of the range must be plugged.  The memory
 *    is discarded first (if that fails nothing changes), then listeners
 *    hear notify_discard in registration order.
 *
 * Using it requires coordinated discard (sysemu/ram-discard.h), so it
 * cannot be created while discard is disabled (e.g. by VFIO with an sPAPR
 * IOMMU), and holding it keeps such users away.
 *
 * Not thread safe: call from the main thread.
 */
#ifndef HW_MEM_PLUGGABLE_RAM_H
#define HW_MEM_PLUGGABLE_RAM_H

#include "exec/ram-discard-manager.h"

typedef struct PluggableRam PluggableRam;

/*
 * Manage RAM region @mr (whole) in blocks of @block_size bytes (a power of
 * two, at least the page size of the region's RAM block, dividing the
 * region's size) and attach the manager to @mr.  All blocks start
 * unplugged: their memory is discarded now.  NULL with @errp set on
 * failure (bad sizes, not RAM, @mr already managed, discard disabled).
 */
PluggableRam *pluggable_ram_new(MemoryRegion *mr, uint64_t block_size,
                                Error **errp);
/*
 * Detach from the region and release the coordinated-discard requirement.
 * Every listener must have unregistered.  Plugged memory stays as it is.
 */
void pluggable_ram_free(PluggableRam *pr);

/* Plug / unplug [offset, offset + size) of the region (see above). */
bool pluggable_ram_plug(PluggableRam *pr, uint64_t offset, uint64_t size,
                        Error **errp);
bool pluggable_ram_unplug(PluggableRam *pr, uint64_t offset, uint64_t size,
                          Error **errp);
/*
 * Unplug every plugged block at once (a reset).  Listeners supporting
 * double discard hear one notify_discard for their whole section, others
 * one per plugged part.
 */
bool pluggable_ram_unplug_all(PluggableRam *pr, Error **errp);

/* Whether every block of [offset, offset + size) is plugged. */
bool pluggable_ram_is_plugged(PluggableRam *pr, uint64_t offset,
                              uint64_t size);
/* Bytes plugged. */
uint64_t pluggable_ram_get_plugged_size(PluggableRam *pr);
uint64_t pluggable_ram_get_block_size(PluggableRam *pr);
/* The manager attached to the region. */
RamDiscardManager *pluggable_ram_get_rdm(PluggableRam *pr);

#endif /* HW_MEM_PLUGGABLE_RAM_H */
