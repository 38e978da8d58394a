/* api/auth.c and api/routes/auth.c: the constant-time compare, upstream's order of carriers
 * (ticket > API key > Bearer key or JWT), tickets on an injected clock, the dispatcher's gate
 * (public rows, 404/405 and CORS preflights before it), /tickets and /auth, the environment,
 * and the refusal to serve open on a socket that is not loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/auth.h"
#include "api/reply.h"
#include "api/router.h"
#include "tests/unit/unit.h"

#define KEY "correct-horse-battery-staple"

static EVP_PKEY *PRIV;
static char *PUB_B64;
static double FAKE_REAL = 1.8e9, FAKE_BOOT = 1000;

static double fake_clock(clockid_t id)
{
        return id == CLOCK_REALTIME ? FAKE_REAL : FAKE_BOOT;
}

static char *b64(const unsigned char *in, size_t len, bool url)
{
        char *out = aio_xmalloc(4 * ((len + 2) / 3) + 1);
        int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

        for (int i = 0; url && i < n; i++)
                out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
        while (url && n > 0 && out[n - 1] == '=')
                out[--n] = '\0';
        return out;
}

static char *jwt_exp(double exp)
{
        cleanup_free char *payload = aio_xasprintf("{\"exp\":%.0f}", exp);
        static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
        cleanup_free char *h = b64((const unsigned char *)header, strlen(header), true);
        cleanup_free char *p = b64((const unsigned char *)payload, strlen(payload), true);
        cleanup_free char *input = aio_xasprintf("%s.%s", h, p);
        cleanup_free char *s = NULL;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char sig[512];
        size_t len = sizeof(sig);

        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, PRIV), 1);
        assert_int_equal(EVP_DigestSign(md, sig, &len, (unsigned char *)input, strlen(input)), 1);
        EVP_MD_CTX_free(md);
        s = b64(sig, len, true);
        return aio_xasprintf("%s.%s", input, s);
}

static int setup(void **state)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long n;

        (void)state;
        PRIV = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        if (!PRIV || PEM_write_bio_PUBKEY(bio, PRIV) != 1)
                return -1;
        n = BIO_get_mem_data(bio, &data);
        PUB_B64 = b64((unsigned char *)data, (size_t)n, false);
        BIO_free(bio);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        EVP_PKEY_free(PRIV);
        free(PUB_B64);
        return 0;
}

static struct api_auth *auth_make(bool key, bool jwt)
{
        struct aio_err err = {0};
        struct api_auth *a = NULL;

        assert_int_equal(api_auth_new(key ? KEY : NULL, jwt ? PUB_B64 : NULL, 30, &a, &err), 0);
        assert_non_null(a);
        api_auth_set_clock(a, fake_clock);
        return a;
}

static int check(struct api_auth *a, const char *ticket, const char *key, const char *authz,
                 struct aio_err *err)
{
        struct api_auth_creds c = {.ticket = ticket, .key = key, .authorization = authz};

        aio_err_clear(err);
        return api_auth_verify(a, &c, err);
}

static void test_equal(void **state)
{
        (void)state;
        assert_true(api_auth_equal("abc", 3, "abc", 3));
        assert_true(api_auth_equal("", 0, "", 0));
        assert_false(api_auth_equal("abc", 3, "abd", 3));
        assert_false(api_auth_equal("abc", 3, "abcd", 4));
        assert_false(api_auth_equal("abc", 3, "ab", 2));
        assert_false(api_auth_equal("", 0, "a", 1));
        /* lengths are what is compared, not C strings */
        assert_false(api_auth_equal("ab\0c", 4, "ab\0d", 4));
        assert_true(api_auth_equal("ab\0c", 4, "ab\0c", 4));
        assert_false(api_auth_equal(KEY, strlen(KEY), KEY "x", strlen(KEY) + 1));
}

