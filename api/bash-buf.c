#include "bash-buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
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

char *api_utf8_repair(const char *p, size_t n, size_t *ret_len)
{
        char *out = aio_xmalloc(n * 3 + 1);

        *ret_len = aio_utf8_repair(p, n, out);
        out[*ret_len] = '\0';
        return out;
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
        size_t chars = aio_utf8_count(s, n), head, tail, hb, tb, ml;
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
