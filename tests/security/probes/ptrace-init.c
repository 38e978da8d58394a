/*
 * ptrace-init — escape class #3 (runtimes.md §3): CVE-2016-9962 (runc exec ptrace).
 * A jailed process attaches to the runtime's init (or reads its memory) while it still holds
 * host fds or host state.
 * Defences: the init is non-dumpable (PR_SET_DUMPABLE 0) and was created in the host's user
 * namespace, so ptrace_may_access() refuses every access from the jail.
 * Options: --target=PID (default 1, the jail's init; the harness passes a helper on the host).
 */
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "probe.h"

static pid_t target(void)
{
        const char *pid = probe_opt("--target");

        return pid ? atoi(pid) : 1;
}

static int try_seize(void)
{
        if (ptrace(PTRACE_SEIZE, target(), 0, 0) < 0)
                return errno;
        (void)ptrace(PTRACE_DETACH, target(), 0, 0);
        probe_note("seized pid %d", (int)target());
        return P_OK;
}

static int proc_file(const char *name)
{
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)target(), name);
        return probe_open_check(path, O_RDONLY);
}

static int try_mem(void)
{
        return proc_file("mem");
}

static int try_environ(void)
{
        return proc_file("environ");
}

/* A bad remote address: once the permission check passes, the kernel answers EFAULT. */
static int try_vm_readv(void)
{
        char buf[8];
        struct iovec local = {buf, sizeof(buf)}, remote = {(void *)8, sizeof(buf)};

        if (process_vm_readv(target(), &local, 1, &remote, 1, 0) >= 0 || errno == EFAULT) {
                probe_note("process_vm_readv passed the permission check");
                return P_OK;
        }
        return errno;
}

static int try_pidfd_getfd(void)
{
        int pfd = syscall(SYS_pidfd_open, target(), 0), fd;

        if (pfd < 0)
                return errno;
        fd = syscall(SYS_pidfd_getfd, pfd, 0, 0);
        close(pfd);
        if (fd < 0)
                return errno == EBADF ? P_OK : errno;
        close(fd);
        probe_note("copied fd 0 of pid %d", (int)target());
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "ptrace(PTRACE_SEIZE, init)", try_seize, false,
          EXPECT(EPERM), "init non-dumpable", EXPECT(EPERM), "init non-dumpable", EXPECT(P_OK) },
        { "open /proc/<init>/mem", try_mem, false,
          EXPECT(EACCES), "init non-dumpable", EXPECT(EACCES), "init non-dumpable", EXPECT(P_OK) },
        { "read /proc/<init>/environ", try_environ, false,
          EXPECT(EACCES), "init non-dumpable", EXPECT(EACCES), "init non-dumpable", EXPECT(P_OK) },
        { "process_vm_readv(init)", try_vm_readv, false,
          EXPECT(EPERM), "init non-dumpable", EXPECT(EPERM), "init non-dumpable", EXPECT(P_OK) },
        { "pidfd_getfd(init, 0)", try_pidfd_getfd, false,
          EXPECT(EPERM), "init non-dumpable", EXPECT(EPERM), "init non-dumpable", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
