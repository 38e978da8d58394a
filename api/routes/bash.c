/* /v1/bash: process-per-command bash sessions (upstream-api.md §2.3, §5.2; api/bash.h). Bodies
 * are checked against upstream's request models; the work is api/bash-req.c's. */
#include "api/bash.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/routes/routes.h"
#include "api/validate.h"

#define OK "Operation successful" /* upstream's default message */

static bool req_gone(const void *cls)
{
        return api_req_gone(cls);
}

static int bash_of(const struct api_req *req, struct api_bash **ret, struct aio_err *err)
{
        if (!req->ctx || !req->ctx->bash)
                return aio_error_msg(err, EAGAIN, "Bash service not available");
        *ret = req->ctx->bash;
        return 0;
}

static json_t *loc2(const char *a, const char *b)
{
        json_t *loc = b ? json_pack("[s, s, s]", "body", a, b) : json_pack("[s, s]", "body", a);

        if (!loc)
                abort();
        return loc;
}

/* Unpacks body into dst; a 422 in resp (and 1 returned) when it does not fit. extra adds checks
 * of its own to the same detail list. */
static int unpack(const json_t *body, const struct api_field *f, size_t n, void *dst, size_t size,
                  void (*extra)(const json_t *body, void *dst, json_t *detail),
                  struct api_resp *resp)
{
        json_t *detail = api_detail_new();

        if (api_fields_unpack(body, f, n, dst, size, detail) == 0 && extra)
                extra(body, dst, detail);
        return api_reply_422_if(resp, detail) ? 1 : 0;
}

/* --- exec ---------------------------------------------------------------------------------- */

struct exec_body {
        const char *session_id, *command, *exec_dir;
        bool async_mode;
        double timeout, hard_timeout;
        long long max_output_length;
        char **env; /* "NAME=value", built by exec_extra */
};

/* BashExecRequest; env (dict[str, str] | null) is checked by exec_extra. */
/* clang-format off */
static const struct api_field exec_fields[] = {
        { "session_id",        API_T_STRING, false, true,  offsetof(struct exec_body, session_id), 0, NULL, NULL },
        { "command",           API_T_STRING, true,  false, offsetof(struct exec_body, command), 0, NULL, NULL },
        { "exec_dir",          API_T_STRING, false, true,  offsetof(struct exec_body, exec_dir), 0, NULL, NULL },
        { "async_mode",        API_T_BOOL,   false, false, offsetof(struct exec_body, async_mode), 0, NULL, NULL },
        { "timeout",           API_T_NUMBER, false, true,  offsetof(struct exec_body, timeout), 0, NULL, NULL },
        { "hard_timeout",      API_T_NUMBER, false, true,  offsetof(struct exec_body, hard_timeout), 0, NULL, NULL },
        { "max_output_length", API_T_INT,    false, false, offsetof(struct exec_body, max_output_length), 0, NULL, NULL },
};
/* clang-format on */

static void env_unpack(const json_t *env, struct exec_body *e, json_t *detail)
{
        const char *k;
        json_t *v;
        size_t i = 0;

        if (json_is_null(env))
                return;
        if (!json_is_object(env)) {
                api_detail_add(detail, loc2("env", NULL), "Input should be a valid dictionary",
                               "dict_type");
                return;
        }
        e->env = calloc(json_object_size(env) + 1, sizeof(char *));
        if (!e->env)
                abort();
        json_object_foreach((json_t *)env, k, v) {
                if (!json_is_string(v)) {
                        api_detail_add(detail, loc2("env", k), "Input should be a valid string",
                                       "string_type");
                        continue;
                }
                if (asprintf(&e->env[i++], "%s=%s", k, json_string_value(v)) < 0)
                        abort();
        }
}

static void negative_check(const json_t *body, const char *name, json_t *detail)
{
        const json_t *v = json_object_get(body, name);

        if (json_is_number(v) && json_number_value(v) < 0)
                api_detail_add(detail, loc2(name, NULL),
                               "Input should be greater than or equal to 0", "greater_than_equal");
}

static void exec_extra(const json_t *body, void *dst, json_t *detail)
{
        struct exec_body *e = dst;
        const json_t *env = json_object_get(body, "env");

        negative_check(body, "timeout", detail);
        negative_check(body, "hard_timeout", detail);
        if (env)
                env_unpack(env, e, detail);
}

