/* /v1/shell: persistent bash sessions (upstream-api.md §2.2, §5.1), the terminal WebSocket and
 * the /terminal page. Bodies are checked against upstream's request models (422 naming the
 * field); an unknown session id is 404 "Session not found", except for DELETE
 * /v1/shell/sessions/{id}, which upstream answers 200 with success:false. */
#include "api/shell.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/auth.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/routes/routes.h"
#include "api/shell-internal.h"
#include "api/spawn.h"
#include "api/validate.h"

#define NOT_GIVEN_INT LLONG_MIN
#define MAX_SECONDS   1e7 /* longer timeouts are as good as none */

static double cap_seconds(double v)
{
        return v < MAX_SECONDS ? v : MAX_SECONDS;
}

static bool req_gone(void *cls)
{
        return api_req_gone(cls);
}

static bool wants_sse(const struct api_req *req)
{
        const char *accept = api_header_get(req, "Accept");

        return accept && strstr(accept, "text/event-stream");
}

static void reply_not_found(struct api_resp *resp)
{
        api_reply_error(resp, 404, "Session not found");
}

/* Session ids: anything printable without '/', so every id can be named in a path. */
static bool id_ok(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == '/' || *s == 0x7F)
                        return false;
        return true;
}

static void range_error(json_t *detail, const char *field, const char *msg, const char *type)
{
        json_t *loc = json_pack("[s, s]", "body", field);

        if (!loc)
                abort();
        api_detail_add(detail, loc, msg, type);
}

/* Unpacks body into dst; on bad input replies 422 and returns -EINVAL. */
static int unpack(const struct api_req *req, const struct api_field *f, size_t n, void *dst,
                  size_t size, struct api_resp *resp)
{
        json_t *detail = api_detail_new();

        (void)api_fields_unpack(req->body, f, n, dst, size, detail);
        return api_reply_422_if(resp, detail) ? -EINVAL : 0;
}

/* Looks up the "id" a request names, or replies 404. */
static struct api_shell_session *session_of(const struct api_req *req, const char *id,
                                            struct api_resp *resp)
{
        struct api_shell_session *s = api_shells_get(req->ctx->shells, id);

        if (!s)
                reply_not_found(resp);
        return s;
}

/* ---- exec ----------------------------------------------------------------------------------- */

struct exec_req {
        const char *id, *exec_dir, *command;
        bool async_mode, strict, preserve_symlinks, truncate;
        double timeout, hard_timeout;
        long long no_change_timeout;
};

/* ShellExecRequest */
/* clang-format off */
static const struct api_field exec_fields[] = {
        { "id",                API_T_STRING, false, true,  offsetof(struct exec_req, id),               0, NULL, NULL },
        { "exec_dir",          API_T_STRING, false, true,  offsetof(struct exec_req, exec_dir),         0, NULL, NULL },
        { "command",           API_T_STRING, true,  false, offsetof(struct exec_req, command),          0, NULL, NULL },
        { "async_mode",        API_T_BOOL,   false, false, offsetof(struct exec_req, async_mode),       0, NULL, NULL },
        { "timeout",           API_T_NUMBER, false, true,  offsetof(struct exec_req, timeout),          0, NULL, NULL },
        { "strict",            API_T_BOOL,   false, true,  offsetof(struct exec_req, strict),           0, NULL, NULL },
        { "no_change_timeout", API_T_INT,    false, true,  offsetof(struct exec_req, no_change_timeout), 0, NULL, NULL },
        { "hard_timeout",      API_T_NUMBER, false, true,  offsetof(struct exec_req, hard_timeout),     0, NULL, NULL },
        { "preserve_symlinks", API_T_BOOL,   false, true,  offsetof(struct exec_req, preserve_symlinks), 0, NULL, NULL },
        { "truncate",          API_T_BOOL,   false, false, offsetof(struct exec_req, truncate),         0, NULL, NULL },
};
/* clang-format on */

