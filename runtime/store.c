/* Content-addressed store of unpacked root filesystems.
 *
 * Layout under <state_dir>/images:
 *   <sha256>/rootfs      the unpacked tree. <sha256> is the hash of the tarball's bytes for a
 *                        rootfs tarball, and the digest of the image config (the image ID, which
 *                        names every layer by the hash of its content) for an image
 *   <sha256>/meta        source, sizes, format, layers... (key=value lines; image.c reads it)
 *   <sha256>/config.json an image's config, as it was in the archive
 *   by-file/<dev>-<ino>-<size>-<mtime_ns> -> <sha256>
 *                        symlink cache: a tarball seen before is found without hashing it. A file
 *                        rewritten in place with the same size and mtime (to the nanosecond) is
 *                        not noticed; every other change is.
 *   names/<name>         -> <sha256>: the image's names ('/' written %2f), see image.c
 *   .tmp-XXXXXX/         an unpack in progress, flock()ed by its owner; renamed to <sha256> when
 *                        complete, removed on failure (or by a later unpack if its owner died)
 * A sandbox holds a shared flock on <sha256>/ while it runs: `aio-run image rm` and `prune`
 * take it exclusively, so they never remove an image in use (image.c).
 *
 * Extraction runs in a forked child (store-extract.c). The parent reads the tarball or layer
 * once, hashes it, decompresses it (libarchive's in-process gzip/bzip2/xz/zstd filters, nothing
 * else) and streams the tar bytes to the child over a socket: the child extracts exactly the bytes
 * hashed (a tarball rewritten during the unpack cannot put content under another content's
 * hash), and hashing and decompression run on a second CPU. For a layer the parent also hashes
 * the uncompressed stream: the image config names each layer by that hash (its diff_id).
 *
 * Symlinks: a relative target must not climb above the root when resolved lexically from the
 * entry's directory. Absolute targets are allowed: inside the jail they resolve against the jail
 * root. On the host, nothing may follow symlinks in the tree (consumers open paths below a
 * rootfs with aio_open_in_root()); the extractor itself never does (SECURE_SYMLINKS, and hard
 * link targets must not pass through a symlink).
 *
 * Files: store-name.c (entry name, link and whiteout checks), store-cache.c (the by-file cache,
 * meta and rt_store_lookup()), store-extract.c (the child) and this one, the parent side: with
 * store-extract.c the only ones using libarchive. aio-run does not link them: it calls
 * rt_store_lookup() and, on a miss, runs aio-unpack (unpack-main.c), so libarchive and the
 * libraries it loads (libxml2, ICU, libstdc++...) cost nothing at start-up. image-import.c
 * decides what an archive is (a rootfs, a `docker save` archive, an OCI layout).
 */
#include "store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "image.h"
#include "store-internal.h"

#define STORE_FEED_SIZE (1u << 18)
#define STORE_SOCK_BUF  (8 << 20)
/* A layer's diff_id covers its whole uncompressed stream: what follows the end-of-archive marker
 * is decompressed and hashed too, up to this much (tar writers pad to 10 KiB). */
#define STORE_TRAIL_MAX (16ULL << 20)

static int archive_fail_msg(struct archive *a, const char *what, struct aio_err *err)
{
        const char *s = archive_error_string(a);
        int code = archive_errno(a);

        return aio_error_msg(err, code > 0 ? code : EIO, "%s: %s", what, s ? s : "unknown error");
}

