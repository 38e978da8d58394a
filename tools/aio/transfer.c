/* aio file upload/download: POST /v1/file/upload (multipart: file, path) and GET
 * /v1/file/download?path= (upstream-api.md §2.4). Both stream: the upload reads the local file
 * as libcurl sends it, the download writes a temporary file beside LOCAL and renames it over
 * LOCAL only when the whole body arrived, so an error or Ctrl-C leaves nothing behind. On a
 * terminal, stderr shows progress for files of 1 MiB and more. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "tools/aio/cli.h"
#include "tools/aio/client.h"

#define PROGRESS_MIN   ((int64_t)1 << 20)
#define PROGRESS_EVERY 0.2

/* Set by SIGINT/SIGTERM/SIGHUP during a transfer: the progress callback aborts it so the
 * temporary file can be removed. A signal handler can only reach file-scope state. */
static volatile sig_atomic_t interrupted;

struct progress {
        const char *label;
        bool tty, drawn;
        double last;
};

static void on_signal(int sig)
{
        interrupted = sig;
}

static void signals_set(void (*handler)(int))
{
        struct sigaction sa = {.sa_handler = handler};

        (void)sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGINT, &sa, NULL);
        (void)sigaction(SIGTERM, &sa, NULL);
        (void)sigaction(SIGHUP, &sa, NULL);
}

