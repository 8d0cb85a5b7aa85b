/*
 * The q35-like PC machine: RAM layout, interrupt controller, PCI host
 * bridge hook (include/hw/i386/q35.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/i386/q35.h"
#include "hw/qdev-properties.h"
#include "trace/trace-hw_i386.h"

/* ------------------------------------------------------------------ */
/* The interrupt controller: 24 GSI inputs. */

OBJECT_DECLARE_SIMPLE_TYPE(IOAPICState, IOAPIC)

struct IOAPICState {
    DeviceState parent_obj;
    /* Bit N: GSI N is high. */
    uint32_t levels;
};

static void ioapic_set_irq(void *opaque, int n, int level)
{
    IOAPICState *s = opaque;
    uint32_t bit = 1u << n;

    trace_ioapic_set_irq(n, level);
    s->levels = level ? (s->levels | bit) : (s->levels & ~bit);
}

static void ioapic_instance_init(Object *obj)
{
    DeviceState *dev = DEVICE(obj);

    qdev_init_gpio_in_named_with_opaque(dev, ioapic_set_irq, dev, NULL, IOAPIC_NUM_PINS);
}

uint32_t ioapic_get_levels(DeviceState *ioapic)
{
    return IOAPIC(ioapic)->levels;
}

static void ioapic_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "I/O APIC (GSI inputs only)";
    dc->hotpluggable = false;
}

/* ------------------------------------------------------------------ */
/* The machine */

Q35MachineState *q35_machine_get(void)
{
    return current_machine ? (Q35MachineState *)object_dynamic_cast(OBJECT(current_machine),
                                                                    TYPE_Q35_MACHINE)
                           : NULL;
}

/* Set @name on @dev from @value if the host bridge has such a property. */
static bool host_set_if_present(DeviceState *dev, const char *name, uint64_t value,
                                Error **errp)
{
    g_autofree char *str = NULL;

    if (!object_class_property_find(OBJECT(dev)->klass, name)) {
        return true;
    }
    str = g_strdup_printf("%" PRIu64, value);
    return qdev_prop_parse(dev, name, str, errp);
}

/*
 * The PCI host bridge comes from hw/pci/ when it is linked in: created by
 * name so that the machine builds without it (see include/hw/i386/q35.h).
 */
static bool q35_create_host(Q35MachineState *q35, Error **errp)
{
    DeviceState *host;
    NamedGPIOList *out;

    if (!object_class_by_name(Q35_HOST_TYPE)) {
        trace_q35_no_host_bridge(Q35_HOST_TYPE);
        return true;
    }
    host = qdev_new(Q35_HOST_TYPE);
    qdev_set_machine_child(host, "q35");
    if (!host_set_if_present(host, "below-4g-mem-size", q35->below_4g_mem_size, errp) ||
        !host_set_if_present(host, "above-4g-mem-size", q35->above_4g_mem_size, errp) ||
        !host_set_if_present(host, "pci-hole64-start", q35->pci_hole64_start, errp) ||
        !host_set_if_present(host, "pci-hole64-size", q35->pci_hole64_size, errp)) {
        object_unref(host);
        return false;
    }
    if (!qdev_realize(host, NULL, errp)) {
        object_unref(host);
        return false;
    }
    out = qdev_get_named_gpio_list(host, NULL);
    for (int i = 0; out && i < Q35_NUM_PIRQS && i < out->num_out; i++) {
        qdev_connect_gpio_out(host, i, q35->gsi[Q35_PIRQ_GSI_BASE + i]);
    }
    q35->host = host;
    object_unref(host);     /* the system bus holds it */
    return true;
}

static bool q35_init(MachineState *ms, Error **errp)
{
    Q35MachineState *q35 = Q35_MACHINE(ms);
    MemoryRegion *sysmem = get_system_memory();

    /*
     * QEMU's q35 rule: leave room below 4 GiB for the ECAM window and the
     * 32-bit PCI hole; RAM that does not fit below 0xb0000000 is split at
     * 2 GiB so that 1 GiB-aligned guest addresses stay 1 GiB-aligned in
     * the host.
     */
    if (ms->ram_size >= Q35_LOWMEM_SPLIT) {
        q35->below_4g_mem_size = Q35_LOWMEM_WHEN_SPLIT;
    } else {
        q35->below_4g_mem_size = ms->ram_size;
    }
    q35->above_4g_mem_size = ms->ram_size - q35->below_4g_mem_size;
    q35->pci_hole32_start = Q35_ECAM_BASE + Q35_ECAM_SIZE;
    q35->pci_hole64_start = ROUND_UP(4 * GiB + q35->above_4g_mem_size, GiB);
    q35->pci_hole64_size = Q35_PCI_HOLE64_SIZE;
    trace_q35_init(ms->ram_size, q35->below_4g_mem_size, q35->above_4g_mem_size);

    if (!memory_region_init_alias_checked(&q35->ram_below_4g, ms, "ram-below-4g", ms->ram, 0,
                                          q35->below_4g_mem_size, errp)) {
        return false;
    }
    memory_region_add_subregion(sysmem, 0, &q35->ram_below_4g);
    if (q35->above_4g_mem_size) {
        if (!memory_region_init_alias_checked(&q35->ram_above_4g, ms, "ram-above-4g",
                                              ms->ram, q35->below_4g_mem_size,
                                              q35->above_4g_mem_size, errp)) {
            return false;
        }
        memory_region_add_subregion(sysmem, 4 * GiB, &q35->ram_above_4g);
    }

    q35->ioapic = qdev_new(TYPE_IOAPIC);
    qdev_set_machine_child(q35->ioapic, "ioapic");
    if (!qdev_realize_and_unref(q35->ioapic, NULL, errp)) {
        q35->ioapic = NULL;
        return false;
    }
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        q35->gsi[i] = qdev_get_gpio_in(q35->ioapic, i);
    }
    return q35_create_host(q35, errp);
}

/* After the devices are gone (qdev_machine_teardown): unmap RAM. */
static void q35_teardown(MachineState *ms)
{
    Q35MachineState *q35 = Q35_MACHINE(ms);

    memory_region_unparent(&q35->ram_below_4g);
    memory_region_unparent(&q35->ram_above_4g);
    q35->ioapic = NULL;
    q35->host = NULL;
}

static void q35_machine_class_init(ObjectClass *klass, void *data)
{
    MachineClass *mc = MACHINE_CLASS(klass);

    mc->name = "q35";
    mc->alias = "pc-q35";
    mc->desc = "Standard PC (Q35 + ICH9, 2009)";
    mc->is_default = true;
    mc->default_ram_size = 128 * MiB;
    mc->default_ram_id = "pc.ram";
    mc->init = q35_init;
    mc->teardown = q35_teardown;
}

static const TypeInfo q35_types[] = {
    {
        .name = TYPE_IOAPIC,
        .parent = TYPE_SYS_BUS_DEVICE,
        .instance_size = sizeof(IOAPICState),
        .instance_init = ioapic_instance_init,
        .class_init = ioapic_class_init,
    },
    {
        .name = TYPE_Q35_MACHINE,
        .parent = TYPE_MACHINE,
        .instance_size = sizeof(Q35MachineState),
        .class_init = q35_machine_class_init,
    },
};

static void q35_register_types(void)
{
    type_register_static_array(q35_types, ARRAY_SIZE(q35_types));
}

type_init(q35_register_types)
