/* The launcher's side of a jail: prepare, clone, map ids, hand over, supervise, clean up.
 * rt_parent_steps is the order of set-up; cleanup() undoes whatever of it happened. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "config.h"
#include "image.h"
#include "jail-internal.h"
#include "ns.h"
#include "rootfs.h"
#include "seccomp-log.h"
#include "step.h"
#include "sync.h"
#include "up.h"
#include "workspace.h"

static const int rt_handled_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGWINCH};

static int step_seccomp(struct rt_jail *j, struct aio_err *err)
{
        cleanup_free char *path = NULL;

        if (rt_seccomp_resolve(j->cfg->seccomp ? j->cfg->seccomp : "default", j->cfg->state_dir,
                               &path, err) < 0)
                return -err->code;
        return path ? rt_seccomp_read(path, &j->bpf, err) : 0;
}

/* A tarball is looked up in the store here; only a miss runs aio-unpack, the one binary that
 * loads libarchive. Its errors, naming the entry, are on stderr already. A store entry stays
 * locked (shared) while the sandbox lives: aio-run image rm/prune leave it alone. */
static int step_image(struct rt_jail *j, struct aio_err *err)
{
        return rt_image_acquire(j->cfg, j->sync_sig, &j->image, &j->image_lock, err);
}

static int step_ids(struct rt_jail *j, struct aio_err *err)
{
        if (geteuid() != 0) {
                if (rt_idrange_rootless(&j->ids, err) < 0)
                        return -err->code;
                if (j->cfg->user_set && j->cfg->uid > j->ids.sub_count)
                        return aio_error_msg(
                                err, EPERM,
                                "--user %u is not mapped: without root, jail ids above 0 need a subordinate range of that size in /etc/subuid and /etc/subgid",
                                (unsigned)j->cfg->uid);
                return 0;
        }
        return rt_idrange_alloc(j->cfg->state_dir, j->cfg->uid_base, j->cfg->uid_slots, &j->ids,
                                err);
}

static bool has_limits(const struct rt_cgroup_limits *l)
{
        return l->memory || l->pids || l->cpu_quota;
}

static int step_cgroup(struct rt_jail *j, struct aio_err *err)
{
        if (geteuid() != 0 && !has_limits(&j->cfg->limits))
                return 0;
        if (rt_cgroup_create(j->id, &j->cfg->limits, j->cfg->up ? RT_CGROUP_SPLIT : 0, &j->cg,
                             err) < 0)
                return -err->code;
        /* up: aio-apid moves what it starts into the work leaf and reads its events */
        if (!j->cfg->up)
                return 0;
        return rt_cgroup_work_open(j->cg, j->work_fds, ELEMENTSOF(j->work_fds), &j->n_work_fds,
                                   err);
}

static int step_clone(struct rt_jail *j, struct aio_err *err)
{
        int sv[2], cgfd = j->cg ? rt_cgroup_fd(j->cg) : -1;
        struct clone_args args = {
                .flags = (unsigned)rt_ns_clone_flags(j->cfg->net == RT_NET_HOST) | CLONE_PIDFD,
                .pidfd = (uintptr_t)&j->pidfd,
                .exit_signal = SIGCHLD,
        };
        long pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return aio_error(err, errno, "socketpair");
        j->sync_parent = sv[0];
        j->sync_child = sv[1];
        if (cgfd >= 0) {
                /* Born in its cgroup: no moment runs outside the limits. */
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (unsigned)cgfd;
        }
        pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return aio_error(err, errno, "clone the jail (namespaces %#llx)",
                                 (unsigned long long)args.flags);
        if (pid == 0)
                rt_child_main(j);
        j->pid = (pid_t)pid;
        closep(&j->sync_child);
        return 0;
}

static int step_maps(struct rt_jail *j, struct aio_err *err)
{
        return rt_userns_write_maps(j->pid, &j->ids, err);
}

/* On cgroup v1 moving a process takes a global lock whose first write can wait for an RCU
 * grace period (8-20 ms here), so the jail builds its mounts meanwhile: it only waits for this
 * message before it enters its cgroup namespace and starts anything. */
