/*
 * RAM blocks: allocation, the global ram_addr_t space, lookups, resizing,
 * notifiers and discarding memory.
 *
 * The blocks live in one array sorted by ram_addr_t offset, protected by
 * the RAM list lock (see exec/ramblock.h for what it covers).  The lock is
 * recursive because notifier and foreach callbacks run under it and may
 * look blocks up; those callbacks must not change the list, which
 * ram_list.walking enforces.  The dirty bitmaps (physmem-dirty.c) are
 * lock free for their users; only their growth happens under this lock.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "exec/ram_addr.h"
#include "exec/ramlist.h"
#include "physmem-internal.h"
#include "trace/trace-system.h"

#include <sys/mman.h>
#include <sys/stat.h>

/*
 * End of the usable ram_addr_t space.  Blocks are packed from 0, so this
 * only bounds a pathological sequence of allocations.
 */
#define RAM_ADDR_SPACE_END  ((ram_addr_t)1 << 52)

/*
 * Anonymous blocks of at least this size are aligned to it so that the
 * host can back them with transparent huge pages.
 */
#define RAM_THP_ALIGN       (2 * MiB)

typedef struct RAMList {
    /* Protects every field below and RAMBlock.used_length/idstr. */
    GRecMutex mutex;
    /* RAMBlock *, sorted by offset; NULL until the first block is added. */
    GPtrArray *blocks;
    /* Block of the last successful host-address lookup, or NULL. */
    RAMBlock *mru_block;
    /* RAMBlockNotifier *, in registration order; NULL until the first. */
    GPtrArray *notifiers;
    /*
     * Depth of callbacks (notifiers, foreach) running under the lock; the
     * list must not change meanwhile.
     */
    unsigned int walking;
} RAMList;

/* A statically allocated GRecMutex needs no initialisation. */
static RAMList ram_list;

static void ram_list_lock(void)
{
    g_rec_mutex_lock(&ram_list.mutex);
}

static void ram_list_unlock(void)
{
    g_rec_mutex_unlock(&ram_list.mutex);
}

/* Called with the lock held by functions that change the list. */
static void ram_list_assert_mutable(const char *what)
{
    if (ram_list.walking) {
        error_report("%s from a RAM block notifier or foreach callback",
                     what);
        abort();
    }
}

static guint ram_list_len(void)
{
    return ram_list.blocks ? ram_list.blocks->len : 0;
}

static RAMBlock *ram_list_get(guint i)
{
    return g_ptr_array_index(ram_list.blocks, i);
}

/*
 * Dirty bitmaps are indexed with target pages; a host with bigger pages
 * would need the kernel's bitmaps rescaled, which nothing implements.
 */
static void ram_check_page_size(void)
{
    if (qemu_real_host_page_size() != TARGET_PAGE_SIZE) {
        error_report("host page size %zu is not supported (only %d)",
                     (size_t)qemu_real_host_page_size(), TARGET_PAGE_SIZE);
        abort();
    }
}

/* @mr's name for messages. */
static const char *region_name(MemoryRegion *mr)
{
    const char *name = mr ? memory_region_name(mr) : NULL;

    return name && *name ? name : "(unnamed)";
}

const char *ram_block_name(RAMBlock *rb)
{
    if (rb->idstr[0]) {
        return rb->idstr;
    }
    return region_name(rb->mr);
}

/*
 * Best fit: the smallest gap between blocks (starting at an aligned
 * address) that holds @size, so that large gaps stay available for large
 * blocks.  RAM_ADDR_INVALID if none.
 */
static ram_addr_t find_ram_offset(ram_addr_t size)
{
    ram_addr_t best = RAM_ADDR_INVALID;
    ram_addr_t best_gap = RAM_ADDR_MAX;
    ram_addr_t candidate = 0;
    guint n = ram_list_len();
    guint i;

    for (i = 0; i <= n; i++) {
        ram_addr_t next = i < n ? ram_list_get(i)->offset : RAM_ADDR_SPACE_END;

        if (next > candidate && next - candidate >= size &&
            next - candidate < best_gap) {
            best = candidate;
            best_gap = next - candidate;
        }
        if (i < n) {
            RAMBlock *rb = ram_list_get(i);

            candidate = ROUND_UP(rb->offset + rb->max_length,
                                 RAM_BLOCK_ADDR_ALIGN);
        }
    }
    return best;
}

