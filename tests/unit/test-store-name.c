/* rt_store name and symlink target checks (store-name.c): tables of safe and hostile names. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "store-internal.h"
#include "store.h"
#include "tests/unit/unit.h"

static void test_check_name(void **state)
{
        static const char *const good[] = {
                "a",           "a/b/c",
                "./a",         "././a",
                "./",          ".",
                "a/",          "a//b",
                "a/./b",       "...",
                "..a",         "a..",
                ".hidden",     "usr/lib/x86_64-linux-gnu/libc.so.6",
                "caf\xc3\xa9", "bad\xff",
        };
        static const char *const bad[] = {
                "",       "/",         "/etc/passwd",    "..",  "../x",    "./../x", "a/..",
                "a/../b", "a/../../x", "a/b/../../../x", "//x", "x/..//y",
        };
        struct aio_err err;
        char longname[PATH_MAX + 1], longcomp[NAME_MAX + 3];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                aio_err_clear(&err);
                if (rt_store_check_name(good[i], &err) != 0)
                        fail_msg("'%s' refused: %s", good[i], err.msg);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (rt_store_check_name(bad[i], &err) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(rt_store_check_name(NULL, &err), -EINVAL);
        assert_int_equal(rt_store_check_name("../../etc/passwd", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "escapes the root"));
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        for (size_t i = 100; i < sizeof(longname) - 1; i += 100)
                longname[i] = '/';
        assert_int_equal(rt_store_check_name(longname, &err), -EINVAL);
        memset(longcomp, 'b', sizeof(longcomp) - 1);
        longcomp[sizeof(longcomp) - 1] = '\0';
        assert_int_equal(rt_store_check_name(longcomp, &err), -EINVAL);
        longcomp[NAME_MAX] = '\0';
        assert_int_equal(rt_store_check_name(longcomp, &err), 0);
}

static void test_check_link(void **state)
{
        static const char *const good[][2] = {
                {"a", "b"},
                {"a", "./b"},
                {"a/b", "../c"},
                {"a/b/c", "../../d"},
                {"./a/b", "../x"},
                {"a/b", "../c/../d"},
                {"usr/lib/libfoo.so", "libfoo.so.1"},
                {"bin", "usr/bin"},
                {"etc/mtab", "/proc/self/mounts"}, /* absolute: resolved against the jail root */
                {"lib64/ld.so", "/lib/x86_64-linux-gnu/ld.so"},
                {"a/b", "/"},
                {"x", "."},
                {"a/b", "./../c/./d/"},
        };
        static const char *const bad[][2] = {
                {"evil", "../../../"},
                {"a", ".."},
                {"a/b", "../.."},
                {"a/b", "../../etc"},
                {"./a/b", "../../x"},
                {"a/b", "../x/../../y"}, /* climbs above the root on the way */
                {"a", "/.."},
                {"a", "/../etc"},
                {"a", ""},
                {"../a", "b"}, /* the entry name itself */
                {"/a", "b"},
                {"a/./b/", "../../c"},
        };
        struct aio_err err;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                aio_err_clear(&err);
                if (rt_store_check_link(good[i][0], good[i][1], &err) != 0)
                        fail_msg("%s -> %s refused: %s", good[i][0], good[i][1], err.msg);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (rt_store_check_link(bad[i][0], bad[i][1], &err) != -EINVAL)
                        fail_msg("%s -> %s accepted", bad[i][0], bad[i][1]);
        assert_int_equal(rt_store_check_link("a", NULL, &err), -EINVAL);
        assert_int_equal(rt_store_check_link("evil", "../../../", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'../../../' escapes the root"));
}

static void test_name_is_root(void **state)
{
        static const char *const root[] = {"", ".", "./", "././", "//", ".//./"};
        static const char *const not_root[] = {".hidden", "a", "./a", "..", "./..", "a/."};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(root); i++)
                if (!rt_store_name_is_root(root[i]))
                        fail_msg("'%s' is the root", root[i]);
        for (size_t i = 0; i < ELEMENTSOF(not_root); i++)
                if (rt_store_name_is_root(not_root[i]))
                        fail_msg("'%s' is not the root", not_root[i]);
}

/* Error messages quote names: control bytes escaped (no terminal escapes reach the user), long
 * names cut, and never more than the buffer. */