static int step_cgroup_join(struct rt_jail *j, struct aio_err *err)
{
        struct rt_sync_msg m = {.type = RT_SYNC_CGROUP};
        struct aio_err send_err = {0};
        int r;

        if (j->cg && rt_cgroup_fd(j->cg) < 0 && rt_cgroup_add_pid(j->cg, j->pid, err) < 0)
                return -err->code;
        r = rt_sync_send(j->sync_parent, &m, -1, &send_err);
        /* A jail whose set-up already failed is gone: its error is in the socket, for the
         * next step to report. */
        if (r == -EPIPE)
                return 0;
        if (r < 0)
                *err = send_err;
        return r;
}

static int step_go(struct rt_jail *j, struct aio_err *err)
{
        struct rt_sync_msg m = {.type = RT_SYNC_GO};
        cleanup_close int tree = -1;
        struct aio_err idmap_err;

        /* Host-owned files appear as jail root's own through an idmapped mount; without one
         * (rootless, or a kernel or filesystem without support) they show as nobody. */
        if (j->ids.slot >= 0) {
                tree = rt_rootfs_idmapped_tree(j->image ? j->image : "/usr", j->pid, &idmap_err);
                if (tree < 0)
                        log_debug("no idmapped mount, image files will show as nobody: %s",
                                  idmap_err.msg);
        }
        return rt_sync_send(j->sync_parent, &m, tree, err);
}

static int take_signal(int sigfd)
{
        struct signalfd_siginfo si;

        if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
                return 0;
        return (int)si.ssi_signo;
}

static int step_ready(struct rt_jail *j, struct aio_err *err)
{
        struct pollfd p[2] = {{.fd = j->sync_parent, .events = POLLIN},
                              {.fd = j->sync_sig, .events = POLLIN}};

        for (;;) {
                struct rt_sync_msg m;
                int fd, sig;

                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        return aio_error(err, errno, "poll");
                if (p[1].revents & POLLIN && (sig = take_signal(j->sync_sig)) && sig != SIGWINCH)
                        return aio_error_msg(err, EINTR, "interrupted by signal %d", sig);
                if (!(p[0].revents & (POLLIN | POLLHUP)))
                        continue;
                if (rt_sync_recv(j->sync_parent, &m, &fd, err) < 0)
                        return -err->code;
                if (m.type == RT_SYNC_PTY && fd >= 0) {
                        j->pty_master = fd;
                        continue;
                }
                if (m.type == RT_SYNC_NOTIFY && fd >= 0) {
                        j->notify_fd = fd;
                        continue;
                }
                if (fd >= 0)
                        (void)close(fd);
                if (m.type == RT_SYNC_ERROR) {
                        *err = m.err;
                        return -err->code;
                }
                if (m.type == RT_SYNC_EXEC_FAIL)
                        log_error("%s", m.err.msg);
                return 0;
        }
}

/* Jail root is an unprivileged host uid: it must be able to walk down to its sandbox dir. */
static int step_state_dir(struct rt_jail *j, struct aio_err *err)
{
        cleanup_free char *path = aio_xstrdup(j->cfg->state_dir);
        struct stat st;

        if (aio_mkdir_p(path, 0711, err) < 0)
                return aio_error_prefix(err, "--state-dir");
        if (geteuid() != 0)
                return 0; /* rootless: jail root is our own uid */
        for (char *s = path + strlen(path); s; s = s > path ? strrchr(path, '/') : NULL) {
                *s = '\0';
                if (stat(path[0] ? path : "/", &st) < 0)
                        return aio_error(err, errno, "stat %s", path);
                if (!(st.st_mode & S_IXOTH))
                        return aio_error_msg(
                                err, EACCES,
                                "--state-dir %s: %s is not searchable by other users (mode %o), so jails cannot reach their root (chmod o+x it or choose another --state-dir)",
                                j->cfg->state_dir, path[0] ? path : "/",
                                (unsigned)(st.st_mode & 07777));
        }
        return 0;
}

