/* Pid 1 of the jail: starts the command, forwards signals to it, reaps every orphan, and
 * when the command ends kills whatever is left and exits with the command's status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"

#include "caps.h"
#include "config.h"
#include "jail-internal.h"
#include "jail.h"
#include "sync.h"

#define RT_INIT_CAPS       (UINT64_C(1) << 5) /* CAP_KILL */
#define RT_INIT_UP_CAPS    ((UINT64_C(1) << 6) | (UINT64_C(1) << 7) | (UINT64_C(1) << 8))
#define RT_INIT_BACKOFF_MS 100LL /* first restart delay; doubles up to 6.4 s */
#define RT_INIT_STABLE_MS  30000 /* a run this long resets the backoff */

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static int open_pty(int sync, struct aio_err *err)
{
        cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        int unlock = 0, slave;
        struct rt_sync_msg m = {.type = RT_SYNC_PTY};

        if (master < 0)
                return aio_error(err, errno, "open /dev/ptmx");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return aio_error(err, errno, "unlock pty");
        /* The peer from the master itself: no path lookup an attacker could redirect. */
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return aio_error(err, errno, "open pty peer");
        if (rt_sync_send(sync, &m, master, err) < 0) {
                (void)close(slave);
                return -err->code;
        }
        return slave;
}

/* /proc/1/cmdline is readable by everything in the jail, dumpable or not: the launcher's
 * command line (host paths, -e values) is overwritten in place once the command has its copy. */
static void scrub_cmdline(void)
{
        char stat[1024], *p, *end_num, *argv_block;
        unsigned long start, end;
        int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, stat, sizeof(stat) - 1) : -1;

        if (fd >= 0)
                (void)close(fd);
        if (n <= 0)
                return;
        stat[n] = '\0';
        p = strrchr(stat, ')');
        /* arg_start and arg_end are fields 48 and 49; field 3 follows ") " */
        for (int field = 3; p && field <= 48; field++)
                p = strchr(p + 1, ' ');
        if (!p)
                return;
        start = strtoul(p, &end_num, 10);
        end = strtoul(end_num, NULL, 10);
        if (end <= start || end - start > (1UL << 20))
                return;
        /* The kernel told us where our own argv block is. */
        argv_block = (char *)start; /* NOLINT(performance-no-int-to-ptr) */
        memset(argv_block, 0, end - start);
        (void)snprintf(argv_block, end - start, "aio-init");
}

/* Pid 1 of a pid namespace is immune to its own fatal signals: a fault would re-fault forever.
 * Die on it instead, so the launcher reports the failure. */
static void crash(int sig)
{
        static const char msg[] = "aio-run: jail init crashed\n";

        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(128 + sig);
}

void rt_init_die_on_faults(void)
{
        static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        struct sigaction sa = {.sa_handler = crash, .sa_flags = SA_RESETHAND};

        for (size_t i = 0; i < ELEMENTSOF(faults); i++)
                (void)sigaction(faults[i], &sa, NULL);
}

static int status_to_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return RT_EXIT_LAUNCHER;
}

/* Reads the command's exec result: end-of-file means execve succeeded. */
static void report_start(int sync, int pipe_rd, pid_t cmd)
{
        struct rt_sync_msg m = {.type = RT_SYNC_READY, .value = cmd};
        struct rt_exec_result res;
        struct aio_err ignored;
        ssize_t n;

        do
                n = read(pipe_rd, &res, sizeof(res));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof(res)) {
                m.type = RT_SYNC_EXEC_FAIL;
                m.value = res.code;
                m.err = res.err;
                m.err.msg[sizeof(m.err.msg) - 1] = '\0';
        }
        (void)rt_sync_send(sync, &m, -1, &ignored);
}

/* What pid 1 watches. With up, aio-apid is restarted when it dies unasked (a crash, an OOM
 * kill), after a backoff that doubles on each quick death; the listening socket stays open in
 * pid 1, so clients queue in its backlog meanwhile. */
struct supervisor {
        struct rt_jail *j;
        pid_t cmd;     /* 0 while a restart is pending */
        bool stopping; /* asked to end: the command's end is the jail's */
        bool done;     /* the command ended for good; code is the jail's status */
        int code;
        unsigned quick_deaths;
        long long started_ms, restart_ms;
};

