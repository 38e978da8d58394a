/* The command's side: the child of the jail's init drops everything it will not need, in the
 * order of rt_exec_steps (seccomp last), then executes the command. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/capabilities.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"

#include "caps.h"
#include "config.h"
#include "jail-internal.h"
#include "jail.h"
#include "seccomp-log.h"
#include "seccomp.h"
#include "step.h"
#include "sync.h"

#define RT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/aio/bin"

static uid_t target_uid(const struct rt_config *c)
{
        return c->user_set ? c->uid : 0;
}

static const char *home_of(uid_t uid)
{
        return uid == 0 ? "/root" : uid == 1000 ? "/home/gem" : "/";
}

static int step_session(struct rt_jail *j, struct aio_err *err)
{
        sigset_t none;

        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        /* Nothing of the launcher's signal set-up (or of whoever started it) reaches the jail. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)signal(sig, SIG_DFL);
        /* A new session: no controlling terminal to push keystrokes into (CVE-2017-5226). */
        if (setsid() < 0)
                return aio_error(err, errno, "setsid");
        if (j->tty_slave < 0)
                return 0;
        if (ioctl(j->tty_slave, TIOCSCTTY, 0) < 0)
                return aio_error(err, errno, "make the pty the controlling terminal");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(j->tty_slave, fd) < 0)
                        return aio_error(err, errno, "dup2 pty");
        if (j->tty_slave > 2)
                closep(&j->tty_slave);
        return 0;
}

static int step_rlimits(struct rt_jail *j, struct aio_err *err)
{
        struct rlimit none = {0, 0};

        if (setrlimit(RLIMIT_CORE, &none) < 0)
                return aio_error(err, errno, "RLIMIT_CORE");
        for (size_t i = 0; i < j->cfg->n_rlimits; i++) {
                const struct rt_rlimit *r = &j->cfg->rlimits[i];
                struct rlimit l = {.rlim_cur = r->soft, .rlim_max = r->hard};

                if (setrlimit(r->resource, &l) < 0)
                        return aio_error(err, errno, "--rlimit %d=%llu:%llu", r->resource,
                                         (unsigned long long)r->soft, (unsigned long long)r->hard);
        }
        return 0;
}

static int step_environment(struct rt_jail *j, struct aio_err *err)
{
        const struct rt_config *c = j->cfg;
        uid_t uid = target_uid(c);
        const char *user = uid == 0 ? "root" : uid == 1000 ? "gem" : NULL;
        const char *term = getenv("TERM");
        char term_copy[64] = "xterm-256color";

        if (term && strlen(term) < sizeof(term_copy))
                (void)snprintf(term_copy, sizeof(term_copy), "%s", term);
        if (clearenv() != 0)
                return aio_error_msg(err, ENOMEM, "clearenv");
        if (setenv("PATH", RT_PATH, 1) < 0 || setenv("HOME", home_of(uid), 1) < 0 ||
            setenv("HOSTNAME", c->hostname ? c->hostname : j->id, 1) < 0 ||
            setenv("LANG", "C.UTF-8", 1) < 0 || setenv("container", "aio", 1) < 0 ||
            (user && (setenv("USER", user, 1) < 0 || setenv("LOGNAME", user, 1) < 0)) ||
            (c->tty && setenv("TERM", term_copy, 1) < 0))
                return aio_error(err, errno, "setenv");
        for (size_t i = 0; i < c->n_env; i++)
                if (putenv(c->env[i]) != 0)
                        return aio_error(err, errno, "--env %s", c->env[i]);
        return 0;
}

static int step_caps(struct rt_jail *j, struct aio_err *err)
{
        const struct rt_config *c = j->cfg;

        return rt_caps_apply(c->caps_set ? c->caps : aio_caps_default(), target_uid(c),
                             c->user_set ? c->gid : 0, err);
}

static int step_workdir(struct rt_jail *j, struct aio_err *err)
{
        const char *dir = j->cfg->workdir;
        char cwd[4096];
        struct stat st;

        if (!dir) {
                dir = home_of(target_uid(j->cfg));
                if (stat(dir, &st) < 0)
                        dir = "/";
        }
        if (chdir(dir) < 0)
                return aio_error(err, errno, "--workdir %s", dir);
        /* A cwd outside the jail's root reads "(unreachable)..." (CVE-2024-21626). */
        if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
                return aio_error_msg(err, EPERM, "working directory %s is outside the jail", dir);
        return 0;
}

static int step_no_new_privs(struct rt_jail *j, struct aio_err *err)
{
        (void)j;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return aio_error(err, errno, "no_new_privs");
        return 0;
}

/* up: the work leaf's fds become first...; AIO_WORK_CGROUP says which is which:
 * "procs=4,5,6 oom=7 pids=8". Moved out of the way first: one may sit on 3 or on a target. */
