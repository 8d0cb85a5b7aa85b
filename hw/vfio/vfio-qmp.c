/*
 * QMP query-vfio: what VFIO has attached, seen from the assigned devices.
 *
 * Reply:
 *   {"devices": [{"id": ID or "", "host": "0000:00:01.0", "pci-address": "00:01.0",
 *                 "group": N, "container": C, "interrupt-mode": "none"|"intx"|"msi"|"msix",
 *                 "intx-count": N, "msi-count": N, "mmap-areas": N, "reset": bool,
 *                 "bus-reset": bool, "hot-resets": N,
 *                 "enable-migration": "auto"|"on"|"off"}],
 * ("reset": a function-level reset; "bus-reset": without one, a hot reset
 * of the slot or bus can be tried; "hot-resets": how many reached it)
 *    "groups": [{"group": N, "container": C, "devices": ["0000:00:01.0", ...]}],
 *    "containers": [{"index": C, "backend": "legacy", "iommu-type": "TYPE1v2",
 *                    "address-space": NAME, "iova-ranges": [{"start": "0x0",
 *                    "end": "0xfedfffff"}, ...], "iova-pgsizes": "0x40201000",
 *                    "mappings": N, "max-mappings": N, "mapping-errors": N,
 *                    "dirty-tracking": {"mode": "off"|"iommu"|"device-dma-logging",
 *                                       "iommu-supported": bool,
 *                                       "devices-supported": bool}}]}
 * Containers are numbered in the order the devices reach them.  IOVA
 * ranges are inclusive and given as hex strings: they go up to 2^64 - 1,
 * beyond a JSON integer.  An empty "iova-ranges" means the kernel gave no
 * limit.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "qemu/range.h"
#include "hw/vfio/vfio-container.h"
#include "hw/vfio/vfio-pci.h"

static const char *vfio_qmp_iommu_type_name(unsigned int type)
{
    switch (type) {
    case VFIO_TYPE1v2_IOMMU:
        return "TYPE1v2";
    case VFIO_TYPE1_IOMMU:
        return "TYPE1";
    case VFIO_SPAPR_TCE_v2_IOMMU:
        return "SPAPR_TCE_v2";
    case VFIO_SPAPR_TCE_IOMMU:
        return "SPAPR_TCE";
    default:
        return "unknown";
    }
}

static char *vfio_qmp_hex(uint64_t v)
{
    return g_strdup_printf("0x%" PRIx64, v);
}

static const char *vfio_qmp_dirty_mode(const VFIOContainerBase *bcontainer)
{
    for (GList *l = bcontainer->device_list; l; l = l->next) {
        const VFIODevice *vbasedev = l->data;

        if (vbasedev->dirty_tracking) {
            return "device-dma-logging";
        }
    }
    return bcontainer->dirty_pages_started ? "iommu" : "off";
}

static JsonObject *vfio_qmp_container(VFIOContainerBase *bcontainer, int index)
{
    JsonObject *o = json_object_new();
    JsonObject *dirty = json_object_new();
    JsonArray *ranges = json_array_new();

    json_object_set_int_member(o, "index", index);
    json_object_set_string_member(o, "backend", bcontainer->ops->name);
    if (bcontainer->ops == &vfio_legacy_ops) {
        VFIOContainer *container = vfio_container_from_base(bcontainer);

        json_object_set_string_member(o, "iommu-type",
                                      vfio_qmp_iommu_type_name(container->iommu_type));
    }
    json_object_set_string_member(o, "address-space", bcontainer->space->as->name);
    for (GList *l = bcontainer->iova_ranges; l; l = l->next) {
        const Range *r = l->data;
        JsonObject *range = json_object_new();
        g_autofree char *start = vfio_qmp_hex(range_lob(r));
        g_autofree char *end = vfio_qmp_hex(range_upb(r));

        json_object_set_string_member(range, "start", start);
        json_object_set_string_member(range, "end", end);
        json_array_add_object_element(ranges, range);
    }
    json_object_set_array_member(o, "iova-ranges", ranges);
    {
        g_autofree char *pgsizes = vfio_qmp_hex(bcontainer->pgsizes);

        json_object_set_string_member(o, "iova-pgsizes", pgsizes);
    }
    json_object_set_int_member(o, "mappings", vfio_container_dma_mappings(bcontainer));
    json_object_set_int_member(o, "max-mappings", bcontainer->dma_max_mappings);
    json_object_set_int_member(o, "mapping-errors", (gint64)bcontainer->mapping_errors);
    json_object_set_string_member(dirty, "mode", vfio_qmp_dirty_mode(bcontainer));
    json_object_set_boolean_member(dirty, "iommu-supported",
                                   bcontainer->dirty_pages_supported);
    json_object_set_boolean_member(dirty, "devices-supported",
                                   vfio_container_devices_dirty_tracking_is_supported(
                                       bcontainer));
    json_object_set_object_member(o, "dirty-tracking", dirty);
    return o;
}

static bool qmp_query_vfio(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const allowed[] = { NULL };
    g_autoptr(GPtrArray) containers = g_ptr_array_new();
    g_autoptr(GPtrArray) groups = g_ptr_array_new();
    JsonObject *reply;
    JsonArray *devices, *group_list, *container_list;

    if (!qmp_check_args(args, allowed, allowed, errp)) {
        return false;
    }
    reply = json_object_new();
    devices = json_array_new();
    group_list = json_array_new();
    container_list = json_array_new();

    for (GList *l = vfio_pci_device_list(); l; l = l->next) {
        VFIOPCIDevice *vdev = l->data;
        VFIODevice *vbasedev = &vdev->vbasedev;
        JsonObject *o = json_object_new();
        g_autofree char *addr = g_strdup_printf("%02x:%02x.%x",
                                                pci_bus_num(pci_get_bus(&vdev->pdev)),
                                                PCI_SLOT(vdev->pdev.devfn),
                                                PCI_FUNC(vdev->pdev.devfn));
        guint cindex = 0;
        uint32_t mmaps = 0;

        if (vbasedev->bcontainer &&
            !g_ptr_array_find(containers, vbasedev->bcontainer, &cindex)) {
            g_ptr_array_add(containers, vbasedev->bcontainer);
            cindex = containers->len - 1;
        }
        if (vbasedev->group && !g_ptr_array_find(groups, vbasedev->group, NULL)) {
            g_ptr_array_add(groups, vbasedev->group);
        }
        for (int i = 0; i < PCI_ROM_SLOT; i++) {
            for (uint32_t j = 0; j < vdev->bars[i].region.nr_mmaps; j++) {
                mmaps += vdev->bars[i].region.mmaps[j].mmap != NULL;
            }
        }
        json_object_set_string_member(o, "id", vdev->pdev.qdev.id ? vdev->pdev.qdev.id : "");
        json_object_set_string_member(o, "host", vbasedev->name);
        json_object_set_string_member(o, "pci-address", addr);
        json_object_set_int_member(o, "group", vbasedev->group ? vbasedev->group->groupid : -1);
        json_object_set_int_member(o, "container", vbasedev->bcontainer ? (gint64)cindex : -1);
        json_object_set_string_member(o, "interrupt-mode",
                                      vfio_pci_interrupt_mode_name(vdev->interrupt));
        json_object_set_int_member(o, "intx-count", (gint64)vdev->intx.count);
        json_object_set_int_member(o, "msi-count", (gint64)vdev->msi_count);
        json_object_set_int_member(o, "mmap-areas", mmaps);
        json_object_set_boolean_member(o, "reset", vbasedev->reset_works);
        json_object_set_boolean_member(o, "bus-reset", vdev->has_bus_reset);
        json_object_set_int_member(o, "hot-resets", (gint64)vdev->hot_resets);
        json_object_set_string_member(o, "enable-migration",
                                      vdev->enable_migration == ON_OFF_AUTO_ON ? "on" :
                                      vdev->enable_migration == ON_OFF_AUTO_OFF ? "off" :
                                      "auto");
        json_array_add_object_element(devices, o);
    }
    for (guint i = 0; i < groups->len; i++) {
        VFIOGroup *group = g_ptr_array_index(groups, i);
        JsonObject *o = json_object_new();
        JsonArray *members = json_array_new();
        guint cindex = 0;

        for (GList *l = group->device_list; l; l = l->next) {
            json_array_add_string_element(members, ((VFIODevice *)l->data)->name);
        }
        g_ptr_array_find(containers, &group->container->bcontainer, &cindex);
        json_object_set_int_member(o, "group", group->groupid);
        json_object_set_int_member(o, "container", cindex);
        json_object_set_array_member(o, "devices", members);
        json_array_add_object_element(group_list, o);
    }
    for (guint i = 0; i < containers->len; i++) {
        json_array_add_object_element(container_list,
                                      vfio_qmp_container(g_ptr_array_index(containers, i), i));
    }
    json_object_set_array_member(reply, "devices", devices);
    json_object_set_array_member(reply, "groups", group_list);
    json_object_set_array_member(reply, "containers", container_list);
    *ret = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(*ret, reply);
    return true;
}

static void __attribute__((constructor)) vfio_qmp_register(void)
{
    qmp_register_command("query-vfio", qmp_query_vfio, QCO_NO_OPTIONS);
}
