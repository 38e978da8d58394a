/* api/router.c: matching with {name} captures, 404 / 405 + Allow, CORS, row flags, JSON bodies
 * and handler errors, on a test table; then the invariants of aio-apid's own tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/router.h"
#include "tests/unit/unit.h"

/* Echoes what it was called with: the captured params and the body. */
static int h_echo(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        json_t *params = json_object();

        (void)err;
        for (size_t i = 0; i < req->n_params; i++)
                (void)json_object_set_new(params, req->params[i].key,
                                          json_string(req->params[i].value));
        api_reply_ok(resp, req->method,
                     json_pack("{s:o, s:O?}", "params", params, "body", req->body));
        return 0;
}

static int h_fail(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)resp;
        return aio_error_msg(err, atoi(api_param_get(req, "code")), "failed on purpose");
}

static int h_silent(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)req;
        (void)resp;
        (void)err;
        return 0;
}

/* clang-format off */
static const struct api_route t_routes[] = {
        { "GET",    "/v1/items",                 h_echo,   0 },
        { "POST",   "/v1/items",                 h_echo,   API_F_JSON },
        { "GET",    "/v1/items/{id}",            h_echo,   0 },
        { "DELETE", "/v1/items/{id}",            h_echo,   0 },
        { "GET",    "/v1/items/{id}/sub/{sub}",  h_echo,   0 },
        { "GET",    "/v1/fail/{code}",           h_fail,   0 },
        { "GET",    "/v1/silent",                h_silent, 0 },
        { "POST",   "/v1/admin",                 h_echo,   API_F_ADMIN },
        {0},
};
static const struct api_route t_more[] = {
        { "PUT",    "/v1/items/{id}",            h_echo,   0 },
        {0},
};
/* clang-format on */
static const struct api_route *const t_tables[] = {t_routes, t_more};

static void test_match(void **state)
{
        struct api_match m;

        (void)state;
        assert_int_equal(api_route_match(t_tables, 2, "GET", "/v1/items", &m), API_MATCH_OK);
        assert_ptr_equal(m.route, &t_routes[0]);
        assert_int_equal(m.n_params, 0);
        assert_int_equal(api_route_match(t_tables, 2, "POST", "/v1/items/", &m), API_MATCH_OK);
        assert_ptr_equal(m.route, &t_routes[1]);
        assert_int_equal(api_route_match(t_tables, 2, "GET", "/v1/items/abc", &m), API_MATCH_OK);
        assert_ptr_equal(m.route, &t_routes[2]);
        assert_int_equal(m.n_params, 1);
        assert_string_equal(m.params[0].key, "id");
        assert_string_equal(m.params[0].value, "abc");
        assert_int_equal(api_route_match(t_tables, 2, "GET", "/v1/items/a%2Fb/sub/x y", &m),
                         API_MATCH_OK);
        assert_int_equal(m.n_params, 2);
        assert_string_equal(m.params[0].value, "a%2Fb");
        assert_string_equal(m.params[1].key, "sub");
        assert_string_equal(m.params[1].value, "x y");
        /* HEAD is GET without a body; the second table is searched too */
        assert_int_equal(api_route_match(t_tables, 2, "HEAD", "/v1/items/1", &m), API_MATCH_OK);
        assert_ptr_equal(m.route, &t_routes[2]);
        assert_int_equal(api_route_match(t_tables, 2, "PUT", "/v1/items/1", &m), API_MATCH_OK);
        assert_ptr_equal(m.route, &t_more[0]);
}

static void test_no_match(void **state)
{
        static const char *const paths[] = {
                "",
                "v1/items",
                "/v1/item",
                "/v1/items/a/b",
                "/v1/items//",
                "/v1//items",
                "/v1/items/",
                "/V1/items",
                "/v1/items/a/sub/",
                "/v1/items/a/sub//",
                "/v1/items/a/sub/b/c",
                "/",
        };
        struct api_match m;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                enum api_match_result r = api_route_match(t_tables, 2, "GET", paths[i], &m);

                /* "/v1/items/" is "/v1/items" (one trailing slash ignored) */
                if (strcmp(paths[i], "/v1/items/") == 0) {
                        assert_int_equal(r, API_MATCH_OK);
                        continue;
                }
                if (r != API_MATCH_NO_PATH)
                        fail_msg("'%s' matched (%d)", paths[i], r);
        }
}

