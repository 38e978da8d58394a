#include "fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "xalloc.h"

int aio_open_in_root(int root_fd, const char *path, int flags, unsigned mode, struct aio_err *err)
{
        struct open_how how = {
                .flags = (unsigned long long)(flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        do
                fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        while (fd < 0 && (errno == EINTR || errno == EAGAIN));
        if (fd < 0)
                return aio_error(err, errno, "open %s inside the root", path);
        return (int)fd;
}

int aio_mkdir_in_root(int root_fd, const char *path, unsigned mode, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(path);
        size_t cap = strlen(path) + 2, used = 0;
        cleanup_free char *prefix = aio_xmalloc(cap);
        cleanup_close int cur = aio_open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0, err);
        char *save = NULL;

        if (cur < 0)
                return -err->code;
        prefix[0] = '\0';
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next;

                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0)
                        return aio_error_msg(err, EINVAL, "%s: '..' is not allowed", path);
                used += (size_t)snprintf(prefix + used, cap - used, "/%s", c);
                if (mkdirat(cur, c, mode) < 0 && errno != EEXIST)
                        return aio_error(err, errno, "mkdir %s", prefix);
                /* Re-resolve the whole prefix from the root: a symlink planted on the way is
                 * followed as if the root were "/", never out of it. */
                next = aio_open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0, err);
                if (next < 0)
                        return aio_error_prefix(err, "%s", path);
                closep(&cur);
                cur = next;
        }
        return take_fd(&cur);
}

int aio_fds_cloexec_from(int from, struct aio_err *err)
{
        if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
                return 0;
        /* Pre-5.11 kernels: walk /proc/self/fd. */
        cleanup_dir DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        if (!d)
                return aio_error(err, errno, "close_range and /proc/self/fd both unavailable");
        while ((de = readdir(d))) {
                int fd = (int)strtol(de->d_name, NULL, 10);

                if (de->d_name[0] != '.' && fd >= from && fd != dirfd(d))
                        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        return 0;
}

static int cmp_int(const void *a, const void *b)
{
        return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

int aio_close_all_except(const int *keep, size_t n_keep, struct aio_err *err)
{
        int sorted[16];
        unsigned from = 3;

        if (n_keep > ELEMENTSOF(sorted))
                return aio_error_msg(err, E2BIG, "too many fds to keep");
        memcpy(sorted, keep, n_keep * sizeof(int));
        qsort(sorted, n_keep, sizeof(int), cmp_int);
        for (size_t i = 0; i < n_keep; i++) {
                if (sorted[i] < (int)from)
                        continue;
                if ((unsigned)sorted[i] > from &&
                    syscall(SYS_close_range, from, (unsigned)sorted[i] - 1, 0) < 0)
                        return aio_error(err, errno, "close_range");
                from = (unsigned)sorted[i] + 1;
        }
        if (syscall(SYS_close_range, from, ~0U, 0) < 0)
                return aio_error(err, errno, "close_range");
        return 0;
}

int aio_read_full(int fd, void *buf, size_t n, struct aio_err *err)
{
        char *p = buf;

        while (n > 0) {
                ssize_t k = read(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return aio_error(err, errno, "read");
                if (k == 0)
                        return aio_error_msg(err, EPIPE, "unexpected end of stream");
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int aio_write_full(int fd, const void *buf, size_t n, struct aio_err *err)
{
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return aio_error(err, errno, "write");
                p += k;
                n -= (size_t)k;
        }
        return 0;
}
