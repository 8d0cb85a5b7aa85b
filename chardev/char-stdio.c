/*
 * The stdio, file and null chardevs.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/opts.h"
#include "char-fd.h"

/* ------------------------------------------------------------------ */
/* stdio: input from stdin, output to stdout. */

typedef struct StdioChardev {
    CharFdReader reader;
} StdioChardev;

/* Only one stdio chardev may exist: they would share stdin. */
static bool stdio_in_use;

static void stdio_eof(Chardev *chr)
{
    StdioChardev *s = chr->state;

    char_fd_reader_set_fd(&s->reader, -1);
    qemu_chr_be_event(chr, CHR_EVENT_CLOSED);
}

static bool stdio_open(Chardev *chr, void *opaque, Error **errp)
{
    QOpts *opts = opaque;
    StdioChardev *s;

    qopts_get(opts, "signal");  /* QEMU's signal=on|off: accepted, no effect */
    if (stdio_in_use) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    stdio_in_use = true;
    s = g_new0(StdioChardev, 1);
    chr->state = s;
    char_fd_reader_init(&s->reader, chr, stdio_eof);
    char_fd_reader_set_fd(&s->reader, STDIN_FILENO);
    chr->be_open = true;
    return true;
}

static int stdio_write(Chardev *chr, const uint8_t *buf, int len)
{
    return char_fd_write_all(STDOUT_FILENO, buf, len, false);
}

static void stdio_update_read_handler(Chardev *chr)
{
    StdioChardev *s = chr->state;

    char_fd_reader_update(&s->reader);
}

static void stdio_finalize(Chardev *chr)
{
    StdioChardev *s = chr->state;

    char_fd_reader_cleanup(&s->reader);
    g_free(s);
    stdio_in_use = false;
}

const ChardevClass char_stdio_class = {
    .name = "stdio",
    .open = stdio_open,
    .write = stdio_write,
    .update_read_handler = stdio_update_read_handler,
    .finalize = stdio_finalize,
};

/* ------------------------------------------------------------------ */
/* file: output to a file (truncated), no input. */

static bool file_open(Chardev *chr, void *opaque, Error **errp)
{
    QOpts *opts = opaque;
    const char *path = qopts_get(opts, "path");
    int fd;

    if (!path || !*path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
        return false;
    }
    chr->state = GINT_TO_POINTER(fd + 1);
    chr->be_open = true;
    return true;
}

static int file_fd(Chardev *chr)
{
    return GPOINTER_TO_INT(chr->state) - 1;
}

static int file_write(Chardev *chr, const uint8_t *buf, int len)
{
    return char_fd_write_all(file_fd(chr), buf, len, false);
}

static void file_finalize(Chardev *chr)
{
    close(file_fd(chr));
}

const ChardevClass char_file_class = {
    .name = "file",
    .open = file_open,
    .write = file_write,
    .finalize = file_finalize,
};

/* ------------------------------------------------------------------ */
/* null */

static bool null_open(Chardev *chr, void *opaque, Error **errp)
{
    chr->be_open = true;
    return true;
}

static int null_write(Chardev *chr, const uint8_t *buf, int len)
{
    return len;
}

static void null_finalize(Chardev *chr)
{
}

const ChardevClass char_null_class = {
    .name = "null",
    .open = null_open,
    .write = null_write,
    .finalize = null_finalize,
};
