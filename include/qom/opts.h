/*
 * Option strings as QEMU's command line writes them: "VALUE,key=value,...".
 *
 * Items are separated by ','; ",," is a literal comma inside a value.  The
 * first item may be a bare value, which becomes the value of an implied key
 * (-device's "driver", -object's "qom-type", -chardev's "backend").  A bare
 * item elsewhere is "key" with value "on" (QEMU's boolean shorthand), except
 * "help" and "?" which mean "help".  Keys keep their order of appearance.
 */
#ifndef QOM_OPTS_H
#define QOM_OPTS_H

#include "qemu/osdep.h"

typedef struct QOptItem {
    char *key;      /* owned */
    char *value;    /* owned; "on" for a bare key */
    bool used;      /* set by qopts_get() and friends: qopts_check_unused() finds the rest */
} QOptItem;

typedef struct QOpts {
    /* The items in order; QOptItem elements. */
    GArray *items;
} QOpts;

/*
 * Parse @str; a bare first item becomes @implied_key (NULL: no implied
 * key, a bare first item is a boolean like the others).  Fails for an
 * empty key ("=x") and a repeated key; the message quotes the item.
 */
QOpts *qopts_parse(const char *str, const char *implied_key, Error **errp);
void qopts_free(QOpts *opts);
/* Append @key=@value (copied); fails like qopts_parse for a repeated key. */
bool qopts_add(QOpts *opts, const char *key, const char *value, Error **errp);
/* An empty option list. */
QOpts *qopts_new(void);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QOpts, qopts_free)

/* The value of @key (marking it used), or NULL. */
const char *qopts_get(QOpts *opts, const char *key);
/* Whether @key is present, without marking it. */
bool qopts_has(const QOpts *opts, const char *key);
/* Whether the items include "help" (or "?"). */
bool qopts_wants_help(const QOpts *opts);
/*
 * Boolean values the QEMU way: on/off, yes/no, true/false (@def when
 * absent).  Fails, naming @key, for anything else.
 */
bool qopts_get_bool(QOpts *opts, const char *key, bool def, bool *result, Error **errp);
/* on/yes/true/y or off/no/false/n; false for anything else. */
bool qemu_parse_bool(const char *value, bool *result);
/*
 * Fails for the first item no qopts_get* call has consumed:
 * "Invalid parameter 'KEY'".
 */
bool qopts_check_unused(const QOpts *opts, Error **errp);

/*
 * Size values: a number (decimal, 0x hex or 0 octal as strtoull) with an
 * optional suffix B, K/k, M, G, T, P, E (powers of 1024); without a suffix
 * the number is multiplied by @default_unit (1 for bytes, MiB for -m).
 * Fractions ("1.5G") are accepted when a suffix makes them exact enough, as
 * in QEMU.  Fails (false) for garbage, a negative number or overflow.
 */
bool qemu_strtosz_unit(const char *str, uint64_t default_unit, uint64_t *result);
static inline bool qemu_strtosz(const char *str, uint64_t *result)
{
    return qemu_strtosz_unit(str, 1, result);
}

#endif /* QOM_OPTS_H */
