/*
 * QEMUFile: buffered migration streams over an fd or memory
 * (include/migration/qemu-file.h).
 *
 * An output is a list of segments: bytes copied into the file's own buffer
 * and references to the caller's memory.  An fd output turns the list into
 * one writev() when its buffer or its segment table fills up, or on flush;
 * a memory output keeps growing (a section is built in one, then spliced
 * into the stream with qemu_put_file_contents(), references and all, so
 * guest pages are never copied on the way to the socket).
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/uio.h>
#include "qemu/atomic.h"
#include "migration/qemu-file.h"
#include "trace/trace-migration.h"

/* Copied bytes an fd output buffers before it writes. */
#define QEMU_FILE_BUF_SIZE      (128 * KiB)
/* Segments an fd output collects before it writes (below IOV_MAX). */
#define QEMU_FILE_MAX_SEGS      512
/* Bytes an fd input reads ahead. */
#define QEMU_FILE_RBUF_SIZE     (128 * KiB)

/* A piece of output: copied (at @off in the file's buffer) or referenced. */
typedef struct QEMUFileSeg {
    const uint8_t *ptr;         /* referenced memory, NULL when copied */
    size_t off;                 /* copied: offset in QEMUFile.buf */
    size_t len;
} QEMUFileSeg;

struct QEMUFile {
    char *name;                 /* for messages; owned */
    int fd;                     /* owned; -1 for memory files */
    bool output;
    int shutdown;               /* qemu_file_shutdown() was called (atomic) */
    int error;                  /* first error (-errno), 0 if none */
    char *error_msg;            /* its message; owned */
    uint64_t pos;               /* bytes put or got so far */

    /* Output: copied bytes and the segment list */
    uint8_t *buf;
    size_t buf_len, buf_size;
    QEMUFileSeg *segs;
    size_t nr_segs, max_segs;

    /* Input from memory */
    const uint8_t *in_data;
    size_t in_len, in_pos;
    /* Input from an fd: read-ahead buffer */
    uint8_t *rbuf;
    size_t rbuf_pos, rbuf_len;
    /* Read limit: reads may not go past @limit_end (stream position) */
    bool has_limit;
    uint64_t limit_end;
    const char *limit_what;
};

/* ------------------------------------------------------------------------ */
/* CRC-32 */

static uint32_t crc32_table[8][256];

static void crc32_init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        crc32_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint32_t prev = crc32_table[t - 1][i];

            crc32_table[t][i] = crc32_table[0][prev & 0xff] ^ (prev >> 8);
        }
    }
}

