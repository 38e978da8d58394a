/* SHA-256 against the FIPS 180-4 / NIST CAVP example vectors, both implementations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* clang-format off: cmocka.h needs <setjmp.h>, <stdarg.h> and <stddef.h> first */
#include <cmocka.h>
/* clang-format on */

#include "common/cleanup.h"
#include "common/sha256.h"

typedef void (*init_fn)(struct aio_sha256 *s);

static const init_fn inits[] = {aio_sha256_init, aio_sha256_init_portable};

static void hash_hex(init_fn init, const void *data, size_t len, size_t chunk,
                     char hex[AIO_SHA256_HEX])
{
        const unsigned char *p = data;
        uint8_t d[AIO_SHA256_LEN];
        struct aio_sha256 s;

        init(&s);
        for (size_t off = 0; off < len; off += chunk)
                aio_sha256_update(&s, p + off, len - off < chunk ? len - off : chunk);
        aio_sha256_final(&s, d);
        aio_sha256_hex(d, hex);
}

static void test_vectors(void **state)
{
        static const struct {
                const char *msg, *hex;
        } v[] = {
                {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
                {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                 "klmnopqrlmnopqrsmnopqrstnopqrstu",
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
        };
        char hex[AIO_SHA256_HEX];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                for (size_t k = 0; k < ELEMENTSOF(inits); k++) {
                        size_t len = strlen(v[i].msg);

                        hash_hex(inits[k], v[i].msg, len, len ? len : 1, hex);
                        assert_string_equal(hex, v[i].hex);
                        hash_hex(inits[k], v[i].msg, len, 1, hex); /* byte at a time */
                        assert_string_equal(hex, v[i].hex);
                }
        }
}

/* One million 'a' (FIPS 180-2 appendix B.3), fed in odd-sized pieces across block edges. */
static void test_million_a(void **state)
{
        char *m = malloc(1000000), hex[AIO_SHA256_HEX];

        (void)state;
        assert_non_null(m);
        memset(m, 'a', 1000000);
        for (size_t k = 0; k < ELEMENTSOF(inits); k++) {
                hash_hex(inits[k], m, 1000000, 1000000, hex);
                assert_string_equal(
                        hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
                hash_hex(inits[k], m, 1000000, 4093, hex);
                assert_string_equal(
                        hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        }
        free(m);
}

/* Every length around the padding edges (55, 56, 63, 64 ...), both implementations agree. */
static void test_lengths_agree(void **state)
{
        unsigned char buf[300];
        char a[AIO_SHA256_HEX], b[AIO_SHA256_HEX];
        uint32_t x = 12345;

        (void)state;
        for (size_t i = 0; i < sizeof(buf); i++) {
                x = x * 1103515245u + 12345u;
                buf[i] = (unsigned char)(x >> 16);
        }
        for (size_t len = 0; len <= sizeof(buf); len++) {
                hash_hex(aio_sha256_init, buf, len, 7, a);
                hash_hex(aio_sha256_init_portable, buf, len, len ? len : 1, b);
                assert_string_equal(a, b);
        }
        /* Known value for one of them, so that "both agree" cannot mean "both wrong". */
        hash_hex(aio_sha256_init_portable, "The quick brown fox jumps over the lazy dog", 43, 43,
                 a);
        assert_string_equal(a, "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors),
                cmocka_unit_test(test_million_a),
                cmocka_unit_test(test_lengths_agree),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
