#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct aio_err;

/* Limits for one sandbox; 0 means "not set". */
struct rt_cgroup_limits {
        int64_t memory;      /* bytes; memory.max / memory.limit_in_bytes */
        int64_t memory_swap; /* bytes of memory+swap as docker's --memory-swap; 0 = no swap */
        int64_t pids;        /* pids.max */
        int64_t cpu_quota;   /* microseconds per cpu_period (cpus * period) */
        int64_t cpu_period;  /* microseconds, default 100000 */
};

enum rt_cgroup_driver { RT_CGROUP_V2, RT_CGROUP_V1, _RT_CGROUP_DRIVER_MAX };

struct rt_cgroup_events {
        uint64_t oom_kills;  /* memory.events oom_kill / memory.oom_control oom_kill */
        uint64_t pids_limit; /* pids.events max: forks refused by pids.max */
};

struct rt_cgroup; /* opaque */

/* Leaves of a split sandbox cgroup (aio-run up): pid 1 and aio-apid in api, with a pids bound
 * of its own; everything the agent runs in work, where the sandbox's limits apply. A memory or
 * fork bomb in work is stopped there and leaves the API answering. */
enum rt_cgroup_leaf { RT_CGROUP_LEAF_API, RT_CGROUP_LEAF_WORK, _RT_CGROUP_LEAF_MAX };
#define RT_CGROUP_SPLIT (1u << 0)

/* Detects the driver for this host: v2 when /sys/fs/cgroup is cgroup2 with controllers,
 * else v1 (hybrid hosts included). root_override (may be NULL) replaces /sys/fs/cgroup
 * for tests. */
int rt_cgroup_detect(const char *root_override, enum rt_cgroup_driver *ret, struct aio_err *err);
const char *rt_cgroup_driver_to_string(enum rt_cgroup_driver d);

/* Creates the sandbox cgroup "aio/<name>" (v1: in every needed hierarchy) and applies limits;
 * with RT_CGROUP_SPLIT, to its work leaf. On failure nothing is left behind. */
int rt_cgroup_create(const char *name, const struct rt_cgroup_limits *lim, unsigned flags,
                     struct rt_cgroup **ret, struct aio_err *err);
/* v2: an O_DIRECTORY fd of the cgroup (split: of its api leaf) for clone3(CLONE_INTO_CGROUP);
 * -1 on v1. Borrowed. */
int rt_cgroup_fd(const struct rt_cgroup *cg);
/* Moves pid into the cgroup (split: its api leaf; every hierarchy on v1). */
int rt_cgroup_add_pid(struct rt_cgroup *cg, pid_t pid, struct aio_err *err);
/* Split: opens for aio-apid the work leaf's cgroup.procs of every hierarchy (writing "0" to
 * each moves the writer there; the kernel checks the opener's credentials, so this works from
 * inside the jail), then its memory and pids event files (memory.events or memory.oom_control,
 * pids.events). ret holds up to max fds, *ret_n set; the last two are the event files. */
#define RT_CGROUP_WORK_FDS_MAX 8
int rt_cgroup_work_open(const struct rt_cgroup *cg, int *ret, size_t max, size_t *ret_n,
                        struct aio_err *err);
/* Kills every process in the cgroup at once (v2 cgroup.kill; v1 freezer + SIGKILL) and waits
 * until it is empty (bounded). */
int rt_cgroup_kill(struct rt_cgroup *cg, struct aio_err *err);
int rt_cgroup_events(const struct rt_cgroup *cg, struct rt_cgroup_events *ret, struct aio_err *err);
/* Kills what is left, removes the directories, frees cg. Safe with NULL. */
int rt_cgroup_destroy(struct rt_cgroup *cg, struct aio_err *err);
/* Removes "aio/<name>" left by a killed launcher (kills what runs there first). */
int rt_cgroup_remove_stale(const char *name, struct aio_err *err);
