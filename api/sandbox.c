#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/spawn.h"

#define CACHE_MS       1000 /* occupied ports are at most this old */
#define PROBE_MS       3000 /* a version probe that takes longer is killed */
#define DEFAULT_PATH   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ALIASES    6
#define PORT_MAP_BYTES 8192

struct tool_spec {
        char *bin;
        char *ver; /* set by the probe, under the lock */
        const char *alias[MAX_ALIASES];
        size_t n_alias;
};

struct api_sandbox {
        pthread_mutex_t lock;
        char *user, *home, *workspace, *hostname, *os, *os_version, *kernel, *arch, *timezone;
        int own_port;
        struct tool_spec python, node;
        json_t *utils;
        char *body;
        size_t len;
        int64_t built_ms;
        bool dirty;
        pthread_t probe;
        bool probing;
};

/* Upstream's tool list (upstream-api.md §2.1), kept to what this root filesystem has: a row
 * whose binary is not in PATH is left out. */
struct util_row {
        const char *category, *name, *bin, *description;
};
/* clang-format off */
static const struct util_row util_rows[] = {
        { "Text editors",           "vim",         "vim",       "" },
        { "Text editors",           "nano",        "nano",      "" },
        { "File operations",        "wget",        "wget",      "" },
        { "File operations",        "curl",        "curl",      "" },
        { "File operations",        "tar",         "tar",       "" },
        { "File operations",        "zip",         "zip",       "" },
        { "File operations",        "unzip",       "unzip",     "" },
        { "File operations",        "tree",        "tree",      "" },
        { "File operations",        "rsync",       "rsync",     "" },
        { "Development",            "git",         "git",       "" },
        { "Development",            "gh",          "gh",        "" },
        { "Development",            "uv",          "uv",        "" },
        { "Development",            "make",        "make",      "" },
        { "Development",            "gcc",         "gcc",       "" },
        { "Network tools",          "ping",        "ping",      "" },
        { "Network tools",          "telnet",      "telnet",    "" },
        { "Network tools",          "netcat",      "nc",        "" },
        { "Network tools",          "nmap",        "nmap",      "" },
        { "Text processing",        "grep",        "grep",      "" },
        { "Text processing",        "sed",         "sed",       "" },
        { "Text processing",        "awk",         "awk",       "" },
        { "Text processing",        "jq",          "jq",        "" },
        { "Text processing",        "rg",          "rg",        "ripgrep" },
        { "System monitoring",      "htop",        "htop",      "" },
        { "System monitoring",      "procps",      "ps",        "" },
        { "Image processing",       "imagemagick", "convert",   "" },
        { "Document conversion",    "pandoc",      "pandoc",    "" },
        { "Document conversion",    "pdftotext",   "pdftotext", "poppler" },
        { "Audio/Video Downloader", "yt-dlp",      "yt-dlp",    "" },
};
/* clang-format on */

/* The first executable regular file called name in $PATH, or NULL. */
static char *which(const char *name)
{
        const char *path = getenv("PATH");
        const char *p = path && *path ? path : DEFAULT_PATH;

        while (*p) {
                size_t n = strcspn(p, ":");
                char *cand = aio_xasprintf("%.*s/%s", (int)n, p, name);
                struct stat st;

                if (n > 0 && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
                        return cand;
                free(cand);
                p += n + (p[n] == ':');
        }
        return NULL;
}

static bool in_path(const char *name)
{
        cleanup_free char *p = which(name);

        return p != NULL;
}

static void tool_resolve(struct tool_spec *t, const char *const *names, const char *const *aliases)
{
        for (; *names && !t->bin; names++) {
                cleanup_free char *p = which(*names);
                char real[PATH_MAX];

                if (p)
                        t->bin = aio_xstrdup(realpath(p, real) ? real : p);
        }
        if (!t->bin)
                return;
        for (; *aliases && t->n_alias < MAX_ALIASES; aliases++)
                if (in_path(*aliases))
                        t->alias[t->n_alias++] = *aliases;
}

static json_t *utils_build(void)
{
        json_t *cats = json_array(), *cur = NULL;
        const char *cur_name = NULL;

        if (!cats)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(util_rows); i++) {
                const struct util_row *u = &util_rows[i];

                if (!in_path(u->bin))
                        continue;
                if (!cur_name || strcmp(cur_name, u->category) != 0) {
                        cur = json_array();
                        (void)json_array_append_new(cats, json_pack("{s:s, s:o}", "category",
                                                                    u->category, "tools", cur));
                        cur_name = u->category;
                }
                (void)json_array_append_new(cur, json_pack("{s:s, s:s}", "name", u->name,
                                                           "description", u->description));
        }
        return cats;
}

