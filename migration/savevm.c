/*
 * The handler registry (include/migration/register.h) and the stream:
 * writing it on the source, checking and loading it on the destination
 * (the format is docs/migration-stream.md).
 *
 * Handlers and the migration thread: a handler's unlocked callbacks
 * (iterate, pending estimate) run in the migration thread without the BQL
 * while the main loop may be unplugging the device.  savevm_lock covers
 * the handler list and each unlocked callback, and unregister_savevm()
 * takes it, so it returns only once the handler is no longer being called;
 * during a migration the entry stays listed, marked removed, and the
 * migration fails.  Lock order: BQL, then savevm_lock; an unlocked
 * callback must not take the BQL.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/atomic.h"
#include "exec/cpu-common.h"
#include "migration/migration-int.h"
#include "trace/trace-migration.h"

typedef struct SaveStateEntry {
    char idstr[256];                /* unique with instance_id */
    uint32_t instance_id;
    int version_id;                 /* version written; the newest loadable */
    const SaveVMHandlers *ops;      /* not owned */
    void *opaque;
    bool removed;                   /* unregistered while a migration used it */

    /* One migration's bookkeeping (source or destination) */
    uint32_t index;                 /* position in the configuration's device list */
    bool setup_called;              /* save_setup / load_setup was called */
    bool started;                   /* START sent / received */
    bool ended;                     /* END sent / received */
    bool full_done;                 /* FULL sent / received */
    int stream_version;             /* destination: the source's version_id */
} SaveStateEntry;

/* SaveStateEntry *, in registration order ("ram" first). */
static GList *savevm_entries;
/* The list and each entry's removed flag; held around unlocked callbacks. */
static GMutex savevm_lock;
/* A migration has the list: removals are deferred to its cleanup. */
static bool savevm_in_use;
/* The first handler removed while in use (for the migration's error). */
static char *savevm_removed_idstr;

static bool savevm_entry_iterative(const SaveStateEntry *se)
{
    return se->ops->save_setup || se->ops->save_live_iterate || se->ops->save_live_complete;
}

static const char *savevm_stats_class(const SaveStateEntry *se)
{
    return se->ops->stats_class;
}

/* ------------------------------------------------------------------------ */
/* Registry */

bool register_savevm_live(const char *idstr, uint32_t instance_id, int version_id,
                          const SaveVMHandlers *ops, void *opaque, Error **errp)
{
    SaveStateEntry *se;

    if (strlen(idstr) == 0 || strlen(idstr) >= sizeof(se->idstr)) {
        error_setg(errp, "migration handler name '%s' is empty or too long", idstr);
        return false;
    }
    if (migration_is_active()) {
        error_setg(errp, "cannot register migration state '%s' while a migration is in "
                   "progress", idstr);
        return false;
    }
    g_mutex_lock(&savevm_lock);
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *o = l->data;

        if (!o->removed && !strcmp(o->idstr, idstr) && o->instance_id == instance_id) {
            g_mutex_unlock(&savevm_lock);
            error_setg(errp, "migration state '%s' instance %u is registered already", idstr,
                       instance_id);
            return false;
        }
    }
    se = g_new0(SaveStateEntry, 1);
    g_strlcpy(se->idstr, idstr, sizeof(se->idstr));
    se->instance_id = instance_id;
    se->version_id = version_id;
    se->ops = ops;
    se->opaque = opaque;
    savevm_entries = g_list_append(savevm_entries, se);
    g_mutex_unlock(&savevm_lock);
    trace_savevm_register(idstr, instance_id, version_id);
    return true;
}

void unregister_savevm(const char *idstr, void *opaque)
{
    g_mutex_lock(&savevm_lock);
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        if (se->opaque != opaque || strcmp(se->idstr, idstr) || se->removed) {
            continue;
        }
        trace_savevm_unregister(idstr, savevm_in_use);
        if (savevm_in_use) {
            se->removed = true;
            if (!savevm_removed_idstr) {
                savevm_removed_idstr = g_strdup(idstr);
            }
        } else {
            savevm_entries = g_list_delete_link(savevm_entries, l);
            g_free(se);
        }
        break;
    }
    g_mutex_unlock(&savevm_lock);
}

