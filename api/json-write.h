#pragma once

/* Compact JSON text, byte for byte what jansson's json_dumps(j, JSON_COMPACT) writes, into one
 * buffer sized once from the value, with the strings escaped 8 bytes at a time: runs of text
 * that need no escape are copied a word at a time, the rest goes through a table. UTF-8 is
 * checked as it is copied (jansson's checks again in its dump; strings from
 * json_stringn_nocheck are checked only here). */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct api_jbuf {
        char *p; /* NUL-terminated once api_jbuf_take() hands it out */
        size_t len, cap;
};

/* An empty buffer with room for at least cap bytes. */
void api_jbuf_init(struct api_jbuf *b, size_t cap);
void api_jbuf_free(struct api_jbuf *b);
/* Makes room for n more bytes. */
void api_jbuf_reserve(struct api_jbuf *b, size_t n);
void api_jbuf_put(struct api_jbuf *b, const char *s, size_t n);
/* The text, NUL-terminated (malloc'ed; the buffer is left empty); its length in *ret_len. */
char *api_jbuf_take(struct api_jbuf *b, size_t *ret_len);

/* Appends s[0..n) as a JSON string, quotes included. -EILSEQ when s is not UTF-8 (invalid,
 * overlong or surrogate sequences, code points above U+10FFFF); NUL is escaped, not refused. */
int api_json_put_string(struct api_jbuf *b, const char *s, size_t n);
/* Appends j. -EILSEQ as above, -EINVAL for a real jansson cannot write (NaN, infinities) or
 * nesting deeper than API_JSON_DEPTH_MAX. On failure b holds a partial text. */
int api_json_put(struct api_jbuf *b, json_t *j);
/* Appends the members of object obj, "key":value,... without the braces, after a comma unless
 * first. Errors as api_json_put(). */
int api_json_put_members(struct api_jbuf *b, json_t *obj, bool first);
/* The bytes j will take, give or take escapes: what to size a buffer with. */
size_t api_json_size_hint(json_t *j);
/* j as text (malloc'ed, NUL-terminated), its length in *ret_len; NULL with *ret_err set to
 * -EILSEQ or -EINVAL as above. */
char *api_json_dump(json_t *j, size_t *ret_len, int *ret_err);

#define API_JSON_DEPTH_MAX 2048
