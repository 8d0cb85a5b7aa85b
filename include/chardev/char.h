/*
 * Character devices: byte streams the monitor (QMP) and the qtest server
 * talk over.
 *
 * A Chardev is a backend (a unix socket, stdio, a file); a CharBackend is
 * the front end's handle on one: the front end (QMP, qtest) registers
 * handlers with qemu_chr_fe_set_handlers() and writes with
 * qemu_chr_fe_write_all().  Input is delivered from the main loop: the
 * backend asks can_read() how many bytes the front end takes now and
 * passes at most that many to read(); connection changes arrive as
 * event() calls (CHR_EVENT_OPENED when a peer connects or at once for an
 * always-open backend, CHR_EVENT_CLOSED when it hangs up).
 *
 * Backends (QEMU spelling):
 *   -chardev socket,id=ID,path=PATH[,server=on|off][,wait=on|off]
 *        server=on listens on PATH (unlinking a stale socket first) and
 *        accepts one client at a time; wait=on (the default for a server)
 *        blocks start-up until the first client connects.  server=off
 *        (the default) connects to PATH at creation; failure is an error.
 *        A disconnected client socket stays closed (no reconnect).
 *   -chardev stdio,id=ID       stdin/stdout
 *   -chardev file,id=ID,path=PATH    output to PATH (truncated); no input
 *   -chardev null,id=ID        discards output, never has input
 * and the short forms of -qmp/-qtest/-serial: "unix:PATH[,server=on,wait=off]",
 * "stdio", "file:PATH", "null".
 *
 * Threading: main loop thread only.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include "qemu/osdep.h"

typedef struct Chardev Chardev;
typedef struct ChardevClass ChardevClass;

typedef enum QEMUChrEvent {
    CHR_EVENT_BREAK,    /* serial break (unused by Aperture's backends) */
    CHR_EVENT_OPENED,   /* a peer connected / the backend is ready */
    CHR_EVENT_MUX_IN,   /* reserved (QEMU's mux) */
    CHR_EVENT_MUX_OUT,  /* reserved (QEMU's mux) */
    CHR_EVENT_CLOSED,   /* the peer went away */
} QEMUChrEvent;

/* How many bytes the front end takes now (0: none, ask again later). */
typedef int IOCanReadHandler(void *opaque);
/* @size (<= what can_read said) bytes of input. */
typedef void IOReadHandler(void *opaque, const uint8_t *buf, int size);
typedef void IOEventHandler(void *opaque, QEMUChrEvent event);
/* Unused; kept for QEMU's qemu_chr_fe_set_handlers signature. */
typedef int BackendChangeHandler(void *opaque);

/* A front end's connection to a Chardev.  Zero-initialise, then qemu_chr_fe_init. */
typedef struct CharBackend {
    Chardev *chr;                   /* the backend, or NULL */
    IOCanReadHandler *chr_can_read; /* see above; NULL: input is dropped */
    IOReadHandler *chr_read;
    IOEventHandler *chr_event;
    void *opaque;                   /* handlers' argument */
} CharBackend;

/* The backend operations.  Internal to chardev/; here for new backends. */
struct ChardevClass {
    const char *name;               /* "socket", "stdio", "file", "null" */
    /*
     * Set up @chr from the options (a QOpts *, qom/opts.h; consume what it
     * uses with qopts_get); may block (wait=on).  On failure, release what
     * it allocated: finalize is not called.
     */
    bool (*open)(Chardev *chr, void *opts, Error **errp);
    /* Write all @len bytes, blocking; returns @len or -errno (no peer: -ENOTCONN). */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    /* Start/stop delivering input (a front end attached or detached). */
    void (*update_read_handler)(Chardev *chr);
    /* Drop the current peer (socket server: listen again). */
    void (*disconnect)(Chardev *chr);
    /* Release everything. */
    void (*finalize)(Chardev *chr);
};

struct Chardev {
    char *label;                    /* the id; owned */
    char *filename;                 /* description for messages ("unix:/p,server=on"); owned */
    const ChardevClass *klass;
    CharBackend *be;                /* the front end, or NULL */
    bool be_open;                   /* a peer is connected (OPENED sent, CLOSED not yet) */
    void *state;                    /* backend private data */
};

/*
 * For backends: the front end's can_read (0 without a front end), input
 * delivery, and connection events (OPENED sets be_open, CLOSED clears it).
 */
int qemu_chr_be_can_write(Chardev *chr);
void qemu_chr_be_write(Chardev *chr, const uint8_t *buf, int len);
void qemu_chr_be_event(Chardev *chr, QEMUChrEvent event);
extern const ChardevClass char_socket_class;
extern const ChardevClass char_stdio_class;
extern const ChardevClass char_file_class;
extern const ChardevClass char_null_class;

/*
 * Create a chardev from -chardev options ("socket,id=c0,path=/tmp/s,server=on").
 * Fails for a missing or duplicate id, an unknown backend, a bad option or a
 * failed open/connect; the message is one line.
 */
Chardev *qemu_chr_new_from_opts(const char *optarg, Error **errp);
/*
 * Create a chardev called @label from a short form ("unix:PATH,...",
 * "stdio", "file:PATH", "null", or "chardev:ID" for an existing one).
 */
Chardev *qemu_chr_new(const char *label, const char *spec, Error **errp);
/* The chardev with id @id, or NULL. */
Chardev *qemu_chr_find(const char *id);
/* Close and free @chr (its front end must have let go). */
void qemu_chr_delete(Chardev *chr);
/* Delete every chardev (orderly exit). */
void qemu_chr_cleanup(void);

/* Attach @be to @s; fails if another front end has @s. */
bool qemu_chr_fe_init(CharBackend *be, Chardev *s, Error **errp);
/* Detach (and with @del, delete the backend too). */
void qemu_chr_fe_deinit(CharBackend *be, bool del);
/*
 * Install the handlers (all NULL: stop input).  @be_change and @context are
 * accepted for QEMU compatibility and must be NULL.  With @set_open, a
 * backend that is already open reports CHR_EVENT_OPENED right away (before
 * this returns, as QEMU does).
 */
void qemu_chr_fe_set_handlers(CharBackend *be, IOCanReadHandler *fd_can_read,
                              IOReadHandler *fd_read, IOEventHandler *fd_event,
                              BackendChangeHandler *be_change, void *opaque,
                              GMainContext *context, bool set_open);
/*
 * Write all of @buf, blocking until it is written or the peer is gone.
 * Returns @len, or -errno (-EPIPE / -ENOTCONN when there is no peer: the
 * data is dropped).
 */
int qemu_chr_fe_write_all(CharBackend *be, const uint8_t *buf, int len);
/* printf into qemu_chr_fe_write_all. */
void qemu_chr_fe_printf(CharBackend *be, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The front end can take input again after can_read returned 0. */
void qemu_chr_fe_accept_input(CharBackend *be);
/* Drop the peer (socket): the server listens for a new one. */
void qemu_chr_fe_disconnect(CharBackend *be);
/* @be is attached to a backend. */
bool qemu_chr_fe_backend_connected(CharBackend *be);
/* The backend, or NULL. */
Chardev *qemu_chr_fe_get_driver(CharBackend *be);

#endif /* CHARDEV_CHAR_H */
