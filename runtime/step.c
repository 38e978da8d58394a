#include "step.h"

#include <stdbool.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"

static long long now_us(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int rt_steps_run(const struct rt_step *steps, size_t n, struct rt_jail *j, struct aio_err *err)
{
        bool timed = aio_log_level >= AIO_LOG_DEBUG;

        for (size_t i = 0; i < n; i++) {
                long long t0 = timed ? now_us() : 0;

                if (steps[i].run(j, err) < 0)
                        return aio_error_prefix(err, "%s", steps[i].name);
                if (timed)
                        log_debug("step %s: %lld us", steps[i].name, now_us() - t0);
        }
        return 0;
}
