#include "router.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/auth.h"
#include "api/origin.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/routes/routes.h"

/* Explicit, greppable, no constructors: a family's table is served once it is listed here. */
static const struct api_route *const route_tables[] = {
        api_health_routes, api_sandbox_routes, api_auth_routes,
        api_docs_routes,   api_bash_routes,    api_file_routes,
        api_health_routes, api_sandbox_routes, api_shell_routes,
};

const struct api_route *const *api_route_tables(size_t *ret_n)
{
        *ret_n = ELEMENTSOF(route_tables);
        return route_tables;
}

struct span {
        const char *name; /* in the pattern, after '{' */
        size_t name_len;
        const char *value; /* in the path */
        size_t value_len;
};

/* Walks pattern and path one "/segment" at a time; {name} takes one non-empty segment. */
static bool pattern_match(const char *p, const char *s, struct span *spans, size_t *ret_n)
{
        size_t n = 0;

        while (*p == '/' && *s == '/') {
                const char *pe = strchrnul(++p, '/'), *se = strchrnul(++s, '/');
                size_t plen = (size_t)(pe - p), slen = (size_t)(se - s);

                if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
                        if (slen == 0 || n == API_MAX_PARAMS)
                                return false;
                        spans[n++] = (struct span){p + 1, plen - 2, s, slen};
                } else if (plen != slen || memcmp(p, s, plen) != 0) {
                        return false;
                }
                p = pe;
                s = se;
        }
        if (*p || *s)
                return false;
        *ret_n = n;
        return true;
}

static bool method_match(const char *row, const char *method)
{
        return strcmp(row, method) == 0 || (strcmp(method, "HEAD") == 0 && strcmp(row, "GET") == 0);
}

static bool allow_has(const char *allow, const char *method)
{
        size_t mlen = strlen(method);

        for (const char *a = allow; *a;) {
                size_t n = strcspn(a, ",");

                if (n == mlen && strncmp(a, method, mlen) == 0)
                        return true;
                a += n;
                a += strspn(a, ", ");
        }
        return false;
}

