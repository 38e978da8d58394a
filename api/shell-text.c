/* The pure part of /v1/shell: completion markers in the terminal stream, terminal output as
 * text, upstream's truncation, control-key names and the capped per-command output store. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/xalloc.h"

#include "api/shell-internal.h"

void api_shell_buf_put(struct api_shell_buf *b, const void *p, size_t n)
{
        if (!b->p || b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;

                while (cap < b->len + n + 1)
                        cap *= 2;
                b->p = aio_xrealloc(b->p, cap);
                b->cap = cap;
        }
        if (n)
                memcpy(b->p + b->len, p, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void api_shell_buf_free(struct api_shell_buf *b)
{
        free(b->p);
        *b = (struct api_shell_buf){0};
}

/* ---- markers ------------------------------------------------------------------------------ */

void api_shell_parser_init(struct api_shell_parser *p, const char *nonce)
{
        memset(p, 0, sizeof(*p));
        (void)snprintf(p->prefix, sizeof(p->prefix), "\033]777;aio;%s;", nonce);
        p->prefix_len = strlen(p->prefix);
}

static bool parse_int(const char *s, const char *end, int *ret)
{
        long v = 0;
        bool neg = *s == '-';

        if (neg)
                s++;
        if (s == end || end - s > 9)
                return false;
        for (; s < end; s++) {
                if (!isdigit((unsigned char)*s))
                        return false;
                v = v * 10 + (*s - '0');
        }
        *ret = (int)(neg ? -v : v);
        return true;
}

int api_shell_marker_parse(char *body, struct api_shell_marker *m)
{
        char *semi;

        *m = (struct api_shell_marker){.kind = body[0]};
        if (strcmp(body, "S") == 0)
                return 0;
        if ((body[0] != 'E' && body[0] != 'R') || body[1] != ';')
                return -EINVAL;
        semi = strchr(body + 2, ';');
        if (!semi || !parse_int(body + 2, semi, &m->code))
                return -EINVAL;
        m->pwd = semi + 1;
        return 0;
}

/* Gives up on a marker candidate: what was held is output after all. */
static void parser_spill(struct api_shell_parser *p, api_shell_data_fn data, void *cls)
{
        if (p->matched)
                data(cls, p->prefix, p->matched);
        if (p->in_body && p->body_len)
                data(cls, p->body, p->body_len);
        p->matched = 0;
        p->in_body = false;
        p->body_len = 0;
}

static void parser_body_end(struct api_shell_parser *p, api_shell_data_fn data,
                            api_shell_marker_fn marker, void *cls)
{
        struct api_shell_marker m;

        p->body[p->body_len] = '\0';
        if (api_shell_marker_parse(p->body, &m) == 0) {
                marker(cls, &m);
                p->matched = 0;
                p->in_body = false;
                p->body_len = 0;
                return;
        }
        parser_spill(p, data, cls);
        data(cls, "\a", 1);
}

/* One byte while a marker candidate is open. Returns whether the byte was taken. */
static bool parser_step(struct api_shell_parser *p, char c, api_shell_data_fn data,
                        api_shell_marker_fn marker, void *cls)
{
        if (p->in_body) {
                if (c == '\a') {
                        parser_body_end(p, data, marker, cls);
                        return true;
                }
                if (p->body_len < API_SHELL_MARKER_MAX && c != '\033') {
                        p->body[p->body_len++] = c;
                        return true;
                }
                parser_spill(p, data, cls);
                return false;
        }
        if (c == p->prefix[p->matched]) {
                if (++p->matched == p->prefix_len)
                        p->in_body = true;
                return true;
        }
        parser_spill(p, data, cls);
        return false;
}