static ram_addr_t last_ram_offset_locked(void)
{
    ram_addr_t last = 0;
    guint i;

    for (i = 0; i < ram_list_len(); i++) {
        RAMBlock *rb = ram_list_get(i);

        last = MAX(last, rb->offset + rb->max_length);
    }
    return last;
}

ram_addr_t last_ram_offset(void)
{
    ram_addr_t last;

    ram_list_lock();
    last = last_ram_offset_locked();
    ram_list_unlock();
    return last;
}

static void ram_notify_added(RAMBlockNotifier *n, RAMBlock *rb)
{
    if (n->ram_block_added && rb->host) {
        n->ram_block_added(n, rb->host, rb->used_length, rb->max_length);
    }
}

/* Give @rb a place in ram_addr_t space and publish it. */
static bool ram_block_add(RAMBlock *rb, Error **errp)
{
    ram_addr_t offset;
    guint i;

    ram_check_page_size();
    ram_list_lock();
    ram_list_assert_mutable("RAM block allocation");

    offset = find_ram_offset(rb->max_length);
    if (offset == RAM_ADDR_INVALID) {
        error_setg(errp, "no room in RAM address space for 0x" RAM_ADDR_FMT
                   " bytes of RAM '%s'", rb->max_length, ram_block_name(rb));
        goto fail;
    }
    if (!dirty_memory_extend(MAX(last_ram_offset_locked(),
                                 offset + rb->max_length))) {
        error_setg(errp, "cannot allocate dirty bitmaps for RAM '%s' at 0x"
                   RAM_ADDR_FMT, ram_block_name(rb), offset);
        goto fail;
    }
    rb->offset = offset;

    if (!ram_list.blocks) {
        ram_list.blocks = g_ptr_array_new();
    }
    for (i = 0; i < ram_list_len() && ram_list_get(i)->offset < offset; i++) {
        /* find the insertion point */
    }
    g_ptr_array_insert(ram_list.blocks, i, rb);

    /* Nobody has seen this memory yet: every client must look at it. */
    cpu_physical_memory_set_dirty_range(rb->offset, rb->used_length,
                                        DIRTY_CLIENTS_ALL);
    trace_ram_block_add(ram_block_name(rb), rb->offset, rb->used_length,
                        rb->max_length, rb->flags, rb->host);

    ram_list.walking++;
    for (i = 0; ram_list.notifiers && i < ram_list.notifiers->len; i++) {
        ram_notify_added(g_ptr_array_index(ram_list.notifiers, i), rb);
    }
    ram_list.walking--;
    ram_list_unlock();
    return true;

fail:
    ram_list_unlock();
    return false;
}

static RAMBlock *ram_block_new(MemoryRegion *mr, uint32_t flags)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);

    rb->mr = mr;
    rb->flags = flags;
    rb->fd = -1;
    rb->page_size = qemu_real_host_page_size();
    return rb;
}

static bool ram_check_flags(const char *name, uint32_t flags, uint32_t allowed,
                            Error **errp)
{
    if (flags & ~allowed) {
        error_setg(errp, "RAM '%s': unsupported RAM flags 0x%" PRIx32,
                   name, flags & ~allowed);
        return false;
    }
    return true;
}

static bool ram_check_size(const char *name, ram_addr_t size, Error **errp)
{
    if (size == 0) {
        error_setg(errp, "RAM '%s': size must not be zero", name);
        return false;
    }
    if (size > RAM_BLOCK_MAX_SIZE) {
        error_setg(errp, "RAM '%s': size 0x" RAM_ADDR_FMT " is larger than "
                   "the maximum 0x%llx", name, size, RAM_BLOCK_MAX_SIZE);
        return false;
    }
    return true;
}

/*
 * Memory we mapped ourselves: keep it out of forked children (a child
 * touching pinned DMA memory would break the device's copy-on-write view).
 */
static void ram_madvise(RAMBlock *rb)
{
    madvise(rb->host, rb->max_length, MADV_DONTFORK);
    if (rb->fd < 0 && rb->max_length >= RAM_THP_ALIGN) {
        madvise(rb->host, rb->max_length, MADV_HUGEPAGE);
    }
}

