#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/capabilities.h"
#include "common/err.h"

#include "config.h"
#include "tests/unit/unit.h"

static void test_size(void **state)
{
        struct aio_err err = {0};
        uint64_t v = 0;

        (void)state;
        assert_int_equal(rt_parse_size("123", &v, &err), 0);
        assert_int_equal(v, 123);
        assert_int_equal(rt_parse_size("64m", &v, &err), 0);
        assert_int_equal(v, 64ULL << 20);
        assert_int_equal(rt_parse_size("2G", &v, &err), 0);
        assert_int_equal(v, 2ULL << 30);
        assert_int_equal(rt_parse_size("1kb", &v, &err), 0);
        assert_int_equal(v, 1024);
        assert_int_equal(rt_parse_size("12x", &v, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "12x"));
        assert_int_equal(rt_parse_size("-1", &v, &err), -EINVAL);
        assert_int_equal(rt_parse_size("", &v, &err), -EINVAL);
        assert_int_equal(rt_parse_size("99999999999999999999", &v, &err), -ERANGE);
        assert_int_equal(rt_parse_size("99999999999t", &v, &err), -ERANGE);
}

static void test_bind(void **state)
{
        struct aio_err err = {0};
        struct rt_bind b;

        (void)state;
        assert_int_equal(rt_parse_bind("/a:/b", &b, &err), 0);
        assert_string_equal(b.src, "/a");
        assert_string_equal(b.dst, "/b");
        assert_false(b.ro);
        free(b.src);
        free(b.dst);
        assert_int_equal(rt_parse_bind("/a:/b/c:ro", &b, &err), 0);
        assert_true(b.ro);
        free(b.src);
        free(b.dst);
        assert_int_equal(rt_parse_bind("/a", &b, &err), -EINVAL);
        assert_int_equal(rt_parse_bind("a:/b", &b, &err), -EINVAL);
        assert_int_equal(rt_parse_bind("/a:b", &b, &err), -EINVAL);
        assert_int_equal(rt_parse_bind("/a:/b/../../etc", &b, &err), -EINVAL);
        assert_non_null(strstr(err.msg, ".."));
        assert_int_equal(rt_parse_bind("/a:/b:rx", &b, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "rx"));
        /* the jail's own /proc, /sys, /dev and root are not the caller's to replace */
        assert_int_equal(rt_parse_bind("/a:/proc", &b, &err), -EPERM);
        assert_non_null(strstr(err.msg, "/proc"));
        assert_int_equal(rt_parse_bind("/a:/proc/sys:ro", &b, &err), -EPERM);
        assert_int_equal(rt_parse_bind("/a://proc/", &b, &err), -EPERM);
        assert_int_equal(rt_parse_bind("/a:/./sys/x", &b, &err), -EPERM);
        assert_int_equal(rt_parse_bind("/a:/dev", &b, &err), -EPERM);
        assert_int_equal(rt_parse_bind("/a:/", &b, &err), -EINVAL);
        assert_int_equal(rt_parse_bind("/a:/processes", &b, &err), 0);
        free(b.src);
        free(b.dst);
        /* ".." inside a name is not a parent reference */
        assert_int_equal(rt_parse_bind("/a..b:/c..d", &b, &err), 0);
        free(b.src);
        free(b.dst);
}

static void test_tmpfs(void **state)
{
        struct aio_err err = {0};
        struct rt_tmpfs t;

        (void)state;
        assert_int_equal(rt_parse_tmpfs("/scratch:16m", &t, &err), 0);
        assert_string_equal(t.dst, "/scratch");
        assert_int_equal(t.size, 16ULL << 20);
        free(t.dst);
        assert_int_equal(rt_parse_tmpfs("/x", &t, &err), 0);
        assert_int_equal(t.size, 0);
        free(t.dst);
        assert_int_equal(rt_parse_tmpfs("/x:lots", &t, &err), -EINVAL);
        assert_int_equal(rt_parse_tmpfs("rel", &t, &err), -EINVAL);
        assert_int_equal(rt_parse_tmpfs("/proc", &t, &err), -EPERM);
        assert_int_equal(rt_parse_tmpfs("/sys/fs/cgroup:1m", &t, &err), -EPERM);
}

