/*
 * Helpers shared by the memory core tests (see memory-test-util.h).
 */
#include "memory-test-util.h"

void assert_no_error(Error *err)
{
    if (err) {
        g_test_message("unexpected error: %s", error_get_pretty(err));
        error_free(err);
        g_assert_not_reached();
    }
}

void assert_error_mentions(Error **errp, ...)
{
    const char *needle;
    va_list ap;

    if (!*errp) {
        g_test_message("expected an error, got none");
        g_assert_nonnull(*errp);
    }
    va_start(ap, errp);
    while ((needle = va_arg(ap, const char *))) {
        if (!strstr(error_get_pretty(*errp), needle)) {
            g_test_message("error \"%s\" does not mention \"%s\"", error_get_pretty(*errp),
                           needle);
            g_assert_not_reached();
        }
    }
    va_end(ap);
    error_free_or_abort(errp);
}

void assert_lines(char **got, const char *const *expected)
{
    guint ngot = got ? g_strv_length(got) : 0, nexp = 0, i;
    bool same;

    while (expected[nexp]) {
        nexp++;
    }
    same = ngot == nexp;
    for (i = 0; same && i < ngot; i++) {
        same = !strcmp(got[i], expected[i]);
    }
    if (!same) {
        g_test_message("expected %u lines:", nexp);
        for (i = 0; i < nexp; i++) {
            g_test_message("    %s", expected[i]);
        }
        g_test_message("got %u lines:", ngot);
        for (i = 0; i < ngot; i++) {
            g_test_message("  %c %s", i < nexp && !strcmp(got[i], expected[i]) ? ' ' : '!',
                           got[i]);
        }
        g_test_fail();
    }
    g_strfreev(got);
}

static char *size_str(Int128 size)
{
    if (int128_eq(size, int128_2_64())) {
        return g_strdup("0x10000000000000000");
    }
    return g_strdup_printf("0x%" PRIx64, int128_get64(size));
}

static char *section_str(const MemoryRegionSection *s)
{
    g_autofree char *size = size_str(s->size);

    return g_strdup_printf("0x%" PRIx64 "+%s %s@0x%" PRIx64 "%s%s",
                           s->offset_within_address_space, size, memory_region_name(s->mr),
                           s->offset_within_region, s->readonly ? " ro" : "",
                           s->nonvolatile ? " nv" : "");
}

char **flatview_lines(AddressSpace *as)
{
    FlatView *fv = address_space_get_flatview(as);
    GPtrArray *lines = g_ptr_array_new();
    unsigned i;

    for (i = 0; i < fv->nr; i++) {
        MemoryRegionSection s = {
            .size = fv->ranges[i].size,
            .mr = fv->ranges[i].mr,
            .offset_within_region = fv->ranges[i].offset_in_region,
            .offset_within_address_space = int128_get64(fv->ranges[i].start),
            .readonly = fv->ranges[i].readonly,
            .nonvolatile = fv->ranges[i].nonvolatile,
        };

        g_ptr_array_add(lines, section_str(&s));
    }
    flatview_unref(fv);
    g_ptr_array_add(lines, NULL);
    return (char **)g_ptr_array_free(lines, false);
}

/* ------------------------------------------------------------------------ */
/* Recording listener */

static GPtrArray *rec_log;

