/*
 * Who may give guest RAM back to the host.
 *
 * Discarding RAM (madvise DONTNEED, punching holes) is wrong while something
 * else holds on to the old pages: VFIO pins guest RAM for DMA, so a page the
 * balloon discards would keep the device pointing at memory the guest no
 * longer sees.  Conversely some features (virtio-mem style plugging, the
 * pluggable RAM of hw/mem) only work if they can discard.  Four counters
 * arbitrate, each taken with (true) and dropped with (false):
 *
 *  - discard disabled: no discard at all (e.g. VFIO with an sPAPR IOMMU);
 *  - uncoordinated discard disabled: only discards that a RamDiscardManager
 *    announces to its listeners may happen (VFIO with Type1: the listener
 *    unmaps what is discarded);
 *  - discard required: uncoordinated discard must work (balloon-like users);
 *  - coordinated discard required: a RamDiscardManager must be able to
 *    discard (pluggable RAM).
 *
 * Conflicts: "disabled" excludes both "required"; "uncoordinated disabled"
 * excludes "required" only.  Taking a count that conflicts with one already
 * held fails with -EBUSY and changes nothing; dropping always succeeds and
 * must match an earlier successful take.  All functions are thread safe.
 */
#ifndef SYSEMU_RAM_DISCARD_H
#define SYSEMU_RAM_DISCARD_H

#include "qemu/osdep.h"

int ram_block_discard_disable(bool state);
int ram_block_uncoordinated_discard_disable(bool state);
int ram_block_discard_require(bool state);
int ram_block_coordinated_discard_require(bool state);

/* Some discard (coordinated or not) is disabled. */
bool ram_block_discard_is_disabled(void);
/* Some discard (coordinated or not) is required. */
bool ram_block_discard_is_required(void);

#endif /* SYSEMU_RAM_DISCARD_H */
