/*
 * QEMUFile: the byte stream a migration is written to and read from.
 *
 * A file is either an output or an input, over one of:
 *  - a file descriptor (a socket, a pipe, a regular file), used with
 *    blocking I/O by one thread at a time (the migration or incoming
 *    thread);
 *  - memory: an output that collects what is written (a section being
 *    built, unit tests) or an input over a caller's buffer (a section whose
 *    checksum was verified, the fuzz target).
 *
 * Integers are big endian ("network order") in every put/get.  Output is
 * buffered: small puts are copied, qemu_put_buffer_async() only references
 * the caller's memory (guest RAM) until the next flush, so pages go to the
 * socket with one writev() and no copy.
 *
 * Errors are sticky: the first failure (an I/O error, the end of the input,
 * a read past a limit) is kept with a message, later puts are dropped and
 * later gets return zeroes.  Callers check qemu_file_get_error() after a
 * group of calls instead of after each one.
 *
 * Threading: one thread uses a file at a time; qemu_file_shutdown() may be
 * called from any thread to make blocked I/O of an fd-backed file fail.
 */
#ifndef MIGRATION_QEMU_FILE_H
#define MIGRATION_QEMU_FILE_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct QEMUFile QEMUFile;

/*
 * Files over @fd (owned: closed by qemu_fclose).  @name is for messages
 * ("migration stream", "unix:/tmp/mig.sock").
 */
QEMUFile *qemu_file_new_output(int fd, const char *name);
QEMUFile *qemu_file_new_input(int fd, const char *name);
/* An output kept in memory; see qemu_file_memory_* below. */
QEMUFile *qemu_file_new_output_memory(const char *name);
/* An input over @len bytes at @data (borrowed: must outlive the file). */
QEMUFile *qemu_file_new_input_buffer(const void *data, size_t len, const char *name);
/* Flush (outputs), close the fd if any, free.  NULL is fine. */
void qemu_fclose(QEMUFile *f);

/* The fd, or -1 for memory files. */
int qemu_file_fd(const QEMUFile *f);
const char *qemu_file_name(const QEMUFile *f);
/*
 * Make the file fail from now on: shutdown(2) of a socket, so that a
 * thread blocked reading or writing it returns; the next operation of any
 * file fails with -ECANCELED.  Thread-safe; idempotent.
 */
void qemu_file_shutdown(QEMUFile *f);

/* ---- errors ---- */

/* 0, or the first error as -errno. */
int qemu_file_get_error(const QEMUFile *f);
/* The first error's message, or NULL. */
const char *qemu_file_error_message(const QEMUFile *f);
/* Record an error (ignored if one is recorded already). */
void qemu_file_set_error(QEMUFile *f, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* false with @errp set from the file's error (prefixed with the file's name) if any. */
bool qemu_file_check(const QEMUFile *f, Error **errp);

/* ---- output ---- */

void qemu_put_byte(QEMUFile *f, uint8_t v);
void qemu_put_be16(QEMUFile *f, uint16_t v);
void qemu_put_be32(QEMUFile *f, uint32_t v);
void qemu_put_be64(QEMUFile *f, uint64_t v);
/* Copy @len bytes. */
void qemu_put_buffer(QEMUFile *f, const void *buf, size_t len);
/*
 * Reference @len bytes at @buf: they are read at the next flush (or when
 * the reference table fills up), so @buf must stay mapped until then;
 * its contents may change meanwhile (guest RAM being dirtied again is
 * what dirty tracking is for).
 */
void qemu_put_buffer_async(QEMUFile *f, const void *buf, size_t len);
/*
 * Append everything written to the memory output @src (copied parts are
 * copied, references stay references until @f is flushed).
 */
void qemu_put_file_contents(QEMUFile *f, const QEMUFile *src);
/* Write out what is buffered; returns qemu_file_get_error(). */
int qemu_fflush(QEMUFile *f);

/* ---- input ---- */

uint8_t qemu_get_byte(QEMUFile *f);
uint16_t qemu_get_be16(QEMUFile *f);
uint32_t qemu_get_be32(QEMUFile *f);
uint64_t qemu_get_be64(QEMUFile *f);
/*
 * Read exactly @len bytes into @buf (large reads go straight from the fd
 * into @buf).  false, with the error recorded and @buf partly filled, at
 * the end of the input or of a limit.
 */
bool qemu_get_buffer(QEMUFile *f, void *buf, size_t len);
/* Read and drop @len bytes. */
bool qemu_file_skip(QEMUFile *f, size_t len);
/*
 * Limit reads to the next @len bytes: reading past them fails ("reads past
 * the end of ...", naming @what) as the end of the input does.  One limit
 * at a time.  qemu_file_limit_remaining() says what is left unread;
 * qemu_file_clear_limit() removes it.
 */
void qemu_file_set_limit(QEMUFile *f, uint64_t len, const char *what);
uint64_t qemu_file_limit_remaining(const QEMUFile *f);
void qemu_file_clear_limit(QEMUFile *f);

/* ---- accounting ---- */

/*
 * Bytes put (output, whether flushed or not) or got (input) since the file
 * was made: the position in the stream.
 */
uint64_t qemu_file_transferred(const QEMUFile *f);

/* ---- memory outputs ---- */

/* Bytes written to a memory output so far. */
uint64_t qemu_file_memory_size(const QEMUFile *f);
/* Forget what a memory output holds (errors too), keeping its storage. */
void qemu_file_memory_reset(QEMUFile *f);
/*
 * The contents of a memory output as one buffer (references are copied
 * in); g_free it.
 */
uint8_t *qemu_file_memory_dup(const QEMUFile *f, size_t *len);
/* CRC-32 (IEEE 802.3, as zlib's crc32) of the contents of a memory output. */
uint32_t qemu_file_memory_crc32(const QEMUFile *f);

/* CRC-32 (IEEE) of @len bytes, continuing from @crc (0 to start). */
uint32_t mig_crc32(uint32_t crc, const void *buf, size_t len);

#endif /* MIGRATION_QEMU_FILE_H */
