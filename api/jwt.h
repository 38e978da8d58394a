#pragma once

/* RS256 JSON Web Tokens (RFC 7519 / 7515 compact form), verified against one RSA public key with
 * OpenSSL's EVP API. Only alg RS256 is accepted: none, HS*, ES*, PS* and anything else are
 * refused before any key is touched, as are headers that would name a key of their own (jku,
 * jwk, x5u, x5c) and any crit extension; kid is ignored (one key, never looked up). Claims
 * follow PyJWT's defaults, as upstream verifies with PyJWT: exp (required here), nbf and iat
 * are numbers checked with API_JWT_LEEWAY seconds of leeway; aud is refused (no audience is
 * configured). */

#include <stddef.h>

struct aio_err;
struct api_jwt_key;

#define API_JWT_LEEWAY   30.0  /* seconds of clock skew allowed on exp, nbf and iat */
#define API_JWT_MAX_LEN  16384 /* longer tokens are refused unread */
#define API_JWT_MIN_BITS 2048  /* smaller RSA keys are refused at load */

/* Loads JWT_PUBLIC_KEY's value: the base64 of a PEM RSA public key (SubjectPublicKeyInfo or
 * PKCS#1; line breaks in the base64 are fine), or the PEM itself. */
int api_jwt_key_load(const char *value, struct api_jwt_key **ret, struct aio_err *err);
void api_jwt_key_free(struct api_jwt_key *key);

/* Verifies a compact token of len bytes at wall-clock time now (seconds since the epoch).
 * Returns 0; -EKEYEXPIRED when it expired; -EKEYREJECTED when the signature does not verify;
 * -EINVAL when it is malformed or refused. err->msg says what was wrong without quoting the
 * token. */
int api_jwt_verify(const struct api_jwt_key *key, const char *token, size_t len, double now,
                   struct aio_err *err);

/* Strict base64url (RFC 4648 §5) without padding, as JWS uses it: no '=', no whitespace, no
 * stray bits in the last character. *ret is malloc'ed (one NUL byte past *ret_len). */
int api_b64url_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len,
                      struct aio_err *err);
