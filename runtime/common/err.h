#pragma once

#include <stdarg.h>

/* One error object per top-level operation, owned by the caller's stack.  Fallible functions take
 * it as their last parameter, fill it on failure and return -code. */
struct aio_err {
        int code;
        char msg[512];
};

/* Formats msg, appends ": strerror(code)" when code is an errno, stores code, returns -code. */
int aio_error(struct aio_err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Same, without the strerror suffix: for messages that say everything themselves. */
int aio_error_msg(struct aio_err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to the message already stored; returns -code. */
int aio_error_prefix(struct aio_err *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void aio_err_clear(struct aio_err *err);
