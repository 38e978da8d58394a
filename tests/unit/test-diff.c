/* aio-policy diff: per-syscall behaviour as the compiler orders it. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h> /* before cmocka.h, whatever order unit.h ends up in */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

#include "policy/diag.h"
#include "policy/diff.h"
#include "policy/seccomp-policy.h"
#include "policy/syscalls.h"
#include "tests/unit/unit.h"

/* Docker's profile, as the issue names it (../shared/reference, from the repository root), or
 * $AIO_DOCKER_PROFILE; NULL (the test skips) where neither exists. */
static const char *docker_profile(void)
{
        const char *p = getenv("AIO_DOCKER_PROFILE");

        if (!p)
                p = "../shared/reference/docker-default-seccomp.json";
        return access(p, R_OK) == 0 ? p : NULL;
}

static struct pol_seccomp *parse(const char *text)
{
        struct pol_opts opts = {.kernel = {6, 1}};
        struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};
        struct aio_err err = {0};
        json_t *root = json_loads(text, 0, NULL);

        assert_non_null(root);
        if (pol_seccomp_parse(root, &opts, &p, &d, &err) < 0)
                fail_msg("%s", err.msg);
        json_decref(root);
        return p;
}

static struct pol_seccomp *load(const char *path)
{
        struct pol_opts opts = {.kernel = {6, 1}};
        struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};
        struct aio_err err = {0};

        if (pol_seccomp_load(path, &opts, &p, &d, &err) < 0)
                fail_msg("%s", err.msg);
        return p;
}

static char *diff_to_string(const struct pol_seccomp *a, const struct pol_seccomp *b, int *ret_n)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        assert_non_null(f);
        *ret_n = pol_seccomp_diff(a, b, "a.json", "b.json", f);
        assert_int_equal(fclose(f), 0);
        return s;
}

static int nr_of(const char *name)
{
        int nr = -1;

        assert_int_equal(pol_syscall_lookup(name, &nr), POL_SYS_NATIVE);
        return nr;
}

static void test_describe(void **state)
{
        cleanup_seccomp struct pol_seccomp *p =
                parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                      "{\"names\":[\"ioctl\",\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                      "{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,"
                      "\"value\":4294967295,\"valueTwo\":21522,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
                      "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                      "{\"index\":0,\"value\":38,\"op\":\"SCMP_CMP_LT\"},"
                      "{\"index\":2,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}");
        char *s;

        (void)state;
        s = pol_seccomp_describe(p, nr_of("ioctl"));
        assert_string_equal(s, "ERRNO(1) if args[1] & 0xffffffff == 0x5412; else ALLOW");
        free(s);
        s = pol_seccomp_describe(p, nr_of("getpid"));
        assert_string_equal(s, "ALLOW");
        free(s);
        s = pol_seccomp_describe(p, nr_of("socket"));
        assert_string_equal(s, "ALLOW if args[0] < 38 && args[2] == 0; else ERRNO(1)");
        free(s);
        s = pol_seccomp_describe(p, nr_of("mount"));
        assert_string_equal(s, "ERRNO(1)");
        free(s);
}

static void test_diff_lists_differences(void **state)
{
        cleanup_seccomp struct pol_seccomp *a =
                parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                      "{\"names\":[\"read\",\"write\",\"bpf\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
        /* same behaviour for read and write written differently; bpf denied; ioctl added */
        cleanup_seccomp struct pol_seccomp *b =
                parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                      "{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                      "{\"names\":[\"read\",\"ioctl\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                      "{\"names\":[\"bpf\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
        int n = -1;
        char *s;

        (void)state;
        s = diff_to_string(a, b, &n);
        assert_int_equal(n, 2);
        assert_string_equal(s, "--- a.json\n+++ b.json\n"
                               "@@ ioctl\n- ERRNO(1)\n+ ALLOW\n"
                               "@@ bpf\n- ALLOW\n+ ERRNO(1)\n");
        free(s);
        s = diff_to_string(a, a, &n);
        assert_int_equal(n, 0);
        free(s);
}

static void test_diff_docker_vs_default(void **state)
{
        cleanup_seccomp struct pol_seccomp *docker = NULL;
        cleanup_seccomp struct pol_seccomp *def = load("policy/profiles/default.json");
        int n = -1;
        char *s;

        (void)state;
        if (!docker_profile()) {
                skip();
                return;
        }
        docker = load(docker_profile());
        s = diff_to_string(docker, def, &n);
        /* what default.json adds to Docker's profile, and nothing it removes */
        assert_non_null(strstr(s, "@@ ioctl\n- ALLOW\n+ ERRNO(1) if args[1] & 0xffffffff == "
                                  "0x5412; ERRNO(1) if args[1] & 0xffffffff == 0x541c; ERRNO(1) "
                                  "if args[1] & 0xffffffff == 0x5423; else ALLOW\n"));
        assert_non_null(strstr(s, "@@ socket\n- ALLOW if args[0] < 38; ALLOW if args[0] == 39; "
                                  "ALLOW if args[0] > 40; else ERRNO(1)\n+ ERRNO(1) if args[0] & "
                                  "0xffffffff == 38; ERRNO(1) if args[0] & 0xffffffff == 40; "
                                  "else ALLOW\n"));
        assert_null(strstr(s, "@@ getpid"));
        assert_int_equal(n, 2);
        free(s);
}

static void test_diff_default_vs_strict(void **state)
{
        cleanup_seccomp struct pol_seccomp *def = load("policy/profiles/default.json");
        cleanup_seccomp struct pol_seccomp *strict = load("policy/profiles/strict.json");
        int n = -1;
        char *s;

        (void)state;
        s = diff_to_string(def, strict, &n);
        assert_non_null(strstr(s, "@@ ptrace\n- ALLOW\n+ ERRNO(1)\n"));
        assert_non_null(strstr(s, "@@ process_vm_readv\n- ALLOW\n+ ERRNO(1)\n"));
        assert_non_null(strstr(s, "@@ socketpair\n- ALLOW\n+ ALLOW if args[0] & 0xffffffff == 1; "
                                  "else ERRNO(1)\n"));
        assert_non_null(strstr(s, "@@ personality\n"));
        assert_null(strstr(s, "@@ read\n"));
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_describe),
                cmocka_unit_test(test_diff_lists_differences),
                cmocka_unit_test(test_diff_docker_vs_default),
                cmocka_unit_test(test_diff_default_vs_strict),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
