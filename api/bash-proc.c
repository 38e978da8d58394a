/* The process side of /v1/bash: `bash -c` started by api_child_start() in its own process group
 * with three pipes, and one reader thread that moves pipe bytes into the session streams, reaps
 * through pidfds and enforces deadlines, so no handler ever blocks on a child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "api/bash-internal.h"
#include "api/child.h"
#include "api/spawn.h"

#define READ_CHUNK   (64u << 10)
#define READ_BURST   4              /* chunks per event: other pipes get their turn */
#define DRAIN_MAX    (4u << 20)     /* read after the exit, before the pipes are closed */
#define SWEEP_EVERY  INT64_C(30000) /* idle sessions, ms */
#define NOPIDFD_POLL 100            /* ms, when pidfd_open() is refused */

static void close_pair(int p[2])
{
        closep(&p[0]);
        closep(&p[1]);
}

static int do_spawn(struct api_bash *b, const char *script, const char *dir, char *const envp[],
                    const int child[3], pid_t *ret_pid, struct aio_err *err)
{
        const char *argv[] = {b->cfg.shell, "-c", script, NULL};
        struct api_child c = {
                .path = b->cfg.shell,
                .argv = (char *const *)argv,
                .envp = envp,
                .fds = {child[0], child[1], child[2]},
                .dir = dir,
                .workcg = b->cfg.workcg,
        };
        int pid = api_child_start(&c, err);

        if (pid < 0)
                return pid;
        *ret_pid = pid;
        return 0;
}

static int watch(struct api_bash *b, struct bash_cmd *c, enum bash_fd_kind kind, int fd)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->fds[kind]};

        int r = 0;

        if ((kind != BASH_FD_PID && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) ||
            epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                r = -errno;
        if (r < 0) {
                closep(&fd); /* a child without a pidfd is polled; its pipe is lost */
                fd = -1;
        }
        c->fds[kind] = (struct bash_fdref){.cmd = c, .kind = kind, .fd = fd};
        return r;
}

static void unwatch(struct api_bash *b, struct bash_fdref *f)
{
        if (f->fd < 0)
                return;
        (void)epoll_ctl(b->epfd, EPOLL_CTL_DEL, f->fd, NULL);
        closep(&f->fd);
        f->fd = -1;
}

int bash_spawn(struct api_bash *b, struct bash_cmd *c, const char *script, const char *dir,
               char *const envp[], struct aio_err *err)
{
        int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, r, pidfd;
        pid_t pid;

        for (int i = 0; i < _BASH_FD_MAX; i++)
                c->fds[i] = (struct bash_fdref){.cmd = c, .kind = (enum bash_fd_kind)i, .fd = -1};
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
                r = aio_error(err, errno, "pipe");
                goto out;
        }
        api_workcg_mark(b->cfg.workcg, &c->ev_start);
        r = do_spawn(b, script, dir, envp, (const int[3]){in[0], out[1], er[1]}, &pid, err);
        if (r < 0) {
                r = aio_error_prefix(err, "cannot start %s in %s", b->cfg.shell, dir);
                goto out;
        }
        c->pid = pid;
        c->in_fd = take_fd(&in[1]);
        (void)fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        /* each on its own: a failure costs that pipe's output, or the pidfd (then polled) */
        r = watch(b, c, BASH_FD_OUT, take_fd(&out[0]));
        r |= watch(b, c, BASH_FD_ERR, take_fd(&er[0]));
        if (pidfd >= 0)
                r |= watch(b, c, BASH_FD_PID, pidfd);
        if (r)
                log_debug("bash: cannot watch all of command %s", c->id);
        r = 0;
out:
        close_pair(in);
        close_pair(out);
        close_pair(er);
        return r;
}

void bash_cmd_signal(struct bash_cmd *c, int sig)
{
        if (c->pid > 0 && kill(-c->pid, sig) < 0)
                (void)kill(c->pid, sig);
}

