/* rt_store_unpack (store.c): real unpacks of archives written here with libarchive, good and
 * hostile. The name checks are in test-store-name.c, the cache in test-store-cache.c. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
/* clang-format off: cmocka.h needs <setjmp.h>, <stdarg.h> and <stddef.h> first */
#include <cmocka.h>
/* clang-format on */

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "store.h"

#define MTIME    1600000000
#define HARDLINK 1u /* tent.flags: link is a hard link target */
#define TEXT     2u /* tent.flags: size bytes of compressible (Huffman-coded) letters */

/* One archive entry. A regular file's content is data, or size pseudo-random bytes. */
struct tent {
        const char *name;
        mode_t mode; /* type | permissions */
        const char *data;
        size_t size;
        const char *link; /* symlink target, or hard link target with HARDLINK */
        unsigned flags;
        dev_t rdev;
        const char *xattr, *xattr_value;
        size_t xattr_len;
};

/* clang-format off */
#define DIR_(n, m)      { .name = (n), .mode = AE_IFDIR | (m) }
#define REG(n, m, d)    { .name = (n), .mode = AE_IFREG | (m), .data = (d) }
#define RND(n, sz)      { .name = (n), .mode = AE_IFREG | 0644, .size = (sz) }
#define TXT(n, sz)      { .name = (n), .mode = AE_IFREG | 0644, .size = (sz), .flags = TEXT }
#define SYM(n, t)       { .name = (n), .mode = AE_IFLNK | 0777, .link = (t) }
#define HARD(n, t)      { .name = (n), .mode = AE_IFREG | 0644, .link = (t), .flags = HARDLINK }
#define NODE(n, ty, r)  { .name = (n), .mode = (ty) | 0644, .rdev = (r) }
/* clang-format on */

struct fixture {
        char *dir;     /* scratch: tarballs, outside/ */
        char *state;   /* state_dir handed to rt_store_unpack */
        char *outside; /* must stay empty */
};

static int setup(void **state)
{
        struct fixture *f = aio_xcalloc(1, sizeof(*f));
        char tmpl[] = "/tmp/aio-test-store-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        f->dir = aio_xstrdup(tmpl);
        f->state = aio_xasprintf("%s/state", f->dir);
        f->outside = aio_xasprintf("%s/outside", f->dir);
        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_int_equal(mkdir(f->outside, 0755), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        struct aio_err err;

        assert_int_equal(aio_rm_rf(AT_FDCWD, f->dir, &err), 0);
        free(f->dir);
        free(f->state);
        free(f->outside);
        free(f);
        return 0;
}

static void fill_random(unsigned char *p, size_t n, uint32_t seed)
{
        for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                p[i] = (unsigned char)(seed >> 16);
        }
}

static void write_entry(struct archive *a, const struct tent *t)
{
        struct archive_entry *e = archive_entry_new();
        cleanup_free unsigned char *buf = NULL;
        size_t len = t->data ? strlen(t->data) : t->size;
        int r;

        archive_entry_set_pathname(e, t->name);
        archive_entry_set_mode(e, t->mode);
        archive_entry_set_uid(e, 1234);
        archive_entry_set_gid(e, 5678);
        archive_entry_set_mtime(e, MTIME, 0);
        if (t->link && (t->flags & HARDLINK))
                archive_entry_set_hardlink(e, t->link);
        else if (t->link)
                archive_entry_set_symlink(e, t->link);
        if (t->rdev)
                archive_entry_set_rdev(e, t->rdev);
        if (t->xattr)
                archive_entry_xattr_add_entry(e, t->xattr, t->xattr_value, t->xattr_len);
        if ((t->mode & AE_IFMT) == AE_IFREG && !(t->flags & HARDLINK))
                archive_entry_set_size(e, (la_int64_t)len);
        r = archive_write_header(a, e);
        if (r != ARCHIVE_OK && (r != ARCHIVE_WARN || !strstr(t->name, "\xff")))
                fail_msg("write %s: %s", t->name, archive_error_string(a));
        if (len && (t->mode & AE_IFMT) == AE_IFREG) {
                buf = aio_xmalloc(len);
                if (t->data)
                        memcpy(buf, t->data, len);
                else
                        fill_random(buf, len, (uint32_t)len);
                for (size_t i = 0; (t->flags & TEXT) && i < len; i++)
                        buf[i] = (unsigned char)('a' + (buf[i] & 15));
                assert_int_equal(archive_write_data(a, buf, len), (la_ssize_t)len);
        }
        archive_entry_free(e);
}

