/* The store's content-address cache (store-cache.c): rt_store_lookup(), the by-file keys, meta
 * and the sweep of dead unpackers, on real directories. Store entries are made by hand here (no
 * libarchive): test-store.c checks that rt_store_lookup() finds what rt_store_unpack() stores. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "store-internal.h"
#include "store.h"
#include "tests/unit/unit.h"

#define HEX_A   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NOT_HEX "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"

struct fixture {
        char *dir;     /* scratch */
        char *state;   /* state_dir */
        char *images;  /* <state>/images: not created by setup */
        char *tarball; /* a regular file: its bytes do not matter to the cache */
};

static int setup(void **state)
{
        struct fixture *f = aio_xcalloc(1, sizeof(*f));
        char tmpl[] = "/tmp/aio-test-store-cache-XXXXXX";
        struct aio_err err;

        assert_non_null(mkdtemp(tmpl));
        f->dir = aio_xstrdup(tmpl);
        f->state = aio_xasprintf("%s/state", f->dir);
        f->images = aio_xasprintf("%s/images", f->state);
        f->tarball = aio_xasprintf("%s/rootfs.tar", f->dir);
        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_int_equal(aio_write_file(AT_FDCWD, f->tarball, "tar bytes", 9, 0644, &err), 0);
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
        free(f->images);
        free(f->tarball);
        free(f);
        return 0;
}

/* A store entry <hex>/rootfs, made by hand, and the tarball recorded as its source. */
static int add_entry(const struct fixture *f, const char *hex)
{
        cleanup_free char *root = aio_xasprintf("%s/%s/rootfs", f->images, hex);
        struct aio_err err;
        struct stat st;
        int images_fd;

        assert_int_equal(aio_mkdir_p(root, 0755, &err), 0);
        images_fd = rt_store_images_open(f->images, false, &err);
        assert_true(images_fd >= 0);
        assert_int_equal(stat(f->tarball, &st), 0);
        rt_store_cache_put(images_fd, &st, hex);
        return images_fd;
}

static char *want_dir(const struct fixture *f, const char *hex)
{
        return aio_xasprintf("%s/%s/rootfs", f->images, hex);
}

/* An empty state dir: a miss, and the lookup creates nothing (aio-unpack will). */
static void test_lookup_empty_store(void **state)
{
        struct fixture *f = *state;
        struct aio_err err = {0};
        char *dir = NULL;

        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 0);
        assert_null(dir);
        assert_int_equal(access(f->images, F_OK), -1);
        assert_int_equal(mkdir(f->images, 0755), 0);
        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 0);
        assert_null(dir);
        assert_int_equal(access(f->images, F_OK), 0);
}

static void test_lookup_hit(void **state)
{
        struct fixture *f = *state;
        cleanup_close int images_fd = add_entry(f, HEX_A);
        cleanup_free char *dir = NULL, *want = want_dir(f, HEX_A), *link = NULL;
        struct aio_err err = {0};

        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 1);
        assert_string_equal(dir, want);
        /* through a symlink to the tarball: the same file */
        link = aio_xasprintf("%s/link.tar", f->dir);
        assert_int_equal(symlink(f->tarball, link), 0);
        free(take_ptr(&dir));
        assert_int_equal(rt_store_lookup(f->state, link, &dir, &err), 1);
        assert_string_equal(dir, want);
}

/* Replaced with the same name and mtime but another inode, or touched: not the same file. */
static void test_lookup_changed_file(void **state)
{
        struct fixture *f = *state;
        cleanup_close int images_fd = add_entry(f, HEX_A);
        cleanup_free char *copy = aio_xasprintf("%s/copy.tar", f->dir);
        struct aio_err err = {0};
        struct stat st;
        char *dir = NULL;

        assert_int_equal(stat(f->tarball, &st), 0);
        assert_int_equal(aio_write_file(AT_FDCWD, copy, "tar bytes", 9, 0644, &err), 0);
        assert_int_equal(utimensat(AT_FDCWD, copy, (struct timespec[]){st.st_atim, st.st_mtim}, 0),
                         0);
        assert_int_equal(rename(copy, f->tarball), 0);
        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 0);
        assert_null(dir);

        assert_int_equal(stat(f->tarball, &st), 0);
        rt_store_cache_put(images_fd, &st, HEX_A);
        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 1);
        free(take_ptr(&dir));
        assert_int_equal(utimensat(AT_FDCWD, f->tarball, NULL, 0), 0);
        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 0);
        assert_null(dir);
}

/* The cache only points into the store: a removed rootfs, or a link that is not a digest, is a
 * miss (and never a path handed out). */
static void test_lookup_stale_or_forged(void **state)
{
        struct fixture *f = *state;
        cleanup_close int images_fd = add_entry(f, HEX_A);
        cleanup_free char *root = want_dir(f, HEX_A), *other = NULL;
        /* each names a directory with a rootfs in it: only the digest check refuses them */
        static const char *const forged[] = {
                NOT_HEX,
                "etc",
                "../../../../../../../../../../../../../../../../../../../../etc/",
                HEX_A "/../" NOT_HEX,
        };
        struct aio_err err = {0};
        struct stat st;
        char *dir = NULL;

        assert_int_equal(aio_rm_rf(AT_FDCWD, root, &err), 0);
        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 0);
        assert_null(dir);
        assert_int_equal(stat(f->tarball, &st), 0);
        other = aio_xasprintf("%s/etc/rootfs", f->images);
        assert_int_equal(aio_mkdir_p(other, 0755, &err), 0);
        free(other);
        other = aio_xasprintf("%s/%s/rootfs", f->images, NOT_HEX);
        assert_int_equal(aio_mkdir_p(other, 0755, &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(forged); i++) {
                rt_store_cache_put(images_fd, &st, forged[i]);
                if (rt_store_lookup(f->state, f->tarball, &dir, &err) != 0)
                        fail_msg("by-file -> %s: served %s", forged[i], dir ? dir : "(error)");
        }
        /* A good entry again: found. */
        free(take_ptr(&root));
        root = want_dir(f, HEX_B);
        assert_int_equal(aio_mkdir_p(root, 0755, &err), 0);
        rt_store_cache_put(images_fd, &st, HEX_B);
        assert_int_equal(rt_store_lookup(f->state, f->tarball, &dir, &err), 1);
        assert_string_equal(dir, root);
        free(dir);
}

