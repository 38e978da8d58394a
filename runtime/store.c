/* Content-addressed store of unpacked root filesystems.
 *
 * Layout under <state_dir>/images:
 *   <sha256>/rootfs      the unpacked tree; <sha256> is the hash of the tarball's bytes
 *   <sha256>/meta        source path, tarball size, entry and byte counts (key=value lines)
 *   by-file/<dev>-<ino>-<size>-<mtime_ns> -> <sha256>
 *                        symlink cache: a tarball seen before is found without hashing it. A file
 *                        rewritten in place with the same size and mtime (to the nanosecond) is
 *                        not noticed; every other change is.
 *   .tmp-XXXXXX/         an unpack in progress, flock()ed by its owner; renamed to <sha256> when
 *                        complete, removed on failure (or by a later unpack if its owner died)
 *
 * Extraction runs in a forked child. The parent reads the tarball once, hashes it, decompresses
 * it (libarchive's in-process gzip/bzip2/xz/zstd filters, nothing else) and streams the tar
 * bytes to the child over a socket: the child extracts exactly the bytes hashed (a tarball
 * rewritten during the unpack cannot put content under another content's hash), and hashing and
 * decompression run on a second CPU. The tar parser and everything that writes files are in the
 * child, which works with its own current directory set to the temporary rootfs: archive_write_
 * disk gets relative names with all three SECURE flags, and the launcher's cwd never changes.
 * When it may, the child also makes every mount except the temporary directory read-only in a
 * private mount namespace: a symlink bug in the extractor cannot write elsewhere. It does not
 * chroot: glibc would then load gconv/NSS modules from the untrusted tree.
 *
 * Symlinks: a relative target must not climb above the root when resolved lexically from the
 * entry's directory. Absolute targets are allowed: inside the jail they resolve against the jail
 * root. On the host, nothing may follow symlinks in the tree (consumers open paths below a
 * rootfs with aio_open_in_root()); the extractor itself never does (SECURE_SYMLINKS, and hard
 * link targets must not pass through a symlink).
 *
 * Files: store-name.c (entry name and link checks), store-cache.c (the by-file cache, meta and
 * rt_store_lookup()) and this one, the unpack proper: the only one using libarchive. aio-run
 * does not link it: it calls rt_store_lookup() and, on a miss, runs aio-unpack (unpack-main.c),
 * so libarchive and the libraries it loads (libxml2, ICU, libstdc++...) cost nothing at start-up.
 */
#include "store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "store-internal.h"

#define STORE_BUF_SIZE  (1u << 20)
#define STORE_FEED_SIZE (1u << 18)
#define STORE_SOCK_BUF  (8 << 20)
#define STORE_TICK_NS   100000000L /* progress: at most 10 updates a second */

/* Extraction keeps owners only as root (numeric ids: no lookups in the host's user database).
 * No ARCHIVE_EXTRACT_FFLAGS: an immutable or append-only file would make the store undeletable. */
