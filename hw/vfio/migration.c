/*
 * VFIO migration v2 for assigned devices (include/hw/vfio/vfio-migration.h).
 *
 * The device's own state is an opaque byte stream the kernel driver
 * produces on a data_fd while the device is in a saving state (PRE_COPY,
 * STOP_COPY) and consumes while it is RESUMING.  We carry it in the
 * device's migration sections (docs/migration-stream.md):
 *
 *   START   empty
 *   PART    records read during pre-copy (and extra rounds of stop-copy)
 *   END     the rest of the stop-copy data
 *   FULL    the bus device's config state (VFIODeviceOps.vfio_save_config)
 *
 * where a PART/END payload is a sequence of records: u8 0x01, u32 length,
 * that many data_fd bytes; or u8 0x02: the initial pre-copy data is
 * complete (switchover-ack).
 *
 * Device states follow the VM: VM change state handlers move the device
 * to STOP_COPY (pre-copy running, the VM stopping for the switchover) or
 * STOP, and to RUNNING when the VM runs; with several devices, a first
 * round takes every device to a P2P state before any of them stops or
 * starts (handlers at priorities +1 and -1 around the main one, since stop
 * runs handlers in decreasing and start in increasing priority).
 *
 * The dirty tracking mode the containers used is recorded at setup, for
 * query-migrate ("vfio": {"dirty-tracking": ...}).
 *
 * Threads: everything runs with the BQL except vfio_save_iterate, which
 * reads the data_fd from the migration thread; the VM change handlers may
 * end the session meanwhile (a `stop` during pre-copy), so the fd is read
 * and closed under @fd_lock.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "migration/migration.h"
#include "migration/register.h"
#include "qapi/qmp-registry.h"
#include "hw/pci/pci.h"
#include "hw/vfio/vfio-container-base.h"
#include "hw/vfio/vfio-listener.h"
#include "hw/vfio/vfio-migration.h"
#include "hw/vfio/vfio-pci.h"
#include "trace/trace-hw_vfio.h"

#include <sys/ioctl.h>
#include <json-glib/json-glib.h>

/* Record tags of the device data in a section */
#define VFIO_MIG_RECORD_DATA        0x01
#define VFIO_MIG_RECORD_INIT_SENT   0x02

/* data_fd bytes per iterate round (and read buffer size), as QEMU's 1 MiB */
#define VFIO_MIG_DATA_BUFFER_SIZE   (1 * MiB)
/* What we assume is left when the kernel cannot say (QEMU's 100 GiB) */
#define VFIO_MIG_STOP_COPY_SIZE_UNKNOWN (100 * GiB)

typedef struct VFIOMigration {
    VFIODevice *vbasedev;           /* the device (not owned) */
    char *idstr;                    /* section name "vfio-pci@BB:SS.F/vfio"; owned */
    char *compat;                   /* "vendor=0x....,device=0x...."; owned */
    Error *blocker;                 /* why it cannot migrate, or NULL; owned */
    bool registered;                /* the handler is registered */
    uint64_t mig_flags;             /* VFIO_MIGRATION_* */
    uint32_t device_state;          /* enum vfio_device_mig_state, as last set */
    int data_fd;                    /* the current session's fd, or -1; changed under
                                       @fd_lock (and the BQL) */
    GMutex fd_lock;                 /* iterate reads the data_fd without the BQL */
    uint8_t *data_buffer;           /* VFIO_MIG_DATA_BUFFER_SIZE bytes while saving */
    uint64_t precopy_init_size;     /* PRECOPY_INFO: initial bytes left */
    uint64_t precopy_dirty_size;    /* PRECOPY_INFO: dirty bytes */
    bool initial_data_sent;         /* the INIT_SENT record went out */
    bool dirty_read_due;            /* a dirty sync happened since dirty data was last read */
    bool initial_data_sent_once;    /* the first read of the session happened */
    bool switchover_ack;            /* the capability, as at setup */
    bool stop_copy_eof;             /* complete read the data_fd to its end */
    VMChangeStateEntry *vm_prepare_stop;    /* priority +1 */
    VMChangeStateEntry *vm_change;          /* priority 0 */
    VMChangeStateEntry *vm_prepare_start;   /* priority -1 */
    MigrationNotifier notifier;
    VFIODirtyTrackingMode tracking_mode;    /* what the container used at setup */
    /*
     * Parameter x-vfio-dma-logging=false: during the migration the device's
     * transport answers DMA logging requests with ENOTTY, so the container
     * tracks with the IOMMU.  @io_ops_nolog is that transport, @saved_io_ops
     * and @saved_dirty_pages_supported what to restore afterwards.
     */
    VFIODeviceIOOps io_ops_nolog;
    const VFIODeviceIOOps *saved_io_ops;
    bool saved_dirty_pages_supported;
    uint64_t bytes;                 /* data_fd bytes carried (either direction) */
} VFIOMigration;

/* VFIOMigration * of every realized device (migratable or blocked); BQL. */
static GList *vfio_migrations;
/* Whether the "vfio" query-migrate provider is registered. */
static bool vfio_info_registered;

