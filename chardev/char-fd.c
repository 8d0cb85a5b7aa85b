/*
 * Flow-controlled fd input and blocking output for chardev backends.
 */
#include "qemu/osdep.h"
#include <poll.h>
#include <sys/socket.h>
#include "qemu/main-loop.h"
#include "char-fd.h"

/* How long to wait before asking a front end that took nothing again. */
#define CHAR_FD_RETRY_MS 1

static void char_fd_watch(CharFdReader *r, bool on);

static void char_fd_read(void *opaque)
{
    CharFdReader *r = opaque;
    uint8_t buf[4096];
    int n = qemu_chr_be_can_write(r->chr);
    ssize_t got;

    if (n <= 0) {
        char_fd_watch(r, false);
        timer_mod(r->retry, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + CHAR_FD_RETRY_MS);
        return;
    }
    got = read(r->fd, buf, MIN((size_t)n, sizeof(buf)));
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (got <= 0) {
        char_fd_watch(r, false);
        r->eof(r->chr);
        return;
    }
    qemu_chr_be_write(r->chr, buf, got);
}

static void char_fd_watch(CharFdReader *r, bool on)
{
    if (r->fd < 0) {
        on = false;
    }
    if (on == r->watching) {
        return;
    }
    qemu_set_fd_handler(r->fd, on ? char_fd_read : NULL, NULL, r);
    r->watching = on;
}

static void char_fd_retry(void *opaque)
{
    char_fd_reader_update(opaque);
}

void char_fd_reader_init(CharFdReader *r, Chardev *chr, void (*eof)(Chardev *chr))
{
    r->chr = chr;
    r->fd = -1;
    r->watching = false;
    r->eof = eof;
    r->retry = timer_new_ms(QEMU_CLOCK_REALTIME, char_fd_retry, r);
}

void char_fd_reader_update(CharFdReader *r)
{
    bool wants = r->fd >= 0 && r->chr->be && r->chr->be->chr_read;

    if (!wants) {
        timer_del(r->retry);
    }
    char_fd_watch(r, wants);
}

void char_fd_reader_set_fd(CharFdReader *r, int fd)
{
    char_fd_watch(r, false);
    timer_del(r->retry);
    r->fd = fd;
    char_fd_reader_update(r);
}

void char_fd_reader_cleanup(CharFdReader *r)
{
    char_fd_watch(r, false);
    timer_free(r->retry);
    r->retry = NULL;
    r->fd = -1;
}

int char_fd_write_all(int fd, const uint8_t *buf, int len, bool is_socket)
{
    int done = 0;

    if (fd < 0) {
        return -ENOTCONN;
    }
    while (done < len) {
        ssize_t n = is_socket ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                              : write(fd, buf + done, len - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };

                poll(&pfd, 1, -1);
                continue;
            }
            return -errno;
        }
        done += n;
    }
    return len;
}
