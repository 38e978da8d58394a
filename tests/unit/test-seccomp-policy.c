/* The seccomp profile parser: every error class with its JSON path, and the resolution of good
 * profiles (Docker's own, the shipped ones) against capability sets and kernel versions. */
#include <errno.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <setjmp.h> /* before cmocka.h, whatever order unit.h ends up in */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/capabilities.h"
#include "common/err.h"

#include "policy/caps-policy.h"
#include "policy/diag.h"
#include "policy/seccomp-policy.h"
#include "policy/syscalls.h"
#include "tests/unit/unit.h"

static const struct pol_opts opts_61 = {.kernel = {6, 1}};

/* Docker's profile, as the issue names it (../shared/reference, from the repository root), or
 * $AIO_DOCKER_PROFILE; NULL (the test skips) where neither exists. */
static const char *docker_profile(void)
{
        const char *p = getenv("AIO_DOCKER_PROFILE");

        if (!p)
                p = "../shared/reference/docker-default-seccomp.json";
        return access(p, R_OK) == 0 ? p : NULL;
}

/* Parses text; returns the result of pol_seccomp_parse, problems in d. */
static int parse_text(const char *text, const struct pol_opts *opts, struct pol_seccomp **ret,
                      struct pol_diag *d)
{
        struct aio_err err = {0};
        json_error_t jerr;
        json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        int r;

        assert_non_null(root);
        r = pol_seccomp_parse(root, opts ? opts : &opts_61, ret, d, &err);
        json_decref(root);
        if (r < 0) {
                assert_int_equal(r, -EINVAL);
                assert_true(d->n > 0);
                assert_non_null(strstr(err.msg, d->msgs[0]));
        }
        return r;
}

static bool has_problem(const struct pol_diag *d, const char *msg)
{
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->msgs[i], msg) == 0)
                        return true;
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  problem: %s\n", d->msgs[i]);
        return false;
}

/* The text must be refused with exactly msg among its problems. */
static void expect_problem(const char *text, const char *msg)
{
        struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};

        assert_int_equal(parse_text(text, NULL, &p, &d), -EINVAL);
        assert_null(p);
        if (!has_problem(&d, msg))
                fail_msg("expected problem \"%s\"", msg);
        pol_diag_free(&d);
}

#define RULE(...) "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[" __VA_ARGS__ "]}"

static void test_unknown_syscall(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"names\":[\"write\",\"close\",\"open\",\"foo\"],"
                            "\"action\":\"SCMP_ACT_ALLOW\"}"),
                       "syscalls[1].names[3]: unknown syscall \"foo\" for x86_64");
}

static void test_foreign_syscall_is_dropped(void **state)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};
        int nr = -1;

        (void)state;
        /* 32-bit names of other architectures are fine in a multi-arch profile, and dropped. */
        assert_int_equal(parse_text(RULE("{\"names\":[\"chown32\",\"getpid\",\"cacheflush\"],"
                                         "\"action\":\"SCMP_ACT_ALLOW\"}"),
                                    NULL, &p, &d),
                         0);
        assert_int_equal(p->rules[0].n_sys, 1);
        assert_int_equal(pol_syscall_lookup("getpid", &nr), POL_SYS_NATIVE);
        assert_int_equal(p->rules[0].sys[0].nr, nr);
        assert_int_equal(p->rules[0].sys[0].name_index, 1);
        assert_int_equal(pol_syscall_lookup("chown32", &nr), POL_SYS_FOREIGN);
        assert_int_equal(pol_syscall_lookup("no_such_call", &nr), POL_SYS_UNKNOWN);
}

static void test_newer_syscalls_have_numbers(void **state)
{
        char name[64];
        int nr = -1;

        (void)state;
        /* libseccomp 2.5.4 cannot name these; the supplementary table can (syscall_64.tbl). */
        assert_int_equal(pol_syscall_lookup("mseal", &nr), POL_SYS_NATIVE);
        assert_int_equal(nr, 462);
        assert_int_equal(pol_syscall_lookup("uretprobe", &nr), POL_SYS_NATIVE);
        assert_int_equal(nr, 335);
        assert_string_equal(pol_syscall_name(459, name, sizeof(name)), "lsm_get_self_attr");
        assert_string_equal(pol_syscall_name(39, name, sizeof(name)), "getpid");
        assert_null(pol_syscall_name(400, name, sizeof(name)));
        assert_false(pol_syscall_known(400));
        assert_true(pol_syscall_max() >= 469);
}

