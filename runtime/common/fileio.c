#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
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

static int rm_children(int dfd, dev_t dev, struct aio_err *err);

static int rm_entry(int dfd, const char *name, dev_t dev, struct aio_err *err)
{
        struct stat st;
        cleanup_close int sub = -1;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : aio_error(err, errno, "stat %s", name);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return aio_error(err, errno, "unlink %s", name);
                return 0;
        }
        if (st.st_dev != dev)
                return aio_error_msg(err, EXDEV, "%s is a mount point, not removed", name);
        sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return aio_error(err, errno, "open %s", name);
        /* Depth is bounded by PATH_MAX-long trees we created ourselves. NOLINTNEXTLINE(misc-no-recursion) */
        if (rm_children(sub, dev, err) < 0)
                return aio_error_prefix(err, "%s", name);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return aio_error(err, errno, "rmdir %s", name);
        return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion) */
static int rm_children(int dfd, dev_t dev, struct aio_err *err)
{
        int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        cleanup_dir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        struct dirent *de;

        if (!d) {
                if (dup >= 0)
                        (void)close(dup);
                return aio_error(err, errno, "opendir");
        }
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (rm_entry(dfd, de->d_name, dev, err) < 0)
                        return -err->code;
        }
        return 0;
}

int aio_rm_rf(int dirfd, const char *path, struct aio_err *err)
{
        struct stat st;

        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : aio_error(err, errno, "stat %s", path);
        return rm_entry(dirfd, path, st.st_dev, err);
}
