/*
 * Memory regions: initialisation, lifetime, the region tree and the
 * machine's root address spaces.
 *
 * Every operation that changes what an address space shows runs inside a
 * transaction (memory-listener.c) so the flat views are rebuilt once per
 * batch.  Operations reachable from outside input validate it and fail with
 * an Error that names the region, leaving the tree as it was; the void
 * QEMU-style wrappers report such errors instead of aborting.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "exec/ram_addr.h"
#include "memory-internal.h"
#include "trace/trace-system.h"

GQueue memory_address_spaces = G_QUEUE_INIT;

static uint64_t unassigned_mem_read(void *opaque, hwaddr addr, unsigned size)
{
    return UINT64_MAX;
}

static void unassigned_mem_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
}

static bool unassigned_mem_accepts(void *opaque, hwaddr addr, unsigned size, bool is_write,
                                   MemTxAttrs attrs)
{
    return false;
}

const MemoryRegionOps unassigned_mem_ops = {
    .read = unassigned_mem_read,
    .write = unassigned_mem_write,
    .valid.accepts = unassigned_mem_accepts,
    .endianness = DEVICE_NATIVE_ENDIAN,
};

/*
 * Returned by address_space_translate() for holes, so callers always get a
 * region to test (memory_region_is_ram() is false) instead of NULL.  It is
 * never mapped and never finalised: its reference count starts at one and
 * nothing drops it.
 */
MemoryRegion io_mem_unassigned = {
    .name = (char *)"unassigned",
    .refcount = 1,
    .size = (Int128)1 << 64,
    .enabled = true,
    .terminates = true,
    .ops = &unassigned_mem_ops,
};

Int128 memory_region_size_from_u64(uint64_t size)
{
    return size == UINT64_MAX ? int128_2_64() : int128_make64(size);
}

/* Size for messages: 2^64 prints as 0x10000000000000000. */
static char *memory_size_str(Int128 size)
{
    if (int128_eq(size, int128_2_64())) {
        return g_strdup("0x10000000000000000");
    }
    return g_strdup_printf("0x%" PRIx64, int128_get64(size));
}

void memory_region_do_init(MemoryRegion *mr, void *owner, const char *name, uint64_t size)
{
    memset(mr, 0, sizeof(*mr));
    mr->name = g_strdup(name ? name : "anonymous");
    mr->owner = owner;
    mr->refcount = 1;
    mr->creator_ref = true;
    mr->size = memory_region_size_from_u64(size);
    mr->enabled = true;
    mr->ops = &unassigned_mem_ops;
    g_queue_init(&mr->subregions);
    mr->subregions_link.data = mr;
}

void memory_region_make_inert(MemoryRegion *mr)
{
    mr->size = int128_zero();
    mr->enabled = false;
    mr->terminates = false;
    mr->ram = false;
    mr->ram_device = false;
    mr->readonly = false;
    mr->ops = &unassigned_mem_ops;
    mr->opaque = NULL;
    mr->ram_block = NULL;
    mr->owns_ram_block = false;
    mr->alias = NULL;
}

void memory_region_init(MemoryRegion *mr, void *owner, const char *name, uint64_t size)
{
    memory_region_do_init(mr, owner, name, size);
}

static bool access_size_ok(unsigned size)
{
    return size == 0 || size == 1 || size == 2 || size == 4 || size == 8;
}

/* The ops table must describe sizes the dispatcher can honour. */
static bool memory_region_ops_check(const MemoryRegionOps *ops, const char *name,
                                    Error **errp)
{
    unsigned vmin = ops->valid.min_access_size ? ops->valid.min_access_size : 1;
    unsigned vmax = ops->valid.max_access_size ? ops->valid.max_access_size : 4;
    unsigned imin = ops->impl.min_access_size ? ops->impl.min_access_size : 1;
    unsigned imax = ops->impl.max_access_size ? ops->impl.max_access_size : 4;

    if (!access_size_ok(ops->valid.min_access_size) ||
        !access_size_ok(ops->valid.max_access_size) ||
        !access_size_ok(ops->impl.min_access_size) ||
        !access_size_ok(ops->impl.max_access_size)) {
        error_setg(errp, "memory region '%s': access sizes must be 1, 2, 4 or 8", name);
        return false;
    }
    if (vmin > vmax || imin > imax) {
        error_setg(errp, "memory region '%s': minimum access size above the maximum", name);
        return false;
    }
    if (!ops->read && !ops->read_with_attrs) {
        error_setg(errp, "memory region '%s': ops have no read callback", name);
        return false;
    }
    if (!ops->write && !ops->write_with_attrs) {
        error_setg(errp, "memory region '%s': ops have no write callback", name);
        return false;
    }
    return true;
}