static void test_new(void **state)
{
        struct aio_err err = {0};
        struct api_auth *a = (struct api_auth *)&err;

        (void)state;
        /* nothing configured: open */
        assert_int_equal(api_auth_new(NULL, NULL, 30, &a, &err), 0);
        assert_null(a);
        a = (struct api_auth *)&err;
        assert_int_equal(api_auth_new("", "", 30, &a, &err), 0);
        assert_null(a);
        assert_string_equal(api_auth_describe(NULL), "none");
        assert_int_equal(api_auth_new(KEY, NULL, 0, &a, &err), -EINVAL);
        assert_int_equal(api_auth_new(KEY, NULL, API_TICKET_TTL_MAX + 1, &a, &err), -EINVAL);
        assert_int_equal(api_auth_new("a\nb", NULL, 30, &a, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "control character"));
        assert_null(strstr(err.msg, "a\nb"));
        assert_int_equal(api_auth_new(NULL, "bm90IGEga2V5", 30, &a, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "JWT_PUBLIC_KEY"));
        a = auth_make(true, false);
        assert_string_equal(api_auth_describe(a), "API key");
        api_auth_free(a);
        a = auth_make(false, true);
        assert_string_equal(api_auth_describe(a), "RS256 JWT");
        api_auth_free(a);
        a = auth_make(true, true);
        assert_string_equal(api_auth_describe(a), "API key or RS256 JWT");
        api_auth_free(a);
}

static void test_api_key(void **state)
{
        struct api_auth *a = auth_make(true, false);
        struct aio_err err;

        (void)state;
        assert_int_equal(check(a, NULL, KEY, NULL, &err), API_AUTH_KEY);
        assert_int_equal(check(a, NULL, NULL, "Bearer " KEY, &err), API_AUTH_KEY);
        assert_int_equal(check(a, NULL, NULL, "bearer   " KEY, &err), API_AUTH_KEY);
        /* a carried key decides: a right Bearer does not rescue a wrong X-AIO-API-Key */
        assert_int_equal(check(a, NULL, "wrong", "Bearer " KEY, &err), -EACCES);
        assert_string_equal(err.msg, "Invalid API key.");
        assert_int_equal(check(a, NULL, KEY "x", NULL, &err), -EACCES);
        assert_int_equal(check(a, NULL, "", NULL, &err), -EACCES);
        assert_int_equal(check(a, NULL, NULL, "Bearer " KEY "x", &err), -EACCES);
        assert_string_equal(err.msg, "Invalid API key.");
        assert_int_equal(check(a, NULL, NULL, "Bearer x.y.z", &err), -EACCES);
        assert_string_equal(err.msg, "Invalid API key."); /* no JWT key: a key is all it can be */
        assert_int_equal(check(a, NULL, NULL, "Basic " KEY, &err), -EACCES);
        assert_string_equal(err.msg, "Invalid Authorization header: expected 'Bearer <token>'");
        assert_int_equal(check(a, NULL, NULL, "Bearer", &err), -EACCES);
        assert_int_equal(check(a, NULL, NULL, "Bearer ", &err), -EACCES);
        assert_int_equal(check(a, NULL, NULL, "BearerX " KEY, &err), -EACCES);
        assert_int_equal(check(a, NULL, NULL, KEY, &err), -EACCES);
        assert_null(strstr(err.msg, KEY));
        assert_int_equal(check(a, NULL, NULL, NULL, &err), -EACCES);
        assert_string_equal(err.msg, "Authorization header is missing: send X-AIO-API-Key: <key>, "
                                     "Authorization: Bearer <key>, ?api_key=<key> or "
                                     "?ticket=<ticket>");
        api_auth_free(a);
}

static void test_jwt(void **state)
{
        struct api_auth *a = auth_make(false, true), *both = auth_make(true, true);
        cleanup_free char *ok = jwt_exp(FAKE_REAL + 60), *old = jwt_exp(FAKE_REAL - 3600);
        cleanup_free char *b_ok = aio_xasprintf("Bearer %s", ok);
        cleanup_free char *b_old = aio_xasprintf("Bearer %s", old);
        cleanup_free char *b_bad = aio_xasprintf("Bearer %sA", ok);
        struct aio_err err;

        (void)state;
        assert_int_equal(check(a, NULL, NULL, b_ok, &err), API_AUTH_JWT);
        assert_int_equal(check(both, NULL, NULL, b_ok, &err), API_AUTH_JWT);
        assert_int_equal(check(both, NULL, NULL, "Bearer " KEY, &err), API_AUTH_KEY);
        assert_int_equal(check(a, NULL, NULL, b_old, &err), -EACCES);
        assert_string_equal(err.msg, "Token has expired");
        assert_int_equal(check(a, NULL, NULL, b_bad, &err), -EACCES);
        assert_true(strncmp(err.msg, "Invalid token: ", 15) == 0);
        /* the same token once the clock passed exp (+ leeway) */
        FAKE_REAL += 60 + 31;
        assert_int_equal(check(a, NULL, NULL, b_ok, &err), -EACCES);
        assert_string_equal(err.msg, "Token has expired");
        FAKE_REAL -= 60 + 31;
        /* no API key configured: X-AIO-API-Key is not a credential, Bearer is needed */
        assert_int_equal(check(a, NULL, KEY, NULL, &err), -EACCES);
        assert_string_equal(err.msg, "Authorization header is missing: send Authorization: "
                                     "Bearer <JWT> or ?ticket=<ticket>");
        assert_int_equal(check(a, NULL, NULL, "Bearer " KEY, &err), -EACCES);
        assert_true(strncmp(err.msg, "Invalid token: not a JWT", 24) == 0);
        assert_int_equal(check(both, NULL, NULL, "Bearer wrong", &err), -EACCES);
        assert_string_equal(err.msg, "Invalid API key.");
        api_auth_free(a);
        api_auth_free(both);
}

