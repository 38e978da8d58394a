/* api/jwt.c: RS256 verification against keys made here with EVP, and every way a token can be
 * wrong: expired, not yet valid, alg none, HS256 keyed with the public key (the classic
 * confusion), a bad or foreign signature, tampering, truncation, garbage, loose base64url,
 * headers that bring keys of their own; then JWT_PUBLIC_KEY's forms. */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/jwt.h"
#include "tests/unit/unit.h"

struct keys {
        EVP_PKEY *priv, *other;
        char *pem;     /* the public key's PEM */
        char *pem_b64; /* its base64, one line */
        struct api_jwt_key *key;
};

static struct keys K;
static double NOW;

static char *b64(const unsigned char *in, size_t len, bool url)
{
        char *out = aio_xmalloc(4 * ((len + 2) / 3) + 1);
        int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

        if (url) {
                for (int i = 0; i < n; i++)
                        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
                while (n > 0 && out[n - 1] == '=')
                        out[--n] = '\0';
        }
        return out;
}

static char *b64s(const char *s)
{
        return b64((const unsigned char *)s, strlen(s), true);
}

static char *sign_rs256(EVP_PKEY *k, const char *input)
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char sig[1024];
        size_t len = sizeof(sig);

        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
        assert_int_equal(EVP_DigestSign(md, sig, &len, (const unsigned char *)input, strlen(input)),
                         1);
        EVP_MD_CTX_free(md);
        return b64(sig, len, true);
}

/* header.payload.signature with the signature made by k (NULL: by K.priv). */
static char *token_with(EVP_PKEY *k, const char *header, const char *payload)
{
        cleanup_free char *h = b64s(header), *p = b64s(payload);
        cleanup_free char *input = aio_xasprintf("%s.%s", h, p);
        cleanup_free char *sig = sign_rs256(k ? k : K.priv, input);

        return aio_xasprintf("%s.%s", input, sig);
}

static char *token(const char *payload)
{
        return token_with(NULL, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload);
}

static char *claims_exp(double exp)
{
        return aio_xasprintf("{\"sub\":\"agent\",\"exp\":%.0f}", exp);
}

static int verify(const char *tok, struct aio_err *err)
{
        aio_err_clear(err);
        return api_jwt_verify(K.key, tok, strlen(tok), NOW, err);
}

static char *pub_pem(EVP_PKEY *k, bool pkcs1)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data, *out;
        long n;

        if (pkcs1) {
                OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(
                        k, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);

                assert_int_equal(OSSL_ENCODER_to_bio(ectx, bio), 1);
                OSSL_ENCODER_CTX_free(ectx);
        } else {
                assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
        }
        n = BIO_get_mem_data(bio, &data);
        out = aio_xmalloc((size_t)n + 1);
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        BIO_free(bio);
        return out;
}

static int setup(void **state)
{
        struct aio_err err = {0};

        (void)state;
        K.priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        K.other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        if (!K.priv || !K.other)
                return -1;
        K.pem = pub_pem(K.priv, false);
        K.pem_b64 = b64((const unsigned char *)K.pem, strlen(K.pem), false);
        if (api_jwt_key_load(K.pem_b64, &K.key, &err) < 0) {
                (void)fprintf(stderr, "%s\n", err.msg);
                return -1;
        }
        NOW = (double)time(NULL);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        api_jwt_key_free(K.key);
        EVP_PKEY_free(K.priv);
        EVP_PKEY_free(K.other);
        free(K.pem);
        free(K.pem_b64);
        return 0;
}

static void test_valid(void **state)
{
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300);
        cleanup_free char *t = token(c), *t2 = NULL, *t3 = NULL;

        (void)state;
        assert_int_equal(verify(t, &err), 0);
        /* exp only (upstream's docs example), fractional NumericDates, nbf/iat in the past */
        free(t);
        t = aio_xasprintf("{\"exp\":%.3f,\"nbf\":%.0f,\"iat\":%.0f}", NOW + 1.5, NOW - 5, NOW - 5);
        t2 = token(t);
        assert_int_equal(verify(t2, &err), 0);
        /* kid is never looked up: whatever it says, the one key decides */
        t3 = token_with(NULL,
                        "{\"alg\":\"RS256\",\"kid\":\"../../../dev/null\",\"typ\":\"at+jwt\"}", c);
        assert_int_equal(verify(t3, &err), 0);
}

