/* /v1/file search (a regex in one file) and grep (over a tree, bounded: max_results, files above
 * max_file_size and binary files skipped, WALK_MAX_ENTRIES entries looked at).
 *
 * Patterns are POSIX extended regexps (glibc: \w \s \b work) with Python's \d and \D translated;
 * what Python's re alone knows (lookarounds, non-greedy *?) is refused or means something else. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/file-internal.h"
#include "api/file-walk.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/validate.h"

#define BINARY_PROBE 8192

/* An escape at p ("\\x"): \d and \D translated, anything else copied. */
static char *escape_copy(char *w, const char *p, bool in_bracket)
{
        if (p[1] == 'd')
                return stpcpy(w, in_bracket ? "0-9" : "[0-9]");
        if (p[1] == 'D' && !in_bracket)
                return stpcpy(w, "[^0-9]");
        *w++ = p[0];
        *w++ = p[1];
        return w;
}

/* Python's \d, \D outside brackets and \d inside; everything else is copied. */
static char *regex_translate(const char *p)
{
        char *out = aio_xmalloc(strlen(p) * 6 + 1), *w = out;
        bool in_bracket = false;

        for (; *p; p++) {
                if (*p == '\\' && p[1]) {
                        w = escape_copy(w, p++, in_bracket);
                        continue;
                }
                *w++ = *p;
                if (in_bracket) {
                        in_bracket = *p != ']';
                        continue;
                }
                if (*p != '[')
                        continue;
                in_bracket = true; /* a ']' right after "[" or "[^" is a member */
                if (p[1] == '^')
                        *w++ = *++p;
                if (p[1] == ']')
                        *w++ = *++p;
        }
        *w = '\0';
        return out;
}

int api_file_regcomp(struct api_resp *resp, regex_t *re, const char *pattern, int cflags)
{
        cleanup_free char *t = NULL;
        char msg[256], why[160];
        int r;

        if (strncmp(pattern, "(?i)", 4) == 0) {
                pattern += 4;
                cflags |= REG_ICASE;
        }
        t = regex_translate(pattern);
        r = regcomp(re, t, cflags | REG_EXTENDED);
        if (r == 0)
                return 0;
        (void)regerror(r, re, why, sizeof(why));
        (void)snprintf(msg, sizeof(msg), "Invalid regular expression: %s", why);
        api_reply_error(resp, 400, msg);
        return -EINVAL;
}

/* Whether re matches buf[s, e) (REG_STARTEND: no NUL needed; ^ and $ at the ends). */
static bool range_match(const regex_t *re, const char *buf, size_t s, size_t e)
{
        regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)(e - s)};

        return regexec(re, buf + s, 1, &m, REG_STARTEND) == 0;
}

struct search_args {
        const char *file, *regex;
        bool sudo;
};

/* clang-format off */
static const struct api_field search_fields[] = {
        { "file",  API_T_STRING, true,  false, offsetof(struct search_args, file),  0, NULL, NULL },
        { "regex", API_T_STRING, true,  false, offsetof(struct search_args, regex), 0, NULL, NULL },
        { "sudo",  API_T_BOOL,   false, true,  offsetof(struct search_args, sudo),  0, NULL, NULL },
};
/* clang-format on */

static json_t *search_lines(const regex_t *re, const char *buf, size_t len, json_t **ret_nums)
{
        json_t *matches = json_array(), *nums = json_array();
        size_t i = 0, line = 0, brk;

        if (!matches || !nums)
                abort();
        while (i < len) {
                size_t e = api_line_end(buf, len, i, &brk);

                if (range_match(re, buf, i, e)) {
                        (void)json_array_append_new(matches, json_stringn(buf + i, e - i));
                        (void)json_array_append_new(nums, json_integer((json_int_t)line));
                }
                line++;
                i = e + brk;
        }
        *ret_nums = nums;
        return matches;
}

int api_file_search(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct search_args a = {0};
        cleanup_free char *path = NULL, *buf = NULL;
        json_t *detail = api_detail_new(), *matches, *nums, *data;
        regex_t re;
        size_t len;
        char msg[64];
        int r;

        (void)api_fields_unpack(req->body, search_fields, ELEMENTSOF(search_fields), &a, sizeof(a),
                                detail);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "search", a.file, &path) < 0)
                return 0;
        r = api_file_read_all(path, API_FILE_READ_MAX, &buf, &len, err);
        if (r < 0) {
                api_file_fail_errno(resp, "search", path, r);
                return 0;
        }
        if (!api_utf8_valid(buf, len)) {
                api_file_fail(resp, "search", path, 0, "UnicodeDecodeError",
                              "'utf-8' codec can't decode the file: it is not UTF-8 text");
                return 0;
        }
        if (api_file_regcomp(resp, &re, a.regex, 0) < 0)
                return 0;
        matches = search_lines(&re, buf, len, &nums);
        regfree(&re);
        (void)snprintf(msg, sizeof(msg), "Search completed, found %zu matches",
                       json_array_size(matches));
        data = json_pack("{s:o, s:o, s:o}", "file", api_json_text(path, strlen(path)), "matches",
                         matches, "line_numbers", nums);
        if (!data)
                abort();
        api_reply_ok(resp, msg, data);
        return 0;
}