static void test_tickets(void **state)
{
        struct api_auth *a = auth_make(true, false);
        char t[API_TICKET_LEN + 1], t2[API_TICKET_LEN + 1];
        struct aio_err err;

        (void)state;
        FAKE_BOOT = 1000;
        assert_int_equal(api_auth_ticket_new(a, t, &err), 30);
        assert_int_equal(strlen(t), API_TICKET_LEN);
        assert_int_equal(t[14], '4');
        assert_non_null(strchr("89ab", t[19]));
        assert_int_equal(api_auth_ticket_new(a, t2, &err), 30);
        assert_string_not_equal(t, t2);
        /* reusable while it lives (upstream: a cache until the TTL, not one-time) */
        assert_int_equal(check(a, t, NULL, NULL, &err), API_AUTH_TICKET);
        FAKE_BOOT = 1029.9;
        assert_int_equal(check(a, t, NULL, NULL, &err), API_AUTH_TICKET);
        FAKE_BOOT = 1030;
        assert_int_equal(check(a, t, NULL, NULL, &err), -EACCES);
        assert_string_equal(err.msg, "Invalid or expired ticket.");
        /* a ticket present decides, even next to a good key */
        assert_int_equal(check(a, t, KEY, "Bearer " KEY, &err), -EACCES);
        assert_int_equal(check(a, "", KEY, NULL, &err), -EACCES);
        t2[0] = t2[0] == 'a' ? 'b' : 'a';
        FAKE_BOOT = 1000;
        assert_int_equal(check(a, t2, NULL, NULL, &err), -EACCES);
        assert_int_equal(check(a, "00000000-0000-4000-8000-000000000000", NULL, NULL, &err),
                         -EACCES);
        api_auth_free(a);
}

static void test_tickets_cap(void **state)
{
        struct api_auth *a = auth_make(true, false);
        char first[API_TICKET_LEN + 1], t[API_TICKET_LEN + 1];
        struct aio_err err;

        (void)state;
        FAKE_BOOT = 5000;
        assert_int_equal(api_auth_ticket_new(a, first, &err), 30);
        FAKE_BOOT = 5001;
        for (int i = 0; i < API_TICKETS_MAX; i++)
                assert_int_equal(api_auth_ticket_new(a, t, &err), 30);
        /* the table was full: the oldest went, the newest is there */
        assert_int_equal(check(a, first, NULL, NULL, &err), -EACCES);
        assert_int_equal(check(a, t, NULL, NULL, &err), API_AUTH_TICKET);
        /* all expire; a new one still works */
        FAKE_BOOT = 6000;
        assert_int_equal(check(a, t, NULL, NULL, &err), -EACCES);
        assert_int_equal(api_auth_ticket_new(a, t, &err), 30);
        assert_int_equal(check(a, t, NULL, NULL, &err), API_AUTH_TICKET);
        api_auth_free(a);
}

static void test_ticket_ttl(void **state)
{
        struct aio_err err = {0};
        struct api_auth *a = NULL;
        char t[API_TICKET_LEN + 1];

        (void)state;
        assert_int_equal(api_auth_new(KEY, NULL, 5, &a, &err), 0);
        api_auth_set_clock(a, fake_clock);
        FAKE_BOOT = 100;
        assert_int_equal(api_auth_ticket_new(a, t, &err), 5);
        FAKE_BOOT = 104.5;
        assert_int_equal(check(a, t, NULL, NULL, &err), API_AUTH_TICKET);
        FAKE_BOOT = 105;
        assert_int_equal(check(a, t, NULL, NULL, &err), -EACCES);
        api_auth_free(a);
        /* open: made, not kept */
        assert_int_equal(api_auth_ticket_new(NULL, t, &err), 30);
        assert_int_equal(t[8], '-');
}

