/*
 * libqtest: drive an Aperture (or QEMU) process through the qtest protocol.
 *
 * A test starts the binary with qtest_init(), which listens on two unix
 * sockets in a private temporary directory and lets the binary connect to
 * them (as QEMU's libqtest does):
 *
 *     -qtest unix:DIR/qtest.sock -qtest-log LOG
 *     -chardev socket,path=DIR/qmp.sock,id=char0 -mon chardev=char0,mode=control
 *     -display none EXTRA_ARGS -accel qtest
 *
 * then reads the QMP greeting and negotiates capabilities.  The protocol
 * helpers send one command line each and parse the reply; asynchronous
 * "IRQ raise N" / "IRQ lower N" lines are consumed on the way and recorded
 * (qtest_get_irq).  A reply that is not "OK ..." fails the test with the line
 * received; so does a process that dies or stops answering.
 *
 * Environment:
 *   QTEST_APERTURE_BINARY  the program to start (default: the aperture binary
 *                          of the build tree this library was built in)
 *   QTEST_LOG              if set, -qtest-log /dev/fd/2 (traffic on stderr)
 *   QTEST_TRACE            if set, passed as -trace VALUE
 *   QTEST_TIMEOUT          seconds to wait for a connection or a reply
 *                          (default 120)
 *
 * The library needs only libc, GLib and json-glib, so the same tests can run
 * against a binary built elsewhere.  Each QTestState belongs to one thread.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef APERTURE_TESTS_LIBQTEST_H
#define APERTURE_TESTS_LIBQTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct QTestState QTestState;

/* Number of interrupt lines whose level the client tracks. */
#define QTEST_MAX_IRQ 256

/* ------------------------------------------------------------------------ */
/* Starting and stopping */

/* The binary qtest_init() starts (QTEST_APERTURE_BINARY or the default). */
const char *qtest_binary(void);

/*
 * Start the binary with @extra_args (split like a shell command line, with
 * quotes; may be NULL) and complete the QMP handshake.
 */
QTestState *qtest_init(const char *extra_args);
QTestState *qtest_initf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * qtest_initf with the NULL-terminated @env ("NAME=VALUE" sets, "NAME"
 * unsets) in the child's environment only (NULL: none).
 */
