#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/workcg.h"

extern char **environ;

enum child_step { STEP_SIGNALS, STEP_GROUP, STEP_STDIO, STEP_CHDIR, STEP_CGROUP, STEP_EXEC };

static const char *const step_names[] = {
        [STEP_SIGNALS] = "signals", [STEP_GROUP] = "process group",    [STEP_STDIO] = "stdio",
        [STEP_CHDIR] = "chdir",     [STEP_CGROUP] = "the work cgroup", [STEP_EXEC] = "exec",
};

struct child_failure {
        int step;
        int code;
};

__attribute__((noreturn)) static void child_fail(int report, enum child_step step)
{
        struct child_failure f = {(int)step, errno};

        (void)!write(report, &f, sizeof(f));
        _exit(127);
}

static int stdio_place(const int fds[3])
{
        int null = -1, src[3];

        /* sources first out of 0..2, so one dup2 cannot clobber the next one's source */
        for (int i = 0; i < 3; i++) {
                if (fds[i] < 0) {
                        if (null < 0 && (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
                                return -1;
                        src[i] = fcntl(null, F_DUPFD_CLOEXEC, 3);
                } else {
                        src[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                }
                if (src[i] < 0)
                        return -1;
        }
        for (int i = 0; i < 3; i++)
                if (dup2(src[i], i) < 0)
                        return -1;
        return 0;
}

__attribute__((noreturn)) static void child_main(const struct api_child *c, int report)
{
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigset_t none;

        (void)sigemptyset(&none);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)sigaction(sig, &dfl, NULL);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                child_fail(report, STEP_SIGNALS);
        if (c->session ? setsid() < 0 : setpgid(0, 0) < 0)
                child_fail(report, STEP_GROUP);
        if (stdio_place(c->fds) < 0)
                child_fail(report, STEP_STDIO);
        if (c->session && isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                child_fail(report, STEP_GROUP);
        if (c->dir && chdir(c->dir) < 0)
                child_fail(report, STEP_CHDIR);
        if (c->workcg && api_workcg_enter(c->workcg) < 0)
                child_fail(report, STEP_CGROUP);
        (void)execve(c->path, c->argv, c->envp ? c->envp : environ);
        child_fail(report, STEP_EXEC);
}

int api_child_start(const struct api_child *c, struct aio_err *err)
{
        struct child_failure f;
        int report[2], status;
        pid_t pid;
        ssize_t n;

        if (pipe2(report, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                int e = errno;

                (void)close(report[0]);
                (void)close(report[1]);
                return aio_error(err, e, "fork");
        }
        if (pid == 0)
                child_main(c, report[1]);
        (void)close(report[1]);
        do
                n = read(report[0], &f, sizeof(f));
        while (n < 0 && errno == EINTR);
        (void)close(report[0]);
        if (n != (ssize_t)sizeof(f))
                return pid; /* end of file: exec closed the pipe */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (f.step == STEP_EXEC || f.step == STEP_CHDIR)
                return aio_error(err, f.code, "%s %s", step_names[f.step],
                                 f.step == STEP_EXEC ? c->path : c->dir);
        return aio_error(err, f.code, "start %s: %s", c->path, step_names[f.step]);
}