guint qemu_savevm_nr_handlers(void)
{
    guint n = 0;

    g_mutex_lock(&savevm_lock);
    for (GList *l = savevm_entries; l; l = l->next) {
        n += !((SaveStateEntry *)l->data)->removed;
    }
    g_mutex_unlock(&savevm_lock);
    return n;
}

void qemu_savevm_wait_unlocked_callbacks(void)
{
    g_mutex_lock(&savevm_lock);
    g_mutex_unlock(&savevm_lock);
}

const char *qemu_savevm_removed_handler(void)
{
    return savevm_removed_idstr;
}

/* A migration takes the list (BQL held); its end gives it back and purges. */
static void savevm_list_acquire(void)
{
    g_mutex_lock(&savevm_lock);
    savevm_in_use = true;
    g_clear_pointer(&savevm_removed_idstr, g_free);
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        se->setup_called = se->started = se->ended = se->full_done = false;
        se->stream_version = 0;
    }
    g_mutex_unlock(&savevm_lock);
}

static void savevm_list_release(void)
{
    g_mutex_lock(&savevm_lock);
    for (GList *l = savevm_entries; l;) {
        SaveStateEntry *se = l->data;
        GList *next = l->next;

        if (se->removed) {
            savevm_entries = g_list_delete_link(savevm_entries, l);
            g_free(se);
        }
        l = next;
    }
    savevm_in_use = false;
    g_mutex_unlock(&savevm_lock);
}

/* ------------------------------------------------------------------------ */
/* Source */

static char *savevm_compat(const SaveStateEntry *se)
{
    char *s = se->ops->compat_string ? se->ops->compat_string(se->opaque) : NULL;

    return s ? s : g_strdup("");
}

/* The configuration body: page size, RAM blocks, devices (see the doc). */
static void savevm_config_body(QEMUFile *f)
{
    uint32_t n = 0;

    qemu_put_be32(f, TARGET_PAGE_SIZE);
    ram_config_write(f);
    for (GList *l = savevm_entries; l; l = l->next) {
        n += !((SaveStateEntry *)l->data)->removed;
    }
    qemu_put_be32(f, n);
    n = 0;
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;
        g_autofree char *compat = NULL;

        if (se->removed) {
            continue;
        }
        compat = savevm_compat(se);
        se->index = n++;
        qemu_put_byte(f, strlen(se->idstr));
        qemu_put_buffer(f, se->idstr, strlen(se->idstr));
        qemu_put_be32(f, se->instance_id);
        qemu_put_be32(f, se->version_id);
        qemu_put_be16(f, MIN(strlen(compat), UINT16_MAX));
        qemu_put_buffer(f, compat, MIN(strlen(compat), UINT16_MAX));
    }
}

static void savevm_digest(const uint8_t *body, size_t len, uint8_t digest[32])
{
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    gsize dlen = 32;

    g_checksum_update(ck, body, len);
    g_checksum_get_digest(ck, digest, &dlen);
    g_checksum_free(ck);
}

bool qemu_savevm_state_header(QEMUFile *f, uint32_t flags, Error **errp)
{
    QEMUFile *body = qemu_file_new_output_memory("configuration");
    g_autofree uint8_t *data = NULL;
    uint8_t digest[32];
    size_t len;
    uint32_t crc;

    savevm_list_acquire();
    savevm_config_body(body);
    data = qemu_file_memory_dup(body, &len);
    qemu_fclose(body);
    savevm_digest(data, len, digest);
    crc = mig_crc32(mig_crc32(0, digest, sizeof(digest)), data, len);

    qemu_put_be32(f, MIG_STREAM_MAGIC);
    qemu_put_be32(f, MIG_STREAM_VERSION);
    qemu_put_be32(f, flags);
    qemu_put_byte(f, MIG_RECORD_CONFIG);
    qemu_put_be32(f, sizeof(digest) + len);
    qemu_put_buffer(f, digest, sizeof(digest));
    qemu_put_buffer(f, data, len);
    qemu_put_be32(f, crc);
    trace_savevm_header(flags, len);
    return qemu_file_check(f, errp);
}