/* What the field table cannot say: timeouts are positive where a value makes no sense else. */
static int exec_check(const struct exec_req *x, struct api_resp *resp)
{
        json_t *detail = api_detail_new();

        if (x->no_change_timeout != NOT_GIVEN_INT && x->no_change_timeout < 1)
                range_error(detail, "no_change_timeout",
                            "Input should be greater than or equal to 1", "greater_than_equal");
        if (!isnan(x->hard_timeout) && !(x->hard_timeout > 0))
                range_error(detail, "hard_timeout", "Input should be greater than 0",
                            "greater_than");
        if (json_array_size(detail)) {
                api_reply_422(resp, detail);
                return -EINVAL;
        }
        json_decref(detail);
        return 0;
}

static int exec_session(const struct api_req *req, const struct exec_req *x,
                        struct api_shell_session **ret, struct api_resp *resp, struct aio_err *err)
{
        struct api_shell_create c = {.cwd = x->exec_dir, .preserve_symlinks = x->preserve_symlinks};
        bool existed;

        if (x->id && x->id[0]) {
                *ret = session_of(req, x->id, resp);
                return *ret ? 0 : -ENOENT;
        }
        return api_shell_create(req->ctx->shells, &c, ret, &existed, err);
}

static void reply_start_error(struct api_resp *resp, int r, const struct aio_err *err)
{
        if (r == -EBUSY)
                api_reply_error(resp, 409, err->msg);
        else
                api_reply_errno(resp, err);
}

static void exec_sync(const struct api_req *req, const struct exec_req *x,
                      struct api_shell_session *s, uint64_t gen, struct api_resp *resp)
{
        double t = x->timeout > 0 ? cap_seconds(x->timeout) : 0;
        long long nc = x->no_change_timeout != NOT_GIVEN_INT ? x->no_change_timeout : 0;
        struct api_shell_wait w = {
                .soft_deadline_ms = t > 0 ? api_now_ms() + (int64_t)(t * 1000) : 0,
                .gone = req_gone,
                .gone_cls = (void *)req,
        };
        enum api_shell_wait_end how;
        char msg[96];

        if (!nc) {
                (void)pthread_mutex_lock(&s->lock);
                nc = s->no_change_timeout;
                (void)pthread_mutex_unlock(&s->lock);
        }
        w.no_change_s = nc;
        how = api_shell_wait_command(s, gen, &w);
        if (how == API_SHELL_W_TIMEOUT)
                (void)snprintf(msg, sizeof(msg), "Command still running (timeout %gs reached)", t);
        else
                (void)snprintf(msg, sizeof(msg), "Command executed");
        api_reply_ok(resp, msg, api_shell_result(s, gen, x->command, how, x->truncate));
}

static int exec_run(const struct api_req *req, const struct exec_req *x,
                    struct api_shell_session *s, struct api_resp *resp, struct aio_err *err)
{
        cleanup_free char *dir = NULL;
        struct api_shell_exec e = {.command = x->command};
        struct api_shell_sse *sse = NULL;
        bool preserve = s->preserve_symlinks;
        uint64_t gen;
        int r;

        /* preserve_symlinks given with the command wins over the session's */
        if (json_is_boolean(json_object_get(req->body, "preserve_symlinks")))
                preserve = x->preserve_symlinks;
        if (api_shell_exec_dir(x->exec_dir, x->strict, preserve, &dir) < 0) {
                cleanup_free char *out = aio_xasprintf("%s No such file or directory", x->exec_dir);

                api_reply_ok(resp, "Command executed",
                             api_shell_result_refused(s, x->command, out));
                return 0;
        }
        e.dir = dir;
        e.hard_timeout = isnan(x->hard_timeout) ? 0 : cap_seconds(x->hard_timeout);
        if (wants_sse(req))
                sse = api_shell_sse_new(s, false, x->no_change_timeout);
        r = api_shell_start(s, &e, &gen, err);
        if (r < 0) {
                api_shell_sse_free(sse);
                if (r != -EBUSY && r != -ENOENT)
                        api_shell_session_close(req->ctx->shells, s); /* half-sent command */
                reply_start_error(resp, r, err);
                return 0;
        }
        if (sse) {
                api_shell_sse_start(sse, gen, x->truncate);
                api_shell_sse_respond(resp, sse);
        } else if (x->async_mode) {
                api_reply_ok(resp, "Command sent for execution",
                             api_shell_result(s, gen, x->command, API_SHELL_W_TIMEOUT, false));
        } else {
                exec_sync(req, x, s, gen, resp);
        }
        return 0;
}

