/*
 * QEMUFile (migration/qemu-file.c): integers and buffers round trip over
 * memory and over a pipe, references are read at flush time, limits and
 * the end of the input fail cleanly with a message, shutdown unblocks a
 * reader, CRC-32 matches the IEEE check value.
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include "migration/qemu-file.h"

static void test_crc32_check_value(void)
{
    /* The CRC-32/ISO-HDLC check value of "123456789". */
    g_assert_cmphex(mig_crc32(0, "123456789", 9), ==, 0xcbf43926);
    /* Continuing a CRC equals computing it at once. */
    g_assert_cmphex(mig_crc32(mig_crc32(0, "12345", 5), "6789", 4), ==, 0xcbf43926);
    g_assert_cmphex(mig_crc32(0, "", 0), ==, 0);
}

static void test_memory_round_trip(void)
{
    QEMUFile *out = qemu_file_new_output_memory("test");
    static uint8_t page[4096];
    g_autofree uint8_t *data = NULL;
    QEMUFile *in;
    uint8_t back[4096];
    size_t len;

    memset(page, 0xab, sizeof(page));
    qemu_put_byte(out, 0x12);
    qemu_put_be16(out, 0x3456);
    qemu_put_be32(out, 0x789abcde);
    qemu_put_be64(out, 0x0123456789abcdefULL);
    qemu_put_buffer_async(out, page, sizeof(page));
    qemu_put_buffer(out, "tail", 4);
    g_assert_cmpuint(qemu_file_memory_size(out), ==, 1 + 2 + 4 + 8 + 4096 + 4);
    g_assert_cmpuint(qemu_file_transferred(out), ==, qemu_file_memory_size(out));

    /* A reference is read when the contents are taken, not when it was put. */
    page[0] = 0xcd;
    data = qemu_file_memory_dup(out, &len);
    g_assert_cmphex(qemu_file_memory_crc32(out), ==, mig_crc32(0, data, len));
    qemu_fclose(out);

    in = qemu_file_new_input_buffer(data, len, "test");
    g_assert_cmphex(qemu_get_byte(in), ==, 0x12);
    g_assert_cmphex(qemu_get_be16(in), ==, 0x3456);
    g_assert_cmphex(qemu_get_be32(in), ==, 0x789abcde);
    g_assert_cmphex(qemu_get_be64(in), ==, 0x0123456789abcdefULL);
    g_assert_true(qemu_get_buffer(in, back, sizeof(back)));
    g_assert_cmphex(back[0], ==, 0xcd);
    g_assert_cmphex(back[4095], ==, 0xab);
    g_assert_true(qemu_get_buffer(in, back, 4));
    g_assert_cmpmem(back, 4, "tail", 4);
    g_assert_cmpint(qemu_file_get_error(in), ==, 0);
    /* One byte more: the end of the input, with a message. */
    g_assert_cmphex(qemu_get_byte(in), ==, 0);
    g_assert_cmpint(qemu_file_get_error(in), ==, -ENODATA);
    g_assert_nonnull(strstr(qemu_file_error_message(in), "ends early"));
    qemu_fclose(in);
}

static void test_limit(void)
{
    static const uint8_t data[16] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    QEMUFile *in = qemu_file_new_input_buffer(data, sizeof(data), "test");
    Error *err = NULL;

    qemu_file_set_limit(in, 6, "the section");
    g_assert_cmphex(qemu_get_be32(in), ==, 0x01020304);
    g_assert_cmpuint(qemu_file_limit_remaining(in), ==, 2);
    /* Four more bytes would cross the limit: nothing is read, the file fails. */
    g_assert_cmphex(qemu_get_be32(in), ==, 0);
    g_assert_cmpint(qemu_file_get_error(in), ==, -EINVAL);
    g_assert_false(qemu_file_check(in, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "reads past the end of the section"));
    error_free(err);
    /* Errors are sticky: later reads fail too. */
    g_assert_false(qemu_file_skip(in, 1));
    qemu_fclose(in);
}

typedef struct ReaderCtx {
    QEMUFile *in;
    uint8_t *back;
    size_t len;
    uint32_t header;
    bool ok;
} ReaderCtx;

static gpointer reader_thread(gpointer opaque)
{
    ReaderCtx *c = opaque;

    c->header = qemu_get_be32(c->in);
    c->ok = qemu_get_buffer(c->in, c->back, c->len);
    return NULL;
}

