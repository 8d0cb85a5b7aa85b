/*
 * RAM-backed memory regions: the glue between the region tree and
 * physmem's RAM blocks, the RAM-device access ops, dirty helpers and the
 * RAM discard manager slot.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "exec/ram_addr.h"
#include "memory-internal.h"
#include "trace/trace-system.h"

/*
 * RAM-device memory is a device's MMIO mapped into our address space: it
 * must see one load or store of exactly the guest's width, never a memcpy
 * that the compiler or libc may split, merge or widen.  Pieces are kept
 * aligned (impl.unaligned false) so each is a naturally aligned access.
 */
static uint64_t ram_device_mem_read(void *opaque, hwaddr addr, unsigned size)
{
    MemoryRegion *mr = opaque;
    uint8_t *p = (uint8_t *)memory_region_get_ram_ptr(mr) + addr;

    switch (size) {
    case 1:
        return *(volatile uint8_t *)p;
    case 2:
        return *(volatile uint16_t *)p;
    case 4:
        return *(volatile uint32_t *)p;
    case 8:
        return *(volatile uint64_t *)p;
    default:
        return UINT64_MAX;
    }
}

static void ram_device_mem_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    MemoryRegion *mr = opaque;
    uint8_t *p = (uint8_t *)memory_region_get_ram_ptr(mr) + addr;

    switch (size) {
    case 1:
        *(volatile uint8_t *)p = data;
        break;
    case 2:
        *(volatile uint16_t *)p = data;
        break;
    case 4:
        *(volatile uint32_t *)p = data;
        break;
    case 8:
        *(volatile uint64_t *)p = data;
        break;
    }
}

const MemoryRegionOps ram_device_mem_ops = {
    .read = ram_device_mem_read,
    .write = ram_device_mem_write,
    .endianness = DEVICE_HOST_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = false,
    },
};

/* Checks common to every RAM variant, before anything is allocated. */
static bool memory_region_ram_precheck(MemoryRegion *mr, uint64_t size, bool page_aligned,
                                       bool named, Error **errp)
{
    if (!size) {
        error_setg(errp, "RAM region '%s': size must not be 0", mr->name);
        return false;
    }
    if (size == UINT64_MAX) {
        error_setg(errp, "RAM region '%s': size 2^64 cannot be backed", mr->name);
        return false;
    }
    if (page_aligned && !QEMU_IS_ALIGNED(size, qemu_real_host_page_size())) {
        error_setg(errp, "RAM region '%s': size 0x%" PRIx64 " is not a multiple of the "
                   "host page size (0x%" PRIxPTR ")", mr->name, size,
                   qemu_real_host_page_size());
        return false;
    }
    /* physmem aborts on a duplicate block name; refuse it here as bad input. */
    if (named && qemu_ram_block_by_name(mr->name)) {
        error_setg(errp, "RAM region '%s': a RAM block of that name exists already", mr->name);
        return false;
    }
    return true;
}

/* Attach a new block (or clean up after a failed allocation). */
static bool memory_region_ram_attach(MemoryRegion *mr, RAMBlock *rb, bool named, bool owned)
{
    if (!rb) {
        memory_region_make_inert(mr);
        return false;
    }
    mr->ram = true;
    mr->terminates = true;
    mr->ram_block = rb;
    mr->owns_ram_block = owned;
    if (named) {
        qemu_ram_set_idstr(rb, mr->name);
    }
    trace_memory_region_ram_attach(mr->name, qemu_ram_get_offset(rb),
                                   qemu_ram_get_used_length(rb));
    return true;
}

void memory_region_release_ram(MemoryRegion *mr)
{
    if (mr->ram_block && mr->owns_ram_block) {
        qemu_ram_free(mr->ram_block);
    }
    mr->ram_block = NULL;
    mr->owns_ram_block = false;
}

