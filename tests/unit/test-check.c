/* aio-policy check on every kind of policy file: kind detection, capability and mount files, and
 * the shipped data. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h> /* before cmocka.h, whatever order unit.h ends up in */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/capabilities.h"
#include "common/err.h"

#include "policy/caps-policy.h"
#include "policy/check.h"
#include "policy/diag.h"
#include "policy/seccomp-policy.h"
#include "tests/unit/unit.h"

static char tmp_path[64];

/* Writes text to a temporary file and checks it; problems in d. */
static int check_text(const char *text, struct pol_diag *d)
{
        struct aio_err err = {0};
        FILE *f;
        int fd, r;

        strcpy(tmp_path, "/tmp/aio-test-check-XXXXXX");
        fd = mkstemp(tmp_path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
        r = pol_check_file(tmp_path, NULL, d, &err);
        (void)unlink(tmp_path);
        return r;
}

static void expect_problem(const char *text, const char *msg)
{
        struct pol_diag d = {0};
        bool found = false;

        assert_int_equal(check_text(text, &d), -EINVAL);
        for (size_t i = 0; i < d.n; i++)
                found = found || strcmp(d.msgs[i], msg) == 0;
        for (size_t i = 0; !found && i < d.n; i++)
                fprintf(stderr, "  problem: %s\n", d.msgs[i]);
        assert_true(found);
        pol_diag_free(&d);
}

static void test_kinds(void **state)
{
        struct pol_diag d = {0};

        (void)state;
        assert_int_equal(check_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", &d),
                         POL_KIND_SECCOMP);
        assert_int_equal(check_text("{\"capabilities\":[]}", &d), POL_KIND_CAPS);
        assert_int_equal(check_text("{\"maskedPaths\":[\"/proc/kcore\"]}", &d), POL_KIND_MOUNTS);
        assert_int_equal(d.n, 0);
        expect_problem("{\"comment\":\"x\"}",
                       "(root): not a policy file: expected \"defaultAction\" (seccomp), "
                       "\"capabilities\" or \"maskedPaths\"/\"readonlyPaths\"");
        expect_problem("[1]", "(root): expected an object");
        expect_problem("{\"defaultAction\":",
                       "(json) line 1, column 17: unexpected token near end of file");
        assert_string_equal(pol_kind_to_string(POL_KIND_MOUNTS), "mount masks");
}

static void test_caps_file(void **state)
{
        (void)state;
        expect_problem("{\"capabilities\":[\"CAP_CHOWN\",\"CAP_BOGUS\"]}",
                       "capabilities[1]: unknown capability \"CAP_BOGUS\"");
        expect_problem("{\"capabilities\":[\"CAP_CHOWN\",\"CAP_CHOWN\"]}",
                       "capabilities[1]: duplicate capability \"CAP_CHOWN\"");
        expect_problem("{\"capabilities\":[\"cap_chown\"]}",
                       "capabilities[0]: unknown capability \"cap_chown\"");
        expect_problem("{\"capabilities\":[\"CAP_12\"]}",
                       "capabilities[0]: unknown capability \"CAP_12\"");
        expect_problem("{\"capabilities\":\"CAP_CHOWN\"}",
                       "capabilities: expected an array of capability names");
        expect_problem("{\"capabilities\":[],\"keep\":1}", "keep: unknown key");
}

static void test_mounts_file(void **state)
{
        (void)state;
        expect_problem("{\"maskedPaths\":[\"proc/kcore\"]}",
                       "maskedPaths[0]: \"proc/kcore\" is not a normalised absolute path");
        expect_problem("{\"maskedPaths\":[\"/proc/../etc\"]}",
                       "maskedPaths[0]: \"/proc/../etc\" is not a normalised absolute path");
        expect_problem("{\"maskedPaths\":[\"/proc//kcore\"]}",
                       "maskedPaths[0]: \"/proc//kcore\" is not a normalised absolute path");
        expect_problem("{\"readonlyPaths\":[\"/proc/sys/\"]}",
                       "readonlyPaths[0]: \"/proc/sys/\" is not a normalised absolute path");
        expect_problem("{\"maskedPaths\":[\"/etc/shadow\"]}",
                       "maskedPaths[0]: \"/etc/shadow\" is outside /proc and /sys");
        expect_problem("{\"maskedPaths\":[\"/proc/keys\",\"/proc/keys\"]}",
                       "maskedPaths[1]: duplicate path \"/proc/keys\"");
        expect_problem("{\"maskedPaths\":[\"/proc/keys\"],\"readonlyPaths\":[\"/proc/keys\"]}",
                       "readonlyPaths[0]: \"/proc/keys\" is also in maskedPaths");
        expect_problem("{\"maskedPaths\":[1]}", "maskedPaths[0]: expected a string");
}

static void test_shipped_data_files(void **state)
{
        static const char *const files[] = {
                "policy/caps.json", "policy/mounts.json", "policy/profiles/default.json",
                "policy/profiles/strict.json", "policy/profiles/browser.json"};

        (void)state;
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                struct pol_diag d = {0};
                struct aio_err err = {0};
                int r = pol_check_file(files[i], NULL, &d, &err);

                if (r < 0)
                        fail_msg("%s: %s", files[i], err.msg);
                assert_int_equal(d.n, 0);
        }
}

static void test_default_caps_match_caps_json(void **state)
{
        json_t *root = json_load_file("policy/caps.json", JSON_REJECT_DUPLICATES, NULL);
        struct pol_diag d = {0};
        char name[64];

        (void)state;
        assert_non_null(root);
        assert_int_equal(pol_caps_from_json(json_object_get(root, "capabilities"), "caps", &d),
                         aio_caps_default());
        assert_int_equal(d.n, 0);
        json_decref(root);
        /* name <-> number round trip over every capability libcap knows */
        for (int cap = 0; cap < 64 && aio_cap_name(cap, name, sizeof(name)); cap++)
                assert_int_equal(aio_cap_from_name(name, true), cap);
        assert_string_equal(aio_cap_name(21, name, sizeof(name)), "CAP_SYS_ADMIN");
        assert_int_equal(aio_cap_from_name("CAP_SYS_CHROOT", true), 18);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_caps_file),
                cmocka_unit_test(test_mounts_file),
                cmocka_unit_test(test_shipped_data_files),
                cmocka_unit_test(test_default_caps_match_caps_json),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
