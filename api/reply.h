#pragma once

/* Responses in upstream's shapes: the envelope {"success","message","data","hint"}, FastAPI's 422
 * with both "detail" and "errors", and the one errno -> HTTP status table. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct api_resp;
struct api_stream;

/* HTTP status for a -errno (or errno) result: STYLE.md rule 23. */
unsigned api_errno_status(int code);
/* The envelope; steals data (NULL becomes null). */
json_t *api_envelope(bool success, const char *message, json_t *data);
/* Serializes obj (stolen) as the response body with status. */
void api_reply_json(struct api_resp *resp, unsigned status, json_t *obj);
void api_reply_ok(struct api_resp *resp, const char *message, json_t *data);
/* api_reply_ok() with data {key: text, ...rest's members}: text (len bytes, UTF-8) is escaped
 * straight into the body, never copied into a json_t (a file's content). rest (stolen) is an
 * object or NULL. Text that is not UTF-8 gets a 500. */
void api_reply_ok_text(struct api_resp *resp, const char *message, const char *key,
                       const char *text, size_t len, json_t *rest);
void api_reply_error(struct api_resp *resp, unsigned status, const char *message);
/* A failed handler: status from err->code, message from err->msg. */
void api_reply_errno(struct api_resp *resp, const struct aio_err *err);
/* 422 from a list (stolen) of FastAPI detail items {"loc","msg","type",...}. */
void api_reply_422(struct api_resp *resp, json_t *detail);
/* An empty list for detail items (OOM aborts). */
json_t *api_detail_new(void);
/* The validation verdict on detail (stolen): true with the 422 in resp when it holds items,
 * false (detail freed) when the body was fine. */
bool api_reply_422_if(struct api_resp *resp, json_t *detail);
/* Appends one FastAPI detail item to list. loc is a JSON array (stolen). */
void api_detail_add(json_t *list, json_t *loc, const char *msg, const char *type);
/* Adds a response header; value is copied. Silently drops what does not fit (headers are ours,
 * bounded by construction). */
void api_resp_header(struct api_resp *resp, const char *key, const char *value);
const char *api_resp_header_get(const struct api_resp *resp, const char *key);
/* Answers with len bytes of fd from off, sent with sendfile; takes fd (closed by
 * api_resp_done() or once sent). */
void api_resp_file(struct api_resp *resp, unsigned status, const char *content_type, int fd,
                   uint64_t off, uint64_t len);
/* Answers with status and content_type now and the body from fn(cls, stream) on a thread of its
 * own (chunked); cls_free (may be NULL) is called on cls once fn returned or was never run. */
void api_resp_stream(struct api_resp *resp, unsigned status, const char *content_type,
                     void (*fn)(void *cls, struct api_stream *s), void *cls,
                     void (*cls_free)(void *));
/* Frees what a response owns and resets it. */
void api_resp_done(struct api_resp *resp);
