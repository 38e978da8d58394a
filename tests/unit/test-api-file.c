/* api/file*.c, the pure pieces: path normalisation, line ranges, string replacement, Range
 * headers, UTF-8 and base64, glob matching, multipart bodies, size strings, the undo history. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/file-internal.h"
#include "api/file.h"
#include "tests/unit/unit.h"

static void path_is(const char *in, const char *home, const char *want)
{
        struct aio_err err = {0};
        char *out = NULL;

        assert_int_equal(api_path_normalize(in, strlen(in), home, &out, &err), 0);
        assert_string_equal(out, want);
        free(out);
}

static void test_path_normalize(void **state)
{
        struct aio_err err = {0};
        char *out = NULL, big[PATH_MAX + 8];

        (void)state;
        path_is("/tmp/x.txt", "/home/gem", "/tmp/x.txt");
        path_is("x.txt", "/home/gem", "/home/gem/x.txt");
        path_is("~", "/home/gem", "/home/gem");
        path_is("~/a//b/./c/", "/home/gem", "/home/gem/a/b/c");
        path_is("~user", "/home/gem", "/home/gem/~user");
        path_is("../../../../etc", "/home/gem", "/etc");
        path_is("/..", "/h", "/");
        path_is("/a/b/../../..", "/h", "/");
        path_is("//", "/h", "/");
        path_is(".", "/home/gem", "/home/gem");
        path_is("a/..", "/", "/");
        assert_int_equal(api_path_normalize("", 0, "/h", &out, &err), -EINVAL);
        assert_int_equal(api_path_normalize("/a\0b", 4, "/h", &out, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "NUL"));
        memset(big, 'a', sizeof(big) - 1);
        big[0] = '/';
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(api_path_normalize(big, strlen(big), "/h", &out, &err), -ENAMETOOLONG);
        assert_null(out);
}

static void slice_is(const char *text, bool hs, long long s, bool he, long long e, const char *want)
{
        size_t n;
        char *out = api_lines_slice(text, strlen(text), hs, s, he, e, &n);

        assert_int_equal(n, strlen(want));
        assert_string_equal(out, want);
        free(out);
}

static void test_lines_slice(void **state)
{
        (void)state;
        slice_is("a\nb\nc\n", true, 0, true, 2, "a\nb");
        slice_is("a\nb\nc\n", true, 1, false, 0, "b\nc");
        slice_is("a\nb\nc", false, 0, true, 1, "a");
        slice_is("a\nb\nc", true, -1, false, 0, "c");
        slice_is("a\nb\nc", true, -10, true, -1, "a\nb");
        slice_is("a\nb\nc", true, 5, true, 9, "");
        slice_is("a\nb\nc", true, 2, true, 1, "");
        slice_is("a\r\nb\rc\n\nd", true, 0, false, 0, "a\nb\nc\n\nd");
        slice_is("x\xe2\x80\xa8y", true, 1, false, 0, "y"); /* U+2028 breaks a line too */
        slice_is("", true, 0, false, 0, "");
}

static int rep(const char *text, const char *old, const char *new, enum api_replace_mode mode,
               char **out, size_t *n, struct aio_err *err)
{
        struct api_replace rq = {text, old, new, strlen(text), strlen(old), strlen(new), mode};

        return api_str_replace(&rq, out, n, err);
}

static void test_str_replace(void **state)
{
        struct aio_err err = {0};
        char *out = NULL;
        size_t n;

        (void)state;
        assert_int_equal(api_str_count("aaaa", 4, "aa", 2), 2);
        assert_int_equal(api_str_count("abc", 3, "d", 1), 0);
        assert_int_equal(rep("x a y", "a", "bb", API_REPLACE_UNIQUE, &out, &n, &err), 1);
        assert_string_equal(out, "x bb y");
        free(out);
        assert_int_equal(rep("a a a", "a", "b", API_REPLACE_UNIQUE, &out, &n, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "Multiple occurrences"));
        assert_int_equal(rep("abc", "z", "b", API_REPLACE_ALL, &out, &n, &err), -ENOENT);
        assert_int_equal(rep("a a a", "a", "xy", API_REPLACE_ALL, &out, &n, &err), 3);
        assert_string_equal(out, "xy xy xy");
        assert_int_equal(n, 8);
        free(out);
        assert_int_equal(rep("a a a", "a", "", API_REPLACE_FIRST, &out, &n, &err), 1);
        assert_string_equal(out, " a a");
        free(out);
        assert_int_equal(rep("a a a", "a", "Z", API_REPLACE_LAST, &out, &n, &err), 1);
        assert_string_equal(out, "a a Z");
        free(out);
}