/* No identity to remember a stream by: a miss, without opening it (it would wait for a writer,
 * then cut it off). A directory or a missing file is an error that names it. */
static void test_lookup_not_a_file(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *fifo = aio_xasprintf("%s/pipe.tar", f->dir);
        cleanup_free char *missing = aio_xasprintf("%s/nope.tar", f->dir);
        struct aio_err err = {0};
        char *dir = NULL;

        assert_int_equal(mkfifo(fifo, 0600), 0);
        (void)alarm(5); /* blocked on the fifo: SIGALRM ends the test run */
        assert_int_equal(rt_store_lookup(f->state, fifo, &dir, &err), 0);
        (void)alarm(0);
        assert_null(dir);
        assert_int_equal(rt_store_lookup(f->state, f->dir, &dir, &err), -EISDIR);
        assert_non_null(strstr(err.msg, "is a directory"));
        assert_int_equal(rt_store_lookup(f->state, missing, &dir, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "nope.tar"));
        assert_null(dir);
}

/* An unreadable cached tarball is not served (the unpack could not read it either). */
static void test_lookup_unreadable(void **state)
{
        struct fixture *f = *state;
        cleanup_close int images_fd = add_entry(f, HEX_A);
        struct aio_err err = {0};
        char *dir = NULL;
        pid_t pid;
        int status;

        assert_int_equal(chmod(f->tarball, 0), 0);
        assert_int_equal(chmod(f->dir, 0755), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
                        _exit(3);
                _exit(rt_store_lookup(f->state, f->tarball, &dir, &err) == -EACCES ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_images_open(void **state)
{
        struct fixture *f = *state;
        cleanup_close int fd = -1;
        struct aio_err err = {0};

        assert_int_equal(rt_store_images_open(f->images, false, &err), -ENOENT);
        fd = rt_store_images_open(f->images, true, &err);
        assert_true(fd >= 0);
        assert_true(rt_store_has_rootfs(fd, HEX_A) == false);
        assert_int_equal(aio_write_file(fd, HEX_A, "", 0, 0644, &err), 0); /* a file, not a dir */
        assert_true(rt_store_has_rootfs(fd, HEX_A) == false);
        assert_int_equal(rt_store_images_open(f->tarball, false, &err), -ENOTDIR);
}

static void test_meta(void **state)
{
        struct fixture *f = *state;
        const struct rt_store_meta m = {.tarball = f->tarball,
                                        .size = 9,
                                        .entries = 12,
                                        .bytes = 3456,
                                        .extra = "format=oci\nlayer=sha256:x\n"};
        cleanup_free char *want = NULL;
        cleanup_close int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct aio_err err = {0};
        char buf[512];

        assert_true(fd >= 0);
        assert_int_equal(rt_store_meta_write(fd, HEX_B, &m, &err), 0);
        assert_true(aio_read_file(fd, "meta", buf, sizeof(buf), &err) > 0);
        want = aio_xasprintf("source=%s\nsize=9\nsha256=%s\nentries=12\nbytes=3456\nimported=",
                             f->tarball, HEX_B);
        assert_memory_equal(buf, want, strlen(want));
        /* the import time, then the extra lines */
        assert_true(strtoll(buf + strlen(want), NULL, 10) > 1600000000LL);
        assert_non_null(strstr(buf, "\nformat=oci\nlayer=sha256:x\n"));
        assert_string_equal(buf + strlen(buf) - strlen("layer=sha256:x\n"), "layer=sha256:x\n");
}

/* Temporary directories of dead unpackers are removed; live (locked) or young ones, and
 * anything not named .tmp-*, are kept. */
static void test_sweep(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {".tmp-dead", ".tmp-live", ".tmp-young", HEX_A};
        struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
        cleanup_close int images_fd = -1, live_fd = -1;
        struct aio_err err;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                cleanup_free char *p = aio_xasprintf("%s/%s/rootfs/usr", f->images, names[i]);

                assert_int_equal(aio_mkdir_p(p, 0755, &err), 0);
                free(p);
                p = aio_xasprintf("%s/%s", f->images, names[i]);
                if (strcmp(names[i], ".tmp-young") != 0)
                        assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
        }
        images_fd = rt_store_images_open(f->images, false, &err);
        assert_true(images_fd >= 0);
        live_fd = openat(images_fd, ".tmp-live", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(live_fd >= 0);
        assert_int_equal(flock(live_fd, LOCK_EX), 0);
        rt_store_sweep(images_fd);
        assert_int_equal(faccessat(images_fd, ".tmp-dead", F_OK, 0), -1);
        assert_int_equal(faccessat(images_fd, ".tmp-live", F_OK, 0), 0);
        assert_int_equal(faccessat(images_fd, ".tmp-young", F_OK, 0), 0);
        assert_true(rt_store_has_rootfs(images_fd, HEX_A));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lookup_empty_store, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lookup_hit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lookup_changed_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lookup_stale_or_forged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lookup_not_a_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lookup_unreadable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_images_open, setup, teardown),
                cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
