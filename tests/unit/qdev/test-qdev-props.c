/*
 * Property types: parsing, range checks, printing, defaults; option
 * strings and sizes.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/opts.h"
#include "hw/qdev-properties.h"

#define TYPE_PROP_DEV "prop-dev"
#define TYPE_PROP_TARGET "prop-target"

typedef struct PropDev {
    DeviceState parent_obj;
    bool b;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint32_t u32_small;
    uint64_t u64;
    int32_t i32;
    int64_t i64;
    uint64_t size;
    char *str;
    int32_t devfn;
    PCIHostDeviceAddress host;
    OnOffAuto ooa;
    int color;
    Object *link;
} PropDev;

#define PROP_DEV(obj) OBJECT_CHECK(PropDev, (obj), TYPE_PROP_DEV)

static const char *const colors[] = { "red", "green", "blue", NULL };

static const Property prop_dev_props[] = {
    DEFINE_PROP_BOOL("b", PropDev, b, true),
    DEFINE_PROP_UINT8("u8", PropDev, u8, 8),
    DEFINE_PROP_UINT16("u16", PropDev, u16, 16),
    DEFINE_PROP_UINT32("u32", PropDev, u32, 32),
    DEFINE_PROP_UINT32_MAX("u32-small", PropDev, u32_small, 1, 100),
    DEFINE_PROP_UINT64("u64", PropDev, u64, 64),
    DEFINE_PROP_INT32("i32", PropDev, i32, -32),
    DEFINE_PROP_INT64("i64", PropDev, i64, -64),
    DEFINE_PROP_SIZE("size", PropDev, size, 4096),
    DEFINE_PROP_STRING("str", PropDev, str),
    DEFINE_PROP_PCI_DEVFN("addr", PropDev, devfn, -1),
    DEFINE_PROP_PCI_HOST_DEVADDR("host", PropDev, host),
    DEFINE_PROP_ON_OFF_AUTO("ooa", PropDev, ooa, ON_OFF_AUTO_AUTO),
    DEFINE_PROP_ENUM("color", PropDev, color, 1, colors),
    DEFINE_PROP_LINK("link", PropDev, link, TYPE_PROP_TARGET, Object *),
    DEFINE_PROP_END_OF_LIST(),
};

static void prop_dev_class_init(ObjectClass *klass, void *data)
{
    device_class_set_props(DEVICE_CLASS(klass), prop_dev_props);
}

/* A user-creatable object for link properties. */
static bool prop_target_complete(Object *obj, Error **errp)
{
    return true;
}

static void prop_target_class_init(ObjectClass *klass, void *data)
{
    klass->complete = prop_target_complete;
}

static const TypeInfo prop_types[] = {
    {
        .name = TYPE_PROP_DEV,
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(PropDev),
        .class_init = prop_dev_class_init,
    },
    {
        .name = TYPE_PROP_TARGET,
        .parent = TYPE_OBJECT,
        .instance_size = sizeof(Object),
        .class_init = prop_target_class_init,
    },
};

static void register_prop_types(void)
{
    type_register_static_array(prop_types, ARRAY_SIZE(prop_types));
}

type_init(register_prop_types)

/* Parse @value into @name of a fresh device; returns the printed value or the error. */
static char *parse_and_print(const char *name, const char *value)
{
    DeviceState *dev = qdev_new(TYPE_PROP_DEV);
    Error *err = NULL;
    char *result;

    if (qdev_prop_parse(dev, name, value, &err)) {
        result = object_property_print(OBJECT(dev), name);
    } else {
        result = g_strdup_printf("ERR %s", error_get_pretty(err));
        error_free(err);
    }
    object_unref(dev);
    return result;
}

typedef struct PropCase {
    const char *name;
    const char *value;
    const char *expect;     /* printed value, or "ERR message" */
} PropCase;

static void check_cases(const PropCase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *got = parse_and_print(cases[i].name, cases[i].value);

        if (g_strcmp0(got, cases[i].expect)) {
            g_test_message("%s=%s: expected '%s', got '%s'", cases[i].name, cases[i].value,
                           cases[i].expect, got);
        }
        g_assert_cmpstr(got, ==, cases[i].expect);
    }
}

