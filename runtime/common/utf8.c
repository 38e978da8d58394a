#include "utf8.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The number of bytes a lead byte starts, and its second byte's range (Unicode Table 3-7;
 * later bytes are 80..BF); 0 for a byte that cannot start a sequence. */
static size_t lead_info(unsigned char c, unsigned char *ret_lo, unsigned char *ret_hi)
{
        *ret_lo = 0x80;
        *ret_hi = 0xBF;
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                return 2;
        if (c >= 0xE0 && c <= 0xEF) {
                if (c == 0xE0)
                        *ret_lo = 0xA0;
                else if (c == 0xED)
                        *ret_hi = 0x9F;
                return 3;
        }
        if (c >= 0xF0 && c <= 0xF4) {
                if (c == 0xF0)
                        *ret_lo = 0x90;
                else if (c == 0xF4)
                        *ret_hi = 0x8F;
                return 4;
        }
        return 0;
}

enum aio_utf8_scan_result aio_utf8_scan(const unsigned char *s, size_t n, size_t *ret_len)
{
        unsigned char lo, hi;
        size_t want = lead_info(s[0], &lo, &hi), i;

        if (want == 0) {
                *ret_len = 1;
                return AIO_UTF8_INVALID;
        }
        for (i = 1; i < want; i++) {
                if (i >= n) {
                        *ret_len = i;
                        return AIO_UTF8_SHORT;
                }
                if (s[i] < lo || s[i] > hi) {
                        *ret_len = i;
                        return AIO_UTF8_INVALID;
                }
                lo = 0x80;
                hi = 0xBF;
        }
        *ret_len = want;
        return AIO_UTF8_OK;
}

/* Non-zero when one of the 8 bytes of w is NUL or 0x80 and above. */
static inline uint64_t not_plain_ascii(uint64_t w)
{
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;

        return ((w - ones) & ~w & highs) | (w & highs);
}

size_t aio_utf8_ascii_run(const unsigned char *p, size_t n)
{
        size_t i = 0;
        uint64_t w;

#ifdef __SSE2__
        /* signed: one compare finds both NUL and the bytes from 0x80 */
        const __m128i one = _mm_set1_epi8(1);

        for (; i + 16 <= n; i += 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));

                if (_mm_movemask_epi8(_mm_cmplt_epi8(v, one)))
                        break;
        }
#endif
        for (; i + 8 <= n; i += 8) {
                memcpy(&w, p + i, 8);
                if (not_plain_ascii(w))
                        break;
        }
        return i;
}

bool aio_utf8_text(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, len;

        while (i < n) {
                /* ASCII a word at a time: the common case of logs and source files */
                len = aio_utf8_ascii_run(p + i, n - i);
                if (len) {
                        i += len;
                        continue;
                }
                if (p[i] == 0 || aio_utf8_scan(p + i, n - i, &len) != AIO_UTF8_OK)
                        return false;
                i += len;
        }
        return true;
}

size_t aio_utf8_cut_tail(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t len;

        for (size_t i = n > 3 ? n - 3 : 0; i < n; i++)
                if (aio_utf8_scan(p + i, n - i, &len) == AIO_UTF8_SHORT)
                        return n - i;
        return 0;
}

size_t aio_utf8_count(const char *s, size_t n)
{
        size_t c = 0;

        for (size_t i = 0; i < n; i++)
                c += ((unsigned char)s[i] & 0xC0) != 0x80;
        return c;
}

size_t aio_utf8_repair(const char *s, size_t n, char *out)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t o = 0, len;

        for (size_t i = 0; i < n; i += len) {
                if (aio_utf8_scan(p + i, n - i, &len) == AIO_UTF8_OK) {
                        memcpy(out + o, p + i, len);
                        o += len;
                } else {
                        /* bytes with a length, not a string */
                        // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
                        memcpy(out + o, AIO_UTF8_REPLACEMENT, 3);
                        o += 3;
                }
        }
        return o;
}
