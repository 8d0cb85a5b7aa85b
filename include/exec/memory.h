/*
 * The memory core: memory regions, address spaces, flat views, listeners.
 *
 * A machine describes its memory map as a tree of MemoryRegions: containers
 * hold subregions at offsets and priorities; leaves are RAM (host memory),
 * I/O (callbacks), RAM-device (mmap'd device memory), IOMMU (a translation
 * into another address space) or aliases (a window onto part of another
 * region).  An AddressSpace is the view a bus master has of one such tree.
 *
 * Whenever the tree changes, the core renders it into a FlatView: the sorted
 * list of disjoint ranges that decide which leaf answers each address.  The
 * difference between the old and the new view is reported to the
 * MemoryListeners of the address space (VFIO maps RAM for DMA from these
 * callbacks), bracketed by begin/commit.
 *
 * Threading: the memory core is single-threaded.  Every function here must
 * be called from the thread that owns the machine (the main loop).
 *
 * Ranges: sizes are byte counts; a size of UINT64_MAX given to an init
 * function means 2^64 (the whole space), which is why sizes are Int128
 * internally.  Inclusive ends are called "end" only in the IOMMU notifier
 * API (as in QEMU); everywhere else a range is (start, size).
 */
#ifndef EXEC_MEMORY_H
#define EXEC_MEMORY_H

#include "qemu/osdep.h"
#include "qemu/int128.h"
#include "exec/hwaddr.h"
#include "exec/memattrs.h"
#include "exec/cpu-common.h"

typedef struct AddressSpace AddressSpace;
typedef struct FlatRange FlatRange;
typedef struct FlatView FlatView;
typedef struct IOMMUMemoryRegion IOMMUMemoryRegion;
typedef struct IOMMUMemoryRegionOps IOMMUMemoryRegionOps;
typedef struct IOMMUNotifier IOMMUNotifier;
typedef struct IOMMUTLBEntry IOMMUTLBEntry;
typedef struct IOMMUTLBEvent IOMMUTLBEvent;
typedef struct MemoryListener MemoryListener;
typedef struct MemoryRegion MemoryRegion;
typedef struct MemoryRegionOps MemoryRegionOps;
typedef struct MemoryRegionSection MemoryRegionSection;
/* Owned by physmem (include/exec/ramblock.h); opaque here. */
typedef struct RAMBlock RAMBlock;
/* Owned by include/exec/ram-discard-manager.h; opaque here. */
typedef struct RamDiscardManager RamDiscardManager;

/* ------------------------------------------------------------------------ */
/* I/O callbacks */

/*
 * Byte order of a device's registers.  Aperture models little-endian
 * machines, so NATIVE means little endian; the data buffers of
 * address_space_rw() hold guest memory bytes in that order.
 */
enum device_endian {
    DEVICE_NATIVE_ENDIAN,
    DEVICE_BIG_ENDIAN,
    DEVICE_LITTLE_ENDIAN,
};

#if G_BYTE_ORDER == G_BIG_ENDIAN
#define DEVICE_HOST_ENDIAN DEVICE_BIG_ENDIAN
#else
#define DEVICE_HOST_ENDIAN DEVICE_LITTLE_ENDIAN
#endif

/*
 * How an I/O region is accessed.
 *
 * Access sizes are 1, 2, 4 or 8 bytes.  "valid" describes what the *bus*
 * may send: an access outside valid.{min,max}_access_size, unaligned when
 * !valid.unaligned, or refused by valid.accepts fails with
 * MEMTX_DECODE_ERROR (a read returns all-ones).  "impl" describes what the
 * *callbacks* can take: the core splits a wider access into several
 * impl.max_access_size calls, and widens a narrower one to
 * impl.min_access_size (reading the containing aligned unit and extracting
 * the bytes; for a write, the other bytes of the unit are written as zero,
 * as QEMU does).  Zero means QEMU's default: 1 for a minimum, 4 for a
 * maximum.
 */
struct MemoryRegionOps {
    /* Read @size bytes at offset @addr of the region; the value in the low bits. */
    uint64_t (*read)(void *opaque, hwaddr addr, unsigned size);
    /* Write the low @size bytes of @data at offset @addr. */
    void (*write)(void *opaque, hwaddr addr, uint64_t data, unsigned size);
    /* Alternatives to read/write that see the attributes and may fail. */
    MemTxResult (*read_with_attrs)(void *opaque, hwaddr addr, uint64_t *data,
                                   unsigned size, MemTxAttrs attrs);
    MemTxResult (*write_with_attrs)(void *opaque, hwaddr addr, uint64_t data,
                                    unsigned size, MemTxAttrs attrs);
    /* Byte order of the register values the callbacks take and return. */
    enum device_endian endianness;
    /* What the bus may send (see above). */
    struct {
        /* Smallest access in bytes (0: 1). */
        unsigned min_access_size;
        /* Largest access in bytes (0: 4). */
        unsigned max_access_size;
        /* Accept accesses not aligned to their size. */
        bool unaligned;
        /* Optional veto, e.g. for registers that exist only on some revisions. */
        bool (*accepts)(void *opaque, hwaddr addr, unsigned size, bool is_write,
                        MemTxAttrs attrs);
    } valid;
    /* What the callbacks implement (see above). */
    struct {
        /* Smallest size passed to the callbacks (0: 1). */
        unsigned min_access_size;
        /* Largest size passed to the callbacks (0: 4). */
        unsigned max_access_size;
        /* The callbacks cope with unaligned offsets themselves. */
        bool unaligned;
    } impl;
};

