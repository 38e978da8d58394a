/* api/shell-text.c: completion markers in a terminal stream (split anywhere, forged, oversized),
 * terminal output as text, upstream's truncation, control-key names and the capped output
 * store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/utf8.h"

#include "api/shell-internal.h"
#include "tests/unit/unit.h"

#define NONCE "0123456789abcdef"
#define MARK  "\033]777;aio;" NONCE ";"

struct seen {
        struct api_shell_buf data;
        char markers[16][128];
        size_t n_markers;
};

static void on_data(void *cls, const char *p, size_t n)
{
        struct seen *s = cls;

        assert_true(n > 0);
        api_shell_buf_put(&s->data, p, n);
}

static void on_marker(void *cls, const struct api_shell_marker *m)
{
        struct seen *s = cls;

        assert_true(s->n_markers < 16);
        (void)snprintf(s->markers[s->n_markers++], 128, "%c:%d:%s", m->kind, m->code,
                       m->pwd ? m->pwd : "-");
}

/* Feeds in in pieces of step bytes. */
static void feed(struct seen *s, const char *in, size_t len, size_t step)
{
        struct api_shell_parser p;

        memset(s, 0, sizeof(*s));
        api_shell_parser_init(&p, NONCE);
        for (size_t i = 0; i < len; i += step)
                api_shell_parser_feed(&p, in + i, len - i < step ? len - i : step, on_data,
                                      on_marker, s);
}

static void test_markers_any_split(void **state)
{
        static const char in[] = "before\033[1mbold\033[0m" MARK "S\a"
                                 "out 1\r\n" MARK "E;127;/home/gem dir\a"
                                 "prompt$ ";

        (void)state;
        for (size_t step = 1; step <= sizeof(in); step++) {
                struct seen s;

                feed(&s, in, sizeof(in) - 1, step);
                assert_int_equal(s.n_markers, 2);
                assert_string_equal(s.markers[0], "S:0:-");
                assert_string_equal(s.markers[1], "E:127:/home/gem dir");
                assert_string_equal(s.data.p, "before\033[1mbold\033[0mout 1\r\nprompt$ ");
                api_shell_buf_free(&s.data);
        }
}

static void test_markers_forged(void **state)
{
        /* another nonce, a nonce cut short, a bad body, an ESC inside, a missing BEL */
        static const char *const fakes[] = {
                "\033]777;aio;fedcba9876543210;E;0;/x\a",
                "\033]777;aio;0123456789abcde;E;0;/x\a",
                MARK "E;zero;/x\a",
                MARK "X\a",
                MARK "E;0;/x\033[0m",
                MARK "E;",
                "\033]777;aio;",
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(fakes); i++) {
                struct seen s;
                struct api_shell_parser p;

                memset(&s, 0, sizeof(s));
                api_shell_parser_init(&p, NONCE);
                api_shell_parser_feed(&p, fakes[i], strlen(fakes[i]), on_data, on_marker, &s);
                /* then more output (an ESC ends any marker): what was held back comes out,
                 * nothing was taken */
                api_shell_parser_feed(&p, "\033[0mz", 5, on_data, on_marker, &s);
                assert_int_equal(s.n_markers, 0);
                assert_int_equal(s.data.len, strlen(fakes[i]) + 5);
                assert_memory_equal(s.data.p, fakes[i], strlen(fakes[i]));
                assert_memory_equal(s.data.p + strlen(fakes[i]), "\033[0mz", 5);
                api_shell_buf_free(&s.data);
        }
}

static void test_markers_oversized(void **state)
{
        struct api_shell_buf in = {0};
        struct seen s;

        (void)state;
        api_shell_buf_put(&in, MARK "E;0;/", strlen(MARK "E;0;/"));
        for (int i = 0; i < API_SHELL_MARKER_MAX + 10; i++)
                api_shell_buf_put(&in, "a", 1);
        api_shell_buf_put(&in, "\a" MARK "S\a", strlen("\a" MARK "S\a"));
        feed(&s, in.p, in.len, 777);
        /* the giant one is output; the marker after it still counts */
        assert_int_equal(s.n_markers, 1);
        assert_string_equal(s.markers[0], "S:0:-");
        assert_int_equal(s.data.len, in.len - strlen(MARK "S\a"));
        api_shell_buf_free(&s.data);
        api_shell_buf_free(&in);
}