/* --- grep --------------------------------------------------------------------------------- */

struct grep_args {
        const char *path, *pattern, *max_file_size, *type;
        const json_t *include, *exclude;
        bool case_insensitive, fixed_strings, multiline, recursive;
        long long before, after, max_results, offset;
};

/* clang-format off */
static const struct api_field grep_fields[] = {
        { "path",             API_T_STRING, true,  false, offsetof(struct grep_args, path),             0, NULL, NULL },
        { "pattern",          API_T_STRING, true,  false, offsetof(struct grep_args, pattern),          0, NULL, NULL },
        { "case_insensitive", API_T_BOOL,   false, true,  offsetof(struct grep_args, case_insensitive), 0, NULL, NULL },
        { "fixed_strings",    API_T_BOOL,   false, true,  offsetof(struct grep_args, fixed_strings),    0, NULL, NULL },
        { "context_before",   API_T_INT,    false, true,  offsetof(struct grep_args, before),           0, NULL, NULL },
        { "context_after",    API_T_INT,    false, true,  offsetof(struct grep_args, after),            0, NULL, NULL },
        { "max_results",      API_T_INT,    false, true,  offsetof(struct grep_args, max_results),      0, NULL, NULL },
        { "max_file_size",    API_T_STRING, false, true,  offsetof(struct grep_args, max_file_size),    0, NULL, NULL },
        { "multiline",        API_T_BOOL,   false, true,  offsetof(struct grep_args, multiline),        0, NULL, NULL },
        { "offset",           API_T_INT,    false, true,  offsetof(struct grep_args, offset),           0, NULL, NULL },
        { "type",             API_T_STRING, false, true,  offsetof(struct grep_args, type),             0, NULL, NULL },
        { "recursive",        API_T_BOOL,   false, true,  offsetof(struct grep_args, recursive),        0, NULL, NULL },
};
static const struct api_file_list grep_lists[] = {
        { "include", false, false, offsetof(struct grep_args, include) },
        { "exclude", false, false, offsetof(struct grep_args, exclude) },
};
/* clang-format on */
static const struct api_file_body grep_body = API_FILE_BODY(grep_fields, grep_lists);

/* ripgrep's common type aliases; anything else is taken as an extension. */
static const char *const grep_types[][6] = {
        {"py", ".py", ".pyi", ".pyw", NULL},
        {"js", ".js", ".mjs", ".cjs", ".jsx", NULL},
        {"ts", ".ts", ".tsx", ".cts", ".mts", NULL},
        {"rust", ".rs", NULL},
        {"c", ".c", ".h", NULL},
        {"cpp", ".cpp", ".cc", ".cxx", ".hpp", ".hh"},
        {"go", ".go", NULL},
        {"java", ".java", NULL},
        {"md", ".md", ".markdown", NULL},
        {"markdown", ".md", ".markdown", NULL},
        {"json", ".json", NULL},
        {"yaml", ".yaml", ".yml", NULL},
        {"sh", ".sh", ".bash", ".zsh", NULL},
        {"html", ".html", ".htm", NULL},
        {"css", ".css", ".scss", NULL},
        {"txt", ".txt", NULL},
};

static bool type_match(const char *type, const char *name)
{
        size_t n = strlen(name);

        for (size_t i = 0; i < ELEMENTSOF(grep_types); i++) {
                if (strcmp(grep_types[i][0], type) != 0)
                        continue;
                for (size_t k = 1; k < 6 && grep_types[i][k]; k++) {
                        size_t e = strlen(grep_types[i][k]);

                        if (n >= e && strcmp(name + n - e, grep_types[i][k]) == 0)
                                return true;
                }
                return false;
        }
        return n > strlen(type) && name[n - strlen(type) - 1] == '.' &&
               strcmp(name + n - strlen(type), type) == 0;
}

/* "1M", "500K", "2G", "1.5M", "4096". Returns -1 when it is none of those. */
long long api_size_parse(const char *s)
{
        char *end;
        double v = strtod(s, &end);
        double mult = 1;

        if (end == s || v < 0)
                return -1;
        if (*end == 'K' || *end == 'k')
                mult = 1024;
        else if (*end == 'M' || *end == 'm')
                mult = 1024 * 1024;
        else if (*end == 'G' || *end == 'g')
                mult = 1024.0 * 1024 * 1024;
        if (mult != 1)
                end++;
        if (*end || v * mult > (double)LLONG_MAX / 2)
                return -1;
        return (long long)(v * mult);
}

