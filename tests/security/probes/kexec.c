/*
 * kexec — boot-level escapes (runtimes.md §3, DESIGN.md "kexec and module loading"):
 * kexec_load/kexec_file_load replace the running host kernel; reboot() takes the host down.
 * Defences: seccomp denies kexec_load, kexec_file_load and reboot; no CAP_SYS_BOOT in the
 * initial user namespace.  The calls carry an undefined flag (or a bad magic) so that, where the
 * permission check passes, the kernel answers EINVAL and nothing happens.
 */
#include <linux/reboot.h>
#include <sys/syscall.h>

#include "probe.h"

#define BAD_FLAG 0x100UL

static int permitted(long r, const char *what)
{
        if (r < 0 && errno == ENOSYS)
                probe_note("not in this kernel");
        if (r < 0 && (errno == EPERM || errno == ENOSYS))
                return errno;
        probe_note("%s passed the permission check (%s)", what, r < 0 ? probe_ename(errno) : "ok");
        return P_OK;
}

static int try_kexec_load(void)
{
        return permitted(syscall(SYS_kexec_load, 0UL, 0UL, NULL, BAD_FLAG), "kexec_load");
}

static int try_kexec_file(void)
{
        return permitted(syscall(SYS_kexec_file_load, -1, -1, 0UL, "", BAD_FLAG),
                         "kexec_file_load");
}

static int try_reboot(void)
{
        return permitted(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0x12345678, 0, NULL), "reboot");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "kexec_load", try_kexec_load, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, ENOSYS), "no CAP_SYS_BOOT",
          EXPECT(P_OK, ENOSYS) },
        { "kexec_file_load", try_kexec_file, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, ENOSYS), "no CAP_SYS_BOOT",
          EXPECT(P_OK, ENOSYS) },
        { "reboot (bad magic)", try_reboot, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_BOOT", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
