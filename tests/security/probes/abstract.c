/*
 * abstract — escape class #23 (runtimes.md §3): CVE-2020-15257 (containerd-shim): abstract UNIX
 * sockets have no filesystem permissions and are scoped by network namespace, so a jail in the
 * host's netns can reach host daemons listening on "@...".
 * Defences: the jail's own network namespace (loopback only by default).
 * Options: --abstract=NAME, an abstract socket the harness listens on in the host netns.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "probe.h"

static int try_connect(void)
{
        const char *name = probe_opt("--abstract");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = strlen(name);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || n + 1 > sizeof(sa.sun_path)) {
                probe_note("socket: %s", strerror(errno));
                return P_ERROR;
        }
        memcpy(sa.sun_path + 1, name, n);
        if (connect(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + n) <
            0) {
                int e = errno;

                close(fd);
                return e;
        }
        close(fd);
        probe_note("connected to @%s", name);
        return P_OK;
}

/* /proc/net/unix lists the sockets of this netns; the jail should see none it did not make. */
static int check_listing(void)
{
        char line[512], found[200] = "";
        size_t off = 0;
        FILE *f = fopen("/proc/net/unix", "re");

        if (!f)
                return errno;
        while (fgets(line, sizeof(line), f)) {
                char *at = strstr(line, " @");

                if (at && off < sizeof(found))
                        off += snprintf(found + off, sizeof(found) - off, " %.40s", at + 1);
        }
        fclose(f);
        for (char *p = found; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        if (off) {
                probe_note("abstract sockets visible:%s", found);
                return P_OK;
        }
        probe_note("no abstract sockets in this network namespace");
        return P_SAFE;
}

/* /proc/net/dev lists the interfaces of this netns (no socket needed, so strict profiles work). */
static int check_ifaces(void)
{
        char line[256], name[64], found[200] = "";
        size_t off = 0;
        FILE *f = fopen("/proc/net/dev", "re");

        if (!f)
                return errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, " %63[^:]:", name) == 1 && !strchr(name, '|') &&
                    strcmp(name, "lo") != 0 && off < sizeof(found))
                        off += snprintf(found + off, sizeof(found) - off, " %s", name);
        fclose(f);
        if (off) {
                probe_note("interfaces besides lo:%s", found);
                return P_OK;
        }
        probe_note("only lo");
        return P_SAFE;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "network interfaces besides lo", check_ifaces, false,
          EXPECT(P_SAFE), "net namespace", EXPECT(P_SAFE), "net namespace", EXPECT(P_OK) },
        { "host abstract sockets listed", check_listing, false,
          EXPECT(P_SAFE), "net namespace", EXPECT(P_SAFE), "net namespace", EXPECT(P_OK) },
        { "connect to a host abstract socket", try_connect, false,
          EXPECT(ECONNREFUSED), "net namespace", EXPECT(ECONNREFUSED), "net namespace",
          EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        size_t n = 2;

        for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], "--abstract=", 11) == 0)
                        n = ARRAY_LEN(attempts);
        return probe_main(argc, argv, attempts, n);
}
