#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

#include "tests/unit/unit.h"
#include "up.h"

static void test_listen_specs(void **state)
{
        struct aio_err err = {0};
        char url[128];
        int fd;

        (void)state;
        fd = rt_up_listen("127.0.0.1:0", false, &err);
        assert_true(fd >= 0);
        assert_int_equal(rt_up_url(fd, url, sizeof(url), &err), 0);
        assert_true(strncmp(url, "http://127.0.0.1:", 17) == 0);
        assert_string_not_equal(url, "http://127.0.0.1:0");
        close(fd);
        fd = rt_up_listen("0", false, &err); /* a bare port means loopback */
        assert_true(fd >= 0);
        close(fd);
        fd = rt_up_listen("[::1]:0", false, &err);
        if (fd >= 0) { /* hosts without IPv6 loopback refuse the bind */
                assert_int_equal(rt_up_url(fd, url, sizeof(url), &err), 0);
                assert_true(strncmp(url, "http://[::1]:", 13) == 0);
                close(fd);
        }
        /* not loopback: refused without --insecure, before any socket exists */
        assert_int_equal(rt_up_listen("0.0.0.0:0", false, &err), -EPERM);
        assert_non_null(strstr(err.msg, "--insecure"));
        fd = rt_up_listen("0.0.0.0:0", true, &err);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(rt_up_listen("127.0.0.1:99999", false, &err), -EINVAL);
        assert_int_equal(rt_up_listen("localhost:80", false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "localhost:80"));
        assert_int_equal(rt_up_listen("127.0.0.1:-1", false, &err), -EINVAL);
        assert_int_equal(rt_up_listen("127.0.0.1:", false, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_listen_specs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