static double now(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_progress(void *data, int64_t dltotal, int64_t dlnow, int64_t ultotal, int64_t ulnow)
{
        struct progress *p = data;
        int64_t total = ultotal > 0 ? ultotal : dltotal, done = ultotal > 0 ? ulnow : dlnow;
        double t;

        if (interrupted)
                return 1;
        if (!p->tty || (total < PROGRESS_MIN && done < PROGRESS_MIN))
                return 0;
        t = now();
        if (t - p->last < PROGRESS_EVERY)
                return 0;
        p->last = t;
        p->drawn = true;
        if (total > 0)
                (void)fprintf(stderr, "\r%s: %5.1f%%  %.1f / %.1f MiB", p->label,
                              100.0 * (double)done / (double)total, (double)done / 1048576.0,
                              (double)total / 1048576.0);
        else
                (void)fprintf(stderr, "\r%s: %.1f MiB", p->label, (double)done / 1048576.0);
        return 0;
}

static void progress_end(struct progress *p)
{
        if (p->drawn)
                (void)fputs("\r\033[K", stderr);
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *data)
{
        const int *fd = data;
        ssize_t n;

        do
                n = read(*fd, buf, size * nitems);
        while (n < 0 && errno == EINTR);
        return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

static int on_seek(void *data, curl_off_t offset, int origin)
{
        const int *fd = data;

        return lseek(*fd, (off_t)offset, origin) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static int local_open(const char *path, int *ret_fd, off_t *ret_size, struct aio_err *err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return cli_io_error(err, errno, path);
        if (!S_ISREG(st.st_mode))
                return cli_io_error(err, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, path);
        *ret_size = st.st_size;
        *ret_fd = take_fd(&fd);
        return 0;
}

static curl_mime *upload_mime(void *curl, const char *local, const char *remote, off_t size,
                              int *fd)
{
        curl_mime *mime = curl_mime_init(curl);
        curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;

        if (!part)
                abort();
        (void)curl_mime_name(part, "file");
        (void)curl_mime_filename(part, cli_basename(local));
        (void)curl_mime_type(part, "application/octet-stream");
        (void)curl_mime_data_cb(part, (curl_off_t)size, on_read, on_seek, NULL, fd);
        part = curl_mime_addpart(mime);
        if (!part)
                abort();
        (void)curl_mime_name(part, "path");
        (void)curl_mime_data(part, remote, CURL_ZERO_TERMINATED);
        return mime;
}

static int upload_check(json_t *data, off_t size, const char *what, struct aio_err *err)
{
        json_t *got = json_object_get(data, "file_size");

        if (!json_is_object(data) || !json_is_integer(got))
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: no 'file_size' in the answer", what);
        if (json_integer_value(got) != (json_int_t)size)
                return aio_error_msg(err, CLI_E_API,
                                     "%s: sent %lld bytes but the server stored %lld", what,
                                     (long long)size, (long long)json_integer_value(got));
        return 0;
}

static int upload_send(struct cli_client *c, const struct cli_args *a, int *fd, off_t size,
                       json_t **ret_root, json_t **ret_data, struct aio_err *err)
{
        struct progress p = {.label = a->pos[0], .tty = isatty(STDERR_FILENO)};
        struct cli_call call = {
                .method = "POST",
                .path = "/v1/file/upload",
                .stall_timeout = true,
                .sink_fd = -1,
                .xfer = on_progress,
                .xfer_data = &p,
        };
        int r;

        call.mime = upload_mime(c->curl, a->pos[0], a->pos[1], size, fd);
        signals_set(on_signal);
        r = cli_call_data(c, &call, ret_root, ret_data, err);
        signals_set(SIG_DFL);
        progress_end(&p);
        (void)curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, NULL);
        curl_mime_free(call.mime);
        return r;
}

int cli_file_upload(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                    struct aio_err *err)
{
        cleanup_close int fd = -1;
        json_auto_t *root = NULL;
        json_t *data = NULL;
        off_t size = 0;
        int r = local_open(a->pos[0], &fd, &size, err);

        if (r < 0)
                return r;
        r = upload_send(c, a, &fd, size, &root, &data, err);
        if (r < 0)
                return r;
        r = upload_check(data, size, c->what, err);
        if (r < 0)
                return r;
        if (o->json)
                cli_json_print(data);
        else
                printf("%s -> %s: %lld bytes uploaded\n", a->pos[0], a->pos[1], (long long)size);
        return 0;
}

/* LOCAL, or LOCAL/basename(REMOTE) when LOCAL is a directory. */
static int dest_path(const char *remote, const char *local, char **ret, struct aio_err *err)
{
        struct stat st;
        const char *base = cli_basename(remote);

        if (stat(local, &st) < 0 || !S_ISDIR(st.st_mode)) {
                *ret = aio_xstrdup(local);
                return 0;
        }
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return aio_error_msg(err, CLI_E_USAGE,
                                     "%s is a directory and '%s' names no file to put in it", local,
                                     remote);
        *ret = aio_xasprintf("%s/%s", local, base);
        return 0;
}

/* A temporary file in dest's directory (so rename() is atomic), mode 0600 until complete. */
static int temp_create(const char *dest, int *ret_fd, char **ret_path, struct aio_err *err)
{
        const char *base = cli_basename(dest);
        int dirlen = (int)(base - dest);
        cleanup_free char *tmp = aio_xasprintf("%.*s.%s.aio-XXXXXX", dirlen, dest, base);
        int fd = mkostemp(tmp, O_CLOEXEC);

        if (fd < 0)
                return cli_io_error(err, errno, dest);
        *ret_fd = fd;
        *ret_path = take_ptr(&tmp);
        return 0;
}

static int temp_commit(int fd, const char *tmp, const char *dest, struct aio_err *err)
{
        mode_t mask = umask(0);

        (void)umask(mask);
        if (fchmod(fd, 0666 & ~mask) < 0 || fsync(fd) < 0)
                return cli_io_error(err, errno, tmp);
        if (rename(tmp, dest) < 0)
                return cli_io_error(err, errno, dest);
        return 0;
}

static int download_fetch(struct cli_client *c, const struct cli_args *a, int fd,
                          struct aio_err *err)
{
        const char *query[] = {"path", a->pos[0], NULL};
        struct progress p = {.label = a->pos[0], .tty = isatty(STDERR_FILENO)};
        const struct cli_call call = {
                .method = "GET",
                .path = "/v1/file/download",
                .query = query,
                .stall_timeout = true,
                .sink_fd = fd,
                .xfer = on_progress,
                .xfer_data = &p,
        };
        json_t *none = NULL;
        int r;

        signals_set(on_signal);
        r = cli_call(c, &call, &none, err);
        signals_set(SIG_DFL);
        progress_end(&p);
        return r;
}

static void download_report(const struct cli_opts *o, const struct cli_args *a, const char *dest,
                            uint64_t bytes)
{
        json_auto_t *j = NULL;

        if (!o->json) {
                printf("%s -> %s: %llu bytes downloaded\n", a->pos[0], dest,
                       (unsigned long long)bytes);
                return;
        }
        j = json_pack("{s:s, s:s, s:I}", "path", a->pos[0], "file", dest, "bytes",
                      (json_int_t)bytes);
        cli_json_print(j);
}

int cli_file_download(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                      struct aio_err *err)
{
        cleanup_free char *dest = NULL, *tmp = NULL;
        cleanup_close int fd = -1;
        int r;

        if (strcmp(a->pos[1], "-") == 0)
                return download_fetch(c, a, STDOUT_FILENO, err);
        r = dest_path(a->pos[0], a->pos[1], &dest, err);
        if (r < 0)
                return r;
        r = temp_create(dest, &fd, &tmp, err);
        if (r < 0)
                return r;
        r = download_fetch(c, a, fd, err);
        if (r >= 0)
                r = temp_commit(fd, tmp, dest, err);
        if (r < 0) {
                if (tmp) /* always set here; clang-analyzer cannot see it through take_ptr() */
                        (void)unlink(tmp);
                return r;
        }
        download_report(o, a, dest, c->sunk);
        return 0;
}