/* Frame @payload as a section of @se. */
static bool savevm_emit_section(QEMUFile *f, SaveStateEntry *se, uint8_t type,
                                QEMUFile *payload, Error **errp)
{
    uint64_t len = qemu_file_memory_size(payload);
    bool crc = !se->ops->no_crc;

    if (len > MIG_MAX_SECTION_BYTES) {
        error_setg(errp, "device '%s': a section of %" PRIu64 " bytes is larger than the "
                   "stream allows (%llu)", se->idstr, len, MIG_MAX_SECTION_BYTES);
        return false;
    }
    qemu_put_byte(f, type);
    qemu_put_byte(f, crc ? MIG_SECTION_FLAG_CRC : 0);
    qemu_put_be32(f, se->index);
    qemu_put_be32(f, len);
    if (crc) {
        /* Copied, so the bytes checked are the bytes sent. */
        size_t n;
        g_autofree uint8_t *data = qemu_file_memory_dup(payload, &n);

        qemu_put_buffer(f, data, n);
        qemu_put_be32(f, mig_crc32(0, data, n));
    } else {
        qemu_put_file_contents(f, payload);
    }
    qemu_put_byte(f, MIG_SECTION_FOOTER);
    mig_stats_account_section(savevm_stats_class(se), len);
    trace_savevm_section(se->idstr, type, len);
    return qemu_file_check(f, errp);
}

/* Fail when a handler went away during the migration. */
static bool savevm_check_removed(SaveStateEntry *se, Error **errp)
{
    if (se->removed) {
        error_setg(errp, "device '%s' was removed during the migration", se->idstr);
        return false;
    }
    return true;
}

bool qemu_savevm_state_setup(QEMUFile *f, Error **errp)
{
    QEMUFile *pf = qemu_file_new_output_memory("section");
    bool ok = true;

    assert(bql_locked());
    for (GList *l = savevm_entries; l && ok; l = l->next) {
        SaveStateEntry *se = l->data;

        if (!savevm_entry_iterative(se) || !(ok = savevm_check_removed(se, errp))) {
            continue;
        }
        qemu_file_memory_reset(pf);
        se->setup_called = true;
        if (se->ops->save_setup && !se->ops->save_setup(pf, se->opaque, errp)) {
            error_prepend(errp, "device '%s': ", se->idstr);
            ok = false;
            break;
        }
        ok = savevm_emit_section(f, se, MIG_SECTION_START, pf, errp);
        se->started = ok;
    }
    qemu_fclose(pf);
    return ok;
}

int qemu_savevm_state_iterate(QEMUFile *f, Error **errp)
{
    QEMUFile *pf = qemu_file_new_output_memory("section");
    int all_done = 1;

    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;
        int ret;

        if (!se->started || !se->ops->save_live_iterate) {
            continue;
        }
        qemu_file_memory_reset(pf);
        g_mutex_lock(&savevm_lock);
        if (!savevm_check_removed(se, errp)) {
            g_mutex_unlock(&savevm_lock);
            all_done = -ENODEV;
            break;
        }
        ret = se->ops->save_live_iterate(pf, se->opaque, errp);
        g_mutex_unlock(&savevm_lock);
        if (ret < 0) {
            error_prepend(errp, "device '%s': ", se->idstr);
            all_done = ret;
            break;
        }
        if (qemu_file_memory_size(pf) && !savevm_emit_section(f, se, MIG_SECTION_PART, pf,
                                                               errp)) {
            all_done = -EIO;
            break;
        }
        if (!ret) {
            all_done = 0;
        }
        if (migration_should_stop()) {
            all_done = 0;
            break;
        }
    }
    qemu_fclose(pf);
    return all_done;
}