static void allow_add(char *allow, size_t size, const char *method)
{
        size_t len = strlen(allow);

        if (!allow_has(allow, method))
                (void)snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

static void captures_store(struct api_match *m, const struct span *spans, size_t n)
{
        char *w = m->buf;

        /* name\0value\0 pairs; a path that fits in buf always fits here (a subset of it plus
         * names from our own patterns, checked by the caller's length bound) */
        for (size_t i = 0; i < n; i++) {
                m->params[i].key = w;
                memcpy(w, spans[i].name, spans[i].name_len);
                w += spans[i].name_len;
                *w++ = '\0';
                m->params[i].value = w;
                memcpy(w, spans[i].value, spans[i].value_len);
                w += spans[i].value_len;
                *w++ = '\0';
        }
        m->n_params = n;
}

static enum api_match_result route_match(const struct api_route *const *tables, size_t n_tables,
                                         const char *method, const char *path,
                                         struct api_match *ret)
{
        struct span spans[API_MAX_PARAMS];
        char norm[sizeof(ret->buf) / 2];
        size_t len = strlen(path), n;

        memset(ret, 0, sizeof(*ret));
        if (len >= sizeof(norm) || path[0] != '/')
                return API_MATCH_NO_PATH;
        memcpy(norm, path, len + 1);
        if (len > 1 && norm[len - 1] == '/')
                norm[len - 1] = '\0';
        for (size_t t = 0; t < n_tables; t++)
                for (const struct api_route *r = tables[t]; r->method; r++) {
                        if (!pattern_match(r->pattern, norm, spans, &n))
                                continue;
                        if (!method_match(r->method, method)) {
                                allow_add(ret->allow, sizeof(ret->allow), r->method);
                                if (strcmp(r->method, "GET") == 0)
                                        allow_add(ret->allow, sizeof(ret->allow), "HEAD");
                                continue;
                        }
                        ret->route = r;
                        captures_store(ret, spans, n);
                        return API_MATCH_OK;
                }
        return ret->allow[0] ? API_MATCH_NO_METHOD : API_MATCH_NO_PATH;
}

enum api_match_result api_route_match(const struct api_route *const *tables, size_t n_tables,
                                      const char *method, const char *path, struct api_match *ret)
{
        enum api_match_result r = route_match(tables, n_tables, method, path, ret);

        ret->matched = true;
        ret->result = r;
        return r;
}

static bool header_list_ok(const char *s)
{
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_, ");

        return n < 256 && s[n] == '\0';
}

/* CORS: any origin may call, without credentials (auth is a header, never a cookie). A preflight
 * asking for Private Network Access is not granted that header. */
static void cors_preflight(const struct api_raw_req *raw, struct api_resp *resp)
{
        static const char ok[] = "OK";

        resp->status = 200;
        resp->body = aio_xstrdup(ok);
        resp->len = sizeof(ok) - 1;
        resp->content_type = "text/plain; charset=utf-8";
        api_resp_header(resp, "Access-Control-Allow-Methods",
                        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
        if (raw->acr_headers && header_list_ok(raw->acr_headers))
                api_resp_header(resp, "Access-Control-Allow-Headers", raw->acr_headers);
        api_resp_header(resp, "Access-Control-Max-Age", "600");
}

void api_dispatch_run(const struct api_match *m, const struct api_raw_req *raw, struct api_ctx *ctx,
                      struct api_resp *resp)
{
        struct api_req req = {
                .method = raw->method,
                .path = raw->path,
                .n_params = m->n_params,
                .query = raw->query,
                .n_query = raw->n_query,
                .ctx = ctx,
                .raw = raw,
        };
        struct aio_err err = {0};
        int r;

        memcpy(req.params, m->params, sizeof(req.params));
        if ((m->route->flags & API_F_JSON) &&
            api_body_parse(raw->content_type, raw->body, raw->body_len, &req.body, resp) < 0)
                return;
        r = m->route->fn(&req, resp, &err);
        json_decref(req.body);
        if (r < 0)
                api_reply_errno(resp, &err);
        else if (resp->status == 0)
                api_reply_error(resp, 500, "Internal server error: the handler gave no answer");
}

/* Whether the request came over a Unix socket (its Host says nothing). */
static bool over_unix_socket(const struct api_raw_req *raw)
{
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof(ss);

        return raw->client_fd >= 0 &&
               getsockname(raw->client_fd, (struct sockaddr *)&ss, &len) == 0 &&
               ss.ss_family == AF_UNIX;
}

/* An open API answers browsers on loopback pages only, and loopback Hosts only (origin.h). */
static bool open_api_guard(const struct api_raw_req *raw, struct api_resp *resp)
{
        const char *host = raw->header ? raw->header(raw->header_cls, "Host") : NULL;

        if (raw->origin && !api_origin_is_loopback(raw->origin)) {
                api_reply_error(resp, 403,
                                "Cross-origin request refused: the API has no key, so only pages "
                                "served from localhost may call it (set SANDBOX_API_KEY)");
                return false;
        }
        if (host && !api_host_is_loopback(host) && !over_unix_socket(raw)) {
                api_reply_error(resp, 403,
                                "Host refused: the API has no key, so it answers only to "
                                "localhost, 127.0.0.1 or [::1] (set SANDBOX_API_KEY)");
                return false;
        }
        return true;
}

bool api_dispatch_check(const struct api_route *const *tables, size_t n_tables,
                        const struct api_raw_req *raw, struct api_ctx *ctx, struct api_resp *resp,
                        struct api_match *m)
{
        bool open = !ctx || !ctx->auth;

        if (open && !open_api_guard(raw, resp))
                return false;
        if (raw->origin)
                api_resp_header(resp, "Access-Control-Allow-Origin", "*");
        if (raw->origin && raw->acr_method && strcmp(raw->method, "OPTIONS") == 0) {
                cors_preflight(raw, resp);
                return false;
        }
        switch (m->matched ? m->result
                           : api_route_match(tables, n_tables, raw->method, raw->path, m)) {
        case API_MATCH_OK:
                break;
        case API_MATCH_NO_METHOD:
                api_resp_header(resp, "Allow", m->allow);
                api_reply_error(resp, 405, "Method Not Allowed");
                return false;
        case API_MATCH_NO_PATH:
        case _API_MATCH_MAX:
                api_reply_error(resp, 404, "Not Found");
                return false;
        }
        /* Credentials (api/auth.h); rows flagged public answer for themselves. */
        if (!(m->route->flags & API_F_PUBLIC) && !api_auth_gate(ctx ? ctx->auth : NULL, raw, resp))
                return false;
        /* No admin tokens exist yet: admin rows fail closed. */
        if (m->route->flags & API_F_ADMIN) {
                api_reply_error(resp, 403, "Admin token required");
                return false;
        }
        return true;
}

void api_dispatch_tables(const struct api_route *const *tables, size_t n_tables,
                         const struct api_raw_req *raw, struct api_ctx *ctx, struct api_resp *resp)
{
        struct api_match m;

        m.matched = false;
        if (api_dispatch_check(tables, n_tables, raw, ctx, resp, &m))
                api_dispatch_run(&m, raw, ctx, resp);
}

void api_dispatch(const struct api_raw_req *raw, struct api_ctx *ctx, struct api_resp *resp)
{
        size_t n;
        const struct api_route *const *t = api_route_tables(&n);

        api_dispatch_tables(t, n, raw, ctx, resp);
}
