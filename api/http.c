#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/router.h"
#include "api/stream.h"

/* A declared body above API_BODY_MAX but below this is read and thrown away so the client, still
 * sending, reads a clean 413 instead of a reset; above it (or with Expect: 100-continue) the 413
 * goes out at once and the connection is closed. */
#define DRAIN_MAX    (16u << 20)
#define MAX_QUERY    32
#define SLOW_MAX     1024         /* handler threads at once; more get 503 */
#define THREAD_STACK (512u << 10) /* handlers keep big buffers on the heap */
#define STREAM_QUEUE (256u << 10) /* bytes a producer may run ahead of the client */
#define WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct api_http {
        struct MHD_Daemon *d;
        struct api_http_config cfg;
        atomic_size_t body_bytes; /* held by all connections' bodies */
        atomic_uint slow;         /* handler threads running */
        atomic_uint streams;      /* streamed answers in flight */
        atomic_bool stopping;
};

enum body_state { BODY_OK, BODY_TOO_LARGE, BODY_BUSY };
enum run_state { RUN_NEW, RUN_SLOW, RUN_DONE };

struct query {
        struct api_kv kv[MAX_QUERY];
        size_t n;
};

/* One request's state, from its headers to its completion. A slow handler's thread owns it
 * (and the suspended connection) until it sets RUN_DONE and resumes the connection. */
struct conn_req {
        struct api_http *h;
        struct MHD_Connection *c;
        char *buf;
        size_t len, cap, reserved, seen, max;
        enum body_state state;
        enum run_state run;
        struct query q;
        struct api_raw_req raw;
        struct api_match m;
        struct api_resp resp;
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
        if (cr->len + n > cr->max) {
                cr->state = BODY_TOO_LARGE;
                body_release(h, cr);
                return;
        }
        if (cr->len + n > cr->cap) {
                size_t cap = cr->cap ? cr->cap : 4096, grow;

                while (cap < cr->len + n)
                        cap *= 2;
                cap = cap > cr->max ? cr->max : cap;
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

/* A streamed answer: the reader side of an api_stream, fed by a producer thread. */
struct stream_reader {
        struct api_stream *s;
        struct MHD_Connection *c;
        struct api_http *h;
};

struct producer_job {
        struct api_stream *s;
        api_producer_fn fn;
        void *cls;
        void (*cls_free)(void *);
};

static void stream_wake(void *cls)
{
        struct stream_reader *sr = cls;

        MHD_resume_connection(sr->c);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct stream_reader *sr = cls;
        size_t n = 0;

        (void)pos;
        for (;;) {
                switch (api_stream_read(sr->s, buf, max, &n)) {
                case API_STREAM_DATA:
                        return (ssize_t)n;
                case API_STREAM_END:
                        return MHD_CONTENT_READER_END_OF_STREAM;
                case API_STREAM_EMPTY:
                        break;
                }
                /* suspended first, armed second: a wake can only come for a suspended
                 * connection; data that came in between is read at once instead */
                MHD_suspend_connection(sr->c);
                if (api_stream_arm(sr->s))
                        return 0;
                MHD_resume_connection(sr->c);
        }
}

static void stream_reader_free(void *cls)
{
        struct stream_reader *sr = cls;

        api_stream_abandon(sr->s);
        api_stream_unref(sr->s);
        (void)atomic_fetch_sub(&sr->h->streams, 1);
        free(sr);
}

static void *producer_main(void *arg)
{
        struct producer_job *job = arg;

        job->fn(job->cls, job->s);
        api_stream_finish(job->s);
        api_stream_unref(job->s);
        if (job->cls_free)
                job->cls_free(job->cls);
        free(job);
        return NULL;
}

static int thread_start(void *(*fn)(void *), void *arg)
{
        pthread_attr_t attr;
        pthread_t t;
        int r;

        (void)pthread_attr_init(&attr);
        (void)pthread_attr_setstacksize(&attr, THREAD_STACK);
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&t, &attr, fn, arg);
        (void)pthread_attr_destroy(&attr);
        return -r;
}

/* The response for resp's producer, its thread started; NULL if the thread could not be. */
static struct MHD_Response *stream_response(struct api_http *h, struct MHD_Connection *c,
                                            struct api_resp *resp)
{
        struct stream_reader *sr = aio_xcalloc(1, sizeof(*sr));
        struct producer_job *job = aio_xcalloc(1, sizeof(*job));
        struct MHD_Response *r;

