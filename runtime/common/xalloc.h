#pragma once

#include <stdarg.h>
#include <stddef.h>

/* Out of memory aborts: callers never handle NULL from these. */
void *aio_xmalloc(size_t n);
void *aio_xcalloc(size_t n, size_t size);
void *aio_xrealloc(void *p, size_t n);
char *aio_xstrdup(const char *s);
char *aio_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *aio_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
