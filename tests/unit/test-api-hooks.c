/* api/hooks.c and the /v1/sandbox/hooks routes: registration rules, env hooks, and real runs
 * (order by priority, parallel groups, per-hook and global timeouts). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/hooks.h"
#include "api/reply.h"
#include "api/router.h"
#include "api/spawn.h"
#include "tests/unit/unit.h"

static int reg(struct api_hooks *h, const char *name, const char *cmd, double timeout,
               long long prio, struct aio_err *err)
{
        json_t *o = NULL;
        int r = api_hook_register(h, name, cmd, timeout, prio, &o, err);

        if (r == 0) {
                assert_string_equal(json_string_value(json_object_get(o, "name")), name);
                assert_string_equal(json_string_value(json_object_get(o, "source")), "api");
                assert_string_equal(json_string_value(json_object_get(o, "event")), "shutdown");
                json_decref(o);
        }
        return r;
}

static void test_register_rules(void **state)
{
        struct api_hooks *h = api_hooks_new("  \n", 30);
        struct aio_err err;
        json_t *l;
        char name[16];

        (void)state;
        l = api_hooks_list(h); /* a blank env script is no hook */
        assert_int_equal(json_array_size(l), 0);
        json_decref(l);
        assert_int_equal(reg(h, "", "true", 1, 1, &err), -EINVAL);
        assert_int_equal(reg(h, "a b", "true", 1, 1, &err), -EINVAL);
        assert_int_equal(reg(h, "../x", "true", 1, 1, &err), -EINVAL);
        assert_int_equal(reg(h, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                             "true", 1, 1, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "too long"));
        assert_int_equal(reg(h, "b", "echo b", 1, 5, &err), 0);
        assert_int_equal(reg(h, "a", "echo a", 1, 5, &err), 0);
        assert_int_equal(reg(h, "c", "echo c", 1, 1, &err), 0);
        /* same name: replaced in place, keeping its registration order */
        assert_int_equal(reg(h, "b", "echo B", 2, 5, &err), 0);
        l = api_hooks_list(h);
        assert_int_equal(json_array_size(l), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "name")), "c");
        assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "name")), "b");
        assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "command")),
                            "echo B");
        assert_string_equal(json_string_value(json_object_get(json_array_get(l, 2), "name")), "a");
        json_decref(l);
        for (int i = 3; i < API_HOOKS_MAX; i++) {
                (void)snprintf(name, sizeof(name), "h%d", i);
                assert_int_equal(reg(h, name, "true", 1, 1, &err), 0);
        }
        assert_int_equal(reg(h, "one-too-many", "true", 1, 1, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "limit of 50"));
        assert_int_equal(reg(h, "a", "true", 1, 1, &err), 0); /* replacing is not adding */
        assert_int_equal(api_hook_remove(h, "nope", &err), -ENOENT);
        assert_int_equal(api_hook_remove(h, "b", &err), 0);
        assert_int_equal(api_hook_remove(h, "b", &err), -ENOENT);
        assert_int_equal(reg(h, "one-too-many", "true", 1, 1, &err), 0);
        api_hooks_free(h);
}

static void test_env_hook(void **state)
{
        struct api_hooks *h = api_hooks_new("echo from-env", 30);
        struct aio_err err;
        json_t *l, *e;

        (void)state;
        l = api_hooks_list(h);
        assert_int_equal(json_array_size(l), 1);
        e = json_array_get(l, 0);
        assert_string_equal(json_string_value(json_object_get(e, "name")), API_HOOK_ENV_NAME);
        assert_string_equal(json_string_value(json_object_get(e, "source")), "env");
        assert_int_equal(json_integer_value(json_object_get(e, "priority")), 0);
        json_decref(l);
        assert_int_equal(api_hook_remove(h, API_HOOK_ENV_NAME, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "Cannot remove env hook"));
        assert_int_equal(reg(h, API_HOOK_ENV_NAME, "true", 1, 1, &err), -EINVAL);
        api_hooks_free(h);
}

static char dir[64];

static int setup(void **state)
{
        (void)state;
        strcpy(dir, "/tmp/aio-test-hooks-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static json_t *result_of(json_t *results, const char *name)
{
        json_t *r;
        size_t i;

        json_array_foreach(results, i, r)
                if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
                        return r;
        fail_msg("no result for %s", name);
        return NULL;
}

static void test_run_order_and_timeouts(void **state)
{
        struct api_hooks *h = api_hooks_new(NULL, 30);
        char cmd[512], log[128], buf[256] = "";
        struct aio_err err;
        json_t *res;
        int64_t t0;
        FILE *f;

        (void)state;
        (void)snprintf(log, sizeof(log), "%s/log", dir);
        /* p1 and p2 are one priority group: each waits for the other to have started, which
         * only ends if they run at the same time (else the first times out) */
        (void)snprintf(cmd, sizeof(cmd),
                       "touch %s/p1; while [ ! -e %s/p2 ]; do sleep 0.01; done; echo p1 >>%s", dir,
                       dir, log);
        assert_int_equal(reg(h, "p1", cmd, 5, 10, &err), 0);
        (void)snprintf(cmd, sizeof(cmd),
                       "touch %s/p2; while [ ! -e %s/p1 ]; do sleep 0.01; done; echo p2 >>%s", dir,
                       dir, log);
        assert_int_equal(reg(h, "p2", cmd, 5, 10, &err), 0);
        (void)snprintf(cmd, sizeof(cmd), "echo first >>%s; exit 3", log);
        assert_int_equal(reg(h, "first", cmd, 5, -1, &err), 0);
        (void)snprintf(cmd, sizeof(cmd), "sleep 30; echo never >>%s", log);
        assert_int_equal(reg(h, "slow", cmd, 0.2, 20, &err), 0);
        t0 = api_now_ms();
        res = api_hooks_run(h);
        assert_true(api_now_ms() - t0 < 1500);
        assert_int_equal(json_array_size(res), 4);
        assert_int_equal(json_integer_value(json_object_get(result_of(res, "first"), "exit_code")),
                         3);
        assert_int_equal(json_integer_value(json_object_get(result_of(res, "p1"), "exit_code")), 0);
        assert_true(json_is_true(json_object_get(result_of(res, "slow"), "timed_out")));
        assert_true(json_is_null(json_object_get(result_of(res, "slow"), "exit_code")));
        assert_false(json_is_true(json_object_get(result_of(res, "p1"), "timed_out")));
        assert_false(json_is_true(json_object_get(result_of(res, "p2"), "timed_out")));
        json_decref(res);
        f = fopen(log, "re");
        assert_non_null(f);
        assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f) > 0, 1);
        (void)fclose(f);
        /* first ran first; p1/p2 in either order; the timed-out hook was killed, group and all */
        assert_true(strncmp(buf, "first\n", 6) == 0);
        assert_non_null(strstr(buf, "p1\n"));
        assert_non_null(strstr(buf, "p2\n"));
        assert_null(strstr(buf, "never"));
        api_hooks_free(h);
}

