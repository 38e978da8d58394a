/* api/ws.c against a socketpair: the test plays the client, writing RFC 6455 frames by hand
 * (masked, as clients must) and reading the server's; messages, fragments, pings, the close
 * handshake, protocol errors and their close codes, the bytes read with the upgrade, timeouts,
 * wake-ups and a peer that stops reading. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/ws.h"
#include "tests/unit/unit.h"

struct pair {
        int srv, cli;
        struct api_ws *ws;
};

static size_t frame(uint8_t *out, int fin, int opcode, const void *payload, size_t n, bool mask)
{
        static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
        const uint8_t *p = payload;
        size_t i = 0;

        out[i++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
        if (n < 126) {
                out[i++] = (uint8_t)((mask ? 0x80 : 0) | n);
        } else if (n < 65536) {
                out[i++] = (uint8_t)((mask ? 0x80 : 0) | 126);
                out[i++] = (uint8_t)(n >> 8);
                out[i++] = (uint8_t)n;
        } else {
                out[i++] = (uint8_t)((mask ? 0x80 : 0) | 127);
                for (int b = 7; b >= 0; b--)
                        out[i++] = (uint8_t)(n >> (8 * b));
        }
        if (mask) {
                memcpy(out + i, key, 4);
                i += 4;
        }
        for (size_t j = 0; j < n; j++)
                out[i + j] = (uint8_t)(p[j] ^ (mask ? key[j % 4] : 0));
        return i + n;
}

static void cli_send(struct pair *p, int fin, int opcode, const void *payload, size_t n)
{
        uint8_t *buf = malloc(n + 14);
        size_t len = frame(buf, fin, opcode, payload, n, true);

        assert_int_equal(write(p->cli, buf, len), (ssize_t)len);
        free(buf);
}

static void read_all(int fd, void *buf, size_t n)
{
        struct pollfd pf = {.fd = fd, .events = POLLIN};

        for (size_t got = 0; got < n;) {
                ssize_t r;

                assert_int_equal(poll(&pf, 1, 2000), 1);
                r = read(fd, (char *)buf + got, n - got);
                assert_true(r > 0);
                got += (size_t)r;
        }
}

/* Reads one server frame: returns its opcode, payload in buf (NUL-terminated), length in n. */
static int cli_recv(struct pair *p, char *buf, size_t max, size_t *ret_n)
{
        uint8_t h[2], ext[8];
        uint64_t n;

        read_all(p->cli, h, 2);
        assert_int_equal(h[1] & 0x80, 0); /* servers never mask */
        n = h[1] & 0x7f;
        if (n == 126) {
                read_all(p->cli, ext, 2);
                n = (uint64_t)ext[0] << 8 | ext[1];
        } else if (n == 127) {
                read_all(p->cli, ext, 8);
                n = 0;
                for (int i = 0; i < 8; i++)
                        n = n << 8 | ext[i];
        }
        assert_true(n < max);
        read_all(p->cli, buf, (size_t)n);
        buf[n] = '\0';
        *ret_n = (size_t)n;
        return h[0] & 0x0f;
}

static unsigned close_code(const char *payload, size_t n)
{
        return n >= 2 ? (unsigned)((uint8_t)payload[0] << 8 | (uint8_t)payload[1]) : 0;
}

static int setup(void **state)
{
        struct pair *p = calloc(1, sizeof(*p));
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -1;
        p->srv = sv[0];
        p->cli = sv[1];
        p->ws = api_ws_new(p->srv, NULL, 0, 64, 300);
        *state = p;
        return 0;
}

static int teardown(void **state)
{
        struct pair *p = *state;

        api_ws_free(p->ws);
        (void)close(p->srv);
        (void)close(p->cli);
        free(p);
        return 0;
}

static void test_text_both_ways(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        char buf[128];
        size_t n;

        cli_send(p, 1, 1, "hello", 5);
        assert_int_equal(api_ws_recv(p->ws, 1000, -1, &m, &err), 1);
        assert_int_equal(m.type, API_WS_TEXT);
        assert_int_equal(m.len, 5);
        assert_string_equal(m.data, "hello");
        api_ws_msg_free(&m);

        cli_send(p, 1, 2, "\0\1\2", 3);
        assert_int_equal(api_ws_recv(p->ws, 1000, -1, &m, &err), 1);
        assert_int_equal(m.type, API_WS_BINARY);
        assert_int_equal(m.len, 3);
        assert_memory_equal(m.data, "\0\1\2", 3);
        api_ws_msg_free(&m);

        assert_int_equal(api_ws_send_text(p->ws, "world", &err), 0);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 1);
        assert_string_equal(buf, "world");
        /* a long one: 16-bit length */
        memset(buf, 'x', 100);
        assert_int_equal(api_ws_send(p->ws, API_WS_BINARY, buf, 100, &err), 0);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 2);
        assert_int_equal(n, 100);
}

static void test_ping_and_fragments(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        char buf[128];
        size_t n;

        cli_send(p, 0, 1, "hel", 3);
        cli_send(p, 1, 9, "p1", 2); /* a ping between fragments is allowed */
        cli_send(p, 1, 0, "lo", 2);
        assert_int_equal(api_ws_recv(p->ws, 1000, -1, &m, &err), 1);
        assert_string_equal(m.data, "hello");
        api_ws_msg_free(&m);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 0xA);
        assert_string_equal(buf, "p1");

        /* our ping, their pong */
        assert_int_equal(api_ws_last_pong_ms(p->ws), 0);
        assert_int_equal(api_ws_ping(p->ws, "x", 1, &err), 0);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 9);
        cli_send(p, 1, 0xA, "x", 1);
        assert_int_equal(api_ws_recv(p->ws, 200, -1, &m, &err), 0);
        assert_true(api_ws_last_pong_ms(p->ws) > 0);
}

