/* SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3 and 6.2), written from
 * the standard's description. */
#include "sha256.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* clang-format off */
static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
/* clang-format on */

static inline uint32_t rotr(uint32_t x, unsigned n)
{
        return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

#define CH(x, y, z)  (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x)     (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define BSIG1(x)     (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))
#define SSIG0(x)     (rotr(x, 7) ^ rotr(x, 18) ^ ((x) >> 3))
#define SSIG1(x)     (rotr(x, 17) ^ rotr(x, 19) ^ ((x) >> 10))

/* One round (6.2.2 step 3) with the working variables renamed instead of shifted; t1 is a
 * temporary of the caller. */
#define ROUND(a, b, c, d, e, f, g, h, i, wi)                         \
        (t1 = (h) + BSIG1(e) + CH(e, f, g) + K[i] + (wi), (d) += t1, \
         (h) = t1 + BSIG0(a) + MAJ(a, b, c))
/* Message schedule (6.2.2 step 1) as a rolling window of 16 words. */
#define W(i) \
        (w[(i)&15] = SSIG1(w[((i)-2) & 15]) + w[((i)-7) & 15] + SSIG0(w[((i)-15) & 15]) + w[(i)&15])

static void sha256_block_portable(uint32_t st[8], const uint8_t *p)
{
        uint32_t w[16];
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6],
                 h = st[7], t1;
        size_t i;

        for (i = 0; i < 16; i++)
                w[i] = load_be32(p + (size_t)4 * i);
        for (i = 0; i < 16; i += 8) {
                ROUND(a, b, c, d, e, f, g, h, i + 0, w[i + 0]);
                ROUND(h, a, b, c, d, e, f, g, i + 1, w[i + 1]);
                ROUND(g, h, a, b, c, d, e, f, i + 2, w[i + 2]);
                ROUND(f, g, h, a, b, c, d, e, i + 3, w[i + 3]);
                ROUND(e, f, g, h, a, b, c, d, i + 4, w[i + 4]);
                ROUND(d, e, f, g, h, a, b, c, i + 5, w[i + 5]);
                ROUND(c, d, e, f, g, h, a, b, i + 6, w[i + 6]);
                ROUND(b, c, d, e, f, g, h, a, i + 7, w[i + 7]);
        }
        for (; i < 64; i += 8) {
                ROUND(a, b, c, d, e, f, g, h, i + 0, W(i + 0));
                ROUND(h, a, b, c, d, e, f, g, i + 1, W(i + 1));
                ROUND(g, h, a, b, c, d, e, f, i + 2, W(i + 2));
                ROUND(f, g, h, a, b, c, d, e, i + 3, W(i + 3));
                ROUND(e, f, g, h, a, b, c, d, i + 4, W(i + 4));
                ROUND(d, e, f, g, h, a, b, c, i + 5, W(i + 5));
                ROUND(c, d, e, f, g, h, a, b, i + 6, W(i + 6));
                ROUND(b, c, d, e, f, g, h, a, i + 7, W(i + 7));
        }
        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        st[4] += e;
        st[5] += f;
        st[6] += g;
        st[7] += h;
}

static void sha256_blocks_portable(uint32_t st[8], const uint8_t *p, size_t n)
{
        for (; n > 0; n--, p += 64)
                sha256_block_portable(st, p);
}

#if defined(__x86_64__)
/* The same computation with the x86 SHA extensions (Intel SDM: SHA256RNDS2 does two rounds on
 * the state split as {A,B,E,F} and {C,D,G,H}; SHA256MSG1/MSG2 do the sigma0/sigma1 halves of the
 * message schedule four words at a time). */