static int work_fds_place(struct rt_jail *j, size_t first, struct aio_err *err)
{
        char env[128] = "procs=";
        size_t n = j->n_work_fds, len = strlen(env);

        for (size_t i = 0; i < n; i++) {
                int fd = fcntl(j->work_fds[i], F_DUPFD_CLOEXEC, 64);

                if (fd < 0)
                        return aio_error(err, errno, "dup the work cgroup fds");
                j->work_fds[i] = fd;
        }
        for (size_t i = 0; i < n; i++) {
                if (dup2(j->work_fds[i], (int)(first + i)) < 0)
                        return aio_error(err, errno, "place the work cgroup fds");
                if (i < n - 2)
                        len += (size_t)snprintf(env + len, sizeof(env) - len, "%s%zu", i ? "," : "",
                                                first + i);
        }
        (void)snprintf(env + len, sizeof(env) - len, " oom=%zu pids=%zu", first + n - 2,
                       first + n - 1);
        if (setenv("AIO_WORK_CGROUP", env, 1) < 0)
                return aio_error(err, errno, "setenv AIO_WORK_CGROUP");
        return 0;
}

/* Listening sockets first, then the work fds. */
static size_t first_work_fd(const struct rt_jail *j)
{
        return j->unix_fd >= 0 ? 5 : 4;
}

/* aio-run up: the listening socket becomes fd 3 (the Unix one fd 4), as systemd socket
 * activation passes them. */
static int step_listen_fd(struct rt_jail *j, struct aio_err *err)
{
        char pid[16];

        if (j->listen_fd < 0)
                return 0;
        /* out of the way of 3... first */
        j->listen_fd = fcntl(j->listen_fd, F_DUPFD_CLOEXEC, 64);
        if (j->listen_fd < 0 ||
            (j->unix_fd >= 0 && (j->unix_fd = fcntl(j->unix_fd, F_DUPFD_CLOEXEC, 64)) < 0))
                return aio_error(err, errno, "dup the API sockets");
        if (j->n_work_fds >= 2 && work_fds_place(j, first_work_fd(j), err) < 0)
                return -err->code;
        if (dup2(j->listen_fd, 3) < 0 || (j->unix_fd >= 0 && dup2(j->unix_fd, 4) < 0))
                return aio_error(err, errno, "make the API sockets fds 3 and 4");
        (void)snprintf(pid, sizeof(pid), "%d", (int)getpid());
        if (setenv("LISTEN_FDS", j->unix_fd >= 0 ? "2" : "1", 1) < 0 ||
            setenv("LISTEN_PID", pid, 1) < 0)
                return aio_error(err, errno, "setenv LISTEN_FDS");
        return 0;
}

static int step_close_fds(struct rt_jail *j, struct aio_err *err)
{
        /* everything but stdio (and up's fds) is gone at exec */
        if (j->listen_fd < 0)
                return aio_fds_cloexec_from(3, err);
        return aio_fds_cloexec_from((int)(first_work_fd(j) + j->n_work_fds), err);
}

static int step_seccomp(struct rt_jail *j, struct aio_err *err)
{
        struct rt_sync_msg m = {.type = RT_SYNC_NOTIFY};
        int listener, r;

        if (!j->cfg->seccomp_log || !j->bpf.insns)
                return rt_seccomp_install(&j->bpf, err);
        listener = rt_seccomp_install_logged(&j->bpf, err);
        if (listener < 0)
                return listener;
        /* The launcher answers the refusals; init's sync socket is still open in this child. */
        r = rt_sync_send(j->sync_child, &m, listener, err);
        (void)close(listener);
        return r;
}

/* clang-format off */
static const struct rt_step rt_exec_steps[] = {
        { "session",      step_session },      /* setsid, the pty if any */
        { "rlimits",      step_rlimits },      /* RLIMIT_CORE 0 first */
        { "environment",  step_environment },  /* cleared to a known set */
        { "caps",         step_caps },         /* bounding, uid/gid, effective+permitted */
        { "workdir",      step_workdir },      /* as the target user */
        { "no-new-privs", step_no_new_privs },
        { "listen-fd",    step_listen_fd },    /* up: the API socket as fd 3 */
        { "close-fds",    step_close_fds },    /* everything above stdio is close-on-exec */
        { "seccomp",      step_seccomp },      /* last: after this, only execve */
};
/* clang-format on */

const struct rt_step *rt_exec_steps_get(size_t *ret_len)
{
        *ret_len = ELEMENTSOF(rt_exec_steps);
        return rt_exec_steps;
}

void rt_exec_command(struct rt_jail *j, int tty_slave, int err_pipe)
{
        struct rt_exec_result res = {.code = RT_EXIT_LAUNCHER};
        char **argv = j->cfg->argv;

        j->tty_slave = tty_slave;
        if (rt_steps_run(rt_exec_steps, ELEMENTSOF(rt_exec_steps), j, &res.err) == 0) {
                execvp(argv[0], argv);
                (void)aio_error(&res.err, errno, "execute %s", argv[0]);
                res.code = errno == ENOENT ? RT_EXIT_NOT_FOUND : RT_EXIT_CANNOT_EXEC;
        }
        (void)aio_write_full(err_pipe, &res, sizeof(res), &(struct aio_err){0});
        _exit(res.code);
}
