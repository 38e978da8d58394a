/* runtime/common/utf8.c: Python's decode(errors="replace") semantics (one U+FFFD per maximal
 * invalid subpart), the NUL-free text check with its eight-byte ASCII path at every alignment,
 * and the cut tail a stream holds back. */
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

#include "tests/unit/unit.h"

#define R AIO_UTF8_REPLACEMENT

static void repair_is(const char *in, size_t n, const char *want)
{
        char *out = malloc(n * 3 + 1);
        size_t len = aio_utf8_repair(in, n, out);

        out[len] = '\0';
        assert_int_equal(len, strlen(want));
        assert_memory_equal(out, want, len);
        assert_true(aio_utf8_text(out, len) || memchr(in, 0, n));
        free(out);
}

static void test_repair_like_python(void **state)
{
        (void)state;
        repair_is("plain", 5, "plain");
        repair_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
                  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
        repair_is("\xff", 1, R);
        repair_is("\xe2\x82x", 3, R "x");          /* one maximal subpart */
        repair_is("\xc0\xaf", 2, R R);             /* overlong */
        repair_is("\xe0\x80\xaf", 3, R R R);       /* overlong, 3 bytes */
        repair_is("\xed\xa0\x80", 3, R R R);       /* surrogate */
        repair_is("\xf4\x90\x80\x80", 4, R R R R); /* past U+10FFFF */
        repair_is("\xf0\x9f\x98", 3, R);           /* cut by the end */
        repair_is("a\xf0\x9f\x98"
                  "b",
                  5, "a" R "b");
}

static void test_text(void **state)
{
        char buf[64];

        (void)state;
        assert_true(aio_utf8_text("", 0));
        assert_false(aio_utf8_text("a\0b", 3));
        assert_false(aio_utf8_text("\xc3", 1));
        /* a NUL or a bad byte at every offset of a long ASCII run: the fast path must see it */
        for (size_t at = 0; at < 40; at++) {
                memset(buf, 'x', sizeof(buf));
                assert_true(aio_utf8_text(buf, 40));
                buf[at] = '\0';
                assert_false(aio_utf8_text(buf, 40));
                buf[at] = (char)0xff;
                assert_false(aio_utf8_text(buf, 40));
                buf[at] = (char)0xc3;
                buf[at + 1] = (char)0xa9;
                assert_true(aio_utf8_text(buf, 41));
        }
}

static void test_cut_tail_and_count(void **state)
{
        size_t len;

        (void)state;
        assert_int_equal(aio_utf8_cut_tail("abc", 3), 0);
        assert_int_equal(aio_utf8_cut_tail("ab\xc3", 3), 1);
        assert_int_equal(aio_utf8_cut_tail("a\xe2\x82", 3), 2);
        assert_int_equal(aio_utf8_cut_tail("\xf0\x9f\x98", 3), 3);
        assert_int_equal(aio_utf8_cut_tail("\xf0\x9f\x98\x80", 4), 0);
        assert_int_equal(aio_utf8_cut_tail("ab\xff", 3), 0); /* invalid, not cut */
        assert_int_equal(aio_utf8_cut_tail("", 0), 0);
        assert_int_equal(aio_utf8_count("h\xc3\xa9\xf0\x9f\x98\x80", 7), 3);
        assert_int_equal(aio_utf8_scan((const unsigned char *)"\0", 1, &len), AIO_UTF8_OK);
        assert_int_equal(len, 1);
        assert_int_equal(aio_utf8_scan((const unsigned char *)"\xe2\x28", 2, &len),
                         AIO_UTF8_INVALID);
        assert_int_equal(len, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_repair_like_python),
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_cut_tail_and_count),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
