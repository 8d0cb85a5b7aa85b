/*
 * The device model: devices, buses, realize/unrealize, reset, hot-unplug.
 *
 * A device type derives from TYPE_DEVICE (qom/object.h for the type
 * machinery).  Its class says which bus it plugs into (bus_type), how to
 * realize and unrealize it, how to reset it, and which properties it has
 * (hw/qdev-properties.h).  Adding one takes a TypeInfo, a class_init that
 * fills DeviceClass, and a Property array:
 *
 *     static const Property foo_props[] = {
 *         DEFINE_PROP_STRING("host", FooState, host),
 *         DEFINE_PROP_BOOL("x-no-mmap", FooState, no_mmap, false),
 *     };
 *     static void foo_class_init(ObjectClass *klass, void *data)
 *     {
 *         DeviceClass *dc = DEVICE_CLASS(klass);
 *         dc->realize = foo_realize;
 *         dc->desc = "What it is";
 *         device_class_set_props(dc, foo_props);
 *     }
 *
 * Life cycle:
 *   qdev_new()           instance with defaults; properties may be set
 *   qdev_realize()       plugs it into a bus and calls DeviceClass.realize;
 *                        on failure the device is unplugged again and left
 *                        unrealized: nothing of it remains visible
 *   qdev_unrealize()     unrealizes its child buses' devices, then itself,
 *                        and unplugs it from its bus
 *   qdev_unplug()        device_del: asks the bus's hotplug handler; when
 *                        the device is gone, DEVICE_DELETED is sent
 * The parent bus holds a reference on each child; qdev_realize_and_unref()
 * hands the caller's reference to the bus.
 *
 * Paths: a device created with id=ID is "/machine/peripheral/ID"; one created
 * by the user without an id "/machine/peripheral-anon/device[N]"; one the
 * machine creates "/machine/NAME" (qdev_set_machine_child) or
 * "/machine/unattached/device[N]".
 *
 * Threading: main loop thread only.
 */
#ifndef HW_QDEV_CORE_H
#define HW_QDEV_CORE_H

#include "qom/object.h"
#include "hw/irq.h"

#define TYPE_DEVICE "device"
#define TYPE_BUS "bus"

OBJECT_DECLARE_TYPE(DeviceState, DeviceClass, DEVICE)
OBJECT_DECLARE_TYPE(BusState, BusClass, BUS)

/* Realize: fill *errp and return false on failure, leaving nothing allocated. */
typedef bool (*DeviceRealize)(DeviceState *dev, Error **errp);
typedef void (*DeviceUnrealize)(DeviceState *dev);
typedef void (*DeviceReset)(DeviceState *dev);

/* Categories for `-device help` (QEMU's). */
typedef enum DeviceCategory {
    DEVICE_CATEGORY_BRIDGE,
    DEVICE_CATEGORY_USB,
    DEVICE_CATEGORY_STORAGE,
    DEVICE_CATEGORY_NETWORK,
    DEVICE_CATEGORY_INPUT,
    DEVICE_CATEGORY_DISPLAY,
    DEVICE_CATEGORY_SOUND,
    DEVICE_CATEGORY_MISC,
    DEVICE_CATEGORY_CPU,
    DEVICE_CATEGORY_WATCHDOG,
    DEVICE_CATEGORY_MAX
} DeviceCategory;

struct DeviceClass {
    ObjectClass parent_class;

    /* One line for `-device help`; NULL allowed. */
    const char *desc;
    /* Bits (1 << DeviceCategory) for `-device help` grouping; 0 = "Uncategorized". */
    unsigned long categories;
    /* May be created with -device / device_add (default true for concrete types). */
    bool user_creatable;
    /* May be unplugged while the machine runs (default true). */
    bool hotpluggable;
    /* The bus type it plugs into (TYPE_PCI_BUS ...); NULL: the system bus. */
    const char *bus_type;

    /* Bring the device to life; see DeviceRealize.  NULL: nothing to do. */
    DeviceRealize realize;
    /* Undo realize; cannot fail.  NULL: nothing to do. */
    DeviceUnrealize unrealize;
    /*
     * Cold reset (machine start, system_reset): back to power-on state.
     * Properties are not touched.  NULL: nothing to do.
     */
    DeviceReset reset;
};

/*
 * A line group of a device: the inputs it receives (allocated by qdev,
 * handler in the device) and the outputs it drives (slots the device reads,
 * filled by whoever connects them).
 */
typedef struct NamedGPIOList {
    char *name;         /* NULL for the unnamed group; owned */
    qemu_irq *in;       /* num_in lines; owned */
    int num_in;
    qemu_irq **out;     /* num_out pointers to the device's qemu_irq fields */
    int num_out;
} NamedGPIOList;

