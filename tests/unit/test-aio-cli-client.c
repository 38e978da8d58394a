/* tools/aio/util.c and client.c's pure parts: URL checks and building, query escaping, exit
 * statuses, error messages from HTTP answers, the envelope, UTF-8 and base64. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "tests/unit/unit.h"
#include "tools/aio/cli.h"
#include "tools/aio/client.h"

static void test_url_check(void **state)
{
        static const char *good[] = {
                "http://127.0.0.1:8080", "http://127.0.0.1:8080/", "https://sandbox.example",
                "HTTP://h:1/prefix/v",   "http://[::1]:8080",      "http://[::1]",
                "http://h:65535",
        };
        static const char *bad[] = {
                "127.0.0.1:8080",  "ftp://h",        "http://",     "http:///x",
                "http://h:0",      "http://h:65536", "http://h:8o", "http://h:",
                "http://h /x",     "http://h/x?y=1", "http://h/#f", "http://[::1",
                "http://[]:80",    "http://h]:80",   "http://h\\x", "file:///etc",
                "http://h:123456", "http://h/\x7f",
        };
        struct aio_err err = {0};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (cli_url_check(good[i], &err) != 0)
                        fail_msg("%s: %s", good[i], err.msg);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (cli_url_check(bad[i], &err) != -CLI_E_USAGE)
                        fail_msg("%s accepted", bad[i]);
                assert_non_null(strstr(err.msg, "--url"));
        }
}

static void test_url_build(void **state)
{
        const char *q[] = {"path", "/tmp/a b&c=d/é%", "change_policy", "abort", NULL};
        const char *q1[] = {"k", "", NULL};
        char *u;

        (void)state;
        u = cli_url_build("http://h:1", "/v1/sandbox", NULL);
        assert_string_equal(u, "http://h:1/v1/sandbox");
        free(u);
        u = cli_url_build("http://h:1///", "/v1/sandbox", NULL);
        assert_string_equal(u, "http://h:1/v1/sandbox");
        free(u);
        u = cli_url_build("https://h/proxy/8080/", "v1/file/download", q);
        assert_string_equal(u, "https://h/proxy/8080/v1/file/download"
                               "?path=/tmp/a%20b%26c%3Dd/%C3%A9%25&change_policy=abort");
        free(u);
        u = cli_url_build("http://h", "/x", q1);
        assert_string_equal(u, "http://h/x?k=");
        free(u);
}

static void test_url_escape(void **state)
{
        char *e;

        (void)state;
        e = cli_url_escape("AZaz09-._~/ +?#\n\xff");
        assert_string_equal(e, "AZaz09-._~/%20%2B%3F%23%0A%FF");
        free(e);
        e = cli_url_escape("");
        assert_string_equal(e, "");
        free(e);
}

static void test_exit_codes(void **state)
{
        (void)state;
        assert_int_equal(cli_exit_code(0), 0);
        assert_int_equal(cli_exit_code(-EINVAL), 2);
        assert_int_equal(cli_exit_code(-ECONNREFUSED), 69);
        assert_int_equal(cli_exit_code(-EHOSTUNREACH), 69);
        assert_int_equal(cli_exit_code(-EIO), 74);
        assert_int_equal(cli_exit_code(-ETIMEDOUT), 75);
        assert_int_equal(cli_exit_code(-EPROTO), 76);
        assert_int_equal(cli_exit_code(-EACCES), 77);
        assert_int_equal(cli_exit_code(-EREMOTEIO), 1);
        assert_int_equal(cli_exit_code(-EINTR), 130);
        assert_int_equal(cli_exit_code(-ENOSPC), 1);
}

static void test_io_error(void **state)
{
        struct aio_err err = {0};

        (void)state;
        /* a local EACCES is an I/O failure (74), not an auth one (77) */
        assert_int_equal(cli_io_error(&err, EACCES, "/x/y"), -EIO);
        assert_int_equal(cli_exit_code(-err.code), 74);
        assert_string_equal(err.msg, "/x/y: Permission denied");
}

static void http_error(long status, const char *body, int want_code, const char *want)
{
        struct aio_err err = {0};
        int r = cli_http_error(status, body, strlen(body), "POST http://h/v1/x", &err);

        assert_int_equal(r, -want_code);
        assert_string_equal(err.msg, want);
}