static int step_listen(struct rt_jail *j, struct aio_err *err)
{
        if (!j->cfg->up)
                return 0;
        j->listen_fd = rt_up_listen(j->cfg->listen ? j->cfg->listen : RT_UP_DEFAULT_LISTEN,
                                    j->cfg->insecure || rt_up_has_auth(j->cfg->env), err);
        if (j->listen_fd < 0)
                return j->listen_fd;
        if (j->cfg->socket) {
                j->unix_fd = rt_up_unix_listen(j->cfg->socket, err);
                if (j->unix_fd < 0)
                        return j->unix_fd;
        }
        return 0;
}

/* up: the sandbox counts as started once its API answers; then the URL is printed. */
static int step_api(struct rt_jail *j, struct aio_err *err)
{
        char url[128];

        if (!j->cfg->up)
                return 0;
        if (rt_up_wait_ready(j->listen_fd, j->pidfd, RT_UP_READY_MS, err) < 0 ||
            rt_up_url(j->listen_fd, url, sizeof(url), err) < 0)
                return -err->code;
        if (rt_up_record(j->dir, url, err) < 0)
                return -err->code;
        if (j->cfg->ready_fd >= 0) {
                (void)dprintf(j->cfg->ready_fd, "%s\n", url);
                return 0;
        }
        (void)printf("%s\n", url);
        (void)fflush(stdout);
        return 0;
}

/* --workspace: the idmapped tree is made here, where any map may be written, and inherited. */
static int step_workspace(struct rt_jail *j, struct aio_err *err)
{
        if (!j->cfg->workspace)
                return 0;
        if (j->ids.slot < 0)
                return aio_error_msg(err, EPERM,
                                     "--workspace needs a uid range (run aio-run as root)");
        j->workspace_fd = rt_workspace_tree(j->cfg->workspace, j->ids.base + RT_WORKSPACE_UID,
                                            j->ids.base + RT_WORKSPACE_UID, err);
        return j->workspace_fd < 0 ? j->workspace_fd : 0;
}

/* clang-format off */
static const struct rt_step rt_parent_steps[] = {
        { "state-dir",   step_state_dir },
        { "seccomp",     step_seccomp },     /* read the compiled filter before anything */
        { "listen",      step_listen },      /* up: the API socket, in the host netns */
        { "rootfs",      step_image },       /* unpack a tarball once, into the store */
        { "uid-range",   step_ids },
        { "workspace",   step_workspace },   /* up: the host directory, idmapped to gem */
        { "sandbox-dir", rt_sandbox_create },
        { "cgroup",      step_cgroup },
        { "clone",       step_clone },       /* user, mount, pid, uts, ipc, net namespaces */
        { "user-ns",     step_maps },
        { "go",          step_go },          /* with the idmapped tree: the jail mounts... */
        { "cgroup-join", step_cgroup_join }, /* ...while v1 moves it; it waits before its cgroup ns */
        { "jail",        step_ready },       /* the child's steps, reported back */
        { "api",         step_api },         /* up: aio-apid answers */
};
/* clang-format on */

const struct rt_step *rt_parent_steps_get(size_t *ret_len)
{
        *ret_len = ELEMENTSOF(rt_parent_steps);
        return rt_parent_steps;
}

void rt_jail_notified(struct rt_jail *j)
{
        struct aio_err err;

        if (rt_seccomp_log_answer(j->notify_fd, &j->bpf, &err) < 0) {
                log_error("--seccomp-log: %s", err.msg);
                closep(&j->notify_fd); /* the command's refused calls now fail with ENOSYS */
        }
}

static int wait_exit(struct rt_jail *j, struct aio_err *err)
{
        struct pollfd p[3] = {{.fd = j->pidfd, .events = POLLIN},
                              {.fd = j->sync_sig, .events = POLLIN},
                              {.fd = j->notify_fd, .events = POLLIN}};
        siginfo_t si = {0};

        if (j->pty_master >= 0) {
                if (rt_tty_relay(j, err) < 0)
                        return -err->code;
        } else {
                while (!(p[0].revents & POLLIN)) {
                        int sig;

                        if (poll(p, 3, -1) < 0 && errno != EINTR)
                                return aio_error(err, errno, "poll");
                        if (p[1].revents & POLLIN && (sig = take_signal(j->sync_sig)) &&
                            sig != SIGWINCH)
                                (void)syscall(SYS_pidfd_send_signal, j->pidfd, sig, NULL, 0);
                        if (p[2].revents & POLLIN)
                                rt_jail_notified(j);
                        p[2].fd = j->notify_fd;
                }
        }
        if (waitid(P_PIDFD, (id_t)j->pidfd, &si, WEXITED) < 0)
                return aio_error(err, errno, "wait for the jail");
        j->pid = 0;
        if (si.si_code == CLD_EXITED)
                return si.si_status;
        return 128 + si.si_status;
}

