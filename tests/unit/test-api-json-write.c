/* api/json-write.c: byte for byte what jansson's json_dumps(JSON_COMPACT) writes, on hostile
 * strings at every offset against the word boundaries, and refusal of what is not UTF-8. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

#include "api/json-write.h"
#include "tests/unit/unit.h"

/* Ours against jansson's for j (stolen). */
static void same_as_jansson(json_t *j)
{
        cleanup_free char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        cleanup_free char *got = NULL;
        size_t len = 0;
        int r = 0;

        assert_non_null(want);
        got = api_json_dump(j, &len, &r);
        assert_non_null(got);
        assert_int_equal(r, 0);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        json_decref(j);
}

/* s (n bytes, valid UTF-8) as a string, with 0..17 bytes of padding before and after, so every
 * special byte lands at every position of a word and in the byte-at-a-time tail. */
static void string_same(const char *s, size_t n)
{
        char *buf = malloc(n + 40);

        assert_non_null(buf);
        for (size_t pre = 0; pre < 18; pre++)
                for (size_t post = 0; post < 18; post += 5) {
                        memset(buf, 'a', pre);
                        memcpy(buf + pre, s, n);
                        memset(buf + pre + n, 'z', post);
                        same_as_jansson(json_stringn(buf, pre + n + post));
                }
        free(buf);
}

static void test_control_characters(void **state)
{
        char all[32];

        (void)state;
        for (int c = 0; c < 32; c++) {
                char one = (char)c;

                all[c] = (char)c;
                string_same(&one, 1);
        }
        string_same(all, sizeof(all));
        string_same("\x7f", 1); /* DEL: jansson leaves it */
}

static void test_quotes_backslashes(void **state)
{
        (void)state;
        string_same("\"", 1);
        string_same("\\", 1);
        string_same("\\\"\\\\\"\"/", 7);
        string_same("</script>", 9);
        string_same("a\"b\\c\nd\te\rf\bg\fh", 16);
}

