/* aio: HTTP to aio-apid through libcurl: one handle per run, JSON calls, streamed bodies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct cli_opts;
struct curl_slist;
struct curl_mime;
struct json_t;

/* Called about once a second and on every chunk; returning non-zero aborts the request. */
typedef int (*cli_xfer_fn)(void *data, int64_t dltotal, int64_t dlnow, int64_t ultotal,
                           int64_t ulnow);

struct cli_client {
        void *curl; /* CURL * */
        const struct cli_opts *opts;
        struct curl_slist *headers;
        /* per request */
        char *body;
        size_t len, cap;
        int sink_fd, sink_errno;
        bool sinking;
        uint64_t sunk;
        char *what; /* "METHOD URL" of the last request, for messages */
        char errbuf[256];
};

struct cli_call {
        const char *method, *path;
        const char *const *query; /* key, value, ..., NULL */
        struct json_t *body;      /* sent as application/json when not NULL */
        struct curl_mime *mime;   /* or a multipart body */
        double timeout;           /* seconds; above --timeout it wins (shell exec) */
        bool stall_timeout;       /* --timeout bounds a stall, not the whole transfer */
        int sink_fd;              /* >= 0: a 2xx body is written here, not parsed */
        cli_xfer_fn xfer;
        void *xfer_data;
};

int cli_client_init(struct cli_client *c, const struct cli_opts *o, struct aio_err *err);
void cli_client_done(struct cli_client *c);

/* Makes the request. Without a sink, stores the answer's JSON object in *ret_root (new
 * reference); with one, *ret_root is NULL and c->sunk counts the bytes written. An HTTP status
 * outside 2xx is an error naming the URL, the status and the server's message. */
int cli_call(struct cli_client *c, const struct cli_call *call, struct json_t **ret_root,
             struct aio_err *err);
/* The envelope's "data" (borrowed; NULL when absent or null) once "success" is true. */
int cli_envelope_data(struct json_t *root, const char *what, struct json_t **ret_data,
                      struct aio_err *err);

/* cli_call() then cli_envelope_data(): *ret_root owns what *ret_data borrows. */
int cli_call_data(struct cli_client *c, const struct cli_call *call, struct json_t **ret_root,
                  struct json_t **ret_data, struct aio_err *err);

/* The error for an HTTP status and the body that came with it. */
int cli_http_error(long status, const char *body, size_t len, const char *what,
                   struct aio_err *err);
/* A libcurl failure (CURLcode) as a failure class with a message. */
int cli_curl_error(int code, const char *detail, const char *what, struct aio_err *err);
/* errno -> a local I/O failure (exit 74) whose message keeps strerror. */
int cli_io_error(struct aio_err *err, int code, const char *what);

/* Prints a JSON value on stdout, indented. */
void cli_json_print(struct json_t *v);
