/*
 * The backend-neutral container: address-space registry, mapping table,
 * IOVA ranges (include/hw/vfio/vfio-container-base.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/range.h"
#include "hw/vfio/vfio-container-base.h"
#include "trace/trace-hw_vfio.h"

/* VFIOAddressSpace *, one per AddressSpace with assigned devices. */
static GList *vfio_address_spaces;

VFIOAddressSpace *vfio_address_space_find(AddressSpace *as)
{
    for (GList *l = vfio_address_spaces; l; l = l->next) {
        VFIOAddressSpace *space = l->data;

        if (space->as == as) {
            return space;
        }
    }
    return NULL;
}

VFIOAddressSpace *vfio_address_space_get(AddressSpace *as)
{
    VFIOAddressSpace *space = vfio_address_space_find(as);

    if (space) {
        return space;
    }
    space = g_new0(VFIOAddressSpace, 1);
    space->as = as;
    vfio_address_spaces = g_list_append(vfio_address_spaces, space);
    trace_vfio_address_space_get(as->name);
    return space;
}

void vfio_address_space_put(VFIOAddressSpace *space)
{
    if (!space || space->containers) {
        return;
    }
    trace_vfio_address_space_put(space->as->name);
    vfio_address_spaces = g_list_remove(vfio_address_spaces, space);
    g_free(space);
}

void vfio_container_base_init(VFIOContainerBase *bcontainer, VFIOAddressSpace *space,
                              const VFIOIOMMUOps *ops)
{
    memset(bcontainer, 0, sizeof(*bcontainer));
    bcontainer->ops = ops;
    bcontainer->space = space;
    bcontainer->mappings = iova_tree_new();
    space->containers = g_list_append(space->containers, bcontainer);
}

void vfio_container_base_finalize(VFIOContainerBase *bcontainer)
{
    assert(!bcontainer->listener_registered);
    assert(!bcontainer->device_list);
    if (bcontainer->space) {
        bcontainer->space->containers = g_list_remove(bcontainer->space->containers,
                                                      bcontainer);
        bcontainer->space = NULL;
    }
    range_list_free(bcontainer->iova_ranges);
    bcontainer->iova_ranges = NULL;
    iova_tree_destroy(bcontainer->mappings);
    bcontainer->mappings = NULL;
    error_free(bcontainer->error);
    bcontainer->error = NULL;
}

/*
 * Forget what a successful unmap of [iova, iova + size) took away.  Type1
 * unmaps whole mappings: v2 refuses a range that would split one, v1 stops
 * (having unmapped nothing) when the first mapping it meets starts below
 * @iova, and otherwise takes every mapping the range touches.
 */
static void vfio_container_mappings_forget(VFIOContainerBase *bcontainer, hwaddr iova,
                                           hwaddr size)
{
    const DMAMap *first = iova_tree_find_address(bcontainer->mappings, iova);

    if (!size || (first && first->iova < iova)) {
        return;
    }
    iova_tree_remove(bcontainer->mappings, (DMAMap){ .iova = iova, .size = size - 1 });
}

int vfio_container_dma_map(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                           void *vaddr, bool readonly)
{
    DMAMap map = {
        .iova = iova,
        .translated_addr = (hwaddr)(uintptr_t)vaddr,
        .size = size - 1,
        .perm = readonly ? IOMMU_RO : IOMMU_RW,
    };
    int ret;

    if (!size) {
        return -EINVAL;
    }
    ret = bcontainer->ops->dma_map(bcontainer, iova, size, vaddr, readonly);
    if (ret == -EBUSY) {
        /*
         * Something is still mapped there (type1 said so with EBUSY before
         * it said EEXIST, and QEMU still sees it with ROMs re-mapped while
         * the old mapping lingers): unmap the range and try once more.
         * The unmap goes through vfio_container_dma_unmap() so that the
         * table forgets what the kernel dropped the moment it drops it,
         * whether or not the second MAP then succeeds.
         */
        trace_vfio_container_dma_map_ebusy_retry(bcontainer->ops->name, iova, size);
        ret = vfio_container_dma_unmap(bcontainer, iova, size, false);
        if (ret == 0) {
            ret = bcontainer->ops->dma_map(bcontainer, iova, size, vaddr, readonly);
        }
    }
    trace_vfio_container_dma_map(bcontainer->ops->name, iova, size, vaddr, readonly, ret);
    if (ret) {
        return ret;
    }
    iova_tree_insert(bcontainer->mappings, &map);
    return 0;
}