static int store_wait(pid_t pid, int result_fd, struct rt_store_result *res, struct aio_err *err)
{
        size_t got = 0;
        int status;

        while (got < sizeof(*res)) {
                ssize_t n = read(result_fd, (char *)res + got, sizeof(*res) - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return aio_error(err, errno, "wait for the unpacker");
        if (got == sizeof(*res) && res->err.code != 0) {
                *err = res->err;
                err->msg[sizeof(err->msg) - 1] = '\0';
                return -err->code;
        }
        if (got == sizeof(*res) && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                return aio_error_msg(err, EIO, "unpacker killed by signal %d", WTERMSIG(status));
        return aio_error_msg(err, EIO, "unpacker exited with status %d without a result",
                             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Parent side: the tarball's bytes, hashed as they are read; for a layer, the tar stream too. */
struct store_feed {
        int fd;
        struct aio_sha256 sha, tar_sha;
        unsigned char *buf;
        bool layer;
        bool child_done;              /* the child stopped reading */
        bool cut;                     /* STORE_TRAIL_MAX reached: tar_sha is not the layer's */
        unsigned long long after_end; /* bytes decompressed since */
};

/* No skip or seek callback: libarchive must read (and so hash) every byte in order. */
static la_ssize_t feed_read_cb(struct archive *a, void *data, const void **ret_buf)
{
        struct store_feed *f = data;
        ssize_t n;

        do
                n = read(f->fd, f->buf, STORE_FEED_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        aio_sha256_update(&f->sha, f->buf, (size_t)n);
        *ret_buf = f->buf;
        return n;
}

/* Returns 1 when the child stopped reading (done, or failed: its result says which). */
static int send_full(int sock, const void *data, size_t len, struct aio_err *err)
{
        for (size_t off = 0; off < len;) {
                ssize_t k = send(sock, (const char *)data + off, len - off, MSG_NOSIGNAL);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EPIPE || errno == ECONNRESET
                                       ? 1
                                       : aio_error(err, errno, "send to the unpacker");
                off += (size_t)k;
        }
        return 0;
}

/* One block of the tar stream: hashed (layers), then sent while the child reads. Returns 1 when
 * there is nothing more to do. */
static int feed_block(struct store_feed *f, int sock, const void *buf, size_t len,
                      struct aio_err *err)
{
        int r;

        if (f->layer)
                aio_sha256_update(&f->tar_sha, buf, len);
        if (f->child_done) {
                f->after_end += len;
                f->cut = f->after_end > STORE_TRAIL_MAX;
                return f->cut ? 1 : 0;
        }
        r = send_full(sock, buf, len, err);
        if (r <= 0)
                return r;
        f->child_done = true;
        return f->layer ? 0 : 1;
}

/* Decompresses (the "raw" format: any of our filters, or none) and sends the tar stream. Only
 * in-process filters we mean to accept: no external decompressor programs. */
static int feed_stream(struct store_feed *f, struct archive *a, int sock, struct aio_err *err)
{
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);

        if (r == ARCHIVE_EOF)
                return 0;
        if (r != ARCHIVE_OK)
                return archive_fail_msg(a, "decompressing", err);
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;

                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        return f->child_done ? 1 : 0;
                if (r != ARCHIVE_OK)
                        return archive_fail_msg(a, "decompressing", err);
                r = feed_block(f, sock, buf, len, err);
                if (r != 0)
                        return r;
        }
}

/* Reads src once: hashes it, decompresses it and streams the tar bytes to the child, which
 * extracts them. So the child extracts exactly what was hashed, and hashing and decompression
 * run on another CPU than extraction. Returns 1 when the child stopped reading (done at the
 * end-of-archive marker, or failed: its result says which). */
static int store_feed(struct rt_store_job *job, int sock, struct aio_err *err)
{
        cleanup_free unsigned char *buf = aio_xmalloc(STORE_FEED_SIZE);
        struct store_feed f = {.fd = job->src_fd, .buf = buf, .layer = job->layer};
        struct archive *a = archive_read_new();
        uint8_t digest[AIO_SHA256_LEN];
        ssize_t n;
        int r;

        if (!a)
                return aio_error_msg(err, ENOMEM, "libarchive: out of memory");
        aio_sha256_init(&f.sha);
        aio_sha256_init(&f.tar_sha);
        (void)posix_fadvise(job->src_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* Keep the child busy while we hash: a deep socket buffer, and small chunks. */
        if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &(int){STORE_SOCK_BUF}, sizeof(int)) < 0)
                (void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &(int){STORE_SOCK_BUF}, sizeof(int));
        (void)archive_read_support_format_raw(a);
        (void)archive_read_support_filter_gzip(a);
        (void)archive_read_support_filter_bzip2(a);
        (void)archive_read_support_filter_xz(a);
        (void)archive_read_support_filter_zstd(a);
        if (archive_read_open(a, &f, NULL, feed_read_cb, NULL) != ARCHIVE_OK)
                r = archive_fail_msg(a, "decompressing", err);
        else
                r = feed_stream(&f, a, sock, err);
        (void)archive_read_free(a);
        /* Hash the rest of the file (what the child did not need, and what follows the compressed
         * stream): the key covers the whole file. */
        while (r >= 0 && (n = read(job->src_fd, buf, STORE_FEED_SIZE)) != 0) {
                if (n < 0 && errno != EINTR)
                        return aio_error(err, errno, "read");
                if (n > 0)
                        aio_sha256_update(&f.sha, buf, (size_t)n);
        }
        aio_sha256_final(&f.sha, digest);
        aio_sha256_hex(digest, job->file_hex);
        aio_sha256_final(&f.tar_sha, digest);
        aio_sha256_hex(digest, job->tar_hex);
        if (f.cut)
                job->tar_hex[0] = '\0'; /* matches no diff_id */
        return r;
}

/* The child's error names the entry; the feed's (if any) says what was wrong with the stream. */
static int store_merge_errors(int w, int r, struct aio_err *err, const struct aio_err *feed)
{
        char msg[sizeof(err->msg)];

        if (w < 0 && r < 0) {
                (void)snprintf(msg, sizeof(msg), "%.300s (%.200s)", err->msg, feed->msg);
                memcpy(err->msg, msg, sizeof(msg));
                return w;
        }
        if (w < 0)
                return w;
        if (r < 0) {
                *err = *feed;
                return r;
        }
        return 0; /* r > 0: the child had all it needed, up to the end-of-archive marker */
}

int rt_store_extract(struct rt_store_job *job, struct aio_err *err)
{
        struct rt_store_result res = {.err = {0}};
        struct aio_err feed_err = {0};
        pid_t parent = getpid(), pid;
        int p[2], sk[2], r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk) < 0) {
                r = aio_error(err, errno, "socketpair");
                goto out_pipe;
        }
        pid = fork();
        if (pid < 0) {
                r = aio_error(err, errno, "fork");
                goto out_sock;
        }
        if (pid == 0) {
                (void)close(p[0]);
                (void)close(sk[0]);
                rt_store_child(job, sk[1], parent, p[1]);
        }
        (void)close(take_fd(&p[1]));
        (void)close(take_fd(&sk[1]));
        r = store_feed(job, sk[0], &feed_err);
        (void)close(take_fd(&sk[0])); /* EOF for the child: a cut stream fails there */
        r = store_merge_errors(store_wait(pid, p[0], &res, err), r, err, &feed_err);
        if (r >= 0) {
                job->entries = res.entries;
                job->bytes = res.bytes;
        }
out_sock:
        if (sk[0] >= 0)
                (void)close(sk[0]);
        if (sk[1] >= 0)
                (void)close(sk[1]);
out_pipe:
        (void)close(p[0]);
        if (p[1] >= 0)
                (void)close(p[1]);
        return r;
}

int rt_store_commit(int images_fd, const char *tmp_name, const char *hex, struct aio_err *err)
{
        struct aio_err ignored;

        if (renameat(images_fd, tmp_name, images_fd, hex) == 0)
                return 0;
        if (errno != ENOTEMPTY && errno != EEXIST)
                return aio_error(err, errno, "rename %s to %s", tmp_name, hex);
        (void)aio_rm_rf(images_fd, tmp_name, &ignored);
        if (!rt_store_has_rootfs(images_fd, hex))
                return aio_error_msg(err, EEXIST, "store entry %s has no rootfs: remove it", hex);
        return 0;
}

int rt_store_tmp_new(int images_fd, const char *images, struct rt_store_tmp *t, struct aio_err *err)
{
        char *slash;

        rt_store_sweep(images_fd);
        *t = (struct rt_store_tmp){.path = aio_xasprintf("%s/.tmp-XXXXXX", images), .fd = -1};
        if (!mkdtemp(t->path)) {
                int r = aio_error(err, errno, "mkdtemp %s", t->path);

                free(take_ptr(&t->path));
                return r;
        }
        slash = strrchr(t->path, '/');
        t->name = slash + 1;
        t->fd = openat(images_fd, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (t->fd < 0 || flock(t->fd, LOCK_EX) < 0) {
                int r = aio_error(err, errno, "open %s", t->path);

                rt_store_tmp_drop(images_fd, t);
                return r;
        }
        return 0;
}

void rt_store_tmp_drop(int images_fd, struct rt_store_tmp *t)
{
        struct aio_err ignored;
        struct stat a, b;

        if (!t->path)
                return;
        /* Still ours under that name (not committed): remove it. */
        if (t->fd >= 0 && fstat(t->fd, &a) == 0 &&
            fstatat(images_fd, t->name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev && aio_rm_rf(images_fd, t->name, &ignored) < 0)
                log_debug("store: remove %s: %s", t->path, ignored.msg);
        if (t->fd < 0)
                (void)unlinkat(images_fd, t->name, AT_REMOVEDIR);
        closep(&t->fd);
        free(take_ptr(&t->path));
        t->name = NULL;
}

int rt_store_unpack(const char *state_dir, const char *tarball, const struct rt_store_limits *lim,
                    char **ret_dir, struct aio_err *err)
{
        struct rt_image_import im = {.state_dir = state_dir, .src = tarball, .lim = lim};
        int r;

        r = rt_image_import(&im, err);
        if (r < 0)
                return r;
        *ret_dir = aio_xasprintf("%s/images/%s/rootfs", state_dir, im.hex);
        free(im.ret_name);
        return 0;
}