static RAMBlock *ram_alloc_anon(ram_addr_t size, ram_addr_t max_size,
                                void (*resized)(const char *, uint64_t, void *),
                                uint32_t ram_flags, MemoryRegion *mr,
                                Error **errp)
{
    ERRP_GUARD();
    const char *name = region_name(mr);
    size_t align;
    RAMBlock *rb;
    void *host;

    if (!ram_check_size(name, size, errp) ||
        !ram_check_size(name, max_size, errp)) {
        return NULL;
    }
    size = HOST_PAGE_ALIGN(size);
    max_size = HOST_PAGE_ALIGN(max_size);
    if (size > max_size) {
        error_setg(errp, "RAM '%s': size 0x" RAM_ADDR_FMT " is larger than "
                   "its maximum size 0x" RAM_ADDR_FMT, name, size, max_size);
        return NULL;
    }

    align = max_size >= RAM_THP_ALIGN ? RAM_THP_ALIGN
                                      : qemu_real_host_page_size();
    host = ram_mmap(-1, max_size, align, ram_flags, 0);
    if (host == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot allocate 0x" RAM_ADDR_FMT
                         " bytes of RAM for '%s'", max_size, name);
        if (!(ram_flags & RAM_NORESERVE)) {
            error_append_hint(errp, "RAM_NORESERVE avoids reserving memory "
                              "for RAM that is never touched\n");
        }
        return NULL;
    }

    rb = ram_block_new(mr, ram_flags);
    rb->host = host;
    rb->used_length = size;
    rb->max_length = max_size;
    rb->resized = resized;
    ram_madvise(rb);
    if (!ram_block_add(rb, errp)) {
        munmap(host, max_size);
        g_free(rb);
        return NULL;
    }
    return rb;
}

RAMBlock *qemu_ram_alloc(ram_addr_t size, uint32_t ram_flags, MemoryRegion *mr,
                         Error **errp)
{
    if (!ram_check_flags(region_name(mr), ram_flags,
                         RAM_SHARED | RAM_NORESERVE, errp)) {
        return NULL;
    }
    return ram_alloc_anon(size, size, NULL, ram_flags, mr, errp);
}

RAMBlock *qemu_ram_alloc_resizeable(ram_addr_t size, ram_addr_t max_size,
                                    void (*resized)(const char *, uint64_t,
                                                    void *),
                                    MemoryRegion *mr, Error **errp)
{
    return ram_alloc_anon(size, max_size, resized, RAM_RESIZEABLE, mr, errp);
}

RAMBlock *qemu_ram_alloc_from_ptr(ram_addr_t size, void *host,
                                  MemoryRegion *mr, Error **errp)
{
    const char *name = region_name(mr);
    RAMBlock *rb;

    if (!host) {
        error_setg(errp, "RAM '%s': no host memory given", name);
        return NULL;
    }
    if (!ram_check_size(name, size, errp)) {
        return NULL;
    }
    /* Rounding up would claim memory the caller does not own. */
    if (!QEMU_IS_ALIGNED((uintptr_t)host, qemu_real_host_page_size()) ||
        !QEMU_IS_ALIGNED(size, qemu_real_host_page_size())) {
        error_setg(errp, "RAM '%s': host memory %p + 0x" RAM_ADDR_FMT
                   " is not page aligned", name, host, size);
        return NULL;
    }

    rb = ram_block_new(mr, RAM_PREALLOC);
    rb->host = host;
    rb->used_length = size;
    rb->max_length = size;
    if (!ram_block_add(rb, errp)) {
        g_free(rb);
        return NULL;
    }
    return rb;
}

/*
 * Map @fd for a new block that is not yet registered; the caller adds it.
 * The fd stays the caller's until ram_block_add succeeds.
 */
