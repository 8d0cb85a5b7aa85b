/*
 * The unix socket chardev: server (listen, one client at a time) or client
 * (connect once, no reconnect).
 */
#include "qemu/osdep.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qom/opts.h"
#include "char-fd.h"
#include "trace/trace-chardev.h"

typedef struct SocketChardev {
    char *path;             /* the socket's path; owned */
    char *abs_path;         /* absolute form, for the unlink at close (-daemonize chdirs); owned */
    bool is_server;         /* server=on */
    int listen_fd;          /* server: the listening socket, else -1 */
    int fd;                 /* the connected peer, or -1 */
    CharFdReader reader;    /* input from fd */
} SocketChardev;

static SocketChardev *sock_state(Chardev *chr)
{
    return chr->state;
}

static bool sock_make_addr(const char *path, struct sockaddr_un *addr, Error **errp)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(addr->sun_path, path);
    return true;
}

static void sock_listen_watch(Chardev *chr, bool on);

static void sock_connected(Chardev *chr, int fd)
{
    SocketChardev *s = sock_state(chr);

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    s->fd = fd;
    trace_char_socket_connected(chr->label, fd);
    char_fd_reader_set_fd(&s->reader, fd);
    qemu_chr_be_event(chr, CHR_EVENT_OPENED);
}

static void sock_disconnect(Chardev *chr)
{
    SocketChardev *s = sock_state(chr);

    if (s->fd < 0) {
        return;
    }
    trace_char_socket_disconnected(chr->label);
    char_fd_reader_set_fd(&s->reader, -1);
    close(s->fd);
    s->fd = -1;
    if (s->is_server) {
        sock_listen_watch(chr, true);
    }
    qemu_chr_be_event(chr, CHR_EVENT_CLOSED);
}

static void sock_accept(void *opaque)
{
    Chardev *chr = opaque;
    SocketChardev *s = sock_state(chr);
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return;     /* EAGAIN, or the client went away already */
    }
    sock_listen_watch(chr, false);
    sock_connected(chr, fd);
}

static void sock_listen_watch(Chardev *chr, bool on)
{
    SocketChardev *s = sock_state(chr);

    qemu_set_fd_handler(s->listen_fd, on ? sock_accept : NULL, NULL, chr);
}

static bool sock_open_server(Chardev *chr, bool wait, Error **errp)
{
    SocketChardev *s = sock_state(chr);
    struct sockaddr_un addr;
    int fd;

    if (!sock_make_addr(s->path, &addr, errp)) {
        return false;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return false;
    }
    unlink(s->path);    /* a stale socket from an earlier run */
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", s->path);
        close(fd);
        return false;
    }
    if (listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket %s", s->path);
        close(fd);
        unlink(s->path);
        return false;
    }
    s->listen_fd = fd;
    /* accept4 from the fd handler must not block if the client left already. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (wait) {
        int cfd;

        info_report("QEMU waiting for connection on: disconnected:unix:%s,server=on", s->path);
        do {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };

            poll(&pfd, 1, -1);
            cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        } while (cfd < 0 && (errno == EINTR || errno == EAGAIN));
        if (cfd < 0) {
            error_setg_errno(errp, errno, "Failed to accept a connection on %s", s->path);
            close(fd);
            unlink(s->path);
            s->listen_fd = -1;
            return false;
        }
        sock_connected(chr, cfd);
    } else {
        sock_listen_watch(chr, true);
    }
    return true;
}

static bool sock_open_client(Chardev *chr, Error **errp)
{
    SocketChardev *s = sock_state(chr);
    struct sockaddr_un addr;
    int fd, ret;

    if (!sock_make_addr(s->path, &addr, errp)) {
        return false;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return false;
    }
    do {
        ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", s->path);
        close(fd);
        return false;
    }
    sock_connected(chr, fd);
    return true;
}

static bool sock_open(Chardev *chr, void *opaque, Error **errp)
{
    QOpts *opts = opaque;
    const char *path = qopts_get(opts, "path");
    SocketChardev *s;
    bool server, wait;

    if (!path || !*path) {
        error_setg(errp, "chardev: socket: a unix socket path= is required "
                   "(TCP is not supported)");
        return false;
    }
    if (!qopts_get_bool(opts, "server", false, &server, errp) ||
        !qopts_get_bool(opts, "wait", true, &wait, errp)) {
        return false;
    }
    if (qopts_get(opts, "nowait")) {
        wait = false;   /* QEMU's old spelling "server,nowait" */
    }
    if (!server && qopts_has(opts, "wait")) {
        error_setg(errp, "'wait' option is incompatible with socket in client connect mode");
        return false;
    }
    s = g_new0(SocketChardev, 1);
    s->path = g_strdup(path);
    s->abs_path = g_canonicalize_filename(path, NULL);
    s->is_server = server;
    s->listen_fd = -1;
    s->fd = -1;
    chr->state = s;
    char_fd_reader_init(&s->reader, chr, sock_disconnect);
    if (!(server ? sock_open_server(chr, wait, errp) : sock_open_client(chr, errp))) {
        char_fd_reader_cleanup(&s->reader);
        g_free(s->path);
        g_free(s->abs_path);
        g_free(s);
        chr->state = NULL;
        return false;
    }
    return true;
}

static int sock_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketChardev *s = sock_state(chr);

    return char_fd_write_all(s->fd, buf, len, true);
}

static void sock_update_read_handler(Chardev *chr)
{
    char_fd_reader_update(&sock_state(chr)->reader);
}

static void sock_finalize(Chardev *chr)
{
    SocketChardev *s = sock_state(chr);

    char_fd_reader_cleanup(&s->reader);
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->listen_fd >= 0) {
        qemu_set_fd_handler(s->listen_fd, NULL, NULL, NULL);
        close(s->listen_fd);
        unlink(s->abs_path);
    }
    g_free(s->path);
    g_free(s->abs_path);
    g_free(s);
}

const ChardevClass char_socket_class = {
    .name = "socket",
    .open = sock_open,
    .write = sock_write,
    .update_read_handler = sock_update_read_handler,
    .disconnect = sock_disconnect,
    .finalize = sock_finalize,
};
