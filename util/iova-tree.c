/*
 * IOVA tree (see include/qemu/iova-tree.h).
 *
 * Each mapping lives in two intrusive AVL trees:
 *
 *  - the IOVA index, ordered by iova.  Mappings never overlap there, so the
 *    order by iova is also the order by last address.  Every mapping stores
 *    gap_before, the number of free IOVAs between the previous mapping's
 *    last address (or address 0) and its own iova, and every node the
 *    largest gap_before of its subtree (max_value).  A hole search descends
 *    only into subtrees whose maximum is large enough.
 *
 *  - the translated index, ordered by (translated_addr, iova), where each
 *    node also stores the highest translated last address of its subtree:
 *    a classic interval tree, because translated ranges may overlap.
 *
 * GLib's GTree cannot carry per-subtree data, which is what makes hole
 * finding and overlap lookup by translated address logarithmic, hence the
 * small AVL below.  Nodes have parent pointers so that updating one
 * mapping's gap is a walk to the root and iteration needs no stack.
 */
#include "qemu/osdep.h"
#include "qemu/iova-tree.h"
#include "trace/trace-util.h"

/* IOMMUAccessFlags (exec/memory.h): RO = 1, WO = 2, RW = both. */
#define IOVA_TREE_PERM_MASK 3

typedef struct AvlNode AvlNode;
struct AvlNode {
    AvlNode *left;
    AvlNode *right;
    AvlNode *parent;
    /* Largest AvlTree.value() in the subtree rooted here. */
    uint64_t max_value;
    int height;             /* of the subtree rooted here; a leaf is 1 */
};

/*
 * An AVL tree whose nodes also carry the maximum of a per-node value over
 * their subtree: the free gap below a mapping for the IOVA index, the last
 * translated address for the translated index.
 */
typedef struct AvlTree {
    AvlNode *root;
    uint64_t (*value)(const AvlNode *node);
} AvlTree;

/*
 * Field order matters for speed: a search of the IOVA index reads the node
 * links and map.iova/map.size, which this order keeps in the first 64 bytes.
 */
typedef struct IOVAMapping {
    AvlNode by_iova;        /* IOVA index; max_value = largest gap_before */
    DMAMap map;
    /* Free IOVAs between the previous mapping's last address (or 0) and iova. */
    uint64_t gap_before;
    AvlNode by_xlat;        /* translated index; max_value = largest last */
} IOVAMapping;

struct IOVATree {
    AvlTree iova_index;
    AvlTree xlat_index;
    size_t nr_maps;
};

/* ------------------------------------------------------------------------ */
/* Augmented AVL tree */

static inline int avl_height(const AvlNode *n)
{
    return n ? n->height : 0;
}

static void avl_update(AvlTree *t, AvlNode *n)
{
    uint64_t max = t->value(n);

    if (n->left && n->left->max_value > max) {
        max = n->left->max_value;
    }
    if (n->right && n->right->max_value > max) {
        max = n->right->max_value;
    }
    n->max_value = max;
    n->height = 1 + MAX(avl_height(n->left), avl_height(n->right));
}

/* Make @new take @old's place under @parent (or at the root). */
static void avl_replace_child(AvlTree *t, AvlNode *parent, AvlNode *old,
                              AvlNode *new)
{
    if (!parent) {
        t->root = new;
    } else if (parent->left == old) {
        parent->left = new;
    } else {
        parent->right = new;
    }
    if (new) {
        new->parent = parent;
    }
}

static AvlNode *avl_rotate_left(AvlTree *t, AvlNode *x)
{
    AvlNode *y = x->right;

    x->right = y->left;
    if (y->left) {
        y->left->parent = x;
    }
    avl_replace_child(t, x->parent, x, y);
    y->left = x;
    x->parent = y;
    avl_update(t, x);
    avl_update(t, y);
    return y;
}

static AvlNode *avl_rotate_right(AvlTree *t, AvlNode *x)
{
    AvlNode *y = x->left;

    x->left = y->right;
    if (y->right) {
        y->right->parent = x;
    }
    avl_replace_child(t, x->parent, x, y);
    y->right = x;
    x->parent = y;
    avl_update(t, x);
    avl_update(t, y);
    return y;
}

