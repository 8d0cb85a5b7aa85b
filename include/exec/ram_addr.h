/*
 * Dirty memory bitmaps over the global ram_addr_t space.
 *
 * Each dirty client has one bit per target page of ram_addr_t space; a set
 * bit means "written since the client last cleared it".  Writers are guest
 * accesses emulated by the memory core, devices (VFIO reports what its
 * devices dirtied with cpu_physical_memory_set_dirty_lebitmap) and new or
 * resized blocks (entirely dirty).  Readers are the display (VGA), the
 * translator (CODE; Aperture has none, but the client keeps QEMU's
 * numbering) and migration (MIGRATION).
 *
 * Thread safety: every function here may run in any thread, concurrently
 * with each other and with blocks being added.  Functions that set bits
 * serialize among themselves on an internal lock (held one 8 GiB chunk at
 * a time) and OR words in with plain vectorized loads and stores; those
 * that clear bits take no lock and clear each word with one atomic
 * exchange, so a page dirtied concurrently is reported now or by the next
 * clear, never lost (system/physmem-dirty.c has the argument).  The
 * bitmaps only grow (the table of bitmap chunks is replaced and published
 * atomically; old tables are kept until exit, they are a few bytes per
 * GiB).  A range must lie in
 * ram_addr_t space that some block has occupied (below last_ram_offset()
 * at the time of the call); anything else is a programming error and
 * aborts.
 */
#ifndef EXEC_RAM_ADDR_H
#define EXEC_RAM_ADDR_H

#include "exec/ramblock.h"

#define DIRTY_MEMORY_VGA        0
#define DIRTY_MEMORY_CODE       1
#define DIRTY_MEMORY_MIGRATION  2
#define DIRTY_MEMORY_NUM        3

/* Masks of clients (bit N = client N) for the *_range functions. */
#define DIRTY_CLIENTS_ALL       ((1 << DIRTY_MEMORY_NUM) - 1)
#define DIRTY_CLIENTS_NOCODE    (DIRTY_CLIENTS_ALL & ~(1 << DIRTY_MEMORY_CODE))

/*
 * Pages of the dirty bitmap per chunk: a chunk covers 8 GiB of ram_addr_t
 * space with a 256 KiB bitmap.  Chunks let the bitmap grow without moving
 * what concurrent users are looking at.
 */
#define DIRTY_MEMORY_BLOCK_SIZE ((ram_addr_t)2 * 1024 * 1024)

/*
 * In these functions a byte range covers every page it touches: the range
 * [start, start + length) is widened to target page boundaries.  A zero
 * @length covers nothing.
 */

/* Mark the pages of the range dirty for every client in @mask. */
void cpu_physical_memory_set_dirty_range(ram_addr_t start, ram_addr_t length,
                                         uint8_t mask);
void cpu_physical_memory_set_dirty_flag(ram_addr_t addr, unsigned client);

/* Is any page of the range dirty for @client? */
bool cpu_physical_memory_get_dirty(ram_addr_t start, ram_addr_t length,
                                   unsigned client);
/* Is every page of the range dirty for @client? */
bool cpu_physical_memory_all_dirty(ram_addr_t start, ram_addr_t length,
                                   unsigned client);
bool cpu_physical_memory_get_dirty_flag(ram_addr_t addr, unsigned client);
/* Is the page at @addr clean for at least one client? */
bool cpu_physical_memory_is_clean(ram_addr_t addr);
/* The clients of @mask for which the range has at least one clean page. */
uint8_t cpu_physical_memory_range_includes_clean(ram_addr_t start,
                                                 ram_addr_t length,
                                                 uint8_t mask);

/*
 * Clear the range for @client; return whether any page of it was dirty.
 * Each word is cleared atomically, so a page dirtied concurrently is either
 * reported now or stays dirty for the next call.
 */
bool cpu_physical_memory_test_and_clear_dirty(ram_addr_t start,
                                              ram_addr_t length,
                                              unsigned client);
/* Clear the range for every client. */
void cpu_physical_memory_clear_dirty_range(ram_addr_t start, ram_addr_t length);

/*
 * OR a dirty bitmap reported by the kernel into the dirty memory.  Bit i of
 * @bitmap (little-endian 64-bit words: bit i is bit i % 64 of the 64-bit LE
 * word i / 64, which is the host layout on x86) stands for the page at
 * @start + i * TARGET_PAGE_SIZE, for i < @pages; bits at or past @pages are
 * ignored.  @start must be page aligned.  Sets MIGRATION while the global
 * dirty log is on (the memory core's memory_global_dirty_log_start()), and
 * VGA while some memory region logs it (QEMU sets VGA always, for its
 * display; nothing else reads it).  Returns the number of bits set in
 * @bitmap (dirty pages reported, whether or not they were dirty already).
 *
 * The fast path (whole words ORed in, zero words skipped) applies when the
 * first page index is a multiple of BITS_PER_LONG, which holds for the start
 * of every block; other starts are handled bit by bit.
 */
/*
 * The clients a report of pages dirtied behind the CPU's back (device DMA
 * seen by an IOMMU or a device's log) must set: MIGRATION while global
 * dirty tracking runs, VGA while a region logs it.  set_dirty_lebitmap uses
 * it; so must any other such report (cpu_physical_memory_set_dirty_range
 * with this mask).
 */
uint8_t cpu_physical_memory_dirty_report_clients(void);

uint64_t cpu_physical_memory_set_dirty_lebitmap(unsigned long *bitmap,
                                                ram_addr_t start,
                                                ram_addr_t pages);

/*
 * The memory core calls this when a region starts (@log) or stops logging
 * for @client (memory_region_set_log, or a logging region finalized), so
 * that cpu_physical_memory_set_dirty_lebitmap knows whether anybody reads
 * the VGA bits.  Calls for a client must balance.
 */
void cpu_physical_memory_log_client(unsigned client, bool log);

/*
 * Migration's view of a block: test-and-clear the MIGRATION bits of
 * [0, used_length) of @rb and OR them into @dest_bmap (bit i = page i of the
 * block; the caller sizes it for used_length / TARGET_PAGE_SIZE bits).
 * Returns the number of pages that were dirty and not yet set in
 * @dest_bmap.  Safe against concurrent set_dirty calls: a page is never
 * lost, it is reported now or by the next sync.
 */
uint64_t ramblock_dirty_bitmap_sync(RAMBlock *rb, unsigned long *dest_bmap);

/*
 * A copy of a client's dirty bits over a range, cleared in the dirty memory
 * as they are copied (for a display that redraws what changed since the
 * last snapshot).  Free with g_free().
 */
typedef struct DirtyBitmapSnapshot DirtyBitmapSnapshot;

DirtyBitmapSnapshot *cpu_physical_memory_snapshot_and_clear_dirty(
    ram_addr_t start, ram_addr_t length, unsigned client);
/* Was any page of [start, start + length) dirty in @snap?  Must be inside. */
bool cpu_physical_memory_snapshot_get_dirty(DirtyBitmapSnapshot *snap,
                                            ram_addr_t start,
                                            ram_addr_t length);

#endif /* EXEC_RAM_ADDR_H */
