/*
 * Property types: parsers, printers, defaults (include/hw/qdev-properties.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/opts.h"
#include "hw/qdev-properties.h"

/* ------------------------------------------------------------------ */
/* Numbers */

/*
 * A whole @str as an unsigned number (decimal, 0x hex, 0 octal).  No sign,
 * no space, no suffix.
 */
static bool parse_u64(const char *str, uint64_t *v)
{
    char *end;

    if (!str || !g_ascii_isdigit(str[0])) {
        return false;
    }
    errno = 0;
    *v = strtoull(str, &end, 0);
    return !errno && end != str && !*end;
}

static bool parse_i64(const char *str, int64_t *v)
{
    const char *digits = str && (*str == '-' || *str == '+') ? str + 1 : str;
    uint64_t u;

    if (!parse_u64(digits, &u)) {
        return false;
    }
    if (str[0] == '-') {
        if (u > (uint64_t)INT64_MAX + 1) {
            return false;
        }
        *v = (int64_t)(0 - u);
    } else {
        if (u > INT64_MAX) {
            return false;
        }
        *v = (int64_t)u;
    }
    return true;
}

static uint64_t uint_width_max(const Property *prop)
{
    uint64_t max = prop->size >= 8 ? UINT64_MAX : (1ULL << (8 * prop->size)) - 1;

    return prop->max && prop->max < max ? prop->max : max;
}

static void store_uint(const Property *prop, void *ptr, uint64_t v)
{
    switch (prop->size) {
    case 1:
        *(uint8_t *)ptr = v;
        break;
    case 2:
        *(uint16_t *)ptr = v;
        break;
    case 4:
        *(uint32_t *)ptr = v;
        break;
    case 8:
        *(uint64_t *)ptr = v;
        break;
    default:
        g_assert_not_reached();
    }
}

static uint64_t load_uint(const Property *prop, const void *ptr)
{
    switch (prop->size) {
    case 1:
        return *(const uint8_t *)ptr;
    case 2:
        return *(const uint16_t *)ptr;
    case 4:
        return *(const uint32_t *)ptr;
    case 8:
        return *(const uint64_t *)ptr;
    default:
        g_assert_not_reached();
    }
}

static bool uint_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                       Error **errp)
{
    uint64_t v, max = uint_width_max(prop);

    if (!parse_u64(str, &v)) {
        error_setg(errp, "invalid number '%s'", str);
        return false;
    }
    if (v > max) {
        error_setg(errp, "value '%s' out of range (0 to %" PRIu64 ")", str, max);
        return false;
    }
    store_uint(prop, ptr, v);
    return true;
}

static char *uint_print(Object *obj, const Property *prop, void *ptr)
{
    return g_strdup_printf("%" PRIu64, load_uint(prop, ptr));
}

static void uint_set_default(Object *obj, const Property *prop, void *ptr)
{
    if (prop->set_default) {
        store_uint(prop, ptr, prop->defval.u);
    }
}

static bool int_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                      Error **errp)
{
    int64_t v;

    if (!parse_i64(str, &v)) {
        error_setg(errp, "invalid number '%s'", str);
        return false;
    }
    if (prop->size == 4) {
        if (v < INT32_MIN || v > INT32_MAX) {
            error_setg(errp, "value '%s' out of range (%d to %d)", str, INT32_MIN, INT32_MAX);
            return false;
        }
        *(int32_t *)ptr = v;
    } else {
        *(int64_t *)ptr = v;
    }
    return true;
}

static int64_t load_int(const Property *prop, const void *ptr)
{
    return prop->size == 4 ? *(const int32_t *)ptr : *(const int64_t *)ptr;
}

static char *int_print(Object *obj, const Property *prop, void *ptr)
{
    return g_strdup_printf("%" PRId64, load_int(prop, ptr));
}

static void int_set_default(Object *obj, const Property *prop, void *ptr)
{
    if (!prop->set_default) {
        return;
    }
    if (prop->size == 4) {
        *(int32_t *)ptr = prop->defval.i;
    } else {
        *(int64_t *)ptr = prop->defval.i;
    }
}