/* PRETTY_NAME of os-release, unquoted; NULL if there is none. */
static char *os_release_pretty(void)
{
        static const char *const files[] = {"/etc/os-release", "/usr/lib/os-release"};

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                cleanup_fclose FILE *f = fopen(files[i], "re");
                cleanup_free char *line = NULL;
                size_t cap = 0;

                while (f && getline(&line, &cap, f) > 0) {
                        char *v = line + 12;

                        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
                                continue;
                        v[strcspn(v, "\n")] = '\0';
                        if (*v == '"' || *v == '\'') {
                                size_t len = strlen(++v);

                                if (len > 0 && (v[len - 1] == '"' || v[len - 1] == '\''))
                                        v[len - 1] = '\0';
                        }
                        return aio_xstrdup(v);
                }
        }
        return NULL;
}

static char *timezone_name(void)
{
        const char *tz = getenv("TZ");
        char buf[256];
        ssize_t n;

        if (tz && *tz)
                return aio_xstrdup(tz[0] == ':' ? tz + 1 : tz);
        {
                cleanup_fclose FILE *f = fopen("/etc/timezone", "re");

                if (f && fgets(buf, sizeof(buf), f) && buf[0] != '\n') {
                        buf[strcspn(buf, "\n")] = '\0';
                        return aio_xstrdup(buf);
                }
        }
        n = readlink("/etc/localtime", buf, sizeof(buf) - 1);
        if (n > 0) {
                const char *z;

                buf[n] = '\0';
                z = strstr(buf, "zoneinfo/");
                if (z && z[9])
                        return aio_xstrdup(z + 9);
        }
        return aio_xstrdup("UTC");
}

static int socket_port(int fd)
{
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof(ss);

        if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
                return -1;
        if (ss.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *)&ss)->sin_port);
        if (ss.ss_family == AF_INET6)
                return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        return -1;
}

