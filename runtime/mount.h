#pragma once

#include <stddef.h>
#include <sys/mount.h>

struct aio_err;

enum rt_mnt_flags {
        RT_MNT_FATAL = 1u << 0, /* failure aborts jail setup */
        RT_MNT_MKDIR = 1u << 1, /* create the mount point (dir) */
        RT_MNT_TOUCH = 1u << 2, /* create the mount point (file) */
        RT_MNT_NOSYS = 1u << 3, /* skipped when the jail shares the host network (no sysfs) */
};

/* One row of a mount table. `what` starting with '/' is a host path (resolved before pivot);
 * `where` is always resolved inside the new root. what == NULL with MS_REMOUNT changes the
 * flags of the mount at `where`. */
struct rt_mount {
        const char *what, *where, *type, *options;
        unsigned long flags;
        unsigned rt_flags;
};

struct rt_device {
        const char *path; /* in /dev; bind-mounted from the host's node of the same name */
        unsigned major, minor;
};

struct rt_symlink {
        const char *target, *path;
};

extern const struct rt_mount rt_base_mounts[];
extern const size_t rt_base_mounts_len;
extern const char *const rt_masked_paths[];
extern const size_t rt_masked_paths_len;
extern const char *const rt_readonly_paths[];
extern const size_t rt_readonly_paths_len;
extern const struct rt_device rt_devices[];
extern const size_t rt_devices_len;
extern const struct rt_symlink rt_dev_symlinks[];
extern const size_t rt_dev_symlinks_len;

/* Mounts one row below root_fd. share_net: the jail has the host network (skip RT_MNT_NOSYS). */
int rt_mount_one(int root_fd, const struct rt_mount *m, int share_net, struct aio_err *err);
/* The whole base table, /dev's nodes and symlinks, then the masked and read-only paths. */
int rt_mounts_base(int root_fd, int share_net, struct aio_err *err);
/* Bind-mounts host path src at dst inside the root, recursively, nosuid+nodev, optionally ro. */
int rt_mount_bind(int root_fd, const char *src, const char *dst, int ro, struct aio_err *err);
int rt_mount_tmpfs(int root_fd, const char *dst, unsigned long long size, const char *mode,
                   struct aio_err *err);
/* Makes the mount at fd (and everything below) read-only, nosuid, nodev. */
int rt_mount_setattr_ro(int fd, int recursive, struct aio_err *err);
/* chdir(root); pivot_root(".", "."); detach the old root. */
int rt_pivot_root(int root_fd, struct aio_err *err);