static void test_bad_operator(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                            "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                            "{\"index\":1,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}"),
                       "syscalls[1].args[1].op: unknown operator \"SCMP_CMP_XX\"");
}

static void test_bad_action(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_FOO\"}"),
                       "syscalls[0].action: unknown action \"SCMP_ACT_FOO\"");
        expect_problem("{\"defaultAction\":\"ALLOW\"}", "defaultAction: unknown action \"ALLOW\"");
        expect_problem("{\"syscalls\":[]}", "defaultAction: missing");
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}"),
                       "syscalls[0].action: SCMP_ACT_NOTIFY is not supported: compiled filters "
                       "are loaded without a notification listener");
        expect_problem(RULE("{\"names\":[\"read\"]}"), "syscalls[0].action: missing");
}

static void test_bad_errno(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":1}"),
                       "syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\","
                            "\"errnoRet\":5000}"),
                       "syscalls[0].errnoRet: 5000 is out of range (0..4095)");
        expect_problem("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":\"1\"}",
                       "defaultErrnoRet: expected an integer");
}

static void test_conflicting_rules(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"read\",\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"names\":[\"write\",\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\","
                            "\"errnoRet\":13}"),
                       "syscalls[1].names[1]: conflicting rules for \"getpid\": ERRNO(13) here, "
                       "ALLOW in syscalls[0]");
        /* reported alongside other problems too */
        expect_problem(RULE("{\"names\":[\"nope\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_LOG\"}"),
                       "syscalls[2].names[0]: conflicting rules for \"getpid\": LOG here, ALLOW "
                       "in syscalls[1]");
}

static void test_no_conflict_when_inactive_or_same(void **state)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};

        (void)state;
        /* Docker's pattern: the second rule only applies without CAP_SYS_ADMIN. */
        assert_int_equal(parse_text(RULE("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\","
                                         "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                                         "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                         "\"errnoRet\":38,\"excludes\":{\"caps\":"
                                         "[\"CAP_SYS_ADMIN\"]}},"
                                         "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                         "\"errnoRet\":38}"),
                                    NULL, &p, &d),
                         0);
        assert_false(p->rules[0].active);
        assert_true(p->rules[1].active);
        assert_true(p->rules[2].active);
}

static void test_bad_args(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                            "{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"),
                       "syscalls[0].args[0].index: 6 is out of range (0..5)");
        expect_problem(RULE("{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                            "{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"),
                       "syscalls[0].args[0].index: missing");
        expect_problem(RULE("{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                            "{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}"),
                       "syscalls[0].args[0].value: -1 is out of range (0..9223372036854775807)");
        expect_problem(RULE("{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                            "{\"index\":0,\"value\":255,\"valueTwo\":256,"
                            "\"op\":\"SCMP_CMP_MASKED_EQ\"}]}"),
                       "syscalls[0].args[0].valueTwo: has bits outside the mask in value: never "
                       "matches");
        expect_problem(RULE("{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                            "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\",\"datum\":2}]}"),
                       "syscalls[0].args[0].datum: unknown key");
        expect_problem(RULE("{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":7}"),
                       "syscalls[0].args: expected an array");
}

static void test_bad_names(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"}"),
                       "syscalls[0].names: expected a non-empty array of syscall names");
        expect_problem(RULE("{\"names\":[\"read\",3],\"action\":\"SCMP_ACT_ALLOW\"}"),
                       "syscalls[0].names[1]: expected a string");
        expect_problem(RULE("{\"names\":[\"read\",\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}"),
                       "syscalls[0].names[1]: duplicate syscall \"read\"");
        expect_problem(RULE("{\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0].names: missing");
        expect_problem(RULE("7"), "syscalls[0]: expected an object");
}

static void test_unknown_keys(void **state)
{
        (void)state;
        expect_problem("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultAktion\":1}",
                       "defaultAktion: unknown key");
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"bogus\":1}"),
                       "syscalls[0].bogus: unknown key");
        expect_problem("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"aio\":{\"caps\":[]}}",
                       "aio.caps: unknown key");
        expect_problem("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"listenerPath\":\"/x\"}",
                       "listenerPath: not supported: compiled filters are loaded without a "
                       "notification listener");
        expect_problem(
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":[\"SECCOMP_FILTER_FLAG_X\"]}",
                "flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\"");
}

