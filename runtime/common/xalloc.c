#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

static void *check(void *p)
{
        static const char msg[] = "aio: out of memory\n";

        if (!p) {
                (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
                abort();
        }
        return p;
}

void *aio_xmalloc(size_t n)
{
        return check(malloc(n ? n : 1));
}

void *aio_xcalloc(size_t n, size_t size)
{
        return check(calloc(n ? n : 1, size ? size : 1));
}

void *aio_xrealloc(void *p, size_t n)
{
        return check(realloc(p, n ? n : 1));
}

char *aio_xstrdup(const char *s)
{
        return check(strdup(s));
}

char *aio_xvasprintf(const char *fmt, va_list ap)
{
        char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        return check(s);
}

char *aio_xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = aio_xvasprintf(fmt, ap);
        va_end(ap);
        return s;
}

void aio_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}
