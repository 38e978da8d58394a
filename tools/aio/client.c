/* aio: HTTP through libcurl. One easy handle per run; every request names its URL in errors;
 * credentials go in headers only and are never printed; redirects are not followed, so they
 * never reach another host. */
#include "tools/aio/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/version.h"
#include "common/xalloc.h"

#include "tools/aio/cli.h"

#define BODY_MAX     ((size_t)1 << 30) /* a JSON answer; file read of a big file is the worst */
#define CONNECT_SECS 10.0

int cli_io_error(struct aio_err *err, int code, const char *what)
{
        (void)aio_error(err, code, "%s", what);
        err->code = EIO;
        return -EIO;
}

static struct curl_slist *header_add(struct curl_slist *list, const char *h)
{
        struct curl_slist *l = curl_slist_append(list, h);

        if (!l)
                abort();
        return l;
}

static struct curl_slist *secret_header(struct curl_slist *list, const char *name,
                                        const char *value)
{
        cleanup_free char *h = aio_xasprintf("%s: %s", name, value);
        struct curl_slist *l = header_add(list, h);

        explicit_bzero(h, strlen(h));
        return l;
}

static struct curl_slist *headers_base(const struct cli_opts *o)
{
        struct curl_slist *l = header_add(NULL, "Accept: application/json");

        l = header_add(l, "Expect:");
        if (o->api_key)
                l = secret_header(l, "X-AIO-API-Key", o->api_key);
        if (o->token) {
                cleanup_free char *bearer = aio_xasprintf("Bearer %s", o->token);

                l = secret_header(l, "Authorization", bearer);
                explicit_bzero(bearer, strlen(bearer));
        }
        return l;
}

int cli_client_init(struct cli_client *c, const struct cli_opts *o, struct aio_err *err)
{
        *c = (struct cli_client){.opts = o, .sink_fd = -1};
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return aio_error_msg(err, ENOMEM, "libcurl: global init failed");
        c->curl = curl_easy_init();
        if (!c->curl) {
                curl_global_cleanup();
                return aio_error_msg(err, ENOMEM, "libcurl: no handle");
        }
        c->headers = headers_base(o);
        return 0;
}

void cli_client_done(struct cli_client *c)
{
        curl_slist_free_all(c->headers);
        c->headers = NULL;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        c->curl = NULL;
        free(c->body);
        c->body = NULL;
        free(c->what);
        c->what = NULL;
        curl_global_cleanup();
}

static int body_append(struct cli_client *c, const char *p, size_t n)
{
        if (n > BODY_MAX - c->len)
                return -1;
        if (c->len + n + 1 > c->cap) {
                size_t cap = c->cap ? c->cap : 4096;

                while (cap < c->len + n + 1)
                        cap *= 2;
                c->body = aio_xrealloc(c->body, cap);
                c->cap = cap;
        }
        memcpy(c->body + c->len, p, n);
        c->len += n;
        c->body[c->len] = '\0';
        return 0;
}

static int sink_write(struct cli_client *c, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(c->sink_fd, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        c->sink_errno = w < 0 ? errno : EIO;
                        return -1;
                }
                p += w;
                n -= (size_t)w;
                c->sunk += (uint64_t)w;
        }
        return 0;
}

