/* libFuzzer harness for the route matcher and the %XX decoder.
 *
 * Input: a path. It is decoded as MHD would through api_unescape() (which must never produce a
 * NUL or grow the string), then matched against aio-apid's tables. A match must agree with an
 * independent model: substituting the captured values into the row's pattern gives back the
 * path (less one trailing slash), and no captured value is empty or holds a '/'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void model_check(const struct api_match *m, const char *path)
{
        char rebuilt[8192], norm[4096];
        size_t w = 0, k = 0, len = strlen(path);
        const char *p = m->route->pattern;

        (void)snprintf(norm, sizeof(norm), "%s", path);
        if (len > 1 && norm[len - 1] == '/')
                norm[len - 1] = '\0';
        while (*p && w < sizeof(rebuilt) - 1) {
                if (*p == '{') {
                        const char *v = m->params[k++].value;

                        if (!*v || strchr(v, '/') || w + strlen(v) >= sizeof(rebuilt))
                                abort();
                        memcpy(rebuilt + w, v, strlen(v));
                        w += strlen(v);
                        p = strchr(p, '}') + 1;
                } else {
                        rebuilt[w++] = *p++;
                }
        }
        rebuilt[w] = '\0';
        if (k != m->n_params || strcmp(rebuilt, norm) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const methods[] = {"GET", "POST", "DELETE", "HEAD", "PUT"};
        char *path = malloc(size + 1);
        struct api_match m;
        size_t n, len, tables;
        const struct api_route *const *t = api_route_tables(&tables);

        if (!path)
                return 0;
        memcpy(path, data, size);
        path[size] = '\0';
        len = strlen(path);
        n = api_unescape(path);
        if (n > len || n != strlen(path))
                abort();
        switch (api_route_match(t, tables, methods[size % 5], path, &m)) {
        case API_MATCH_OK:
                model_check(&m, path);
                break;
        case API_MATCH_NO_METHOD:
                if (!m.allow[0])
                        abort();
                break;
        case API_MATCH_NO_PATH:
        case _API_MATCH_MAX:
                break;
        }
        free(path);
        return 0;
}
