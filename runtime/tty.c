/* -t: our terminal in raw mode, bytes copied both ways between it and the jail's pty master,
 * window-size changes followed and other signals forwarded, until the jail's init exits. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common/err.h"

#include "jail-internal.h"

static void copy_winsize(int master)
{
        struct winsize ws;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void)ioctl(master, TIOCSWINSZ, &ws);
}

/* Copies one chunk; returns 0 at end of input, < 0 on error. */
static ssize_t pump(int from, int to)
{
        char buf[8192];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n <= 0)
                return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : n;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t)(n - off));

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -1;
                off += w;
        }
        return n;
}

static void handle_signal(int sigfd, int master, int pidfd)
{
        struct signalfd_siginfo si;

        if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
                return;
        if (si.ssi_signo == SIGWINCH)
                copy_winsize(master);
        else
                (void)syscall(SYS_pidfd_send_signal, pidfd, si.ssi_signo, NULL, 0);
}

enum { P_EXIT, P_MASTER, P_STDIN, P_SIGNAL, P_NOTIFY, _P_MAX };

static int relay_loop(struct rt_jail *j)
{
        int master = j->pty_master;
        struct pollfd p[_P_MAX] = {
                [P_EXIT] = {.fd = j->pidfd, .events = POLLIN},
                [P_MASTER] = {.fd = master, .events = POLLIN},
                [P_STDIN] = {.fd = STDIN_FILENO, .events = POLLIN},
                [P_SIGNAL] = {.fd = j->sync_sig, .events = POLLIN},
                [P_NOTIFY] = {.fd = j->notify_fd, .events = POLLIN},
        };

        for (;;) {
                bool output;

                if (poll(p, _P_MAX, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                output = p[P_MASTER].revents & POLLIN;
                /* every writer of the pty gone reads as EIO: stop reading it */
                if (p[P_MASTER].revents & (POLLIN | POLLHUP | POLLERR) &&
                    pump(master, STDOUT_FILENO) <= 0)
                        p[P_MASTER].fd = -1;
                if (p[P_STDIN].revents & (POLLIN | POLLHUP) && pump(STDIN_FILENO, master) <= 0)
                        p[P_STDIN].fd = -1;
                if (p[P_SIGNAL].revents & POLLIN)
                        handle_signal(j->sync_sig, master, j->pidfd);
                if (p[P_NOTIFY].revents & POLLIN)
                        rt_jail_notified(j);
                p[P_NOTIFY].fd = j->notify_fd;
                /* the jail is gone once its output is drained */
                if (p[P_EXIT].revents & POLLIN && (p[P_MASTER].fd < 0 || !output))
                        return 0;
        }
}

int rt_tty_relay(struct rt_jail *j, struct aio_err *err)
{
        struct termios saved, raw;
        bool is_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
        int r;

        if (is_tty) {
                raw = saved;
                cfmakeraw(&raw);
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
                copy_winsize(j->pty_master);
        }
        r = relay_loop(j);
        if (is_tty)
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        if (r < 0)
                return aio_error(err, -r, "terminal relay");
        return 0;
}