bool memory_region_init_ram_flags(MemoryRegion *mr, void *owner, const char *name,
                                  uint64_t size, uint32_t ram_flags, Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    if (!memory_region_ram_precheck(mr, size, false, true, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    return memory_region_ram_attach(mr, qemu_ram_alloc(size, ram_flags, mr, errp), true, true);
}

bool memory_region_init_ram(MemoryRegion *mr, void *owner, const char *name, uint64_t size,
                            Error **errp)
{
    return memory_region_init_ram_flags(mr, owner, name, size, 0, errp);
}

bool memory_region_init_resizeable_ram(MemoryRegion *mr, void *owner, const char *name,
                                       uint64_t size, uint64_t max_size,
                                       void (*resized)(const char *, uint64_t length,
                                                       void *host),
                                       Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    if (!memory_region_ram_precheck(mr, size, false, true, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    if (max_size < size) {
        error_setg(errp, "RAM region '%s': maximum size 0x%" PRIx64 " below size 0x%" PRIx64,
                   mr->name, max_size, size);
        memory_region_make_inert(mr);
        return false;
    }
    return memory_region_ram_attach(
        mr, qemu_ram_alloc_resizeable(size, max_size, resized, mr, errp), true, true);
}

bool memory_region_init_ram_from_fd(MemoryRegion *mr, void *owner, const char *name,
                                    uint64_t size, uint32_t ram_flags, int fd, off_t offset,
                                    Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    if (!memory_region_ram_precheck(mr, size, true, true, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    if (fd < 0) {
        error_setg(errp, "RAM region '%s': invalid file descriptor %d", mr->name, fd);
        memory_region_make_inert(mr);
        return false;
    }
    return memory_region_ram_attach(
        mr, qemu_ram_alloc_from_fd(size, mr, ram_flags, fd, offset, errp), true, true);
}

bool memory_region_init_ram_from_file(MemoryRegion *mr, void *owner, const char *name,
                                      uint64_t size, uint32_t ram_flags, const char *path,
                                      bool prealloc, Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    if (!memory_region_ram_precheck(mr, size, true, true, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    if (!path || !*path) {
        error_setg(errp, "RAM region '%s': no backing file path", mr->name);
        memory_region_make_inert(mr);
        return false;
    }
    return memory_region_ram_attach(
        mr, qemu_ram_alloc_from_file(size, mr, ram_flags, path, prealloc, errp), true, true);
}

bool memory_region_init_ram_ptr(MemoryRegion *mr, void *owner, const char *name,
                                uint64_t size, void *ptr, Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    if (!memory_region_ram_precheck(mr, size, false, true, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    if (!ptr) {
        error_setg(errp, "RAM region '%s': NULL host memory", mr->name);
        memory_region_make_inert(mr);
        return false;
    }
    return memory_region_ram_attach(mr, qemu_ram_alloc_from_ptr(size, ptr, mr, errp), true,
                                    true);
}

bool memory_region_init_ram_device_ptr(MemoryRegion *mr, void *owner, const char *name,
                                       uint64_t size, void *ptr, Error **errp)
{
    memory_region_do_init(mr, owner, name, size);
    /* Not guest RAM: not migrated, so its block stays unnamed. */
    if (!memory_region_ram_precheck(mr, size, false, false, errp)) {
        memory_region_make_inert(mr);
        return false;
    }
    if (!ptr) {
        error_setg(errp, "RAM-device region '%s': NULL mapping", mr->name);
        memory_region_make_inert(mr);
        return false;
    }
    if (!memory_region_ram_attach(mr, qemu_ram_alloc_from_ptr(size, ptr, mr, errp), false,
                                  true)) {
        return false;
    }
    mr->ram_device = true;
    mr->ops = &ram_device_mem_ops;
    mr->opaque = mr;
    return true;
}

bool memory_region_init_rom(MemoryRegion *mr, void *owner, const char *name, uint64_t size,
                            Error **errp)
{
    if (!memory_region_init_ram(mr, owner, name, size, errp)) {
        return false;
    }
    mr->readonly = true;
    return true;
}

bool memory_region_ram_size_ok(MemoryRegion *mr, uint64_t size, Error **errp)
{
    RAMBlock *rb = mr->ram_block;

    if (!qemu_ram_is_resizeable(rb)) {
        error_setg(errp, "RAM region '%s' is not resizeable", mr->name);
        return false;
    }
    if (!size || size > qemu_ram_get_max_length(rb)) {
        error_setg(errp, "RAM region '%s': size 0x%" PRIx64 " outside (0, 0x%" PRIx64 "]",
                   mr->name, size, (uint64_t)qemu_ram_get_max_length(rb));
        return false;
    }
    return true;
}

bool memory_region_ram_resize(MemoryRegion *mr, uint64_t newsize, Error **errp)
{
    if (!mr->ram_block) {
        error_setg(errp, "memory region '%s' is not RAM", memory_region_name(mr));
        return false;
    }
    if (!memory_region_ram_size_ok(mr, newsize, errp)) {
        return false;
    }
    if (qemu_ram_resize(mr->ram_block, newsize, errp)) {
        return false;
    }
    /*
     * physmem may already have updated the region (QEMU's qemu_ram_resize
     * does); setting the same size again is a no-op.
     */
    return memory_region_set_size_checked(mr, newsize, errp);
}

/* ------------------------------------------------------------------------ */
/* Accessors */

RAMBlock *memory_region_get_ram_block(MemoryRegion *mr)
{
    while (mr->alias) {
        mr = mr->alias;
    }
    return mr->ram_block;
}

void *memory_region_get_ram_ptr(MemoryRegion *mr)
{
    hwaddr offset = 0;

    while (mr->alias) {
        offset += mr->alias_offset;
        mr = mr->alias;
    }
    if (!mr->ram_block) {
        return NULL;
    }
    return (uint8_t *)qemu_ram_get_host_addr(mr->ram_block) + offset;
}

ram_addr_t memory_region_get_ram_addr(MemoryRegion *mr)
{
    return mr->ram_block ? qemu_ram_get_offset(mr->ram_block) : RAM_ADDR_INVALID;
}

int memory_region_get_fd(MemoryRegion *mr)
{
    RAMBlock *rb = memory_region_get_ram_block(mr);

    return rb ? qemu_ram_get_fd(rb) : -1;
}

MemoryRegion *memory_region_from_host(void *ptr, ram_addr_t *offset)
{
    RAMBlock *rb = qemu_ram_block_from_host(ptr, false, offset);

    return rb ? qemu_ram_get_mr(rb) : NULL;
}

int memory_region_set_ram_discard_manager(MemoryRegion *mr, RamDiscardManager *rdm)
{
    if (!memory_region_is_ram(mr)) {
        return -EINVAL;
    }
    if (mr->rdm && rdm && mr->rdm != rdm) {
        return -EBUSY;
    }
    mr->rdm = rdm;
    return 0;
}

RamDiscardManager *memory_region_get_ram_discard_manager(MemoryRegion *mr)
{
    if (!memory_region_is_ram(mr)) {
        return NULL;
    }
    return mr->rdm;
}

bool memory_region_has_ram_discard_manager(MemoryRegion *mr)
{
    return memory_region_get_ram_discard_manager(mr) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Dirty helpers */

/* Whether [addr, addr + size) is inside RAM region @mr; the dirty API aborts otherwise. */
static bool memory_region_ram_range_ok(MemoryRegion *mr, hwaddr addr, hwaddr size)
{
    return mr->ram_block && size &&
           int128_le(int128_add(int128_make64(addr), int128_make64(size)), mr->size);
}

void memory_region_set_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size)
{
    if (!memory_region_ram_range_ok(mr, addr, size)) {
        return;
    }
    cpu_physical_memory_set_dirty_range(memory_region_get_ram_addr(mr) + addr, size,
                                        memory_region_get_dirty_log_mask(mr));
}

bool memory_region_get_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size, unsigned client)
{
    if (!memory_region_ram_range_ok(mr, addr, size) || client >= DIRTY_MEMORY_NUM) {
        return false;
    }
    return cpu_physical_memory_get_dirty(memory_region_get_ram_addr(mr) + addr, size, client);
}

bool memory_region_test_and_clear_dirty(MemoryRegion *mr, hwaddr addr, hwaddr size,
                                        unsigned client)
{
    if (!memory_region_ram_range_ok(mr, addr, size) || client >= DIRTY_MEMORY_NUM) {
        return false;
    }
    return cpu_physical_memory_test_and_clear_dirty(memory_region_get_ram_addr(mr) + addr,
                                                    size, client);
}
