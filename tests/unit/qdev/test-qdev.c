/*
 * The object and device model: types, realize/unrealize, buses, ids and
 * paths, reset, hot-unplug, GPIOs, -device.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "hw/qdev-properties.h"

/* ------------------------------------------------------------------ */
/* Test types */

#define TYPE_TEST_BUS "test-bus"
#define TYPE_TEST_DEV "test-dev"
#define TYPE_TEST_SUBDEV "test-subdev"
#define TYPE_TEST_BRIDGE "test-bridge"
#define TYPE_TEST_ABSTRACT "test-abstract"

typedef struct TestDev {
    DeviceState parent_obj;
    uint32_t value;
    bool fail_realize;
    char *name;
    int realize_count;
    int instance_init_seen_value;   /* value as instance_init saw it (defaults first) */
    qemu_irq out[2];
    int in_levels[3];
    uint8_t small;
} TestDev;

typedef struct TestDevClass {
    DeviceClass parent_class;
    int class_marker;               /* set by TestDev's class_init, inherited */
    DeviceRealize parent_realize;
} TestDevClass;

#define TEST_DEV(obj) OBJECT_CHECK(TestDev, (obj), TYPE_TEST_DEV)
#define TEST_DEV_CLASS(k) OBJECT_CLASS_CHECK(TestDevClass, (k), TYPE_TEST_DEV)
#define TEST_DEV_GET_CLASS(o) OBJECT_GET_CLASS(TestDevClass, (o), TYPE_TEST_DEV)

/* Order of reset and unrealize calls, as "name," entries. */
static GString *call_log;

static void log_call(const char *what, DeviceState *dev)
{
    g_string_append_printf(call_log, "%s:%s,", what, dev->id ? dev->id : "?");
}

static bool test_dev_realize(DeviceState *dev, Error **errp)
{
    TestDev *t = TEST_DEV(dev);

    if (t->fail_realize) {
        error_setg(errp, "test-dev refuses to realize");
        return false;
    }
    t->realize_count++;
    log_call("realize", dev);
    return true;
}

static void test_dev_unrealize(DeviceState *dev)
{
    log_call("unrealize", dev);
}

static void test_dev_reset(DeviceState *dev)
{
    TEST_DEV(dev)->value = 7;
    log_call("reset", dev);
}

static void test_dev_gpio_in(void *opaque, int n, int level)
{
    TEST_DEV(opaque)->in_levels[n] = level;
}

static void test_dev_instance_init(Object *obj)
{
    TestDev *t = TEST_DEV(obj);

    t->instance_init_seen_value = t->value;
    qdev_init_gpio_in(DEVICE(obj), test_dev_gpio_in, 3);
    qdev_init_gpio_out(DEVICE(obj), t->out, 2);
}

static const Property test_dev_props[] = {
    DEFINE_PROP_UINT32("value", TestDev, value, 42),
    DEFINE_PROP_BOOL("fail-realize", TestDev, fail_realize, false),
    DEFINE_PROP_STRING("name", TestDev, name),
};

static void test_dev_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->bus_type = TYPE_TEST_BUS;
    dc->desc = "A device for tests";
    dc->realize = test_dev_realize;
    dc->unrealize = test_dev_unrealize;
    dc->reset = test_dev_reset;
    TEST_DEV_CLASS(klass)->class_marker = 1234;
    device_class_set_props(dc, test_dev_props);
}

/* A subclass chaining up to the parent's realize. */
static bool test_subdev_realize(DeviceState *dev, Error **errp)
{
    log_call("subrealize", dev);
    return TEST_DEV_GET_CLASS(dev)->parent_realize(dev, errp);
}

static const Property test_subdev_props[] = {
    DEFINE_PROP_UINT8("small", TestDev, small, 3),
};

static void test_subdev_class_init(ObjectClass *klass, void *data)
{
    device_class_set_parent_realize(DEVICE_CLASS(klass), test_subdev_realize,
                                    &TEST_DEV_CLASS(klass)->parent_realize);
    device_class_set_props(DEVICE_CLASS(klass), test_subdev_props);
}

