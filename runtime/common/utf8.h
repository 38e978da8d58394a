#pragma once

/* UTF-8 as Python's bytes.decode(errors="replace") sees it: well-formed sequences only (no
 * overlong forms, surrogates or code points past U+10FFFF), and each maximal invalid subpart
 * replaced by one U+FFFD. Shared by everything that turns bytes into JSON text. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AIO_UTF8_REPLACEMENT "\xEF\xBF\xBD"

enum aio_utf8_scan_result {
        AIO_UTF8_OK,      /* a well-formed sequence */
        AIO_UTF8_INVALID, /* a maximal invalid subpart (at least one byte) */
        AIO_UTF8_SHORT,   /* the start of a sequence cut by the end of the input */
};

/* The sequence at s (n > 0 bytes available): its kind, and its length in *ret_len. NUL is a
 * well-formed one-byte sequence. */
enum aio_utf8_scan_result aio_utf8_scan(const unsigned char *s, size_t n, size_t *ret_len);
/* How many bytes from p are ASCII without NUL, counted in whole words (so maybe fewer). */
size_t aio_utf8_ascii_run(const unsigned char *p, size_t n);
/* Whether s is well-formed UTF-8 with no NUL byte: text a JSON string carries as it is. */
bool aio_utf8_text(const char *s, size_t n);
/* How many bytes at the end of s start a sequence the end cuts short (0..3). */
size_t aio_utf8_cut_tail(const char *s, size_t n);
/* Code points: the bytes that are not continuation bytes. */
size_t aio_utf8_count(const char *s, size_t n);
/* s with every invalid subpart (a cut one at the end too) replaced by U+FFFD, into out, which
 * has room for 3 * n bytes; returns the length written (no NUL added). */
size_t aio_utf8_repair(const char *s, size_t n, char *out);
