/* /v1/file list, find and glob: one bounded, iterative tree walk (no recursion over a tree an
 * agent shapes; symlinked directories are listed, never entered). */
#include "file-walk.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/file-internal.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/validate.h"

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted; NULL when it cannot be read. */
static char **dir_names(const char *dir, size_t *ret_n)
{
        cleanup_dir DIR *d = opendir(dir);
        char **v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        if (!d)
                return NULL;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n + 1 >= cap) {
                        cap = cap ? cap * 2 : 32;
                        v = aio_xrealloc(v, cap * sizeof(*v));
                }
                v[n++] = aio_xstrdup(de->d_name);
        }
        if (!v)
                v = aio_xcalloc(1, sizeof(*v));
        v[n] = NULL;
        if (n)
                qsort(v, n, sizeof(*v), name_cmp);
        *ret_n = n;
        return v;
}

struct walk_item {
        char *path, *rel;
        unsigned depth;
};

struct walk_stack {
        struct walk_item *v;
        size_t n, cap;
};

static void stack_push(struct walk_stack *s, char *path, char *rel, unsigned depth)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->v = aio_xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        s->v[s->n++] = (struct walk_item){path, rel, depth};
}

static void stack_free(struct walk_stack *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].path);
                free(s->v[i].rel);
        }
        free(s->v);
}

static void entry_fill(struct walk_entry *e, const struct walk_item *it, const char *name,
                       unsigned depth)
{
        e->path = aio_xasprintf("%s%s%s", it->path, strcmp(it->path, "/") ? "/" : "", name);
        e->rel = it->rel[0] ? aio_xasprintf("%s/%s", it->rel, name) : aio_xstrdup(name);
        e->name = strrchr(e->path, '/') + 1;
        e->depth = depth;
        e->stat_ok = lstat(e->path, &e->st) == 0;
        e->is_link = e->stat_ok && S_ISLNK(e->st.st_mode);
        if (e->is_link) /* shown as what it points to, as os.scandir's is_dir() does */
                e->stat_ok = stat(e->path, &e->st) == 0;
        e->is_dir = e->stat_ok && S_ISDIR(e->st.st_mode);
}

/* Visits the entries of one directory; pushes the subdirectories to enter (in reverse, so the
 * walk goes in name order). */
static int walk_dir(struct walk_stack *s, const struct walk_item *it, walk_fn fn, void *cls,
                    size_t *budget)
{
        size_t n = 0, first = s->n;
        cleanup_strv char **names = dir_names(it->path, &n);
        int r = WALK_CONTINUE;

        for (size_t i = 0; names && i < n && r != WALK_STOP; i++) {
                struct walk_entry e = {0};

                if ((*budget)-- == 0)
                        return WALK_STOP;
                entry_fill(&e, it, names[i], it->depth + 1);
                r = fn(cls, &e);
                if (r == WALK_CONTINUE && e.is_dir && !e.is_link &&
                    it->depth + 1 < WALK_MAX_DEPTH) {
                        stack_push(s, e.path, e.rel, it->depth + 1);
                } else {
                        free(e.path);
                        free(e.rel);
                }
        }
        for (size_t a = first, b = s->n; b > a + 1; a++, b--) {
                struct walk_item t = s->v[a];

                s->v[a] = s->v[b - 1];
                s->v[b - 1] = t;
        }
        return r == WALK_STOP ? WALK_STOP : WALK_CONTINUE;
}

bool api_walk(const char *root, walk_fn fn, void *cls)
{
        struct walk_stack s = {0};
        size_t budget = WALK_MAX_ENTRIES;
        bool complete = true;

        stack_push(&s, aio_xstrdup(root), aio_xstrdup(""), 0);
        while (s.n > 0) {
                struct walk_item it = s.v[--s.n];
                int r = walk_dir(&s, &it, fn, cls, &budget);

                free(it.path);
                free(it.rel);
                if (r == WALK_STOP) {
                        complete = false;
                        break;
                }
        }
        stack_free(&s);
        return complete;
}

