/*
 * RAM blocks: the host memory behind guest RAM.
 *
 * A RAMBlock is one contiguous host mapping (anonymous memory, a file or a
 * memfd, or memory the caller already owns) that also occupies a range of
 * the global ram_addr_t space, [offset, offset + max_length).  The memory
 * core creates one for every RAM MemoryRegion; VFIO maps block memory for
 * DMA; migration walks the blocks and their dirty bits (exec/ram_addr.h).
 *
 * Locking: the list of blocks is protected by the RAM list lock, a
 * recursive mutex internal to physmem.  Every function below takes it as
 * needed and may be called from any thread.  A block's fields are written
 * only while it is being created, except used_length (qemu_ram_resize) and
 * idstr (qemu_ram_set_idstr), which change under the lock; other threads
 * read used_length with qemu_ram_get_used_length().  Freeing a block while
 * another thread still uses it is the caller's bug: blocks are not
 * reference counted (there is no RCU in Aperture), so whoever frees a block
 * (the main thread, in practice) must first stop its other users, e.g.
 * unmap it from VFIO and stop migration.
 */
#ifndef EXEC_RAMBLOCK_H
#define EXEC_RAMBLOCK_H

#include "exec/cpu-common.h"
#include "sysemu/ram-discard.h"

/* Flags of RAMBlock.flags and of the ram_flags arguments. */
/* The host memory belongs to the caller: never unmapped by physmem. */
#define RAM_PREALLOC    (1u << 0)
/* MAP_SHARED: writes reach the file / memfd and other mappings of it. */
#define RAM_SHARED      (1u << 1)
/* used_length may change up to max_length with qemu_ram_resize(). */
#define RAM_RESIZEABLE  (1u << 2)
/* MAP_NORESERVE: no swap/commit reservation; touching may fail later. */
#define RAM_NORESERVE   (1u << 7)
/* Mapped PROT_READ only (the file is opened read-only). */
#define RAM_READONLY    (1u << 10)

struct RAMBlock {
    /* Region this block backs, or NULL; not owned.  Set once at creation. */
    MemoryRegion *mr;
    /* Host address of the block's first byte; max_length bytes are mapped. */
    uint8_t *host;
    /* Start of the block in the global ram_addr_t space (64-page aligned). */
    ram_addr_t offset;
    /*
     * Bytes of the block in use (a multiple of the host page size).  Only
     * qemu_ram_resize() changes it, under the RAM list lock; read it with
     * qemu_ram_get_used_length() from other threads.
     */
    ram_addr_t used_length;
    /* Bytes reserved, in host memory and in ram_addr_t space; fixed. */
    ram_addr_t max_length;
    /* RAM_* flags; fixed at creation. */
    uint32_t flags;
    /* Backing file or memfd, -1 for anonymous memory; closed on free. */
    int fd;
    /* Offset in @fd of the block's first byte (0 without a fd). */
    off_t fd_offset;
    /* Backing page size: the huge page size on hugetlbfs, else host page. */
    size_t page_size;
    /* Unique name ("" until qemu_ram_set_idstr); migration matches on it. */
    char idstr[256];
    /*
     * Called after qemu_ram_resize() changed used_length, with the block's
     * idstr, the new (unaligned) size and the host address; may be NULL.
     */
    void (*resized)(const char *idstr, uint64_t new_size, void *host);
};

/*
 * Allocation.  Every allocator returns a new block registered in the RAM
 * list, with its used range marked dirty for every dirty client, and
 * announced to the RAMBlockNotifiers (exec/ramlist.h); NULL with @errp set
 * on failure.  Sizes are rounded up to the host page size (and to the huge
 * page size for hugetlbfs).  @mr (may be NULL) names the block in errors.
 */

/*
 * Anonymous memory.  @ram_flags: any of RAM_SHARED (MAP_SHARED anonymous,
 * shareable with forked helpers) and RAM_NORESERVE.
 */
RAMBlock *qemu_ram_alloc(ram_addr_t size, uint32_t ram_flags, MemoryRegion *mr,
                         Error **errp);

/*
 * Anonymous memory of @size bytes that may later grow up to @max_size with
 * qemu_ram_resize(); @resized is then called (see RAMBlock.resized).
 */
RAMBlock *qemu_ram_alloc_resizeable(ram_addr_t size, ram_addr_t max_size,
                                    void (*resized)(const char *, uint64_t,
                                                    void *),
                                    MemoryRegion *mr, Error **errp);

/*
 * Map @size bytes of @fd at @offset.  @ram_flags: any of RAM_SHARED,
 * RAM_NORESERVE, RAM_READONLY.  @offset must be a multiple of the fd's page
 * size.  A file shorter than @offset + @size is grown with ftruncate, unless
 * it already has data past @offset (then the sizes disagree: an error) or
 * RAM_READONLY is set.  On success the block owns @fd and closes it when
 * freed; on failure the caller keeps it.
 */
RAMBlock *qemu_ram_alloc_from_fd(ram_addr_t size, MemoryRegion *mr,
                                 uint32_t ram_flags, int fd, off_t offset,
                                 Error **errp);

/*
 * File-backed memory.  @mem_path naming a directory (typically a hugetlbfs
 * mount) gets a new temporary file in it, unlinked at once; naming a file,
 * that file is used (created if missing, grown as needed).  The page size
 * comes from the file system (fstatfs).  @prealloc allocates every page now
 * so that a lack of memory (or of huge pages) fails here, not at first use.
 * @ram_flags as for qemu_ram_alloc_from_fd().
 */
