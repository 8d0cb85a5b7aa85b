/*
 * A small object model: named types with single inheritance, classes,
 * reference-counted instances and declarative properties.
 *
 * It is the part of QEMU's QOM that Aperture needs: a type is registered
 * once (type_register_static, usually from a type_init constructor) with a
 * parent, an instance size and a class_init; object_new() allocates an
 * instance, runs every instance_init from the root type down, and
 * object_unref() of the last reference runs every instance_finalize from
 * the leaf up, then frees it.  Classes are created lazily, once per type:
 * a class starts as a copy of its parent's class (so a subclass inherits
 * every method) and then the type's class_init runs.
 *
 * Properties (hw/qdev-properties.h) are arrays of Property attached to a
 * class; a subclass sees its own and all its ancestors' properties.
 *
 * Threading: types and classes may be registered from constructors; all
 * other calls belong to the main loop thread.
 */
#ifndef QOM_OBJECT_H
#define QOM_OBJECT_H

#include "qemu/osdep.h"

typedef struct Object Object;
typedef struct ObjectClass ObjectClass;
typedef struct TypeImpl *Type;
typedef struct Property Property;

#define TYPE_OBJECT "object"

/* The root of every class. */
struct ObjectClass {
    /* The type this class belongs to; set by the object model. */
    Type type;
    /*
     * Properties declared by this class only (not its ancestors), an array
     * ending at the first entry with a NULL name or after nr_props entries.
     * Set with object_class_set_props()/device_class_set_props().
     */
    const Property *props;
    /* Number of entries in @props (the terminator, if any, excluded). */
    unsigned nr_props;
    /*
     * User-creatable objects (-object): called after the properties are
     * set, to make the object usable (allocate a memory backend's RAM).
     * NULL: nothing to do.  On failure the object is released by the caller.
     */
    bool (*complete)(Object *obj, Error **errp);
};

/* The root of every instance. */
struct Object {
    /* The object's class; set by object_new(). */
    ObjectClass *klass;
    /* References; object_new() gives the caller the first. */
    unsigned ref;
    /* The id a user gave it (-object ...,id= / -device ...,id=), or NULL; owned. */
    char *id;
};

/*
 * A type.  Only name and parent are required; sizes default to the
 * parent's.  Static storage: the object model keeps the pointer.
 */
typedef struct TypeInfo {
    /* Unique type name, e.g. "vfio-pci". */
    const char *name;
    /* Parent type name; NULL only for TYPE_OBJECT itself. */
    const char *parent;
    /* sizeof the instance struct (0: the parent's). */
    size_t instance_size;
    /* Run on a zeroed instance, after the parent's instance_init. */
    void (*instance_init)(Object *obj);
    /* Run before the parent's instance_finalize when the last reference goes. */
    void (*instance_finalize)(Object *obj);
    /* An abstract type cannot be instantiated (object_new() asserts). */
    bool abstract;
    /* sizeof the class struct (0: the parent's). */
    size_t class_size;
    /* Run once on the class, after it was copied from the parent's. */
    void (*class_init)(ObjectClass *klass, void *data);
    /* Passed to class_init. */
    void *class_data;
} TypeInfo;

/*
 * Register @info (the pointer is kept).  Registering a name twice aborts.
 * The parent need not be registered yet: it is resolved on first use.
 */
Type type_register_static(const TypeInfo *info);
/* Register @n types of an array. */
void type_register_static_array(const TypeInfo *infos, int n);

/* Run @fn from a constructor: the usual way to register a file's types. */
#define type_init(fn)                                                   \
    static void __attribute__((constructor)) aperture_type_init_##fn(void) \
    {                                                                   \
        fn();                                                           \
    }

/* The class of type @typename, or NULL if no such type is registered. */
ObjectClass *object_class_by_name(const char *typename);
const char *object_class_get_name(const ObjectClass *klass);
/* The parent type's class, or NULL for TYPE_OBJECT. */
ObjectClass *object_class_get_parent(ObjectClass *klass);
bool object_class_is_abstract(ObjectClass *klass);
/* @klass if its type is @typename or derives from it, else NULL. */
ObjectClass *object_class_dynamic_cast(ObjectClass *klass, const char *typename);
/* As object_class_dynamic_cast, aborting (with both names) on a mismatch. */
ObjectClass *object_class_dynamic_cast_assert(ObjectClass *klass, const char *typename,
                                              const char *file, int line);

/*
 * Call @fn for every class deriving from @implements_type (NULL: every
 * class), abstract ones only if @include_abstract, in type name order.
 */
void object_class_foreach(void (*fn)(ObjectClass *klass, void *opaque),
                          const char *implements_type, bool include_abstract,
                          void *opaque);
/* The same classes as a GSList sorted by name; free with g_slist_free. */
GSList *object_class_get_list_sorted(const char *implements_type, bool include_abstract);

/*
 * A new instance of @typename with one reference.  Aborts for an unknown
 * or abstract type: callers that take the name from a user check first
 * with object_class_by_name().
 */
Object *object_new(const char *typename);
Object *object_new_with_class(ObjectClass *klass);
/* Take a reference; returns @obj.  NULL is ignored. */
Object *object_ref(void *obj);
/* Drop a reference; the last one finalises and frees.  NULL is ignored. */
void object_unref(void *obj);

