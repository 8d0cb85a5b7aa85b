/*
 * Declarative properties of devices and other objects.
 *
 * A Property names a field of the instance struct (by offset), its type
 * (a PropertyInfo: parser, printer, default) and its default.  Arrays of
 * them are attached to a class with device_class_set_props() (or
 * object_class_set_props()); a subclass has its own and its ancestors'
 * properties.  Defaults are stored by object_new() before instance_init
 * runs, so instance_init sees them.
 *
 * Values are parsed from strings (the command line: -device vfio-pci,x-no-mmap=on)
 * with object_property_parse()/qdev_prop_parse(), or set from C with the
 * typed qdev_prop_set_*() helpers.  After realize, a device's properties are
 * read-only unless PropertyInfo.realized_set_allowed.
 *
 * Built-in value syntax:
 *   bool      on/off, yes/no, true/false (also y/n)
 *   uintN     decimal, 0x hex or 0 octal; range-checked for its width
 *   int32/64  as uintN, with a sign
 *   size      a uint64 with an optional K/M/G/T/P/E suffix (powers of 1024)
 *   string    any text (",," for a comma on the command line)
 *   pci-devfn "SLOT[.FN]" in hex, slot 0..0x1f, fn 0..7 ("06.0", "6", "1f.7");
 *             stored as an int32 devfn, -1 meaning "any free slot"
 *   pci-host-devaddr  "[DOMAIN:]BUS:SLOT.FN" in hex ("0000:01:00.0")
 *   OnOffAuto on/off/auto
 *   link      the id of a user-created object (-object) of a given type;
 *             stored as Object *, referenced while set
 */
#ifndef HW_QDEV_PROPERTIES_H
#define HW_QDEV_PROPERTIES_H

#include "hw/qdev-core.h"

typedef enum OnOffAuto {
    ON_OFF_AUTO_AUTO,
    ON_OFF_AUTO_ON,
    ON_OFF_AUTO_OFF,
} OnOffAuto;

/* A host PCI address, as vfio-pci's host= takes it. */
typedef struct PCIHostDeviceAddress {
    unsigned int domain;    /* 0..0xffff */
    unsigned int bus;       /* 0..0xff */
    unsigned int slot;      /* 0..0x1f */
    unsigned int function;  /* 0..7 */
} PCIHostDeviceAddress;

/* The behaviour of one property type. */
typedef struct PropertyInfo {
    /* Shown in help: "<name>" ("uint32", "str", "bool" ...). */
    const char *name;
    /* Help text for the type (e.g. the PCI address syntax); NULL allowed. */
    const char *description;
    /*
     * Parse @str and store it in the field (ptr = obj + prop->offset).  On
     * failure set *errp (the caller prefixes the property name) and leave
     * the field alone.
     */
    bool (*parse)(Object *obj, const Property *prop, void *ptr, const char *str, Error **errp);
    /* The field's value as text that parse accepts; g_free'd.  NULL: "<?>". */
    char *(*print)(Object *obj, const Property *prop, void *ptr);
    /* Store the default (prop->defval) in the field.  NULL: leave zero. */
    void (*set_default)(Object *obj, const Property *prop, void *ptr);
    /* Free what the field owns (a string, a reference).  NULL: nothing. */
    void (*release)(Object *obj, const Property *prop, void *ptr);
    /* May be set on a realized device. */
    bool realized_set_allowed;
} PropertyInfo;

struct Property {
    /* Name as the user spells it; NULL ends an array. */
    const char *name;
    /* Type. */
    const PropertyInfo *info;
    /* Offset of the field in the instance struct. */
    ptrdiff_t offset;
    /* Size in bytes of the field, checked by the DEFINE_PROP_* macros. */
    size_t size;
    /* Whether defval applies (for types where zero is not the default). */
    bool set_default;
    /* Default value (integers, bools, enums). */
    union {
        int64_t i;
        uint64_t u;
    } defval;
    /* For link properties: the required type of the target. */
    const char *link_type;
    /* For enum properties: NULL-terminated names, index = value. */
    const char *const *enum_names;
    /* For uintN properties: a smaller inclusive maximum (0: the width's). */
    uint64_t max;
    /* Help text; NULL allowed. */
    const char *description;
};