struct grep_state {
        const struct grep_args *a;
        regex_t re;
        const char **include, **exclude;
        long long max_size;
        size_t seen, limit, files_searched, files_matched;
        bool truncated;
        json_t *matches;
};

struct line {
        size_t s, e;
};

/* The lines of buf split at '\n' (a '\r' before it dropped), as readlines() in text mode. */
static struct line *lines_split(const char *buf, size_t len, size_t *ret_n)
{
        size_t n = 0, cap = 64, i = 0;
        struct line *v = aio_xmalloc(cap * sizeof(*v));

        while (i < len) {
                const char *nl = memchr(buf + i, '\n', len - i);
                size_t e = nl ? (size_t)(nl - buf) : len;

                if (n == cap) {
                        cap *= 2;
                        v = aio_xrealloc(v, cap * sizeof(*v));
                }
                v[n++] = (struct line){i, e > i && buf[e - 1] == '\r' ? e - 1 : e};
                i = e + 1;
        }
        *ret_n = n;
        return v;
}

static json_t *context_list(const char *buf, const struct line *l, size_t from, size_t to)
{
        json_t *a = json_array();

        if (!a)
                abort();
        for (size_t k = from; k < to; k++)
                (void)json_array_append_new(a, api_json_text(buf + l[k].s, l[k].e - l[k].s));
        return a;
}

/* Counts one match; returns false once the limit is passed (the answer is truncated). */
static bool grep_take(struct grep_state *s, const char *path, size_t line, const char *text,
                      size_t n, json_t *before, json_t *after)
{
        json_t *m;

        if (s->seen >= s->limit) {
                s->truncated = true;
                json_decref(before);
                json_decref(after);
                return false;
        }
        if (s->seen++ < (size_t)s->a->offset) {
                json_decref(before);
                json_decref(after);
                return true;
        }
        m = json_pack("{s:o, s:I, s:o, s:o, s:o}", "file", api_json_text(path, strlen(path)),
                      "line_number", (json_int_t)line, "line_content", api_json_text(text, n),
                      "context_before", before ? before : json_null(), "context_after",
                      after ? after : json_null());
        if (!m)
                abort();
        (void)json_array_append_new(s->matches, m);
        return true;
}

static bool grep_lines(struct grep_state *s, const char *path, const char *buf, size_t len)
{
        size_t n = 0, before = (size_t)s->a->before, after = (size_t)s->a->after;
        cleanup_free struct line *l = lines_split(buf, len, &n);
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                json_t *cb = NULL, *ca = NULL;

                if (!range_match(&s->re, buf, l[i].s, l[i].e))
                        continue;
                any = true;
                if (before)
                        cb = context_list(buf, l, i > before ? i - before : 0, i);
                if (after)
                        ca = context_list(buf, l, i + 1, i + 1 + after < n ? i + 1 + after : n);
                if (!grep_take(s, path, i + 1, buf + l[i].s, l[i].e - l[i].s, cb, ca))
                        break;
        }
        return any;
}

/* multiline: the pattern runs over the whole file ('.' matches a newline); each match is
 * reported at its first line. */
static bool grep_multiline(struct grep_state *s, const char *path, const char *buf, size_t len)
{
        size_t at = 0, line = 1, counted = 0;
        bool any = false;

        while (at <= len) {
                regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)(len - at)};
                const char *nl;
                size_t ms, me;

                if (regexec(&s->re, buf + at, 1, &m, REG_STARTEND | (at ? REG_NOTBOL : 0)) != 0)
                        break;
                ms = at + (size_t)m.rm_so;
                me = at + (size_t)m.rm_eo;
                for (; counted < ms; counted++)
                        line += buf[counted] == '\n';
                any = true;
                nl = memchr(buf + ms, '\n', me - ms);
                if (!grep_take(s, path, line, buf + ms, nl ? (size_t)(nl - buf) - ms : me - ms,
                               NULL, NULL))
                        break;
                at = me > ms ? me : me + 1;
        }
        return any;
}

static void grep_file(struct grep_state *s, const char *path)
{
        cleanup_free char *buf = NULL;
        struct aio_err err = {0};
        size_t len;
        bool any;

        if (api_file_read_all(path, (size_t)s->max_size, &buf, &len, &err) < 0 ||
            memchr(buf, '\0', len < BINARY_PROBE ? len : BINARY_PROBE))
                return;
        s->files_searched++;
        any = s->a->multiline ? grep_multiline(s, path, buf, len) : grep_lines(s, path, buf, len);
        s->files_matched += any;
}

