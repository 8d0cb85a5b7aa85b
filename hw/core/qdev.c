/*
 * The device model: devices, buses, realize/unrealize, reset, hot-unplug,
 * paths and GPIOs (include/hw/qdev-core.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "trace/trace-hw_core.h"

/* The machine's root bus; created on first use, dropped by qdev_machine_teardown. */
static BusState *main_system_bus;
/* Counters for "/machine/peripheral-anon/device[N]" and "/machine/unattached/device[N]". */
static unsigned anon_device_count;
static unsigned unattached_device_count;

/* ------------------------------------------------------------------ */
/* Classes */

void device_class_set_parent_realize(DeviceClass *dc, DeviceRealize dev_realize,
                                     DeviceRealize *parent_realize)
{
    *parent_realize = dc->realize;
    dc->realize = dev_realize;
}

void device_class_set_parent_unrealize(DeviceClass *dc, DeviceUnrealize dev_unrealize,
                                       DeviceUnrealize *parent_unrealize)
{
    *parent_unrealize = dc->unrealize;
    dc->unrealize = dev_unrealize;
}

void device_class_set_legacy_reset(DeviceClass *dc, DeviceReset reset)
{
    dc->reset = reset;
}

void device_class_set_props_n(DeviceClass *dc, const Property *props, unsigned n)
{
    object_class_set_props(OBJECT_CLASS(dc), props, n);
}

static void device_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->user_creatable = true;
    dc->hotpluggable = true;
}

static void gpio_list_free(gpointer data)
{
    NamedGPIOList *ngl = data;

    qemu_free_irqs(ngl->in, ngl->num_in);
    g_free(ngl->out);
    g_free(ngl->name);
    g_free(ngl);
}

static void device_finalize(Object *obj)
{
    DeviceState *dev = DEVICE(obj);

    assert(!dev->realized);
    g_slist_free_full(dev->child_buses, object_unref);
    g_slist_free_full(dev->gpios, gpio_list_free);
    g_free(dev->id);
    g_free(dev->canonical_path);
    g_free(dev->machine_child_name);
}

static void bus_finalize(Object *obj)
{
    BusState *bus = BUS(obj);

    assert(g_queue_is_empty(&bus->children));
    g_free(bus->name);
}

static void system_bus_class_init(ObjectClass *klass, void *data)
{
}

static void sys_bus_device_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->bus_type = TYPE_SYSTEM_BUS;
    dc->user_creatable = false;
}

static const TypeInfo qdev_types[] = {
    {
        .name = TYPE_DEVICE,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(DeviceState),
        .instance_finalize = device_finalize,
        .abstract = true,
        .class_size = sizeof(DeviceClass),
        .class_init = device_class_init,
    },
    {
        .name = TYPE_BUS,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(BusState),
        .instance_finalize = bus_finalize,
        .abstract = true,
        .class_size = sizeof(BusClass),
    },
    {
        .name = TYPE_SYSTEM_BUS,
        .parent = TYPE_BUS,
        .class_init = system_bus_class_init,
    },
    {
        .name = TYPE_SYS_BUS_DEVICE,
        .parent = TYPE_DEVICE,
        .abstract = true,
        .class_init = sys_bus_device_class_init,
    },
};

static void qdev_register_types(void)
{
    type_register_static_array(qdev_types, ARRAY_SIZE(qdev_types));
}

type_init(qdev_register_types)

/* ------------------------------------------------------------------ */
/* Buses */

BusState *qbus_new(const char *typename, DeviceState *parent, const char *name)
{
    BusState *bus = BUS(object_new(typename));

    if (name) {
        bus->name = g_strdup(name);
    } else if (parent) {
        bus->name = g_strdup_printf("%s.%u", parent->id ? parent->id
                                             : object_get_typename(OBJECT(parent)),
                                    g_slist_length(parent->child_buses));
    } else {
        bus->name = g_strdup(typename);
    }
    g_queue_init(&bus->children);
    bus->parent = parent;
    if (parent) {
        parent->child_buses = g_slist_append(parent->child_buses, bus);
    }
    return bus;
}

void qbus_set_hotplug_handler(BusState *bus, const HotplugHandlerOps *ops, void *opaque)
{
    bus->hotplug_ops = ops;
    bus->hotplug_opaque = opaque;
}

BusState *sysbus_get_default(void)
{
    if (!main_system_bus) {
        main_system_bus = qbus_new(TYPE_SYSTEM_BUS, NULL, "main-system-bus");
    }
    return main_system_bus;
}

