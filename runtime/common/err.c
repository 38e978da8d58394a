#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int err_store(struct aio_err *err, int code, int with_errno, const char *fmt, va_list ap)
{
        int n;

        if (code <= 0)
                code = code < 0 ? -code : EIO;
        err->code = code;
        n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
                (void)snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(code));
        return -code;
}

int aio_error(struct aio_err *err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = err_store(err, code, 1, fmt, ap);
        va_end(ap);
        return r;
}

int aio_error_msg(struct aio_err *err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = err_store(err, code, 0, fmt, ap);
        va_end(ap);
        return r;
}

int aio_error_prefix(struct aio_err *err, const char *fmt, ...)
{
        char prefix[256], old[sizeof(err->msg)];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        /* Truncation keeps the start of the message: the step names matter most. */
        {
                size_t n = strnlen(prefix, sizeof(prefix) - 1);

                memcpy(err->msg, prefix, n);
                memcpy(err->msg + n, ": ", 2);
                n += 2;
                (void)strncpy(err->msg + n, old, sizeof(err->msg) - n - 1);
                err->msg[sizeof(err->msg) - 1] = '\0';
        }
        if (err->code <= 0)
                err->code = EIO;
        return -err->code;
}

void aio_err_clear(struct aio_err *err)
{
        err->code = 0;
        err->msg[0] = '\0';
}
