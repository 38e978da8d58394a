#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/workcg.h"

#define STACK_SIZE (64u << 10) /* the child's, below a guard page: a few calls deep, then exec */
#define N_FDS      (3 + API_CHILD_EXTRA_MAX)

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

struct child_args {
        const struct api_child *c;
        int report;
};

/* ---- in the child: our memory, our thread's stack frozen; async-signal-safe calls only ------- */

__attribute__((noreturn)) static void child_fail(int report, enum child_step step)
{
        struct child_failure f = {(int)step, errno};

        (void)!write(report, &f, sizeof(f));
        _exit(127);
}

/* Every source out of the way first (above every destination), so one dup2 cannot clobber the
 * next one's source; then each onto its place, where dup2 clears close-on-exec. Returns the
 * highest destination, or -1. */
static int fds_place(const struct api_child *c)
{
        int src[N_FDS], dst[N_FDS], n = 0, top = 2, null = -1;

        for (int i = 0; i < 3; i++, n++)
                src[n] = c->fds[i], dst[n] = i;
        for (size_t i = 0; i < c->n_extra; i++, n++) {
                src[n] = c->extra[i].fd, dst[n] = c->extra[i].at;
                top = dst[n] > top ? dst[n] : top;
        }
        for (int i = 0; i < n; i++) {
                if (src[i] < 0 && null < 0 && (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
                        return -1;
                src[i] = fcntl(src[i] < 0 ? null : src[i], F_DUPFD_CLOEXEC, top + 1);
                if (src[i] < 0)
                        return -1;
        }
        for (int i = 0; i < n; i++)
                if (dup2(src[i], dst[i]) < 0)
                        return -1;
        return top;
}

/* Close-on-exec for every fd but 0..2 and the extra ones: whatever a library opened without
 * O_CLOEXEC does not reach the child. Best effort (close_range's flag needs Linux 5.11). */
static void others_cloexec(const struct api_child *c, int top)
{
        unsigned from = 3;

        for (int fd = 3; fd <= top; fd++) {
                bool kept = false;

                for (size_t i = 0; i < c->n_extra && !kept; i++)
                        kept = c->extra[i].at == fd;
                if (!kept)
                        continue;
                if ((unsigned)fd > from)
                        (void)close_range(from, (unsigned)fd - 1, CLOSE_RANGE_CLOEXEC);
                from = (unsigned)fd + 1;
        }
        (void)close_range(from, ~0u, CLOSE_RANGE_CLOEXEC);
}

static int child_main(void *arg)
{
        const struct child_args *a = arg;
        const struct api_child *c = a->c;
        /* the kernel's struct sigaction, all zeros whatever its layout: SIG_DFL, no flags */
        static const unsigned long dfl[8];
        sigset_t none;
        int top;

        /* our handlers must not run here, on memory the parent owns: all blocked since clone.
         * The raw call also resets glibc's own signals (32, 33), which sigaction() refuses. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)(NSIG - 1) / 8);
        (void)sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                child_fail(a->report, STEP_SIGNALS);
        if (c->session ? setsid() < 0 : setpgid(0, 0) < 0)
                child_fail(a->report, STEP_GROUP);
        top = fds_place(c);
        if (top < 0)
                child_fail(a->report, STEP_STDIO);
        if (c->session && isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                child_fail(a->report, STEP_GROUP);
        if (c->dir && chdir(c->dir) < 0 && (!c->dir_fallback || chdir(c->dir_fallback) < 0))
                child_fail(a->report, STEP_CHDIR);
        if (c->workcg && api_workcg_enter(c->workcg) < 0)
                child_fail(a->report, STEP_CGROUP);
        others_cloexec(c, top);
        (void)execve(c->path, c->argv, c->envp ? c->envp : environ);
        child_fail(a->report, STEP_EXEC);
}

/* ---- in aio-apid ------------------------------------------------------------------------------
 */

/* Starts the child and returns once it has exec'd or failed: -errno from clone itself. */
static pid_t child_clone(struct child_args *a)
{
        size_t guard = (size_t)sysconf(_SC_PAGESIZE), size = STACK_SIZE + guard;
        char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        sigset_t all, old;
        pid_t pid;
        int e;

        if (stack == MAP_FAILED)
                return -errno;
        if (mprotect(stack, guard, PROT_NONE) < 0) {
                e = errno;
                (void)munmap(stack, size);
                return -e;
        }
        (void)sigfillset(&all);
        (void)pthread_sigmask(SIG_BLOCK, &all, &old);
        pid = clone(child_main, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
        e = errno;
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        (void)munmap(stack, size); /* the child is past exec or gone: it no longer runs on it */
        return pid < 0 ? -e : pid;
}

int api_child_start(const struct api_child *c, struct aio_err *err)
{
        struct child_args a = {.c = c};
        struct child_failure f;
        int report[2], status;
        pid_t pid;
        ssize_t n;

        if (c->n_extra > API_CHILD_EXTRA_MAX)
                return aio_error_msg(err, EINVAL, "start %s: %zu extra fds", c->path, c->n_extra);
        for (size_t i = 0; i < c->n_extra; i++)
                if (c->extra[i].at <= STDERR_FILENO || c->extra[i].fd < 0)
                        return aio_error_msg(err, EINVAL, "start %s: extra fd %d at %d", c->path,
                                             c->extra[i].fd, c->extra[i].at);
        if (pipe2(report, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        a.report = report[1];
        pid = child_clone(&a);
        (void)close(report[1]);
        if (pid < 0) {
                (void)close(report[0]);
                return aio_error(err, -pid, "clone");
        }
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
