/* api/sandbox.c and GET /v1/sandbox: upstream's SandboxResponse fields, filled from the real
 * environment; /proc/net/tcp parsing; the one-second cache of occupied ports. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/router.h"
#include "api/sandbox.h"
#include "tests/unit/unit.h"

static void test_ports_parse(void **state)
{
        static const char text[] =
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
                "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0\n"
                "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0\n"
                "   2: 0100007F:1F90 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000  0\n"
                "   3: 0100007F:C350 0100007F:1F90 06 00000000:00000000 00:00000000 00000000  0\n"
                "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 "
                "0A 00000000:00000000 00:00000000 00000000  0\n"
                "garbage\n";
        uint8_t map[8192] = {0};
        size_t set = 0;

        (void)state;
        assert_int_equal(api_ports_parse(text, map), 5);
        for (unsigned p = 0; p < 65536; p++)
                set += (map[p / 8] >> (p % 8)) & 1;
        assert_int_equal(set, 3); /* 8080, 22, 80: LISTEN only, each once */
        assert_true(map[8080 / 8] & (1u << (8080 % 8)));
        assert_true(map[22 / 8] & (1u << (22 % 8)));
        assert_true(map[80 / 8] & (1u << (80 % 8)));
        assert_false(map[50000 / 8] & (1u << (50000 % 8)));
}

static void test_version_parse(void **state)
{
        static const char *const rows[][2] = {
                {"Python 3.11.2\n", "3.11.2"},
                {"v18.19.0\n", "18.19.0"},
                {"node v20.1.0", "20.1.0"},
                {"  7\n", "7"},
                {"version: none", NULL},
                {"", NULL},
                {"vx 1.2", "1.2"},
        };
        char buf[16];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                bool ok = api_version_parse(rows[i][0], buf, sizeof(buf));

                assert_int_equal(ok, rows[i][1] != NULL);
                if (ok)
                        assert_string_equal(buf, rows[i][1]);
        }
        assert_false(api_version_parse("1.2.3.4.5.6.7.8.9.10.11", buf, 8));
}

static char home[64];

static int setup(void **state)
{
        char ws[96];

        (void)state;
        strcpy(home, "/tmp/aio-test-sandbox-XXXXXX");
        if (!mkdtemp(home))
                return -1;
        (void)snprintf(ws, sizeof(ws), "%s/workspace", home);
        return mkdir(ws, 0755);
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
        return system(cmd) == 0 ? 0 : -1;
}

static int listener(unsigned *ret_port)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 1), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        *ret_port = ntohs(a.sin_port);
        return fd;
}

static bool has_port(json_t *ports, unsigned port)
{
        char s[8];
        json_t *v;
        size_t i;

        (void)snprintf(s, sizeof(s), "%u", port);
        json_array_foreach(ports, i, v) {
                assert_true(json_is_string(v));
                if (strcmp(json_string_value(v), s) == 0)
                        return true;
        }
        return false;
}

static const char *str(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        if (!json_is_string(v))
                fail_msg("'%s' is not a string", key);
        return json_string_value(v);
}

/* The required fields of upstream's SandboxResponse / SandboxDetail / SystemEnv / RuntimeEnv /
 * ToolSpec / ToolCategory / AvailableTool, with their types. */
static void check_shape(json_t *o)
{
        static const char *const sys_keys[] = {"os",   "os_version", "arch",
                                               "user", "home_dir",   "timezone"};
        json_t *d = json_object_get(o, "detail"), *sys, *rt, *v, *t;
        size_t i, j;

        assert_true(json_is_true(json_object_get(o, "success")));
        assert_true(json_is_string(json_object_get(o, "data")));
        assert_true(json_is_null(json_object_get(o, "hint")));
        (void)str(o, "message");
        (void)str(o, "home_dir");
        (void)str(o, "version");
        sys = json_object_get(d, "system");
        rt = json_object_get(d, "runtime");
        for (i = 0; i < ELEMENTSOF(sys_keys); i++)
                (void)str(sys, sys_keys[i]);
        assert_true(json_is_array(json_object_get(sys, "occupied_ports")));
        assert_true(json_is_array(json_object_get(rt, "python")));
        assert_true(json_is_array(json_object_get(rt, "nodejs")));
        json_array_foreach(json_object_get(rt, "python"), i, v) {
                assert_true(json_is_string(json_object_get(v, "bin")));
                assert_true(json_is_array(json_object_get(v, "alias")));
        }
        assert_true(json_is_array(json_object_get(d, "utils")));
        json_array_foreach(json_object_get(d, "utils"), i, v) {
                (void)str(v, "category");
                assert_true(json_array_size(json_object_get(v, "tools")) > 0);
                json_array_foreach(json_object_get(v, "tools"), j, t)
                        (void)str(t, "name");
        }
}

