#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/router.h"

/* A declared body above API_BODY_MAX but below this is read and thrown away so the client, still
 * sending, reads a clean 413 instead of a reset; above it (or with Expect: 100-continue) the 413
 * goes out at once and the connection is closed. */
#define DRAIN_MAX (16u << 20)
#define MAX_QUERY 32

struct api_http {
        struct MHD_Daemon *d;
        struct api_http_config cfg;
        atomic_size_t body_bytes; /* held by all connections' bodies */
};

enum body_state { BODY_OK, BODY_TOO_LARGE, BODY_BUSY };

/* One request's state, from its headers to its completion. */
struct conn_req {
        char *buf;
        size_t len, cap, reserved, seen;
        enum body_state state;
};

struct query {
        struct api_kv kv[MAX_QUERY];
        size_t n;
};

static void body_release(struct api_http *h, struct conn_req *cr)
{
        (void)atomic_fetch_sub(&h->body_bytes, cr->reserved);
        cr->reserved = 0;
        free(cr->buf);
        cr->buf = NULL;
        cr->len = cr->cap = 0;
}

/* Keeps data while it fits the per-request cap and the global budget; past either, it is only
 * counted (and the request answered 413 or 503 once it has all arrived). */
static void body_feed(struct api_http *h, struct conn_req *cr, const char *data, size_t n)
{
        cr->seen += n;
        if (cr->state != BODY_OK)
                return;
        if (cr->len + n > API_BODY_MAX) {
                cr->state = BODY_TOO_LARGE;
                body_release(h, cr);
                return;
        }
        if (cr->len + n > cr->cap) {
                size_t cap = cr->cap ? cr->cap : 4096, grow;

                while (cap < cr->len + n)
                        cap *= 2;
                cap = cap > API_BODY_MAX ? API_BODY_MAX : cap;
                grow = cap - cr->cap;
                if (atomic_fetch_add(&h->body_bytes, grow) + grow > h->cfg.body_budget) {
                        (void)atomic_fetch_sub(&h->body_bytes, grow);
                        cr->state = BODY_BUSY;
                        body_release(h, cr);
                        return;
                }
                cr->reserved += grow;
                cr->buf = aio_xrealloc(cr->buf, cap);
                cr->cap = cap;
        }
        memcpy(cr->buf + cr->len, data, n);
        cr->len += n;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct api_resp *resp)
{
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                api_resp_done(resp);
                return MHD_NO;
        }
        resp->body = NULL; /* MHD frees it */
        if (resp->content_type)
                (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
        for (size_t i = 0; i < resp->n_headers; i++)
                (void)MHD_add_response_header(r, resp->headers[i].key, resp->headers[i].value);
        ret = MHD_queue_response(c, resp->status, r);
        MHD_destroy_response(r);
        api_resp_done(resp);
        return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
        struct api_resp resp = {0};
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");

        if (origin)
                api_resp_header(&resp, "Access-Control-Allow-Origin", "*");
        api_reply_error(&resp, status, msg);
        return send_resp(c, &resp);
}

static const char *too_large_msg(void)
{
        return "Request body too large: the limit is 1048576 bytes";
}

/* First call for a request: only its headers are in. A body declared too large for draining is
 * refused before it is read. */
static enum MHD_Result body_begin(struct MHD_Connection *c, struct conn_req *cr)
{
        const char *cl =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *expect =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        uintmax_t len;
        char *end;

        if (!cl)
                return MHD_YES;
        errno = 0;
        len = strtoumax(cl, &end, 10);
        if (errno || end == cl || len <= API_BODY_MAX)
                return MHD_YES;
        if (len > DRAIN_MAX || expect)
                return send_error(c, 413, too_large_msg());
        cr->state = BODY_TOO_LARGE;
        return MHD_YES;
}

static enum MHD_Result query_add(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        struct query *q = cls;

        (void)kind;
        if (q->n == MAX_QUERY)
                return MHD_NO;
        q->kv[q->n].key = key;
        q->kv[q->n].value = value ? value : "";
        q->n++;
        return MHD_YES;
}