static void test_defaults(void)
{
    PropDev *d = PROP_DEV(qdev_new(TYPE_PROP_DEV));

    g_assert_true(d->b);
    g_assert_cmpuint(d->u8, ==, 8);
    g_assert_cmpuint(d->u16, ==, 16);
    g_assert_cmpuint(d->u32, ==, 32);
    g_assert_cmpuint(d->u64, ==, 64);
    g_assert_cmpint(d->i32, ==, -32);
    g_assert_cmpint(d->i64, ==, -64);
    g_assert_cmpuint(d->size, ==, 4096);
    g_assert_null(d->str);
    g_assert_cmpint(d->devfn, ==, -1);
    g_assert_cmpuint(d->host.domain, ==, ~0u);
    g_assert_cmpint(d->ooa, ==, ON_OFF_AUTO_AUTO);
    g_assert_cmpint(d->color, ==, 1);
    g_assert_null(d->link);
    object_unref(d);
}

static void test_bool(void)
{
    static const PropCase cases[] = {
        { "b", "on", "true" }, { "b", "off", "false" }, { "b", "yes", "true" },
        { "b", "no", "false" }, { "b", "true", "true" }, { "b", "false", "false" },
        { "b", "y", "true" }, { "b", "n", "false" },
        { "b", "ON", "ERR Property 'prop-dev.b': invalid boolean 'ON' (use on/off, yes/no or "
          "true/false)" },
        { "b", "1", "ERR Property 'prop-dev.b': invalid boolean '1' (use on/off, yes/no or "
          "true/false)" },
        { "b", "", "ERR Property 'prop-dev.b': invalid boolean '' (use on/off, yes/no or "
          "true/false)" },
    };

    check_cases(cases, ARRAY_SIZE(cases));
}

static void test_unsigned(void)
{
    static const PropCase cases[] = {
        { "u8", "0", "0" }, { "u8", "255", "255" }, { "u8", "0xff", "255" },
        { "u8", "0377", "255" },
        { "u8", "256", "ERR Property 'prop-dev.u8': value '256' out of range (0 to 255)" },
        { "u8", "-1", "ERR Property 'prop-dev.u8': invalid number '-1'" },
        { "u8", "1k", "ERR Property 'prop-dev.u8': invalid number '1k'" },
        { "u8", " 1", "ERR Property 'prop-dev.u8': invalid number ' 1'" },
        { "u8", "", "ERR Property 'prop-dev.u8': invalid number ''" },
        { "u16", "65535", "65535" },
        { "u16", "0x10000", "ERR Property 'prop-dev.u16': value '0x10000' out of range (0 to "
          "65535)" },
        { "u32", "4294967295", "4294967295" },
        { "u32", "4294967296",
          "ERR Property 'prop-dev.u32': value '4294967296' out of range (0 to 4294967295)" },
        { "u32-small", "100", "100" },
        { "u32-small", "101", "ERR Property 'prop-dev.u32-small': value '101' out of range (0 to "
          "100)" },
        { "u64", "18446744073709551615", "18446744073709551615" },
        { "u64", "0xffffffffffffffff", "18446744073709551615" },
        { "u64", "18446744073709551616", "ERR Property 'prop-dev.u64': invalid number "
          "'18446744073709551616'" },
    };

    check_cases(cases, ARRAY_SIZE(cases));
}

static void test_signed(void)
{
    static const PropCase cases[] = {
        { "i32", "-2147483648", "-2147483648" }, { "i32", "2147483647", "2147483647" },
        { "i32", "+5", "5" }, { "i32", "-0x10", "-16" },
        { "i32", "2147483648",
          "ERR Property 'prop-dev.i32': value '2147483648' out of range (-2147483648 to "
            "2147483647)" },
        { "i32", "--1", "ERR Property 'prop-dev.i32': invalid number '--1'" },
        { "i64", "-9223372036854775808", "-9223372036854775808" },
        { "i64", "9223372036854775808", "ERR Property 'prop-dev.i64': invalid number "
          "'9223372036854775808'" },
    };

    check_cases(cases, ARRAY_SIZE(cases));
}

static void test_size(void)
{
    static const PropCase cases[] = {
        { "size", "0", "0" }, { "size", "4096", "4096" }, { "size", "4k", "4096" },
        { "size", "4K", "4096" }, { "size", "2M", "2097152" }, { "size", "1G", "1073741824" },
        { "size", "1T", "1099511627776" }, { "size", "1.5G", "1610612736" },
        { "size", "0x1000", "4096" }, { "size", "8B", "8" },
        { "size", "16E", "ERR Property 'prop-dev.size': invalid size '16E' (a number with an "
                         "optional k, M, G, T, P or E suffix)" },
        { "size", "1X", "ERR Property 'prop-dev.size': invalid size '1X' (a number with an "
                        "optional k, M, G, T, P or E suffix)" },
        { "size", "-1", "ERR Property 'prop-dev.size': invalid size '-1' (a number with an "
                        "optional k, M, G, T, P or E suffix)" },
        { "size", "1GG", "ERR Property 'prop-dev.size': invalid size '1GG' (a number with an "
                         "optional k, M, G, T, P or E suffix)" },
    };

    check_cases(cases, ARRAY_SIZE(cases));
}

