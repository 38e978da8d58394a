/* The image store's names, lookups and housekeeping, without libarchive (aio-run links this).
 *
 * names/<name> -> <sha256>: one symlink per name, '/' written "%2f" (names never hold '%'),
 * replaced atomically (rename). A name moves to the new content when the same name is imported
 * again; the old content stays, unnamed, until `prune`.
 *
 * In use: a sandbox holds a shared flock on images/<sha256>/ from its `rootfs` step until it is
 * gone (rt_image_acquire(), the fd closed by the launcher's cleanup, or by the kernel when the
 * launcher dies). rm and prune take the flock exclusively without waiting: held means in use.
 * They rename the entry to .tmp-rm-* while holding it, then remove it; a sandbox that obtained
 * its shared lock on an entry renamed away under it looks it up again.
 */
#include "image.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "config.h"
#include "image-internal.h"
#include "store-internal.h"
#include "store.h"

#define NAMES_DIR     "names"
#define ACQUIRE_TRIES 3

/* ---- names --------------------------------------------------------------------------------- */

static bool name_char_ok(char c)
{
        return isalnum((unsigned char)c) || strchr("._:/@+-", c);
}

int rt_image_name_check(const char *name, struct aio_err *err)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > RT_IMAGE_NAME_MAX)
                return aio_error_msg(err, EINVAL, "image name: 1 to %d characters",
                                     RT_IMAGE_NAME_MAX);
        if (!isalnum((unsigned char)name[0]))
                return aio_error_msg(err, EINVAL,
                                     "image name '%.255s': must start with a letter "
                                     "or digit",
                                     name);
        for (size_t i = 0; i < n; i++)
                if (!name_char_ok(name[i]))
                        return aio_error_msg(err, EINVAL,
                                             "image name '%.255s': only letters, digits and "
                                             "'._:/@+-'",
                                             name);
        if (strstr(name, "//") || strstr(name, "/.") || strstr(name, "./") || name[n - 1] == '/')
                return aio_error_msg(err, EINVAL,
                                     "image name '%.255s': empty or dot-led path component", name);
        return 0;
}

char *rt_image_name_short(const char *ref)
{
        static const char *const prefixes[] = {"docker.io/library/", "index.docker.io/library/",
                                               "docker.io/", "index.docker.io/"};

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(ref, prefixes[i], strlen(prefixes[i])) == 0 && ref[strlen(prefixes[i])])
                        return aio_xstrdup(ref + strlen(prefixes[i]));
        return aio_xstrdup(ref);
}

/* names/<encoded> */
static char *name_path(const char *name)
{
        size_t n = strlen(name), o = strlen(NAMES_DIR "/");
        char *p = aio_xmalloc(o + 3 * n + 1);

        memcpy(p, NAMES_DIR "/", o);
        for (size_t i = 0; i < n; i++) {
                if (name[i] == '/') {
                        memcpy(p + o, "%2f", 3);
                        o += 3;
                } else {
                        p[o++] = name[i];
                }
        }
        p[o] = '\0';
        return p;
}

static char *name_decode(const char *enc)
{
        char *s = aio_xstrdup(enc), *o = s;

        for (const char *c = enc; *c; c++) {
                if (strncmp(c, "%2f", 3) == 0) {
                        *o++ = '/';
                        c += 2;
                } else {
                        *o++ = *c;
                }
        }
        *o = '\0';
        return s;
}

int rt_image_name_get(int images_fd, const char *name, char hex[AIO_SHA256_HEX])
{
        cleanup_free char *path = name_path(name);
        char buf[AIO_SHA256_HEX + 1];
        ssize_t n = readlinkat(images_fd, path, buf, sizeof(buf));

        if (n != AIO_SHA256_HEX - 1)
                return -ENOENT;
        buf[n] = '\0';
        if (!rt_store_is_digest(buf))
                return -ENOENT;
        memcpy(hex, buf, AIO_SHA256_HEX);
        return 0;
}

int rt_image_name_set(int images_fd, const char *name, const char *hex, struct aio_err *err)
{
        cleanup_free char *path = name_path(name);
        cleanup_free char *tmp = aio_xasprintf(NAMES_DIR "/.new-%d", (int)getpid());

        if (mkdirat(images_fd, NAMES_DIR, 0755) < 0 && errno != EEXIST)
                return aio_error(err, errno, "mkdir %s", NAMES_DIR);
        (void)unlinkat(images_fd, tmp, 0);
        if (symlinkat(hex, images_fd, tmp) < 0)
                return aio_error(err, errno, "symlink %s", tmp);
        if (renameat(images_fd, tmp, images_fd, path) < 0) {
                int r = aio_error(err, errno, "name %s", name);

                (void)unlinkat(images_fd, tmp, 0);
                return r;
        }
        return 0;
}

