/*
 * The object model: types, classes, instances, properties, user-created
 * objects (include/qom/object.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/object.h"
#include "qom/opts.h"
#include "hw/qdev-properties.h"
#include "trace/trace-hw_core.h"

struct TypeImpl {
    const TypeInfo *info;       /* as registered; static storage */
    struct TypeImpl *parent;    /* resolved on first class use */
    ObjectClass *klass;         /* created lazily by type_initialize */
    size_t instance_size;       /* resolved (inherits the parent's) */
    size_t class_size;
};

/* name -> struct TypeImpl *; filled by constructors. */
static GHashTable *type_table;

static GHashTable *type_table_get(void)
{
    if (!type_table) {
        type_table = g_hash_table_new(g_str_hash, g_str_equal);
    }
    return type_table;
}

static const TypeInfo object_info = {
    .name = TYPE_OBJECT,
    .instance_size = sizeof(Object),
    .class_size = sizeof(ObjectClass),
    .abstract = true,
};

Type type_register_static(const TypeInfo *info)
{
    struct TypeImpl *ti;

    assert(info->name);
    if (g_hash_table_lookup(type_table_get(), info->name)) {
        fprintf(stderr, "type '%s' registered twice\n", info->name);
        abort();
    }
    ti = g_new0(struct TypeImpl, 1);
    ti->info = info;
    g_hash_table_insert(type_table, (gpointer)info->name, ti);
    return ti;
}

void type_register_static_array(const TypeInfo *infos, int n)
{
    for (int i = 0; i < n; i++) {
        type_register_static(&infos[i]);
    }
}

static void register_object_type(void)
{
    type_register_static(&object_info);
}

type_init(register_object_type)

static struct TypeImpl *type_get_by_name(const char *name)
{
    return name ? g_hash_table_lookup(type_table_get(), name) : NULL;
}

/*
 * Resolve sizes and create the class: a copy of the parent's class (so
 * methods are inherited) with the ObjectClass header reset, then class_init.
 * Returns false for a type whose ancestry is broken (missing parent).
 */
static bool type_initialize(struct TypeImpl *ti)
{
    struct TypeImpl *parent = NULL;

    if (ti->klass) {
        return true;
    }
    if (ti->info->parent) {
        parent = type_get_by_name(ti->info->parent);
        if (!parent || !type_initialize(parent)) {
            return false;
        }
    }
    ti->parent = parent;
    ti->instance_size = ti->info->instance_size ? ti->info->instance_size
                                                : parent->instance_size;
    ti->class_size = ti->info->class_size ? ti->info->class_size : parent->class_size;
    assert(!parent || ti->instance_size >= parent->instance_size);
    assert(!parent || ti->class_size >= parent->class_size);

    ti->klass = g_malloc0(ti->class_size);
    if (parent) {
        memcpy(ti->klass, parent->klass, parent->class_size);
    }
    ti->klass->type = ti;
    ti->klass->props = NULL;
    ti->klass->nr_props = 0;
    if (ti->info->class_init) {
        ti->info->class_init(ti->klass, ti->info->class_data);
    }
    return true;
}

ObjectClass *object_class_by_name(const char *typename)
{
    struct TypeImpl *ti = type_get_by_name(typename);

    if (!ti || !type_initialize(ti)) {
        return NULL;
    }
    return ti->klass;
}

const char *object_class_get_name(const ObjectClass *klass)
{
    return klass->type->info->name;
}

ObjectClass *object_class_get_parent(ObjectClass *klass)
{
    return klass->type->parent ? klass->type->parent->klass : NULL;
}

bool object_class_is_abstract(ObjectClass *klass)
{
    return klass->type->info->abstract;
}

ObjectClass *object_class_dynamic_cast(ObjectClass *klass, const char *typename)
{
    struct TypeImpl *target = type_get_by_name(typename);

    if (!klass || !target) {
        return NULL;
    }
    for (struct TypeImpl *ti = klass->type; ti; ti = ti->parent) {
        if (ti == target) {
            return klass;
        }
    }
    return NULL;
}

ObjectClass *object_class_dynamic_cast_assert(ObjectClass *klass, const char *typename,
                                              const char *file, int line)
{
    ObjectClass *ret = object_class_dynamic_cast(klass, typename);

    if (!ret && klass) {
        fprintf(stderr, "%s:%d: class '%s' is not a '%s'\n", file, line,
                object_class_get_name(klass), typename);
        abort();
    }
    return ret;
}

static gint compare_class_names(gconstpointer a, gconstpointer b)
{
    return strcmp(object_class_get_name(a), object_class_get_name(b));
}

