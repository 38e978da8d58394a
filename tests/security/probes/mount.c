/*
 * mount — escape class #7 (runtimes.md §3): mount propagation and mount-table changes.
 * Shared propagation lets mounts cross between jail and host; a mount/umount inside could also
 * unmask /proc paths (umount the /dev/null over /proc/kcore) or make a read-only mount writable.
 * Defences: private propagation after CLONE_NEWNS, pivot_root with the old root detached, seccomp
 * denying the mount family, no CAP_SYS_ADMIN over the jail's mount namespace, locked mounts.
 */
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "probe.h"

static int check_propagation(void)
{
        char line[4096], shared[256] = "";
        size_t off = 0;
        int n = 0;
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f) {
                probe_note("open /proc/self/mountinfo: %s", strerror(errno));
                return P_ERROR;
        }
        while (fgets(line, sizeof(line), f)) {
                char mnt[256];

                n++;
                if (!strstr(line, " shared:") || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
                        continue;
                if (off < sizeof(shared))
                        off += snprintf(shared + off, sizeof(shared) - off, " %s", mnt);
        }
        fclose(f);
        if (off) {
                probe_note("shared mounts:%s", shared);
                return P_OK;
        }
        probe_note("%d mounts, none with shared: propagation", n);
        return P_SAFE;
}

static int try_mount_tmpfs(void)
{
        const char *dir = probe_tmpdir();
        int r = P_OK;

        if (!*dir) {
                probe_note("no writable directory for a mount point");
                return P_ERROR;
        }
        if (mount("aio-probe", dir, "tmpfs", MS_NOSUID, "size=1m") < 0)
                r = errno;
        else
                probe_note("mounted tmpfs on %s", dir);
        (void)umount2(dir, MNT_DETACH);
        (void)rmdir(dir);
        return r;
}

static int try_umount_mask(void)
{
        static const char *const masks[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/keys"};
        int first = 0;

        for (size_t i = 0; i < ARRAY_LEN(masks); i++) {
                if (umount2(masks[i], MNT_DETACH) == 0) {
                        probe_note("unmounted %s", masks[i]);
                        return P_OK;
                }
                if (!first)
                        first = errno;
        }
        return first;
}

static int try_setattr_rw(void)
{
        struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};

        if (syscall(SYS_mount_setattr, AT_FDCWD, "/proc/sys", 0, &attr, sizeof(attr)) < 0)
                return errno;
        probe_note("cleared MOUNT_ATTR_RDONLY on /proc/sys");
        return P_OK;
}

static int try_open_tree(void)
{
        int fd = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | AT_RECURSIVE);

        if (fd < 0)
                return errno;
        close(fd);
        probe_note("cloned the mount tree of /");
        return P_OK;
}

static int try_pivot_root(void)
{
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return errno;
        probe_note("pivot_root(., .) accepted");
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "no shared propagation in mountinfo", check_propagation, false,
          EXPECT(P_SAFE), "private propagation", EXPECT(P_SAFE), "private propagation",
          EXPECT(P_OK, P_SAFE) },
        { "mount tmpfs", try_mount_tmpfs, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", EXPECT(P_OK) },
        { "umount a /proc mask", try_umount_mask, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM, EINVAL), "no CAP_SYS_ADMIN, locked mounts",
          NULL },
        { "mount_setattr clear RDONLY on /proc/sys", try_setattr_rw, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", NULL },
        { "open_tree(OPEN_TREE_CLONE)", try_open_tree, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", EXPECT(P_OK) },
        { "pivot_root", try_pivot_root, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", NULL },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