static void test_expired(void **state)
{
        struct aio_err err;
        cleanup_free char *c1 = claims_exp(NOW - API_JWT_LEEWAY - 1);
        cleanup_free char *c2 = claims_exp(NOW - API_JWT_LEEWAY + 5);
        cleanup_free char *t1 = token(c1), *t2 = token(c2);

        (void)state;
        assert_int_equal(verify(t1, &err), -EKEYEXPIRED);
        assert_string_equal(err.msg, "Token has expired");
        /* within the leeway */
        assert_int_equal(verify(t2, &err), 0);
}

static void test_not_yet_valid(void **state)
{
        struct aio_err err;
        cleanup_free char *c1 =
                aio_xasprintf("{\"exp\":%.0f,\"nbf\":%.0f}", NOW + 900, NOW + API_JWT_LEEWAY + 60);
        cleanup_free char *c2 =
                aio_xasprintf("{\"exp\":%.0f,\"iat\":%.0f}", NOW + 900, NOW + API_JWT_LEEWAY + 60);
        cleanup_free char *c3 = aio_xasprintf("{\"exp\":%.0f,\"nbf\":%.0f}", NOW + 900, NOW + 5);
        cleanup_free char *t1 = token(c1), *t2 = token(c2), *t3 = token(c3);

        (void)state;
        assert_int_equal(verify(t1, &err), -EINVAL);
        assert_string_equal(err.msg, "the token is not yet valid (nbf)");
        assert_int_equal(verify(t2, &err), -EINVAL);
        assert_string_equal(err.msg, "the token is not yet valid (iat)");
        assert_int_equal(verify(t3, &err), 0); /* within the leeway */
}

static void test_claims(void **state)
{
        static const struct {
                const char *payload;
                const char *msg;
        } rows[] = {
                {"{}", "the exp claim is required"},
                {"{\"sub\":\"x\"}", "the exp claim is required"},
                {"{\"exp\":\"99999999999\"}", "the exp claim must be a number"},
                {"{\"exp\":true}", "the exp claim must be a number"},
                {"{\"exp\":null}", "the exp claim must be a number"},
                {"{\"exp\":99999999999,\"nbf\":\"0\"}", "the nbf claim must be a number"},
                {"{\"exp\":99999999999,\"iat\":[]}", "the iat claim must be a number"},
                {"{\"exp\":99999999999,\"aud\":\"other\"}",
                 "the aud claim is not accepted (no audience is configured)"},
                {"[1,2]", "the payload is not a JSON object"},
                {"\"exp\"", "the payload is not a JSON object"},
                {"{\"exp\":1,\"exp\":99999999999}", "the payload is not a JSON object"},
                {"{\"exp\":99999999999", "the payload is not a JSON object"},
                {"{\"exp\":99999999999} x", "the payload is not a JSON object"},
                {"", "not a JWT (three non-empty base64url parts separated by dots expected)"},
        };
        struct aio_err err;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                cleanup_free char *t = token(rows[i].payload);

                assert_int_equal(verify(t, &err), -EINVAL);
                assert_string_equal(err.msg, rows[i].msg);
        }
}