const PropertyInfo qdev_prop_uint8 = {
    .name = "uint8",
    .parse = uint_parse, .print = uint_print, .set_default = uint_set_default,
};
const PropertyInfo qdev_prop_uint16 = {
    .name = "uint16",
    .parse = uint_parse, .print = uint_print, .set_default = uint_set_default,
};
const PropertyInfo qdev_prop_uint32 = {
    .name = "uint32",
    .parse = uint_parse, .print = uint_print, .set_default = uint_set_default,
};
const PropertyInfo qdev_prop_uint64 = {
    .name = "uint64",
    .parse = uint_parse, .print = uint_print, .set_default = uint_set_default,
};
const PropertyInfo qdev_prop_int32 = {
    .name = "int32",
    .parse = int_parse, .print = int_print, .set_default = int_set_default,
};
const PropertyInfo qdev_prop_int64 = {
    .name = "int64",
    .parse = int_parse, .print = int_print, .set_default = int_set_default,
};

/* ------------------------------------------------------------------ */
/* Sizes */

static bool size_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                       Error **errp)
{
    uint64_t v;

    if (!qemu_strtosz(str, &v)) {
        error_setg(errp, "invalid size '%s' (a number with an optional k, M, G, T, P or E "
                   "suffix)", str);
        return false;
    }
    *(uint64_t *)ptr = v;
    return true;
}

const PropertyInfo qdev_prop_size = {
    .name = "size",
    .parse = size_parse, .print = uint_print, .set_default = uint_set_default,
};

/* ------------------------------------------------------------------ */
/* Booleans */

static bool bool_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                       Error **errp)
{
    if (!qemu_parse_bool(str, (bool *)ptr)) {
        error_setg(errp, "invalid boolean '%s' (use on/off, yes/no or true/false)", str);
        return false;
    }
    return true;
}

static char *bool_print(Object *obj, const Property *prop, void *ptr)
{
    return g_strdup(*(bool *)ptr ? "true" : "false");
}

static void bool_set_default(Object *obj, const Property *prop, void *ptr)
{
    *(bool *)ptr = prop->defval.u != 0;
}

const PropertyInfo qdev_prop_bool = {
    .name = "bool",
    .parse = bool_parse, .print = bool_print, .set_default = bool_set_default,
};

/* ------------------------------------------------------------------ */
/* Strings */

static bool string_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                         Error **errp)
{
    char **field = ptr;

    g_free(*field);
    *field = g_strdup(str);
    return true;
}

static char *string_print(Object *obj, const Property *prop, void *ptr)
{
    char **field = ptr;

    return *field ? g_strdup(*field) : NULL;
}

static void string_release(Object *obj, const Property *prop, void *ptr)
{
    char **field = ptr;

    g_clear_pointer(field, g_free);
}

const PropertyInfo qdev_prop_string = {
    .name = "str",
    .parse = string_parse, .print = string_print, .release = string_release,
};

/* ------------------------------------------------------------------ */
/* PCI addresses */

/* A whole hex number of at most @max. */
static bool parse_hex(const char *s, const char *end, unsigned max, unsigned *v)
{
    unsigned long val = 0;

    if (s == end || end - s > 8) {
        return false;
    }
    for (const char *p = s; p < end; p++) {
        if (!g_ascii_isxdigit(*p)) {
            return false;
        }
        val = val * 16 + g_ascii_xdigit_value(*p);
    }
    if (val > max) {
        return false;
    }
    *v = val;
    return true;
}

static bool devfn_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                        Error **errp)
{
    const char *dot = strchr(str, '.');
    const char *slot_end = dot ? dot : str + strlen(str);
    unsigned slot, fn = 0;

    if (!strcmp(str, "-1")) {
        *(int32_t *)ptr = -1;
        return true;
    }
    if (!parse_hex(str, slot_end, 0x1f, &slot) ||
        (dot && !parse_hex(dot + 1, dot + 1 + strlen(dot + 1), 7, &fn))) {
        error_setg(errp, "invalid PCI address '%s' (SLOT[.FN] in hex, slot 0-1f, fn 0-7)",
                   str);
        return false;
    }
    *(int32_t *)ptr = (slot << 3) | fn;
    return true;
}

static char *devfn_print(Object *obj, const Property *prop, void *ptr)
{
    int32_t devfn = *(int32_t *)ptr;

    if (devfn < 0) {
        return g_strdup("-1");
    }
    return g_strdup_printf("%02x.%x", devfn >> 3, devfn & 7);
}