static void test_range_parse(void **state)
{
        uint64_t off = 0, len = 0;

        (void)state;
        assert_int_equal(api_range_parse(NULL, 100, &off, &len), 0);
        assert_int_equal(api_range_parse("bytes=0-9", 100, &off, &len), 1);
        assert_true(off == 0 && len == 10);
        assert_int_equal(api_range_parse("bytes=90-", 100, &off, &len), 1);
        assert_true(off == 90 && len == 10);
        assert_int_equal(api_range_parse("bytes=-5", 100, &off, &len), 1);
        assert_true(off == 95 && len == 5);
        assert_int_equal(api_range_parse("bytes=-500", 100, &off, &len), 1);
        assert_true(off == 0 && len == 100);
        assert_int_equal(api_range_parse("bytes=50-5000", 100, &off, &len), 1);
        assert_true(off == 50 && len == 50);
        assert_int_equal(api_range_parse("bytes=100-", 100, &off, &len), -ERANGE);
        assert_int_equal(api_range_parse("bytes=-0", 100, &off, &len), -ERANGE);
        assert_int_equal(api_range_parse("bytes=0-0", 0, &off, &len), -ERANGE);
        /* malformed or several ranges: the whole file */
        assert_int_equal(api_range_parse("bytes=5-1", 100, &off, &len), 0);
        assert_int_equal(api_range_parse("bytes=0-1,5-6", 100, &off, &len), 0);
        assert_int_equal(api_range_parse("items=0-1", 100, &off, &len), 0);
        assert_int_equal(api_range_parse("bytes=x-1", 100, &off, &len), 0);
        assert_int_equal(api_range_parse("bytes=99999999999999999999999-", 100, &off, &len), 0);
}

/* api_utf8_valid looks at 16 and 8 bytes at a time: what it refuses, it refuses at every offset
 * of those words and in the tail. */
static void utf8_at_every_offset(void)
{
        static const struct {
                const char *s;
                size_t n;
                bool ok;
        } cases[] = {
                {"\0", 1, false},        {"\xff", 1, false},         {"\x80", 1, false},
                {"\xc0\xaf", 2, false},  {"\xed\xa0\x80", 3, false}, {"\xe2\x82", 2, false},
                {"\xc3\xa9", 2, true},   {"\xe2\x80\xa8", 3, true},  {"\xf0\x9f\x98\x80", 4, true},
                {"\x7f\x01\n", 3, true},
        };
        char buf[80];

        for (size_t c = 0; c < ELEMENTSOF(cases); c++)
                for (size_t pre = 0; pre < 34; pre++)
                        for (size_t post = 0; post < 34; post += 11) {
                                memset(buf, 'a', sizeof(buf));
                                memcpy(buf + pre, cases[c].s, cases[c].n);
                                assert_int_equal(api_utf8_valid(buf, pre + cases[c].n + post),
                                                 cases[c].ok);
                        }
}

