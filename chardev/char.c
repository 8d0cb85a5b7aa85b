/*
 * Character devices: the registry and the front-end API (include/chardev/char.h).
 */
#include "qemu/osdep.h"
#include <glib/gprintf.h>
#include "qapi/error.h"
#include "qom/object.h"
#include "qom/opts.h"
#include "chardev/char.h"
#include "trace/trace-chardev.h"

/* id -> Chardev *. */
static GHashTable *chardevs;

static const ChardevClass *const backends[] = {
    &char_socket_class,
    &char_stdio_class,
    &char_file_class,
    &char_null_class,
};

Chardev *qemu_chr_find(const char *id)
{
    return chardevs && id ? g_hash_table_lookup(chardevs, id) : NULL;
}

static const ChardevClass *chr_find_class(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        if (!strcmp(backends[i]->name, name)) {
            return backends[i];
        }
    }
    return NULL;
}

/* Create @id with backend @backend from @opts (whose used marks are checked). */
static Chardev *chr_create(const char *id, const char *backend, QOpts *opts,
                           const char *filename, Error **errp)
{
    const ChardevClass *klass = chr_find_class(backend);
    Chardev *chr;

    if (!klass) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier ('%s')", id);
        return NULL;
    }
    if (qemu_chr_find(id)) {
        error_setg(errp, "Duplicate chardev ID '%s'", id);
        return NULL;
    }
    chr = g_new0(Chardev, 1);
    chr->label = g_strdup(id);
    chr->filename = g_strdup(filename);
    chr->klass = klass;
    if (!klass->open(chr, opts, errp)) {
        g_free(chr->label);
        g_free(chr->filename);
        g_free(chr);
        return NULL;
    }
    if (!qopts_check_unused(opts, errp)) {
        klass->finalize(chr);
        g_free(chr->label);
        g_free(chr->filename);
        g_free(chr);
        return NULL;
    }
    if (!chardevs) {
        chardevs = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(chardevs, chr->label, chr);
    trace_qemu_chr_new(id, backend, filename);
    return chr;
}

Chardev *qemu_chr_new_from_opts(const char *optarg, Error **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(optarg, "backend", errp);
    const char *backend, *id;

    if (!opts) {
        return NULL;
    }
    backend = qopts_get(opts, "backend");
    if (!backend) {
        error_setg(errp, "Parameter 'backend' is missing");
        return NULL;
    }
    id = qopts_get(opts, "id");
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    return chr_create(id, backend, opts, optarg, errp);
}

static bool has_prefix(const char *s, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);

    if (strncmp(s, prefix, n)) {
        return false;
    }
    *rest = s + n;
    return true;
}

Chardev *qemu_chr_new(const char *label, const char *spec, Error **errp)
{
    g_autoptr(QOpts) opts = NULL;
    const char *rest;
    const char *backend;

    if (has_prefix(spec, "chardev:", &rest)) {
        Chardev *chr = qemu_chr_find(rest);

        if (!chr) {
            error_setg(errp, "chardev '%s' not found", rest);
        }
        return chr;
    }
    if (has_prefix(spec, "unix:", &rest)) {
        backend = "socket";
        opts = qopts_parse(rest, "path", errp);
    } else if (has_prefix(spec, "file:", &rest)) {
        backend = "file";
        opts = qopts_parse(rest, "path", errp);
    } else if (!strcmp(spec, "stdio") || !strcmp(spec, "null")) {
        backend = spec;
        opts = qopts_parse("", NULL, errp);
    } else {
        error_setg(errp, "'%s' is not a valid char driver (unix:PATH, stdio, file:PATH, null)",
                   spec);
        return NULL;
    }
    if (!opts) {
        return NULL;
    }
    return chr_create(label, backend, opts, spec, errp);
}

void qemu_chr_delete(Chardev *chr)
{
    if (!chr) {
        return;
    }
    assert(!chr->be);
    trace_qemu_chr_delete(chr->label);
    if (chardevs) {
        g_hash_table_remove(chardevs, chr->label);
    }
    chr->klass->finalize(chr);
    g_free(chr->label);
    g_free(chr->filename);
    g_free(chr);
}