static const char *vfio_mig_state_name(uint32_t state)
{
    switch (state) {
    case VFIO_DEVICE_STATE_ERROR:
        return "ERROR";
    case VFIO_DEVICE_STATE_STOP:
        return "STOP";
    case VFIO_DEVICE_STATE_RUNNING:
        return "RUNNING";
    case VFIO_DEVICE_STATE_STOP_COPY:
        return "STOP_COPY";
    case VFIO_DEVICE_STATE_RESUMING:
        return "RESUMING";
    case VFIO_DEVICE_STATE_RUNNING_P2P:
        return "RUNNING_P2P";
    case VFIO_DEVICE_STATE_PRE_COPY:
        return "PRE_COPY";
    case VFIO_DEVICE_STATE_PRE_COPY_P2P:
        return "PRE_COPY_P2P";
    }
    return "?";
}

static VFIOMigration *vfio_migration_find(const VFIODevice *vbasedev)
{
    for (GList *l = vfio_migrations; l; l = l->next) {
        VFIOMigration *m = l->data;

        if (m->vbasedev == vbasedev) {
            return m;
        }
    }
    return NULL;
}

bool vfio_migration_enabled(const VFIODevice *vbasedev)
{
    VFIOMigration *m = vfio_migration_find(vbasedev);

    return m && m->registered;
}

static bool vfio_state_is_precopy(uint32_t state)
{
    return state == VFIO_DEVICE_STATE_PRE_COPY || state == VFIO_DEVICE_STATE_PRE_COPY_P2P;
}

static bool vfio_state_is_saving(uint32_t state)
{
    return vfio_state_is_precopy(state) || state == VFIO_DEVICE_STATE_STOP_COPY;
}

static void vfio_migration_close_data_fd(VFIOMigration *m)
{
    g_mutex_lock(&m->fd_lock);
    if (m->data_fd >= 0) {
        close(m->data_fd);
        m->data_fd = -1;
    }
    g_mutex_unlock(&m->fd_lock);
}

/* ------------------------------------------------------------------------ */
/* Device features */

/* One feature ioctl with @payload_size bytes of payload in @buf. */
static int vfio_migration_feature(VFIODevice *vbasedev, uint32_t flags, void *payload,
                                  size_t payload_size)
{
    g_autofree uint64_t *buf = g_malloc0(ROUND_UP(sizeof(struct vfio_device_feature) +
                                                  payload_size, sizeof(uint64_t)));
    struct vfio_device_feature *feature = (struct vfio_device_feature *)buf;
    int ret;

    feature->argsz = sizeof(*feature) + payload_size;
    feature->flags = flags;
    memcpy(feature->data, payload, payload_size);
    ret = vbasedev->io_ops->device_feature(vbasedev, feature);
    memcpy(payload, feature->data, payload_size);
    return ret;
}

static int vfio_migration_query_flags(VFIODevice *vbasedev, uint64_t *flags)
{
    struct vfio_device_feature_migration mig = { 0 };
    int ret = vfio_migration_feature(vbasedev, VFIO_DEVICE_FEATURE_GET |
                                     VFIO_DEVICE_FEATURE_MIGRATION, &mig, sizeof(mig));

    *flags = mig.flags;
    return ret;
}

static int vfio_migration_stop_copy_size(VFIODevice *vbasedev, uint64_t *size)
{
    struct vfio_device_feature_mig_data_size ds = { 0 };
    int ret = vfio_migration_feature(vbasedev, VFIO_DEVICE_FEATURE_GET |
                                     VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds, sizeof(ds));

    if (!ret) {
        *size = ds.stop_copy_length;
    }
    return ret;
}

static void vfio_migration_query_precopy(VFIOMigration *m)
{
    struct vfio_precopy_info info = { .argsz = sizeof(info) };

    m->precopy_init_size = m->precopy_dirty_size = 0;
    if (m->data_fd < 0 || ioctl(m->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info)) {
        return;
    }
    m->precopy_init_size = info.initial_bytes;
    m->precopy_dirty_size = info.dirty_bytes;
    trace_vfio_migration_precopy_info(m->vbasedev->name, info.initial_bytes,
                                      info.dirty_bytes);
}

/* Reset as the last resort; the device is RUNNING (and stateless) after it. */
static void vfio_migration_reset(VFIOMigration *m)
{
    VFIODevice *vbasedev = m->vbasedev;
    int ret = vbasedev->io_ops->reset ? vbasedev->io_ops->reset(vbasedev) : -ENOTTY;

    vfio_migration_close_data_fd(m);
    if (ret) {
        error_report("vfio %s: the device is in an unusable migration state and cannot be "
                     "reset: %s", vbasedev->name, strerror(-ret));
        m->device_state = VFIO_DEVICE_STATE_ERROR;
    } else {
        warn_report("vfio %s: reset after a failed migration state change: its internal "
                    "state is lost", vbasedev->name);
        m->device_state = VFIO_DEVICE_STATE_RUNNING;
    }
    vbasedev->mig_state = m->device_state;
}

/*
 * Move the device to @new_state.  If the kernel refuses, try @recover
 * (ERROR: reset instead).  Returns 0 or the -errno of the first failure.
 * A new data_fd is kept in m->data_fd; one that a transition ended is
 * closed.
 */