bool qemu_savevm_state_complete(QEMUFile *f, Error **errp)
{
    QEMUFile *pf = qemu_file_new_output_memory("section");
    uint64_t eof_pos;
    bool ok = true;

    assert(bql_locked());
    for (GList *l = savevm_entries; l && ok; l = l->next) {
        SaveStateEntry *se = l->data;
        int ret = 1;

        if (!se->started) {
            continue;
        }
        if (!(ok = savevm_check_removed(se, errp))) {
            break;
        }
        do {
            qemu_file_memory_reset(pf);
            if (se->ops->save_live_complete) {
                ret = se->ops->save_live_complete(pf, se->opaque, errp);
                if (ret < 0) {
                    error_prepend(errp, "device '%s': ", se->idstr);
                    ok = false;
                    break;
                }
            }
            ok = savevm_emit_section(f, se, ret ? MIG_SECTION_END : MIG_SECTION_PART, pf,
                                     errp);
        } while (ok && !ret);
        se->ended = ok;
    }
    for (GList *l = savevm_entries; l && ok; l = l->next) {
        SaveStateEntry *se = l->data;

        if (!se->ops->save_state) {
            continue;
        }
        if (!(ok = savevm_check_removed(se, errp))) {
            break;
        }
        qemu_file_memory_reset(pf);
        if (!se->ops->save_state(pf, se->opaque, errp)) {
            error_prepend(errp, "device '%s': ", se->idstr);
            ok = false;
            break;
        }
        ok = savevm_emit_section(f, se, MIG_SECTION_FULL, pf, errp);
        se->full_done = ok;
    }
    qemu_fclose(pf);
    if (!ok) {
        return false;
    }
    eof_pos = qemu_file_transferred(f);
    qemu_put_byte(f, MIG_RECORD_EOF);
    qemu_put_be64(f, eof_pos);
    qemu_fflush(f);
    trace_savevm_complete(eof_pos);
    return qemu_file_check(f, errp);
}

void qemu_savevm_state_cleanup(void)
{
    assert(bql_locked());
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        if (se->setup_called && !se->removed && se->ops->save_cleanup) {
            se->ops->save_cleanup(se->opaque);
        }
        se->setup_called = false;
    }
    savevm_list_release();
}

uint64_t qemu_savevm_state_pending_estimate(void)
{
    uint64_t pending = 0;

    g_mutex_lock(&savevm_lock);
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        if (se->started && !se->removed && se->ops->state_pending_estimate) {
            se->ops->state_pending_estimate(se->opaque, &pending);
        }
    }
    g_mutex_unlock(&savevm_lock);
    return pending;
}

uint64_t qemu_savevm_state_pending_exact(void)
{
    uint64_t pending = 0;

    assert(bql_locked());
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        if (se->started && !se->removed && se->ops->state_pending_exact) {
            se->ops->state_pending_exact(se->opaque, &pending);
        }
    }
    return pending;
}