void qbus_foreach_child(BusState *bus, void (*fn)(DeviceState *dev, void *opaque),
                        void *opaque)
{
    for (GList *l = bus->children.head; l;) {
        BusChild *kid = l->data;

        l = l->next;    /* @fn may unplug the child */
        fn(kid->child, opaque);
    }
}

/*
 * Depth-first walk: @dev_fn for each device (before its buses), @bus_fn for
 * each bus.  Either returning true stops the walk and returns true.
 */
typedef struct QdevWalk {
    bool (*dev_fn)(DeviceState *dev, void *opaque);
    bool (*bus_fn)(BusState *bus, void *opaque);
    void *opaque;
} QdevWalk;

static bool qbus_walk(BusState *bus, const QdevWalk *w)
{
    if (w->bus_fn && w->bus_fn(bus, w->opaque)) {
        return true;
    }
    for (GList *l = bus->children.head; l; l = l->next) {
        BusChild *kid = l->data;

        if (w->dev_fn && w->dev_fn(kid->child, w->opaque)) {
            return true;
        }
        for (GSList *b = kid->child->child_buses; b; b = b->next) {
            if (qbus_walk(b->data, w)) {
                return true;
            }
        }
    }
    return false;
}

typedef struct FindBus {
    const char *name;
    const char *typename;
    BusState *found;
} FindBus;

static bool find_bus_by_name(BusState *bus, void *opaque)
{
    FindBus *f = opaque;

    if (!strcmp(bus->name, f->name)) {
        f->found = bus;
        return true;
    }
    return false;
}

BusState *qbus_find_by_name(const char *name)
{
    FindBus f = { .name = name };
    QdevWalk w = { .bus_fn = find_bus_by_name, .opaque = &f };

    qbus_walk(sysbus_get_default(), &w);
    return f.found;
}

static bool qbus_has_room(BusState *bus)
{
    BusClass *bc = BUS_GET_CLASS(bus);

    return !bc->max_dev || (int)g_queue_get_length(&bus->children) < bc->max_dev;
}

BusState *qbus_find_free(const char *typename)
{
    GQueue queue = G_QUEUE_INIT;
    BusState *found = NULL;

    /* Breadth first, as QEMU's qbus_find_recursive for -device without bus=. */
    g_queue_push_tail(&queue, sysbus_get_default());
    while (!g_queue_is_empty(&queue)) {
        BusState *bus = g_queue_pop_head(&queue);

        if (object_dynamic_cast(OBJECT(bus), typename) && qbus_has_room(bus)) {
            found = bus;
            break;
        }
        for (GList *l = bus->children.head; l; l = l->next) {
            BusChild *kid = l->data;

            for (GSList *b = kid->child->child_buses; b; b = b->next) {
                g_queue_push_tail(&queue, b->data);
            }
        }
    }
    g_queue_clear(&queue);
    return found;
}

static void bus_add_child(BusState *bus, DeviceState *dev)
{
    BusChild *kid = g_new0(BusChild, 1);

    kid->child = dev;
    kid->index = bus->max_index++;
    object_ref(dev);
    g_queue_push_tail(&bus->children, kid);
    dev->parent_bus = bus;
}

/* Drops the bus's reference: may free @dev. */
static void bus_remove_child(BusState *bus, DeviceState *dev)
{
    for (GList *l = bus->children.head; l; l = l->next) {
        BusChild *kid = l->data;

        if (kid->child == dev) {
            g_queue_delete_link(&bus->children, l);
            g_free(kid);
            dev->parent_bus = NULL;
            object_unref(dev);
            return;
        }
    }
    g_assert_not_reached();
}

/* ------------------------------------------------------------------ */
/* Devices */

DeviceState *qdev_try_new(const char *typename)
{
    ObjectClass *klass = object_class_by_name(typename);

    if (!klass || object_class_is_abstract(klass) ||
        !object_class_dynamic_cast(klass, TYPE_DEVICE)) {
        return NULL;
    }
    return DEVICE(object_new_with_class(klass));
}

DeviceState *qdev_new(const char *typename)
{
    DeviceState *dev = qdev_try_new(typename);

    if (!dev) {
        fprintf(stderr, "unknown or abstract device type '%s'\n", typename);
        abort();
    }
    return dev;
}

void qdev_set_machine_child(DeviceState *dev, const char *name)
{
    assert(!dev->realized);
    g_free(dev->machine_child_name);
    dev->machine_child_name = g_strdup(name);
}

bool qdev_set_id(DeviceState *dev, const char *id, Error **errp)
{
    assert(!dev->realized);
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier ('%s')", id);
        return false;
    }
    g_free(dev->id);
    dev->id = g_strdup(id);
    return true;
}

