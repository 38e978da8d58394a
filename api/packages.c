#include "api/packages.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/reply.h"

#define META_MAX     (64u << 10) /* the headers come first; descriptions can be long */
#define PKG_JSON_MAX (1u << 20)

struct pkg {
        char *name, *version, *key; /* key: the normalized name, for order and duplicates */
};

struct pkgs {
        struct pkg *v;
        size_t n;
};

static void pkgs_free(struct pkgs *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].name);
                free(p->v[i].version);
                free(p->v[i].key);
        }
        free(p->v);
}

/* PEP 503: lower case, runs of '-', '_' and '.' become one '-'. */
static char *pkg_key(const char *name, bool python)
{
        char *k = aio_xmalloc(strlen(name) + 1), *o = k;

        for (const char *s = name; *s; s++) {
                if (python && (*s == '-' || *s == '_' || *s == '.')) {
                        if (o == k || o[-1] != '-')
                                *o++ = '-';
                        continue;
                }
                *o++ = (char)tolower((unsigned char)*s);
        }
        *o = '\0';
        return k;
}

static void pkgs_add(struct pkgs *p, const char *name, const char *version, bool python)
{
        char *key = pkg_key(name, python);

        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->v[i].key, key) == 0) {
                        free(key);
                        return; /* the first directory wins, as on sys.path */
                }
        p->v = aio_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
        p->v[p->n++] = (struct pkg){aio_xstrdup(name), aio_xstrdup(version), key};
}

static int pkg_cmp(const void *a, const void *b)
{
        return strcmp(((const struct pkg *)a)->key, ((const struct pkg *)b)->key);
}

/* Reads up to max - 1 bytes of dirfd/path, NUL-terminated; NULL when unreadable. */
static char *read_small(int dirfd, const char *path, size_t max)
{
        cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        char *buf;
        size_t n = 0;
        ssize_t k;

        if (fd < 0)
                return NULL;
        buf = aio_xmalloc(max);
        while (n < max - 1 && (k = read(fd, buf + n, max - 1 - n)) > 0)
                n += (size_t)k;
        buf[n] = '\0';
        return buf;
}

/* "Name:" and "Version:" from the RFC 822 header block of METADATA / PKG-INFO. */
static void meta_field(const char *text, const char *field, char *out, size_t size)
{
        size_t fl = strlen(field);
        const char *l = text;

        out[0] = '\0';
        while (*l && *l != '\n' && *l != '\r') {
                size_t len = strcspn(l, "\r\n");

                if (len > fl && strncasecmp(l, field, fl) == 0 && l[fl] == ':') {
                        const char *v = l + fl + 1 + strspn(l + fl + 1, " \t");
                        size_t vl = (size_t)(l + len - v);

                        if (vl >= size)
                                vl = size - 1;
                        memcpy(out, v, vl);
                        out[vl] = '\0';
                        return;
                }
                l += len;
                if (*l == '\r')
                        l++;
                if (*l == '\n')
                        l++;
        }
}

/* One *.dist-info or *.egg-info entry of a site directory. */
static void python_entry(int dirfd, const char *entry, struct pkgs *p)
{
        const char *ext = strrchr(entry, '.');
        cleanup_free char *text = NULL, *meta = NULL;
        char name[256], version[128];
        struct stat st;

        if (!ext || (strcmp(ext, ".dist-info") != 0 && strcmp(ext, ".egg-info") != 0))
                return;
        if (fstatat(dirfd, entry, &st, 0) < 0)
                return;
        if (S_ISDIR(st.st_mode))
                meta = aio_xasprintf("%s/%s", entry,
                                     strcmp(ext, ".dist-info") == 0 ? "METADATA" : "PKG-INFO");
        else
                meta = aio_xstrdup(entry);
        text = read_small(dirfd, meta, META_MAX);
        if (!text)
                return;
        meta_field(text, "Name", name, sizeof(name));
        meta_field(text, "Version", version, sizeof(version));
        if (!name[0]) { /* name-version.dist-info */
                size_t n = strcspn(entry, "-");

                (void)snprintf(name, sizeof(name), "%.*s", (int)n, entry);
                if (!version[0] && entry[n] == '-')
                        (void)snprintf(version, sizeof(version), "%.*s",
                                       (int)(ext - entry - (ptrdiff_t)n - 1), entry + n + 1);
        }
        if (name[0])
                pkgs_add(p, name, version, true);
}

static void scan_dir(const char *path, void (*fn)(int dirfd, const char *entry, struct pkgs *p),
                     struct pkgs *p)
{
        cleanup_dir DIR *d = opendir(path);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        fn(dirfd(d), e->d_name, p);
}

/* The list as upstream words it: lines of prefix name sep version, or its "none" line. */
static char *pkgs_text(struct pkgs *p, const char *sep, const char *head, const char *tail)
{
        size_t len = strlen(head) + strlen(tail) + 64, o;
        char *out;

        if (p->n)
                qsort(p->v, p->n, sizeof(*p->v), pkg_cmp);
        for (size_t i = 0; i < p->n; i++)
                len += strlen(p->v[i].name) + strlen(p->v[i].version) + 8;
        out = aio_xmalloc(len);
        o = (size_t)snprintf(out, len, "%s", head);
        for (size_t i = 0; i < p->n; i++)
                o += (size_t)snprintf(out + o, len - o, "%s  - %s%s%s", i ? "\n" : "", p->v[i].name,
                                      sep, p->v[i].version);
        if (p->n == 0)
                o += (size_t)snprintf(out + o, len - o, "  - No global packages installed");
        (void)snprintf(out + o, len - o, "%s", tail);
        return out;
}

