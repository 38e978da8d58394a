/* WebSocket messages on top of libwslay's event API. wslay does the framing, masking checks,
 * UTF-8 validation of text, fragment reassembly, ping answers and the close handshake; this file
 * feeds it a blocking socket (reads are non-blocking, writes block with a timeout) and hands
 * complete messages to one receiving thread, with a lock so other threads may send. */
#include "api/ws.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <wslay/wslay.h>

#include "common/err.h"
#include "common/xalloc.h"

struct api_ws {
        wslay_event_context_ptr ctx;
        pthread_mutex_t lock;
        int fd;
        char *extra;
        size_t extra_len, extra_off;
        struct api_ws_msg *q; /* messages received and not yet taken */
        size_t q_len, q_cap;
        bool eof, broken;
        int sys_errno;
        int64_t last_pong_ms;
};

static int64_t mono_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
        struct api_ws *ws = user;
        ssize_t n;

        (void)flags;
        if (ws->extra_off < ws->extra_len) {
                n = (ssize_t)(ws->extra_len - ws->extra_off < len ? ws->extra_len - ws->extra_off
                                                                  : len);
                memcpy(buf, ws->extra + ws->extra_off, (size_t)n);
                ws->extra_off += (size_t)n;
                return n;
        }
        do
                n = recv(ws->fd, buf, len, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n > 0)
                return n;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
        }
        ws->eof = true;
        ws->sys_errno = n < 0 ? errno : 0;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
        struct api_ws *ws = user;
        ssize_t n;

        do
                n = send(ws->fd, data, len,
                         MSG_NOSIGNAL | ((flags & WSLAY_MSG_MORE) ? MSG_MORE : 0));
        while (n < 0 && errno == EINTR);
        if (n >= 0)
                return n;
        /* a blocking socket: EAGAIN means SO_SNDTIMEO ran out, the peer reads nothing */
        ws->sys_errno = errno;
        ws->broken = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
        struct api_ws *ws = user;
        struct api_ws_msg *m;

        (void)ctx;
        if (arg->opcode == WSLAY_PONG) {
                ws->last_pong_ms = mono_ms();
                return;
        }
        if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
                return; /* ping: wslay answers; close: wslay queues ours */
        if (ws->q_len == ws->q_cap) {
                ws->q_cap = ws->q_cap ? ws->q_cap * 2 : 4;
                ws->q = aio_xrealloc(ws->q, ws->q_cap * sizeof(*ws->q));
        }
        m = &ws->q[ws->q_len++];
        m->type = arg->opcode == WSLAY_TEXT_FRAME ? API_WS_TEXT : API_WS_BINARY;
        m->len = arg->msg_length;
        m->data = aio_xmalloc(m->len + 1);
        memcpy(m->data, arg->msg, m->len);
        m->data[m->len] = '\0';
}

struct api_ws *api_ws_new(int fd, const void *extra, size_t extra_len, size_t max_msg,
                          int send_timeout_ms)
{
        static const struct wslay_event_callbacks cb = {
                .recv_callback = on_recv,
                .send_callback = on_send,
                .on_msg_recv_callback = on_msg,
        };
        struct api_ws *ws = aio_xcalloc(1, sizeof(*ws));
        int ms = send_timeout_ms > 0 ? send_timeout_ms : 10000;
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};

        (void)pthread_mutex_init(&ws->lock, NULL);
        ws->fd = fd;
        if (extra_len) {
                ws->extra = aio_xmalloc(extra_len);
                memcpy(ws->extra, extra, extra_len);
                ws->extra_len = extra_len;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (wslay_event_context_server_init(&ws->ctx, &cb, ws) != 0)
                abort(); /* only fails on OOM */
        wslay_event_config_set_max_recv_msg_length(ws->ctx,
                                                   max_msg ? max_msg : API_WS_MAX_MSG_DEFAULT);
        return ws;
}

void api_ws_msg_free(struct api_ws_msg *msg)
{
        free(msg->data);
        msg->data = NULL;
        msg->len = 0;
}

void api_ws_free(struct api_ws *ws)
{
        if (!ws)
                return;
        for (size_t i = 0; i < ws->q_len; i++)
                api_ws_msg_free(&ws->q[i]);
        free(ws->q);
        free(ws->extra);
        wslay_event_context_free(ws->ctx);
        (void)pthread_mutex_destroy(&ws->lock);
        free(ws);
}

static int broken_error(struct api_ws *ws, struct aio_err *err)
{
        if (ws->sys_errno)
                return aio_error(err, ws->sys_errno, "WebSocket connection");
        return aio_error_msg(err, EPIPE, "WebSocket connection closed");
}

/* With the lock held: sends what wslay has queued (pongs, close answers, messages). A short
 * write (the send timeout ran out after some bytes went) leaves the rest queued: go on while
 * the peer takes something; a send that takes nothing in the timeout fails. */
static int flush_locked(struct api_ws *ws, struct aio_err *err)
{
        while (!ws->broken && wslay_event_want_write(ws->ctx))
                if (wslay_event_send(ws->ctx) != 0)
                        ws->broken = true;
        return ws->broken ? broken_error(ws, err) : 0;
}

int api_ws_send(struct api_ws *ws, enum api_ws_type type, const void *p, size_t n,
                struct aio_err *err)
{
        struct wslay_event_msg m = {
                .opcode = type == API_WS_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
                .msg = p,
                .msg_length = n,
        };
        int r;