/* A bridge: a system-bus device providing a test bus with a hotplug handler. */
typedef struct TestBridge {
    DeviceState parent_obj;
    BusState *bus;
    bool defer_unplug;              /* unplug_request leaves the device plugged */
    DeviceState *pending;           /* the device whose unplug was deferred */
    int unplug_calls;
} TestBridge;

#define TEST_BRIDGE(obj) OBJECT_CHECK(TestBridge, (obj), TYPE_TEST_BRIDGE)

static bool bridge_unplug_request(void *opaque, DeviceState *dev, Error **errp)
{
    TestBridge *b = opaque;

    if (b->defer_unplug) {
        b->pending = dev;
        return true;
    }
    qdev_unplug_complete(dev);
    return true;
}

static void bridge_unplug(void *opaque, DeviceState *dev)
{
    TEST_BRIDGE(opaque)->unplug_calls++;
}

static const HotplugHandlerOps bridge_hotplug_ops = {
    .unplug_request = bridge_unplug_request,
    .unplug = bridge_unplug,
};

static void test_bridge_instance_init(Object *obj)
{
    TestBridge *b = TEST_BRIDGE(obj);

    b->bus = qbus_new(TYPE_TEST_BUS, DEVICE(obj), "testbus.0");
    qbus_set_hotplug_handler(b->bus, &bridge_hotplug_ops, b);
}

static void test_bridge_reset(DeviceState *dev)
{
    log_call("reset", dev);
}

static void test_bridge_class_init(ObjectClass *klass, void *data)
{
    DEVICE_CLASS(klass)->reset = test_bridge_reset;
}

static void test_bus_class_init(ObjectClass *klass, void *data)
{
    BUS_CLASS(klass)->max_dev = 3;
}

static const TypeInfo test_types[] = {
    {
        .name = TYPE_TEST_BUS,
        .parent = TYPE_BUS,
        .class_init = test_bus_class_init,
    },
    {
        .name = TYPE_TEST_ABSTRACT,
        .parent = TYPE_DEVICE,
        .abstract = true,
    },
    {
        .name = TYPE_TEST_DEV,
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(TestDev),
        .instance_init = test_dev_instance_init,
        .class_size = sizeof(TestDevClass),
        .class_init = test_dev_class_init,
    },
    {
        .name = TYPE_TEST_SUBDEV,
        .parent = TYPE_TEST_DEV,
        .class_init = test_subdev_class_init,
    },
    {
        .name = TYPE_TEST_BRIDGE,
        .parent = TYPE_SYS_BUS_DEVICE,
        .instance_size = sizeof(TestBridge),
        .instance_init = test_bridge_instance_init,
        .class_init = test_bridge_class_init,
    },
};

static void register_test_types(void)
{
    type_register_static_array(test_types, ARRAY_SIZE(test_types));
}

type_init(register_test_types)

/* ------------------------------------------------------------------ */
/* Fixture: a bridge on the system bus; events recorded. */

static GPtrArray *events;   /* "NAME data-json" strings */
static unsigned event_listener;

static void record_event(const char *name, JsonObject *event, void *opaque)
{
    JsonObject *data = json_object_has_member(event, "data")
                       ? json_object_get_object_member(event, "data") : NULL;
    GString *s = g_string_new(name);

    if (data) {
        if (json_object_has_member(data, "device")) {
            g_string_append_printf(s, " device=%s",
                                   json_object_get_string_member(data, "device"));
        }
        if (json_object_has_member(data, "path")) {
            g_string_append_printf(s, " path=%s", json_object_get_string_member(data, "path"));
        }
    }
    g_ptr_array_add(events, g_string_free(s, false));
}

static TestBridge *setup(void)
{
    DeviceState *b = qdev_new(TYPE_TEST_BRIDGE);

    call_log = g_string_new(NULL);
    events = g_ptr_array_new_with_free_func(g_free);
    event_listener = qapi_event_add_listener(record_event, NULL);
    b->id = g_strdup("bridge");
    g_assert_true(qdev_realize_and_unref(b, NULL, &error_abort));
    return TEST_BRIDGE(b);
}