/* An existing directory, or a FileOperationError answered (returns -1). */
int api_file_dir_check(struct api_resp *resp, const char *op, const char *path)
{
        struct stat st;
        int e;

        if (stat(path, &st) < 0)
                e = errno;
        else if (!S_ISDIR(st.st_mode))
                e = ENOTDIR;
        else
                return 0;
        api_file_fail_errno(resp, op, path, e);
        return -1;
}

static void mtime_str(const struct stat *st, char buf[32])
{
        (void)snprintf(buf, 32, "%lld", (long long)st->st_mtim.tv_sec);
}

/* --- list --------------------------------------------------------------------------------- */

struct list_args {
        const char *path, *sort_by;
        bool recursive, show_hidden, include_size, include_permissions, sort_desc;
        long long max_depth;
        const json_t *file_types;
};

/* clang-format off */
static const struct api_field list_fields[] = {
        { "path",                API_T_STRING, true,  false, offsetof(struct list_args, path),                0, NULL, NULL },
        { "recursive",           API_T_BOOL,   false, true,  offsetof(struct list_args, recursive),           0, NULL, NULL },
        { "show_hidden",         API_T_BOOL,   false, true,  offsetof(struct list_args, show_hidden),         0, NULL, NULL },
        { "max_depth",           API_T_INT,    false, true,  offsetof(struct list_args, max_depth),           0, NULL, NULL },
        { "include_size",        API_T_BOOL,   false, true,  offsetof(struct list_args, include_size),        0, NULL, NULL },
        { "include_permissions", API_T_BOOL,   false, true,  offsetof(struct list_args, include_permissions), 0, NULL, NULL },
        { "sort_by",             API_T_STRING, false, true,  offsetof(struct list_args, sort_by),             0, NULL, NULL },
        { "sort_desc",           API_T_BOOL,   false, true,  offsetof(struct list_args, sort_desc),           0, NULL, NULL },
};
static const struct api_file_list list_lists[] = {
        { "file_types", false, false, offsetof(struct list_args, file_types) },
};
/* clang-format on */
static const struct api_file_body list_body = API_FILE_BODY(list_fields, list_lists);

#define LIST_MAX      10000
#define LIST_NO_DEPTH LLONG_MIN

struct list_row {
        json_t *info;
        const char *name; /* in info */
        const char *path; /* in info */
        long long size;
        long long mtime;
        bool dir;
        size_t idx;
};

struct list_state {
        const struct list_args *a;
        const char **types;
        struct list_row *rows;
        size_t n;
};

/* os.path.splitext's extension: from the last '.', unless the name only starts with dots. */
static const char *extension(const char *name)
{
        const char *dot = strrchr(name, '.'), *p = name;

        while (*p == '.')
                p++;
        return dot && dot > p - 1 && dot >= p ? dot : name + strlen(name);
}

static bool type_wanted(const char **types, const char *name)
{
        const char *ext = extension(name);

        if (!types || !types[0])
                return true;
        for (size_t i = 0; types[i]; i++) {
                const char *t = types[i][0] == '.' ? types[i] + 1 : types[i];

                if (*ext == '.' && strcasecmp(ext + 1, t) == 0)
                        return true;
        }
        return false;
}

static void filemode(mode_t m, char out[11])
{
        static const char types[] = "?pc?d?b?-?l?s???";

        out[0] = types[(m >> 12) & 15];
        for (int i = 0; i < 9; i++)
                out[1 + i] = "rwxrwxrwx-"[(m & (1u << (8 - i))) ? i : 9];
        if (m & S_ISUID)
                out[3] = (m & S_IXUSR) ? 's' : 'S';
        if (m & S_ISGID)
                out[6] = (m & S_IXGRP) ? 's' : 'S';
        if (m & S_ISVTX)
                out[9] = (m & S_IXOTH) ? 't' : 'T';
        out[10] = '\0';
}

static void row_set(struct list_row *r, json_t *info, const struct walk_entry *e, size_t idx)
{
        *r = (struct list_row){
                .info = info,
                .name = json_string_value(json_object_get(info, "name")),
                .path = json_string_value(json_object_get(info, "path")),
                .size = e->is_dir ? 0 : (long long)e->st.st_size,
                .mtime = (long long)e->st.st_mtim.tv_sec,
                .dir = e->is_dir,
                .idx = idx,
        };
}

