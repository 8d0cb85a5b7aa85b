/*
 * Migration channels (migration/channel.h).
 */
#include "qemu/osdep.h"
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "migration/channel.h"
#include "trace/trace-migration.h"

void mig_address_clear(MigAddress *addr)
{
    g_clear_pointer(&addr->path, g_free);
    g_clear_pointer(&addr->host, g_free);
    g_clear_pointer(&addr->port, g_free);
    addr->fd = -1;
}

static bool mig_parse_fd(const char *s, int *fd)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > INT_MAX) {
        return false;
    }
    *fd = (int)v;
    return true;
}

bool mig_address_parse(const char *uri, MigAddress *addr, Error **errp)
{
    memset(addr, 0, sizeof(*addr));
    addr->fd = -1;
    if (g_str_has_prefix(uri, "unix:")) {
        addr->kind = MIG_ADDR_UNIX;
        addr->path = g_strdup(uri + 5);
        if (!*addr->path) {
            error_setg(errp, "migration URI '%s': the socket path is empty", uri);
            goto fail;
        }
        if (strlen(addr->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            error_setg(errp, "migration URI '%s': the socket path is too long", uri);
            goto fail;
        }
    } else if (g_str_has_prefix(uri, "tcp:")) {
        const char *hp = uri + 4, *colon;

        addr->kind = MIG_ADDR_TCP;
        if (*hp == '[') {
            const char *close = strchr(hp, ']');

            if (!close || close[1] != ':') {
                error_setg(errp, "migration URI '%s': expected tcp:[ADDRESS]:PORT", uri);
                goto fail;
            }
            addr->host = g_strndup(hp + 1, close - hp - 1);
            colon = close + 1;
        } else {
            colon = strrchr(hp, ':');
            if (!colon) {
                error_setg(errp, "migration URI '%s': expected tcp:HOST:PORT", uri);
                goto fail;
            }
            addr->host = g_strndup(hp, colon - hp);
        }
        addr->port = g_strdup(colon + 1);
        if (!*addr->port || strspn(addr->port, "0123456789") != strlen(addr->port) ||
            atoi(addr->port) > 65535) {
            error_setg(errp, "migration URI '%s': '%s' is not a port number", uri,
                       addr->port);
            goto fail;
        }
    } else if (g_str_has_prefix(uri, "fd:")) {
        addr->kind = MIG_ADDR_FD;
        if (!mig_parse_fd(uri + 3, &addr->fd)) {
            error_setg(errp, "migration URI '%s': file descriptor names need a monitor "
                       "with fd passing; give an inherited fd number", uri);
            goto fail;
        }
        if (fcntl(addr->fd, F_GETFD) < 0) {
            error_setg_errno(errp, errno, "migration URI '%s': fd %d", uri, addr->fd);
            goto fail;
        }
    } else if (g_str_has_prefix(uri, "file:")) {
        addr->kind = MIG_ADDR_FILE;
        addr->path = g_strdup(uri + 5);
        if (!*addr->path) {
            error_setg(errp, "migration URI '%s': the file name is empty", uri);
            goto fail;
        }
    } else {
        error_setg(errp, "unknown migration protocol in '%s' (use unix:, tcp:, fd: or file:)",
                   uri);
        goto fail;
    }
    return true;

fail:
    mig_address_clear(addr);
    return false;
}

char *mig_address_to_string(const MigAddress *addr)
{
    switch (addr->kind) {
    case MIG_ADDR_UNIX:
        return g_strdup_printf("unix:%s", addr->path);
    case MIG_ADDR_TCP:
        return strchr(addr->host, ':') ? g_strdup_printf("tcp:[%s]:%s", addr->host, addr->port)
                                       : g_strdup_printf("tcp:%s:%s", addr->host, addr->port);
    case MIG_ADDR_FD:
        return g_strdup_printf("fd:%d", addr->fd);
    case MIG_ADDR_FILE:
        return g_strdup_printf("file:%s", addr->path);
    }
    return g_strdup("?");
}

bool mig_channel_is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void mig_unix_sockaddr(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    g_strlcpy(sun->sun_path, path, sizeof(sun->sun_path));
}

static struct addrinfo *mig_tcp_resolve(const MigAddress *addr, bool passive, Error **errp)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE : 0,
    };
    struct addrinfo *res = NULL;
    int ret = getaddrinfo(*addr->host ? addr->host : NULL, addr->port, &hints, &res);

    if (ret) {
        error_setg(errp, "cannot resolve '%s' port %s: %s", addr->host, addr->port,
                   gai_strerror(ret));
        return NULL;
    }
    return res;
}