static void test_rlimit(void **state)
{
        struct aio_err err = {0};
        struct rt_rlimit r;

        (void)state;
        assert_int_equal(rt_parse_rlimit("nofile=1024:4096", &r, &err), 0);
        assert_int_equal(r.resource, RLIMIT_NOFILE);
        assert_int_equal(r.soft, 1024);
        assert_int_equal(r.hard, 4096);
        assert_int_equal(rt_parse_rlimit("RLIMIT_NPROC=50", &r, &err), 0);
        assert_int_equal(r.resource, RLIMIT_NPROC);
        assert_int_equal(r.hard, 50);
        assert_int_equal(rt_parse_rlimit("cpu=unlimited", &r, &err), 0);
        assert_true(r.soft == RLIM_INFINITY);
        assert_int_equal(rt_parse_rlimit("nofile=10:5", &r, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "soft"));
        assert_int_equal(rt_parse_rlimit("bogus=1", &r, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "bogus"));
        assert_int_equal(rt_parse_rlimit("nofile", &r, &err), -EINVAL);
        assert_int_equal(rt_parse_rlimit("nofile=-1", &r, &err), -EINVAL);
}

static void test_user(void **state)
{
        struct aio_err err = {0};
        uid_t u;
        gid_t g;

        (void)state;
        assert_int_equal(rt_parse_user("gem", &u, &g, &err), 0);
        assert_int_equal(u, 1000);
        assert_int_equal(g, 1000);
        assert_int_equal(rt_parse_user("root", &u, &g, &err), 0);
        assert_int_equal(u, 0);
        assert_int_equal(rt_parse_user("123:456", &u, &g, &err), 0);
        assert_int_equal(u, 123);
        assert_int_equal(g, 456);
        assert_int_equal(rt_parse_user("77", &u, &g, &err), 0);
        assert_int_equal(g, 77);
        assert_int_equal(rt_parse_user("65536", &u, &g, &err), -EINVAL);
        assert_int_equal(rt_parse_user("alice", &u, &g, &err), -EINVAL);
        assert_int_equal(rt_parse_user("1:x", &u, &g, &err), -EINVAL);
}

static void test_caps(void **state)
{
        struct aio_err err = {0};
        uint64_t m = 1;
        char buf[64];

        (void)state;
        assert_int_equal(aio_caps_parse_list("none", &m, &err), 0);
        assert_int_equal(m, 0);
        assert_int_equal(aio_caps_parse_list("CAP_CHOWN,kill", &m, &err), 0);
        assert_int_equal(m, (1ULL << 0) | (1ULL << 5));
        assert_string_equal(aio_cap_name(5, buf, sizeof(buf)), "CAP_KILL");
        assert_int_equal(aio_caps_parse_list("CAP_NOPE", &m, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "CAP_NOPE"));
        assert_int_equal(aio_cap_from_name("cap_kill", true), -EINVAL); /* JSON spelling only */
        assert_int_equal(aio_cap_from_name("cap_kill", false), 5);
        assert_int_equal(aio_caps_parse_list("default", &m, &err), 0);
        assert_int_equal(m, aio_caps_default());
        /* the default set (policy/caps.json) never holds the dangerous ones */
        assert_int_equal(m & (1ULL << 21), 0); /* SYS_ADMIN */
        assert_int_equal(m & (1ULL << 19), 0); /* SYS_PTRACE */
        assert_int_equal(m & (1ULL << 27), 0); /* MKNOD */
        assert_int_equal(m & (1ULL << 13), 0); /* NET_RAW */
        assert_int_equal(m & (1ULL << 2), 0);  /* DAC_READ_SEARCH */
        assert_int_equal(m & (1ULL << 16), 0); /* SYS_MODULE */
        assert_true(m & (1ULL << 0));          /* CHOWN */
}

