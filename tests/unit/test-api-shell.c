/* /v1/shell handlers called through the dispatcher (no HTTP), with real bash sessions: a command
 * and its result shape, 422 naming the field, 404, the one-command-at-a-time rule (409), and
 * closing a session kills every process it started. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/router.h"
#include "api/shell-internal.h"
#include "api/shell.h"
#include "tests/unit/unit.h"

static char home[64];

static json_t *call(struct api_ctx *ctx, const char *method, const char *path, const char *body,
                    unsigned *ret_status)
{
        struct api_raw_req raw = {
                .method = method,
                .path = path,
                .content_type = body ? "application/json" : NULL,
                .body = body,
                .body_len = body ? strlen(body) : 0,
                .client_fd = -1,
                .ws_fd = -1,
        };
        struct api_resp resp = {0};
        json_t *o;

        api_dispatch(&raw, ctx, &resp);
        *ret_status = resp.status;
        o = json_loadb(resp.body, resp.len, 0, NULL);
        api_resp_done(&resp);
        assert_non_null(o);
        return o;
}

static const char *data_str(json_t *o, const char *key)
{
        return json_string_value(json_object_get(json_object_get(o, "data"), key));
}

static int setup(void **state)
{
        strcpy(home, "/tmp/aio-test-shell-XXXXXX");
        if (!mkdtemp(home) || setenv("HOME", home, 1) < 0)
                return -1;
        (void)unsetenv("WORKSPACE");
        *state = api_shells_new(NULL);
        return 0;
}

static int teardown(void **state)
{
        char cmd[128];

        api_shells_free(*state);
        (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_exec_and_result(void **state)
{
        struct api_ctx ctx = {.shells = *state};
        unsigned status;
        json_t *o = call(&ctx, "POST", "/v1/shell/exec",
                         "{\"command\": \"cd /; X=1; echo $X; pwd >&2; (exit 5)\"}", &status);
        json_t *d = json_object_get(o, "data");
        char body[256];

        assert_int_equal(status, 200);
        assert_string_equal(data_str(o, "status"), "completed");
        assert_string_equal(data_str(o, "output"), "1\n/");
        assert_int_equal(json_integer_value(json_object_get(d, "exit_code")), 5);
        assert_int_equal(json_array_size(json_object_get(d, "console")), 1);
        (void)snprintf(body, sizeof(body), "{\"id\": \"%s\", \"command\": \"echo $X; pwd\"}",
                       data_str(o, "session_id"));
        json_decref(o);
        o = call(&ctx, "POST", "/v1/shell/exec", body, &status);
        assert_string_equal(data_str(o, "output"), "1\n/");
        json_decref(o);
}

static void test_errors(void **state)
{
        struct api_ctx ctx = {.shells = *state};
        unsigned status;
        json_t *o = call(&ctx, "POST", "/v1/shell/exec", "{\"command\": true}", &status);
        json_t *item = json_array_get(json_object_get(o, "detail"), 0);

        assert_int_equal(status, 422);
        assert_string_equal(json_string_value(json_array_get(json_object_get(item, "loc"), 1)),
                            "command");
        assert_string_equal(json_string_value(json_object_get(item, "type")), "string_type");
        json_decref(o);
        o = call(&ctx, "POST", "/v1/shell/view", "{\"id\": \"nope\"}", &status);
        assert_int_equal(status, 404);
        assert_string_equal(json_string_value(json_object_get(o, "message")), "Session not found");
        json_decref(o);
        o = call(&ctx, "POST", "/v1/shell/exec", "{\"command\": \"x\", \"hard_timeout\": 0}",
                 &status);
        assert_int_equal(status, 422);
        json_decref(o);
}

static void test_one_command_at_a_time(void **state)
{
        struct api_shells *sh = *state;
        struct api_shell_create c = {.id = "busy"};
        struct api_shell_exec e = {.command = "sleep 0.5"};
        struct api_shell_wait w = {0};
        struct api_shell_session *s;
        struct aio_err err = {0};
        uint64_t gen, gen2;
        bool existed;

        assert_int_equal(api_shell_create(sh, &c, &s, &existed, &err), 0);
        assert_false(existed);
        assert_int_equal(api_shell_start(s, &e, &gen, &err), 0);
        assert_int_equal(api_shell_start(s, &e, &gen2, &err), -EBUSY);
        assert_non_null(strstr(err.msg, "busy"));
        assert_int_equal(api_shell_wait_command(s, gen, &w), API_SHELL_W_DONE);
        e.command = "echo free";
        assert_int_equal(api_shell_start(s, &e, &gen2, &err), 0);
        assert_true(gen2 > gen);
        assert_int_equal(api_shell_wait_command(s, gen2, &w), API_SHELL_W_DONE);
        api_shell_session_unref(s);
}

static void test_close_kills_everything(void **state)
{
        struct api_shells *sh = *state;
        struct api_shell_create c = {.id = "tree"};
        struct api_shell_exec e = {.command = "sleep 100 & sleep 101 | cat & sleep 102"};
        struct api_shell_session *s;
        struct aio_err err = {0};
        uint64_t gen;
        bool existed;
        pid_t bash;

        assert_int_equal(api_shell_create(sh, &c, &s, &existed, &err), 0);
        bash = s->pid;
        assert_int_equal(api_shell_start(s, &e, &gen, &err), 0);
        (void)usleep(300 * 1000);
        api_shell_session_close(sh, s);
        assert_true(s->dead);
        assert_int_equal(kill(bash, 0), -1); /* reaped */
        assert_int_equal(api_shell_kill_tree(bash), 0);
        api_shell_session_unref(s);
        assert_null(api_shells_get(sh, "tree"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exec_and_result),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_one_command_at_a_time),
                cmocka_unit_test(test_close_kills_everything),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