/* --- through the dispatcher ------------------------------------------------------------- */

struct fake {
        struct api_kv headers[4];
        struct api_kv query[4];
        struct api_raw_req raw;
};

static const char *fake_header(const void *cls, const char *name)
{
        const struct api_kv *h = cls;

        for (size_t i = 0; i < 4 && h[i].key; i++)
                if (strcasecmp(h[i].key, name) == 0)
                        return h[i].value;
        return NULL;
}

static void fake_init(struct fake *f, const char *method, const char *path)
{
        memset(f, 0, sizeof(*f));
        f->raw = (struct api_raw_req){.method = method,
                                      .path = path,
                                      .query = f->query,
                                      .header = fake_header,
                                      .header_cls = f->headers,
                                      .client_fd = -1,
                                      .ws_fd = -1};
}

static void fake_header_add(struct fake *f, const char *k, const char *v)
{
        size_t i = 0;

        while (f->headers[i].key)
                i++;
        f->headers[i] = (struct api_kv){k, v};
}

static void fake_query_add(struct fake *f, const char *k, const char *v)
{
        f->query[f->raw.n_query++] = (struct api_kv){k, v};
}

static int h_ok(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        (void)req;
        (void)err;
        api_reply_ok(resp, "ran", NULL);
        return 0;
}

/* clang-format off */
static const struct api_route t_routes[] = {
        { "GET",  "/private", h_ok, 0 },
        { "GET",  "/ws",      h_ok, API_F_WS },
        { "GET",  "/open",    h_ok, API_F_PUBLIC },
        { "POST", "/admin",   h_ok, API_F_ADMIN },
        {0},
};
/* clang-format on */
static const struct api_route *const t_tables[] = {t_routes};

static unsigned run(struct api_ctx *ctx, struct fake *f, struct api_resp *resp)
{
        api_resp_done(resp);
        api_dispatch_tables(t_tables, 1, &f->raw, ctx, resp);
        return resp->status;
}

static void test_gate(void **state)
{
        struct api_ctx ctx = {.auth = auth_make(true, false)}, open = {0};
        struct api_resp resp = {0};
        struct fake f;

        (void)state;
        fake_init(&f, "GET", "/private");
        assert_int_equal(run(&ctx, &f, &resp), 401);
        assert_non_null(strstr(resp.body, "\"success\":false"));
        assert_non_null(strstr(resp.body, "Authorization header is missing"));
        assert_string_equal(api_resp_header_get(&resp, "WWW-Authenticate"), "Bearer realm=\"aio\"");
        assert_int_equal(run(&open, &f, &resp), 200);
        assert_int_equal(run(NULL, &f, &resp), 200);
        fake_header_add(&f, "x-aio-api-key", "nope");
        assert_int_equal(run(&ctx, &f, &resp), 401);
        assert_non_null(strstr(resp.body, "Invalid API key."));
        assert_string_equal(api_resp_header_get(&resp, "WWW-Authenticate"),
                            "Bearer realm=\"aio\", error=\"invalid_token\"");
        fake_init(&f, "GET", "/private");
        fake_query_add(&f, "api_key", KEY);
        assert_int_equal(run(&ctx, &f, &resp), 200);
        /* the upgrade request of a WebSocket row is refused before any handler or 101 */
        fake_init(&f, "GET", "/ws");
        fake_header_add(&f, "Upgrade", "websocket");
        assert_int_equal(run(&ctx, &f, &resp), 401);
        /* public rows, 404, 405 and preflights answer without credentials */
        fake_init(&f, "GET", "/open");
        assert_int_equal(run(&ctx, &f, &resp), 200);
        fake_init(&f, "GET", "/nowhere");
        assert_int_equal(run(&ctx, &f, &resp), 404);
        fake_init(&f, "DELETE", "/private");
        assert_int_equal(run(&ctx, &f, &resp), 405);
        fake_init(&f, "OPTIONS", "/private");
        f.raw.origin = "http://example.test";
        f.raw.acr_method = "GET";
        assert_int_equal(run(&ctx, &f, &resp), 200);
        /* a 401 to a cross-origin call still carries CORS, so the page can read it */
        fake_init(&f, "GET", "/private");
        f.raw.origin = "http://example.test";
        assert_int_equal(run(&ctx, &f, &resp), 401);
        assert_string_equal(api_resp_header_get(&resp, "Access-Control-Allow-Origin"), "*");
        /* credentials first, then the admin check */
        fake_init(&f, "POST", "/admin");
        assert_int_equal(run(&ctx, &f, &resp), 401);
        fake_header_add(&f, "Authorization", "Bearer " KEY);
        assert_int_equal(run(&ctx, &f, &resp), 403);
        api_resp_done(&resp);
        api_auth_free(ctx.auth);
}