static void test_multibyte(void **state)
{
        static const char *const cases[] = {
                "\xc2\xa0",                 /* U+00A0, 2 bytes */
                "\xdf\xbf",                 /* U+07FF */
                "\xe0\xa0\x80",             /* U+0800, 3 bytes */
                "\xe2\x80\xa8\xe2\x80\xa9", /* U+2028, U+2029: jansson writes them raw */
                "\xef\xbf\xbd",             /* U+FFFD */
                "\xef\xbb\xbf",             /* BOM */
                "\xf0\x9f\x98\x80",         /* U+1F600, 4 bytes */
                "\xf4\x8f\xbf\xbf",         /* U+10FFFF */
                "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n\"\xf0\x90\x80\x80\\",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                string_same(cases[i], strlen(cases[i]));
}

static void test_nul_escaped(void **state)
{
        (void)state;
        string_same("a\0b", 3);
        string_same("\0\0\0\0\0\0\0\0\0", 9);
}

/* Every byte value in a long string: the word path and the table agree with jansson. */
static void test_long_text(void **state)
{
        char buf[4096];
        unsigned x = 1;

        (void)state;
        for (size_t i = 0; i < sizeof(buf); i++) {
                x = x * 1103515245u + 12345u;
                buf[i] = (char)(0x20 + (x >> 16) % 0x60); /* printable and DEL */
                if (i % 97 == 0)
                        buf[i] = "\n\"\\\t\x01"[(x >> 8) % 5];
        }
        same_as_jansson(json_stringn(buf, sizeof(buf)));
        memset(buf, 'x', sizeof(buf));
        same_as_jansson(json_stringn(buf, sizeof(buf)));
        same_as_jansson(json_stringn(buf, 0));
}

static void not_utf8(const char *s, size_t n)
{
        struct api_jbuf b;
        char buf[64];

        for (size_t pre = 0; pre < 18; pre++) {
                memset(buf, 'a', pre);
                memcpy(buf + pre, s, n);
                api_jbuf_init(&b, 0);
                assert_int_equal(api_json_put_string(&b, buf, pre + n), -EILSEQ);
                api_jbuf_free(&b);
                /* and jansson agrees it is not a string */
                assert_null(json_stringn(buf, pre + n));
        }
}

static void test_invalid_utf8_refused(void **state)
{
        (void)state;
        not_utf8("\x80", 1); /* lone continuation */
        not_utf8("\xbf", 1);
        not_utf8("\xc0\xaf", 2);         /* overlong '/' */
        not_utf8("\xc1\xbf", 2);         /* overlong */
        not_utf8("\xe0\x80\xaf", 3);     /* overlong, 3 bytes */
        not_utf8("\xf0\x80\x80\xaf", 4); /* overlong, 4 bytes */
        not_utf8("\xed\xa0\x80", 3);     /* U+D800, a surrogate */
        not_utf8("\xed\xbf\xbf", 3);     /* U+DFFF */
        not_utf8("\xf4\x90\x80\x80", 4); /* U+110000 */
        not_utf8("\xf5\x80\x80\x80", 4);
        not_utf8("\xff", 1);
        not_utf8("\xfe", 1);
        not_utf8("\xc3", 1); /* cut short at the end */
        not_utf8("\xe2\x82", 2);
        not_utf8("\xf0\x9f\x98", 3);
        not_utf8("\xc3(", 2); /* bad continuation */
        not_utf8("\xe2(\xa1", 3);
        not_utf8("\xf0\x9f\x98(", 4);
}

static void test_values(void **state)
{
        (void)state;
        same_as_jansson(json_pack("{s:b, s:b, s:n, s:I, s:I, s:I, s:i, s:[], s:{}}", "t", 1, "f", 0,
                                  "n", "max", (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN,
                                  "zero", (json_int_t)0, "neg", -42, "a", "o"));
        same_as_jansson(json_pack("{s:f, s:f, s:f, s:f}", "half", 0.5, "tenth", 0.1, "int", 3.0,
                                  "big", 1e300));
        same_as_jansson(json_pack("[s, [i, [s, {s:[]}]], {}]", "x", 1, "\"y\"", "k\n", NULL));
        same_as_jansson(json_pack("{s:s, s:s, s:s}", "z", "last", "a", "first", "\xc3\xa9\n",
                                  "key with escapes"));
        same_as_jansson(json_null());
        same_as_jansson(json_string(""));
}

static void test_key_with_nul(void **state)
{
        json_t *o = json_object();

        (void)state;
        assert_int_equal(json_object_setn_new(o, "a\0b", 3, json_true()), 0);
        same_as_jansson(o);
}

/* What jansson refuses, we refuse: a NaN, a nocheck string or key that is not UTF-8. */
static void test_unwritable(void **state)
{
        json_t *bad = json_stringn_nocheck("ok\xff", 3);
        json_t *o = json_object();
        size_t len;
        int r = 0;

        (void)state;
        assert_null(json_dumps(bad, JSON_ENCODE_ANY));
        assert_null(api_json_dump(bad, &len, &r));
        assert_int_equal(r, -EILSEQ);
        json_decref(bad);
        assert_int_equal(json_object_set_new_nocheck(o, "\xc0\x80", json_true()), 0);
        assert_null(api_json_dump(o, &len, &r));
        assert_int_equal(r, -EILSEQ);
        json_decref(o);
}

static void test_deep_nesting_refused(void **state)
{
        json_t *top = json_array(), *cur = top;
        size_t len;
        int r = 0;

        (void)state;
        for (int i = 0; i < API_JSON_DEPTH_MAX + 10; i++) {
                json_t *next = json_array();

                (void)json_array_append_new(cur, next);
                cur = next;
        }
        assert_null(api_json_dump(top, &len, &r));
        assert_int_equal(r, -EINVAL);
        json_decref(top);
}

/* A buffer that starts too small grows: every escape makes its own room. */
static void test_growth(void **state)
{
        struct api_jbuf b;
        cleanup_free char *want = NULL, *got = NULL;
        char buf[3000];
        size_t len;
        json_t *j;

        (void)state;
        memset(buf, '\x01', sizeof(buf)); /* each becomes 6 bytes */
        j = json_stringn(buf, sizeof(buf));
        want = json_dumps(j, JSON_ENCODE_ANY);
        api_jbuf_init(&b, 1);
        assert_int_equal(api_json_put(&b, j), 0);
        got = api_jbuf_take(&b, &len);
        assert_int_equal(len, 6 * sizeof(buf) + 2);
        assert_string_equal(got, want);
        json_decref(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_quotes_backslashes),
                cmocka_unit_test(test_multibyte),
                cmocka_unit_test(test_nul_escaped),
                cmocka_unit_test(test_long_text),
                cmocka_unit_test(test_invalid_utf8_refused),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_key_with_nul),
                cmocka_unit_test(test_unwritable),
                cmocka_unit_test(test_deep_nesting_refused),
                cmocka_unit_test(test_growth),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
