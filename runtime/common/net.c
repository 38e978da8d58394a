#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "err.h"
#include "xalloc.h"

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
                return aio_error_msg(err, EINVAL,
                                     "--listen '%s': expected ADDR:PORT, [V6ADDR]:PORT or PORT",
                                     spec);
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
        return aio_error_msg(err, EINVAL,
                             "--listen '%s': expected ADDR:PORT, [V6ADDR]:PORT or PORT", spec);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
        if (ss->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int aio_tcp_listen(const char *spec, bool insecure, int sock_flags, struct aio_err *err)
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
                        "--listen %s is not loopback and no API key is set: pass -e "
                        "SANDBOX_API_KEY=... or -e JWT_PUBLIC_KEY=... (or --insecure to publish "
                        "it open)",
                        spec);
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | sock_flags, 0);
        if (fd < 0)
                return aio_error(err, errno, "socket");
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, len) < 0)
                return aio_error(err, errno, "--listen %s: bind", spec);
        if (listen(fd, 1024) < 0)
                return aio_error(err, errno, "listen");
        return take_fd(&fd);
}
