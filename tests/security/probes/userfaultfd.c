/*
 * userfaultfd — escape class #15 (runtimes.md §3): userfaultfd lets an exploit stall a kernel
 * copy_from_user() at will, widening race windows (used by many kernel exploits).
 * Defences: seccomp denies userfaultfd(2); vm.unprivileged_userfaultfd=0 limits kernel-mode
 * faults to CAP_SYS_PTRACE holders, but UFFD_USER_MODE_ONLY is open to everyone, so the filter
 * is the only thing stopping that variant; /dev/userfaultfd is absent from the jail's /dev.
 */
#include <linux/userfaultfd.h>
#include <sys/syscall.h>

#include "probe.h"

static int uffd(int flags, const char *what)
{
        int fd = syscall(SYS_userfaultfd, flags | O_CLOEXEC);

        if (fd < 0)
                return errno;
        close(fd);
        probe_note("userfaultfd created (%s)", what);
        return P_OK;
}

static int try_user_mode(void)
{
        return uffd(UFFD_USER_MODE_ONLY, "UFFD_USER_MODE_ONLY");
}

static int try_kernel_mode(void)
{
        return uffd(0, "kernel faults");
}

static int try_dev(void)
{
        return probe_open_check("/dev/userfaultfd", O_RDWR);
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "userfaultfd(UFFD_USER_MODE_ONLY)", try_user_mode, false,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "userfaultfd(kernel faults)", try_kernel_mode, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, P_OK), "vm.unprivileged_userfaultfd=0",
          EXPECT(P_OK) },
        { "open /dev/userfaultfd", try_dev, false,
          EXPECT(ENOENT), "minimal /dev", EXPECT(ENOENT), "minimal /dev", EXPECT(P_OK, ENOENT) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