const char *qdev_get_path(const DeviceState *dev)
{
    return dev->canonical_path;
}

static char *qdev_make_path(DeviceState *dev)
{
    if (dev->machine_child_name) {
        return g_strdup_printf("/machine/%s", dev->machine_child_name);
    }
    if (dev->user_created && dev->id) {
        return g_strdup_printf("/machine/peripheral/%s", dev->id);
    }
    if (dev->user_created) {
        return g_strdup_printf("/machine/peripheral-anon/device[%u]", anon_device_count++);
    }
    return g_strdup_printf("/machine/unattached/device[%u]", unattached_device_count++);
}

typedef struct FindDev {
    const char *key;
    gchar **parts;              /* partial path components, for resolve */
    DeviceState *found;
    unsigned matches;
} FindDev;

static bool find_dev_by_id(DeviceState *dev, void *opaque)
{
    FindDev *f = opaque;

    if (dev->id && !strcmp(dev->id, f->key)) {
        f->found = dev;
        return true;
    }
    return false;
}

DeviceState *qdev_find_recursive(BusState *bus, const char *id)
{
    FindDev f = { .key = id };
    QdevWalk w = { .dev_fn = find_dev_by_id, .opaque = &f };

    qbus_walk(bus, &w);
    return f.found;
}

static bool find_dev_by_path(DeviceState *dev, void *opaque)
{
    FindDev *f = opaque;

    if (dev->canonical_path && !strcmp(dev->canonical_path, f->key)) {
        f->found = dev;
        f->matches = 1;
        return true;
    }
    return false;
}

/* The trailing components of @dev's canonical path equal f->parts. */
static bool find_dev_by_partial_path(DeviceState *dev, void *opaque)
{
    FindDev *f = opaque;
    g_auto(GStrv) comps = NULL;
    guint nc, np;

    if (!dev->canonical_path) {
        return false;
    }
    comps = g_strsplit(dev->canonical_path + 1, "/", -1);
    nc = g_strv_length(comps);
    np = g_strv_length(f->parts);
    if (np == 0 || np > nc) {
        return false;
    }
    for (guint i = 0; i < np; i++) {
        if (strcmp(comps[nc - np + i], f->parts[i])) {
            return false;
        }
    }
    if (f->found != dev) {
        f->matches++;
        f->found = dev;
    }
    return false;
}

DeviceState *qdev_resolve_path(const char *path, bool *ambiguous)
{
    FindDev f = { .key = path };
    QdevWalk w = { .opaque = &f };

    if (ambiguous) {
        *ambiguous = false;
    }
    if (!path || !*path) {
        return NULL;
    }
    if (path[0] == '/') {
        w.dev_fn = find_dev_by_path;
        qbus_walk(sysbus_get_default(), &w);
        return f.found;
    }
    if (!strchr(path, '/')) {
        DeviceState *dev = qdev_find_recursive(sysbus_get_default(), path);

        if (dev) {
            return dev;
        }
    }
    f.parts = g_strsplit(path, "/", -1);
    w.dev_fn = find_dev_by_partial_path;
    qbus_walk(sysbus_get_default(), &w);
    g_strfreev(f.parts);
    if (f.matches > 1) {
        if (ambiguous) {
            *ambiguous = true;
        }
        return NULL;
    }
    return f.found;
}

typedef struct ForeachDev {
    void (*fn)(DeviceState *dev, void *opaque);
    void *opaque;
} ForeachDev;

static bool foreach_dev(DeviceState *dev, void *opaque)
{
    ForeachDev *f = opaque;

    f->fn(dev, f->opaque);
    return false;
}

void qdev_foreach(void (*fn)(DeviceState *dev, void *opaque), void *opaque)
{
    ForeachDev f = { fn, opaque };
    QdevWalk w = { .dev_fn = foreach_dev, .opaque = &f };

    qbus_walk(sysbus_get_default(), &w);
}