static void test_405_allow(void **state)
{
        struct api_match m;

        (void)state;
        assert_int_equal(api_route_match(t_tables, 2, "PATCH", "/v1/items/7", &m),
                         API_MATCH_NO_METHOD);
        assert_string_equal(m.allow, "GET, HEAD, DELETE, PUT");
        assert_int_equal(api_route_match(t_tables, 2, "DELETE", "/v1/items", &m),
                         API_MATCH_NO_METHOD);
        assert_string_equal(m.allow, "GET, HEAD, POST");
        assert_int_equal(api_route_match(t_tables, 2, "get", "/v1/silent", &m),
                         API_MATCH_NO_METHOD);
        assert_string_equal(m.allow, "GET, HEAD");
}

static json_t *dispatch(const struct api_raw_req *raw, struct api_resp *resp)
{
        json_error_t jerr;

        memset(resp, 0, sizeof(*resp));
        api_dispatch_tables(t_tables, 2, raw, NULL, resp);
        assert_non_null(resp->body);
        return json_loadb(resp->body, resp->len, 0, &jerr);
}

static void assert_envelope(json_t *o, int success, const char *message)
{
        assert_non_null(o);
        assert_true(json_is_boolean(json_object_get(o, "success")));
        assert_int_equal(json_is_true(json_object_get(o, "success")), success);
        assert_string_equal(json_string_value(json_object_get(o, "message")), message);
        assert_non_null(json_object_get(o, "data"));
        assert_non_null(json_object_get(o, "hint"));
}

static void test_dispatch_errors(void **state)
{
        struct api_raw_req raw = {.method = "GET", .path = "/nope"};
        struct api_resp resp;
        json_t *o;

        (void)state;
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 404);
        assert_envelope(o, 0, "Not Found");
        assert_null(api_resp_header_get(&resp, "Allow"));
        json_decref(o);
        api_resp_done(&resp);

        raw = (struct api_raw_req){.method = "POST", .path = "/v1/silent"};
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 405);
        assert_envelope(o, 0, "Method Not Allowed");
        assert_string_equal(api_resp_header_get(&resp, "Allow"), "GET, HEAD");
        json_decref(o);
        api_resp_done(&resp);

        /* a handler that answers nothing is a 500, never an empty reply */
        raw = (struct api_raw_req){.method = "GET", .path = "/v1/silent"};
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 500);
        json_decref(o);
        api_resp_done(&resp);

        raw = (struct api_raw_req){.method = "POST", .path = "/v1/admin"};
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 403);
        json_decref(o);
        api_resp_done(&resp);
}

static void test_dispatch_handler_errno(void **state)
{
        static const struct {
                const char *path;
                unsigned status;
        } rows[] = {
                {"/v1/fail/22", 400}, {"/v1/fail/1", 403}, {"/v1/fail/2", 404},
                {"/v1/fail/17", 409}, {"/v1/fail/7", 413}, {"/v1/fail/110", 504},
                {"/v1/fail/11", 503}, {"/v1/fail/5", 500},
        };
        struct api_resp resp;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                struct api_raw_req raw = {.method = "GET", .path = rows[i].path};
                json_t *o = dispatch(&raw, &resp);

                assert_int_equal(resp.status, rows[i].status);
                assert_false(json_is_true(json_object_get(o, "success")));
                assert_non_null(strstr(json_string_value(json_object_get(o, "message")),
                                       "failed on purpose"));
                json_decref(o);
                api_resp_done(&resp);
        }
}

