/*
 * Types shared by everything that deals with guest RAM: the ram_addr_t
 * space and the target page size.
 *
 * Every RAM block occupies a range of one global, flat "ram_addr_t" space
 * (see exec/ramblock.h); the dirty bitmaps (exec/ram_addr.h) are indexed by
 * ram_addr_t >> TARGET_PAGE_BITS.  Guest physical addresses (hwaddr) are a
 * different space: the memory core maps the two.
 */
#ifndef EXEC_CPU_COMMON_H
#define EXEC_CPU_COMMON_H

#include "qemu/osdep.h"

/* An offset in the global RAM space; the RAM blocks tile parts of it. */
typedef uint64_t ram_addr_t;

#define RAM_ADDR_MAX        UINT64_MAX
#define RAM_ADDR_INVALID    (~(ram_addr_t)0)
#define RAM_ADDR_FMT        "%" PRIx64

/*
 * Aperture only runs guests whose page size is the host's (4 KiB on every
 * host it supports), so dirty bitmaps from the kernel map 1:1 onto ours.
 * physmem checks the host page size against this once, at start-up.
 */
#define TARGET_PAGE_BITS    12
#define TARGET_PAGE_SIZE    (1 << TARGET_PAGE_BITS)
/* A signed 64-bit mask, so "addr & TARGET_PAGE_MASK" works on any width. */
#define TARGET_PAGE_MASK    (~(int64_t)(TARGET_PAGE_SIZE - 1))
#define TARGET_PAGE_ALIGN(addr) ROUND_UP((addr), (uint64_t)TARGET_PAGE_SIZE)

/* Host pages and target pages are the same size (see above). */
#define HOST_PAGE_ALIGN(addr)   TARGET_PAGE_ALIGN(addr)

typedef struct RAMBlock RAMBlock;
typedef struct MemoryRegion MemoryRegion;

#endif /* EXEC_CPU_COMMON_H */
