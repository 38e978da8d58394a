/* /v1/shell output as Server-Sent Events (exec and view with Accept: text/event-stream, in
 * upstream's event format, upstream-api.md §2.0b) and the files of the /terminal page. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/exe.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/reply.h"
#include "api/shell-internal.h"
#include "api/spawn.h"
#include "api/stream.h"

#define SSE_QUEUE_MAX   (4u << 20) /* output a slow SSE client may fall behind by */
#define SSE_SLICE_MS    250
#define VIEW_KEEPALIVES 3 /* upstream's view stream: one-second keepalives, ends after three */

struct api_shell_sse {
        struct api_shell_session *s;
        struct api_shell_sub sub;
        uint64_t gen;
        bool view;
        long long no_change_s;
        struct api_shell_buf carry; /* an escape sequence or UTF-8 character cut in two */
        struct api_shell_buf first; /* view: the output so far */
};

struct api_shell_sse *api_shell_sse_new(struct api_shell_session *s, bool view,
                                        long long no_change_s)
{
        struct api_shell_sse *x = aio_xcalloc(1, sizeof(*x));

        atomic_fetch_add(&s->refs, 1);
        x->s = s;
        x->view = view;
        x->sub.max = SSE_QUEUE_MAX;
        x->sub.command_only = true;
        x->sub.wake_fd = -1;
        (void)pthread_mutex_lock(&s->lock);
        x->no_change_s = no_change_s > 0 ? no_change_s : s->no_change_timeout;
        x->gen = s->gen;
        if (view)
                api_shell_capture_text(&s->cap, false, &x->first);
        x->sub.next = s->subs; /* with the snapshot, under one lock: nothing twice or lost */
        s->subs = &x->sub;
        (void)pthread_mutex_unlock(&s->lock);
        return x;
}

void api_shell_sse_free(void *p)
{
        struct api_shell_sse *x = p;

        if (!x)
                return;
        api_shell_sub_del(x->s, &x->sub);
        api_shell_session_unref(x->s);
        api_shell_buf_free(&x->carry);
        api_shell_buf_free(&x->first);
        free(x);
}

void api_shell_sse_start(struct api_shell_sse *sse, uint64_t gen, bool truncate)
{
        (void)truncate; /* a stream sends everything, as upstream's does */
        sse->gen = gen;
}

/* Python's json.dumps() as upstream sends it: ", " and ": ", non-ASCII escaped. */
#define SSE_JSON_FLAGS JSON_ENSURE_ASCII

static int sse_event(struct api_stream *st, json_t *o)
{
        char *s = json_dumps(o, SSE_JSON_FLAGS);
        int r;

        json_decref(o);
        if (!s)
                abort();
        r = api_stream_printf(st, "data: %s\n\n", s);
        free(s);
        return r;
}

static int sse_output(struct api_stream *st, const char *text, size_t len)
{
        json_t *s;

        if (!len)
                return 0;
        s = json_stringn(text, len);
        if (!s)
                abort(); /* cleaned text is valid UTF-8 */
        return sse_event(st, json_pack("{s:o}", "output", s));
}

/* Cleans carry + chunk into text, keeping an incomplete tail for the next chunk. */
static int sse_chunk(struct api_shell_sse *x, struct api_stream *st, const char *p, size_t n,
                     bool final)
{
        struct api_shell_buf text = {0};
        size_t used;
        int r;

        api_shell_buf_put(&x->carry, p, n);
        used = api_shell_clean(x->carry.p, x->carry.len, final, &text);
        memmove(x->carry.p, x->carry.p + used, x->carry.len - used);
        x->carry.len -= used;
        r = sse_output(st, text.p, text.len);
        api_shell_buf_free(&text);
        return r;
}

enum sse_state { SSE_MORE, SSE_KEEPALIVE, SSE_END, SSE_DEAD, SSE_GONE };

/* With s->lock held: what to do without new output. */
static enum sse_state sse_idle_state(struct api_shell_sse *x, struct api_stream *st,
                                     int64_t quiet_since, int64_t *next)
{
        struct api_shell_session *s = x->s;
        int64_t now = api_now_ms();
        int64_t limit = x->view ? 1000 : x->no_change_s * 1000;

        if (s->dead || s->closing)
                return SSE_DEAD;
        if (s->gen != x->gen || !s->running)
                return SSE_END;
        if (api_stream_gone(st))
                return SSE_GONE;
        if (now - quiet_since >= limit)
                return x->view ? SSE_KEEPALIVE : SSE_END;
        *next = now + SSE_SLICE_MS < quiet_since + limit ? now + SSE_SLICE_MS : quiet_since + limit;
        return SSE_MORE;
}

/* Waits for output or the end; moves the output into chunk. */
static enum sse_state sse_take(struct api_shell_sse *x, struct api_stream *st, int64_t quiet_since,
                               struct api_shell_buf *chunk)
{
        struct api_shell_session *s = x->s;
        enum sse_state state = SSE_MORE;
        int64_t next = 0;