extern const PropertyInfo qdev_prop_bool;
extern const PropertyInfo qdev_prop_uint8;
extern const PropertyInfo qdev_prop_uint16;
extern const PropertyInfo qdev_prop_uint32;
extern const PropertyInfo qdev_prop_uint64;
extern const PropertyInfo qdev_prop_int32;
extern const PropertyInfo qdev_prop_int64;
extern const PropertyInfo qdev_prop_size;
extern const PropertyInfo qdev_prop_string;
extern const PropertyInfo qdev_prop_pci_devfn;
extern const PropertyInfo qdev_prop_pci_host_devaddr;
extern const PropertyInfo qdev_prop_on_off_auto;
extern const PropertyInfo qdev_prop_enum;
extern const PropertyInfo qdev_prop_link;

/* Type check of the field at build time. */
#define QDEV_PROP_FIELD_CHECK(state, field, type) \
    (0 * sizeof(&((state *)0)->field == (type *)0))

#define DEFINE_PROP(_name, _state, _field, _prop, _type, ...) {            \
        .name = (_name),                                                  \
        .info = &(_prop),                                                 \
        .offset = offsetof(_state, _field) +                              \
                  QDEV_PROP_FIELD_CHECK(_state, _field, _type),           \
        .size = sizeof(_type),                                            \
        __VA_ARGS__                                                       \
    }

#define DEFINE_PROP_SIGNED(_name, _state, _field, _defval, _prop, _type) \
    DEFINE_PROP(_name, _state, _field, _prop, _type,                      \
                .set_default = true, .defval.i = (_type)(_defval))
#define DEFINE_PROP_UNSIGNED(_name, _state, _field, _defval, _prop, _type) \
    DEFINE_PROP(_name, _state, _field, _prop, _type,                      \
                .set_default = true, .defval.u = (_type)(_defval))

#define DEFINE_PROP_BOOL(_n, _s, _f, _d) \
    DEFINE_PROP_UNSIGNED(_n, _s, _f, _d, qdev_prop_bool, bool)
#define DEFINE_PROP_UINT8(_n, _s, _f, _d) \
    DEFINE_PROP_UNSIGNED(_n, _s, _f, _d, qdev_prop_uint8, uint8_t)
#define DEFINE_PROP_UINT16(_n, _s, _f, _d) \
    DEFINE_PROP_UNSIGNED(_n, _s, _f, _d, qdev_prop_uint16, uint16_t)
#define DEFINE_PROP_UINT32(_n, _s, _f, _d) \
    DEFINE_PROP_UNSIGNED(_n, _s, _f, _d, qdev_prop_uint32, uint32_t)
#define DEFINE_PROP_UINT64(_n, _s, _f, _d) \
    DEFINE_PROP_UNSIGNED(_n, _s, _f, _d, qdev_prop_uint64, uint64_t)
#define DEFINE_PROP_INT32(_n, _s, _f, _d) \
    DEFINE_PROP_SIGNED(_n, _s, _f, _d, qdev_prop_int32, int32_t)
#define DEFINE_PROP_INT64(_n, _s, _f, _d) \
    DEFINE_PROP_SIGNED(_n, _s, _f, _d, qdev_prop_int64, int64_t)
#define DEFINE_PROP_SIZE(_n, _s, _f, _d) \
    DEFINE_PROP_UNSIGNED(_n, _s, _f, _d, qdev_prop_size, uint64_t)
/* A uint32 with an inclusive maximum below UINT32_MAX. */
#define DEFINE_PROP_UINT32_MAX(_n, _s, _f, _d, _max) \
    DEFINE_PROP(_n, _s, _f, qdev_prop_uint32, uint32_t, \
                .set_default = true, .defval.u = (_d), .max = (_max))
/* char *field, default NULL; the object owns the string. */
#define DEFINE_PROP_STRING(_n, _s, _f) \
    DEFINE_PROP(_n, _s, _f, qdev_prop_string, char *)
/* int32_t devfn, default -1 ("addr" of PCI devices). */
#define DEFINE_PROP_PCI_DEVFN(_n, _s, _f, _d) \
    DEFINE_PROP_SIGNED(_n, _s, _f, _d, qdev_prop_pci_devfn, int32_t)