const PropertyInfo qdev_prop_pci_devfn = {
    .name = "int32",
    .description = "Slot and optional function number, example: 06.0 or 06",
    .parse = devfn_parse, .print = devfn_print, .set_default = int_set_default,
};

static bool host_devaddr_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                               Error **errp)
{
    PCIHostDeviceAddress *addr = ptr;
    g_auto(GStrv) parts = g_strsplit(str, ":", -1);
    guint n = g_strv_length(parts);
    unsigned domain = 0, bus, slot, fn;
    const char *bus_s, *sf;
    const char *dot;

    if (n < 2 || n > 3) {
        goto bad;
    }
    if (n == 3 && !parse_hex(parts[0], parts[0] + strlen(parts[0]), 0xffff, &domain)) {
        goto bad;
    }
    bus_s = parts[n - 2];
    sf = parts[n - 1];
    dot = strchr(sf, '.');
    if (!dot || !parse_hex(bus_s, bus_s + strlen(bus_s), 0xff, &bus) ||
        !parse_hex(sf, dot, 0x1f, &slot) ||
        !parse_hex(dot + 1, dot + 1 + strlen(dot + 1), 7, &fn)) {
        goto bad;
    }
    addr->domain = domain;
    addr->bus = bus;
    addr->slot = slot;
    addr->function = fn;
    return true;

bad:
    error_setg(errp, "invalid host PCI address '%s' ([DOMAIN:]BUS:SLOT.FN in hex)", str);
    return false;
}

static char *host_devaddr_print(Object *obj, const Property *prop, void *ptr)
{
    PCIHostDeviceAddress *addr = ptr;

    if (addr->domain == ~0u) {
        return NULL;    /* unset */
    }
    return g_strdup_printf("%04x:%02x:%02x.%x", addr->domain, addr->bus, addr->slot,
                           addr->function);
}

static void host_devaddr_set_default(Object *obj, const Property *prop, void *ptr)
{
    PCIHostDeviceAddress *addr = ptr;

    addr->domain = addr->bus = addr->slot = addr->function = ~0u;
}

const PropertyInfo qdev_prop_pci_host_devaddr = {
    .name = "str",
    .description = "Address (bus/device/function) of the host device, example: 04:10.0",
    .parse = host_devaddr_parse, .print = host_devaddr_print,
    .set_default = host_devaddr_set_default,
};

/* ------------------------------------------------------------------ */
/* Enums */

static const char *const on_off_auto_names[] = { "auto", "on", "off", NULL };

static const char *const *enum_names(const Property *prop)
{
    return prop->info == &qdev_prop_on_off_auto ? on_off_auto_names : prop->enum_names;
}

static bool enum_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                       Error **errp)
{
    const char *const *names = enum_names(prop);
    g_autofree char *choices = NULL;

    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], str)) {
            *(int *)ptr = i;
            return true;
        }
    }
    choices = g_strjoinv("/", (gchar **)names);
    error_setg(errp, "invalid value '%s' (one of %s)", str, choices);
    return false;
}

static char *enum_print(Object *obj, const Property *prop, void *ptr)
{
    const char *const *names = enum_names(prop);
    int v = *(int *)ptr;

    for (int i = 0; names[i]; i++) {
        if (i == v) {
            return g_strdup(names[i]);
        }
    }
    return g_strdup_printf("%d", v);
}

static void enum_set_default(Object *obj, const Property *prop, void *ptr)
{
    *(int *)ptr = prop->defval.i;
}

const PropertyInfo qdev_prop_on_off_auto = {
    .name = "OnOffAuto",
    .description = "on/off/auto",
    .parse = enum_parse, .print = enum_print, .set_default = enum_set_default,
};

const PropertyInfo qdev_prop_enum = {
    .name = "enum",
    .parse = enum_parse, .print = enum_print, .set_default = enum_set_default,
};

/* ------------------------------------------------------------------ */
/* Links to user-created objects */