static void test_http_errors(void **state)
{
        (void)state;
        http_error(404, "{\"success\":false,\"message\":\"Not Found\",\"data\":null}", CLI_E_API,
                   "POST http://h/v1/x: HTTP 404: Not Found");
        http_error(401, "{\"success\":false,\"message\":\"Invalid API key.\"}", CLI_E_AUTH,
                   "POST http://h/v1/x: HTTP 401: Invalid API key. (see --api-key, --token)");
        http_error(403, "forbidden\r\nby proxy", CLI_E_AUTH,
                   "POST http://h/v1/x: HTTP 403: forbidden  by proxy (see --api-key, --token)");
        http_error(422,
                   "{\"success\":false,\"message\":\"Request data validation failed\","
                   "\"errors\":[{\"location\":[\"body\",\"file\"],\"message\":\"Field "
                   "required\",\"type\":\"missing\"}]}",
                   CLI_E_API,
                   "POST http://h/v1/x: HTTP 422: Request data validation failed (body.file: "
                   "Field required)");
        http_error(422,
                   "{\"detail\":[{\"loc\":[\"body\",\"items\",3],\"msg\":\"bad\","
                   "\"type\":\"x\"}]}",
                   CLI_E_API,
                   "POST http://h/v1/x: HTTP 422: validation failed (body.items.3: bad)");
        http_error(502, "", CLI_E_API, "POST http://h/v1/x: HTTP 502: no message");
        http_error(500, "{\"detail\":\"boom\"}", CLI_E_API, "POST http://h/v1/x: HTTP 500: boom");
        http_error(413, "{\"success\":false,\"message\":\"Payload Too Large\"}", CLI_E_API,
                   "POST http://h/v1/x: HTTP 413: Payload Too Large (too large for one request; "
                   "aio file upload takes up to 64 MiB)");
}

static void test_envelope(void **state)
{
        struct aio_err err = {0};
        json_t *data = NULL;
        json_auto_t *ok = json_loads("{\"success\":true,\"data\":{\"a\":1}}", 0, NULL);
        json_auto_t *okn = json_loads("{\"success\":true,\"data\":null}", 0, NULL);
        json_auto_t *fail = json_loads("{\"success\":false,\"message\":\"Failed to read file: "
                                       "[Errno 2]\\nNo such file\",\"data\":{\"error_type\":"
                                       "\"not_found\"}}",
                                       0, NULL);
        json_auto_t *none = json_loads("{\"data\":1}", 0, NULL);

        (void)state;
        assert_int_equal(cli_envelope_data(ok, "W", &data, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(data, "a")), 1);
        assert_int_equal(cli_envelope_data(okn, "W", &data, &err), 0);
        assert_null(data);
        assert_int_equal(cli_envelope_data(fail, "W", &data, &err), -CLI_E_API);
        assert_string_equal(err.msg, "W: Failed to read file: [Errno 2] No such file");
        assert_int_equal(cli_envelope_data(none, "W", &data, &err), -CLI_E_PROTOCOL);
        assert_string_equal(err.msg, "W: the answer has no 'success'");
}

static void test_utf8(void **state)
{
        (void)state;
        assert_true(cli_utf8_valid("", 0));
        assert_true(cli_utf8_valid("plain\n", 6));
        assert_true(cli_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
        assert_false(cli_utf8_valid("a\0b", 3));             /* NUL */
        assert_false(cli_utf8_valid("\xff", 1));             /* never valid */
        assert_false(cli_utf8_valid("\xc3", 1));             /* truncated */
        assert_false(cli_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
        assert_false(cli_utf8_valid("\xe0\x80\xaf", 3));     /* overlong, 3 bytes */
        assert_false(cli_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
        assert_false(cli_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
        assert_false(cli_utf8_valid("\xc3\x28", 2));         /* bad continuation */
}

static void test_base64(void **state)
{
        static const struct {
                const char *in, *out;
        } rows[] = {
                {"", ""},
                {"f", "Zg=="},
                {"fo", "Zm8="},
                {"foo", "Zm9v"},
                {"foob", "Zm9vYg=="},
                {"fooba", "Zm9vYmE="},
                {"foobar", "Zm9vYmFy"},
        };
        const unsigned char bin[] = {0x00, 0xff, 0xfe, 0x80};
        char *s;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                s = cli_base64_encode(rows[i].in, strlen(rows[i].in));
                assert_string_equal(s, rows[i].out);
                free(s);
        }
        s = cli_base64_encode(bin, sizeof(bin));
        assert_string_equal(s, "AP/+gA==");
        free(s);
}

static void test_basename(void **state)
{
        (void)state;
        assert_string_equal(cli_basename("/a/b/c.txt"), "c.txt");
        assert_string_equal(cli_basename("c.txt"), "c.txt");
        assert_string_equal(cli_basename("/a/dir/"), "");
}

static void test_curl_errors(void **state)
{
        struct aio_err err = {0};

        (void)state;
        /* CURLE_COULDNT_CONNECT (7), CURLE_OPERATION_TIMEDOUT (28), CURLE_COULDNT_RESOLVE_HOST (6)
         */
        assert_int_equal(cli_curl_error(7, "Connection refused", "GET http://h/v1/sandbox", &err),
                         -CLI_E_CONNECT);
        assert_string_equal(err.msg, "cannot reach GET http://h/v1/sandbox: Connection refused");
        assert_int_equal(cli_curl_error(6, "", "GET u", &err), -CLI_E_CONNECT);
        assert_int_equal(cli_curl_error(28, "x", "GET u", &err), -CLI_E_TIMEOUT);
        assert_int_equal(cli_exit_code(-err.code), 75);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url_check),   cmocka_unit_test(test_url_build),
                cmocka_unit_test(test_url_escape),  cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_io_error),    cmocka_unit_test(test_http_errors),
                cmocka_unit_test(test_envelope),    cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_base64),      cmocka_unit_test(test_basename),
                cmocka_unit_test(test_curl_errors),
        };

        return cmocka_run_group_tests(tests, 0, 0);
}
