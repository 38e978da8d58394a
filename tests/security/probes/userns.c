/*
 * userns — escape class #12 (runtimes.md §3): nested unshare / clone / clone3.
 * A new user namespace hands its creator CAP_SYS_ADMIN and CAP_NET_ADMIN over fresh namespaces,
 * the entry point of CVE-2021-22555 (netfilter), CVE-2023-0386 (overlayfs), CVE-2023-32233
 * (nf_tables) and CVE-2018-18955 (uid extents).  The default seccomp profile denies unshare,
 * setns and clone with namespace flags (EPERM), and clone3 entirely (ENOSYS: its flags live in
 * a struct seccomp cannot read, so libc falls back to clone).
 */
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "probe.h"

static int try_unshare_user(void)
{
        if (unshare(CLONE_NEWUSER) < 0)
                return errno;
        probe_note("new user namespace created");
        return P_OK;
}

static int try_unshare_net(void)
{
        if (unshare(CLONE_NEWNET) < 0)
                return errno;
        probe_note("new network namespace created");
        return P_OK;
}

static int reap(pid_t pid)
{
        if (pid < 0)
                return errno;
        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0);
        probe_note("child %d created", (int)pid);
        return P_OK;
}

static int try_clone_user(void)
{
        return reap(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
}

static int clone3_flags(uint64_t flags)
{
        struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};

        return reap(syscall(SYS_clone3, &args, sizeof(args)));
}

static int try_clone3_user(void)
{
        return clone3_flags(CLONE_NEWUSER);
}

static int try_clone3_plain(void)
{
        return clone3_flags(0);
}

static int try_setns(void)
{
        int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
                probe_note("open /proc/self/ns/uts: %s", strerror(errno));
                return P_ERROR;
        }
        if (setns(fd, CLONE_NEWUTS) < 0)
                return errno;
        probe_note("setns accepted");
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "unshare(CLONE_NEWUSER)", try_unshare_user, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "unshare(CLONE_NEWNET)", try_unshare_net, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", EXPECT(P_OK) },
        { "clone(CLONE_NEWUSER)", try_clone_user, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "clone3(CLONE_NEWUSER)", try_clone3_user, true,
          EXPECT(ENOSYS), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "clone3 without namespace flags", try_clone3_plain, true,
          EXPECT(ENOSYS), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "setns(own uts ns)", try_setns, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