static int bash_exec(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct exec_body e = {.timeout = -1, .hard_timeout = -1, .max_output_length = 50000};
        struct api_bash_waiter w = {req_gone, req};
        json_auto_t *body = req->body ? json_deep_copy(req->body) : NULL;
        cleanup_strv char **env = NULL;
        struct api_bash *b = NULL;
        json_t *data, *detail;
        int r = bash_of(req, &b, err);

        if (r < 0)
                return r;
        /* env is a map the field table does not know: checked on its own */
        (void)json_object_del(body, "env");
        detail = api_detail_new();
        (void)api_fields_unpack(body, exec_fields, ELEMENTSOF(exec_fields), &e, sizeof(e), detail);
        if (req->body)
                exec_extra(req->body, &e, detail);
        env = e.env;
        if (json_array_size(detail) > 0) {
                api_reply_422(resp, detail);
                return 0;
        }
        json_decref(detail);
        r = api_bash_exec(b,
                          &(struct api_bash_exec){e.session_id, e.command, e.exec_dir,
                                                  (const char *const *)env, e.async_mode, e.timeout,
                                                  e.hard_timeout, e.max_output_length},
                          &w, &data, err);
        if (r < 0)
                return r;
        api_reply_ok(resp, OK, data);
        return 0;
}

/* --- output, write, kill ------------------------------------------------------------------- */

struct output_body {
        const char *session_id, *command_id;
        long long offset, stderr_offset;
        bool wait;
        double wait_timeout;
};

/* BashOutputRequest */
/* clang-format off */
static const struct api_field output_fields[] = {
        { "session_id",    API_T_STRING, true,  false, offsetof(struct output_body, session_id), 0, NULL, NULL },
        { "command_id",    API_T_STRING, false, true,  offsetof(struct output_body, command_id), 0, NULL, NULL },
        { "offset",        API_T_INT,    false, false, offsetof(struct output_body, offset), 0, NULL, NULL },
        { "stderr_offset", API_T_INT,    false, false, offsetof(struct output_body, stderr_offset), 0, NULL, NULL },
        { "wait",          API_T_BOOL,   false, false, offsetof(struct output_body, wait), 0, NULL, NULL },
        { "wait_timeout",  API_T_NUMBER, false, false, offsetof(struct output_body, wait_timeout), 0, NULL, NULL },
};
/* clang-format on */

static void output_extra(const json_t *body, void *dst, json_t *detail)
{
        (void)dst;
        negative_check(body, "wait_timeout", detail);
}

static int bash_output(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct output_body o = {.wait_timeout = 30};
        struct api_bash_waiter w = {req_gone, req};
        struct api_bash *b = NULL;
        json_t *data;
        int r = bash_of(req, &b, err);

        if (r < 0)
                return r;
        if (unpack(req->body, output_fields, ELEMENTSOF(output_fields), &o, sizeof(o), output_extra,
                   resp))
                return 0;
        r = api_bash_output(b,
                            &(struct api_bash_output){o.session_id, o.command_id, o.offset,
                                                      o.stderr_offset, o.wait, o.wait_timeout},
                            &w, &data, err);
        if (r < 0)
                return r;
        api_reply_ok(resp, OK, data);
        return 0;
}

struct write_body {
        const char *session_id, *command_id, *input;
};

/* BashWriteRequest */
/* clang-format off */
static const struct api_field write_fields[] = {
        { "session_id", API_T_STRING, true,  false, offsetof(struct write_body, session_id), 0, NULL, NULL },
        { "command_id", API_T_STRING, false, true,  offsetof(struct write_body, command_id), 0, NULL, NULL },
        { "input",      API_T_STRING, true,  false, offsetof(struct write_body, input), 0, NULL, NULL },
};
/* clang-format on */

static int bash_write(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct write_body wb = {0};
        struct api_bash_waiter w = {req_gone, req};
        struct api_bash *b = NULL;
        int r = bash_of(req, &b, err);

        if (r < 0)
                return r;
        if (unpack(req->body, write_fields, ELEMENTSOF(write_fields), &wb, sizeof(wb), NULL, resp))
                return 0;
        r = api_bash_write(b, wb.session_id, wb.command_id, wb.input, strlen(wb.input), &w, err);
        if (r < 0)
                return r;
        api_reply_ok(resp, "Input written", NULL);
        return 0;
}

