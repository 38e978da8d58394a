#include "origin.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An optional ":port" of 1..5 digits, then the end. */
static bool port_ok(const char *p)
{
        size_t n;

        if (*p == '\0')
                return true;
        if (*p != ':')
                return false;
        n = strspn(p + 1, "0123456789");
        return n >= 1 && n <= 5 && p[1 + n] == '\0';
}

static bool ipv4_loopback(const char *s, size_t len)
{
        char buf[INET_ADDRSTRLEN];
        struct in_addr a;

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return inet_pton(AF_INET, buf, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool api_host_is_loopback(const char *host)
{
        size_t len;

        if (!host)
                return false;
        if (strncasecmp(host, "localhost", 9) == 0)
                return port_ok(host + 9);
        if (strncmp(host, "[::1]", 5) == 0)
                return port_ok(host + 5);
        len = strcspn(host, ":");
        return ipv4_loopback(host, len) && port_ok(host + len);
}

bool api_origin_is_loopback(const char *origin)
{
        const char *host;

        if (!origin)
                return false;
        if (strncasecmp(origin, "http://", 7) == 0)
                host = origin + 7;
        else if (strncasecmp(origin, "https://", 8) == 0)
                host = origin + 8;
        else
                return false;
        return api_host_is_loopback(host);
}