static void test_cpus_env_name(void **state)
{
        struct aio_err err = {0};
        struct rt_cgroup_limits l = {0};

        (void)state;
        assert_int_equal(rt_parse_cpus("0.5", &l, &err), 0);
        assert_int_equal(l.cpu_quota, 50000);
        assert_int_equal(l.cpu_period, 100000);
        assert_int_equal(rt_parse_cpus("0", &l, &err), -EINVAL);
        assert_int_equal(rt_parse_cpus("abc", &l, &err), -EINVAL);
        assert_int_equal(rt_parse_env("A_B=1", &err), 0);
        assert_int_equal(rt_parse_env("=1", &err), -EINVAL);
        assert_int_equal(rt_parse_env("A-B=1", &err), -EINVAL);
        assert_int_equal(rt_parse_env("NOVALUE", &err), -EINVAL);
        assert_int_equal(rt_parse_name("box-1.a_b", &err), 0);
        assert_int_equal(rt_parse_name("../x", &err), -EINVAL);
        assert_int_equal(rt_parse_name("a/b", &err), -EINVAL);
        assert_int_equal(rt_parse_name("", &err), -EINVAL);
        assert_int_equal(rt_parse_name(".hidden", &err), -EINVAL);
        assert_int_equal(rt_parse_name("_x", &err), -EINVAL);
        assert_int_equal(rt_parse_name("-x", &err), -EINVAL);
}

static void test_validate(void **state)
{
        struct aio_err err = {0};
        struct rt_config c;
        static char arg0[] = "/bin/true";
        char *argv[] = {arg0, NULL};

        (void)state;
        rt_config_init(&c);
        assert_int_equal(rt_config_validate(&c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no command"));
        c.argv = argv;
        assert_int_equal(rt_config_validate(&c, &err), 0);
        c.limits.memory_swap = 1 << 30;
        assert_int_equal(rt_config_validate(&c, &err), -EINVAL);
        c.limits.memory = 2LL << 30;
        assert_int_equal(rt_config_validate(&c, &err), -EINVAL);
        c.limits.memory_swap = 0;
        c.uid_base = 4290000000u;
        assert_int_equal(rt_config_validate(&c, &err), -ERANGE);
        c.uid_base = 10;
        assert_int_equal(rt_config_validate(&c, &err), -EINVAL);
        rt_config_free(&c);
}

static void test_resolve_rootfs(void **state)
{
        struct aio_err err = {0};
        struct rt_config c;

        (void)state;
        rt_config_init(&c);
        assert_int_equal(rt_config_resolve_rootfs(&c, &err), 0);
        assert_int_equal(c.rootfs_kind, RT_ROOTFS_HOST);
        free(c.rootfs);
        c.rootfs = strdup("/tmp");
        assert_int_equal(rt_config_resolve_rootfs(&c, &err), 0);
        assert_int_equal(c.rootfs_kind, RT_ROOTFS_DIR);
        free(c.rootfs);
        c.rootfs = strdup("/nonexistent/rootfs.tar");
        assert_int_equal(rt_config_resolve_rootfs(&c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/rootfs.tar"));
        free(c.rootfs);
        c.rootfs = strdup("/etc/hostname");
        assert_int_equal(rt_config_resolve_rootfs(&c, &err), -EINVAL);
        rt_config_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size),           cmocka_unit_test(test_bind),
                cmocka_unit_test(test_tmpfs),          cmocka_unit_test(test_rlimit),
                cmocka_unit_test(test_user),           cmocka_unit_test(test_caps),
                cmocka_unit_test(test_cpus_env_name),  cmocka_unit_test(test_validate),
                cmocka_unit_test(test_resolve_rootfs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