bool qemu_savevm_switchover_ack_needed(void)
{
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        if (!se->removed && se->ops->switchover_ack_needed &&
            se->ops->switchover_ack_needed(se->opaque)) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Destination */

/* The load in progress: the table of devices by stream index, acks. */
typedef struct LoadState {
    LoadVMContext *ctx;
    QEMUFile *f;
    SaveStateEntry **devices;       /* by stream index */
    uint32_t nr_devices;
    int acks_pending;               /* handlers that still have to approve */
    bool ack_sent;
} LoadState;

static LoadState *load_state;       /* incoming thread */

static bool loadvm_send_ack(LoadState *ls, Error **errp)
{
    if (ls->ack_sent) {
        return true;
    }
    ls->ack_sent = true;
    trace_loadvm_switchover_ack();
    if (!ls->ctx->send_rp || !ls->ctx->send_rp(ls->ctx->opaque, MIG_RP_SWITCHOVER_ACK,
                                               NULL, 0)) {
        error_setg(errp, "cannot send the switchover approval to the source");
        return false;
    }
    return true;
}

int qemu_loadvm_approve_switchover(void)
{
    LoadState *ls = load_state;

    if (!ls || !(ls->ctx->flags & MIG_FLAG_SWITCHOVER_ACK) || ls->acks_pending <= 0) {
        return -EINVAL;
    }
    if (--ls->acks_pending == 0) {
        return loadvm_send_ack(ls, NULL) ? 0 : -EIO;
    }
    return 0;
}

static char *loadvm_get_string(QEMUFile *f, size_t len)
{
    char *s = g_malloc0(len + 1);

    qemu_get_buffer(f, s, len);
    return s;
}

/* The device list of the configuration, matched against the registry. */
static bool loadvm_check_devices(LoadState *ls, QEMUFile *f, Error **errp)
{
    uint32_t n = qemu_get_be32(f);

    if (!qemu_file_check(f, errp)) {
        return false;
    }
    if (n > MIG_MAX_ENTRIES) {
        error_setg(errp, "the configuration lists %u devices (at most %d are accepted)", n,
                   MIG_MAX_ENTRIES);
        return false;
    }
    ls->devices = g_new0(SaveStateEntry *, n ? n : 1);
    ls->nr_devices = n;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t idlen = qemu_get_byte(f);
        g_autofree char *idstr = loadvm_get_string(f, idlen);
        uint32_t instance = qemu_get_be32(f);
        uint32_t version = qemu_get_be32(f);
        uint16_t clen = qemu_get_be16(f);
        g_autofree char *compat = loadvm_get_string(f, clen);
        g_autofree char *local_compat = NULL;
        SaveStateEntry *se = NULL;

        if (!qemu_file_check(f, errp)) {
            return false;
        }
        if (!idlen || strlen(idstr) != idlen || strlen(compat) != clen) {
            error_setg(errp, "device #%u of the configuration has a malformed name", i);
            return false;
        }
        for (GList *l = savevm_entries; l; l = l->next) {
            SaveStateEntry *o = l->data;

            if (!o->removed && !strcmp(o->idstr, idstr) && o->instance_id == instance) {
                se = o;
                break;
            }
        }
        if (!se) {
            error_setg(errp, "the source has device '%s' (instance %u), this VM has not",
                       idstr, instance);
            error_append_hint(errp, "Start the destination with the same devices as the "
                              "source.\n");
            return false;
        }
        if (se->stream_version) {
            error_setg(errp, "device '%s' (instance %u) is listed twice", idstr, instance);
            return false;
        }
        if (version == 0 || version > (uint32_t)se->version_id) {
            error_setg(errp, "device '%s': the stream has version %u of its state, this "
                       "build reads versions 1 to %d", idstr, version, se->version_id);
            return false;
        }
        local_compat = savevm_compat(se);
        if (strcmp(local_compat, compat)) {
            error_setg(errp, "device '%s' differs: the source has '%s', this VM has '%s'",
                       idstr, compat, local_compat);
            return false;
        }
        se->stream_version = version;
        se->index = i;
        ls->devices[i] = se;
    }
    for (GList *l = savevm_entries; l; l = l->next) {
        SaveStateEntry *se = l->data;

        if (!se->removed && !se->stream_version) {
            error_setg(errp, "device '%s' (instance %u) exists here but not on the source",
                       se->idstr, se->instance_id);
            error_append_hint(errp, "Start the destination with the same devices as the "
                              "source.\n");
            return false;
        }
    }
    return true;
}

static bool loadvm_config(LoadState *ls, Error **errp)
{
    QEMUFile *f = ls->f;
    uint32_t len, crc, page_size;
    g_autofree uint8_t *data = NULL;
    uint8_t digest[32];
    QEMUFile *body;
    bool ok;

    if (qemu_get_byte(f) != MIG_RECORD_CONFIG || !qemu_file_check(f, NULL)) {
        if (!qemu_file_check(f, errp)) {
            return false;
        }
        error_setg(errp, "the stream has no configuration record after its header");
        return false;
    }
    len = qemu_get_be32(f);
    if (!qemu_file_check(f, errp)) {
        return false;
    }
    if (len < sizeof(digest) || len > MIG_MAX_CONFIG_BYTES) {
        error_setg(errp, "the configuration record has a bad length (%u bytes)", len);
        return false;
    }
    data = g_malloc(len);
    qemu_get_buffer(f, data, len);
    crc = qemu_get_be32(f);
    if (!qemu_file_check(f, errp)) {
        return false;
    }
    if (crc != mig_crc32(0, data, len)) {
        error_setg(errp, "the configuration record is corrupt (CRC mismatch)");
        return false;
    }
    savevm_digest(data + sizeof(digest), len - sizeof(digest), digest);
    if (memcmp(digest, data, sizeof(digest))) {
        error_setg(errp, "the configuration record is corrupt (digest mismatch)");
        return false;
    }
    body = qemu_file_new_input_buffer(data + sizeof(digest), len - sizeof(digest),
                                      "configuration record");
    page_size = qemu_get_be32(body);
    ok = qemu_file_check(body, errp);
    if (ok && page_size != TARGET_PAGE_SIZE) {
        error_setg(errp, "the source uses %u-byte pages, this VM %d-byte pages", page_size,
                   TARGET_PAGE_SIZE);
        ok = false;
    }
    ok = ok && ram_config_check(body, errp) && loadvm_check_devices(ls, body, errp);
    if (ok && qemu_file_transferred(body) != len - sizeof(digest)) {
        error_setg(errp, "the configuration record has %" PRIu64 " bytes of trailing data",
                   (uint64_t)(len - sizeof(digest)) - qemu_file_transferred(body));
        ok = false;
    }
    qemu_fclose(body);
    trace_loadvm_config(len, ls->nr_devices, ok);
    return ok;
}

