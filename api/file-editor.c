/* /v1/file/str_replace_editor: OpenHands-ACI's editor (view, create, str_replace, insert,
 * undo_edit) with its messages; the undo history is kept in memory, bounded. Tool errors answer
 * 400 with the editor's message (as upstream's BadRequestException); OS errors a
 * FileOperationError. PDF/Office paging (page_range, sheet_name, ...) is accepted and ignored. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "api/file-walk.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/validate.h"

#define SNIPPET_LINES     4
#define HISTORY_MAX       256 /* states kept, all files together */
#define HISTORY_PER_FILE  10
#define HISTORY_MAX_BYTES (64u << 20)

/* --- the undo history --------------------------------------------------------------------- */

struct edit_state {
        char *path, *content; /* content NULL: the file did not exist */
        size_t len;
};

struct api_edit_history {
        pthread_mutex_t lock;
        struct edit_state v[HISTORY_MAX]; /* oldest first */
        size_t n, bytes;
};

struct api_edit_history *api_history_new(void)
{
        struct api_edit_history *h = aio_xcalloc(1, sizeof(*h));

        (void)pthread_mutex_init(&h->lock, NULL);
        return h;
}

static void state_drop(struct api_edit_history *h, size_t i)
{
        h->bytes -= h->v[i].len;
        free(h->v[i].path);
        free(h->v[i].content);
        memmove(&h->v[i], &h->v[i + 1], (h->n - i - 1) * sizeof(h->v[0]));
        h->n--;
}

void api_history_free(struct api_edit_history *h)
{
        if (!h)
                return;
        while (h->n)
                state_drop(h, h->n - 1);
        (void)pthread_mutex_destroy(&h->lock);
        free(h);
}

void api_history_push(struct api_edit_history *h, const char *path, const char *content, size_t len)
{
        size_t same = 0, oldest = SIZE_MAX;
        char *copy = NULL;

        if (content) {
                copy = aio_xmalloc(len + 1);
                memcpy(copy, content, len);
                copy[len] = '\0';
        }
        (void)pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->v[i].path, path) == 0 && same++ == 0)
                        oldest = i;
        if (same >= HISTORY_PER_FILE)
                state_drop(h, oldest);
        while (h->n > 0 && (h->n == HISTORY_MAX || h->bytes + len > HISTORY_MAX_BYTES))
                state_drop(h, 0);
        if (len <= HISTORY_MAX_BYTES) {
                h->v[h->n++] = (struct edit_state){aio_xstrdup(path), copy, content ? len : 0};
                h->bytes += content ? len : 0;
                copy = NULL;
        }
        (void)pthread_mutex_unlock(&h->lock);
        free(copy);
}

int api_history_pop(struct api_edit_history *h, const char *path, char **ret, size_t *ret_len,
                    bool *ret_existed)
{
        int r = 0;

        (void)pthread_mutex_lock(&h->lock);
        for (size_t i = h->n; i-- > 0;) {
                if (strcmp(h->v[i].path, path) != 0)
                        continue;
                *ret_existed = h->v[i].content != NULL;
                *ret = take_ptr(&h->v[i].content);
                *ret_len = h->v[i].len;
                state_drop(h, i);
                r = 1;
                break;
        }
        (void)pthread_mutex_unlock(&h->lock);
        return r;
}

/* --- output ------------------------------------------------------------------------------- */

/* `cat -n` of lines [from, to) of text (0-based, clamped), numbered from from + 1. */
static char *cat_n(const char *text, size_t len, size_t from, size_t to)
{
        size_t cap = len + 64, w = 0, line = 0, i = 0, brk;
        char *out = aio_xmalloc(cap);

        out[0] = '\0';
        while (line < to && (i < len || (line == 0 && len == 0))) {
                size_t e = api_line_end(text, len, i, &brk);

                if (line >= from) {
                        size_t need = w + (e - i) + 16;

                        if (need > cap) {
                                cap = need * 2;
                                out = aio_xrealloc(out, cap);
                        }
                        w += (size_t)snprintf(out + w, cap - w, "%s%6zu\t", w ? "\n" : "",
                                              line + 1);
                        memcpy(out + w, text + i, e - i);
                        w += e - i;
                        out[w] = '\0';
                }
                line++;
                if (i >= len)
                        break;
                i = e + brk;
        }
        return out;
}