        sr->c = c;
        sr->h = h;
        (void)atomic_fetch_add(&h->streams, 1);
        sr->s = api_stream_new(STREAM_QUEUE, stream_wake, sr);
        *job = (struct producer_job){sr->s, resp->producer, resp->producer_cls,
                                     resp->producer_free};
        resp->producer = NULL;
        resp->producer_free = NULL; /* the job owns cls now */
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, (size_t)32 * 1024, stream_read, sr,
                                              stream_reader_free);
        if (!r) {
                api_stream_unref(sr->s);
                stream_reader_free(sr);
                job->s = NULL;
        } else if (thread_start(producer_main, job) < 0) {
                api_stream_finish(sr->s);
                api_stream_unref(sr->s); /* the writer's reference */
                job->s = NULL;
        }
        if (!job->s) {
                if (job->cls_free)
                        job->cls_free(job->cls);
                free(job);
        }
        return r;
}

/* h is NULL for the server's own errors, which never stream. */
static struct MHD_Response *make_response(struct api_http *h, struct MHD_Connection *c,
                                          struct api_resp *resp)
{
        struct MHD_Response *r;

        if (resp->producer && h)
                return stream_response(h, c, resp);
        if (resp->has_file) {
                r = MHD_create_response_from_fd_at_offset64(resp->file_len, resp->file_fd,
                                                            resp->file_off);
                if (r)
                        resp->has_file = false; /* MHD closes it */
                return r;
        }
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r)
                resp->body = NULL; /* MHD frees it */
        return r;
}

static enum MHD_Result send_resp(struct api_http *h, struct MHD_Connection *c,
                                 struct api_resp *resp)
{
        struct MHD_Response *r = make_response(h, c, resp);
        enum MHD_Result ret;

        if (!r) {
                api_resp_done(resp);
                return MHD_NO;
        }
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
        return send_resp(NULL, c, &resp);
}

static enum MHD_Result send_too_large(struct MHD_Connection *c, const struct conn_req *cr)
{
        char msg[96];

        (void)snprintf(msg, sizeof(msg), "Request body too large: the limit is %zu bytes", cr->max);
        return send_error(c, 413, msg);
}

/* First call for a request: only its headers are in. The route decides the body cap; a body
 * declared too large for draining is refused before it is read. */
