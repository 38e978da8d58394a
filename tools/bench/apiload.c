/* apiload: sequential HTTP/1.1 latency driver for the API benchmark (tools/bench/api.py).
 *
 * Usage: apiload PORT METHOD PATH BODY WARMUP COUNT [SAMPLES-FILE]
 *
 * Sends WARMUP + COUNT requests to 127.0.0.1:PORT one after the other over one keep-alive
 * connection (a new one when the server closes it), each waiting for the full response, and
 * times the COUNT after the warm-up from the first byte sent to the last byte received
 * (CLOCK_MONOTONIC). BODY ("" for none) goes with Content-Type: application/json. Prints one
 * JSON object:
 *
 *     {"count": 2000, "errors": 0, "non2xx": 0, "reconnects": 0, "p50_us": 812.4,
 *      "p90_us": ..., "p99_us": ..., "max_us": ..., "mean_us": ...}
 *
 * errors are failed connections, resets and malformed responses (the request is retried on a
 * new connection and not timed); non2xx are complete responses with another status. The
 * optional SAMPLES-FILE gets every timed latency in microseconds, one a line, in order. The
 * response parser knows what aio-apid and nginx send: a status line, headers with
 * Content-Length, a body of that length (no chunked encoding). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERRORS 100
#define HEAD_MAX   16384

struct conn {
        int fd;
        unsigned short port;
        char head[HEAD_MAX + 1];
        char *body;
        size_t body_cap;
};

struct stats {
        long errors, non2xx, reconnects;
};

static double now_us(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int conn_open(struct conn *c)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(c->port)};
        int one = 1;

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return -errno;
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                int r = -errno;

                (void)close(c->fd);
                c->fd = -1;
                return r;
        }
        return 0;
}

static void conn_close(struct conn *c)
{
        if (c->fd >= 0)
                (void)close(c->fd);
        c->fd = -1;
}

static int send_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -EIO;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* The value of header name (with its colon) in the head, or -1. */
static long header_long(const char *head, const char *name)
{
        size_t n = strlen(name);

        for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, name, n) == 0)
                        return strtol(l + 2 + n, NULL, 10);
        return -1;
}

/* The body: the have bytes at start (read with the head), then the rest from the socket. */
static int body_read(struct conn *c, const char *start, size_t have, size_t len)
{
        if (len > c->body_cap) {
                free(c->body);
                c->body = malloc(len);
                if (!c->body)
                        abort();
                c->body_cap = len;
        }
        memcpy(c->body, start, have);
        while (have < len) {
                ssize_t r = recv(c->fd, c->body + have, len - have, 0);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -EIO;
                have += (size_t)r;
        }
        return 0;
}

/* Reads one response; returns its status, or -errno. *closing is set on Connection: close. */
static int response_read(struct conn *c, int *closing)
{
        size_t n = 0, extra;
        char *end = NULL;
        long len;

        while (!end) {
                ssize_t r = recv(c->fd, c->head + n, HEAD_MAX - n, 0);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0 || n + (size_t)r >= HEAD_MAX)
                        return -EIO;
                n += (size_t)r;
                c->head[n] = '\0';
                end = strstr(c->head, "\r\n\r\n");
        }
        len = header_long(c->head, "content-length:");
        if (strncmp(c->head, "HTTP/1.1 ", 9) != 0 || len < 0)
                return -EPROTO;
        extra = n - (size_t)(end + 4 - c->head);
        if (extra > (size_t)len)
                return -EPROTO; /* pipelining is not used: nothing may follow the body */
        if (len > (1L << 30))
                return -EPROTO;
        if (len > 0 && body_read(c, end + 4, extra, (size_t)len) < 0)
                return -EIO;
        *closing = strcasestr(c->head, "\r\nconnection: close") != NULL;
        return (int)strtol(c->head + 9, NULL, 10);
}