static int shell_exec(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct exec_req x = {
                .truncate = true, .hard_timeout = NAN, .no_change_timeout = NOT_GIVEN_INT};
        struct api_shell_session *s = NULL;
        int r;

        if (unpack(req, exec_fields, ELEMENTSOF(exec_fields), &x, sizeof(x), resp) < 0 ||
            exec_check(&x, resp) < 0)
                return 0;
        r = exec_session(req, &x, &s, resp, err);
        if (r == -ENOENT && resp->status)
                return 0;
        if (r < 0)
                return r;
        r = exec_run(req, &x, s, resp, err);
        api_shell_session_unref(s);
        return r;
}

/* ---- view, wait, write, kill ---------------------------------------------------------------- */

struct id_req {
        const char *id;
        long long seconds, max_wait_seconds;
        const char *input;
        bool press_enter;
};

/* ShellViewRequest, ShellKillProcessRequest */
/* clang-format off */
static const struct api_field id_fields[] = {
        { "id", API_T_STRING, true, false, offsetof(struct id_req, id), 0, NULL, NULL },
};
/* ShellWaitRequest */
static const struct api_field wait_fields[] = {
        { "id",               API_T_STRING, true,  false, offsetof(struct id_req, id),               0, NULL, NULL },
        { "seconds",          API_T_INT,    false, true,  offsetof(struct id_req, seconds),          0, NULL, NULL },
        { "max_wait_seconds", API_T_INT,    false, true,  offsetof(struct id_req, max_wait_seconds), 0, NULL, NULL },
};
/* ShellWriteToProcessRequest */
static const struct api_field write_fields[] = {
        { "id",          API_T_STRING, true, false, offsetof(struct id_req, id),          0, NULL, NULL },
        { "input",       API_T_STRING, true, false, offsetof(struct id_req, input),       0, NULL, NULL },
        { "press_enter", API_T_BOOL,   true, false, offsetof(struct id_req, press_enter), 0, NULL, NULL },
};
/* clang-format on */

static int shell_view(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct id_req x = {0};
        struct api_shell_session *s;

        (void)err;
        if (unpack(req, id_fields, ELEMENTSOF(id_fields), &x, sizeof(x), resp) < 0)
                return 0;
        s = session_of(req, x.id, resp);
        if (!s)
                return 0;
        if (wants_sse(req))
                api_shell_sse_view(resp, s);
        else
                api_reply_ok(resp, "Session output", api_shell_view(s));
        api_shell_session_unref(s);
        return 0;
}

static const char *wait_message(enum api_shell_status st)
{
        switch (st) {
        case API_SHELL_COMPLETED:
                return "Process completed successfully";
        case API_SHELL_RUNNING:
                return "Process is still running";
        case API_SHELL_NO_CHANGE_TIMEOUT:
                return "Process is still running (no new output yet)";
        case API_SHELL_HARD_TIMEOUT:
                return "Process reached hard timeout";
        case API_SHELL_TERMINATED:
        case _API_SHELL_STATUS_MAX:
                break;
        }
        return "Process terminated";
}

/* Upstream: wait min(seconds (default 30), max_wait_seconds (default 120)). */
static int shell_wait(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct id_req x = {.seconds = NOT_GIVEN_INT, .max_wait_seconds = NOT_GIVEN_INT};
        struct api_shell_session *s;
        enum api_shell_status st;
        long long secs, max;

        (void)err;
        if (unpack(req, wait_fields, ELEMENTSOF(wait_fields), &x, sizeof(x), resp) < 0)
                return 0;
        s = session_of(req, x.id, resp);
        if (!s)
                return 0;
        secs = x.seconds == NOT_GIVEN_INT || x.seconds == 0 ? 30 : x.seconds;
        max = x.max_wait_seconds == NOT_GIVEN_INT || x.max_wait_seconds == 0 ? 120
                                                                             : x.max_wait_seconds;
        secs = secs < max ? secs : max;
        secs = secs < 0 ? 0 : secs > (long long)MAX_SECONDS ? (long long)MAX_SECONDS : secs;
        st = api_shell_wait_idle(s, secs * 1000, req_gone, (void *)req);
        api_reply_ok(resp, wait_message(st),
                     json_pack("{s:s}", "status", api_shell_status_name(st)));
        api_shell_session_unref(s);
        return 0;
}