int mig_channel_connect(const MigAddress *addr, bool *bidirectional, Error **errp)
{
    int fd = -1;

    *bidirectional = false;
    switch (addr->kind) {
    case MIG_ADDR_UNIX: {
        struct sockaddr_un sun;

        mig_unix_sockaddr(addr->path, &sun);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error_setg_errno(errp, errno, "cannot create a socket");
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            error_setg_errno(errp, errno, "cannot connect to '%s'", addr->path);
            close(fd);
            return -1;
        }
        *bidirectional = true;
        break;
    }
    case MIG_ADDR_TCP: {
        struct addrinfo *res = mig_tcp_resolve(addr, false, errp), *ai;
        int err = 0;

        if (!res) {
            return -1;
        }
        for (ai = res; ai; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0) {
                err = errno;
                continue;
            }
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                break;
            }
            err = errno;
            close(fd);
            fd = -1;
        }
        freeaddrinfo(res);
        if (fd < 0) {
            error_setg_errno(errp, err, "cannot connect to %s:%s", addr->host, addr->port);
            return -1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        *bidirectional = true;
        break;
    }
    case MIG_ADDR_FD:
        fd = fcntl(addr->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            error_setg_errno(errp, errno, "cannot use fd %d", addr->fd);
            return -1;
        }
        /* The number was the user's: from now on the migration owns it. */
        close(addr->fd);
        *bidirectional = mig_channel_is_socket(fd);
        break;
    case MIG_ADDR_FILE:
        fd = open(addr->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            error_setg_errno(errp, errno, "cannot open '%s' for writing", addr->path);
            return -1;
        }
        break;
    }
    /* Blocking I/O in the migration thread, whatever the fd was. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    trace_migration_channel_connect(addr->kind, fd, *bidirectional);
    return fd;
}

static int mig_listen_unix(const MigAddress *addr, Error **errp)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot create a socket");
        return -1;
    }
    mig_unix_sockaddr(addr->path, &sun);
    /* A socket file left by an earlier run would make bind() fail. */
    unlink(addr->path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "cannot listen on '%s'", addr->path);
        close(fd);
        return -1;
    }
    return fd;
}

static int mig_listen_tcp(const MigAddress *addr, char **bound, Error **errp)
{
    struct addrinfo *res = mig_tcp_resolve(addr, true, errp), *ai;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    int fd = -1, err = 0;

    if (!res) {
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, err, "cannot listen on %s:%s", addr->host, addr->port);
        return -1;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        *bound = strchr(host, ':') ? g_strdup_printf("tcp:[%s]:%s", host, port)
                                   : g_strdup_printf("tcp:%s:%s", host, port);
    }
    return fd;
}

int mig_channel_listen(const MigAddress *addr, bool *is_listener, char **bound,
                       Error **errp)
{
    int fd = -1;

    *bound = NULL;
    *is_listener = false;
    switch (addr->kind) {
    case MIG_ADDR_UNIX:
        fd = mig_listen_unix(addr, errp);
        if (fd >= 0) {
            *bound = g_strdup_printf("unix:%s", addr->path);
        }
        *is_listener = true;
        break;
    case MIG_ADDR_TCP:
        fd = mig_listen_tcp(addr, bound, errp);
        *is_listener = true;
        break;
    case MIG_ADDR_FD:
        fd = fcntl(addr->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            error_setg_errno(errp, errno, "cannot use fd %d", addr->fd);
            return -1;
        }
        close(addr->fd);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        break;
    case MIG_ADDR_FILE:
        fd = open(addr->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            error_setg_errno(errp, errno, "cannot open '%s'", addr->path);
            return -1;
        }
        break;
    }
    if (fd >= 0) {
        trace_migration_channel_listen(addr->kind, fd, *is_listener);
    }
    return fd;
}

int mig_channel_accept(int listen_fd)
{
    int fd;

    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
        int one = 1;

        /* Harmless on Unix sockets (ENOTSUP), useful on TCP. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}
