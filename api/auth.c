#include "api/auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/jwt.h"
#include "api/reply.h"

#define TICKET_TTL_DEFAULT 30

struct auth_ticket {
        char id[API_TICKET_LEN + 1];
        double expires; /* on CLOCK_BOOTTIME */
};

struct api_auth {
        char *key; /* SANDBOX_API_KEY, NULL when unset */
        size_t key_len;
        struct api_jwt_key *jwt; /* JWT_PUBLIC_KEY, NULL when unset */
        unsigned ttl;
        api_auth_clock_fn clock;
        pthread_mutex_t lock; /* tickets */
        struct auth_ticket *tickets;
        size_t n_tickets;
};

static double clock_default(clockid_t id)
{
        struct timespec ts = {0};

        (void)clock_gettime(id, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

int api_auth_new(const char *api_key, const char *jwt_public_key, unsigned ticket_ttl,
                 struct api_auth **ret, struct aio_err *err)
{
        bool has_key = api_key && *api_key, has_jwt = jwt_public_key && *jwt_public_key;
        struct api_jwt_key *jwt = NULL;
        struct api_auth *a;

        if (ticket_ttl == 0 || ticket_ttl > API_TICKET_TTL_MAX)
                return aio_error_msg(err, EINVAL, "TICKET_TTL_SECONDS: expected 1 to %d seconds",
                                     API_TICKET_TTL_MAX);
        if (has_key && has_control(api_key))
                return aio_error_msg(err, EINVAL,
                                     "SANDBOX_API_KEY holds a control character (no HTTP header "
                                     "could carry it)");
        if (has_jwt && api_jwt_key_load(jwt_public_key, &jwt, err) < 0)
                return -err->code;
        if (!has_key && !has_jwt) {
                *ret = NULL;
                return 0;
        }
        a = aio_xcalloc(1, sizeof(*a));
        if (has_key) {
                a->key = aio_xstrdup(api_key);
                a->key_len = strlen(api_key);
        }
        a->jwt = jwt;
        a->ttl = ticket_ttl;
        a->clock = clock_default;
        a->tickets = aio_xcalloc(API_TICKETS_MAX, sizeof(*a->tickets));
        (void)pthread_mutex_init(&a->lock, NULL);
        *ret = a;
        return 0;
}

/* A copy of the variable's value; the original, which /proc/<pid>/environ shows for the life of
 * the process, is wiped and the variable removed. */
static char *env_take(const char *name)
{
        char *v = getenv(name), *copy;

        if (!v)
                return NULL;
        copy = aio_xstrdup(v);
        explicit_bzero(v, strlen(v));
        (void)unsetenv(name);
        return copy;
}

static int ttl_parse(const char *s, unsigned *ret, struct aio_err *err)
{
        unsigned long v;
        char *end;

        if (!s || !*s)
                return 0;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || s[0] == '-' || v == 0 || v > API_TICKET_TTL_MAX)
                return aio_error_msg(err, EINVAL, "TICKET_TTL_SECONDS='%s': expected 1 to %d", s,
                                     API_TICKET_TTL_MAX);
        *ret = (unsigned)v;
        return 0;
}

int api_auth_from_env(struct api_auth **ret, struct aio_err *err)
{
        cleanup_free char *key = env_take("SANDBOX_API_KEY");
        cleanup_free char *jwt = env_take("JWT_PUBLIC_KEY");
        unsigned ttl = TICKET_TTL_DEFAULT;
        int r = ttl_parse(getenv("TICKET_TTL_SECONDS"), &ttl, err);

        if (r == 0)
                r = api_auth_new(key, jwt, ttl, ret, err);
        if (key)
                explicit_bzero(key, strlen(key));
        return r;
}

void api_auth_free(struct api_auth *a)
{
        if (!a)
                return;
        if (a->key)
                explicit_bzero(a->key, a->key_len);
        free(a->key);
        api_jwt_key_free(a->jwt);
        explicit_bzero(a->tickets, API_TICKETS_MAX * sizeof(*a->tickets));
        free(a->tickets);
        (void)pthread_mutex_destroy(&a->lock);
        free(a);
}

void api_auth_set_clock(struct api_auth *a, api_auth_clock_fn fn)
{
        a->clock = fn ? fn : clock_default;
}

const char *api_auth_describe(const struct api_auth *a)
{
        if (!a)
                return "none";
        if (a->key && a->jwt)
                return "API key or RS256 JWT";
        return a->key ? "API key" : "RS256 JWT";
}

const char *api_auth_method_to_string(enum api_auth_method m)
{
        static const char *const names[_API_AUTH_MAX] = {
                [API_AUTH_TICKET] = "ticket",
                [API_AUTH_KEY] = "API key",
                [API_AUTH_JWT] = "JWT",
        };

        return (unsigned)m < _API_AUTH_MAX ? names[m] : NULL;
}

/* Both sides are hashed first, so the comparison takes the same time whatever their lengths. */
bool api_auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
        unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
        unsigned na = 0, nb = 0;
        bool ok;

        if (!EVP_Digest(a, alen, da, &na, EVP_sha256(), NULL) ||
            !EVP_Digest(b, blen, db, &nb, EVP_sha256(), NULL) || na != nb)
                abort(); /* SHA-256 from the default provider: fails only without memory */
        ok = CRYPTO_memcmp(da, db, na) == 0;
        explicit_bzero(da, sizeof(da));
        explicit_bzero(db, sizeof(db));
        return ok;
}

