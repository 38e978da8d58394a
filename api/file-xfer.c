/* /v1/file upload (multipart/form-data, written atomically) and download (sendfile, with Range
 * requests and upstream's change_policy). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/file-internal.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/request.h"

#define MAX_PARTS 8

static void upload_422(struct api_resp *resp, const char *field, const char *msg, const char *type)
{
        json_t *detail = api_detail_new(), *loc = json_pack("[s, s]", "body", field);

        if (!detail || !loc)
                abort();
        api_detail_add(detail, loc, msg, type);
        api_reply_422(resp, detail);
}

/* The target of an upload: path if given (a directory, or a name ending in '/', gets the
 * file's own name appended), else /tmp/<filename> as upstream does. */
static char *upload_target(const char *path, const char *filename)
{
        const char *base = filename ? strrchr(filename, '/') : NULL;
        struct stat st;

        base = base ? base + 1 : filename;
        if (!base || !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                base = "upload";
        if (!path || !*path)
                return aio_xasprintf("/tmp/%s", base);
        if (path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
                return aio_xasprintf("%s/%s", path, base);
        return aio_xstrdup(path);
}

static int upload_write(struct api_resp *resp, const char *given, const struct api_part *file,
                        struct aio_err *err)
{
        cleanup_free char *target = upload_target(given, file->filename), *path = NULL;
        json_t *data;
        int r;

        if (api_file_path(resp, "upload", target, &path) < 0)
                return 0;
        r = api_file_write_atomic(path, file->data, file->len, true, err);
        if (r < 0) {
                api_file_fail_errno(resp, "upload", path, r);
                return 0;
        }
        data = json_pack("{s:o, s:I, s:b}", "file_path", api_json_text(path, strlen(path)),
                         "file_size", (json_int_t)file->len, "success", 1);
        if (!data)
                abort();
        api_reply_ok(resp, "File uploaded successfully", data);
        return 0;
}

static const struct api_part *part_find(const struct api_part *parts, int n, const char *name)
{
        for (int i = 0; i < n; i++)
                if (strcmp(parts[i].name, name) == 0)
                        return &parts[i];
        return NULL;
}

int api_file_upload(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct api_part parts[MAX_PARTS];
        const struct api_part *file, *path;
        cleanup_free char *given = NULL;
        int n, r = 0;

        n = api_multipart_parse(req->raw->content_type, req->raw->body, req->raw->body_len, parts,
                                MAX_PARTS, err);
        if (n < 0) {
                upload_422(resp, "file", err->msg, "missing");
                return 0;
        }
        file = part_find(parts, n, "file");
        path = part_find(parts, n, "path");
        if (path)
                given = strndup(path->data, path->len);
        if (!file)
                upload_422(resp, "file", "Field required", "missing");
        else if (path && (!given || strlen(given) != path->len))
                api_file_fail(resp, "upload", "", 0, "ValueError",
                              "path must not contain a NUL byte");
        else
                r = upload_write(resp, given, file, err);
        api_parts_free(parts, (size_t)n);
        return r;
}

static const char *const policies[] = {"ignore", "abort", NULL};

static void download_422(struct api_resp *resp, const char *field, const char *msg,
                         const char *type)
{
        json_t *detail = api_detail_new(), *loc = json_pack("[s, s]", "query", field);

        if (!detail || !loc)
                abort();
        api_detail_add(detail, loc, msg, type);
        api_reply_422(resp, detail);
}

/* Content-Disposition as Starlette's FileResponse writes it. */
static void disposition(struct api_resp *resp, const char *path)
{
        const char *name = strrchr(path, '/');
        char buf[400], *w = buf;
        bool plain = true;

        name = name ? name + 1 : path;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr("-._~", *p)))
                        plain = false;
        if (plain && strlen(name) < 200) {
                (void)snprintf(buf, sizeof(buf), "attachment; filename=\"%s\"", name);
        } else {
                w += snprintf(buf, sizeof(buf), "attachment; filename*=utf-8''");
                for (const unsigned char *p = (const unsigned char *)name;
                     *p && w < buf + sizeof(buf) - 4; p++)
                        w += strchr("-._~", *p) || (*p >= 'a' && *p <= 'z') ||
                                             (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                                     ? snprintf(w, 2, "%c", *p)
                                     : snprintf(w, 4, "%%%02X", *p);
        }
        api_resp_header(resp, "Content-Disposition", buf);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void changed_409(struct api_resp *resp, const char *path)
{
        json_t *data = json_pack("{s:o, s:s, s:s}", "path", api_json_text(path, strlen(path)),
                                 "change_policy", "abort", "phase", "before_start");

        if (!data)
                abort();
        api_reply_json(resp, 409,
                       api_envelope(false, "File changed before download started", data));
}

/* Opens path for download; answers 404/400/403 itself (returns -1 then). */
static int download_open(struct api_resp *resp, const char *path, struct stat *st)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        char msg[PATH_MAX + 64];
        int e = errno;

        if (fd >= 0 && fstat(fd, st) == 0 && S_ISREG(st->st_mode))
                return fd;
        if (fd >= 0) {
                e = EISDIR;
                (void)close(fd);
        }
        if (e == ENOENT)
                (void)snprintf(msg, sizeof(msg), "File does not exist: %s", path);
        else if (e == EISDIR || e == ENOTDIR)
                (void)snprintf(msg, sizeof(msg), "Path is not a file: %s", path);
        else
                (void)snprintf(msg, sizeof(msg), "Failed to open file for download: %s: %s", path,
                               strerror(e));
        api_reply_error(resp,
                        e == ENOENT                     ? 404
                        : (e == EISDIR || e == ENOTDIR) ? 400
                                                        : api_errno_status(e),
                        msg);
        return -1;
}

int api_file_download(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        const char *given = api_query_get(req, "path"),
                   *policy = api_query_get(req, "change_policy");
        cleanup_free char *path = NULL;
        cleanup_close int fd = -1;
        uint64_t off = 0, len;
        struct stat st, now;
        char range[96];
        int r;

        (void)err;
        if (!given) {
                download_422(resp, "path", "Field required", "missing");
                return 0;
        }
        if (policy && strcmp(policy, policies[0]) != 0 && strcmp(policy, policies[1]) != 0) {
                download_422(resp, "change_policy", "Input should be 'ignore' or 'abort'", "enum");
                return 0;
        }
        if (api_file_path(resp, "download", given, &path) < 0)
                return 0;
        fd = download_open(resp, path, &st);
        if (fd < 0)
                return 0;
        if (policy && strcmp(policy, "abort") == 0 &&
            (stat(path, &now) < 0 || !same_file(&st, &now))) {
                changed_409(resp, path);
                return 0;
        }
        len = (uint64_t)st.st_size;
        r = api_range_parse(api_header_get(req, "Range"), (uint64_t)st.st_size, &off, &len);
        if (r < 0) {
                (void)snprintf(range, sizeof(range), "bytes */%" PRIu64, (uint64_t)st.st_size);
                api_resp_header(resp, "Content-Range", range);
                api_reply_error(resp, 416, "Range Not Satisfiable");
                return 0;
        }
        disposition(resp, path);
        api_resp_header(resp, "Accept-Ranges", "bytes");
        if (r > 0) {
                (void)snprintf(range, sizeof(range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
                               off + len - 1, (uint64_t)st.st_size);
                api_resp_header(resp, "Content-Range", range);
        }
        api_resp_file(resp, r > 0 ? 206 : 200, "application/octet-stream", take_fd(&fd), off, len);
        return 0;
}
