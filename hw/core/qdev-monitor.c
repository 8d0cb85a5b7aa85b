/*
 * The user's side of the device model: -device, `-device help`,
 * `-device DRIVER,help`, property help for -object too
 * (include/hw/qdev-properties.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/opts.h"
#include "hw/qdev-properties.h"
#include "trace/trace-hw_core.h"

static const char *const category_names[DEVICE_CATEGORY_MAX] = {
    [DEVICE_CATEGORY_BRIDGE] = "Controller/Bridge/Hub",
    [DEVICE_CATEGORY_USB] = "USB",
    [DEVICE_CATEGORY_STORAGE] = "Storage",
    [DEVICE_CATEGORY_NETWORK] = "Network",
    [DEVICE_CATEGORY_INPUT] = "Input",
    [DEVICE_CATEGORY_DISPLAY] = "Display",
    [DEVICE_CATEGORY_SOUND] = "Sound",
    [DEVICE_CATEGORY_MISC] = "Misc",
    [DEVICE_CATEGORY_CPU] = "CPU",
    [DEVICE_CATEGORY_WATCHDOG] = "Watchdog",
};

static void print_device_line(FILE *fp, DeviceClass *dc)
{
    fprintf(fp, "name \"%s\"", object_class_get_name(OBJECT_CLASS(dc)));
    fprintf(fp, ", bus %s", dc->bus_type ? dc->bus_type : TYPE_SYSTEM_BUS);
    if (dc->desc) {
        fprintf(fp, ", desc \"%s\"", dc->desc);
    }
    fprintf(fp, "\n");
}

void qdev_print_device_list(FILE *fp)
{
    GSList *list = object_class_get_list_sorted(TYPE_DEVICE, false);
    bool any = false;

    for (int cat = 0; cat <= DEVICE_CATEGORY_MAX; cat++) {
        bool header = false;

        for (GSList *l = list; l; l = l->next) {
            DeviceClass *dc = l->data;
            bool in_cat = cat < DEVICE_CATEGORY_MAX ? (dc->categories & (1UL << cat))
                                                    : !dc->categories;

            if (!dc->user_creatable || !in_cat) {
                continue;
            }
            if (!header) {
                fprintf(fp, "%s%s devices:\n", any ? "\n" : "",
                        cat < DEVICE_CATEGORY_MAX ? category_names[cat] : "Uncategorized");
                header = true;
            }
            print_device_line(fp, dc);
            any = true;
        }
    }
    if (!any) {
        fprintf(fp, "No user-creatable devices in this build.\n");
    }
    g_slist_free(list);
}

typedef struct PropLine {
    char *name;
    char *text;
} PropLine;

typedef struct PropHelp {
    Object *obj;
    GArray *lines;  /* PropLine */
} PropHelp;

static void collect_prop_help(const Property *prop, void *opaque)
{
    PropHelp *h = opaque;
    const char *desc = prop->description ? prop->description : prop->info->description;
    g_autofree char *def = prop->info->print
                           ? prop->info->print(h->obj, prop, (char *)h->obj + prop->offset)
                           : NULL;
    g_autofree char *lhs = g_strdup_printf("%s=<%s>", prop->name, prop->info->name);
    GString *s = g_string_new(NULL);
    PropLine line;

    g_string_append_printf(s, "  %-24s", lhs);
    if (desc || def) {
        g_string_append_printf(s, " - %s", desc ? desc : "");
        if (def) {
            g_string_append_printf(s, "%s(default: %s)", desc ? " " : "", def);
        }
    }
    /* No trailing blanks. */
    while (s->len && s->str[s->len - 1] == ' ') {
        g_string_truncate(s, s->len - 1);
    }
    line.name = g_strdup(prop->name);
    line.text = g_string_free(s, false);
    g_array_append_val(h->lines, line);
}

static gint compare_prop_lines(gconstpointer a, gconstpointer b)
{
    return strcmp(((const PropLine *)a)->name, ((const PropLine *)b)->name);
}

