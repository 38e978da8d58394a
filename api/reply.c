#include "reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"

#include "api/api.h"

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

void api_reply_json(struct api_resp *resp, unsigned status, json_t *obj)
{
        char *s = json_dumps(obj, JSON_COMPACT);

        json_decref(obj);
        if (!s)
                abort(); /* jansson fails only on OOM here: the object is ours */
        free(resp->body);
        resp->body = s;
        resp->len = strlen(s);
        resp->status = status;
        resp->content_type = "application/json";
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