static json_t *resp_json(const struct api_resp *resp)
{
        json_t *v = json_loadb(resp->body, resp->len, 0, NULL);

        assert_non_null(v);
        return v;
}

static void test_routes(void **state)
{
        struct api_ctx ctx = {.auth = auth_make(true, false)}, open = {0};
        struct api_resp resp = {0};
        char ticket[API_TICKET_LEN + 1];
        json_auto_t *v = NULL;
        struct fake f;

        (void)state;
        FAKE_BOOT = 100;
        fake_init(&f, "POST", "/tickets");
        api_dispatch(&f.raw, &ctx, &resp);
        assert_int_equal(resp.status, 401);
        fake_header_add(&f, "X-AIO-API-Key", KEY);
        api_resp_done(&resp);
        api_dispatch(&f.raw, &ctx, &resp);
        assert_int_equal(resp.status, 200);
        v = resp_json(&resp);
        assert_int_equal(json_integer_value(json_object_get(v, "expires_in")), 30);
        assert_int_equal(json_object_size(v), 2);
        (void)snprintf(ticket, sizeof(ticket), "%s",
                       json_string_value(json_object_get(v, "ticket")));
        assert_int_equal(strlen(ticket), API_TICKET_LEN);
        /* a ticket buys no ticket */
        fake_init(&f, "POST", "/tickets");
        fake_query_add(&f, "ticket", ticket);
        api_resp_done(&resp);
        api_dispatch(&f.raw, &ctx, &resp);
        assert_int_equal(resp.status, 401);
        assert_non_null(strstr(resp.body, "cannot be exchanged"));
        /* /auth: its own query, then X-Original-URI (nginx auth_request) */
        fake_init(&f, "GET", "/auth");
        api_resp_done(&resp);
        api_dispatch(&f.raw, &ctx, &resp);
        assert_int_equal(resp.status, 401);
        assert_non_null(strstr(resp.body, "Authorization header is missing"));
        {
                cleanup_free char *uri = aio_xasprintf(
                        "/vnc/index.html?autoconnect=1&ticket=%s&path=websockify%%3Fticket%%3D%s",
                        ticket, ticket);

                fake_header_add(&f, "X-Original-URI", uri);
                api_resp_done(&resp);
                api_dispatch(&f.raw, &ctx, &resp);
                assert_int_equal(resp.status, 200);
                assert_string_equal(resp.body,
                                    "{\"status\":\"ok\",\"message\":\"Authenticated by ticket\"}");
        }
        fake_init(&f, "GET", "/auth");
        fake_header_add(&f, "X-Original-URI",
                        "/v1/shell/ws?api_key=correct-horse%2Dbattery-staple");
        api_resp_done(&resp);
        api_dispatch(&f.raw, &ctx, &resp);
        assert_int_equal(resp.status, 200);
        assert_non_null(strstr(resp.body, "Authenticated by API key"));
        fake_init(&f, "GET", "/auth");
        fake_header_add(&f, "X-Original-URI", "/x?ticket=00000000-0000-4000-8000-000000000000");
        api_resp_done(&resp);
        api_dispatch(&f.raw, &ctx, &resp);
        assert_int_equal(resp.status, 401);
        assert_non_null(strstr(resp.body, "Invalid or expired ticket."));
        /* open: /auth says so, /tickets still answers in shape */
        fake_init(&f, "GET", "/auth");
        api_resp_done(&resp);
        api_dispatch(&f.raw, &open, &resp);
        assert_int_equal(resp.status, 200);
        assert_non_null(strstr(resp.body, "\"status\":\"ok\""));
        fake_init(&f, "POST", "/tickets");
        api_resp_done(&resp);
        api_dispatch(&f.raw, &open, &resp);
        assert_int_equal(resp.status, 200);
        assert_non_null(strstr(resp.body, "\"expires_in\":30"));
        api_resp_done(&resp);
        api_auth_free(ctx.auth);
}

