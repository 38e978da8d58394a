/* api/stream.c: a producer thread and a reader that arms and waits for its wake, as http.c's
 * suspended connection does; bytes arrive whole and in order through a ring smaller than the
 * data; a reader that leaves fails the writer with -EPIPE instead of blocking it forever. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/stream.h"
#include "tests/unit/unit.h"

struct waker {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int wakes;
};

static void wake(void *cls)
{
        struct waker *w = cls;

        (void)pthread_mutex_lock(&w->lock);
        w->wakes++;
        (void)pthread_cond_signal(&w->cond);
        (void)pthread_mutex_unlock(&w->lock);
}

static void wait_wake(struct waker *w, int *seen)
{
        (void)pthread_mutex_lock(&w->lock);
        while (w->wakes == *seen)
                (void)pthread_cond_wait(&w->cond, &w->lock);
        *seen = w->wakes;
        (void)pthread_mutex_unlock(&w->lock);
}

#define TOTAL (1u << 20)

struct producer {
        struct api_stream *s;
        int result;
        size_t written;
};

static unsigned char pattern(size_t i)
{
        return (unsigned char)((i * 7919u) >> 3);
}

static void *produce(void *arg)
{
        struct producer *p = arg;
        unsigned char chunk[4099];
        size_t n;

        while (p->written < TOTAL) {
                n = 1 + (p->written * 31) % sizeof(chunk);
                n = n > TOTAL - p->written ? TOTAL - p->written : n;
                for (size_t i = 0; i < n; i++)
                        chunk[i] = pattern(p->written + i);
                p->result = api_stream_write(p->s, chunk, n);
                if (p->result < 0)
                        break;
                p->written += n;
        }
        api_stream_finish(p->s);
        api_stream_unref(p->s);
        return NULL;
}

static void test_stream_roundtrip(void **state)
{
        struct waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
        struct producer p = {0};
        unsigned char *got = malloc(TOTAL), buf[1000];
        size_t have = 0, n;
        int seen = 0, waits = 0;
        pthread_t t;

        (void)state;
        p.s = api_stream_new(8192, wake, &w);
        assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
        for (;;) {
                enum api_stream_read_result r = api_stream_read(p.s, (char *)buf, sizeof(buf), &n);

                if (r == API_STREAM_END)
                        break;
                if (r == API_STREAM_DATA) {
                        assert_true(have + n <= TOTAL);
                        memcpy(got + have, buf, n);
                        have += n;
                        continue;
                }
                if (api_stream_arm(p.s)) {
                        wait_wake(&w, &seen);
                        waits++;
                }
        }
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(p.result, 0);
        assert_int_equal(have, TOTAL);
        for (size_t i = 0; i < TOTAL; i++)
                if (got[i] != pattern(i))
                        fail_msg("byte %zu differs", i);
        /* the ring is 8 KiB for 1 MiB: the reader must have waited */
        assert_true(waits > 0);
        api_stream_unref(p.s);
        free(got);
}

static void test_stream_abandon(void **state)
{
        struct producer p = {0};
        char buf[16];
        size_t n = 0;
        pthread_t t;

        (void)state;
        p.s = api_stream_new(4096, NULL, NULL);
        assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
        /* one read, then the client leaves: the writer, blocked on a full ring, must fail */
        while (api_stream_read(p.s, buf, sizeof(buf), &n) != API_STREAM_DATA)
                ;
        api_stream_abandon(p.s);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(p.result, -EPIPE);
        assert_true(p.written < TOTAL);
        assert_true(api_stream_gone(p.s));
        api_stream_unref(p.s);
}

static void test_stream_arm(void **state)
{
        struct waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
        struct api_stream *s = api_stream_new(16, wake, &w);
        char buf[32];
        size_t n = 0;

        (void)state;
        assert_int_equal(api_stream_read(s, buf, sizeof(buf), &n), API_STREAM_EMPTY);
        assert_true(api_stream_arm(s));
        assert_int_equal(api_stream_printf(s, "%s", "hi"), 0);
        assert_int_equal(w.wakes, 1);
        /* not armed: more data wakes nobody */
        assert_int_equal(api_stream_write(s, "!", 1), 0);
        assert_int_equal(w.wakes, 1);
        /* data already there: arming refuses, the reader reads again at once */
        assert_false(api_stream_arm(s));
        assert_int_equal(api_stream_read(s, buf, sizeof(buf), &n), API_STREAM_DATA);
        assert_int_equal(n, 3);
        assert_memory_equal(buf, "hi!", 3);
        assert_true(api_stream_arm(s));
        api_stream_finish(s);
        assert_int_equal(w.wakes, 2);
        assert_int_equal(api_stream_read(s, buf, sizeof(buf), &n), API_STREAM_END);
        api_stream_unref(s);
        api_stream_unref(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stream_roundtrip),
                cmocka_unit_test(test_stream_abandon),
                cmocka_unit_test(test_stream_arm),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