int vfio_container_dma_unmap(VFIOContainerBase *bcontainer, hwaddr iova, hwaddr size,
                             bool unmap_all)
{
    int ret = bcontainer->ops->dma_unmap(bcontainer, iova, size, unmap_all);

    trace_vfio_container_dma_unmap(bcontainer->ops->name, iova, size, unmap_all, ret);
    if (ret) {
        return ret;
    }
    if (unmap_all) {
        iova_tree_destroy(bcontainer->mappings);
        bcontainer->mappings = iova_tree_new();
    } else {
        vfio_container_mappings_forget(bcontainer, iova, size);
    }
    return 0;
}

int vfio_container_dma_unmap_bitmap(VFIOContainerBase *bcontainer, hwaddr iova,
                                    hwaddr size, VFIOBitmap *vbmap)
{
    int ret = -ENOTSUP;

    if (bcontainer->ops->dma_unmap_bitmap && bcontainer->dirty_pages_supported) {
        ret = bcontainer->ops->dma_unmap_bitmap(bcontainer, iova, size, vbmap);
    }
    trace_vfio_container_dma_unmap_bitmap(bcontainer->ops->name, iova, size,
                                          vbmap->size, ret);
    if (ret == 0) {
        vfio_container_mappings_forget(bcontainer, iova, size);
    }
    return ret;
}

uint32_t vfio_container_dma_mappings(const VFIOContainerBase *bcontainer)
{
    return iova_tree_nr_maps(bcontainer->mappings);
}

int vfio_container_iommu_set_dirty_tracking(VFIOContainerBase *bcontainer, bool start)
{
    int ret = -ENOTSUP;

    if (bcontainer->ops->set_dirty_page_tracking && bcontainer->dirty_pages_supported) {
        ret = bcontainer->ops->set_dirty_page_tracking(bcontainer, start);
    }
    trace_vfio_container_iommu_set_dirty_tracking(bcontainer->ops->name, start, ret);
    if (ret == 0) {
        bcontainer->dirty_pages_started = start;
    }
    return ret;
}

int vfio_container_iommu_query_dirty_bitmap(const VFIOContainerBase *bcontainer,
                                            VFIOBitmap *vbmap, hwaddr iova, hwaddr size)
{
    int ret = -ENOTSUP;

    if (bcontainer->ops->query_dirty_bitmap && bcontainer->dirty_pages_supported) {
        ret = bcontainer->ops->query_dirty_bitmap(bcontainer, vbmap, iova, size);
    }
    trace_vfio_container_iommu_query_dirty_bitmap(bcontainer->ops->name, iova, size,
                                                  vbmap->size, ret);
    return ret;
}

int vfio_bitmap_alloc(VFIOBitmap *vbmap, hwaddr size)
{
    hwaddr page = qemu_real_host_page_size();

    vbmap->pages = DIV_ROUND_UP(size, page);
    vbmap->size = DIV_ROUND_UP(vbmap->pages, 64) * sizeof(uint64_t);
    vbmap->bitmap = g_try_malloc0(vbmap->size ? vbmap->size : 1);
    if (!vbmap->bitmap) {
        vbmap->size = vbmap->pages = 0;
        return -ENOMEM;
    }
    return 0;
}

void vfio_bitmap_free(VFIOBitmap *vbmap)
{
    g_free(vbmap->bitmap);
    vbmap->bitmap = NULL;
    vbmap->size = vbmap->pages = 0;
}

bool vfio_container_iova_range_valid(const VFIOContainerBase *bcontainer,
                                     hwaddr iova, hwaddr size)
{
    hwaddr last = iova + size - 1;

    if (!size || last < iova) {
        return false;
    }
    if (!bcontainer->iova_ranges) {
        return true;
    }
    for (GList *l = bcontainer->iova_ranges; l; l = l->next) {
        const Range *r = l->data;

        if (range_lob(r) <= iova && last <= range_upb(r)) {
            return true;
        }
        if (range_lob(r) > iova) {
            break;      /* sorted: no later range starts low enough */
        }
    }
    return false;
}

hwaddr vfio_container_min_pagesize(const VFIOContainerBase *bcontainer)
{
    uint64_t pgsizes = bcontainer->pgsizes ? bcontainer->pgsizes
                                           : qemu_real_host_page_size();

    return (hwaddr)1 << __builtin_ctzll(pgsizes);
}