static void test_string(void)
{
    static const PropCase cases[] = {
        { "str", "hello", "hello" }, { "str", "", "" }, { "str", "a,b=c", "a,b=c" },
    };
    DeviceState *dev = qdev_new(TYPE_PROP_DEV);

    check_cases(cases, ARRAY_SIZE(cases));
    /* Setting twice frees the first string (valgrind/ASan check). */
    g_assert_true(qdev_prop_parse(dev, "str", "one", &error_abort));
    g_assert_true(qdev_prop_parse(dev, "str", "two", &error_abort));
    g_assert_cmpstr(PROP_DEV(dev)->str, ==, "two");
    object_unref(dev);
}

static void test_pci_devfn(void)
{
    static const char *const err_tail = " (SLOT[.FN] in hex, slot 0-1f, fn 0-7)";
    struct {
        const char *value;
        int devfn;          /* -2: error */
    } cases[] = {
        { "06.0", 0x30 }, { "6", 0x30 }, { "1f.7", 0xff }, { "0", 0 }, { "03.1", 0x19 },
        { "-1", -1 }, { "20", -2 }, { "1.8", -2 }, { "x", -2 }, { "1.", -2 }, { ".1", -2 },
        { "", -2 }, { "1.2.3", -2 },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        DeviceState *dev = qdev_new(TYPE_PROP_DEV);
        Error *err = NULL;
        bool ok = qdev_prop_parse(dev, "addr", cases[i].value, &err);

        if (cases[i].devfn == -2) {
            g_autofree char *msg = g_strdup_printf("Property 'prop-dev.addr': invalid PCI "
                                                   "address '%s'%s", cases[i].value, err_tail);

            g_assert_false(ok);
            g_assert_cmpstr(error_get_pretty(err), ==, msg);
            error_free(err);
        } else {
            g_assert_true(ok);
            g_assert_cmpint(PROP_DEV(dev)->devfn, ==, cases[i].devfn);
        }
        object_unref(dev);
    }
    check_cases((PropCase[]){ { "addr", "6", "06.0" } }, 1);
}

static void test_pci_host_devaddr(void)
{
    static const PropCase cases[] = {
        { "host", "0000:01:00.0", "0000:01:00.0" }, { "host", "01:1f.7", "0000:01:1f.7" },
        { "host", "ffff:ff:1f.7", "ffff:ff:1f.7" },
        { "host", "0000:01:20.0", "ERR Property 'prop-dev.host': invalid host PCI address "
                                  "'0000:01:20.0' ([DOMAIN:]BUS:SLOT.FN in hex)" },
        { "host", "01:00", "ERR Property 'prop-dev.host': invalid host PCI address '01:00' "
                           "([DOMAIN:]BUS:SLOT.FN in hex)" },
        { "host", "1:2:3:4.0", "ERR Property 'prop-dev.host': invalid host PCI address "
                               "'1:2:3:4.0' ([DOMAIN:]BUS:SLOT.FN in hex)" },
        { "host", "10000:00:00.0", "ERR Property 'prop-dev.host': invalid host PCI address "
                                   "'10000:00:00.0' ([DOMAIN:]BUS:SLOT.FN in hex)" },
    };

    check_cases(cases, ARRAY_SIZE(cases));
}

static void test_enums(void)
{
    static const PropCase cases[] = {
        { "ooa", "on", "on" }, { "ooa", "off", "off" }, { "ooa", "auto", "auto" },
        { "ooa", "maybe", "ERR Property 'prop-dev.ooa': invalid value 'maybe' (one of "
          "auto/on/off)" },
        { "color", "blue", "blue" },
        { "color", "pink", "ERR Property 'prop-dev.color': invalid value 'pink' (one of "
          "red/green/blue)" },
    };

    check_cases(cases, ARRAY_SIZE(cases));
}