static void identity_gather(struct api_sandbox *sb)
{
        const char *user = getenv("USER"), *home = getenv("HOME"), *ws = getenv("WORKSPACE");
        struct passwd *pw = getpwuid(geteuid());
        struct stat st;

        if (!user || !*user)
                user = pw ? pw->pw_name : "gem";
        if (!home || !*home)
                home = pw ? pw->pw_dir : "/home/gem";
        sb->user = aio_xstrdup(user);
        sb->home = aio_xstrdup(home);
        if (ws && *ws) {
                sb->workspace = aio_xstrdup(ws);
        } else {
                sb->workspace = aio_xasprintf("%s/workspace", home);
                if (stat(sb->workspace, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        free(sb->workspace);
                        sb->workspace = aio_xstrdup(home);
                }
        }
}

static void system_gather(struct api_sandbox *sb)
{
        static const char *const py_names[] = {"python3", "python", NULL};
        static const char *const py_alias[] = {"python", "python3", "pip", "pip3", NULL};
        static const char *const node_names[] = {"node", "nodejs", NULL};
        static const char *const node_alias[] = {"nodejs", "npm", "npx", NULL};
        struct utsname u;

        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        sb->hostname = aio_xstrdup(u.nodename);
        sb->os = aio_xstrdup(u.sysname[0] ? u.sysname : "Linux");
        sb->kernel = aio_xstrdup(u.release);
        sb->arch = aio_xstrdup(u.machine);
        sb->os_version = os_release_pretty();
        if (!sb->os_version)
                sb->os_version = aio_xstrdup(u.release);
        sb->timezone = timezone_name();
        tool_resolve(&sb->python, py_names, py_alias);
        tool_resolve(&sb->node, node_names, node_alias);
        sb->utils = utils_build();
}

bool api_version_parse(const char *out, char *buf, size_t size)
{
        const char *p = out;

        while (*p) {
                size_t n;

                p += strspn(p, " \t\r\n");
                n = strcspn(p, " \t\r\n");
                if (n > 0 && (unsigned)(p[0] == 'v' ? p[1] : p[0]) - '0' < 10) {
                        if (p[0] == 'v') {
                                p++;
                                n--;
                        }
                        if (n >= size)
                                return false;
                        memcpy(buf, p, n);
                        buf[n] = '\0';
                        return true;
                }
                p += n;
        }
        return false;
}

/* Runs "bin --version" with a deadline; the version it prints, or NULL. */
static char *probe_version(const char *bin)
{
        const char *argv[] = {bin, "--version", NULL};
        int64_t deadline = api_now_ms() + PROBE_MS;
        char out[256], ver[64];
        size_t len = 0;
        struct aio_err err;
        int p[2], pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return NULL;
        pid = api_spawn(argv, p[1], true, &err);
        (void)close(p[1]);
        while (pid > 0 && len < sizeof(out) - 1) {
                struct pollfd pfd = {.fd = p[0], .events = POLLIN};
                int64_t left = deadline - api_now_ms();
                ssize_t n;

                if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                        break;
                n = read(p[0], out + len, sizeof(out) - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        (void)close(p[0]);
        out[len] = '\0';
        if (pid < 0 || api_wait_deadline(pid, deadline, &err) < 0)
                return NULL;
        return api_version_parse(out, ver, sizeof(ver)) ? aio_xstrdup(ver) : NULL;
}

static void *probe_main(void *arg)
{
        struct api_sandbox *sb = arg;
        char *py = sb->python.bin ? probe_version(sb->python.bin) : NULL;
        char *node = sb->node.bin ? probe_version(sb->node.bin) : NULL;

        (void)pthread_mutex_lock(&sb->lock);
        sb->python.ver = py;
        sb->node.ver = node;
        sb->dirty = true;
        (void)pthread_mutex_unlock(&sb->lock);
        return NULL;
}

struct api_sandbox *api_sandbox_new(int listen_fd, bool probe)
{
        struct api_sandbox *sb = aio_xcalloc(1, sizeof(*sb));

        (void)pthread_mutex_init(&sb->lock, NULL);
        sb->own_port = socket_port(listen_fd);
        identity_gather(sb);
        system_gather(sb);
        sb->dirty = true;
        if (probe && (sb->python.bin || sb->node.bin))
                sb->probing = pthread_create(&sb->probe, NULL, probe_main, sb) == 0;
        return sb;
}

void api_sandbox_probe_wait(struct api_sandbox *sb)
{
        if (sb->probing)
                (void)pthread_join(sb->probe, NULL);
        sb->probing = false;
}

void api_sandbox_free(struct api_sandbox *sb)
{
        if (!sb)
                return;
        api_sandbox_probe_wait(sb);
        free(sb->user);
        free(sb->home);
        free(sb->workspace);
        free(sb->hostname);
        free(sb->os);
        free(sb->os_version);
        free(sb->kernel);
        free(sb->arch);
        free(sb->timezone);
        free(sb->python.bin);
        free(sb->python.ver);
        free(sb->node.bin);
        free(sb->node.ver);
        json_decref(sb->utils);
        free(sb->body);
        (void)pthread_mutex_destroy(&sb->lock);
        free(sb);
}

#define HEX "0123456789abcdefABCDEF"

/* "ADDR:PORT " at p: the port, end past it; false if p is not that. */
static bool addr_port(const char *p, unsigned long *ret_port, const char **ret_end)
{
        char *end;
        unsigned long port;

        p += strspn(p, " ");
        p += strspn(p, HEX);
        if (*p != ':')
                return false;
        port = strtoul(p + 1, &end, 16);
        if (end == p + 1 || *end != ' ')
                return false;
        *ret_port = port;
        *ret_end = end;
        return true;
}

/* "   0: 0100007F:1F90 00000000:0000 0A ...": local port and state; the header does not parse. */
static bool port_line(const char *l, unsigned long *ret_port, unsigned long *ret_state)
{
        const char *colon = strchr(l, ':'), *p;
        unsigned long port, remote, state;
        char *end;

        if (!colon)
                return false;
        (void)strtoul(l, &end, 10);
        if (end != colon || end == l || !addr_port(colon + 1, &port, &p) ||
            !addr_port(p, &remote, &p))
                return false;
        p += strspn(p, " ");
        state = strtoul(p, &end, 16);
        if (end == p)
                return false;
        *ret_port = port;
        *ret_state = state;
        return true;
}

size_t api_ports_parse(const char *text, uint8_t map[PORT_MAP_BYTES])
{
        size_t lines = 0;

        for (const char *l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n')) {
                unsigned long port, state;

                if (!port_line(l, &port, &state))
                        continue;
                lines++;
                if (state == 0x0A && port > 0 && port < 65536)
                        map[port / 8] |= (uint8_t)(1u << (port % 8));
        }
        return lines;
}

static void ports_read(const char *path, uint8_t *map)
{
        cleanup_fclose FILE *f = fopen(path, "re");
        cleanup_free char *line = NULL;
        size_t cap = 0;

        while (f && getline(&line, &cap, f) > 0)
                (void)api_ports_parse(line, map);
}

static json_t *ports_json(const struct api_sandbox *sb)
{
        uint8_t map[PORT_MAP_BYTES] = {0};
        json_t *a = json_array();
        char s[8];

        if (!a)
                abort();
        ports_read("/proc/net/tcp", map);
        ports_read("/proc/net/tcp6", map);
        /* The API socket lives in the host's network namespace: not in our /proc/net. */
        if (sb->own_port > 0)
                map[sb->own_port / 8] |= (uint8_t)(1u << (sb->own_port % 8));
        for (unsigned p = 1; p < 65536; p++)
                if (map[p / 8] & (1u << (p % 8))) {
                        (void)snprintf(s, sizeof(s), "%u", p);
                        (void)json_array_append_new(a, json_string(s));
                }
        return a;
}

static json_t *tool_json(const struct tool_spec *t)
{
        json_t *a = json_array(), *alias = json_array();

        if (!a || !alias)
                abort();
        if (!t->bin) {
                json_decref(alias);
                return a;
        }
        for (size_t i = 0; i < t->n_alias; i++)
                (void)json_array_append_new(alias, json_string(t->alias[i]));
        (void)json_array_append_new(
                a, json_pack("{s:s?, s:s, s:o}", "ver", t->ver, "bin", t->bin, "alias", alias));
        return a;
}

static json_t *detail_json(const struct api_sandbox *sb, json_t *ports)
{
        return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:s}, "
                         "s:{s:o, s:o}, s:O}",
                         "system", "os", sb->os, "os_version", sb->os_version, "arch", sb->arch,
                         "user", sb->user, "home_dir", sb->home, "workspace", sb->workspace,
                         "timezone", sb->timezone, "occupied_ports", ports, "hostname",
                         sb->hostname, "kernel", sb->kernel, "runtime", "python",
                         tool_json(&sb->python), "nodejs", tool_json(&sb->node), "utils",
                         sb->utils);
}

static void text_tools(FILE *f, const char *title, const struct tool_spec *t)
{
        (void)fprintf(f, "%s:\n", title);
        if (t->bin)
                (void)fprintf(f, "- %s (path: %s)\n", t->ver ? t->ver : "unknown version", t->bin);
        else
                (void)fprintf(f, "- not installed\n");
}

/* The human-readable "data" string, in upstream's layout. */
static char *text_build(const struct api_sandbox *sb, const json_t *ports)
{
        char *buf = NULL;
        size_t size = 0, i;
        FILE *f = open_memstream(&buf, &size);
        json_t *v;

        if (!f)
                abort();
        (void)fprintf(f, "## System Environment (v%s):\n- %s, %s (%s), kernel %s\n", AIO_VERSION,
                      sb->os_version, sb->os, sb->arch, sb->kernel);
        (void)fprintf(f, "- User: %s\n- Home directory: %s\n- Workspace: %s\n- Hostname: %s\n",
                      sb->user, sb->home, sb->workspace, sb->hostname);
        (void)fprintf(f, "- Timezone: %s\n- Occupied Ports: ", sb->timezone);
        json_array_foreach(ports, i, v) {
                (void)fprintf(f, "%s%s", i ? "," : "", json_string_value(v));
        }
        (void)fprintf(f, "\n\n## Development Environment:\n");
        text_tools(f, "Python", &sb->python);
        (void)fprintf(f, "\n");
        text_tools(f, "Node.js", &sb->node);
        (void)fprintf(f, "\n## Available Tools:\n");
        json_array_foreach(sb->utils, i, v) {
                json_t *tool;
                size_t j;

                (void)fprintf(f, "- %s: ", json_string_value(json_object_get(v, "category")));
                json_array_foreach(json_object_get(v, "tools"), j, tool) {
                        (void)fprintf(f, "%s%s", j ? ", " : "",
                                      json_string_value(json_object_get(tool, "name")));
                }
                (void)fprintf(f, "\n");
        }
        if (fclose(f) != 0)
                abort();
        return buf;
}

static void cache_rebuild(struct api_sandbox *sb)
{
        json_t *ports = ports_json(sb), *o;
        cleanup_free char *text = text_build(sb, ports);

        o = json_pack("{s:b, s:s, s:s, s:n, s:s, s:s, s:s, s:o}", "success", 1, "message",
                      "Environment information retrieved", "data", text, "hint", "home_dir",
                      sb->home, "workspace", sb->workspace, "version", AIO_VERSION, "detail",
                      detail_json(sb, ports));
        json_decref(ports);
        if (!o)
                abort();
        free(sb->body);
        sb->body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!sb->body)
                abort();
        sb->len = strlen(sb->body);
        sb->built_ms = api_now_ms();
        sb->dirty = false;
}

int api_sandbox_body(struct api_sandbox *sb, char **ret_body, size_t *ret_len, struct aio_err *err)
{
        char *copy;

        (void)err;
        (void)pthread_mutex_lock(&sb->lock);
        if (sb->dirty || api_now_ms() - sb->built_ms >= CACHE_MS)
                cache_rebuild(sb);
        copy = aio_xmalloc(sb->len + 1);
        memcpy(copy, sb->body, sb->len + 1);
        *ret_len = sb->len;
        (void)pthread_mutex_unlock(&sb->lock);
        *ret_body = copy;
        return 0;
}