void rt_image_name_unset(int images_fd, const char *name)
{
        cleanup_free char *path = name_path(name);

        (void)unlinkat(images_fd, path, 0);
}

size_t rt_image_names_list(int images_fd, struct rt_image_name **ret)
{
        int fd = openat(images_fd, NAMES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_dir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct rt_image_name *v = NULL;
        struct dirent *de;
        size_t n = 0;

        if (!d && fd >= 0)
                (void)close(fd);
        while (d && (de = readdir(d))) {
                cleanup_free char *name = NULL;

                if (de->d_name[0] == '.')
                        continue;
                name = name_decode(de->d_name);
                v = aio_xrealloc(v, (n + 1) * sizeof(*v));
                if (rt_image_name_get(images_fd, name, v[n].hex) < 0)
                        v[n].hex[0] = '\0'; /* dangling or foreign: prune removes it */
                v[n++].name = take_ptr(&name);
        }
        *ret = v;
        return n;
}

void rt_image_names_free(struct rt_image_name *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].name);
        free(v);
}

/* ---- lookups ------------------------------------------------------------------------------- */

int rt_image_open_store(const char *state_dir, struct aio_err *err)
{
        cleanup_free char *images = aio_xasprintf("%s/images", state_dir);
        int fd = rt_store_images_open(images, false, err);

        if (fd == -ENOENT)
                aio_err_clear(err);
        return fd;
}