static void test_alg_refused(void **state)
{
        static const struct {
                const char *header;
                const char *msg;
        } rows[] = {
                {"{\"alg\":\"none\"}", "alg none is not accepted (only RS256)"},
                {"{\"alg\":\"None\",\"typ\":\"JWT\"}", "alg None is not accepted (only RS256)"},
                {"{\"alg\":\"HS256\"}", "alg HS256 is not accepted (only RS256)"},
                {"{\"alg\":\"RS384\"}", "alg RS384 is not accepted (only RS256)"},
                {"{\"alg\":\"PS256\"}", "alg PS256 is not accepted (only RS256)"},
                {"{\"alg\":\"ES256\"}", "alg ES256 is not accepted (only RS256)"},
                {"{\"alg\":\"rs256\"}", "alg rs256 is not accepted (only RS256)"},
                {"{\"alg\":\"RS256 \"}", "alg is not accepted (only RS256)"},
                {"{\"alg\":\"<script>\"}", "alg is not accepted (only RS256)"},
                {"{\"alg\":[\"RS256\"]}", "the header has no alg"},
                {"{\"typ\":\"JWT\"}", "the header has no alg"},
                {"{\"alg\":\"RS256\",\"alg\":\"none\"}", "the header is not a JSON object"},
                {"{\"alg\":\"none\",\"alg\":\"RS256\"}", "the header is not a JSON object"},
                {"[\"RS256\"]", "the header is not a JSON object"},
                {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\"}}",
                 "the header parameter jwk is not accepted"},
                {"{\"alg\":\"RS256\",\"jku\":\"http://x/\"}",
                 "the header parameter jku is not accepted"},
                {"{\"alg\":\"RS256\",\"x5u\":\"http://x/\"}",
                 "the header parameter x5u is not accepted"},
                {"{\"alg\":\"RS256\",\"x5c\":[]}", "the header parameter x5c is not accepted"},
                {"{\"alg\":\"RS256\",\"crit\":[\"exp\"]}",
                 "the header parameter crit is not accepted"},
                {"{\"alg\":\"RS256\",\"b64\":false}", "the header parameter b64 is not accepted"},
                {"{\"alg\":\"RS256\",\"kid\":7}", "kid must be a string"},
                {"{\"alg\":\"RS256\",\"typ\":1}", "typ must be a string"},
        };
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300);

        (void)state;
        /* each header, even with a valid RS256 signature over it */
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                cleanup_free char *t = token_with(NULL, rows[i].header, c);

                assert_int_equal(verify(t, &err), -EINVAL);
                assert_string_equal(err.msg, rows[i].msg);
        }
}

static void test_alg_none_unsigned(void **state)
{
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300);
        cleanup_free char *h = b64s("{\"alg\":\"none\",\"typ\":\"JWT\"}"), *p = b64s(c);
        cleanup_free char *t1 = aio_xasprintf("%s.%s.", h, p);
        cleanup_free char *t2 = aio_xasprintf("%s.%s", h, p);
        cleanup_free char *t3 = aio_xasprintf("%s.%s.AAAA", h, p);

        (void)state;
        assert_int_equal(verify(t1, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a JWT"));
        assert_int_equal(verify(t2, &err), -EINVAL);
        assert_int_equal(verify(t3, &err), -EINVAL);
        assert_string_equal(err.msg, "alg none is not accepted (only RS256)");
}

/* The classic confusion: HS256 keyed with the PEM of the public key, which a verifier that takes
 * alg from the token would check with HMAC and accept. */
static void test_hs256_with_public_key(void **state)
{
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300);
        const char *headers[] = {"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                                 "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"};
        const char *secrets[] = {K.pem, K.pem_b64};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(headers); i++)
                for (size_t j = 0; j < ELEMENTSOF(secrets); j++) {
                        cleanup_free char *h = b64s(headers[i]), *p = b64s(c);
                        cleanup_free char *input = aio_xasprintf("%s.%s", h, p);
                        unsigned char mac[EVP_MAX_MD_SIZE];
                        unsigned mac_len = 0;
                        cleanup_free char *sig = NULL, *t = NULL;

                        assert_non_null(HMAC(EVP_sha256(), secrets[j], (int)strlen(secrets[j]),
                                             (const unsigned char *)input, strlen(input), mac,
                                             &mac_len));
                        sig = b64(mac, mac_len, true);
                        t = aio_xasprintf("%s.%s", input, sig);
                        if (i == 0) {
                                assert_int_equal(verify(t, &err), -EINVAL);
                                assert_string_equal(err.msg,
                                                    "alg HS256 is not accepted (only RS256)");
                        } else {
                                assert_int_equal(verify(t, &err), -EKEYREJECTED);
                                assert_non_null(strstr(err.msg, "signature verification failed"));
                        }
                }
}

