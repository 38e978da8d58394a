#pragma once

/* The sandbox's work cgroup, seen from aio-apid: aio-run up passes the work leaf's
 * cgroup.procs files (one per hierarchy) and its memory and pids event files as open fds,
 * named by AIO_WORK_CGROUP="procs=4,5 oom=6 pids=7". Every process aio-apid starts for the
 * agent moves itself there between fork and exec, under the sandbox's limits, while aio-apid
 * stays in its own leaf; the event counters tell a command killed by the memory limit or
 * refused forks by the pids limit from any other death. */

#include <stdbool.h>
#include <stdint.h>

struct aio_err;

#define API_WORKCG_PROCS_MAX 6

struct api_workcg {
        int procs[API_WORKCG_PROCS_MAX];
        unsigned n_procs;
        int oom_fd, pids_fd;
};

struct api_workcg_events {
        uint64_t oom_kills;  /* processes killed by the memory limit so far */
        uint64_t pids_limit; /* forks refused by the pids limit so far */
};

/* Parses spec (the value of AIO_WORK_CGROUP; NULL: not in an up sandbox, *ret zeroed with no
 * fds) and marks the fds close-on-exec. */
int api_workcg_parse(const char *spec, struct api_workcg *ret, struct aio_err *err);
/* In a child between fork and exec (async-signal-safe): moves the calling process into the
 * work leaf. Returns 0 or -errno; a no-op outside an up sandbox. */
int api_workcg_enter(const struct api_workcg *w);
/* The counters now; all 0 outside an up sandbox. */
int api_workcg_events_read(const struct api_workcg *w, struct api_workcg_events *ret,
                           struct aio_err *err);
/* The counters when a command starts, for api_workcg_killed_by() (zeroes when w is NULL). */
void api_workcg_mark(const struct api_workcg *w, struct api_workcg_events *ret);
/* The limit that stopped a command started at mark: "memory" when it was SIGKILLed while the
 * memory limit killed something, "pids" when forks were refused meanwhile (whatever its end),
 * else NULL. Approximate when commands run side by side: any kill in the window counts. */
const char *api_workcg_killed_by(const struct api_workcg *w, const struct api_workcg_events *mark,
                                 bool sigkilled);
/* What killed a command, from the counters before it started and after it ended: "memory"
 * (the memory limit), "pids" (it hit the pids limit) or NULL. */
const char *api_workcg_blame(const struct api_workcg_events *before,
                             const struct api_workcg_events *after);
