#include "request.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/reply.h"

static bool is_token_char(char c)
{
        return c && c != ';' && c != ' ' && c != '\t';
}

int api_content_type_is_json(const char *ct)
{
        size_t n;

        if (!ct)
                return 0;
        while (*ct == ' ' || *ct == '\t')
                ct++;
        if (strncasecmp(ct, "application/", 12) != 0)
                return 0;
        ct += 12;
        for (n = 0; is_token_char(ct[n]); n++)
                ;
        if (n == 4 && strncasecmp(ct, "json", 4) == 0)
                return 1;
        return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static json_t *body_loc(json_t *extra)
{
        json_t *loc = json_pack("[s]", "body");

        if (!loc)
                abort();
        if (extra)
                (void)json_array_append_new(loc, extra);
        return loc;
}

/* FastAPI: a body that is not a JSON object fails model validation with this item. */
static int reply_not_object(struct api_resp *resp)
{
        json_t *detail = json_array();

        if (!detail)
                abort();
        api_detail_add(detail, body_loc(NULL),
                       "Input should be a valid dictionary or object to extract fields from",
                       "model_attributes_type");
        api_reply_422(resp, detail);
        return -EINVAL;
}

static int reply_json_invalid(struct api_resp *resp, const json_error_t *jerr)
{
        json_t *detail = json_array(), *item;

        if (!detail)
                abort();
        api_detail_add(detail, body_loc(json_integer(jerr->position)), "JSON decode error",
                       "json_invalid");
        item = json_array_get(detail, 0);
        (void)json_object_set_new(item, "input", json_object());
        (void)json_object_set_new(item, "ctx", json_pack("{s:s}", "error", jerr->text));
        api_reply_422(resp, detail);
        return -EINVAL;
}

int api_body_parse(const char *content_type, const char *body, size_t len, json_t **ret_body,
                   struct api_resp *resp)
{
        json_error_t jerr;
        json_t *v;

        if (len == 0) {
                *ret_body = NULL;
                return 0;
        }
        if (content_type && !api_content_type_is_json(content_type))
                return reply_not_object(resp);
        /* No JSON_ALLOW_NUL: "\u0000" in a string is an error. Any JSON value parses (a number
         * is valid JSON); what is not an object is refused below, as pydantic does. */
        v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!v)
                return reply_json_invalid(resp, &jerr);
        if (!json_is_object(v)) {
                json_decref(v);
                return reply_not_object(resp);
        }
        *ret_body = v;
        return 0;
}

static const char *kv_get(const struct api_kv *kv, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (kv[i].key && strcmp(kv[i].key, key) == 0)
                        return kv[i].value;
        return NULL;
}

const char *api_param_get(const struct api_req *req, const char *name)
{
        return kv_get(req->params, req->n_params, name);
}

const char *api_query_get(const struct api_req *req, const char *key)
{
        return kv_get(req->query, req->n_query, key);
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

size_t api_unescape(char *s)
{
        char *r = s, *w = s;

        while (*r) {
                int hi = r[0] == '%' ? hexval(r[1]) : -1, lo = hi >= 0 ? hexval(r[2]) : -1;

                if (lo >= 0 && (hi | lo) != 0) {
                        *w++ = (char)(hi * 16 + lo);
                        r += 3;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
        return (size_t)(w - s);
}

const char *api_header_get(const struct api_req *req, const char *name)
{
        const struct api_raw_req *raw = req->raw;

        if (!raw || !raw->header)
                return NULL;
        return raw->header(raw->header_cls, name);
}

bool api_req_gone(const struct api_req *req)
{
        struct pollfd p = {.events = POLLRDHUP};

        if (!req->raw || req->raw->client_fd < 0)
                return false;
        p.fd = req->raw->client_fd;
        if (poll(&p, 1, 0) <= 0)
                return false;
        return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}