#define STORE_EXTRACT_FLAGS                                                  \
        (ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | \
         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |           \
         ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/* What the child reports back through a pipe (< PIPE_BUF, so written atomically). */
struct store_result {
        struct aio_err err;
        unsigned long long entries, bytes;
};

/* One unpack of a tarball not in the store yet. */
struct store_ctx {
        const char *images; /* <state_dir>/images */
        int images_fd;
        const char *tarball; /* as given: for messages */
        int tar_fd;
        struct stat st; /* of tar_fd, before reading it */
        const struct rt_store_limits *lim;
        const char *tmp_path; /* <images>/.tmp-XXXXXX */
        const char *tmp_name; /* .tmp-XXXXXX */
        int tmp_fd;           /* flock()ed while we work */
        int in_fd;            /* child: the tarball's bytes, as the parent hashed them */
};

/* Child-side state of one extraction. */
struct store_unpack {
        const struct store_ctx *ctx;
        unsigned char *buf;
        unsigned long long entries, bytes, written;
        char prev[STORE_QUOTE_MAX]; /* last entry started, quoted: for errors between entries */
        const char *label;          /* tarball basename, for progress */
        struct timespec root_times[2];
        bool root_timed, tty;
        struct timespec last_tick;
};

/* ---- per-entry checks (child) -------------------------------------------------------------- */

static const char *refused_type(mode_t type)
{
        switch (type) {
        case AE_IFREG:
        case AE_IFDIR:
        case AE_IFLNK:
                return NULL;
        case AE_IFCHR:
                return "character device";
        case AE_IFBLK:
                return "block device";
        case AE_IFIFO:
                return "fifo";
        case AE_IFSOCK:
                return "socket";
        default:
                return "unknown file type";
        }
}

static int check_kind(struct archive_entry *e, const char *name, struct aio_err *err)
{
        const char *link = archive_entry_hardlink(e), *what;
        mode_t type = archive_entry_filetype(e), mode = archive_entry_mode(e);
        char q[STORE_QUOTE_MAX];

        if (rt_store_name_is_root(name) && (link || type != AE_IFDIR))
                return aio_error_msg(err, EINVAL, "the root must be a directory");
        /* A hard link's type and mode are its target's, already checked (or refused). */
        if (link) {
                if (rt_store_check_name(link, err) < 0)
                        return aio_error_prefix(err, "hard link target '%s'",
                                                rt_store_quote(link, q, sizeof(q)));
                if (rt_store_name_is_root(link))
                        return aio_error_msg(err, EINVAL, "hard link to the root");
                return 0;
        }
        what = refused_type(type);
        if (what)
                return aio_error_msg(err, EPERM, "%s not allowed", what);
        if (type == AE_IFLNK)
                return rt_store_check_link(name, archive_entry_symlink(e), err);
        if ((mode & S_ISUID) && type != AE_IFREG)
                return aio_error_msg(err, EPERM, "setuid bit on a non-regular file");
        if ((mode & S_ISGID) && type != AE_IFREG && type != AE_IFDIR)
                return aio_error_msg(err, EPERM, "setgid bit on a non-regular file");
        return 0;
}

static int check_limits(struct store_unpack *u, struct archive_entry *e, struct aio_err *err)
{
        const struct rt_store_limits *lim = u->ctx->lim;
        long long size = archive_entry_size(e);

        if (lim && lim->max_entries && u->entries >= lim->max_entries)
                return aio_error_msg(err, E2BIG, "more than max_entries (%llu) entries",
                                     lim->max_entries);
        u->entries++;
        if (size <= 0 || archive_entry_filetype(e) == AE_IFLNK)
                return 0;
        if (lim && lim->max_bytes && (unsigned long long)size > lim->max_bytes - u->bytes)
                return aio_error_msg(err, E2BIG,
                                     "%lld bytes exceed max_bytes (%llu bytes) after %llu bytes",
                                     size, lim->max_bytes, u->bytes);
        u->bytes += (unsigned long long)size;
        return 0;
}

static int check_entry(struct store_unpack *u, struct archive_entry *e, struct aio_err *err)
{
        const char *name = archive_entry_pathname(e);
        char q[STORE_QUOTE_MAX];

        if (!name)
                return aio_error_msg(err, EINVAL, "entry %llu (after '%s') has no name",
                                     u->entries + 1, u->prev);
        rt_store_quote(name, u->prev, sizeof(u->prev));
        if (rt_store_check_name(name, err) < 0 || check_kind(e, name, err) < 0 ||
            check_limits(u, e, err) < 0)
                return aio_error_prefix(err, "entry '%s'", rt_store_quote(name, q, sizeof(q)));
        return 0;
}

/* ---- extraction (child) -------------------------------------------------------------------- */

static void store_progress(struct store_unpack *u, bool final)
{
        struct timespec now;
        char line[STORE_QUOTE_MAX + 96];
        int n;

        if (!u->tty)
                return;
        (void)clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
        if (!final &&
            (now.tv_sec - u->last_tick.tv_sec) * 1000000000L + now.tv_nsec - u->last_tick.tv_nsec <
                    STORE_TICK_NS)
                return;
        u->last_tick = now;
        n = snprintf(line, sizeof(line), "\runpacking %s: %.1f MiB, %llu entries\033[K%s", u->label,
                     (double)u->written / (1024.0 * 1024.0), u->entries, final ? "\n" : "");
        if (n > 0)
                (void)!write(STDERR_FILENO, line,
                             (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static la_ssize_t store_read_cb(struct archive *a, void *data, const void **ret_buf)
{
        struct store_unpack *u = data;
        ssize_t n;

        do
                n = read(u->ctx->in_fd, u->buf, STORE_BUF_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        *ret_buf = u->buf;
        return n;
}

static int archive_fail(struct archive *a, const char *what, struct aio_err *err)
{
        const char *s = archive_error_string(a);
        int code = archive_errno(a);

        return aio_error_msg(err, code > 0 ? code : EIO, "%s: %s", what, s ? s : "unknown error");
}

static int entry_fail(struct archive *a, const char *name, struct aio_err *err)
{
        char q[STORE_QUOTE_MAX], what[STORE_QUOTE_MAX + 16];

        (void)snprintf(what, sizeof(what), "entry '%s'", rt_store_quote(name, q, sizeof(q)));
        return archive_fail(a, what, err);
}

static int copy_data(struct store_unpack *u, struct archive *in, struct archive *out,
                     const char *name, struct aio_err *err)
{
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(in, &buf, &len, &off);

                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK)
                        return entry_fail(in, name, err);
                if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK)
                        return entry_fail(out, name, err);
                u->written += len;
                store_progress(u, false);
        }
}

static int extract_entry(struct store_unpack *u, struct archive *in, struct archive *out,
                         struct archive_entry *e, struct aio_err *err)
{
        const char *name;
        int r;

        r = check_entry(u, e, err);
        if (r < 0)
                return r;
        name = archive_entry_pathname(e);
        if (archive_write_header(out, e) != ARCHIVE_OK)
                return entry_fail(out, name, err);
        if (archive_entry_size(e) > 0) {
                r = copy_data(u, in, out, name, err);
                if (r < 0)
                        return r;
        }
        if (archive_write_finish_entry(out) != ARCHIVE_OK)
                return entry_fail(out, name, err);
        if (rt_store_name_is_root(name) && archive_entry_mtime_is_set(e)) {
                u->root_times[0] = (struct timespec){.tv_nsec = UTIME_OMIT};
                u->root_times[1] =
                        (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
                u->root_timed = true;
        }
        store_progress(u, false);
        return 0;
}

static int extract_all(struct store_unpack *u, struct archive *in, struct archive *out,
                       struct aio_err *err)
{
        char what[STORE_QUOTE_MAX + 32];

        for (;;) {
                struct archive_entry *e;
                int r = archive_read_next_header(in, &e);

                if (r == ARCHIVE_EOF)
                        break;
                if (r == ARCHIVE_WARN)
                        log_debug("%s: %s", u->ctx->tarball, archive_error_string(in));
                if (r < ARCHIVE_WARN) {
                        if (u->entries == 0)
                                return archive_fail(in, "at the start of the archive", err);
                        (void)snprintf(what, sizeof(what), "after entry '%s'", u->prev);
                        return archive_fail(in, what, err);
                }
                r = extract_entry(u, in, out, e, err);
                if (r < 0)
                        return r;
        }
        if (u->entries == 0)
                return aio_error_msg(err, EINVAL, "the archive has no entries");
        /* Directory modes and times are applied last, by path, relative to our cwd; except the
         * root's, which libarchive sets at once (it exists): again, after all its children. */
        if (archive_write_close(out) != ARCHIVE_OK)
                return archive_fail(out, "finishing directories", err);
        if (u->root_timed && utimensat(AT_FDCWD, ".", u->root_times, 0) < 0)
                return aio_error(err, errno, "set the root's mtime");
        return 0;
}

static int store_extract(struct store_unpack *u, struct aio_err *err)
{
        struct archive *in = archive_read_new(), *out = archive_write_disk_new();
        int flags = STORE_EXTRACT_FLAGS | (geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0);
        int r;

        if (!in || !out) {
                r = aio_error_msg(err, ENOMEM, "libarchive: out of memory");
                goto out;
        }
        (void)archive_read_support_format_tar(in); /* decompressed by the parent */
        (void)archive_write_disk_set_options(out, flags);
        if (archive_read_open(in, u, NULL, store_read_cb, NULL) != ARCHIVE_OK)
                r = archive_fail(in, "at the start of the archive", err);
        else
                r = extract_all(u, in, out, err);
out:
        if (out)
                (void)archive_write_free(out);
        if (in)
                (void)archive_read_free(in);
        return r;
}

/* ---- the child ----------------------------------------------------------------------------- */

/* Best effort: without CAP_SYS_ADMIN there is no private mount namespace and nothing to do. Once
 * in a new namespace every failure is fatal, so that nothing can propagate to the host's. */
static int store_confine(const char *tmp_path, struct aio_err *err)
{
        struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
        struct mount_attr rw = {.attr_clr = MOUNT_ATTR_RDONLY};

        if (unshare(CLONE_NEWNS) < 0) {
                log_debug("store: no private mount namespace: %s", strerror(errno));
                return 0;
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return aio_error(err, errno, "make mounts private");
        if (mount(tmp_path, tmp_path, NULL, MS_BIND, NULL) < 0)
                return aio_error(err, errno, "bind %s", tmp_path);
        if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0) {
                if (errno != ENOSYS) /* before Linux 5.12: private, but not read-only */
                        return aio_error(err, errno, "make mounts read-only");
                log_debug("store: no mount_setattr(): mounts stay writable");
                return 0;
        }
        if (mount_setattr(AT_FDCWD, tmp_path, 0, &rw, sizeof(rw)) < 0)
                return aio_error(err, errno, "make %s writable", tmp_path);
        return 0;
}

static int store_enter(const char *tmp_path, struct aio_err *err)
{
        cleanup_free char *root = aio_xasprintf("%s/rootfs", tmp_path);
        cleanup_close int fd = -1;

        /* Opened after store_confine(): the writable bind mount is on top now. */
        fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return aio_error(err, errno, "open %s", root);
        if (fchdir(fd) < 0)
                return aio_error(err, errno, "chdir %s", root);
        return 0;
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s && s[1] ? s + 1 : path;
}

static int store_child_run(const struct store_ctx *c, struct store_result *res, struct aio_err *err)
{
        cleanup_free unsigned char *buf = aio_xmalloc(STORE_BUF_SIZE);
        struct store_unpack u = {.ctx = c, .buf = buf, .prev = ""};
        char label[STORE_QUOTE_MAX];
        int r;

        /* This process only: names are bytes, and UTF-8 pax names must convert as-is. */
        (void)setlocale(LC_CTYPE, "C.UTF-8");
        umask(022);
        r = store_confine(c->tmp_path, err);
        if (r >= 0)
                r = store_enter(c->tmp_path, err);
        if (r < 0)
                return r;
        u.tty = isatty(STDERR_FILENO) == 1;
        u.label = rt_store_quote(base_name(c->tarball), label, sizeof(label));
        r = store_extract(&u, err);
        store_progress(&u, true);
        if (r < 0)
                return r;
        /* What follows the end-of-archive marker is not read: the parent stops decompressing
         * when we exit (no decompression bomb hides there), and hashes the rest of the file. */
        res->entries = u.entries;
        res->bytes = u.bytes;
        return 0;
}

static _Noreturn void store_child(const struct store_ctx *c, pid_t parent, int result_fd)
{
        struct store_result res = {.err = {0}};
        struct aio_err ignored;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);
        if (store_child_run(c, &res, &res.err) < 0 && res.err.code == 0)
                res.err.code = EIO;
        (void)aio_write_full(result_fd, &res, sizeof(res), &ignored);
        _exit(res.err.code ? 1 : 0);
}

/* ---- the parent ---------------------------------------------------------------------------- */

static int store_wait(pid_t pid, int result_fd, struct store_result *res, struct aio_err *err)
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

/* Parent side: the tarball's bytes, hashed as they are read. */
struct store_feed {
        int fd;
        struct aio_sha256 sha;
        unsigned char *buf;
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

/* Returns 1 when the child stopped reading (it failed: its result says why). */
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

/* Decompresses (the "raw" format: any of our filters, or none) and sends the tar stream. Only
 * in-process filters we mean to accept: no external decompressor programs. */
static int feed_stream(struct archive *a, int sock, struct aio_err *err)
{
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);

        if (r == ARCHIVE_EOF)
                return 0;
        if (r != ARCHIVE_OK)
                return archive_fail(a, "decompressing", err);
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;

                r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK)
                        return archive_fail(a, "decompressing", err);
                r = send_full(sock, buf, len, err);
                if (r != 0)
                        return r;
        }
}