static json_t *file_info(const struct list_args *a, const struct walk_entry *e)
{
        char mt[32], perm[11];
        json_t *o;

        mtime_str(&e->st, mt);
        filemode(e->st.st_mode, perm);
        o = json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "name",
                      api_json_text(e->name, strlen(e->name)), "path",
                      api_json_text(e->path, strlen(e->path)), "is_directory", e->is_dir, "size",
                      a->include_size && !e->is_dir ? json_integer(e->st.st_size) : json_null(),
                      "modified_time", a->include_size ? json_string(mt) : json_null(),
                      "permissions", a->include_permissions ? json_string(perm) : json_null(),
                      "extension", e->is_dir ? json_null() : json_string(extension(e->name)));
        if (!o)
                abort();
        return o;
}

static int list_visit(void *cls, const struct walk_entry *e)
{
        struct list_state *s = cls;
        const struct list_args *a = s->a;

        if (s->n >= LIST_MAX)
                return WALK_STOP;
        if ((!a->show_hidden && e->name[0] == '.') || !e->stat_ok)
                return WALK_SKIP;
        if (e->is_dir || type_wanted(s->types, e->name)) {
                json_t *info = file_info(a, e);

                row_set(&s->rows[s->n], info, e, s->n);
                s->n++;
        }
        if (!a->recursive || (a->max_depth != LIST_NO_DEPTH && (long long)e->depth > a->max_depth))
                return WALK_SKIP;
        return WALK_CONTINUE;
}

struct sort_cfg {
        const char *by;
        bool desc, times; /* times: modified_time strings are there to compare */
};

static int row_key_cmp(const struct list_row *a, const struct list_row *b,
                       const struct sort_cfg *cfg)
{
        const char *by = cfg->by;

        if (strcmp(by, "size") == 0)
                return (a->size > b->size) - (a->size < b->size);
        if (strcmp(by, "modified") == 0) { /* upstream compares the strings ('' when absent) */
                char ta[32] = "", tb[32] = "";

                if (cfg->times) {
                        (void)snprintf(ta, sizeof(ta), "%lld", a->mtime);
                        (void)snprintf(tb, sizeof(tb), "%lld", b->mtime);
                }
                return strcmp(ta, tb);
        }
        if (strcmp(by, "type") == 0 && a->dir != b->dir)
                return a->dir ? -1 : 1;
        if (strcmp(by, "path") == 0)
                return strcasecmp(a->path, b->path);
        return strcasecmp(a->name, b->name);
}

static int row_cmp(const void *pa, const void *pb, void *cls)
{
        const struct list_row *a = pa, *b = pb;
        const struct sort_cfg *cfg = cls;
        int c = row_key_cmp(a, b, cfg);

        if (cfg->desc)
                c = -c;
        return c ? c : (a->idx > b->idx) - (a->idx < b->idx); /* stable, as Python's sort */
}

static json_t *list_result(const char *path, struct list_state *s, const char *by, bool desc)
{
        json_t *files = json_array(), *o;
        size_t dirs = 0;

        if (!files)
                abort();
        struct sort_cfg cfg = {by, desc, s->a->include_size};

        qsort_r(s->rows, s->n, sizeof(*s->rows), row_cmp, &cfg);
        for (size_t i = 0; i < s->n; i++) {
                struct list_row *r = &s->rows[i];

                dirs += r->dir;
                (void)json_array_append_new(files, r->info);
        }
        o = json_pack("{s:o, s:o, s:I, s:I, s:I}", "path", api_json_text(path, strlen(path)),
                      "files", files, "total_count", (json_int_t)s->n, "directory_count",
                      (json_int_t)dirs, "file_count", (json_int_t)(s->n - dirs));
        if (!o)
                abort();
        return o;
}