static json_t *body_of(struct api_sandbox *sb)
{
        struct aio_err err;
        cleanup_free char *b = NULL;
        json_error_t jerr;
        size_t len;
        json_t *o;

        assert_int_equal(api_sandbox_body(sb, &b, &len, &err), 0);
        assert_int_equal(len, strlen(b));
        o = json_loadb(b, len, JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(o);
        return o;
}

static void test_context_from_env(void **state)
{
        unsigned port;
        cleanup_close int fd = listener(&port);
        struct api_sandbox *sb;
        json_t *o, *sys;
        char ws[96];

        (void)state;
        assert_int_equal(setenv("USER", "tester", 1), 0);
        assert_int_equal(setenv("HOME", home, 1), 0);
        assert_int_equal(setenv("TZ", ":Asia/Tokyo", 1), 0);
        assert_int_equal(unsetenv("WORKSPACE"), 0);
        sb = api_sandbox_new(fd, false);
        o = body_of(sb);
        check_shape(o);
        sys = json_object_get(json_object_get(o, "detail"), "system");
        (void)snprintf(ws, sizeof(ws), "%s/workspace", home);
        assert_string_equal(str(o, "home_dir"), home);
        assert_string_equal(str(o, "workspace"), ws); /* HOME/workspace exists */
        assert_string_equal(str(o, "version"), AIO_VERSION);
        assert_string_equal(str(sys, "user"), "tester");
        assert_string_equal(str(sys, "home_dir"), home);
        assert_string_equal(str(sys, "workspace"), ws);
        assert_string_equal(str(sys, "timezone"), "Asia/Tokyo");
        assert_string_equal(str(sys, "os"), "Linux");
        assert_true(has_port(json_object_get(sys, "occupied_ports"), port));
        assert_non_null(strstr(str(o, "data"), "- User: tester\n"));
        json_decref(o);
        api_sandbox_free(sb);

        /* WORKSPACE wins */
        assert_int_equal(setenv("WORKSPACE", "/srv/ws", 1), 0);
        sb = api_sandbox_new(-1, false);
        o = body_of(sb);
        assert_string_equal(str(o, "workspace"), "/srv/ws");
        json_decref(o);
        api_sandbox_free(sb);
        assert_int_equal(unsetenv("WORKSPACE"), 0);
}

/* What "python3 --version" says, by way of the shell: the reference the probe must match. */
static bool python_version(char *buf, size_t size)
{
        FILE *p = popen("python3 --version 2>/dev/null", "re");
        char out[128] = "";
        bool ok;

        if (!p)
                return false;
        ok = fgets(out, sizeof(out), p) != NULL;
        ok &= pclose(p) == 0;
        return ok && api_version_parse(out, buf, size);
}

static void test_probe_versions(void **state)
{
        struct api_sandbox *sb = api_sandbox_new(-1, true);
        json_t *o, *py;
        char want[64];

        (void)state;
        api_sandbox_probe_wait(sb);
        o = body_of(sb);
        py = json_array_get(
                json_object_get(json_object_get(json_object_get(o, "detail"), "runtime"), "python"),
                0);
        if (python_version(want, sizeof(want))) {
                assert_non_null(py);
                assert_string_equal(str(py, "ver"), want);
                assert_non_null(strstr(str(o, "data"), want));
        } else {
                assert_null(py); /* no python3 here: no entry, not a made-up one */
        }
        json_decref(o);
        api_sandbox_free(sb);
}

static void test_ports_cache(void **state)
{
        struct api_sandbox *sb = api_sandbox_new(-1, false);
        unsigned port;
        json_t *a, *b;
        int fd;

        (void)state;
        a = body_of(sb);
        fd = listener(&port);
        b = body_of(sb);
        /* within a second: the cached answer, byte for byte */
        assert_true(json_equal(a, b));
        json_decref(b);
        usleep(1100 * 1000);
        b = body_of(sb);
        assert_true(
                has_port(json_object_get(json_object_get(json_object_get(b, "detail"), "system"),
                                         "occupied_ports"),
                         port));
        (void)close(fd);
        json_decref(a);
        json_decref(b);
        api_sandbox_free(sb);
}

static void test_route(void **state)
{
        struct api_ctx ctx = {.sandbox = api_sandbox_new(-1, false)};
        struct api_raw_req raw = {.method = "GET", .path = "/v1/sandbox/"};
        struct api_resp resp = {0};
        json_error_t jerr;
        json_t *o;

        (void)state;
        api_dispatch(&raw, &ctx, &resp);
        assert_int_equal(resp.status, 200);
        assert_string_equal(resp.content_type, "application/json");
        o = json_loadb(resp.body, resp.len, 0, &jerr);
        check_shape(o);
        assert_string_equal(str(o, "message"), "Environment information retrieved");
        json_decref(o);
        api_resp_done(&resp);
        raw.method = "DELETE";
        api_dispatch(&raw, &ctx, &resp);
        assert_int_equal(resp.status, 405);
        api_resp_done(&resp);
        api_sandbox_free(ctx.sandbox);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ports_parse),      cmocka_unit_test(test_version_parse),
                cmocka_unit_test(test_context_from_env), cmocka_unit_test(test_probe_versions),
                cmocka_unit_test(test_ports_cache),      cmocka_unit_test(test_route),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