        (void)pthread_mutex_lock(&s->lock);
        while (!x->sub.q.len && (state = sse_idle_state(x, st, quiet_since, &next)) == SSE_MORE) {
                struct timespec ts = {.tv_sec = next / 1000,
                                      .tv_nsec = (long)(next % 1000) * 1000000L};

                (void)pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        }
        if (x->sub.q.len) {
                *chunk = x->sub.q;
                x->sub.q = (struct api_shell_buf){0};
                state = SSE_MORE;
        }
        (void)pthread_mutex_unlock(&s->lock);
        return state;
}

static void sse_produce(void *cls, struct api_stream *st)
{
        struct api_shell_sse *x = cls;
        int64_t quiet_since = api_now_ms();
        enum sse_state state;
        int keepalives = 0, r;

        if (api_stream_printf(st, ": connected\n\n") < 0 ||
            sse_output(st, x->first.p, x->first.len) < 0)
                return;
        do {
                struct api_shell_buf chunk = {0};

                state = sse_take(x, st, quiet_since, &chunk);
                r = 0;
                if (chunk.len) {
                        quiet_since = api_now_ms();
                        keepalives = 0;
                        r = sse_chunk(x, st, chunk.p, chunk.len, false);
                } else if (state == SSE_KEEPALIVE) {
                        quiet_since = api_now_ms();
                        r = ++keepalives < VIEW_KEEPALIVES
                                    ? sse_event(st, json_pack("{s:b}", "keepalive", true))
                                    : 0;
                        state = keepalives < VIEW_KEEPALIVES ? SSE_MORE : SSE_END;
                }
                api_shell_buf_free(&chunk);
        } while (state == SSE_MORE && r == 0);
        if (r < 0 || state == SSE_GONE || sse_chunk(x, st, NULL, 0, true) < 0)
                return;
        if (state == SSE_DEAD)
                (void)sse_event(st, json_pack("{s:s}", "error", "Session terminated"));
        else
                (void)sse_event(st,
                                json_pack("{s:b, s:s}", "end", true, "message", "No more output"));
}

static void sse_headers(struct api_resp *resp)
{
        api_resp_header(resp, "Cache-Control", "no-cache");
        api_resp_header(resp, "X-Accel-Buffering", "no");
}

void api_shell_sse_respond(struct api_resp *resp, struct api_shell_sse *sse)
{
        api_resp_stream(resp, 200, "text/event-stream", sse_produce, sse, api_shell_sse_free);
        sse_headers(resp);
}

/* A view of a session with nothing running: the whole answer at once, as upstream's. */
static void sse_body(struct api_resp *resp, const char *output)
{
        json_t *o = json_pack("{s:s}", "output", output);
        cleanup_free char *data = o && output[0] ? json_dumps(o, SSE_JSON_FLAGS) : NULL;

        json_decref(o);
        free(resp->body);
        resp->body = aio_xasprintf(": connected\n\n%s%s%sdata: {\"end\": true, \"message\": "
                                   "\"No more output\"}\n\n",
                                   data ? "data: " : "", data ? data : "", data ? "\n\n" : "");
        resp->len = strlen(resp->body);
        resp->status = 200;
        resp->content_type = "text/event-stream";
        sse_headers(resp);
}

void api_shell_sse_view(struct api_resp *resp, struct api_shell_session *s)
{
        bool running;
        json_t *view;

        (void)api_shell_status_get(s, &running);
        if (running) {
                api_shell_sse_respond(resp, api_shell_sse_new(s, true, 0));
                return;
        }
        view = api_shell_view(s);
        sse_body(resp, json_string_value(json_object_get(view, "output")));
        json_decref(view);
}

/* ---- /terminal ------------------------------------------------------------------------------ */

/* clang-format off */
static const struct {
        const char *name, *type;
} assets[] = {
        { "terminal.html", "text/html; charset=utf-8" },
        { "xterm.js",      "text/javascript; charset=utf-8" },
        { "xterm.css",     "text/css; charset=utf-8" },
        { "addon-fit.js",  "text/javascript; charset=utf-8" },
};
/* clang-format on */

static char *assets_dir(struct aio_err *err)
{
        const char *env = getenv("AIO_TERMINAL_DIR");
        cleanup_free char *exe = NULL;

        if (env && *env)
                return aio_xstrdup(env);
        if (aio_exe_dir(&exe, err) < 0)
                return NULL;
        return aio_xasprintf("%s/../share/aio/terminal", exe);
}

int api_shell_asset(struct api_resp *resp, const char *name, struct aio_err *err)
{
        cleanup_free char *dir = NULL, *path = NULL;
        struct stat st;
        int fd;

        for (size_t i = 0; i < ELEMENTSOF(assets); i++) {
                if (strcmp(name, assets[i].name) != 0)
                        continue;
                dir = assets_dir(err);
                if (!dir)
                        return -err->code;
                path = aio_xasprintf("%s/%s", dir, name);
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        if (fd >= 0)
                                (void)close(fd);
                        return aio_error_msg(err, ENOENT,
                                             "The terminal's %s is not installed (looked in %s; "
                                             "`make` installs it, AIO_TERMINAL_DIR overrides)",
                                             name, dir);
                }
                api_resp_file(resp, 200, assets[i].type, fd, 0, (uint64_t)st.st_size);
                api_resp_header(resp, "Cache-Control", "no-cache");
                return 0;
        }
        return aio_error_msg(err, ENOENT, "Not Found");
}
