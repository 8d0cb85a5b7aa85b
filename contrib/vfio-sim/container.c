/*
 * vfio-sim: the legacy container, /dev/vfio/vfio (drivers/vfio/container.c)
 * and the part of the type1 driver that is about groups coming and going.
 *
 * A container starts without an IOMMU driver.  Only once a group is
 * attached may SET_IOMMU pick one (the container is an unprivileged
 * interface; a group gives the privilege), and when the last group leaves,
 * the driver and every mapping go with it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "trace/trace-vfio_sim.h"

static gint sim_iova_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void sim_dma_free(gpointer p)
{
    SimDma *dma = p;

    g_free(dma->bitmap);
    if (dma->pinned) {
        g_hash_table_destroy(dma->pinned);
    }
    g_free(dma);
}

SimContainer *sim_container_new(void)
{
    SimContainer *c = g_new0(SimContainer, 1);

    c->file = sim_file_new(SIM_FILE_CONTAINER);
    c->file->container = c;
    c->dmas = g_tree_new_full(sim_iova_cmp, NULL, NULL, sim_dma_free);
    trace_vfio_sim_container_new(c);
    return c;
}

void sim_container_release(SimContainer *c)
{
    g_assert(!c->groups);
    trace_vfio_sim_container_release(c);
    sim_iommu_release_all(c);
    g_tree_destroy(c->dmas);
    g_free(c);
}

/* What the type1 driver answers; @c NULL: no driver instance yet. */
static long sim_type1_check_extension(SimContainer *c, unsigned long arg)
{
    const SimIommuConfig *io = &sim_world->cfg.iommu;
    bool has_emulated = false;

    switch (arg) {
    case VFIO_TYPE1_IOMMU:
        return io->type1;
    case VFIO_TYPE1v2_IOMMU:
        return io->type1v2;
    case VFIO_TYPE1_NESTING_IOMMU:
        return io->type1_nesting;
    case VFIO_UNMAP_ALL:
        return io->unmap_all;
    case VFIO_UPDATE_VADDR:
        /* Off with emulated-IOMMU groups: they cannot pin while vaddrs move. */
        if (!c) {
            return 0;
        }
        for (GList *l = c->groups; l; l = l->next) {
            has_emulated |= ((SimGroup *)l->data)->emulated;
        }
        return io->update_vaddr && !has_emulated;
    case VFIO_DMA_CC_IOMMU:
        return c ? io->dma_cc : 0;
    default:
        return 0;
    }
}

/*
 * type1 refuses a group without MSI isolation (no interrupt remapping) unless
 * the administrator allowed unsafe interrupts.
 */
static bool sim_msi_isolated(SimGroup *g)
{
    const SimIommuConfig *io = &sim_world->cfg.iommu;

    return g->emulated || io->interrupt_remapping || io->allow_unsafe_interrupts;
}

static long sim_container_set_iommu(SimContainer *c, unsigned long arg)
{
    if (!c->groups || c->iommu_set) {
        return -EINVAL;
    }
    /* The driver must claim the type as an extension before it is opened. */
    if (sim_type1_check_extension(NULL, arg) <= 0) {
        return -ENODEV;
    }
    switch (arg) {
    case VFIO_TYPE1_IOMMU:
        c->v2 = false;
        break;
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_TYPE1_NESTING_IOMMU:
        c->v2 = true;
        break;
    default:
        /* e.g. VFIO_UNMAP_ALL: an extension, but not a type to open */
        return -EINVAL;
    }
    for (GList *l = c->groups; l; l = l->next) {
        if (!sim_msi_isolated(l->data)) {
            return -EPERM;
        }
    }
    c->iommu_set = true;
    c->type = arg;
    c->dma_avail = sim_world->cfg.iommu.dma_entry_limit;
    sim_iommu_update_scope(c);
    trace_vfio_sim_set_iommu(c, arg);
    return 0;
}

long sim_container_ioctl(SimContainer *c, unsigned long req, void *arg)
{
    long ret;

    switch (req) {
    case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION:
        ret = sim_type1_check_extension(c->iommu_set ? c : NULL, (unsigned long)arg);
        trace_vfio_sim_check_extension(c, (unsigned long)arg, ret);
        return ret;
    case VFIO_SET_IOMMU:
        return sim_container_set_iommu(c, (unsigned long)arg);
    }
    /* Anything else is the driver's; without one the container says EINVAL. */
    if (!c->iommu_set) {
        return -EINVAL;
    }
    switch (req) {
    case VFIO_IOMMU_GET_INFO:
        return sim_iommu_get_info(c, arg);
    case VFIO_IOMMU_MAP_DMA:
        return sim_iommu_map_dma(c, arg);
    case VFIO_IOMMU_UNMAP_DMA:
        return sim_iommu_unmap_dma(c, arg);
    case VFIO_IOMMU_DIRTY_PAGES:
        return sim_iommu_dirty_pages(c, arg);
    default:
        return -ENOTTY;
    }
}

typedef struct SimApertureCheck {
    const SimIommuConfig *io;
    bool conflict;              /* a mapping lies outside every range */
} SimApertureCheck;

static gboolean sim_aperture_check_one(gpointer key, gpointer value, gpointer opaque)
{
    SimApertureCheck *chk = opaque;
    SimDma *dma = value;

    for (int r = 0; r < chk->io->nr_iova_ranges; r++) {
        if (dma->iova >= chk->io->iova_ranges[r].start &&
            dma->iova + dma->size - 1 <= chk->io->iova_ranges[r].end) {
            return false;
        }
    }
    chk->conflict = true;
    return true;
}

/*
 * Would attaching @g shrink the aperture below an existing mapping?  Only
 * possible when the container had no IOMMU-backed group yet (an empty IOVA
 * list means "anything goes").
 */
static bool sim_aperture_conflict(SimContainer *c, SimGroup *g)
{
    SimApertureCheck chk = { .io = &sim_world->cfg.iommu };

    if (g->emulated || c->has_iommu_group) {
        return false;
    }
    g_tree_foreach(c->dmas, sim_aperture_check_one, &chk);
    return chk.conflict;
}

int sim_container_attach_group(SimContainer *c, SimGroup *g)
{
    if (c->iommu_set && !sim_msi_isolated(g)) {
        return -EPERM;
    }
    if (c->iommu_set && sim_aperture_conflict(c, g)) {
        return -EINVAL;
    }
    c->groups = g_list_append(c->groups, g);
    g->container = c;
    g->container_users = 1;
    g->pinned_scope = g->emulated;
    sim_file_ref(c->file);
    if (c->iommu_set) {
        sim_iommu_update_scope(c);
    }
    trace_vfio_sim_attach_group(c, g->id);
    return 0;
}

void sim_container_detach_group(SimContainer *c, SimGroup *g)
{
    trace_vfio_sim_detach_group(c, g->id);
    c->groups = g_list_remove(c->groups, g);
    g->container = NULL;
    g->container_users = 0;
    if (!c->groups) {
        /* The last group takes the driver and its mappings with it. */
        sim_iommu_release_all(c);
        c->iommu_set = false;
        c->v2 = false;
        c->dirty_tracking = false;
    } else if (c->iommu_set) {
        sim_iommu_update_scope(c);
    }
    sim_file_unref(c->file);
}
