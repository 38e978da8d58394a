/* GET /v1/shell/ws: a session's terminal over a WebSocket, in the JSON messages of upstream's
 * web terminal (upstream-api.md §2.0b):
 *   client -> server  {"type":"input","data":"ls\r"}  {"type":"resize","data":{"cols":C,"rows":R}}
 *                     {"type":"ping","timestamp":T}  {"type":"pong",...}; anything that is not
 *                     such a JSON object (and binary frames) is typed as it is;
 *   server -> client  {"type":"session_id","data":ID} and {"type":"ready",...} for a new
 *                     session, {"type":"restore_output","data":...} and
 * {"type":"terminal_restored"} when attaching to one, {"type":"output","data":...},
 * {"type":"pong"},
 *                     {"type":"ping","timestamp":T} every 30 s, {"type":"error","data":...}.
 * Without ?session_id= a new session is made; it outlives the connection (as upstream's do) and
 * goes like any other (DELETE, kill, idle expiry). One WebSocket per session at a time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/request.h"
#include "api/shell-internal.h"
#include "api/shell.h"
#include "api/spawn.h"
#include "api/ws.h"

#define WS_PING_MS   30000
#define WS_QUEUE_MAX (1u << 20)
#define WS_MSG_MAX   (1u << 20)

struct term {
        struct api_ws *ws;
        struct api_shell_session *s;
        struct api_shell_sub sub;
        struct api_shell_buf carry; /* a UTF-8 character cut in two */
        int64_t next_ping;
};

static int send_json(struct api_ws *ws, json_t *o, struct aio_err *err)
{
        char *s = json_dumps(o, JSON_COMPACT);
        int r;

        json_decref(o);
        if (!s)
                abort();
        r = api_ws_send_text(ws, s, err);
        free(s);
        return r;
}

static int send_msg(struct api_ws *ws, const char *type, const char *data, size_t len,
                    struct aio_err *err)
{
        json_t *d = json_stringn(data, len);

        if (!d)
                abort();
        return send_json(ws, json_pack("{s:s, s:o}", "type", type, "data", d), err);
}

/* Terminal bytes as a JSON string: complete UTF-8 only, the cut tail kept for later. */
static int send_output(struct term *t, const char *type, const char *p, size_t n,
                       struct aio_err *err)
{
        struct api_shell_buf text = {0};
        size_t ok;
        int r = 0;

        api_shell_buf_put(&t->carry, p, n);
        ok = t->carry.len - aio_utf8_cut_tail(t->carry.p, t->carry.len);
        api_shell_utf8_fix(t->carry.p, ok, &text);
        memmove(t->carry.p, t->carry.p + ok, t->carry.len - ok);
        t->carry.len -= ok;
        if (text.len)
                r = send_msg(t->ws, type, text.p, text.len, err);
        api_shell_buf_free(&text);
        return r;
}

static void resize(struct term *t, json_t *data)
{
        json_int_t cols = json_integer_value(json_object_get(data, "cols"));
        json_int_t rows = json_integer_value(json_object_get(data, "rows"));
        struct winsize w = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};

        if (cols < 1 || cols > 1000 || rows < 1 || rows > 1000)
                return;
        (void)ioctl(t->s->master, TIOCSWINSZ, &w);
}

static int on_message(struct term *t, const struct api_ws_msg *m, struct aio_err *err)
{
        json_t *o = m->type == API_WS_TEXT
                            ? json_loadb(m->data, m->len, JSON_REJECT_DUPLICATES, NULL)
                            : NULL;
        const char *type = json_string_value(json_object_get(o, "type"));
        json_t *data = json_object_get(o, "data");
        int r = 0;

        if (!json_is_object(o) || !type)
                r = api_shell_type(t->s, m->data, m->len, err); /* raw input */
        else if (strcmp(type, "input") == 0 && json_is_string(data))
                r = api_shell_type(t->s, json_string_value(data), json_string_length(data), err);
        else if (strcmp(type, "resize") == 0)
                resize(t, data);
        else if (strcmp(type, "ping") == 0)
                r = send_json(t->ws,
                              json_pack("{s:s, s:O}", "type", "pong", "timestamp",
                                        json_object_get(o, "timestamp")
                                                ? json_object_get(o, "timestamp")
                                                : json_integer(api_shell_realtime_ms())),
                              err);
        json_decref(o);
        return r;
}

/* Output waiting for the client, and whether the session is gone. */
static int on_wake(struct term *t, int efd, struct aio_err *err)
{
        struct api_shell_buf q = {0};
        uint64_t v;
        bool dead;
        int r = 0;

        (void)!read(efd, &v, sizeof(v));
        (void)pthread_mutex_lock(&t->s->lock);
        q = t->sub.q;
        t->sub.q = (struct api_shell_buf){0};
        dead = t->s->dead || t->s->closing;
        (void)pthread_mutex_unlock(&t->s->lock);
        if (q.len)
                r = send_output(t, "output", q.p, q.len, err);
        api_shell_buf_free(&q);
        if (r == 0 && dead) {
                (void)send_msg(t->ws, "error", "Session terminated", 18, err);
                return aio_error_msg(err, EPIPE, "session ended");
        }
        return r;
}

