/* api/bash-buf.c (stream offsets, head trimming, UTF-8 repair, middle truncation) and the
 * session table of api/bash.c (eviction, history bound), with real short commands. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"

#include "api/bash-buf.h"
#include "api/bash.h"
#include "tests/unit/unit.h"

static void test_stream_offsets(void **state)
{
        struct api_bstream s;
        const char *p;
        size_t n;
        uint64_t start, skipped;

        (void)state;
        api_bstream_init(&s, 16);
        api_bstream_append(&s, "0123456789", 10);
        assert_int_equal(api_bstream_end(&s), 10);
        api_bstream_slice(&s, 3, UINT64_MAX, &p, &n, &start, &skipped);
        assert_int_equal(n, 7);
        assert_memory_equal(p, "3456789", 7);
        assert_int_equal(start, 3);
        assert_int_equal(skipped, 0);
        /* past the end: nothing, at the end */
        api_bstream_slice(&s, 99, UINT64_MAX, &p, &n, &start, &skipped);
        assert_int_equal(n, 0);
        assert_int_equal(start, 10);
        /* over the cap of 16: the head goes, down to 8 bytes, offsets stay absolute */
        api_bstream_append(&s, "abcdefghij", 10);
        assert_int_equal(api_bstream_end(&s), 20);
        assert_int_equal(s.base, 12);
        assert_int_equal(s.len, 8);
        api_bstream_slice(&s, 5, UINT64_MAX, &p, &n, &start, &skipped);
        assert_int_equal(start, 12);
        assert_int_equal(skipped, 7);
        assert_int_equal(n, 8);
        assert_memory_equal(p, "cdefghij", 8);
        /* a bounded range */
        api_bstream_slice(&s, 14, 16, &p, &n, &start, &skipped);
        assert_int_equal(n, 2);
        assert_memory_equal(p, "ef", 2);
        /* a range wholly dropped */
        api_bstream_slice(&s, 0, 10, &p, &n, &start, &skipped);
        assert_int_equal(n, 0);
        assert_int_equal(skipped, 10);
        api_bstream_free(&s);
}

static void test_stream_large(void **state)
{
        struct api_bstream s;
        char chunk[4096];
        uint64_t total = 0;

        (void)state;
        api_bstream_init(&s, 1u << 20);
        for (int i = 0; i < 1000; i++) {
                memset(chunk, 'a' + i % 26, sizeof(chunk));
                api_bstream_append(&s, chunk, sizeof(chunk));
                total += sizeof(chunk);
                assert_true(s.len <= s.max);
        }
        assert_int_equal(api_bstream_end(&s), total);
        assert_true(s.len >= s.max / 2);
        /* the last byte is the last chunk's letter */
        assert_int_equal(s.data[s.len - 1], 'a' + 999 % 26);
        api_bstream_free(&s);
}

static void repair_is(const char *in, size_t n, const char *want)
{
        size_t len;
        cleanup_free char *out = api_utf8_repair(in, n, &len);

        assert_int_equal(len, strlen(want));
        assert_memory_equal(out, want, len);
}

#define FFFD "\xEF\xBF\xBD"