static void test_run_global_timeout(void **state)
{
        struct api_hooks *h = api_hooks_new(NULL, 0.3);
        struct aio_err err;
        json_t *res;
        int64_t t0;

        (void)state;
        assert_int_equal(reg(h, "long", "sleep 10", 60, 1, &err), 0);
        assert_int_equal(reg(h, "after", "true", 60, 2, &err), 0);
        t0 = api_now_ms();
        res = api_hooks_run(h);
        assert_true(api_now_ms() - t0 < 2000);
        assert_true(json_is_true(json_object_get(result_of(res, "long"), "timed_out")));
        /* nothing left of the global budget: not even started */
        assert_true(json_is_true(json_object_get(result_of(res, "after"), "timed_out")));
        json_decref(res);
        api_hooks_free(h);
}

static json_t *call(struct api_ctx *ctx, const char *method, const char *path, const char *body,
                    const struct api_kv *query, size_t n_query, unsigned *ret_status)
{
        struct api_raw_req raw = {.method = method,
                                  .path = path,
                                  .body = body,
                                  .body_len = body ? strlen(body) : 0,
                                  .content_type = body ? "application/json" : NULL,
                                  .query = query,
                                  .n_query = n_query};
        struct api_resp resp = {0};
        json_error_t jerr;
        json_t *o;

        api_dispatch(&raw, ctx, &resp);
        *ret_status = resp.status;
        o = json_loadb(resp.body, resp.len, 0, &jerr);
        assert_non_null(o);
        api_resp_done(&resp);
        return o;
}

static void test_routes(void **state)
{
        struct api_ctx ctx = {.hooks = api_hooks_new("true", 30)};
        static const struct api_kv other[] = {{"event", "startup"}};
        unsigned st;
        json_t *o;

        (void)state;
        o = call(&ctx, "POST", "/v1/sandbox/hooks", "{\"name\":\"x\",\"command\":\"true\"}", NULL,
                 0, &st);
        assert_int_equal(st, 200);
        assert_string_equal(json_string_value(json_object_get(o, "message")), "Hook registered");
        assert_true(json_number_value(json_object_get(json_object_get(o, "data"), "timeout")) ==
                    10.0);
        assert_int_equal(
                json_integer_value(json_object_get(json_object_get(o, "data"), "priority")), 100);
        json_decref(o);
        o = call(&ctx, "POST", "/v1/sandbox/hooks", "{\"command\":\"true\"}", NULL, 0, &st);
        assert_int_equal(st, 422);
        assert_string_equal(json_string_value(json_array_get(
                                    json_object_get(json_array_get(json_object_get(o, "errors"), 0),
                                                    "location"),
                                    1)),
                            "name");
        json_decref(o);
        o = call(&ctx, "POST", "/v1/sandbox/hooks",
                 "{\"name\":\"y\",\"command\":\"true\",\"event\":\"startup\"}", NULL, 0, &st);
        assert_int_equal(st, 400);
        json_decref(o);
        o = call(&ctx, "GET", "/v1/sandbox/hooks", NULL, other, 1, &st);
        assert_int_equal(st, 400);
        json_decref(o);
        o = call(&ctx, "GET", "/v1/sandbox/hooks", NULL, NULL, 0, &st);
        assert_int_equal(st, 200);
        assert_int_equal(json_array_size(json_object_get(o, "data")), 2);
        json_decref(o);
        o = call(&ctx, "DELETE", "/v1/sandbox/hooks/x", NULL, NULL, 0, &st);
        assert_int_equal(st, 200);
        assert_true(json_is_null(json_object_get(o, "data")));
        json_decref(o);
        o = call(&ctx, "DELETE", "/v1/sandbox/hooks/x", NULL, NULL, 0, &st);
        assert_int_equal(st, 404);
        json_decref(o);
        o = call(&ctx, "DELETE", "/v1/sandbox/hooks/" API_HOOK_ENV_NAME, NULL, NULL, 0, &st);
        assert_int_equal(st, 400);
        json_decref(o);
        api_hooks_free(ctx.hooks);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_register_rules),
                cmocka_unit_test(test_env_hook),
                cmocka_unit_test(test_run_order_and_timeouts),
                cmocka_unit_test(test_run_global_timeout),
                cmocka_unit_test(test_routes),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
