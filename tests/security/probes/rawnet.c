/*
 * rawnet — raw network access (CAP_NET_RAW): AF_PACKET sockets (CVE-2020-14386, CVE-2016-8655
 * were AF_PACKET bugs reachable with CAP_NET_RAW in a user namespace) and raw IP sockets for
 * spoofing on whatever network the jail is given.
 * Defences: no CAP_NET_RAW (root's cap set drops it, gem has none); the network namespace.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "probe.h"

static int sock(int family, int type, int proto, const char *what)
{
        int fd = socket(family, type | SOCK_CLOEXEC, proto);

        if (fd < 0)
                return errno;
        close(fd);
        probe_note("%s socket created", what);
        return P_OK;
}

static int try_packet(void)
{
        return sock(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), "AF_PACKET");
}

static int try_raw_ip(void)
{
        return sock(AF_INET, SOCK_RAW, IPPROTO_RAW, "raw IPv4");
}

static int try_raw_icmp6(void)
{
        return sock(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, "raw ICMPv6");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "socket(AF_PACKET, SOCK_RAW)", try_packet, false,
          EXPECT(EPERM), "no CAP_NET_RAW", EXPECT(EPERM), "no CAP_NET_RAW", EXPECT(P_OK) },
        { "socket(AF_INET, SOCK_RAW)", try_raw_ip, false,
          EXPECT(EPERM), "no CAP_NET_RAW", EXPECT(EPERM), "no CAP_NET_RAW", EXPECT(P_OK) },
        { "socket(AF_INET6, SOCK_RAW)", try_raw_icmp6, false,
          EXPECT(EPERM), "no CAP_NET_RAW", EXPECT(EPERM), "no CAP_NET_RAW", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
