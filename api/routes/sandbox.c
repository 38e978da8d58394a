/* /v1/sandbox: the sandbox context and the shutdown hooks (upstream-api.md §2.1, §2.13). */
#include "api/sandbox.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/api.h"
#include "api/hooks.h"
#include "api/packages.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/routes/routes.h"
#include "api/validate.h"

static int sandbox_get(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        char *body;
        size_t len;
        int r = api_sandbox_body(req->ctx->sandbox, &body, &len, err);

        if (r < 0)
                return r;
        resp->status = 200;
        resp->body = body;
        resp->len = len;
        resp->content_type = "application/json";
        return 0;
}

static int event_check(const char *event, struct aio_err *err)
{
        if (strcmp(event, "shutdown") != 0)
                return aio_error_msg(err, EINVAL,
                                     "Unsupported event: '%s'. Supported: \"shutdown\"", event);
        return 0;
}

struct hook_req {
        const char *name, *event, *command;
        double timeout;
        long long priority;
};

static bool hook_name_pattern(const char *s)
{
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

        return n > 0 && s[n] == '\0';
}

/* RegisterHookRequest */
/* clang-format off */
static const struct api_field hook_fields[] = {
        { "name",     API_T_STRING, true, false, offsetof(struct hook_req, name),
          API_HOOK_NAME_MAX, hook_name_pattern, "^[a-zA-Z0-9_-]+$" },
        { "event",    API_T_STRING, false, false, offsetof(struct hook_req, event), 0, NULL, NULL },
        { "command",  API_T_STRING, true, false, offsetof(struct hook_req, command),
          API_HOOK_COMMAND_MAX, NULL, NULL },
        { "timeout",  API_T_NUMBER, false, false, offsetof(struct hook_req, timeout), 0, NULL, NULL },
        { "priority", API_T_INT,    false, false, offsetof(struct hook_req, priority), 0, NULL, NULL },
};
/* clang-format on */

static int hooks_register(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct hook_req h = {.event = "shutdown", .timeout = 10, .priority = 100};
        json_t *detail = api_detail_new(), *hook;
        int r;

        (void)api_fields_unpack(req->body, hook_fields, ELEMENTSOF(hook_fields), &h, sizeof(h),
                                detail);
        if (api_reply_422_if(resp, detail))
                return 0;
        r = event_check(h.event, err);
        if (r < 0)
                return r;
        r = api_hook_register(req->ctx->hooks, h.name, h.command, h.timeout, h.priority, &hook,
                              err);
        if (r < 0)
                return r;
        api_reply_ok(resp, "Hook registered", hook);
        return 0;
}

static int hooks_list(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        const char *event = api_query_get(req, "event");
        int r = event_check(event ? event : "shutdown", err);

        if (r < 0)
                return r;
        api_reply_ok(resp, "Hooks listed", api_hooks_list(req->ctx->hooks));
        return 0;
}

static int hooks_remove(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        int r = api_hook_remove(req->ctx->hooks, api_param_get(req, "name"), err);

        if (r < 0)
                return r;
        api_reply_ok(resp, "Hook removed", NULL);
        return 0;
}

/* clang-format off */
const struct api_route api_sandbox_routes[] = {
        { "GET",    "/v1/sandbox",              sandbox_get,    0 },
        { "GET",    "/v1/sandbox/packages/python", api_packages_python, API_F_SLOW },
        { "GET",    "/v1/sandbox/packages/nodejs", api_packages_nodejs, API_F_SLOW },
        { "POST",   "/v1/sandbox/hooks",        hooks_register, API_F_JSON },
        { "GET",    "/v1/sandbox/hooks",        hooks_list,     0 },
        { "DELETE", "/v1/sandbox/hooks/{name}", hooks_remove,   0 },
        {0},
};
/* clang-format on */
