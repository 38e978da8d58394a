/* The store's content-address cache, without libarchive (aio-run links this file, not store.c).
 *
 * by-file/<dev>-<ino>-<size>-<mtime_ns> -> <sha256>: a tarball seen before is found without
 * hashing it. A file rewritten in place with the same size and mtime (to the nanosecond) is not
 * noticed; every other change is. The layout of the whole store is described in store.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "store-internal.h"
#include "store.h"

#define STORE_STALE_SECS 60

bool rt_store_is_digest(const char *s)
{
        size_t i;

        for (i = 0; i < AIO_SHA256_HEX - 1; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[i] == '\0';
}

bool rt_store_has_rootfs(int images_fd, const char *hex)
{
        char path[AIO_SHA256_HEX + 8];
        struct stat st;

        (void)snprintf(path, sizeof(path), "%s/rootfs", hex);
        return fstatat(images_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void store_file_key(const struct stat *st, char *buf, size_t size)
{
        (void)snprintf(buf, size, "%llu-%llu-%lld-%lld", (unsigned long long)st->st_dev,
                       (unsigned long long)st->st_ino, (long long)st->st_size,
                       (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec);
}

int rt_store_cache_get(int images_fd, const struct stat *st, char hex[AIO_SHA256_HEX])
{
        char key[STORE_KEY_MAX], path[STORE_KEY_MAX + 16], buf[AIO_SHA256_HEX + 1];
        ssize_t n;

        if (!S_ISREG(st->st_mode))
                return -ENOENT; /* a pipe or a device: no identity to remember it by */
        store_file_key(st, key, sizeof(key));
        (void)snprintf(path, sizeof(path), "by-file/%s", key);
        n = readlinkat(images_fd, path, buf, sizeof(buf));
        if (n != AIO_SHA256_HEX - 1)
                return -ENOENT;
        buf[n] = '\0';
        if (!rt_store_is_digest(buf) || !rt_store_has_rootfs(images_fd, buf))
                return -ENOENT;
        memcpy(hex, buf, AIO_SHA256_HEX);
        return 0;
}

/* Replaced atomically. */
void rt_store_cache_put(int images_fd, const struct stat *st, const char *hex)
{
        char key[STORE_KEY_MAX], tmp[STORE_KEY_MAX + 64], path[STORE_KEY_MAX + 16];

        store_file_key(st, key, sizeof(key));
        (void)snprintf(path, sizeof(path), "by-file/%s", key);
        (void)snprintf(tmp, sizeof(tmp), "by-file/.new-%d-%s", (int)getpid(), key);
        if (mkdirat(images_fd, "by-file", 0755) < 0 && errno != EEXIST)
                return;
        (void)unlinkat(images_fd, tmp, 0);
        if (symlinkat(hex, images_fd, tmp) < 0)
                return;
        if (renameat(images_fd, tmp, images_fd, path) < 0) {
                log_debug("store: cache %s: %s", path, strerror(errno));
                (void)unlinkat(images_fd, tmp, 0);
        }
}

/* Temporary directories whose owner died: not locked now, and old enough (by mtime, which only
 * changes while the owner sets the directory up) to have been locked if alive. */
void rt_store_sweep(int images_fd)
{
        int dup = openat(images_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
        cleanup_dir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        time_t now = time(NULL);
        struct dirent *de;

        if (!d) {
                if (dup >= 0)
                        (void)close(dup);
                return;
        }
        while ((de = readdir(d))) {
                cleanup_close int fd = -1;
                struct aio_err ignored;
                struct stat st;

                if (strncmp(de->d_name, ".tmp-", 5) != 0)
                        continue;
                fd = openat(images_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0 || now - st.st_mtime < STORE_STALE_SECS)
                        continue;
                if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
                    aio_rm_rf(images_fd, de->d_name, &ignored) < 0)
                        log_debug("store: remove %s: %s", de->d_name, ignored.msg);
        }
}

int rt_store_meta_write(int dir_fd, const char *hex, const struct rt_store_meta *m,
                        struct aio_err *err)
{
        cleanup_free char *src = realpath(m->tarball, NULL);
        cleanup_free char *meta = NULL;

        meta = aio_xasprintf("source=%s\nsize=%lld\nsha256=%s\nentries=%llu\nbytes=%llu\n"
                             "imported=%lld\n%s",
                             src ? src : m->tarball, m->size, hex, m->entries, m->bytes,
                             (long long)time(NULL), m->extra ? m->extra : "");
        return aio_write_file(dir_fd, "meta", meta, strlen(meta), 0644, err);
}

int rt_store_images_open(const char *images, bool create, struct aio_err *err)
{
        int fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0 || errno != ENOENT || !create)
                return fd >= 0 ? fd : aio_error(err, errno, "open %s", images);
        if (aio_mkdir_p(images, 0755, err) < 0)
                return -err->code;
        fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 ? fd : aio_error(err, errno, "open %s", images);
}

int rt_store_lookup(const char *state_dir, const char *tarball, char **ret_dir, struct aio_err *err)
{
        cleanup_free char *images = aio_xasprintf("%s/images", state_dir);
        cleanup_close int images_fd = -1, tar_fd = -1;
        char hex[AIO_SHA256_HEX];
        struct stat st;

        /* stat() first: opening a fifo would wait for (and then cut off) its writer. */
        if (stat(tarball, &st) < 0)
                return aio_error(err, errno, "open %s", tarball);
        if (S_ISDIR(st.st_mode))
                return aio_error_msg(err, EISDIR, "%s is a directory, not a tarball", tarball);
        if (!S_ISREG(st.st_mode))
                return 0; /* a stream is read once, by the unpacker */
        /* Opened, as the unpack would: a cached tarball the caller cannot read is not served. */
        tar_fd = open(tarball, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (tar_fd < 0 || fstat(tar_fd, &st) < 0)
                return aio_error(err, errno, "open %s", tarball);
        images_fd = rt_store_images_open(images, false, err);
        if (images_fd == -ENOENT)
                return 0;
        if (images_fd < 0)
                return aio_error_prefix(err, "store");
        if (rt_store_cache_get(images_fd, &st, hex) < 0)
                return 0;
        *ret_dir = aio_xasprintf("%s/%s/rootfs", images, hex);
        return 1;
}