struct DeviceState {
    Object parent_obj;

    /* The id given by the user (id=), or NULL; owned.  (parent_obj.id is for -object.) */
    char *id;
    /* See "Paths" above; owned, set when realized. */
    char *canonical_path;
    /* The name the machine gave it (qdev_set_machine_child), or NULL; owned. */
    char *machine_child_name;
    /* Between a successful realize and unrealize. */
    bool realized;
    /* Created from the command line or QMP (affects its path). */
    bool user_created;
    /* An unplug was requested and is in progress (device_del). */
    bool pending_deletion;
    /* The bus it is plugged into while realized (referenced by the bus), or NULL. */
    BusState *parent_bus;
    /* The buses this device provides (BusState *), in creation order. */
    GSList *child_buses;
    /* Its GPIO groups (NamedGPIOList *). */
    GSList *gpios;
};

/* A child of a bus. */
typedef struct BusChild {
    DeviceState *child;     /* referenced */
    int index;              /* order of plugging, for paths */
} BusChild;

/*
 * Hot-plug handler of a bus (QEMU's HotplugHandler interface, as a
 * table).  All callbacks optional.  Without a handler, or without
 * unplug_request and unplug, the bus's devices cannot be unplugged.
 */
typedef struct HotplugHandlerOps {
    /* Before realize: may refuse (slot taken ...). */
    bool (*pre_plug)(void *opaque, DeviceState *dev, Error **errp);
    /* After realize succeeded. */
    void (*plug)(void *opaque, DeviceState *dev);
    /*
     * device_del: start the unplug.  A handler that needs the guest's
     * consent returns with the device still plugged and calls
     * qdev_unplug_complete() later; one that can do it now calls
     * qdev_unplug_complete() itself or leaves it to @unplug.
     * NULL: the device is unplugged at once.
     */
    bool (*unplug_request)(void *opaque, DeviceState *dev, Error **errp);
    /* The device is about to be unrealized and released. */
    void (*unplug)(void *opaque, DeviceState *dev);
} HotplugHandlerOps;

struct BusClass {
    ObjectClass parent_class;

    /* Path component of a child for error messages (PCI: "00:03.0"); g_free'd. */
    char *(*get_dev_path)(DeviceState *dev);
    /* Most children it can take (0: no limit). */
    int max_dev;
    /*
     * Can @dev go on @bus (address free, valid)?  Called by qdev_realize
     * before the device realizes.  NULL: yes.
     */
    bool (*check_address)(BusState *bus, DeviceState *dev, Error **errp);
};

struct BusState {
    Object parent_obj;

    /* Unique bus name ("pcie.0", "main-system-bus"); owned. */
    char *name;
    /* The device providing it (which holds it in child_buses), or NULL for the root. */
    DeviceState *parent;
    /* BusChild * in plugging order. */
    GQueue children;
    /* Children ever plugged: the next BusChild.index. */
    int max_index;
    /* NULL: no hot-plug. */
    const HotplugHandlerOps *hotplug_ops;
    void *hotplug_opaque;
};

/* ---------------------------------------------------------------- types */

/*
 * Set @dc->realize to @dev_realize and store the previous one in
 * *@parent_realize, for a subclass that chains up.
 */
void device_class_set_parent_realize(DeviceClass *dc, DeviceRealize dev_realize,
                                     DeviceRealize *parent_realize);
void device_class_set_parent_unrealize(DeviceClass *dc, DeviceUnrealize dev_unrealize,
                                       DeviceUnrealize *parent_unrealize);
/* QEMU's name for setting DeviceClass.reset. */
void device_class_set_legacy_reset(DeviceClass *dc, DeviceReset reset);

/* ---------------------------------------------------------------- devices */

/* A new unrealized device of @typename; aborts for an unknown or non-device type. */
DeviceState *qdev_new(const char *typename);
/* As qdev_new, NULL for an unknown, abstract or non-device type. */
DeviceState *qdev_try_new(const char *typename);

/*
 * Plug @dev into @bus (NULL: the system bus for a device whose bus_type is
 * NULL; otherwise an error) and realize it.  The bus takes its own
 * reference.  Fails (nothing changed, the caller's reference untouched)
 * when the bus type is wrong, the bus is full, the hotplug handler or the
 * bus refuses, or realize fails.
 */
bool qdev_realize(DeviceState *dev, BusState *bus, Error **errp);
/* qdev_realize, then drop the caller's reference (freeing @dev on failure). */
bool qdev_realize_and_unref(DeviceState *dev, BusState *bus, Error **errp);
/* Unrealize (children first) and unplug from the bus; drops the bus's reference. */
void qdev_unrealize(DeviceState *dev);

