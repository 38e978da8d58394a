/* libFuzzer harness for /v1/file's path normalisation (and the other pure parsers next to it).
 *
 * Input: a path as a request carries it (NUL bytes included). api_path_normalize() must refuse a
 * NUL, and otherwise give an absolute path that is its own normal form: no empty, "." or ".."
 * component, no trailing '/', shorter than PATH_MAX, and normalising it again changes nothing. A
 * path that is already normal comes back unchanged. The same bytes also go through the Range,
 * base64, line-range and glob code, which must not crash and must keep their invariants.
 *
 * tools/fuzz.sh links the runtime/policy/common sources only, so the api sources are included.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/file.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_normal(const char *p)
{
        size_t n = strlen(p);

        if (p[0] != '/' || n >= PATH_MAX || (n > 1 && p[n - 1] == '/'))
                return false;
        for (const char *c = p + 1; n > 1 && c;) {
                const char *e = strchrnul(c, '/');
                size_t len = (size_t)(e - c);

                if (len == 0 || (len == 1 && c[0] == '.') ||
                    (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c = *e ? e + 1 : NULL;
        }
        return true;
}

static void path_check(const char *in, size_t size)
{
        struct aio_err err = {0};
        char *out = NULL, *again = NULL;
        int r = api_path_normalize(in, size, "/home/gem", &out, &err);

        if (r < 0) {
                if (out || (r != -EINVAL && r != -ENAMETOOLONG))
                        abort();
                if (r == -EINVAL && size > 0 && !memchr(in, '\0', size))
                        abort();
                return;
        }
        if (memchr(in, '\0', size) || !is_normal(out))
                abort();
        if (api_path_normalize(out, strlen(out), "/", &again, &err) < 0 || strcmp(out, again))
                abort();
        if (is_normal(in) && (strlen(in) != size || strcmp(in, out) != 0))
                abort();
        free(out);
        free(again);
}

static void others_check(const char *in, size_t size, const char *str)
{
        uint64_t off = 0, len = 0, fsize = size * 7;
        char *out = NULL, *back = NULL;
        size_t n, m;
        int r = api_range_parse(str, fsize, &off, &len);

        if (r > 0 && (len == 0 || off + len > fsize))
                abort();
        out = api_base64_encode(in, size, &n);
        if (api_base64_decode(out, n, &back, &m) < 0 || m != size || memcmp(back, in, size))
                abort();
        free(out);
        free(back);
        out = api_lines_slice(in, size, size > 0, (long long)(size % 7) - 3, size > 1,
                              (long long)(size % 5) - 2, &n);
        if (n > size || strlen(out) > n)
                abort();
        free(out);
        (void)api_glob_match(str, "a/b/.c/d.txt", size & 1);
        (void)api_glob_match("**/*.txt", str, size & 2);
        json_decref(api_json_text(in, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *str = malloc(size + 1);

        if (!str)
                return 0;
        memcpy(str, data, size);
        str[size] = '\0';
        path_check(str, size);
        others_check(str, size, str);
        free(str);
        return 0;
}
