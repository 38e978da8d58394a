/*
 * tiocsti — escape class #4 (runtimes.md §3): CVE-2017-5226 (bubblewrap TIOCSTI) and
 * CVE-2019-10063 (flatpak: the same ioctl with the high 32 bits of cmd set, which the kernel
 * ignores but a 64-bit seccomp compare does not), plus TIOCLINUX (console selection/paste).
 * Pushing bytes into the caller's terminal makes the caller's shell run them after the jail exits.
 * Defences: seccomp denies TIOCSTI/TIOCLINUX with the cmd masked to 32 bits; setsid() so the
 * caller's terminal is not the jail's controlling tty (TIOCSTI needs it); dev.tty.legacy_tiocsti.
 * The own-pty attempts run in a child that becomes a session leader with a fresh pty as its
 * controlling terminal, so they succeed whenever the filter is off and inject only into that pty.
 */
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>

#include "probe.h"

#define HIGH_BITS (1UL << 32)

static int sti(int fd, unsigned long extra)
{
        char c = '#';

        if (syscall(SYS_ioctl, fd, TIOCSTI | extra, &c) < 0)
                return errno;
        probe_note("injected a byte into fd %d%s", fd, extra ? " (cmd with high bits)" : "");
        return P_OK;
}

/* In a forked child: new session, a fresh pty as controlling terminal. */
static int own_ctty(void)
{
        int m, s;

        if (setsid() < 0) {
                probe_note("setsid: %s", strerror(errno));
                return -1;
        }
        m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
                probe_note("/dev/ptmx: %s", strerror(errno));
                return -1;
        }
        s = open(ptsname(m), O_RDWR | O_CLOEXEC);
        if (s < 0)
                probe_note("open %s: %s", ptsname(m), strerror(errno));
        return s;
}

static int try_stdin(void)
{
        return sti(0, 0);
}

static int try_own(void)
{
        int s = own_ctty();

        return s < 0 ? P_ERROR : sti(s, 0);
}

static int try_high_bits(void)
{
        int s = own_ctty();

        return s < 0 ? P_ERROR : sti(s, HIGH_BITS);
}

static int linux_ioctl(unsigned long extra)
{
        char sub = 6; /* TIOCL_GETSHIFTSTATE */
        int s = own_ctty();

        if (s < 0)
                return P_ERROR;
        if (syscall(SYS_ioctl, s, TIOCLINUX | extra, &sub) >= 0 || errno == ENOTTY ||
            errno == EINVAL) {
                probe_note("TIOCLINUX reached the tty layer (%s)", probe_ename(errno));
                return P_OK;
        }
        return errno;
}

static int try_linux(void)
{
        return linux_ioctl(0);
}

static int try_linux_high(void)
{
        return linux_ioctl(HIGH_BITS);
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "TIOCSTI on inherited stdin", try_stdin, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, ENOTTY, EIO), "setsid: not the controlling tty",
          EXPECT(P_OK) },
        { "TIOCSTI on own controlling pty", try_own, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK, EIO), "dev.tty.legacy_tiocsti=0", EXPECT(P_OK) },
        { "TIOCSTI with high bits set (CVE-2019-10063)", try_high_bits, true,
          EXPECT(EPERM), "seccomp (32-bit masked compare)", EXPECT(P_OK, EIO),
          "dev.tty.legacy_tiocsti=0", EXPECT(P_OK) },
        { "TIOCLINUX", try_linux, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "TIOCLINUX with high bits set", try_linux_high, true,
          EXPECT(EPERM), "seccomp (32-bit masked compare)", EXPECT(P_OK), NULL, EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
