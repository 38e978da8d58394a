#pragma once

#include <stddef.h>
#include <stdint.h>

#define AIO_SHA256_LEN 32
#define AIO_SHA256_HEX (2 * AIO_SHA256_LEN + 1)

/* SHA-256 (FIPS 180-4), streaming.  Used for content addresses, not for secrets: no attempt at
 * constant time or at wiping state. */
struct aio_sha256 {
        uint32_t h[8];
        uint64_t len; /* bytes hashed so far */
        uint8_t buf[64];
        size_t nbuf;
        void (*blocks)(uint32_t h[8], const uint8_t *p, size_t nblocks);
};

/* Uses the CPU's SHA instructions when it has them (x86-64 SHA-NI). */
void aio_sha256_init(struct aio_sha256 *s);
/* Plain C only: for tests that compare both implementations. */
void aio_sha256_init_portable(struct aio_sha256 *s);
void aio_sha256_update(struct aio_sha256 *s, const void *data, size_t len);
void aio_sha256_final(struct aio_sha256 *s, uint8_t out[AIO_SHA256_LEN]);
/* Lower-case hex of a digest, NUL-terminated. */
void aio_sha256_hex(const uint8_t digest[AIO_SHA256_LEN], char out[AIO_SHA256_HEX]);
