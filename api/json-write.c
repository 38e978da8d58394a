#include "json-write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/utf8.h"
#include "common/xalloc.h"

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define SLACK 16 /* the NUL, and room to spare */

/* ---- the buffer ------------------------------------------------------------------------------ */

void api_jbuf_init(struct api_jbuf *b, size_t cap)
{
        b->cap = cap + SLACK;
        b->p = aio_xmalloc(b->cap);
        b->len = 0;
}

void api_jbuf_free(struct api_jbuf *b)
{
        free(b->p);
        *b = (struct api_jbuf){0};
}

static void grow(struct api_jbuf *b, size_t n)
{
        size_t cap = b->cap;

        while (b->len + n + SLACK > cap)
                cap = cap < 4096 ? 4096 : cap * 2;
        b->p = aio_xrealloc(b->p, cap);
        b->cap = cap;
}

static inline void reserve(struct api_jbuf *b, size_t n)
{
        if (b->len + n + SLACK > b->cap)
                grow(b, n);
}

void api_jbuf_reserve(struct api_jbuf *b, size_t n)
{
        reserve(b, n);
}

void api_jbuf_put(struct api_jbuf *b, const char *s, size_t n)
{
        reserve(b, n);
        memcpy(b->p + b->len, s, n);
        b->len += n;
}

static void put_lit(struct api_jbuf *b, const char *s)
{
        api_jbuf_put(b, s, strlen(s));
}

char *api_jbuf_take(struct api_jbuf *b, size_t *ret_len)
{
        char *p;

        api_jbuf_reserve(b, 1);
        b->p[b->len] = '\0';
        p = b->p;
        *ret_len = b->len;
        *b = (struct api_jbuf){0};
        return p;
}

/* ---- strings --------------------------------------------------------------------------------- */

/* What follows the backslash for an ASCII byte that needs one ('u': \u00XX, as jansson writes
 * it), 0 for a byte copied as it is. */
