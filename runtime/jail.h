#pragma once

struct rt_config;
struct aio_err;

/* Launcher exit codes for its own failures (as runc and podman use them). */
enum {
        RT_EXIT_LAUNCHER = 125, /* aio-run could not build the jail */
        RT_EXIT_CANNOT_EXEC = 126,
        RT_EXIT_NOT_FOUND = 127,
};

/* Builds the jail, runs cfg->argv in it and waits. Returns the exit status to report:
 * the command's, 128+N when it died of signal N, or RT_EXIT_* (err says why). */
int rt_jail_run(const struct rt_config *cfg, struct aio_err *err);
