#pragma once

#include <stddef.h>

struct rt_jail;
struct aio_err;

/* Exit code of a jail child that failed during set-up (the launcher reports the message). */
#define RT_EXIT_LAUNCHER_CHILD 125

/* One named step of jail set-up; tables of them make the order reviewable data. */
struct rt_step {
        const char *name;
        int (*run)(struct rt_jail *j, struct aio_err *err);
};

/* Runs steps in order; the first failure is prefixed with its step name. */
int rt_steps_run(const struct rt_step *steps, size_t n, struct rt_jail *j, struct aio_err *err);
const struct rt_step *rt_parent_steps_get(size_t *ret_len);
const struct rt_step *rt_child_steps_get(size_t *ret_len);
const struct rt_step *rt_exec_steps_get(size_t *ret_len);