QTestState *qtest_initf_env(const char *const *env, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* As qtest_init, leaving the QMP greeting unread and capabilities unnegotiated. */
QTestState *qtest_init_without_qmp_handshake(const char *extra_args);
/*
 * Start the binary with "-qtest stdio" (its stdin/stdout become the qtest
 * channel) and no monitor; qtest_qmp* must not be used on the result.
 */
QTestState *qtest_init_stdio(const char *extra_args);

/*
 * Stop the process (SIGTERM, then SIGKILL after a grace period), reap it and
 * free @s.  Fails the test if it exited with a status other than the
 * expected one (0 unless changed) or died from a signal other than the
 * SIGTERM sent here.  NULL is ignored.
 */
void qtest_quit(QTestState *s);
/* Exit status qtest_quit() and qtest_wait_exit() accept (default 0). */
void qtest_set_expected_status(QTestState *s, int status);
/* Whether the process is still running (reaps it if it is not). */
bool qtest_probe_child(QTestState *s);
/*
 * Wait up to QTEST_TIMEOUT for the process to exit by itself (after QMP
 * "quit", say) and return its wait status; the state can then only be
 * passed to qtest_quit().
 */
int qtest_wait_exit(QTestState *s);
/* Process id of the binary, or -1 once reaped. */
int qtest_pid(QTestState *s);

/*
 * Run the binary with @args (shell-style) to completion, without qtest or
 * QMP: for start-up failures.  Returns the wait status; *@out and *@err
 * (if non-NULL) get its stdout and stderr (caller frees).
 */
int qtest_run_binary(const char *args, char **out, char **err);

/* ------------------------------------------------------------------------ */
/* Raw protocol access (for tests of the protocol itself) */

/* Send @fmt as is (the caller adds the newline). */
void qtest_sendf(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Send raw bytes. */
void qtest_send_raw(QTestState *s, const void *buf, size_t len);
/*
 * The next reply line without its newline, after consuming (and recording)
 * any IRQ lines before it.  Caller frees.
 */
char *qtest_recv_line(QTestState *s);
/* The next line whatever it is, IRQ lines included (still recorded); caller frees. */
char *qtest_recv_line_raw(QTestState *s);
/* Send one line (the newline is added) and return the reply line; caller frees. */
char *qtest_cmd(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ------------------------------------------------------------------------ */
/* Memory and I/O ports */

uint8_t qtest_inb(QTestState *s, uint16_t addr);
uint16_t qtest_inw(QTestState *s, uint16_t addr);
uint32_t qtest_inl(QTestState *s, uint16_t addr);
void qtest_outb(QTestState *s, uint16_t addr, uint8_t value);
void qtest_outw(QTestState *s, uint16_t addr, uint16_t value);
void qtest_outl(QTestState *s, uint16_t addr, uint32_t value);

uint8_t qtest_readb(QTestState *s, uint64_t addr);
uint16_t qtest_readw(QTestState *s, uint64_t addr);
uint32_t qtest_readl(QTestState *s, uint64_t addr);
uint64_t qtest_readq(QTestState *s, uint64_t addr);
void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value);
void qtest_writew(QTestState *s, uint64_t addr, uint16_t value);
void qtest_writel(QTestState *s, uint64_t addr, uint32_t value);
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value);

/* Copy guest memory with "read"/"write" (hex); size 0 does nothing. */
void qtest_memread(QTestState *s, uint64_t addr, void *data, size_t size);
void qtest_memwrite(QTestState *s, uint64_t addr, const void *data, size_t size);
/* The same with "b64read"/"b64write" (base64). */
void qtest_bufread(QTestState *s, uint64_t addr, void *data, size_t size);
void qtest_bufwrite(QTestState *s, uint64_t addr, const void *data, size_t size);
/* Fill [addr, addr + size) with @pattern. */
void qtest_memset(QTestState *s, uint64_t addr, uint8_t pattern, size_t size);

/* Target byte order reported by "endianness". */
bool qtest_big_endian(QTestState *s);

/* ------------------------------------------------------------------------ */
/* Virtual clock */

/* Advance QEMU_CLOCK_VIRTUAL by @step_ns; returns the new clock in ns. */
int64_t qtest_clock_step(QTestState *s, int64_t step_ns);
/* Advance it to the next timer deadline; returns the new clock. */
int64_t qtest_clock_step_next(QTestState *s);
/* Advance it to @ns; returns the new clock. */
int64_t qtest_clock_set(QTestState *s, int64_t ns);

/* ------------------------------------------------------------------------ */
/* Interrupts */

/* Intercept the input (resp. output) lines of the device at @path ("ioapic"). */
void qtest_irq_intercept_in(QTestState *s, const char *path);
void qtest_irq_intercept_out(QTestState *s, const char *path);
/*
 * Level of intercepted line @num as last reported; a round trip first makes
 * sure every notification sent before it has been read.
 */
bool qtest_get_irq(QTestState *s, int num);
/* Force input line @num of @path (@name NULL: the unnamed list) to @level. */
void qtest_set_irq_in(QTestState *s, const char *path, const char *name, int num,
                      int level);

/* ------------------------------------------------------------------------ */
/* QMP */

/*
 * Send a command and return its reply (events arriving first are kept for
 * qtest_qmp_eventwait).  @fmt is printf-style JSON; as in QEMU's tests,
 * single-quoted strings are accepted ('execute' is "execute").  The caller
 * unrefs the result with json_object_unref.
 */
JsonObject *qtest_qmp(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
JsonObject *qtest_vqmp(QTestState *s, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);
/* Send without waiting for the reply. */
void qtest_qmp_send(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Send bytes verbatim (bad JSON tests). */
void qtest_qmp_send_raw(QTestState *s, const char *text);
/* The next reply that is not an event (events are kept). */
JsonObject *qtest_qmp_receive(QTestState *s);
/* The next message whatever it is, events included. */
JsonObject *qtest_qmp_receive_dict(QTestState *s);
/* Fail the test unless the reply has "return"; the error is printed. */
void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Wait for event @name (kept ones first) and return it; caller unrefs. */
JsonObject *qtest_qmp_eventwait_ref(QTestState *s, const char *name);
void qtest_qmp_eventwait(QTestState *s, const char *name);
/* A kept event @name, or NULL, without waiting. */
JsonObject *qtest_qmp_event_ref(QTestState *s, const char *name);
/* The reply as one line of JSON, for messages; caller frees. */
char *qtest_json_to_string(JsonObject *obj);

/* ------------------------------------------------------------------------ */
/* Test registration */

/* g_test_add_func under "/aperture/@path"-style names: the path as given. */
#define qtest_add_func(path, fn) g_test_add_func((path), (fn))
#define qtest_add_data_func(path, data, fn) g_test_add_data_func((path), (data), (fn))

#endif /* APERTURE_TESTS_LIBQTEST_H */
