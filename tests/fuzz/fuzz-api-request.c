/* libFuzzer harness for aio-apid's request path without the network: routing, the JSON body
 * checks, field validation and the sandbox/hooks handlers, through api_dispatch().
 *
 * Input: "METHOD\0PATH\0CONTENT-TYPE\0BODY" (missing parts are empty; an empty content type is
 * none). Besides not crashing or leaking, every answer must be a JSON object in upstream's
 * shapes: a status we use, the envelope on errors, 422 with "errors" and "detail" side by side.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/hooks.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/router.h"
#include "api/routes/routes.h"
#include "api/sandbox.h"

/* The families whose handlers touch nothing outside aio-apid: /v1/file and /v1/bash act on
 * the machine (as root here), so their request checks are fuzzed through their own unit
 * tests and harnesses instead. */
static const struct api_route *const tables[] = {
        api_health_routes,
        api_sandbox_routes,
        api_auth_routes,
        api_docs_routes,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_ctx ctx;

static const char *part(const char **p, const char *end)
{
        const char *s = *p;
        const char *z = memchr(s, '\0', (size_t)(end - s));

        *p = z ? z + 1 : end;
        return s;
}

static void check(const struct api_resp *resp)
{
        static const unsigned ok[] = {200, 400, 403, 404, 405, 409, 413, 422, 500, 503, 504};
        json_error_t jerr;
        json_t *o;
        size_t i;

        for (i = 0; i < sizeof(ok) / sizeof(ok[0]) && ok[i] != resp->status; i++)
                ;
        if (i == sizeof(ok) / sizeof(ok[0]) || !resp->body)
                abort();
        if (strncmp(resp->content_type, "application/json", 16) != 0)
                return; /* the CORS preflight's "OK" */
        o = json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(o))
                abort();
        if (resp->status != 200 &&
            (!json_is_false(json_object_get(o, "success")) || !json_object_get(o, "message")))
                abort();
        if (resp->status == 422 && json_array_size(json_object_get(o, "errors")) !=
                                           json_array_size(json_object_get(o, "detail")))
                abort();
        json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf = malloc(size + 1);
        const char *p = buf, *end = buf + size;
        struct api_raw_req raw = {0};
        struct api_resp resp = {0};

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        if (!ctx.sandbox) {
                /* shutdown hooks are registered but never run here */
                ctx.sandbox = api_sandbox_new(-1, false);
                ctx.hooks = api_hooks_new("true", 1);
        }
        raw.method = part(&p, end);
        raw.path = part(&p, end);
        raw.content_type = part(&p, end);
        if (!*raw.content_type)
                raw.content_type = NULL;
        raw.body = p;
        raw.body_len = (size_t)(end - p);
        raw.origin = size % 3 == 0 ? "http://fuzz" : NULL;
        raw.acr_method = size % 5 == 0 ? "POST" : NULL;
        raw.client_fd = raw.ws_fd = -1;
        api_dispatch_tables(tables, sizeof(tables) / sizeof(tables[0]), &raw, &ctx, &resp);
        check(&resp);
        api_resp_done(&resp);
        free(buf);
        return 0;
}
