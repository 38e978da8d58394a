/* aio-run's side of an unpack: runs aio-unpack (unpack-main.c), installed next to aio-run, and
 * reads the unpacked root from its stdout. The unpack is a separate program so that aio-run does
 * not load libarchive (and libxml2, ICU, libstdc++...) at every start: this file must not use
 * libarchive, nor call anything in store.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/exe.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "store.h"

#define HELPER_NAME    "aio-unpack"
#define HELPER_OUT_MAX 4096 /* its stdout: one path */

extern char **environ;

/* The helper's output, as it comes. */
struct helper_out {
        char buf[HELPER_OUT_MAX];
        size_t len;   /* kept in buf */
        size_t total; /* read: more than len means it did not fit */
        int sig;      /* a signal we passed on to the helper */
};

/* stdin /dev/null, stdout the pipe, stderr ours (progress and entry-level errors reach the
 * user); no signal blocked: aio-run blocks the ones it takes through its signalfd. */
static int helper_spawn(const char *tool, const char *const argv[], int out_fd, pid_t *ret_pid,
                        struct aio_err *err)
{
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGWINCH, SIGPIPE};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, dfl;
        int r;

        (void)sigemptyset(&none);
        (void)sigemptyset(&dfl);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void)sigaddset(&dfl, sigs[i]);
        if (posix_spawn_file_actions_init(&fa) != 0)
                return aio_error(err, ENOMEM, "run %s", tool);
        if (posix_spawnattr_init(&attr) != 0) {
                (void)posix_spawn_file_actions_destroy(&fa);
                return aio_error(err, ENOMEM, "run %s", tool);
        }
        /* dup2 first: the pipe may have been given fd 0 if aio-run started without a stdin. */
        r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &dfl);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawn(ret_pid, tool, &fa, &attr, (char *const *)argv, environ);
        (void)posix_spawnattr_destroy(&attr);
        (void)posix_spawn_file_actions_destroy(&fa);
        return r == 0 ? 0 : aio_error(err, r, "run %s", tool);
}

/* A TERM, INT, HUP or QUIT for aio-run while the helper works: passed on, so that it stops. */
static void helper_signal(int sigfd, pid_t pid, struct helper_out *out)
{
        struct signalfd_siginfo si;

        if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si) || si.ssi_signo == SIGWINCH)
                return;
        out->sig = (int)si.ssi_signo;
        (void)kill(pid, out->sig);
}

static int helper_read(int fd, int sigfd, pid_t pid, struct helper_out *out, struct aio_err *err)
{
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
        char chunk[512];

        for (;;) {
                ssize_t n;
                size_t room = sizeof(out->buf) - 1 - out->len;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return aio_error(err, errno, "poll");
                }
                if (p[1].revents & POLLIN)
                        helper_signal(sigfd, pid, out);
                if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return aio_error(err, errno, "read from %s", HELPER_NAME);
                if (n == 0)
                        return 0;
                memcpy(out->buf + out->len, chunk, (size_t)n < room ? (size_t)n : room);
                out->len += (size_t)n < room ? (size_t)n : room;
                out->total += (size_t)n;
        }
}

static int helper_wait(pid_t pid, const struct helper_out *out, const char *tarball,
                       struct aio_err *err)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return aio_error(err, errno, "wait for %s", HELPER_NAME);
        if (out->sig)
                return aio_error_msg(err, EINTR, "interrupted by signal %d while unpacking %s",
                                     out->sig, tarball);
        if (WIFSIGNALED(status))
                return aio_error_msg(err, EIO, "%s was killed by signal %d while unpacking %s",
                                     HELPER_NAME, WTERMSIG(status), tarball);
        if (WEXITSTATUS(status) != 0)
                return aio_error_msg(err, EIO,
                                     "%s could not be unpacked (%s exited with status %d, its "
                                     "message is above)",
                                     tarball, HELPER_NAME, WEXITSTATUS(status));
        return 0;
}

/* One line: <state_dir>/images/<sha256>/rootfs, as rt_store_unpack() makes it. */
static int helper_result(const char *state_dir, struct helper_out *out, char **ret_dir,
                         struct aio_err *err)
{
        cleanup_free char *prefix = aio_xasprintf("%s/images/", state_dir);
        size_t n = out->len;

        if (out->total == n && n > 0 && out->buf[n - 1] == '\n')
                out->buf[--n] = '\0';
        else
                n = 0;
        if (n == 0 || strchr(out->buf, '\n') || strncmp(out->buf, prefix, strlen(prefix)) != 0 ||
            n < strlen(prefix) + 7 || strcmp(out->buf + n - 7, "/rootfs") != 0)
                return aio_error_msg(err, EPROTO, "%s printed no store directory", HELPER_NAME);
        *ret_dir = aio_xstrdup(out->buf);
        return 0;
}

int rt_store_helper_run(const char *state_dir, const char *tarball, int sigfd, char **ret_dir,
                        struct aio_err *err)
{
        cleanup_free char *dir = NULL, *tool = NULL;
        cleanup_free struct helper_out *out = aio_xcalloc(1, sizeof(*out));
        const char *argv[8];
        int p[2] = {-1, -1}, r;
        size_t n = 0;
        pid_t pid;

        if (aio_exe_dir(&dir, err) < 0)
                return aio_error_prefix(err, "find %s", HELPER_NAME);
        tool = aio_xasprintf("%s/%s", dir, HELPER_NAME);
        argv[n++] = HELPER_NAME;
        if (aio_log_level >= AIO_LOG_DEBUG)
                argv[n++] = "-v";
        argv[n++] = "--state-dir";
        argv[n++] = state_dir;
        argv[n++] = "--";
        argv[n++] = tarball;
        argv[n] = NULL;
        if (pipe2(p, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        r = helper_spawn(tool, argv, p[1], &pid, err);
        (void)close(p[1]);
        if (r < 0) {
                (void)close(p[0]);
                return r;
        }
        r = helper_read(p[0], sigfd, pid, out, err);
        (void)close(p[0]);
        if (r < 0) {
                (void)kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                return r;
        }
        r = helper_wait(pid, out, tarball, err);
        return r < 0 ? r : helper_result(state_dir, out, ret_dir, err);
}
