/* api/request.c: request bodies (Content-Type, malformed JSON, duplicate keys, NUL, non-objects)
 * and the %XX decoder that keeps %00 out of paths. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "tests/unit/unit.h"

/* Parses body; on failure checks the 422 and returns its first detail type (static copy). */
static const char *parse(const char *ct, const char *body, size_t len, json_t **ret)
{
        static char type[64];
        struct api_resp resp = {0};
        json_error_t jerr;
        json_t *o, *item;
        int r;

        *ret = NULL;
        r = api_body_parse(ct, body, len, ret, &resp);
        if (r == 0) {
                assert_null(resp.body);
                return NULL;
        }
        assert_int_equal(r, -EINVAL);
        assert_null(*ret);
        assert_int_equal(resp.status, 422);
        o = json_loadb(resp.body, resp.len, 0, &jerr);
        assert_non_null(o);
        item = json_array_get(json_object_get(o, "detail"), 0);
        assert_non_null(item);
        assert_string_equal(json_string_value(json_array_get(json_object_get(item, "loc"), 0)),
                            "body");
        assert_non_null(json_array_get(json_object_get(o, "errors"), 0));
        (void)snprintf(type, sizeof(type), "%s", json_string_value(json_object_get(item, "type")));
        json_decref(o);
        api_resp_done(&resp);
        return type;
}

#define PARSE(ct, lit, ret) parse((ct), (lit), sizeof(lit) - 1, (ret))

static void test_good_bodies(void **state)
{
        static const char *const types[] = {
                NULL,
                "application/json",
                "Application/JSON; charset=utf-8",
                "application/merge-patch+json",
                " application/json",
        };
        json_t *v;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                assert_null(PARSE(types[i], "{\"a\":\"caf\xc3\xa9\",\"b\":{\"a\":1}}", &v));
                assert_non_null(v);
                assert_string_equal(json_string_value(json_object_get(v, "a")), "caf\xc3\xa9");
                json_decref(v);
        }
        /* an empty body is no body, whatever its type */
        assert_null(parse("text/plain", "", 0, &v));
        assert_null(v);
        assert_null(PARSE(NULL, " { } \n", &v));
        assert_true(json_is_object(v));
        json_decref(v);
}

static void test_bad_bodies(void **state)
{
        static const struct {
                const char *body;
                size_t len;
                const char *type;
        } rows[] = {
#define ROW(lit, type) {(lit), sizeof(lit) - 1, (type)}
                ROW("{", "json_invalid"),
                ROW("{\"a\":1,}", "json_invalid"),
                ROW("{\"a\":1,\"a\":2}", "json_invalid"),
                ROW("{\"a\":{\"b\":1,\"b\":1}}", "json_invalid"),
                ROW("{\"a\":\"x\\u0000y\"}", "json_invalid"),
                ROW("{\"a\\u0000\":1}", "json_invalid"),
                ROW("{\"a\":\"x\0y\"}", "json_invalid"),
                ROW("{\"a\":1}\0", "json_invalid"),
                ROW("{\"a\":1} {}", "json_invalid"),
                ROW("{\"a\":\"\xff\"}", "json_invalid"),
                ROW("{\"a\":\"\xc0\xaf\"}", "json_invalid"),
                ROW("{\"a\":99999999999999999999999}", "json_invalid"),
                ROW("\"str\"", "model_attributes_type"),
                ROW("5", "model_attributes_type"),
                ROW("null", "model_attributes_type"),
                ROW("[1,2]", "model_attributes_type"),
                ROW("[]", "model_attributes_type"),
#undef ROW
        };
        json_t *v;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const char *t = parse("application/json", rows[i].body, rows[i].len, &v);

                if (!t || strcmp(t, rows[i].type) != 0)
                        fail_msg("row %zu: got %s, want %s", i, t ? t : "success", rows[i].type);
        }
}

static void test_deep_nesting(void **state)
{
        size_t depth = 100000;
        cleanup_free char *b = malloc(2 * depth + 8);
        json_t *v;

        (void)state;
        assert_non_null(b);
        b[0] = '{';
        memcpy(b + 1, "\"a\":", 4);
        memset(b + 5, '[', depth);
        memset(b + 5 + depth, ']', depth);
        b[5 + 2 * depth] = '}';
        /* bounded recursion in the parser: an error, not a crash */
        assert_string_equal(parse(NULL, b, 6 + 2 * depth, &v), "json_invalid");
}

static void test_content_type(void **state)
{
        static const char *const bad[] = {
                "text/plain",          "application/x-www-form-urlencoded",
                "multipart/form-data", "application/jsonx",
                "application/",        "json",
                "application/xml",
        };
        json_t *v;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_false(api_content_type_is_json(bad[i]));
                assert_string_equal(PARSE(bad[i], "{}", &v), "model_attributes_type");
        }
        assert_true(api_content_type_is_json("application/json"));
        assert_true(api_content_type_is_json("application/vnd.api+json;x=y"));
        assert_false(api_content_type_is_json(NULL));
}

static void test_unescape(void **state)
{
        static const char *const rows[][2] = {
                {"/v1/a%20b", "/v1/a b"},
                {"%41%62", "Ab"},
                {"%2f%2F", "//"},
                {"%00", "%00"},
                {"/x%00y", "/x%00y"},
                {"%", "%"},
                {"%4", "%4"},
                {"%zz", "%zz"},
                {"%%41", "%A"},
                {"%e2%82%ac", "\xe2\x82\xac"},
                {"", ""},
                {"a+b", "a+b"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                char buf[64];
                size_t n;

                (void)snprintf(buf, sizeof(buf), "%s", rows[i][0]);
                n = api_unescape(buf);
                assert_string_equal(buf, rows[i][1]);
                assert_int_equal(n, strlen(rows[i][1]));
        }
}

static void test_params_query(void **state)
{
        static const struct api_kv q[] = {{"event", "shutdown"}, {"x", ""}};
        struct api_req req = {.query = q, .n_query = 2, .n_params = 1};

        (void)state;
        req.params[0] = (struct api_kv){"name", "h1"};
        assert_string_equal(api_query_get(&req, "event"), "shutdown");
        assert_string_equal(api_query_get(&req, "x"), "");
        assert_null(api_query_get(&req, "name"));
        assert_string_equal(api_param_get(&req, "name"), "h1");
        assert_null(api_param_get(&req, "event"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_bodies),  cmocka_unit_test(test_bad_bodies),
                cmocka_unit_test(test_deep_nesting), cmocka_unit_test(test_content_type),
                cmocka_unit_test(test_unescape),     cmocka_unit_test(test_params_query),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