static void test_bad_filters(void **state)
{
        (void)state;
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                            "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\",\"CAP_FOO\"]}}"),
                       "syscalls[0].includes.caps[1]: unknown capability \"CAP_FOO\"");
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                            "\"excludes\":{\"arches\":[\"amd64\",\"vax\"]}}"),
                       "syscalls[0].excludes.arches[1]: unknown architecture \"vax\"");
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                            "\"includes\":{\"minKernel\":\"4.x\"}}"),
                       "syscalls[0].includes.minKernel: expected a version string like \"4.8\"");
        expect_problem(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                            "\"includes\":{\"kernel\":\"4.8\"}}"),
                       "syscalls[0].includes.kernel: unknown key");
}

static void test_bad_architectures(void **state)
{
        (void)state;
        expect_problem("{\"defaultAction\":\"SCMP_ACT_ERRNO\","
                       "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_FOO\"]}",
                       "architectures[1]: unknown architecture \"SCMP_ARCH_FOO\"");
        expect_problem(
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86\"]}",
                "architectures: does not cover SCMP_ARCH_X86_64, the only architecture "
                "aio-policy compiles for");
        expect_problem("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
                       "\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_Y\"]}]}",
                       "archMap[0].subArchitectures[0]: unknown architecture \"SCMP_ARCH_Y\"");
}

static void test_all_problems_reported(void **state)
{
        struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};

        (void)state;
        assert_int_equal(parse_text(RULE("{\"names\":[\"nope1\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                                         "{\"names\":[\"nope2\"],\"action\":\"SCMP_ACT_BAD\"},"
                                         "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                                         "\"args\":[{\"index\":9,\"op\":\"SCMP_CMP_EQ\"}]}"),
                                    NULL, &p, &d),
                         -EINVAL);
        assert_int_equal(d.n, 4);
        assert_string_equal(d.msgs[0],
                            "syscalls[0].names[0]: unknown syscall \"nope1\" for x86_64");
        assert_string_equal(d.msgs[1],
                            "syscalls[1].names[0]: unknown syscall \"nope2\" for x86_64");
        assert_string_equal(d.msgs[2], "syscalls[1].action: unknown action \"SCMP_ACT_BAD\"");
        assert_string_equal(d.msgs[3], "syscalls[2].args[0].index: 9 is out of range (0..5)");
        pol_diag_free(&d);
}

static void test_json_errors(void **state)
{
        char path[] = "/tmp/aio-test-policy-XXXXXX";
        struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};
        struct aio_err err = {0};
        int fd = mkstemp(path);
        static const char dup[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\n"
                                  "\"defaultAction\":\"SCMP_ACT_ALLOW\"}\n";

        (void)state;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, dup, sizeof(dup) - 1), (ssize_t)sizeof(dup) - 1);
        (void)close(fd);
        assert_int_equal(pol_seccomp_load(path, NULL, &p, &d, &err), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_non_null(strstr(d.msgs[0], "line 2"));
        assert_non_null(strstr(d.msgs[0], "duplicate object key"));
        pol_diag_free(&d);
        (void)unlink(path);
        assert_int_equal(pol_seccomp_load("/nonexistent.json", NULL, &p, &d, &err), -EIO);
        assert_int_equal(d.n, 0);
}

static void test_docker_profile_resolution(void **state)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};
        struct aio_err err = {0};

        (void)state;
        if (!docker_profile()) {
                skip();
                return;
        }
        assert_int_equal(pol_seccomp_load(docker_profile(), &opts_61, &p, &d, &err), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(p->n_rules, 33);
        assert_int_equal(p->default_action, SECCOMP_RET_ERRNO | EPERM);
        assert_true(p->rules[0].active);
        assert_true(p->rules[1].active);   /* minKernel 4.8 */
        assert_false(p->rules[11].active); /* arm only */
        assert_true(p->rules[12].active);  /* arch_prctl on amd64 */
        assert_false(p->rules[16].active); /* CAP_DAC_READ_SEARCH */
        assert_false(p->rules[17].active); /* CAP_SYS_ADMIN */
        assert_true(p->rules[18].active);  /* masked clone unless CAP_SYS_ADMIN */
        assert_false(p->rules[19].active); /* s390 clone */
        assert_true(p->rules[20].active);  /* clone3 -> ENOSYS unless CAP_SYS_ADMIN */
        assert_int_equal(p->rules[20].action, SECCOMP_RET_ERRNO | ENOSYS);
        assert_true(p->rules[22].active);  /* CAP_SYS_CHROOT is in the default set */
        assert_false(p->rules[25].active); /* CAP_SYS_PTRACE is not */
        assert_int_equal(p->caps, aio_caps_default());
}