static int vfio_migration_set_state(VFIOMigration *m, uint32_t new_state, uint32_t recover)
{
    VFIODevice *vbasedev = m->vbasedev;
    struct vfio_device_feature_mig_state st = { .device_state = new_state, .data_fd = -1 };
    uint32_t old_state = m->device_state;
    int ret;

    ret = vfio_migration_feature(vbasedev, VFIO_DEVICE_FEATURE_SET |
                                 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st, sizeof(st));
    trace_vfio_migration_set_state(vbasedev->name, vfio_mig_state_name(old_state),
                                   vfio_mig_state_name(new_state), ret);
    if (ret) {
        error_report("vfio %s: cannot change the migration state from %s to %s: %s",
                     vbasedev->name, vfio_mig_state_name(old_state),
                     vfio_mig_state_name(new_state), strerror(-ret));
        if (recover == VFIO_DEVICE_STATE_ERROR) {
            vfio_migration_reset(m);
            return ret;
        }
        st = (struct vfio_device_feature_mig_state) { .device_state = recover, .data_fd = -1 };
        if (vfio_migration_feature(vbasedev, VFIO_DEVICE_FEATURE_SET |
                                   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st, sizeof(st))) {
            vfio_migration_reset(m);
            return ret;
        }
        trace_vfio_migration_set_state(vbasedev->name, vfio_mig_state_name(old_state),
                                       vfio_mig_state_name(recover), 0);
        new_state = recover;
    }
    /* A session ends when the device leaves the saving states or RESUMING. */
    if ((vfio_state_is_saving(old_state) && !vfio_state_is_saving(new_state)) ||
        (old_state == VFIO_DEVICE_STATE_RESUMING && new_state != VFIO_DEVICE_STATE_RESUMING)) {
        vfio_migration_close_data_fd(m);
    }
    if (st.data_fd >= 0) {
        /* STOP -> STOP_COPY after pre-copy ended opens a new session. */
        vfio_migration_close_data_fd(m);
        g_mutex_lock(&m->fd_lock);
        m->data_fd = st.data_fd;
        g_mutex_unlock(&m->fd_lock);
    }
    m->device_state = new_state;
    vbasedev->mig_state = new_state;
    return ret;
}

/* Go to @new_state or, failing that, reset the device. */
static int vfio_migration_set_state_or_reset(VFIOMigration *m, uint32_t new_state)
{
    return vfio_migration_set_state(m, new_state, VFIO_DEVICE_STATE_ERROR);
}

/* ------------------------------------------------------------------------ */
/* Source */

/* Read up to the buffer's size from the data_fd: bytes, 0 at the end (or none for now). */
static ssize_t vfio_migration_read_data(VFIOMigration *m, bool *eof, Error **errp)
{
    size_t got = 0;

    *eof = false;
    while (got < VFIO_MIG_DATA_BUFFER_SIZE) {
        ssize_t n = read(m->data_fd, m->data_buffer + got, VFIO_MIG_DATA_BUFFER_SIZE - got);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ENOMSG) {
                /* Pre-copy: nothing more for now. */
                break;
            }
            error_setg_errno(errp, errno, "vfio %s: cannot read the device's migration data",
                             m->vbasedev->name);
            return -errno;
        }
        if (n == 0) {
            *eof = true;
            break;
        }
        /* A short read is no end: the device may have more. */
        got += n;
    }
    return got;
}

static void vfio_migration_put_data(VFIOMigration *m, QEMUFile *f, size_t len)
{
    qemu_put_byte(f, VFIO_MIG_RECORD_DATA);
    qemu_put_be32(f, len);
    qemu_put_buffer(f, m->data_buffer, len);
    m->bytes += len;
}

static bool vfio_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    VFIOMigration *m = opaque;
    VFIODevice *vbasedev = m->vbasedev;
    int ret;

    m->data_buffer = g_try_malloc(VFIO_MIG_DATA_BUFFER_SIZE);
    if (!m->data_buffer) {
        error_setg(errp, "vfio %s: no memory for the migration buffer", vbasedev->name);
        return false;
    }
    m->initial_data_sent = false;
    m->initial_data_sent_once = false;
    m->dirty_read_due = false;
    m->stop_copy_eof = false;
    m->switchover_ack = migrate_switchover_ack();
    m->bytes = 0;
    m->tracking_mode = vbasedev->bcontainer
                       ? vfio_container_dirty_tracking_mode(vbasedev->bcontainer)
                       : VFIO_DIRTY_TRACKING_NONE;
    if ((m->mig_flags & VFIO_MIGRATION_PRE_COPY) &&
        m->device_state == VFIO_DEVICE_STATE_RUNNING) {
        ret = vfio_migration_set_state(m, VFIO_DEVICE_STATE_PRE_COPY,
                                       VFIO_DEVICE_STATE_RUNNING);
        if (ret) {
            error_setg_errno(errp, -ret, "vfio %s: cannot start pre-copy", vbasedev->name);
            return false;
        }
        vfio_migration_query_precopy(m);
    }
    trace_vfio_save_setup(vbasedev->name, vfio_mig_state_name(m->device_state),
                          vfio_dirty_tracking_mode_name(m->tracking_mode));
    return true;
}

