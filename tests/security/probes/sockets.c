/*
 * sockets — socket families outside the network namespace's reach (runtimes.md §3 #13; Docker's
 * profile blocks AF_VSOCK=40, DESIGN.md adds AF_ALG=38): AF_VSOCK talks to the hypervisor/host
 * and is not network-namespaced; AF_ALG exposes kernel crypto code (CVE-2021-3520-style bugs).
 * Also the family with high bits set: the kernel reads it as int, a 64-bit filter compare might
 * not. Defences: seccomp denies socket(AF_ALG|AF_VSOCK, ...) comparing the low 32 bits.
 */
#include <sys/socket.h>
#include <sys/syscall.h>

#include "probe.h"

static int sock(unsigned long family, int type, const char *what)
{
        int fd = syscall(SYS_socket, family, type | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return errno;
        close(fd);
        probe_note("%s socket created", what);
        return P_OK;
}

static int try_alg(void)
{
        return sock(AF_ALG, SOCK_SEQPACKET, "AF_ALG");
}

static int try_vsock(void)
{
        return sock(AF_VSOCK, SOCK_STREAM, "AF_VSOCK");
}

static int try_vsock_high(void)
{
        return sock(AF_VSOCK | (1UL << 32), SOCK_STREAM, "AF_VSOCK (high bits)");
}

static int try_alg_high(void)
{
        return sock(AF_ALG | (1UL << 32), SOCK_SEQPACKET, "AF_ALG (high bits)");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "socket(AF_ALG)", try_alg, false,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK, EAFNOSUPPORT), "kernel without AF_ALG",
          EXPECT(P_OK, EAFNOSUPPORT) },
        { "socket(AF_ALG | 1<<32)", try_alg_high, false,
          EXPECT(EPERM), "seccomp (32-bit compare)", EXPECT(P_OK, EAFNOSUPPORT),
          "kernel without AF_ALG", EXPECT(P_OK, EAFNOSUPPORT) },
        { "socket(AF_VSOCK)", try_vsock, false,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK, EAFNOSUPPORT), "kernel without vsock",
          EXPECT(P_OK, EAFNOSUPPORT) },
        { "socket(AF_VSOCK | 1<<32)", try_vsock_high, false,
          EXPECT(EPERM), "seccomp (32-bit compare)", EXPECT(P_OK, EAFNOSUPPORT),
          "kernel without vsock", EXPECT(P_OK, EAFNOSUPPORT) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