        (void)pthread_mutex_lock(&ws->lock);
        if (wslay_event_queue_msg(ws->ctx, &m) != 0)
                r = ws->broken || ws->eof ? broken_error(ws, err)
                                          : aio_error_msg(err, EPIPE, "WebSocket closing");
        else
                r = flush_locked(ws, err);
        (void)pthread_mutex_unlock(&ws->lock);
        return r;
}

int api_ws_send_text(struct api_ws *ws, const char *s, struct aio_err *err)
{
        return api_ws_send(ws, API_WS_TEXT, s, strlen(s), err);
}

int api_ws_ping(struct api_ws *ws, const void *payload, size_t n, struct aio_err *err)
{
        struct wslay_event_msg m = {.opcode = WSLAY_PING, .msg = payload, .msg_length = n};
        int r;

        (void)pthread_mutex_lock(&ws->lock);
        r = wslay_event_queue_msg(ws->ctx, &m) != 0
                    ? aio_error_msg(err, n > 125 ? EINVAL : EPIPE, "WebSocket ping")
                    : flush_locked(ws, err);
        (void)pthread_mutex_unlock(&ws->lock);
        return r;
}

/* With the lock held: the next message, or whether the connection is over. */
static int take_locked(struct api_ws *ws, struct api_ws_msg *msg, struct aio_err *err)
{
        if (ws->q_len) {
                *msg = ws->q[0];
                memmove(ws->q, ws->q + 1, --ws->q_len * sizeof(*ws->q));
                return 1;
        }
        if (ws->broken)
                return broken_error(ws, err);
        if (ws->eof || !wslay_event_get_read_enabled(ws->ctx)) {
                (void)flush_locked(ws, err); /* our close answer */
                return aio_error_msg(err, EPIPE, "WebSocket closed by the peer (code %u)",
                                     api_ws_peer_close_code(ws));
        }
        return 0;
}

/* With the lock held: reads what the socket has and answers what needs answering. */
static void pump_locked(struct api_ws *ws, struct aio_err *err)
{
        if (wslay_event_recv(ws->ctx) != 0 && !ws->eof)
                ws->broken = true; /* a protocol error: wslay queued a close 1002/1007/1009 */
        (void)flush_locked(ws, err);
        if (ws->broken && !ws->sys_errno)
                ws->sys_errno = EPROTO;
}

/* With the lock held (dropped while waiting): waits for the socket, wake_fd or the deadline,
 * then reads what came. Returns whether the wait is over (woken or timed out), or -errno. */
static int wait_step_locked(struct api_ws *ws, int wake_fd, int64_t deadline, struct aio_err *err)
{
        struct pollfd p[2] = {{.fd = ws->fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
        int64_t left = deadline < 0 ? -1 : deadline - mono_ms();
        int n;

        (void)pthread_mutex_unlock(&ws->lock);
        n = poll(p, wake_fd >= 0 ? 2 : 1, deadline < 0 ? -1 : left < 0 ? 0 : (int)left);
        (void)pthread_mutex_lock(&ws->lock);
        if (n < 0 && errno != EINTR)
                return aio_error(err, errno, "poll");
        if (n > 0 && p[0].revents)
                pump_locked(ws, err);
        return (n > 0 && p[1].revents) || (deadline >= 0 && mono_ms() >= deadline);
}

int api_ws_recv(struct api_ws *ws, int timeout_ms, int wake_fd, struct api_ws_msg *msg,
                struct aio_err *err)
{
        int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
        int expired = 0, r;

        *msg = (struct api_ws_msg){0};
        (void)pthread_mutex_lock(&ws->lock);
        for (;;) {
                r = take_locked(ws, msg, err);
                if (r != 0 || expired)
                        break;
                if (ws->extra_off < ws->extra_len) {
                        pump_locked(ws, err);
                        continue;
                }
                expired = wait_step_locked(ws, wake_fd, deadline, err);
                if (expired < 0) {
                        r = expired;
                        break;
                }
        }
        (void)pthread_mutex_unlock(&ws->lock);
        return r < 0 ? -EPIPE : r;
}

void api_ws_close(struct api_ws *ws, uint16_t code, const char *reason, int wait_ms)
{
        struct aio_err err = {0};
        struct api_ws_msg m;
        int64_t deadline = mono_ms() + wait_ms;

        (void)pthread_mutex_lock(&ws->lock);
        if (!wslay_event_get_close_sent(ws->ctx) && !ws->broken) {
                (void)wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason,
                                              reason ? strlen(reason) : 0);
                (void)flush_locked(ws, &err);
        }
        (void)pthread_mutex_unlock(&ws->lock);
        while (wait_ms > 0 && mono_ms() < deadline) {
                int r = api_ws_recv(ws, (int)(deadline - mono_ms()), -1, &m, &err);

                if (r < 0)
                        break;
                api_ws_msg_free(&m);
        }
}

unsigned api_ws_peer_close_code(struct api_ws *ws)
{
        if (!wslay_event_get_close_received(ws->ctx))
                return 0;
        return wslay_event_get_status_code_received(ws->ctx);
}

int64_t api_ws_last_pong_ms(struct api_ws *ws)
{
        int64_t t;

        (void)pthread_mutex_lock(&ws->lock);
        t = ws->last_pong_ms;
        (void)pthread_mutex_unlock(&ws->lock);
        return t;
}