static void rec(RecListener *rl, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void rec(RecListener *rl, const char *fmt, ...)
{
    va_list ap;
    char *body;

    if (!rec_log) {
        rec_log = g_ptr_array_new_with_free_func(g_free);
    }
    va_start(ap, fmt);
    body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(rec_log, g_strdup_printf("%s %s", rl->tag, body));
    g_free(body);
}

#define REC(l) container_of((l), RecListener, ml)

static void rec_begin(MemoryListener *l)
{
    rec(REC(l), "begin");
}

static void rec_commit(MemoryListener *l)
{
    rec(REC(l), "commit");
}

static void rec_section(MemoryListener *l, const char *op, MemoryRegionSection *s,
                        const char *suffix)
{
    g_autofree char *str = section_str(s);

    rec(REC(l), "%s %s%s", op, str, suffix);
}

static void rec_add(MemoryListener *l, MemoryRegionSection *s)
{
    rec_section(l, "add", s, "");
}

static void rec_del(MemoryListener *l, MemoryRegionSection *s)
{
    rec_section(l, "del", s, "");
}

static void rec_nop(MemoryListener *l, MemoryRegionSection *s)
{
    rec_section(l, "nop", s, "");
}

static void rec_log_start(MemoryListener *l, MemoryRegionSection *s, int o, int n)
{
    g_autofree char *suffix = g_strdup_printf(" %d->%d", o, n);

    rec_section(l, "log_start", s, suffix);
}

static void rec_log_stop(MemoryListener *l, MemoryRegionSection *s, int o, int n)
{
    g_autofree char *suffix = g_strdup_printf(" %d->%d", o, n);

    rec_section(l, "log_stop", s, suffix);
}

static void rec_log_sync(MemoryListener *l, MemoryRegionSection *s)
{
    rec_section(l, "sync", s, "");
}

static void rec_log_sync_global(MemoryListener *l, bool last_stage)
{
    rec(REC(l), "sync_global%s", last_stage ? " last" : "");
}

static bool rec_global_start(MemoryListener *l, Error **errp)
{
    RecListener *rl = REC(l);

    if (rl->refuse_global_start) {
        rec(rl, "global_start refused");
        error_setg(errp, "%s", rl->refuse_global_start);
        return false;
    }
    rec(rl, "global_start");
    return true;
}

static void rec_global_stop(MemoryListener *l)
{
    rec(REC(l), "global_stop");
}

static void rec_after_sync(MemoryListener *l)
{
    rec(REC(l), "after_sync");
}

void rec_listener_init(RecListener *rl, const char *tag, unsigned priority, bool with_nop,
                       bool with_sync_global)
{
    memset(rl, 0, sizeof(*rl));
    rl->tag = tag;
    rl->ml = (MemoryListener) {
        .begin = rec_begin,
        .commit = rec_commit,
        .region_add = rec_add,
        .region_del = rec_del,
        .region_nop = with_nop ? rec_nop : NULL,
        .log_start = rec_log_start,
        .log_stop = rec_log_stop,
        .log_sync = with_sync_global ? NULL : rec_log_sync,
        .log_sync_global = with_sync_global ? rec_log_sync_global : NULL,
        .log_global_start = rec_global_start,
        .log_global_stop = rec_global_stop,
        .log_global_after_sync = rec_after_sync,
        .priority = priority,
        .name = tag,
    };
}

char **rec_log_take(void)
{
    char **lines;

    if (!rec_log) {
        return g_new0(char *, 1);
    }
    g_ptr_array_set_free_func(rec_log, NULL);
    g_ptr_array_add(rec_log, NULL);
    lines = (char **)g_ptr_array_free(rec_log, false);
    rec_log = NULL;
    return lines;
}

void rec_log_clear(void)
{
    g_strfreev(rec_log_take());
}

/* ------------------------------------------------------------------------ */
/* Register file device */

void regfile_init(RegFile *rf)
{
    unsigned i;

    memset(rf, 0, sizeof(*rf));
    for (i = 0; i < sizeof(rf->regs); i++) {
        rf->regs[i] = i;
    }
    rf->log = g_ptr_array_new_with_free_func(g_free);
}

void regfile_destroy(RegFile *rf)
{
    g_ptr_array_free(rf->log, true);
}

char **regfile_log_take(RegFile *rf)
{
    char **lines;

    g_ptr_array_set_free_func(rf->log, NULL);
    g_ptr_array_add(rf->log, NULL);
    lines = (char **)g_ptr_array_free(rf->log, false);
    rf->log = g_ptr_array_new_with_free_func(g_free);
    return lines;
}

uint64_t regfile_read(void *opaque, hwaddr addr, unsigned size)
{
    RegFile *rf = opaque;
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < size && addr + i < sizeof(rf->regs); i++) {
        unsigned shift = rf->big_endian ? (size - 1 - i) * 8 : i * 8;

        v |= (uint64_t)rf->regs[addr + i] << shift;
    }
    g_ptr_array_add(rf->log, g_strdup_printf("r 0x%" PRIx64 "/%u", addr, size));
    return v;
}

void regfile_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    RegFile *rf = opaque;
    unsigned i;

    for (i = 0; i < size && addr + i < sizeof(rf->regs); i++) {
        unsigned shift = rf->big_endian ? (size - 1 - i) * 8 : i * 8;

        rf->regs[addr + i] = data >> shift;
    }
    g_ptr_array_add(rf->log,
                    g_strdup_printf("w 0x%" PRIx64 "/%u=0x%" PRIx64, addr, size, data));
}