static int vfio_save_iterate(QEMUFile *f, void *opaque, Error **errp)
{
    VFIOMigration *m = opaque;
    ssize_t n;
    bool eof;

    /* No BQL here: a VM change handler may end the session meanwhile. */
    g_mutex_lock(&m->fd_lock);
    if (!vfio_state_is_precopy(m->device_state) || m->data_fd < 0) {
        g_mutex_unlock(&m->fd_lock);
        return 1;
    }
    /*
     * The initial data goes as fast as it can; what the device dirties
     * afterwards is read once per dirty sync (a RAM pass), not on every
     * round: a device that is always busy would otherwise fill the stream
     * with successive copies of its state.
     */
    if (!m->precopy_init_size && !m->dirty_read_due && m->initial_data_sent_once) {
        g_mutex_unlock(&m->fd_lock);
        return 1;
    }
    m->dirty_read_due = false;
    m->initial_data_sent_once = true;
    n = vfio_migration_read_data(m, &eof, errp);
    if (n > 0) {
        vfio_migration_put_data(m, f, n);
    }
    /* What is left, now that this much went. */
    if (n >= 0) {
        vfio_migration_query_precopy(m);
    }
    g_mutex_unlock(&m->fd_lock);
    if (n < 0) {
        return n;
    }
    if (m->switchover_ack && !m->precopy_init_size && !m->initial_data_sent) {
        qemu_put_byte(f, VFIO_MIG_RECORD_INIT_SENT);
        m->initial_data_sent = true;
    }
    trace_vfio_save_iterate(m->vbasedev->name, n, m->precopy_init_size,
                            m->precopy_dirty_size);
    return !n || (!m->precopy_init_size && !m->precopy_dirty_size);
}

static int vfio_save_complete(QEMUFile *f, void *opaque, Error **errp)
{
    VFIOMigration *m = opaque;
    ssize_t n;
    bool eof;
    int ret;

    if (m->device_state != VFIO_DEVICE_STATE_STOP_COPY) {
        /* The VM change handler usually did it; not when pre-copy was not used. */
        ret = vfio_migration_set_state(m, VFIO_DEVICE_STATE_STOP_COPY,
                                       VFIO_DEVICE_STATE_STOP);
        if (ret) {
            error_setg_errno(errp, -ret, "vfio %s: cannot enter STOP_COPY", m->vbasedev->name);
            return ret;
        }
    }
    if (m->data_fd < 0) {
        error_setg(errp, "vfio %s: STOP_COPY gave no data_fd", m->vbasedev->name);
        return -EBADF;
    }
    n = vfio_migration_read_data(m, &eof, errp);
    if (n < 0) {
        return n;
    }
    if (n) {
        vfio_migration_put_data(m, f, n);
    }
    trace_vfio_save_complete(m->vbasedev->name, n, eof);
    if (!eof && !n) {
        /* STOP_COPY data must end with EOF, not with ENOMSG. */
        error_setg(errp, "vfio %s: the stop-copy data has no end", m->vbasedev->name);
        return -EIO;
    }
    m->stop_copy_eof = eof;
    return eof ? 1 : 0;
}

static bool vfio_save_state(QEMUFile *f, void *opaque, Error **errp)
{
    VFIOMigration *m = opaque;
    VFIODevice *vbasedev = m->vbasedev;
    g_autoptr(GByteArray) blob = g_byte_array_new();

    if (vbasedev->ops && vbasedev->ops->vfio_save_config &&
        vbasedev->ops->vfio_save_config(vbasedev, blob, errp) < 0) {
        return false;
    }
    qemu_put_be32(f, blob->len);
    qemu_put_buffer(f, blob->data, blob->len);
    trace_vfio_save_config(vbasedev->name, blob->len);
    return true;
}

static void vfio_save_cleanup(void *opaque)
{
    VFIOMigration *m = opaque;

    /* After the downtime: STOP_COPY -> STOP does not make it longer. */
    if (m->device_state == VFIO_DEVICE_STATE_STOP_COPY) {
        vfio_migration_set_state_or_reset(m, VFIO_DEVICE_STATE_STOP);
    }
    vfio_migration_close_data_fd(m);
    g_clear_pointer(&m->data_buffer, g_free);
    m->precopy_init_size = m->precopy_dirty_size = 0;
    trace_vfio_save_cleanup(m->vbasedev->name, vfio_mig_state_name(m->device_state));
}

static void vfio_state_pending_estimate(void *opaque, uint64_t *pending)
{
    VFIOMigration *m = opaque;

    if (vfio_state_is_precopy(m->device_state)) {
        *pending += m->precopy_init_size + m->precopy_dirty_size;
    }
}

static void vfio_state_pending_exact(void *opaque, uint64_t *pending)
{
    VFIOMigration *m = opaque;
    uint64_t stop_copy = VFIO_MIG_STOP_COPY_SIZE_UNKNOWN;

    vfio_migration_stop_copy_size(m->vbasedev, &stop_copy);
    *pending += stop_copy;
    g_mutex_lock(&m->fd_lock);
    if (vfio_state_is_precopy(m->device_state)) {
        vfio_migration_query_precopy(m);
        *pending += m->precopy_init_size + m->precopy_dirty_size;
        /* A dirty sync: the next round may send what the device dirtied. */
        m->dirty_read_due = m->precopy_dirty_size > 0;
    }
    g_mutex_unlock(&m->fd_lock);
}

static bool vfio_switchover_ack_needed(void *opaque)
{
    return ((VFIOMigration *)opaque)->mig_flags & VFIO_MIGRATION_PRE_COPY;
}

static char *vfio_compat_string(void *opaque)
{
    return g_strdup(((VFIOMigration *)opaque)->compat);
}

/* ------------------------------------------------------------------------ */
/* Destination */

static bool vfio_load_setup(void *opaque, Error **errp)
{
    VFIOMigration *m = opaque;
    int ret = vfio_migration_set_state(m, VFIO_DEVICE_STATE_RESUMING, m->device_state);

    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: cannot enter RESUMING", m->vbasedev->name);
        return false;
    }
    if (m->data_fd < 0) {
        error_setg(errp, "vfio %s: RESUMING gave no data_fd", m->vbasedev->name);
        return false;
    }
    m->bytes = 0;
    return true;
}