static bool hex_prefix(const char *s)
{
        size_t n = strlen(s);

        if (n < 4 || n > AIO_SHA256_HEX - 1)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* A unique entry whose digest starts with prefix. */
static int find_prefix(int images_fd, const char *prefix, char hex[AIO_SHA256_HEX],
                       struct aio_err *err)
{
        int dup = openat(images_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
        cleanup_dir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        struct dirent *de;
        int found = 0;

        if (!d) {
                if (dup >= 0)
                        (void)close(dup);
                return aio_error(err, errno, "read the image store");
        }
        while ((de = readdir(d))) {
                if (!rt_store_is_digest(de->d_name) ||
                    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                if (found++)
                        return aio_error_msg(err, EINVAL, "digest prefix %s is ambiguous", prefix);
                memcpy(hex, de->d_name, AIO_SHA256_HEX);
        }
        return found ? 0 : -ENOENT;
}

int rt_image_find_at(int images_fd, const char *ref, char hex[AIO_SHA256_HEX], struct aio_err *err)
{
        cleanup_free char *name = rt_image_name_short(ref);
        const char *colon = strrchr(name, ':');
        int r;

        if (strncmp(ref, "sha256:", 7) == 0)
                ref += 7;
        if (hex_prefix(ref)) {
                r = find_prefix(images_fd, ref, hex, err);
                if (r != -ENOENT)
                        return r;
        }
        if (rt_image_name_check(name, err) < 0)
                return -ENOENT;
        if (rt_image_name_get(images_fd, name, hex) == 0)
                return 0;
        if (!colon || strchr(colon, '/')) {
                cleanup_free char *latest = aio_xasprintf("%s:latest", name);

                if (rt_image_name_get(images_fd, latest, hex) == 0)
                        return 0;
        }
        return -ENOENT;
}

int rt_image_find(const char *state_dir, const char *ref, char ret_hex[AIO_SHA256_HEX],
                  struct aio_err *err)
{
        cleanup_close int images_fd = rt_image_open_store(state_dir, err);
        char hex[AIO_SHA256_HEX];
        int r;

        if (images_fd < 0 && images_fd != -ENOENT)
                return images_fd;
        r = images_fd < 0 ? -ENOENT : rt_image_find_at(images_fd, ref, hex, err);
        if (r == -ENOENT || (r == 0 && !rt_store_has_rootfs(images_fd, hex)))
                return aio_error_msg(err, ENOENT,
                                     "no image '%.255s' in %s/images (aio-run image ls lists them)",
                                     ref, state_dir);
        if (r < 0)
                return r;
        memcpy(ret_hex, hex, AIO_SHA256_HEX);
        return 0;
}

/* ---- in use -------------------------------------------------------------------------------- */

/* A shared lock on images/<hex>, still under that name. -ENOENT: removed meanwhile. */
static int image_hold(int images_fd, const char *hex, struct aio_err *err)
{
        cleanup_close int fd =
                openat(images_fd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat a, b;

        if (fd < 0)
                return errno == ENOENT ? -ENOENT : aio_error(err, errno, "open image %s", hex);
        while (flock(fd, LOCK_SH) < 0)
                if (errno != EINTR)
                        return aio_error(err, errno, "lock image %s", hex);
        if (fstat(fd, &a) < 0 || fstatat(images_fd, hex, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
            a.st_ino != b.st_ino || a.st_dev != b.st_dev || !rt_store_has_rootfs(images_fd, hex))
                return -ENOENT;
        return take_fd(&fd);
}

bool rt_image_in_use(int images_fd, const char *hex)
{
        cleanup_close int fd =
                openat(images_fd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return false;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        (void)flock(fd, LOCK_UN);
        return false;
}

/* "<images>/<hex>/rootfs" -> hex */
static int dir_digest(const char *dir, char hex[AIO_SHA256_HEX])
{
        size_t n = strlen(dir), h = AIO_SHA256_HEX - 1;

        if (n < h + 8 || strcmp(dir + n - 7, "/rootfs") != 0 || dir[n - 8 - h] != '/')
                return -EINVAL;
        memcpy(hex, dir + n - 7 - h, h);
        hex[h] = '\0';
        return rt_store_is_digest(hex) ? 0 : -EINVAL;
}

static int acquire_tarball(const struct rt_config *c, int sigfd, char **ret_dir,
                           struct aio_err *err)
{
        int r = rt_store_lookup(c->state_dir, c->rootfs, ret_dir, err);

        if (r > 0)
                log_debug("rootfs: %s found in the store: %s", c->rootfs, *ret_dir);
        if (r != 0)
                return r < 0 ? r : 0;
        log_debug("rootfs: %s is not in the store: unpacking with aio-unpack", c->rootfs);
        return rt_store_helper_run(c->state_dir, c->rootfs, sigfd, ret_dir, err);
}

/* A tarball or an image name, held: retried when removed between lookup and lock. */
static int acquire_entry(const struct rt_config *c, int sigfd, char **ret_dir, int *ret_lock,
                         struct aio_err *err)
{
        cleanup_free char *images = aio_xasprintf("%s/images", c->state_dir);
        char hex[AIO_SHA256_HEX];

        for (int i = 0; i < ACQUIRE_TRIES; i++) {
                cleanup_close int images_fd = -1;
                cleanup_free char *dir = NULL;
                int r;

                if (c->rootfs_kind == RT_ROOTFS_TAR)
                        r = acquire_tarball(c, sigfd, &dir, err);
                else if ((r = rt_image_find(c->state_dir, c->rootfs, hex, err)) == 0)
                        dir = aio_xasprintf("%s/%s/rootfs", images, hex);
                if (r < 0)
                        return r;
                if (!dir || dir_digest(dir, hex) < 0)
                        return aio_error_msg(err, EPROTO, "%s is not a store entry",
                                             dir ? dir : c->rootfs);
                images_fd = rt_store_images_open(images, false, err);
                if (images_fd < 0)
                        return images_fd;
                r = image_hold(images_fd, hex, err);
                if (r >= 0) {
                        *ret_lock = r;
                        *ret_dir = take_ptr(&dir);
                        return 0;
                }
                if (r != -ENOENT)
                        return r;
                log_debug("rootfs: image %s was removed while starting: again", hex);
        }
        return aio_error_msg(err, EAGAIN, "%s: the image keeps being removed", c->rootfs);
}

int rt_image_acquire(const struct rt_config *c, int sigfd, char **ret_dir, int *ret_lock,
                     struct aio_err *err)
{
        char real[PATH_MAX];

        *ret_lock = -1;
        if (c->rootfs_kind == RT_ROOTFS_HOST)
                return 0;
        if (c->rootfs_kind == RT_ROOTFS_TAR || c->rootfs_kind == RT_ROOTFS_IMAGE)
                return acquire_entry(c, sigfd, ret_dir, ret_lock, err);
        if (!realpath(c->rootfs, real))
                return aio_error(err, errno, "--rootfs %s", c->rootfs);
        *ret_dir = aio_xstrdup(real);
        return 0;
}