/* PCIHostDeviceAddress field; unset until parsed (check a separate flag or domain ~0). */
#define DEFINE_PROP_PCI_HOST_DEVADDR(_n, _s, _f) \
    DEFINE_PROP(_n, _s, _f, qdev_prop_pci_host_devaddr, PCIHostDeviceAddress, \
                .set_default = true, .defval.i = -1)
#define DEFINE_PROP_ON_OFF_AUTO(_n, _s, _f, _d) \
    DEFINE_PROP_SIGNED(_n, _s, _f, _d, qdev_prop_on_off_auto, OnOffAuto)
/* An int field holding an index into the NULL-terminated @_names. */
#define DEFINE_PROP_ENUM(_n, _s, _f, _d, _names) \
    DEFINE_PROP(_n, _s, _f, qdev_prop_enum, int, \
                .set_default = true, .defval.i = (_d), .enum_names = (_names))
/* Object *field naming a user-created object of @_type (or derived). */
#define DEFINE_PROP_LINK(_n, _s, _f, _type, _ptr_type) \
    DEFINE_PROP(_n, _s, _f, qdev_prop_link, _ptr_type, .link_type = (_type))
/* Optional terminator (arrays may also be passed by size). */
#define DEFINE_PROP_END_OF_LIST() {}

/* Attach a Property array (static storage) to a device class. */
#define device_class_set_props(dc, props) \
    device_class_set_props_n((dc), (props), ARRAY_SIZE(props))
void device_class_set_props_n(DeviceClass *dc, const Property *props, unsigned n);

/*
 * Parse and set property @name of @dev from @value.  Fails for an unknown
 * property ("Property 'vfio-pci.foo' not found"), a bad value
 * ("Property 'vfio-pci.addr': invalid PCI address 'zz'"), or a realized
 * device.
 */
bool qdev_prop_parse(DeviceState *dev, const char *name, const char *value, Error **errp);

/*
 * Typed setters for C callers; a property of another type or an
 * out-of-range value is a programming error (abort).
 */
void qdev_prop_set_bit(DeviceState *dev, const char *name, bool value);
void qdev_prop_set_uint8(DeviceState *dev, const char *name, uint8_t value);
void qdev_prop_set_uint16(DeviceState *dev, const char *name, uint16_t value);
void qdev_prop_set_uint32(DeviceState *dev, const char *name, uint32_t value);
void qdev_prop_set_uint64(DeviceState *dev, const char *name, uint64_t value);
void qdev_prop_set_int32(DeviceState *dev, const char *name, int32_t value);
void qdev_prop_set_string(DeviceState *dev, const char *name, const char *value);

/*
 * Print the properties of device type @typename the way `-device
 * TYPE,help` does: "TYPE options:" then "  NAME=<TYPE>  - help (default: X)"
 * sorted by name.  Returns false for an unknown or non-device type.
 */
bool qdev_print_props(FILE *fp, const char *typename);
/*
 * `-device help`: every user-creatable device type by category:
 *   name "vfio-pci", bus PCI, desc "VFIO-based PCI device assignment"
 */
void qdev_print_device_list(FILE *fp);

/*
 * Create, configure and realize a device from a -device argument
 * ("DRIVER,id=ID,bus=BUS,prop=value,...").  Fails with one line for an
 * unknown driver, a bad property, a missing or full bus, a duplicate id,
 * or a realize failure; nothing is left behind.  The device is owned by
 * its bus on success.
 */
DeviceState *qdev_device_add(const char *optarg, Error **errp);
/*
 * The same from parsed options (key "driver" plus properties, "id", "bus");
 * what QMP device_add and -device's JSON form use.  After
 * qdev_machine_creation_done() the device must be hot-pluggable and its bus
 * must have a hot-plug handler.
 */
struct QOpts;
DeviceState *qdev_device_add_opts(struct QOpts *opts, Error **errp);

/*
 * The machine is built: from now on devices are hot-plugged (device_add
 * checks hot-plug support).  Called by vl.c after the -device devices.
 */
void qdev_machine_creation_done(void);
bool qdev_hotplug_enabled(void);

#endif /* HW_QDEV_PROPERTIES_H */
