#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/xalloc.h"

#include "mount.h"

/* clang-format off */
/* Host /etc files a program reasonably needs and that hold no secret. Copied, not bound, so
 * the jail cannot write through to the host. */
static const char *const etc_copies[] = {
        "nsswitch.conf", "ld.so.cache", "ld.so.conf", "resolv.conf", "timezone", "profile",
        "bash.bashrc", "inputrc", "mime.types", "protocols", "services", "shells", "localtime",
        "mailcap", "magic", "papersize", "networks", "host.conf", "gai.conf",
};
/* Host /etc directories bound read-only: certificates, alternatives links, fonts. */
static const char *const etc_binds[] = {
        "ssl", "ca-certificates", "alternatives", "fonts", "profile.d", "ld.so.conf.d",
        "python3", "python3.11", "X11", "chromium", "chromium.d", "gitconfig.d", "vim",
};
/* The merged-/usr links (or directories on hosts that are not merged). */
static const char *const usr_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
static const struct { const char *path; mode_t mode; uid_t uid; } root_dirs[] = {
        { "/etc", 0755, 0 },      { "/root", 0700, 0 },    { "/home", 0755, 0 },
        { "/home/gem", 0755, 1000 }, { "/tmp", 01777, 0 },   { "/var", 0755, 0 },
        { "/var/tmp", 01777, 0 }, { "/var/lib", 0755, 0 }, { "/var/cache", 0755, 0 },
        { "/run", 0755, 0 },      { "/opt", 0755, 0 },     { "/mnt", 0755, 0 },
        { "/usr", 0755, 0 },
};
/* clang-format on */

const char *rt_rootfs_passwd(void)
{
        return "root:x:0:0:root:/root:/bin/bash\n"
               "gem:x:1000:1000:gem:/home/gem:/bin/bash\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
}

const char *rt_rootfs_group(void)
{
        return "root:x:0:\ntty:x:5:\nusers:x:100:gem\ngem:x:1000:\nnogroup:x:65534:\n";
}

