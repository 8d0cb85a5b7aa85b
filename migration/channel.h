/*
 * Migration channels: the URIs of migrate and -incoming, and the fds
 * behind them (migration/channel.c).
 *
 *   unix:PATH          a Unix stream socket (the destination listens)
 *   tcp:HOST:PORT      TCP; HOST may be [v6-address]; PORT 0 on the
 *                      destination picks a free port (query-migrate shows it)
 *   fd:N               an fd the process already has (inherited); N may
 *                      also be a name given with getfd, when a monitor
 *                      supports fd passing (Aperture's does not yet)
 *   file:PATH          a regular file: the source writes the stream, the
 *                      destination reads it (no return path)
 *
 * Every fd is close-on-exec and blocking: the migration and incoming
 * threads do blocking I/O, and cancellation is a shutdown(2).
 */
#ifndef MIGRATION_CHANNEL_H
#define MIGRATION_CHANNEL_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef enum MigAddressKind {
    MIG_ADDR_UNIX,
    MIG_ADDR_TCP,
    MIG_ADDR_FD,
    MIG_ADDR_FILE,
} MigAddressKind;

typedef struct MigAddress {
    MigAddressKind kind;
    char *path;                 /* unix, file; owned */
    char *host;                 /* tcp (without brackets); owned */
    char *port;                 /* tcp; owned */
    int fd;                     /* fd */
} MigAddress;

/* Parse @uri; a message naming the URI on failure. */
bool mig_address_parse(const char *uri, MigAddress *addr, Error **errp);
void mig_address_clear(MigAddress *addr);
/* The socket address as query-migrate's "socket-address" spells it (owned). */
char *mig_address_to_string(const MigAddress *addr);

/*
 * Source: an fd to write the stream to.  *@bidirectional says whether the
 * destination can answer on it (a socket): the return path.
 */
int mig_channel_connect(const MigAddress *addr, bool *bidirectional, Error **errp);

/*
 * Destination.  For unix and tcp: a listening socket (non-blocking, for
 * the main loop), with *@bound set to the address actually bound ("tcp:
 * 127.0.0.1:40123").  For fd and file: the fd to read the stream from
 * (*@bound NULL).  *@is_listener tells which.
 */
int mig_channel_listen(const MigAddress *addr, bool *is_listener, char **bound,
                       Error **errp);
/* Accept one connection on @listen_fd: a blocking fd, or -1 (errno set). */
int mig_channel_accept(int listen_fd);
/* Whether @fd is a socket (the return path is possible). */
bool mig_channel_is_socket(int fd);

#endif /* MIGRATION_CHANNEL_H */
