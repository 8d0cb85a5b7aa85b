/*
 * Error objects and reporting (see include/qapi/error.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"

struct Error {
    char *msg;
    GString *hint;          /* user advice, printed after the message */
    int os_errno;           /* from error_setg_errno, else 0 */
    const char *src;        /* where it was set, for &error_abort */
    const char *func;
    int line;
};

/*
 * &error_abort and &error_fatal are compared by address only; the variables'
 * values are never read or written.
 */
Error *error_abort;
Error *error_fatal;

static const char *progname = "aperture";

void error_set_progname(const char *name)
{
    progname = name;
}

static void error_print(FILE *fp, const char *prefix, const Error *err)
{
    fprintf(fp, "%s: %s%s\n", progname, prefix, err->msg);
    if (err->hint) {
        fputs(err->hint->str, fp);
    }
}

static void error_handle_special(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        fprintf(stderr, "Unexpected error in %s() at %s:%d:\n",
                err->func, err->src, err->line);
        error_print(stderr, "", err);
        abort();
    }
    if (errp == &error_fatal) {
        error_print(stderr, "", err);
        /* Nothing else will free it; leak checkers run at exit. */
        error_free(err);
        exit(1);
    }
}

static void error_setv(Error **errp, const char *src, int line, const char *func,
                       int os_errno, const char *fmt, va_list ap)
{
    Error *err;
    int saved_errno = errno;

    if (!errp) {
        return;
    }
    /* Setting an error twice loses the first one: a bug in the caller. */
    assert(errp == &error_abort || errp == &error_fatal || *errp == NULL);

    err = g_new0(Error, 1);
    err->msg = g_strdup_vprintf(fmt, ap);
    if (os_errno) {
        char *m = g_strdup_printf("%s: %s", err->msg, g_strerror(os_errno));

        g_free(err->msg);
        err->msg = m;
    }
    err->os_errno = os_errno;
    err->src = src;
    err->line = line;
    err->func = func;

    error_handle_special(errp, err);
    *errp = err;
    errno = saved_errno;
}

void error_setg_internal(Error **errp, const char *src, int line, const char *func,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, src, line, func, 0, fmt, ap);
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, src, line, func, os_errno, fmt, ap);
    va_end(ap);
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

int error_get_errno(const Error *err)
{
    return err->os_errno;
}

static void error_vprepend(Error *err, const char *fmt, va_list ap)
{
    GString *s = g_string_new(NULL);

    g_string_vprintf(s, fmt, ap);
    g_string_append(s, err->msg);
    g_free(err->msg);
    err->msg = g_string_free(s, false);
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    va_list ap;

    if (!errp || errp == &error_abort || errp == &error_fatal || !*errp) {
        return;
    }
    va_start(ap, fmt);
    error_vprepend(*errp, fmt, ap);
    va_end(ap);
}

void error_append_hint(Error **errp, const char *fmt, ...)
{
    va_list ap;
    int saved_errno = errno;
    Error *err;

    /* Hints for &error_fatal/&error_abort are lost: the error was already handled. */
    if (!errp || errp == &error_abort || errp == &error_fatal || !*errp) {
        return;
    }
    err = *errp;
    if (!err->hint) {
        err->hint = g_string_new(NULL);
    }
    va_start(ap, fmt);
    g_string_append_vprintf(err->hint, fmt, ap);
    va_end(ap);
    errno = saved_errno;
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    error_handle_special(dst_errp, local_err);
    if (dst_errp && !*dst_errp) {
        *dst_errp = local_err;
    } else {
        error_free(local_err);
    }
}

void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...)
{
    va_list ap;

    if (dst_errp && !*dst_errp && local_err) {
        va_start(ap, fmt);
        error_vprepend(local_err, fmt, ap);
        va_end(ap);
    }
    error_propagate(dst_errp, local_err);
}

Error *error_copy(const Error *err)
{
    Error *copy = g_new0(Error, 1);

    copy->msg = g_strdup(err->msg);
    copy->os_errno = err->os_errno;
    copy->src = err->src;
    copy->line = err->line;
    copy->func = err->func;
    if (err->hint) {
        copy->hint = g_string_new_len(err->hint->str, err->hint->len);
    }
    return copy;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        if (err->hint) {
            g_string_free(err->hint, true);
        }
        g_free(err);
    }
}

void error_free_or_abort(Error **errp)
{
    assert(errp && *errp);
    error_free(*errp);
    *errp = NULL;
}

void error_report_err(Error *err)
{
    error_print(stderr, "", err);
    error_free(err);
}

void warn_report_err(Error *err)
{
    error_print(stderr, "warning: ", err);
    error_free(err);
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s", progname, prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void error_vreport(const char *fmt, va_list ap)
{
    vreport("", fmt, ap);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("info: ", fmt, ap);
    va_end(ap);
}
