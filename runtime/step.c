#include "step.h"

#include "common/err.h"

int rt_steps_run(const struct rt_step *steps, size_t n, struct rt_jail *j, struct aio_err *err)
{
        for (size_t i = 0; i < n; i++)
                if (steps[i].run(j, err) < 0)
                        return aio_error_prefix(err, "%s", steps[i].name);
        return 0;
}
