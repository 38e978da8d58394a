/*
 * fs-context — escape class #5 (runtimes.md §3): CVE-2022-0185, the fs_context heap overflow.
 * The exploit does unshare(CLONE_NEWUSER|CLONE_NEWNS) to gain CAP_SYS_ADMIN over a new mount
 * namespace, then fsopen() + fsconfig(FSCONFIG_SET_STRING) to reach legacy_parse_param().
 * Defences: seccomp denies unshare and the whole new mount API (fsopen, fsconfig, fsmount,
 * fspick, move_mount, open_tree, mount_setattr); without it, the jail's root still lacks
 * CAP_SYS_ADMIN over its own mount namespace.
 */
#include <linux/mount.h>
#include <sched.h>
#include <sys/syscall.h>

#include "probe.h"

static int fsopen_tmpfs(void)
{
        int fd = syscall(SYS_fsopen, "tmpfs", 0);

        if (fd < 0)
                return errno;
        if (syscall(SYS_fsconfig, fd, FSCONFIG_SET_STRING, "size", "1m", 0) < 0) {
                int e = errno;

                close(fd);
                probe_note("fsopen worked, fsconfig: %s", strerror(e));
                return e;
        }
        close(fd);
        probe_note("fsopen(tmpfs) + fsconfig(size) accepted");
        return P_OK;
}

static int try_fsopen(void)
{
        return fsopen_tmpfs();
}

static int try_userns_fsopen(void)
{
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return errno;
        return fsopen_tmpfs();
}

/* Each call has a bad fd or path: if the filter lets it through, the kernel answers EBADF/ENOENT.
 */
static int try_reach(void)
{
        static const struct {
                const char *name;
                long nr;
        } calls[] = {
                {"fsconfig", SYS_fsconfig},
                {"fsmount", SYS_fsmount},
                {"fspick", SYS_fspick},
                {"move_mount", SYS_move_mount},
        };
        char reached[128] = "";
        size_t off = 0;
        int first = 0;

        for (size_t i = 0; i < ARRAY_LEN(calls); i++) {
                long r = calls[i].nr == SYS_fspick ? syscall(calls[i].nr, -1, "/nonexistent-aio", 0)
                                                   : syscall(calls[i].nr, -1, 0, 0, 0, 0);
                if (r >= 0 || errno != EPERM)
                        off += snprintf(reached + off, sizeof(reached) - off, " %s(%s)",
                                        calls[i].name, r >= 0 ? "ok" : probe_ename(errno));
                else if (!first)
                        first = errno;
        }
        if (off) {
                probe_note("reached the kernel:%s", reached);
                return P_OK;
        }
        return first;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "fsopen(tmpfs)", try_fsopen, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", EXPECT(P_OK) },
        { "unshare(USER|NS) + fsopen + fsconfig", try_userns_fsopen, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "fsconfig/fsmount/fspick/move_mount reach the kernel", try_reach, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