/*
 * The subtree at @n changed below it (or @n's own value changed): restore
 * heights, maxima and balance from @n upwards.  Each node stores what its
 * parent last saw of it, so the walk stops at the first subtree whose
 * height and maximum come out unchanged -- usually after a few levels.
 */
static void avl_fix_upwards(AvlTree *t, AvlNode *n)
{
    while (n) {
        int old_height = n->height;
        uint64_t old_max = n->max_value;
        AvlNode *top = n;
        int balance;

        avl_update(t, n);
        balance = avl_height(n->left) - avl_height(n->right);
        if (balance > 1) {
            if (avl_height(n->left->left) < avl_height(n->left->right)) {
                avl_rotate_left(t, n->left);
            }
            top = avl_rotate_right(t, n);
        } else if (balance < -1) {
            if (avl_height(n->right->right) < avl_height(n->right->left)) {
                avl_rotate_right(t, n->right);
            }
            top = avl_rotate_left(t, n);
        }
        if (top->height == old_height && top->max_value == old_max) {
            break;
        }
        n = top->parent;
    }
}

/* Attach @node as a leaf at *@link, a child slot of @parent, and rebalance. */
static void avl_link(AvlTree *t, AvlNode *node, AvlNode *parent, AvlNode **link)
{
    node->left = node->right = NULL;
    node->parent = parent;
    avl_update(t, node);
    *link = node;
    avl_fix_upwards(t, parent);
}

static void avl_insert(AvlTree *t, AvlNode *node,
                       bool (*less)(const AvlNode *a, const AvlNode *b))
{
    AvlNode **link = &t->root;
    AvlNode *parent = NULL;

    while (*link) {
        parent = *link;
        link = less(node, parent) ? &parent->left : &parent->right;
    }
    avl_link(t, node, parent, link);
}

static void avl_remove(AvlTree *t, AvlNode *node)
{
    AvlNode *fix_from;
    AvlNode *moved = NULL;

    if (node->left && node->right) {
        /* Put the in-order successor (no left child) in node's place. */
        AvlNode *succ = node->right;

        while (succ->left) {
            succ = succ->left;
        }
        if (succ->parent == node) {
            fix_from = succ;
        } else {
            fix_from = succ->parent;
            succ->parent->left = succ->right;
            if (succ->right) {
                succ->right->parent = succ->parent;
            }
            succ->right = node->right;
            node->right->parent = succ;
        }
        succ->left = node->left;
        node->left->parent = succ;
        avl_replace_child(t, node->parent, node, succ);
        /*
         * What node's parent saw of that position, so avl_fix_upwards
         * compares against the right "before" values there.
         */
        succ->height = node->height;
        succ->max_value = node->max_value;
        moved = succ;
    } else {
        fix_from = node->parent;
        avl_replace_child(t, node->parent, node,
                          node->left ? node->left : node->right);
    }
    avl_fix_upwards(t, fix_from);
    /*
     * The walk from below may stop before reaching @moved, whose own value
     * replaced node's at that position: that position must be recomputed
     * whatever happened below.
     */
    if (moved && moved != fix_from) {
        avl_fix_upwards(t, moved);
    }
}

static AvlNode *avl_first(const AvlTree *t)
{
    AvlNode *n = t->root;

    while (n && n->left) {
        n = n->left;
    }
    return n;
}

static AvlNode *avl_last(const AvlTree *t)
{
    AvlNode *n = t->root;

    while (n && n->right) {
        n = n->right;
    }
    return n;
}

static AvlNode *avl_next(AvlNode *n)
{
    if (n->right) {
        n = n->right;
        while (n->left) {
            n = n->left;
        }
        return n;
    }
    while (n->parent && n->parent->right == n) {
        n = n->parent;
    }
    return n->parent;
}

static AvlNode *avl_prev(AvlNode *n)
{
    if (n->left) {
        n = n->left;
        while (n->right) {
            n = n->right;
        }
        return n;
    }
    while (n->parent && n->parent->left == n) {
        n = n->parent;
    }
    return n->parent;
}