/* A 2xx body goes to the sink when there is one; anything else (an error envelope) is kept. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *data)
{
        struct cli_client *c = data;
        size_t n = size * nmemb;
        long status = 0;

        if (c->sink_fd >= 0 && !c->sinking && c->len == 0) {
                (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
                c->sinking = status >= 200 && status < 300;
        }
        if (c->sinking)
                return sink_write(c, p, n) < 0 ? 0 : n;
        return body_append(c, p, n) < 0 ? 0 : n;
}

static int on_xfer(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
        const struct cli_call *call = data;

        return call->xfer(call->xfer_data, dltotal, dlnow, ultotal, ulnow);
}

static void timeouts_set(CURL *h, const struct cli_opts *o, const struct cli_call *call)
{
        double t = o->timeout, connect = CONNECT_SECS;

        if (t > 0 && call->timeout > t)
                t = call->timeout;
        if (t > 0 && t < connect)
                connect = t;
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect * 1000));
        if (t <= 0)
                return;
        if (!call->stall_timeout) {
                (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(t * 1000));
                return;
        }
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, t < 1 ? 1L : (long)t);
}

static void body_set(CURL *h, const struct cli_call *call, char *json, struct curl_slist **headers)
{
        if (call->mime) {
                (void)curl_easy_setopt(h, CURLOPT_MIMEPOST, call->mime);
        } else if (json) {
                *headers = header_add(*headers, "Content-Type: application/json");
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
        }
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
        if (strcmp(call->method, "GET") == 0)
                (void)curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}

static void handle_setup(struct cli_client *c, const struct cli_call *call, const char *url)
{
        CURL *h = c->curl;

        curl_easy_reset(h);
        (void)curl_easy_setopt(h, CURLOPT_URL, url);
        (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "aio/" AIO_VERSION);
        (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        if (call->xfer) {
                (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
                (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
                (void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)call);
        }
        timeouts_set(h, c->opts, call);
        c->len = 0;
        c->sink_fd = call->sink_fd;
        c->sink_errno = 0;
        c->sinking = false;
        c->sunk = 0;
        c->errbuf[0] = '\0';
}

int cli_curl_error(int code, const char *detail, const char *what, struct aio_err *err)
{
        const char *d = detail && *detail ? detail : curl_easy_strerror((CURLcode)code);

        switch (code) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
                return aio_error_msg(err, CLI_E_CONNECT, "cannot reach %s: %s", what, d);
        case CURLE_OPERATION_TIMEDOUT:
                return aio_error_msg(err, CLI_E_TIMEOUT, "%s: timed out (%s; see --timeout)", what,
                                     d);
        case CURLE_ABORTED_BY_CALLBACK:
                return aio_error_msg(err, EINTR, "%s: interrupted", what);
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return aio_error_msg(err, CLI_E_USAGE, "%s: bad URL: %s", what, d);
        default:
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: %s", what, d);
        }
}

static void message_clean(char *s)
{
        for (unsigned char *p = (unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = ' ';
}

static char *loc_part(json_t *v)
{
        if (json_is_string(v))
                return aio_xstrdup(json_string_value(v));
        return aio_xasprintf("%lld", (long long)json_integer_value(v));
}

/* "body.file: Field required" from the first item of a 422's errors or detail. */
static char *validation_message(json_t *root)
{
        json_t *item = json_array_get(json_object_get(root, "errors"), 0), *v;
        json_t *loc = json_object_get(item, "location");
        const char *msg = json_string_value(json_object_get(item, "message"));
        char *out = aio_xstrdup("");
        size_t i;

        if (!item) {
                item = json_array_get(json_object_get(root, "detail"), 0);
                msg = json_string_value(json_object_get(item, "msg"));
                loc = json_object_get(item, "loc");
        }
        json_array_foreach(loc, i, v) {
                cleanup_free char *prev = out, *part = loc_part(v);

                out = aio_xasprintf("%s%s%s", prev, i ? "." : "", part);
        }
        if (msg) {
                cleanup_free char *prev = out;

                out = aio_xasprintf("%s%s%s", prev, *prev ? ": " : "", msg);
        }
        return out;
}

static char *server_message(long status, const char *body, size_t len)
{
        json_auto_t *root = json_loadb(body, len, 0, NULL);
        const char *msg = json_string_value(json_object_get(root, "message"));
        char *out;

        if (status == 422 && root) {
                cleanup_free char *v = validation_message(root);

                out = *v ? aio_xasprintf("%s (%s)", msg ? msg : "validation failed", v)
                         : aio_xstrdup(msg ? msg : "validation failed");
        } else if (msg) {
                out = aio_xstrdup(msg);
        } else if (!root && len > 0) {
                out = aio_xasprintf("%.*s", (int)(len > 200 ? 200 : len), body);
        } else {
                out = aio_xstrdup(json_string_value(json_object_get(root, "detail"))
                                          ? json_string_value(json_object_get(root, "detail"))
                                          : "no message");
        }
        message_clean(out);
        return out;
}