static size_t lines_in(const char *text, size_t len)
{
        size_t n = 0, i = 0, brk;

        while (i < len) {
                i = api_line_end(text, len, i, &brk) + brk;
                n++;
        }
        return n;
}

static size_t newlines_before(const char *text, size_t upto)
{
        size_t n = 0;

        for (size_t i = 0; i < upto; i++)
                n += text[i] == '\n';
        return n;
}

struct ed_args {
        const char *command, *path, *file_text, *old_str, *new_str, *replace_mode, *sheet_name;
        long long insert_line;
        bool has_insert, enable_metadata;
        const json_t *view_range, *page_range, *row_range, *slide_range;
};

struct ed_text {
        const char *s; /* NULL: null */
        size_t n;
};

static json_t *text_json(struct ed_text t)
{
        return t.s ? api_json_text(t.s, t.n) : json_null();
}

/* What an edit answers: the editor's result in the envelope. */
static void ed_reply(struct api_resp *resp, const char *path, const char *output, bool prev,
                     struct ed_text old, struct ed_text new)
{
        json_t *data =
                json_pack("{s:s, s:n, s:o, s:b, s:o, s:o, s:n}", "output", output, "error", "path",
                          api_json_text(path, strlen(path)), "prev_exist", prev, "old_content",
                          text_json(old), "new_content", text_json(new), "metadata");

        if (!data)
                abort();
        api_reply_ok(resp, "Operation successful", data);
}

