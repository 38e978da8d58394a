#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

extern char **environ;

static int spawn_setup(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa, int stdout_fd,
                       bool quiet)
{
        sigset_t none, dfl;
        int r;

        (void)sigemptyset(&none);
        (void)sigemptyset(&dfl);
        (void)sigaddset(&dfl, SIGPIPE);
        (void)sigaddset(&dfl, SIGTERM);
        (void)sigaddset(&dfl, SIGINT);
        (void)sigaddset(&dfl, SIGHUP);
        (void)sigaddset(&dfl, SIGCHLD);
        r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                   POSIX_SPAWN_SETPGROUP);
        if (!r)
                r = posix_spawnattr_setsigmask(attr, &none);
        if (!r)
                r = posix_spawnattr_setsigdefault(attr, &dfl);
        if (!r)
                r = posix_spawnattr_setpgroup(attr, 0);
        if (!r)
                r = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (!r && stdout_fd >= 0)
                r = posix_spawn_file_actions_adddup2(fa, stdout_fd, STDOUT_FILENO);
        if (!r && quiet)
                r = posix_spawn_file_actions_addopen(fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        return r;
}

int api_spawn(const char *const argv[], int stdout_fd, bool quiet, struct aio_err *err)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        pid_t pid;
        int r;

        if (posix_spawnattr_init(&attr) != 0)
                return aio_error(err, ENOMEM, "posix_spawnattr_init");
        if (posix_spawn_file_actions_init(&fa) != 0) {
                (void)posix_spawnattr_destroy(&attr);
                return aio_error(err, ENOMEM, "posix_spawn_file_actions_init");
        }
        r = spawn_setup(&attr, &fa, stdout_fd, quiet);
        if (!r)
                r = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
        (void)posix_spawn_file_actions_destroy(&fa);
        (void)posix_spawnattr_destroy(&attr);
        if (r)
                return aio_error(err, r, "spawn %s", argv[0]);
        return pid;
}

int64_t api_now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int api_wait_deadline(pid_t pid, int64_t deadline_ms, struct aio_err *err)
{
        struct timespec tick = {0, 5000000L};
        int status;

        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);

                if (w == pid)
                        return status;
                if (w < 0 && errno != EINTR)
                        return aio_error(err, errno, "waitpid %d", (int)pid);
                if (api_now_ms() >= deadline_ms)
                        break;
                (void)nanosleep(&tick, NULL);
        }
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return aio_error_msg(err, ETIMEDOUT, "pid %d killed after its deadline", (int)pid);
}