/* ------------------------------------------------------------------------ */
/* Memory regions */

/*
 * A node of the memory tree.  Embed it in the device that owns it and
 * initialise it with one of the memory_region_init*() functions; never copy
 * an initialised region.
 *
 * Lifetime: init gives the creator one reference.  Containers hold a
 * reference on each subregion, aliases on their target, flat views and
 * MemoryRegionSections returned by memory_region_find() on the regions they
 * show.  memory_region_unparent() detaches the region from its container
 * and drops the creator's reference; the region is finalised (RAM freed,
 * subregions detached, alias target released) when the last reference goes.
 * The storage of an embedded region must stay valid until then: when a
 * region is removed inside a transaction, the old flat view keeps it
 * referenced until the outermost memory_region_transaction_commit().
 *
 * Fields are private to the memory core; use the accessors.
 */
struct MemoryRegion {
    /* Name for traces, errors and RAM block ids; never NULL once initialised. */
    char *name;
    /* The object that embeds this region (a device, a backend); may be NULL. */
    void *owner;
    /* References; 0 means "never initialised" or "finalised". */
    unsigned refcount;
    /* The creator's reference (from init) is still held: unparent drops it. */
    bool creator_ref;

    /* Size in bytes; up to 2^64 for the system memory container. */
    Int128 size;
    /* Offset of this region in its container. */
    hwaddr addr;
    /* Among overlapping siblings, the highest priority is visible. */
    int priority;
    /* The region this one is mapped into, or NULL. */
    MemoryRegion *container;
    /* Node in container->subregions; data points back to this region. */
    GList subregions_link;
    /*
     * Children, highest priority first; among equal priorities the most
     * recently added comes first and therefore wins where they overlap.
     */
    GQueue subregions;

    /* Leaves (RAM, I/O, IOMMU) render themselves; containers don't. */
    bool terminates;
    /* Backed by host memory in ram_block (RAM, ROM, RAM-device). */
    bool ram;
    /*
     * mmap'd device memory: host-addressable but accessed only with exact
     * width loads and stores (through ops); VFIO maps it for peer-to-peer.
     */
    bool ram_device;
    /* This is the MemoryRegion inside an IOMMUMemoryRegion. */
    bool is_iommu;
    /* Writes are ignored (ROM) and sections are reported read-only. */
    bool readonly;
    /* Backed by persistent memory; reported in sections. */
    bool nonvolatile;
    /* Disabled regions (and their subtree) are not rendered. */
    bool enabled;

    /* Callbacks for I/O and RAM-device regions; the unassigned ops otherwise. */
    const MemoryRegionOps *ops;
    /* First argument of the ops callbacks. */
    void *opaque;

    /* Host memory of a RAM region, allocated and freed through physmem. */
    RAMBlock *ram_block;
    /* Whether finalisation frees ram_block (false for none). */
    bool owns_ram_block;
    /* Set by the provider (virtio-mem semantics) of a RAM region; not owned. */
    RamDiscardManager *rdm;

    /* The region this alias shows, referenced; NULL if not an alias. */
    MemoryRegion *alias;
    /* Where the alias window starts inside the target. */
    hwaddr alias_offset;

    /* One bit per dirty memory client this region logs for (memory_region_set_log). */
    uint8_t dirty_log_mask;
    /* Per client: how many memory_region_set_log(true) calls are outstanding. */
    uint16_t log_count[8];
};

/*
 * Initialise @mr as an empty container of @size bytes (UINT64_MAX: 2^64).
 * A container renders nothing itself; its subregions show through, the rest
 * of its range is unassigned.  @owner is recorded for memory_region_owner().
 */
void memory_region_init(MemoryRegion *mr, void *owner, const char *name, uint64_t size);

/*
 * Initialise @mr as an I/O region served by @ops with @opaque.  NULL @ops
 * gives a region where every access fails (MEMTX_DECODE_ERROR).  Fails for
 * access sizes in @ops that are not 1, 2, 4 or 8, a minimum above the
 * maximum, or a missing read or write callback; then @mr is left an empty
 * disabled container.
 */
bool memory_region_init_io_checked(MemoryRegion *mr, void *owner, const MemoryRegionOps *ops,
                                   void *opaque, const char *name, uint64_t size,
                                   Error **errp);
/* As memory_region_init_io_checked, reporting a failure instead of returning it. */
void memory_region_init_io(MemoryRegion *mr, void *owner, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size);

/*
 * RAM regions.  Each allocates a RAMBlock through physmem and frees it when
 * the region is finalised.  All fail (returning false, @mr left an empty
 * disabled container) for a size of 0 and when physmem cannot allocate;
 * the message names the region.  ram_flags are physmem's RAM_* flags
 * (RAM_SHARED, RAM_NORESERVE, ...).  Guest RAM (every variant except
 * RAM-device) names its block after the region for migration, so those
 * names must be unique: a name already in use is an error.
 */
/* Anonymous private RAM (RAM_SHARED in @ram_flags: shared anonymous). */
bool memory_region_init_ram_flags(MemoryRegion *mr, void *owner, const char *name,
                                  uint64_t size, uint32_t ram_flags, Error **errp);
/* Anonymous private RAM. */
bool memory_region_init_ram(MemoryRegion *mr, void *owner, const char *name, uint64_t size,
                            Error **errp);
/*
 * RAM whose used size can change up to @max_size with
 * memory_region_ram_resize(); @resized is called after a resize.
 */
bool memory_region_init_resizeable_ram(MemoryRegion *mr, void *owner, const char *name,
                                       uint64_t size, uint64_t max_size,
                                       void (*resized)(const char *, uint64_t length,
                                                       void *host),
                                       Error **errp);