static int ping_due(struct term *t, struct aio_err *err)
{
        if (api_now_ms() < t->next_ping)
                return 0;
        t->next_ping = api_now_ms() + WS_PING_MS;
        return send_json(t->ws,
                         json_pack("{s:s, s:I}", "type", "ping", "timestamp",
                                   (json_int_t)api_shell_realtime_ms()),
                         err);
}

static void term_loop(struct term *t, int efd)
{
        struct aio_err err = {0};
        struct api_ws_msg m;
        int r;

        t->next_ping = api_now_ms() + WS_PING_MS;
        for (;;) {
                r = api_ws_recv(t->ws, (int)(t->next_ping - api_now_ms()), efd, &m, &err);
                if (r < 0)
                        break;
                if (r > 0) {
                        r = on_message(t, &m, &err);
                        api_ws_msg_free(&m);
                } else {
                        r = on_wake(t, efd, &err);
                }
                if (r == 0)
                        r = ping_due(t, &err);
                if (r < 0)
                        break;
        }
}

/* The session named by ?session_id=, or a new one (announced). NULL after telling the client. */
static struct api_shell_session *term_session(struct api_shells *sh, const struct api_req *req,
                                              struct api_ws *ws, bool *ret_new, struct aio_err *err)
{
        const char *id = api_query_get(req, "session_id");
        struct api_shell_create c = {0};
        struct api_shell_session *s = NULL;
        bool existed;
        char ready[64];

        *ret_new = !id || !*id;
        if (!*ret_new) {
                s = api_shells_get(sh, id);
                if (!s)
                        (void)send_msg(ws, "error", "Session not found", 17, err);
                return s;
        }
        if (api_shell_create(sh, &c, &s, &existed, err) < 0) {
                (void)send_msg(ws, "error", err->msg, strlen(err->msg), err);
                return NULL;
        }
        (void)snprintf(ready, sizeof(ready), "Terminal ready - Session: %.8s", s->id);
        if (send_msg(ws, "session_id", s->id, strlen(s->id), err) < 0 ||
            send_msg(ws, "ready", ready, strlen(ready), err) < 0) {
                api_shell_session_unref(s);
                return NULL;
        }
        return s;
}

/* Subscribes and takes what the terminal showed so far, under one lock. */
static bool term_attach(struct term *t, int efd, struct api_shell_buf *history)
{
        struct api_shell_session *s = t->s;
        struct api_shell_buf tail = {0};
        bool ok;

        (void)pthread_mutex_lock(&s->lock);
        ok = !s->ws_attached && !s->dead;
        if (ok) {
                s->ws_attached = true;
                t->sub = (struct api_shell_sub){.max = WS_QUEUE_MAX, .wake_fd = efd};
                t->sub.next = s->subs;
                s->subs = &t->sub;
                (void)api_shell_capture_raw(&s->history, history, &tail);
                api_shell_buf_put(history, tail.p, tail.len);
        }
        (void)pthread_mutex_unlock(&s->lock);
        api_shell_buf_free(&tail);
        return ok;
}

static void term_detach(struct term *t)
{
        api_shell_sub_del(t->s, &t->sub);
        (void)pthread_mutex_lock(&t->s->lock);
        t->s->ws_attached = false;
        (void)pthread_mutex_unlock(&t->s->lock);
}

static void term_run(struct term *t, bool is_new, int efd, struct aio_err *err)
{
        struct api_shell_buf history = {0};
        char restored[64];
        int r;

        if (!term_attach(t, efd, &history)) {
                static const char busy[] = "Session already has an active WebSocket connection";

                (void)send_msg(t->ws, "error", busy, sizeof(busy) - 1, err);
                return;
        }
        if (is_new) {
                r = send_output(t, "output", history.p, history.len, err);
        } else {
                r = history.len ? send_output(t, "restore_output", history.p, history.len, err) : 0;
                (void)snprintf(restored, sizeof(restored), "Session %.8s restored", t->s->id);
                if (r == 0)
                        r = send_msg(t->ws, "terminal_restored", restored, strlen(restored), err);
        }
        api_shell_buf_free(&history);
        if (r == 0)
                term_loop(t, efd);
        term_detach(t);
}

int api_shell_ws_serve(struct api_shells *sh, const struct api_req *req, struct aio_err *err)
{
        struct term t = {0};
        cleanup_close int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        bool is_new;

        if (efd < 0)
                return aio_error(err, errno, "eventfd");
        t.ws = api_ws_new(req->raw->ws_fd, req->raw->ws_extra, req->raw->ws_extra_len, WS_MSG_MAX,
                          0);
        t.s = term_session(sh, req, t.ws, &is_new, err);
        if (t.s) {
                term_run(&t, is_new, efd, err);
                api_shell_session_unref(t.s);
        }
        api_ws_close(t.ws, 1000, "", 1000);
        api_ws_free(t.ws);
        api_shell_buf_free(&t.carry);
        return 0;
}
