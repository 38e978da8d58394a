#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int rt_sync_send(int sock, const struct rt_sync_msg *m, int fd, struct aio_err *err)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl = {0};
        struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (fd >= 0) {
                struct cmsghdr *c;

                msg.msg_control = ctl.buf;
                msg.msg_controllen = sizeof(ctl.buf);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return aio_error(err, errno, "sync send");
        return 0;
}

int rt_sync_recv(int sock, struct rt_sync_msg *m, int *ret_fd, struct aio_err *err)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *c;
        ssize_t n;
        int fd = -1;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return aio_error(err, errno, "sync receive");
        c = CMSG_FIRSTHDR(&msg);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (ret_fd)
                *ret_fd = fd;
        else if (fd >= 0)
                (void)close(fd);
        if (n == 0)
                return aio_error_msg(err, EPIPE, "the jail exited during set-up");
        if ((size_t)n != sizeof(*m) || m->type == 0 || m->type >= _RT_SYNC_TYPE_MAX)
                return aio_error_msg(err, EBADMSG, "sync receive: malformed message");
        m->err.msg[sizeof(m->err.msg) - 1] = '\0';
        return 0;
}

void rt_sync_send_error(int sock, const struct aio_err *e)
{
        struct rt_sync_msg m = {.type = RT_SYNC_ERROR, .err = *e};
        struct aio_err ignored;

        (void)rt_sync_send(sock, &m, -1, &ignored);
}
