#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/xalloc.h"

#define FD_PATH_MAX 32

static void fd_path(int fd, char buf[FD_PATH_MAX])
{
        (void)snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

/* Opens (creating when asked) the mount point `where` inside the root. */
static int open_target(int root_fd, const char *where, unsigned rt_flags, struct aio_err *err)
{
        if (rt_flags & RT_MNT_MKDIR)
                return aio_mkdir_in_root(root_fd, where, 0755, err);
        if (rt_flags & RT_MNT_TOUCH) {
                int fd = aio_open_in_root(root_fd, where, O_WRONLY | O_CREAT | O_NOFOLLOW, 0644,
                                          err);

                if (fd < 0)
                        return fd;
                (void)close(fd);
        }
        return aio_open_in_root(root_fd, where, O_PATH, 0, err);
}

int rt_mount_one(int root_fd, const struct rt_mount *m, int share_net, struct aio_err *err)
{
        cleanup_close int target = -1;
        char tpath[FD_PATH_MAX];
        const char *what;
        int r;

        if ((m->rt_flags & RT_MNT_NOSYS) && share_net)
                return 0;
        target = open_target(root_fd, m->where, m->rt_flags, err);
        if (target < 0) {
                /* A masked path the kernel does not have is nothing to mask. */
                if (!(m->rt_flags & RT_MNT_FATAL) ||
                    (target == -ENOENT && !(m->rt_flags & (RT_MNT_MKDIR | RT_MNT_TOUCH))))
                        return 0;
                return -err->code;
        }
        fd_path(target, tpath);
        /* A row binding a path onto itself means the path inside the jail, not the host's. */
        what = m->what && strcmp(m->what, m->where) == 0 ? tpath : m->what;
        r = mount(what, tpath, m->type, m->flags, m->options);
        if (r < 0 && (m->rt_flags & RT_MNT_FATAL))
                return aio_error(err, errno, "mount %s on %s",
                                 m->type   ? m->type
                                 : m->what ? m->what
                                           : "(remount)",
                                 m->where);
        return 0;
}

static int bind_device(int root_fd, const struct rt_device *d, struct aio_err *err)
{
        cleanup_close int src = open(d->path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
        cleanup_close int dst = -1;
        char spath[FD_PATH_MAX], dpath[FD_PATH_MAX];
        struct stat st;

        /* Verify the host node is what its name says before exposing it (CVE-2025-31133 class). */
        if (src < 0 || fstat(src, &st) < 0)
                return aio_error(err, errno, "host device %s", d->path);
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != d->major || minor(st.st_rdev) != d->minor)
                return aio_error_msg(err, EPERM, "host %s is not the character device %u:%u",
                                     d->path, d->major, d->minor);
        dst = aio_open_in_root(root_fd, d->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0666,
                               err);
        if (dst < 0)
                return -err->code;
        fd_path(src, spath);
        fd_path(dst, dpath);
        if (mount(spath, dpath, NULL, MS_BIND, NULL) < 0)
                return aio_error(err, errno, "bind %s", d->path);
        return 0;
}

#define RT_MASK_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* A file gets /dev/null bound over it, a directory an empty read-only tmpfs; a path this kernel
 * does not have is nothing to hide. */
static int mask_path(int root_fd, const char *path, struct aio_err *err)
{
        cleanup_close int fd = aio_open_in_root(root_fd, path, O_PATH, 0, err);
        struct stat st;

        if (fd == -ENOENT)
                return 0;
        if (fd < 0 || fstat(fd, &st) < 0)
                return fd < 0 ? fd : aio_error(err, errno, "stat %s", path);
        if (S_ISDIR(st.st_mode)) {
                struct rt_mount dir = {"tmpfs",           path,          "tmpfs",
                                       "size=0,mode=000", RT_MASK_FLAGS, RT_MNT_FATAL};

                return rt_mount_one(root_fd, &dir, 0, err);
        }
        struct rt_mount file[] = {
                {"/dev/null", path, NULL, NULL, MS_BIND, RT_MNT_FATAL},
                {NULL, path, NULL, NULL, MS_BIND | MS_REMOUNT | RT_MASK_FLAGS, RT_MNT_FATAL},
        };
        for (size_t i = 0; i < ELEMENTSOF(file); i++)
                if (rt_mount_one(root_fd, &file[i], 0, err) < 0)
                        return -err->code;
        return 0;
}

/* Bound onto itself (recursively) and made read-only, nosuid, nodev, noexec. */
static int readonly_path(int root_fd, const char *path, struct aio_err *err)
{
        struct rt_mount rows[] = {
                {path, path, NULL, NULL, MS_BIND | MS_REC, RT_MNT_FATAL},
                {NULL, path, NULL, NULL, MS_BIND | MS_REMOUNT | RT_MASK_FLAGS, RT_MNT_FATAL},
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (rt_mount_one(root_fd, &rows[i], 0, err) < 0)
                        return -err->code;
        return 0;
}

static int mounts_policy(int root_fd, struct aio_err *err)
{
        for (size_t i = 0; i < rt_masked_paths_len; i++)
                if (mask_path(root_fd, rt_masked_paths[i], err) < 0)
                        return aio_error_prefix(err, "mask %s", rt_masked_paths[i]);
        for (size_t i = 0; i < rt_readonly_paths_len; i++)
                if (readonly_path(root_fd, rt_readonly_paths[i], err) < 0)
                        return aio_error_prefix(err, "read-only %s", rt_readonly_paths[i]);
        return 0;
}

int rt_mounts_base(int root_fd, int share_net, struct aio_err *err)
{
        for (size_t i = 0; i < rt_base_mounts_len; i++)
                if (rt_mount_one(root_fd, &rt_base_mounts[i], share_net, err) < 0)
                        return -err->code;
        for (size_t i = 0; i < rt_devices_len; i++)
                if (bind_device(root_fd, &rt_devices[i], err) < 0)
                        return -err->code;
        for (size_t i = 0; i < rt_dev_symlinks_len; i++) {
                cleanup_close int dev =
                        aio_open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY, 0, err);

                if (dev < 0)
                        return -err->code;
                if (symlinkat(rt_dev_symlinks[i].target, dev, rt_dev_symlinks[i].path + 5) < 0)
                        return aio_error(err, errno, "symlink %s", rt_dev_symlinks[i].path);
        }
        return mounts_policy(root_fd, err);
}

int rt_mount_setattr_ro(int fd, int recursive, struct aio_err *err)
{
        struct mount_attr attr = {.attr_set =
                                          MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
                    &attr, sizeof(attr)) < 0)
                return aio_error(err, errno, "make read-only");
        return 0;
}