/*
 * RAM mapped from @fd (a memfd, a file, hugetlbfs) at @offset; RAM_SHARED
 * in @ram_flags maps it MAP_SHARED.  @size must be a multiple of the host
 * page size.  On success the RAM block owns @fd and closes it when the
 * region is finalised; on failure the caller keeps it.
 */
bool memory_region_init_ram_from_fd(MemoryRegion *mr, void *owner, const char *name,
                                    uint64_t size, uint32_t ram_flags, int fd, off_t offset,
                                    Error **errp);
/*
 * RAM backed by the file (or a new file in the directory) @path; RAM_SHARED
 * maps it shared.  @prealloc touches every page up front.  @size must be a
 * multiple of the host page size.
 */
bool memory_region_init_ram_from_file(MemoryRegion *mr, void *owner, const char *name,
                                      uint64_t size, uint32_t ram_flags, const char *path,
                                      bool prealloc, Error **errp);
/*
 * RAM at @ptr, which the caller allocated and keeps valid (and frees) after
 * the region is finalised.  Fails for a NULL @ptr.
 */
bool memory_region_init_ram_ptr(MemoryRegion *mr, void *owner, const char *name,
                                uint64_t size, void *ptr, Error **errp);
/*
 * Device memory mmap'd at @ptr (a VFIO BAR).  Guest accesses use exact
 * width volatile loads and stores, never memcpy, and
 * memory_region_is_ram_device() is true so VFIO can tell it from guest RAM.
 * The mapping stays the caller's.  Fails for a NULL @ptr.
 */
bool memory_region_init_ram_device_ptr(MemoryRegion *mr, void *owner, const char *name,
                                       uint64_t size, void *ptr, Error **errp);
/* Read-only RAM: guest writes are ignored; fill it with address_space_write_rom(). */
bool memory_region_init_rom(MemoryRegion *mr, void *owner, const char *name, uint64_t size,
                            Error **errp);

/*
 * Initialise @mr as an alias: [0, @size) of @mr shows
 * [@offset, @offset + @size) of @orig.  Fails when that window does not
 * lie inside @orig, or for an uninitialised @orig.
 */
bool memory_region_init_alias_checked(MemoryRegion *mr, void *owner, const char *name,
                                      MemoryRegion *orig, hwaddr offset, uint64_t size,
                                      Error **errp);
void memory_region_init_alias(MemoryRegion *mr, void *owner, const char *name,
                              MemoryRegion *orig, hwaddr offset, uint64_t size);

/* Take and drop references (see the lifetime rules above). NULL is ignored. */
void memory_region_ref(MemoryRegion *mr);
void memory_region_unref(MemoryRegion *mr);
/*
 * Tear-down counterpart of init (QEMU's object_unparent on a region): remove
 * @mr from its container and drop the creator's reference.  Harmless on a
 * zeroed, never-initialised region.
 */
void memory_region_unparent(MemoryRegion *mr);

/*
 * Map @subregion at @offset of container @mr with priority 0 (where
 * siblings of equal priority overlap, the one added last shows).  Fails,
 * leaving the tree unchanged, when @subregion already has a container, when
 * it does not fit inside @mr, when @mr is an alias or uninitialised, or
 * when it would make a cycle (through subregions or alias targets).  Any
 * region that is not an alias may hold subregions: over a leaf, they show
 * in front of the leaf's own content.
 */
bool memory_region_add_subregion_checked(MemoryRegion *mr, hwaddr offset,
                                         MemoryRegion *subregion, Error **errp);
void memory_region_add_subregion(MemoryRegion *mr, hwaddr offset, MemoryRegion *subregion);
/* As add_subregion, with a priority deciding which overlapping sibling shows. */
bool memory_region_add_subregion_overlap_checked(MemoryRegion *mr, hwaddr offset,
                                                 MemoryRegion *subregion, int priority,
                                                 Error **errp);
void memory_region_add_subregion_overlap(MemoryRegion *mr, hwaddr offset,
                                         MemoryRegion *subregion, int priority);
/* Unmap @subregion from @mr; fails if @mr is not its container. */
bool memory_region_del_subregion_checked(MemoryRegion *mr, MemoryRegion *subregion,
                                         Error **errp);
void memory_region_del_subregion(MemoryRegion *mr, MemoryRegion *subregion);

/* Show or hide @mr (and its subtree) without unmapping it. */
void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
/* Move @mr inside its container; fails if it would not fit there. */
bool memory_region_set_address_checked(MemoryRegion *mr, hwaddr addr, Error **errp);
void memory_region_set_address(MemoryRegion *mr, hwaddr addr);
/* Move an alias's window; fails for a non-alias or a window outside the target. */
bool memory_region_set_alias_offset_checked(MemoryRegion *mr, hwaddr offset, Error **errp);
void memory_region_set_alias_offset(MemoryRegion *mr, hwaddr offset);
/*
 * Change the size of a container, I/O or alias region (UINT64_MAX: 2^64).
 * Fails for RAM regions (use memory_region_ram_resize), for an alias window
 * that would leave its target, or when @mr would no longer fit in its
 * container.
 */
bool memory_region_set_size_checked(MemoryRegion *mr, uint64_t size, Error **errp);
void memory_region_set_size(MemoryRegion *mr, uint64_t size);
/* Make writes through @mr (and its subtree) ignored and sections read-only. */
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
void memory_region_set_nonvolatile(MemoryRegion *mr, bool nonvolatile);
/*
 * Resize a resizeable RAM region to @newsize (up to its max size); the
 * region and its flat ranges change size.
 */