RAMBlock *qemu_ram_alloc_from_file(ram_addr_t size, MemoryRegion *mr,
                                   uint32_t ram_flags, const char *mem_path,
                                   bool prealloc, Error **errp);

/*
 * Register @size bytes at @host, memory the caller owns (RAM_PREALLOC): it
 * is never unmapped by physmem and must outlive the block.  @host and @size
 * must be page aligned.
 */
RAMBlock *qemu_ram_alloc_from_ptr(ram_addr_t size, void *host,
                                  MemoryRegion *mr, Error **errp);

/*
 * A close-on-exec memfd of @size bytes named @name (visible in
 * /proc/PID/fd), with sealing allowed; @hugetlb asks for the default huge
 * page size, and @size must then be a multiple of it.  Returns the fd or -1
 * with @errp set.  The memfd memory backend passes the fd to
 * qemu_ram_alloc_from_fd().
 */
int qemu_memfd_create(const char *name, size_t size, bool hugetlb,
                      Error **errp);

/*
 * Change used_length of a RAM_RESIZEABLE block to @newsize (rounded up to
 * the page size; at most max_length).  The notifiers hear of it before the
 * change; afterwards the whole new used range is dirty for every client and
 * RAMBlock.resized is called (outside the RAM list lock).  A size that
 * rounds to the current one changes nothing and calls nobody.  The region's
 * size is the caller's business (memory_region_ram_resize sets it after
 * this returns).  Returns 0 or -EINVAL with @errp set.
 */
int qemu_ram_resize(RAMBlock *rb, ram_addr_t newsize, Error **errp);

/*
 * Unregister @rb (notifiers hear "removed" first), clear its dirty bits,
 * unmap its memory unless RAM_PREALLOC, close its fd, free it.  NULL is a
 * no-op.  See the locking note at the top of this file.
 */
void qemu_ram_free(RAMBlock *rb);

/* Accessors; safe from any thread while @rb is alive. */
void *qemu_ram_get_host_addr(RAMBlock *rb);
ram_addr_t qemu_ram_get_offset(RAMBlock *rb);
ram_addr_t qemu_ram_get_used_length(RAMBlock *rb);
ram_addr_t qemu_ram_get_max_length(RAMBlock *rb);
size_t qemu_ram_pagesize(RAMBlock *rb);
/* The backing fd, or -1 for anonymous memory. */
int qemu_ram_get_fd(RAMBlock *rb);
off_t qemu_ram_get_fd_offset(RAMBlock *rb);
MemoryRegion *qemu_ram_get_mr(RAMBlock *rb);
bool qemu_ram_is_shared(RAMBlock *rb);
bool qemu_ram_is_resizeable(RAMBlock *rb);
bool qemu_ram_is_noreserve(RAMBlock *rb);
bool qemu_ram_is_readonly(RAMBlock *rb);

/*
 * Name @rb for migration.  Names are unique: naming a second block with a
 * name already in use is a programming error and aborts, as does renaming.
 */
void qemu_ram_set_idstr(RAMBlock *rb, const char *name);
/* Forget the name (before the block's owner goes away). */
void qemu_ram_unset_idstr(RAMBlock *rb);
const char *qemu_ram_get_idstr(RAMBlock *rb);

/*
 * The block whose reserved host range [host, host + max_length) holds
 * @ptr, or NULL.  *@offset receives ptr - host (rounded down to the target
 * page if @round_offset).
 */
RAMBlock *qemu_ram_block_from_host(void *ptr, bool round_offset,
                                   ram_addr_t *offset);
/* The ram_addr_t of host address @ptr, or RAM_ADDR_INVALID. */
ram_addr_t qemu_ram_addr_from_host(void *ptr);
/* The block whose [offset, offset + max_length) holds @addr, or NULL. */
RAMBlock *qemu_ram_block_from_addr(ram_addr_t addr);
/* The block named @name, or NULL. */
RAMBlock *qemu_ram_block_by_name(const char *name);

/*
 * Host pointer for @addr: with @rb, @addr is an offset inside @rb (which
 * must be < max_length); with @rb NULL, @addr is a global ram_addr_t that
 * must lie inside some block.  Out of range is a programming error.
 */
void *qemu_map_ram_ptr(RAMBlock *rb, ram_addr_t addr);

/*
 * Call @func for each block in ram_addr_t order, with the RAM list lock
 * held; stop at, and return, the first non-zero result (0 after the last
 * block).  @func may call the read-only functions above but must not
 * allocate, free or resize blocks (that aborts).
 */
int qemu_ram_foreach_block(int (*func)(RAMBlock *rb, void *opaque),
                           void *opaque);

/* End of the highest block in ram_addr_t space (offset + max_length). */
ram_addr_t last_ram_offset(void);

/*
 * Give [start, start + length) of @rb (bytes from the block's start) back to
 * the host: afterwards it reads as zeroes (anonymous memory and shared
 * files, whose pages are punched out of the file) or as the file's contents
 * (private file mappings: the file is never modified).  @start and @length
 * must be multiples of the block's page size and inside used_length.
 * Returns 0, or -errno after reporting the cause (naming the block).
 * Callers that must respect ram_block_discard_is_disabled() check it.
 */
int ram_block_discard_range(RAMBlock *rb, uint64_t start, size_t length);

#endif /* EXEC_RAMBLOCK_H */