/* One request; returns its latency in microseconds, or -1 after an error (counted). */
static double request_once(struct conn *c, const char *req, size_t len, struct stats *st)
{
        double t0;
        int status, closing = 0;

        if (c->fd < 0) {
                if (conn_open(c) < 0) {
                        st->errors++;
                        return -1;
                }
                st->reconnects++;
        }
        t0 = now_us();
        status = send_all(c->fd, req, len);
        if (status == 0)
                status = response_read(c, &closing);
        if (status < 0) {
                st->errors++;
                conn_close(c);
                return -1;
        }
        if (status < 200 || status > 299)
                st->non2xx++;
        if (closing)
                conn_close(c);
        return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static double pct(const double *v, long n, double p)
{
        long i = (long)((p / 100.0) * (double)n + 0.999999) - 1;

        return v[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

static void report(double *v, long n, const struct stats *st)
{
        double sum = 0;

        for (long i = 0; i < n; i++)
                sum += v[i];
        qsort(v, (size_t)n, sizeof(*v), cmp_double);
        (void)printf("{\"count\": %ld, \"errors\": %ld, \"non2xx\": %ld, \"reconnects\": %ld, "
                     "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, "
                     "\"mean_us\": %.1f}\n",
                     n, st->errors, st->non2xx, st->reconnects, pct(v, n, 50), pct(v, n, 90),
                     pct(v, n, 99), v[n - 1], sum / (double)n);
}

static char *request_build(const char *method, const char *path, const char *body, size_t *len)
{
        size_t blen = strlen(body);
        char *req = NULL;
        int n;

        if (blen)
                n = asprintf(&req,
                             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                             method, path, blen, body);
        else
                n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
        if (n < 0)
                abort();
        *len = (size_t)n;
        return req;
}

static int run(struct conn *c, const char *req, size_t len, long warmup, long count, double *v,
               struct stats *st)
{
        long done = 0;

        for (long i = 0; i < warmup; i++)
                (void)request_once(c, req, len, st);
        *st = (struct stats){0};
        while (done < count) {
                double us = request_once(c, req, len, st);

                if (st->errors > MAX_ERRORS) {
                        (void)fprintf(stderr, "apiload: more than %d errors, giving up\n",
                                      MAX_ERRORS);
                        return -EIO;
                }
                if (us >= 0)
                        v[done++] = us;
        }
        return 0;
}

static int samples_write(const char *path, const double *v, long n)
{
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        for (long i = 0; i < n; i++)
                (void)fprintf(f, "%.1f\n", v[i]);
        return fclose(f) == 0 ? 0 : -EIO;
}

/* A decimal number, or -1. */
static long number(const char *s)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        return errno || end == s || *end ? -1 : v;
}

int main(int argc, char **argv)
{
        struct conn c = {.fd = -1};
        struct stats st = {0};
        long warmup, count;
        size_t len;
        char *req;
        double *v;

        if (argc < 7 || argc > 8) {
                (void)fprintf(stderr,
                              "usage: apiload PORT METHOD PATH BODY WARMUP COUNT [SAMPLES]\n");
                return 2;
        }
        c.port = (unsigned short)number(argv[1]);
        warmup = number(argv[5]);
        count = number(argv[6]);
        if (c.port == 0 || warmup < 0 || count <= 0) {
                (void)fprintf(stderr, "apiload: bad PORT, WARMUP or COUNT\n");
                return 2;
        }
        req = request_build(argv[2], argv[3], argv[4], &len);
        v = calloc((size_t)count, sizeof(*v));
        if (!v)
                abort();
        if (run(&c, req, len, warmup, count, v, &st) < 0)
                return 1;
        conn_close(&c);
        if (argc == 8 && samples_write(argv[7], v, count) < 0) {
                (void)fprintf(stderr, "apiload: %s: %s\n", argv[7], strerror(errno));
                return 1;
        }
        report(v, count, &st);
        free(v);
        free(req);
        free(c.body);
        return 0;
}