int cli_http_error(long status, const char *body, size_t len, const char *what, struct aio_err *err)
{
        cleanup_free char *msg = server_message(status, body, len);
        const char *hint = "";

        if (status == 401 || status == 403)
                return aio_error_msg(err, CLI_E_AUTH, "%s: HTTP %ld: %s (see --api-key, --token)",
                                     what, status, msg);
        if (status == 413)
                hint = " (too large for one request; aio file upload takes up to 64 MiB)";
        return aio_error_msg(err, CLI_E_API, "%s: HTTP %ld: %s%s", what, status, msg, hint);
}

static int answer_parse(struct cli_client *c, const char *what, json_t **ret_root,
                        struct aio_err *err)
{
        json_error_t jerr;
        json_t *root = json_loadb(c->body ? c->body : "", c->len, JSON_REJECT_DUPLICATES, &jerr);

        if (!root)
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: the answer is not JSON: %s", what,
                                     jerr.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: the answer is not a JSON object",
                                     what);
        }
        *ret_root = root;
        return 0;
}

static int perform(struct cli_client *c, const char *what, struct aio_err *err)
{
        CURLcode rc = curl_easy_perform(c->curl);

        if (rc == CURLE_WRITE_ERROR && c->sink_errno)
                return cli_io_error(err, c->sink_errno, "writing the download");
        if (rc == CURLE_WRITE_ERROR)
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: the answer is over %zu bytes", what,
                                     BODY_MAX);
        if (rc != CURLE_OK)
                return cli_curl_error(rc, c->errbuf, what, err);
        return 0;
}

int cli_call(struct cli_client *c, const struct cli_call *call, json_t **ret_root,
             struct aio_err *err)
{
        cleanup_free char *url = cli_url_build(c->opts->url, call->path, call->query);
        const char *what;
        cleanup_free char *json = call->body ? json_dumps(call->body, JSON_COMPACT) : NULL;
        struct curl_slist *headers = NULL;
        long status = 0;
        int r;

        free(c->what);
        c->what = aio_xasprintf("%s %s", call->method, url);
        what = c->what;
        if (call->body && !json)
                return aio_error_msg(err, CLI_E_USAGE, "%s: the request is not valid JSON", what);
        for (struct curl_slist *h = c->headers; h; h = h->next)
                headers = header_add(headers, h->data);
        handle_setup(c, call, url);
        body_set(c->curl, call, json, &headers);
        (void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
        if (c->opts->verbose)
                (void)fprintf(stderr, "aio: %s\n", what);
        r = perform(c, what, err);
        (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(headers);
        if (r < 0)
                return r;
        if (c->opts->verbose)
                (void)fprintf(stderr, "aio: HTTP %ld\n", status);
        if (status < 200 || status >= 300)
                return cli_http_error(status, c->body, c->len, what, err);
        *ret_root = NULL;
        if (call->sink_fd >= 0)
                return 0;
        return answer_parse(c, what, ret_root, err);
}

int cli_envelope_data(json_t *root, const char *what, json_t **ret_data, struct aio_err *err)
{
        json_t *success = json_object_get(root, "success");
        const char *msg = json_string_value(json_object_get(root, "message"));
        json_t *data = json_object_get(root, "data");

        if (!json_is_boolean(success))
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: the answer has no 'success'", what);
        if (!json_is_true(success)) {
                cleanup_free char *m = aio_xstrdup(msg ? msg : "failed (no message)");

                message_clean(m);
                return aio_error_msg(err, CLI_E_API, "%s: %s", what, m);
        }
        *ret_data = json_is_null(data) ? NULL : data;
        return 0;
}

int cli_call_data(struct cli_client *c, const struct cli_call *call, json_t **ret_root,
                  json_t **ret_data, struct aio_err *err)
{
        json_t *root = NULL;
        int r = cli_call(c, call, &root, err);

        if (r < 0)
                return r;
        r = cli_envelope_data(root, c->what, ret_data, err);
        if (r < 0) {
                json_decref(root);
                return r;
        }
        *ret_root = root;
        return 0;
}

void cli_json_print(json_t *v)
{
        cleanup_free char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

        if (s)
                printf("%s\n", s);
        else
                printf("null\n");
}