static void test_utf8_repair(void **state)
{
        (void)state;
        repair_is("plain", 5, "plain");
        repair_is("\xC3\xA9t\xC3\xA9", 5, "\xC3\xA9t\xC3\xA9");
        repair_is("a\xFF"
                  "b",
                  3, "a" FFFD "b");
        /* Python: b"\xe2\x82x".decode(errors="replace") == "\ufffdx" (one maximal subpart) */
        repair_is("\xE2\x82x", 3, FFFD "x");
        /* overlong and surrogate leads: every byte on its own */
        repair_is("\xC0\xAF", 2, FFFD FFFD);
        repair_is("\xED\xA0\x80", 3, FFFD FFFD FFFD);
        repair_is("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
        /* cut at the end */
        repair_is("ok\xF0\x9F\x98", 5, "ok" FFFD);
        repair_is("\xF0\x9F\x98\x80", 4, "\xF0\x9F\x98\x80");
        /* NUL kept */
        {
                size_t len;
                cleanup_free char *out = api_utf8_repair("a\0b", 3, &len);

                assert_int_equal(len, 3);
                assert_memory_equal(out, "a\0b", 3);
        }
}

static void test_utf8_partial_tail(void **state)
{
        (void)state;
        assert_int_equal(aio_utf8_cut_tail("abc", 3), 0);
        assert_int_equal(aio_utf8_cut_tail("ab\xC3", 3), 1);
        assert_int_equal(aio_utf8_cut_tail("a\xE2\x82", 3), 2);
        assert_int_equal(aio_utf8_cut_tail("\xF0\x9F\x98", 3), 3);
        assert_int_equal(aio_utf8_cut_tail("\xF0\x9F\x98\x80", 4), 0);
        assert_int_equal(aio_utf8_cut_tail("ab\xFF", 3), 0); /* invalid, not partial */
        assert_int_equal(aio_utf8_cut_tail("", 0), 0);
}

static void test_middle_truncate(void **state)
{
        /* as Python's middle_truncate(text, 140): the marker sized for 60 omitted, then written
         * with the exact count (113), one character longer */
        static const char marker[] = "\n\n... [output truncated: 113 characters omitted] ...\n\n";
        char text[201];
        size_t n, ml = strlen(marker);
        cleanup_free char *same = NULL, *cut = NULL, *tiny = NULL, *uni = NULL;

        (void)state;
        for (int i = 0; i < 200; i++)
                text[i] = (char)('a' + i % 26);
        text[200] = '\0';
        same = api_middle_truncate(text, 200, 200, &n);
        assert_int_equal(n, 200);
        assert_string_equal(same, text);
        cut = api_middle_truncate(text, 200, 140, &n);
        assert_int_equal(n, 43 + ml + 44);
        assert_memory_equal(cut, text, 43);
        assert_memory_equal(cut + 43, marker, ml);
        assert_memory_equal(cut + 43 + ml, text + 200 - 44, 44);
        /* too small for the marker: the first max characters */
        tiny = api_middle_truncate(text, 200, 10, &n);
        assert_int_equal(n, 10);
        assert_memory_equal(tiny, text, 10);
        /* counted in code points, never cutting one */
        uni = api_middle_truncate("\xC3\xA9\xC3\xA9\xC3\xA9", 6, 2, &n);
        assert_int_equal(n, 4);
        assert_memory_equal(uni, "\xC3\xA9\xC3\xA9", 4);
}

static struct api_bash *bash_small(size_t max_sessions, size_t history)
{
        struct api_bash_config c;
        struct api_bash *b;

        api_bash_config_default(&c);
        c.max_sessions = max_sessions;
        c.history_max = history;
        c.default_dir = "/";
        c.kill_grace_ms = 200;
        b = api_bash_new(&c);
        assert_non_null(b);
        return b;
}

static void test_session_eviction(void **state)
{
        struct api_bash *b = bash_small(3, 100);
        struct aio_err err = {0};
        json_t *info, *list;
        char id[16];

        (void)state;
        for (int i = 0; i < 5; i++) {
                (void)snprintf(id, sizeof(id), "s%d", i);
                assert_int_equal(api_bash_session_create(b, id, NULL, NULL, &info, &err), 0);
                assert_string_equal(json_string_value(json_object_get(info, "status")), "ready");
                json_decref(info);
                usleep(2000);
        }
        /* at most 3; the least recently used went first */
        assert_int_equal(api_bash_session_count(b), 3);
        list = api_bash_sessions(b);
        assert_int_equal(json_array_size(list), 3);
        for (size_t i = 0; i < 3; i++) {
                const char *sid =
                        json_string_value(json_object_get(json_array_get(list, i), "session_id"));

                assert_true(strcmp(sid, "s0") != 0 && strcmp(sid, "s1") != 0);
        }
        json_decref(list);
        /* an existing id is returned as it is, not a new one */
        assert_int_equal(api_bash_session_create(b, "s4", "/tmp", NULL, &info, &err), 0);
        assert_string_equal(json_string_value(json_object_get(info, "working_dir")), "/");
        json_decref(info);
        assert_int_equal(api_bash_session_close(b, "s0", &err), -ENOENT);
        assert_string_equal(err.msg, "Session s0 not found");
        assert_int_equal(api_bash_session_close(b, "s4", &err), 0);
        assert_int_equal(api_bash_session_count(b), 2);
        api_bash_stop(b);
        api_bash_free(b);
}

static json_t *run(struct api_bash *b, const char *sid, const char *cmd)
{
        struct api_bash_exec a = {.session_id = sid,
                                  .command = cmd,
                                  .timeout = -1,
                                  .hard_timeout = -1,
                                  .max_output_length = 0};
        struct aio_err err = {0};
        json_t *o = NULL;

        assert_int_equal(api_bash_exec(b, &a, NULL, &o, &err), 0);
        return o;
}

static void test_history_bound_and_offsets(void **state)
{
        struct api_bash *b = bash_small(10, 6);
        struct api_bash_output q = {.session_id = "h", .wait_timeout = 0};
        struct aio_err err = {0};
        json_t *o, *first = NULL;
        char cmd[32];

        (void)state;
        for (int i = 0; i < 10; i++) {
                (void)snprintf(cmd, sizeof(cmd), "printf %d", i);
                o = run(b, "h", cmd);
                assert_string_equal(json_string_value(json_object_get(o, "status")), "completed");
                assert_int_equal(json_integer_value(json_object_get(o, "offset")), i + 1);
                if (i == 0)
                        first = json_incref(json_object_get(o, "command_id"));
                json_decref(o);
        }
        /* history past 6 was cut to the last 3: the first command is forgotten... */
        q.command_id = json_string_value(first);
        assert_int_equal(api_bash_output(b, &q, NULL, &o, &err), -ENOENT);
        /* ...but the session's stream still has every byte */
        q.command_id = NULL;
        assert_int_equal(api_bash_output(b, &q, NULL, &o, &err), 0);
        assert_string_equal(json_string_value(json_object_get(o, "stdout")), "0123456789");
        assert_int_equal(json_integer_value(json_object_get(o, "offset")), 10);
        json_decref(o);
        q.offset = 7;
        assert_int_equal(api_bash_output(b, &q, NULL, &o, &err), 0);
        assert_string_equal(json_string_value(json_object_get(o, "stdout")), "789");
        json_decref(o);
        json_decref(first);
        api_bash_stop(b);
        api_bash_free(b);
}

static void test_exec_errors(void **state)
{
        struct api_bash *b = bash_small(10, 100);
        const char *bad_env[] = {"1X=y", NULL};
        struct api_bash_exec a = {
                .command = "true", .timeout = -1, .hard_timeout = -1, .env = bad_env};
        struct aio_err err = {0};
        json_t *o = NULL;

        (void)state;
        assert_int_equal(api_bash_exec(b, &a, NULL, &o, &err), -EINVAL);
        assert_string_equal(err.msg, "Invalid environment variable name: '1X'");
        a.env = NULL;
        a.exec_dir = "/nonexistent-dir";
        assert_int_equal(api_bash_exec(b, &a, NULL, &o, &err), -EINVAL);
        assert_string_equal(err.msg, "Working directory does not exist: /nonexistent-dir");
        assert_int_equal(api_bash_kill(b, "nope", SIGTERM, &err), -ENOENT);
        assert_int_equal(api_bash_write(b, "nope", NULL, "x", 1, NULL, &err), -ENOENT);
        assert_int_equal(api_bash_signal_parse("SIGKILL"), SIGKILL);
        assert_int_equal(api_bash_signal_parse("KILL"), 0);
        assert_int_equal(api_bash_session_count(b), 0);
        api_bash_stop(b);
        api_bash_free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stream_offsets),
                cmocka_unit_test(test_stream_large),
                cmocka_unit_test(test_utf8_repair),
                cmocka_unit_test(test_utf8_partial_tail),
                cmocka_unit_test(test_middle_truncate),
                cmocka_unit_test(test_session_eviction),
                cmocka_unit_test(test_history_bound_and_offsets),
                cmocka_unit_test(test_exec_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