/* A running command gets the input on its terminal (a control-key name as that key); with no
 * command running, input with press_enter runs as a command (upstream's /write executes it),
 * without it is typed at the prompt. */
static int write_input(const struct api_req *req, const struct id_req *x,
                       struct api_shell_session *s, struct api_resp *resp, struct aio_err *err)
{
        int key = api_shell_control_key(x->input);
        bool running;
        uint64_t gen;
        int r;

        (void)api_shell_status_get(s, &running);
        if (!running && key < 0 && x->press_enter) {
                struct api_shell_exec e = {.command = x->input};

                r = api_shell_start(s, &e, &gen, err);
                if (r < 0 && r != -EBUSY && r != -ENOENT)
                        api_shell_session_close(req->ctx->shells, s);
        } else if (key >= 0) {
                char c = (char)key;

                api_shell_interrupt_ready(s, 5000);
                r = api_shell_type(s, &c, 1, err);
        } else {
                r = api_shell_type(s, x->input, strlen(x->input), err);
                if (r == 0 && x->press_enter)
                        r = api_shell_type(s, "\r", 1, err);
        }
        if (r < 0) {
                reply_start_error(resp, r, err);
                return 0;
        }
        api_reply_ok(resp, "Input executed successfully",
                     json_pack("{s:s}", "status",
                               api_shell_status_name(api_shell_status_get(s, &running))));
        return 0;
}

static int shell_write(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct id_req x = {0};
        struct api_shell_session *s;
        int r;

        if (unpack(req, write_fields, ELEMENTSOF(write_fields), &x, sizeof(x), resp) < 0)
                return 0;
        s = session_of(req, x.id, resp);
        if (!s)
                return 0;
        r = write_input(req, &x, s, resp, err);
        api_shell_session_unref(s);
        return r;
}

/* Upstream's kill ends the session: its bash and everything it started. */
static int shell_kill(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct id_req x = {0};
        struct api_shell_session *s;
        json_t *code;
        bool running;

        (void)err;
        if (unpack(req, id_fields, ELEMENTSOF(id_fields), &x, sizeof(x), resp) < 0)
                return 0;
        s = session_of(req, x.id, resp);
        if (!s)
                return 0;
        (void)api_shell_status_get(s, &running);
        (void)pthread_mutex_lock(&s->lock);
        code = s->has_exit && !running ? json_integer(s->exit_code) : json_null();
        (void)pthread_mutex_unlock(&s->lock);
        api_shell_session_close(req->ctx->shells, s);
        api_shell_session_unref(s);
        api_reply_ok(resp, "Process terminated",
                     json_pack("{s:s, s:O, s:o}", "status", "terminated", "exit_code", code,
                               "returncode", code));
        return 0;
}

/* ---- sessions ------------------------------------------------------------------------------- */

struct create_req {
        const char *id, *exec_dir;
        long long no_change_timeout;
        bool preserve_symlinks;
};

/* ShellCreateSessionRequest */
/* clang-format off */
static const struct api_field create_fields[] = {
        { "id",                API_T_STRING, false, false, offsetof(struct create_req, id),
          API_SHELL_ID_MAX, id_ok, "printable, without '/'" },
        { "exec_dir",          API_T_STRING, false, true,  offsetof(struct create_req, exec_dir),          0, NULL, NULL },
        { "no_change_timeout", API_T_INT,    false, true,  offsetof(struct create_req, no_change_timeout), 0, NULL, NULL },
        { "preserve_symlinks", API_T_BOOL,   false, true,  offsetof(struct create_req, preserve_symlinks), 0, NULL, NULL },
};
/* ShellUpdateSessionRequest */
static const struct api_field update_fields[] = {
        { "id",                API_T_STRING, true,  false, offsetof(struct create_req, id),                0, NULL, NULL },
        { "no_change_timeout", API_T_INT,    false, true,  offsetof(struct create_req, no_change_timeout), 0, NULL, NULL },
};
/* clang-format on */

