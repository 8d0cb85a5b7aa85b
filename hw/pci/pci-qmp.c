/*
 * QMP query-pci: the buses and devices as QEMU reports them.
 *
 * Reply (QEMU's PciInfo list, the fields Aperture has):
 *   [{"bus": 0, "devices": [{"bus": 0, "slot": S, "function": F,
 *     "class_info": {"desc": "...", "class": C},
 *     "id": {"vendor": V, "device": D, "subsystem-vendor": SV, "subsystem": SD},
 *     "irq_pin": P, "irq": LINE (only when P != 0),
 *     "qdev_id": ID or "",
 *     "regions": [{"bar": N, "type": "io"|"memory", "address": A, "size": S,
 *                  "prefetch": B, "mem_type_64": B (memory only)}]}]}]
 * "address" is where the BAR is mapped now, or -1 while unmapped (QEMU's
 * PCI_BAR_UNMAPPED through a signed QAPI int); "irq" is the interrupt line
 * register.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "hw/pci/pci-host.h"

typedef struct PCIClassDesc {
    uint16_t class;
    const char *desc;
} PCIClassDesc;

/* QEMU's descriptions for the classes Aperture's devices use. */
static const PCIClassDesc pci_class_descs[] = {
    { 0x0100, "SCSI controller" },
    { 0x0101, "IDE controller" },
    { 0x0106, "SATA controller" },
    { 0x0108, "NVMe controller" },
    { 0x0180, "Storage controller" },
    { 0x0200, "Ethernet controller" },
    { 0x0280, "Network controller" },
    { 0x0300, "VGA controller" },
    { 0x0302, "3D controller" },
    { 0x0380, "Display controller" },
    { 0x0400, "Video controller" },
    { 0x0401, "Audio controller" },
    { 0x0403, "Audio controller" },
    { 0x0480, "Multimedia controller" },
    { 0x0500, "RAM controller" },
    { 0x0580, "Memory controller" },
    { 0x0600, "Host bridge" },
    { 0x0601, "ISA bridge" },
    { 0x0604, "PCI bridge" },
    { 0x0680, "Bridge" },
    { 0x0700, "Serial port" },
    { 0x0800, "Interrupt controller" },
    { 0x0801, "DMA controller" },
    { 0x0880, "System peripheral" },
    { 0x0c03, "USB controller" },
    { 0x0c05, "SMBus" },
    { 0x1200, "Processing accelerators" },
};

static const char *pci_class_desc(uint16_t class)
{
    for (size_t i = 0; i < ARRAY_SIZE(pci_class_descs); i++) {
        if (pci_class_descs[i].class == class) {
            return pci_class_descs[i].desc;
        }
    }
    return NULL;
}

static JsonArray *query_pci_regions(PCIDevice *dev)
{
    JsonArray *regions = json_array_new();

    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &dev->io_regions[i];
        JsonObject *o;

        if (!r->size) {
            continue;
        }
        o = json_object_new();
        json_object_set_int_member(o, "bar", i);
        if (r->type & PCI_BASE_ADDRESS_SPACE_IO) {
            json_object_set_string_member(o, "type", "io");
        } else {
            json_object_set_string_member(o, "type", "memory");
            json_object_set_boolean_member(o, "prefetch",
                                           r->type & PCI_BASE_ADDRESS_MEM_PREFETCH);
            json_object_set_boolean_member(o, "mem_type_64",
                                           r->type & PCI_BASE_ADDRESS_MEM_TYPE_64);
        }
        /* JSON integers are signed 64-bit: the unmapped value prints as -1. */
        json_object_set_int_member(o, "address", (gint64)r->addr);
        json_object_set_int_member(o, "size", (gint64)r->size);
        json_array_add_object_element(regions, o);
    }
    return regions;
}

static void query_pci_device(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    JsonArray *devices = opaque;
    JsonObject *o = json_object_new();
    JsonObject *class_info = json_object_new();
    JsonObject *id = json_object_new();
    uint16_t class = pci_get_word(dev->config + PCI_CLASS_DEVICE);
    const char *desc = pci_class_desc(class);
    uint8_t pin = dev->config[PCI_INTERRUPT_PIN];

    json_object_set_int_member(o, "bus", pci_bus_num(bus));
    json_object_set_int_member(o, "slot", PCI_SLOT(dev->devfn));
    json_object_set_int_member(o, "function", PCI_FUNC(dev->devfn));
    if (desc) {
        json_object_set_string_member(class_info, "desc", desc);
    }
    json_object_set_int_member(class_info, "class", class);
    json_object_set_object_member(o, "class_info", class_info);
    json_object_set_int_member(id, "device", pci_get_word(dev->config + PCI_DEVICE_ID));
    json_object_set_int_member(id, "vendor", pci_get_word(dev->config + PCI_VENDOR_ID));
    json_object_set_int_member(id, "subsystem", pci_get_word(dev->config + PCI_SUBSYSTEM_ID));
    json_object_set_int_member(id, "subsystem-vendor",
                               pci_get_word(dev->config + PCI_SUBSYSTEM_VENDOR_ID));
    json_object_set_object_member(o, "id", id);
    if (pin) {
        json_object_set_int_member(o, "irq", dev->config[PCI_INTERRUPT_LINE]);
    }
    json_object_set_int_member(o, "irq_pin", pin);
    json_object_set_string_member(o, "qdev_id", dev->qdev.id ? dev->qdev.id : "");
    json_object_set_array_member(o, "regions", query_pci_regions(dev));
    json_array_add_object_element(devices, o);
}

static bool qmp_query_pci(JsonObject *args, JsonNode **ret, Error **errp)
{
    PCIHostState *host = pci_host_get_default();
    JsonArray *list = json_array_new();

    if (host && host->bus) {
        JsonObject *bus = json_object_new();
        JsonArray *devices = json_array_new();

        pci_for_each_device(host->bus, query_pci_device, devices);
        json_object_set_int_member(bus, "bus", pci_bus_num(host->bus));
        json_object_set_array_member(bus, "devices", devices);
        json_array_add_object_element(list, bus);
    }
    *ret = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(*ret, list);
    return true;
}

static void __attribute__((constructor)) pci_qmp_register(void)
{
    qmp_register_command("query-pci", qmp_query_pci, QCO_NO_OPTIONS);
}