static void test_bad_signature(void **state)
{
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300), *c2 = claims_exp(NOW + 100000);
        cleanup_free char *good = token(c);
        cleanup_free char *foreign = token_with(K.other, "{\"alg\":\"RS256\"}", c);
        cleanup_free char *p2 = b64s(c2), *tampered = NULL, *flipped = aio_xstrdup(good);
        char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
        size_t len = strlen(flipped);

        (void)state;
        assert_int_equal(verify(foreign, &err), -EKEYREJECTED);
        assert_string_equal(err.msg, "signature verification failed");
        /* a later exp under the original signature */
        tampered = aio_xasprintf("%.*s.%s%s", (int)(d1 - good), good, p2, d2);
        assert_int_equal(verify(tampered, &err), -EKEYREJECTED);
        /* one bit of the signature: 'A' <-> 'B' in its middle */
        flipped[len - 100] = flipped[len - 100] == 'A' ? 'B' : 'A';
        assert_int_equal(verify(flipped, &err), -EKEYREJECTED);
        /* a signature of the wrong size */
        free(flipped);
        flipped = aio_xasprintf("%.*s.AAAA", (int)(d2 - good), good);
        assert_int_equal(verify(flipped, &err), -EKEYREJECTED);
        assert_string_equal(err.msg, "signature verification failed (3 bytes, the key signs 256)");
}

static void test_truncated(void **state)
{
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300);
        cleanup_free char *t = token(c);
        size_t len = strlen(t);

        (void)state;
        assert_int_equal(api_jwt_verify(K.key, t, len, NOW, &err), 0);
        for (size_t n = 0; n < len; n++) {
                cleanup_free char *p = aio_xasprintf("%.*s", (int)n, t);

                aio_err_clear(&err);
                assert_true(api_jwt_verify(K.key, p, n, NOW, &err) < 0);
                assert_true(err.msg[0] != '\0');
                /* the length passed wins over a NUL-free buffer that goes on */
                assert_true(api_jwt_verify(K.key, t, n, NOW, &err) < 0);
        }
}

static void test_garbage(void **state)
{
        static const char *const rows[] = {
                "",       ".",        "..",       "...",         "a.b.c",   "a.b.c.d",
                "Bearer", "{}.{}.{}", "e30.e30.", "e30.e30.e30", "....e30", "\xff\xfe.\x01.\x02",
        };
        struct aio_err err;
        unsigned seed = 12345;
        char buf[600];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                assert_int_equal(verify(rows[i], &err), -EINVAL);
        for (int round = 0; round < 2000; round++) {
                size_t n = (size_t)(rand_r(&seed) % (int)(sizeof(buf) - 1));

                for (size_t i = 0; i < n; i++) {
                        int r = rand_r(&seed);

                        buf[i] = (r & 0x300) == 0 ? '.' : (char)(r & 0xff);
                }
                buf[n] = '\0';
                aio_err_clear(&err);
                assert_true(api_jwt_verify(K.key, buf, n, NOW, &err) < 0);
        }
}

