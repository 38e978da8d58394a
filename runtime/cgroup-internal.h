#pragma once

/* Test seam of the cgroup driver: everything here takes the cgroup root, the
 * mountinfo file and the directory operations as arguments, so
 * tests/unit/test-cgroup.c can run the driver against a temporary tree of plain
 * files that mimics a v1 or v2 layout. */

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"

#define RT_CGROUP_ROOT      "/sys/fs/cgroup"
#define RT_CGROUP_MOUNTINFO "/proc/self/mountinfo"
#define RT_CGROUP_PARENT    "aio" /* every sandbox cgroup is <hierarchy>/aio/<name> */
#define RT_CGROUP_NAME_MAX  64
#define RT_CGROUP_KILL_MS   2000 /* default bound for kill (wait until empty) and rmdir retries */

enum rt_cgroup_ctl {
        RT_CGROUP_MEMORY,
        RT_CGROUP_PIDS,
        RT_CGROUP_CPU,
        RT_CGROUP_FREEZER,
        _RT_CGROUP_CTL_MAX
};

/* Directory operations with the syscalls' convention (-1 and errno). The kernel
 * fills a new cgroup directory with its knobs and lets rmdir remove it with
 * them; a fake tree needs both done by hand. */
struct rt_cgroup_fs_ops {
        int (*mkdirat)(int dirfd, const char *name, mode_t mode);
        int (*rmdirat)(int dirfd, const char *name);
};

struct rt_cgroup_host {
        enum rt_cgroup_driver driver;
        char *v2_root;                      /* v2: the cgroup2 mount */
        char *v1_mount[_RT_CGROUP_CTL_MAX]; /* v1: mount point per controller, NULL if
                                               absent */
        const struct rt_cgroup_fs_ops *ops; /* NULL: mkdirat/unlinkat(AT_REMOVEDIR) */
        unsigned kill_timeout_ms;           /* 0: RT_CGROUP_KILL_MS */
};

const char *rt_cgroup_ctl_to_string(enum rt_cgroup_ctl c);
/* Whether word is one of the space-separated words of list. */
bool rt_cgroup_word_in(const char *list, const char *word);
/* [A-Za-z0-9_.-], first character alphanumeric, no "..", 1..RT_CGROUP_NAME_MAX
 * bytes. */
int rt_cgroup_name_check(const char *name, struct aio_err *err);
/* v2 when root/cgroup.controllers lists a controller, else v1. */
int rt_cgroup_detect_at(const char *root, enum rt_cgroup_driver *ret, struct aio_err *err);
/* Reads the "cgroup" (v1) mounts of mountinfo into ret[] (malloc'ed mount
 * points). The first mount of a controller wins; co-mounted controllers
 * (cpu,cpuacct) share one mount point. */
int rt_cgroup_v1_mounts_parse(const char *mountinfo, char *ret[_RT_CGROUP_CTL_MAX],
                              struct aio_err *err);
/* detect_at(root), then for v1 the hierarchies from mountinfo.
 * ops/kill_timeout_ms are left 0. */
int rt_cgroup_host_probe(const char *root, const char *mountinfo, struct rt_cgroup_host *ret,
                         struct aio_err *err);
void rt_cgroup_host_done(struct rt_cgroup_host *h);
#define cleanup_cgroup_host __attribute__((cleanup(rt_cgroup_host_done)))

int rt_cgroup_create_at(const struct rt_cgroup_host *h, const char *name,
                        const struct rt_cgroup_limits *lim, unsigned flags, struct rt_cgroup **ret,
                        struct aio_err *err);
int rt_cgroup_remove_stale_at(const struct rt_cgroup_host *h, const char *name,
                              struct aio_err *err);