static void test_timeout_and_wake(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        cleanup_close int efd = eventfd(0, EFD_CLOEXEC);
        uint64_t one = 1;
        struct timespec a, b;

        (void)clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(api_ws_recv(p->ws, 100, efd, &m, &err), 0);
        (void)clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 90);
        assert_null(m.data);

        assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
        (void)clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(api_ws_recv(p->ws, 5000, efd, &m, &err), 0);
        (void)clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(b.tv_sec - a.tv_sec < 2);
        /* a message that is there wins over the wake-up */
        cli_send(p, 1, 1, "m", 1);
        assert_int_equal(api_ws_recv(p->ws, 5000, efd, &m, &err), 1);
        api_ws_msg_free(&m);
}

static void test_extra_bytes_first(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        uint8_t buf[64];
        size_t len = frame(buf, 1, 1, "early", 5, true);
        struct api_ws *ws;

        /* the first frame arrived with the upgrade request; half of the second too */
        len += frame(buf + len, 1, 1, "late!", 5, true);
        ws = api_ws_new(p->srv, buf, len - 4, 0, 0);
        assert_int_equal(write(p->cli, buf + len - 4, 4), 4);
        assert_int_equal(api_ws_recv(ws, 1000, -1, &m, &err), 1);
        assert_string_equal(m.data, "early");
        api_ws_msg_free(&m);
        assert_int_equal(api_ws_recv(ws, 1000, -1, &m, &err), 1);
        assert_string_equal(m.data, "late!");
        api_ws_msg_free(&m);
        api_ws_free(ws);
}

static void test_peer_close(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        char buf[128];
        size_t n;

        cli_send(p, 1, 8,
                 "\x03\xe8"
                 "bye",
                 5);
        assert_int_equal(api_ws_recv(p->ws, 1000, -1, &m, &err), -EPIPE);
        assert_int_equal(api_ws_peer_close_code(p->ws), 1000);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 8);
        assert_int_equal(close_code(buf, n), 1000);
        /* nothing more goes out */
        assert_true(api_ws_send_text(p->ws, "late", &err) < 0);
}

static void test_our_close(void **state)
{
        struct pair *p = *state;
        char buf[128];
        size_t n;

        /* the peer answers our close only after we sent it: closes in 0.2 s, not at once */
        api_ws_close(p->ws, 1001, "going", 200);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 8);
        assert_int_equal(close_code(buf, n), 1001);
        assert_string_equal(buf + 2, "going");
}

static void expect_close(struct pair *p, unsigned code)
{
        struct aio_err err = {0};
        struct api_ws_msg m;
        char buf[128];
        size_t n;

        assert_int_equal(api_ws_recv(p->ws, 1000, -1, &m, &err), -EPIPE);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 8);
        assert_int_equal(close_code(buf, n), code);
}

static void test_unmasked_is_protocol_error(void **state)
{
        struct pair *p = *state;
        uint8_t buf[16];
        size_t len = frame(buf, 1, 1, "x", 1, false);

        assert_int_equal(write(p->cli, buf, len), (ssize_t)len);
        expect_close(p, 1002);
}

static void test_too_big(void **state)
{
        struct pair *p = *state;
        char big[65];

        memset(big, 'a', sizeof(big));
        cli_send(p, 1, 1, big, sizeof(big)); /* the pair allows 64 */
        expect_close(p, 1009);
}

static void test_bad_utf8(void **state)
{
        struct pair *p = *state;

        cli_send(p, 1, 1, "\xff\xfe", 2);
        expect_close(p, 1007);
}

static void test_peer_gone_and_stuck(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        char *big = calloc(1, 4 << 20);

        /* a peer that reads nothing: the send gives up after its timeout (0.3 s here) */
        assert_true(api_ws_send(p->ws, API_WS_BINARY, big, 4 << 20, &err) < 0);
        free(big);
        /* a peer that went away */
        (void)shutdown(p->cli, SHUT_RDWR);
        assert_int_equal(api_ws_recv(p->ws, 1000, -1, &m, &err), -EPIPE);
}

static void *sender(void *arg)
{
        struct pair *p = arg;
        struct aio_err err = {0};

        (void)usleep(50 * 1000);
        return (void *)(intptr_t)api_ws_send_text(p->ws, "from another thread", &err);
}

static void test_send_while_receiving(void **state)
{
        struct pair *p = *state;
        struct aio_err err = {0};
        struct api_ws_msg m;
        pthread_t t;
        void *rv;
        char buf[128];
        size_t n;

        assert_int_equal(pthread_create(&t, NULL, sender, p), 0);
        assert_int_equal(api_ws_recv(p->ws, 300, -1, &m, &err), 0); /* waits; send gets through */
        assert_int_equal(pthread_join(t, &rv), 0);
        assert_int_equal((intptr_t)rv, 0);
        assert_int_equal(cli_recv(p, buf, sizeof(buf), &n), 1);
        assert_string_equal(buf, "from another thread");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_text_both_ways, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ping_and_fragments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_and_wake, setup, teardown),
                cmocka_unit_test_setup_teardown(test_extra_bytes_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_peer_close, setup, teardown),
                cmocka_unit_test_setup_teardown(test_our_close, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unmasked_is_protocol_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
                cmocka_unit_test_setup_teardown(test_peer_gone_and_stuck, setup, teardown),
                cmocka_unit_test_setup_teardown(test_send_while_receiving, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