char *api_python_packages_text(const char *const *dirs)
{
        struct pkgs p = {0};
        char *text;

        for (size_t i = 0; dirs && dirs[i]; i++)
                scan_dir(dirs[i], python_entry, &p);
        text = pkgs_text(&p, "==", "", "");
        pkgs_free(&p);
        return text;
}

/* One package directory: its package.json's name and version. */
static void node_package(int dirfd, const char *entry, struct pkgs *p)
{
        cleanup_free char *path = aio_xasprintf("%s/package.json", entry);
        cleanup_free char *text = read_small(dirfd, path, PKG_JSON_MAX);
        json_auto_t *j = text ? json_loads(text, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(j, "name"));
        const char *version = json_string_value(json_object_get(j, "version"));

        if (j)
                pkgs_add(p, name ? name : entry, version ? version : "", false);
}

/* A top-level entry of node_modules: a package, or an @scope holding packages. */
static void node_entry(int dirfd, const char *entry, struct pkgs *p)
{
        cleanup_dir DIR *d = NULL;
        struct dirent *e;
        int fd;

        if (entry[0] != '@') {
                node_package(dirfd, entry, p);
                return;
        }
        fd = openat(dirfd, entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                closep(&fd);
                return;
        }
        while ((e = readdir(d)))
                if (e->d_name[0] != '.') {
                        cleanup_free char *sub = aio_xasprintf("%s/%s", entry, e->d_name);

                        node_package(dirfd, sub, p);
                }
}

char *api_node_packages_text(const char *const *dirs)
{
        struct pkgs p = {0};
        char *text;

        for (size_t i = 0; dirs && dirs[i]; i++)
                scan_dir(dirs[i], node_entry, &p);
        text = pkgs_text(&p, "@", "Node.js Packages:\n", "\n");
        pkgs_free(&p);
        return text;
}

static void strv_add_dir(char ***v, size_t *n, const char *path)
{
        char real[4096];
        struct stat st;

        if (!realpath(path, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
                return;
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i], real) == 0)
                        return;
        *v = aio_xrealloc(*v, (*n + 2) * sizeof(**v));
        (*v)[(*n)++] = aio_xstrdup(real);
        (*v)[*n] = NULL;
}

static void strv_add_glob(char ***v, size_t *n, const char *pattern)
{
        glob_t g;

        if (glob(pattern, 0, NULL, &g) != 0)
                return;
        for (size_t i = 0; i < g.gl_pathc; i++)
                strv_add_dir(v, n, g.gl_pathv[i]);
        globfree(&g);
}

static char **dirs_from(const char *const *patterns, size_t n_patterns, bool home_first,
                        const char *home_suffix)
{
        const char *home = getenv("HOME");
        char **v = aio_xcalloc(1, sizeof(*v));
        size_t n = 0;

        if (home_first && home && home[0] == '/') {
                cleanup_free char *pat = aio_xasprintf("%s%s", home, home_suffix);

                strv_add_glob(&v, &n, pat);
        }
        for (size_t i = 0; i < n_patterns; i++)
                strv_add_glob(&v, &n, patterns[i]);
        return v;
}

char **api_python_site_dirs(void)
{
        static const char *const pats[] = {
                "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
                "/usr/lib/python3/dist-packages",        "/usr/lib/python3*/dist-packages",
                "/usr/lib/python3*/site-packages",
        };

        return dirs_from(pats, ELEMENTSOF(pats), true, "/.local/lib/python3*/site-packages");
}

char **api_node_module_dirs(void)
{
        static const char *const pats[] = {"/usr/local/lib/node_modules", "/usr/lib/node_modules"};
        const char *prefix = getenv("NPM_CONFIG_PREFIX");
        char **v = dirs_from(pats, 0, true, "/.npm-global/lib/node_modules");
        size_t n = 0;

        while (v[n])
                n++;
        if (!prefix || !*prefix)
                prefix = getenv("npm_config_prefix");
        if (prefix && prefix[0] == '/') {
                cleanup_free char *d = aio_xasprintf("%s/lib/node_modules", prefix);

                strv_add_dir(&v, &n, d);
        }
        for (size_t i = 0; i < ELEMENTSOF(pats); i++)
                strv_add_dir(&v, &n, pats[i]);
        return v;
}

static void reply_text(struct api_resp *resp, char *text)
{
        json_t *s = json_string(text);

        free(text);
        api_reply_ok(resp, "Packages information retrieved", s ? s : json_null());
}

int api_packages_python(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        cleanup_strv char **dirs = api_python_site_dirs();

        (void)req;
        (void)err;
        reply_text(resp, api_python_packages_text((const char *const *)dirs));
        return 0;
}

int api_packages_nodejs(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        cleanup_strv char **dirs = api_node_module_dirs();

        (void)req;
        (void)err;
        reply_text(resp, api_node_packages_text((const char *const *)dirs));
        return 0;
}