int rt_mount_bind(int root_fd, const char *src, const char *dst, int ro, struct aio_err *err)
{
        cleanup_close int s = open(src, O_PATH | O_CLOEXEC);
        cleanup_close int d = -1;
        char spath[FD_PATH_MAX], dpath[FD_PATH_MAX];
        struct stat st;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

        if (s < 0 || fstat(s, &st) < 0)
                return aio_error(err, errno, "bind source %s", src);
        if (!S_ISDIR(st.st_mode)) {
                /* a file's directory may not exist in the image (e.g. /opt/aio/bin) */
                cleanup_free char *parent = aio_xstrdup(dst);
                char *slash = strrchr(parent, '/');
                int pfd;

                if (slash && slash != parent) {
                        *slash = '\0';
                        pfd = aio_mkdir_in_root(root_fd, parent, 0755, err);
                        if (pfd < 0)
                                return aio_error_prefix(err, "bind destination");
                        (void)close(pfd);
                }
        }
        d = S_ISDIR(st.st_mode) ? aio_mkdir_in_root(root_fd, dst, 0755, err)
                                : open_target(root_fd, dst, RT_MNT_TOUCH, err);
        if (d < 0)
                return aio_error_prefix(err, "bind destination");
        fd_path(s, spath);
        fd_path(d, dpath);
        if (mount(spath, dpath, NULL, MS_BIND | MS_REC, NULL) < 0)
                return aio_error(err, errno, "bind %s on %s", src, dst);
        closep(&d);
        d = aio_open_in_root(root_fd, dst, O_PATH, 0, err);
        if (d < 0)
                return -err->code;
        if (ro)
                attr.attr_set |= MOUNT_ATTR_RDONLY;
        if (syscall(SYS_mount_setattr, d, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
            0)
                return aio_error(err, errno, "set flags on %s", dst);
        return 0;
}

int rt_mount_tmpfs(int root_fd, const char *dst, unsigned long long size, const char *mode,
                   struct aio_err *err)
{
        cleanup_close int d = aio_mkdir_in_root(root_fd, dst, 0755, err);
        char dpath[FD_PATH_MAX], opts[64];

        if (d < 0)
                return aio_error_prefix(err, "tmpfs");
        fd_path(d, dpath);
        if (size)
                (void)snprintf(opts, sizeof(opts), "mode=%s,size=%llu", mode, size);
        else
                (void)snprintf(opts, sizeof(opts), "mode=%s", mode);
        if (mount("tmpfs", dpath, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                return aio_error(err, errno, "mount tmpfs on %s", dst);
        return 0;
}

int rt_pivot_root(int root_fd, struct aio_err *err)
{
        if (fchdir(root_fd) < 0)
                return aio_error(err, errno, "chdir to the new root");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return aio_error(err, errno, "pivot_root");
        /* The old root is now stacked under "."; make sure nothing propagates, then drop it. */
        if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return aio_error(err, errno, "make the old root a slave");
        if (umount2(".", MNT_DETACH) < 0)
                return aio_error(err, errno, "detach the old root");
        if (chdir("/") < 0)
                return aio_error(err, errno, "chdir /");
        return 0;
}
