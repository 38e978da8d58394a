#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

#include "api/child.h"

int api_spawn(const char *const argv[], int stdout_fd, bool quiet, struct aio_err *err)
{
        struct api_child c = {
                .path = argv[0],
                .argv = (char *const *)argv,
                .fds = {-1, stdout_fd >= 0 ? stdout_fd : STDOUT_FILENO, quiet ? -1 : STDERR_FILENO},
        };
        int pid = api_child_start(&c, err);

        return pid < 0 ? aio_error_prefix(err, "spawn %s", argv[0]) : pid;
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
