/*
 * The qtest accelerator and server: the contract between the command line
 * (system/vl.c) and the qtest implementation (system/qtest.c, accel/qtest/).
 *
 * vl.c parses -qtest CHARDEV_SPEC and -qtest-log FILE and calls
 * qtest_server_init() once the machine exists (before the main loop runs).
 * @chardev_spec uses chardev/char.h's short forms ("unix:PATH",
 * "unix:PATH,server=on,wait=off", "stdio"); @log_path is a file that gets
 * every command and reply ("/dev/null" or NULL: no log).
 */
#ifndef SYSEMU_QTEST_H
#define SYSEMU_QTEST_H

#include "qemu/osdep.h"

/* Implemented by the qtest server (system/qtest.c). */
void qtest_server_init(const char *chardev_spec, const char *log_path, Error **errp);

#endif /* SYSEMU_QTEST_H */
