/* In-root path resolution and fd helpers, on a real temporary tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"

#include "tests/unit/unit.h"

static char root[64];
static int root_fd = -1;

static int setup(void **state)
{
        (void)state;
        strcpy(root, "/tmp/aio-test-fd-XXXXXX");
        if (!mkdtemp(root))
                return -1;
        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        struct aio_err err;

        (void)state;
        (void)close(root_fd);
        return aio_rm_rf(AT_FDCWD, root, &err);
}

static void test_symlink_escape_stays_inside(void **state)
{
        struct aio_err err = {0};
        char buf[64];
        int fd;

        (void)state;
        /* an image whose file is a symlink to a host file */
        assert_int_equal(symlinkat("/etc/hostname", root_fd, "link"), 0);
        assert_int_equal(symlinkat("../../../../..", root_fd, "up"), 0);
        fd = aio_open_in_root(root_fd, "/link", O_RDONLY, 0, &err);
        /* /etc/hostname inside the root is the root's: there is none */
        assert_int_equal(fd, -ENOENT);
        assert_non_null(strstr(err.msg, "/link"));
        fd = aio_open_in_root(root_fd, "/up", O_PATH, 0, &err);
        assert_true(fd >= 0);
        /* ".." clamps at the root: "up" is the root itself */
        snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
        {
                struct stat a, b;

                assert_int_equal(stat(buf, &a), 0);
                assert_int_equal(fstat(root_fd, &b), 0);
                assert_int_equal(a.st_ino, b.st_ino);
        }
        close(fd);
}

static void test_mkdir_in_root(void **state)
{
        struct aio_err err = {0};
        struct stat st;
        char p[128];
        int fd;

        (void)state;
        fd = aio_mkdir_in_root(root_fd, "/a/b/c", 0755, &err);
        assert_true(fd >= 0);
        close(fd);
        snprintf(p, sizeof(p), "%s/a/b/c", root);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(aio_mkdir_in_root(root_fd, "/a/../../x", 0755, &err), -EINVAL);
        /* a symlinked component pointing out of the root is followed inside it */
        assert_int_equal(symlinkat("/", root_fd, "a/link"), 0);
        fd = aio_mkdir_in_root(root_fd, "/a/link/made", 0755, &err);
        assert_true(fd >= 0);
        close(fd);
        snprintf(p, sizeof(p), "%s/made", root);
        assert_int_equal(stat(p, &st), 0);
        assert_int_not_equal(stat("/made", &st), 0);
}

static void test_close_all_except(void **state)
{
        struct aio_err err = {0};
        int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY),
            c = open("/dev/null", O_RDONLY);

        (void)state;
        assert_int_equal(aio_close_all_except(&b, 1, &err), 0);
        assert_int_equal(fcntl(a, F_GETFD), -1);
        assert_true(fcntl(b, F_GETFD) >= 0);
        assert_int_equal(fcntl(c, F_GETFD), -1);
        assert_true(fcntl(0, F_GETFD) >= 0 || errno == EBADF);
        close(b);
}

static void test_rm_rf(void **state)
{
        struct aio_err err = {0};
        char p[128];
        struct stat st;

        (void)state;
        snprintf(p, sizeof(p), "%s/tree/d", root);
        assert_int_equal(aio_mkdir_p(p, 0755, &err), 0);
        snprintf(p, sizeof(p), "%s/tree/d/f", root);
        assert_int_equal(aio_write_file(AT_FDCWD, p, "x", 1, 0644, &err), 0);
        snprintf(p, sizeof(p), "%s/tree/d", root);
        assert_int_equal(chmod(p, 0), 0); /* overlayfs work dirs look like this */
        snprintf(p, sizeof(p), "%s/tree/escape", root);
        assert_int_equal(symlink("/etc", p), 0);
        snprintf(p, sizeof(p), "%s/tree", root);
        assert_int_equal(aio_rm_rf(AT_FDCWD, p, &err), 0);
        assert_int_not_equal(lstat(p, &st), 0);
        assert_int_equal(stat("/etc/hostname", &st), 0); /* not followed */
}

/* A jail can leave a tree far deeper than any stack; removal must not recurse. */
static void test_rm_rf_deep(void **state)
{
        struct aio_err err = {0};
        char p[128];
        struct stat st;
        int fd;

        (void)state;
        snprintf(p, sizeof(p), "%s/deep", root);
        assert_int_equal(mkdir(p, 0755), 0);
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (int i = 0; i < 30000; i++) {
                int next;

                assert_int_equal(mkdirat(fd, "d", 0755), 0);
                next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(next >= 0);
                close(fd);
                fd = next;
        }
        close(fd);
        assert_int_equal(aio_rm_rf(AT_FDCWD, p, &err), 0);
        assert_int_not_equal(lstat(p, &st), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_symlink_escape_stays_inside),
                cmocka_unit_test(test_mkdir_in_root),
                cmocka_unit_test(test_close_all_except),
                cmocka_unit_test(test_rm_rf),
                cmocka_unit_test(test_rm_rf_deep),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
