#pragma once

/* Authentication for every route of aio-apid, in upstream's order (upstream-api.md §4.2):
 *   1. ?ticket=T          a ticket from POST /tickets, valid (and reusable) for its TTL;
 *   2. X-AIO-API-Key: K   or ?api_key=K, when SANDBOX_API_KEY is set;
 *   3. Authorization: Bearer X, X being the API key or an RS256 JWT (JWT_PUBLIC_KEY).
 * The first carrier present decides. Secrets are compared in constant time and never logged or
 * echoed. With neither SANDBOX_API_KEY nor JWT_PUBLIC_KEY there is no struct api_auth at all
 * (NULL): everything is open, which aio-apid allows on loopback only (api_auth_listen_check). */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct aio_err;
struct api_auth;
struct api_raw_req;
struct api_resp;

#define API_TICKET_LEN     36   /* a UUID4 in its 8-4-4-4-12 text form */
#define API_TICKETS_MAX    4096 /* live tickets; past it the one nearest expiry is dropped */
#define API_TICKET_TTL_MAX 3600 /* TICKET_TTL_SECONDS above this is refused */

enum api_auth_method {
        API_AUTH_TICKET,
        API_AUTH_KEY,
        API_AUTH_JWT,
        _API_AUTH_MAX,
};

/* What a request carries; NULL for what it does not. */
struct api_auth_creds {
        const char *ticket;        /* ?ticket= */
        const char *key;           /* X-AIO-API-Key, else ?api_key= */
        const char *authorization; /* the Authorization header */
};

/* Seconds on clock id (CLOCK_REALTIME for JWTs, CLOCK_BOOTTIME for tickets); tests inject one. */
typedef double (*api_auth_clock_fn)(clockid_t id);

/* api_key and jwt_public_key may be NULL or empty; when both are, *ret is NULL (open) and 0 is
 * returned. ticket_ttl in seconds (1 .. API_TICKET_TTL_MAX). */
int api_auth_new(const char *api_key, const char *jwt_public_key, unsigned ticket_ttl,
                 struct api_auth **ret, struct aio_err *err);
/* The same from SANDBOX_API_KEY, JWT_PUBLIC_KEY and TICKET_TTL_SECONDS (default 30), which are
 * then removed from the environment so that no child inherits the secrets. */
int api_auth_from_env(struct api_auth **ret, struct aio_err *err);
void api_auth_free(struct api_auth *a);
void api_auth_set_clock(struct api_auth *a, api_auth_clock_fn fn);
/* "API key", "JWT", "API key or JWT": what is configured, for the log. */
const char *api_auth_describe(const struct api_auth *a);
const char *api_auth_method_to_string(enum api_auth_method m);

/* Constant-time equality of two secrets (the time depends on neither content nor length). */
bool api_auth_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Issues a ticket (random UUID4 from getrandom) into out and returns its TTL in seconds. With
 * a NULL a (open server) the ticket is made but not kept: every request is accepted anyway. */
int api_auth_ticket_new(struct api_auth *a, char out[API_TICKET_LEN + 1], struct aio_err *err);

/* Checks creds against a (not NULL). Returns the method that succeeded, or -EACCES with err->msg
 * the 401's message. */
int api_auth_verify(struct api_auth *a, const struct api_auth_creds *creds, struct aio_err *err);
/* The carriers of a request: query arguments and headers. */
void api_auth_creds_get(const struct api_raw_req *raw, struct api_auth_creds *ret);
/* The 401 envelope with its WWW-Authenticate header (error="invalid_token" when credentials
 * were presented and refused). */
void api_auth_reply_401(struct api_resp *resp, const char *message, bool presented);
/* The dispatcher's gate: true when the request may go on (a NULL: open), false with a 401 in
 * resp. */
bool api_auth_gate(struct api_auth *a, const struct api_raw_req *raw, struct api_resp *resp);

/* Refuses to serve without authentication (open) on a socket bound to an address that is not
 * loopback, unless insecure. */
int api_auth_listen_check(int fd, bool open, bool insecure, struct aio_err *err);
