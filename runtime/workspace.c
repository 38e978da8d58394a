#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"

/* A user namespace whose only ids are the directory owner's, mapped to gem's host ids: as a
 * mount's idmap it shows on-disk owner as gem. A child creates it and waits, so it can be
 * mapped and opened; it is killed once the namespace has an fd. */
static int idmap_userns(uid_t disk_uid, gid_t disk_gid, uid_t host_uid, gid_t host_gid,
                        struct aio_err *err)
{
        char path[64], map[64];
        int ready[2], r = -1;
        cleanup_close int ns = -1;
        pid_t pid;
        char c;

        if (pipe2(ready, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                r = aio_error(err, errno, "fork");
                goto out;
        }
        if (pid == 0) {
                (void)close(ready[0]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                (void)!write(ready[1], "r", 1);
                for (;;)
                        (void)pause();
        }
        (void)close(ready[1]);
        ready[1] = -1;
        if (read(ready[0], &c, 1) != 1) {
                r = aio_error_msg(err, EPERM, "no user namespace for the workspace idmap");
                goto kill;
        }
        (void)snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
        (void)snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)disk_uid, (unsigned)host_uid);
        if (aio_write_knob(AT_FDCWD, path, map, err) < 0)
                goto kill;
        (void)snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
        (void)snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)disk_gid, (unsigned)host_gid);
        if (aio_write_knob(AT_FDCWD, path, map, err) < 0)
                goto kill;
        (void)snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        ns = open(path, O_RDONLY | O_CLOEXEC);
        r = ns < 0 ? aio_error(err, errno, "open %s", path) : take_fd(&ns);
kill:
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
out:
        (void)close(ready[0]);
        if (ready[1] >= 0)
                (void)close(ready[1]);
        return r;
}

int rt_workspace_tree(const char *dir, uid_t gem_host_uid, gid_t gem_host_gid, struct aio_err *err)
{
        struct mount_attr attr = {.attr_set =
                                          MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
        cleanup_close int tree = -1;
        cleanup_close int userns = -1;
        struct stat st;

        tree = (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return aio_error(err, errno, "--workspace %s", dir);
        if (fstat(tree, &st) < 0)
                return aio_error(err, errno, "--workspace %s", dir);
        if (!S_ISDIR(st.st_mode))
                return aio_error_msg(err, ENOTDIR, "--workspace %s: not a directory", dir);
        userns = idmap_userns(st.st_uid, st.st_gid, gem_host_uid, gem_host_gid, err);
        if (userns < 0)
                return aio_error_prefix(err, "--workspace %s", dir);
        attr.userns_fd = (unsigned long long)userns;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return aio_error(err, errno,
                                 "--workspace %s: idmapped mount (does its filesystem support "
                                 "them?)",
                                 dir);
        return take_fd(&tree);
}

int rt_workspace_attach(int root_fd, int tree_fd, struct aio_err *err)
{
        cleanup_close int d = aio_mkdir_in_root(root_fd, RT_WORKSPACE_DIR, 0755, err);

        if (d < 0)
                return aio_error_prefix(err, "--workspace");
        if (syscall(SYS_move_mount, tree_fd, "", d, "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return aio_error(err, errno, "attach the workspace at " RT_WORKSPACE_DIR);
        return 0;
}