static void test_dispatch_body(void **state)
{
        static const char good[] = "{\"x\":[1,2]}";
        struct api_raw_req raw = {.method = "POST",
                                  .path = "/v1/items",
                                  .body = good,
                                  .body_len = sizeof(good) - 1,
                                  .content_type = "application/json; charset=utf-8"};
        struct api_resp resp;
        json_t *o;

        (void)state;
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 200);
        assert_int_equal(
                json_integer_value(json_array_get(
                        json_object_get(json_object_get(json_object_get(o, "data"), "body"), "x"),
                        1)),
                2);
        json_decref(o);
        api_resp_done(&resp);

        /* the JSON check runs only on rows that take a body: GET ignores one, as FastAPI does */
        raw.body = "{bad";
        raw.body_len = 4;
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 422);
        json_decref(o);
        api_resp_done(&resp);
        raw.method = "GET";
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 200);
        assert_true(json_is_null(json_object_get(json_object_get(o, "data"), "body")));
        json_decref(o);
        api_resp_done(&resp);
}

static void test_cors(void **state)
{
        struct api_raw_req raw = {.method = "OPTIONS",
                                  .path = "/anything/at/all",
                                  .origin = "http://localhost:5173",
                                  .acr_method = "POST",
                                  .acr_headers = "content-type, x-aio-api-key"};
        struct api_resp resp = {0};
        json_t *o;

        (void)state;
        api_dispatch_tables(t_tables, 2, &raw, NULL, &resp);
        assert_int_equal(resp.status, 200);
        assert_string_equal(api_resp_header_get(&resp, "Access-Control-Allow-Origin"), "*");
        assert_non_null(strstr(api_resp_header_get(&resp, "Access-Control-Allow-Methods"), "POST"));
        assert_string_equal(api_resp_header_get(&resp, "Access-Control-Allow-Headers"),
                            "content-type, x-aio-api-key");
        assert_null(api_resp_header_get(&resp, "Access-Control-Allow-Credentials"));
        assert_null(api_resp_header_get(&resp, "Access-Control-Allow-Private-Network"));
        api_resp_done(&resp);

        /* a header list that could smuggle anything is not echoed */
        raw.acr_headers = "x\r\nSet-Cookie: a=b";
        api_dispatch_tables(t_tables, 2, &raw, NULL, &resp);
        assert_null(api_resp_header_get(&resp, "Access-Control-Allow-Headers"));
        api_resp_done(&resp);

        /* OPTIONS without the preflight headers is routed like any method */
        raw = (struct api_raw_req){.method = "OPTIONS", .path = "/v1/items"};
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 405);
        assert_null(api_resp_header_get(&resp, "Access-Control-Allow-Origin"));
        json_decref(o);
        api_resp_done(&resp);

        /* every answer to a browser carries the origin header, errors included */
        raw = (struct api_raw_req){.method = "GET", .path = "/nope", .origin = "http://127.0.0.1"};
        o = dispatch(&raw, &resp);
        assert_int_equal(resp.status, 404);
        assert_string_equal(api_resp_header_get(&resp, "Access-Control-Allow-Origin"), "*");
        json_decref(o);
        api_resp_done(&resp);
}

static const char *t_header(const void *cls, const char *name)
{
        return strcasecmp(name, "Host") == 0 ? cls : NULL;
}

/* No key: pages from other origins and Hosts that are not loopback names are refused, preflight
 * or not (a page anywhere could otherwise drive the sandbox through the user's browser). */