static enum MHD_Result body_begin(struct MHD_Connection *c, struct conn_req *cr, const char *url,
                                  const char *method)
{
        const char *cl =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *expect =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        const struct api_route *const *tables;
        size_t n_tables;
        uintmax_t len;
        char *end;

        /* matched once, here: the route decides the body cap, and dispatch reuses the match */
        tables = api_route_tables(&n_tables);
        (void)api_route_match(tables, n_tables, method, url, &cr->m);
        cr->max =
                cr->m.route && (cr->m.route->flags & API_F_UPLOAD) ? API_UPLOAD_MAX : API_BODY_MAX;
        if (!cl)
                return MHD_YES;
        errno = 0;
        len = strtoumax(cl, &end, 10);
        if (errno || end == cl || len <= cr->max)
                return MHD_YES;
        if (len > DRAIN_MAX || expect)
                return send_too_large(c, cr);
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

static const char *header_lookup(const void *cls, const char *name)
{
        /* MHD's lookup does not change the connection; its prototype is not const */
        return MHD_lookup_connection_value((struct MHD_Connection *)cls, MHD_HEADER_KIND, name);
}

static int conn_fd(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

        return ci ? ci->connect_fd : -1;
}

static void raw_fill(struct conn_req *cr, struct MHD_Connection *c, const char *url,
                     const char *method)
{
        struct api_raw_req *raw = &cr->raw;

        *raw = (struct api_raw_req){
                .method = method,
                .path = url,
                .body = cr->buf,
                .body_len = cr->len,
                .header = header_lookup,
                .header_cls = c,
                .client_fd = conn_fd(c),
                .ws_fd = -1,
        };
        raw->content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        raw->origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        raw->acr_method =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
        raw->acr_headers =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");
        cr->q.n = 0;
        (void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_add, &cr->q);
        raw->query = cr->q.kv;
        raw->n_query = cr->q.n;
}

static void *slow_main(void *arg)
{
        struct conn_req *cr = arg;
        struct api_http *h = cr->h;

        api_dispatch_run(&cr->m, &cr->raw, h->cfg.ctx, &cr->resp);
        cr->run = RUN_DONE;
        (void)atomic_fetch_sub(&h->slow, 1);
        MHD_resume_connection(cr->c);
        return NULL;
}

/* Hands the request to a thread of its own; MHD calls on_request again once it resumes. */
static enum MHD_Result slow_start(struct api_http *h, struct MHD_Connection *c, struct conn_req *cr)
{
        if (atomic_fetch_add(&h->slow, 1) >= SLOW_MAX || atomic_load(&h->stopping)) {
                (void)atomic_fetch_sub(&h->slow, 1);
                api_resp_done(&cr->resp);
                return send_error(c, 503, "Server busy: too many long requests in flight");
        }
        cr->run = RUN_SLOW;
        MHD_suspend_connection(c);
        if (thread_start(slow_main, cr) < 0) {
                MHD_resume_connection(c);
                cr->run = RUN_NEW;
                (void)atomic_fetch_sub(&h->slow, 1);
                api_resp_done(&cr->resp);
                return send_error(c, 503, "Server busy: no thread for the request");
        }
        return MHD_YES;
}

static enum MHD_Result ws_start(struct api_http *h, struct MHD_Connection *c, struct conn_req *cr);

static enum MHD_Result respond(struct api_http *h, struct MHD_Connection *c, const char *url,
                               const char *method, struct conn_req *cr)
{
        const struct api_route *const *tables;
        size_t n_tables;

        if (cr->state == BODY_TOO_LARGE)
                return send_too_large(c, cr);
        if (cr->state == BODY_BUSY)
                return send_error(c, 503, "Server busy: too many request bodies in flight");
        raw_fill(cr, c, url, method);
        tables = api_route_tables(&n_tables);
        if (!api_dispatch_check(tables, n_tables, &cr->raw, h->cfg.ctx, &cr->resp, &cr->m)) {
                log_debug("%s %s -> %u", method, url, cr->resp.status);
                return send_resp(h, c, &cr->resp);
        }
        if (cr->m.route->flags & API_F_WS)
                return ws_start(h, c, cr);
        if (cr->m.route->flags & API_F_SLOW)
                return slow_start(h, c, cr);
        api_dispatch_run(&cr->m, &cr->raw, h->cfg.ctx, &cr->resp);
        log_debug("%s %s -> %u", method, url, cr->resp.status);
        body_release(h, cr);
        return send_resp(h, c, &cr->resp);
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
                cr->h = h;
                cr->c = c;
                *con_cls = cr;
                return body_begin(c, cr, url, method);
        }
        if (cr->run == RUN_DONE) {
                log_debug("%s %s -> %u", method, url, cr->resp.status);
                cr->run = RUN_NEW;
                body_release(h, cr);
                return send_resp(h, c, &cr->resp);
        }
        if (cr->run == RUN_SLOW)
                return MHD_YES; /* a spurious call while the thread runs */
        if (*upload_data_size) {
                body_feed(h, cr, upload_data, *upload_data_size);
                *upload_data_size = 0;
                /* an undeclared (chunked) body past the drain cap: no answer, just close */
                return cr->seen > DRAIN_MAX + cr->max ? MHD_NO : MHD_YES;
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
        api_resp_done(&cr->resp);
        free(cr);
        *con_cls = NULL;
}

/* WebSocket: the 101 answer of RFC 6455 §4.2.2, then the route's handler on a thread of its
 * own with the socket. What the handler needs of the request is copied: MHD frees the request
 * once the upgrade is done. */
struct ws_job {
        struct api_http *h;
        struct api_match m;
        struct api_raw_req raw;
        struct api_kv query[MAX_QUERY];
        char *strings; /* method, path and query, NUL-separated */
        char *extra;
        struct MHD_UpgradeResponseHandle *urh;
};

static char *strings_put(char **w, const char *s)
{
        char *at = *w;
        size_t n = strlen(s) + 1;

        memcpy(at, s, n);
        *w += n;
        return at;
}

static struct ws_job *ws_job_new(struct api_http *h, const struct conn_req *cr)
{
        struct ws_job *job = aio_xcalloc(1, sizeof(*job));
        size_t need = strlen(cr->raw.method) + strlen(cr->raw.path) + 2;
        char *w;

        for (size_t i = 0; i < cr->q.n; i++)
                need += strlen(cr->q.kv[i].key) + strlen(cr->q.kv[i].value) + 2;
        job->h = h;
        job->m = cr->m;
        job->strings = w = aio_xmalloc(need);
        job->raw = (struct api_raw_req){.client_fd = -1, .ws_fd = -1};
        job->raw.method = strings_put(&w, cr->raw.method);
        job->raw.path = strings_put(&w, cr->raw.path);
        for (size_t i = 0; i < cr->q.n; i++) {
                job->query[i].key = strings_put(&w, cr->q.kv[i].key);
                job->query[i].value = strings_put(&w, cr->q.kv[i].value);
        }
        job->raw.query = job->query;
        job->raw.n_query = cr->q.n;
        /* params point into m.buf, which moved with the copy */
        for (size_t i = 0; i < job->m.n_params; i++) {
                job->m.params[i].key = job->m.buf + (cr->m.params[i].key - cr->m.buf);
                job->m.params[i].value = job->m.buf + (cr->m.params[i].value - cr->m.buf);
        }
        return job;
}

static void *ws_main(void *arg)
{
        struct ws_job *job = arg;
        struct api_resp resp = {0};
        int flags = fcntl(job->raw.ws_fd, F_GETFL);

        if (flags >= 0)
                (void)fcntl(job->raw.ws_fd, F_SETFL, flags & ~O_NONBLOCK);
        api_dispatch_run(&job->m, &job->raw, job->h->cfg.ctx, &resp);
        api_resp_done(&resp);
        (void)MHD_upgrade_action(job->urh, MHD_UPGRADE_ACTION_CLOSE);
        (void)atomic_fetch_sub(&job->h->slow, 1);
        free(job->extra);
        free(job->strings);
        free(job);
        return NULL;
}

// NOLINTNEXTLINE(readability-function-size): MHD's upgrade callback has seven parameters
static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
        struct ws_job *job = cls;

        (void)c;
        (void)con_cls;
        job->urh = urh;
        job->raw.ws_fd = sock;
        if (extra_in_size) {
                job->extra = aio_xmalloc(extra_in_size);
                memcpy(job->extra, extra_in, extra_in_size);
                job->raw.ws_extra = job->extra;
                job->raw.ws_extra_len = extra_in_size;
        }
        if (thread_start(ws_main, job) < 0) {
                (void)MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                (void)atomic_fetch_sub(&job->h->slow, 1);
                free(job->extra);
                free(job->strings);
                free(job);
        }
}