static void teardown(void)
{
    qdev_machine_teardown();
    qapi_event_remove_listener(event_listener);
    g_ptr_array_free(events, true);
    g_string_free(call_log, true);
}

static DeviceState *new_test_dev(const char *type, const char *id)
{
    DeviceState *dev = qdev_new(type);

    if (id) {
        g_assert_true(qdev_set_id(dev, id, &error_abort));
    }
    return dev;
}

/* ------------------------------------------------------------------ */
/* Types */

static void test_type_hierarchy(void)
{
    ObjectClass *k = object_class_by_name(TYPE_TEST_SUBDEV);

    g_assert_nonnull(k);
    g_assert_cmpstr(object_class_get_name(k), ==, TYPE_TEST_SUBDEV);
    g_assert_cmpstr(object_class_get_name(object_class_get_parent(k)), ==, TYPE_TEST_DEV);
    g_assert_true(object_class_dynamic_cast(k, TYPE_DEVICE) == k);
    g_assert_null(object_class_dynamic_cast(k, TYPE_BUS));
    g_assert_null(object_class_dynamic_cast(k, "no-such-type"));
    /* The subclass inherits what the parent's class_init set. */
    g_assert_cmpint(TEST_DEV_CLASS(k)->class_marker, ==, 1234);
    g_assert_true(DEVICE_CLASS(k)->reset == test_dev_reset);
    g_assert_null(object_class_by_name("no-such-type"));
    g_assert_true(object_class_is_abstract(object_class_by_name(TYPE_TEST_ABSTRACT)));
    g_assert_null(qdev_try_new(TYPE_TEST_ABSTRACT));
    g_assert_null(qdev_try_new(TYPE_TEST_BUS));
    g_assert_null(qdev_try_new("no-such-type"));
}

static void count_class(ObjectClass *klass, void *opaque)
{
    (*(int *)opaque)++;
}

static void test_type_foreach(void)
{
    int n_concrete = 0, n_all = 0;
    GSList *list;

    object_class_foreach(count_class, TYPE_TEST_DEV, false, &n_concrete);
    g_assert_cmpint(n_concrete, ==, 2);
    object_class_foreach(count_class, TYPE_DEVICE, true, &n_all);
    g_assert_cmpint(n_all, >=, 5);   /* device, sys-bus-device, abstract, dev, subdev, bridge */
    list = object_class_get_list_sorted(TYPE_TEST_DEV, false);
    g_assert_cmpstr(object_class_get_name(list->data), ==, TYPE_TEST_DEV);
    g_assert_cmpstr(object_class_get_name(list->next->data), ==, TYPE_TEST_SUBDEV);
    g_slist_free(list);
}

static void test_type_defaults_before_instance_init(void)
{
    TestDev *t = TEST_DEV(qdev_new(TYPE_TEST_DEV));

    g_assert_cmpint(t->instance_init_seen_value, ==, 42);
    g_assert_cmpuint(t->value, ==, 42);
    g_assert_false(t->fail_realize);
    g_assert_null(t->name);
    g_assert_true(object_dynamic_cast(OBJECT(t), TYPE_DEVICE) == OBJECT(t));
    g_assert_null(object_dynamic_cast(OBJECT(t), TYPE_TEST_SUBDEV));
    object_unref(t);
}

static void test_type_refcount(void)
{
    DeviceState *dev = qdev_new(TYPE_TEST_DEV);

    g_assert_true(object_ref(dev) == OBJECT(dev));
    g_assert_cmpuint(OBJECT(dev)->ref, ==, 2);
    object_unref(dev);
    g_assert_cmpuint(OBJECT(dev)->ref, ==, 1);
    qdev_prop_set_string(dev, "name", "released with the object");
    object_unref(dev);      /* frees the string too (valgrind checks) */
    object_unref(NULL);
}

/* ------------------------------------------------------------------ */
/* Realize / unrealize */