/* filter: ARCHIVE_FILTER_NONE, _GZIP, _XZ or _ZSTD. */
static char *build(const struct fixture *f, const char *name, int filter, const struct tent *t,
                   size_t n)
{
        char *path = aio_xasprintf("%s/%s", f->dir, name);
        struct archive *a = archive_write_new();

        assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++)
                write_entry(a, &t[i]);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        return path;
}

static void file_hex(const char *path, char hex[AIO_SHA256_HEX])
{
        unsigned char buf[4096], d[AIO_SHA256_LEN];
        struct aio_sha256 s;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        aio_sha256_init(&s);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                aio_sha256_update(&s, buf, (size_t)n);
        close(fd);
        aio_sha256_final(&s, d);
        aio_sha256_hex(d, hex);
}

/* Sorted names in <state>/images and <state>/images/by-file, one string. */
static char *store_listing(const struct fixture *f)
{
        static const char *const subdirs[] = {"images", "images/by-file"};
        char *out = aio_xstrdup("");

        for (size_t k = 0; k < ELEMENTSOF(subdirs); k++) {
                cleanup_free char *p = aio_xasprintf("%s/%s", f->state, subdirs[k]);
                struct dirent **names;
                int n = scandir(p, &names, NULL, alphasort);

                for (int i = 0; i < n; i++) {
                        const char *d = names[i]->d_name;

                        if (strcmp(d, ".") != 0 && strcmp(d, "..") != 0) {
                                char *o = aio_xasprintf("%s%s/%s\n", out, subdirs[k], d);

                                free(out);
                                out = o;
                        }
                        free(names[i]);
                }
                if (n >= 0)
                        free(names);
        }
        return out;
}

static char *read_text(const char *dir, const char *name)
{
        char buf[4096];
        struct aio_err err;
        cleanup_free char *p = aio_xasprintf("%s/%s", dir, name);

        assert_true(aio_read_file(AT_FDCWD, p, buf, sizeof(buf), &err) >= 0);
        return aio_xstrdup(buf);
}

static void assert_stat(const char *dir, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
        cleanup_free char *p = aio_xasprintf("%s/%s", dir, name);
        struct stat st;

        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode, mode);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
        if (!S_ISLNK(st.st_mode))
                assert_int_equal(st.st_mtim.tv_sec, MTIME);
}

/* ---- good archives ------------------------------------------------------------------------ */

/* A v2 security.capability value granting cap_net_raw (13), effective (little endian). */
static const unsigned char fcap[20] = {0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0,
                                       0,    0, 0, 0,    0, 0,    0, 0, 0, 0};