int api_file_list(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct list_args a = {.show_hidden = true,
                              .include_size = true,
                              .sort_by = "name",
                              .max_depth = LIST_NO_DEPTH};
        cleanup_free char *path = NULL;
        cleanup_free const char **types = NULL;
        struct list_state s = {.a = &a};
        json_t *detail = api_detail_new();
        char msg[64];

        (void)err;
        (void)api_file_unpack(req->body, &list_body, &a, sizeof(a), detail);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "list", a.path, &path) < 0 ||
            api_file_dir_check(resp, "list", path) < 0)
                return 0;
        types = api_file_strv(a.file_types);
        s.types = types;
        s.rows = aio_xcalloc(LIST_MAX, sizeof(*s.rows));
        (void)api_walk(path, list_visit, &s);
        (void)snprintf(msg, sizeof(msg), "Listed %zu entries", s.n);
        api_reply_ok(resp, msg, list_result(path, &s, a.sort_by, a.sort_desc));
        free(s.rows);
        return 0;
}

/* --- glob and find ------------------------------------------------------------------------ */

struct glob_state {
        const char *pattern;
        const char **exclude;
        bool hidden;      /* wildcards match a leading '.' (pathlib) or not (glob.glob) */
        bool keep_hidden; /* hidden entries are results */
        bool files_only;
        size_t max, n;
        bool truncated;
        json_t *out;
        bool (*emit)(struct glob_state *s, const struct walk_entry *e);
        bool metadata;
        struct list_row *rows;
};

static bool excluded(const char *const *pats, const char *name, const char *rel)
{
        for (size_t i = 0; pats && pats[i]; i++)
                if (fnmatch(pats[i], name, 0) == 0 || fnmatch(pats[i], rel, 0) == 0)
                        return true;
        return false;
}

static int glob_visit(void *cls, const struct walk_entry *e)
{
        struct glob_state *s = cls;
        bool hidden = e->name[0] == '.';

        if (hidden && !s->keep_hidden)
                return WALK_SKIP;
        if (api_glob_match_partial(s->pattern, e->rel, s->hidden, false) &&
            !(s->files_only && e->is_dir) && !excluded(s->exclude, e->name, e->rel)) {
                if (s->n == s->max) {
                        s->truncated = true;
                        return WALK_STOP;
                }
                if (s->emit(s, e))
                        s->n++;
        }
        if (e->is_dir && api_glob_match_partial(s->pattern, e->rel, s->hidden, true))
                return WALK_CONTINUE;
        return WALK_SKIP;
}

static bool find_emit(struct glob_state *s, const struct walk_entry *e)
{
        (void)json_array_append_new(s->out, api_json_text(e->path, strlen(e->path)));
        return true;
}

/* A pattern for api_glob_match: relative, without "." segments. */
static const char *pattern_rel(const char *p)
{
        while (*p == '/' || (p[0] == '.' && p[1] == '/'))
                p += *p == '/' ? 1 : 2;
        return p;
}

struct find_args {
        const char *path, *glob;
};

/* clang-format off */
static const struct api_field find_fields[] = {
        { "path", API_T_STRING, true, false, offsetof(struct find_args, path), 0, NULL, NULL },
        { "glob", API_T_STRING, true, false, offsetof(struct find_args, glob), 0, NULL, NULL },
};
/* clang-format on */

int api_file_find(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct find_args a = {0};
        cleanup_free char *path = NULL;
        json_t *detail = api_detail_new(), *data;
        struct glob_state s = {.max = LIST_MAX, .emit = find_emit};
        char msg[64];

        (void)err;
        (void)api_fields_unpack(req->body, find_fields, ELEMENTSOF(find_fields), &a, sizeof(a),
                                detail);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "find", a.path, &path) < 0 ||
            api_file_dir_check(resp, "find", path) < 0)
                return 0;
        s.pattern = pattern_rel(a.glob);
        s.keep_hidden = s.pattern[0] == '.' || strstr(s.pattern, "/.");
        s.out = json_array();
        if (!s.out)
                abort();
        (void)api_walk(path, glob_visit, &s);
        data = json_pack("{s:o, s:o, s:b}", "path", api_json_text(path, strlen(path)), "files",
                         s.out, "truncated", s.truncated);
        if (!data)
                abort();
        (void)snprintf(msg, sizeof(msg), "Search completed, found %zu files", s.n);
        api_reply_ok(resp, msg, data);
        return 0;
}

struct glob_args {
        const char *path, *pattern, *sort_by;
        const json_t *exclude;
        bool include_hidden, files_only, include_metadata, sort_desc;
        long long max_results;
};