static const char *loadvm_section_name(int type)
{
    switch (type) {
    case MIG_SECTION_START:
        return "start";
    case MIG_SECTION_PART:
        return "part";
    case MIG_SECTION_END:
        return "end";
    case MIG_SECTION_FULL:
        return "full";
    }
    return "?";
}

/* Call @se's load_state for a section of @len bytes on @f (limited to it). */
static bool loadvm_call_load(LoadState *ls, SaveStateEntry *se, QEMUFile *f, int type,
                             Error **errp)
{
    bool locked = !se->ops->load_unlocked;
    bool ok = true;

    if (!se->ops->load_state) {
        return true;
    }
    if (locked) {
        bql_lock();
    }
    ok = se->ops->load_state(f, se->opaque, se->stream_version, type, errp);
    if (locked) {
        bql_unlock();
    }
    return ok;
}

static bool loadvm_section(LoadState *ls, int type, Error **errp)
{
    QEMUFile *f = ls->f;
    uint64_t pos = qemu_file_transferred(f) - 1;
    uint8_t flags = qemu_get_byte(f);
    uint32_t index = qemu_get_be32(f);
    uint32_t len = qemu_get_be32(f);
    Error *err = NULL;
    SaveStateEntry *se;
    bool ok;

    if (!qemu_file_check(f, errp)) {
        return false;
    }
    if (index >= ls->nr_devices) {
        error_setg(errp, "a section at offset %" PRIu64 " is for device #%u, but the "
                   "configuration lists %u", pos, index, ls->nr_devices);
        return false;
    }
    se = ls->devices[index];
    if (flags & ~MIG_SECTION_FLAG_CRC) {
        error_setg(errp, "device '%s': section at offset %" PRIu64 " has unknown flags 0x%x",
                   se->idstr, pos, flags);
        return false;
    }
    if (!(flags & MIG_SECTION_FLAG_CRC) != se->ops->no_crc) {
        error_setg(errp, "device '%s': section at offset %" PRIu64 " %s a CRC", se->idstr,
                   pos, se->ops->no_crc ? "has" : "lacks");
        return false;
    }
    if (len > MIG_MAX_SECTION_BYTES) {
        error_setg(errp, "device '%s': section at offset %" PRIu64 " claims %u bytes (at "
                   "most %llu are accepted)", se->idstr, pos, len, MIG_MAX_SECTION_BYTES);
        return false;
    }
    switch (type) {
    case MIG_SECTION_START:
        ok = !se->started && !se->ended && savevm_entry_iterative(se);
        break;
    case MIG_SECTION_PART:
    case MIG_SECTION_END:
        ok = se->started && !se->ended;
        break;
    default:
        ok = !se->full_done && se->ops->save_state;
        break;
    }
    if (!ok) {
        error_setg(errp, "device '%s': unexpected %s section at offset %" PRIu64, se->idstr,
                   loadvm_section_name(type), pos);
        return false;
    }
    trace_loadvm_section(se->idstr, type, len, pos);

    if (flags & MIG_SECTION_FLAG_CRC) {
        /* Check the whole section before any of it is applied. */
        g_autofree uint8_t *data = g_try_malloc(len ? len : 1);
        QEMUFile *sub;
        uint32_t crc;

        if (!data) {
            error_setg(errp, "device '%s': no memory for a section of %u bytes", se->idstr,
                       len);
            return false;
        }
        qemu_get_buffer(f, data, len);
        crc = qemu_get_be32(f);
        if (!qemu_file_check(f, errp)) {
            return false;
        }
        if (crc != mig_crc32(0, data, len)) {
            error_setg(errp, "device '%s': the %s section at offset %" PRIu64 " is corrupt "
                       "(CRC mismatch)", se->idstr, loadvm_section_name(type), pos);
            return false;
        }
        sub = qemu_file_new_input_buffer(data, len, se->idstr);
        qemu_file_set_limit(sub, len, "the section");
        ok = loadvm_call_load(ls, se, sub, type, &err);
        if (ok && !qemu_file_check(sub, &err)) {
            ok = false;
        } else if (ok && qemu_file_limit_remaining(sub)) {
            error_setg(&err, "%" PRIu64 " bytes of the section were left unread",
                       qemu_file_limit_remaining(sub));
            ok = false;
        }
        if (!ok && qemu_file_get_error(sub) && err) {
            /* The handler's message may be vaguer than the file's. */
            error_free(err);
            err = NULL;
            qemu_file_check(sub, &err);
        }
        qemu_fclose(sub);
    } else {
        qemu_file_set_limit(f, len, "the section");
        ok = loadvm_call_load(ls, se, f, type, &err);
        if (qemu_file_get_error(f)) {
            error_free(err);
            err = NULL;
            qemu_file_check(f, &err);
            ok = false;
        } else if (ok && qemu_file_limit_remaining(f)) {
            error_setg(&err, "%" PRIu64 " bytes of the section were left unread",
                       qemu_file_limit_remaining(f));
            ok = false;
        }
        qemu_file_clear_limit(f);
        if (se->ops->load_unlocked) {
            ls->ctx->ram_bytes += len;
        }
    }
    if (!ok) {
        if (!err) {
            error_setg(&err, "loading failed");
        }
        error_propagate_prepend(errp, err, "device '%s': %s section at offset %" PRIu64 ": ",
                                se->idstr, loadvm_section_name(type), pos);
        return false;
    }
    if (qemu_get_byte(f) != MIG_SECTION_FOOTER) {
        if (!qemu_file_check(f, errp)) {
            return false;
        }
        error_setg(errp, "device '%s': the %s section at offset %" PRIu64 " is not followed "
                   "by its footer (the stream is corrupt)", se->idstr,
                   loadvm_section_name(type), pos);
        return false;
    }
    switch (type) {
    case MIG_SECTION_START:
        se->started = true;
        break;
    case MIG_SECTION_END:
        se->ended = true;
        break;
    case MIG_SECTION_FULL:
        se->full_done = true;
        break;
    }
    return true;
}