static enum MHD_Result respond(struct api_http *h, struct MHD_Connection *c, const char *url,
                               const char *method, struct conn_req *cr)
{
        struct api_resp resp = {0};
        struct query q = {.n = 0};
        struct api_raw_req raw = {
                .method = method,
                .path = url,
                .body = cr->buf,
                .body_len = cr->len,
        };

        if (cr->state == BODY_TOO_LARGE)
                return send_error(c, 413, too_large_msg());
        if (cr->state == BODY_BUSY)
                return send_error(c, 503, "Server busy: too many request bodies in flight");
        raw.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        raw.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        raw.acr_method =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
        raw.acr_headers =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");
        (void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_add, &q);
        raw.query = q.kv;
        raw.n_query = q.n;
        api_dispatch(&raw, h->cfg.ctx, &resp);
        log_debug("%s %s -> %u", method, url, resp.status);
        body_release(h, cr);
        return send_resp(c, &resp);
}

/* MHD's access handler: its signature has eight parameters. */
// NOLINTNEXTLINE(readability-function-size)
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct api_http *h = cls;
        struct conn_req *cr = *con_cls;

        (void)version;
        if (!cr) {
                cr = aio_xcalloc(1, sizeof(*cr));
                *con_cls = cr;
                return body_begin(c, cr);
        }
        if (*upload_data_size) {
                body_feed(h, cr, upload_data, *upload_data_size);
                *upload_data_size = 0;
                /* an undeclared (chunked) body past the drain cap: no answer, just close */
                return cr->seen > DRAIN_MAX ? MHD_NO : MHD_YES;
        }
        return respond(h, c, url, method, cr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct api_http *h = cls;
        struct conn_req *cr = *con_cls;

        (void)c;
        (void)toe;
        if (!cr)
                return;
        body_release(h, cr);
        free(cr);
        *con_cls = NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
        (void)cls;
        (void)c;
        return api_unescape(s);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
        char line[512];

        (void)cls;
        (void)vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\n")] = '\0';
        log_debug("microhttpd: %s", line);
}

/* The socket must be a listening stream socket; MHD's threads accept on it concurrently, so it
 * is made non-blocking. */
static int listen_fd_check(int fd, struct aio_err *err)
{
        int listening = 0, type = 0, flags;
        socklen_t len = sizeof(listening), tlen = sizeof(type);

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
                return aio_error(err, errno, "listening socket (fd %d)", fd);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
                return aio_error(err, errno, "listening socket (fd %d)", fd);
        if (!listening || type != SOCK_STREAM)
                return aio_error_msg(err, EINVAL, "fd %d is not a listening stream socket", fd);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return aio_error(err, errno, "O_NONBLOCK on fd %d", fd);
        return 0;
}

int api_http_start(const struct api_http_config *cfg, struct api_http **ret, struct aio_err *err)
{
        unsigned flags =
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
        struct api_http *h;
        int r = listen_fd_check(cfg->listen_fd, err);

        if (r < 0)
                return r;
        h = aio_xcalloc(1, sizeof(*h));
        h->cfg = *cfg;
        atomic_init(&h->body_bytes, 0);
        h->d = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
                MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
                cfg->max_conns, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->conn_memory, MHD_OPTION_THREAD_POOL_SIZE,
                cfg->threads > 1 ? cfg->threads : 0u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL, MHD_OPTION_END);
        if (!h->d) {
                free(h);
                return aio_error_msg(err, EIO, "microhttpd did not start on fd %d", cfg->listen_fd);
        }
        *ret = h;
        return 0;
}

void api_http_stop(struct api_http *h)
{
        if (!h)
                return;
        /* Quiesced first: MHD then neither closes nor shuts down the shared listening socket. */
        (void)MHD_quiesce_daemon(h->d);
        MHD_stop_daemon(h->d);
        free(h);
}
