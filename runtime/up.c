#include "up.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/net.h"
#include "common/xalloc.h"

bool rt_up_has_auth(char *const *env)
{
        static const char *const keys[] = {"SANDBOX_API_KEY=", "JWT_PUBLIC_KEY="};

        for (; env && *env; env++)
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (strncmp(*env, keys[i], strlen(keys[i])) == 0 &&
                            (*env)[strlen(keys[i])] != '\0')
                                return true;
        return false;
}

int rt_up_listen(const char *spec, bool insecure, struct aio_err *err)
{
        return aio_tcp_listen(spec, insecure, 0, err);
}

int rt_up_unix_listen(const char *path, struct aio_err *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int fd = -1;
        struct stat st;
        mode_t old;
        int r;

        if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
                return aio_error_msg(err, EINVAL,
                                     "--socket %s: an absolute path of at most %zu bytes", path,
                                     sizeof(sa.sun_path) - 1);
        /* a socket left by a killed launcher is replaced; anything else is not ours */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return aio_error_msg(err, EEXIST, "--socket %s exists and is not a socket",
                                             path);
                if (rt_up_unix_alive(path))
                        return aio_error_msg(err, EADDRINUSE, "--socket %s is in use", path);
                (void)unlink(path);
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return aio_error(err, errno, "socket");
        old = umask(0177);
        r = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
        (void)umask(old);
        if (r < 0)
                return aio_error(err, errno, "--socket %s", path);
        if (listen(fd, 1024) < 0) {
                r = aio_error(err, errno, "listen on %s", path);
                (void)unlink(path);
                return r;
        }
        return take_fd(&fd);
}

bool rt_up_unix_alive(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        return connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0;
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

/* One probe: 1 when the API answered 200 (or 401: it is up and wants credentials), 0 when it
 * answered otherwise or not yet. */
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
        /* 401: it answers, and wants credentials the probe does not have */
        return (strncmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ') &&
               (strncmp(buf + 9, "200", 3) == 0 || strncmp(buf + 9, "401", 3) == 0);
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