bool qdev_realize(DeviceState *dev, BusState *bus, Error **errp)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);
    const char *typename = object_get_typename(OBJECT(dev));
    const char *bus_type = dc->bus_type ? dc->bus_type : TYPE_SYSTEM_BUS;
    BusClass *bc;

    assert(!dev->realized && !dev->parent_bus);
    if (!bus) {
        if (strcmp(bus_type, TYPE_SYSTEM_BUS)) {
            error_setg(errp, "No '%s' bus found for device '%s'", bus_type, typename);
            return false;
        }
        bus = sysbus_get_default();
    }
    if (!object_dynamic_cast(OBJECT(bus), bus_type)) {
        error_setg(errp, "Device '%s' can't go on %s bus", typename,
                   object_get_typename(OBJECT(bus)));
        return false;
    }
    if (!qbus_has_room(bus)) {
        error_setg(errp, "Bus '%s' is full", bus->name);
        return false;
    }
    if (dev->id && qdev_find_recursive(sysbus_get_default(), dev->id)) {
        error_setg(errp, "Duplicate ID '%s' for device", dev->id);
        return false;
    }
    bc = BUS_GET_CLASS(bus);
    if (bc->check_address && !bc->check_address(bus, dev, errp)) {
        return false;
    }
    if (bus->hotplug_ops && bus->hotplug_ops->pre_plug &&
        !bus->hotplug_ops->pre_plug(bus->hotplug_opaque, dev, errp)) {
        return false;
    }

    bus_add_child(bus, dev);
    dev->canonical_path = qdev_make_path(dev);
    trace_qdev_realize(typename, dev->canonical_path, bus->name);
    if (dc->realize && !dc->realize(dev, errp)) {
        /* Leave nothing behind: the device is as before the call. */
        trace_qdev_realize_failed(typename, dev->canonical_path);
        g_clear_pointer(&dev->canonical_path, g_free);
        object_ref(dev);
        bus_remove_child(bus, dev);
        object_unref(dev);
        return false;
    }
    dev->realized = true;
    if (bus->hotplug_ops && bus->hotplug_ops->plug) {
        bus->hotplug_ops->plug(bus->hotplug_opaque, dev);
    }
    return true;
}

bool qdev_realize_and_unref(DeviceState *dev, BusState *bus, Error **errp)
{
    bool ok = qdev_realize(dev, bus, errp);

    object_unref(dev);
    return ok;
}

static void qbus_unrealize_children(BusState *bus)
{
    /* Last plugged first, the reverse of creation. */
    while (!g_queue_is_empty(&bus->children)) {
        BusChild *kid = g_queue_peek_tail(&bus->children);

        qdev_unrealize(kid->child);
    }
}

void qdev_unrealize(DeviceState *dev)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);
    BusState *bus = dev->parent_bus;

    if (!dev->realized) {
        return;
    }
    trace_qdev_unrealize(object_get_typename(OBJECT(dev)), dev->canonical_path);
    object_ref(dev);
    for (GSList *l = dev->child_buses; l; l = l->next) {
        qbus_unrealize_children(l->data);
    }
    if (dc->unrealize) {
        dc->unrealize(dev);
    }
    dev->realized = false;
    dev->pending_deletion = false;
    if (bus) {
        bus_remove_child(bus, dev);
    }
    object_unref(dev);
}

static JsonObject *device_deleted_data(const char *id, const char *path)
{
    JsonObject *data = json_object_new();

    if (id) {
        json_object_set_string_member(data, "device", id);
    }
    json_object_set_string_member(data, "path", path);
    return data;
}

void qdev_unplug_complete(DeviceState *dev)
{
    BusState *bus = dev->parent_bus;
    g_autofree char *id = g_strdup(dev->id);
    g_autofree char *path = g_strdup(dev->canonical_path);
    JsonObject *data;

    trace_qdev_unplug_complete(object_get_typename(OBJECT(dev)), path);
    object_ref(dev);
    if (bus && bus->hotplug_ops && bus->hotplug_ops->unplug) {
        bus->hotplug_ops->unplug(bus->hotplug_opaque, dev);
    }
    qdev_unrealize(dev);
    object_unref(dev);

    data = device_deleted_data(id, path);
    qapi_event_send("DEVICE_DELETED", data);
    json_object_unref(data);
}

bool qdev_unplug(DeviceState *dev, Error **errp)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);
    BusState *bus = dev->parent_bus;
    const HotplugHandlerOps *ops = bus ? bus->hotplug_ops : NULL;

    if (!dev->realized) {
        error_setg(errp, "Device '%s' is not realized", object_get_typename(OBJECT(dev)));
        return false;
    }
    if (!dc->hotpluggable) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   object_get_typename(OBJECT(dev)));
        return false;
    }
    if (!ops || (!ops->unplug_request && !ops->unplug)) {
        error_setg(errp, "Bus '%s' does not support hotplugging",
                   bus ? bus->name : "(none)");
        return false;
    }
    if (dev->pending_deletion) {
        error_setg(errp, "Device %s is already in the process of unplug",
                   dev->id ? dev->id : dev->canonical_path);
        return false;
    }
    trace_qdev_unplug(object_get_typename(OBJECT(dev)), dev->canonical_path);
    dev->pending_deletion = true;
    if (!ops->unplug_request) {
        qdev_unplug_complete(dev);
        return true;
    }
    object_ref(dev);
    if (!ops->unplug_request(bus->hotplug_opaque, dev, errp)) {
        dev->pending_deletion = false;
        object_unref(dev);
        return false;
    }
    object_unref(dev);
    return true;
}