bool memory_region_ram_resize(MemoryRegion *mr, uint64_t newsize, Error **errp);

/* Accessors */
const char *memory_region_name(const MemoryRegion *mr);
void *memory_region_owner(const MemoryRegion *mr);
/* Size in bytes; 2^64 is reported as UINT64_MAX. */
uint64_t memory_region_size(const MemoryRegion *mr);
/* RAM, ROM and RAM-device regions (not aliases of them). */
bool memory_region_is_ram(const MemoryRegion *mr);
/* Read-only RAM. */
bool memory_region_is_rom(const MemoryRegion *mr);
bool memory_region_is_ram_device(const MemoryRegion *mr);
/* True for IOMMU regions and aliases of them. */
bool memory_region_is_iommu(const MemoryRegion *mr);
bool memory_region_is_nonvolatile(const MemoryRegion *mr);
/* Mapped into a container. */
bool memory_region_is_mapped(const MemoryRegion *mr);
/* The IOMMU region behind @mr (through aliases), or NULL. */
IOMMUMemoryRegion *memory_region_get_iommu(MemoryRegion *mr);
/* Host address of offset 0 of a RAM region (through aliases), or NULL. */
void *memory_region_get_ram_ptr(MemoryRegion *mr);
/* The RAM block's offset in the ram_addr_t space, or RAM_ADDR_INVALID. */
ram_addr_t memory_region_get_ram_addr(MemoryRegion *mr);
/* The RAM block (through aliases), or NULL. */
RAMBlock *memory_region_get_ram_block(MemoryRegion *mr);
/* File descriptor behind a RAM region (through aliases), or -1. */
int memory_region_get_fd(MemoryRegion *mr);
/*
 * The RAM region containing host address @ptr, with *@offset set to the
 * offset within it; NULL if @ptr is not guest RAM.
 */
MemoryRegion *memory_region_from_host(void *ptr, ram_addr_t *offset);

/*
 * Coordinated discard (virtio-mem semantics): attach @rdm to RAM region
 * @mr, or detach with NULL.  Returns 0, -EINVAL for a non-RAM region or
 * -EBUSY when another manager is attached.  Not owned by the region.
 */
int memory_region_set_ram_discard_manager(MemoryRegion *mr, RamDiscardManager *rdm);
/* The manager of a RAM region, or NULL. */
RamDiscardManager *memory_region_get_ram_discard_manager(MemoryRegion *mr);
bool memory_region_has_ram_discard_manager(MemoryRegion *mr);

/* ------------------------------------------------------------------------ */
/* Dirty logging */

/*
 * Global dirty tracking reasons (memory_global_dirty_log_start flags).  While
 * any is set, RAM and IOMMU sections log for DIRTY_MEMORY_MIGRATION.
 */
#define GLOBAL_DIRTY_MIGRATION  (1U << 0)
#define GLOBAL_DIRTY_DIRTY_RATE (1U << 1)
#define GLOBAL_DIRTY_LIMIT      (1U << 2)
#define GLOBAL_DIRTY_MASK       (0x7)

/* The GLOBAL_DIRTY_* reasons currently active. */
extern unsigned int global_dirty_tracking;

/*
 * Log writes to @mr for dirty memory @client (physmem's DIRTY_MEMORY_*,
 * except DIRTY_MEMORY_MIGRATION, which global tracking drives).  Calls
 * nest: logging stops after as many false as true calls.
 */
void memory_region_set_log(MemoryRegion *mr, bool log, unsigned client);
/* Whether writes to @mr are logged for @client (global tracking included). */
bool memory_region_is_logging(MemoryRegion *mr, uint8_t client);
/* Bit mask (1 << DIRTY_MEMORY_*) of the clients logging @mr, global tracking included. */
uint8_t memory_region_get_dirty_log_mask(MemoryRegion *mr);
/* Mark [@addr, @addr + @size) of RAM region @mr dirty for every client logging it. */
void memory_region_set_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size);
/* Whether any page of the range is dirty for @client. */
bool memory_region_get_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size, unsigned client);
/* Report and clear the dirty state of the range for @client. */
bool memory_region_test_and_clear_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size,
                                        unsigned client);

/*
 * Start global dirty tracking for @flags (GLOBAL_DIRTY_*).  The first reason
 * to start calls log_global_start on every listener (priority order); if
 * one fails, the listeners that had started get log_global_stop (reverse
 * order), tracking stays off and the error is returned.  Then every RAM
 * section gets log_start.
 */
bool memory_global_dirty_log_start(unsigned int flags, Error **errp);
/* Drop @flags; when none is left, log_global_stop on every listener (reverse). */
void memory_global_dirty_log_stop(unsigned int flags);
/*
 * Fetch dirty state: for each listener (priority order), log_sync on every
 * logged section of its address space, or log_sync_global when it has no
 * log_sync.  @last_stage is true for the final sync with the guest stopped.
 * Ends with memory_global_after_dirty_log_sync().
 */
void memory_global_dirty_log_sync(bool last_stage);
/* log_global_after_sync on every listener. */
void memory_global_after_dirty_log_sync(void);

/* ------------------------------------------------------------------------ */
/* IOMMU regions */

/* Permission of an IOTLB entry; also the access being translated. */
typedef enum {
    IOMMU_NONE = 0,
    IOMMU_RO = 1,
    IOMMU_WO = 2,
    IOMMU_RW = 3,
} IOMMUAccessFlags;

