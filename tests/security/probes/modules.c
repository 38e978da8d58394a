/*
 * modules — escape class #13 (runtimes.md §3): kernel module loading, direct or by autoload
 * (socket families such as DCCP, CVE-2017-6074; line disciplines such as N_HDLC, CVE-2017-2636).
 * Defences: seccomp denies init_module/finit_module/delete_module; no CAP_SYS_MODULE in the
 * initial user namespace; autoload triggers reachable from the jail must fail without loading
 * (dev.tty.ldisc_autoload=0, no module support, or the filter).  Every call is made with an
 * invalid argument so that, on the host, it stops right after the permission check (EINVAL,
 * ENOENT, ENOEXEC all mean "permitted") and nothing is loaded.
 */
#include <linux/tty.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "probe.h"

static int permitted(long r, const char *what)
{
        if (r < 0 && errno == ENOSYS)
                probe_note("not in this kernel");
        if (r < 0 && (errno == EPERM || errno == ENOSYS))
                return errno;
        probe_note("%s passed the permission check (%s)", what, r < 0 ? probe_ename(errno) : "ok");
        return P_OK;
}

static int try_finit(void)
{
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        long r = syscall(SYS_finit_module, fd, "", 0x40000000);

        return permitted(r, "finit_module");
}

static int try_init(void)
{
        return permitted(syscall(SYS_init_module, NULL, 0, ""), "init_module");
}

static int try_delete(void)
{
        return permitted(syscall(SYS_delete_module, "aio_probe_absent", O_NONBLOCK),
                         "delete_module");
}

static bool have_modules(void)
{
        return access("/proc/modules", F_OK) == 0;
}

static int try_dccp(void)
{
        int fd = socket(AF_INET, SOCK_DCCP, IPPROTO_DCCP);
        int e = errno;

        if (fd >= 0) {
                close(fd);
                probe_note("DCCP socket created");
                return P_OK;
        }
        if (e != ESOCKTNOSUPPORT && e != EPROTONOSUPPORT)
                return e;
        probe_note("%s: kernel has no DCCP%s", probe_ename(e),
                   have_modules() ? " (module autoload attempted)" : ", no module support");
        return P_SAFE;
}

static int try_ldisc(void)
{
        int disc = N_HDLC, m, s;

        m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
            (s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
                probe_note("pty: %s", strerror(errno));
                return P_ERROR;
        }
        if (ioctl(s, TIOCSETD, &disc) == 0) {
                disc = N_TTY;
                (void)ioctl(s, TIOCSETD, &disc);
                probe_note("line discipline N_HDLC set");
                return P_OK;
        }
        if (errno != EINVAL)
                return errno;
        if (have_modules()) {
                probe_note("EINVAL after a module autoload attempt (tty-ldisc-13)");
                return P_OK;
        }
        probe_note("EINVAL: N_HDLC not built in and no module support");
        return P_SAFE;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "finit_module", try_finit, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, ENOSYS), "no CAP_SYS_MODULE",
          EXPECT(P_OK, ENOSYS) },
        { "init_module", try_init, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, ENOSYS), "no CAP_SYS_MODULE",
          EXPECT(P_OK, ENOSYS) },
        { "delete_module", try_delete, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, ENOSYS), "no CAP_SYS_MODULE",
          EXPECT(P_OK, ENOSYS) },
        { "socket(AF_INET, SOCK_DCCP) autoload", try_dccp, false,
          EXPECT(EPERM, P_SAFE), "seccomp or no DCCP", EXPECT(EPERM, P_SAFE), "no DCCP in kernel",
          EXPECT(P_OK, P_SAFE) },
        { "TIOCSETD N_HDLC line discipline autoload", try_ldisc, false,
          EXPECT(EPERM, P_SAFE), "seccomp, ldisc_autoload=0 or no modules", EXPECT(EPERM, P_SAFE),
          "ldisc_autoload=0 or no modules", EXPECT(P_OK, P_SAFE) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