/* Reads the tarball once: hashes it, decompresses it and streams the tar bytes to the child,
 * which extracts them. So the child extracts exactly what was hashed, and hashing and
 * decompression run on another CPU than extraction. Returns 1 when the child stopped reading
 * (done at the end-of-archive marker, or failed: its result says which). */
static int store_feed(int tar_fd, int sock, char hex[AIO_SHA256_HEX], struct aio_err *err)
{
        cleanup_free unsigned char *buf = aio_xmalloc(STORE_FEED_SIZE);
        struct store_feed f = {.fd = tar_fd, .buf = buf};
        struct archive *a = archive_read_new();
        uint8_t digest[AIO_SHA256_LEN];
        ssize_t n;
        int r;

        if (!a)
                return aio_error_msg(err, ENOMEM, "libarchive: out of memory");
        aio_sha256_init(&f.sha);
        (void)posix_fadvise(tar_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* Keep the child busy while we hash: a deep socket buffer, and small chunks. */
        if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &(int){STORE_SOCK_BUF}, sizeof(int)) < 0)
                (void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &(int){STORE_SOCK_BUF}, sizeof(int));
        (void)archive_read_support_format_raw(a);
        (void)archive_read_support_filter_gzip(a);
        (void)archive_read_support_filter_bzip2(a);
        (void)archive_read_support_filter_xz(a);
        (void)archive_read_support_filter_zstd(a);
        if (archive_read_open(a, &f, NULL, feed_read_cb, NULL) != ARCHIVE_OK)
                r = archive_fail(a, "decompressing", err);
        else
                r = feed_stream(a, sock, err);
        (void)archive_read_free(a);
        /* Hash the rest of the file (what the child did not need, and what follows the compressed
         * stream): the key covers the whole file. */
        while (r >= 0 && (n = read(tar_fd, buf, STORE_FEED_SIZE)) != 0) {
                if (n < 0 && errno != EINTR)
                        return aio_error(err, errno, "read");
                if (n > 0)
                        aio_sha256_update(&f.sha, buf, (size_t)n);
        }
        aio_sha256_final(&f.sha, digest);
        aio_sha256_hex(digest, hex);
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

