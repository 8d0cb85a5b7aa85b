/*
 * Helpers for the migration qtests (test-migration-util.h).
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "test-migration-util.h"

static char *tmpdir;

static void remove_tmpdir(void)
{
    GDir *dir;
    const char *name;

    if (!tmpdir) {
        return;
    }
    dir = g_dir_open(tmpdir, 0, NULL);
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(tmpdir, name, NULL);

        g_unlink(p);
    }
    if (dir) {
        g_dir_close(dir);
    }
    g_rmdir(tmpdir);
}

const char *mig_tmpdir(void)
{
    if (!tmpdir) {
        tmpdir = g_dir_make_tmp("aperture-mig-XXXXXX", NULL);
        g_assert_nonnull(tmpdir);
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

char *mig_path(const char *name)
{
    return g_build_filename(mig_tmpdir(), name, NULL);
}

static JsonObject *vqmp_reply(QTestState *s, const char *fmt, va_list ap)
{
    return qtest_vqmp(s, fmt, ap);
}

JsonObject *mig_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    JsonObject *reply, *ret;

    va_start(ap, fmt);
    reply = vqmp_reply(s, fmt, ap);
    va_end(ap);
    if (!json_object_has_member(reply, "return")) {
        g_autofree char *txt = qtest_json_to_string(reply);

        g_test_message("command failed: %s", txt);
        g_assert_not_reached();
    }
    if (JSON_NODE_HOLDS_OBJECT(json_object_get_member(reply, "return"))) {
        ret = json_object_ref(json_object_get_object_member(reply, "return"));
    } else {
        ret = json_object_new();
    }
    json_object_unref(reply);
    return ret;
}

char *mig_qmp_error(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    JsonObject *reply;
    char *desc;

    va_start(ap, fmt);
    reply = vqmp_reply(s, fmt, ap);
    va_end(ap);
    if (!json_object_has_member(reply, "error")) {
        g_autofree char *txt = qtest_json_to_string(reply);

        g_test_message("command unexpectedly succeeded: %s", txt);
        g_assert_not_reached();
    }
    desc = g_strdup(json_object_get_string_member(
        json_object_get_object_member(reply, "error"), "desc"));
    json_object_unref(reply);
    return desc;
}

char *mig_status(QTestState *s)
{
    JsonObject *info = mig_qmp(s, "{'execute': 'query-migrate'}");
    char *st = g_strdup(json_object_has_member(info, "status")
                        ? json_object_get_string_member(info, "status") : "none");

    json_object_unref(info);
    return st;
}

char *mig_runstate(QTestState *s)
{
    JsonObject *info = mig_qmp(s, "{'execute': 'query-status'}");
    char *st = g_strdup(json_object_get_string_member(info, "status"));

    json_object_unref(info);
    return st;
}

char *mig_wait_status(QTestState *s, double timeout_s, ...)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);

    for (;;) {
        JsonObject *info = mig_qmp(s, "{'execute': 'query-migrate'}");
        const char *st = json_object_has_member(info, "status")
                         ? json_object_get_string_member(info, "status") : "none";
        bool failed_listed = false;
        va_list ap;
        const char *want;

        va_start(ap, timeout_s);
        while ((want = va_arg(ap, const char *))) {
            if (!strcmp(st, want)) {
                char *ret = g_strdup(st);

                va_end(ap);
                json_object_unref(info);
                return ret;
            }
            failed_listed |= !strcmp(want, "failed");
        }
        va_end(ap);
        if (!strcmp(st, "failed") && !failed_listed) {
            g_autofree char *txt = qtest_json_to_string(info);

            g_test_message("the migration failed: %s", txt);
            g_assert_not_reached();
        }
        json_object_unref(info);
        if (g_get_monotonic_time() > deadline) {
            g_test_message("timed out waiting for a migration state (now %s)",
                           mig_status(s));
            g_assert_not_reached();
        }
        g_usleep(20 * 1000);
    }
}

void mig_wait_completed(QTestState *src, QTestState *dst)
{
    g_autofree char *s = mig_wait_status(src, 120, "completed", NULL);
    g_autofree char *d = mig_wait_status(dst, 60, "completed", NULL);
    g_autofree char *rs = mig_runstate(src);

    g_assert_cmpstr(rs, ==, "postmigrate");
}

void mig_set_param(QTestState *s, const char *name, int64_t value)
{
    JsonObject *r = mig_qmp(s, "{'execute': 'migrate-set-parameters', "
                            "'arguments': {'%s': %" G_GINT64_FORMAT "}}", name, value);

    json_object_unref(r);
}

void mig_set_cap(QTestState *s, const char *cap, bool on)
{
    JsonObject *r = mig_qmp(s, "{'execute': 'migrate-set-capabilities', 'arguments': "
                            "{'capabilities': [{'capability': '%s', 'state': %s}]}}", cap,
                            on ? "true" : "false");

    json_object_unref(r);
}

void mig_migrate(QTestState *s, const char *uri)
{
    JsonObject *r = mig_qmp(s, "{'execute': 'migrate', 'arguments': {'uri': '%s'}}", uri);

    json_object_unref(r);
}

void mig_fill(QTestState *s, uint64_t addr, uint64_t size, uint32_t seed)
{
    const size_t chunk = 1 << 20;
    g_autofree uint32_t *buf = g_malloc(chunk);

    for (uint64_t off = 0; off < size; off += chunk) {
        size_t n = MIN(chunk, size - off);

        for (size_t i = 0; i < n / 4; i++) {
            buf[i] = seed * 0x9e3779b1u ^ (uint32_t)((addr + off) / 4 + i) * 2654435761u;
        }
        qtest_bufwrite(s, addr + off, buf, n);
    }
}

void mig_assert_memory_equal(QTestState *a, QTestState *b, uint64_t addr, uint64_t size)
{
    const size_t chunk = 4 << 20;
    g_autofree uint8_t *ba = g_malloc(chunk);
    g_autofree uint8_t *bb = g_malloc(chunk);

    for (uint64_t off = 0; off < size; off += chunk) {
        size_t n = MIN(chunk, size - off);

        qtest_bufread(a, addr + off, ba, n);
        qtest_bufread(b, addr + off, bb, n);
        if (memcmp(ba, bb, n)) {
            size_t i = 0;

            while (ba[i] == bb[i]) {
                i++;
            }
            g_test_message("guest memory differs at 0x%" G_GINT64_MODIFIER "x: source 0x%02x, "
                           "destination 0x%02x", addr + off + i, ba[i], bb[i]);
            g_assert_not_reached();
        }
    }
}