static void test_link(void)
{
    Object *target = user_creatable_add_opts(TYPE_PROP_TARGET ",id=tgt", &error_abort);
    DeviceState *dev = qdev_new(TYPE_PROP_DEV);
    Error *err = NULL;

    g_assert_true(object_find_by_id("tgt") == target);
    g_assert_true(qdev_prop_parse(dev, "link", "tgt", &error_abort));
    g_assert_true(PROP_DEV(dev)->link == target);
    g_assert_cmpuint(target->ref, ==, 2);
    g_assert_false(qdev_prop_parse(dev, "link", "nope", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Property 'prop-dev.link': object 'nope' not found");
    error_free(err);
    object_unref(dev);          /* drops the link's reference */
    g_assert_cmpuint(target->ref, ==, 1);
    user_creatable_cleanup();
}

static void test_unknown_and_realized(void)
{
    DeviceState *dev = qdev_new(TYPE_PROP_DEV);
    Error *err = NULL;

    g_assert_false(qdev_prop_parse(dev, "nope", "1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Property 'prop-dev.nope' not found");
    g_clear_pointer(&err, error_free);
    g_assert_null(object_property_print(OBJECT(dev), "nope"));

    dev->id = g_strdup("p0");
    g_assert_true(qdev_realize(dev, NULL, &error_abort));
    g_assert_false(qdev_prop_parse(dev, "u8", "1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Attempt to set property 'u8' on device 'p0' (type 'prop-dev') after it "
                    "was realized");
    error_free(err);
    g_assert_cmpuint(PROP_DEV(dev)->u8, ==, 8);
    qdev_unrealize(dev);
    object_unref(dev);
    qdev_machine_teardown();
}

static void test_typed_setters(void)
{
    DeviceState *dev = qdev_new(TYPE_PROP_DEV);
    PropDev *d = PROP_DEV(dev);

    qdev_prop_set_bit(dev, "b", false);
    qdev_prop_set_uint8(dev, "u8", 200);
    qdev_prop_set_uint16(dev, "u16", 60000);
    qdev_prop_set_uint32(dev, "u32", 7);
    qdev_prop_set_uint64(dev, "u64", UINT64_MAX);
    qdev_prop_set_uint64(dev, "size", 1 * GiB);
    qdev_prop_set_int32(dev, "i32", -5);
    qdev_prop_set_int32(dev, "addr", 0x18);
    qdev_prop_set_string(dev, "str", "s");
    g_assert_false(d->b);
    g_assert_cmpuint(d->u8, ==, 200);
    g_assert_cmpuint(d->u16, ==, 60000);
    g_assert_cmpuint(d->u32, ==, 7);
    g_assert_cmpuint(d->u64, ==, UINT64_MAX);
    g_assert_cmpuint(d->size, ==, GiB);
    g_assert_cmpint(d->i32, ==, -5);
    g_assert_cmpint(d->devfn, ==, 0x18);
    g_assert_cmpstr(d->str, ==, "s");
    object_unref(dev);
}

/* ------------------------------------------------------------------ */
/* Option strings */

static char *opts_dump(const char *str, const char *implied)
{
    Error *err = NULL;
    QOpts *opts = qopts_parse(str, implied, &err);
    GString *s = g_string_new(NULL);

    if (!opts) {
        g_string_printf(s, "ERR %s", error_get_pretty(err));
        error_free(err);
        return g_string_free(s, false);
    }
    for (guint i = 0; i < opts->items->len; i++) {
        QOptItem *item = &g_array_index(opts->items, QOptItem, i);

        g_string_append_printf(s, "[%s=%s]", item->key, item->value);
    }
    qopts_free(opts);
    return g_string_free(s, false);
}

static void test_opts_parse(void)
{
    static const struct {
        const char *str, *implied, *expect;
    } cases[] = {
        { "vfio-pci,host=01:00.0,x-no-mmap", "driver",
          "[driver=vfio-pci][host=01:00.0][x-no-mmap=on]" },
        { "a,,b,k=v,,w", "driver", "[driver=a,b][k=v,w]" },
        { "k=v", "driver", "[k=v]" },
        { "help", "driver", "[driver=help]" },
        { "x,help", "driver", "[driver=x][help=on]" },
        { "x,?", "driver", "[driver=x][help=on]" },
        { "x,", "driver", "[driver=x]" },
        { "", "driver", "" },
        { "", NULL, "" },
        { "k=", NULL, "[k=]" },
        { "=v", NULL, "ERR Invalid parameter '=v'" },
        { "a=1,a=2", NULL, "ERR Parameter 'a' appears more than once" },
        { "x,,", "driver", "[driver=x,]" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *got = opts_dump(cases[i].str, cases[i].implied);

        g_assert_cmpstr(got, ==, cases[i].expect);
    }
}

static void test_opts_bool_and_unused(void)
{
    g_autoptr(QOpts) opts = qopts_parse("a=on,b=maybe,c=1", NULL, &error_abort);
    Error *err = NULL;
    bool v;

    g_assert_true(qopts_get_bool(opts, "a", false, &v, &error_abort) && v);
    g_assert_true(qopts_get_bool(opts, "absent", true, &v, &error_abort) && v);
    g_assert_false(qopts_get_bool(opts, "b", false, &v, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Parameter 'b' expects 'on' or 'off' ('maybe')");
    g_clear_pointer(&err, error_free);
    g_assert_false(qopts_check_unused(opts, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'c'");
    error_free(err);
}

static void test_strtosz(void)
{
    static const struct {
        const char *str;
        uint64_t unit;
        bool ok;
        uint64_t value;
    } cases[] = {
        { "1024", MiB, true, GiB }, { "2G", MiB, true, 2 * GiB }, { "512M", MiB, true, 512 * MiB },
        { "1024", 1, true, 1024 }, { "1k", 1, true, 1024 }, { "0", MiB, true, 0 },
        { "1.5k", 1, true, 1536 }, { "15E", 1, true, 15ULL << 60 },
        { "foo", MiB, false, 0 }, { "", MiB, false, 0 }, { "-1", MiB, false, 0 },
        { "1.5", 1, false, 0 }, { "17179869184G", 1, false, 0 },
        { "18446744073709551615", MiB, false, 0 },
        { "1 G", 1, false, 0 }, { "0x1.8G", 1, false, 0 },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t v = 12345;
        bool ok = qemu_strtosz_unit(cases[i].str, cases[i].unit, &v);

        if (ok != cases[i].ok) {
            g_test_message("'%s': expected %s", cases[i].str, cases[i].ok ? "ok" : "failure");
        }
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (ok) {
            g_assert_cmpuint(v, ==, cases[i].value);
        }
    }
}

/* Random strings through every parser: a value or an error, never a crash. */
static void test_random_values(void)
{
    static const char *const names[] = {
        "b", "u8", "u16", "u32", "u32-small", "u64", "i32", "i64", "size", "str", "addr",
        "host", "ooa", "color", "link",
    };
    static const char alphabet[] = "0123456789abcdefxX.:-+kKMGTPE ,=on";
    GRand *rand = g_rand_new_with_seed(42);

    for (int i = 0; i < 5000; i++) {
        char value[24];
        int len = g_rand_int_range(rand, 0, sizeof(value));
        g_autofree char *got = NULL;
        g_autoptr(QOpts) opts = NULL;
        uint64_t sz;

        for (int j = 0; j < len; j++) {
            value[j] = alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)];
        }
        value[len] = '\0';
        got = parse_and_print(names[g_rand_int_range(rand, 0, G_N_ELEMENTS(names))], value);
        g_assert_nonnull(got);
        qemu_strtosz(value, &sz);
        opts = qopts_parse(value, "driver", NULL);
    }
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qdev/props/defaults", test_defaults);
    g_test_add_func("/qdev/props/bool", test_bool);
    g_test_add_func("/qdev/props/unsigned-ranges", test_unsigned);
    g_test_add_func("/qdev/props/signed-ranges", test_signed);
    g_test_add_func("/qdev/props/size-suffixes", test_size);
    g_test_add_func("/qdev/props/string", test_string);
    g_test_add_func("/qdev/props/pci-devfn", test_pci_devfn);
    g_test_add_func("/qdev/props/pci-host-devaddr", test_pci_host_devaddr);
    g_test_add_func("/qdev/props/enums", test_enums);
    g_test_add_func("/qdev/props/link", test_link);
    g_test_add_func("/qdev/props/unknown-and-after-realize", test_unknown_and_realized);
    g_test_add_func("/qdev/props/typed-setters", test_typed_setters);
    g_test_add_func("/qdev/opts/parse", test_opts_parse);
    g_test_add_func("/qdev/opts/bool-and-unused", test_opts_bool_and_unused);
    g_test_add_func("/qdev/opts/strtosz", test_strtosz);
    g_test_add_func("/qdev/props/random-values", test_random_values);
    return g_test_run();
}
