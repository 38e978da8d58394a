/* /v1/file: the pure pieces every file endpoint shares (api/file.h). */
#include "file.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#include "api/file-internal.h"

const char *api_file_home(void)
{
        const char *h = getenv("HOME");

        return h && h[0] == '/' ? h : API_FILE_HOME_DEFAULT;
}

/* Appends the component [s, s+n) to out (of length *len), handling "." and "..". */
static void path_push(char *out, size_t *len, const char *s, size_t n)
{
        if (n == 0 || (n == 1 && s[0] == '.'))
                return;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
                while (*len > 0 && out[*len - 1] != '/')
                        (*len)--;
                if (*len > 0)
                        (*len)--; /* the '/' before the component */
                return;
        }
        out[(*len)++] = '/';
        memcpy(out + *len, s, n);
        *len += n;
}

static void path_push_all(char *out, size_t *len, const char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                size_t j = i;

                while (j < n && s[j] != '/')
                        j++;
                path_push(out, len, s + i, j - i);
                i = j + 1;
        }
}

int api_path_normalize(const char *in, size_t len, const char *home, char **ret,
                       struct aio_err *err)
{
        cleanup_free char *out = NULL;
        size_t n = 0, hlen = strlen(home);

        if (len == 0)
                return aio_error_msg(err, EINVAL, "path must not be empty");
        if (memchr(in, '\0', len))
                return aio_error_msg(err, EINVAL, "path must not contain a NUL byte");
        /* every component is copied at most once, plus home and one '/' per component */
        out = aio_xmalloc(len + hlen + 3);
        if (in[0] == '~' && (len == 1 || in[1] == '/')) {
                path_push_all(out, &n, home, hlen);
                in++;
                len--;
        } else if (in[0] != '/') {
                path_push_all(out, &n, home, hlen);
        }
        path_push_all(out, &n, in, len);
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        if (n >= PATH_MAX)
                return aio_error_msg(err, ENAMETOOLONG, "path is %zu bytes long: the limit is %d",
                                     n, PATH_MAX - 1);
        *ret = take_ptr(&out);
        return 0;
}

/* The length of the line break at buf[i], 0 if there is none. */
static size_t line_break(const char *buf, size_t len, size_t i)
{
        unsigned char c = (unsigned char)buf[i];

        if (c == '\r')
                return i + 1 < len && buf[i + 1] == '\n' ? 2 : 1;
        if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e))
                return 1;
        if (c == 0xc2 && i + 1 < len && (unsigned char)buf[i + 1] == 0x85)
                return 2;
        if (c == 0xe2 && i + 2 < len && (unsigned char)buf[i + 1] == 0x80 &&
            ((unsigned char)buf[i + 2] == 0xa8 || (unsigned char)buf[i + 2] == 0xa9))
                return 3;
        return 0;
}

static bool line_break_ends(const char *buf, size_t len)
{
        unsigned char c;

        if (len == 0)
                return false;
        c = (unsigned char)buf[len - 1];
        if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e))
                return true;
        if (len >= 2 && (unsigned char)buf[len - 2] == 0xc2 && c == 0x85)
                return true;
        return len >= 3 && (unsigned char)buf[len - 3] == 0xe2 &&
               (unsigned char)buf[len - 2] == 0x80 && (c == 0xa8 || c == 0xa9);
}

size_t api_line_end(const char *buf, size_t len, size_t i, size_t *ret_brk)
{
        size_t b = 0;

        while (i < len && !(b = line_break(buf, len, i)))
                i++;
        *ret_brk = b;
        return i;
}

static size_t lines_count(const char *buf, size_t len)
{
        size_t n = 0, i = 0;

        while (i < len) {
                size_t b = line_break(buf, len, i);

                if (b) {
                        n++;
                        i += b;
                } else {
                        i++;
                }
        }
        /* a last line without a break counts too */
        return n + (len > 0 && !line_break_ends(buf, len));
}

static long long slice_index(bool has, long long v, long long dflt, long long n)
{
        if (!has)
                return dflt;
        if (v < 0)
                v += n;
        if (v < 0)
                return 0;
        return v > n ? n : v;
}

char *api_lines_slice(const char *buf, size_t len, bool has_start, long long start, bool has_end,
                      long long end, size_t *ret_len)
{
        long long n = (long long)lines_count(buf, len), a, b, line = 0;
        char *out = aio_xmalloc(len + 1);
        size_t w = 0, i = 0;

        a = slice_index(has_start, start, 0, n);
        b = slice_index(has_end, end, n, n);
        while (i < len && line < b) {
                size_t j = i, brk = 0;

                while (j < len && !(brk = line_break(buf, len, j)))
                        j++;
                if (line >= a) {
                        if (line > a)
                                out[w++] = '\n';
                        memcpy(out + w, buf + i, j - i);
                        w += j - i;
                }
                line++;
                i = j + brk;
        }
        out[w] = '\0';
        *ret_len = w;
        return out;
}