/* ------------------------------------------------------------------------ */
/* The two indexes */

static inline IOVAMapping *iova_entry(const AvlNode *n)
{
    return n ? container_of(n, IOVAMapping, by_iova) : NULL;
}

static inline IOVAMapping *xlat_entry(const AvlNode *n)
{
    return n ? container_of(n, IOVAMapping, by_xlat) : NULL;
}

static inline uint64_t map_last(const DMAMap *map)
{
    return map->iova + map->size;
}

static inline uint64_t map_xlat_last(const DMAMap *map)
{
    return map->translated_addr + map->size;
}

static uint64_t iova_node_value(const AvlNode *n)
{
    return iova_entry(n)->gap_before;
}

static uint64_t xlat_node_value(const AvlNode *n)
{
    return map_xlat_last(&xlat_entry(n)->map);
}

static bool iova_less(const AvlNode *a, const AvlNode *b)
{
    return iova_entry(a)->map.iova < iova_entry(b)->map.iova;
}

static bool xlat_less(const AvlNode *a, const AvlNode *b)
{
    const DMAMap *ma = &xlat_entry(a)->map, *mb = &xlat_entry(b)->map;

    if (ma->translated_addr != mb->translated_addr) {
        return ma->translated_addr < mb->translated_addr;
    }
    return ma->iova < mb->iova;
}

/* Free IOVAs between @prev (NULL: address 0) and @m. */
static inline uint64_t gap_between(const IOVAMapping *prev, const IOVAMapping *m)
{
    return prev ? m->map.iova - map_last(&prev->map) - 1 : m->map.iova;
}

/* @m's predecessor changed: recompute its gap and the maxima above it. */
static void iova_refresh_gap(IOVATree *tree, IOVAMapping *m, IOVAMapping *prev)
{
    m->gap_before = gap_between(prev, m);
    avl_fix_upwards(&tree->iova_index, &m->by_iova);
}

