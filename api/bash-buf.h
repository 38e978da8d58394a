#pragma once

/* The pure parts of /v1/bash: an append-only byte stream read by absolute offsets whose head is
 * dropped past a cap (offsets stay valid, upstream-api.md §5.2), UTF-8 repair for JSON, and
 * upstream's middle truncation of inline output. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_BSTREAM_MAX (10u << 20) /* upstream: 10 MiB per stream, then keep the last half */

struct api_bstream {
        char *data;
        size_t len, cap;
        uint64_t base; /* absolute offset of data[0]: bytes dropped so far */
        size_t max;    /* past this the head is dropped down to max / 2 */
};

void api_bstream_init(struct api_bstream *s, size_t max);
void api_bstream_free(struct api_bstream *s);
/* Absolute offset one past the last byte. */
static inline uint64_t api_bstream_end(const struct api_bstream *s)
{
        return s->base + s->len;
}
/* Room for n more bytes at data + len (the caller reads into it, then calls _commit()). */
char *api_bstream_reserve(struct api_bstream *s, size_t n);
/* n bytes were written at the reserved place: counts them and drops the head if over max. */
void api_bstream_commit(struct api_bstream *s, size_t n);
void api_bstream_append(struct api_bstream *s, const void *p, size_t n);
/* The bytes of [from, to) still held: from is raised to base (what was dropped is gone, its
 * size in *ret_skipped) and both are clamped to the end. *ret_start is where the bytes begin. */
void api_bstream_slice(const struct api_bstream *s, uint64_t from, uint64_t to, const char **ret_p,
                       size_t *ret_n, uint64_t *ret_start, uint64_t *ret_skipped);

/* A malloc'ed, NUL-terminated, valid UTF-8 copy of p[0..n): every maximal invalid subpart
 * becomes U+FFFD, as Python's bytes.decode("utf-8", "replace") does. NULs are kept (the
 * length is in *ret_len). */
char *api_utf8_repair(const char *p, size_t n, size_t *ret_len);
/* Upstream's middle_truncate() on a valid UTF-8 string, counted in code points: when longer
 * than max, head + "\n\n... [output truncated: N characters omitted] ...\n\n" + tail, the whole
 * max code points long; a max too small for the marker keeps the first max code points. Returns
 * a malloc'ed copy (the same text when it fits), its length in *ret_len. */
char *api_middle_truncate(const char *s, size_t n, size_t max, size_t *ret_len);
