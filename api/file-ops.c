/* /v1/file read, write, replace, search and the atomic write they share (upstream-api.md §2.4).
 *
 * sudo: aio-apid runs as the unprivileged user gem inside the jail and has no way to elevate
 * (no setuid binaries, no_new_privs). A request with sudo=true is served with gem's own rights;
 * when those are not enough it fails with permission_denied and says that sudo is unavailable. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/file-internal.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/validate.h"

#define ABSENT LLONG_MIN

int api_file_read_all(const char *path, size_t max, char **ret, size_t *ret_len,
                      struct aio_err *err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        cleanup_free char *buf = NULL;
        size_t len = 0, cap;
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return aio_error_msg(err, EINVAL, "'%s' is not a regular file", path);
        cap = st.st_size > 0 && (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : 4096;
        buf = aio_xmalloc(cap + 1);
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        if (cap > max)
                                return -EFBIG;
                        cap *= 2;
                        buf = aio_xrealloc(buf, cap + 1);
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max)
                return -EFBIG;
        buf[len] = '\0';
        *ret = take_ptr(&buf);
        *ret_len = len;
        return 0;
}

/* The process umask, read without changing it (umask(2) would race other threads). */
static mode_t umask_get(void)
{
        char buf[4096];
        struct aio_err err = {0};
        const char *p;

        if (aio_read_file(AT_FDCWD, "/proc/self/status", buf, sizeof(buf), &err) < 0 ||
            !(p = strstr(buf, "\nUmask:")))
                return 022;
        return (mode_t)strtoul(p + 7, NULL, 8) & 0777;
}

static int fsync_dir(const char *dir)
{
        cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Writes data to a new temporary file next to target and renames it over target. */
static int replace_via_temp(const char *target, mode_t mode, const void *data, size_t len,
                            struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(target), *copy2 = aio_xstrdup(target), *tmp = NULL;
        const char *dir = dirname(copy), *base = basename(copy2);
        cleanup_close int fd = -1;
        int r;

        tmp = aio_xasprintf("%s/.%.200s.aio-XXXXXX", dir, base);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r == 0)
                r = aio_write_full(fd, data, len, err);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && close(take_fd(&fd)) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, target) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        (void)fsync_dir(dir);
        return 0;
}

static int write_direct(const char *path, const void *data, size_t len, struct aio_err *err)
{
        cleanup_close int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return aio_write_full(fd, data, len, err);
}

static int parent_make(const char *path, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(path);
        const char *dir = dirname(copy);
        struct aio_err e = {0};
        int r = aio_mkdir_p(dir, 0755, &e);

        if (r < 0)
                return aio_error_msg(err, -r, "%s", e.msg);
        return 0;
}

int api_file_write_atomic(const char *path, const void *data, size_t len, bool mkdirs,
                          struct aio_err *err)
{
        cleanup_free char *real = NULL;
        const char *target = path;
        mode_t mode = 0666 & ~umask_get();
        struct stat st;
        int r;

        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && (real = realpath(path, NULL)))
                target = real;
        if (stat(target, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode)) /* a device or a FIFO: no rename over those */
                        return write_direct(target, data, len, err);
                mode = st.st_mode & 07777;
        } else if (mkdirs) {
                r = parent_make(target, err);
                if (r < 0)
                        return r;
        }
        return replace_via_temp(target, mode, data, len, err);
}

static int append_to(const char *path, const void *data, size_t len, struct aio_err *err)
{
        cleanup_close int fd = -1;
        int r = parent_make(path, err);

        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
        if (fd < 0)
                return -errno;
        return aio_write_full(fd, data, len, err);
}

/* An I/O failure as a FileOperationError; sudo adds why it did not help. */
static int fail_io(struct api_resp *resp, const char *op, const char *path, int r, bool sudo,
                   const struct aio_err *err)
{
        char detail[PATH_MAX + 128];

        r = -r;
        if (r == EFBIG)
                (void)snprintf(detail, sizeof(detail),
                               "'%s' is larger than %u bytes: use /v1/file/download", path,
                               API_FILE_READ_MAX);
        else if (err->code == r && err->msg[0])
                (void)snprintf(detail, sizeof(detail), "%s", err->msg);
        else
                (void)snprintf(detail, sizeof(detail), "[Errno %d] %s: '%s'", r, strerror(r), path);
        if (sudo && (r == EACCES || r == EPERM)) {
                size_t n = strlen(detail);

                (void)snprintf(detail + n, sizeof(detail) - n,
                               " (sudo is not available: "
                               "aio-apid runs unprivileged)");
        }
        api_file_fail(resp, op, path, r, NULL, detail);
        return 0;
}

