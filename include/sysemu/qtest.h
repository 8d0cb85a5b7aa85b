/*
 * The qtest accelerator and server: the contract between the command line
 * (system/vl.c) and the qtest implementation (system/qtest.c, accel/qtest/).
 *
 * vl.c parses -qtest CHARDEV_SPEC and -qtest-log FILE and calls
 * qtest_server_init() once the machine exists (before the main loop runs).
 * @chardev_spec uses chardev/char.h's short forms ("unix:PATH",
 * "unix:PATH,server=on,wait=off", "stdio"); @log_path is a file that gets
 * every command and reply ("/dev/null" or "none": no log; NULL: stderr, as
 * QEMU does without -qtest-log).
 */
#ifndef SYSEMU_QTEST_H
#define SYSEMU_QTEST_H

#include "qemu/osdep.h"

/* Implemented by the qtest server (system/qtest.c). */
void qtest_server_init(const char *chardev_spec, const char *log_path, Error **errp);

/*
 * In-process server (fuzz targets): no chardev; replies and IRQ lines go to
 * @send(opaque, line) (NUL-terminated, newline included).  Call once.
 */
void qtest_server_inproc_init(void (*send)(void *opaque, const char *str), void *opaque);
/* Feed @len bytes of input; every complete line is executed at once. */
void qtest_server_inproc_recv(const char *buf, size_t len);
/* Forget partial input, interception state and reported levels (between fuzz runs). */
void qtest_server_inproc_reset(void);

/*
 * The qtest accelerator (accel/qtest/): no vCPUs; QEMU_CLOCK_VIRTUAL is put
 * in manual mode so that only clock_step/clock_set move guest time.  vl.c
 * calls it for -accel qtest before the machine is built.
 */
bool qtest_accel_init(Error **errp);
/* -accel qtest is in use (QEMU's qtest_enabled()): clock_step/clock_set work. */
bool qtest_enabled(void);

#endif /* SYSEMU_QTEST_H */
