/*
 * RAM block notifiers: hear about every RAM block's host memory as it comes,
 * goes and changes size.  Users are those that must register all guest RAM
 * with someone else, e.g. a userspace driver mapping it for DMA.
 *
 * Callbacks run in the thread that allocates, frees or resizes the block,
 * with the RAM list lock held: they may use the read-only functions of
 * exec/ramblock.h but must not allocate, free or resize blocks.  Blocks
 * without host memory are not announced (every block has host memory
 * today).  Sizes are in bytes.
 */
#ifndef EXEC_RAMLIST_H
#define EXEC_RAMLIST_H

#include "exec/cpu-common.h"

typedef struct RAMBlockNotifier RAMBlockNotifier;

struct RAMBlockNotifier {
    /*
     * A block of @size used bytes, @max_size reserved, now exists at @host.
     * Also called for every existing block by ram_block_notifier_add().
     */
    void (*ram_block_added)(RAMBlockNotifier *n, void *host, size_t size,
                            size_t max_size);
    /* The block at @host is about to be freed (same sizes as "added"). */
    void (*ram_block_removed)(RAMBlockNotifier *n, void *host, size_t size,
                              size_t max_size);
    /*
     * The used size of the block at @host is about to change from
     * @old_size to @new_size (both within the max_size announced).
     */
    void (*ram_block_resized)(RAMBlockNotifier *n, void *host,
                              size_t old_size, size_t new_size);
    /* Registered: linked in the RAM list's notifier list (physmem's). */
    bool registered;
};

/*
 * Start notifying @n, which must stay valid until removed.  Any callback may
 * be NULL.  Every block that exists already is first announced to @n as
 * added, under the same lock, so @n sees each block exactly once.
 */
void ram_block_notifier_add(RAMBlockNotifier *n);
/* Stop notifying @n; existing blocks are not announced as removed. */
void ram_block_notifier_remove(RAMBlockNotifier *n);

#endif /* EXEC_RAMLIST_H */