static int no_change_check(long long v, struct api_resp *resp)
{
        json_t *detail;

        if (v == NOT_GIVEN_INT || v >= 1)
                return 0;
        detail = api_detail_new();
        range_error(detail, "no_change_timeout", "Input should be greater than or equal to 1",
                    "greater_than_equal");
        api_reply_422(resp, detail);
        return -EINVAL;
}

static json_t *created_json(struct api_shell_session *s)
{
        json_t *o;

        (void)pthread_mutex_lock(&s->lock);
        o = json_pack("{s:s, s:s}", "session_id", s->id, "working_dir", s->cwd ? s->cwd : "");
        (void)pthread_mutex_unlock(&s->lock);
        if (!o)
                abort();
        return o;
}

static int sessions_create(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct create_req x = {.no_change_timeout = NOT_GIVEN_INT};
        struct api_shell_session *s;
        struct api_shell_create c;
        bool existed;
        int r;

        if (unpack(req, create_fields, ELEMENTSOF(create_fields), &x, sizeof(x), resp) < 0 ||
            no_change_check(x.no_change_timeout, resp) < 0)
                return 0;
        c = (struct api_shell_create){
                .id = x.id,
                .cwd = x.exec_dir,
                .no_change_timeout = x.no_change_timeout == NOT_GIVEN_INT ? 0 : x.no_change_timeout,
                .preserve_symlinks = x.preserve_symlinks,
        };
        r = api_shell_create(req->ctx->shells, &c, &s, &existed, err);
        if (r < 0)
                return r;
        api_reply_ok(resp,
                     existed ? "Session had created successfully" : "Session created successfully",
                     created_json(s));
        api_shell_session_unref(s);
        return 0;
}

static int sessions_update(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct create_req x = {.no_change_timeout = NOT_GIVEN_INT};
        struct api_shell_session *s;
        json_t *data;

        (void)err;
        if (unpack(req, update_fields, ELEMENTSOF(update_fields), &x, sizeof(x), resp) < 0 ||
            no_change_check(x.no_change_timeout, resp) < 0)
                return 0;
        s = session_of(req, x.id, resp);
        if (!s)
                return 0;
        (void)pthread_mutex_lock(&s->lock);
        if (x.no_change_timeout != NOT_GIVEN_INT)
                s->no_change_timeout = x.no_change_timeout;
        s->last_used_ms = api_shell_realtime_ms();
        data = json_pack("{s:s, s:I}", "session_id", s->id, "no_change_timeout",
                         (json_int_t)s->no_change_timeout);
        (void)pthread_mutex_unlock(&s->lock);
        api_reply_ok(resp, "Session updated successfully", data);
        api_shell_session_unref(s);
        return 0;
}

static int sessions_list(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        json_t *sessions = api_shell_sessions_json(req->ctx->shells);
        char msg[64];

        (void)err;
        (void)snprintf(msg, sizeof(msg), "Found %zu active sessions", json_object_size(sessions));
        api_reply_ok(resp, msg, json_pack("{s:o}", "sessions", sessions));
        return 0;
}

static int sessions_stats(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)err;
        api_reply_ok(resp, "Shell session stats retrieved successfully",
                     api_shell_stats_json(req->ctx->shells));
        return 0;
}

static int sessions_delete_all(const struct api_req *req, struct api_resp *resp,
                               struct aio_err *err)
{
        size_t n = api_shell_close_all(req->ctx->shells);
        char msg[64];

        (void)err;
        (void)snprintf(msg, sizeof(msg), "Cleaned up %zu sessions", n);
        api_reply_ok(resp, msg, json_pack("{s:I}", "cleaned_sessions", (json_int_t)n));
        return 0;
}

static int sessions_delete(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        const char *id = api_param_get(req, "session_id");
        struct api_shell_session *s = api_shells_get(req->ctx->shells, id);
        cleanup_free char *msg = NULL;

        (void)err;
        if (!s) {
                msg = aio_xasprintf("Session %s not found", id);
                api_reply_json(resp, 200,
                               api_envelope(false, msg, json_pack("{s:s}", "session_id", id)));
                return 0;
        }
        api_shell_session_close(req->ctx->shells, s);
        api_shell_session_unref(s);
        msg = aio_xasprintf("Session %s cleaned up successfully", id);
        api_reply_ok(resp, msg, json_pack("{s:s}", "session_id", id));
        return 0;
}