static void test_docker_profile_caps_and_kernel(void **state)
{
        cleanup_seccomp struct pol_seccomp *p = NULL, *q = NULL;
        struct pol_opts opts = {.caps_given = true, .kernel = {4, 4}};
        struct pol_diag d = {0};
        struct aio_err err = {0};

        (void)state;
        if (!docker_profile()) {
                skip();
                return;
        }
        assert_int_equal(aio_caps_parse_list("cap_sys_admin,SYS_PTRACE", &opts.caps, &err), 0);
        assert_int_equal(pol_seccomp_load(docker_profile(), &opts, &p, &d, &err), 0);
        assert_false(p->rules[1].active); /* kernel 4.4 < 4.8 */
        assert_true(p->rules[17].active);
        assert_false(p->rules[18].active);
        assert_false(p->rules[20].active);
        assert_false(p->rules[22].active); /* no CAP_SYS_CHROOT in this set */
        assert_true(p->rules[25].active);
        opts.caps = 0;
        assert_int_equal(pol_seccomp_load(docker_profile(), &opts, &q, &d, &err), 0);
        assert_false(q->rules[22].active);
        assert_int_equal(aio_caps_parse_list("CAP_NOPE", &opts.caps, &err), -EINVAL);
        assert_string_equal(err.msg, "--caps: unknown capability \"CAP_NOPE\"");
}

static void test_aio_capabilities_extension(void **state)
{
        static const char text[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"comment\":\"x\","
                                   "\"aio\":{\"capabilities\":[\"CAP_SYS_ADMIN\"]},"
                                   "\"syscalls\":[{\"names\":[\"sethostname\"],"
                                   "\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
                                   "[\"CAP_SYS_ADMIN\"]}}]}";
        cleanup_seccomp struct pol_seccomp *p = NULL, *q = NULL;
        struct pol_opts opts = {.caps_given = true, .caps = 0, .kernel = {6, 1}};
        struct pol_diag d = {0};

        (void)state;
        assert_int_equal(parse_text(text, NULL, &p, &d), 0);
        assert_true(p->rules[0].active);
        assert_string_equal(p->comment, "x");
        /* --caps wins over the profile's own set */
        assert_int_equal(parse_text(text, &opts, &q, &d), 0);
        assert_false(q->rules[0].active);
}

static void test_shipped_profiles_parse(void **state)
{
        static const char *const names[] = {"default", "strict", "browser"};

        (void)state;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                cleanup_seccomp struct pol_seccomp *p = NULL;
                struct pol_diag d = {0};
                struct aio_err err = {0};
                char path[128];

                (void)snprintf(path, sizeof(path), "policy/profiles/%s.json", names[i]);
                if (pol_seccomp_load(path, NULL, &p, &d, &err) < 0)
                        fail_msg("%s: %s", path, err.msg);
                /* each shipped profile says what it is for */
                assert_non_null(p->comment);
                assert_true(strlen(p->comment) > 100);
                assert_int_equal(p->default_action, SECCOMP_RET_ERRNO | EPERM);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unknown_syscall),
                cmocka_unit_test(test_foreign_syscall_is_dropped),
                cmocka_unit_test(test_newer_syscalls_have_numbers),
                cmocka_unit_test(test_bad_operator),
                cmocka_unit_test(test_bad_action),
                cmocka_unit_test(test_bad_errno),
                cmocka_unit_test(test_conflicting_rules),
                cmocka_unit_test(test_no_conflict_when_inactive_or_same),
                cmocka_unit_test(test_bad_args),
                cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_unknown_keys),
                cmocka_unit_test(test_bad_filters),
                cmocka_unit_test(test_bad_architectures),
                cmocka_unit_test(test_all_problems_reported),
                cmocka_unit_test(test_json_errors),
                cmocka_unit_test(test_docker_profile_resolution),
                cmocka_unit_test(test_docker_profile_caps_and_kernel),
                cmocka_unit_test(test_aio_capabilities_extension),
                cmocka_unit_test(test_shipped_profiles_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
