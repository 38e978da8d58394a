#pragma once

#include <stdbool.h>
#include <stddef.h>

enum rt_ns_type {
        RT_NS_USER,
        RT_NS_MOUNT,
        RT_NS_PID,
        RT_NS_NET,
        RT_NS_IPC,
        RT_NS_UTS,
        RT_NS_CGROUP,
        RT_NS_TIME,
        _RT_NS_MAX
};

struct rt_ns {
        const char *name;      /* as on the command line and in status JSON */
        int clone_flag;        /* CLONE_NEW* */
        const char *proc_name; /* /proc/<pid>/ns/<proc_name> */
};

/* The table, in creation order (user first). */
const struct rt_ns *rt_ns_get(enum rt_ns_type t);
int rt_ns_from_string(const char *name); /* enum value or -EINVAL */
/* The clone flags for a new jail: every namespace but cgroup (entered after the cgroup move)
 * and time; net only when share_net is false. */
int rt_ns_clone_flags(bool share_net);