/* ---- the terminal --------------------------------------------------------------------------- */

/* X-Forwarded-Prefix made "" or "/a/b" (no trailing slash, nothing odd). */
static void prefix_norm(const char *p, char *out, size_t size)
{
        size_t n;

        out[0] = '\0';
        if (!p || p[0] != '/' ||
            strspn(p, "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-._~") != strlen(p))
                return;
        (void)snprintf(out, size, "%s", p);
        n = strlen(out);
        while (n && out[n - 1] == '/')
                out[--n] = '\0';
}

static int terminal_url(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        const char *host = api_header_get(req, "X-Forwarded-Host");
        const char *proto = api_header_get(req, "X-Forwarded-Proto");
        struct api_shell_create c = {0};
        struct api_shell_session *s;
        cleanup_free char *url = NULL;
        char prefix[256], ticket[API_TICKET_LEN + 1] = "";
        bool existed;
        int r;

        if (!host || !*host)
                host = api_header_get(req, "Host");
        if (!host || !*host || strpbrk(host, "/?#@ \"<>\\"))
                host = "127.0.0.1:8080";
        proto = proto && strcasecmp(proto, "https") == 0 ? "https" : "http";
        prefix_norm(api_header_get(req, "X-Forwarded-Prefix"), prefix, sizeof(prefix));
        r = api_shell_create(req->ctx->shells, &c, &s, &existed, err);
        if (r < 0)
                return r;
        /* with auth, the URL carries a ticket: a browser opening it has no header to send (the
         * page passes it on to /v1/shell/ws) */
        if (req->ctx->auth && api_auth_ticket_new(req->ctx->auth, ticket, err) < 0) {
                api_shell_session_unref(s);
                return -err->code;
        }
        url = aio_xasprintf("%s://%s%s/terminal?session_id=%s%s%s", proto, host, prefix, s->id,
                            req->ctx->auth ? "&ticket=" : "", req->ctx->auth ? ticket : "");
        api_shell_session_unref(s);
        api_reply_ok(resp, "Terminal URL created successfully", json_string(url));
        return 0;
}

static int shell_ws(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)resp;
        return api_shell_ws_serve(req->ctx->shells, req, err);
}

static int terminal_page(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)req;
        return api_shell_asset(resp, "terminal.html", err);
}

static int terminal_file(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        return api_shell_asset(resp, api_param_get(req, "file"), err);
}

/* clang-format off */
const struct api_route api_shell_routes[] = {
        { "POST",   "/v1/shell/exec",                    shell_exec,          API_F_JSON | API_F_SLOW },
        { "POST",   "/v1/shell/view",                    shell_view,          API_F_JSON },
        { "POST",   "/v1/shell/wait",                    shell_wait,          API_F_JSON | API_F_SLOW },
        { "POST",   "/v1/shell/write",                   shell_write,         API_F_JSON | API_F_SLOW },
        { "POST",   "/v1/shell/kill",                    shell_kill,          API_F_JSON | API_F_SLOW },
        { "POST",   "/v1/shell/sessions/create",         sessions_create,     API_F_JSON | API_F_SLOW },
        { "POST",   "/v1/shell/sessions/update",         sessions_update,     API_F_JSON },
        { "GET",    "/v1/shell/terminal-url",            terminal_url,        API_F_SLOW },
        { "GET",    "/v1/shell/sessions/stats",          sessions_stats,      0 },
        { "GET",    "/v1/shell/sessions",                sessions_list,       0 },
        { "DELETE", "/v1/shell/sessions",                sessions_delete_all, API_F_SLOW },
        { "DELETE", "/v1/shell/sessions/{session_id}",   sessions_delete,     API_F_SLOW },
        { "GET",    "/v1/shell/ws",                      shell_ws,            API_F_WS },
        { "GET",    "/terminal",                         terminal_page,       API_F_PUBLIC },
        { "GET",    "/terminal/{file}",                  terminal_file,       API_F_PUBLIC },
        {0},
};
/* clang-format on */