static void fail_decode(struct api_resp *resp, const char *op, const char *path)
{
        api_file_fail(resp, op, path, 0, "UnicodeDecodeError",
                      "'utf-8' codec can't decode the file: it is not UTF-8 text (read it with "
                      "encoding \"base64\" or /v1/file/download)");
}

struct read_args {
        const char *file, *encoding;
        long long start, end;
        bool sudo;
};

/* clang-format off */
static const struct api_field read_fields[] = {
        { "file",       API_T_STRING, true,  false, offsetof(struct read_args, file),     0, NULL, NULL },
        { "start_line", API_T_INT,    false, true,  offsetof(struct read_args, start),    0, NULL, NULL },
        { "end_line",   API_T_INT,    false, true,  offsetof(struct read_args, end),      0, NULL, NULL },
        { "sudo",       API_T_BOOL,   false, true,  offsetof(struct read_args, sudo),     0, NULL, NULL },
        /* aio's addition: "base64" reads any bytes */
        { "encoding",   API_T_STRING, false, true,  offsetof(struct read_args, encoding), 0, NULL, NULL },
};
/* clang-format on */

static const char *const read_encodings[] = {"utf-8", "base64", NULL};

/* The content is escaped straight from the file's bytes into the body (already checked as UTF-8,
 * or base64): it is never copied into a json_t. */
static void read_reply(struct api_resp *resp, const char *path, const char *buf, size_t len,
                       bool b64)
{
        cleanup_free char *enc = NULL;
        json_t *rest;
        size_t n = len;

        rest = json_pack("{s:o}", "file", api_json_text(path, strlen(path)));
        if (!rest)
                abort();
        if (b64) {
                enc = api_base64_encode(buf, len, &n);
                buf = enc;
                (void)json_object_set_new(rest, "encoding", json_string("base64"));
        }
        api_reply_ok_text(resp, "File read successfully", "content", buf, n, rest);
}

int api_file_read(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct read_args a = {.start = ABSENT, .end = ABSENT, .encoding = "utf-8"};
        cleanup_free char *path = NULL, *buf = NULL, *slice = NULL;
        json_t *detail = api_detail_new();
        size_t len, slen;
        bool b64;
        int r;

        if (api_fields_unpack(req->body, read_fields, ELEMENTSOF(read_fields), &a, sizeof(a),
                              detail) == 0)
                api_file_check_enum(detail, "encoding", a.encoding, read_encodings);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "read", a.file, &path) < 0)
                return 0;
        r = api_file_read_all(path, API_FILE_READ_MAX, &buf, &len, err);
        if (r < 0)
                return fail_io(resp, "read", path, r, a.sudo, err);
        b64 = strcmp(a.encoding, "base64") == 0;
        if (!b64 && !api_utf8_valid(buf, len)) {
                fail_decode(resp, "read", path);
                return 0;
        }
        if (a.start != ABSENT || a.end != ABSENT) {
                slice = api_lines_slice(buf, len, a.start != ABSENT, a.start, a.end != ABSENT,
                                        a.end, &slen);
                read_reply(resp, path, slice, slen, b64);
        } else {
                read_reply(resp, path, buf, len, b64);
        }
        return 0;
}

struct write_args {
        const char *file, *content, *encoding;
        bool append, leading, trailing, sudo;
};

/* clang-format off */
static const struct api_field write_fields[] = {
        { "file",             API_T_STRING, true,  false, offsetof(struct write_args, file),     0, NULL, NULL },
        { "content",          API_T_STRING, true,  false, offsetof(struct write_args, content),  0, NULL, NULL },
        { "encoding",         API_T_STRING, false, true,  offsetof(struct write_args, encoding), 0, NULL, NULL },
        { "append",           API_T_BOOL,   false, true,  offsetof(struct write_args, append),   0, NULL, NULL },
        { "leading_newline",  API_T_BOOL,   false, true,  offsetof(struct write_args, leading),  0, NULL, NULL },
        { "trailing_newline", API_T_BOOL,   false, true,  offsetof(struct write_args, trailing), 0, NULL, NULL },
        { "sudo",             API_T_BOOL,   false, true,  offsetof(struct write_args, sudo),     0, NULL, NULL },
};
/* clang-format on */

static const char *const write_encodings[] = {"utf-8", "base64", "raw", NULL};

/* "raw": each character is one byte (latin-1), as upstream encodes it. */
static int latin1_bytes(const char *s, char **ret, size_t *ret_len)
{
        const unsigned char *p = (const unsigned char *)s;
        char *out = aio_xmalloc(strlen(s) + 1);
        size_t w = 0;

        while (*p) {
                if (*p < 0x80) {
                        out[w++] = (char)*p++;
                } else if ((*p == 0xc2 || *p == 0xc3) && (p[1] & 0xc0) == 0x80) {
                        out[w++] = (char)(((p[0] & 0x03) << 6) | (p[1] & 0x3f));
                        p += 2;
                } else {
                        free(out);
                        return -EINVAL;
                }
        }
        *ret = out;
        *ret_len = w;
        return 0;
}

