/*
 * io-uring — escape class #16 (runtimes.md §3): io_uring (CVE-2022-29582, CVE-2023-2598, ...)
 * is a large kernel attack surface, and its submission queue performs open/connect/... without
 * the corresponding syscalls, so per-syscall seccomp rules do not see them.
 * Defences: seccomp denies io_uring_setup/enter/register (moby #46762, containerd #9320);
 * kernel.io_uring_disabled=2 on hosts that set it.
 */
#include <linux/io_uring.h>
#include <sys/syscall.h>

#include "probe.h"

static int try_setup(void)
{
        struct io_uring_params p;
        int fd;

        memset(&p, 0, sizeof(p));
        fd = syscall(SYS_io_uring_setup, 2, &p);
        if (fd < 0)
                return errno;
        close(fd);
        probe_note("ring created (%u sq entries)", p.sq_entries);
        return P_OK;
}

/* Bad fds: past the filter, the kernel answers EBADF. */
static int try_reach(void)
{
        long e = syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
        int e1 = e < 0 ? errno : 0;
        long r = syscall(SYS_io_uring_register, -1, 0, NULL, 0);
        int e2 = r < 0 ? errno : 0;

        if (e1 != EPERM || e2 != EPERM) {
                probe_note("io_uring_enter: %s, io_uring_register: %s", probe_ename(e1),
                           probe_ename(e2));
                return P_OK;
        }
        return EPERM;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "io_uring_setup", try_setup, false,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK, EPERM), "kernel.io_uring_disabled", EXPECT(P_OK) },
        { "io_uring_enter/register reach the kernel", try_reach, false,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