static void test_base64url_strict(void **state)
{
        struct aio_err err;
        cleanup_free char *c = claims_exp(NOW + 300);
        cleanup_free char *good = token(c);
        cleanup_free unsigned char *out = NULL;
        char *d1 = strchr(good, '.');
        size_t n = 0;

        (void)state;
        assert_int_equal(api_b64url_decode("aGk", 3, &out, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(out, "hi", 2);
        free(out);
        out = NULL;
        assert_int_equal(api_b64url_decode("-_8", 3, &out, &n, &err), 0);
        assert_memory_equal(out, "\xfb\xff", 2);
        /* padding, the standard alphabet, white space, an impossible length, stray bits */
        assert_int_equal(api_b64url_decode("aGk=", 4, &out, &n, &err), -EINVAL);
        assert_int_equal(api_b64url_decode("+/8", 3, &out, &n, &err), -EINVAL);
        assert_int_equal(api_b64url_decode("aG k", 4, &out, &n, &err), -EINVAL);
        assert_int_equal(api_b64url_decode("aGkga", 5, &out, &n, &err), -EINVAL);
        assert_int_equal(api_b64url_decode("aGl", 3, &out, &n, &err), -EINVAL);
        assert_int_equal(api_b64url_decode("a\0k", 3, &out, &n, &err), -EINVAL);
        /* in a token: padding added to the header part */
        {
                cleanup_free char *padded = aio_xasprintf("%.*s=%s", (int)(d1 - good), good, d1);

                assert_int_equal(verify(padded, &err), -EINVAL);
                assert_string_equal(err.msg, "the header is not base64url");
        }
}

static void test_too_long(void **state)
{
        struct aio_err err;
        cleanup_free char *c = aio_xmalloc(API_JWT_MAX_LEN);
        cleanup_free char *t = NULL;

        (void)state;
        memset(c, ' ', API_JWT_MAX_LEN - 1);
        memcpy(c, "{\"exp\":99999999999}", 19);
        c[API_JWT_MAX_LEN - 1] = '\0';
        t = token(c);
        assert_int_equal(verify(t, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "longer than"));
}

/* No message quotes the token: the payload part of a refused token never shows. */
static void test_messages_do_not_echo(void **state)
{
        struct aio_err err;
        const char *payloads[] = {"{\"exp\":1,\"secret\":\"hunter2hunter2\"}",
                                  "{\"secret\":\"hunter2hunter2\"}"};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(payloads); i++) {
                cleanup_free char *t = token(payloads[i]);
                cleanup_free char *p = b64s(payloads[i]);

                assert_true(verify(t, &err) < 0);
                assert_null(strstr(err.msg, "hunter2"));
                assert_null(strstr(err.msg, p));
        }
}

static void test_key_forms(void **state)
{
        struct aio_err err = {0};
        struct api_jwt_key *k = NULL;
        cleanup_free char *pkcs1 = pub_pem(K.priv, true);
        cleanup_free char *pkcs1_b64 = b64((const unsigned char *)pkcs1, strlen(pkcs1), false);
        cleanup_free char *wrapped = aio_xmalloc(2 * strlen(K.pem_b64) + 8);
        cleanup_free char *c = claims_exp(NOW + 300), *t = token(c);
        const char *forms[] = {K.pem, pkcs1, pkcs1_b64, wrapped};
        size_t w = 0;

        (void)state;
        assert_non_null(strstr(pkcs1, "BEGIN RSA PUBLIC KEY"));
        /* base64 wrapped at 64 columns, as base64(1) writes it by default */
        for (size_t i = 0; K.pem_b64[i]; i++) {
                wrapped[w++] = K.pem_b64[i];
                if (i % 64 == 63)
                        wrapped[w++] = '\n';
        }
        wrapped[w++] = '\n';
        wrapped[w] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
                assert_int_equal(api_jwt_key_load(forms[i], &k, &err), 0);
                assert_int_equal(api_jwt_verify(k, t, strlen(t), NOW, &err), 0);
                api_jwt_key_free(k);
                k = NULL;
        }
}

static void test_key_refused(void **state)
{
        struct aio_err err = {0};
        struct api_jwt_key *k = NULL;
        EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        cleanup_free char *small_pem = pub_pem(small, false), *ec_pem = pub_pem(ec, false);
        cleanup_free char *junk = b64((const unsigned char *)"not a pem", 9, false);
        cleanup_free char *truncated = aio_xstrdup(K.pem);

        (void)state;
        truncated[strlen(truncated) / 2] = '\0';
        assert_int_equal(api_jwt_key_load("%%% not base64", &k, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not base64"));
        assert_int_equal(api_jwt_key_load("aGk=aGk=", &k, &err), -EINVAL);
        assert_int_equal(api_jwt_key_load(junk, &k, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no RSA public key"));
        assert_int_equal(api_jwt_key_load(truncated, &k, &err), -EINVAL);
        assert_int_equal(api_jwt_key_load(ec_pem, &k, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no RSA public key"));
        assert_int_equal(api_jwt_key_load(small_pem, &k, &err), -EINVAL);
        assert_string_equal(err.msg, "JWT_PUBLIC_KEY is a 1024-bit RSA key: at least 2048 bits "
                                     "needed");
        assert_null(k);
        EVP_PKEY_free(small);
        EVP_PKEY_free(ec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_expired),
                cmocka_unit_test(test_not_yet_valid),
                cmocka_unit_test(test_claims),
                cmocka_unit_test(test_alg_refused),
                cmocka_unit_test(test_alg_none_unsigned),
                cmocka_unit_test(test_hs256_with_public_key),
                cmocka_unit_test(test_bad_signature),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_base64url_strict),
                cmocka_unit_test(test_too_long),
                cmocka_unit_test(test_messages_do_not_echo),
                cmocka_unit_test(test_key_forms),
                cmocka_unit_test(test_key_refused),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