static const struct tent good_tree[] = {
        DIR_("./", 0751),
        DIR_("./bin", 0755),
        REG("./bin/tool", 04755, "#!/bin/sh\necho tool\n"),
        {.name = "./bin/ping",
         .mode = AE_IFREG | 0755,
         .data = "ping",
         .xattr = "security.capability",
         .xattr_value = (const char *)fcap,
         .xattr_len = sizeof(fcap)},
        DIR_("./etc", 0755),
        {.name = "./etc/secret",
         .mode = AE_IFREG | 0600,
         .data = "s3cret\n",
         .xattr = "user.aio",
         .xattr_value = "hello",
         .xattr_len = 5},
        REG("./etc/hostname", 0644, "aio\n"),
        HARD("./etc/hostname2", "./etc/hostname"),
        SYM("./etc/mtab", "/proc/self/mounts"),
        DIR_("./usr", 0755),
        DIR_("./usr/lib", 0755),
        RND("./usr/lib/big.bin", 300000),
        REG("./usr/lib/libx.so.1", 0755, "ELF"),
        SYM("./usr/lib/libx.so", "libx.so.1"),
        SYM("./lib", "usr/lib"),
        DIR_("./tmp", 01777),
        DIR_("./srv", 02775),
        REG("./caf\xc3\xa9", 0644, "utf-8 name"),
        REG("./bad\xff", 0644, "not utf-8"),
        REG("./deep/a/b/c/d/e/f", 0644, "auto-created parents"),
};