static void test_quote(void **state)
{
        char buf[STORE_QUOTE_MAX], small[16], longname[400];

        (void)state;
        assert_string_equal(rt_store_quote("usr/bin/env", buf, sizeof(buf)), "usr/bin/env");
        assert_string_equal(rt_store_quote("x\n\033[2J\x7f", buf, sizeof(buf)),
                            "x\\x0a\\x1b[2J\\x7f");
        assert_string_equal(rt_store_quote("caf\xc3\xa9", buf, sizeof(buf)), "caf\xc3\xa9");
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        rt_store_quote(longname, buf, sizeof(buf));
        assert_true(strlen(buf) < sizeof(buf));
        assert_string_equal(buf + strlen(buf) - 3, "...");
        rt_store_quote("\x01\x02\x03\x04\x05\x06", small, sizeof(small));
        assert_true(strlen(small) < sizeof(small));
        assert_non_null(strstr(small, "..."));
}

static void test_normalize(void **state)
{
        static const char *const cases[][2] = {
                {"a/b", "a/b"},     {"./a//b/", "a/b"},     {"./", ""},   {".", ""},
                {"a/./b/.", "a/b"}, {".hidden", ".hidden"}, {"//x", "x"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cleanup_free char *n = rt_store_name_normalize(cases[i][0]);

                if (strcmp(n, cases[i][1]) != 0)
                        fail_msg("'%s' -> '%s', not '%s'", cases[i][0], n, cases[i][1]);
        }
}

/* Whiteouts: .wh.NAME deletes NAME in its directory, .wh..wh..opq makes the directory opaque,
 * other .wh..wh. names are aufs bookkeeping; a whiteout of nothing, "." or ".." is refused. */
static void test_whiteout(void **state)
{
        static const struct {
                const char *name;
                int kind;
                const char *parent, *target;
        } cases[] = {
                {"etc/passwd", RT_STORE_WH_NONE, NULL, NULL},
                {"etc/x.wh.y", RT_STORE_WH_NONE, NULL, NULL},
                {".wh.etc/passwd", RT_STORE_WH_NONE, NULL, NULL}, /* a directory named .wh.etc */
                {"etc/.wh.passwd", RT_STORE_WH_FILE, "etc", "passwd"},
                {"./etc//.wh.passwd", RT_STORE_WH_FILE, "etc", "passwd"},
                {".wh.top", RT_STORE_WH_FILE, ".", "top"},
                {"a/b/.wh..hidden", RT_STORE_WH_FILE, "a/b", ".hidden"},
                {"a/.wh...x", RT_STORE_WH_FILE, "a", "..x"},
                {"usr/.wh..wh..opq", RT_STORE_WH_OPAQUE, "usr", NULL},
                {"./.wh..wh..opq", RT_STORE_WH_OPAQUE, ".", NULL},
                {"usr/.wh..wh.plnk", RT_STORE_WH_META, NULL, NULL},
                {".wh..wh.aufs", RT_STORE_WH_META, NULL, NULL},
                {"etc/.wh..", -EINVAL, NULL, NULL},
                {"etc/.wh...", -EINVAL, NULL, NULL},
                {"etc/.wh.", -EINVAL, NULL, NULL},
                {".wh..", -EINVAL, NULL, NULL},
        };
        struct aio_err err = {0};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cleanup_free char *parent = NULL, *target = NULL;
                int r = rt_store_whiteout(cases[i].name, &parent, &target, &err);

                if (r != cases[i].kind)
                        fail_msg("'%s': %d, not %d", cases[i].name, r, cases[i].kind);
                if (cases[i].parent && strcmp(parent, cases[i].parent) != 0)
                        fail_msg("'%s': parent '%s'", cases[i].name, parent);
                if (cases[i].target && strcmp(target, cases[i].target) != 0)
                        fail_msg("'%s': target '%s'", cases[i].name, target);
                if (r == RT_STORE_WH_OPAQUE)
                        assert_null(target);
        }
        assert_int_equal(rt_store_whiteout("etc/.wh...", NULL, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'..'"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check_name),   cmocka_unit_test(test_check_link),
                cmocka_unit_test(test_name_is_root), cmocka_unit_test(test_quote),
                cmocka_unit_test(test_normalize),    cmocka_unit_test(test_whiteout),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