static void test_marker_parse(void **state)
{
        char b1[] = "E;-1;/a;b", b2[] = "R;0;", b3[] = "E;1", b4[] = "S;", b5[] = "E;12345678901;/";
        struct api_shell_marker m;

        (void)state;
        assert_int_equal(api_shell_marker_parse(b1, &m), 0);
        assert_int_equal(m.code, -1);
        assert_string_equal(m.pwd, "/a;b");
        assert_int_equal(api_shell_marker_parse(b2, &m), 0);
        assert_string_equal(m.pwd, "");
        assert_true(api_shell_marker_parse(b3, &m) < 0);
        assert_true(api_shell_marker_parse(b4, &m) < 0);
        assert_true(api_shell_marker_parse(b5, &m) < 0);
}

static char *clean(const char *in, size_t n, bool final, size_t *ret_used)
{
        struct api_shell_buf out = {0};
        size_t used = api_shell_clean(in, n, final, &out);

        if (ret_used)
                *ret_used = used;
        return out.p;
}

static void test_clean(void **state)
{
        static const struct {
                const char *in, *out;
        } rows[] = {
                {"hi\r\n", "hi\n"},
                {"\033[01;34mdir\033[0m  file\r\n", "dir  file\n"},
                {"\033]0;title\atext", "text"},
                {"\033]8;;http://x\033\\link\033]8;;\033\\", "link"},
                {"\033(Bplain\033=", "plain"},
                {"10%\r50%\r100%\r\n", "10%50%100%\n"},
                {"abc\b\bX", "aX"},
                {"a\n\bb", "a\nb"},
                {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"},
                {"bad \xff\xc3( \xed\xa0\x80",
                 "bad \xef\xbf\xbd\xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
                {"tab\there\a\x01\x7f", "tab\there"},
                {"\033[?2004h\033[?2004l\r", ""},
                {"\033]777;aio;\r\nnext\n", "\nnext\n"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                cleanup_free char *got = clean(rows[i].in, strlen(rows[i].in), true, NULL);

                if (strcmp(got, rows[i].out) != 0)
                        fail_msg("row %zu: got '%s'", i, got);
        }
}

static void test_clean_streaming(void **state)
{
        /* incomplete tails wait for more unless final */
        static const char *const tails[] = {"ok\033", "ok\033[1;3", "ok\033]0;ti", "ok\r",
                                            "ok\xe2\x82"};
        size_t used;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(tails); i++) {
                cleanup_free char *got = clean(tails[i], strlen(tails[i]), false, &used);
                cleanup_free char *fin = clean(tails[i], strlen(tails[i]), true, NULL);

                assert_string_equal(got, "ok");
                assert_int_equal(used, 2);
                assert_int_equal(strncmp(fin, "ok", 2), 0);
        }
}

static void test_truncate(void **state)
{
        struct api_shell_buf b = {0};
        size_t note = strlen(API_SHELL_TRUNCATED_NOTE);

        (void)state;
        for (int i = 0; i < 40000; i++)
                api_shell_buf_put(&b, i < 20000 ? "\xc3\xa9" : "x", i < 20000 ? 2 : 1);
        api_shell_truncate(&b, API_SHELL_TRUNCATE_CHARS);
        /* 15000 characters, the note, the last 15000 characters: upstream's */
        assert_int_equal(aio_utf8_count(b.p, b.len),
                         30000 + aio_utf8_count(API_SHELL_TRUNCATED_NOTE, note));
        assert_int_equal(b.len, 30000 + 15000 + note);
        assert_memory_equal(b.p + 30000, API_SHELL_TRUNCATED_NOTE, note);
        assert_int_equal(b.p[b.len - 1], 'x');
        api_shell_buf_free(&b);

        api_shell_buf_put(&b, "short", 5);
        api_shell_truncate(&b, API_SHELL_TRUNCATE_CHARS);
        assert_string_equal(b.p, "short");
        api_shell_buf_free(&b);
}

static void test_trim(void **state)
{
        struct api_shell_buf b = {0};

        (void)state;
        api_shell_buf_put(&b, "\n\n  indented\nlast  \n\t\n", 23);
        api_shell_trim(&b);
        assert_string_equal(b.p, "  indented\nlast");
        api_shell_buf_free(&b);
}

static void test_control_keys(void **state)
{
        (void)state;
        assert_int_equal(api_shell_control_key("C-c"), 3);
        assert_int_equal(api_shell_control_key(" C-d\t"), 4);
        assert_int_equal(api_shell_control_key("C-Z"), 26);
        assert_int_equal(api_shell_control_key("c-a"), 1);
        assert_int_equal(api_shell_control_key("C-["), 27);
        assert_int_equal(api_shell_control_key("C-\\"), 28);
        assert_int_equal(api_shell_control_key("C-]"), 29);
        assert_int_equal(api_shell_control_key("C-@"), 0);
        assert_int_equal(api_shell_control_key("C-?"), 127);
        assert_int_equal(api_shell_control_key("C-cc"), -1);
        assert_int_equal(api_shell_control_key("C-"), -1);
        assert_int_equal(api_shell_control_key("C-1"), -1);
        assert_int_equal(api_shell_control_key("ls"), -1);
        assert_int_equal(api_shell_control_key(""), -1);
}

static void test_utf8_complete(void **state)
{
        (void)state;
        assert_int_equal((2 - aio_utf8_cut_tail("ab", 2)), 2);
        assert_int_equal((3 - aio_utf8_cut_tail("a\xe2\x82", 3)), 1);
        assert_int_equal((4 - aio_utf8_cut_tail("a\xe2\x82\xac", 4)), 4);
        assert_int_equal((4 - aio_utf8_cut_tail("a\xf0\x9f\x98", 4)), 1);
        assert_int_equal((2 - aio_utf8_cut_tail("a\xff", 2)), 2); /* invalid: not held back */
}

static void test_capture(void **state)
{
        struct api_shell_capture c;
        struct api_shell_buf head = {0}, tail = {0}, text = {0};
        char chunk[100];

        (void)state;
        api_shell_capture_init(&c, 10, 20);
        api_shell_capture_append(&c, "0123456789", 10);
        api_shell_capture_append(&c, "abc", 3);
        assert_int_equal(api_shell_capture_raw(&c, &head, &tail), 0);
        assert_string_equal(head.p, "0123456789");
        assert_string_equal(tail.p, "abc");
        api_shell_buf_free(&head);
        api_shell_buf_free(&tail);

        /* 100 more bytes through a 20-byte ring, in odd pieces */
        for (int i = 0; i < 100; i++)
                chunk[i] = (char)('A' + i % 26);
        api_shell_capture_append(&c, chunk, 7);
        api_shell_capture_append(&c, chunk + 7, 50);
        api_shell_capture_append(&c, chunk + 57, 43);
        assert_int_equal(c.total, 113);
        assert_int_equal(api_shell_capture_raw(&c, &head, &tail), 113 - 10 - 20);
        assert_memory_equal(tail.p, chunk + 80, 20);
        api_shell_capture_text(&c, true, &text);
        assert_non_null(strstr(text.p, "0123456789" API_SHELL_TRUNCATED_NOTE));
        assert_int_equal(memcmp(text.p + text.len - 20, chunk + 80, 20), 0);

        /* one append larger than the ring */
        api_shell_capture_reset(&c);
        api_shell_capture_append(&c, chunk, 100);
        api_shell_buf_free(&head);
        api_shell_buf_free(&tail);
        assert_int_equal(api_shell_capture_raw(&c, &head, &tail), 70);
        assert_memory_equal(head.p, chunk, 10);
        assert_memory_equal(tail.p, chunk + 80, 20);
        api_shell_buf_free(&head);
        api_shell_buf_free(&tail);
        api_shell_buf_free(&text);
        api_shell_capture_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_markers_any_split),
                cmocka_unit_test(test_markers_forged),
                cmocka_unit_test(test_markers_oversized),
                cmocka_unit_test(test_marker_parse),
                cmocka_unit_test(test_clean),
                cmocka_unit_test(test_clean_streaming),
                cmocka_unit_test(test_truncate),
                cmocka_unit_test(test_trim),
                cmocka_unit_test(test_control_keys),
                cmocka_unit_test(test_utf8_complete),
                cmocka_unit_test(test_capture),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