void device_cold_reset(DeviceState *dev)
{
    DeviceClass *dc = DEVICE_GET_CLASS(dev);

    for (GSList *b = dev->child_buses; b; b = b->next) {
        bus_cold_reset(b->data);
    }
    trace_qdev_reset(object_get_typename(OBJECT(dev)),
                     dev->canonical_path ? dev->canonical_path : "");
    if (dc->reset) {
        dc->reset(dev);
    }
}

void bus_cold_reset(BusState *bus)
{
    for (GList *l = bus->children.head; l; l = l->next) {
        BusChild *kid = l->data;

        device_cold_reset(kid->child);
    }
}

void qdev_machine_teardown(void)
{
    if (!main_system_bus) {
        return;
    }
    qbus_unrealize_children(main_system_bus);
    object_unref(main_system_bus);
    main_system_bus = NULL;
    anon_device_count = 0;
    unattached_device_count = 0;
}

/* ------------------------------------------------------------------ */
/* GPIOs */

static NamedGPIOList *gpio_list_get(DeviceState *dev, const char *name)
{
    NamedGPIOList *ngl = qdev_get_named_gpio_list(dev, name);

    if (!ngl) {
        ngl = g_new0(NamedGPIOList, 1);
        ngl->name = g_strdup(name);
        dev->gpios = g_slist_append(dev->gpios, ngl);
    }
    return ngl;
}

NamedGPIOList *qdev_get_named_gpio_list(DeviceState *dev, const char *name)
{
    for (GSList *l = dev->gpios; l; l = l->next) {
        NamedGPIOList *ngl = l->data;

        if (g_strcmp0(ngl->name, name) == 0) {
            return ngl;
        }
    }
    return NULL;
}

void qdev_init_gpio_in_named_with_opaque(DeviceState *dev, qemu_irq_handler handler,
                                         void *opaque, const char *name, int n)
{
    NamedGPIOList *ngl = gpio_list_get(dev, name);

    assert(n >= 0);
    ngl->in = g_renew(qemu_irq, ngl->in, ngl->num_in + n);
    for (int i = 0; i < n; i++) {
        ngl->in[ngl->num_in + i] = qemu_allocate_irq(handler, opaque, ngl->num_in + i);
    }
    ngl->num_in += n;
}

void qdev_init_gpio_in_named(DeviceState *dev, qemu_irq_handler handler, const char *name,
                             int n)
{
    qdev_init_gpio_in_named_with_opaque(dev, handler, dev, name, n);
}

void qdev_init_gpio_in(DeviceState *dev, qemu_irq_handler handler, int n)
{
    qdev_init_gpio_in_named(dev, handler, NULL, n);
}

void qdev_init_gpio_out_named(DeviceState *dev, qemu_irq *pins, const char *name, int n)
{
    NamedGPIOList *ngl = gpio_list_get(dev, name);

    assert(n >= 0);
    ngl->out = g_renew(qemu_irq *, ngl->out, ngl->num_out + n);
    for (int i = 0; i < n; i++) {
        ngl->out[ngl->num_out + i] = &pins[i];
    }
    ngl->num_out += n;
}

void qdev_init_gpio_out(DeviceState *dev, qemu_irq *pins, int n)
{
    qdev_init_gpio_out_named(dev, pins, NULL, n);
}

qemu_irq qdev_get_gpio_in_named(DeviceState *dev, const char *name, int n)
{
    NamedGPIOList *ngl = qdev_get_named_gpio_list(dev, name);

    assert(ngl && n >= 0 && n < ngl->num_in);
    return ngl->in[n];
}

qemu_irq qdev_get_gpio_in(DeviceState *dev, int n)
{
    return qdev_get_gpio_in_named(dev, NULL, n);
}

void qdev_connect_gpio_out_named(DeviceState *dev, const char *name, int n, qemu_irq pin)
{
    NamedGPIOList *ngl = qdev_get_named_gpio_list(dev, name);

    assert(ngl && n >= 0 && n < ngl->num_out);
    *ngl->out[n] = pin;
}

void qdev_connect_gpio_out(DeviceState *dev, int n, qemu_irq pin)
{
    qdev_connect_gpio_out_named(dev, NULL, n, pin);
}