static bool header_has_token(const char *v, const char *token)
{
        size_t n = strlen(token);

        for (const char *p = v; p && *p;) {
                p += strspn(p, " \t,");
                if (strncasecmp(p, token, n) == 0 && strchr(" \t,", p[n]))
                        return true;
                p += strcspn(p, ",");
        }
        return false;
}

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)). */
static bool ws_accept(const char *key, char out[32])
{
        unsigned char md[SHA_DIGEST_LENGTH];
        char buf[128];
        int n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);

        if (n < 0 || (size_t)n >= sizeof(buf) || strlen(key) != 24)
                return false;
        (void)SHA1((const unsigned char *)buf, (size_t)n, md);
        return EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH) == 28;
}

static enum MHD_Result ws_start(struct api_http *h, struct MHD_Connection *c, struct conn_req *cr)
{
        const char *upgrade = header_lookup(c, "Upgrade"), *conn = header_lookup(c, "Connection");
        const char *key = header_lookup(c, "Sec-WebSocket-Key");
        const char *version = header_lookup(c, "Sec-WebSocket-Version");
        struct MHD_Response *r;
        struct ws_job *job;
        enum MHD_Result ret;
        char accept[32];

        api_resp_done(&cr->resp);
        if (!upgrade || !header_has_token(upgrade, "websocket") || !conn ||
            !header_has_token(conn, "upgrade") || !key || !ws_accept(key, accept))
                return send_error(c, 400,
                                  "WebSocket upgrade expected (Upgrade: websocket, "
                                  "Connection: Upgrade, Sec-WebSocket-Key)");
        if (!version || strcmp(version, "13") != 0)
                return send_error(c, 426, "WebSocket version 13 required");
        if (atomic_fetch_add(&h->slow, 1) >= SLOW_MAX || atomic_load(&h->stopping)) {
                (void)atomic_fetch_sub(&h->slow, 1);
                return send_error(c, 503, "Server busy: too many long requests in flight");
        }
        job = ws_job_new(h, cr);
        r = MHD_create_response_for_upgrade(on_upgrade, job);
        if (!r) {
                (void)atomic_fetch_sub(&h->slow, 1);
                free(job->strings);
                free(job);
                return MHD_NO;
        }
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
        (void)MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
        ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
        MHD_destroy_response(r);
        return ret;
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
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE;
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
        atomic_store(&h->stopping, true);
        /* Quiesced first: MHD then neither closes nor shuts down the shared listening socket. */
        (void)MHD_quiesce_daemon(h->d);
        /* MHD must not be stopped with a connection suspended: give handler threads and
         * streams a moment; past it the daemon is left to the process's exit. */
        for (int i = 0; i < 200 && (atomic_load(&h->slow) || atomic_load(&h->streams)); i++)
                (void)usleep(10 * 1000);
        if (atomic_load(&h->slow) || atomic_load(&h->streams)) {
                log_debug("microhttpd left running: %u handlers, %u streams in flight",
                          atomic_load(&h->slow), atomic_load(&h->streams));
                return;
        }
        MHD_stop_daemon(h->d);
        free(h);
}
