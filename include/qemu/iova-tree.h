/*
 * IOVA tree: a set of non-overlapping DMA mappings, indexed by IOVA and by
 * translated address, with allocation of free IOVA ranges.
 *
 * Users: vfio-helpers (fixed mappings allocated bottom-up, temporary ones
 * top-down, lookups by host address), and anything that must remember which
 * IOVA ranges it has mapped.
 *
 * Complexity, n = number of mappings:
 *   insert, find, find_address, find_iova, alloc_map(_top_down):  O(log n)
 *   remove:                                    O((k + 1) log n), k removed
 *   foreach:                                   O(n)
 * Both indexes are AVL trees.  The IOVA index keeps, for every mapping, the
 * size of the free gap just below it and, for every subtree, the largest
 * such gap, so finding the lowest (or highest) hole that fits visits
 * O(log n) nodes whatever the fragmentation.  The translated-address index
 * is an interval tree (translated ranges may overlap: two IOVAs can map the
 * same host page).
 *
 * Not thread-safe: callers serialize access to a tree.  Returned DMAMap
 * pointers belong to the tree; they stay valid until that mapping is removed
 * or the tree destroyed, and must not be modified.
 */
#ifndef QEMU_IOVA_TREE_H
#define QEMU_IOVA_TREE_H

#include "exec/hwaddr.h"

#define IOVA_OK           (0)
#define IOVA_ERR_INVALID  (-1)  /* invalid argument (see each function) */
#define IOVA_ERR_OVERLAP  (-2)  /* IOVA range overlaps an existing mapping */
#define IOVA_ERR_NOMEM    (-3)  /* no free IOVA range of the requested size */

typedef struct IOVATree IOVATree;

/*
 * One mapping.  Sizes are INCLUSIVE, as in QEMU: the mapping covers IOVAs
 * [iova, iova + size] and translated addresses [translated_addr,
 * translated_addr + size], i.e. size + 1 bytes; a 4 KiB page has size
 * 0xfff.  This lets a single mapping cover the whole 64-bit space.
 */
typedef struct DMAMap {
    hwaddr iova;                /* first IOVA of the mapping */
    hwaddr translated_addr;     /* what @iova maps to (host VA, GPA, ...) */
    hwaddr size;                /* last IOVA minus first: inclusive */
    int perm;                   /* IOMMUAccessFlags: IOMMU_RO|IOMMU_WO bits */
} DMAMap;

/* Called for each mapping in IOVA order; return true to stop the walk. */
typedef bool (*IOVATreeIterator)(const DMAMap *map, void *opaque);

/* A new, empty tree.  Never fails. */
IOVATree *iova_tree_new(void);

/*
 * Add a copy of @map.  Returns IOVA_OK; IOVA_ERR_INVALID when @map is NULL,
 * map->perm is IOMMU_NONE or has bits other than IOMMU_RW, or either range
 * would run past 2^64 - 1; IOVA_ERR_OVERLAP when [iova, iova + size] shares
 * an address with a mapping already in the tree (touching is fine).
 */
int iova_tree_insert(IOVATree *tree, const DMAMap *map);

/*
 * The mapping with the lowest IOVA among those sharing at least one IOVA
 * with [map->iova, map->iova + map->size], or NULL.  Only iova and size of
 * @map are used; a range running past 2^64 - 1 is taken to stop there.
 */
const DMAMap *iova_tree_find(const IOVATree *tree, const DMAMap *map);

/* The mapping containing IOVA @iova, or NULL. */
const DMAMap *iova_tree_find_address(const IOVATree *tree, hwaddr iova);

/*
 * Reverse lookup: among the mappings whose translated range shares an
 * address with [map->translated_addr, map->translated_addr + map->size],
 * the one with the lowest translated_addr (lowest IOVA on a tie), or NULL.
 * Only translated_addr and size of @map are used.  O(log n) through the
 * second index.  To find the IOVA of host address @p: look up
 * {.translated_addr = p, .size = 0} and add p - translated_addr to iova.
 */
const DMAMap *iova_tree_find_iova(const IOVATree *tree, const DMAMap *map);

/*
 * Call @iterator for every mapping in increasing IOVA order until it returns
 * true.  The iterator must not modify the tree.
 */
void iova_tree_foreach(IOVATree *tree, IOVATreeIterator iterator, void *opaque);

/*
 * Remove every mapping that shares at least one IOVA with [map.iova,
 * map.iova + map.size] -- whole mappings, including ones that only partly
 * overlap the range; nothing is split.  (QEMU's iova_tree_remove behaves
 * the same way; callers that remove one mapping pass that mapping.)  Only
 * iova and size are used; a range running past 2^64 - 1 stops there.
 * Returns the number of mappings removed.
 */
unsigned int iova_tree_remove(IOVATree *tree, DMAMap map);

/*
 * Find the LOWEST free IOVA range of map->size + 1 bytes inside
 * [iova_begin, iova_last] (inclusive), store its start in map->iova and
 * insert the mapping (translated_addr, size and perm taken from @map).
 * Returns IOVA_OK; IOVA_ERR_INVALID for the reasons of iova_tree_insert or
 * when iova_begin > iova_last; IOVA_ERR_NOMEM when no free range fits (the
 * tree is unchanged and map->iova untouched).  No alignment is applied: ask
 * for sizes that keep the caller's alignment (page multiples minus one).
 */
int iova_tree_alloc_map(IOVATree *tree, DMAMap *map, hwaddr iova_begin,
                        hwaddr iova_last);

/*
 * As iova_tree_alloc_map, but the HIGHEST free range, ending as high as
 * possible: temporary mappings grow down from the top of the window while
 * long-lived ones grow up from the bottom, so neither fragments the other.
 */
int iova_tree_alloc_map_top_down(IOVATree *tree, DMAMap *map,
                                 hwaddr iova_begin, hwaddr iova_last);

/* Number of mappings in the tree. */
size_t iova_tree_nr_maps(const IOVATree *tree);

/*
 * Check the internal indexes (ordering, balance, per-subtree maxima, gaps,
 * no overlap) in O(n).  For tests and debugging; true when consistent.
 */
bool iova_tree_verify(const IOVATree *tree);

/* Free the tree and every mapping in it.  NULL is fine. */
void iova_tree_destroy(IOVATree *tree);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(IOVATree, iova_tree_destroy)

#endif /* QEMU_IOVA_TREE_H */
