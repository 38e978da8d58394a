/*
 * abi — seccomp bypass through another syscall ABI (runtimes.md §3 "x86 and x32 ABIs handled
 * deliberately"; the classic filter bug of checking the syscall number without the arch).
 * A 64-bit process can enter the i386 table with `int $0x80` (unshare is 310 there, not 272)
 * and, on kernels with CONFIG_X86_X32_ABI, the x32 table with nr | 0x40000000.
 * Defences: the filter checks seccomp_data.arch and denies (or kills) other ABIs and x32 numbers;
 * kernels without IA32 emulation or x32 answer ENOSYS.
 */
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include "probe.h"

#define I386_UNSHARE 310
#define I386_GETPID  20
#define X32_BIT      0x40000000L

static long int80(long nr, long a)
{
        long ret;

        __asm__ volatile("int $0x80"
                         : "=a"(ret)
                         : "a"(nr), "b"(a), "c"(0), "d"(0)
                         : "memory", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
        return ret;
}

static int result(long r, const char *what)
{
        if (r < 0 && r > -4096)
                return (int)-r;
        probe_note("%s succeeded", what);
        return P_OK;
}

static int try_i386_unshare(void)
{
        return result((int)int80(I386_UNSHARE, CLONE_NEWUSER), "i386 unshare(CLONE_NEWUSER)");
}

static int try_i386_getpid(void)
{
        return result((int)int80(I386_GETPID, 0), "i386 getpid");
}

static int try_x32_unshare(void)
{
        long r = syscall(X32_BIT | SYS_unshare, CLONE_NEWUSER);

        return r < 0 ? errno : result(r, "x32 unshare(CLONE_NEWUSER)");
}

#define DENIED EXPECT(EPERM, ENOSYS, P_SIG(SIGSYS))

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "i386 int 0x80 unshare(CLONE_NEWUSER)", try_i386_unshare, true,
          DENIED, "seccomp arch check", EXPECT(P_OK, ENOSYS), "kernel without IA32 emulation",
          EXPECT(P_OK, ENOSYS) },
        { "i386 ABI reachable (int 0x80 getpid)", try_i386_getpid, true,
          DENIED, "seccomp arch check", EXPECT(P_OK, ENOSYS), "kernel without IA32 emulation",
          EXPECT(P_OK, ENOSYS) },
        { "x32 unshare(CLONE_NEWUSER)", try_x32_unshare, true,
          DENIED, "seccomp x32 check", EXPECT(P_OK, ENOSYS), "kernel without x32",
          EXPECT(P_OK, ENOSYS) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
