#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "fd.h"
#include "xalloc.h"

int aio_write_knob(int dirfd, const char *path, const char *s, struct aio_err *err)
{
        cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t len = strlen(s);
        ssize_t n;

        if (fd < 0)
                return aio_error(err, errno, "open %s", path);
        do
                n = write(fd, s, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return aio_error(err, errno, "write '%s' to %s", s, path);
        if ((size_t)n != len)
                return aio_error_msg(err, EIO, "short write to %s", path);
        return 0;
}

int aio_write_file(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                   struct aio_err *err)
{
        cleanup_close int fd =
                openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

        if (fd < 0)
                return aio_error(err, errno, "create %s", path);
        if (aio_write_full(fd, data, len, err) < 0)
                return aio_error_prefix(err, "%s", path);
        return 0;
}

ssize_t aio_read_file(int dirfd, const char *path, char *buf, size_t max, struct aio_err *err)
{
        cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t len = 0;

        if (fd < 0)
                return aio_error(err, errno, "open %s", path);
        while (len + 1 < max) {
                ssize_t n = read(fd, buf + len, max - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return aio_error(err, errno, "read %s", path);
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        return (ssize_t)len;
}

int aio_mkdir_p(const char *path, mode_t mode, struct aio_err *err)
{
        cleanup_free char *p = aio_xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return aio_error(err, errno, "mkdir %s", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return aio_error(err, errno, "mkdir %s", p);
        return 0;
}

/* Removal without recursion: the tree may have been shaped by a jail (a million levels deep),
 * so the walk keeps one directory fd open and a heap stack of names to climb back with. */
struct rm_stack {
        char **names;
        size_t len, cap;
};

static void rm_push(struct rm_stack *st, const char *name)
{
        if (st->len == st->cap) {
                st->cap = st->cap ? 2 * st->cap : 64;
                st->names = aio_xrealloc(st->names, st->cap * sizeof(char *));
        }
        st->names[st->len++] = aio_xstrdup(name);
}

static int open_dir_at(int dfd, const char *name)
{
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
                /* overlayfs leaves a mode-000 work directory behind */
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd;
}

/* Unlinks the non-directories in dfd; returns 1 and the name of a subdirectory to descend
 * into, 0 when dfd is empty. */
static int rm_scan(int dfd, dev_t dev, char *ret_sub, size_t size, struct aio_err *err)
{
        int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        cleanup_dir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        struct dirent *de;
        struct stat st;

        if (!d) {
                if (dup >= 0)
                        (void)close(dup);
                return aio_error(err, errno, "opendir");
        }
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!S_ISDIR(st.st_mode)) {
                        if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
                                return aio_error(err, errno, "unlink %s", de->d_name);
                        continue;
                }
                if (st.st_dev != dev)
                        return aio_error_msg(err, EXDEV, "%s is a mount point, not removed",
                                             de->d_name);
                (void)snprintf(ret_sub, size, "%s", de->d_name);
                return 1;
        }
        return 0;
}

static int rm_tree(int top, dev_t dev, struct rm_stack *st, struct aio_err *err)
{
        cleanup_close int cur = fcntl(top, F_DUPFD_CLOEXEC, 3);
        char sub[NAME_MAX + 1];

        if (cur < 0)
                return aio_error(err, errno, "dup");
        for (;;) {
                int r = rm_scan(cur, dev, sub, sizeof(sub), err), next;

                if (r < 0)
                        return r;
                if (r == 1) {
                        next = open_dir_at(cur, sub);
                        if (next < 0)
                                return aio_error(err, errno, "open %s", sub);
                        rm_push(st, sub);
                        closep(&cur);
                        cur = next;
                        continue;
                }
                if (st->len == 0)
                        return 0;
                /* cur is empty: climb to its parent and remove it there. */
                next = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (next < 0)
                        return aio_error(err, errno, "open ..");
                closep(&cur);
                cur = next;
                st->len--;
                r = unlinkat(cur, st->names[st->len], AT_REMOVEDIR);
                free(st->names[st->len]);
                if (r < 0 && errno != ENOENT)
                        return aio_error(err, errno, "rmdir");
        }
}

int aio_rm_rf(int dirfd, const char *path, struct aio_err *err)
{
        struct rm_stack st = {0};
        cleanup_close int top = -1;
        struct stat s;
        int r;

        if (fstatat(dirfd, path, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : aio_error(err, errno, "stat %s", path);
        if (!S_ISDIR(s.st_mode)) {
                if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
                        return aio_error(err, errno, "unlink %s", path);
                return 0;
        }
        top = open_dir_at(dirfd, path);
        if (top < 0)
                return aio_error(err, errno, "open %s", path);
        r = rm_tree(top, s.st_dev, &st, err);
        for (size_t i = 0; i < st.len; i++)
                free(st.names[i]);
        free(st.names);
        if (r < 0)
                return aio_error_prefix(err, "remove %s", path);
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return aio_error(err, errno, "rmdir %s", path);
        return 0;
}