/* After the end marker: every device's final state must have come. */
static bool loadvm_check_complete(LoadState *ls, Error **errp)
{
    for (uint32_t i = 0; i < ls->nr_devices; i++) {
        SaveStateEntry *se = ls->devices[i];

        if (savevm_entry_iterative(se) && !se->ended) {
            error_setg(errp, "device '%s': the stream ends without its final state",
                       se->idstr);
            return false;
        }
        if (se->ops->save_state && !se->full_done) {
            error_setg(errp, "device '%s': the stream ends without its state", se->idstr);
            return false;
        }
    }
    return true;
}

static bool loadvm_setup_all(LoadState *ls, Error **errp)
{
    bool ok = true;

    bql_lock();
    for (uint32_t i = 0; i < ls->nr_devices && ok; i++) {
        SaveStateEntry *se = ls->devices[i];

        se->setup_called = true;
        if (se->ops->load_setup && !se->ops->load_setup(se->opaque, errp)) {
            error_prepend(errp, "device '%s': ", se->idstr);
            ok = false;
        }
        if (se->ops->switchover_ack_needed && se->ops->switchover_ack_needed(se->opaque)) {
            ls->acks_pending++;
        }
    }
    bql_unlock();
    return ok;
}

static bool loadvm_complete_all(LoadState *ls, Error **errp)
{
    bool ok = true;

    bql_lock();
    for (uint32_t i = 0; i < ls->nr_devices && ok; i++) {
        SaveStateEntry *se = ls->devices[i];

        if (se->ops->load_complete && !se->ops->load_complete(se->opaque, errp)) {
            error_prepend(errp, "device '%s': ", se->idstr);
            ok = false;
        }
    }
    bql_unlock();
    return ok;
}