static int store_run_child(const struct store_ctx *c, struct store_result *res,
                           char hex[AIO_SHA256_HEX], struct aio_err *err)
{
        struct store_ctx child = *c;
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
                child.in_fd = sk[1];
                store_child(&child, parent, p[1]);
        }
        (void)close(take_fd(&p[1]));
        (void)close(take_fd(&sk[1]));
        r = store_feed(c->tar_fd, sk[0], hex, &feed_err);
        (void)close(take_fd(&sk[0])); /* EOF for the child: a cut stream fails there */
        r = store_merge_errors(store_wait(pid, p[0], res, err), r, err, &feed_err);
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

/* Renames the finished temporary directory to its content address. Losing the race to a
 * concurrent unpack of the same content is success: theirs is used, ours discarded. */
static int store_commit(int images_fd, const char *tmp_name, const char *hex, struct aio_err *err)
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

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The unpack proper, in c->tmp_path. On success the directory has been renamed away; on
 * failure the caller removes it. */
static int store_unpack_tmp(const struct store_ctx *c, char hex[AIO_SHA256_HEX],
                            struct aio_err *err)
{
        struct store_result res = {.err = {0}};
        struct rt_store_meta meta;
        struct stat after;
        int r;

        if (mkdirat(c->tmp_fd, "rootfs", 0755) < 0)
                return aio_error(err, errno, "mkdir %s/rootfs", c->tmp_path);
        r = store_run_child(c, &res, hex, err);
        if (r < 0)
                return r;
        meta = (struct rt_store_meta){.tarball = c->tarball,
                                      .size = (long long)c->st.st_size,
                                      .entries = res.entries,
                                      .bytes = res.bytes};
        r = rt_store_meta_write(c->tmp_fd, hex, &meta, err);
        if (r < 0)
                return r;
        if (fchmod(c->tmp_fd, 0755) < 0)
                return aio_error(err, errno, "chmod %s", c->tmp_path);
        r = store_commit(c->images_fd, c->tmp_name, hex, err);
        if (r < 0)
                return r;
        /* Cache only what we hashed: the file did not change while we read it. */
        if (S_ISREG(c->st.st_mode) && fstat(c->tar_fd, &after) == 0 && same_file(&c->st, &after))
                rt_store_cache_put(c->images_fd, &c->st, hex);
        return 0;
}