void api_shell_parser_feed(struct api_shell_parser *p, const char *buf, size_t n,
                           api_shell_data_fn data, api_shell_marker_fn marker, void *cls)
{
        size_t i = 0;

        while (i < n) {
                const char *esc;
                size_t run;

                if (p->matched && parser_step(p, buf[i], data, marker, cls)) {
                        i++;
                        continue;
                }
                if (buf[i] == '\033') {
                        p->matched = 1; /* the prefix starts with ESC, and has no other */
                        i++;
                        continue;
                }
                esc = memchr(buf + i, '\033', n - i);
                run = esc ? (size_t)(esc - (buf + i)) : n - i;
                data(cls, buf + i, run);
                i += run;
        }
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

void api_shell_utf8_fix(const char *s, size_t n, struct api_shell_buf *out)
{
        char *fixed = aio_xmalloc(n * 3 + 1);

        api_shell_buf_put(out, fixed, aio_utf8_repair(s, n, fixed));
        free(fixed);
}

/* ---- terminal output as text ---------------------------------------------------------------- */

#define CSI_MAX    256
#define STRING_MAX 8192

/* CSI: parameters and intermediates, then a final byte 0x40-0x7E. */
static size_t csi_len(const char *s, size_t n)
{
        size_t i;

        for (i = 2; i < n && i < CSI_MAX; i++)
                if ((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7E)
                        return i + 1;
        return i == CSI_MAX ? i : 0;
}

/* OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \) as in a terminal, and also by a
 * line end: as text, one broken escape should not take the rest of the output with it. */
static size_t string_len(const char *s, size_t n)
{
        size_t i;

        for (i = 2; i < n && i < STRING_MAX; i++) {
                if (s[i] == '\a')
                        return i + 1;
                if (s[i] == '\n' || s[i] == '\r')
                        return i;
                if (s[i] == '\033' && i + 1 < n)
                        return s[i + 1] == '\\' ? i + 2 : i;
        }
        return i == STRING_MAX ? i : 0;
}

/* Length of the escape sequence at s (s[0] == ESC), 0 when incomplete. */
static size_t esc_len(const char *s, size_t n)
{
        size_t i;

        if (n < 2)
                return 0;
        if (s[1] == '[')
                return csi_len(s, n);
        if (s[1] && strchr("]PX^_", s[1]))
                return string_len(s, n);
        /* nF sequences (ESC ( B, ...): intermediates 0x20-0x2F, then one final byte */
        for (i = 1; i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x2F; i++)
                ;
        return i < n ? i + 1 : 0;
}

static void drop_last_char(struct api_shell_buf *out)
{
        while (out->len && ((unsigned char)out->p[out->len - 1] & 0xC0) == 0x80)
                out->len--;
        if (out->len && out->p[out->len - 1] != '\n')
                out->len--;
        if (out->p)
                out->p[out->len] = '\0';
}

/* One control byte or escape at in; returns bytes used, 0 when more input is needed. */
static size_t clean_control(const char *in, size_t n, bool final, struct api_shell_buf *out)
{
        size_t len;

        switch (in[0]) {
        case '\033':
                len = esc_len(in, n);
                return len ? len : final ? n : 0;
        case '\r':
                if (n < 2)
                        return final ? 1 : 0;
                if (in[1] == '\n') {
                        api_shell_buf_put(out, "\n", 1);
                        return 2;
                }
                return 1;
        case '\b':
                drop_last_char(out);
                return 1;
        case '\n':
        case '\t':
                api_shell_buf_put(out, in, 1);
                return 1;
        default:
                return 1; /* BEL, NUL, DEL and the rest of C0: dropped */
        }
}

size_t api_shell_clean(const char *in, size_t n, bool final, struct api_shell_buf *out)
{
        size_t i = 0;

        api_shell_buf_put(out, "", 0);
        while (i < n) {
                unsigned char c = (unsigned char)in[i];
                enum aio_utf8_scan_result kind;
                size_t used, len;

                if (c < 0x20 || c == 0x7F) {
                        used = clean_control(in + i, n - i, final, out);
                        if (!used)
                                break;
                        i += used;
                        continue;
                }
                kind = aio_utf8_scan((const unsigned char *)in + i, n - i, &len);
                if (kind == AIO_UTF8_SHORT && !final)
                        break;
                if (kind == AIO_UTF8_OK)
                        api_shell_buf_put(out, in + i, len);
                else
                        api_shell_buf_put(out, AIO_UTF8_REPLACEMENT, 3);
                i += len;
        }
        return i;
}

static size_t char_offset(const char *s, size_t len, size_t nth)
{
        size_t chars = 0;

        for (size_t i = 0; i < len; i++)
                if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == nth)
                        return i;
        return len;
}

void api_shell_truncate(struct api_shell_buf *b, size_t max_chars)
{
        size_t chars = aio_utf8_count(b->p, b->len), half = max_chars / 2;
        struct api_shell_buf t = {0};
        size_t head_end, tail_start;

        if (chars <= max_chars)
                return;
        head_end = char_offset(b->p, b->len, half);
        tail_start = char_offset(b->p, b->len, chars - half);
        api_shell_buf_put(&t, b->p, head_end);
        api_shell_buf_put(&t, API_SHELL_TRUNCATED_NOTE, strlen(API_SHELL_TRUNCATED_NOTE));
        api_shell_buf_put(&t, b->p + tail_start, b->len - tail_start);
        api_shell_buf_free(b);
        *b = t;
}

void api_shell_trim(struct api_shell_buf *b)
{
        size_t start = 0;

        while (b->len && strchr(" \t\n", b->p[b->len - 1]))
                b->len--;
        while (start < b->len && b->p[start] == '\n')
                start++;
        if (start)
                memmove(b->p, b->p + start, b->len - start);
        b->len -= start;
        if (b->p)
                b->p[b->len] = '\0';
}

int api_shell_control_key(const char *input)
{
        static const char punct[] = "@[\\]^_";
        size_t len;
        char c;

        while (*input == ' ' || *input == '\t')
                input++;
        len = strlen(input);
        while (len && (input[len - 1] == ' ' || input[len - 1] == '\t'))
                len--;
        if (len != 3 || (input[0] != 'C' && input[0] != 'c') || input[1] != '-')
                return -1;
        c = input[2];
        if (isalpha((unsigned char)c))
                return tolower((unsigned char)c) - 'a' + 1;
        if (c == '?')
                return 0x7F;
        if (c && strchr(punct, c))
                return (int)(strchr(punct, c) - punct) + (c == '@' ? 0 : 26);
        return -1;
}

/* ---- per-command output --------------------------------------------------------------------- */

void api_shell_capture_init(struct api_shell_capture *c, size_t head_cap, size_t ring_cap)
{
        *c = (struct api_shell_capture){.head_cap = head_cap, .ring_cap = ring_cap};
        c->head = head_cap ? aio_xmalloc(head_cap) : NULL;
        c->ring = ring_cap ? aio_xmalloc(ring_cap) : NULL;
}

void api_shell_capture_reset(struct api_shell_capture *c)
{
        c->head_len = c->ring_start = c->ring_len = 0;
        c->total = 0;
}

void api_shell_capture_free(struct api_shell_capture *c)
{
        free(c->head);
        free(c->ring);
        *c = (struct api_shell_capture){0};
}

void api_shell_capture_append(struct api_shell_capture *c, const char *p, size_t n)
{
        size_t take = c->head_cap - c->head_len < n ? c->head_cap - c->head_len : n;

        c->total += n;
        if (take) {
                memcpy(c->head + c->head_len, p, take);
                c->head_len += take;
        }
        p += take;
        n -= take;
        if (!n || !c->ring_cap)
                return;
        if (n >= c->ring_cap) {
                memcpy(c->ring, p + n - c->ring_cap, c->ring_cap);
                c->ring_start = 0;
                c->ring_len = c->ring_cap;
                return;
        }
        while (n) {
                size_t at = (c->ring_start + c->ring_len) % c->ring_cap;
                size_t chunk = c->ring_cap - at < n ? c->ring_cap - at : n;
                size_t over =
                        c->ring_len + chunk > c->ring_cap ? c->ring_len + chunk - c->ring_cap : 0;

                memcpy(c->ring + at, p, chunk);
                c->ring_len += chunk - over;
                c->ring_start = (c->ring_start + over) % c->ring_cap;
                p += chunk;
                n -= chunk;
        }
}

uint64_t api_shell_capture_raw(const struct api_shell_capture *c, struct api_shell_buf *head,
                               struct api_shell_buf *tail)
{
        size_t first = c->ring_cap - c->ring_start < c->ring_len ? c->ring_cap - c->ring_start
                                                                 : c->ring_len;

        api_shell_buf_put(head, c->head, c->head_len);
        if (c->ring_len) {
                api_shell_buf_put(tail, c->ring + c->ring_start, first);
                api_shell_buf_put(tail, c->ring, c->ring_len - first);
        }
        return c->total - c->head_len - c->ring_len;
}

void api_shell_capture_text(const struct api_shell_capture *c, bool truncate,
                            struct api_shell_buf *out)
{
        struct api_shell_buf head = {0}, tail = {0};
        uint64_t dropped = api_shell_capture_raw(c, &head, &tail);

        if (!dropped) {
                api_shell_buf_put(&head, tail.p, tail.len);
                (void)api_shell_clean(head.p, head.len, true, out);
        } else {
                (void)api_shell_clean(head.p, head.len, true, out);
                api_shell_buf_put(out, API_SHELL_TRUNCATED_NOTE, strlen(API_SHELL_TRUNCATED_NOTE));
                (void)api_shell_clean(tail.p, tail.len, true, out);
        }
        api_shell_trim(out);
        if (truncate)
                api_shell_truncate(out, API_SHELL_TRUNCATE_CHARS);
        api_shell_buf_free(&head);
        api_shell_buf_free(&tail);
}