/* Write all of @len bytes of @f to the data_fd. */
static bool vfio_load_data(VFIOMigration *m, QEMUFile *f, uint32_t len, Error **errp)
{
    g_autofree uint8_t *buf = g_try_malloc(MIN(len, VFIO_MIG_DATA_BUFFER_SIZE) + 1);

    if (!buf) {
        error_setg(errp, "vfio %s: no memory for %u bytes of device data", m->vbasedev->name,
                   len);
        return false;
    }
    while (len) {
        size_t chunk = MIN(len, VFIO_MIG_DATA_BUFFER_SIZE), done = 0;

        if (!qemu_get_buffer(f, buf, chunk)) {
            return false;
        }
        while (done < chunk) {
            ssize_t n = write(m->data_fd, buf + done, chunk - done);

            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                error_setg_errno(errp, n < 0 ? errno : EIO, "vfio %s: the device does not "
                                 "take its migration data", m->vbasedev->name);
                return false;
            }
            done += n;
        }
        m->bytes += chunk;
        len -= chunk;
    }
    return true;
}

static bool vfio_load_state(QEMUFile *f, void *opaque, int version_id, int section_type,
                            Error **errp)
{
    VFIOMigration *m = opaque;
    VFIODevice *vbasedev = m->vbasedev;

    if (section_type == MIG_SECTION_START) {
        return true;
    }
    if (section_type == MIG_SECTION_FULL) {
        uint32_t len = qemu_get_be32(f);
        g_autofree uint8_t *blob = NULL;

        if (qemu_file_get_error(f)) {
            return false;
        }
        if (len > qemu_file_limit_remaining(f)) {
            error_setg(errp, "config state of %u bytes in a section of %" PRIu64, len,
                       qemu_file_limit_remaining(f));
            return false;
        }
        blob = g_malloc(len ? len : 1);
        if (!qemu_get_buffer(f, blob, len)) {
            return false;
        }
        trace_vfio_load_config(vbasedev->name, len);
        if (vbasedev->ops && vbasedev->ops->vfio_load_config) {
            return vbasedev->ops->vfio_load_config(vbasedev, blob, len, errp) >= 0;
        }
        if (len) {
            error_setg(errp, "vfio %s: the source sent %u bytes of config state, but this "
                       "device cannot load any", vbasedev->name, len);
            return false;
        }
        return true;
    }
    while (qemu_file_limit_remaining(f)) {
        uint8_t tag = qemu_get_byte(f);
        uint32_t len;

        switch (tag) {
        case VFIO_MIG_RECORD_DATA:
            len = qemu_get_be32(f);
            if (qemu_file_get_error(f)) {
                return false;
            }
            trace_vfio_load_data(vbasedev->name, len);
            if (!vfio_load_data(m, f, len, errp)) {
                return false;
            }
            break;
        case VFIO_MIG_RECORD_INIT_SENT:
            if (!(m->mig_flags & VFIO_MIGRATION_PRE_COPY) ||
                qemu_loadvm_approve_switchover()) {
                error_setg(errp, "vfio %s: initial data flagged, but no switchover "
                           "approval was expected", vbasedev->name);
                return false;
            }
            break;
        default:
            if (!qemu_file_get_error(f)) {
                error_setg(errp, "vfio %s: unknown data record 0x%02x", vbasedev->name, tag);
            }
            return false;
        }
    }
    return true;
}

static bool vfio_load_complete(void *opaque, Error **errp)
{
    VFIOMigration *m = opaque;
    int ret;

    /* The device checks and applies the data here: a refusal fails the load. */
    ret = vfio_migration_set_state(m, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_ERROR);
    if (ret) {
        error_setg_errno(errp, -ret, "vfio %s: the device refused its migrated state (%"
                         PRIu64 " bytes)", m->vbasedev->name, m->bytes);
        return false;
    }
    trace_vfio_load_complete(m->vbasedev->name, m->bytes);
    return true;
}

static void vfio_load_cleanup(void *opaque)
{
    VFIOMigration *m = opaque;

    if (m->device_state == VFIO_DEVICE_STATE_RESUMING) {
        /* The load failed half way: leave RESUMING, the destination exits anyway. */
        vfio_migration_set_state_or_reset(m, VFIO_DEVICE_STATE_STOP);
    }
    vfio_migration_close_data_fd(m);
}

static const SaveVMHandlers vfio_handlers = {
    .save_setup = vfio_save_setup,
    .save_live_iterate = vfio_save_iterate,
    .save_live_complete = vfio_save_complete,
    .save_state = vfio_save_state,
    .save_cleanup = vfio_save_cleanup,
    .state_pending_estimate = vfio_state_pending_estimate,
    .state_pending_exact = vfio_state_pending_exact,
    .switchover_ack_needed = vfio_switchover_ack_needed,
    .compat_string = vfio_compat_string,
    .load_setup = vfio_load_setup,
    .load_state = vfio_load_state,
    .load_complete = vfio_load_complete,
    .load_cleanup = vfio_load_cleanup,
    .stats_class = "vfio",
};

/* ------------------------------------------------------------------------ */
/* Following the VM */

/* Devices that migrate now: with more than one, P2P states go first. */
static unsigned vfio_migration_count(void)
{
    unsigned n = 0;

    for (GList *l = vfio_migrations; l; l = l->next) {
        n += ((VFIOMigration *)l->data)->registered;
    }
    return n;
}

