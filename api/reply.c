#include "reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/json-write.h"

/* clang-format off */
static const unsigned short errno_status[] = {
        [EINVAL]    = 400, [ERANGE] = 400,
        [EPERM]     = 403, [EACCES] = 403,
        [ENOENT]    = 404,
        [EEXIST]    = 409,
        [E2BIG]     = 413,
        [ETIMEDOUT] = 504,
        [EAGAIN]    = 503, [ENOMEM] = 503,
};
/* clang-format on */

unsigned api_errno_status(int code)
{
        if (code < 0)
                code = -code;
        if ((size_t)code < sizeof(errno_status) / sizeof(errno_status[0]) && errno_status[code])
                return errno_status[code];
        return 500;
}

json_t *api_envelope(bool success, const char *message, json_t *data)
{
        json_t *o = json_object();

        if (!o)
                abort();
        (void)json_object_set_new(o, "success", json_boolean(success));
        (void)json_object_set_new(o, "message", message ? json_string(message) : json_null());
        (void)json_object_set_new(o, "data", data ? data : json_null());
        (void)json_object_set_new(o, "hint", json_null());
        return o;
}

static void reply_body(struct api_resp *resp, unsigned status, char *body, size_t len)
{
        free(resp->body);
        resp->body = body;
        resp->len = len;
        resp->status = status;
        resp->content_type = "application/json";
}

/* A string from json_stringn_nocheck that is not UTF-8, a NaN: our bug, answered as one rather
 * than with bytes that are not JSON. Written as it is (strerror's text needs no escape). */
static void reply_unwritable(struct api_resp *resp, int r)
{
        char *body = aio_xasprintf("{\"success\":false,\"message\":\"Internal server error: the "
                                   "answer cannot be written as JSON (%s)\",\"data\":null,"
                                   "\"hint\":null}",
                                   strerror(-r));

        reply_body(resp, 500, body, strlen(body));
}

void api_reply_json(struct api_resp *resp, unsigned status, json_t *obj)
{
        size_t len = 0;
        int r = 0;
        char *s = api_json_dump(obj, &len, &r);

        json_decref(obj);
        if (!s)
                reply_unwritable(resp, r);
        else
                reply_body(resp, status, s, len);
}

void api_reply_ok_text(struct api_resp *resp, const char *message, const char *key,
                       const char *text, size_t len, json_t *rest)
{
        static const char head[] = "{\"success\":true,\"message\":";
        size_t mlen = strlen(message), klen = strlen(key), blen;
        struct api_jbuf b;
        char *body;
        int r;

        api_jbuf_init(&b, len + len / 8 + mlen + klen + api_json_size_hint(rest) + 64);
        api_jbuf_put(&b, head, sizeof(head) - 1);
        r = api_json_put_string(&b, message, mlen);
        api_jbuf_put(&b, ",\"data\":{", 9);
        if (r == 0)
                r = api_json_put_string(&b, key, klen);
        api_jbuf_put(&b, ":", 1);
        if (r == 0)
                r = api_json_put_string(&b, text, len);
        if (r == 0 && rest)
                r = api_json_put_members(&b, rest, false);
        api_jbuf_put(&b, "},\"hint\":null}", 14);
        json_decref(rest);
        if (r < 0) {
                api_jbuf_free(&b);
                reply_unwritable(resp, r);
                return;
        }
        body = api_jbuf_take(&b, &blen);
        reply_body(resp, 200, body, blen);
}

void api_reply_ok(struct api_resp *resp, const char *message, json_t *data)
{
        api_reply_json(resp, 200, api_envelope(true, message, data));
}

void api_reply_error(struct api_resp *resp, unsigned status, const char *message)
{
        api_reply_json(resp, status, api_envelope(false, message, NULL));
}

void api_reply_errno(struct api_resp *resp, const struct aio_err *err)
{
        unsigned status = api_errno_status(err->code);
        char msg[sizeof(err->msg) + 32];

        /* Upstream's general handler: "Internal server error: <exception>". */
        if (status == 500)
                (void)snprintf(msg, sizeof(msg), "Internal server error: %s", err->msg);
        else
                (void)snprintf(msg, sizeof(msg), "%s", err->msg);
        api_reply_error(resp, status, msg);
}

void api_detail_add(json_t *list, json_t *loc, const char *msg, const char *type)
{
        json_t *item = json_pack("{s:o, s:s, s:s}", "loc", loc, "msg", msg, "type", type);

        if (!item)
                abort();
        (void)json_array_append_new(list, item);
}

/* FastAPI documents {"detail":[{"loc","msg","type"}]}; the real server sends
 * {"success":false,"message":...,"data":null,"errors":[{"location","message","type"}]}.
 * Both, so either reader finds what it expects (upstream-api.md §1.2). */
void api_reply_422(struct api_resp *resp, json_t *detail)
{
        json_t *errors = json_array(), *o = json_object(), *item;
        size_t i;

        if (!errors || !o)
                abort();
        json_array_foreach(detail, i, item) {
                json_t *e = json_pack("{s:O, s:O, s:O}", "location", json_object_get(item, "loc"),
                                      "message", json_object_get(item, "msg"), "type",
                                      json_object_get(item, "type"));

                if (!e)
                        abort();
                (void)json_array_append_new(errors, e);
        }
        (void)json_object_set_new(o, "success", json_false());
        (void)json_object_set_new(o, "message", json_string("Request data validation failed"));
        (void)json_object_set_new(o, "data", json_null());
        (void)json_object_set_new(o, "errors", errors);
        (void)json_object_set_new(o, "detail", detail);
        api_reply_json(resp, 422, o);
}

json_t *api_detail_new(void)
{
        json_t *d = json_array();

        if (!d)
                abort();
        return d;
}

bool api_reply_422_if(struct api_resp *resp, json_t *detail)
{
        if (json_array_size(detail) == 0) {
                json_decref(detail);
                return false;
        }
        api_reply_422(resp, detail);
        return true;
}

void api_resp_header(struct api_resp *resp, const char *key, const char *value)
{
        size_t n = strlen(value) + 1;

        if (resp->n_headers >= API_MAX_HEADERS || n > sizeof(resp->hdr_buf) - resp->hdr_used)
                return;
        memcpy(resp->hdr_buf + resp->hdr_used, value, n);
        resp->headers[resp->n_headers].key = key;
        resp->headers[resp->n_headers].value = resp->hdr_buf + resp->hdr_used;
        resp->n_headers++;
        resp->hdr_used += n;
}

const char *api_resp_header_get(const struct api_resp *resp, const char *key)
{
        for (size_t i = 0; i < resp->n_headers; i++)
                if (strcasecmp(resp->headers[i].key, key) == 0)
                        return resp->headers[i].value;
        return NULL;
}

void api_resp_file(struct api_resp *resp, unsigned status, const char *content_type, int fd,
                   uint64_t off, uint64_t len)
{
        resp->status = status;
        resp->content_type = content_type;
        resp->has_file = true;
        resp->file_fd = fd;
        resp->file_off = off;
        resp->file_len = len;
}

void api_resp_stream(struct api_resp *resp, unsigned status, const char *content_type,
                     api_producer_fn fn, void *cls, void (*cls_free)(void *))
{
        resp->status = status;
        resp->content_type = content_type;
        resp->producer = fn;
        resp->producer_cls = cls;
        resp->producer_free = cls_free;
}

void api_resp_done(struct api_resp *resp)
{
        free(resp->body);
        if (resp->has_file)
                (void)close(resp->file_fd);
        if (resp->producer_free)
                resp->producer_free(resp->producer_cls);
        memset(resp, 0, sizeof(*resp));
}
