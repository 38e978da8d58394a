/* libFuzzer harness for the JWT parser and verifier (api/jwt.c).
 *
 * The first input byte picks a mode:
 *   even: the rest is a compact token, verified as is (the parser on hostile bytes; no input
 *         can forge a signature, so it must never be accepted);
 *   odd:  the rest is "header JSON\0payload JSON", signed here with the harness's own RSA key,
 *         so the header and claims checks behind the signature are reached. When that is
 *         accepted, an independent model must agree: the header is an object whose alg is
 *         exactly "RS256" with no jku/jwk/x5u/x5c/crit, and exp is a number not yet past.
 * Every base64url part the decoder accepts must re-encode to the same text (one form only).
 *
 * tools/fuzz.sh links the runtime/policy/common sources only, so the api source is included
 * here.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/jwt.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1.8e9

static EVP_PKEY *priv;
static struct api_jwt_key *key;

static char *b64url(const unsigned char *in, size_t len)
{
        char *out = aio_xmalloc(4 * ((len + 2) / 3) + 1);
        int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

        for (int i = 0; i < n; i++)
                out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
        while (n > 0 && out[n - 1] == '=')
                out[--n] = '\0';
        return out;
}

static void init(void)
{
        struct aio_err err = {0};
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem;
        long n;

        priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        if (!priv || !bio || PEM_write_bio_PUBKEY(bio, priv) != 1)
                abort();
        n = BIO_get_mem_data(bio, &pem);
        pem = strndup(pem, (size_t)n);
        if (!pem || api_jwt_key_load(pem, &key, &err) < 0)
                abort();
        free(pem);
        BIO_free(bio);
}

static void roundtrip_check(const char *part, size_t len)
{
        struct aio_err err = {0};
        unsigned char *raw = NULL;
        size_t n = 0;

        if (api_b64url_decode(part, len, &raw, &n, &err) == 0) {
                char *again = b64url(raw, n);

                if (strlen(again) != len || memcmp(again, part, len) != 0)
                        abort();
                free(again);
        }
        free(raw);
}

static void model_check(const char *header, const char *payload)
{
        json_t *h = json_loads(header, JSON_REJECT_DUPLICATES, NULL);
        json_t *p = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
        const char *alg = json_string_value(json_object_get(h, "alg"));
        json_t *exp = json_object_get(p, "exp");

        if (!json_is_object(h) || !alg || strcmp(alg, "RS256") != 0 || json_object_get(h, "jku") ||
            json_object_get(h, "jwk") || json_object_get(h, "x5u") || json_object_get(h, "x5c") ||
            json_object_get(h, "crit") || !json_is_object(p) || !json_is_number(exp) ||
            NOW >= json_number_value(exp) + API_JWT_LEEWAY || json_object_get(p, "aud"))
                abort();
        json_decref(h);
        json_decref(p);
}

static void signed_case(const char *in, size_t len)
{
        const char *nul = memchr(in, '\0', len);
        char *header, *payload, *h64, *p64, *input, *sig64, *tok;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char sig[512];
        size_t sig_len = sizeof(sig);
        struct aio_err err = {0};

        if (!nul || !md) {
                EVP_MD_CTX_free(md);
                return;
        }
        header = strndup(in, (size_t)(nul - in));
        payload = strndup(nul + 1, len - (size_t)(nul + 1 - in));
        h64 = b64url((const unsigned char *)header, strlen(header));
        p64 = b64url((const unsigned char *)payload, strlen(payload));
        input = aio_xasprintf("%s.%s", h64, p64);
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, priv) != 1 ||
            EVP_DigestSign(md, sig, &sig_len, (unsigned char *)input, strlen(input)) != 1)
                abort();
        sig64 = b64url(sig, sig_len);
        tok = aio_xasprintf("%s.%s", input, sig64);
        if (api_jwt_verify(key, tok, strlen(tok), NOW, &err) == 0)
                model_check(header, payload);
        EVP_MD_CTX_free(md);
        free(header);
        free(payload);
        free(h64);
        free(p64);
        free(input);
        free(sig64);
        free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct aio_err err = {0};
        const char *in = (const char *)data + 1;
        size_t len = size - 1;

        if (!key)
                init();
        if (size == 0)
                return 0;
        if (data[0] & 1) {
                signed_case(in, len);
                return 0;
        }
        roundtrip_check(in, len);
        if (api_jwt_verify(key, in, len, NOW, &err) == 0)
                abort(); /* no signature of ours: nothing may pass */
        if (!err.msg[0])
                abort();
        return 0;
}