static RAMBlock *ram_map_fd(ram_addr_t size, MemoryRegion *mr,
                            uint32_t ram_flags, int fd, off_t offset,
                            Error **errp)
{
    const char *name = region_name(mr);
    struct stat st;
    size_t page_size, align;
    RAMBlock *rb;
    void *host;

    if (!ram_check_flags(name, ram_flags,
                         RAM_SHARED | RAM_NORESERVE | RAM_READONLY, errp) ||
        !ram_check_size(name, size, errp)) {
        return NULL;
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        error_setg_errno(errp, fd < 0 ? EBADF : errno,
                         "RAM '%s': cannot use fd %d", name, fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
        error_setg(errp, "RAM '%s': fd %d is neither a file nor a device",
                   name, fd);
        return NULL;
    }
    page_size = ram_fd_page_size(fd);
    if (offset < 0 || !QEMU_IS_ALIGNED((uint64_t)offset, page_size)) {
        error_setg(errp, "RAM '%s': offset 0x%" PRIx64 " in fd %d is not a "
                   "multiple of its page size 0x%zx", name, (int64_t)offset,
                   fd, page_size);
        return NULL;
    }
    size = ROUND_UP(size, (ram_addr_t)page_size);

    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < offset + size) {
        /*
         * Data past @offset means the file was meant for some other size:
         * growing it would silently change what the guest sees.
         */
        if (st.st_size > offset) {
            error_setg(errp, "RAM '%s': the backing file has 0x%" PRIx64
                       " bytes after offset 0x%" PRIx64 ", but the block needs"
                       " 0x" RAM_ADDR_FMT, name, (uint64_t)(st.st_size - offset),
                       (uint64_t)offset, size);
            return NULL;
        }
        if (ram_flags & RAM_READONLY) {
            error_setg(errp, "RAM '%s': the read-only backing file has 0x%"
                       PRIx64 " bytes, 0x%" PRIx64 " needed", name,
                       (uint64_t)st.st_size, (uint64_t)(offset + size));
            return NULL;
        }
        if (ftruncate(fd, offset + size) != 0) {
            error_setg_errno(errp, errno, "RAM '%s': cannot grow the backing "
                             "file to 0x%" PRIx64 " bytes", name,
                             (uint64_t)(offset + size));
            return NULL;
        }
    }

    align = MAX(page_size, size >= RAM_THP_ALIGN ? RAM_THP_ALIGN
                                                  : qemu_real_host_page_size());
    host = ram_mmap(fd, size, align, ram_flags, offset);
    if (host == MAP_FAILED) {
        error_setg_errno(errp, errno, "RAM '%s': cannot map 0x" RAM_ADDR_FMT
                         " bytes of fd %d", name, size, fd);
        return NULL;
    }

    rb = ram_block_new(mr, ram_flags);
    rb->host = host;
    rb->used_length = size;
    rb->max_length = size;
    rb->fd = fd;
    rb->fd_offset = offset;
    rb->page_size = page_size;
    ram_madvise(rb);
    trace_ram_map_fd(name, fd, (uint64_t)offset, size, page_size);
    return rb;
}

/* Undo ram_map_fd() of a block never added; the fd stays open. */
static void ram_unmap_unregistered(RAMBlock *rb)
{
    munmap(rb->host, rb->max_length);
    g_free(rb);
}

RAMBlock *qemu_ram_alloc_from_fd(ram_addr_t size, MemoryRegion *mr,
                                 uint32_t ram_flags, int fd, off_t offset,
                                 Error **errp)
{
    RAMBlock *rb = ram_map_fd(size, mr, ram_flags, fd, offset, errp);

    if (rb && !ram_block_add(rb, errp)) {
        ram_unmap_unregistered(rb);
        return NULL;
    }
    return rb;
}

RAMBlock *qemu_ram_alloc_from_file(ram_addr_t size, MemoryRegion *mr,
                                   uint32_t ram_flags, const char *mem_path,
                                   bool prealloc, Error **errp)
{
    const char *name = region_name(mr);
    bool created;
    RAMBlock *rb;
    int fd;

    if (!mem_path || !*mem_path) {
        error_setg(errp, "RAM '%s': no backing file path given", name);
        return NULL;
    }
    fd = ram_file_open(mem_path, name, ram_flags & RAM_READONLY, &created,
                       errp);
    if (fd < 0) {
        return NULL;
    }
    rb = ram_map_fd(size, mr, ram_flags, fd, 0, errp);
    if (!rb) {
        goto fail;
    }
    /* Before the block is announced: notifiers never see a failed block. */
    if (prealloc &&
        !ram_prealloc(rb->host, rb->max_length, fd, 0,
                      ram_flags & RAM_READONLY, name, errp)) {
        ram_unmap_unregistered(rb);
        goto fail;
    }
    if (!ram_block_add(rb, errp)) {
        ram_unmap_unregistered(rb);
        goto fail;
    }
    return rb;

fail:
    if (created) {
        unlink(mem_path);
    }
    close(fd);
    return NULL;
}