static void test_from_env(void **state)
{
        struct aio_err err = {0};
        struct api_auth *a = NULL;

        (void)state;
        assert_int_equal(setenv("SANDBOX_API_KEY", KEY, 1), 0);
        assert_int_equal(setenv("TICKET_TTL_SECONDS", "7", 1), 0);
        assert_int_equal(api_auth_from_env(&a, &err), 0);
        assert_non_null(a);
        assert_null(getenv("SANDBOX_API_KEY"));
        assert_string_equal(api_auth_describe(a), "API key");
        api_auth_free(a);
        assert_int_equal(setenv("JWT_PUBLIC_KEY", PUB_B64, 1), 0);
        assert_int_equal(api_auth_from_env(&a, &err), 0);
        assert_null(getenv("JWT_PUBLIC_KEY"));
        assert_string_equal(api_auth_describe(a), "RS256 JWT");
        api_auth_free(a);
        assert_int_equal(api_auth_from_env(&a, &err), 0);
        assert_null(a);
        assert_int_equal(setenv("SANDBOX_API_KEY", KEY, 1), 0);
        assert_int_equal(setenv("TICKET_TTL_SECONDS", "30s", 1), 0);
        assert_int_equal(api_auth_from_env(&a, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "TICKET_TTL_SECONDS"));
        assert_null(getenv("SANDBOX_API_KEY")); /* removed whatever happened */
        (void)unsetenv("TICKET_TTL_SECONDS");
}

static int bound(int family, const char *addr)
{
        struct sockaddr_storage ss = {0};
        socklen_t len;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        if (family == AF_INET) {
                struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

                v4->sin_family = AF_INET;
                assert_int_equal(inet_pton(AF_INET, addr, &v4->sin_addr), 1);
                len = sizeof(*v4);
        } else {
                struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

                v6->sin6_family = AF_INET6;
                assert_int_equal(inet_pton(AF_INET6, addr, &v6->sin6_addr), 1);
                len = sizeof(*v6);
        }
        if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
                (void)close(fd);
                return -1;
        }
        return fd;
}

static void test_listen_check(void **state)
{
        struct aio_err err = {0};
        int fd, sp[2];

        (void)state;
        fd = bound(AF_INET, "127.0.0.1");
        assert_int_equal(api_auth_listen_check(fd, true, false, &err), 0);
        (void)close(fd);
        fd = bound(AF_INET, "0.0.0.0");
        assert_int_equal(api_auth_listen_check(fd, true, false, &err), -EPERM);
        assert_non_null(strstr(err.msg, "the API listens on 0.0.0.0:"));
        assert_non_null(strstr(err.msg, "--insecure"));
        assert_int_equal(api_auth_listen_check(fd, true, true, &err), 0);
        assert_int_equal(api_auth_listen_check(fd, false, false, &err), 0);
        (void)close(fd);
        fd = bound(AF_INET6, "::");
        if (fd >= 0) {
                assert_int_equal(api_auth_listen_check(fd, true, false, &err), -EPERM);
                (void)close(fd);
        }
        fd = bound(AF_INET6, "::1");
        if (fd >= 0) {
                assert_int_equal(api_auth_listen_check(fd, true, false, &err), 0);
                (void)close(fd);
        }
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(api_auth_listen_check(sp[0], true, false, &err), 0);
        (void)close(sp[0]);
        (void)close(sp[1]);
        assert_int_equal(api_auth_listen_check(-1, true, false, &err), -EBADF);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_equal),        cmocka_unit_test(test_new),
                cmocka_unit_test(test_api_key),      cmocka_unit_test(test_jwt),
                cmocka_unit_test(test_tickets),      cmocka_unit_test(test_tickets_cap),
                cmocka_unit_test(test_ticket_ttl),   cmocka_unit_test(test_gate),
                cmocka_unit_test(test_routes),       cmocka_unit_test(test_from_env),
                cmocka_unit_test(test_listen_check),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