static void check_good_tree(const char *root)
{
        cleanup_free char *tool = read_text(root, "bin/tool");
        cleanup_free char *hn = aio_xasprintf("%s/etc/hostname", root);
        cleanup_free char *hn2 = aio_xasprintf("%s/etc/hostname2", root);
        cleanup_free char *ping = aio_xasprintf("%s/bin/ping", root);
        cleanup_free char *secret = aio_xasprintf("%s/etc/secret", root);
        cleanup_free char *libx = aio_xasprintf("%s/usr/lib/libx.so", root);
        char buf[64];
        struct stat a, b;

        assert_string_equal(tool, "#!/bin/sh\necho tool\n");
        assert_stat(root, ".", S_IFDIR | 0751, 1234, 5678);
        assert_stat(root, "bin/tool", S_IFREG | 04755, 1234, 5678);
        assert_stat(root, "etc/secret", S_IFREG | 0600, 1234, 5678);
        assert_stat(root, "tmp", S_IFDIR | 01777, 1234, 5678);
        assert_stat(root, "srv", S_IFDIR | 02775, 1234, 5678);
        assert_stat(root, "usr/lib/big.bin", S_IFREG | 0644, 1234, 5678);
        assert_stat(root, "lib", S_IFLNK | 0777, 1234, 5678);
        assert_int_equal(stat(hn, &a), 0);
        assert_int_equal(stat(hn2, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(a.st_nlink, 2);
        assert_int_equal(readlink(libx, buf, sizeof(buf)), 9);
        assert_memory_equal(buf, "libx.so.1", 9);
        assert_int_equal(getxattr(ping, "security.capability", buf, sizeof(buf)), sizeof(fcap));
        assert_memory_equal(buf, fcap, sizeof(fcap));
        if (getxattr(secret, "user.aio", buf, sizeof(buf)) < 0 && errno == ENOTSUP)
                return; /* no user.* xattrs on this filesystem */
        assert_int_equal(getxattr(secret, "user.aio", buf, sizeof(buf)), 5);
        assert_memory_equal(buf, "hello", 5);
}

static void check_big(const char *root)
{
        cleanup_free char *p = aio_xasprintf("%s/usr/lib/big.bin", root);
        cleanup_free unsigned char *want = aio_xmalloc(300000), *got = aio_xmalloc(300001);
        struct aio_err err;

        fill_random(want, 300000, 300000);
        assert_int_equal(aio_read_file(AT_FDCWD, p, (char *)got, 300001, &err), 300000);
        assert_memory_equal(got, want, 300000);
}

static void unpack_good(struct fixture *f, const char *name, int filter)
{
        struct rt_store_limits lim = {.max_bytes = 1 << 20, .max_entries = 100};
        cleanup_free char *tarball = build(f, name, filter, good_tree, ELEMENTSOF(good_tree));
        cleanup_free char *dir = NULL, *want = NULL, *meta = NULL, *hexdir = NULL;
        char hex[AIO_SHA256_HEX];
        struct aio_err err = {0};

        if (rt_store_unpack(f->state, tarball, &lim, &dir, &err) != 0)
                fail_msg("%s: %s", name, err.msg);
        file_hex(tarball, hex);
        want = aio_xasprintf("%s/images/%s/rootfs", f->state, hex);
        assert_string_equal(dir, want);
        check_good_tree(dir);
        check_big(dir);
        hexdir = aio_xasprintf("%s/images/%s", f->state, hex);
        meta = read_text(hexdir, "meta");
        assert_non_null(strstr(meta, "entries=20\n"));
        assert_non_null(strstr(meta, "bytes=300"));
        assert_non_null(strstr(meta, hex));
}

static void test_unpack_tar(void **state)
{
        unpack_good(*state, "good.tar", ARCHIVE_FILTER_NONE);
}

static void test_unpack_gzip(void **state)
{
        unpack_good(*state, "good.tar.gz", ARCHIVE_FILTER_GZIP);
}

static void test_unpack_xz(void **state)
{
        unpack_good(*state, "good.tar.xz", ARCHIVE_FILTER_XZ);
}

static void test_unpack_zstd(void **state)
{
        unpack_good(*state, "good.tar.zst", ARCHIVE_FILTER_ZSTD);
}

/* The second call must not unpack, nor even read the tarball: it is found by (dev, ino, size,
 * mtime). Rewriting the tarball in place behind the cache's back proves it: had the call read
 * the file, it would have hashed different bytes and returned another directory. */
static void test_second_call_cached(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *tarball =
                build(f, "c.tar", ARCHIVE_FILTER_NONE, good_tree, ELEMENTSOF(good_tree));
        cleanup_free char *d1 = NULL, *d2 = NULL, *d3 = NULL, *list = NULL, *list2 = NULL;
        cleanup_free char *marker = NULL;
        struct aio_err err;
        struct stat st;
        int fd;

        assert_int_equal(rt_store_unpack(f->state, tarball, NULL, &d1, &err), 0);
        /* aio-run's lookup finds what the unpack stored */
        assert_int_equal(rt_store_lookup(f->state, tarball, &d2, &err), 1);
        assert_string_equal(d1, d2);
        free(take_ptr(&d2));
        marker = aio_xasprintf("%s/marker", d1);
        assert_int_equal(aio_write_file(AT_FDCWD, marker, "m", 1, 0644, &err), 0);
        list = store_listing(f);

        assert_int_equal(stat(tarball, &st), 0);
        fd = open(tarball, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8); /* first header: name, checksum */
        assert_int_equal(futimens(fd, (struct timespec[]){st.st_atim, st.st_mtim}), 0);
        close(fd);
        assert_int_equal(rt_store_unpack(f->state, tarball, NULL, &d2, &err), 0);
        assert_string_equal(d1, d2);
        assert_int_equal(access(marker, F_OK), 0);
        free(take_ptr(&d2));
        assert_int_equal(rt_store_lookup(f->state, tarball, &d2, &err), 1);
        assert_string_equal(d1, d2);
        list2 = store_listing(f);
        assert_string_equal(list, list2);

        /* A real change (new mtime) is noticed: the garbage is now hashed and refused. */
        assert_int_equal(utimensat(AT_FDCWD, tarball, NULL, 0), 0);
        assert_int_equal(rt_store_lookup(f->state, tarball, &d3, &err), 0);
        assert_null(d3);
        assert_true(rt_store_unpack(f->state, tarball, NULL, &d3, &err) < 0);
        assert_null(d3);
        free(list2);
        list2 = store_listing(f);
        assert_string_equal(list, list2);
}

/* Without the by-file cache the content is hashed and found: the unpack of the same bytes loses
 * the rename to the existing directory, discards its copy and returns the existing one. */
static void test_same_content_other_file(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *t1 =
                build(f, "one.tar", ARCHIVE_FILTER_NONE, good_tree, ELEMENTSOF(good_tree));
        cleanup_free char *t2 =
                build(f, "two.tar", ARCHIVE_FILTER_NONE, good_tree, ELEMENTSOF(good_tree));
        cleanup_free char *d1 = NULL, *d2 = NULL, *marker = NULL, *list = NULL;
        struct aio_err err;
        struct dirent **names;
        int n;

        assert_int_equal(rt_store_unpack(f->state, t1, NULL, &d1, &err), 0);
        marker = aio_xasprintf("%s/usr/marker", d1); /* not in the root: its mtime is checked */
        assert_int_equal(aio_write_file(AT_FDCWD, marker, "m", 1, 0644, &err), 0);
        assert_int_equal(rt_store_unpack(f->state, t2, NULL, &d2, &err), 0);
        assert_string_equal(d1, d2);
        assert_int_equal(access(marker, F_OK), 0);
        list = store_listing(f);
        assert_null(strstr(list, ".tmp-"));
        n = scandir(d1, &names, NULL, alphasort); /* the existing tree is intact */
        assert_true(n > 10);
        while (n-- > 0)
                free(names[n]);
        free(names);
        check_good_tree(d1);
}

static struct tent many_files[400];

/* Two processes unpack the same tarball at the same time: both succeed, one copy remains. */
static void test_concurrent(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *tarball = NULL, *dir = NULL, *list = NULL, *want = NULL;
        char names[ELEMENTSOF(many_files)][32], hex[AIO_SHA256_HEX];
        struct aio_err err;
        const char *p;
        pid_t pids[2];
        int go[2], n;

        for (size_t i = 0; i < ELEMENTSOF(many_files); i++) {
                (void)snprintf(names[i], sizeof(names[i]), "d%zu/f%zu", i % 20, i);
                many_files[i] = (struct tent)RND(names[i], 8192 + i);
        }
        tarball = build(f, "many.tar.gz", ARCHIVE_FILTER_GZIP, many_files, ELEMENTSOF(many_files));
        assert_int_equal(pipe(go), 0);
        for (int k = 0; k < 2; k++) {
                pids[k] = fork();
                assert_true(pids[k] >= 0);
                if (pids[k] == 0) {
                        char c;
                        char *d = NULL;

                        close(go[1]);
                        (void)!read(go[0], &c, 1); /* start together */
                        _exit(rt_store_unpack(f->state, tarball, NULL, &d, &err) == 0 ? 0 : 1);
                }
        }
        close(go[0]);
        close(go[1]);
        for (int k = 0; k < 2; k++) {
                int status;

                assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(rt_store_unpack(f->state, tarball, NULL, &dir, &err), 0);
        file_hex(tarball, hex);
        list = store_listing(f);
        assert_null(strstr(list, ".tmp-"));
        want = aio_xasprintf("images/%s\n", hex);
        assert_non_null(strstr(list, want));
        /* images/<hex>, images/by-file, images/by-file/<key>: nothing else */
        for (n = 0, p = list; (p = strchr(p, '\n')); p++)
                n++;
        assert_int_equal(n, 3);
}

/* ---- hostile archives --------------------------------------------------------------------- */

struct hostile {
        const char *label;
        struct tent t[4];
        size_t n;
        const char *want; /* in the error message: the entry, and why */
        const char *want2;
        struct rt_store_limits lim;
};

static void outside_is_empty(const struct fixture *f)
{
        struct dirent **names;
        int n = scandir(f->outside, &names, NULL, NULL);

        assert_int_equal(n, 2); /* "." and ".." */
        while (n-- > 0)
                free(names[n]);
        free(names);
}

static void refuse(struct fixture *f, const char *file, const char *want, const char *want2,
                   const struct rt_store_limits *lim)
{
        cleanup_free char *before = store_listing(f), *after = NULL, *dir = NULL;
        struct aio_err err = {0};
        int r = rt_store_unpack(f->state, file, lim, &dir, &err);

        if (r >= 0)
                fail_msg("%s: unpacked to %s", file, dir);
        assert_null(dir);
        if (!strstr(err.msg, want) || (want2 && !strstr(err.msg, want2)))
                fail_msg("%s: message \"%s\" lacks \"%s\" / \"%s\"", file, err.msg, want,
                         want2 ? want2 : "");
        after = store_listing(f);
        assert_string_equal(before, after);
        outside_is_empty(f);
}

static void test_hostile(void **state)
{
        struct fixture *f = *state;
        /* clang-format off */
        const struct hostile cases[] = {
                { "dotdot", { REG("../x", 0644, "x") }, 1, "entry '../x'", "escapes", { 0 } },
                { "abs", { REG("/etc/x", 0644, "x") }, 1, "entry '/etc/x'", "absolute", { 0 } },
                { "dotdot2", { REG("a/../../x", 0644, "x") }, 1, "entry 'a/../../x'", "escapes",
                  { 0 } },
                { "evil-link", { SYM("evil", "../../../"), REG("evil/pwned", 0644, "x") }, 2,
                  "entry 'evil'", "'../../../' escapes the root", { 0 } },
                /* An absolute symlink is allowed; writing through it is not. */
                { "abs-link-write", { SYM("ok", f->outside), REG("ok/pwned", 0644, "x") }, 2,
                  "entry 'ok/pwned'", "through symlink", { 0 } },
                /* A directory replaced by a symlink, then written through. */
                { "dir-to-link", { DIR_("d", 0755), SYM("d", f->outside), REG("d/pwned", 0644, "x") },
                  3, "entry 'd/pwned'", "through symlink", { 0 } },
                { "hardlink-abs", { HARD("h", "/etc/passwd") }, 1, "entry 'h'",
                  "hard link target '/etc/passwd'", { 0 } },
                { "hardlink-dotdot", { HARD("h", "../../etc/passwd") }, 1, "entry 'h'", "escapes",
                  { 0 } },
                /* A hard link through an (allowed) absolute symlink to the host. */
                { "hardlink-via-link", { SYM("s", "/etc"), HARD("h", "s/passwd") }, 2, "entry 'h'",
                  "through symlink", { 0 } },
                { "chardev", { NODE("dev/null", AE_IFCHR, makedev(1, 3)) }, 1, "entry 'dev/null'",
                  "character device", { 0 } },
                { "blockdev", { NODE("dev/sda", AE_IFBLK, makedev(8, 0)) }, 1, "entry 'dev/sda'",
                  "block device", { 0 } },
                { "fifo", { NODE("run/fifo", AE_IFIFO, 0) }, 1, "entry 'run/fifo'", "fifo", { 0 } },
                { "setuid-dir", { DIR_("sd", 04755) }, 1, "entry 'sd/'", "setuid", { 0 } },
                { "root-link", { SYM("./", "x") }, 1, "entry './'", "directory", { 0 } },
                { "entries",
                  { REG("e1", 0644, "1"), REG("e2", 0644, "2"), REG("e3", 0644, "3"),
                    REG("e4", 0644, "4") },
                  4, "entry 'e4'", "max_entries (3)", { .max_entries = 3 } },
                { "bytes", { RND("b1", 1000), RND("b2", 1000), RND("b3", 1000) }, 3, "entry 'b3'",
                  "max_bytes (2500 bytes)", { .max_bytes = 2500 } },
                { "escape-name", { HARD("x\n\033[2J", "/") }, 1, "entry 'x\\x0a\\x1b[2J'", NULL,
                  { 0 } },
        };
        /* clang-format on */
        struct stat passwd_before, passwd_after;

        assert_int_equal(stat("/etc/passwd", &passwd_before), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cleanup_free char *name = aio_xasprintf("%s.tar", cases[i].label);
                cleanup_free char *path =
                        build(f, name, ARCHIVE_FILTER_NONE, cases[i].t, cases[i].n);
                const struct rt_store_limits *lim =
                        cases[i].lim.max_bytes || cases[i].lim.max_entries ? &cases[i].lim : NULL;

                refuse(f, path, cases[i].want, cases[i].want2, lim);
        }
        assert_int_equal(stat("/etc/passwd", &passwd_after), 0);
        assert_int_equal(passwd_before.st_nlink, passwd_after.st_nlink);
        assert_int_equal(passwd_before.st_ctim.tv_sec, passwd_after.st_ctim.tv_sec);
}

/* Compressed streams cut in the middle of an entry's data, with garbage in the middle of
 * Huffman-coded data, and files that are no archive at all. (Garbage inside a *stored* deflate
 * block would go unnoticed: libarchive 3.6 does not check the gzip CRC-32.) */
static void test_corrupt(void **state)
{
        static const struct tent t[] = {
                REG("small", 0644, "first"),
                TXT("big", 1 << 20),
                REG("last", 0644, "last"),
        };
        static const struct {
                const char *name;
                int filter;
                bool flip; /* garbage is detected (gzip: Huffman codes, xz: CRC) */
        } kinds[] = {
                {"x.tar.gz", ARCHIVE_FILTER_GZIP, true},
                {"x.tar.xz", ARCHIVE_FILTER_XZ, true},
                {"x.tar.zst", ARCHIVE_FILTER_ZSTD, false},
                {"x.tar", ARCHIVE_FILTER_NONE, false},
        };
        struct fixture *f = *state;
        struct aio_err err = {0};

        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                cleanup_free char *path =
                        build(f, kinds[k].name, kinds[k].filter, t, ELEMENTSOF(t));
                struct stat st;
                int fd;

                assert_int_equal(stat(path, &st), 0);
                if (kinds[k].flip) {
                        fd = open(path, O_RDWR | O_CLOEXEC);
                        assert_true(fd >= 0);
                        for (off_t off = st.st_size / 2; off < st.st_size / 2 + 64; off++)
                                assert_int_equal(pwrite(fd, "\xa5", 1, off), 1);
                        close(fd);
                        refuse(f, path, "'big'", NULL, NULL);
                }
                assert_int_equal(truncate(path, st.st_size / 2), 0);
                refuse(f, path, "entry 'big'", "Truncated", NULL);
        }
        {
                cleanup_free char *path = aio_xasprintf("%s/junk", f->dir);
                cleanup_free char *empty = build(f, "empty.tar", ARCHIVE_FILTER_NONE, t, 0);

                assert_int_equal(aio_write_file(AT_FDCWD, path, "hello, world\n", 13, 0644, &err),
                                 0);
                refuse(f, path, "at the start of the archive", NULL, NULL);
                assert_int_equal(aio_write_file(AT_FDCWD, path, "", 0, 0644, &err), 0);
                refuse(f, path, "at the start of the archive", NULL, NULL);
                refuse(f, empty, "no entries", NULL, NULL);
        }
}

/* The key covers the whole file, also what follows the end-of-archive marker (which the tar
 * reader never looks at). */
static void test_hash_whole_file(void **state)
{
        static const struct tent t[] = {REG("a", 0644, "a")};
        struct fixture *f = *state;
        cleanup_free char *path = build(f, "w.tar", ARCHIVE_FILTER_NONE, t, ELEMENTSOF(t));
        cleanup_free char *d1 = NULL, *d2 = NULL, *want = NULL;
        char hex[AIO_SHA256_HEX], zeros[4096] = {0};
        struct aio_err err;
        int fd;

        assert_int_equal(rt_store_unpack(f->state, path, NULL, &d1, &err), 0);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, zeros, sizeof(zeros)), sizeof(zeros));
        assert_int_equal(write(fd, "trailer", 7), 7);
        close(fd);
        assert_int_equal(rt_store_unpack(f->state, path, NULL, &d2, &err), 0);
        file_hex(path, hex);
        want = aio_xasprintf("%s/images/%s/rootfs", f->state, hex);
        assert_string_equal(d2, want);
        assert_string_not_equal(d1, d2);
}

