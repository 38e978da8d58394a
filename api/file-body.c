/* /v1/file: request bodies (list fields, enums, ranges, multipart) and upstream's
 * FileOperationError answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/file-internal.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/validate.h"

static void detail_add(json_t *detail, json_t *loc, const json_t *input, const char *msg,
                       const char *type)
{
        api_detail_add(detail, loc, msg, type);
        if (input)
                (void)json_object_set(json_array_get(detail, json_array_size(detail) - 1), "input",
                                      (json_t *)input);
}

static json_t *loc2(const char *name)
{
        json_t *loc = json_pack("[s, s]", "body", name);

        if (!loc)
                abort();
        return loc;
}

static void check_list(const json_t *body, const struct api_file_list *l, void *dst, json_t *detail)
{
        const json_t *v = json_object_get(body, l->name), *item;
        size_t i;

        if (!v || json_is_null(v)) {
                if (!v && l->required)
                        detail_add(detail, loc2(l->name), body, "Field required", "missing");
                return;
        }
        if (!json_is_array(v)) {
                detail_add(detail, loc2(l->name), v, "Input should be a valid list", "list_type");
                return;
        }
        json_array_foreach(v, i, item) {
                bool ok = l->ints ? json_is_integer(item) : json_is_string(item);

                if (!ok) {
                        json_t *loc = json_pack("[s, s, I]", "body", l->name, (json_int_t)i);

                        if (!loc)
                                abort();
                        detail_add(detail, loc, item,
                                   l->ints ? "Input should be a valid integer"
                                           : "Input should be a valid string",
                                   l->ints ? "int_type" : "string_type");
                }
        }
        *(const json_t **)(void *)((char *)dst + l->offset) = v;
}

int api_file_unpack(const json_t *body, const struct api_file_body *spec, void *dst, size_t size,
                    json_t *detail)
{
        const struct api_field *fields = spec->fields;
        const struct api_file_list *lists = spec->lists;
        size_t n_fields = spec->n_fields, n_lists = spec->n_lists;
        size_t before = json_array_size(detail);
        json_t *rest;
        int r;

        if (!body || n_lists == 0)
                return api_fields_unpack(body, fields, n_fields, dst, size, detail);
        rest = json_copy((json_t *)body);
        if (!rest)
                abort();
        for (size_t i = 0; i < n_lists; i++) {
                check_list(body, &lists[i], dst, detail);
                (void)json_object_del(rest, lists[i].name);
        }
        r = api_fields_unpack(rest, fields, n_fields, dst, size, detail);
        json_decref(rest);
        return r < 0 || json_array_size(detail) != before ? -EINVAL : 0;
}

void api_file_check_enum(json_t *detail, const char *name, const char *v,
                         const char *const *allowed)
{
        char msg[256] = "Input should be ";
        size_t n = 0;
        json_t *in;

        if (!v)
                return;
        for (; allowed[n]; n++)
                if (strcmp(v, allowed[n]) == 0)
                        return;
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(msg);

                (void)snprintf(msg + len, sizeof(msg) - len, "%s'%s'",
                               i == 0 ? "" : (i + 1 == n ? " or " : ", "), allowed[i]);
        }
        in = json_string(v);
        detail_add(detail, loc2(name), in, msg, "enum");
        json_decref(in);
}

void api_file_check_range(json_t *detail, const char *name, long long v, long long min,
                          long long max)
{
        char msg[96];
        json_t *in;

        if (v >= min && v <= max)
                return;
        if (v < min)
                (void)snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld",
                               min);
        else
                (void)snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld", max);
        in = json_integer(v);
        detail_add(detail, loc2(name), in, msg, v < min ? "greater_than_equal" : "less_than_equal");
        json_decref(in);
}

static const char *error_type(int errnum, const char *exception_type)
{
        switch (errnum) {
        case EACCES:
        case EPERM:
                return "permission_denied";
        case ENOENT:
                return "not_found";
        case EEXIST:
                return "already_exists";
        case EISDIR:
        case ENOTDIR:
                return "invalid_target";
        case ENAMETOOLONG:
                return "invalid_path";
        case EROFS:
                return "read_only_filesystem";
        case ENOSPC:
                return "no_space_left";
        default:
                break;
        }
        if (exception_type && strcmp(exception_type, "UnicodeDecodeError") == 0)
                return "decode_error";
        if (exception_type && strcmp(exception_type, "ValueError") == 0)
                return "invalid_path";
        return "io_error";
}

static const char *exception_for(int errnum)
{
        switch (errnum) {
        case ENOENT:
                return "FileNotFoundError";
        case EEXIST:
                return "FileExistsError";
        case EISDIR:
                return "IsADirectoryError";
        case ENOTDIR:
                return "NotADirectoryError";
        case EACCES:
        case EPERM:
                return "PermissionError";
        default:
                return "OSError";
        }
}

/* Upstream's _file_error_message() prefixes. */
static const char *op_prefix(const char *op, int errnum)
{
        static const char *const rows[][2] = {
                {"read", "Failed to read file: "},
                {"replace", "Failed to replace in file: "},
                {"search", "Failed to search file: "},
                {"find", "Failed to find files: "},
                {"list", "Failed to list path: "},
                {"grep", "Failed to grep path: "},
                {"glob", "Failed to glob path: "},
                {"upload", "Failed to upload file: "},
                {"str_replace_editor", "[str_replace_editor] error: "},
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (strcmp(op, rows[i][0]) == 0)
                        return rows[i][1];
        return errnum == EACCES || errnum == EPERM ? "Permission denied: "
                                                   : "Failed to write file: ";
}

void api_file_fail(struct api_resp *resp, const char *op, const char *path, int errnum,
                   const char *exception_type, const char *detail)
{
        cleanup_free char *msg = aio_xasprintf("%s%s", op_prefix(op, errnum), detail);
        const char *name = errnum ? strerrorname_np(errnum) : NULL;
        json_t *data;

        if (errnum && !exception_type)
                exception_type = exception_for(errnum);
        data = json_pack("{s:o, s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "path",
                         api_json_text(path, strlen(path)), "operation", op, "message", msg,
                         "error_type", error_type(errnum, exception_type), "retryable", 0, "errno",
                         errnum ? json_integer(errnum) : json_null(), "errno_name",
                         name ? json_string(name) : json_null(), "exception_type",
                         exception_type ? json_string(exception_type) : json_null());
        if (!data)
                abort();
        api_reply_json(resp, 200, api_envelope(false, msg, data));
}

void api_file_fail_errno(struct api_resp *resp, const char *op, const char *path, int errnum)
{
        cleanup_free char *detail = NULL;

        if (errnum < 0)
                errnum = -errnum;
        detail = aio_xasprintf("[Errno %d] %s: '%s'", errnum, strerror(errnum), path);
        api_file_fail(resp, op, path, errnum, NULL, detail);
}

int api_file_path(struct api_resp *resp, const char *op, const char *in, char **ret)
{
        struct aio_err err = {0};
        int r = api_path_normalize(in, strlen(in), api_file_home(), ret, &err);

        if (r < 0) {
                api_file_fail(resp, op, in, r == -ENAMETOOLONG ? ENAMETOOLONG : 0,
                              r == -ENAMETOOLONG ? NULL : "ValueError", err.msg);
                return -EINVAL;
        }
        return 0;
}

const char **api_file_strv(const json_t *list)
{
        size_t n = json_array_size(list);
        const char **v = aio_xcalloc(n + 1, sizeof(*v));

        for (size_t i = 0; i < n; i++)
                v[i] = json_string_value(json_array_get(list, i));
        return v;
}

/* --- multipart/form-data ------------------------------------------------------------------ */

/* The value of parameter key in a header value ("form-data; name=\"x\""), malloc'ed. */
static char *header_param(const char *h, size_t n, const char *key)
{
        size_t klen = strlen(key);

        for (size_t i = 0; i + klen + 1 < n; i++) {
                const char *v;
                size_t len;

                if ((i > 0 && h[i - 1] != ';' && h[i - 1] != ' ' && h[i - 1] != '\t') ||
                    strncasecmp(h + i, key, klen) != 0 || h[i + klen] != '=')
                        continue;
                v = h + i + klen + 1;
                if (*v == '"') {
                        const char *e = memchr(v + 1, '"', (size_t)(h + n - v - 1));

                        if (!e)
                                return NULL;
                        return strndup(v + 1, (size_t)(e - v - 1));
                }
                len = strcspn(v, "; \t\r\n");
                if (v + len > h + n)
                        len = (size_t)(h + n - v);
                return strndup(v, len);
        }
        return NULL;
}

/* Parses one part's headers [h, e); fills name and filename. */
static int part_headers(const char *h, const char *e, struct api_part *p)
{
        while (h < e) {
                const char *eol = memmem(h, (size_t)(e - h), "\r\n", 2);
                size_t n = eol ? (size_t)(eol - h) : (size_t)(e - h);

                if (n > 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
                        free((char *)p->name);
                        free((char *)p->filename);
                        p->name = header_param(h, n, "name");
                        p->filename = header_param(h, n, "filename");
                }
                h += n + 2;
        }
        return p->name ? 0 : -EINVAL;
}

int api_multipart_parse(const char *content_type, const char *body, size_t len,
                        struct api_part *parts, size_t max, struct aio_err *err)
{
        cleanup_free char *b = NULL, *delim = NULL;
        const char *p, *end = body + len;
        size_t n = 0, dlen;

        if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0)
                return aio_error_msg(err, EINVAL, "expected a multipart/form-data body");
        b = header_param(content_type, strlen(content_type), "boundary");
        if (!b || !*b || strlen(b) > 200)
                return aio_error_msg(err, EINVAL, "multipart/form-data without a boundary");
        delim = aio_xasprintf("\r\n--%s", b);
        dlen = strlen(delim);
        /* the first delimiter may start the body without the CRLF */
        if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
                p = body + dlen - 2;
        else if ((p = memmem(body, len, delim, dlen)))
                p += dlen;
        else
                return aio_error_msg(err, EINVAL, "multipart body without its boundary");
        while (n < max && end - p >= 2 && memcmp(p, "\r\n", 2) == 0) {
                const char *hend = memmem(p + 2, (size_t)(end - p - 2), "\r\n\r\n", 4), *next;

                if (!hend)
                        break;
                next = memmem(hend + 4, (size_t)(end - hend - 4), delim, dlen);
                if (!next)
                        break;
                memset(&parts[n], 0, sizeof(parts[n]));
                if (part_headers(p + 2, hend + 2, &parts[n]) < 0) {
                        api_parts_free(parts, n + 1);
                        return aio_error_msg(err, EINVAL, "multipart part without a name");
                }
                parts[n].data = hend + 4;
                parts[n].len = (size_t)(next - hend - 4);
                n++;
                p = next + dlen;
        }
        if (end - p < 2 || memcmp(p, "--", 2) != 0) {
                api_parts_free(parts, n);
                return aio_error_msg(err, EINVAL, "multipart body is truncated or malformed");
        }
        return (int)n;
}

void api_parts_free(struct api_part *parts, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free((char *)parts[i].name);
                free((char *)parts[i].filename);
                parts[i].name = parts[i].filename = NULL;
        }
}
