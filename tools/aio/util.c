/* aio: URL checks and building, exit statuses, UTF-8 and base64 helpers (pure functions). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#include "tools/aio/cli.h"

static const char url_hint[] = "expected http://HOST[:PORT][/PREFIX] or https://...";

static int port_check(const char *p, size_t n)
{
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (unsigned long)(p[i] - '0');
        }
        return v >= 1 && v <= 65535 ? 0 : -1;
}

/* host[:port] or [v6][:port]; returns 0 when well formed. */
static int authority_check(const char *s, size_t n)
{
        const char *colon;
        size_t host_len;

        if (n > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', n);

                if (!close || close == s + 1)
                        return -1;
                host_len = (size_t)(close - s) + 1;
                if (host_len == n)
                        return 0;
                if (s[host_len] != ':')
                        return -1;
                return port_check(s + host_len + 1, n - host_len - 1);
        }
        colon = memchr(s, ':', n);
        host_len = colon ? (size_t)(colon - s) : n;
        if (host_len == 0 || memchr(s, '[', n) || memchr(s, ']', n))
                return -1;
        return colon ? port_check(colon + 1, n - host_len - 1) : 0;
}

int cli_url_check(const char *url, struct aio_err *err)
{
        const char *rest, *slash;
        size_t n;

        if (strncasecmp(url, "http://", 7) == 0)
                rest = url + 7;
        else if (strncasecmp(url, "https://", 8) == 0)
                rest = url + 8;
        else
                return aio_error_msg(err, CLI_E_USAGE, "--url '%s': %s", url, url_hint);
        slash = strchr(rest, '/');
        n = slash ? (size_t)(slash - rest) : strlen(rest);
        /* Not echoed: the part before '@' may be a password. */
        if (memchr(rest, '@', n))
                return aio_error_msg(err, CLI_E_USAGE,
                                     "--url: credentials in the URL are not supported (use "
                                     "--api-key or --token)");
        for (const unsigned char *p = (const unsigned char *)url; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#' || *p == '\\')
                        return aio_error_msg(err, CLI_E_USAGE,
                                             "--url '%s': no spaces, query or fragment; %s", url,
                                             url_hint);
        if (authority_check(rest, n) < 0)
                return aio_error_msg(err, CLI_E_USAGE, "--url '%s': bad host or port; %s", url,
                                     url_hint);
        return 0;
}

char *cli_url_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = aio_xmalloc(strlen(s) * 3 + 1), *p = out;

        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || strchr("-._~/", *c)) {
                        *p++ = (char)*c;
                        continue;
                }
                *p++ = '%';
                *p++ = hex[*c >> 4];
                *p++ = hex[*c & 15];
        }
        *p = '\0';
        return out;
}

static char *query_append(char *url, const char *key, const char *value, bool first)
{
        cleanup_free char *k = cli_url_escape(key), *v = cli_url_escape(value);
        char *joined = aio_xasprintf("%s%c%s=%s", url, first ? '?' : '&', k, v);

        free(url);
        return joined;
}

char *cli_url_build(const char *base, const char *path, const char *const *query)
{
        size_t n = strlen(base);
        char *url;

        while (n > 0 && base[n - 1] == '/')
                n--;
        url = aio_xasprintf("%.*s%s%s", (int)n, base, path[0] == '/' ? "" : "/", path);
        for (size_t i = 0; query && query[i] && query[i + 1]; i += 2)
                url = query_append(url, query[i], query[i + 1], i == 0);
        return url;
}

int cli_exit_code(int r)
{
        switch (r < 0 ? -r : r) {
        case 0:
                return CLI_EX_OK;
        case CLI_E_USAGE:
                return CLI_EX_USAGE;
        case CLI_E_CONNECT:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case ECONNRESET:
                return CLI_EX_UNAVAILABLE;
        case CLI_E_TIMEOUT:
                return CLI_EX_TEMPFAIL;
        case CLI_E_AUTH:
                return CLI_EX_NOPERM;
        case CLI_E_PROTOCOL:
                return CLI_EX_PROTOCOL;
        case EIO:
                return CLI_EX_IOERR;
        case EINTR:
                return CLI_EX_INTERRUPTED;
        default:
                return CLI_EX_API;
        }
}

/* Text the API can carry as a JSON string: UTF-8 without NUL bytes. */
bool cli_utf8_valid(const char *s, size_t len)
{
        return aio_utf8_text(s, len);
}

char *cli_base64_encode(const void *data, size_t len)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *in = data;
        char *out = aio_xmalloc((len + 2) / 3 * 4 + 1), *p = out;
        size_t i = 0;

        for (; i + 2 < len; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

                *p++ = tab[v >> 18];
                *p++ = tab[(v >> 12) & 63];
                *p++ = tab[(v >> 6) & 63];
                *p++ = tab[v & 63];
        }
        if (i < len) {
                uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

                *p++ = tab[v >> 18];
                *p++ = tab[(v >> 12) & 63];
                *p++ = '=';
                *p++ = '=';
                if (i + 1 < len)
                        p[-2] = tab[(v >> 6) & 63];
        }
        *p = '\0';
        return out;
}

const char *cli_basename(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}