/* clang-format off */
static const struct api_field glob_fields[] = {
        { "path",             API_T_STRING, true,  false, offsetof(struct glob_args, path),             0, NULL, NULL },
        { "pattern",          API_T_STRING, true,  false, offsetof(struct glob_args, pattern),          0, NULL, NULL },
        { "include_hidden",   API_T_BOOL,   false, true,  offsetof(struct glob_args, include_hidden),   0, NULL, NULL },
        { "files_only",       API_T_BOOL,   false, true,  offsetof(struct glob_args, files_only),       0, NULL, NULL },
        { "include_metadata", API_T_BOOL,   false, true,  offsetof(struct glob_args, include_metadata), 0, NULL, NULL },
        { "max_results",      API_T_INT,    false, true,  offsetof(struct glob_args, max_results),      0, NULL, NULL },
        { "sort_by",          API_T_STRING, false, true,  offsetof(struct glob_args, sort_by),          0, NULL, NULL },
        { "sort_desc",        API_T_BOOL,   false, true,  offsetof(struct glob_args, sort_desc),        0, NULL, NULL },
};
static const struct api_file_list glob_lists[] = {
        { "exclude", false, false, offsetof(struct glob_args, exclude) },
};
/* clang-format on */
static const struct api_file_body glob_body = API_FILE_BODY(glob_fields, glob_lists);

static bool glob_emit(struct glob_state *s, const struct walk_entry *e)
{
        char mt[32];
        json_t *o;

        mtime_str(&e->st, mt);
        o = json_pack(
                "{s:o, s:o, s:b, s:o, s:o}", "path", api_json_text(e->path, strlen(e->path)),
                "name", api_json_text(e->name, strlen(e->name)), "is_directory", e->is_dir, "size",
                s->metadata && e->stat_ok && !e->is_dir ? json_integer(e->st.st_size) : json_null(),
                "modified_time", s->metadata && e->stat_ok ? json_string(mt) : json_null());
        if (!o)
                abort();
        row_set(&s->rows[s->n], o, e, s->n);
        return true;
}

static json_t *glob_result(const char *path, const struct glob_args *a, struct glob_state *s)
{
        struct sort_cfg cfg = {a->sort_by, a->sort_desc, a->include_metadata};
        json_t *files = json_array(), *o;

        if (!files)
                abort();
        qsort_r(s->rows, s->n, sizeof(*s->rows), row_cmp, &cfg);
        for (size_t i = 0; i < s->n; i++)
                (void)json_array_append_new(files, s->rows[i].info);
        o = json_pack("{s:o, s:s, s:o, s:I, s:b}", "path", api_json_text(path, strlen(path)),
                      "pattern", a->pattern, "files", files, "total_count", (json_int_t)s->n,
                      "truncated", s->truncated);
        if (!o)
                abort();
        return o;
}

int api_file_glob(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct glob_args a = {.files_only = true,
                              .include_metadata = true,
                              .max_results = 5000,
                              .sort_by = "path"};
        cleanup_free char *path = NULL;
        cleanup_free const char **exclude = NULL;
        struct glob_state s = {.hidden = true, .emit = glob_emit};
        json_t *detail = api_detail_new();
        char msg[64];

        (void)err;
        if (api_file_unpack(req->body, &glob_body, &a, sizeof(a), detail) == 0)
                api_file_check_range(detail, "max_results", a.max_results, 1, 50000);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "glob", a.path, &path) < 0 ||
            api_file_dir_check(resp, "glob", path) < 0)
                return 0;
        exclude = api_file_strv(a.exclude);
        s.pattern = pattern_rel(a.pattern);
        s.exclude = exclude;
        s.keep_hidden = a.include_hidden;
        s.files_only = a.files_only;
        s.metadata = a.include_metadata;
        s.max = (size_t)a.max_results;
        s.rows = aio_xcalloc(s.max, sizeof(*s.rows));
        (void)api_walk(path, glob_visit, &s);
        (void)snprintf(msg, sizeof(msg), "Glob completed, found %zu matches", s.n);
        api_reply_ok(resp, msg, glob_result(path, &a, &s));
        free(s.rows);
        return 0;
}