static bool any_match(const char *const *pats, const char *name)
{
        for (size_t i = 0; pats && pats[i]; i++)
                if (fnmatch(pats[i], name, 0) == 0)
                        return true;
        return false;
}

static int grep_visit(void *cls, const struct walk_entry *e)
{
        struct grep_state *s = cls;
        const struct grep_args *a = s->a;

        if (e->name[0] == '.' || !e->stat_ok || e->is_link || any_match(s->exclude, e->name))
                return WALK_SKIP; /* ripgrep's defaults: no hidden files, no symlinks */
        if (e->is_dir)
                return a->recursive ? WALK_CONTINUE : WALK_SKIP;
        if (!S_ISREG(e->st.st_mode) || e->st.st_size > s->max_size ||
            (a->type && !type_match(a->type, e->name)) ||
            (s->include && s->include[0] && !any_match(s->include, e->name)))
                return WALK_SKIP;
        grep_file(s, e->path);
        return s->truncated ? WALK_STOP : WALK_SKIP;
}

static char *regex_escape(const char *p)
{
        char *out = aio_xmalloc(strlen(p) * 2 + 1), *w = out;

        for (; *p; p++) {
                if (strchr("\\.[](){}*+?|^$", *p))
                        *w++ = '\\';
                *w++ = *p;
        }
        *w = '\0';
        return out;
}

static void grep_checks(const struct grep_args *a, json_t *detail)
{
        api_file_check_range(detail, "context_before", a->before, 0, 20);
        api_file_check_range(detail, "context_after", a->after, 0, 20);
        api_file_check_range(detail, "max_results", a->max_results, 1, 10000);
        api_file_check_range(detail, "offset", a->offset, 0, LLONG_MAX / 2);
}

/* Everything but the walk: path, size limit and pattern. Returns -1 once it answered. */
static int grep_prepare(struct api_resp *resp, const struct grep_args *a, struct grep_state *s,
                        char **ret_path)
{
        cleanup_free char *path = NULL, *esc = NULL;
        struct stat st;

        if (api_file_path(resp, "grep", a->path, &path) < 0)
                return -1;
        if (stat(path, &st) < 0) {
                api_file_fail_errno(resp, "grep", path, errno);
                return -1;
        }
        s->max_size = api_size_parse(a->max_file_size);
        if (s->max_size < 0) {
                api_reply_error(resp, 400,
                                "Invalid max_file_size: expected a size such as 1M, "
                                "500K or 4096");
                return -1;
        }
        if (s->max_size > (long long)API_FILE_READ_MAX)
                s->max_size = API_FILE_READ_MAX;
        if (a->fixed_strings)
                esc = regex_escape(a->pattern);
        if (api_file_regcomp(resp, &s->re, esc ? esc : a->pattern,
                             a->case_insensitive ? REG_ICASE : 0) < 0)
                return -1;
        *ret_path = take_ptr(&path);
        return S_ISDIR(st.st_mode) ? 1 : 0;
}

static json_t *grep_result(const char *path, const struct grep_args *a, struct grep_state *s)
{
        json_t *o = json_pack("{s:o, s:s, s:o, s:I, s:I, s:I, s:b}", "path",
                              api_json_text(path, strlen(path)), "pattern", a->pattern, "matches",
                              s->matches, "match_count", (json_int_t)json_array_size(s->matches),
                              "files_searched", (json_int_t)s->files_searched, "files_matched",
                              (json_int_t)s->files_matched, "truncated", s->truncated);

        if (!o)
                abort();
        return o;
}

int api_file_grep(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct grep_args a = {.max_results = 500, .max_file_size = "1M", .recursive = true};
        cleanup_free char *path = NULL;
        cleanup_free const char **include = NULL, **exclude = NULL;
        struct grep_state s = {.a = &a};
        json_t *detail = api_detail_new();
        char msg[128];
        int dir;

        (void)err;
        if (api_file_unpack(req->body, &grep_body, &a, sizeof(a), detail) == 0)
                grep_checks(&a, detail);
        if (api_reply_422_if(resp, detail))
                return 0;
        dir = grep_prepare(resp, &a, &s, &path);
        if (dir < 0)
                return 0;
        include = api_file_strv(a.include);
        exclude = api_file_strv(a.exclude);
        s.include = include;
        s.exclude = exclude;
        s.limit = (size_t)(a.offset + a.max_results);
        s.matches = json_array();
        if (!s.matches)
                abort();
        if (dir)
                (void)api_walk(path, grep_visit, &s);
        else
                grep_file(&s, path);
        regfree(&s.re);
        (void)snprintf(msg, sizeof(msg), "Grep completed, found %zu matches in %zu files",
                       json_array_size(s.matches), s.files_matched);
        api_reply_ok(resp, msg, grep_result(path, &a, &s));
        return 0;
}
