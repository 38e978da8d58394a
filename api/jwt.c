#include "api/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

struct api_jwt_key {
        EVP_PKEY *pkey;
};

DEFINE_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)

static int b64_value(unsigned char c, bool url)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == (url ? '-' : '+'))
                return 62;
        if (c == (url ? '_' : '/'))
                return 63;
        return -1;
}

/* Unpadded base64 of either alphabet into out (room for len * 3 / 4 + 1 bytes). Refuses a
 * length that no encoding has (4n + 1) and stray low bits in the last character, so each byte
 * string has exactly one accepted form. */
static int b64_decode(const char *in, size_t len, bool url, unsigned char *out, size_t *ret_len)
{
        uint32_t acc = 0;
        size_t w = 0, bits = 0;

        if (len % 4 == 1)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                int v = b64_value((unsigned char)in[i], url);

                if (v < 0)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[w++] = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        if (acc != 0)
                return -EINVAL;
        out[w] = '\0';
        *ret_len = w;
        return 0;
}

int api_b64url_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len,
                      struct aio_err *err)
{
        cleanup_free unsigned char *out = aio_xmalloc(len * 3 / 4 + 1);

        if (b64_decode(in, len, true, out, ret_len) < 0)
                return aio_error_msg(err, EINVAL, "not base64url");
        *ret = take_ptr(&out);
        return 0;
}

/* Standard base64 as base64(1) writes it: line breaks and other white space skipped, '='
 * padding only at the end. */
static int b64_decode_lenient(const char *in, unsigned char **ret, size_t *ret_len)
{
        size_t len = strlen(in), n = 0;
        cleanup_free char *clean = aio_xmalloc(len + 1);
        cleanup_free unsigned char *out = aio_xmalloc(len * 3 / 4 + 1);
        const char *p = in;

        for (; *p && *p != '='; p++)
                if (!strchr(" \t\r\n", *p))
                        clean[n++] = *p;
        for (; *p; p++)
                if (!strchr("= \t\r\n", *p))
                        return -EINVAL;
        if (n == 0 || b64_decode(clean, n, false, out, ret_len) < 0)
                return -EINVAL;
        *ret = take_ptr(&out);
        return 0;
}

static EVP_PKEY *pem_decode(const unsigned char *pem, size_t len)
{
        EVP_PKEY *pkey = NULL;
        OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
                                                               EVP_PKEY_PUBLIC_KEY, NULL, NULL);

        if (dctx && !OSSL_DECODER_from_data(dctx, &pem, &len)) {
                EVP_PKEY_free(pkey);
                pkey = NULL;
        }
        OSSL_DECODER_CTX_free(dctx);
        ERR_clear_error();
        return pkey;
}

int api_jwt_key_load(const char *value, struct api_jwt_key **ret, struct aio_err *err)
{
        cleanup_free unsigned char *pem = NULL;
        __attribute__((cleanup(EVP_PKEY_freep))) EVP_PKEY *pkey = NULL;
        struct api_jwt_key *key;
        size_t len = 0;
        int bits;

        if (strncmp(value, "-----BEGIN ", 11) == 0) {
                pem = (unsigned char *)aio_xstrdup(value);
                len = strlen(value);
        } else if (b64_decode_lenient(value, &pem, &len) < 0) {
                return aio_error_msg(err, EINVAL,
                                     "JWT_PUBLIC_KEY is not base64 (expected the base64 of a PEM "
                                     "RSA public key, e.g. base64 -w0 public.pem)");
        }
        pkey = pem_decode(pem, len);
        if (!pkey || !EVP_PKEY_is_a(pkey, "RSA"))
                return aio_error_msg(err, EINVAL,
                                     "JWT_PUBLIC_KEY holds no RSA public key in PEM form "
                                     "(-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC "
                                     "KEY-----)");
        bits = EVP_PKEY_get_bits(pkey);
        if (bits < API_JWT_MIN_BITS)
                return aio_error_msg(err, EINVAL,
                                     "JWT_PUBLIC_KEY is a %d-bit RSA key: at least %d bits needed",
                                     bits, API_JWT_MIN_BITS);
        key = aio_xcalloc(1, sizeof(*key));
        key->pkey = take_ptr(&pkey);
        *ret = key;
        return 0;
}

void api_jwt_key_free(struct api_jwt_key *key)
{
        if (!key)
                return;
        EVP_PKEY_free(key->pkey);
        free(key);
}

/* One dot-separated part, base64url-decoded and parsed as a JSON object (duplicate keys and
 * NUL refused, nothing after the value). */
static int part_object(const char *s, size_t len, const char *what, json_t **ret,
                       struct aio_err *err)
{
        cleanup_free unsigned char *raw = NULL;
        json_error_t jerr;
        size_t n = 0;
        json_t *v;

        if (api_b64url_decode(s, len, &raw, &n, err) < 0)
                return aio_error_msg(err, EINVAL, "the %s is not base64url", what);
        v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!v || !json_is_object(v)) {
                json_decref(v);
                return aio_error_msg(err, EINVAL, "the %s is not a JSON object", what);
        }
        *ret = v;
        return 0;
}

