/*
 * vfio-sim: VFIO_DEVICE_FEATURE and migration v2 (drivers/vfio/vfio_main.c's
 * state machine, and what a variant driver such as mlx5-vfio does under it).
 *
 * The FSM table is the kernel's: a request for any state is turned into a
 * walk of single arcs along the shortest path that has no saving state in
 * its interior, skipping states the device does not support.  Each arc is
 * one step of the device; a failing step leaves the device in the state the
 * walk had reached (or in ERROR, when fault injection says so), and the
 * ioctl fails.
 *
 * Data transfer sessions: entering PRE_COPY(_P2P) or STOP_COPY from STOP
 * opens a saving data_fd; entering RESUMING opens a resuming one.  The
 * stream is a sequence of records, each a complete snapshot of the device
 * state (a header with a magic and a length, then the model's bytes); the
 * resumer keeps the last complete record.  During pre-copy the stream has a
 * temporary end (read() fails with ENOMSG) until the device changes its
 * state again; STOP_COPY appends the final record and then reads return 0.
 * Leaving the saving group or RESUMING ends the session: the old fd then
 * fails reads and writes with ENODEV.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sim.h"
#include "uaccess.h"
#include "trace/trace-vfio_sim.h"

#include <stddef.h>

#define SIM_MIG_MAGIC 0x4d495356u   /* "VSIM" */

typedef struct SimMigRecord {
    uint32_t magic;
    uint32_t len;               /* payload bytes that follow */
} SimMigRecord;

struct SimMigFile {
    SimFile *file;
    SimDevice *dev;             /* NULL once the session ended */
    bool saving;                /* saving (read) or resuming (write) */
    GByteArray *buf;            /* the stream produced or received so far */
    size_t pos;                 /* read position in @buf */
    size_t initial_end;         /* end of the initial pre-copy record in @buf */
    bool final;                 /* STOP_COPY: the last record is in @buf */
};

