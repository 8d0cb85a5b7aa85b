/*
 * Command-line option strings and sizes (include/qom/opts.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/opts.h"

static void qopt_item_clear(gpointer data)
{
    QOptItem *item = data;

    g_free(item->key);
    g_free(item->value);
}

void qopts_free(QOpts *opts)
{
    if (opts) {
        g_array_free(opts->items, true);
        g_free(opts);
    }
}

/*
 * Take one item from *@pp up to an unescaped ',' (",," is a literal comma)
 * or the end.  Returns it unescaped; *@pp points past the separator or at
 * the terminating NUL.
 */
static char *take_item(const char **pp)
{
    GString *s = g_string_new(NULL);
    const char *p = *pp;

    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(s, ',');
                p += 2;
                continue;
            }
            p++;
            break;
        }
        g_string_append_c(s, *p++);
    }
    *pp = p;
    return g_string_free(s, false);
}

static bool qopts_add_owned(QOpts *opts, char *key, char *value, Error **errp)
{
    QOptItem item = { .key = key, .value = value };

    if (qopts_has(opts, key)) {
        error_setg(errp, "Parameter '%s' appears more than once", key);
        g_free(key);
        g_free(value);
        return false;
    }
    g_array_append_val(opts->items, item);
    return true;
}

QOpts *qopts_new(void)
{
    QOpts *opts = g_new0(QOpts, 1);

    opts->items = g_array_new(false, true, sizeof(QOptItem));
    g_array_set_clear_func(opts->items, qopt_item_clear);
    return opts;
}

bool qopts_add(QOpts *opts, const char *key, const char *value, Error **errp)
{
    return qopts_add_owned(opts, g_strdup(key), g_strdup(value), errp);
}

QOpts *qopts_parse(const char *str, const char *implied_key, Error **errp)
{
    QOpts *opts = qopts_new();
    const char *p = str ? str : "";
    bool first = true;

    while (*p || first) {
        char *item = take_item(&p);
        char *eq = strchr(item, '=');
        bool ok;

        if (eq) {
            *eq = '\0';
            if (!*item) {
                error_setg(errp, "Invalid parameter '=%s'", eq + 1);
                g_free(item);
                qopts_free(opts);
                return NULL;
            }
            ok = qopts_add_owned(opts, g_strdup(item), g_strdup(eq + 1), errp);
        } else if (first && implied_key) {
            if (!*item && !*p) {
                /* An empty string: no items at all. */
                g_free(item);
                break;
            }
            ok = qopts_add_owned(opts, g_strdup(implied_key), g_strdup(item), errp);
        } else if (!*item) {
            if (!*p && !first) {
                /* A trailing comma. */
                g_free(item);
                break;
            }
            if (!*p && first) {
                g_free(item);
                break;
            }
            error_setg(errp, "Invalid parameter ''");
            g_free(item);
            qopts_free(opts);
            return NULL;
        } else if (!strcmp(item, "help") || !strcmp(item, "?")) {
            ok = qopts_add_owned(opts, g_strdup("help"), g_strdup("on"), errp);
        } else {
            ok = qopts_add_owned(opts, g_strdup(item), g_strdup("on"), errp);
        }
        g_free(item);
        if (!ok) {
            qopts_free(opts);
            return NULL;
        }
        first = false;
    }
    return opts;
}

static QOptItem *qopts_find(const QOpts *opts, const char *key)
{
    for (guint i = 0; i < opts->items->len; i++) {
        QOptItem *item = &g_array_index(opts->items, QOptItem, i);

        if (!strcmp(item->key, key)) {
            return item;
        }
    }
    return NULL;
}

const char *qopts_get(QOpts *opts, const char *key)
{
    QOptItem *item = qopts_find(opts, key);

    if (!item) {
        return NULL;
    }
    item->used = true;
    return item->value;
}

bool qopts_has(const QOpts *opts, const char *key)
{
    return qopts_find(opts, key) != NULL;
}

bool qopts_wants_help(const QOpts *opts)
{
    QOptItem *item = qopts_find(opts, "help");

    if (item) {
        return true;
    }
    /* "-device help" puts "help" in the implied key. */
    for (guint i = 0; i < opts->items->len; i++) {
        QOptItem *it = &g_array_index(opts->items, QOptItem, i);

        if (i == 0 && (!strcmp(it->value, "help") || !strcmp(it->value, "?"))) {
            return true;
        }
    }
    return false;
}

bool qemu_parse_bool(const char *value, bool *result)
{
    static const char *const yes[] = { "on", "yes", "true", "y", NULL };
    static const char *const no[] = { "off", "no", "false", "n", NULL };

    for (int i = 0; yes[i]; i++) {
        if (!strcmp(value, yes[i])) {
            *result = true;
            return true;
        }
        if (!strcmp(value, no[i])) {
            *result = false;
            return true;
        }
    }
    return false;
}

bool qopts_get_bool(QOpts *opts, const char *key, bool def, bool *result, Error **errp)
{
    const char *value = qopts_get(opts, key);

    if (!value) {
        *result = def;
        return true;
    }
    if (!qemu_parse_bool(value, result)) {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off' ('%s')", key, value);
        return false;
    }
    return true;
}

bool qopts_check_unused(const QOpts *opts, Error **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        QOptItem *item = &g_array_index(opts->items, QOptItem, i);

        if (!item->used) {
            error_setg(errp, "Invalid parameter '%s'", item->key);
            return false;
        }
    }
    return true;
}

bool qemu_strtosz_unit(const char *str, uint64_t default_unit, uint64_t *result)
{
    static const char suffixes[] = "BKMGTPE";
    const char *p = str;
    char *end;
    unsigned long long whole;
    double fraction = 0;
    uint64_t unit = default_unit;
    const char *s;

    if (!str || !g_ascii_isdigit(*str)) {
        return false;      /* also refuses "-1", " 1", "" */
    }
    errno = 0;
    whole = strtoull(p, &end, 0);
    if (errno || end == p) {
        return false;
    }
    p = end;
    if (*p == '.') {
        /* A fraction: decimal only, and only with a suffix (as QEMU). */
        char *fend;
        double f;

        if (!strncmp(str, "0x", 2) || !strncmp(str, "0X", 2)) {
            return false;
        }
        errno = 0;
        f = strtod(p, &fend);
        if (errno || fend == p + 1) {
            return false;
        }
        fraction = f;
        p = fend;
    }
    if (*p) {
        s = strchr(suffixes, g_ascii_toupper(*p));
        if (!s || p[1]) {
            return false;
        }
        unit = 1ULL << (10 * (s - suffixes));
        p++;
    } else if (fraction != 0) {
        return false;
    }
    if (unit && whole > UINT64_MAX / unit) {
        return false;
    }
    whole *= unit;
    if (fraction != 0) {
        double extra = fraction * (double)unit;

        if (extra >= (double)(UINT64_MAX - whole)) {
            return false;
        }
        whole += (uint64_t)extra;
    }
    *result = whole;
    return true;
}