static int store_unpack_new(struct store_ctx *c, char hex[AIO_SHA256_HEX], struct aio_err *err)
{
        cleanup_free char *tmp_path = aio_xasprintf("%s/.tmp-XXXXXX", c->images);
        cleanup_close int tmp_fd = -1;
        struct aio_err ignored;
        int r;

        rt_store_sweep(c->images_fd);
        if (!mkdtemp(tmp_path))
                return aio_error(err, errno, "mkdtemp %s", tmp_path);
        c->tmp_path = tmp_path;
        c->tmp_name = base_name(tmp_path);
        tmp_fd = openat(c->images_fd, c->tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        c->tmp_fd = tmp_fd;
        if (tmp_fd < 0 || flock(tmp_fd, LOCK_EX) < 0)
                r = aio_error(err, errno, "open %s", tmp_path);
        else
                r = store_unpack_tmp(c, hex, err);
        if (r < 0 && aio_rm_rf(c->images_fd, c->tmp_name, &ignored) < 0)
                log_debug("store: remove %s: %s", tmp_path, ignored.msg);
        return r;
}

int rt_store_unpack(const char *state_dir, const char *tarball, const struct rt_store_limits *lim,
                    char **ret_dir, struct aio_err *err)
{
        cleanup_free char *images = aio_xasprintf("%s/images", state_dir);
        cleanup_close int images_fd = -1, tar_fd = -1;
        char hex[AIO_SHA256_HEX];
        struct store_ctx c = {.images = images, .tarball = tarball, .lim = lim, .in_fd = -1};

        tar_fd = open(tarball, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (tar_fd < 0)
                return aio_error(err, errno, "open %s", tarball);
        if (fstat(tar_fd, &c.st) < 0)
                return aio_error(err, errno, "stat %s", tarball);
        if (S_ISDIR(c.st.st_mode))
                return aio_error_msg(err, EISDIR, "%s is a directory, not a tarball", tarball);
        images_fd = rt_store_images_open(images, true, err);
        if (images_fd < 0)
                return aio_error_prefix(err, "store");
        c.images_fd = images_fd;
        c.tar_fd = tar_fd;
        /* The fast path of rt_store_lookup(): a tarball unpacked before is not even read. */
        if (rt_store_cache_get(images_fd, &c.st, hex) < 0) {
                if (store_unpack_new(&c, hex, err) < 0)
                        return aio_error_prefix(err, "%s", tarball);
        }
        *ret_dir = aio_xasprintf("%s/%s/rootfs", images, hex);
        return 0;
}