/* --- tickets ---------------------------------------------------------------------------- */

static void tickets_prune(struct api_auth *a, double now)
{
        for (size_t i = 0; i < a->n_tickets;)
                if (a->tickets[i].expires <= now)
                        a->tickets[i] = a->tickets[--a->n_tickets];
                else
                        i++;
}

static void ticket_store(struct api_auth *a, const char *id, double now)
{
        size_t slot;

        tickets_prune(a, now);
        slot = a->n_tickets;
        if (slot == API_TICKETS_MAX) {
                slot = 0;
                for (size_t i = 1; i < a->n_tickets; i++)
                        if (a->tickets[i].expires < a->tickets[slot].expires)
                                slot = i;
        } else {
                a->n_tickets++;
        }
        memcpy(a->tickets[slot].id, id, API_TICKET_LEN + 1);
        a->tickets[slot].expires = now + a->ttl;
}

static bool ticket_valid(struct api_auth *a, const char *t)
{
        bool ok = false;

        if (strlen(t) != API_TICKET_LEN)
                return false;
        (void)pthread_mutex_lock(&a->lock);
        tickets_prune(a, a->clock(CLOCK_BOOTTIME));
        for (size_t i = 0; i < a->n_tickets; i++)
                ok |= CRYPTO_memcmp(a->tickets[i].id, t, API_TICKET_LEN) == 0;
        (void)pthread_mutex_unlock(&a->lock);
        return ok;
}