void object_class_print_props(FILE *fp, ObjectClass *klass)
{
    PropHelp h;

    h.obj = object_new_with_class(klass);
    h.lines = g_array_new(false, false, sizeof(PropLine));
    object_class_property_foreach(klass, collect_prop_help, &h);
    g_array_sort(h.lines, compare_prop_lines);

    fprintf(fp, "%s options:\n", object_class_get_name(klass));
    for (guint i = 0; i < h.lines->len; i++) {
        PropLine *line = &g_array_index(h.lines, PropLine, i);

        fprintf(fp, "%s\n", line->text);
        g_free(line->name);
        g_free(line->text);
    }
    if (!h.lines->len) {
        fprintf(fp, "There are no options for %s.\n", object_class_get_name(klass));
    }
    g_array_free(h.lines, true);
    object_unref(h.obj);
}

bool qdev_print_props(FILE *fp, const char *typename)
{
    ObjectClass *klass = object_class_by_name(typename);

    if (!klass || object_class_is_abstract(klass) ||
        !object_class_dynamic_cast(klass, TYPE_DEVICE)) {
        return false;
    }
    object_class_print_props(fp, klass);
    return true;
}

/* Devices added from now on are hot-plugged. */
static bool qdev_hotplug;

void qdev_machine_creation_done(void)
{
    qdev_hotplug = true;
}

bool qdev_hotplug_enabled(void)
{
    return qdev_hotplug;
}

DeviceState *qdev_device_add_opts(QOpts *opts, Error **errp)
{
    const char *driver, *bus_name, *id;
    ObjectClass *klass;
    DeviceClass *dc;
    BusState *bus = NULL;
    DeviceState *dev;

    driver = qopts_get(opts, "driver");
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return NULL;
    }
    klass = object_class_by_name(driver);
    if (!klass || !object_class_dynamic_cast(klass, TYPE_DEVICE)) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return NULL;
    }
    dc = DEVICE_CLASS(klass);
    if (object_class_is_abstract(klass) || !dc->user_creatable) {
        error_setg(errp, "Parameter 'driver' expects a pluggable device type ('%s')", driver);
        return NULL;
    }

    bus_name = qopts_get(opts, "bus");
    if (bus_name) {
        bus = qbus_find_by_name(bus_name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", bus_name);
            return NULL;
        }
    } else if (dc->bus_type && strcmp(dc->bus_type, TYPE_SYSTEM_BUS)) {
        bus = qbus_find_free(dc->bus_type);
        if (!bus) {
            error_setg(errp, "No '%s' bus found for device '%s'", dc->bus_type, driver);
            return NULL;
        }
    }
    if (qdev_hotplug) {
        if (!dc->hotpluggable) {
            error_setg(errp, "Device '%s' does not support hotplugging", driver);
            return NULL;
        }
        if (!bus || !bus->hotplug_ops) {
            error_setg(errp, "Bus '%s' does not support hotplugging",
                       bus ? bus->name : sysbus_get_default()->name);
            return NULL;
        }
    }

    dev = DEVICE(object_new_with_class(klass));
    dev->user_created = true;
    id = qopts_get(opts, "id");
    if (id && !qdev_set_id(dev, id, errp)) {
        goto fail;
    }
    for (guint i = 0; i < opts->items->len; i++) {
        QOptItem *item = &g_array_index(opts->items, QOptItem, i);

        if (item->used) {
            continue;
        }
        item->used = true;
        if (!qdev_prop_parse(dev, item->key, item->value, errp)) {
            goto fail;
        }
    }
    trace_qdev_device_add(driver, id ? id : "");
    if (!qdev_realize(dev, bus, errp)) {
        goto fail;
    }
    object_unref(dev);  /* the bus holds it now */
    return dev;

fail:
    object_unref(dev);
    return NULL;
}

DeviceState *qdev_device_add(const char *optarg, Error **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(optarg, "driver", errp);

    return opts ? qdev_device_add_opts(opts, errp) : NULL;
}