static const uint8_t sim_fsm[VFIO_DEVICE_STATE_NR][VFIO_DEVICE_STATE_NR] = {
#define S(x) VFIO_DEVICE_STATE_##x
    [S(STOP)] = {
        [S(STOP)] = S(STOP), [S(RUNNING)] = S(RUNNING_P2P),
        [S(PRE_COPY)] = S(RUNNING_P2P), [S(PRE_COPY_P2P)] = S(RUNNING_P2P),
        [S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(RESUMING),
        [S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
    },
    [S(RUNNING)] = {
        [S(STOP)] = S(RUNNING_P2P), [S(RUNNING)] = S(RUNNING),
        [S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(RUNNING_P2P),
        [S(STOP_COPY)] = S(RUNNING_P2P), [S(RESUMING)] = S(RUNNING_P2P),
        [S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
    },
    [S(PRE_COPY)] = {
        [S(STOP)] = S(RUNNING), [S(RUNNING)] = S(RUNNING),
        [S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
        [S(STOP_COPY)] = S(PRE_COPY_P2P), [S(RESUMING)] = S(RUNNING),
        [S(RUNNING_P2P)] = S(RUNNING), [S(ERROR)] = S(ERROR),
    },
    [S(PRE_COPY_P2P)] = {
        [S(STOP)] = S(RUNNING_P2P), [S(RUNNING)] = S(RUNNING_P2P),
        [S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
        [S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(RUNNING_P2P),
        [S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
    },
    [S(STOP_COPY)] = {
        [S(STOP)] = S(STOP), [S(RUNNING)] = S(STOP),
        [S(PRE_COPY)] = S(ERROR), [S(PRE_COPY_P2P)] = S(ERROR),
        [S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(STOP),
        [S(RUNNING_P2P)] = S(STOP), [S(ERROR)] = S(ERROR),
    },
    [S(RESUMING)] = {
        [S(STOP)] = S(STOP), [S(RUNNING)] = S(STOP),
        [S(PRE_COPY)] = S(STOP), [S(PRE_COPY_P2P)] = S(STOP),
        [S(STOP_COPY)] = S(STOP), [S(RESUMING)] = S(RESUMING),
        [S(RUNNING_P2P)] = S(STOP), [S(ERROR)] = S(ERROR),
    },
    [S(RUNNING_P2P)] = {
        [S(STOP)] = S(STOP), [S(RUNNING)] = S(RUNNING),
        [S(PRE_COPY)] = S(RUNNING), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
        [S(STOP_COPY)] = S(STOP), [S(RESUMING)] = S(STOP),
        [S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
    },
    [S(ERROR)] = {
        [S(STOP)] = S(ERROR), [S(RUNNING)] = S(ERROR),
        [S(PRE_COPY)] = S(ERROR), [S(PRE_COPY_P2P)] = S(ERROR),
        [S(STOP_COPY)] = S(ERROR), [S(RESUMING)] = S(ERROR),
        [S(RUNNING_P2P)] = S(ERROR), [S(ERROR)] = S(ERROR),
    },
};

/* The migration flags a state needs (ERROR needs everything: never requestable). */
static const uint32_t sim_state_flags[VFIO_DEVICE_STATE_NR] = {
    [S(STOP)] = VFIO_MIGRATION_STOP_COPY,
    [S(RUNNING)] = VFIO_MIGRATION_STOP_COPY,
    [S(PRE_COPY)] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
    [S(PRE_COPY_P2P)] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
    [S(STOP_COPY)] = VFIO_MIGRATION_STOP_COPY,
    [S(RESUMING)] = VFIO_MIGRATION_STOP_COPY,
    [S(RUNNING_P2P)] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
    [S(ERROR)] = ~0u,
};

static const char *const sim_state_names[VFIO_DEVICE_STATE_NR] = {
    [S(ERROR)] = "ERROR", [S(STOP)] = "STOP", [S(RUNNING)] = "RUNNING",
    [S(STOP_COPY)] = "STOP_COPY", [S(RESUMING)] = "RESUMING",
    [S(RUNNING_P2P)] = "RUNNING_P2P", [S(PRE_COPY)] = "PRE_COPY",
    [S(PRE_COPY_P2P)] = "PRE_COPY_P2P",
};

static bool sim_state_supported(SimDevice *dev, uint32_t state)
{
    return state < VFIO_DEVICE_STATE_NR &&
           (sim_state_flags[state] & dev->mig_flags) == sim_state_flags[state];
}

/* vfio_mig_get_next_state(). */
static int sim_mig_next_state(SimDevice *dev, uint32_t cur, uint32_t target, uint32_t *next)
{
    if (!sim_state_supported(dev, cur) || !sim_state_supported(dev, target)) {
        return -EINVAL;
    }
    *next = sim_fsm[cur][target];
    while (!sim_state_supported(dev, *next) && *next != S(ERROR)) {
        *next = sim_fsm[*next][target];
    }
    return *next != S(ERROR) ? 0 : -EINVAL;
}

static bool sim_state_running(uint32_t s)
{
    return s == S(RUNNING) || s == S(PRE_COPY) || s == S(RUNNING_P2P) || s == S(PRE_COPY_P2P);
}

/* ---- data files ---- */

static SimMigFile *sim_mig_file_new(SimDevice *dev, bool saving)
{
    SimMigFile *mf = g_new0(SimMigFile, 1);

    mf->file = sim_file_new(SIM_FILE_MIG_DATA);
    mf->file->mig = mf;
    mf->dev = dev;
    mf->saving = saving;
    mf->buf = g_byte_array_new();
    return mf;
}

/* Append a complete record of the device's current state. */
static void sim_mig_append_record(SimMigFile *mf)
{
    g_autoptr(GByteArray) payload = g_byte_array_new();
    SimMigRecord hdr = { .magic = SIM_MIG_MAGIC };

    mf->dev->ops->save(mf->dev, payload);
    hdr.len = payload->len;
    g_byte_array_append(mf->buf, (const uint8_t *)&hdr, sizeof(hdr));
    g_byte_array_append(mf->buf, payload->data, payload->len);
}

/* End the session: the fd stays open but refuses I/O. */
static void sim_mig_file_disable(SimMigFile **slot)
{
    SimMigFile *mf = *slot;

    if (!mf) {
        return;
    }
    mf->dev = NULL;
    *slot = NULL;
    sim_file_unref(mf->file);       /* the device's reference */
}

void sim_mig_file_release(SimMigFile *mf)
{
    g_byte_array_free(mf->buf, true);
    g_free(mf);
}

ssize_t sim_mig_file_read(SimMigFile *mf, void *ubuf, size_t count)
{
    SimFaults *faults = &sim_world->cfg.faults;
    SimDevice *dev = mf->dev;
    size_t n;

    if (!mf->saving) {
        return -EINVAL;
    }
    if (!dev) {
        return -ENODEV;
    }
    if (mf->pos == mf->buf->len) {
        if (mf->final) {
            return 0;
        }
        /* Pre-copy: more data only when the device changed since. */
        if (dev->ops->dirty_bytes(dev)) {
            sim_mig_append_record(mf);
        } else {
            return -ENOMSG;
        }
    }
    n = MIN(count, mf->buf->len - mf->pos);
    faults->data_reads++;
    if (faults->data_short_read_at && faults->data_reads == faults->data_short_read_at &&
        n > 1) {
        trace_vfio_sim_fault("data-short-read", faults->data_reads);
        n /= 2;
    }
    if (sim_copy_to_user(ubuf, mf->buf->data + mf->pos, n) < 0) {
        return -EFAULT;
    }
    mf->pos += n;
    trace_vfio_sim_mig_data(dev->cfg.bdf, "read", n, mf->pos);
    return n;
}

ssize_t sim_mig_file_write(SimMigFile *mf, const void *ubuf, size_t count)
{
    size_t old;

    if (mf->saving) {
        return -EINVAL;
    }
    if (!mf->dev) {
        return -ENODEV;
    }
    if (mf->buf->len + count > 256 * MiB) {
        return -ENOMEM;
    }
    old = mf->buf->len;
    g_byte_array_set_size(mf->buf, old + count);
    if (sim_copy_from_user(mf->buf->data + old, ubuf, count) < 0) {
        g_byte_array_set_size(mf->buf, old);
        return -EFAULT;
    }
    trace_vfio_sim_mig_data(mf->dev->cfg.bdf, "write", count, mf->buf->len);
    return count;
}

long sim_mig_file_ioctl(SimMigFile *mf, unsigned long req, void *arg)
{
    struct vfio_precopy_info info;
    size_t minsz = offsetof(struct vfio_precopy_info, dirty_bytes) + sizeof(info.dirty_bytes);
    SimDevice *dev = mf->dev;

    /* A resuming fd has no ioctls at all. */
    if (req != VFIO_MIG_GET_PRECOPY_INFO || !mf->saving) {
        return -ENOTTY;
    }
    if (sim_copy_from_user(&info, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    /* Valid in the pre-copy states only; an ended session is in none. */
    if (!dev || (dev->mig_state != S(PRE_COPY) && dev->mig_state != S(PRE_COPY_P2P))) {
        return -EINVAL;
    }
    info.initial_bytes = mf->pos < mf->initial_end ? mf->initial_end - mf->pos : 0;
    info.dirty_bytes = (mf->buf->len - MAX(mf->pos, mf->initial_end)) +
                       dev->ops->dirty_bytes(dev);
    return sim_copy_to_user(arg, &info, minsz);
}

/* Parse a resumed stream; the last complete record wins. */
static int sim_mig_load(SimDevice *dev, GByteArray *buf)
{
    const SimMigRecord *last = NULL;
    size_t pos = 0;

    if (sim_world->cfg.faults.resume_corrupt) {
        trace_vfio_sim_fault("resume-corrupt", buf->len);
        return -EINVAL;
    }
    while (pos < buf->len) {
        SimMigRecord hdr;

        if (buf->len - pos < sizeof(hdr)) {
            return -EINVAL;
        }
        memcpy(&hdr, buf->data + pos, sizeof(hdr));
        if (hdr.magic != SIM_MIG_MAGIC || hdr.len > buf->len - pos - sizeof(hdr)) {
            return -EINVAL;
        }
        last = (const SimMigRecord *)(buf->data + pos);
        pos += sizeof(hdr) + hdr.len;
    }
    if (!last) {
        return -EINVAL;
    }
    return dev->ops->load(dev, (const uint8_t *)(last + 1), last->len);
}

/*
 * One arc of the FSM.  *@out receives a new data file for the arcs that
 * open a session.
 */
static int sim_mig_step(SimDevice *dev, uint32_t cur, uint32_t next, SimMigFile **out)
{
    SimFaults *faults = &sim_world->cfg.faults;
    int ret = 0;

    *out = NULL;
    if (faults->mig_fail_state && (int)next == faults->mig_fail_state) {
        trace_vfio_sim_fault("mig-fail-state", next);
        return -faults->mig_fail_errno;
    }
    if ((cur == S(RUNNING) && next == S(PRE_COPY)) ||
        (cur == S(RUNNING_P2P) && next == S(PRE_COPY_P2P))) {
        SimMigFile *mf = sim_mig_file_new(dev, true);

        sim_mig_append_record(mf);
        mf->initial_end = mf->buf->len;
        dev->saving = mf;
        sim_file_ref(mf->file);
        *out = mf;
    } else if (cur == S(STOP) && next == S(STOP_COPY)) {
        SimMigFile *mf = sim_mig_file_new(dev, true);

        sim_mig_append_record(mf);
        mf->final = true;
        dev->saving = mf;
        sim_file_ref(mf->file);
        *out = mf;
    } else if (cur == S(PRE_COPY_P2P) && next == S(STOP_COPY)) {
        /* Same session: the final record follows what pre-copy sent. */
        if (dev->saving) {
            sim_mig_append_record(dev->saving);
            dev->saving->final = true;
        }
    } else if (cur == S(STOP) && next == S(RESUMING)) {
        SimMigFile *mf = sim_mig_file_new(dev, false);

        dev->resuming = mf;
        sim_file_ref(mf->file);
        *out = mf;
    } else if (cur == S(RESUMING) && next == S(STOP)) {
        if (dev->resuming) {
            ret = sim_mig_load(dev, dev->resuming->buf);
            if (ret < 0) {
                return ret;
            }
        }
        sim_mig_file_disable(&dev->resuming);
    } else if ((cur == S(STOP_COPY) && next == S(STOP)) ||
               (cur == S(PRE_COPY) && next == S(RUNNING)) ||
               (cur == S(PRE_COPY_P2P) && next == S(RUNNING_P2P))) {
        sim_mig_file_disable(&dev->saving);
    }
    if (sim_state_running(cur) != sim_state_running(next) && dev->ops->set_running) {
        dev->ops->set_running(dev, sim_state_running(next));
    }
    return ret;
}

/* Install @mf as a new fd for the caller (vfio_ioct_mig_return_fd). */
static int sim_mig_install(SimMigFile *mf)
{
    int fd = sim_fd_new_backing(true);
    uint64_t one = 1;

    if (fd < 0) {
        return fd;
    }
    /*
     * poll() on a data_fd says readable (and writable) at once: a STOP_COPY
     * stream always is, and a pre-copy reader then sees ENOMSG rather than
     * sleeping forever.
     */
    if (sim_real.write(fd, &one, sizeof(one)) < 0) {
        sim_debug("data_fd %d: %s", fd, strerror(errno));
    }
    mf->file->backing_fd = fd;
    sim_fd_install(fd, mf->file);
    sim_file_unref(mf->file);   /* the fd holds it now, with the device */
    return fd;
}

long sim_mig_feature_state(SimDevice *dev, uint32_t flags, void *data, size_t size)
{
    struct vfio_device_feature_mig_state mig;
    size_t minsz = offsetof(struct vfio_device_feature_mig_state, data_fd) +
                   sizeof(mig.data_fd);
    SimMigFile *mf = NULL;
    uint32_t next;
    int ret;

    if (!dev->mig_flags) {
        return -ENOTTY;
    }
    ret = sim_check_feature(flags, size, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET,
                            sizeof(mig));
    if (ret != 1) {
        return ret;
    }
    if (sim_copy_from_user(&mig, data, minsz) < 0) {
        return -EFAULT;
    }
    if (flags & VFIO_DEVICE_FEATURE_GET) {
        mig.device_state = dev->mig_state;
        return sim_copy_to_user(data, &mig, minsz);
    }
    ret = 0;
    while (dev->mig_state != mig.device_state) {
        uint32_t cur = dev->mig_state;

        ret = sim_mig_next_state(dev, cur, mig.device_state, &next);
        if (ret) {
            break;
        }
        if (mf) {
            /* A session opened mid-way cannot be the answer: end it. */
            sim_file_unref(mf->file);
            mf = NULL;
        }
        ret = sim_mig_step(dev, cur, next, &mf);
        trace_vfio_sim_mig_step(dev->cfg.bdf, sim_state_names[cur], sim_state_names[next], ret);
        if (ret) {
            if (sim_world->cfg.faults.mig_fail_state &&
                sim_world->cfg.faults.mig_fail_to_error) {
                sim_mig_file_disable(&dev->saving);
                sim_mig_file_disable(&dev->resuming);
                if (dev->ops->set_running) {
                    dev->ops->set_running(dev, false);
                }
                dev->mig_state = S(ERROR);
            }
            break;
        }
        dev->mig_state = next;
    }
    mig.data_fd = -1;
    if (!ret && mf) {
        int fd = sim_mig_install(mf);

        mf = NULL;
        if (fd < 0) {
            return fd;
        }
        mig.data_fd = fd;
        if (sim_copy_to_user(data, &mig, minsz) < 0) {
            return -EFAULT;
        }
        return 0;
    }
    if (mf) {
        sim_file_unref(mf->file);
    }
    if (sim_copy_to_user(data, &mig, minsz) < 0) {
        return -EFAULT;
    }
    return ret;
}

long sim_mig_feature_migration(SimDevice *dev, uint32_t flags, void *data, size_t size)
{
    struct vfio_device_feature_migration mig = { 0 };
    int ret;

    if (!dev->mig_flags) {
        return -ENOTTY;
    }
    ret = sim_check_feature(flags, size, VFIO_DEVICE_FEATURE_GET, sizeof(mig));
    if (ret != 1) {
        return ret;
    }
    mig.flags = dev->mig_flags;
    return sim_copy_to_user(data, &mig, sizeof(mig));
}

long sim_mig_feature_data_size(SimDevice *dev, uint32_t flags, void *data, size_t size)
{
    struct vfio_device_feature_mig_data_size ds = { 0 };
    g_autoptr(GByteArray) payload = NULL;
    int ret;

    if (!dev->mig_flags) {
        return -ENOTTY;
    }
    ret = sim_check_feature(flags, size, VFIO_DEVICE_FEATURE_GET, sizeof(ds));
    if (ret != 1) {
        return ret;
    }
    payload = g_byte_array_new();
    dev->ops->save(dev, payload);
    ds.stop_copy_length = sizeof(SimMigRecord) + payload->len;
    return sim_copy_to_user(data, &ds, sizeof(ds));
}

/* Reset (and first open / last close): back to RUNNING, sessions ended. */
void sim_mig_device_reset(SimDevice *dev)
{
    sim_mig_file_disable(&dev->saving);
    sim_mig_file_disable(&dev->resuming);
    if (dev->mig_flags && dev->mig_state != S(RUNNING) && dev->ops->set_running) {
        dev->ops->set_running(dev, true);
    }
    dev->mig_state = S(RUNNING);
}

/* ---- VFIO_DEVICE_FEATURE ---- */

int sim_check_feature(uint32_t flags, size_t argsz, uint32_t supported, size_t minsz)
{
    if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported) {
        return -EINVAL;
    }
    if (flags & VFIO_DEVICE_FEATURE_PROBE) {
        return 0;
    }
    if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET))) {
        return -EINVAL;
    }
    if (argsz < minsz) {
        return -EINVAL;
    }
    return 1;
}

long sim_device_feature(SimDevice *dev, void *arg)
{
    struct vfio_device_feature feature;
    size_t minsz = offsetof(struct vfio_device_feature, flags) + sizeof(feature.flags);
    void *data = (char *)arg + minsz;
    size_t size;
    long ret;

    if (sim_copy_from_user(&feature, arg, minsz) < 0) {
        return -EFAULT;
    }
    if (feature.argsz < minsz) {
        return -EINVAL;
    }
    if (feature.flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
                          VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE)) {
        return -EINVAL;
    }
    if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) &&
        (feature.flags & VFIO_DEVICE_FEATURE_SET) && (feature.flags & VFIO_DEVICE_FEATURE_GET)) {
        return -EINVAL;
    }
    size = feature.argsz - minsz;
    switch (feature.flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_MIGRATION:
        ret = sim_mig_feature_migration(dev, feature.flags, data, size);
        break;
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
        ret = sim_mig_feature_state(dev, feature.flags, data, size);
        break;
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
        ret = sim_log_start(dev, feature.flags, data, size);
        break;
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
        ret = sim_log_stop(dev, feature.flags, data, size);
        break;
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
        ret = sim_log_report(dev, feature.flags, data, size);
        break;
    case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
        ret = sim_mig_feature_data_size(dev, feature.flags, data, size);
        break;
    case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
    case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
        /* Accepted; the sim has no power states to move between. */
        ret = sim_check_feature(feature.flags, size, VFIO_DEVICE_FEATURE_SET, 0);
        break;
    default:
        /* vfio-pci's own features (PCI_VF_TOKEN: not a PF) */
        ret = -ENOTTY;
        break;
    }
    trace_vfio_sim_device_feature(dev->cfg.bdf, feature.flags, ret);
    return ret;
}
#undef S