void qemu_chr_cleanup(void)
{
    GList *list;

    if (!chardevs) {
        return;
    }
    list = g_hash_table_get_values(chardevs);
    for (GList *l = list; l; l = l->next) {
        Chardev *chr = l->data;

        if (chr->be) {
            qemu_chr_fe_deinit(chr->be, false);
        }
        qemu_chr_delete(chr);
    }
    g_list_free(list);
    g_hash_table_destroy(chardevs);
    chardevs = NULL;
}

/* ------------------------------------------------------------------ */
/* Backend side */

int qemu_chr_be_can_write(Chardev *chr)
{
    CharBackend *be = chr->be;

    if (!be || !be->chr_read) {
        return 0;
    }
    return be->chr_can_read ? be->chr_can_read(be->opaque) : 4096;
}

void qemu_chr_be_write(Chardev *chr, const uint8_t *buf, int len)
{
    CharBackend *be = chr->be;

    if (be && be->chr_read && len > 0) {
        be->chr_read(be->opaque, buf, len);
    }
}

void qemu_chr_be_event(Chardev *chr, QEMUChrEvent event)
{
    CharBackend *be = chr->be;

    if (event == CHR_EVENT_OPENED) {
        chr->be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        chr->be_open = false;
    }
    trace_qemu_chr_be_event(chr->label, event);
    if (be && be->chr_event) {
        be->chr_event(be->opaque, event);
    }
}

/* ------------------------------------------------------------------ */
/* Front-end side */

bool qemu_chr_fe_init(CharBackend *be, Chardev *s, Error **errp)
{
    if (s->be) {
        error_setg(errp, "chardev '%s' is already in use", s->label);
        return false;
    }
    memset(be, 0, sizeof(*be));
    be->chr = s;
    s->be = be;
    return true;
}

void qemu_chr_fe_deinit(CharBackend *be, bool del)
{
    Chardev *chr = be->chr;

    if (!chr) {
        return;
    }
    qemu_chr_fe_set_handlers(be, NULL, NULL, NULL, NULL, NULL, NULL, false);
    chr->be = NULL;
    be->chr = NULL;
    if (del) {
        qemu_chr_delete(chr);
    }
}

void qemu_chr_fe_set_handlers(CharBackend *be, IOCanReadHandler *fd_can_read,
                              IOReadHandler *fd_read, IOEventHandler *fd_event,
                              BackendChangeHandler *be_change, void *opaque,
                              GMainContext *context, bool set_open)
{
    Chardev *chr = be->chr;

    assert(!be_change && !context);
    if (!chr) {
        return;
    }
    be->chr_can_read = fd_can_read;
    be->chr_read = fd_read;
    be->chr_event = fd_event;
    be->opaque = opaque;
    if (chr->klass->update_read_handler) {
        chr->klass->update_read_handler(chr);
    }
    if (set_open && chr->be_open && fd_event) {
        fd_event(opaque, CHR_EVENT_OPENED);
    }
}

int qemu_chr_fe_write_all(CharBackend *be, const uint8_t *buf, int len)
{
    Chardev *chr = be->chr;

    if (!chr) {
        return -ENOTCONN;
    }
    if (len <= 0) {
        return 0;
    }
    return chr->klass->write(chr, buf, len);
}

void qemu_chr_fe_printf(CharBackend *be, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *buf = NULL;
    int len;

    va_start(ap, fmt);
    len = g_vasprintf(&buf, fmt, ap);
    va_end(ap);
    if (len > 0) {
        qemu_chr_fe_write_all(be, (const uint8_t *)buf, len);
    }
}

void qemu_chr_fe_accept_input(CharBackend *be)
{
    Chardev *chr = be->chr;

    if (chr && chr->klass->update_read_handler) {
        chr->klass->update_read_handler(chr);
    }
}

void qemu_chr_fe_disconnect(CharBackend *be)
{
    Chardev *chr = be->chr;

    if (chr && chr->klass->disconnect) {
        chr->klass->disconnect(chr);
    }
}

bool qemu_chr_fe_backend_connected(CharBackend *be)
{
    return be->chr != NULL;
}

Chardev *qemu_chr_fe_get_driver(CharBackend *be)
{
    return be->chr;
}
