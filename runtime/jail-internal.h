#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

#include "cgroup.h"
#include "seccomp.h"
#include "userns.h"

struct rt_config;
struct aio_err;

/* One sandbox being built and run. Owned by rt_jail_run(); the jail child gets a copy. */
struct rt_jail {
        const struct rt_config *cfg;
        char *id;  /* sandbox name */
        char *dir; /* <state>/sandboxes/<id> */
        /* <state>/mnt/{root,lower}: mount points of the new root and of the idmapped image.
         * Every sandbox mounts there, each in its own mount namespace, so they are shared. */
        char *root_path;
        char *lower_path;
        char *image;    /* image directory (DIR or unpacked tarball); NULL for host */
        int image_lock; /* shared flock on the image's store entry (rm/prune skip it), or -1 */
        int lock_fd;    /* flock on <dir>/lock: held while the sandbox lives */
        struct rt_idrange ids;
        struct rt_cgroup *cg;
        struct rt_bpf bpf;
        int sync_parent, sync_child; /* socketpair ends */
        int tree_fd;                 /* child: idmapped image or /usr tree, or -1 */
        int root_fd;                 /* child: O_PATH of the new root */
        pid_t pid;                   /* jail init, as the host sees it */
        int pidfd;
        int pty_master; /* parent, with -t */
        int tty_slave;  /* init -> command, with -t */
        int sync_sig;   /* parent: signalfd of the signals it forwards */
        int notify_fd;  /* parent: seccomp listener with --seccomp-log */
        int listen_fd;  /* up: the API's listening socket, fd 3 of aio-apid */
        int unix_fd;    /* up --socket: the Unix one, fd 4 of aio-apid */
        /* up: the work leaf's cgroup.procs (one per hierarchy), then its memory and pids event
         * files (see rt_cgroup_work_open); fds 4... (5... with --socket) of aio-apid */
        int work_fds[RT_CGROUP_WORK_FDS_MAX];
        int workspace_fd; /* --workspace: the idmapped tree, attached by the jail */
        size_t n_work_fds;
        int saved_errno;
};

/* What the command's process reports through its close-on-exec pipe when it cannot exec. */
struct rt_exec_result {
        int code; /* exit code: 125 set-up, 126 cannot execute, 127 not found */
        struct aio_err err;
};

/* --seccomp-log: answers and reports one refused syscall of the command (jail.c). */
void rt_jail_notified(struct rt_jail *j);

/* The jail side: set-up steps, then becomes pid 1. Never returns. */
__attribute__((noreturn)) void rt_child_main(struct rt_jail *j);
/* Pid 1 of a pid namespace ignores its own fatal signals (a fault would loop forever): exit on
 * them instead. First thing the jail child does. */
void rt_init_die_on_faults(void);
/* Pid 1 of the jail: starts the command and supervises it. Never returns. */
__attribute__((noreturn)) void rt_init_main(struct rt_jail *j);
/* The command's side, in the forked child of init: hygiene steps, then execve. */
__attribute__((noreturn)) void rt_exec_command(struct rt_jail *j, int tty_slave, int err_pipe);

/* Sandbox directory and its lock (sandbox.c). */
int rt_sandbox_create(struct rt_jail *j, struct aio_err *err);
void rt_sandbox_remove(struct rt_jail *j);
int rt_sandbox_gc(const char *state_dir, struct aio_err *err);

/* Terminal pass-through (tty.c): copies between our stdio and the pty master until the jail
 * exits (pidfd becomes readable); sigfd delivers SIGWINCH (followed) and signals to forward. */
int rt_tty_relay(struct rt_jail *j, struct aio_err *err);