static void report_limits(struct rt_jail *j, int *code)
{
        struct rt_cgroup_events ev = {0};
        struct aio_err ignored;
        char size[32];

        if (!j->cg || rt_cgroup_events(j->cg, &ev, &ignored) < 0)
                return;
        if (ev.oom_kills) {
                (void)snprintf(size, sizeof(size), "%lldMiB",
                               (long long)(j->cfg->limits.memory >> 20));
                log_error("the command was killed by the memory limit (--memory %s)", size);
                if (*code < 128)
                        *code = 128 + SIGKILL;
        }
        if (ev.pids_limit)
                log_warn("%llu process creations were refused by the pids limit (--pids %lld)",
                         (unsigned long long)ev.pids_limit, (long long)j->cfg->limits.pids);
}

static void cleanup(struct rt_jail *j)
{
        struct aio_err err;

        if (j->pid > 0) {
                (void)syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
                (void)waitpid(j->pid, NULL, 0);
        }
        if (j->cg && rt_cgroup_destroy(j->cg, &err) < 0)
                log_warn("cgroup: %s", err.msg);
        log_debug("cgroup removed");
        rt_sandbox_remove(j);
        log_debug("sandbox removed");
        rt_idrange_release(&j->ids);
        rt_bpf_free(&j->bpf);
        closep(&j->sync_parent);
        closep(&j->sync_child);
        closep(&j->pidfd);
        closep(&j->pty_master);
        closep(&j->tree_fd);
        closep(&j->sync_sig);
        closep(&j->notify_fd);
        closep(&j->listen_fd);
        if (j->unix_fd >= 0) {
                closep(&j->unix_fd);
                (void)unlink(j->cfg->socket);
        }
        closep(&j->workspace_fd);
        for (size_t i = 0; i < j->n_work_fds; i++)
                closep(&j->work_fds[i]);
        free(j->id);
        free(j->dir);
        free(j->root_path);
        free(j->lower_path);
        free(j->image);
        closep(&j->image_lock);
}

static int block_signals(struct aio_err *err)
{
        sigset_t set;
        int fd;

        sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(rt_handled_signals); i++) {
                sigaddset(&set, rt_handled_signals[i]);
                /* An ignored signal never reaches a signalfd: a shell starts background jobs
                 * with SIGINT ignored, and Ctrl-C or kill -INT must still stop the sandbox. */
                (void)signal(rt_handled_signals[i], SIG_DFL);
        }
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
                return aio_error(err, errno, "signals");
        return fd;
}

int rt_jail_run(const struct rt_config *cfg, struct aio_err *err)
{
        struct rt_jail j = {.cfg = cfg,
                            .lock_fd = -1,
                            .image_lock = -1,
                            .ids = {.slot = -1, .lock_fd = -1},
                            .sync_parent = -1,
                            .sync_child = -1,
                            .tree_fd = -1,
                            .root_fd = -1,
                            .pidfd = -1,
                            .pty_master = -1,
                            .tty_slave = -1,
                            .sync_sig = -1,
                            .notify_fd = -1,
                            .listen_fd = -1,
                            .unix_fd = -1,
                            .workspace_fd = -1};
        int code;

        j.sync_sig = block_signals(err);
        if (j.sync_sig < 0 ||
            rt_steps_run(rt_parent_steps, ELEMENTSOF(rt_parent_steps), &j, err) < 0) {
                cleanup(&j);
                return RT_EXIT_LAUNCHER;
        }
        code = wait_exit(&j, err);
        if (code < 0) {
                cleanup(&j);
                return RT_EXIT_LAUNCHER;
        }
        log_debug("command exited");
        report_limits(&j, &code);
        cleanup(&j);
        return code;
}
