/*
 * Error reporting: the Error ** convention.
 *
 * A function that can fail for a reason the user must see takes a trailing
 * `Error **errp`.  On failure it sets *errp (once) and returns a distinguishable
 * value (false, NULL or -1); on success it leaves *errp alone.  Callers pass
 *   - NULL to ignore the error,
 *   - &error_abort when failure is a programming error (abort with the message),
 *   - &error_fatal when failure must end the program (print it, exit(1)),
 *   - &local_err (initialised to NULL) to inspect or propagate it.
 */
#ifndef QAPI_ERROR_H
#define QAPI_ERROR_H

#include "qemu/osdep.h"

extern Error *error_abort;
extern Error *error_fatal;

/* Set *errp to a new error with a printf-style message (no trailing newline). */
#define error_setg(errp, fmt, ...) \
    error_setg_internal((errp), __FILE__, __LINE__, __func__, (fmt), ##__VA_ARGS__)
/* As error_setg, with ": strerror(os_errno)" appended. */
#define error_setg_errno(errp, os_errno, fmt, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, __func__, (os_errno), \
                              (fmt), ##__VA_ARGS__)

void error_setg_internal(Error **errp, const char *src, int line, const char *func,
                         const char *fmt, ...) G_GNUC_PRINTF(5, 6);
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...) G_GNUC_PRINTF(6, 7);

/* The message, without hints. */
const char *error_get_pretty(const Error *err);
/* The errno given to error_setg_errno, or 0. */
int error_get_errno(const Error *err);

/* Put "prefix" in front of the message of *errp, if an error is set. */
void error_prepend(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Append user advice printed after the message by error_report_err. */
void error_append_hint(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * Move @local_err into @dst_errp (freeing it if dst_errp is NULL, handling
 * &error_abort / &error_fatal).  Does nothing when local_err is NULL.
 */
void error_propagate(Error **dst_errp, Error *local_err);
void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...) G_GNUC_PRINTF(3, 4);

Error *error_copy(const Error *err);
void error_free(Error *err);
void error_free_or_abort(Error **errp);   /* tests: assert *errp is set, free it */

/* Print "PROGNAME: message\n" and the hints to stderr, then free @err. */
void error_report_err(Error *err);
void warn_report_err(Error *err);

/* Print a message (no trailing newline needed) to stderr, prefixed. */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void info_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void error_vreport(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);

/* Program name used as the message prefix ("aperture" by default). */
void error_set_progname(const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

/*
 * ERRP_GUARD(): first statement of a function that reads *errp (to test
 * whether a callee failed) or adds hints with error_append_hint.
 *
 * A caller's NULL or &error_fatal would defeat both: with NULL there is no
 * *errp to read, and &error_fatal exits at error_setg time, before a hint
 * is appended.  The guard points errp at a local Error for the rest of the
 * function and hands the result to the caller's errp when the function
 * returns.  &error_abort is left alone so that an abort still shows where
 * the error was set.
 */
typedef struct ErrorPropagator {
    Error *local_err;   /* the error while the function runs */
    Error **errp;       /* the caller's errp, receives it on return */
} ErrorPropagator;

static inline void error_propagator_cleanup(ErrorPropagator *prop)
{
    error_propagate(prop->errp, prop->local_err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ErrorPropagator, error_propagator_cleanup)

#define ERRP_GUARD()                                                    \
    g_auto(ErrorPropagator) errp_guard_prop_ = { .errp = errp };        \
    do {                                                                \
        if (!errp || errp == &error_fatal) {                            \
            errp = &errp_guard_prop_.local_err;                         \
        }                                                               \
    } while (0)

#endif /* QAPI_ERROR_H */
