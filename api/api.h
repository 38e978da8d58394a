#pragma once

/* The types every layer of aio-apid shares: a request as the handlers see it (no MHD in sight),
 * the response they fill, and the route rows of STYLE.md "API routes". */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct api_ctx;

enum api_route_flags {
        API_F_SANDBOX = 1u << 0, /* needs a live jail (checked by the dispatcher) */
        API_F_STREAM = 1u << 1,  /* the handler streams its answer */
        API_F_ADMIN = 1u << 2,   /* needs an admin token */
        API_F_JSON = 1u << 3,    /* takes a JSON body: parsed and checked before the handler */
        API_F_SLOW = 1u << 4,    /* may block (waits on a command): runs on a thread of its own
                                    while the connection is suspended, so nothing else waits */
        API_F_UPLOAD = 1u << 5,  /* takes a raw body up to API_UPLOAD_MAX (multipart), unparsed */
        API_F_WS = 1u << 6,      /* a WebSocket: after the upgrade fn runs on its own thread with
                                    req->ws_fd set; the response it fills is ignored */
        API_F_PUBLIC = 1u << 7,  /* answered without credentials */
};

#define API_BODY_MAX    (1u << 20)  /* request bodies above this get 413 */
#define API_UPLOAD_MAX  (64u << 20) /* the same, for API_F_UPLOAD rows */
#define API_MAX_PARAMS  4           /* {name} segments in one pattern */
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
        /* any request header by name (case-insensitive), or NULL; header may be NULL */
        const char *(*header)(const void *cls, const char *name);
        const void *header_cls;
        int client_fd;        /* the connection's socket, -1 when there is none (tests) */
        int ws_fd;            /* API_F_WS: the upgraded socket, blocking; -1 otherwise */
        const char *ws_extra; /* bytes that came after the upgrade request */
        size_t ws_extra_len;
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
        const struct api_raw_req *raw; /* headers, the raw body (API_F_UPLOAD), the sockets */
};

struct api_stream;
/* Writes a streamed answer (SSE, long downloads) on a thread of its own, after the status and
 * headers went out; returns when it is done or when api_stream_write() says the client left. */
typedef void (*api_producer_fn)(void *cls, struct api_stream *s);

/* What a handler fills. body is malloc'ed and owned (freed by api_resp_done()); headers point to
 * static strings or into hdr_buf. Instead of body, an answer may come from a file (file_fd,
 * sent with sendfile) or from a producer (see api_resp_file(), api_resp_stream()). */
struct api_resp {
        unsigned status;
        char *body;
        size_t len;
        const char *content_type;
        struct api_kv headers[API_MAX_HEADERS];
        size_t n_headers;
        char hdr_buf[512];
        size_t hdr_used;
        bool has_file;
        int file_fd; /* owned when has_file */
        uint64_t file_off, file_len;
        api_producer_fn producer;
        void *producer_cls;
        void (*producer_free)(void *cls);
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
        struct api_auth *auth;       /* NULL: open (loopback, no key) */
        struct api_shells *shells;   /* /v1/shell sessions */
        struct api_bash *bash;       /* /v1/bash commands */
        struct api_watches *watches; /* /v1/file/watch */
        struct api_workcg *workcg;   /* the agent's cgroup leaf (aio-run up); never NULL */
};
