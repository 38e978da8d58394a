/* The jail side of set-up, run by the cloned child inside its new namespaces. The order of
 * rt_child_steps is security-relevant: review it as a list. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/xalloc.h"

#include "config.h"
#include "jail-internal.h"
#include "mount.h"
#include "rootfs.h"
#include "step.h"
#include "sync.h"
#include "workspace.h"

static int step_sync_wait(struct rt_jail *j, struct aio_err *err)
{
        struct rt_sync_msg m;

        if (rt_sync_recv(j->sync_child, &m, &j->tree_fd, err) < 0)
                return -err->code;
        if (m.type != RT_SYNC_GO)
                return aio_error_msg(err, EPROTO, "unexpected message %u from the launcher",
                                     m.type);
        return 0;
}

static int step_ids(struct rt_jail *j, struct aio_err *err)
{
        (void)j;
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return aio_error(err, errno, "become jail root");
        /* Rootless single-id maps deny setgroups; there is nothing to drop then. */
        if (setgroups(0, NULL) < 0 && errno != EPERM)
                return aio_error(err, errno, "setgroups");
        return 0;
}

static int step_propagation(struct rt_jail *j, struct aio_err *err)
{
        (void)j;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return aio_error(err, errno, "make / private");
        return 0;
}

static int mount_image(struct rt_jail *j, struct aio_err *err)
{
        cleanup_free char *upper = aio_xasprintf("%s/upper", j->dir);
        cleanup_free char *work = aio_xasprintf("%s/work", j->dir);

        const char *lowerdir = j->image;

        if (j->tree_fd >= 0) {
                if (rt_rootfs_attach(j->tree_fd, j->lower_path, err) < 0)
                        return -err->code;
                closep(&j->tree_fd);
                lowerdir = j->lower_path;
        }
        return rt_rootfs_overlay(j->root_path, lowerdir, upper, work, err);
}