static int tool_error(struct api_resp *resp, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int tool_error(struct api_resp *resp, const char *fmt, ...)
{
        cleanup_free char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = aio_xvasprintf(fmt, ap);
        va_end(ap);
        api_reply_error(resp, 400, msg);
        return 0;
}

static struct api_edit_history *history_of(const struct api_req *req)
{
        return req->ctx && req->ctx->watches ? api_watches_history(req->ctx->watches) : NULL;
}

/* The file's text, or an answer given (-1). */
static int ed_read(struct api_resp *resp, const char *path, char **ret, size_t *ret_len)
{
        struct aio_err err = {0};
        int r = api_file_read_all(path, API_FILE_READ_MAX, ret, ret_len, &err);

        if (r < 0) {
                api_file_fail_errno(resp, "str_replace_editor", path, r);
                return -1;
        }
        if (!api_utf8_valid(*ret, *ret_len)) {
                api_file_fail(resp, "str_replace_editor", path, 0, "UnicodeDecodeError",
                              "'utf-8' codec can't decode the file: it is not UTF-8 text");
                return -1;
        }
        return 0;
}

static int ed_write(struct api_resp *resp, const char *path, const char *data, size_t len)
{
        struct aio_err err = {0};
        int r = api_file_write_atomic(path, data, len, true, &err);

        if (r < 0) {
                api_file_fail_errno(resp, "str_replace_editor", path, r);
                return -1;
        }
        return 0;
}

struct dir_view {
        char *out;
        size_t len, count;
};

static int dir_view_visit(void *cls, const struct walk_entry *e)
{
        struct dir_view *v = cls;
        size_t n = strlen(e->path);

        if (e->name[0] == '.')
                return WALK_SKIP;
        if (v->count++ >= 5000)
                return WALK_STOP;
        v->out = aio_xrealloc(v->out, v->len + n + 2);
        memcpy(v->out + v->len, e->path, n);
        v->len += n;
        v->out[v->len++] = '\n';
        v->out[v->len] = '\0';
        return e->depth < 2 ? WALK_CONTINUE : WALK_SKIP;
}

static int view_dir(struct api_resp *resp, const char *path)
{
        struct dir_view v = {.out = aio_xasprintf("%s\n", path)};
        cleanup_free char *out = NULL;

        v.len = strlen(v.out);
        (void)api_walk(path, dir_view_visit, &v);
        out = aio_xasprintf("Here's the files and directories up to 2 levels deep in %s, "
                            "excluding hidden items:\n%s",
                            path, v.out);
        free(v.out);
        ed_reply(resp, path, out, true, (struct ed_text){0}, (struct ed_text){0});
        return 0;
}

static int view_range_check(struct api_resp *resp, const json_t *vr, size_t n, size_t *from,
                            size_t *to)
{
        long long a, b;

        if (json_array_size(vr) != 2)
                return tool_error(resp, "Invalid `view_range` parameter: it should be a list of "
                                        "two integers.") -
                       1;
        a = json_integer_value(json_array_get(vr, 0));
        b = json_integer_value(json_array_get(vr, 1));
        if (a < 1 || (size_t)a > (n ? n : 1))
                return tool_error(resp,
                                  "Invalid `view_range` parameter: [%lld, %lld]. Its first "
                                  "element `%lld` should be within the range of lines of "
                                  "the file: [1, %zu].",
                                  a, b, a, n) -
                       1;
        if (b != -1 && b < a)
                return tool_error(resp,
                                  "Invalid `view_range` parameter: [%lld, %lld]. Its second "
                                  "element `%lld` should be larger or equal than its first "
                                  "`%lld`.",
                                  a, b, b, a) -
                       1;
        *from = (size_t)a - 1;
        *to = b == -1 || (size_t)b > n ? n : (size_t)b;
        return 0;
}

static int ed_view(struct api_resp *resp, const struct ed_args *a, const char *path, bool dir)
{
        cleanup_free char *buf = NULL, *cat = NULL, *out = NULL;
        size_t len, from = 0, to = SIZE_MAX;

        if (dir)
                return view_dir(resp, path);
        if (ed_read(resp, path, &buf, &len) < 0)
                return 0;
        if (json_array_size(a->view_range) > 0 &&
            view_range_check(resp, a->view_range, lines_in(buf, len), &from, &to) < 0)
                return 0;
        cat = cat_n(buf, len, from, to);
        out = aio_xasprintf("Here's the result of running `cat -n` on %s:\n%s\n", path, cat);
        ed_reply(resp, path, out, true, (struct ed_text){0}, (struct ed_text){0});
        return 0;
}

static int ed_create(const struct api_req *req, struct api_resp *resp, const struct ed_args *a,
                     const char *path)
{
        struct api_edit_history *h = history_of(req);
        cleanup_free char *out = NULL;

        if (!a->file_text)
                return tool_error(resp, "Parameter `file_text` is required for command: create");
        if (ed_write(resp, path, a->file_text, strlen(a->file_text)) < 0)
                return 0;
        if (h)
                api_history_push(h, path, NULL, 0);
        out = aio_xasprintf("File created successfully at: %s", path);
        ed_reply(resp, path, out, false, (struct ed_text){0},
                 (struct ed_text){a->file_text, strlen(a->file_text)});
        return 0;
}

/* "[3, 9]": the lines old appears on, for the "Multiple occurrences" message. */
static char *occurrence_lines(const char *text, size_t len, const char *old, size_t olen)
{
        size_t cap = 64, w = 0, line = 1, pos = 0;
        char *out = aio_xmalloc(cap);
        const char *p = text, *m;

        out[w++] = '[';
        while ((m = memmem(p, (size_t)(text + len - p), old, olen)) && w < 4000) {
                for (; pos < (size_t)(m - text); pos++)
                        line += text[pos] == '\n';
                if (w + 24 > cap)
                        out = aio_xrealloc(out, cap *= 2);
                w += (size_t)snprintf(out + w, cap - w, "%s%zu", w > 1 ? ", " : "", line);
                p = m + olen;
        }
        out[w++] = ']';
        out[w] = '\0';
        return out;
}

static char *edited_output(const char *path, const char *text, size_t len, size_t line,
                           size_t added, bool insert)
{
        size_t from = line > SNIPPET_LINES ? line - SNIPPET_LINES : 0;
        cleanup_free char *snip = cat_n(text, len, from, line + added + SNIPPET_LINES + 1);

        if (insert)
                return aio_xasprintf("The file %s has been edited. Here's the result of running "
                                     "`cat -n` on a snippet of the edited file:\n%s\nReview the "
                                     "changes and make sure they are as expected (correct "
                                     "indentation, no duplicate lines, etc). Edit the file again "
                                     "if necessary.",
                                     path, snip);
        return aio_xasprintf("The file %s has been edited. Here's the result of running `cat -n` "
                             "on a snippet of %s:\n%s\nReview the changes and make sure they are "
                             "as expected. Edit the file again if necessary.",
                             path, path, snip);
}

/* The last occurrence of needle in hay (there is one). */
static const char *memrchr_str(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
        const char *last = NULL, *p = hay, *m;

        while ((m = memmem(p, (size_t)(hay + hlen - p), needle, nlen))) {
                last = m;
                p = m + nlen;
        }
        return last ? last : hay;
}

static enum api_replace_mode replace_mode(const char *s)
{
        if (!s)
                return API_REPLACE_UNIQUE;
        if (strcmp(s, "ALL") == 0)
                return API_REPLACE_ALL;
        return strcmp(s, "FIRST") == 0 ? API_REPLACE_FIRST : API_REPLACE_LAST;
}

static int replace_error(struct api_resp *resp, int r, const struct ed_args *a, const char *path,
                         const char *buf, size_t len)
{
        cleanup_free char *lines = NULL;

        if (r == -ENOENT)
                return tool_error(resp,
                                  "No replacement was performed, old_str `%s` did not "
                                  "appear verbatim in %s.",
                                  a->old_str, path);
        lines = occurrence_lines(buf, len, a->old_str, strlen(a->old_str));
        return tool_error(resp,
                          "No replacement was performed. Multiple occurrences of old_str "
                          "`%s` in lines %s. Please ensure it is unique.",
                          a->old_str, lines);
}

static int ed_str_replace(const struct api_req *req, struct api_resp *resp, const struct ed_args *a,
                          const char *path)
{
        struct api_edit_history *h = history_of(req);
        cleanup_free char *buf = NULL, *out = NULL, *msg = NULL;
        const char *new = a->new_str ? a->new_str : "", *at;
        enum api_replace_mode mode = replace_mode(a->replace_mode);
        struct aio_err err = {0};
        struct api_replace rq;
        size_t len = 0, olen = a->old_str ? strlen(a->old_str) : 0, outlen = 0;
        int r;

        if (!a->old_str)
                return tool_error(resp, "Parameter `old_str` is required for command: str_replace");
        if (olen == 0)
                return tool_error(resp, "Parameter `old_str` must not be empty for command: "
                                        "str_replace");
        if (strcmp(a->old_str, new) == 0)
                return tool_error(resp, "No replacement was performed. `new_str` and `old_str` "
                                        "must be different.");
        if (ed_read(resp, path, &buf, &len) < 0)
                return 0;
        rq = (struct api_replace){buf, a->old_str, new, len, olen, strlen(new), mode};
        r = api_str_replace(&rq, &out, &outlen, &err);
        if (r < 0)
                return replace_error(resp, r, a, path, buf, len);
        if (ed_write(resp, path, out, outlen) < 0)
                return 0;
        if (h)
                api_history_push(h, path, buf, len);
        at = mode == API_REPLACE_LAST ? memrchr_str(buf, len, a->old_str, olen)
                                      : memmem(buf, len, a->old_str, olen);
        msg = edited_output(path, out, outlen, newlines_before(buf, (size_t)(at - buf)),
                            newlines_before(new, strlen(new)), false);
        ed_reply(resp, path, msg, true, (struct ed_text){buf, len}, (struct ed_text){out, outlen});
        return 0;
}

/* The text with ins inserted after line k of text.split('\n') (OpenHands' insert). */
static char *insert_text(const char *text, size_t len, size_t k, const char *ins, size_t *ret_len)
{
        size_t off = 0, ilen = strlen(ins);
        char *out = aio_xmalloc(len + ilen + 2);

        for (size_t line = 0; line < k; line++) {
                const char *nl = memchr(text + off, '\n', len - off);

                if (!nl) { /* after the last line */
                        memcpy(out, text, len);
                        out[len] = '\n';
                        memcpy(out + len + 1, ins, ilen);
                        *ret_len = len + 1 + ilen;
                        out[*ret_len] = '\0';
                        return out;
                }
                off = (size_t)(nl - text) + 1;
        }
        memcpy(out, text, off);
        memcpy(out + off, ins, ilen);
        out[off + ilen] = '\n';
        memcpy(out + off + ilen + 1, text + off, len - off);
        *ret_len = len + ilen + 1;
        out[*ret_len] = '\0';
        return out;
}

static int ed_insert(const struct api_req *req, struct api_resp *resp, const struct ed_args *a,
                     const char *path)
{
        struct api_edit_history *h = history_of(req);
        cleanup_free char *buf = NULL, *out = NULL, *msg = NULL;
        size_t len, outlen, n;

        if (!a->has_insert)
                return tool_error(resp, "Parameter `insert_line` is required for command: insert");
        if (!a->new_str)
                return tool_error(resp, "Parameter `new_str` is required for command: insert");
        if (ed_read(resp, path, &buf, &len) < 0)
                return 0;
        n = newlines_before(buf, len) + 1;
        if (a->insert_line < 0 || (size_t)a->insert_line > n)
                return tool_error(resp,
                                  "Invalid `insert_line` parameter: %lld. It should be "
                                  "within the range of lines of the file: [0, %zu]",
                                  a->insert_line, n);
        out = insert_text(buf, len, (size_t)a->insert_line, a->new_str, &outlen);
        if (ed_write(resp, path, out, outlen) < 0)
                return 0;
        if (h)
                api_history_push(h, path, buf, len);
        msg = edited_output(path, out, outlen, (size_t)a->insert_line,
                            newlines_before(a->new_str, strlen(a->new_str)), true);
        ed_reply(resp, path, msg, true, (struct ed_text){buf, len}, (struct ed_text){out, outlen});
        return 0;
}

static int ed_undo(const struct api_req *req, struct api_resp *resp, const char *path)
{
        struct api_edit_history *h = history_of(req);
        cleanup_free char *prev = NULL, *cur = NULL, *cat = NULL, *out = NULL;
        size_t plen = 0, clen = 0;
        bool existed = false;

        if (!h || api_history_pop(h, path, &prev, &plen, &existed) == 0)
                return tool_error(resp, "No edit history found for %s.", path);
        if (!existed) { /* undoing a create removes the file */
                if (unlink(path) < 0 && errno != ENOENT) {
                        api_file_fail_errno(resp, "str_replace_editor", path, errno);
                        return 0;
                }
                out = aio_xasprintf("Last edit to %s undone successfully. The file did not exist "
                                    "before it and was removed.",
                                    path);
                ed_reply(resp, path, out, true, (struct ed_text){0}, (struct ed_text){0});
                return 0;
        }
        (void)ed_read(resp, path, &cur, &clen); /* what it was, for old_content; may be gone */
        if (ed_write(resp, path, prev, plen) < 0)
                return 0;
        cat = cat_n(prev, plen, 0, SIZE_MAX);
        out = aio_xasprintf("Last edit to %s undone successfully. Here's the result of running "
                            "`cat -n` on %s:\n%s\n",
                            path, path, cat);
        ed_reply(resp, path, out, true, (struct ed_text){cur, clen}, (struct ed_text){prev, plen});
        return 0;
}

/* clang-format off */
static const struct api_field ed_fields[] = {
        { "command",         API_T_STRING, true,  false, offsetof(struct ed_args, command),         0, NULL, NULL },
        { "path",            API_T_STRING, true,  false, offsetof(struct ed_args, path),            0, NULL, NULL },
        { "file_text",       API_T_STRING, false, true,  offsetof(struct ed_args, file_text),       0, NULL, NULL },
        { "old_str",         API_T_STRING, false, true,  offsetof(struct ed_args, old_str),         0, NULL, NULL },
        { "new_str",         API_T_STRING, false, true,  offsetof(struct ed_args, new_str),         0, NULL, NULL },
        { "insert_line",     API_T_INT,    false, true,  offsetof(struct ed_args, insert_line),     0, NULL, NULL },
        { "replace_mode",    API_T_STRING, false, true,  offsetof(struct ed_args, replace_mode),    0, NULL, NULL },
        { "sheet_name",      API_T_STRING, false, true,  offsetof(struct ed_args, sheet_name),      0, NULL, NULL },
        { "enable_metadata", API_T_BOOL,   false, true,  offsetof(struct ed_args, enable_metadata), 0, NULL, NULL },
};
static const struct api_file_list ed_lists[] = {
        { "view_range",  true, false, offsetof(struct ed_args, view_range) },
        { "page_range",  true, false, offsetof(struct ed_args, page_range) },
        { "row_range",   true, false, offsetof(struct ed_args, row_range) },
        { "slide_range", true, false, offsetof(struct ed_args, slide_range) },
};
/* clang-format on */
static const struct api_file_body ed_body = API_FILE_BODY(ed_fields, ed_lists);

static const char *const ed_commands[] = {"view",   "create",    "str_replace",
                                          "insert", "undo_edit", NULL};
static const char *const ed_modes[] = {"ALL", "FIRST", "LAST", NULL};

/* OpenHands' validate_path(). Returns -1 once it answered; *ret_dir says what path is. */
static int ed_path_check(struct api_resp *resp, const char *cmd, const char *path, bool *ret_dir)
{
        struct stat st;
        bool exists = stat(path, &st) == 0;

        *ret_dir = exists && S_ISDIR(st.st_mode);
        if (strcmp(cmd, "create") == 0) {
                if (exists)
                        return tool_error(resp,
                                          "Invalid `path` parameter: %s. File already "
                                          "exists at: %s. Cannot overwrite files using "
                                          "command `create`.",
                                          path, path) -
                               1;
                return 0;
        }
        if (!exists && strcmp(cmd, "undo_edit") != 0)
                return tool_error(resp,
                                  "Invalid `path` parameter: %s. The path %s does not "
                                  "exist. Please provide a valid path.",
                                  path, path) -
                       1;
        if (*ret_dir && strcmp(cmd, "view") != 0)
                return tool_error(resp,
                                  "Invalid `path` parameter: %s. The path %s is a "
                                  "directory and only the `view` command can be used on "
                                  "directories.",
                                  path, path) -
                       1;
        return 0;
}

int api_file_editor(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct ed_args a = {.insert_line = LLONG_MIN};
        cleanup_free char *path = NULL;
        json_t *detail = api_detail_new();
        bool dir;

        (void)err;
        if (api_file_unpack(req->body, &ed_body, &a, sizeof(a), detail) == 0) {
                api_file_check_enum(detail, "command", a.command, ed_commands);
                api_file_check_enum(detail, "replace_mode", a.replace_mode, ed_modes);
        }
        if (api_reply_422_if(resp, detail) ||
            api_file_path(resp, "str_replace_editor", a.path, &path) < 0 ||
            ed_path_check(resp, a.command, path, &dir) < 0)
                return 0;
        a.has_insert = a.insert_line != LLONG_MIN;
        if (strcmp(a.command, "view") == 0)
                return ed_view(resp, &a, path, dir);
        if (strcmp(a.command, "create") == 0)
                return ed_create(req, resp, &a, path);
        if (strcmp(a.command, "str_replace") == 0)
                return ed_str_replace(req, resp, &a, path);
        if (strcmp(a.command, "insert") == 0)
                return ed_insert(req, resp, &a, path);
        return ed_undo(req, resp, path);
}