GSList *object_class_get_list_sorted(const char *implements_type, bool include_abstract)
{
    GHashTableIter iter;
    gpointer value;
    GSList *list = NULL;

    g_hash_table_iter_init(&iter, type_table_get());
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        struct TypeImpl *ti = value;

        if (!type_initialize(ti)) {
            continue;
        }
        if (!include_abstract && ti->info->abstract) {
            continue;
        }
        if (implements_type && !object_class_dynamic_cast(ti->klass, implements_type)) {
            continue;
        }
        list = g_slist_prepend(list, ti->klass);
    }
    return g_slist_sort(list, compare_class_names);
}

void object_class_foreach(void (*fn)(ObjectClass *klass, void *opaque),
                          const char *implements_type, bool include_abstract,
                          void *opaque)
{
    GSList *list = object_class_get_list_sorted(implements_type, include_abstract);

    for (GSList *l = list; l; l = l->next) {
        fn(l->data, opaque);
    }
    g_slist_free(list);
}

/* ------------------------------------------------------------------ */
/* Properties */

void object_class_set_props(ObjectClass *klass, const Property *props, unsigned n)
{
    unsigned count = 0;

    while (count < n && props[count].name) {
        assert(props[count].info);
        count++;
    }
    klass->props = props;
    klass->nr_props = count;
}

const Property *object_class_property_find(ObjectClass *klass, const char *name)
{
    for (ObjectClass *k = klass; k; k = object_class_get_parent(k)) {
        for (unsigned i = 0; i < k->nr_props; i++) {
            if (!strcmp(k->props[i].name, name)) {
                return &k->props[i];
            }
        }
    }
    return NULL;
}

static void class_property_foreach_rec(ObjectClass *klass,
                                       void (*fn)(const Property *prop, void *opaque),
                                       void *opaque)
{
    ObjectClass *parent = object_class_get_parent(klass);

    if (parent) {
        class_property_foreach_rec(parent, fn, opaque);
    }
    for (unsigned i = 0; i < klass->nr_props; i++) {
        fn(&klass->props[i], opaque);
    }
}

void object_class_property_foreach(ObjectClass *klass,
                                   void (*fn)(const Property *prop, void *opaque),
                                   void *opaque)
{
    class_property_foreach_rec(klass, fn, opaque);
}

static void prop_set_default(const Property *prop, void *opaque)
{
    Object *obj = opaque;

    if (prop->info->set_default) {
        prop->info->set_default(obj, prop, (char *)obj + prop->offset);
    }
}

static void prop_release(const Property *prop, void *opaque)
{
    Object *obj = opaque;

    if (prop->info->release) {
        prop->info->release(obj, prop, (char *)obj + prop->offset);
    }
}

bool object_property_parse(Object *obj, const char *name, const char *value, Error **errp)
{
    const Property *prop = object_class_property_find(obj->klass, name);
    Error *local_err = NULL;

    if (!prop) {
        error_setg(errp, "Property '%s.%s' not found", object_get_typename(obj), name);
        return false;
    }
    if (!prop->info->parse) {
        error_setg(errp, "Property '%s.%s' cannot be set", object_get_typename(obj), name);
        return false;
    }
    if (!prop->info->parse(obj, prop, (char *)obj + prop->offset, value, &local_err)) {
        error_propagate_prepend(errp, local_err, "Property '%s.%s': ",
                                object_get_typename(obj), name);
        return false;
    }
    trace_object_property_parse(object_get_typename(obj), name, value);
    return true;
}

char *object_property_print(Object *obj, const char *name)
{
    const Property *prop = object_class_property_find(obj->klass, name);

    if (!prop) {
        return NULL;
    }
    if (!prop->info->print) {
        return g_strdup("<?>");
    }
    return prop->info->print(obj, prop, (char *)obj + prop->offset);
}

/* ------------------------------------------------------------------ */
/* Instances */

static void object_init_with_type(Object *obj, struct TypeImpl *ti)
{
    if (ti->parent) {
        object_init_with_type(obj, ti->parent);
    }
    if (ti->info->instance_init) {
        ti->info->instance_init(obj);
    }
}

Object *object_new_with_class(ObjectClass *klass)
{
    struct TypeImpl *ti = klass->type;
    Object *obj;

    if (ti->info->abstract) {
        fprintf(stderr, "cannot instantiate abstract type '%s'\n", ti->info->name);
        abort();
    }
    obj = g_malloc0(ti->instance_size);
    obj->klass = klass;
    obj->ref = 1;
    /* Defaults first, so that instance_init sees them. */
    object_class_property_foreach(klass, prop_set_default, obj);
    object_init_with_type(obj, ti);
    return obj;
}

