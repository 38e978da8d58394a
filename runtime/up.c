#include "up.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

static int parse_port(const char *s, unsigned *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || end == s || v > 65535 || s[0] == '-')
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

/* "ADDR:PORT", "[V6]:PORT" or just "PORT" (loopback). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                        struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(spec);
        char *host = copy, *port = strrchr(copy, ':');
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
        unsigned p;

        memset(ss, 0, sizeof(*ss));
        if (!port) {
                port = copy;
                host = (char *)"127.0.0.1";
        } else {
                *port++ = '\0';
        }
        if (parse_port(port, &p) < 0)
                return aio_error_msg(err, EINVAL, "--listen '%s': bad port", spec);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                host[strlen(host) - 1] = '\0';
                host++;
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons((uint16_t)p);
                *len = sizeof(*v6);
                if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1)
                        return 0;
        } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons((uint16_t)p);
                *len = sizeof(*v4);
                return 0;
        }
        return aio_error_msg(err, EINVAL, "--listen '%s': expected IPv4:PORT or [IPv6]:PORT", spec);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
        if (ss->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int rt_up_listen(const char *spec, bool insecure, struct aio_err *err)
{
        struct sockaddr_storage ss;
        socklen_t len = 0;
        cleanup_close int fd = -1;
        int one = 1;

        if (parse_listen(spec, &ss, &len, err) < 0)
                return -err->code;
        if (!is_loopback(&ss) && !insecure)
                return aio_error_msg(
                        err, EPERM,
                        "--listen %s: the API has no authentication yet, so it is only published on loopback (pass --insecure to publish it anyway)",
                        spec);
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return aio_error(err, errno, "socket");
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, len) < 0)
                return aio_error(err, errno, "--listen %s: bind", spec);
        if (listen(fd, 1024) < 0)
                return aio_error(err, errno, "listen");
        return take_fd(&fd);
}

int rt_up_url(int listen_fd, char *buf, unsigned size, struct aio_err *err)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char host[INET6_ADDRSTRLEN] = "";

        memset(&ss, 0, sizeof(ss));
        if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) < 0)
                return aio_error(err, errno, "getsockname");
        if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;

                (void)inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
                (void)snprintf(buf, size, "http://%s:%u", host, ntohs(v4->sin_port));
        } else {
                const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;

                (void)inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
                (void)snprintf(buf, size, "http://[%s]:%u", host, ntohs(v6->sin6_port));
        }
        return 0;
}

static long long now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One probe: 1 when the API answered 200, 0 when it answered otherwise or not yet. */
static int probe(const struct sockaddr_storage *ss, socklen_t len, int pidfd, long long deadline)
{
        static const char req[] =
                "GET /v1/sandbox HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        cleanup_close int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char buf[64] = "";
        size_t got = 0;

        if (fd < 0 || connect(fd, (const struct sockaddr *)ss, len) < 0 ||
            write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
                return 0;
        while (got < 12) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                                      {.fd = pidfd, .events = POLLIN}};
                long long left = deadline - now_ms();
                ssize_t n;

                if (left <= 0 || poll(p, 2, (int)left) <= 0 || (p[1].revents & POLLIN))
                        return 0;
                n = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        return 0;
                got += (size_t)n;
        }
        return strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0;
}

int rt_up_wait_ready(int listen_fd, int pidfd, int timeout_ms, struct aio_err *err)
{
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof(ss);
        long long deadline = now_ms() + timeout_ms;

        if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) < 0)
                return aio_error(err, errno, "getsockname");
        while (now_ms() < deadline) {
                struct pollfd p = {.fd = pidfd, .events = POLLIN};

                if (probe(&ss, len, pidfd, deadline))
                        return 0;
                if (poll(&p, 1, 20) > 0)
                        return aio_error_msg(err, ECHILD,
                                             "the sandbox exited before its API answered");
        }
        return aio_error_msg(err, ETIMEDOUT, "the API did not answer within %d ms", timeout_ms);
}
