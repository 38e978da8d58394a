/* api/reply.c: the errno -> HTTP table, the envelope and the 422 shape, byte for byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "tests/unit/unit.h"

static void test_errno_table(void **state)
{
        /* STYLE.md rule 23, and every errno a handler of api/routes returns today */
        static const struct {
                int code;
                unsigned status;
        } rows[] = {
                {EINVAL, 400}, {ERANGE, 400}, {EPERM, 403},     {EACCES, 403},     {ENOENT, 404},
                {EEXIST, 409}, {E2BIG, 413},  {ETIMEDOUT, 504}, {EAGAIN, 503},     {ENOMEM, 503},
                {EIO, 500},    {ENOSPC, 500}, {EBADF, 500},     {EOPNOTSUPP, 500}, {0, 500},
                {4095, 500},   {100000, 500},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                assert_int_equal(api_errno_status(rows[i].code), rows[i].status);
                assert_int_equal(api_errno_status(-rows[i].code), rows[i].status);
        }
}

static void test_envelope_exact(void **state)
{
        struct api_resp resp = {0};

        (void)state;
        api_reply_ok(&resp, "Operation successful", json_pack("{s:i}", "a", 1));
        assert_int_equal(resp.status, 200);
        assert_string_equal(resp.content_type, "application/json");
        assert_string_equal(resp.body, "{\"success\":true,\"message\":\"Operation successful\","
                                       "\"data\":{\"a\":1},\"hint\":null}");
        assert_int_equal(resp.len, strlen(resp.body));
        api_resp_done(&resp);
        api_reply_error(&resp, 404, "Not Found");
        assert_int_equal(resp.status, 404);
        assert_string_equal(resp.body, "{\"success\":false,\"message\":\"Not Found\",\"data\":null,"
                                       "\"hint\":null}");
        api_resp_done(&resp);
        api_reply_ok(&resp, NULL, NULL);
        assert_string_equal(resp.body,
                            "{\"success\":true,\"message\":null,\"data\":null,\"hint\":null}");
        api_resp_done(&resp);
}

static void test_reply_errno(void **state)
{
        struct aio_err err = {0};
        struct api_resp resp = {0};

        (void)state;
        (void)aio_error_msg(&err, ENOENT, "Hook not found: x");
        api_reply_errno(&resp, &err);
        assert_int_equal(resp.status, 404);
        assert_non_null(strstr(resp.body, "\"message\":\"Hook not found: x\""));
        api_resp_done(&resp);
        (void)aio_error_msg(&err, EIO, "disk on fire");
        api_reply_errno(&resp, &err);
        assert_int_equal(resp.status, 500);
        assert_non_null(strstr(resp.body, "\"message\":\"Internal server error: disk on fire\""));
        api_resp_done(&resp);
}

static void test_422_both_shapes(void **state)
{
        struct api_resp resp = {0};
        json_t *detail = json_array();

        (void)state;
        api_detail_add(detail, json_pack("[s, s]", "body", "command"), "Field required", "missing");
        api_detail_add(detail, json_pack("[s, i]", "body", 3), "JSON decode error", "json_invalid");
        api_reply_422(&resp, detail);
        assert_int_equal(resp.status, 422);
        assert_string_equal(
                resp.body,
                "{\"success\":false,\"message\":\"Request data validation failed\",\"data\":null,"
                "\"errors\":[{\"location\":[\"body\",\"command\"],\"message\":\"Field required\","
                "\"type\":\"missing\"},{\"location\":[\"body\",3],\"message\":\"JSON decode "
                "error\",\"type\":\"json_invalid\"}],"
                "\"detail\":[{\"loc\":[\"body\",\"command\"],\"msg\":\"Field required\","
                "\"type\":\"missing\"},{\"loc\":[\"body\",3],\"msg\":\"JSON decode error\","
                "\"type\":\"json_invalid\"}]}");
        api_resp_done(&resp);
}

static void test_headers(void **state)
{
        struct api_resp resp = {0};
        char big[600];

        (void)state;
        api_resp_header(&resp, "Allow", "GET, HEAD");
        api_resp_header(&resp, "X-A", "1");
        assert_string_equal(api_resp_header_get(&resp, "allow"), "GET, HEAD");
        assert_string_equal(api_resp_header_get(&resp, "X-A"), "1");
        assert_null(api_resp_header_get(&resp, "X-B"));
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        api_resp_header(&resp, "X-Big", big); /* does not fit: dropped, the rest intact */
        assert_null(api_resp_header_get(&resp, "X-Big"));
        for (int i = 0; i < 20; i++)
                api_resp_header(&resp, "X-Many", "v");
        assert_int_equal(resp.n_headers, API_MAX_HEADERS);
        assert_string_equal(api_resp_header_get(&resp, "Allow"), "GET, HEAD");
        api_resp_done(&resp);
        assert_int_equal(resp.n_headers, 0);
}

/* The content spliced into the envelope is escaped as jansson would; the rest follows it. */
static void test_ok_text(void **state)
{
        static const char text[] =
                "line \"one\"\n\ttab \\ \x01 \xc3\xa9\xe2\x80\xa8 and a long run "
                "of plain text to cross a few words";
        struct api_resp resp = {0};
        json_t *want = json_pack("{s:b, s:s, s:{s:s%, s:s, s:s}, s:n}", "success", 1, "message",
                                 "File read successfully", "data", "content", text,
                                 sizeof(text) - 1, "file", "/tmp/x y", "encoding", "utf-8", "hint");
        cleanup_free char *want_s = json_dumps(want, JSON_COMPACT);

        (void)state;
        api_reply_ok_text(&resp, "File read successfully", "content", text, sizeof(text) - 1,
                          json_pack("{s:s, s:s}", "file", "/tmp/x y", "encoding", "utf-8"));
        assert_int_equal(resp.status, 200);
        assert_string_equal(resp.content_type, "application/json");
        assert_string_equal(resp.body, want_s);
        assert_int_equal(resp.len, strlen(want_s));
        api_resp_done(&resp);
        json_decref(want);
        api_reply_ok_text(&resp, "m", "k", "", 0, NULL);
        assert_string_equal(resp.body, "{\"success\":true,\"message\":\"m\",\"data\":{\"k\":\"\"},"
                                       "\"hint\":null}");
        api_resp_done(&resp);
}

/* What cannot be written as JSON is a 500 with a message, not an abort or broken bytes. */
static void test_unwritable(void **state)
{
        struct api_resp resp = {0};

        (void)state;
        api_reply_ok_text(&resp, "m", "content", "ab\xff", 3, json_pack("{s:i}", "n", 1));
        assert_int_equal(resp.status, 500);
        assert_non_null(strstr(resp.body, "\"success\":false"));
        assert_non_null(strstr(resp.body, "cannot be written as JSON"));
        api_resp_done(&resp);
        api_reply_ok(&resp, "m", json_pack("{s:o}", "s", json_stringn_nocheck("\xc0\x80", 2)));
        assert_int_equal(resp.status, 500);
        assert_non_null(strstr(resp.body, "cannot be written as JSON"));
        api_resp_done(&resp);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_errno_table), cmocka_unit_test(test_envelope_exact),
                cmocka_unit_test(test_reply_errno), cmocka_unit_test(test_422_both_shapes),
                cmocka_unit_test(test_headers),     cmocka_unit_test(test_ok_text),
                cmocka_unit_test(test_unwritable),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