int qemu_ram_resize(RAMBlock *rb, ram_addr_t newsize, Error **errp)
{
    const ram_addr_t unaligned_size = newsize;
    ram_addr_t oldsize;
    guint i;

    assert(rb);
    ram_list_lock();
    ram_list_assert_mutable("RAM block resize");
    oldsize = rb->used_length;
    if (newsize == 0 || newsize > rb->max_length) {
        error_setg(errp, "cannot resize RAM '%s' to 0x" RAM_ADDR_FMT
                   ": the size must be in [1, 0x" RAM_ADDR_FMT "]",
                   ram_block_name(rb), newsize, rb->max_length);
        goto fail;
    }
    newsize = HOST_PAGE_ALIGN(newsize);
    if (newsize == oldsize) {
        ram_list_unlock();
        return 0;
    }
    if (!(rb->flags & RAM_RESIZEABLE)) {
        error_setg(errp, "cannot resize RAM '%s' from 0x" RAM_ADDR_FMT
                   " to 0x" RAM_ADDR_FMT ": it is not resizeable",
                   ram_block_name(rb), oldsize, newsize);
        goto fail;
    }

    /* Notifiers hear of it while the old size is still in force. */
    ram_list.walking++;
    for (i = 0; ram_list.notifiers && i < ram_list.notifiers->len; i++) {
        RAMBlockNotifier *n = g_ptr_array_index(ram_list.notifiers, i);

        if (n->ram_block_resized) {
            n->ram_block_resized(n, rb->host, oldsize, newsize);
        }
    }
    ram_list.walking--;

    cpu_physical_memory_clear_dirty_range(rb->offset, oldsize);
    qatomic_set(&rb->used_length, newsize);
    cpu_physical_memory_set_dirty_range(rb->offset, newsize, DIRTY_CLIENTS_ALL);
    trace_qemu_ram_resize(ram_block_name(rb), oldsize, newsize);
    ram_list_unlock();

    /*
     * Outside the lock: the callback belongs to the block's owner, who may
     * well look at other blocks or resize its region.
     */
    if (rb->resized) {
        rb->resized(rb->idstr, unaligned_size, rb->host);
    }
    return 0;

fail:
    ram_list_unlock();
    return -EINVAL;
}

void qemu_ram_free(RAMBlock *rb)
{
    guint i;

    if (!rb) {
        return;
    }
    ram_list_lock();
    ram_list_assert_mutable("RAM block free");
    ram_list.walking++;
    for (i = 0; ram_list.notifiers && i < ram_list.notifiers->len; i++) {
        RAMBlockNotifier *n = g_ptr_array_index(ram_list.notifiers, i);

        if (n->ram_block_removed && rb->host) {
            n->ram_block_removed(n, rb->host, rb->used_length, rb->max_length);
        }
    }
    ram_list.walking--;

    g_ptr_array_remove(ram_list.blocks, rb);
    if (ram_list.mru_block == rb) {
        ram_list.mru_block = NULL;
    }
    /* A later block at this offset starts from a clean slate. */
    cpu_physical_memory_clear_dirty_range(rb->offset, rb->max_length);
    trace_qemu_ram_free(ram_block_name(rb), rb->offset, rb->max_length);
    ram_list_unlock();

    if (!(rb->flags & RAM_PREALLOC)) {
        munmap(rb->host, rb->max_length);
    }
    if (rb->fd >= 0) {
        close(rb->fd);
    }
    g_free(rb);
}

void *qemu_ram_get_host_addr(RAMBlock *rb)
{
    return rb->host;
}

ram_addr_t qemu_ram_get_offset(RAMBlock *rb)
{
    return rb->offset;
}

ram_addr_t qemu_ram_get_used_length(RAMBlock *rb)
{
    return qatomic_read(&rb->used_length);
}