#define IOMMU_ACCESS_FLAG(r, w) (((r) ? IOMMU_RO : 0) | ((w) ? IOMMU_WO : 0))

/*
 * One translation: [iova, iova + addr_mask] maps to
 * [translated_addr, translated_addr + addr_mask] in target_as with @perm.
 * addr_mask is a page mask (2^n - 1), except in notifications cropped to a
 * notifier's range, where addr_mask + 1 is simply the length.
 */
struct IOMMUTLBEntry {
    /* The address space the translated address lives in. */
    AddressSpace *target_as;
    /* Input address, aligned to addr_mask + 1. */
    hwaddr iova;
    /* Output address, aligned like iova. */
    hwaddr translated_addr;
    /* Length minus one. */
    hwaddr addr_mask;
    /* IOMMU_NONE for an unmapping / no translation. */
    IOMMUAccessFlags perm;
};

/* What an IOMMU notifier wants to hear about. */
typedef enum {
    IOMMU_NOTIFIER_NONE = 0,
    /* Invalidations (entry perm IOMMU_NONE). */
    IOMMU_NOTIFIER_UNMAP = 0x1,
    /* New mappings. */
    IOMMU_NOTIFIER_MAP = 0x2,
    /* Device-IOTLB invalidations; cropped to the notifier's range. */
    IOMMU_NOTIFIER_DEVIOTLB_UNMAP = 0x4,
} IOMMUNotifierFlag;

#define IOMMU_NOTIFIER_IOTLB_EVENTS (IOMMU_NOTIFIER_MAP | IOMMU_NOTIFIER_UNMAP)
#define IOMMU_NOTIFIER_DEVIOTLB_EVENTS IOMMU_NOTIFIER_DEVIOTLB_UNMAP
#define IOMMU_NOTIFIER_ALL (IOMMU_NOTIFIER_IOTLB_EVENTS | IOMMU_NOTIFIER_DEVIOTLB_EVENTS)

/* A change to an IOMMU's mappings. */
struct IOMMUTLBEvent {
    /* IOMMU_NOTIFIER_MAP, _UNMAP or _DEVIOTLB_UNMAP. */
    IOMMUNotifierFlag type;
    /* The range concerned. */
    IOMMUTLBEntry entry;
};

typedef void (*IOMMUNotify)(IOMMUNotifier *notifier, IOMMUTLBEntry *data);

/*
 * A subscriber to an IOMMU's mapping changes, embedded in the subscriber
 * (VFIO's per-section giommu).  Fill it with iommu_notifier_init().
 */
struct IOMMUNotifier {
    /* Called for each matching event with the (possibly cropped) entry. */
    IOMMUNotify notify;
    /* Events wanted (IOMMU_NOTIFIER_*), never NONE once registered. */
    IOMMUNotifierFlag notifier_flags;
    /* First IOVA of interest. */
    hwaddr start;
    /* Last IOVA of interest (inclusive). */
    hwaddr end;
    /* The IOMMU translation context (see attrs_to_index). */
    int iommu_idx;
    /* Node in the IOMMU region's notifier list; data points to this notifier. */
    GList node;
    /* The IOMMU region it is registered with, or NULL. */
    IOMMUMemoryRegion *iommu_mr;
};

/* Fill in @n; register it with memory_region_register_iommu_notifier(). */
void iommu_notifier_init(IOMMUNotifier *n, IOMMUNotify fn, IOMMUNotifierFlag flags,
                         hwaddr start, hwaddr end, int iommu_idx);

/*
 * The behaviour of an IOMMU model (QEMU's IOMMUMemoryRegionClass).  Only
 * translate is mandatory.
 */
struct IOMMUMemoryRegionOps {
    /*
     * Translate @addr (offset in the IOMMU region) for an access of kind
     * @flag (IOMMU_NONE when replaying: report what is mapped) in context
     * @iommu_idx.  perm IOMMU_NONE means "not mapped".
     */
    IOMMUTLBEntry (*translate)(IOMMUMemoryRegion *iommu, hwaddr addr, IOMMUAccessFlags flag,
                               int iommu_idx);
    /* Smallest page the IOMMU maps (default: the host page size). */
    uint64_t (*get_min_page_size)(IOMMUMemoryRegion *iommu);
    /*
     * The union of the registered notifiers' flags changes from @old to
     * @new; an IOMMU that cannot notify (e.g. no caching mode) fails.
     */
    int (*notify_flag_changed)(IOMMUMemoryRegion *iommu, IOMMUNotifierFlag old,
                               IOMMUNotifierFlag new, Error **errp);
    /*
     * Call @notifier for every current mapping; without it the core walks
     * the notifier's range with translate in min-page-size steps.
     */
    void (*replay)(IOMMUMemoryRegion *iommu, IOMMUNotifier *notifier);
    /* Context index for transactions with @attrs (default 0). */
    int (*attrs_to_index)(IOMMUMemoryRegion *iommu, MemTxAttrs attrs);
    /* Number of contexts (default 1). */
    int (*num_indexes)(IOMMUMemoryRegion *iommu);
    /* The host IOMMU's page sizes, so the model can refuse incompatible ones. */
    int (*iommu_set_page_size_mask)(IOMMUMemoryRegion *iommu, uint64_t page_size_mask,
                                    Error **errp);
    /* The usable IOVA ranges of the host IOMMU (a GList of util Range *). */
    int (*iommu_set_iova_ranges)(IOMMUMemoryRegion *iommu, GList *iova_ranges,
                                 Error **errp);
};

/*
 * A region whose accesses are translated into another address space.
 * Embed it in the IOMMU model's state and use container_of() in the ops.
 */
