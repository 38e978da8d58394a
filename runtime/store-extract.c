/* The store's extractor: the forked child that parses one tar stream and writes its files.
 *
 * store.c's parent reads the tarball or layer, hashes and decompresses it, and streams the tar
 * bytes here over a socket. The child works with its current directory set to the directory it
 * fills: archive_write_disk gets relative names with all three SECURE flags, and the launcher's
 * cwd never changes. When it may, it also makes every mount except the temporary directory
 * read-only in a private mount namespace: a symlink bug in the extractor cannot write elsewhere.
 * It does not chroot: glibc would then load gconv/NSS modules from the untrusted tree.
 *
 * Image layers (job->layer) are applied on top of the layers below them (OCI image spec,
 * "Applying changesets"): an entry replaces what was at its path (a directory included), a
 * whiteout .wh.NAME deletes NAME of the layers below, an opaque whiteout .wh..wh..opq empties its
 * directory of what the layers below put there. Whiteouts are resolved below the cwd without
 * following any symlink (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): they cannot reach outside the
 * root, nor delete through a link. The names the layer itself created are remembered, so that
 * a whiteout listed after them in the same layer leaves them alone.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "store-internal.h"
#include "store.h"

#define STORE_BUF_SIZE    (1u << 20)
#define STORE_TICK_NS     100000000L /* progress: at most 10 updates a second */
#define STORE_ID_MAX      65535u     /* a jail maps ids 0..65535 */
#define STORE_ID_OVERFLOW 65534u     /* what the kernel shows for an unmapped id */

/* Extraction keeps owners only as root (numeric ids: no lookups in the host's user database).
 * No ARCHIVE_EXTRACT_FFLAGS: an immutable or append-only file would make the store undeletable. */
#define STORE_EXTRACT_FLAGS                                                  \
        (ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | \
         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |           \
         ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/* The normalized names a layer created (a set of strings, open addressing). */
struct store_set {
        char **slots;
        size_t cap, len;
};

/* Child-side state of one extraction. */
struct store_unpack {
        const struct rt_store_job *job;
        int in_fd;
        unsigned char *buf;
        unsigned long long entries, bytes, written;
        char prev[STORE_QUOTE_MAX]; /* last entry started, quoted: for errors between entries */
        const char *label;          /* tarball basename or layer, for progress */
        struct timespec root_times[2];
        bool root_timed, tty;
        struct timespec last_tick;
        struct store_set created; /* layers above the first */
};

/* ---- the set of created names -------------------------------------------------------------- */

static uint64_t set_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

static size_t set_slot(const struct store_set *s, const char *key)
{
        size_t i = (size_t)set_hash(key) & (s->cap - 1);

        while (s->slots[i] && strcmp(s->slots[i], key) != 0)
                i = (i + 1) & (s->cap - 1);
        return i;
}

static bool set_has(const struct store_set *s, const char *key)
{
        return s->cap && s->slots[set_slot(s, key)];
}

static void set_grow(struct store_set *s)
{
        struct store_set n = {.cap = s->cap ? 2 * s->cap : 1024, .len = s->len};

        n.slots = aio_xcalloc(n.cap, sizeof(char *));
        for (size_t i = 0; i < s->cap; i++)
                if (s->slots[i])
                        n.slots[set_slot(&n, s->slots[i])] = s->slots[i];
        free(s->slots);
        *s = n;
}

/* Takes key. */
static void set_add(struct store_set *s, char *key)
{
        size_t i;

        if (2 * (s->len + 1) > s->cap)
                set_grow(s);
        i = set_slot(s, key);
        if (s->slots[i]) {
                free(key);
                return;
        }
        s->slots[i] = key;
        s->len++;
}

static void set_free(struct store_set *s)
{
        for (size_t i = 0; i < s->cap; i++)
                free(s->slots[i]);
        free(s->slots);
        *s = (struct store_set){0};
}

/* ---- per-entry checks ---------------------------------------------------------------------- */

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
        const struct rt_store_limits *lim = u->job->lim;
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

/* Owners outside the 65536 ids a jail maps would show as nobody there: stored as nobody. */
static void clamp_ids(struct archive_entry *e)
{
        if (archive_entry_uid(e) < 0 || archive_entry_uid(e) > STORE_ID_MAX)
                archive_entry_set_uid(e, STORE_ID_OVERFLOW);
        if (archive_entry_gid(e) < 0 || archive_entry_gid(e) > STORE_ID_MAX)
                archive_entry_set_gid(e, STORE_ID_OVERFLOW);
}

/* File capabilities and user attributes are kept. Not trusted.* or other security.* names, nor
 * user.overlay.*: the image is an overlay's lower layer (mounted with userxattr), and overlayfs
 * reads those as its own metadata (opaque directories, redirects, metacopy). */
static bool xattr_allowed(const char *name)
{
        if (strcmp(name, "security.capability") == 0)
                return true;
        return strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0;
}

static void filter_xattrs(struct archive_entry *e)
{
        struct archive_entry *keep;
        const char *name;
        const void *value;
        size_t size;

        if (archive_entry_xattr_reset(e) == 0)
                return;
        keep = archive_entry_new();
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (xattr_allowed(name))
                        archive_entry_xattr_add_entry(keep, name, value, size);
                else
                        log_debug("%s: xattr %s dropped", archive_entry_pathname(e), name);
        }
        archive_entry_xattr_clear(e);
        archive_entry_xattr_reset(keep);
        while (archive_entry_xattr_next(keep, &name, &value, &size) == ARCHIVE_OK)
                archive_entry_xattr_add_entry(e, name, value, size);
        archive_entry_free(keep);
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
        clamp_ids(e);
        filter_xattrs(e);
        return 0;
}