struct kill_body {
        const char *session_id, *signal;
};

/* BashKillRequest */
/* clang-format off */
static const struct api_field kill_fields[] = {
        { "session_id", API_T_STRING, true,  false, offsetof(struct kill_body, session_id), 0, NULL, NULL },
        { "signal",     API_T_STRING, false, false, offsetof(struct kill_body, signal), 0, NULL, NULL },
};
/* clang-format on */

static void kill_extra(const json_t *body, void *dst, json_t *detail)
{
        const struct kill_body *k = dst;

        (void)body;
        if (api_bash_signal_parse(k->signal) == 0)
                api_detail_add(detail, loc2("signal", NULL),
                               "Input should be 'SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', "
                               "'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP' or 'SIGCONT'",
                               "enum");
}

static int bash_kill(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct kill_body k = {.signal = "SIGTERM"};
        struct api_bash *b = NULL;
        char msg[64];
        int r = bash_of(req, &b, err);

        if (r < 0)
                return r;
        if (unpack(req->body, kill_fields, ELEMENTSOF(kill_fields), &k, sizeof(k), kill_extra,
                   resp))
                return 0;
        r = api_bash_kill(b, k.session_id, api_bash_signal_parse(k.signal), err);
        if (r < 0)
                return r;
        (void)snprintf(msg, sizeof(msg), "Signal %s sent", k.signal);
        api_reply_ok(resp, msg, NULL);
        return 0;
}

/* --- sessions ------------------------------------------------------------------------------ */

static int bash_sessions(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct api_bash *b = NULL;
        int r = bash_of(req, &b, err);

        if (r < 0)
                return r;
        api_reply_ok(resp, OK, api_bash_sessions(b));
        return 0;
}

struct create_body {
        const char *session_id, *exec_dir, *snapshot_path;
};

/* BashSessionCreateRequest */
/* clang-format off */
static const struct api_field create_fields[] = {
        { "session_id",    API_T_STRING, false, true, offsetof(struct create_body, session_id), 0, NULL, NULL },
        { "exec_dir",      API_T_STRING, false, true, offsetof(struct create_body, exec_dir), 0, NULL, NULL },
        { "snapshot_path", API_T_STRING, false, true, offsetof(struct create_body, snapshot_path), 0, NULL, NULL },
};
/* clang-format on */

static int bash_create(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct create_body c = {0};
        struct api_bash *b = NULL;
        json_t *data;
        int r = bash_of(req, &b, err);

        if (r < 0)
                return r;
        if (unpack(req->body, create_fields, ELEMENTSOF(create_fields), &c, sizeof(c), NULL, resp))
                return 0;
        r = api_bash_session_create(b, c.session_id, c.exec_dir, c.snapshot_path, &data, err);
        if (r < 0)
                return r;
        api_reply_ok(resp, OK, data);
        return 0;
}

static int bash_close(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        const char *id = api_param_get(req, "session_id");
        struct api_bash *b = NULL;
        char msg[320];
        int r = bash_of(req, &b, err);

        if (r == 0)
                r = api_bash_session_close(b, id, err);
        if (r < 0)
                return r;
        (void)snprintf(msg, sizeof(msg), "Session %.256s closed", id);
        api_reply_ok(resp, msg, NULL);
        return 0;
}

/* clang-format off */
const struct api_route api_bash_routes[] = {
        { "POST", "/v1/bash/exec",                       bash_exec,     API_F_JSON | API_F_SLOW },
        { "POST", "/v1/bash/output",                     bash_output,   API_F_JSON | API_F_SLOW },
        { "POST", "/v1/bash/write",                      bash_write,    API_F_JSON | API_F_SLOW },
        { "POST", "/v1/bash/kill",                       bash_kill,     API_F_JSON },
        { "GET",  "/v1/bash/sessions",                   bash_sessions, 0 },
        { "POST", "/v1/bash/sessions/create",            bash_create,   API_F_JSON },
        { "POST", "/v1/bash/sessions/{session_id}/close", bash_close,   0 },
        {0},
};
/* clang-format on */