static bool link_parse(Object *obj, const Property *prop, void *ptr, const char *str,
                       Error **errp)
{
    Object **field = ptr;
    Object *target = object_find_by_id(str);

    if (!target) {
        error_setg(errp, "object '%s' not found", str);
        return false;
    }
    if (prop->link_type && !object_dynamic_cast(target, prop->link_type)) {
        error_setg(errp, "object '%s' is a '%s', not a '%s'", str,
                   object_get_typename(target), prop->link_type);
        return false;
    }
    object_unref(*field);
    *field = object_ref(target);
    return true;
}

static char *link_print(Object *obj, const Property *prop, void *ptr)
{
    Object **field = ptr;

    return *field && (*field)->id ? g_strdup((*field)->id) : NULL;
}

static void link_release(Object *obj, const Property *prop, void *ptr)
{
    Object **field = ptr;

    object_unref(*field);
    *field = NULL;
}

const PropertyInfo qdev_prop_link = {
    .name = "link",
    .parse = link_parse, .print = link_print, .release = link_release,
};

/* ------------------------------------------------------------------ */
/* Device helpers */

bool qdev_prop_parse(DeviceState *dev, const char *name, const char *value, Error **errp)
{
    const Property *prop = object_class_property_find(OBJECT(dev)->klass, name);

    if (prop && dev->realized && !prop->info->realized_set_allowed) {
        error_setg(errp, "Attempt to set property '%s' on device '%s' (type '%s') after "
                   "it was realized", name, dev->id ? dev->id : "<anon>",
                   object_get_typename(OBJECT(dev)));
        return false;
    }
    return object_property_parse(OBJECT(dev), name, value, errp);
}

/* The property @name of @dev, which must exist, have type @info and be settable now. */
static void *prop_field_checked(DeviceState *dev, const char *name, const PropertyInfo *info,
                                const Property **pprop)
{
    const Property *prop = object_class_property_find(OBJECT(dev)->klass, name);

    if (!prop || prop->info != info || (dev->realized && !info->realized_set_allowed)) {
        fprintf(stderr, "%s: property '%s' of '%s' is not a settable %s\n", __func__, name,
                object_get_typename(OBJECT(dev)), info->name);
        abort();
    }
    *pprop = prop;
    return (char *)dev + prop->offset;
}

static void prop_set_uint_checked(DeviceState *dev, const char *name,
                                  const PropertyInfo *info, uint64_t value)
{
    const Property *prop;
    void *ptr = prop_field_checked(dev, name, info, &prop);

    assert(value <= uint_width_max(prop));
    store_uint(prop, ptr, value);
}

void qdev_prop_set_bit(DeviceState *dev, const char *name, bool value)
{
    const Property *prop;

    *(bool *)prop_field_checked(dev, name, &qdev_prop_bool, &prop) = value;
}

void qdev_prop_set_uint8(DeviceState *dev, const char *name, uint8_t value)
{
    prop_set_uint_checked(dev, name, &qdev_prop_uint8, value);
}

void qdev_prop_set_uint16(DeviceState *dev, const char *name, uint16_t value)
{
    prop_set_uint_checked(dev, name, &qdev_prop_uint16, value);
}

void qdev_prop_set_uint32(DeviceState *dev, const char *name, uint32_t value)
{
    prop_set_uint_checked(dev, name, &qdev_prop_uint32, value);
}

void qdev_prop_set_uint64(DeviceState *dev, const char *name, uint64_t value)
{
    const Property *prop = object_class_property_find(OBJECT(dev)->klass, name);

    /* size and uint64 fields are both uint64_t. */
    prop_set_uint_checked(dev, name, prop && prop->info == &qdev_prop_size
                                     ? &qdev_prop_size : &qdev_prop_uint64, value);
}

void qdev_prop_set_int32(DeviceState *dev, const char *name, int32_t value)
{
    const Property *prop = object_class_property_find(OBJECT(dev)->klass, name);
    const PropertyInfo *info = prop && prop->info == &qdev_prop_pci_devfn
                               ? &qdev_prop_pci_devfn : &qdev_prop_int32;

    *(int32_t *)prop_field_checked(dev, name, info, &prop) = value;
}

void qdev_prop_set_string(DeviceState *dev, const char *name, const char *value)
{
    const Property *prop;
    char **field = prop_field_checked(dev, name, &qdev_prop_string, &prop);

    g_free(*field);
    *field = g_strdup(value);
}
