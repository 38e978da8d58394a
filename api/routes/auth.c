/* POST /tickets and GET /auth (upstream-api.md §2.12, §4.2), outside /v1 and outside the
 * envelope on success:
 *   POST /tickets -> {"ticket": "<uuid4>", "expires_in": 30}; needs credentials like any route,
 *                    but not a ticket (a leaked ticket must not buy itself a successor).
 *   GET /auth     -> {"status": "ok", "message": "..."} or a 401 envelope: the nginx
 *                    auth_request endpoint, so it reads the ticket and ?api_key= from the
 *                    X-Original-URI header as well as from its own query. It answers for
 *                    itself (API_F_PUBLIC): a 401 here is its answer, not the gate's. */
#include "api/auth.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/routes/routes.h"

static int tickets_create(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct api_auth *a = req->ctx ? req->ctx->auth : NULL;
        char ticket[API_TICKET_LEN + 1];
        json_t *o;
        int ttl;

        if (a && api_query_get(req, "ticket")) {
                api_auth_reply_401(resp,
                                   "A ticket cannot be exchanged for another ticket: authenticate "
                                   "with the API key or a JWT",
                                   true);
                return 0;
        }
        ttl = api_auth_ticket_new(a, ticket, err);
        if (ttl < 0)
                return ttl;
        o = json_pack("{s:s, s:i}", "ticket", ticket, "expires_in", ttl);
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
        return 0;
}

/* The value of key in the query part of uri, %XX-decoded into buf (the first occurrence). */
static const char *uri_query_get(const char *uri, const char *key, char *buf, size_t size)
{
        const char *q = uri ? strchr(uri, '?') : NULL;
        size_t klen = strlen(key);

        if (!q)
                return NULL;
        for (q++;; q++) {
                size_t n = strcspn(q, "&#");

                if (n > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
                        if (n - klen - 1 >= size)
                                return NULL;
                        memcpy(buf, q + klen + 1, n - klen - 1);
                        buf[n - klen - 1] = '\0';
                        (void)api_unescape(buf);
                        return buf;
                }
                q += n;
                if (*q != '&')
                        return NULL;
        }
}

static int auth_check(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct api_auth *a = req->ctx ? req->ctx->auth : NULL;
        const char *uri = api_header_get(req, "X-Original-URI");
        char ticket[256], key[1024], msg[64];
        struct api_auth_creds c = {0};
        struct aio_err aerr = {0};
        json_t *o;
        int m;

        (void)err;
        if (req->raw)
                api_auth_creds_get(req->raw, &c);
        if (!c.ticket)
                c.ticket = uri_query_get(uri, "ticket", ticket, sizeof(ticket));
        if (!c.key)
                c.key = uri_query_get(uri, "api_key", key, sizeof(key));
        m = a ? api_auth_verify(a, &c, &aerr) : -1;
        explicit_bzero(key, sizeof(key));
        if (a && m < 0) {
                api_auth_reply_401(resp, aerr.msg, c.ticket || c.key || c.authorization);
                return 0;
        }
        if (a)
                (void)snprintf(msg, sizeof(msg), "Authenticated by %s",
                               api_auth_method_to_string((enum api_auth_method)m));
        o = json_pack("{s:s, s:s}", "status", "ok", "message",
                      a ? msg : "Authentication is not configured: every request is accepted");
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
        return 0;
}

/* clang-format off */
const struct api_route api_auth_routes[] = {
        { "POST", "/tickets", tickets_create, 0 },
        { "GET",  "/auth",    auth_check,     API_F_PUBLIC },
        {0},
};
/* clang-format on */