static bool vfio_migration_use_p2p(VFIOMigration *m)
{
    return (m->mig_flags & VFIO_MIGRATION_P2P) && vfio_migration_count() > 1;
}

static void vfio_vmstate_failed(VFIOMigration *m, int ret)
{
    Error *err = NULL;

    if (migration_is_running()) {
        error_setg_errno(&err, -ret, "vfio %s: the device could not follow the VM's run state",
                         m->vbasedev->name);
        migration_fail(err);
    }
}

/* Stopping (priority +1, before every main handler): to the P2P states. */
static void vfio_vmstate_prepare_stop(void *opaque, bool running, RunState state)
{
    VFIOMigration *m = opaque;
    uint32_t new_state;
    int ret;

    if (running || !vfio_migration_use_p2p(m) || m->device_state == VFIO_DEVICE_STATE_ERROR) {
        return;
    }
    new_state = vfio_state_is_precopy(m->device_state) ? VFIO_DEVICE_STATE_PRE_COPY_P2P
                                                        : VFIO_DEVICE_STATE_RUNNING_P2P;
    if (m->device_state == VFIO_DEVICE_STATE_STOP || m->device_state == new_state) {
        return;
    }
    ret = vfio_migration_set_state_or_reset(m, new_state);
    trace_vfio_vmstate_change(m->vbasedev->name, "prepare-stop", runstate_name(state),
                              vfio_mig_state_name(m->device_state));
    if (ret) {
        vfio_vmstate_failed(m, ret);
    }
}

/* Starting (priority -1, before every main handler): to RUNNING_P2P. */
static void vfio_vmstate_prepare_start(void *opaque, bool running, RunState state)
{
    VFIOMigration *m = opaque;
    int ret;

    if (!running || !vfio_migration_use_p2p(m) ||
        m->device_state == VFIO_DEVICE_STATE_RUNNING ||
        m->device_state == VFIO_DEVICE_STATE_ERROR) {
        return;
    }
    ret = vfio_migration_set_state_or_reset(m, VFIO_DEVICE_STATE_RUNNING_P2P);
    trace_vfio_vmstate_change(m->vbasedev->name, "prepare-start", runstate_name(state),
                              vfio_mig_state_name(m->device_state));
    if (ret) {
        vfio_vmstate_failed(m, ret);
    }
}

static void vfio_vmstate_change(void *opaque, bool running, RunState state)
{
    VFIOMigration *m = opaque;
    uint32_t new_state;
    int ret;

    if (running) {
        new_state = VFIO_DEVICE_STATE_RUNNING;
    } else {
        /* Pre-copy data is finished in STOP_COPY, when the VM stops to switch over. */
        new_state = vfio_state_is_precopy(m->device_state) &&
                    (state == RUN_STATE_FINISH_MIGRATE || state == RUN_STATE_PAUSED)
                    ? VFIO_DEVICE_STATE_STOP_COPY : VFIO_DEVICE_STATE_STOP;
    }
    if (m->device_state == new_state || m->device_state == VFIO_DEVICE_STATE_ERROR) {
        return;
    }
    /*
     * A refused STOP_COPY fails the migration, but the device can still
     * stop with its state intact; anything else refused needs a reset.
     */
    ret = new_state == VFIO_DEVICE_STATE_STOP_COPY
          ? vfio_migration_set_state(m, new_state, VFIO_DEVICE_STATE_STOP)
          : vfio_migration_set_state_or_reset(m, new_state);
    trace_vfio_vmstate_change(m->vbasedev->name, "main", runstate_name(state),
                              vfio_mig_state_name(m->device_state));
    if (ret) {
        vfio_vmstate_failed(m, ret);
    }
}

/* x-vfio-dma-logging=false: the device "cannot" log its DMA. */
static int vfio_device_feature_nolog(VFIODevice *vbasedev, struct vfio_device_feature *feature)
{
    VFIOMigration *m = vfio_migration_find(vbasedev);

    switch (feature->flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
        return -ENOTTY;
    }
    return m->saved_io_ops->device_feature(vbasedev, feature);
}

static void vfio_migration_dma_logging_off(VFIOMigration *m)
{
    VFIODevice *vbasedev = m->vbasedev;

    m->saved_io_ops = vbasedev->io_ops;
    m->saved_dirty_pages_supported = vbasedev->dirty_pages_supported;
    m->io_ops_nolog = *vbasedev->io_ops;
    m->io_ops_nolog.device_feature = vfio_device_feature_nolog;
    vbasedev->io_ops = &m->io_ops_nolog;
    vbasedev->dirty_pages_supported = false;
    trace_vfio_migration_dma_logging(vbasedev->name, false);
}

static void vfio_migration_dma_logging_restore(VFIOMigration *m)
{
    if (m->saved_io_ops) {
        m->vbasedev->io_ops = m->saved_io_ops;
        m->vbasedev->dirty_pages_supported = m->saved_dirty_pages_supported;
        m->saved_io_ops = NULL;
        trace_vfio_migration_dma_logging(m->vbasedev->name, true);
    }
}

/*
 * Migration events: at setup (before RAM starts dirty tracking) apply
 * x-vfio-dma-logging; at the end restore it; a failed or cancelled
 * migration also brings the device back to what the VM does.
 */