/* Temporary directories of dead unpackers are removed; a locked (live) one is kept. */
static void test_sweep(void **state)
{
        struct fixture *f = *state;
        static const struct tent t[] = {REG("a", 0644, "a")};
        cleanup_free char *tarball = build(f, "s.tar", ARCHIVE_FILTER_NONE, t, 1);
        cleanup_free char *dead = aio_xasprintf("%s/images/.tmp-dead", f->state);
        cleanup_free char *live = aio_xasprintf("%s/images/.tmp-live", f->state);
        cleanup_free char *young = aio_xasprintf("%s/images/.tmp-young", f->state);
        cleanup_free char *file = aio_xasprintf("%s/rootfs", dead);
        cleanup_free char *dir = NULL;
        struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
        struct aio_err err;
        int fd;

        assert_int_equal(aio_mkdir_p(file, 0755, &err), 0);
        assert_int_equal(mkdir(live, 0700), 0);
        assert_int_equal(mkdir(young, 0700), 0);
        assert_int_equal(utimensat(AT_FDCWD, dead, old, 0), 0);
        assert_int_equal(utimensat(AT_FDCWD, live, old, 0), 0);
        fd = open(live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(flock(fd, LOCK_EX), 0);
        assert_int_equal(rt_store_unpack(f->state, tarball, NULL, &dir, &err), 0);
        assert_int_equal(access(dead, F_OK), -1);
        assert_int_equal(access(live, F_OK), 0);
        assert_int_equal(access(young, F_OK), 0);
        close(fd);
}

static void test_bad_input(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *missing = aio_xasprintf("%s/nope.tar", f->dir);
        char *dir = NULL;
        struct aio_err err;

        assert_int_equal(rt_store_unpack(f->state, missing, NULL, &dir, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "nope.tar"));
        assert_int_equal(rt_store_unpack(f->state, f->dir, NULL, &dir, &err), -EISDIR);
        assert_null(dir);
}

/* On a terminal: one updating line, ending with a newline; nothing when not a terminal. */
static void test_progress(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *tarball =
                build(f, "prog.tar", ARCHIVE_FILTER_NONE, good_tree, ELEMENTSOF(good_tree));
        cleanup_free char *tarball2 =
                build(f, "quiet.tar.gz", ARCHIVE_FILTER_GZIP, good_tree, ELEMENTSOF(good_tree));
        cleanup_free char *dir = NULL, *dir2 = NULL, *log = NULL;
        char buf[4096];
        struct aio_err err;
        int master, slave, saved, fd;
        ssize_t n;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(master >= 0);
        assert_int_equal(grantpt(master), 0);
        assert_int_equal(unlockpt(master), 0);
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(slave >= 0);
        saved = dup(STDERR_FILENO);
        assert_int_equal(dup2(slave, STDERR_FILENO), STDERR_FILENO);
        assert_int_equal(rt_store_unpack(f->state, tarball, NULL, &dir, &err), 0);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(slave);
        n = read(master, buf, sizeof(buf) - 1);
        close(master);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "\runpacking prog.tar: 0.3 MiB, 20 entries"));
        assert_true(buf[n - 1] == '\n');

        /* Not a terminal: not a byte. */
        log = aio_xasprintf("%s/stderr.log", f->dir);
        fd = open(log, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        saved = dup(STDERR_FILENO);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        assert_int_equal(rt_store_unpack(f->state, tarball2, NULL, &dir2, &err), 0);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        assert_int_equal(lseek(fd, 0, SEEK_END), 0);
        close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unpack_tar, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unpack_gzip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unpack_xz, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unpack_zstd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_second_call_cached, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_content_other_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hash_whole_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
        };

        /* The archive writer converts names to UTF-8 from the locale's charset. */
        (void)setlocale(LC_CTYPE, "C.UTF-8");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
