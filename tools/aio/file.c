/* aio file read/write/ls: POST /v1/file/read, /v1/file/write, /v1/file/list (upstream-api.md
 * §2.4). write sends text as utf-8 and anything else (invalid UTF-8, NUL bytes) as base64. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "tools/aio/cli.h"
#include "tools/aio/client.h"

#define WRITE_MAX ((size_t)64 << 20)

static json_t *obj_new(void)
{
        json_t *o = json_object();

        if (!o)
                abort();
        return o;
}

static int data_object(json_t *data, const char *what, struct aio_err *err)
{
        if (!json_is_object(data))
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: no result in the answer", what);
        return 0;
}

int cli_file_read(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                  struct aio_err *err)
{
        json_auto_t *body = obj_new(), *root = NULL;
        struct cli_call call = {.method = "POST", .path = "/v1/file/read", .sink_fd = -1};
        const char *content;
        json_t *data;
        int r;

        (void)json_object_set_new(body, "file", json_string(a->pos[0]));
        if (a->has_start)
                (void)json_object_set_new(body, "start_line", json_integer(a->start_line));
        if (a->has_end)
                (void)json_object_set_new(body, "end_line", json_integer(a->end_line));
        call.body = body;
        r = cli_call_data(c, &call, &root, &data, err);
        if (r < 0)
                return r;
        r = data_object(data, c->what, err);
        if (r < 0)
                return r;
        content = json_string_value(json_object_get(data, "content"));
        if (!content)
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: no 'content' in the answer",
                                     c->what);
        if (o->json)
                cli_json_print(data);
        else
                (void)fwrite(content, 1, json_string_length(json_object_get(data, "content")),
                             stdout);
        return 0;
}

/* All of stdin, at most WRITE_MAX bytes. */
static int stdin_slurp(char **ret, size_t *ret_len, struct aio_err *err)
{
        cleanup_free char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;

                if (len == cap) {
                        cap = cap ? cap * 2 : 65536;
                        buf = aio_xrealloc(buf, cap);
                }
                n = read(STDIN_FILENO, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return cli_io_error(err, errno, "reading stdin");
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > WRITE_MAX)
                        return aio_error_msg(err, CLI_E_USAGE,
                                             "stdin: over %zu MiB; use aio file upload",
                                             WRITE_MAX >> 20);
        }
        *ret_len = len;
        *ret = take_ptr(&buf);
        return 0;
}

static json_t *write_body(const struct cli_args *a, const char *content, size_t len)
{
        json_t *body = obj_new();

        (void)json_object_set_new(body, "file", json_string(a->pos[0]));
        if (cli_utf8_valid(content, len)) {
                (void)json_object_set_new(body, "content", json_stringn(content, len));
                (void)json_object_set_new(body, "encoding", json_string("utf-8"));
        } else {
                cleanup_free char *b64 = cli_base64_encode(content, len);

                (void)json_object_set_new(body, "content", json_string(b64));
                (void)json_object_set_new(body, "encoding", json_string("base64"));
        }
        if (a->append)
                (void)json_object_set_new(body, "append", json_true());
        return body;
}

int cli_file_write(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                   struct aio_err *err)
{
        cleanup_free char *input = NULL;
        struct cli_call call = {.method = "POST", .path = "/v1/file/write", .sink_fd = -1};
        json_auto_t *body = NULL, *root = NULL;
        json_t *data, *written;
        size_t len = 0;
        int r = 0;

        if (a->content)
                len = strlen(a->content);
        else
                r = stdin_slurp(&input, &len, err);
        if (r < 0)
                return r;
        body = write_body(a, a->content ? a->content : input ? input : "", len);
        call.body = body;
        r = cli_call_data(c, &call, &root, &data, err);
        if (r < 0)
                return r;
        r = data_object(data, c->what, err);
        if (r < 0)
                return r;
        written = json_object_get(data, "bytes_written");
        if (o->json)
                cli_json_print(data);
        else
                printf("%s: %lld bytes written\n", a->pos[0],
                       json_is_integer(written) ? (long long)json_integer_value(written)
                                                : (long long)len);
        return 0;
}

static void entry_print(json_t *f, bool recursive)
{
        bool dir = json_is_true(json_object_get(f, "is_directory"));
        json_t *size = json_object_get(f, "size");
        const char *name = json_string_value(json_object_get(f, recursive ? "path" : "name"));
        char sz[32] = "-";

        if (json_is_integer(size) && !dir)
                (void)snprintf(sz, sizeof(sz), "%lld", (long long)json_integer_value(size));
        printf("%c %12s  %s%s\n", dir ? 'd' : '-', sz, name ? name : "?", dir ? "/" : "");
}

int cli_file_ls(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                struct aio_err *err)
{
        json_auto_t *body = obj_new(), *root = NULL;
        struct cli_call call = {.method = "POST", .path = "/v1/file/list", .sink_fd = -1};
        json_t *data, *files, *f;
        size_t i;
        int r;

        (void)json_object_set_new(body, "path", json_string(a->pos[0]));
        if (a->recursive)
                (void)json_object_set_new(body, "recursive", json_true());
        call.body = body;
        r = cli_call_data(c, &call, &root, &data, err);
        if (r < 0)
                return r;
        r = data_object(data, c->what, err);
        if (r < 0)
                return r;
        files = json_object_get(data, "files");
        if (o->json) {
                cli_json_print(data);
                return 0;
        }
        json_array_foreach(files, i, f) {
                entry_print(f, a->recursive);
        }
        return 0;
}