/*
 * device_del: unplug a user-visible device.  Fails when it is not
 * hot-pluggable, its bus has no hot-plug handler, or an unplug is
 * already pending.  When the device is gone (now or later),
 * DEVICE_DELETED {"device": id (if any), "path": path} is sent.
 */
bool qdev_unplug(DeviceState *dev, Error **errp);
/*
 * Finish an unplug: hotplug unplug callback, unrealize, DEVICE_DELETED,
 * release.  Called by qdev_unplug or later by a hotplug handler.
 */
void qdev_unplug_complete(DeviceState *dev);

/* Cold reset of @dev and everything below it (children before parents). */
void device_cold_reset(DeviceState *dev);
/* Cold reset of every device on @bus and below. */
void bus_cold_reset(BusState *bus);

/*
 * Name a machine-created device "/machine/@name" (call before realize;
 * e.g. "q35", "ioapic").
 */
void qdev_set_machine_child(DeviceState *dev, const char *name);
/* Set the user id (before realize); fails for an ill-formed id.  Mostly for -device. */
bool qdev_set_id(DeviceState *dev, const char *id, Error **errp);
/* The id, or NULL. */
static inline const char *qdev_get_id(const DeviceState *dev)
{
    return dev->id;
}
/* Canonical path (valid while realized), for messages and events. */
const char *qdev_get_path(const DeviceState *dev);

/*
 * A realized device by id, by canonical path, or by a partial path: a
 * path whose components are the trailing components of exactly one
 * device's canonical path or machine child name ("ioapic",
 * "peripheral/net0").  NULL if none or several match (*ambiguous set when
 * non-NULL).
 */
DeviceState *qdev_find_recursive(BusState *bus, const char *id);
DeviceState *qdev_resolve_path(const char *path, bool *ambiguous);
/* Call @fn for every realized device, depth first from the system bus. */
void qdev_foreach(void (*fn)(DeviceState *dev, void *opaque), void *opaque);

/* ---------------------------------------------------------------- GPIOs */

/* Give @dev @n input lines calling @handler(dev, line, level). */
void qdev_init_gpio_in(DeviceState *dev, qemu_irq_handler handler, int n);
void qdev_init_gpio_in_named(DeviceState *dev, qemu_irq_handler handler, const char *name,
                             int n);
void qdev_init_gpio_in_named_with_opaque(DeviceState *dev, qemu_irq_handler handler,
                                         void *opaque, const char *name, int n);
/* Declare @n outputs stored in @pins[] (the device sets them with qemu_set_irq). */
void qdev_init_gpio_out(DeviceState *dev, qemu_irq *pins, int n);
void qdev_init_gpio_out_named(DeviceState *dev, qemu_irq *pins, const char *name, int n);
/* Input line @n (aborts when out of range). */
qemu_irq qdev_get_gpio_in(DeviceState *dev, int n);
qemu_irq qdev_get_gpio_in_named(DeviceState *dev, const char *name, int n);
/* Wire output @n to @pin (another device's input). */
void qdev_connect_gpio_out(DeviceState *dev, int n, qemu_irq pin);
void qdev_connect_gpio_out_named(DeviceState *dev, const char *name, int n, qemu_irq pin);
/* The group called @name (NULL: unnamed), or NULL. */
NamedGPIOList *qdev_get_named_gpio_list(DeviceState *dev, const char *name);

/* ---------------------------------------------------------------- buses */

/*
 * A new bus of @typename provided by @parent (NULL: a root bus), called
 * @name (NULL: "<parent id or type>.<n>").  @parent holds it; it goes away
 * when @parent is released.
 */
BusState *qbus_new(const char *typename, DeviceState *parent, const char *name);
/* Make the bus's children unpluggable through @ops. */
void qbus_set_hotplug_handler(BusState *bus, const HotplugHandlerOps *ops, void *opaque);
/* The bus called @name anywhere in the tree, or NULL. */
BusState *qbus_find_by_name(const char *name);
/*
 * The first bus (breadth first from the system bus) of @typename (or
 * derived) with room for one more device, or NULL.
 */
BusState *qbus_find_free(const char *typename);
/* Call @fn for each child device of @bus in plugging order. */
void qbus_foreach_child(BusState *bus, void (*fn)(DeviceState *dev, void *opaque),
                        void *opaque);

/* ---------------------------------------------------------------- system bus */

#define TYPE_SYSTEM_BUS "System"
#define TYPE_SYS_BUS_DEVICE "sys-bus-device"

/* The root bus of the machine (created on first use). */
BusState *sysbus_get_default(void);
/*
 * Unrealize every device and drop the system bus (orderly exit and tests;
 * the next sysbus_get_default() starts afresh).
 */
void qdev_machine_teardown(void);

#endif /* HW_QDEV_CORE_H */