static void loadvm_cleanup_all(LoadState *ls)
{
    bql_lock();
    for (uint32_t i = 0; i < ls->nr_devices; i++) {
        SaveStateEntry *se = ls->devices[i];

        if (se && se->setup_called && se->ops->load_cleanup) {
            se->ops->load_cleanup(se->opaque);
        }
    }
    bql_unlock();
}

static bool loadvm_header(LoadState *ls, Error **errp)
{
    QEMUFile *f = ls->f;
    uint32_t magic = qemu_get_be32(f);
    uint32_t version = qemu_get_be32(f);
    uint32_t flags = qemu_get_be32(f);

    if (!qemu_file_check(f, errp)) {
        return false;
    }
    if (magic != MIG_STREAM_MAGIC) {
        error_setg(errp, "not an Aperture migration stream (magic 0x%08x, expected 0x%08x)",
                   magic, MIG_STREAM_MAGIC);
        return false;
    }
    if (version != MIG_STREAM_VERSION) {
        error_setg(errp, "migration stream version %u is not supported (this build reads "
                   "version %d)", version, MIG_STREAM_VERSION);
        return false;
    }
    if (flags & ~MIG_FLAG_ALL) {
        error_setg(errp, "the stream header has unknown flags 0x%x", flags & ~MIG_FLAG_ALL);
        return false;
    }
    if ((flags & MIG_FLAG_SWITCHOVER_ACK) && !(flags & MIG_FLAG_RETURN_PATH)) {
        error_setg(errp, "the stream asks for a switchover approval without a return path");
        return false;
    }
    if ((flags & MIG_FLAG_RETURN_PATH) && !ls->ctx->send_rp) {
        error_setg(errp, "the source expects answers, but this channel cannot carry them");
        return false;
    }
    ls->ctx->flags = flags;
    return true;
}

bool qemu_loadvm_state(QEMUFile *f, LoadVMContext *ctx, Error **errp)
{
    LoadState ls = { .ctx = ctx, .f = f };
    bool ok;

    savevm_list_acquire();
    load_state = &ls;
    ok = loadvm_header(&ls, errp) && loadvm_config(&ls, errp) && loadvm_setup_all(&ls, errp);
    if (ok && (ctx->flags & MIG_FLAG_SWITCHOVER_ACK) && !ls.acks_pending) {
        ok = loadvm_send_ack(&ls, errp);
    }
    while (ok) {
        uint64_t pos = qemu_file_transferred(f);
        uint8_t type = qemu_get_byte(f);

        if (!qemu_file_check(f, errp)) {
            error_prepend(errp, "before the end marker: ");
            ok = false;
            break;
        }
        if (type == MIG_RECORD_EOF) {
            uint64_t expected = qemu_get_be64(f);

            if (!qemu_file_check(f, errp)) {
                ok = false;
            } else if (expected != pos) {
                error_setg(errp, "the end marker at offset %" PRIu64 " says %" PRIu64
                           " bytes came before it (the stream is corrupt)", pos, expected);
                ok = false;
            }
            break;
        }
        if (type < MIG_SECTION_START || type > MIG_SECTION_FULL) {
            error_setg(errp, "unknown record type 0x%02x at offset %" PRIu64
                       " (the stream is corrupt)", type, pos);
            ok = false;
            break;
        }
        ok = loadvm_section(&ls, type, errp);
    }
    ok = ok && loadvm_check_complete(&ls, errp) && loadvm_complete_all(&ls, errp);
    loadvm_cleanup_all(&ls);
    load_state = NULL;
    g_free(ls.devices);
    savevm_list_release();
    trace_loadvm_state_done(ok, qemu_file_transferred(f));
    return ok;
}