struct IOMMUMemoryRegion {
    /* The region itself; is_iommu is set. */
    MemoryRegion parent_obj;
    /* The model's behaviour; never NULL once initialised. */
    const IOMMUMemoryRegionOps *ops;
    /* Registered IOMMUNotifiers, most recent first. */
    GQueue iommu_notify;
    /* Union of the registered notifiers' flags, as last told to the model. */
    IOMMUNotifierFlag iommu_notify_flags;
};

/*
 * Initialise an IOMMU region of @size bytes.  Fails for a size of 0 or
 * @ops without translate (then the region is an empty disabled container).
 */
bool memory_region_init_iommu(IOMMUMemoryRegion *iommu_mr, void *owner,
                              const IOMMUMemoryRegionOps *ops, const char *name,
                              uint64_t size, Error **errp);
/*
 * Register @n with the IOMMU region behind @mr (aliases followed).  Fails
 * with -EINVAL for a non-IOMMU region, flags NONE, start > end, an index
 * out of range or an already registered notifier, and with the model's
 * error when notify_flag_changed refuses.  Returns 0 on success.
 */
int memory_region_register_iommu_notifier(MemoryRegion *mr, IOMMUNotifier *n, Error **errp);
/* Unregister @n (no-op if it is not registered with @mr's IOMMU). */
void memory_region_unregister_iommu_notifier(MemoryRegion *mr, IOMMUNotifier *n);
/*
 * Tell the notifiers of context @iommu_idx about @event: each notifier
 * whose range overlaps the entry and whose flags include the event type is
 * called once, with the entry cropped to its range.
 */
void memory_region_notify_iommu(IOMMUMemoryRegion *iommu_mr, int iommu_idx,
                                const IOMMUTLBEvent event);
/* Deliver @event to one notifier, with the same matching and cropping. */
void memory_region_notify_iommu_one(IOMMUNotifier *notifier, const IOMMUTLBEvent *event);
/* Send an unmap of @notifier's whole range to it. */
void memory_region_unmap_iommu_notifier_range(IOMMUNotifier *notifier);
/* Replay the current mappings of @iommu_mr to @n (see IOMMUMemoryRegionOps.replay). */
void memory_region_iommu_replay(IOMMUMemoryRegion *iommu_mr, IOMMUNotifier *n);
uint64_t memory_region_iommu_get_min_page_size(IOMMUMemoryRegion *iommu_mr);
int memory_region_iommu_attrs_to_index(IOMMUMemoryRegion *iommu_mr, MemTxAttrs attrs);
int memory_region_iommu_num_indexes(IOMMUMemoryRegion *iommu_mr);
/* Forwarded to the model; 0 when it does not care. */
int memory_region_iommu_set_page_size_mask(IOMMUMemoryRegion *iommu_mr,
                                           uint64_t page_size_mask, Error **errp);
int memory_region_iommu_set_iova_ranges(IOMMUMemoryRegion *iommu_mr, GList *iova_ranges,
                                        Error **errp);

/* ------------------------------------------------------------------------ */
/* Flat views and sections */

/*
 * A piece of a flat view: [start, start + size) of the address space shows
 * [offset_in_region, offset_in_region + size) of leaf @mr.
 */
struct FlatRange {
    /* The leaf shown (never an alias or a container); referenced. */
    MemoryRegion *mr;
    /* Offset in @mr of the range's first byte. */
    hwaddr offset_in_region;
    /* First address in the address space. */
    Int128 start;
    /* Length in bytes (> 0). */
    Int128 size;
    /* memory_region_get_dirty_log_mask(mr) when the view was rendered. */
    uint8_t dirty_log_mask;
    /* A read-only region (or an ancestor or alias on the path) covers it. */
    bool readonly;
    /* A non-volatile region (or one on the path) covers it. */
    bool nonvolatile;
};

/*
 * The rendered memory map of a region tree: disjoint ranges sorted by
 * start.  Immutable once built; shared (refcounted) by the address spaces
 * with the same root and by anyone holding a section.
 */
struct FlatView {
    /* References: the address spaces showing it, sections, callers. */
    unsigned ref;
    /* The ranges, sorted by start, never adjacent-and-mergeable. */
    FlatRange *ranges;
    /* Number of ranges. */
    unsigned nr;
    /* Capacity of @ranges. */
    unsigned nr_allocated;
    /* The tree it was rendered from (referenced), or NULL for an empty view. */
    MemoryRegion *root;
};

/*
 * What a listener is told about: a contiguous piece of one leaf region as
 * it appears in an address space.  Field names are part of the contract
 * with the RAM-discard manager and VFIO.
 */
struct MemoryRegionSection {
    /* Length in bytes (may be 2^64 for a region covering everything). */
    Int128 size;
    /* The leaf region; NULL from memory_region_find() when nothing is there. */
    MemoryRegion *mr;
    /* The flat view the section belongs to. */
    FlatView *fv;
    /* Offset in @mr of the section's first byte. */
    hwaddr offset_within_region;
    /* Address in the address space of the section's first byte. */
    hwaddr offset_within_address_space;
    /* Writes through this section are ignored (ROM, read-only path). */
    bool readonly;
    /* The memory is persistent. */
    bool nonvolatile;
};

/* Sections equal in every field. */
static inline bool memory_region_section_equal(const MemoryRegionSection *a,
                                               const MemoryRegionSection *b)
{
    return a->mr == b->mr && a->fv == b->fv &&
           a->offset_within_region == b->offset_within_region &&
           a->offset_within_address_space == b->offset_within_address_space &&
           int128_eq(a->size, b->size) && a->readonly == b->readonly &&
           a->nonvolatile == b->nonvolatile;
}