/* The mapping with the lowest IOVA whose last address is >= @addr. */
static IOVAMapping *iova_lower_bound(const IOVATree *tree, uint64_t addr)
{
    AvlNode *n = tree->iova_index.root;
    AvlNode *best = NULL;

    while (n) {
        if (map_last(&iova_entry(n)->map) >= addr) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return iova_entry(best);
}

/* The mapping with the highest IOVA that is <= @addr. */
static IOVAMapping *iova_upper_bound(const IOVATree *tree, uint64_t addr)
{
    AvlNode *n = tree->iova_index.root;
    AvlNode *best = NULL;

    while (n) {
        if (iova_entry(n)->map.iova <= addr) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return iova_entry(best);
}

/* First mapping sharing an IOVA with [first, last], or NULL. */
static IOVAMapping *iova_find_overlap(const IOVATree *tree, uint64_t first,
                                      uint64_t last)
{
    IOVAMapping *m = iova_lower_bound(tree, first);

    return m && m->map.iova <= last ? m : NULL;
}

/*
 * Lowest mapping with iova > @after whose gap_before exceeds @size (a hole
 * of size + 1 addresses).  Visits O(log n) nodes: subtrees wholly above
 * @after are entered only when their maximum guarantees a hit, and the
 * others lie along the search path of @after.
 */
static IOVAMapping *gap_search_up(AvlNode *n, uint64_t after, uint64_t size)
{
    while (n && n->max_value > size) {
        IOVAMapping *m = iova_entry(n);

        if (m->map.iova > after) {
            IOVAMapping *found = gap_search_up(n->left, after, size);

            if (found) {
                return found;
            }
            if (m->gap_before > size) {
                return m;
            }
        }
        n = n->right;
    }
    return NULL;
}

/* Highest mapping with iova <= @upto whose gap_before exceeds @size. */
static IOVAMapping *gap_search_down(AvlNode *n, uint64_t upto, uint64_t size)
{
    while (n && n->max_value > size) {
        IOVAMapping *m = iova_entry(n);

        if (m->map.iova <= upto) {
            IOVAMapping *found = gap_search_down(n->right, upto, size);

            if (found) {
                return found;
            }
            if (m->gap_before > size) {
                return m;
            }
        }
        n = n->left;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Public API */

IOVATree *iova_tree_new(void)
{
    IOVATree *tree = g_new0(IOVATree, 1);

    tree->iova_index.value = iova_node_value;
    tree->xlat_index.value = xlat_node_value;
    return tree;
}

/* Everything but the IOVA range: permissions and the translated range. */
static bool dma_map_valid_except_iova(const DMAMap *map)
{
    return map &&
           map->perm != 0 && !(map->perm & ~IOVA_TREE_PERM_MASK) &&
           map->size <= UINT64_MAX - map->translated_addr;
}

static bool dma_map_valid(const DMAMap *map)
{
    return dma_map_valid_except_iova(map) && map->size <= UINT64_MAX - map->iova;
}

/*
 * Insert a valid mapping, or return IOVA_ERR_OVERLAP.  One descent of the
 * IOVA index finds the slot and both neighbours, which are all the overlap
 * check and the gap bookkeeping need.
 */
static int iova_tree_insert_valid(IOVATree *tree, const DMAMap *map)
{
    AvlNode **link = &tree->iova_index.root;
    AvlNode *parent = NULL;
    IOVAMapping *pred = NULL, *succ = NULL;
    IOVAMapping *m;

    while (*link) {
        IOVAMapping *e = iova_entry(*link);

        parent = *link;
        if (map->iova < e->map.iova) {
            succ = e;
            link = &parent->left;
        } else {
            pred = e;
            link = &parent->right;
        }
    }
    if ((pred && map_last(&pred->map) >= map->iova) ||
        (succ && succ->map.iova <= map_last(map))) {
        return IOVA_ERR_OVERLAP;
    }

    m = g_new(IOVAMapping, 1);
    m->map = *map;
    m->gap_before = gap_between(pred, m);
    avl_link(&tree->iova_index, &m->by_iova, parent, link);
    if (succ) {
        iova_refresh_gap(tree, succ, m);
    }
    avl_insert(&tree->xlat_index, &m->by_xlat, xlat_less);
    tree->nr_maps++;
    return IOVA_OK;
}

int iova_tree_insert(IOVATree *tree, const DMAMap *map)
{
    int ret = dma_map_valid(map) ? iova_tree_insert_valid(tree, map)
                                 : IOVA_ERR_INVALID;

    if (map) {
        trace_iova_tree_insert(map->iova, map->size, map->translated_addr, ret);
    }
    return ret;
}

/* Last address of [first, first + size], stopping at 2^64 - 1. */
static inline uint64_t clamp_last(uint64_t first, uint64_t size)
{
    return size > UINT64_MAX - first ? UINT64_MAX : first + size;
}

const DMAMap *iova_tree_find(const IOVATree *tree, const DMAMap *map)
{
    IOVAMapping *m = iova_find_overlap(tree, map->iova,
                                       clamp_last(map->iova, map->size));

    return m ? &m->map : NULL;
}

const DMAMap *iova_tree_find_address(const IOVATree *tree, hwaddr iova)
{
    IOVAMapping *m = iova_find_overlap(tree, iova, iova);

    return m ? &m->map : NULL;
}

const DMAMap *iova_tree_find_iova(const IOVATree *tree, const DMAMap *map)
{
    uint64_t lo = map->translated_addr;
    uint64_t hi = clamp_last(lo, map->size);
    AvlNode *n = tree->xlat_index.root;

    /*
     * If the left subtree has an interval ending at or above @lo, then either
     * one of them overlaps -- and the leftmost overlap is in there -- or the
     * one that ends high starts above @hi, and so does everything to its
     * right: going left is right either way.  Otherwise nothing on the left
     * overlaps, and this node and the right subtree remain.
     */
    while (n) {
        IOVAMapping *m = xlat_entry(n);

        if (n->left && n->left->max_value >= lo) {
            n = n->left;
            continue;
        }
        if (m->map.translated_addr > hi) {
            return NULL;
        }
        if (map_xlat_last(&m->map) >= lo) {
            return &m->map;
        }
        n = n->right;
    }
    return NULL;
}

void iova_tree_foreach(IOVATree *tree, IOVATreeIterator iterator, void *opaque)
{
    for (AvlNode *n = avl_first(&tree->iova_index); n; n = avl_next(n)) {
        if (iterator(&iova_entry(n)->map, opaque)) {
            break;
        }
    }
}

static void iova_tree_remove_mapping(IOVATree *tree, IOVAMapping *m)
{
    IOVAMapping *prev = iova_entry(avl_prev(&m->by_iova));
    IOVAMapping *next = iova_entry(avl_next(&m->by_iova));

    avl_remove(&tree->iova_index, &m->by_iova);
    avl_remove(&tree->xlat_index, &m->by_xlat);
    if (next) {
        iova_refresh_gap(tree, next, prev);
    }
    tree->nr_maps--;
    g_free(m);
}

unsigned int iova_tree_remove(IOVATree *tree, DMAMap map)
{
    uint64_t last = clamp_last(map.iova, map.size);
    unsigned int removed = 0;
    IOVAMapping *m;

    while ((m = iova_find_overlap(tree, map.iova, last))) {
        iova_tree_remove_mapping(tree, m);
        removed++;
    }
    trace_iova_tree_remove(map.iova, map.size, removed);
    return removed;
}

/*
 * Lowest start of a free range of size + 1 addresses within [begin, last],
 * or false.  See the file comment for the gap bookkeeping.
 */
static bool iova_find_hole_up(const IOVATree *tree, uint64_t size,
                              uint64_t begin, uint64_t last, uint64_t *start)
{
    IOVAMapping *m = iova_lower_bound(tree, begin);
    IOVAMapping *found, *top;

    if (!m) {
        /* Nothing at or above @begin: the whole window is free. */
        *start = begin;
        return last - begin >= size;
    }
    if (m->map.iova > begin && MIN(m->map.iova - 1, last) - begin >= size) {
        /* The free space from @begin up to the first mapping fits. */
        *start = begin;
        return true;
    }
    /*
     * Every hole above @m is a gap_before of a later mapping, or the space
     * above the highest mapping.  They all start above @begin, and the
     * lowest one big enough is the answer unless it ends above @last, in
     * which case so do all higher ones.
     */
    found = gap_search_up(tree->iova_index.root, m->map.iova, size);
    if (found) {
        IOVAMapping *prev = iova_entry(avl_prev(&found->by_iova));

        *start = map_last(&prev->map) + 1;
        return *start <= last && last - *start >= size;
    }
    top = iova_entry(avl_last(&tree->iova_index));
    if (map_last(&top->map) == UINT64_MAX) {
        return false;
    }
    *start = map_last(&top->map) + 1;
    return *start <= last && last - *start >= size;
}

/* Highest start of a free range of size + 1 addresses within [begin, last]. */
static bool iova_find_hole_down(const IOVATree *tree, uint64_t size,
                                uint64_t begin, uint64_t last, uint64_t *start)
{
    IOVAMapping *m = iova_upper_bound(tree, last);
    IOVAMapping *found;

    /* Callers checked last - begin >= size, so this cannot underflow. */
    *start = last - size;
    if (!m) {
        return true;
    }
    if (map_last(&m->map) < last && *start > map_last(&m->map)) {
        /* The free space above the highest mapping below @last fits. */
        return *start >= begin;
    }
    /* Holes below @m, highest first; gap_before of the lowest covers [0,..). */
    found = gap_search_down(tree->iova_index.root, m->map.iova, size);
    if (!found) {
        return false;
    }
    *start = found->map.iova - 1 - size;
    return *start >= begin;
}

static int iova_tree_alloc_common(IOVATree *tree, DMAMap *map, hwaddr begin,
                                  hwaddr last, bool top_down)
{
    DMAMap new_map;
    uint64_t start;
    bool ok;
    int ret;

    /* The IOVA range is ours to choose; it is checked against the window. */
    if (!dma_map_valid_except_iova(map) || begin > last) {
        ret = IOVA_ERR_INVALID;
        goto out;
    }
    if (map->size > last - begin) {
        ret = IOVA_ERR_NOMEM;      /* larger than the whole window */
        goto out;
    }
    ok = top_down ? iova_find_hole_down(tree, map->size, begin, last, &start)
                  : iova_find_hole_up(tree, map->size, begin, last, &start);
    if (!ok) {
        ret = IOVA_ERR_NOMEM;
        goto out;
    }
    new_map = *map;
    new_map.iova = start;
    ret = iova_tree_insert_valid(tree, &new_map);
    assert(ret == IOVA_OK);     /* the hole was free */
    map->iova = start;
out:
    trace_iova_tree_alloc(begin, last, map ? map->size : 0, top_down,
                          ret == IOVA_OK ? map->iova : 0, ret);
    return ret;
}

int iova_tree_alloc_map(IOVATree *tree, DMAMap *map, hwaddr iova_begin,
                        hwaddr iova_last)
{
    return iova_tree_alloc_common(tree, map, iova_begin, iova_last, false);
}

int iova_tree_alloc_map_top_down(IOVATree *tree, DMAMap *map,
                                 hwaddr iova_begin, hwaddr iova_last)
{
    return iova_tree_alloc_common(tree, map, iova_begin, iova_last, true);
}

/*
 * Check the subtree at @n of @t; returns its height, or -1 if anything is
 * wrong.  *count accumulates the number of nodes.
 */
static int avl_verify(const AvlTree *t, const AvlNode *n, const AvlNode *parent,
                      bool (*less)(const AvlNode *a, const AvlNode *b),
                      size_t *count)
{
    int hl, hr;
    uint64_t max;

    if (!n) {
        return 0;
    }
    if (n->parent != parent ||
        (n->left && !less(n->left, n)) || (n->right && !less(n, n->right))) {
        return -1;
    }
    hl = avl_verify(t, n->left, n, less, count);
    hr = avl_verify(t, n->right, n, less, count);
    if (hl < 0 || hr < 0 || abs(hl - hr) > 1 || n->height != 1 + MAX(hl, hr)) {
        return -1;
    }
    max = t->value(n);
    if (n->left) {
        max = MAX(max, n->left->max_value);
    }
    if (n->right) {
        max = MAX(max, n->right->max_value);
    }
    if (n->max_value != max) {
        return -1;
    }
    (*count)++;
    return n->height;
}

bool iova_tree_verify(const IOVATree *tree)
{
    size_t by_iova = 0, by_xlat = 0;
    const IOVAMapping *prev = NULL;

    if (avl_verify(&tree->iova_index, tree->iova_index.root, NULL, iova_less,
                   &by_iova) < 0 ||
        avl_verify(&tree->xlat_index, tree->xlat_index.root, NULL, xlat_less,
                   &by_xlat) < 0 ||
        by_iova != tree->nr_maps || by_xlat != tree->nr_maps) {
        return false;
    }
    for (AvlNode *n = avl_first(&tree->iova_index); n; n = avl_next(n)) {
        const IOVAMapping *m = iova_entry(n);

        if (!dma_map_valid(&m->map) ||
            (prev && map_last(&prev->map) >= m->map.iova) ||
            m->gap_before != gap_between(prev, m)) {
            return false;
        }
        prev = m;
    }
    return true;
}

size_t iova_tree_nr_maps(const IOVATree *tree)
{
    return tree->nr_maps;
}

void iova_tree_destroy(IOVATree *tree)
{
    AvlNode *n;

    if (!tree) {
        return;
    }
    /* Free in post-order without rebalancing: nothing reads the tree after. */
    n = tree->iova_index.root;
    while (n) {
        if (n->left) {
            n = n->left;
        } else if (n->right) {
            n = n->right;
        } else {
            AvlNode *parent = n->parent;

            if (parent) {
                if (parent->left == n) {
                    parent->left = NULL;
                } else {
                    parent->right = NULL;
                }
            }
            g_free(iova_entry(n));
            n = parent;
        }
    }
    g_free(tree);
}