/* clang-format off */
static const char esc[128] = {
        ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
        [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
        [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
        [0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
        [0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
        [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
        ['"'] = '"', ['\\'] = '\\',
};
/* clang-format on */

static inline uint64_t zero_bytes(uint64_t v)
{
        return (v - ONES) & ~v & HIGHS;
}

/* A bit set in each byte of w that needs more than a copy (below 0x20, '"', '\\', 0x80 and
 * above). Borrows may set bits above a byte that matched, never below the first one. */
static inline uint64_t special_bytes(uint64_t w)
{
        return ((w - ONES * 0x20) & ~w & HIGHS) | zero_bytes(w ^ (ONES * '"')) |
               zero_bytes(w ^ (ONES * '\\')) | (w & HIGHS);
}

/* The first byte flagged in m: exact on little-endian, where borrows run towards later bytes;
 * elsewhere the byte-at-a-time path sorts the word out. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIRST_BYTE(m) ((size_t)__builtin_ctzll(m) >> 3)
#else
#define FIRST_BYTE(m) ((size_t)0 * (m))
#endif

/* Copies from p to o the bytes that need no escape, a word at a time; returns how many (at most
 * n, maybe fewer). It stores whole words: up to 15 bytes past the count, never past o + n. */
static inline size_t plain_copy(char *o, const unsigned char *p, size_t n)
{
        size_t i = 0;
        uint64_t w, m;

#ifdef __SSE2__
        /* signed: one compare finds both the control characters and the bytes from 0x80 */
        const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                      bslash = _mm_set1_epi8('\\');

        for (; i + 16 <= n; i += 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
                __m128i sp = _mm_or_si128(
                        _mm_cmplt_epi8(v, space),
                        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
                unsigned mask = (unsigned)_mm_movemask_epi8(sp);

                _mm_storeu_si128((__m128i *)(void *)(o + i), v);
                if (mask)
                        return i + (size_t)__builtin_ctz(mask);
        }
#endif
        for (; i + 8 <= n; i += 8) {
                memcpy(&w, p + i, 8);
                memcpy(o + i, &w, 8);
                m = special_bytes(w);
                if (m)
                        return i + FIRST_BYTE(m);
        }
        return i;
}

/* Writes the escape of ASCII byte c at o; returns its length. */
static inline size_t put_escape(char *o, unsigned char c)
{
        static const char hex[] = "0123456789ABCDEF";

        o[0] = '\\';
        o[1] = esc[c];
        if (esc[c] != 'u')
                return 2;
        o[2] = '0';
        o[3] = '0';
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        return 6;
}

int api_json_put_string(struct api_jbuf *b, const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + n;

        /* room for the text as it is; each escape makes room for its own extra bytes */
        reserve(b, n + 2);
        b->p[b->len++] = '"';
        while (p < end) {
                size_t k = plain_copy(b->p + b->len, p, (size_t)(end - p));

                b->len += k;
                p += k;
                if (p == end)
                        break;
                if (*p >= 0x80) {
                        if (aio_utf8_scan(p, (size_t)(end - p), &k) != AIO_UTF8_OK)
                                k = 0;
                        if (!k)
                                return -EILSEQ;
                        memcpy(b->p + b->len, p, k);
                        b->len += k;
                        p += k;
                } else if (esc[*p]) {
                        reserve(b, (size_t)(end - p) + 6);
                        b->len += put_escape(b->p + b->len, *p++);
                } else {
                        b->p[b->len++] = (char)*p++;
                }
        }
        b->p[b->len++] = '"';
        return 0;
}

/* ---- values ---------------------------------------------------------------------------------- */

static int put_value(struct api_jbuf *b, json_t *j, unsigned depth);

// NOLINTNEXTLINE(misc-no-recursion): the depth is bounded by API_JSON_DEPTH_MAX
static int put_members(struct api_jbuf *b, json_t *j, bool first, unsigned depth)
{
        int r;

        for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
                if (!first)
                        api_jbuf_put(b, ",", 1);
                first = false;
                r = api_json_put_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
                if (r < 0)
                        return r;
                api_jbuf_put(b, ":", 1);
                r = put_value(b, json_object_iter_value(it), depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int api_json_put_members(struct api_jbuf *b, json_t *obj, bool first)
{
        return put_members(b, obj, first, 0);
}

// NOLINTNEXTLINE(misc-no-recursion): the depth is bounded by API_JSON_DEPTH_MAX
static int put_object(struct api_jbuf *b, json_t *j, unsigned depth)
{
        int r;

        api_jbuf_put(b, "{", 1);
        r = put_members(b, j, true, depth);
        if (r < 0)
                return r;
        api_jbuf_put(b, "}", 1);
        return 0;
}

// NOLINTNEXTLINE(misc-no-recursion): the depth is bounded by API_JSON_DEPTH_MAX
static int put_array(struct api_jbuf *b, json_t *j, unsigned depth)
{
        size_t n = json_array_size(j);
        int r;

        api_jbuf_put(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        api_jbuf_put(b, ",", 1);
                r = put_value(b, json_array_get(j, i), depth + 1);
                if (r < 0)
                        return r;
        }
        api_jbuf_put(b, "]", 1);
        return 0;
}

static void put_integer(struct api_jbuf *b, json_int_t v)
{
        char tmp[24], *q = tmp + sizeof(tmp);
        /* the magnitude in unsigned arithmetic: -INT64_MIN does not fit */
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

        do {
                *--q = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--q = '-';
        api_jbuf_put(b, q, (size_t)(tmp + sizeof(tmp) - q));
}

/* Reals are rare in our answers: jansson writes them, so its precision and ".0" rules hold. */
static int put_real(struct api_jbuf *b, json_t *j)
{
        char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);

        if (!s)
                return -EINVAL;
        put_lit(b, s);
        free(s);
        return 0;
}

// NOLINTNEXTLINE(misc-no-recursion): the depth is bounded by API_JSON_DEPTH_MAX
static int put_value(struct api_jbuf *b, json_t *j, unsigned depth)
{
        if (depth > API_JSON_DEPTH_MAX)
                return -EINVAL;
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return put_object(b, j, depth);
        case JSON_ARRAY:
                return put_array(b, j, depth);
        case JSON_STRING:
                return api_json_put_string(b, json_string_value(j), json_string_length(j));
        case JSON_INTEGER:
                put_integer(b, json_integer_value(j));
                return 0;
        case JSON_REAL:
                return put_real(b, j);
        case JSON_TRUE:
                put_lit(b, "true");
                return 0;
        case JSON_FALSE:
                put_lit(b, "false");
                return 0;
        case JSON_NULL:
                put_lit(b, "null");
                return 0;
        }
        return -EINVAL;
}

int api_json_put(struct api_jbuf *b, json_t *j)
{
        return j ? put_value(b, j, 0) : -EINVAL;
}

// NOLINTNEXTLINE(misc-no-recursion): the depth is bounded by API_JSON_DEPTH_MAX
static size_t size_hint(json_t *j, unsigned depth)
{
        size_t n = 8;

        if (!j || depth > API_JSON_DEPTH_MAX)
                return n;
        if (json_is_string(j))
                return n + json_string_length(j);
        if (json_is_array(j))
                for (size_t i = 0; i < json_array_size(j); i++)
                        n += size_hint(json_array_get(j, i), depth + 1);
        else if (json_is_object(j))
                for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it))
                        n += json_object_iter_key_len(it) + 4 +
                             size_hint(json_object_iter_value(it), depth + 1);
        else
                n += 24;
        return n;
}

size_t api_json_size_hint(json_t *j)
{
        return size_hint(j, 0);
}

char *api_json_dump(json_t *j, size_t *ret_len, int *ret_err)
{
        size_t hint = api_json_size_hint(j);
        struct api_jbuf b;
        int r;

        /* escapes are rare: an eighth more than the text covers them in one go */
        api_jbuf_init(&b, hint + hint / 8);
        r = api_json_put(&b, j);
        if (r < 0) {
                api_jbuf_free(&b);
                *ret_err = r;
                return NULL;
        }
        return api_jbuf_take(&b, ret_len);
}