/* Slicing by 8: the device state this protects may be megabytes. */
uint32_t mig_crc32(uint32_t crc, const void *buf, size_t len)
{
    static gsize initialized;
    const uint8_t *p = buf;

    if (g_once_init_enter(&initialized)) {
        crc32_init_table();
        g_once_init_leave(&initialized, 1);
    }
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo, hi;

        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo = GUINT32_FROM_LE(lo) ^ crc;
        hi = GUINT32_FROM_LE(hi);
        crc = crc32_table[7][lo & 0xff] ^ crc32_table[6][(lo >> 8) & 0xff] ^
              crc32_table[5][(lo >> 16) & 0xff] ^ crc32_table[4][lo >> 24] ^
              crc32_table[3][hi & 0xff] ^ crc32_table[2][(hi >> 8) & 0xff] ^
              crc32_table[1][(hi >> 16) & 0xff] ^ crc32_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) {
        crc = crc32_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

/* ------------------------------------------------------------------------ */
/* Life cycle */

static QEMUFile *qemu_file_new(int fd, bool output, const char *name)
{
    QEMUFile *f = g_new0(QEMUFile, 1);

    f->fd = fd;
    f->output = output;
    f->name = g_strdup(name ? name : "migration stream");
    return f;
}

QEMUFile *qemu_file_new_output(int fd, const char *name)
{
    QEMUFile *f = qemu_file_new(fd, true, name);

    f->buf_size = QEMU_FILE_BUF_SIZE;
    f->buf = g_malloc(f->buf_size);
    f->max_segs = QEMU_FILE_MAX_SEGS;
    f->segs = g_new(QEMUFileSeg, f->max_segs);
    return f;
}

QEMUFile *qemu_file_new_input(int fd, const char *name)
{
    QEMUFile *f = qemu_file_new(fd, false, name);

    f->rbuf = g_malloc(QEMU_FILE_RBUF_SIZE);
    return f;
}

QEMUFile *qemu_file_new_output_memory(const char *name)
{
    QEMUFile *f = qemu_file_new(-1, true, name);

    f->buf_size = 4 * KiB;
    f->buf = g_malloc(f->buf_size);
    f->max_segs = 16;
    f->segs = g_new(QEMUFileSeg, f->max_segs);
    return f;
}

QEMUFile *qemu_file_new_input_buffer(const void *data, size_t len, const char *name)
{
    QEMUFile *f = qemu_file_new(-1, false, name);

    f->in_data = data;
    f->in_len = len;
    return f;
}

void qemu_fclose(QEMUFile *f)
{
    if (!f) {
        return;
    }
    if (f->output && f->fd >= 0) {
        qemu_fflush(f);
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    g_free(f->name);
    g_free(f->error_msg);
    g_free(f->buf);
    g_free(f->segs);
    g_free(f->rbuf);
    g_free(f);
}

int qemu_file_fd(const QEMUFile *f)
{
    return f->fd;
}

const char *qemu_file_name(const QEMUFile *f)
{
    return f->name;
}

void qemu_file_shutdown(QEMUFile *f)
{
    qatomic_set(&f->shutdown, 1);
    if (f->fd >= 0) {
        /* Not a socket (a file, a pipe): nothing blocks for long there. */
        shutdown(f->fd, SHUT_RDWR);
    }
}

/* ------------------------------------------------------------------------ */
/* Errors */

int qemu_file_get_error(const QEMUFile *f)
{
    return f->error;
}

const char *qemu_file_error_message(const QEMUFile *f)
{
    return f->error_msg;
}

void qemu_file_set_error(QEMUFile *f, int err, const char *fmt, ...)
{
    va_list ap;

    if (f->error) {
        return;
    }
    f->error = err < 0 ? err : -EIO;
    va_start(ap, fmt);
    f->error_msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    trace_qemu_file_error(f->name, f->error, f->error_msg);
}

bool qemu_file_check(const QEMUFile *f, Error **errp)
{
    if (!f->error) {
        return true;
    }
    error_setg(errp, "%s: %s", f->name, f->error_msg);
    return false;
}

/* A shut down file fails every operation; true when it has failed. */
static bool qemu_file_failed(QEMUFile *f)
{
    if (!f->error && qatomic_read(&f->shutdown)) {
        qemu_file_set_error(f, -ECANCELED, "cancelled");
    }
    return f->error != 0;
}

/* ------------------------------------------------------------------------ */
/* Output */

static bool qemu_file_is_memory(const QEMUFile *f)
{
    return f->fd < 0;
}

/* Write every segment out with writev(), handling partial writes. */
static void qemu_file_write_segs(QEMUFile *f)
{
    struct iovec iov[QEMU_FILE_MAX_SEGS];
    size_t first = 0;

    while (first < f->nr_segs && !qemu_file_failed(f)) {
        size_t n = MIN(f->nr_segs - first, G_N_ELEMENTS(iov));
        ssize_t done;

        for (size_t i = 0; i < n; i++) {
            QEMUFileSeg *s = &f->segs[first + i];

            iov[i].iov_base = (void *)(s->ptr ? s->ptr : f->buf + s->off);
            iov[i].iov_len = s->len;
        }
        done = writev(f->fd, iov, n);
        if (done < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (qatomic_read(&f->shutdown)) {
                qemu_file_set_error(f, -ECANCELED, "cancelled");
            } else {
                qemu_file_set_error(f, -errno, "write failed: %s", strerror(errno));
            }
            break;
        }
        /* Drop what was written; a partial segment keeps its tail. */
        while (done > 0) {
            QEMUFileSeg *s = &f->segs[first];

            if ((size_t)done >= s->len) {
                done -= s->len;
                first++;
            } else {
                if (s->ptr) {
                    s->ptr += done;
                } else {
                    s->off += done;
                }
                s->len -= done;
                done = 0;
            }
        }
    }
    f->nr_segs = 0;
    f->buf_len = 0;
}

int qemu_fflush(QEMUFile *f)
{
    if (!f->output || qemu_file_is_memory(f)) {
        return f->error;
    }
    if (f->nr_segs && !qemu_file_failed(f)) {
        trace_qemu_file_flush(f->name, f->nr_segs, f->pos);
        qemu_file_write_segs(f);
    }
    f->nr_segs = 0;
    f->buf_len = 0;
    return f->error;
}

/* Room for one more segment (fd outputs flush, memory outputs grow). */
static void qemu_file_reserve_seg(QEMUFile *f)
{
    if (f->nr_segs < f->max_segs) {
        return;
    }
    if (qemu_file_is_memory(f)) {
        f->max_segs *= 2;
        f->segs = g_renew(QEMUFileSeg, f->segs, f->max_segs);
    } else {
        qemu_fflush(f);
    }
}

static void qemu_file_add_copy(QEMUFile *f, const void *data, size_t len)
{
    QEMUFileSeg *last;

    while (len) {
        size_t n;

        if (f->buf_len == f->buf_size) {
            if (qemu_file_is_memory(f)) {
                f->buf_size *= 2;
                f->buf = g_realloc(f->buf, f->buf_size);
            } else {
                qemu_fflush(f);
                if (f->error) {
                    return;
                }
            }
        }
        n = MIN(len, f->buf_size - f->buf_len);
        last = f->nr_segs ? &f->segs[f->nr_segs - 1] : NULL;
        if (!last || last->ptr || last->off + last->len != f->buf_len) {
            qemu_file_reserve_seg(f);
            if (f->error) {
                return;
            }
            last = &f->segs[f->nr_segs++];
            *last = (QEMUFileSeg) { .off = f->buf_len };
        }
        memcpy(f->buf + f->buf_len, data, n);
        f->buf_len += n;
        last->len += n;
        data = (const uint8_t *)data + n;
        len -= n;
    }
}

void qemu_put_buffer(QEMUFile *f, const void *buf, size_t len)
{
    assert(f->output);
    if (!len || qemu_file_failed(f)) {
        return;
    }
    qemu_file_add_copy(f, buf, len);
    f->pos += len;
}

void qemu_put_buffer_async(QEMUFile *f, const void *buf, size_t len)
{
    QEMUFileSeg *last;

    assert(f->output);
    if (!len || qemu_file_failed(f)) {
        return;
    }
    last = f->nr_segs ? &f->segs[f->nr_segs - 1] : NULL;
    if (last && last->ptr && last->ptr + last->len == (const uint8_t *)buf) {
        /* Contiguous guest pages: one segment. */
        last->len += len;
    } else {
        qemu_file_reserve_seg(f);
        if (f->error) {
            return;
        }
        f->segs[f->nr_segs++] = (QEMUFileSeg) { .ptr = buf, .len = len };
    }
    f->pos += len;
}

void qemu_put_file_contents(QEMUFile *f, const QEMUFile *src)
{
    assert(qemu_file_is_memory(src) && src->output);
    for (size_t i = 0; i < src->nr_segs; i++) {
        const QEMUFileSeg *s = &src->segs[i];

        if (s->ptr) {
            qemu_put_buffer_async(f, s->ptr, s->len);
        } else {
            qemu_put_buffer(f, src->buf + s->off, s->len);
        }
    }
}

void qemu_put_byte(QEMUFile *f, uint8_t v)
{
    qemu_put_buffer(f, &v, 1);
}

void qemu_put_be16(QEMUFile *f, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    qemu_put_buffer(f, &v, sizeof(v));
}

void qemu_put_be32(QEMUFile *f, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    qemu_put_buffer(f, &v, sizeof(v));
}

void qemu_put_be64(QEMUFile *f, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    qemu_put_buffer(f, &v, sizeof(v));
}

/* ------------------------------------------------------------------------ */
/* Memory outputs */

uint64_t qemu_file_memory_size(const QEMUFile *f)
{
    uint64_t n = 0;

    for (size_t i = 0; i < f->nr_segs; i++) {
        n += f->segs[i].len;
    }
    return n;
}

void qemu_file_memory_reset(QEMUFile *f)
{
    assert(qemu_file_is_memory(f) && f->output);
    f->nr_segs = 0;
    f->buf_len = 0;
    f->pos = 0;
    f->error = 0;
    g_clear_pointer(&f->error_msg, g_free);
}

uint8_t *qemu_file_memory_dup(const QEMUFile *f, size_t *len)
{
    size_t total = qemu_file_memory_size(f), pos = 0;
    uint8_t *out = g_malloc(total ? total : 1);

    for (size_t i = 0; i < f->nr_segs; i++) {
        const QEMUFileSeg *s = &f->segs[i];

        memcpy(out + pos, s->ptr ? s->ptr : f->buf + s->off, s->len);
        pos += s->len;
    }
    *len = total;
    return out;
}

uint32_t qemu_file_memory_crc32(const QEMUFile *f)
{
    uint32_t crc = 0;

    for (size_t i = 0; i < f->nr_segs; i++) {
        const QEMUFileSeg *s = &f->segs[i];

        crc = mig_crc32(crc, s->ptr ? s->ptr : f->buf + s->off, s->len);
    }
    return crc;
}

/* ------------------------------------------------------------------------ */
/* Input */

static void qemu_file_set_eof(QEMUFile *f)
{
    if (qemu_file_failed(f)) {
        /* Shut down: the end of the input is the cancellation's doing. */
        return;
    }
    qemu_file_set_error(f, -ENODATA, "the stream ends early (after %" PRIu64 " bytes)",
                        f->pos);
}

/* How many of @len bytes the limit allows; records the error when short. */
static size_t qemu_file_limit_check(QEMUFile *f, size_t len)
{
    if (f->has_limit && f->pos + len > f->limit_end) {
        qemu_file_set_error(f, -EINVAL, "reads past the end of %s (%" PRIu64 " bytes left, "
                            "%zu wanted)", f->limit_what, f->limit_end - f->pos, len);
        return 0;
    }
    return len;
}

/* read() into @buf until @len bytes or the end of the input; bytes read. */
static size_t qemu_file_read_fd(QEMUFile *f, uint8_t *buf, size_t len, size_t min)
{
    size_t got = 0;

    while (got < min) {
        ssize_t n = read(f->fd, buf + got, len - got);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (qatomic_read(&f->shutdown)) {
                qemu_file_set_error(f, -ECANCELED, "cancelled");
            } else {
                qemu_file_set_error(f, -errno, "read failed: %s", strerror(errno));
            }
            break;
        }
        if (n == 0) {
            break;
        }
        got += n;
    }
    return got;
}

bool qemu_get_buffer(QEMUFile *f, void *buf, size_t len)
{
    uint8_t *out = buf;

    assert(!f->output);
    if (qemu_file_failed(f)) {
        memset(buf, 0, len);
        return false;
    }
    if (qemu_file_limit_check(f, len) < len) {
        memset(buf, 0, len);
        return false;
    }
    if (f->fd < 0) {
        if (f->in_len - f->in_pos < len) {
            f->pos += f->in_len - f->in_pos;
            f->in_pos = f->in_len;
            memset(buf, 0, len);
            qemu_file_set_eof(f);
            return false;
        }
        memcpy(out, f->in_data + f->in_pos, len);
        f->in_pos += len;
        f->pos += len;
        return true;
    }
    while (len) {
        size_t avail = f->rbuf_len - f->rbuf_pos, n;

        if (avail) {
            n = MIN(avail, len);
            memcpy(out, f->rbuf + f->rbuf_pos, n);
            f->rbuf_pos += n;
        } else if (len >= QEMU_FILE_RBUF_SIZE / 2) {
            /* Large reads (guest pages) go straight to their destination. */
            n = qemu_file_read_fd(f, out, len, len);
            if (n < len) {
                f->pos += n;
                memset(out + n, 0, len - n);
                if (!f->error) {
                    qemu_file_set_eof(f);
                }
                return false;
            }
        } else {
            f->rbuf_pos = 0;
            f->rbuf_len = qemu_file_read_fd(f, f->rbuf, QEMU_FILE_RBUF_SIZE, 1);
            if (!f->rbuf_len) {
                memset(out, 0, len);
                if (!f->error) {
                    qemu_file_set_eof(f);
                }
                return false;
            }
            continue;
        }
        out += n;
        len -= n;
        f->pos += n;
    }
    return true;
}

bool qemu_file_skip(QEMUFile *f, size_t len)
{
    uint8_t scratch[4096];

    while (len) {
        size_t n = MIN(len, sizeof(scratch));

        if (!qemu_get_buffer(f, scratch, n)) {
            return false;
        }
        len -= n;
    }
    return true;
}

uint8_t qemu_get_byte(QEMUFile *f)
{
    uint8_t v;

    qemu_get_buffer(f, &v, 1);
    return v;
}

uint16_t qemu_get_be16(QEMUFile *f)
{
    uint16_t v;

    qemu_get_buffer(f, &v, sizeof(v));
    return GUINT16_FROM_BE(v);
}

uint32_t qemu_get_be32(QEMUFile *f)
{
    uint32_t v;

    qemu_get_buffer(f, &v, sizeof(v));
    return GUINT32_FROM_BE(v);
}

uint64_t qemu_get_be64(QEMUFile *f)
{
    uint64_t v;

    qemu_get_buffer(f, &v, sizeof(v));
    return GUINT64_FROM_BE(v);
}

void qemu_file_set_limit(QEMUFile *f, uint64_t len, const char *what)
{
    f->has_limit = true;
    f->limit_end = f->pos + len;
    f->limit_what = what;
}

uint64_t qemu_file_limit_remaining(const QEMUFile *f)
{
    return f->has_limit && f->limit_end > f->pos ? f->limit_end - f->pos : 0;
}

void qemu_file_clear_limit(QEMUFile *f)
{
    f->has_limit = false;
}

uint64_t qemu_file_transferred(const QEMUFile *f)
{
    return f->pos;
}
