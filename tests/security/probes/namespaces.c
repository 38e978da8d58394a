/*
 * namespaces — shared namespaces (runtimes.md §1a, §3 #23 "never share host netns", #11 pid,
 * #10/#7 ipc/mount): a jail that silently shares one of the host's namespaces loses the
 * corresponding isolation (host sockets, host processes, host mounts, SysV IPC, hostname).
 * Defence: the launcher creates user, pid, mount, net, uts, ipc and cgroup namespaces.
 * Options: --host-ns=user:INO,pid:INO,... (the harness passes the host's inode numbers).  Without
 * it the initial namespaces' fixed inode numbers are used (mnt and net got fixed ones only in
 * recent kernels, so on older hosts those two checks need --host-ns).
 */
#include "probe.h"

static const struct {
        const char *name;
        unsigned long init_ino;
} ns_table[] = {
        {"user", 0xEFFFFFFDUL},   {"pid", 0xEFFFFFFCUL}, {"mnt", 0xEFFFFFF8UL},
        {"net", 0xEFFFFFF9UL},    {"uts", 0xEFFFFFFEUL}, {"ipc", 0xEFFFFFFFUL},
        {"cgroup", 0xEFFFFFFBUL},
};

static unsigned long host_ino(size_t i)
{
        const char *opt = probe_opt("--host-ns");
        size_t n = strlen(ns_table[i].name);

        for (const char *p = opt; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, ns_table[i].name, n) == 0 && p[n] == ':')
                        return strtoul(p + n + 1, NULL, 10);
        return ns_table[i].init_ino;
}

static int check(size_t i)
{
        char path[64];
        struct stat st;
        unsigned long ref = host_ino(i);

        snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_table[i].name);
        if (stat(path, &st) < 0)
                return errno;
        if (st.st_ino == ref) {
                probe_note("shares the host's %s namespace (inode %lu)", ns_table[i].name, ref);
                return P_OK;
        }
        probe_note("own %s namespace (inode %lu, host %lu)", ns_table[i].name,
                   (unsigned long)st.st_ino, ref);
        return P_SAFE;
}

#define CHECK(fn, i)             \
        static int fn(void)      \
        {                        \
                return check(i); \
        }
CHECK(c_user, 0)
CHECK(c_pid, 1)
CHECK(c_mnt, 2)
CHECK(c_net, 3)
CHECK(c_uts, 4)
CHECK(c_ipc, 5)
CHECK(c_cgroup, 6)

#define ROW(name, fn)                                                                    \
        {                                                                                \
                name, fn, false, EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE), "launcher", \
                        EXPECT(P_OK)                                                     \
        }

/* clang-format off */
static const struct probe_attempt attempts[] = {
        ROW("host user namespace shared", c_user), ROW("host pid namespace shared", c_pid),
        ROW("host mount namespace shared", c_mnt), ROW("host net namespace shared", c_net),
        ROW("host uts namespace shared", c_uts),   ROW("host ipc namespace shared", c_ipc),
        ROW("host cgroup namespace shared", c_cgroup),
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