ram_addr_t qemu_ram_get_max_length(RAMBlock *rb)
{
    return rb->max_length;
}

size_t qemu_ram_pagesize(RAMBlock *rb)
{
    return rb->page_size;
}

int qemu_ram_get_fd(RAMBlock *rb)
{
    return rb->fd;
}

off_t qemu_ram_get_fd_offset(RAMBlock *rb)
{
    return rb->fd_offset;
}

MemoryRegion *qemu_ram_get_mr(RAMBlock *rb)
{
    return rb->mr;
}

bool qemu_ram_is_shared(RAMBlock *rb)
{
    return rb->flags & RAM_SHARED;
}

bool qemu_ram_is_resizeable(RAMBlock *rb)
{
    return rb->flags & RAM_RESIZEABLE;
}

bool qemu_ram_is_noreserve(RAMBlock *rb)
{
    return rb->flags & RAM_NORESERVE;
}

bool qemu_ram_is_readonly(RAMBlock *rb)
{
    return rb->flags & RAM_READONLY;
}

void qemu_ram_set_idstr(RAMBlock *rb, const char *name)
{
    guint i;

    assert(name && *name);
    if (rb->idstr[0]) {
        error_report("RAM block '%s' cannot be renamed to '%s'", rb->idstr,
                     name);
        abort();
    }
    if (strlen(name) >= sizeof(rb->idstr)) {
        error_report("RAM block name '%s' is too long", name);
        abort();
    }

    ram_list_lock();
    for (i = 0; i < ram_list_len(); i++) {
        RAMBlock *other = ram_list_get(i);

        if (other != rb && !strcmp(other->idstr, name)) {
            /* Migration matches blocks by name: a duplicate corrupts it. */
            error_report("RAM block '%s' is already registered", name);
            abort();
        }
    }
    g_strlcpy(rb->idstr, name, sizeof(rb->idstr));
    ram_list_unlock();
}

void qemu_ram_unset_idstr(RAMBlock *rb)
{
    ram_list_lock();
    memset(rb->idstr, 0, sizeof(rb->idstr));
    ram_list_unlock();
}

const char *qemu_ram_get_idstr(RAMBlock *rb)
{
    return rb->idstr;
}

static bool ram_block_holds_host(RAMBlock *rb, void *ptr)
{
    return (uintptr_t)ptr >= (uintptr_t)rb->host &&
           (uintptr_t)ptr - (uintptr_t)rb->host < rb->max_length;
}

RAMBlock *qemu_ram_block_from_host(void *ptr, bool round_offset,
                                   ram_addr_t *offset)
{
    RAMBlock *rb = NULL;
    guint i;

    ram_list_lock();
    if (ram_list.mru_block && ram_block_holds_host(ram_list.mru_block, ptr)) {
        rb = ram_list.mru_block;
    } else {
        for (i = 0; i < ram_list_len(); i++) {
            if (ram_block_holds_host(ram_list_get(i), ptr)) {
                rb = ram_list_get(i);
                ram_list.mru_block = rb;
                break;
            }
        }
    }
    ram_list_unlock();

    if (rb && offset) {
        *offset = (uintptr_t)ptr - (uintptr_t)rb->host;
        if (round_offset) {
            *offset &= TARGET_PAGE_MASK;
        }
    }
    return rb;
}

ram_addr_t qemu_ram_addr_from_host(void *ptr)
{
    ram_addr_t offset;
    RAMBlock *rb = qemu_ram_block_from_host(ptr, false, &offset);

    return rb ? rb->offset + offset : RAM_ADDR_INVALID;
}

RAMBlock *qemu_ram_block_from_addr(ram_addr_t addr)
{
    RAMBlock *rb = NULL;
    guint lo = 0, hi;

    ram_list_lock();
    /* Binary search for the last block starting at or below @addr. */
    hi = ram_list_len();
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (ram_list_get(mid)->offset <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0) {
        RAMBlock *cand = ram_list_get(lo - 1);

        if (addr - cand->offset < cand->max_length) {
            rb = cand;
        }
    }
    ram_list_unlock();
    return rb;
}