static int step_rootfs(struct rt_jail *j, struct aio_err *err)
{
        if (j->image) {
                if (mount_image(j, err) < 0)
                        return -err->code;
        } else if (mount("tmpfs", j->root_path, "tmpfs", MS_NOSUID | MS_NODEV,
                         "mode=755,size=256m") < 0) {
                return aio_error(err, errno, "mount the root tmpfs");
        }
        j->root_fd = open(j->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (j->root_fd < 0)
                return aio_error(err, errno, "open the new root");
        if (!j->image) {
                const char *hn = j->cfg->hostname ? j->cfg->hostname : j->id;

                if (rt_rootfs_compose_host(j->root_fd, j->tree_fd, hn, err) < 0)
                        return -err->code;
                closep(&j->tree_fd);
        }
        return 0;
}

static int step_mounts(struct rt_jail *j, struct aio_err *err)
{
        return rt_mounts_base(j->root_fd, j->cfg->net == RT_NET_HOST, err);
}

static int step_user_mounts(struct rt_jail *j, struct aio_err *err)
{
        const struct rt_config *c = j->cfg;

        for (size_t i = 0; i < c->n_binds; i++)
                if (rt_mount_bind(j->root_fd, c->binds[i].src, c->binds[i].dst, c->binds[i].ro,
                                  err) < 0)
                        return aio_error_prefix(err, "--bind %s:%s", c->binds[i].src,
                                                c->binds[i].dst);
        for (size_t i = 0; i < c->n_tmpfs; i++)
                if (rt_mount_tmpfs(j->root_fd, c->tmpfs[i].dst, c->tmpfs[i].size, "1777", err) < 0)
                        return aio_error_prefix(err, "--tmpfs %s", c->tmpfs[i].dst);
        if (j->workspace_fd >= 0) {
                if (rt_workspace_attach(j->root_fd, j->workspace_fd, err) < 0)
                        return -err->code;
                closep(&j->workspace_fd);
        }
        return 0;
}

/* Whatever the mounts above did, /proc must be the procfs we mounted (CVE-2019-16884 class). */
static int step_verify(struct rt_jail *j, struct aio_err *err)
{
        cleanup_close int fd =
                aio_open_in_root(j->root_fd, "/proc/self", O_PATH | O_DIRECTORY, 0, err);
        struct statfs sf;

        if (fd < 0)
                return -err->code;
        if (fstatfs(fd, &sf) < 0)
                return aio_error(err, errno, "statfs /proc");
        if (sf.f_type != PROC_SUPER_MAGIC)
                return aio_error_msg(err, EPERM, "/proc is not procfs (type %#lx)",
                                     (unsigned long)sf.f_type);
        return 0;
}

static int step_pivot(struct rt_jail *j, struct aio_err *err)
{
        int r = rt_pivot_root(j->root_fd, err);

        closep(&j->root_fd);
        return r;
}

static int step_hostname(struct rt_jail *j, struct aio_err *err)
{
        const char *hn = j->cfg->hostname ? j->cfg->hostname : j->id;

        if (sethostname(hn, strlen(hn)) < 0)
                return aio_error(err, errno, "sethostname %s", hn);
        return 0;
}

static int step_network(struct rt_jail *j, struct aio_err *err)
{
        struct ifreq ifr = {0};
        cleanup_close int s = -1;

        if (j->cfg->net == RT_NET_HOST)
                return 0;
        s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return aio_error(err, errno, "socket");
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return aio_error(err, errno, "read loopback flags");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                return aio_error(err, errno, "bring loopback up");
        return 0;
}

static int step_cgroup_wait(struct rt_jail *j, struct aio_err *err)
{
        struct rt_sync_msg m;

        if (rt_sync_recv(j->sync_child, &m, NULL, err) < 0)
                return -err->code;
        if (m.type != RT_SYNC_CGROUP)
                return aio_error_msg(err, EPROTO, "unexpected message %u from the launcher",
                                     m.type);
        return 0;
}

static int step_cgroupns(struct rt_jail *j, struct aio_err *err)
{
        (void)j;
        /* After the launcher moved us into the sandbox cgroup: it becomes our "/". */
        if (unshare(CLONE_NEWCGROUP) < 0)
                return aio_error(err, errno, "unshare the cgroup namespace");
        return 0;
}

/* clang-format off */
static const struct rt_step rt_child_steps[] = {
        { "sync-wait",   step_sync_wait },   /* uid/gid maps written, cgroup joined */
        { "ids",         step_ids },
        { "propagation", step_propagation }, /* nothing we mount reaches the host */
        { "rootfs",      step_rootfs },
        { "mounts",      step_mounts },      /* /proc, /dev, /sys, masks */
        { "user-mounts", step_user_mounts },
        { "verify",      step_verify },      /* /proc is still procfs */
        { "pivot-root",  step_pivot },       /* old root detached */
        { "hostname",    step_hostname },
        { "network",     step_network },
        { "cgroup-wait", step_cgroup_wait }, /* in its cgroup before anything runs */
        { "cgroup-ns",   step_cgroupns },
};
/* clang-format on */

const struct rt_step *rt_child_steps_get(size_t *ret_len)
{
        *ret_len = ELEMENTSOF(rt_child_steps);
        return rt_child_steps;
}

void rt_child_main(struct rt_jail *j)
{
        struct aio_err err = {0};

        rt_init_die_on_faults();
        /* Nothing of the launcher's but the sync socket, stdio and up's fds comes along. */
        int keep[4 + RT_CGROUP_WORK_FDS_MAX] = {j->sync_child};
        size_t n_keep = 1;

        if (j->listen_fd >= 0)
                keep[n_keep++] = j->listen_fd;
        if (j->unix_fd >= 0)
                keep[n_keep++] = j->unix_fd;
        if (j->workspace_fd >= 0)
                keep[n_keep++] = j->workspace_fd;
        for (size_t i = 0; i < j->n_work_fds; i++)
                keep[n_keep++] = j->work_fds[i];
        if (aio_close_all_except(keep, n_keep, &err) < 0)
                _exit(RT_EXIT_LAUNCHER_CHILD);
        j->sync_parent = j->sync_sig = j->lock_fd = j->pidfd = -1;
        j->ids.lock_fd = -1;
        /* Die with the launcher. Had it died before this, the GO message never comes: the
         * sync socket reads end-of-file and set-up stops. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                _exit(RT_EXIT_LAUNCHER_CHILD);
        if (rt_steps_run(rt_child_steps, ELEMENTSOF(rt_child_steps), j, &err) < 0) {
                rt_sync_send_error(j->sync_child, &err);
                _exit(RT_EXIT_LAUNCHER_CHILD);
        }
        rt_init_main(j);
}
