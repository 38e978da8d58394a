#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct api_stream {
        pthread_mutex_t lock;
        pthread_cond_t room; /* signalled when the reader takes data or leaves */
        char *buf;           /* a ring of cap bytes */
        size_t cap, head, len;
        bool finished, abandoned, wake_wanted;
        void (*wake)(void *cls);
        void *wake_cls;
        atomic_int refs;
};

struct api_stream *api_stream_new(size_t max_queued, void (*wake)(void *cls), void *wake_cls)
{
        struct api_stream *s = aio_xcalloc(1, sizeof(*s));

        (void)pthread_mutex_init(&s->lock, NULL);
        (void)pthread_cond_init(&s->room, NULL);
        s->cap = max_queued ? max_queued : 1;
        s->buf = aio_xmalloc(s->cap);
        s->wake = wake;
        s->wake_cls = wake_cls;
        atomic_init(&s->refs, 2);
        return s;
}

/* Called with the lock held; returns whether the reader must be woken once it is dropped. */
static bool wake_take(struct api_stream *s)
{
        bool w = s->wake_wanted;

        s->wake_wanted = false;
        return w && s->wake;
}

static size_t ring_put(struct api_stream *s, const char *p, size_t n)
{
        size_t room = s->cap - s->len, tail = (s->head + s->len) % s->cap, first;

        n = n < room ? n : room;
        first = s->cap - tail < n ? s->cap - tail : n;
        memcpy(s->buf + tail, p, first);
        memcpy(s->buf, p + first, n - first);
        s->len += n;
        return n;
}

int api_stream_write(struct api_stream *s, const void *buf, size_t n)
{
        const char *p = buf;

        while (n > 0) {
                size_t put;
                bool wake;

                (void)pthread_mutex_lock(&s->lock);
                while (s->len == s->cap && !s->abandoned)
                        (void)pthread_cond_wait(&s->room, &s->lock);
                if (s->abandoned) {
                        (void)pthread_mutex_unlock(&s->lock);
                        return -EPIPE;
                }
                put = ring_put(s, p, n);
                wake = wake_take(s);
                (void)pthread_mutex_unlock(&s->lock);
                if (wake)
                        s->wake(s->wake_cls);
                p += put;
                n -= put;
        }
        return 0;
}

int api_stream_printf(struct api_stream *s, const char *fmt, ...)
{
        char *text = NULL;
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort();
        r = api_stream_write(s, text, (size_t)n);
        free(text);
        return r;
}

bool api_stream_gone(struct api_stream *s)
{
        bool gone;

        (void)pthread_mutex_lock(&s->lock);
        gone = s->abandoned;
        (void)pthread_mutex_unlock(&s->lock);
        return gone;
}

void api_stream_finish(struct api_stream *s)
{
        bool wake;

        (void)pthread_mutex_lock(&s->lock);
        s->finished = true;
        wake = wake_take(s);
        (void)pthread_mutex_unlock(&s->lock);
        if (wake)
                s->wake(s->wake_cls);
}

enum api_stream_read_result api_stream_read(struct api_stream *s, char *buf, size_t max,
                                            size_t *ret_n)
{
        enum api_stream_read_result r = API_STREAM_DATA;
        size_t n, first;

        (void)pthread_mutex_lock(&s->lock);
        n = s->len < max ? s->len : max;
        if (n == 0) {
                r = s->finished ? API_STREAM_END : API_STREAM_EMPTY;
        } else {
                first = s->cap - s->head < n ? s->cap - s->head : n;
                memcpy(buf, s->buf + s->head, first);
                memcpy(buf + first, s->buf, n - first);
                s->head = (s->head + n) % s->cap;
                s->len -= n;
                *ret_n = n;
                (void)pthread_cond_broadcast(&s->room);
        }
        (void)pthread_mutex_unlock(&s->lock);
        return r;
}

bool api_stream_arm(struct api_stream *s)
{
        bool armed;

        (void)pthread_mutex_lock(&s->lock);
        armed = s->len == 0 && !s->finished;
        s->wake_wanted = armed;
        (void)pthread_mutex_unlock(&s->lock);
        return armed;
}

void api_stream_abandon(struct api_stream *s)
{
        (void)pthread_mutex_lock(&s->lock);
        s->abandoned = true;
        s->wake_wanted = false;
        (void)pthread_cond_broadcast(&s->room);
        (void)pthread_mutex_unlock(&s->lock);
}

void api_stream_unref(struct api_stream *s)
{
        if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
                return;
        (void)pthread_mutex_destroy(&s->lock);
        (void)pthread_cond_destroy(&s->room);
        free(s->buf);
        free(s);
}