static long long mono_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t start_command(struct rt_jail *j)
{
        pid_t pid = fork();

        if (pid == 0)
                rt_exec_command(j, -1, -1);
        return pid;
}

static void command_ended(struct supervisor *sv, int status)
{
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        long long now = mono_ms();

        sv->cmd = 0;
        if (!sv->j->cfg->up || sv->stopping || clean) {
                sv->code = status_to_code(status);
                sv->done = true;
                /* The command is gone: so is everything it left running. */
                (void)kill(-1, SIGKILL);
                return;
        }
        sv->quick_deaths = now - sv->started_ms < RT_INIT_STABLE_MS ? sv->quick_deaths + 1 : 0;
        sv->restart_ms =
                now + (RT_INIT_BACKOFF_MS << (sv->quick_deaths < 6 ? sv->quick_deaths : 6));
}

static void on_signal(struct supervisor *sv, int sig)
{
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
                sv->stopping = true;
        if (sv->cmd > 0) {
                (void)kill(sv->cmd, sig);
        } else if (sv->stopping && !sv->done) {
                sv->code = 128 + sig;
                sv->done = true;
                (void)kill(-1, SIGKILL);
        }
}

static int wait_timeout(const struct supervisor *sv)
{
        long long left;

        if (sv->cmd > 0 || sv->done)
                return -1;
        left = sv->restart_ms - mono_ms();
        return left < 0 ? 0 : (int)left;
}

__attribute__((noreturn)) static void supervise(struct rt_jail *j, int sfd, pid_t cmd)
{
        struct supervisor sv = {.j = j, .cmd = cmd, .code = RT_EXIT_LAUNCHER};
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        struct signalfd_siginfo si;
        int status;
        pid_t p;

        sv.started_ms = mono_ms();
        for (;;) {
                if (poll(&pfd, 1, wait_timeout(&sv)) == 0) {
                        sv.cmd = start_command(j);
                        sv.started_ms = mono_ms();
                        sv.restart_ms = sv.started_ms + RT_INIT_BACKOFF_MS; /* fork failed */
                        continue;
                }
                if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        _exit(RT_EXIT_LAUNCHER);
                }
                if (si.ssi_signo != SIGCHLD)
                        on_signal(&sv, (int)si.ssi_signo);
                while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                        if (p == sv.cmd)
                                command_ended(&sv, status);
                if (p < 0 && errno == ECHILD && sv.done)
                        _exit(sv.code);
        }
}

void rt_init_main(struct rt_jail *j)
{
        struct aio_err err = {0};
        int pipefd[2], sfd, slave = -1;
        sigset_t set;
        pid_t cmd;

        /* Nothing in the jail may ptrace or read the memory of pid 1 (CVE-2016-9962). */
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&set, forwarded[i]);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
            pipe2(pipefd, O_CLOEXEC) < 0) {
                (void)aio_error(&err, errno, "init: signals");
                rt_sync_send_error(j->sync_child, &err);
                _exit(RT_EXIT_LAUNCHER);
        }
        if (j->cfg->tty && (slave = open_pty(j->sync_child, &err)) < 0) {
                (void)aio_error_prefix(&err, "terminal");
                rt_sync_send_error(j->sync_child, &err);
                _exit(RT_EXIT_LAUNCHER);
        }
        cmd = fork();
        if (cmd == 0)
                rt_exec_command(j, slave, pipefd[1]);
        (void)close(pipefd[1]);
        if (slave >= 0)
                (void)close(slave);
        if (cmd < 0) {
                (void)aio_error(&err, errno, "init: fork the command");
                rt_sync_send_error(j->sync_child, &err);
                _exit(RT_EXIT_LAUNCHER);
        }
        scrub_cmdline();
        report_start(j->sync_child, pipefd[0], cmd);
        (void)close(pipefd[0]);
        closep(&j->sync_child);
        /* From here pid 1 only needs to signal its children; with up, also to start aio-apid
         * again as the user it runs as (set*id, and dropping the bounding set). */
        (void)rt_caps_apply(RT_INIT_CAPS | (j->cfg->up ? RT_INIT_UP_CAPS : 0), 0, 0, &err);
        (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        supervise(j, sfd, cmd);
}