RAMBlock *qemu_ram_block_by_name(const char *name)
{
    RAMBlock *rb = NULL;
    guint i;

    ram_list_lock();
    for (i = 0; i < ram_list_len(); i++) {
        if (!strcmp(ram_list_get(i)->idstr, name)) {
            rb = ram_list_get(i);
            break;
        }
    }
    ram_list_unlock();
    return rb;
}

void *qemu_map_ram_ptr(RAMBlock *rb, ram_addr_t addr)
{
    if (!rb) {
        rb = qemu_ram_block_from_addr(addr);
        if (!rb) {
            error_report("no RAM block at 0x" RAM_ADDR_FMT, addr);
            abort();
        }
        addr -= rb->offset;
    }
    assert(addr < rb->max_length);
    return rb->host + addr;
}

int qemu_ram_foreach_block(int (*func)(RAMBlock *rb, void *opaque),
                           void *opaque)
{
    int ret = 0;
    guint i;

    ram_list_lock();
    ram_list.walking++;
    for (i = 0; i < ram_list_len() && !ret; i++) {
        ret = func(ram_list_get(i), opaque);
    }
    ram_list.walking--;
    ram_list_unlock();
    return ret;
}

void ram_block_notifier_add(RAMBlockNotifier *n)
{
    guint i;

    ram_list_lock();
    ram_list_assert_mutable("RAM block notifier registration");
    assert(!n->registered);
    /* Under the same lock as the replay: no block is missed or doubled. */
    ram_list.walking++;
    for (i = 0; i < ram_list_len(); i++) {
        ram_notify_added(n, ram_list_get(i));
    }
    ram_list.walking--;
    if (!ram_list.notifiers) {
        ram_list.notifiers = g_ptr_array_new();
    }
    g_ptr_array_add(ram_list.notifiers, n);
    n->registered = true;
    ram_list_unlock();
}

void ram_block_notifier_remove(RAMBlockNotifier *n)
{
    ram_list_lock();
    ram_list_assert_mutable("RAM block notifier removal");
    assert(n->registered);
    g_ptr_array_remove(ram_list.notifiers, n);
    n->registered = false;
    ram_list_unlock();
}

int ram_block_discard_range(RAMBlock *rb, uint64_t start, size_t length)
{
    const char *name = ram_block_name(rb);
    ram_addr_t used = qemu_ram_get_used_length(rb);
    uint8_t *host;
    int ret;

    if (!QEMU_IS_ALIGNED(start, rb->page_size) ||
        !QEMU_IS_ALIGNED(length, rb->page_size)) {
        error_report("cannot discard 0x%zx bytes at 0x%" PRIx64 " of RAM "
                     "'%s': not aligned to its page size 0x%zx", length, start,
                     name, rb->page_size);
        return -EINVAL;
    }
    if (start > used || length > used - start) {
        error_report("cannot discard 0x%zx bytes at 0x%" PRIx64 " of RAM "
                     "'%s': beyond its size 0x" RAM_ADDR_FMT, length, start,
                     name, used);
        return -EINVAL;
    }
    if (rb->flags & RAM_READONLY) {
        error_report("cannot discard memory of read-only RAM '%s'", name);
        return -EROFS;
    }
    if (!length) {
        return 0;
    }

    host = rb->host + start;
    if (rb->fd >= 0 && (rb->flags & RAM_SHARED)) {
        /*
         * The memory is the file's: punch it out of the file, which also
         * drops it from every mapping (ours included).
         */
        ret = fallocate(rb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        rb->fd_offset + start, length);
    } else if (rb->flags & RAM_SHARED) {
        /* Shared anonymous memory is shmem: DONTNEED would only unmap it. */
        ret = madvise(host, length, MADV_REMOVE);
    } else {
        /*
         * Private memory: drop our copy.  Anonymous pages read back as
         * zeroes; a private file mapping reads the file again, which is
         * never modified on behalf of one private user.
         */
        ret = madvise(host, length, MADV_DONTNEED);
    }
    if (ret) {
        ret = -errno;
        error_report("cannot discard 0x%zx bytes at 0x%" PRIx64 " of RAM "
                     "'%s': %s", length, start, name, g_strerror(-ret));
        return ret;
    }
    trace_ram_block_discard_range(name, start, length, rb->fd);
    return 0;
}