int api_auth_ticket_new(struct api_auth *a, char out[API_TICKET_LEN + 1], struct aio_err *err)
{
        unsigned char b[16];
        ssize_t n = getrandom(b, sizeof(b), 0);

        if (n != (ssize_t)sizeof(b))
                return aio_error(err, n < 0 ? errno : EIO, "getrandom");
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        (void)snprintf(out, API_TICKET_LEN + 1,
                       "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                       b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                       b[13], b[14], b[15]);
        explicit_bzero(b, sizeof(b));
        if (!a)
                return TICKET_TTL_DEFAULT;
        (void)pthread_mutex_lock(&a->lock);
        ticket_store(a, out, a->clock(CLOCK_BOOTTIME));
        (void)pthread_mutex_unlock(&a->lock);
        return (int)a->ttl;
}

/* --- credentials ------------------------------------------------------------------------ */

static const char *missing_hint(const struct api_auth *a)
{
        if (a->key && a->jwt)
                return "send X-AIO-API-Key: <key>, Authorization: Bearer <key or JWT>, "
                       "?api_key=<key> or ?ticket=<ticket>";
        if (a->key)
                return "send X-AIO-API-Key: <key>, Authorization: Bearer <key>, ?api_key=<key> "
                       "or ?ticket=<ticket>";
        return "send Authorization: Bearer <JWT> or ?ticket=<ticket>";
}

/* The token of "Bearer <token>" (scheme case-insensitive, RFC 7235), or NULL. */
static const char *bearer_token(const char *h)
{
        if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
                return NULL;
        h += 6;
        h += strspn(h, " \t");
        return *h ? h : NULL;
}

static int bearer_verify(struct api_auth *a, const char *authorization, struct aio_err *err)
{
        const char *tok = bearer_token(authorization);
        struct aio_err jerr = {0};
        size_t len;
        int r;

        if (!tok)
                return aio_error_msg(err, EACCES,
                                     "Invalid Authorization header: expected 'Bearer <token>'");
        len = strlen(tok);
        if (a->key && api_auth_equal(tok, len, a->key, a->key_len))
                return API_AUTH_KEY;
        if (!a->jwt || (a->key && !strchr(tok, '.')))
                return aio_error_msg(err, EACCES, "Invalid API key.");
        r = api_jwt_verify(a->jwt, tok, len, a->clock(CLOCK_REALTIME), &jerr);
        if (r == -EKEYEXPIRED)
                return aio_error_msg(err, EACCES, "Token has expired");
        if (r < 0)
                return aio_error_msg(err, EACCES, "Invalid token: %s", jerr.msg);
        return API_AUTH_JWT;
}

int api_auth_verify(struct api_auth *a, const struct api_auth_creds *c, struct aio_err *err)
{
        if (c->ticket)
                return ticket_valid(a, c->ticket)
                               ? API_AUTH_TICKET
                               : aio_error_msg(err, EACCES, "Invalid or expired ticket.");
        if (a->key && c->key)
                return api_auth_equal(c->key, strlen(c->key), a->key, a->key_len)
                               ? API_AUTH_KEY
                               : aio_error_msg(err, EACCES, "Invalid API key.");
        if (!c->authorization)
                return aio_error_msg(err, EACCES, "Authorization header is missing: %s",
                                     missing_hint(a));
        return bearer_verify(a, c->authorization, err);
}

static const char *raw_query(const struct api_raw_req *raw, const char *key)
{
        for (size_t i = 0; i < raw->n_query; i++)
                if (raw->query[i].key && strcmp(raw->query[i].key, key) == 0)
                        return raw->query[i].value;
        return NULL;
}

static const char *raw_header(const struct api_raw_req *raw, const char *name)
{
        return raw->header ? raw->header(raw->header_cls, name) : NULL;
}

void api_auth_creds_get(const struct api_raw_req *raw, struct api_auth_creds *ret)
{
        *ret = (struct api_auth_creds){
                .ticket = raw_query(raw, "ticket"),
                .key = raw_header(raw, "X-AIO-API-Key"),
                .authorization = raw_header(raw, "Authorization"),
        };
        if (!ret->key)
                ret->key = raw_query(raw, "api_key");
}

void api_auth_reply_401(struct api_resp *resp, const char *message, bool presented)
{
        api_reply_error(resp, 401, message);
        api_resp_header(resp, "WWW-Authenticate",
                        presented ? "Bearer realm=\"aio\", error=\"invalid_token\""
                                  : "Bearer realm=\"aio\"");
}

bool api_auth_gate(struct api_auth *a, const struct api_raw_req *raw, struct api_resp *resp)
{
        struct api_auth_creds c;
        struct aio_err err = {0};

        if (!a)
                return true;
        api_auth_creds_get(raw, &c);
        if (api_auth_verify(a, &c, &err) >= 0)
                return true;
        api_auth_reply_401(resp, err.msg, c.ticket || c.key || c.authorization);
        return false;
}

/* --- the listening socket --------------------------------------------------------------- */

static bool addr_local(const struct sockaddr_storage *ss)
{
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;

        switch (ss->ss_family) {
        case AF_UNIX:
                return true;
        case AF_INET:
                return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
        case AF_INET6:
                return IN6_IS_ADDR_LOOPBACK(a6) ||
                       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
        default:
                return false;
        }
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
        char host[INET6_ADDRSTRLEN] = "?";

        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;

                (void)inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
                (void)snprintf(buf, size, "%s:%u", host, ntohs(v4->sin_port));
        } else if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;

                (void)inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
                (void)snprintf(buf, size, "[%s]:%u", host, ntohs(v6->sin6_port));
        } else {
                (void)snprintf(buf, size, "a socket of family %d", ss->ss_family);
        }
}

int api_auth_listen_check(int fd, bool open, bool insecure, struct aio_err *err)
{
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof(ss);
        char where[INET6_ADDRSTRLEN + 16];

        if (!open || insecure)
                return 0;
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
                return aio_error(err, errno, "getsockname of the listening socket");
        if (addr_local(&ss))
                return 0;
        addr_text(&ss, where, sizeof(where));
        return aio_error_msg(err, EPERM,
                             "the API listens on %s, which is not loopback, and no authentication "
                             "is configured: set SANDBOX_API_KEY or JWT_PUBLIC_KEY, or pass "
                             "--insecure to serve it open",
                             where);
}