static void test_realize_on_bus(void)
{
    TestBridge *b = setup();
    DeviceState *dev = new_test_dev(TYPE_TEST_DEV, "d1");

    g_assert_true(qdev_realize(dev, b->bus, &error_abort));
    g_assert_true(dev->realized);
    g_assert_true(dev->parent_bus == b->bus);
    g_assert_cmpuint(OBJECT(dev)->ref, ==, 2);      /* ours and the bus's */
    g_assert_cmpstr(qdev_get_path(dev), ==, "/machine/unattached/device[1]");
    g_assert_cmpint(TEST_DEV(dev)->realize_count, ==, 1);
    object_unref(dev);
    g_assert_true(qdev_find_recursive(sysbus_get_default(), "d1") == dev);
    teardown();
}

static void test_realize_failure_leaves_nothing(void)
{
    TestBridge *b = setup();
    DeviceState *dev = new_test_dev(TYPE_TEST_DEV, "bad");
    Error *err = NULL;

    qdev_prop_set_bit(dev, "fail-realize", true);
    g_assert_false(qdev_realize(dev, b->bus, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "test-dev refuses to realize");
    error_free(err);
    g_assert_false(dev->realized);
    g_assert_null(dev->parent_bus);
    g_assert_null(qdev_get_path(dev));
    g_assert_cmpuint(g_queue_get_length(&b->bus->children), ==, 0);
    g_assert_null(qdev_find_recursive(sysbus_get_default(), "bad"));
    g_assert_cmpuint(OBJECT(dev)->ref, ==, 1);

    /* The same device realizes once the cause is gone. */
    qdev_prop_set_bit(dev, "fail-realize", false);
    g_assert_true(qdev_realize_and_unref(dev, b->bus, &error_abort));
    g_assert_true(qdev_find_recursive(sysbus_get_default(), "bad") == dev);
    teardown();
}

static void test_realize_and_unref_failure_frees(void)
{
    TestBridge *b = setup();
    DeviceState *dev = new_test_dev(TYPE_TEST_DEV, "gone");
    Error *err = NULL;

    qdev_prop_set_bit(dev, "fail-realize", true);
    g_assert_false(qdev_realize_and_unref(dev, b->bus, &err));
    error_free(err);
    /* dev is freed here (valgrind/ASan check); the id is free again. */
    dev = new_test_dev(TYPE_TEST_DEV, "gone");
    g_assert_true(qdev_realize_and_unref(dev, b->bus, &error_abort));
    teardown();
}

static void test_realize_wrong_bus(void)
{
    DeviceState *dev;
    Error *err = NULL;

    setup();
    dev = new_test_dev(TYPE_TEST_DEV, "x");
    g_assert_false(qdev_realize(dev, sysbus_get_default(), &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Device 'test-dev' can't go on System bus");
    g_clear_pointer(&err, error_free);
    g_assert_false(qdev_realize(dev, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "No 'test-bus' bus found for device 'test-dev'");
    error_free(err);
    object_unref(dev);
    teardown();
}

static void test_realize_bus_full(void)
{
    TestBridge *b = setup();
    Error *err = NULL;
    DeviceState *dev;

    for (int i = 0; i < 3; i++) {
        g_assert_true(qdev_realize_and_unref(new_test_dev(TYPE_TEST_DEV, NULL), b->bus,
                                             &error_abort));
    }
    dev = new_test_dev(TYPE_TEST_DEV, NULL);
    g_assert_false(qdev_realize(dev, b->bus, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Bus 'testbus.0' is full");
    error_free(err);
    object_unref(dev);
    g_assert_null(qbus_find_free(TYPE_TEST_BUS));
    teardown();
}

static void test_realize_duplicate_id(void)
{
    TestBridge *b = setup();
    DeviceState *dev;
    Error *err = NULL;

    g_assert_true(qdev_realize_and_unref(new_test_dev(TYPE_TEST_DEV, "same"), b->bus,
                                         &error_abort));
    dev = new_test_dev(TYPE_TEST_DEV, "same");
    g_assert_false(qdev_realize(dev, b->bus, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Duplicate ID 'same' for device");
    error_free(err);
    object_unref(dev);
    teardown();
}

static void test_subclass_chains_realize(void)
{
    TestBridge *b = setup();
    DeviceState *dev = new_test_dev(TYPE_TEST_SUBDEV, "sub");

    /* Both the subclass's and the parent's properties exist. */
    g_assert_true(qdev_prop_parse(dev, "small", "200", &error_abort));
    g_assert_true(qdev_prop_parse(dev, "value", "5", &error_abort));
    g_assert_true(qdev_realize_and_unref(dev, b->bus, &error_abort));
    g_assert_cmpstr(call_log->str, ==, "subrealize:sub,realize:sub,");
    teardown();
}

static void test_unrealize_children_first(void)
{
    TestBridge *b = setup();
    DeviceState *d1 = new_test_dev(TYPE_TEST_DEV, "d1");
    DeviceState *d2 = new_test_dev(TYPE_TEST_DEV, "d2");

    g_assert_true(qdev_realize_and_unref(d1, b->bus, &error_abort));
    g_assert_true(qdev_realize_and_unref(d2, b->bus, &error_abort));
    g_string_truncate(call_log, 0);
    qdev_unrealize(DEVICE(b));      /* frees the bridge and both devices */
    g_assert_cmpstr(call_log->str, ==, "unrealize:d2,unrealize:d1,");
    g_assert_cmpuint(g_queue_get_length(&sysbus_get_default()->children), ==, 0);
    teardown();
}

/* ------------------------------------------------------------------ */
/* Ids and paths */

static void test_paths_and_lookup(void)
{
    TestBridge *b = setup();
    DeviceState *user = new_test_dev(TYPE_TEST_DEV, "net0");
    DeviceState *anon = new_test_dev(TYPE_TEST_DEV, NULL);
    DeviceState *mach = new_test_dev(TYPE_TEST_DEV, NULL);
    bool ambiguous;

    user->user_created = true;
    anon->user_created = true;
    qdev_set_machine_child(mach, "ioapic");
    g_assert_true(qdev_realize_and_unref(user, b->bus, &error_abort));
    g_assert_true(qdev_realize_and_unref(anon, b->bus, &error_abort));
    g_assert_true(qdev_realize_and_unref(mach, b->bus, &error_abort));

    g_assert_cmpstr(qdev_get_path(user), ==, "/machine/peripheral/net0");
    g_assert_cmpstr(qdev_get_path(anon), ==, "/machine/peripheral-anon/device[0]");
    g_assert_cmpstr(qdev_get_path(mach), ==, "/machine/ioapic");

    g_assert_true(qdev_resolve_path("/machine/peripheral/net0", NULL) == user);
    g_assert_true(qdev_resolve_path("net0", NULL) == user);
    g_assert_true(qdev_resolve_path("ioapic", NULL) == mach);
    g_assert_true(qdev_resolve_path("peripheral/net0", NULL) == user);
    g_assert_null(qdev_resolve_path("/machine/nothing", NULL));
    g_assert_null(qdev_resolve_path("", NULL));
    /* "device[0]" names both unattached device[0] (the bridge) and anon device[0]. */
    g_assert_null(qdev_resolve_path("device[0]", &ambiguous));
    g_assert_true(ambiguous);
    g_assert_true(qdev_find_recursive(b->bus, "net0") == user);
    g_assert_true(qbus_find_by_name("testbus.0") == b->bus);
    g_assert_null(qbus_find_by_name("nope"));
    teardown();
}

static void test_bad_ids_refused(void)
{
    DeviceState *dev = qdev_new(TYPE_TEST_DEV);
    static const char *const bad[] = { "", "0abc", "a b", "a/b", "a,b", "-x" };
    static const char *const good[] = { "a", "net0", "my-dev.1_x" };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        Error *err = NULL;

        g_assert_false(qdev_set_id(dev, bad[i], &err));
        g_assert_nonnull(err);
        error_free(err);
    }
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        g_assert_true(qdev_set_id(dev, good[i], &error_abort));
        g_assert_cmpstr(qdev_get_id(dev), ==, good[i]);
    }
    object_unref(dev);
}

/* ------------------------------------------------------------------ */
/* Reset */

static void test_cold_reset_tree(void)
{
    TestBridge *b = setup();
    DeviceState *d1 = new_test_dev(TYPE_TEST_DEV, "d1");
    DeviceState *d2 = new_test_dev(TYPE_TEST_DEV, "d2");

    g_assert_true(qdev_realize_and_unref(d1, b->bus, &error_abort));
    g_assert_true(qdev_realize_and_unref(d2, b->bus, &error_abort));
    TEST_DEV(d1)->value = 1;
    g_string_truncate(call_log, 0);
    bus_cold_reset(sysbus_get_default());
    /* Children before their parent; properties kept, state reset. */
    g_assert_cmpstr(call_log->str, ==, "reset:d1,reset:d2,reset:bridge,");
    g_assert_cmpuint(TEST_DEV(d1)->value, ==, 7);
    g_string_truncate(call_log, 0);
    device_cold_reset(d2);
    g_assert_cmpstr(call_log->str, ==, "reset:d2,");
    teardown();
}

/* ------------------------------------------------------------------ */
/* Hot-unplug */

static void test_unplug_immediate(void)
{
    TestBridge *b = setup();
    DeviceState *dev = new_test_dev(TYPE_TEST_DEV, "hp");

    dev->user_created = true;
    g_assert_true(qdev_realize_and_unref(dev, b->bus, &error_abort));
    g_assert_true(qdev_unplug(dev, &error_abort));
    /* Gone at once: handler told, unrealized, event sent. */
    g_assert_cmpint(b->unplug_calls, ==, 1);
    g_assert_null(qdev_find_recursive(sysbus_get_default(), "hp"));
    g_assert_cmpuint(events->len, ==, 1);
    g_assert_cmpstr(events->pdata[0], ==, "DEVICE_DELETED device=hp path=/machine/peripheral/hp");
    teardown();
}

static void test_unplug_deferred(void)
{
    TestBridge *b = setup();
    DeviceState *dev = new_test_dev(TYPE_TEST_DEV, "slow");
    Error *err = NULL;

    b->defer_unplug = true;
    g_assert_true(qdev_realize_and_unref(dev, b->bus, &error_abort));
    g_assert_true(qdev_unplug(dev, &error_abort));
    /* Still there until the handler completes; a second request is refused. */
    g_assert_true(qdev_find_recursive(sysbus_get_default(), "slow") == dev);
    g_assert_cmpuint(events->len, ==, 0);
    g_assert_false(qdev_unplug(dev, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Device slow is already in the process of unplug");
    error_free(err);

    qdev_unplug_complete(b->pending);
    g_assert_null(qdev_find_recursive(sysbus_get_default(), "slow"));
    g_assert_cmpuint(events->len, ==, 1);
    g_assert_cmpstr(events->pdata[0], ==,
                    "DEVICE_DELETED device=slow path=/machine/unattached/device[1]");
    teardown();
}

static void test_unplug_refused_without_handler(void)
{
    DeviceState *bridge;
    Error *err = NULL;

    setup();
    /* The bridge sits on the system bus, which has no hotplug handler. */
    bridge = qdev_find_recursive(sysbus_get_default(), "bridge");
    g_assert_false(qdev_unplug(bridge, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Bus 'main-system-bus' does not support "
      "hotplugging");
    error_free(err);
    g_assert_cmpuint(events->len, ==, 0);
    teardown();
}

/* ------------------------------------------------------------------ */
/* GPIOs */

static void intercepted(void *opaque, int n, int level)
{
    int *seen = opaque;

    seen[n] = level + 10;
}

static void test_gpio_connect_and_intercept(void)
{
    TestBridge *b = setup();
    DeviceState *src = new_test_dev(TYPE_TEST_DEV, "src");
    DeviceState *dst = new_test_dev(TYPE_TEST_DEV, "dst");
    NamedGPIOList *in;
    int seen[3] = { 0 };

    g_assert_true(qdev_realize_and_unref(src, b->bus, &error_abort));
    g_assert_true(qdev_realize_and_unref(dst, b->bus, &error_abort));
    qdev_connect_gpio_out(src, 1, qdev_get_gpio_in(dst, 2));
    qemu_irq_raise(TEST_DEV(src)->out[1]);
    g_assert_cmpint(TEST_DEV(dst)->in_levels[2], ==, 1);
    qemu_irq_lower(TEST_DEV(src)->out[1]);
    g_assert_cmpint(TEST_DEV(dst)->in_levels[2], ==, 0);
    /* An unconnected output goes nowhere. */
    qemu_irq_raise(TEST_DEV(src)->out[0]);

    in = qdev_get_named_gpio_list(dst, NULL);
    g_assert_cmpint(in->num_in, ==, 3);
    g_assert_cmpint(in->num_out, ==, 2);
    qemu_irq_intercept_in(in->in, intercepted, seen, in->num_in);
    qemu_irq_pulse(TEST_DEV(src)->out[1]);
    g_assert_cmpint(seen[2], ==, 10);               /* raised then lowered */
    g_assert_cmpint(TEST_DEV(dst)->in_levels[2], ==, 0);  /* the device no longer sees it */
    teardown();
}

static void split_target(void *opaque, int n, int level)
{
    ((int *)opaque)[n] = level;
}

static void test_irq_split_and_arrays(void)
{
    int levels[2] = { 0 };
    qemu_irq *irqs = qemu_allocate_irqs(split_target, levels, 2);
    qemu_irq both = qemu_irq_split(irqs[0], irqs[1]);

    qemu_set_irq(both, 5);
    g_assert_cmpint(levels[0], ==, 5);
    g_assert_cmpint(levels[1], ==, 5);
    qemu_set_irq(NULL, 1);      /* ignored */
    qemu_free_irq(both);
    qemu_free_irqs(irqs, 2);
}

/* ------------------------------------------------------------------ */
/* -device */

static void test_device_add(void)
{
    DeviceState *dev;

    setup();
    dev = qdev_device_add("test-dev,id=cli0,value=0x10,name=a,,b", &error_abort);
    g_assert_nonnull(dev);
    g_assert_true(dev->user_created);
    g_assert_cmpstr(qdev_get_path(dev), ==, "/machine/peripheral/cli0");
    g_assert_cmpuint(TEST_DEV(dev)->value, ==, 16);
    g_assert_cmpstr(TEST_DEV(dev)->name, ==, "a,b");
    g_assert_true(dev->parent_bus == qbus_find_by_name("testbus.0"));

    g_assert_nonnull(qdev_device_add("test-dev,bus=testbus.0", &error_abort));
    teardown();
}

static void test_device_add_errors(void)
{
    static const struct {
        const char *arg;
        const char *msg;
    } cases[] = {
        { "no-such-dev", "'no-such-dev' is not a valid device model name" },
        { "test-bus", "'test-bus' is not a valid device model name" },
        { "test-abstract", "Parameter 'driver' expects a pluggable device type ('test-abstract')" },
        { "test-bridge", "Parameter 'driver' expects a pluggable device type ('test-bridge')" },
        { "test-dev,bogus=1", "Property 'test-dev.bogus' not found" },
        { "test-dev,value=x", "Property 'test-dev.value': invalid number 'x'" },
        { "test-dev,id=9x", "Parameter 'id' expects an identifier ('9x')" },
        { "test-dev,bus=nobus", "Bus 'nobus' not found" },
        { "test-dev,bus=main-system-bus", "Device 'test-dev' can't go on System bus" },
        { "test-dev,fail-realize=on", "test-dev refuses to realize" },
        { "test-dev,id=a,id=b", "Parameter 'id' appears more than once" },
        { "", "Parameter 'driver' is missing" },
    };

    setup();
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        Error *err = NULL;

        g_assert_null(qdev_device_add(cases[i].arg, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        error_free(err);
    }
    /* Nothing of the failures is left on the bus. */
    g_assert_cmpuint(g_queue_get_length(&qbus_find_by_name("testbus.0")->children), ==, 0);
    teardown();
}

static void test_device_list_and_props_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    qdev_print_device_list(fp);
    g_assert_true(qdev_print_props(fp, TYPE_TEST_SUBDEV));
    g_assert_false(qdev_print_props(fp, "no-such-dev"));
    g_assert_false(qdev_print_props(fp, TYPE_TEST_ABSTRACT));
    fclose(fp);
    g_assert_nonnull(strstr(buf, "name \"test-dev\", bus test-bus, desc \"A device for tests\"\n"));
    g_assert_null(strstr(buf, "name \"test-bridge\""));     /* not user-creatable */
    g_assert_nonnull(strstr(buf, "test-subdev options:\n"
                                 "  fail-realize=<bool>      - (default: false)\n"
                                 "  name=<str>\n"
                                 "  small=<uint8>            - (default: 3)\n"
                                 "  value=<uint32>           - (default: 42)\n"));
    free(buf);
}

/* Runs last: once the machine is built, -device/device_add means hot-plug. */
static void test_device_add_hotplug_phase(void)
{
    Error *err = NULL;
    DeviceState *dev;

    setup();
    g_assert_false(qdev_hotplug_enabled());
    qdev_machine_creation_done();
    g_assert_true(qdev_hotplug_enabled());
    /* The test bus has a hot-plug handler: fine. */
    dev = qdev_device_add("test-dev,id=hot0", &error_abort);
    g_assert_nonnull(dev);
    g_assert_true(qdev_unplug(dev, &error_abort));
    /* A bus without one refuses. */
    g_assert_null(qdev_device_add("test-dev,bus=main-system-bus", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Bus 'main-system-bus' does not support "
      "hotplugging");
    error_free(err);
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qdev/type/hierarchy", test_type_hierarchy);
    g_test_add_func("/qdev/type/foreach", test_type_foreach);
    g_test_add_func("/qdev/type/defaults-before-instance-init",
                    test_type_defaults_before_instance_init);
    g_test_add_func("/qdev/type/refcount", test_type_refcount);
    g_test_add_func("/qdev/realize/on-bus", test_realize_on_bus);
    g_test_add_func("/qdev/realize/failure-leaves-nothing", test_realize_failure_leaves_nothing);
    g_test_add_func("/qdev/realize/and-unref-failure-frees", test_realize_and_unref_failure_frees);
    g_test_add_func("/qdev/realize/wrong-bus", test_realize_wrong_bus);
    g_test_add_func("/qdev/realize/bus-full", test_realize_bus_full);
    g_test_add_func("/qdev/realize/duplicate-id", test_realize_duplicate_id);
    g_test_add_func("/qdev/realize/subclass-chains-up", test_subclass_chains_realize);
    g_test_add_func("/qdev/unrealize/children-first", test_unrealize_children_first);
    g_test_add_func("/qdev/path/canonical-and-partial", test_paths_and_lookup);
    g_test_add_func("/qdev/path/bad-ids-refused", test_bad_ids_refused);
    g_test_add_func("/qdev/reset/children-before-parent", test_cold_reset_tree);
    g_test_add_func("/qdev/unplug/immediate", test_unplug_immediate);
    g_test_add_func("/qdev/unplug/deferred", test_unplug_deferred);
    g_test_add_func("/qdev/unplug/refused-without-handler", test_unplug_refused_without_handler);
    g_test_add_func("/qdev/gpio/connect-and-intercept", test_gpio_connect_and_intercept);
    g_test_add_func("/qdev/irq/split-and-arrays", test_irq_split_and_arrays);
    g_test_add_func("/qdev/device-add/ok", test_device_add);
    g_test_add_func("/qdev/device-add/errors", test_device_add_errors);
    g_test_add_func("/qdev/help/device-list-and-props", test_device_list_and_props_help);
    g_test_add_func("/qdev/device-add/hotplug-phase", test_device_add_hotplug_phase);
    return g_test_run();
}