static void test_utf8_and_json(void **state)
{
        json_t *j;

        (void)state;
        assert_true(api_utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
        assert_false(api_utf8_valid("\xff", 1));
        assert_false(api_utf8_valid("\xc0\xaf", 2));         /* overlong */
        assert_false(api_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
        assert_false(api_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
        assert_false(api_utf8_valid("a\0b", 3));
        assert_false(api_utf8_valid("\xe2\x82", 2)); /* cut short */
        utf8_at_every_offset();
        j = api_json_text("a\xff"
                          "b\0c",
                          5);
        assert_string_equal(json_string_value(j), "a\xef\xbf\xbd"
                                                  "b\xef\xbf\xbd"
                                                  "c");
        json_decref(j);
}

static void test_base64(void **state)
{
        static const char *const rows[][2] = {
                {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
        };
        char *out = NULL;
        size_t n;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                out = api_base64_encode(rows[i][0], strlen(rows[i][0]), &n);
                assert_string_equal(out, rows[i][1]);
                free(out);
                assert_int_equal(api_base64_decode(rows[i][1], strlen(rows[i][1]), &out, &n), 0);
                assert_int_equal(n, strlen(rows[i][0]));
                assert_memory_equal(out, rows[i][0], n);
                free(out);
        }
        assert_int_equal(api_base64_decode("Zm9v\nYg", 7, &out, &n), 0); /* no padding, a newline */
        assert_string_equal(out, "foob");
        free(out);
        assert_int_equal(api_base64_decode("Zm9v!", 5, &out, &n), -EINVAL);
        assert_int_equal(api_base64_decode("Z", 1, &out, &n), -EINVAL);
        assert_int_equal(api_base64_decode("Zg==Zg==", 8, &out, &n), -EINVAL);
}

static void test_glob_match(void **state)
{
        (void)state;
        assert_true(api_glob_match("*.py", "a.py", false));
        assert_false(api_glob_match("*.py", "d/a.py", false));
        assert_true(api_glob_match("**/*.py", "a.py", false));
        assert_true(api_glob_match("**/*.py", "x/y/z/a.py", false));
        assert_false(api_glob_match("**/*.py", ".x/a.py", false)); /* hidden: glob.glob */
        assert_true(api_glob_match("**/*.py", ".x/a.py", true));   /* pathlib */
        assert_false(api_glob_match("*", ".env", false));
        assert_true(api_glob_match(".*", ".env", false));
        assert_true(api_glob_match("src/**", "src/a/b", false));
        assert_true(api_glob_match("a/**/b/*.c", "a/x/y/b/m.c", false));
        assert_false(api_glob_match("a/**/b/*.c", "a/x/y/c/m.c", false));
        assert_true(api_glob_match("a/?/[bc]", "a/x/c", false));
        /* partial: could a path below this directory still match? */
        assert_true(api_glob_match_partial("src/*/x.c", "src", false, true));
        assert_true(api_glob_match_partial("src/*/x.c", "src/a", false, true));
        assert_false(api_glob_match_partial("src/*/x.c", "lib", false, true));
        assert_true(api_glob_match_partial("**/x.c", "any/where", false, true));
}

static void test_multipart(void **state)
{
        static const char body[] = "--XyZ\r\n"
                                   "Content-Disposition: form-data; name=\"path\"\r\n\r\n"
                                   "/tmp/a b\r\n"
                                   "--XyZ\r\n"
                                   "Content-Disposition: form-data; name=\"file\"; "
                                   "filename=\"f.bin\"\r\n"
                                   "Content-Type: application/octet-stream\r\n\r\n"
                                   "\r\n--Xy\0z\r\n"
                                   "\r\n--XyZ--\r\n";
        struct api_part parts[4];
        struct aio_err err = {0};
        int n;

        (void)state;
        n = api_multipart_parse("multipart/form-data; boundary=XyZ", body, sizeof(body) - 1, parts,
                                4, &err);
        assert_int_equal(n, 2);
        assert_string_equal(parts[0].name, "path");
        assert_null(parts[0].filename);
        assert_int_equal(parts[0].len, 8);
        assert_memory_equal(parts[0].data, "/tmp/a b", 8);
        assert_string_equal(parts[1].name, "file");
        assert_string_equal(parts[1].filename, "f.bin");
        assert_int_equal(parts[1].len, 10);
        assert_memory_equal(parts[1].data, "\r\n--Xy\0z\r\n", 10);
        api_parts_free(parts, (size_t)n);
        assert_int_equal(
                api_multipart_parse("application/json", body, sizeof(body) - 1, parts, 4, &err),
                -EINVAL);
        assert_int_equal(
                api_multipart_parse("multipart/form-data; boundary=XyZ", body, 40, parts, 4, &err),
                -EINVAL); /* truncated */
        assert_int_equal(
                api_multipart_parse("multipart/form-data", body, sizeof(body) - 1, parts, 4, &err),
                -EINVAL);
}

static void test_size_parse(void **state)
{
        (void)state;
        assert_int_equal(api_size_parse("1M"), 1 << 20);
        assert_int_equal(api_size_parse("500K"), 500 * 1024);
        assert_int_equal(api_size_parse("1.5k"), 1536);
        assert_int_equal(api_size_parse("4096"), 4096);
        assert_int_equal(api_size_parse("2G"), 2LL << 30);
        assert_int_equal(api_size_parse("big"), -1);
        assert_int_equal(api_size_parse("1MB"), -1);
        assert_int_equal(api_size_parse("-1"), -1);
}

static void test_history(void **state)
{
        struct api_edit_history *h = api_history_new();
        char *s = NULL;
        size_t n;
        bool existed;

        (void)state;
        assert_int_equal(api_history_pop(h, "/a", &s, &n, &existed), 0);
        api_history_push(h, "/a", NULL, 0);
        api_history_push(h, "/a", "one", 3);
        api_history_push(h, "/b", "bee", 3);
        assert_int_equal(api_history_pop(h, "/a", &s, &n, &existed), 1);
        assert_true(existed);
        assert_string_equal(s, "one");
        free(s);
        assert_int_equal(api_history_pop(h, "/a", &s, &n, &existed), 1);
        assert_false(existed);
        assert_null(s);
        assert_int_equal(api_history_pop(h, "/a", &s, &n, &existed), 0);
        /* bounded per file: the oldest states go */
        for (int i = 0; i < 50; i++) {
                char buf[8];

                (void)snprintf(buf, sizeof(buf), "%d", i);
                api_history_push(h, "/c", buf, strlen(buf));
        }
        for (int i = 49; i >= 40; i--) {
                assert_int_equal(api_history_pop(h, "/c", &s, &n, &existed), 1);
                assert_int_equal(atoi(s), i);
                free(s);
        }
        assert_int_equal(api_history_pop(h, "/c", &s, &n, &existed), 0);
        assert_int_equal(api_history_pop(h, "/b", &s, &n, &existed), 1);
        free(s);
        api_history_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_normalize), cmocka_unit_test(test_lines_slice),
                cmocka_unit_test(test_str_replace),    cmocka_unit_test(test_range_parse),
                cmocka_unit_test(test_utf8_and_json),  cmocka_unit_test(test_base64),
                cmocka_unit_test(test_glob_match),     cmocka_unit_test(test_multipart),
                cmocka_unit_test(test_size_parse),     cmocka_unit_test(test_history),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