static int make_dirs(int root_fd, struct aio_err *err)
{
        for (size_t i = 0; i < ELEMENTSOF(root_dirs); i++) {
                cleanup_close int fd = aio_mkdir_in_root(root_fd, root_dirs[i].path, 0755, err);
                char path[32];

                if (fd < 0)
                        return -err->code;
                (void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                /* O_PATH fds do not take fchmod; the magic link does. */
                if (chmod(path, root_dirs[i].mode) < 0)
                        return aio_error(err, errno, "chmod %s", root_dirs[i].path);
                /* EINVAL: a rootless single-id map has no uid 1000; the dir stays root's. */
                if (chown(path, root_dirs[i].uid, root_dirs[i].uid) < 0 && errno != EINVAL)
                        return aio_error(err, errno, "set owner of %s", root_dirs[i].path);
        }
        return 0;
}

static int copy_etc_file(int etc_fd, const char *name, struct aio_err *err)
{
        char src[PATH_MAX], buf[1 << 16], target[PATH_MAX];
        struct stat st;
        ssize_t n;

        (void)snprintf(src, sizeof(src), "/etc/%s", name);
        if (lstat(src, &st) < 0)
                return 0;
        if (S_ISLNK(st.st_mode)) {
                n = readlink(src, target, sizeof(target) - 1);
                if (n < 0)
                        return 0;
                target[n] = '\0';
                if (symlinkat(target, etc_fd, name) < 0)
                        return aio_error(err, errno, "symlink /etc/%s", name);
                return 0;
        }
        if (!S_ISREG(st.st_mode) || st.st_size >= (off_t)sizeof(buf))
                return 0;
        n = aio_read_file(AT_FDCWD, src, buf, sizeof(buf), err);
        if (n < 0)
                return 0; /* unreadable host files are simply not offered */
        return aio_write_file(etc_fd, name, buf, (size_t)n, 0644, err);
}

static int write_etc(int etc_fd, const char *hostname, struct aio_err *err)
{
        char hosts[512], hn[300];

        (void)snprintf(hn, sizeof(hn), "%s\n", hostname);
        (void)snprintf(
                hosts, sizeof(hosts),
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n",
                hostname);
        if (aio_write_file(etc_fd, "passwd", rt_rootfs_passwd(), strlen(rt_rootfs_passwd()), 0644,
                           err) < 0 ||
            aio_write_file(etc_fd, "group", rt_rootfs_group(), strlen(rt_rootfs_group()), 0644,
                           err) < 0 ||
            aio_write_file(etc_fd, "hostname", hn, strlen(hn), 0644, err) < 0 ||
            aio_write_file(etc_fd, "hosts", hosts, strlen(hosts), 0644, err) < 0)
                return -err->code;
        for (size_t i = 0; i < ELEMENTSOF(etc_copies); i++)
                if (copy_etc_file(etc_fd, etc_copies[i], err) < 0)
                        return -err->code;
        return 0;
}

static int bind_etc_dirs(int root_fd, struct aio_err *err)
{
        for (size_t i = 0; i < ELEMENTSOF(etc_binds); i++) {
                char src[PATH_MAX];
                struct stat st;

                (void)snprintf(src, sizeof(src), "/etc/%s", etc_binds[i]);
                if (lstat(src, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (rt_mount_bind(root_fd, src, src, 1, err) < 0)
                        return -err->code;
        }
        return 0;
}

static int link_usr(int root_fd, struct aio_err *err)
{
        for (size_t i = 0; i < ELEMENTSOF(usr_links); i++) {
                char src[64], target[PATH_MAX];
                struct stat st;
                ssize_t n;

                (void)snprintf(src, sizeof(src), "/%s", usr_links[i]);
                if (lstat(src, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (rt_mount_bind(root_fd, src, src, 1, err) < 0)
                                return -err->code;
                        continue;
                }
                n = readlink(src, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = '\0';
                if (symlinkat(target, root_fd, usr_links[i]) < 0)
                        return aio_error(err, errno, "symlink /%s", usr_links[i]);
        }
        return 0;
}

int rt_rootfs_compose_host(int root_fd, int usr_fd, const char *hostname, struct aio_err *err)
{
        cleanup_close int etc = -1;

        if (make_dirs(root_fd, err) < 0)
                return aio_error_prefix(err, "root directories");
        if (usr_fd >= 0) {
                cleanup_close int usr =
                        aio_open_in_root(root_fd, "/usr", O_PATH | O_DIRECTORY, 0, err);

                if (usr < 0)
                        return -err->code;
                if (syscall(SYS_move_mount, usr_fd, "", usr, "",
                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return aio_error(err, errno, "attach the idmapped /usr");
        } else if (rt_mount_bind(root_fd, "/usr", "/usr", 1, err) < 0) {
                return -err->code;
        }
        if (link_usr(root_fd, err) < 0)
                return -err->code;
        etc = aio_open_in_root(root_fd, "/etc", O_RDONLY | O_DIRECTORY, 0, err);
        if (etc < 0)
                return -err->code;
        if (write_etc(etc, hostname, err) < 0)
                return aio_error_prefix(err, "/etc");
        return bind_etc_dirs(root_fd, err);
}

int rt_rootfs_overlay(const char *root_path, const char *lower, const char *upper, const char *work,
                      struct aio_err *err)
{
        cleanup_free char *opts =
                aio_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower, upper, work);

        if (strpbrk(lower, ",:") || strpbrk(upper, ",:") || strpbrk(work, ",:"))
                return aio_error_msg(err, EINVAL, "overlay paths must not contain ',' or ':' (%s)",
                                     lower);
        if (mount("overlay", root_path, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
                return aio_error(err, errno, "mount overlay (%s)", opts);
        return 0;
}

int rt_rootfs_idmapped_tree(const char *path, pid_t pid, struct aio_err *err)
{
        char ns[64];
        cleanup_close int userns = -1;
        cleanup_close int tree = -1;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
                                              MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

        (void)snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
        userns = open(ns, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
                return aio_error(err, errno, "open %s", ns);
        tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return aio_error(err, errno, "open_tree %s", path);
        attr.userns_fd = (unsigned long long)userns;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return aio_error(err, errno, "idmap %s", path);
        return take_fd(&tree);
}

int rt_rootfs_attach(int tree_fd, const char *path, struct aio_err *err)
{
        if (syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return aio_error(err, errno, "attach at %s", path);
        return 0;
}