const char *object_get_typename(const Object *obj);
/* @obj if it is a @typename (or derived), else NULL; NULL @obj gives NULL. */
Object *object_dynamic_cast(Object *obj, const char *typename);
Object *object_dynamic_cast_assert(Object *obj, const char *typename,
                                   const char *file, int line);

/* Checked casts, as QEMU spells them. */
#define OBJECT(obj) ((Object *)(obj))
#define OBJECT_CLASS(klass) ((ObjectClass *)(klass))
#define OBJECT_GET_CLASS(class_type, obj, name) \
    OBJECT_CLASS_CHECK(class_type, OBJECT(obj)->klass, name)
#define OBJECT_CHECK(type, obj, name) \
    ((type *)object_dynamic_cast_assert(OBJECT(obj), (name), __FILE__, __LINE__))
#define OBJECT_CLASS_CHECK(class_type, klass, name) \
    ((class_type *)object_class_dynamic_cast_assert(OBJECT_CLASS(klass), (name), \
                                                    __FILE__, __LINE__))

/*
 * Declare the cast helpers of a type, e.g.
 *   OBJECT_DECLARE_TYPE(VFIOPCIDevice, VFIOPCIDeviceClass, VFIO_PCI)
 * gives VFIO_PCI(obj), VFIO_PCI_CLASS(klass) and VFIO_PCI_GET_CLASS(obj),
 * checked against TYPE_VFIO_PCI.  OBJECT_DECLARE_SIMPLE_TYPE is for a type
 * without a class struct of its own.
 */
#define OBJECT_DECLARE_TYPE(InstanceType, ClassType, MODULE_OBJ_NAME)          \
    typedef struct InstanceType InstanceType;                                  \
    typedef struct ClassType ClassType;                                        \
    G_GNUC_UNUSED static inline InstanceType *MODULE_OBJ_NAME(const void *obj) \
    {                                                                          \
        return OBJECT_CHECK(InstanceType, obj, TYPE_##MODULE_OBJ_NAME);        \
    }                                                                          \
    G_GNUC_UNUSED static inline ClassType *MODULE_OBJ_NAME##_GET_CLASS(const void *obj) \
    {                                                                          \
        return OBJECT_GET_CLASS(ClassType, obj, TYPE_##MODULE_OBJ_NAME);       \
    }                                                                          \
    G_GNUC_UNUSED static inline ClassType *MODULE_OBJ_NAME##_CLASS(const void *klass) \
    {                                                                          \
        return OBJECT_CLASS_CHECK(ClassType, klass, TYPE_##MODULE_OBJ_NAME);   \
    }

#define OBJECT_DECLARE_SIMPLE_TYPE(InstanceType, MODULE_OBJ_NAME)              \
    typedef struct InstanceType InstanceType;                                  \
    G_GNUC_UNUSED static inline InstanceType *MODULE_OBJ_NAME(const void *obj) \
    {                                                                          \
        return OBJECT_CHECK(InstanceType, obj, TYPE_##MODULE_OBJ_NAME);        \
    }

/*
 * Properties of any object (the Property machinery of hw/qdev-properties.h
 * is not device-specific).  Names are looked up in the class and then its
 * ancestors.
 */
/* The property @name of @obj's class or an ancestor, or NULL. */
const Property *object_class_property_find(ObjectClass *klass, const char *name);
/* Attach @props (static storage; ends at a NULL name or after @n entries). */
void object_class_set_props(ObjectClass *klass, const Property *props, unsigned n);
/*
 * Parse @value with the property's parser and store it.  Fails for an
 * unknown property ("Property 'TYPE.NAME' not found") or a value the parser
 * refuses (the message names the property and the value).
 */
bool object_property_parse(Object *obj, const char *name, const char *value, Error **errp);
/* The property's current value as the parser would accept it; g_free it.  NULL if unknown. */
char *object_property_print(Object *obj, const char *name);
/* Call @fn for each property of @klass, ancestors' first. */
void object_class_property_foreach(ObjectClass *klass,
                                   void (*fn)(const Property *prop, void *opaque),
                                   void *opaque);

/*
 * "TYPE options:" then one "  NAME=<type>  - help (default: X)" line per
 * property, sorted by name (the format of `-device TYPE,help`).
 */
void object_class_print_props(FILE *fp, ObjectClass *klass);

/*
 * User-created objects (-object TYPE,id=ID,...): a flat namespace of ids,
 * QEMU's /objects container.
 */
/*
 * -object: @optarg is "TYPE,id=ID,key=value,..." (qom/opts.h syntax).
 * Creates the object, sets its properties, completes it and adds it under
 * its id.  Fails for an unknown or abstract type, a type that is not
 * user-creatable (no complete method), a missing, invalid or duplicate id,
 * or a bad property; nothing is left behind then.  "TYPE,help" is handled
 * by the caller (user_creatable_print_help).
 */
Object *user_creatable_add_opts(const char *optarg, Error **errp);
/*
 * If @optarg asks for help ("help" or "TYPE,help"), print it on stdout and
 * return true.
 */
bool user_creatable_print_help(const char *optarg);
/* The user-created object called @id, or NULL.  No reference is taken. */
Object *object_find_by_id(const char *id);
/* Remove and unreference every user-created object (orderly exit, tests). */
void user_creatable_cleanup(void);

/* QEMU's id rule: a letter, then letters, digits, '-', '.', '_'. */
bool id_wellformed(const char *id);

#endif /* QOM_OBJECT_H */
