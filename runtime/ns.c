#include "ns.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* clang-format off */
static const struct rt_ns rt_namespaces[_RT_NS_MAX] = {
        [RT_NS_USER]   = { "user",   CLONE_NEWUSER,   "user"   },
        [RT_NS_MOUNT]  = { "mount",  CLONE_NEWNS,     "mnt"    },
        [RT_NS_PID]    = { "pid",    CLONE_NEWPID,    "pid"    },
        [RT_NS_NET]    = { "net",    CLONE_NEWNET,    "net"    },
        [RT_NS_IPC]    = { "ipc",    CLONE_NEWIPC,    "ipc"    },
        [RT_NS_UTS]    = { "uts",    CLONE_NEWUTS,    "uts"    },
        [RT_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP, "cgroup" },
        [RT_NS_TIME]   = { "time",   CLONE_NEWTIME,   "time"   },
};
/* clang-format on */

const struct rt_ns *rt_ns_get(enum rt_ns_type t)
{
        return (unsigned)t < _RT_NS_MAX ? &rt_namespaces[t] : NULL;
}

int rt_ns_from_string(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(rt_namespaces); i++)
                if (strcmp(rt_namespaces[i].name, name) == 0)
                        return (int)i;
        return -EINVAL;
}

int rt_ns_clone_flags(bool share_net)
{
        int flags = 0;

        for (size_t i = 0; i < ELEMENTSOF(rt_namespaces); i++) {
                if (i == RT_NS_CGROUP || i == RT_NS_TIME || (i == RT_NS_NET && share_net))
                        continue;
                flags |= rt_namespaces[i].clone_flag;
        }
        return flags;
}