size_t api_str_count(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
        size_t n = 0;
        const char *p = hay, *end = hay + hlen;

        while ((size_t)(end - p) >= nlen) {
                const char *m = memmem(p, (size_t)(end - p), needle, nlen);

                if (!m)
                        break;
                n++;
                p = m + nlen;
        }
        return n;
}

/* Copies the text with every occurrence in [first, last] (counted from 0) replaced. */
static char *replace_range(const struct api_replace *rq, size_t first, size_t last, size_t *ret_len)
{
        char *out = aio_xmalloc(rq->tlen + (last - first + 1) * rq->nlen + 1);
        const char *p = rq->text, *end = rq->text + rq->tlen;
        size_t w = 0, k = 0;

        while (p < end && k <= last) {
                const char *m = (size_t)(end - p) >= rq->olen
                                        ? memmem(p, (size_t)(end - p), rq->old, rq->olen)
                                        : NULL;
                bool swap = k++ >= first;

                if (!m)
                        break;
                memcpy(out + w, p, (size_t)(m - p));
                w += (size_t)(m - p);
                memcpy(out + w, swap ? rq->new : rq->old, swap ? rq->nlen : rq->olen);
                w += swap ? rq->nlen : rq->olen;
                p = m + rq->olen;
        }
        memcpy(out + w, p, (size_t)(end - p));
        w += (size_t)(end - p);
        out[w] = '\0';
        *ret_len = w;
        return out;
}

int api_str_replace(const struct api_replace *rq, char **ret, size_t *ret_len, struct aio_err *err)
{
        size_t n = api_str_count(rq->text, rq->tlen, rq->old, rq->olen), first = 0, last;

        if (n == 0)
                return aio_error_msg(err, ENOENT,
                                     "No replacement was performed, old_str did not "
                                     "appear verbatim in the file.");
        if (rq->mode == API_REPLACE_UNIQUE && n > 1)
                return aio_error_msg(err, EEXIST,
                                     "No replacement was performed. Multiple occurrences of "
                                     "old_str in the file (%zu). Please ensure it is unique.",
                                     n);
        last = n - 1;
        if (rq->mode == API_REPLACE_FIRST)
                last = 0;
        else if (rq->mode == API_REPLACE_LAST)
                first = last;
        *ret = replace_range(rq, first, last, ret_len);
        return (int)(last - first + 1);
}

static bool parse_u64(const char *s, const char *e, uint64_t *ret)
{
        uint64_t v = 0;

        if (s == e)
                return false;
        for (; s < e; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
                        return false;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        *ret = v;
        return true;
}

/* "a-b" or "a-" (spec is [s, end)): 1 with the range, 0 malformed, -ERANGE past the end. */
static int range_first_last(const char *s, const char *dash, const char *end, uint64_t size,
                            uint64_t *ret_a, uint64_t *ret_b)
{
        uint64_t a, b;

        if (!parse_u64(s, dash, &a))
                return 0;
        if (dash + 1 == end)
                b = size ? size - 1 : 0;
        else if (!parse_u64(dash + 1, end, &b) || b < a)
                return 0;
        if (a >= size)
                return -ERANGE;
        *ret_a = a;
        *ret_b = b >= size ? size - 1 : b;
        return 1;
}

/* "-n": the last n bytes. */
static int range_suffix(const char *dash, const char *end, uint64_t size, uint64_t *ret_a,
                        uint64_t *ret_b)
{
        uint64_t n;

        if (!parse_u64(dash + 1, end, &n))
                return 0;
        if (n == 0 || size == 0)
                return -ERANGE;
        *ret_a = n >= size ? 0 : size - n;
        *ret_b = size - 1;
        return 1;
}

int api_range_parse(const char *hdr, uint64_t size, uint64_t *ret_off, uint64_t *ret_len)
{
        const char *spec, *dash, *end;
        uint64_t a = 0, b = 0;
        int r;

        if (!hdr || strncmp(hdr, "bytes=", 6) != 0)
                return 0;
        spec = hdr + 6;
        spec += strspn(spec, " \t");
        end = spec + strcspn(spec, " \t,");
        if (*end && strspn(end, " \t") != strlen(end))
                return 0; /* several ranges, or trailing junk: send it all */
        dash = memchr(spec, '-', (size_t)(end - spec));
        if (!dash)
                return 0;
        if (dash == spec)
                r = range_suffix(dash, end, size, &a, &b);
        else
                r = range_first_last(spec, dash, end, size, &a, &b);
        if (r <= 0)
                return r;
        *ret_off = a;
        *ret_len = b - a + 1;
        return 1;
}

bool api_utf8_valid(const char *s, size_t n)
{
        return aio_utf8_text(s, n);
}

json_t *api_json_text(const char *s, size_t n)
{
        cleanup_free char *out = NULL;
        json_t *j;

        if (aio_utf8_text(s, n)) {
                j = json_stringn(s, n);
        } else {
                /* invalid subparts and NUL bytes (names, lines: never text with NUL) */
                size_t w = 0, len;

                out = aio_xmalloc(n * 3 + 1);
                for (size_t i = 0; i < n; i += len) {
                        bool ok = aio_utf8_scan((const unsigned char *)s + i, n - i, &len) ==
                                          AIO_UTF8_OK &&
                                  s[i] != '\0';

                        memcpy(out + w, ok ? s + i : AIO_UTF8_REPLACEMENT, ok ? len : 3);
                        w += ok ? len : 3;
                }
                j = json_stringn(out, w);
        }
        if (!j)
                abort();
        return j;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

char *api_base64_encode(const void *data, size_t n, size_t *ret_len)
{
        const unsigned char *d = data;
        char *out = aio_xmalloc((n + 2) / 3 * 4 + 1);
        size_t w = 0, i = 0;

        for (; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];

                out[w++] = b64[v >> 18];
                out[w++] = b64[(v >> 12) & 63];
                out[w++] = b64[(v >> 6) & 63];
                out[w++] = b64[v & 63];
        }
        if (i < n) {
                uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);

                out[w++] = b64[v >> 18];
                out[w++] = b64[(v >> 12) & 63];
                out[w++] = b64[i + 1 < n ? (v >> 6) & 63 : 64]; /* b64[64]: '=' */
                out[w++] = '=';
        }
        out[w] = '\0';
        *ret_len = w;
        return out;
}