static bool printable_name(const char *s)
{
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-_.");

        return n > 0 && n <= 16 && s[n] == '\0';
}

/* The JOSE header: alg must be RS256; nothing may bring a key or an extension of its own. */
static int header_check(const json_t *h, struct aio_err *err)
{
        static const char *const refused[] = {"crit", "jku", "jwk", "x5u", "x5c", "b64", "zip"};
        const json_t *alg = json_object_get(h, "alg"), *kid = json_object_get(h, "kid");
        const json_t *typ = json_object_get(h, "typ");

        if (!json_is_string(alg))
                return aio_error_msg(err, EINVAL, "the header has no alg");
        if (strcmp(json_string_value(alg), "RS256") != 0) {
                if (printable_name(json_string_value(alg)))
                        return aio_error_msg(err, EINVAL, "alg %s is not accepted (only RS256)",
                                             json_string_value(alg));
                return aio_error_msg(err, EINVAL, "alg is not accepted (only RS256)");
        }
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                if (json_object_get(h, refused[i]))
                        return aio_error_msg(err, EINVAL, "the header parameter %s is not accepted",
                                             refused[i]);
        if (kid && !json_is_string(kid))
                return aio_error_msg(err, EINVAL, "kid must be a string");
        if (typ && !json_is_string(typ))
                return aio_error_msg(err, EINVAL, "typ must be a string");
        return 0;
}

static int signature_check(const struct api_jwt_key *key, const char *input, size_t input_len,
                           const char *sig64, size_t sig64_len, struct aio_err *err)
{
        __attribute__((cleanup(EVP_MD_CTX_freep))) EVP_MD_CTX *md = NULL;
        cleanup_free unsigned char *sig = NULL;
        size_t sig_len = 0;
        int ok;

        if (api_b64url_decode(sig64, sig64_len, &sig, &sig_len, err) < 0)
                return aio_error_msg(err, EINVAL, "the signature is not base64url");
        if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
                return aio_error_msg(err, EKEYREJECTED,
                                     "signature verification failed (%zu bytes, the key signs %d)",
                                     sig_len, EVP_PKEY_get_size(key->pkey));
        md = EVP_MD_CTX_new();
        if (!md)
                abort();
        ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)input, input_len) == 1;
        ERR_clear_error();
        if (!ok)
                return aio_error_msg(err, EKEYREJECTED, "signature verification failed");
        return 0;
}

/* A NumericDate claim: absent (*ret untouched, 0) or a finite number. */
static int claim_time(const json_t *claims, const char *name, double *ret, struct aio_err *err)
{
        const json_t *v = json_object_get(claims, name);

        if (!v)
                return 0;
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return aio_error_msg(err, EINVAL, "the %s claim must be a number", name);
        *ret = json_number_value(v);
        return 1;
}

static int claims_check(const json_t *claims, double now, struct aio_err *err)
{
        double exp = 0, nbf = 0, iat = 0;
        int has_exp, has_nbf, has_iat;

        has_exp = claim_time(claims, "exp", &exp, err);
        if (has_exp < 0)
                return has_exp;
        if (!has_exp)
                return aio_error_msg(err, EINVAL, "the exp claim is required");
        if (now >= exp + API_JWT_LEEWAY)
                return aio_error_msg(err, EKEYEXPIRED, "Token has expired");
        has_nbf = claim_time(claims, "nbf", &nbf, err);
        if (has_nbf < 0)
                return has_nbf;
        if (has_nbf && now + API_JWT_LEEWAY < nbf)
                return aio_error_msg(err, EINVAL, "the token is not yet valid (nbf)");
        has_iat = claim_time(claims, "iat", &iat, err);
        if (has_iat < 0)
                return has_iat;
        if (has_iat && now + API_JWT_LEEWAY < iat)
                return aio_error_msg(err, EINVAL, "the token is not yet valid (iat)");
        if (json_object_get(claims, "aud"))
                return aio_error_msg(err, EINVAL,
                                     "the aud claim is not accepted (no audience is configured)");
        return 0;
}

int api_jwt_verify(const struct api_jwt_key *key, const char *token, size_t len, double now,
                   struct aio_err *err)
{
        const char *d1, *d2;
        json_auto_t *header = NULL, *claims = NULL;
        int r;

        if (len > API_JWT_MAX_LEN)
                return aio_error_msg(err, EINVAL, "the token is longer than %d bytes",
                                     API_JWT_MAX_LEN);
        d1 = memchr(token, '.', len);
        d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
        if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) || d1 == token ||
            d2 == d1 + 1 || d2 + 1 == token + len)
                return aio_error_msg(err, EINVAL,
                                     "not a JWT (three non-empty base64url parts "
                                     "separated by dots expected)");
        r = part_object(token, (size_t)(d1 - token), "header", &header, err);
        if (r == 0)
                r = header_check(header, err);
        if (r == 0)
                r = signature_check(key, token, (size_t)(d2 - token), d2 + 1,
                                    len - (size_t)(d2 + 1 - token), err);
        if (r == 0)
                r = part_object(d1 + 1, (size_t)(d2 - d1 - 1), "payload", &claims, err);
        if (r == 0)
                r = claims_check(claims, now, err);
        return r;
}
