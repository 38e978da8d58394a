#include "bash-buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void api_bstream_init(struct api_bstream *s, size_t max)
{
        *s = (struct api_bstream){.max = max < 2 ? 2 : max};
}

void api_bstream_free(struct api_bstream *s)
{
        free(s->data);
        *s = (struct api_bstream){.max = s->max};
}

char *api_bstream_reserve(struct api_bstream *s, size_t n)
{
        if (s->cap - s->len < n) {
                size_t cap = s->cap ? s->cap : 4096;

                while (cap - s->len < n)
                        cap *= 2;
                s->data = aio_xrealloc(s->data, cap);
                s->cap = cap;
        }
        return s->data + s->len;
}

/* Keeps the last max / 2 bytes, as upstream does; shrinks the allocation once it is mostly
 * empty so an idle session does not hold its peak. */
static void trim(struct api_bstream *s)
{
        size_t keep = s->max / 2, drop = s->len - keep;

        memmove(s->data, s->data + drop, keep);
        s->base += drop;
        s->len = keep;
        if (s->cap > 4 * keep + 4096) {
                s->cap = 2 * keep + 4096;
                s->data = aio_xrealloc(s->data, s->cap);
        }
}

void api_bstream_commit(struct api_bstream *s, size_t n)
{
        s->len += n;
        if (s->len > s->max)
                trim(s);
}

void api_bstream_append(struct api_bstream *s, const void *p, size_t n)
{
        memcpy(api_bstream_reserve(s, n), p, n);
        api_bstream_commit(s, n);
}

void api_bstream_slice(const struct api_bstream *s, uint64_t from, uint64_t to, const char **ret_p,
                       size_t *ret_n, uint64_t *ret_start, uint64_t *ret_skipped)
{
        uint64_t end = api_bstream_end(s), start = from;

        if (to > end)
                to = end;
        if (start > to)
                start = to;
        *ret_skipped = 0;
        if (start < s->base) {
                *ret_skipped = (to > s->base ? s->base : to) - start;
                start = s->base;
        }
        if (to < start)
                to = start;
        *ret_p = s->data ? s->data + (start - s->base) : "";
        *ret_n = (size_t)(to - start);
        *ret_start = start;
}

/* The second byte's range for a lead byte (Unicode Table 3-7); later bytes are 80..BF. */
static int lead_info(unsigned char c, unsigned char *ret_lo, unsigned char *ret_hi)
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

/* The sequence at p: its length when valid (*ret_ok), else the length of its maximal invalid
 * subpart (at least 1). *ret_short says it was cut by the end of the input, not by a bad byte. */
static size_t seq_scan(const unsigned char *p, size_t n, bool *ret_ok, bool *ret_short)
{
        unsigned char lo, hi;
        int want = lead_info(p[0], &lo, &hi);
        size_t i;

        *ret_ok = false;
        *ret_short = false;
        if (want == 0)
                return 1;
        for (i = 1; i < (size_t)want; i++) {
                if (i >= n) {
                        *ret_short = true;
                        return i;
                }
                if (p[i] < lo || p[i] > hi)
                        return i;
                lo = 0x80;
                hi = 0xBF;
        }
        *ret_ok = true;
        return i;
}

size_t api_utf8_partial_tail(const char *p, size_t n)
{
        size_t from = n > 3 ? n - 3 : 0;

        for (size_t i = from; i < n; i++) {
                bool ok, cut;

                (void)seq_scan((const unsigned char *)p + i, n - i, &ok, &cut);
                if (cut)
                        return n - i;
        }
        return 0;
}

char *api_utf8_repair(const char *p, size_t n, size_t *ret_len)
{
        const unsigned char *u = (const unsigned char *)p;
        char *out = aio_xmalloc(n * 3 + 1);
        size_t o = 0;

        for (size_t i = 0; i < n;) {
                bool ok, cut;
                size_t len = seq_scan(u + i, n - i, &ok, &cut);

                if (ok) {
                        memcpy(out + o, u + i, len);
                        o += len;
                } else {
                        memcpy(out + o, "\xEF\xBF\xBD", 3);
                        o += 3;
                }
                i += len;
        }
        out[o] = '\0';
        *ret_len = o;
        return out;
}

size_t api_utf8_count(const char *s, size_t n)
{
        size_t c = 0;

        for (size_t i = 0; i < n; i++)
                c += ((unsigned char)s[i] & 0xC0) != 0x80;
        return c;
}

/* Byte offset of code point k in a valid UTF-8 string. */
static size_t cp_offset(const char *s, size_t n, size_t k)
{
        size_t i = 0;

        for (; i < n; i++) {
                if (((unsigned char)s[i] & 0xC0) != 0x80) {
                        if (k == 0)
                                return i;
                        k--;
                }
        }
        return n;
}

char *api_middle_truncate(const char *s, size_t n, size_t max, size_t *ret_len)
{
        static const char fmt[] = "\n\n... [output truncated: %zu characters omitted] ...\n\n";
        size_t chars = api_utf8_count(s, n), head, tail, hb, tb, ml;
        char marker[96];
        char *out;
        int m;

        if (chars <= max) {
                out = aio_xmalloc(n + 1);
                memcpy(out, s, n);
                out[n] = '\0';
                *ret_len = n;
                return out;
        }
        m = snprintf(marker, sizeof(marker), fmt, chars - max);
        if (m < 0 || (size_t)m >= max) {
                hb = cp_offset(s, n, max);
                out = aio_xmalloc(hb + 1);
                memcpy(out, s, hb);
                out[hb] = '\0';
                *ret_len = hb;
                return out;
        }
        head = (max - (size_t)m) / 2;
        tail = max - (size_t)m - head;
        m = snprintf(marker, sizeof(marker), fmt, chars - head - tail);
        ml = m > 0 ? (size_t)m : 0;
        hb = cp_offset(s, n, head);
        tb = n - cp_offset(s, n, chars - tail);
        out = aio_xmalloc(hb + ml + tb + 1);
        memcpy(out, s, hb);
        memcpy(out + hb, marker, ml);
        memcpy(out + hb + ml, s + n - tb, tb);
        out[hb + ml + tb] = '\0';
        *ret_len = hb + ml + tb;
        return out;
}