bool memory_region_init_io_checked(MemoryRegion *mr, void *owner, const MemoryRegionOps *ops,
                                   void *opaque, const char *name, uint64_t size,
                                   Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    if (ops && !memory_region_ops_check(ops, mr->name, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    mr->ops = ops ? ops : &unassigned_mem_ops;
    mr->opaque = opaque;
    mr->terminates = true;
    return true;
}

void memory_region_init_io(MemoryRegion *mr, void *owner, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size)
{
    Error *err = NULL;

    if (!memory_region_init_io_checked(mr, owner, ops, opaque, name, size, &err)) {
        error_report_err(err);
    }
}

bool memory_region_init_alias_checked(MemoryRegion *mr, void *owner, const char *name,
                                      MemoryRegion *orig, hwaddr offset, uint64_t size,
                                      Error **errp)
{
    Int128 limit;

    memory_region_do_init(mr, owner, name, size);
    if (!orig || !orig->refcount) {
        error_setg(errp, "alias '%s': the target region is not initialised", mr->name);
        memory_region_make_inert(mr);
        return false;
    }
    limit = int128_add(int128_make64(offset), mr->size);
    if (int128_gt(limit, orig->size)) {
        g_autofree char *tsize = memory_size_str(orig->size);

        error_setg(errp, "alias '%s': window [0x%" PRIx64 ", +0x%" PRIx64 ") is outside "
                   "'%s' (size %s)", mr->name, offset, int128_getlo(mr->size), orig->name,
                   tsize);
        memory_region_make_inert(mr);
        return false;
    }
    memory_region_ref(orig);
    mr->alias = orig;
    mr->alias_offset = offset;
    return true;
}

void memory_region_init_alias(MemoryRegion *mr, void *owner, const char *name,
                              MemoryRegion *orig, hwaddr offset, uint64_t size)
{
    Error *err = NULL;

    if (!memory_region_init_alias_checked(mr, owner, name, orig, offset, size, &err)) {
        error_report_err(err);
    }
}

/* ------------------------------------------------------------------------ */
/* Lifetime */

static void memory_region_finalize(MemoryRegion *mr)
{
    trace_memory_region_finalize(mr->name);
    /*
     * Our container held a reference, so a region reaching zero is
     * unmapped; its own children lose their container now.
     */
    if (!g_queue_is_empty(&mr->subregions)) {
        memory_region_transaction_begin();
        while (!g_queue_is_empty(&mr->subregions)) {
            MemoryRegion *sub = g_queue_peek_head(&mr->subregions);

            memory_region_del_subregion(mr, sub);
        }
        memory_region_transaction_commit();
    }
    if (mr->is_iommu) {
        memory_region_iommu_finalize(mr);
    }
    if (mr->alias) {
        memory_region_unref(mr->alias);
        mr->alias = NULL;
    }
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        if (mr->dirty_log_mask & (1 << c)) {
            cpu_physical_memory_log_client(c, false);
        }
    }
    mr->dirty_log_mask = 0;
    memory_region_release_ram(mr);
    g_free(mr->name);
    mr->name = NULL;
}

void memory_region_ref(MemoryRegion *mr)
{
    if (!mr || mr == &io_mem_unassigned) {
        return;
    }
    assert(mr->refcount > 0);
    mr->refcount++;
}

void memory_region_unref(MemoryRegion *mr)
{
    if (!mr || mr == &io_mem_unassigned) {
        return;
    }
    assert(mr->refcount > 0);
    if (--mr->refcount == 0) {
        memory_region_finalize(mr);
    }
}

void memory_region_unparent(MemoryRegion *mr)
{
    if (!mr || !mr->refcount || !mr->creator_ref) {
        return;
    }
    if (mr->container) {
        memory_region_del_subregion(mr->container, mr);
    }
    mr->creator_ref = false;
    memory_region_unref(mr);
}

/* ------------------------------------------------------------------------ */
/* The tree */

/*
 * Whether @target can be reached from @from through subregions or alias
 * targets.  Adding a region that reaches its new container would make the
 * renderer recurse forever, so it is refused.
 */
static bool memory_region_reaches(MemoryRegion *from, MemoryRegion *target)
{
    GList *l;

    if (from == target) {
        return true;
    }
    if (from->alias) {
        return memory_region_reaches(from->alias, target);
    }
    for (l = from->subregions.head; l; l = l->next) {
        if (memory_region_reaches(l->data, target)) {
            return true;
        }
    }
    return false;
}

/* Whether [offset, offset + size) lies inside @container. */
static bool memory_region_fits(MemoryRegion *container, hwaddr offset, Int128 size)
{
    return int128_le(int128_add(int128_make64(offset), size), container->size);
}

static void memory_region_fit_error(Error **errp, MemoryRegion *container, hwaddr offset,
                                    MemoryRegion *sub, Int128 size)
{
    g_autofree char *ssize = memory_size_str(size);
    g_autofree char *csize = memory_size_str(container->size);

    error_setg(errp, "memory region '%s' (size %s) at 0x%" PRIx64 " does not fit in '%s' "
               "(size %s)", sub->name, ssize, offset, container->name, csize);
}

/* Insert @sub before the first sibling of lower or equal priority. */
static void memory_region_link_subregion(MemoryRegion *mr, MemoryRegion *sub)
{
    GList *l;

    for (l = mr->subregions.head; l; l = l->next) {
        MemoryRegion *other = l->data;

        if (sub->priority >= other->priority) {
            g_queue_insert_before_link(&mr->subregions, l, &sub->subregions_link);
            return;
        }
    }
    g_queue_push_tail_link(&mr->subregions, &sub->subregions_link);
}

bool memory_region_add_subregion_overlap_checked(MemoryRegion *mr, hwaddr offset,
                                                 MemoryRegion *subregion, int priority,
                                                 Error **errp)
{
    if (!mr || !mr->refcount) {
        error_setg(errp, "cannot add '%s' to an uninitialised container",
                   subregion && subregion->refcount ? subregion->name : "(null)");
        return false;
    }
    if (!subregion || !subregion->refcount) {
        error_setg(errp, "memory region '%s': cannot add an uninitialised subregion", mr->name);
        return false;
    }
    if (mr->alias) {
        error_setg(errp, "memory region '%s' is an alias and cannot hold subregion '%s'",
                   mr->name, subregion->name);
        return false;
    }
    if (subregion->container) {
        error_setg(errp, "memory region '%s' is already mapped in '%s'", subregion->name,
                   subregion->container->name);
        return false;
    }
    if (!memory_region_fits(mr, offset, subregion->size)) {
        memory_region_fit_error(errp, mr, offset, subregion, subregion->size);
        return false;
    }
    if (memory_region_reaches(subregion, mr)) {
        error_setg(errp, "adding memory region '%s' to '%s' would make a cycle",
                   subregion->name, mr->name);
        return false;
    }

    trace_memory_region_add_subregion(mr->name, subregion->name, offset, priority);
    memory_region_transaction_begin();
    memory_region_ref(subregion);
    subregion->container = mr;
    subregion->addr = offset;
    subregion->priority = priority;
    memory_region_link_subregion(mr, subregion);
    memory_region_update_pending |= mr->enabled && subregion->enabled;
    memory_region_transaction_commit();
    return true;
}

bool memory_region_add_subregion_checked(MemoryRegion *mr, hwaddr offset,
                                         MemoryRegion *subregion, Error **errp)
{
    return memory_region_add_subregion_overlap_checked(mr, offset, subregion, 0, errp);
}

void memory_region_add_subregion(MemoryRegion *mr, hwaddr offset, MemoryRegion *subregion)
{
    Error *err = NULL;

    if (!memory_region_add_subregion_checked(mr, offset, subregion, &err)) {
        error_report_err(err);
    }
}

void memory_region_add_subregion_overlap(MemoryRegion *mr, hwaddr offset,
                                         MemoryRegion *subregion, int priority)
{
    Error *err = NULL;

    if (!memory_region_add_subregion_overlap_checked(mr, offset, subregion, priority, &err)) {
        error_report_err(err);
    }
}

bool memory_region_del_subregion_checked(MemoryRegion *mr, MemoryRegion *subregion,
                                         Error **errp)
{
    if (!mr || !subregion || !subregion->refcount || subregion->container != mr) {
        error_setg(errp, "memory region '%s' is not a subregion of '%s'",
                   subregion && subregion->refcount ? subregion->name : "(null)",
                   mr && mr->refcount ? mr->name : "(null)");
        return false;
    }
    trace_memory_region_del_subregion(mr->name, subregion->name);
    memory_region_transaction_begin();
    g_queue_unlink(&mr->subregions, &subregion->subregions_link);
    subregion->container = NULL;
    memory_region_update_pending |= mr->enabled && subregion->enabled;
    memory_region_unref(subregion);
    memory_region_transaction_commit();
    return true;
}

void memory_region_del_subregion(MemoryRegion *mr, MemoryRegion *subregion)
{
    Error *err = NULL;

    if (!memory_region_del_subregion_checked(mr, subregion, &err)) {
        error_report_err(err);
    }
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    if (!mr->refcount || mr->enabled == enabled) {
        return;
    }
    memory_region_transaction_begin();
    mr->enabled = enabled;
    memory_region_update_pending = true;
    memory_region_transaction_commit();
}

bool memory_region_set_address_checked(MemoryRegion *mr, hwaddr addr, Error **errp)
{
    MemoryRegion *container = mr->container;

    if (addr == mr->addr) {
        return true;
    }
    if (!container) {
        mr->addr = addr;
        return true;
    }
    if (!memory_region_fits(container, addr, mr->size)) {
        memory_region_fit_error(errp, container, addr, mr, mr->size);
        return false;
    }
    /* Re-link so the priority order among siblings is recomputed like an add. */
    memory_region_transaction_begin();
    g_queue_unlink(&container->subregions, &mr->subregions_link);
    mr->addr = addr;
    memory_region_link_subregion(container, mr);
    memory_region_update_pending |= container->enabled && mr->enabled;
    memory_region_transaction_commit();
    return true;
}

void memory_region_set_address(MemoryRegion *mr, hwaddr addr)
{
    Error *err = NULL;

    if (!memory_region_set_address_checked(mr, addr, &err)) {
        error_report_err(err);
    }
}

bool memory_region_set_alias_offset_checked(MemoryRegion *mr, hwaddr offset, Error **errp)
{
    if (!mr->alias) {
        error_setg(errp, "memory region '%s' is not an alias", mr->name);
        return false;
    }
    if (int128_gt(int128_add(int128_make64(offset), mr->size), mr->alias->size)) {
        error_setg(errp, "alias '%s': offset 0x%" PRIx64 " puts the window outside '%s'",
                   mr->name, offset, mr->alias->name);
        return false;
    }
    if (offset == mr->alias_offset) {
        return true;
    }
    memory_region_transaction_begin();
    mr->alias_offset = offset;
    memory_region_update_pending |= mr->enabled;
    memory_region_transaction_commit();
    return true;
}

void memory_region_set_alias_offset(MemoryRegion *mr, hwaddr offset)
{
    Error *err = NULL;

    if (!memory_region_set_alias_offset_checked(mr, offset, &err)) {
        error_report_err(err);
    }
}

bool memory_region_set_size_checked(MemoryRegion *mr, uint64_t size, Error **errp)
{
    Int128 s = memory_region_size_from_u64(size);
    GList *l;

    if (!mr->refcount) {
        error_setg(errp, "cannot resize an uninitialised memory region");
        return false;
    }
    if (mr->ram_block && !memory_region_ram_size_ok(mr, size, errp)) {
        return false;
    }
    if (mr->alias &&
        int128_gt(int128_add(int128_make64(mr->alias_offset), s), mr->alias->size)) {
        error_setg(errp, "alias '%s': size 0x%" PRIx64 " puts the window outside '%s'",
                   mr->name, size, mr->alias->name);
        return false;
    }
    if (mr->container && !memory_region_fits(mr->container, mr->addr, s)) {
        memory_region_fit_error(errp, mr->container, mr->addr, mr, s);
        return false;
    }
    for (l = mr->subregions.head; l; l = l->next) {
        MemoryRegion *sub = l->data;

        if (int128_gt(int128_add(int128_make64(sub->addr), sub->size), s)) {
            error_setg(errp, "memory region '%s': size 0x%" PRIx64 " would leave subregion "
                       "'%s' outside", mr->name, size, sub->name);
            return false;
        }
    }
    if (int128_eq(s, mr->size)) {
        return true;
    }
    memory_region_transaction_begin();
    mr->size = s;
    memory_region_update_pending = true;
    memory_region_transaction_commit();
    return true;
}

void memory_region_set_size(MemoryRegion *mr, uint64_t size)
{
    Error *err = NULL;

    if (!memory_region_set_size_checked(mr, size, &err)) {
        error_report_err(err);
    }
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    if (mr->readonly == readonly) {
        return;
    }
    memory_region_transaction_begin();
    mr->readonly = readonly;
    memory_region_update_pending |= mr->enabled;
    memory_region_transaction_commit();
}

void memory_region_set_nonvolatile(MemoryRegion *mr, bool nonvolatile)
{
    if (mr->nonvolatile == nonvolatile) {
        return;
    }
    memory_region_transaction_begin();
    mr->nonvolatile = nonvolatile;
    memory_region_update_pending |= mr->enabled;
    memory_region_transaction_commit();
}

/* ------------------------------------------------------------------------ */
/* Accessors */

const char *memory_region_name(const MemoryRegion *mr)
{
    return mr->name ? mr->name : "";
}

void *memory_region_owner(const MemoryRegion *mr)
{
    return mr->owner;
}

uint64_t memory_region_size(const MemoryRegion *mr)
{
    if (int128_eq(mr->size, int128_2_64())) {
        return UINT64_MAX;
    }
    return int128_get64(mr->size);
}

bool memory_region_is_ram(const MemoryRegion *mr)
{
    return mr->ram;
}

bool memory_region_is_rom(const MemoryRegion *mr)
{
    return mr->ram && mr->readonly;
}

bool memory_region_is_ram_device(const MemoryRegion *mr)
{
    return mr->ram_device;
}

bool memory_region_is_iommu(const MemoryRegion *mr)
{
    while (mr->alias) {
        mr = mr->alias;
    }
    return mr->is_iommu;
}

bool memory_region_is_nonvolatile(const MemoryRegion *mr)
{
    return mr->nonvolatile;
}

bool memory_region_is_mapped(const MemoryRegion *mr)
{
    return mr->container != NULL;
}

IOMMUMemoryRegion *memory_region_get_iommu(MemoryRegion *mr)
{
    while (mr->alias) {
        mr = mr->alias;
    }
    return mr->is_iommu ? container_of(mr, IOMMUMemoryRegion, parent_obj) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Address spaces */

void address_space_init(AddressSpace *as, MemoryRegion *root, const char *name)
{
    memset(as, 0, sizeof(*as));
    memory_region_ref(root);
    as->root = root;
    as->name = g_strdup(name ? name : "anonymous");
    g_queue_init(&as->listeners);
    as->address_spaces_link.data = as;
    g_queue_push_tail_link(&memory_address_spaces, &as->address_spaces_link);
    /* Nobody listens yet: install the first view without telling anyone. */
    as->current_map = flatview_render(root);
    trace_address_space_init(as->name, root ? root->name : "", as->current_map->nr);
}

void address_space_destroy(AddressSpace *as)
{
    FlatView *view = as->current_map;

    trace_address_space_destroy(as->name);
    while (!g_queue_is_empty(&as->listeners)) {
        memory_listener_unregister(g_queue_peek_head(&as->listeners));
    }
    g_queue_unlink(&memory_address_spaces, &as->address_spaces_link);
    as->current_map = NULL;
    flatview_unref(view);
    memory_region_unref(as->root);
    as->root = NULL;
    g_free(as->name);
    as->name = NULL;
}

FlatView *address_space_to_flatview(AddressSpace *as)
{
    return as->current_map;
}

/* ------------------------------------------------------------------------ */
/* The machine's root address spaces */

static MemoryRegion system_memory;
static MemoryRegion system_io;
static bool memory_map_ready;
AddressSpace address_space_memory;
AddressSpace address_space_io;

void memory_map_init(void)
{
    if (memory_map_ready) {
        return;
    }
    memory_map_ready = true;
    memory_region_init(&system_memory, NULL, "system", UINT64_MAX);
    address_space_init(&address_space_memory, &system_memory, "memory");
    memory_region_init(&system_io, NULL, "io", 64 * KiB);
    address_space_init(&address_space_io, &system_io, "I/O");
}

void memory_map_cleanup(void)
{
    if (!memory_map_ready) {
        return;
    }
    address_space_destroy(&address_space_io);
    memory_region_unparent(&system_io);
    address_space_destroy(&address_space_memory);
    memory_region_unparent(&system_memory);
    memory_map_ready = false;
}

MemoryRegion *get_system_memory(void)
{
    memory_map_init();
    return &system_memory;
}

MemoryRegion *get_system_io(void)
{
    memory_map_init();
    return &system_io;
}