/* ---- layers: whiteouts and replaced directories -------------------------------------------- */

/* dir, relative to the cwd, without following any symlink and without leaving the cwd. Returns
 * the fd or -errno (ENOENT, ENOTDIR: nothing there; ELOOP: a symlink on the way). */
static int open_beneath(const char *dir)
{
        struct open_how how = {
                /* No O_NOFOLLOW: with O_DIRECTORY, a final symlink would give ENOTDIR instead of
                 * RESOLVE_NO_SYMLINKS's ELOOP. */
                .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        do
                fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
        while (fd < 0 && (errno == EINTR || errno == EAGAIN));
        return fd < 0 ? -errno : (int)fd;
}

/* Opens the directory a whiteout applies to: returns its fd, 0 when there is nothing to delete,
 * -errno when it is reached through a symlink. */
static int whiteout_dir(const char *dir, int *ret_fd, struct aio_err *err)
{
        char q[STORE_QUOTE_MAX];
        int fd = open_beneath(dir);

        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd == -ELOOP || fd == -EXDEV)
                return aio_error_msg(err, ELOOP, "'%s' is reached through a symlink",
                                     rt_store_quote(dir, q, sizeof(q)));
        if (fd < 0)
                return aio_error(err, -fd, "open '%s'", rt_store_quote(dir, q, sizeof(q)));
        *ret_fd = fd;
        return 1;
}

static char *join_name(const char *dir, const char *name)
{
        return strcmp(dir, ".") == 0 ? aio_xstrdup(name) : aio_xasprintf("%s/%s", dir, name);
}

static int whiteout_file(struct store_unpack *u, const char *dir, const char *target,
                         struct aio_err *err)
{
        cleanup_free char *key = join_name(dir, target);
        cleanup_close int fd = -1;
        int r;

        if (set_has(&u->created, key))
                return 0; /* this layer's own: the whiteout is for the layers below */
        r = whiteout_dir(dir, &fd, err);
        if (r <= 0)
                return r;
        return aio_rm_rf(fd, target, err);
}

/* Names in fd that the layers below created. */
static char **opaque_victims(struct store_unpack *u, int fd, const char *dir, size_t *ret_n)
{
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        cleanup_dir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d && dup >= 0)
                (void)close(dup);
        while (d && (de = readdir(d))) {
                cleanup_free char *key = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                key = join_name(dir, de->d_name);
                if (set_has(&u->created, key))
                        continue;
                names = aio_xrealloc(names, (n + 1) * sizeof(char *));
                names[n++] = aio_xstrdup(de->d_name);
        }
        *ret_n = n;
        return names;
}

static int whiteout_opaque(struct store_unpack *u, const char *dir, struct aio_err *err)
{
        cleanup_close int fd = -1;
        char **names;
        size_t n;
        int r;

        r = whiteout_dir(dir, &fd, err);
        if (r <= 0)
                return r;
        names = opaque_victims(u, fd, dir, &n);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        r = aio_rm_rf(fd, names[i], err);
                free(names[i]);
        }
        free(names);
        return r < 0 ? r : 0;
}

/* An entry replaces what the layers below have at its path: a directory stays (a directory entry
 * only updates it), anything else is removed first, a whole tree included. Removing (rather than
 * letting libarchive truncate) keeps a file hard-linked below from changing through its other
 * names. Not libarchive's ARCHIVE_EXTRACT_UNLINK: that would also replace a symlink on the way
 * by a directory, where an entry written through a symlink must be refused. */