/* Reads what is there; returns false at end of file or on an error (the fd is then closed). */
static bool pipe_read(struct api_bash *b, struct bash_fdref *f, size_t max)
{
        struct bash_session *s = f->cmd->s;
        struct api_bstream *st = f->kind == BASH_FD_OUT ? &s->out : &s->err;

        for (size_t got = 0; got < max;) {
                char *p = api_bstream_reserve(st, READ_CHUNK);
                ssize_t n = read(f->fd, p, READ_CHUNK);

                if (n > 0) {
                        api_bstream_commit(st, (size_t)n);
                        got += (size_t)n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                unwatch(b, f);
                return false;
        }
        return true;
}

/* The exit status as upstream reports it (asyncio's returncode): the code, or -signal. */
static int exit_code_of(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return -WTERMSIG(status);
        return -1;
}

static void finish(struct api_bash *b, struct bash_cmd *c, int exit_code);

/* Reaps c if it exited: drains and closes its pipes (what its background children write later
 * is not waited for) and marks it finished. */
static bool try_reap(struct api_bash *b, struct bash_cmd *c)
{
        int status = 0;
        pid_t w = waitpid(c->pid, &status, WNOHANG);

        if (w == 0 || (w < 0 && errno == EINTR))
                return false;
        finish(b, c, w < 0 ? -1 : exit_code_of(status));
        return true;
}

static void finish(struct api_bash *b, struct bash_cmd *c, int exit_code)
{
        c->killed_by = api_workcg_killed_by(b->cfg.workcg, &c->ev_start, exit_code == -SIGKILL);
        c->pid = 0;
        c->has_exit = true;
        c->exit_code = exit_code;
        for (int i = BASH_FD_OUT; i <= BASH_FD_ERR; i++)
                if (c->fds[i].fd >= 0) {
                        (void)pipe_read(b, &c->fds[i], DRAIN_MAX);
                        unwatch(b, &c->fds[i]);
                }
        unwatch(b, &c->fds[BASH_FD_PID]);
        closep(&c->in_fd);
        c->in_fd = -1;
        bash_cmd_finished(b, c);
}

static void on_event(struct api_bash *b, struct bash_fdref *f)
{
        if (!f) {
                uint64_t v;

                (void)!read(b->evfd, &v, sizeof(v));
                return;
        }
        if (f->fd < 0 || !f->cmd->live)
                return;
        if (f->kind == BASH_FD_PID)
                (void)try_reap(b, f->cmd);
        else
                (void)pipe_read(b, f, (size_t)READ_CHUNK * READ_BURST);
}

static int64_t min_deadline(int64_t a, int64_t b)
{
        if (!a)
                return b;
        if (!b)
                return a;
        return a < b ? a : b;
}

/* Deadlines due now are acted on; returns the epoll timeout until the next one. */
static int deadlines(struct api_bash *b, int64_t now)
{
        int64_t next = b->next_sweep;

        for (size_t i = 0; i < b->n_live; i++) {
                struct bash_cmd *c = b->live[i];

                if (c->hard_deadline && now >= c->hard_deadline) {
                        c->hard_deadline = 0;
                        if (!c->end_status)
                                c->end_status = BASH_TIMED_OUT;
                        bash_cmd_signal(c, SIGKILL);
                }
                if (c->kill_deadline && now >= c->kill_deadline) {
                        c->kill_deadline = 0;
                        bash_cmd_signal(c, SIGKILL);
                }
                next = min_deadline(next, min_deadline(c->hard_deadline, c->kill_deadline));
                if (c->fds[BASH_FD_PID].fd < 0)
                        next = min_deadline(next, now + NOPIDFD_POLL);
        }
        if (next <= now)
                return 0;
        return next - now > 60000 ? 60000 : (int)(next - now);
}

/* Commands without a pidfd are polled; every finished one leaves the live list here. */
static void reap_unwatched(struct api_bash *b)
{
        for (size_t i = 0; i < b->n_live;) {
                struct bash_cmd *c = b->live[i];

                if (c->fds[BASH_FD_PID].fd < 0 && c->pid > 0 && try_reap(b, c))
                        continue; /* removed from live[i] */
                i++;
        }
}

static void *reader_main(void *arg)
{
        struct api_bash *b = arg;
        struct epoll_event ev[64];
        int timeout;

        (void)pthread_mutex_lock(&b->lock);
        while (!b->quit) {
                timeout = deadlines(b, api_now_ms());
                (void)pthread_mutex_unlock(&b->lock);
                int n = epoll_wait(b->epfd, ev, (int)ELEMENTSOF(ev), timeout);
                (void)pthread_mutex_lock(&b->lock);
                for (int i = 0; i < n; i++)
                        on_event(b, ev[i].data.ptr);
                reap_unwatched(b);
                bash_done_flush(b);
                if (api_now_ms() >= b->next_sweep) {
                        bash_sweep(b, api_now_ms());
                        b->next_sweep = api_now_ms() + SWEEP_EVERY;
                }
                (void)pthread_cond_broadcast(&b->cond);
        }
        (void)pthread_mutex_unlock(&b->lock);
        return NULL;
}

int bash_proc_start(struct api_bash *b, struct aio_err *err)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        int r;

        b->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (b->epfd < 0)
                return aio_error(err, errno, "epoll_create1");
        b->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->evfd < 0)
                return aio_error(err, errno, "eventfd");
        if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->evfd, &ev) < 0)
                return aio_error(err, errno, "epoll_ctl");
        b->next_sweep = api_now_ms() + SWEEP_EVERY;
        r = pthread_create(&b->thread, NULL, reader_main, b);
        if (r)
                return aio_error(err, r, "pthread_create");
        b->thread_started = true;
        return 0;
}

void bash_proc_join(struct api_bash *b)
{
        if (!b->thread_started)
                return;
        (void)pthread_mutex_lock(&b->lock);
        b->quit = true;
        (void)pthread_mutex_unlock(&b->lock);
        bash_kick(b);
        (void)pthread_join(b->thread, NULL);
        b->thread_started = false;
}

void bash_proc_reap_all(struct api_bash *b)
{
        while (b->n_live > 0) {
                struct bash_cmd *c = b->live[0];
                int status = 0;
                pid_t w;

                bash_cmd_signal(c, SIGKILL);
                do
                        w = waitpid(c->pid, &status, 0);
                while (w < 0 && errno == EINTR);
                finish(b, c, w == c->pid ? exit_code_of(status) : -SIGKILL);
        }
        bash_done_flush(b);
}

void bash_kick(struct api_bash *b)
{
        uint64_t one = 1;

        (void)!write(b->evfd, &one, sizeof(one));
}