/* The bytes a write request stands for, or a 400 answered. */
static int write_bytes(const struct write_args *a, struct api_resp *resp, char **ret,
                       size_t *ret_len)
{
        if (strcmp(a->encoding, "base64") == 0) {
                if (api_base64_decode(a->content, strlen(a->content), ret, ret_len) < 0) {
                        api_reply_error(resp, 400, "Invalid base64 content: not valid base64");
                        return -EINVAL;
                }
        } else if (strcmp(a->encoding, "raw") == 0) {
                if (latin1_bytes(a->content, ret, ret_len) < 0) {
                        api_reply_error(resp, 400,
                                        "Invalid raw content: characters above "
                                        "U+00FF cannot be written as bytes");
                        return -EINVAL;
                }
        } else {
                *ret = aio_xasprintf("%s%s%s", a->leading ? "\n" : "", a->content,
                                     a->trailing ? "\n" : "");
                *ret_len = strlen(*ret);
        }
        return 0;
}

int api_file_write(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct write_args a = {.encoding = "utf-8"};
        cleanup_free char *path = NULL, *bytes = NULL;
        json_t *detail = api_detail_new(), *data;
        size_t len;
        int r;

        if (api_fields_unpack(req->body, write_fields, ELEMENTSOF(write_fields), &a, sizeof(a),
                              detail) == 0)
                api_file_check_enum(detail, "encoding", a.encoding, write_encodings);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "write", a.file, &path) < 0 ||
            write_bytes(&a, resp, &bytes, &len) < 0)
                return 0;
        if (a.append)
                r = append_to(path, bytes, len, err);
        else
                r = api_file_write_atomic(path, bytes, len, true, err);
        if (r < 0)
                return fail_io(resp, "write", path, r, a.sudo, err);
        data = json_pack("{s:o, s:I}", "file", api_json_text(path, strlen(path)), "bytes_written",
                         (json_int_t)len);
        if (!data)
                abort();
        api_reply_ok(resp, "File written successfully", data);
        return 0;
}

struct replace_args {
        const char *file, *old_str, *new_str;
        bool sudo;
};

/* clang-format off */
static const struct api_field replace_fields[] = {
        { "file",    API_T_STRING, true,  false, offsetof(struct replace_args, file),    0, NULL, NULL },
        { "old_str", API_T_STRING, true,  false, offsetof(struct replace_args, old_str), 0, NULL, NULL },
        { "new_str", API_T_STRING, true,  false, offsetof(struct replace_args, new_str), 0, NULL, NULL },
        { "sudo",    API_T_BOOL,   false, true,  offsetof(struct replace_args, sudo),    0, NULL, NULL },
};
/* clang-format on */

static void replace_reply(struct api_resp *resp, const char *path, size_t n)
{
        char msg[96];
        json_t *data = json_pack("{s:o, s:I}", "file", api_json_text(path, strlen(path)),
                                 "replaced_count", (json_int_t)n);

        if (!data)
                abort();
        (void)snprintf(msg, sizeof(msg), "Replacement completed, replaced %zu occurrences", n);
        api_reply_ok(resp, msg, data);
}

int api_file_replace(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct replace_args a = {0};
        cleanup_free char *path = NULL, *buf = NULL, *out = NULL;
        json_t *detail = api_detail_new();
        struct api_replace rq;
        size_t len = 0, olen = 0;
        int r;

        (void)api_fields_unpack(req->body, replace_fields, ELEMENTSOF(replace_fields), &a,
                                sizeof(a), detail);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "replace", a.file, &path) < 0)
                return 0;
        if (!*a.old_str) {
                api_reply_error(resp, 400, "old_str must not be empty");
                return 0;
        }
        r = api_file_read_all(path, API_FILE_READ_MAX, &buf, &len, err);
        if (r < 0)
                return fail_io(resp, "replace", path, r, a.sudo, err);
        if (!api_utf8_valid(buf, len)) {
                fail_decode(resp, "replace", path);
                return 0;
        }
        rq = (struct api_replace){buf,
                                  a.old_str,
                                  a.new_str,
                                  len,
                                  strlen(a.old_str),
                                  strlen(a.new_str),
                                  API_REPLACE_ALL};
        r = api_str_replace(&rq, &out, &olen, err);
        if (r == -ENOENT) {
                replace_reply(resp, path, 0);
                return 0;
        }
        r = api_file_write_atomic(path, out, olen, false, err);
        if (r < 0)
                return fail_io(resp, "replace", path, r, a.sudo, err);
        replace_reply(resp, path, api_str_count(buf, len, a.old_str, strlen(a.old_str)));
        return 0;
}