static int replace_existing(struct archive_entry *e, const char *norm, struct aio_err *err)
{
        cleanup_free char *dir = aio_xstrdup(norm);
        cleanup_close int fd = -1;
        char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : dir;
        bool is_dir = archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e);
        struct stat st;

        if (!norm[0])
                return 0;
        if (slash)
                *slash = '\0';
        fd = open_beneath(slash ? dir : ".");
        if (fd < 0 || fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0; /* libarchive reports what is wrong with the path, if anything */
        if (is_dir && S_ISDIR(st.st_mode))
                return 0;
        return aio_rm_rf(fd, base, err);
}

/* Returns 1 when the entry was a whiteout (nothing to extract), 0 to extract it. */
static int layer_entry(struct store_unpack *u, struct archive_entry *e, const char *name,
                       struct aio_err *err)
{
        cleanup_free char *dir = NULL, *target = NULL;
        char q[STORE_QUOTE_MAX];
        int wh, r = 0;

        wh = rt_store_whiteout(name, &dir, &target, err);
        if (wh == RT_STORE_WH_NONE) {
                char *norm;

                if (u->job->first)
                        return 0;
                norm = rt_store_name_normalize(name);
                r = replace_existing(e, norm, err);
                set_add(&u->created, norm);
        } else if (wh == RT_STORE_WH_FILE && !u->job->first) {
                r = whiteout_file(u, dir, target, err);
        } else if (wh == RT_STORE_WH_OPAQUE && !u->job->first) {
                r = whiteout_opaque(u, dir, err);
        }
        if (wh < 0 || r < 0)
                return aio_error_prefix(err, "entry '%s'", rt_store_quote(name, q, sizeof(q)));
        return wh == RT_STORE_WH_NONE ? 0 : 1;
}

/* ---- extraction ---------------------------------------------------------------------------- */

static void store_progress(struct store_unpack *u, bool final)
{
        struct timespec now;
        char line[2 * STORE_QUOTE_MAX + 96];
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
                n = read(u->in_fd, u->buf, STORE_BUF_SIZE);
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
        if (u->job->layer) {
                r = layer_entry(u, e, name, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
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
        unsigned long long first = u->entries;
        char what[STORE_QUOTE_MAX + 32];

        for (;;) {
                struct archive_entry *e;
                int r = archive_read_next_header(in, &e);

                if (r == ARCHIVE_EOF)
                        break;
                if (r == ARCHIVE_WARN)
                        log_debug("%s: %s", u->job->label, archive_error_string(in));
                if (r < ARCHIVE_WARN) {
                        if (u->entries == first)
                                return archive_fail(in, "at the start of the archive", err);
                        (void)snprintf(what, sizeof(what), "after entry '%s'", u->prev);
                        return archive_fail(in, what, err);
                }
                r = extract_entry(u, in, out, e, err);
                if (r < 0)
                        return r;
        }
        /* An empty layer is fine (a Dockerfile's ENV makes one); an empty rootfs is not. */
        if (u->entries == first && !u->job->layer)
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

static int store_enter(const char *root, struct aio_err *err)
{
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

static int store_child_run(const struct rt_store_job *job, int in_fd, struct rt_store_result *res,
                           struct aio_err *err)
{
        cleanup_free unsigned char *buf = aio_xmalloc(STORE_BUF_SIZE);
        struct store_unpack u = {.job = job,
                                 .in_fd = in_fd,
                                 .buf = buf,
                                 .prev = "",
                                 .entries = job->entries,
                                 .bytes = job->bytes};
        char label[STORE_QUOTE_MAX];
        int r;

        /* This process only: names are bytes, and UTF-8 pax names must convert as-is. */
        (void)setlocale(LC_CTYPE, "C.UTF-8");
        umask(022);
        r = store_confine(job->confine, err);
        if (r >= 0)
                r = store_enter(job->root, err);
        if (r < 0)
                return r;
        u.tty = isatty(STDERR_FILENO) == 1;
        u.label = rt_store_quote(job->layer ? job->label : base_name(job->label), label,
                                 sizeof(label));
        r = store_extract(&u, err);
        store_progress(&u, true);
        set_free(&u.created);
        if (r < 0)
                return r;
        /* What follows the end-of-archive marker is not read: the parent stops decompressing
         * when we exit (no decompression bomb hides there), and hashes the rest of the file. */
        res->entries = u.entries;
        res->bytes = u.bytes;
        return 0;
}

_Noreturn void rt_store_child(const struct rt_store_job *job, int in_fd, pid_t parent,
                              int result_fd)
{
        struct rt_store_result res = {.err = {0}};
        struct aio_err ignored;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);
        if (store_child_run(job, in_fd, &res, &res.err) < 0 && res.err.code == 0)
                res.err.code = EIO;
        (void)aio_write_full(result_fd, &res, sizeof(res), &ignored);
        _exit(res.err.code ? 1 : 0);
}