/*
 * Narrow @s to the part inside [@offset, @offset + @size) of its region.
 * Returns false (leaving @s alone) when they do not intersect.
 */
static inline bool memory_region_section_intersect_range(MemoryRegionSection *s,
                                                         uint64_t offset, uint64_t size)
{
    Int128 s_start = int128_make64(s->offset_within_region);
    Int128 s_limit = int128_add(s_start, s->size);
    Int128 lo = int128_max(s_start, int128_make64(offset));
    Int128 hi = int128_min(s_limit, int128_add(int128_make64(offset), int128_make64(size)));

    if (int128_le(hi, lo)) {
        return false;
    }
    s->offset_within_address_space += int128_get64(int128_sub(lo, s_start));
    s->offset_within_region = int128_get64(lo);
    s->size = int128_sub(hi, lo);
    return true;
}

/* A heap copy of @s holding its own references; free with _free_copy. */
MemoryRegionSection *memory_region_section_new_copy(MemoryRegionSection *s);
void memory_region_section_free_copy(MemoryRegionSection *s);

/*
 * The first piece of [@addr, @addr + @size) (relative to @mr) that is
 * mapped, looked up in the flat view of the address space whose root
 * contains @mr.  .mr is NULL when nothing is mapped (or @mr is in no
 * address space); otherwise .mr carries a reference the caller drops with
 * memory_region_unref(), and .size may be shorter than @size.
 */
MemoryRegionSection memory_region_find(MemoryRegion *mr, hwaddr addr, uint64_t size);

/* The view @as shows now, with a reference; drop it with flatview_unref(). */
FlatView *address_space_get_flatview(AddressSpace *as);
void flatview_ref(FlatView *fv);
void flatview_unref(FlatView *fv);

/* Return true to stop the walk. */
typedef bool (*flatview_cb)(Int128 start, Int128 len, const MemoryRegion *mr,
                            hwaddr offset_in_region, void *opaque);
/* Call @cb for each range of @fv in address order. */
void flatview_for_each_range(FlatView *fv, flatview_cb cb, void *opaque);

/* ------------------------------------------------------------------------ */
/* Transactions and listeners */

/*
 * Group changes: the flat views are rebuilt (and listeners told) once, at
 * the outermost commit, and only if something changed.  Nestable.
 */
void memory_region_transaction_begin(void);
void memory_region_transaction_commit(void);

/* Conventional listener priorities (lower runs first for additions). */
#define MEMORY_LISTENER_PRIORITY_MIN         0
#define MEMORY_LISTENER_PRIORITY_ACCEL       10
#define MEMORY_LISTENER_PRIORITY_DEV_BACKEND 10

/*
 * Callbacks about one address space's memory map.  Every callback is
 * optional.  Ordering, as in QEMU: begin, commit, region_add, region_nop,
 * log_start, log_global_start and log_global_after_sync run in increasing
 * @priority; region_del, log_stop and log_global_stop in decreasing
 * priority, so a listener sees removals before the listeners it depends
 * on.  Listeners of equal priority run in registration order (reversed for
 * the "decreasing" callbacks).
 *
 * A topology change is reported as: begin (every listener, all address
 * spaces), then per address space the removed sections (region_del), then
 * in address order the added ones (region_add) and the unchanged ones
 * (region_nop, followed by log_start/log_stop if their dirty-log mask
 * changed), then commit.  A section whose attributes changed is removed and
 * added again.
 */
struct MemoryListener {
    /* A batch of changes starts (every listener, whatever its address space). */
    void (*begin)(MemoryListener *listener);
    /* The batch is complete. */
    void (*commit)(MemoryListener *listener);
    /* @section appeared. */
    void (*region_add)(MemoryListener *listener, MemoryRegionSection *section);
    /* @section disappeared. */
    void (*region_del)(MemoryListener *listener, MemoryRegionSection *section);
    /* @section is unchanged. */
    void (*region_nop)(MemoryListener *listener, MemoryRegionSection *section);
    /* Logging for some client started on @section (masks before/after). */
    void (*log_start)(MemoryListener *listener, MemoryRegionSection *section,
                      int old_val, int new_val);
    /* Logging for some client stopped on @section (masks before/after). */
    void (*log_stop)(MemoryListener *listener, MemoryRegionSection *section,
                     int old_val, int new_val);
    /* Fetch the dirty state of a logged @section into physmem's bitmaps. */
    void (*log_sync)(MemoryListener *listener, MemoryRegionSection *section);
    /* Fetch all dirty state at once (instead of log_sync). */
    void (*log_sync_global)(MemoryListener *listener, bool last_stage);
    /* Global dirty tracking starts; may refuse (e.g. a device that can't track). */
    bool (*log_global_start)(MemoryListener *listener, Error **errp);
    /* Global dirty tracking stops. */
    void (*log_global_stop)(MemoryListener *listener);
    /* A global sync (memory_global_dirty_log_sync) finished. */
    void (*log_global_after_sync)(MemoryListener *listener);
    /* See above; registration may change it only while unregistered. */
    unsigned priority;
    /* For traces. */
    const char *name;

    /* private: the address space listened to, NULL when unregistered */
    AddressSpace *address_space;
    /* private: node in the global listener list (data: this listener) */
    GList link;
    /* private: node in address_space->listeners (data: this listener) */
    GList link_as;
};

