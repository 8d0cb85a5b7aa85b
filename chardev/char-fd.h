/*
 * Input from a file descriptor into a chardev, with flow control: the fd is
 * watched only while the front end takes input; when it takes none, a short
 * timer asks again (or qemu_chr_fe_accept_input does).  Internal to chardev/.
 */
#ifndef CHARDEV_CHAR_FD_H
#define CHARDEV_CHAR_FD_H

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "chardev/char.h"

typedef struct CharFdReader {
    Chardev *chr;           /* the chardev input goes to */
    int fd;                 /* read from; -1 when none */
    bool watching;          /* an fd handler is installed */
    QEMUTimer *retry;       /* re-checks can_read after it said 0 */
    /* End of input or a read error: the backend closes the connection. */
    void (*eof)(Chardev *chr);
} CharFdReader;

void char_fd_reader_init(CharFdReader *r, Chardev *chr, void (*eof)(Chardev *chr));
/* Start reading @fd (-1: stop and forget the fd; the caller closes it). */
void char_fd_reader_set_fd(CharFdReader *r, int fd);
/* Watch or not according to whether the front end reads now. */
void char_fd_reader_update(CharFdReader *r);
void char_fd_reader_cleanup(CharFdReader *r);

/*
 * Write all of @buf to @fd (blocking with poll on EAGAIN, no SIGPIPE for
 * sockets).  Returns @len or -errno.
 */
int char_fd_write_all(int fd, const uint8_t *buf, int len, bool is_socket);

#endif /* CHARDEV_CHAR_FD_H */
