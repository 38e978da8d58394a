#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* NOLINTBEGIN(bugprone-macro-parentheses,cert-err33-c): a type cannot be parenthesized; a
 * cleanup has nobody to report a failed close to. */
#define DEFINE_CLEANUP_FUNC(type, fn)     \
        static inline void fn##p(type *p) \
        {                                 \
                if (*p)                   \
                        (void)fn(*p);     \
        }
/* NOLINTEND(bugprone-macro-parentheses,cert-err33-c) */

static inline void freep(void *p)
{
        free(*(void **)p);
}

/* Never retries close(), keeps errno. */
static inline void closep(int *fd)
{
        int saved = errno;

        if (*fd >= 0)
                (void)close(*fd);
        errno = saved;
}

DEFINE_CLEANUP_FUNC(FILE *, fclose)
DEFINE_CLEANUP_FUNC(DIR *, closedir)

void aio_strv_free(char **v);
DEFINE_CLEANUP_FUNC(char **, aio_strv_free)

#define cleanup_free   __attribute__((cleanup(freep)))
#define cleanup_close  __attribute__((cleanup(closep)))
#define cleanup_fclose __attribute__((cleanup(fclosep)))
#define cleanup_dir    __attribute__((cleanup(closedirp)))
#define cleanup_strv   __attribute__((cleanup(aio_strv_freep)))

static inline void *take_ptr(void *pp)
{
        void **p = pp, *v = *p;

        *p = NULL;
        return v;
}

static inline int take_fd(int *fd)
{
        int v = *fd;

        *fd = -1;
        return v;
}
