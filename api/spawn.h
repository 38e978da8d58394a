#pragma once

/* Child processes of aio-apid (shutdown hooks, version probes): started in their own process
 * group with default signal handling, stdin from /dev/null, and waited for with a deadline. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct aio_err;

/* Starts argv[0] (a path) with argv. stdout_fd >= 0 becomes its stdout (else ours is kept);
 * stderr is ours, or /dev/null when quiet. Returns the pid. */
int api_spawn(const char *const argv[], int stdout_fd, bool quiet, struct aio_err *err);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t api_now_ms(void);
/* Waits for pid until deadline_ms (api_now_ms() clock). Returns its wait status, or -ETIMEDOUT
 * after killing its whole process group (and reaping it). */
int api_wait_deadline(pid_t pid, int64_t deadline_ms, struct aio_err *err);