static void vfio_migration_notify(MigrationNotifier *n, MigrationEventType event)
{
    VFIOMigration *m = container_of(n, VFIOMigration, notifier);

    if (event == MIG_EVENT_SETUP) {
        if (!migrate_vfio_dma_logging()) {
            vfio_migration_dma_logging_off(m);
        }
        return;
    }
    /* Tracking stopped in the save cleanup that ran before this. */
    vfio_migration_dma_logging_restore(m);
    if (event != MIG_EVENT_FAILED) {
        return;
    }
    trace_vfio_migration_failed(m->vbasedev->name, vfio_mig_state_name(m->device_state));
    if (m->device_state == VFIO_DEVICE_STATE_ERROR) {
        vfio_migration_reset(m);
    } else if (runstate_is_running()) {
        /* Pre-copy ended early: the VM never stopped. */
        if (m->device_state != VFIO_DEVICE_STATE_RUNNING) {
            vfio_migration_set_state_or_reset(m, VFIO_DEVICE_STATE_RUNNING);
        }
    } else if (m->device_state != VFIO_DEVICE_STATE_STOP) {
        /* Stopped with the VM: vm_start() brings it back to RUNNING if the VM resumes. */
        vfio_migration_set_state_or_reset(m, VFIO_DEVICE_STATE_STOP);
    }
}

/* ------------------------------------------------------------------------ */
/* query-migrate */

static void vfio_migration_info(JsonObject *obj, void *opaque)
{
    const char *mode = NULL;
    unsigned n = 0;

    for (GList *l = vfio_migrations; l; l = l->next) {
        VFIOMigration *m = l->data;

        if (!m->registered) {
            continue;
        }
        n++;
        if (!mode && m->tracking_mode != VFIO_DIRTY_TRACKING_NONE) {
            mode = vfio_dirty_tracking_mode_name(m->tracking_mode);
        }
    }
    json_object_set_int_member(obj, "devices", n);
    if (mode) {
        json_object_set_string_member(obj, "dirty-tracking", mode);
    }
}

/*
 * x-query-vfio-migration: every realized device's migration set-up, for
 * tests and people: {"devices": [{"host": "0000:00:02.0", "section":
 * "vfio-pci@00:05.0/vfio", "migratable": true, "state": "RUNNING",
 * "flags": ["STOP_COPY", "P2P", "PRE_COPY"], "data-fd": false,
 * "blocker": "..." (when not migratable)}]}
 */
static bool qmp_x_query_vfio_migration(JsonObject *args, JsonNode **ret, Error **errp)
{
    static const char *const none[] = { NULL };
    JsonObject *reply;
    JsonArray *devs;

    if (!qmp_check_args(args, none, NULL, errp)) {
        return false;
    }
    reply = json_object_new();
    devs = json_array_new();
    for (GList *l = vfio_migrations; l; l = l->next) {
        VFIOMigration *m = l->data;
        JsonObject *o = json_object_new();
        JsonArray *flags = json_array_new();

        json_object_set_string_member(o, "host", m->vbasedev->name);
        json_object_set_string_member(o, "section", m->idstr);
        json_object_set_boolean_member(o, "migratable", m->registered);
        json_object_set_string_member(o, "state", vfio_mig_state_name(m->device_state));
        if (m->mig_flags & VFIO_MIGRATION_STOP_COPY) {
            json_array_add_string_element(flags, "STOP_COPY");
        }
        if (m->mig_flags & VFIO_MIGRATION_P2P) {
            json_array_add_string_element(flags, "P2P");
        }
        if (m->mig_flags & VFIO_MIGRATION_PRE_COPY) {
            json_array_add_string_element(flags, "PRE_COPY");
        }
        json_object_set_array_member(o, "flags", flags);
        json_object_set_boolean_member(o, "data-fd", m->data_fd >= 0);
        if (m->blocker) {
            json_object_set_string_member(o, "blocker", error_get_pretty(m->blocker));
        }
        json_array_add_object_element(devs, o);
    }
    json_object_set_array_member(reply, "devices", devs);
    *ret = json_node_init_object(json_node_alloc(), reply);
    json_object_unref(reply);
    return true;
}

static void __attribute__((constructor)) vfio_migration_qmp_register(void)
{
    qmp_register_command("x-query-vfio-migration", qmp_x_query_vfio_migration, 0);
}

/* ------------------------------------------------------------------------ */
/* Realize and exit */

/* Section name and compat string for a PCI device: its guest address and IDs. */
static void vfio_migration_names(VFIOMigration *m)
{
    VFIODevice *vbasedev = m->vbasedev;

    if (vbasedev->type == VFIO_DEVICE_FLAGS_PCI && vbasedev->opaque) {
        VFIOPCIDevice *vdev = vbasedev->opaque;
        PCIDevice *pdev = &vdev->pdev;

        m->idstr = g_strdup_printf("vfio-pci@%02x:%02x.%x/vfio", pci_bus_num(pci_get_bus(pdev)),
                                   PCI_SLOT(pdev->devfn), PCI_FUNC(pdev->devfn));
        m->compat = g_strdup_printf("vendor=0x%04x,device=0x%04x",
                                    pci_get_word(pdev->config + PCI_VENDOR_ID),
                                    pci_get_word(pdev->config + PCI_DEVICE_ID));
    } else {
        m->idstr = g_strdup_printf("%s/vfio", vbasedev->name);
        m->compat = g_strdup("");
    }
}