__attribute__((target("sha,sse4.1"))) static void sha256_blocks_shani(uint32_t st[8],
                                                                      const uint8_t *p, size_t n)
{
        const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
        __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)st), 0xb1); /* b a d c */
        __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(st + 4)), 0x1b);
        __m128i abef = _mm_alignr_epi8(t, cdgh, 8); /* dwords 3..0: a b e f */

        cdgh = _mm_blend_epi16(cdgh, t, 0xf0); /* dwords 3..0: c d g h */
        for (; n > 0; n--, p += 64) {
                __m128i w[4], abef0 = abef, cdgh0 = cdgh;

                for (size_t i = 0; i < 4; i++)
                        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)),
                                                bswap);
                for (size_t g = 0; g < 16; g++) {
                        __m128i wk;

                        if (g >= 4) /* w[g&3] = W[t-16..t-13] becomes W[t..t+3], t = 4g */
                                w[g & 3] = _mm_sha256msg2_epu32(
                                        _mm_add_epi32(
                                                _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]),
                                                _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4)),
                                        w[(g + 3) & 3]);
                        wk = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)(K + 4 * g)));
                        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
                        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
                }
                abef = _mm_add_epi32(abef, abef0);
                cdgh = _mm_add_epi32(cdgh, cdgh0);
        }
        t = _mm_shuffle_epi32(abef, 0x1b);    /* dwords 3..0: f e b a */
        cdgh = _mm_shuffle_epi32(cdgh, 0xb1); /* dwords 3..0: d c h g */
        _mm_storeu_si128((__m128i *)st, _mm_blend_epi16(t, cdgh, 0xf0));
        _mm_storeu_si128((__m128i *)(st + 4), _mm_alignr_epi8(cdgh, t, 8));
}

static bool cpu_has_shani(void)
{
        unsigned a, b, c, d;

        if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
                return false;
        return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#endif

void aio_sha256_init_portable(struct aio_sha256 *s)
{
        /* 5.3.3: first 32 bits of the fractional parts of the square roots of the first 8 primes */
        static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

        memcpy(s->h, h0, sizeof(h0));
        s->len = 0;
        s->nbuf = 0;
        s->blocks = sha256_blocks_portable;
}

void aio_sha256_init(struct aio_sha256 *s)
{
        aio_sha256_init_portable(s);
#if defined(__x86_64__)
        if (cpu_has_shani())
                s->blocks = sha256_blocks_shani;
#endif
}

void aio_sha256_update(struct aio_sha256 *s, const void *data, size_t len)
{
        const uint8_t *p = data;

        s->len += len;
        if (s->nbuf > 0) {
                size_t n = sizeof(s->buf) - s->nbuf < len ? sizeof(s->buf) - s->nbuf : len;

                memcpy(s->buf + s->nbuf, p, n);
                s->nbuf += n;
                p += n;
                len -= n;
                if (s->nbuf < sizeof(s->buf))
                        return;
                s->blocks(s->h, s->buf, 1);
                s->nbuf = 0;
        }
        s->blocks(s->h, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
        memcpy(s->buf, p, len);
        s->nbuf = len;
}

void aio_sha256_final(struct aio_sha256 *s, uint8_t out[AIO_SHA256_LEN])
{
        uint64_t bits = s->len * 8;

        /* 5.1.1: a 1 bit, zeros up to 56 mod 64, then the message length in bits, big endian. */
        s->buf[s->nbuf++] = 0x80;
        if (s->nbuf > 56) {
                memset(s->buf + s->nbuf, 0, sizeof(s->buf) - s->nbuf);
                s->blocks(s->h, s->buf, 1);
                s->nbuf = 0;
        }
        memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
        store_be32(s->buf + 56, (uint32_t)(bits >> 32));
        store_be32(s->buf + 60, (uint32_t)bits);
        s->blocks(s->h, s->buf, 1);
        for (size_t i = 0; i < 8; i++)
                store_be32(out + 4 * i, s->h[i]);
}

void aio_sha256_hex(const uint8_t digest[AIO_SHA256_LEN], char out[AIO_SHA256_HEX])
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < AIO_SHA256_LEN; i++) {
                out[i * 2] = hex[digest[i] >> 4];
                out[i * 2 + 1] = hex[digest[i] & 15];
        }
        out[AIO_SHA256_HEX - 1] = '\0';
}