/*
 * Listen to @as.  The current view is replayed first: begin, log_global_start
 * if global tracking is on, region_add for every section (then log_start if
 * it is logged), commit.  Registering a registered listener is reported and
 * ignored.
 */
void memory_listener_register(MemoryListener *listener, AddressSpace *as);
/*
 * Stop listening: begin, log_stop for logged sections and region_del for
 * every section, commit.  No-op for an unregistered listener.
 */
void memory_listener_unregister(MemoryListener *listener);

/* ------------------------------------------------------------------------ */
/* Address spaces and accesses */

/* A bus master's view of a region tree. */
struct AddressSpace {
    /* For traces and errors. */
    char *name;
    /* The tree (referenced). */
    MemoryRegion *root;
    /* The current rendering (referenced); accesses and listeners use it. */
    FlatView *current_map;
    /* Registered listeners in priority order (MemoryListener.link_as). */
    GQueue listeners;
    /* Node in the list of all address spaces (data: this address space). */
    GList address_spaces_link;
};

/* Start an address space showing @root, rendered immediately. */
void address_space_init(AddressSpace *as, MemoryRegion *root, const char *name);
/*
 * Tear down @as: its listeners are unregistered (with region_del for
 * every section), its view and root reference dropped.
 */
void address_space_destroy(AddressSpace *as);
/* The current view, without a reference (valid until the next commit). */
FlatView *address_space_to_flatview(AddressSpace *as);

/*
 * Copy @len bytes between @buf and @as at @addr.  Crosses section
 * boundaries: RAM is copied directly; I/O regions are accessed in pieces
 * no larger than they accept (and aligned, unless they accept unaligned
 * accesses); writes to read-only sections are ignored; unassigned bytes
 * read as 0xff.  IOMMU regions translate the address first.  The result is
 * the OR of every piece's result (MEMTX_DECODE_ERROR for unassigned ones).
 */
MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, MemTxAttrs attrs, void *buf,
                             hwaddr len, bool is_write);
MemTxResult address_space_read(AddressSpace *as, hwaddr addr, MemTxAttrs attrs, void *buf,
                               hwaddr len);
MemTxResult address_space_write(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                                const void *buf, hwaddr len);
/* Fill [@addr, @addr + @len) with @c (qtest's memset). */
MemTxResult address_space_set(AddressSpace *as, hwaddr addr, uint8_t c, hwaddr len,
                              MemTxAttrs attrs);
/*
 * Write @buf into RAM and ROM (firmware loading): read-only RAM is written
 * too, I/O and unassigned ranges are skipped.
 */
MemTxResult address_space_write_rom(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                                    const void *buf, hwaddr len);
/* Whether an access of @len bytes at @addr would reach something that accepts it. */
bool address_space_access_valid(AddressSpace *as, hwaddr addr, hwaddr len, bool is_write,
                                MemTxAttrs attrs);

/*
 * Resolve @addr through @as, following IOMMU regions: returns the leaf
 * region, with *@xlat the offset inside it and *@plen shortened to what is
 * contiguous there.  Unmapped or IOMMU-refused addresses give the internal
 * "unassigned" region (memory_region_is_ram() false), never NULL.
 */
MemoryRegion *address_space_translate(AddressSpace *as, hwaddr addr, hwaddr *xlat,
                                      hwaddr *plen, bool is_write, MemTxAttrs attrs);

/*
 * Single accesses of 1, 2, 4 or 8 bytes.  An access that lies in one I/O
 * region is made as one callback access of that size (subject to the
 * region's valid sizes); the value is in host order, converted from the
 * named byte order of guest memory.  *@result (if not NULL) receives the
 * MemTxResult.
 */
uint32_t address_space_ldub(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                            MemTxResult *result);
uint32_t address_space_lduw_le(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                               MemTxResult *result);
uint32_t address_space_lduw_be(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                               MemTxResult *result);
uint32_t address_space_ldl_le(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result);
uint32_t address_space_ldl_be(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result);
uint64_t address_space_ldq_le(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result);
uint64_t address_space_ldq_be(AddressSpace *as, hwaddr addr, MemTxAttrs attrs,
                              MemTxResult *result);
void address_space_stb(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                       MemTxResult *result);
void address_space_stw_le(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result);
void address_space_stw_be(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result);
void address_space_stl_le(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result);
void address_space_stl_be(AddressSpace *as, hwaddr addr, uint32_t val, MemTxAttrs attrs,
                          MemTxResult *result);
void address_space_stq_le(AddressSpace *as, hwaddr addr, uint64_t val, MemTxAttrs attrs,
                          MemTxResult *result);
void address_space_stq_be(AddressSpace *as, hwaddr addr, uint64_t val, MemTxAttrs attrs,
                          MemTxResult *result);

/*
 * One access of @size (1, 2, 4, 8) bytes at offset @addr of I/O region @mr,
 * checked against ops->valid and split/widened per ops->impl.  The value is
 * in guest (little-endian) order; a device of other endianness is swapped.
 * A refused access returns MEMTX_DECODE_ERROR and reads all-ones.
 */
MemTxResult memory_region_dispatch_read(MemoryRegion *mr, hwaddr addr, uint64_t *pval,
                                        unsigned size, MemTxAttrs attrs);
MemTxResult memory_region_dispatch_write(MemoryRegion *mr, hwaddr addr, uint64_t val,
                                         unsigned size, MemTxAttrs attrs);
/* Whether @mr's ops accept an access of @size bytes at @addr. */
bool memory_region_access_valid(MemoryRegion *mr, hwaddr addr, unsigned size, bool is_write,
                                MemTxAttrs attrs);

#endif /* EXEC_MEMORY_H */