static void test_socket_round_trip(void)
{
    const size_t size = 3 * MiB;
    g_autofree uint8_t *big = g_malloc(size);
    g_autofree uint8_t *back = g_malloc(size);
    ReaderCtx ctx = { .back = back, .len = size };
    QEMUFile *out;
    GThread *reader;
    int fds[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    for (size_t i = 0; i < size; i++) {
        big[i] = i * 7 + (i >> 12);
    }
    out = qemu_file_new_output(fds[0], "out");
    ctx.in = qemu_file_new_input(fds[1], "in");
    /* A reader thread, so the writer cannot fill the socket and block. */
    reader = g_thread_new("reader", reader_thread, &ctx);
    qemu_put_be32(out, 0xfeedface);
    /* Many small and large pieces: the buffer and the segment table both fill up. */
    for (size_t off = 0; off < size; off += 1000) {
        size_t n = MIN(1000, size - off);

        if ((off / 1000) % 3) {
            qemu_put_buffer_async(out, big + off, n);
        } else {
            qemu_put_buffer(out, big + off, n);
        }
    }
    g_assert_cmpint(qemu_fflush(out), ==, 0);
    g_thread_join(reader);
    g_assert_true(ctx.ok);
    g_assert_cmphex(ctx.header, ==, 0xfeedface);
    g_assert_cmpmem(back, size, big, size);
    g_assert_cmpuint(qemu_file_transferred(ctx.in), ==, 4 + size);
    qemu_fclose(out);
    qemu_fclose(ctx.in);
}

static gpointer blocked_reader(gpointer opaque)
{
    QEMUFile *in = opaque;

    qemu_get_be64(in);
    return NULL;
}

static void test_shutdown_unblocks_reader(void)
{
    int fds[2];
    QEMUFile *in;
    GThread *t;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    in = qemu_file_new_input(fds[1], "in");
    t = g_thread_new("blocked", blocked_reader, in);
    g_usleep(20 * 1000);
    qemu_file_shutdown(in);
    g_thread_join(t);
    /* Cancelled, not "the stream ends early": the message says what happened. */
    g_assert_cmpint(qemu_file_get_error(in), ==, -ECANCELED);
    g_assert_cmpstr(qemu_file_error_message(in), ==, "cancelled");
    qemu_fclose(in);
    close(fds[0]);
}

static void test_write_to_closed_peer_fails(void)
{
    int fds[2];
    QEMUFile *out;
    static uint8_t chunk[64 * 1024];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    close(fds[1]);
    signal(SIGPIPE, SIG_IGN);
    out = qemu_file_new_output(fds[0], "out");
    qemu_put_buffer(out, chunk, sizeof(chunk));
    g_assert_cmpint(qemu_fflush(out), ==, -EPIPE);
    g_assert_nonnull(strstr(qemu_file_error_message(out), "write failed"));
    /* Later puts are dropped, the error stays. */
    qemu_put_be32(out, 1);
    g_assert_cmpint(qemu_fflush(out), ==, -EPIPE);
    qemu_fclose(out);
}

static void test_memory_contents_spliced(void)
{
    QEMUFile *section = qemu_file_new_output_memory("section");
    QEMUFile *stream = qemu_file_new_output_memory("stream");
    static uint8_t ram[8192];
    g_autofree uint8_t *data = NULL;
    size_t len;

    memset(ram, 0x5a, sizeof(ram));
    qemu_put_be16(section, 0xaaaa);
    qemu_put_buffer_async(section, ram, sizeof(ram));
    qemu_put_byte(stream, 0x01);
    qemu_put_file_contents(stream, section);
    qemu_put_byte(stream, 0x7e);
    g_assert_cmpuint(qemu_file_memory_size(stream), ==, 1 + 2 + 8192 + 1);
    /* Spliced references still point at guest memory. */
    ram[100] = 0;
    data = qemu_file_memory_dup(stream, &len);
    g_assert_cmphex(data[3 + 100], ==, 0);
    g_assert_cmphex(data[len - 1], ==, 0x7e);
    qemu_file_memory_reset(section);
    g_assert_cmpuint(qemu_file_memory_size(section), ==, 0);
    qemu_fclose(section);
    qemu_fclose(stream);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/qemu-file/crc32-check-value", test_crc32_check_value);
    g_test_add_func("/migration/qemu-file/memory-round-trip", test_memory_round_trip);
    g_test_add_func("/migration/qemu-file/limit-fails-past-end", test_limit);
    g_test_add_func("/migration/qemu-file/socket-round-trip-large", test_socket_round_trip);
    g_test_add_func("/migration/qemu-file/shutdown-unblocks-reader",
                    test_shutdown_unblocks_reader);
    g_test_add_func("/migration/qemu-file/write-to-closed-peer-fails",
                    test_write_to_closed_peer_fails);
    g_test_add_func("/migration/qemu-file/memory-contents-spliced",
                    test_memory_contents_spliced);
    return g_test_run();
}
