/*
 * pidns — escape class #11 (runtimes.md §3): ptrace / signals / pidfds on processes outside the
 * jail (also the ground for CVE-2019-13272 PTRACE_TRACEME tricks against a privileged parent).
 * Defences: the pid namespace (host pids do not exist inside), /proc mounted for the jail's pid
 * namespace, no CAP_SYS_PTRACE/CAP_KILL over host processes.
 * Options: --host-pid=PID, a process on the host (the harness starts one); without it only the
 * /proc check runs.
 */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "probe.h"

static pid_t host_pid(void)
{
        const char *pid = probe_opt("--host-pid");

        return pid ? atoi(pid) : 0;
}

static int check_proc(void)
{
        char link[32];
        ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);

        if (n < 0) {
                probe_note("readlink /proc/self: %s", strerror(errno));
                return P_ERROR;
        }
        link[n] = '\0';
        if (atoi(link) != getpid()) {
                probe_note("/proc/self is %s but getpid() is %d: /proc of another pid ns", link,
                           (int)getpid());
                return P_OK;
        }
        probe_note("/proc belongs to this pid namespace (pid %d)", (int)getpid());
        return P_SAFE;
}

static int try_stat(void)
{
        char path[32];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d", (int)host_pid());
        if (stat(path, &st) < 0)
                return errno;
        probe_note("%s visible", path);
        return P_OK;
}

static int try_kill(void)
{
        if (kill(host_pid(), 0) < 0)
                return errno;
        probe_note("kill(%d, 0) succeeded", (int)host_pid());
        return P_OK;
}

static int try_seize(void)
{
        if (ptrace(PTRACE_SEIZE, host_pid(), 0, 0) < 0)
                return errno;
        (void)ptrace(PTRACE_DETACH, host_pid(), 0, 0);
        probe_note("seized pid %d", (int)host_pid());
        return P_OK;
}

static int try_pidfd(void)
{
        int fd;

        fd = syscall(SYS_pidfd_open, host_pid(), 0);
        if (fd < 0)
                return errno;
        close(fd);
        probe_note("pidfd for %d opened", (int)host_pid());
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "/proc shows this pid namespace", check_proc, false,
          EXPECT(P_SAFE), "pid ns + own /proc", EXPECT(P_SAFE), "pid ns + own /proc",
          EXPECT(P_SAFE) },
        { "/proc/<host pid> visible", try_stat, false,
          EXPECT(ENOENT), "pid namespace", EXPECT(ENOENT), "pid namespace", EXPECT(P_OK) },
        { "kill(<host pid>, 0)", try_kill, false,
          EXPECT(ESRCH), "pid namespace", EXPECT(ESRCH), "pid namespace", EXPECT(P_OK) },
        { "ptrace(PTRACE_SEIZE, <host pid>)", try_seize, false,
          EXPECT(ESRCH), "pid namespace", EXPECT(ESRCH), "pid namespace", EXPECT(P_OK) },
        { "pidfd_open(<host pid>)", try_pidfd, false,
          EXPECT(ESRCH), "pid namespace", EXPECT(ESRCH), "pid namespace", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        size_t n = 1;

        for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], "--host-pid=", 11) == 0)
                        n = ARRAY_LEN(attempts);
        return probe_main(argc, argv, attempts, n);
}