static int b64_value(char c)
{
        const char *p = c && c != '=' ? strchr(b64, c) : NULL;

        return p ? (int)(p - b64) : -1;
}

int api_base64_decode(const char *s, size_t n, char **ret, size_t *ret_len)
{
        cleanup_free char *out = aio_xmalloc(n / 4 * 3 + 3);
        uint32_t acc = 0;
        size_t w = 0, k = 0, pad = 0;

        for (size_t i = 0; i < n; i++) {
                int v;

                if (strchr(" \t\r\n", s[i]) && s[i])
                        continue;
                if (s[i] == '=') {
                        pad++;
                        continue;
                }
                v = b64_value(s[i]);
                if (v < 0 || pad)
                        return -EINVAL;
                acc = acc << 6 | (uint32_t)v;
                if (++k % 4 == 0) {
                        out[w++] = (char)(acc >> 16);
                        out[w++] = (char)(acc >> 8);
                        out[w++] = (char)acc;
                        acc = 0;
                }
        }
        if (k % 4 == 1 || pad > 2 || (pad && (k + pad) % 4 != 0))
                return -EINVAL;
        if (k % 4 == 2) {
                out[w++] = (char)(acc >> 4);
        } else if (k % 4 == 3) {
                out[w++] = (char)(acc >> 10);
                out[w++] = (char)(acc >> 2);
        }
        out[w] = '\0';
        *ret_len = w;
        *ret = take_ptr(&out);
        return 0;
}

/* One segment of a pattern against one of a path (both [s, e)). */
static bool seg_match(const char *p, size_t pn, const char *s, size_t sn, bool hidden)
{
        char pat[NAME_MAX + 1], name[NAME_MAX + 1];

        if (pn > NAME_MAX || sn > NAME_MAX)
                return false;
        memcpy(pat, p, pn);
        pat[pn] = '\0';
        memcpy(name, s, sn);
        name[sn] = '\0';
        return fnmatch(pat, name, hidden ? 0 : FNM_PERIOD) == 0;
}

static const char *seg_next(const char *s, size_t *ret_n)
{
        const char *e = strchrnul(s, '/');

        *ret_n = (size_t)(e - s);
        return e;
}

static const char *seg_skip(const char *s)
{
        while (*s == '/')
                s++;
        return s;
}

bool api_glob_match_partial(const char *pattern, const char *path, bool hidden, bool partial)
{
        const char *p = seg_skip(pattern), *s = seg_skip(path), *star_p = NULL, *star_s = NULL;
        size_t pn, sn;

        /* wildcard matching over segments; "**" is the star, retried from its last position */
        while (*s) {
                const char *pe = seg_next(p, &pn), *se = seg_next(s, &sn);

                if (pn == 2 && p[0] == '*' && p[1] == '*') {
                        star_p = p = seg_skip(pe);
                        star_s = s;
                } else if (*p && seg_match(p, pn, s, sn, hidden)) {
                        p = seg_skip(pe);
                        s = seg_skip(se);
                } else if (star_p && (hidden || *star_s != '.')) {
                        star_s = seg_skip(seg_next(star_s, &sn));
                        p = star_p;
                        s = star_s;
                } else {
                        return false;
                }
        }
        if (partial)
                return true;
        while (*p) {
                const char *pe = seg_next(p, &pn);

                if (!(pn == 2 && p[0] == '*' && p[1] == '*'))
                        return false;
                p = seg_skip(pe);
        }
        return true;
}

bool api_glob_match(const char *pattern, const char *path, bool hidden)
{
        return api_glob_match_partial(pattern, path, hidden, false);
}
