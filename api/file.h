#pragma once

/* /v1/file: the pure pieces (path normalisation, line ranges, string replacement, HTTP Range
 * parsing, UTF-8 and base64) and the file-watch registry that api/main.c creates. The handlers
 * themselves are listed in api/file-internal.h. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct api_watches;

#define API_FILE_HOME_DEFAULT "/home/gem"

/* The directory relative paths are resolved against: $HOME when it is absolute, else
 * /home/gem. */
const char *api_file_home(void);

/* Makes len bytes of in an absolute, lexically normal path, the way Python's os.path.abspath
 * does after expanduser: "~" and "~/x" start at home, a relative path is joined to home, "//" and
 * "." components go, ".." removes the component before it (never above "/"), no trailing '/'.
 * Refuses an empty path, a NUL byte (EINVAL) and a result of PATH_MAX or more (ENAMETOOLONG).
 * The result is malloc'ed. */
int api_path_normalize(const char *in, size_t len, const char *home, char **ret,
                       struct aio_err *err);

/* Python's str.splitlines() then "\n".join(lines[start:end]), on bytes: line breaks are \n,
 * \r\n, \r, \v, \f, \x1c-\x1e and the UTF-8 forms of U+0085, U+2028 and U+2029; start and end
 * follow slice rules (negative counts from the end, out of range clamps). Returns the malloc'ed
 * result (NUL-terminated) and its length. */
char *api_lines_slice(const char *buf, size_t len, bool has_start, long long start, bool has_end,
                      long long end, size_t *ret_len);

/* Non-overlapping occurrences of needle (nlen > 0) in hay. */
size_t api_str_count(const char *hay, size_t hlen, const char *needle, size_t nlen);

enum api_replace_mode {
        API_REPLACE_UNIQUE, /* exactly one occurrence, else an error (str_replace_editor) */
        API_REPLACE_ALL,
        API_REPLACE_FIRST,
        API_REPLACE_LAST,
        _API_REPLACE_MAX,
};

/* A replacement: old (olen > 0) by new in text, as mode says. */
struct api_replace {
        const char *text, *old, *new;
        size_t tlen, olen, nlen;
        enum api_replace_mode mode;
};

/* Returns the number of replacements with the malloc'ed result in *ret, or -ENOENT (no
 * occurrence) / -EEXIST (more than one, UNIQUE), with err saying so and *ret untouched. */
int api_str_replace(const struct api_replace *rq, char **ret, size_t *ret_len, struct aio_err *err);

/* An HTTP Range header against a file of size bytes (RFC 9110 §14.1.2: one "bytes=" range;
 * "a-b", "a-", "-n"). Returns 1 with the range in ret_off/ret_len, 0 when the header is absent,
 * malformed or asks for several ranges (the whole file is sent), -ERANGE when it cannot be
 * satisfied (416). */
int api_range_parse(const char *hdr, uint64_t size, uint64_t *ret_off, uint64_t *ret_len);

/* Whether n bytes of s are valid UTF-8 (no NUL, overlongs, surrogates or values past U+10FFFF:
 * what jansson accepts). */
bool api_utf8_valid(const char *s, size_t n);
/* A JSON string of n bytes of s, invalid UTF-8 (and NUL) replaced by U+FFFD as Python's
 * errors="replace" does. */
json_t *api_json_text(const char *s, size_t n);

/* Standard base64 with padding. The result is malloc'ed and NUL-terminated. */
char *api_base64_encode(const void *data, size_t n, size_t *ret_len);
/* Decodes standard base64 (padding optional at the end, whitespace skipped). Returns 0 or
 * -EINVAL on anything else. */
int api_base64_decode(const char *s, size_t n, char **ret, size_t *ret_len);

/* Shell-style match of a '/'-separated path against a pattern whose "**" segments match any
 * number of directories; other segments use fnmatch(3). With hidden false, a wildcard never
 * matches a leading '.' of a segment (glob.glob's rule). */
bool api_glob_match(const char *pattern, const char *path, bool hidden);

/* The registry of /v1/file/watch watchers (api/file-watch.c). */
struct api_watches *api_watches_new(void);
void api_watches_free(struct api_watches *w);