Object *object_new(const char *typename)
{
    ObjectClass *klass = object_class_by_name(typename);

    if (!klass) {
        fprintf(stderr, "unknown type '%s'\n", typename);
        abort();
    }
    return object_new_with_class(klass);
}

Object *object_ref(void *opaque)
{
    Object *obj = opaque;

    if (obj) {
        assert(obj->ref > 0);
        obj->ref++;
    }
    return obj;
}

void object_unref(void *opaque)
{
    Object *obj = opaque;

    if (!obj) {
        return;
    }
    assert(obj->ref > 0);
    if (--obj->ref) {
        return;
    }
    for (struct TypeImpl *ti = obj->klass->type; ti; ti = ti->parent) {
        if (ti->info->instance_finalize) {
            ti->info->instance_finalize(obj);
        }
    }
    object_class_property_foreach(obj->klass, prop_release, obj);
    g_free(obj->id);
    g_free(obj);
}

const char *object_get_typename(const Object *obj)
{
    return obj->klass->type->info->name;
}

Object *object_dynamic_cast(Object *obj, const char *typename)
{
    if (obj && object_class_dynamic_cast(obj->klass, typename)) {
        return obj;
    }
    return NULL;
}

Object *object_dynamic_cast_assert(Object *obj, const char *typename,
                                   const char *file, int line)
{
    if (obj && !object_class_dynamic_cast(obj->klass, typename)) {
        fprintf(stderr, "%s:%d: object of type '%s' is not a '%s'\n", file, line,
                object_get_typename(obj), typename);
        abort();
    }
    return obj;
}

/* ------------------------------------------------------------------ */
/* User-created objects (/objects) */

/* id -> Object * (referenced). */
static GHashTable *user_objects;

bool id_wellformed(const char *id)
{
    if (!id || !g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

Object *object_find_by_id(const char *id)
{
    return user_objects && id ? g_hash_table_lookup(user_objects, id) : NULL;
}

bool user_creatable_print_help(const char *optarg)
{
    g_autoptr(QOpts) opts = qopts_parse(optarg, "qom-type", NULL);
    const char *type;
    ObjectClass *klass;

    if (!opts) {
        return false;
    }
    type = qopts_get(opts, "qom-type");
    if (type && (!strcmp(type, "help") || !strcmp(type, "?"))) {
        GSList *list = object_class_get_list_sorted(TYPE_OBJECT, false);

        printf("List of user creatable objects:\n");
        for (GSList *l = list; l; l = l->next) {
            ObjectClass *k = l->data;

            if (k->complete) {
                printf("  %s\n", object_class_get_name(k));
            }
        }
        g_slist_free(list);
        return true;
    }
    if (!type || !qopts_wants_help(opts)) {
        return false;
    }
    klass = object_class_by_name(type);
    if (!klass || object_class_is_abstract(klass) || !klass->complete) {
        return false;   /* the caller reports the bad type */
    }
    object_class_print_props(stdout, klass);
    return true;
}

Object *user_creatable_add_opts(const char *optarg, Error **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(optarg, "qom-type", errp);
    const char *type, *id;
    ObjectClass *klass;
    Object *obj;

    if (!opts) {
        return NULL;
    }
    type = qopts_get(opts, "qom-type");
    if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return NULL;
    }
    klass = object_class_by_name(type);
    if (!klass || object_class_is_abstract(klass) || !klass->complete) {
        error_setg(errp, "Invalid parameter type for 'qom-type', expected: "
                   "a user-creatable object type ('%s')", type);
        return NULL;
    }
    id = qopts_get(opts, "id");
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier ('%s')", id);
        return NULL;
    }
    if (object_find_by_id(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object (type 'container')",
                   id);
        return NULL;
    }
    obj = object_new_with_class(klass);
    for (guint i = 0; i < opts->items->len; i++) {
        QOptItem *item = &g_array_index(opts->items, QOptItem, i);

        if (item->used) {
            continue;
        }
        item->used = true;
        if (!object_property_parse(obj, item->key, item->value, errp)) {
            object_unref(obj);
            return NULL;
        }
    }
    obj->id = g_strdup(id);
    if (!klass->complete(obj, errp)) {
        object_unref(obj);
        return NULL;
    }
    if (!user_objects) {
        user_objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, object_unref);
    }
    g_hash_table_insert(user_objects, g_strdup(id), obj);
    trace_user_creatable_add(type, id);
    return obj;
}

void user_creatable_cleanup(void)
{
    if (user_objects) {
        g_hash_table_destroy(user_objects);
        user_objects = NULL;
    }
}