/* Block migration for @reason (taken); realize fails instead with enable-migration=on. */
static bool vfio_migration_block(VFIOMigration *m, OnOffAuto enable, Error *reason,
                                 Error **errp)
{
    if (enable == ON_OFF_AUTO_ON) {
        error_propagate(errp, reason);
        return false;
    }
    m->blocker = reason;
    if (!migrate_add_blocker(&m->blocker, errp)) {
        return false;
    }
    trace_vfio_migration_blocked(m->vbasedev->name, error_get_pretty(m->blocker));
    return true;
}

/* Every migratable device must do P2P when there are several. */
static bool vfio_migration_multi_ok(VFIOMigration *self, Error **errp)
{
    unsigned n = 0;
    bool all_p2p = true;

    for (GList *l = vfio_migrations; l; l = l->next) {
        VFIOMigration *m = l->data;

        if (m->registered || m == self) {
            n++;
            all_p2p &= !!(m->mig_flags & VFIO_MIGRATION_P2P);
        }
    }
    if (n > 1 && !all_p2p) {
        error_setg(errp, "vfio %s: migrating several VFIO devices needs P2P support in "
                   "all of them", self->vbasedev->name);
        return false;
    }
    return true;
}

bool vfio_migration_realize(VFIODevice *vbasedev, OnOffAuto enable_migration, Error **errp)
{
    VFIOMigration *m = g_new0(VFIOMigration, 1);
    Error *reason = NULL;
    uint64_t flags = 0;
    int ret;

    m->vbasedev = vbasedev;
    m->data_fd = -1;
    g_mutex_init(&m->fd_lock);
    m->device_state = VFIO_DEVICE_STATE_RUNNING;
    vfio_migration_names(m);
    vfio_migrations = g_list_append(vfio_migrations, m);
    if (!vfio_info_registered) {
        migration_register_info("vfio", vfio_migration_info, NULL);
        vfio_info_registered = true;
    }

    if (enable_migration == ON_OFF_AUTO_OFF) {
        error_setg(&reason, "vfio %s: migration is disabled for this device (enable-migration="
                   "off)", vbasedev->name);
        if (!vfio_migration_block(m, enable_migration, reason, errp)) {
            vfio_migration_exit(vbasedev);
            return false;
        }
        return true;
    }
    ret = vbasedev->io_ops && vbasedev->io_ops->device_feature
          ? vfio_migration_query_flags(vbasedev, &flags) : -ENOTTY;
    trace_vfio_migration_probe(vbasedev->name, ret, flags);
    if (ret || !(flags & VFIO_MIGRATION_STOP_COPY)) {
        if (ret == -ENOTTY) {
            error_setg(&reason, "vfio %s: the device does not support VFIO migration",
                       vbasedev->name);
        } else if (ret) {
            error_setg_errno(&reason, -ret, "vfio %s: cannot probe VFIO migration",
                             vbasedev->name);
        } else {
            error_setg(&reason, "vfio %s: the device's migration lacks STOP_COPY",
                       vbasedev->name);
        }
        if (!vfio_migration_block(m, enable_migration, reason, errp)) {
            vfio_migration_exit(vbasedev);
            return false;
        }
        return true;
    }
    m->mig_flags = flags;
    vbasedev->migration_supported = true;
    vbasedev->migration_flags = flags;
    vbasedev->mig_state = VFIO_DEVICE_STATE_RUNNING;
    if (!vfio_migration_multi_ok(m, &reason)) {
        if (!vfio_migration_block(m, enable_migration, reason, errp)) {
            vfio_migration_exit(vbasedev);
            return false;
        }
        return true;
    }
    if (!register_savevm_live(m->idstr, 0, 1, &vfio_handlers, m, errp)) {
        error_prepend(errp, "vfio %s: ", vbasedev->name);
        vfio_migration_exit(vbasedev);
        return false;
    }
    m->registered = true;
    m->vm_prepare_stop = qemu_add_vm_change_state_handler_prio(vfio_vmstate_prepare_stop, m, 1);
    m->vm_change = qemu_add_vm_change_state_handler_prio(vfio_vmstate_change, m, 0);
    m->vm_prepare_start = qemu_add_vm_change_state_handler_prio(vfio_vmstate_prepare_start,
                                                                m, -1);
    m->notifier.notify = vfio_migration_notify;
    migration_add_notifier(&m->notifier);
    trace_vfio_migration_realize(vbasedev->name, m->idstr, flags);
    return true;
}

void vfio_migration_exit(VFIODevice *vbasedev)
{
    VFIOMigration *m = vfio_migration_find(vbasedev);

    if (!m) {
        return;
    }
    trace_vfio_migration_exit(vbasedev->name, m->registered);
    if (m->registered) {
        vfio_migration_dma_logging_restore(m);
        migration_remove_notifier(&m->notifier);
        qemu_del_vm_change_state_handler(m->vm_prepare_stop);
        qemu_del_vm_change_state_handler(m->vm_change);
        qemu_del_vm_change_state_handler(m->vm_prepare_start);
        unregister_savevm(m->idstr, m);
    }
    migrate_del_blocker(&m->blocker);
    vfio_migration_close_data_fd(m);
    g_free(m->data_buffer);
    vfio_migrations = g_list_remove(vfio_migrations, m);
    g_free(m->idstr);
    g_free(m->compat);
    g_mutex_clear(&m->fd_lock);
    g_free(m);
    vbasedev->migration_supported = false;
}
