#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

enum aio_log_level aio_log_level = AIO_LOG_WARN;
static const char *program = "aio";

void aio_log_set_program(const char *name)
{
        program = name;
}

void aio_log(enum aio_log_level level, const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        int saved = errno, n;

        if (level > aio_log_level)
                return;
        if (level == AIO_LOG_DEBUG) {
                struct timespec ts;

                /* Debug lines carry a monotonic time stamp (ms) to read a start-up timeline. */
                (void)clock_gettime(CLOCK_MONOTONIC, &ts);
                n = snprintf(line, sizeof(line), "%s: [%lld.%03ld] ", program,
                             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                             (ts.tv_nsec / 1000) % 1000);
        } else {
                n = snprintf(line, sizeof(line), "%s: ", program);
        }
        va_start(ap, fmt);
        (void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        /* One write per line so lines from several processes never interleave. */
        (void)dprintf(STDERR_FILENO, "%s\n", line);
        errno = saved;
}
