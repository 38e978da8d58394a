#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"

#include "config.h"
#include "tests/unit/unit.h"
#include "userns.h"

static void test_format_map(void **state)
{
        char buf[64];

        (void)state;
        assert_int_equal(rt_userns_format_map(0, 1048576, 65536, buf, sizeof(buf)), 16);
        assert_string_equal(buf, "0 1048576 65536\n");
        assert_int_equal(rt_userns_format_map(0, 1, 1, buf, 4), -ENOBUFS);
}

static void test_subid_find(void **state)
{
        char path[] = "/tmp/aio-subuid-XXXXXX";
        int fd = mkstemp(path);
        uint32_t s = 0, c = 0;
        const char text[] = "# comment\nalice:100000:65536\n1001:200000:1000\nbad:line\nzero:1:0\n";

        (void)state;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
        close(fd);
        assert_int_equal(rt_subid_find(path, "alice", 5, &s, &c), 0);
        assert_int_equal(s, 100000);
        assert_int_equal(c, 65536);
        assert_int_equal(rt_subid_find(path, "bob", 1001, &s, &c), 0); /* by numeric id */
        assert_int_equal(s, 200000);
        assert_int_equal(rt_subid_find(path, "zero", 7, &s, &c), -ENOENT);
        assert_int_equal(rt_subid_find(path, "bad", 7, &s, &c), -ENOENT);
        assert_int_equal(rt_subid_find("/nonexistent", "alice", 5, &s, &c), -ENOENT);
        unlink(path);
}

/* Concurrent allocation: each slot is held by exactly one owner, and released on close. */
static void test_idrange_alloc(void **state)
{
        char dir[] = "/tmp/aio-ids-XXXXXX";
        struct aio_err err = {0};
        struct rt_idrange a, b, c;

        (void)state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(rt_idrange_alloc(dir, RT_DEFAULT_UID_BASE, 2, &a, &err), 0);
        assert_int_equal(rt_idrange_alloc(dir, RT_DEFAULT_UID_BASE, 2, &b, &err), 0);
        assert_int_not_equal(a.base, b.base);
        assert_int_equal(a.count, RT_UID_RANGE);
        assert_true(a.base >= RT_DEFAULT_UID_BASE && b.base >= RT_DEFAULT_UID_BASE);
        assert_int_equal((a.base - RT_DEFAULT_UID_BASE) % RT_UID_RANGE, 0);
        /* exhausted */
        assert_int_equal(rt_idrange_alloc(dir, RT_DEFAULT_UID_BASE, 2, &c, &err), -EAGAIN);
        assert_non_null(strstr(err.msg, "no free uid range"));
        /* a forked holder's lock is its own: released when it exits */
        rt_idrange_release(&a);
        assert_int_equal(rt_idrange_alloc(dir, RT_DEFAULT_UID_BASE, 2, &c, &err), 0);
        assert_int_equal(c.base, a.base);
        rt_idrange_release(&b);
        rt_idrange_release(&c);
        assert_int_equal(aio_rm_rf(AT_FDCWD, dir, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_map),
                cmocka_unit_test(test_subid_find),
                cmocka_unit_test(test_idrange_alloc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
