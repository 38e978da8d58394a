#pragma once

/* The types every layer of aio-apid shares: a request as the handlers see it (no MHD in sight),
 * the response they fill, and the route rows of STYLE.md "API routes". */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct aio_err;
struct api_ctx;

enum api_route_flags {
        API_F_SANDBOX = 1u << 0, /* needs a live jail (checked by the dispatcher) */
        API_F_STREAM = 1u << 1,  /* the handler streams its answer */
        API_F_ADMIN = 1u << 2,   /* needs an admin token */
        API_F_JSON = 1u << 3,    /* takes a JSON body: parsed and checked before the handler */
};

#define API_BODY_MAX    (1u << 20) /* request bodies above this get 413 */
#define API_MAX_PARAMS  4          /* {name} segments in one pattern */
#define API_MAX_HEADERS 8

struct api_kv {
        const char *key;
        const char *value;
};

/* A request as parsed by http.c (or built by a test): borrowed strings, valid for one call. */
struct api_raw_req {
        const char *method;
        const char *path; /* decoded, without the query string */
        const char *content_type;
        const char *origin; /* Origin header, CORS */
        const char *acr_method;
        const char *acr_headers;
        const char *body;
        size_t body_len;
        const struct api_kv *query;
        size_t n_query;
};

/* What a handler sees. Strings are borrowed for the duration of the call; body is NULL when the
 * request had none. */
struct api_req {
        const char *method;
        const char *path;
        struct api_kv params[API_MAX_PARAMS];
        size_t n_params;
        const struct api_kv *query;
        size_t n_query;
        json_t *body;
        struct api_ctx *ctx;
};

/* What a handler fills. body is malloc'ed and owned (freed by api_resp_done()); headers point to
 * static strings or into hdr_buf. */
struct api_resp {
        unsigned status;
        char *body;
        size_t len;
        const char *content_type;
        struct api_kv headers[API_MAX_HEADERS];
        size_t n_headers;
        char hdr_buf[512];
        size_t hdr_used;
};

typedef int (*api_handler_fn)(const struct api_req *req, struct api_resp *resp,
                              struct aio_err *err);

struct api_route {
        const char *method;
        const char *pattern; /* "/v1/x/{id}": {name} matches one non-empty segment */
        api_handler_fn fn;
        unsigned flags;
};

/* The server's state, handed to every handler through req->ctx. */
struct api_ctx {
        struct api_sandbox *sandbox;
        struct api_hooks *hooks;
};
