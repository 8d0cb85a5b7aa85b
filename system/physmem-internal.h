/*
 * Private interfaces between the physmem files:
 *   physmem.c        the RAM block list, allocation, lookup, notifiers;
 *   physmem-mmap.c   getting host memory (anonymous, files, memfd);
 *   physmem-dirty.c  the dirty memory bitmaps.
 */
#ifndef SYSTEM_PHYSMEM_INTERNAL_H
#define SYSTEM_PHYSMEM_INTERNAL_H

#include "exec/ramblock.h"
#include "qemu/bitops.h"

/*
 * Largest block accepted: 16 TiB, whose dirty bitmaps take 512 MiB per
 * client.  It keeps size arithmetic far from overflow.
 */
#define RAM_BLOCK_MAX_SIZE  (16 * TiB)

/*
 * Blocks start at multiples of this in ram_addr_t space, so a block's first
 * page starts a dirty bitmap word and the word-at-a-time paths apply.
 */
#define RAM_BLOCK_ADDR_ALIGN ((ram_addr_t)BITS_PER_LONG * TARGET_PAGE_SIZE)

/* physmem-mmap.c */

/*
 * Map @size bytes (of @fd at @fd_offset, or anonymous memory if @fd < 0) at
 * a host address aligned to @align (a power of two >= the host page size),
 * with the protection and sharing @ram_flags ask for.  Returns the address,
 * or MAP_FAILED with errno set.
 */
void *ram_mmap(int fd, size_t size, size_t align, uint32_t ram_flags,
               off_t fd_offset);
/* The page size of the memory behind @fd: huge page size on hugetlbfs. */
size_t ram_fd_page_size(int fd);
/*
 * Open @path for a RAM block (see qemu_ram_alloc_from_file): a directory
 * gets an unlinked temporary file named after @name; a missing file is
 * created (*@created set so that a failure can remove it).  Returns the fd
 * or -1 with @errp set.
 */
int ram_file_open(const char *path, const char *name, bool readonly,
                  bool *created, Error **errp);
/*
 * Allocate every page of [host, host + size) now (and the file's blocks,
 * with @fd >= 0), so that running out of memory fails here.
 */
bool ram_prealloc(void *host, size_t size, int fd, off_t fd_offset,
                  bool readonly, const char *name, Error **errp);

/* physmem-dirty.c; called with the RAM list lock held */

/*
 * Grow the dirty bitmaps of every client to cover [0, @ram_size) of
 * ram_addr_t space.  New bits are clean.  False if memory runs out (nothing
 * changes then).
 */
bool dirty_memory_extend(ram_addr_t ram_size);

/* physmem.c */

/* A name for @rb in messages: its idstr, its region's, or "(unnamed)". */
const char *ram_block_name(RAMBlock *rb);

#endif /* SYSTEM_PHYSMEM_INTERNAL_H */
