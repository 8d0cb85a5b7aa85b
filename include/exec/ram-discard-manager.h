/*
 * RamDiscardManager: coordinated discard of parts of a RAM region.
 *
 * Some RAM regions are only partly usable at any time: a virtio-mem style
 * device plugs and unplugs blocks of it, and unplugged blocks are given
 * back to the host.  The region's manager (memory_region_set_ram_discard_
 * manager) knows which parts are "populated" (usable) and which are
 * "discarded", and tells registered listeners of each change, so a user
 * that must not touch discarded memory (VFIO: it pins what it maps for
 * DMA) maps only the populated parts and follows the changes.  Such users
 * disable uncoordinated discard only (sysemu/ram-discard.h).
 *
 * Order, as QEMU's virtio-mem: a populate is announced *before* the part
 * becomes usable (a listener may veto it); a discard is announced *after*
 * the memory has been given back to the host (ram_block_discard_range), and
 * only if that succeeded.  So between the two a listener may still map
 * memory that no longer backs the region: pages pinned for DMA stay
 * allocated until unmapped, but they are not the region's any more.  The
 * guest gave the range up before asking for the discard, so nothing it
 * relies on is lost.
 *
 * The manager is an ops table embedded in the provider's state; providers
 * set RamDiscardManager.ops and embed the struct (hw/mem/pluggable-ram.c).
 * All calls happen in the main thread.
 *
 * Units: sections and offsets are bytes within the region; everything a
 * manager reports (notifications, replays) is aligned to its granularity.
 */
#ifndef EXEC_RAM_DISCARD_MANAGER_H
#define EXEC_RAM_DISCARD_MANAGER_H

#include "exec/memory.h"

typedef struct RamDiscardListener RamDiscardListener;
typedef struct RamDiscardManagerOps RamDiscardManagerOps;

/*
 * The part @section of the listener's section is about to become usable.
 * Return 0, or -errno to veto: the manager then undoes the notifications
 * it already sent for this change (notify_discard, in reverse order) and
 * the part stays discarded.
 */
typedef int (*NotifyRamPopulate)(RamDiscardListener *rdl,
                                 MemoryRegionSection *section);
/*
 * Stop using the part @section of the listener's section; cannot fail.
 * Sent after a discard, whose memory has then already been given back to
 * the host; when a populate another listener vetoed is rolled back (the
 * memory was never usable); and by unregister_listener, for the parts
 * still populated (they stay so; the listener just stops following them).
 */
typedef void (*NotifyRamDiscard)(RamDiscardListener *rdl,
                                 MemoryRegionSection *section);

struct RamDiscardListener {
    /* Called before a part of @section becomes populated; may veto. */
    NotifyRamPopulate notify_populate;
    /* Called after a part of @section has been discarded; cannot fail. */
    NotifyRamDiscard notify_discard;
    /*
     * The listener accepts notify_discard for parts that are discarded
     * already, so the manager may send one notification for a whole range
     * (e.g. the whole section on unregistration) instead of one per
     * populated part.
     */
    bool double_discard_supported;
    /*
     * The section listened to: the manager's copy (holding references)
     * while registered, NULL otherwise.  Owned by the manager.
     */
    MemoryRegionSection *section;
};

static inline void ram_discard_listener_init(RamDiscardListener *rdl,
                                             NotifyRamPopulate populate_fn,
                                             NotifyRamDiscard discard_fn,
                                             bool double_discard_supported)
{
    rdl->notify_populate = populate_fn;
    rdl->notify_discard = discard_fn;
    rdl->double_discard_supported = double_discard_supported;
    rdl->section = NULL;
}

/*
 * Replay callbacks: called for each populated (resp. discarded) part of a
 * section, in address order; a non-zero return stops the replay and is
 * returned by it.
 */
typedef int (*ReplayRamPopulate)(MemoryRegionSection *section, void *opaque);
typedef int (*ReplayRamDiscard)(MemoryRegionSection *section, void *opaque);

struct RamDiscardManagerOps {
    /*
     * Granularity (bytes, a power of two >= the page size) of populating
     * and discarding in @mr: every notified or replayed part is aligned to
     * it.
     */
    uint64_t (*get_min_granularity)(const RamDiscardManager *rdm,
                                    const MemoryRegion *mr);
    /* Whether all of @section is populated. */
    bool (*is_populated)(const RamDiscardManager *rdm,
                         const MemoryRegionSection *section);
    /* Call @replay_fn for each maximal populated part of @section. */
    int (*replay_populated)(const RamDiscardManager *rdm,
                            MemoryRegionSection *section,
                            ReplayRamPopulate replay_fn, void *opaque);
    /* Call @replay_fn for each maximal discarded part of @section. */
    int (*replay_discarded)(const RamDiscardManager *rdm,
                            MemoryRegionSection *section,
                            ReplayRamDiscard replay_fn, void *opaque);
    /*
     * Start notifying @rdl about changes inside @section (of the managed
     * region; the manager keeps a copy).  The parts populated already are
     * announced at once with notify_populate.
     */
    void (*register_listener)(RamDiscardManager *rdm, RamDiscardListener *rdl,
                              MemoryRegionSection *section);
    /*
     * Stop notifying @rdl.  The populated parts of its section are first
     * announced as discarded, so the listener can drop what it mapped.
     */
    void (*unregister_listener)(RamDiscardManager *rdm,
                                RamDiscardListener *rdl);
};

/* Embedded in the provider's state; the region points at it. */
struct RamDiscardManager {
    /* The provider's operations; never NULL. */
    const RamDiscardManagerOps *ops;
};

static inline uint64_t
ram_discard_manager_get_min_granularity(const RamDiscardManager *rdm,
                                        const MemoryRegion *mr)
{
    return rdm->ops->get_min_granularity(rdm, mr);
}

static inline bool
ram_discard_manager_is_populated(const RamDiscardManager *rdm,
                                 const MemoryRegionSection *section)
{
    return rdm->ops->is_populated(rdm, section);
}

static inline int
ram_discard_manager_replay_populated(const RamDiscardManager *rdm,
                                     MemoryRegionSection *section,
                                     ReplayRamPopulate replay_fn, void *opaque)
{
    return rdm->ops->replay_populated(rdm, section, replay_fn, opaque);
}

static inline int
ram_discard_manager_replay_discarded(const RamDiscardManager *rdm,
                                     MemoryRegionSection *section,
                                     ReplayRamDiscard replay_fn, void *opaque)
{
    return rdm->ops->replay_discarded(rdm, section, replay_fn, opaque);
}

static inline void
ram_discard_manager_register_listener(RamDiscardManager *rdm,
                                      RamDiscardListener *rdl,
                                      MemoryRegionSection *section)
{
    rdm->ops->register_listener(rdm, rdl, section);
}

static inline void
ram_discard_manager_unregister_listener(RamDiscardManager *rdm,
                                        RamDiscardListener *rdl)
{
    rdm->ops->unregister_listener(rdm, rdl);
}

#endif /* EXEC_RAM_DISCARD_MANAGER_H */