static void test_open_api_guard(void **state)
{
        static const char *const bad_origins[] = {"https://example.com",
                                                  "http://a",
                                                  "http://localhost.evil.com",
                                                  "null",
                                                  "http://127.0.0.1.evil.com:80",
                                                  "file://",
                                                  "http://[::2]"};
        static const char *const good_hosts[] = {"localhost", "localhost:8080", "127.0.0.1:8080",
                                                 "127.9.9.9", "[::1]:1",        "LOCALHOST"};
        static const char *const bad_hosts[] = {
                "evil.com",         "evil.com:8080", "127.0.0.1.nip.io", "localhost:8080x",
                "localhost:123456", "[::2]",         "10.0.0.1:8080",    ""};
        struct api_raw_req raw = {
                .method = "GET", .path = "/v1/items", .header = t_header, .client_fd = -1};
        struct api_resp resp = {0};
        json_t *o;

        (void)state;
        for (size_t i = 0; i < sizeof(bad_origins) / sizeof(bad_origins[0]); i++) {
                raw.origin = bad_origins[i];
                raw.header_cls = "localhost";
                o = dispatch(&raw, &resp);
                assert_int_equal(resp.status, 403);
                assert_non_null(strstr(json_string_value(json_object_get(o, "message")),
                                       "SANDBOX_API_KEY"));
                assert_null(api_resp_header_get(&resp, "Access-Control-Allow-Origin"));
                json_decref(o);
                api_resp_done(&resp);
        }
        raw.origin = NULL;
        for (size_t i = 0; i < sizeof(good_hosts) / sizeof(good_hosts[0]); i++) {
                raw.header_cls = good_hosts[i];
                o = dispatch(&raw, &resp);
                assert_int_equal(resp.status, 200);
                json_decref(o);
                api_resp_done(&resp);
        }
        for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
                raw.header_cls = bad_hosts[i];
                o = dispatch(&raw, &resp);
                if (resp.status != 403)
                        fail_msg("Host '%s' was let through", bad_hosts[i]);
                json_decref(o);
                api_resp_done(&resp);
        }
}

static bool pattern_ok(const char *p)
{
        if (p[0] != '/')
                return false;
        for (const char *s = p; *s; s++) {
                if (*s == '/' && (s[1] == '/' || s[1] == '\0') && s != p)
                        return false;
                if (*s == '{') {
                        const char *e = strchr(s, '}');

                        if (!e || e == s + 1 || (e[1] != '/' && e[1] != '\0') || s[-1] != '/')
                                return false;
                }
        }
        return true;
}

static void test_real_tables(void **state)
{
        static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
        size_t n;
        const struct api_route *const *t = api_route_tables(&n);
        struct api_match m;

        (void)state;
        assert_true(n >= 2);
        for (size_t i = 0; i < n; i++)
                for (const struct api_route *r = t[i]; r->method; r++) {
                        bool known = false;

                        for (size_t k = 0; k < ELEMENTSOF(methods); k++)
                                known |= strcmp(methods[k], r->method) == 0;
                        if (!known || !pattern_ok(r->pattern) || !r->fn)
                                fail_msg("bad row %s %s", r->method, r->pattern);
                        /* each row is reachable: no earlier row shadows it */
                        assert_int_equal(api_route_match(t, n, r->method, r->pattern, &m),
                                         API_MATCH_OK);
                        if (m.route != r)
                                fail_msg("%s %s is shadowed by %s %s", r->method, r->pattern,
                                         m.route->method, m.route->pattern);
                }
        assert_int_equal(api_route_match(t, n, "GET", "/v1/sandbox", &m), API_MATCH_OK);
        assert_int_equal(api_route_match(t, n, "GET", "/health", &m), API_MATCH_OK);
        assert_int_equal(api_route_match(t, n, "DELETE", "/v1/sandbox/hooks/x", &m), API_MATCH_OK);
        assert_string_equal(
                api_param_get(&(struct api_req){.params = {m.params[0]}, .n_params = 1}, "name"),
                "x");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match),
                cmocka_unit_test(test_no_match),
                cmocka_unit_test(test_405_allow),
                cmocka_unit_test(test_dispatch_errors),
                cmocka_unit_test(test_dispatch_handler_errno),
                cmocka_unit_test(test_dispatch_body),
                cmocka_unit_test(test_cors),
                cmocka_unit_test(test_open_api_guard),
                cmocka_unit_test(test_real_tables),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
