/* /v1/file/watch: inotify watchers (recursive by adding a watch per subdirectory, new ones as
 * they appear), a bounded event queue per watcher with sequence numbers, long polling, an SSE
 * stream and a one-shot wait. Like upstream these answer resource-style JSON ({"data": ...},
 * {"events", "cursor", "overflow"}, {"event": ...}), errors in the envelope with 400/404/408/429.
 *
 * Nothing runs in the background: the kernel queues inotify events and whoever asks (poll,
 * events, list) drains them into the watcher's queue under its lock. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/api.h"
#include "api/file-internal.h"
#include "api/file-walk.h"
#include "api/file.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/spawn.h"
#include "api/stream.h"
#include "api/validate.h"

#define WATCH_MAX      32   /* watchers at once */
#define WATCH_QUEUE    4096 /* events kept per watcher */
#define WATCH_MAX_DIRS 8192 /* inotify watches per watcher */
#define WATCH_MASK                                                                          \
        (IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
         IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct watch_event {
        uint64_t seq;
        const char *type; /* static */
        char *path, *old_path;
        bool is_dir;
        double ts;
};

struct wd_path {
        int wd;
        char *path;
};

struct watcher {
        char id[40];
        char *path;
        bool recursive, is_file;
        long long debounce_ms;
        char **exclude, **include;
        double created_at;
        pthread_mutex_t lock;
        int refs;     /* under the registry's lock */
        bool closing; /* stopped: no more answers */
        int fd;
        struct wd_path *wds;
        size_t n_wds;
        struct watch_event q[WATCH_QUEUE]; /* ring: seq k at q[k % WATCH_QUEUE] */
        uint64_t next_seq, lost_upto;      /* events with seq <= lost_upto were dropped */
        uint32_t move_cookie;
        char *move_from;
        bool move_dir;
};

struct api_watches {
        pthread_mutex_t lock;
        struct watcher *v[WATCH_MAX];
        size_t n;
        struct api_edit_history *history;
        pthread_t drainer; /* adds watches for new subdirectories while nobody asks */
        bool has_drainer;
        atomic_bool stopping;
};

static double now_s(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct api_edit_history *api_watches_history(struct api_watches *w)
{
        return w->history;
}

static void watcher_free(struct watcher *w)
{
        for (size_t i = 0; i < WATCH_QUEUE; i++) {
                free(w->q[i].path);
                free(w->q[i].old_path);
        }
        for (size_t i = 0; i < w->n_wds; i++)
                free(w->wds[i].path);
        free(w->wds);
        free(w->move_from);
        aio_strv_free(w->exclude);
        aio_strv_free(w->include);
        free(w->path);
        if (w->fd >= 0)
                (void)close(w->fd);
        (void)pthread_mutex_destroy(&w->lock);
        free(w);
}

static void watcher_unref(struct api_watches *reg, struct watcher *w)
{
        bool last;

        (void)pthread_mutex_lock(&reg->lock);
        last = --w->refs == 0;
        (void)pthread_mutex_unlock(&reg->lock);
        if (last)
                watcher_free(w);
}

/* The watcher with id, a reference taken; NULL when there is none. */
static struct watcher *watcher_get(struct api_watches *reg, const char *id)
{
        struct watcher *w = NULL;

        (void)pthread_mutex_lock(&reg->lock);
        for (size_t i = 0; i < reg->n && !w; i++)
                if (strcmp(reg->v[i]->id, id) == 0 && !reg->v[i]->closing) {
                        w = reg->v[i];
                        w->refs++;
                }
        (void)pthread_mutex_unlock(&reg->lock);
        return w;
}

static void reply_code(struct api_resp *resp, unsigned status, const char *code, const char *msg)
{
        json_t *data = json_pack("{s:s, s:s}", "code", code, "message", msg);

        if (!data)
                abort();
        api_reply_json(resp, status, api_envelope(false, msg, data));
}

static void not_found(struct api_resp *resp, const char *id)
{
        cleanup_free char *msg = aio_xasprintf("Watcher %s not found", id);

        reply_code(resp, 404, "WATCHER_NOT_FOUND", msg);
}

/* --- patterns ----------------------------------------------------------------------------- */

static bool any_fnmatch(char *const *pats, const char *s)
{
        for (size_t i = 0; pats && pats[i]; i++)
                if (fnmatch(pats[i], s, 0) == 0)
                        return true;
        return false;
}

/* Excluded: a component of the path below the root matches an exclude pattern. */
static bool path_excluded(const struct watcher *w, const char *rel)
{
        char buf[PATH_MAX];
        char *save = NULL;

        if (!w->exclude || !w->exclude[0])
                return false;
        (void)snprintf(buf, sizeof(buf), "%s", rel);
        for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (any_fnmatch(w->exclude, c))
                        return true;
        return false;
}

static const char *rel_of(const struct watcher *w, const char *path)
{
        size_t n = strlen(w->path);

        if (strncmp(path, w->path, n) == 0 && path[n] == '/')
                return path + n + 1;
        if (strcmp(path, w->path) == 0) {
                const char *b = strrchr(path, '/');

                return b ? b + 1 : path;
        }
        return path;
}

static bool path_wanted(const struct watcher *w, const char *path)
{
        const char *rel = rel_of(w, path), *name = strrchr(path, '/');

        name = name ? name + 1 : path;
        if (path_excluded(w, rel))
                return false;
        return !w->include || !w->include[0] || any_fnmatch(w->include, name) ||
               any_fnmatch(w->include, rel);
}

/* --- inotify watches ---------------------------------------------------------------------- */

static const char *wd_path(const struct watcher *w, int wd)
{
        for (size_t i = 0; i < w->n_wds; i++)
                if (w->wds[i].wd == wd)
                        return w->wds[i].path;
        return NULL;
}

static void wd_forget(struct watcher *w, int wd)
{
        for (size_t i = 0; i < w->n_wds; i++)
                if (w->wds[i].wd == wd) {
                        free(w->wds[i].path);
                        w->wds[i] = w->wds[--w->n_wds];
                        return;
                }
}

static int wd_add(struct watcher *w, const char *path)
{
        int wd;

        if (w->n_wds >= WATCH_MAX_DIRS)
                return -ENOSPC;
        wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR * !w->is_file);
        if (wd < 0)
                return -errno;
        for (size_t i = 0; i < w->n_wds; i++)
                if (w->wds[i].wd == wd) { /* the same directory again (a move): renamed */
                        free(w->wds[i].path);
                        w->wds[i].path = aio_xstrdup(path);
                        return 0;
                }
        w->wds = aio_xrealloc(w->wds, (w->n_wds + 1) * sizeof(*w->wds));
        w->wds[w->n_wds++] = (struct wd_path){wd, aio_xstrdup(path)};
        return 0;
}

static void queue_push(struct watcher *w, const char *type, const char *path, const char *old_path,
                       bool is_dir);

struct subtree {
        struct watcher *w;
        bool announce; /* queue create events for what is found (a new directory's contents) */
};

static int subtree_visit(void *cls, const struct walk_entry *e)
{
        struct subtree *t = cls;

        if (path_excluded(t->w, rel_of(t->w, e->path)))
                return WALK_SKIP;
        if (t->announce)
                queue_push(t->w, "create", e->path, NULL, e->is_dir);
        if (!e->is_dir || e->is_link)
                return WALK_SKIP;
        return wd_add(t->w, e->path) == -ENOSPC ? WALK_STOP : WALK_CONTINUE;
}

static void subtree_add(struct watcher *w, const char *dir, bool announce)
{
        struct subtree t = {w, announce};

        (void)api_walk(dir, subtree_visit, &t);
}

/* --- the event queue ---------------------------------------------------------------------- */

static struct watch_event *queue_at(struct watcher *w, uint64_t seq)
{
        return &w->q[seq % WATCH_QUEUE];
}

static void queue_push(struct watcher *w, const char *type, const char *path, const char *old_path,
                       bool is_dir)
{
        double ts = now_s();
        struct watch_event *e;
        uint64_t seq;

        if (!path_wanted(w, path))
                return;
        if (w->next_seq > 0 && strcmp(type, "write") == 0) { /* debounce repeated writes */
                e = queue_at(w, w->next_seq);
                if (e->seq == w->next_seq && strcmp(e->type, "write") == 0 &&
                    strcmp(e->path, path) == 0 && (ts - e->ts) * 1000 < (double)w->debounce_ms) {
                        e->ts = ts;
                        return;
                }
        }
        seq = ++w->next_seq;
        e = queue_at(w, seq);
        if (e->seq && e->seq + WATCH_QUEUE == seq)
                w->lost_upto = e->seq;
        free(e->path);
        free(e->old_path);
        *e = (struct watch_event){
                seq, type, aio_xstrdup(path), old_path ? aio_xstrdup(old_path) : NULL, is_dir, ts};
}

static json_t *event_json(const struct watcher *w, const struct watch_event *e)
{
        struct stat st;
        bool have = stat(e->path, &st) == 0;
        json_t *o = json_pack(
                "{s:I, s:s, s:s, s:o, s:o, s:o, s:b, s:f, s:o, s:o, s:o}", "seq",
                (json_int_t)e->seq, "watcher_id", w->id, "type", e->type, "path",
                api_json_text(e->path, strlen(e->path)), "relative_path",
                api_json_text(rel_of(w, e->path), strlen(rel_of(w, e->path))), "old_path",
                e->old_path ? api_json_text(e->old_path, strlen(e->old_path)) : json_null(),
                "is_dir", e->is_dir, "timestamp", e->ts, "mtime",
                have ? json_real((double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9)
                     : json_null(),
                "size", have ? json_integer(st.st_size) : json_null(), "inode",
                have ? json_integer((json_int_t)st.st_ino) : json_null());

        if (!o)
                abort();
        return o;
}

static const char *mask_type(uint32_t mask)
{
        if (mask & (IN_CREATE | IN_MOVED_TO))
                return "create";
        if (mask & (IN_DELETE | IN_DELETE_SELF | IN_MOVED_FROM | IN_MOVE_SELF))
                return "remove";
        if (mask & (IN_MODIFY | IN_CLOSE_WRITE))
                return "write";
        return "chmod";
}

/* The hidden temp file of one of our atomic writes (file-ops.c: ".<name>.aio-XXXXXX" beside the
 * file, renamed over it): the caller wrote the file; upstream, writing in place, shows a write. */
static bool is_write_temp(const char *path)
{
        static const char suffix[] = ".aio-XXXXXX";
        const char *name = strrchr(path, '/');
        size_t n, k = sizeof(suffix) - 1;

        name = name ? name + 1 : path;
        n = strlen(name);
        if (name[0] != '.' || n < k + 2 || strncmp(name + n - k, suffix, 5) != 0)
                return false;
        for (const char *c = name + n - 6; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9')))
                        return false;
        return true;
}

/* A rename's first half waits for its IN_MOVED_TO; alone it was a move out: a remove. */
static void move_flush(struct watcher *w)
{
        if (!w->move_from)
                return;
        if (!is_write_temp(w->move_from))
                queue_push(w, "remove", w->move_from, NULL, w->move_dir);
        free(w->move_from);
        w->move_from = NULL;
        w->move_cookie = 0;
}

static void one_event(struct watcher *w, const struct inotify_event *ev)
{
        const char *dir = wd_path(w, ev->wd);
        cleanup_free char *path = NULL;
        bool is_dir = ev->mask & IN_ISDIR;

        if (ev->mask & IN_Q_OVERFLOW) {
                w->lost_upto = w->next_seq;
                return;
        }
        if (ev->mask & IN_IGNORED) {
                wd_forget(w, ev->wd);
                return;
        }
        if (!dir || ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) && strcmp(dir, w->path) != 0))
                return; /* a subdirectory's own end shows as its parent's IN_DELETE */
        path = ev->len && ev->name[0] ? aio_xasprintf("%s/%s", dir, ev->name) : aio_xstrdup(dir);
        if (ev->mask & IN_MOVED_FROM) {
                move_flush(w);
                w->move_from = take_ptr(&path);
                w->move_cookie = ev->cookie;
                w->move_dir = is_dir;
                return;
        }
        if ((ev->mask & IN_MOVED_TO) && w->move_from && ev->cookie == w->move_cookie) {
                if (is_write_temp(w->move_from))
                        queue_push(w, "write", path, NULL, is_dir);
                else
                        queue_push(w, "rename", path, w->move_from, is_dir);
                free(w->move_from);
                w->move_from = NULL;
        } else {
                move_flush(w);
                if (!is_write_temp(path))
                        queue_push(w, mask_type(ev->mask), path, NULL, is_dir);
        }
        if (w->recursive && is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
            !path_excluded(w, rel_of(w, path)) && wd_add(w, path) == 0)
                subtree_add(w, path, true);
}

/* Moves what the kernel queued into the watcher's queue. Under w->lock. */
static void drain(struct watcher *w)
{
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof(buf));

                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

                        one_event(w, ev);
                        p += sizeof(*ev) + ev->len;
                }
        }
        move_flush(w);
}

/* Events after cursor (at most limit) as a JSON array; *ret_overflow: some were lost. */
static json_t *events_after(struct watcher *w, uint64_t cursor, size_t limit, bool *ret_overflow,
                            uint64_t *ret_last)
{
        json_t *a = json_array();
        uint64_t first = w->next_seq > WATCH_QUEUE ? w->next_seq - WATCH_QUEUE + 1 : 1;

        if (!a)
                abort();
        *ret_overflow = cursor < w->lost_upto;
        *ret_last = cursor;
        for (uint64_t s = cursor + 1 > first ? cursor + 1 : first;
             s <= w->next_seq && json_array_size(a) < limit; s++) {
                (void)json_array_append_new(a, event_json(w, queue_at(w, s)));
                *ret_last = s;
        }
        return a;
}

/* Waits up to ms for the kernel to have something for w (or its end). */
static void fd_wait(struct watcher *w, int ms)
{
        struct pollfd p = {.fd = w->fd, .events = POLLIN};

        (void)poll(&p, 1, ms);
}

/* --- the drainer thread ------------------------------------------------------------------- */

static void drain_ready(struct watcher *const *ws, const struct pollfd *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (!(p[i].revents & POLLIN))
                        continue;
                (void)pthread_mutex_lock(&ws[i]->lock);
                drain(ws[i]);
                (void)pthread_mutex_unlock(&ws[i]->lock);
        }
}

/* Drains every watcher as soon as the kernel has events for it, so that a new subdirectory is
 * watched before much happens in it; picks up new watchers within 200 ms. */
static void *drainer_main(void *arg)
{
        struct api_watches *reg = arg;

        while (!atomic_load(&reg->stopping)) {
                struct watcher *ws[WATCH_MAX];
                struct pollfd p[WATCH_MAX];
                size_t n;

                (void)pthread_mutex_lock(&reg->lock);
                n = reg->n;
                for (size_t i = 0; i < n; i++) {
                        ws[i] = reg->v[i];
                        ws[i]->refs++;
                        p[i] = (struct pollfd){.fd = ws[i]->fd, .events = POLLIN};
                }
                (void)pthread_mutex_unlock(&reg->lock);
                if (poll(p, n, 200) > 0)
                        drain_ready(ws, p, n);
                for (size_t i = 0; i < n; i++)
                        watcher_unref(reg, ws[i]);
        }
        return NULL;
}

struct api_watches *api_watches_new(void)
{
        struct api_watches *w = aio_xcalloc(1, sizeof(*w));
        sigset_t all, old;

        (void)pthread_mutex_init(&w->lock, NULL);
        w->history = api_history_new();
        /* the thread must not take the signals main() waits for */
        (void)sigfillset(&all);
        (void)pthread_sigmask(SIG_BLOCK, &all, &old);
        w->has_drainer = pthread_create(&w->drainer, NULL, drainer_main, w) == 0;
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        return w;
}

void api_watches_free(struct api_watches *reg)
{
        if (!reg)
                return;
        atomic_store(&reg->stopping, true);
        if (reg->has_drainer)
                (void)pthread_join(reg->drainer, NULL);
        for (size_t i = 0; i < reg->n; i++)
                watcher_unref(reg, reg->v[i]);
        api_history_free(reg->history);
        (void)pthread_mutex_destroy(&reg->lock);
        free(reg);
}

/* --- handlers ----------------------------------------------------------------------------- */

struct create_args {
        const char *path;
        bool recursive;
        long long debounce;
        const json_t *exclude, *include;
};

/* clang-format off */
static const struct api_field create_fields[] = {
        { "path",      API_T_STRING, true,  false, offsetof(struct create_args, path),      0, NULL, NULL },
        { "recursive", API_T_BOOL,   false, false, offsetof(struct create_args, recursive), 0, NULL, NULL },
        { "debounce",  API_T_INT,    false, false, offsetof(struct create_args, debounce),  0, NULL, NULL },
};
static const struct api_file_list create_lists[] = {
        { "exclude",          false, false, offsetof(struct create_args, exclude) },
        { "include_patterns", false, false, offsetof(struct create_args, include) },
};
/* clang-format on */
static const struct api_file_body create_body = API_FILE_BODY(create_fields, create_lists);

static const char *const default_exclude[] = {
        ".git",  "node_modules", "__pycache__", ".venv", "*.pyc",
        "*.pyo", ".DS_Store",    "*.swp",       "*.swo", NULL,
};

static const char *const no_patterns[] = {NULL};

static char **strv_dup(const json_t *list, const char *const *dflt)
{
        size_t n = list ? json_array_size(list) : 0;
        char **v;

        if (!list)
                for (; dflt[n]; n++)
                        ;
        v = aio_xcalloc(n + 1, sizeof(*v));
        for (size_t i = 0; i < n; i++)
                v[i] = aio_xstrdup(list ? json_string_value(json_array_get(list, i)) : dflt[i]);
        return v;
}

static json_t *created_json(const struct watcher *w, bool reused)
{
        json_t *o = json_pack("{s:{s:s, s:o, s:s, s:f, s:b}}", "data", "watcher_id", w->id, "path",
                              api_json_text(w->path, strlen(w->path)), "status", "running",
                              "created_at", w->created_at, "reused", reused);

        if (!o)
                abort();
        return o;
}

static struct watcher *watcher_new(const char *path, const struct create_args *a, bool is_file,
                                   struct aio_err *err)
{
        struct watcher *w = aio_xcalloc(1, sizeof(*w));
        uint8_t rnd[6];

        (void)pthread_mutex_init(&w->lock, NULL);
        w->path = aio_xstrdup(path);
        w->recursive = a->recursive && !is_file;
        w->is_file = is_file;
        w->debounce_ms = a->debounce;
        w->exclude = strv_dup(a->exclude, default_exclude);
        w->include = strv_dup(a->include, no_patterns);
        w->created_at = now_s();
        w->refs = 1;
        w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                memset(rnd, 0, sizeof(rnd));
        (void)snprintf(w->id, sizeof(w->id), "watch_%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                       rnd[2], rnd[3], rnd[4], rnd[5]);
        if (w->fd < 0 || wd_add(w, path) < 0) {
                (void)aio_error(err, errno, "inotify on %s", path);
                watcher_free(w);
                return NULL;
        }
        if (w->recursive)
                subtree_add(w, path, false);
        return w;
}

/* Registers w unless a watcher for the same path exists (*ret_reused) or there are too many. */
static int registry_add(struct api_watches *reg, struct watcher **w, bool *ret_reused)
{
        int r = 0;

        (void)pthread_mutex_lock(&reg->lock);
        for (size_t i = 0; i < reg->n; i++)
                if (!reg->v[i]->closing && strcmp(reg->v[i]->path, (*w)->path) == 0 &&
                    reg->v[i]->recursive == (*w)->recursive) {
                        watcher_free(*w);
                        *w = reg->v[i];
                        *ret_reused = true;
                        goto out;
                }
        if (reg->n == WATCH_MAX)
                r = -EAGAIN;
        else
                reg->v[reg->n++] = *w;
out:
        (void)pthread_mutex_unlock(&reg->lock);
        return r;
}

int api_watch_create(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct create_args a = {.recursive = true, .debounce = 300};
        cleanup_free char *path = NULL, *msg = NULL;
        json_t *detail = api_detail_new();
        struct watcher *w;
        bool reused = false;
        struct stat st;

        if (api_file_unpack(req->body, &create_body, &a, sizeof(a), detail) == 0)
                api_file_check_range(detail, "debounce", a.debounce, 50, 5000);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "watch", a.path, &path) < 0)
                return 0;
        if (stat(path, &st) < 0) {
                msg = aio_xasprintf("Path does not exist: %s", path);
                api_reply_error(resp, 400, msg);
                return 0;
        }
        w = watcher_new(path, &a, !S_ISDIR(st.st_mode), err);
        if (!w)
                return -EIO;
        if (registry_add(req->ctx->watches, &w, &reused) < 0) {
                watcher_free(w);
                msg = aio_xasprintf("Maximum number of watchers (%d) reached", WATCH_MAX);
                reply_code(resp, 429, "WATCH_LIMIT_EXCEEDED", msg);
                return 0;
        }
        api_reply_json(resp, 200, created_json(w, reused));
        return 0;
}

int api_watch_list(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct api_watches *reg = req->ctx->watches;
        json_t *list = json_array(), *o;

        (void)err;
        if (!list)
                abort();
        (void)pthread_mutex_lock(&reg->lock);
        for (size_t i = 0; i < reg->n; i++) {
                struct watcher *w = reg->v[i];

                (void)pthread_mutex_lock(&w->lock);
                drain(w);
                o = json_pack("{s:s, s:o, s:b, s:s, s:i, s:I, s:I, s:f}", "watcher_id", w->id,
                              "path", api_json_text(w->path, strlen(w->path)), "recursive",
                              w->recursive, "status", "running", "subscriber_count", w->refs - 1,
                              "event_count",
                              (json_int_t)(w->next_seq < WATCH_QUEUE ? w->next_seq : WATCH_QUEUE),
                              "latest_seq", (json_int_t)w->next_seq, "created_at", w->created_at);
                (void)pthread_mutex_unlock(&w->lock);
                if (!o)
                        abort();
                (void)json_array_append_new(list, o);
        }
        (void)pthread_mutex_unlock(&reg->lock);
        o = json_pack("{s:o}", "data", list);
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
        return 0;
}

int api_watch_stop(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct api_watches *reg = req->ctx->watches;
        const char *id = api_param_get(req, "watcher_id");
        struct watcher *w = NULL;
        json_t *o;

        (void)err;
        (void)pthread_mutex_lock(&reg->lock);
        for (size_t i = 0; i < reg->n && !w; i++)
                if (strcmp(reg->v[i]->id, id) == 0) {
                        w = reg->v[i];
                        w->closing = true;
                        reg->v[i] = reg->v[--reg->n];
                }
        (void)pthread_mutex_unlock(&reg->lock);
        if (!w) {
                not_found(resp, id);
                return 0;
        }
        watcher_unref(reg, w); /* the registry's reference; streams still reading hold theirs */
        o = json_pack("{s:{s:s, s:s}}", "data", "watcher_id", id, "status", "stopped");
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
        return 0;
}

struct poll_args {
        long long cursor, limit, timeout;
};

/* clang-format off */
static const struct api_field poll_fields[] = {
        { "cursor",  API_T_INT, false, false, offsetof(struct poll_args, cursor),  0, NULL, NULL },
        { "limit",   API_T_INT, false, false, offsetof(struct poll_args, limit),   0, NULL, NULL },
        { "timeout", API_T_INT, false, false, offsetof(struct poll_args, timeout), 0, NULL, NULL },
};
/* clang-format on */

static json_t *poll_collect(struct watcher *w, const struct poll_args *a)
{
        bool overflow;
        uint64_t last;
        json_t *events, *o;

        (void)pthread_mutex_lock(&w->lock);
        drain(w);
        events = events_after(w, (uint64_t)a->cursor, (size_t)a->limit, &overflow, &last);
        (void)pthread_mutex_unlock(&w->lock);
        if (json_array_size(events) == 0 && !overflow) {
                json_decref(events);
                return NULL;
        }
        o = json_pack("{s:o, s:I, s:b}", "events", events, "cursor", (json_int_t)last, "overflow",
                      overflow);
        if (!o)
                abort();
        return o;
}

int api_watch_poll(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct poll_args a = {.limit = 100};
        const char *id = api_param_get(req, "watcher_id");
        json_t *detail = api_detail_new(), *o = NULL;
        struct watcher *w;
        int64_t deadline;

        (void)err;
        if (api_fields_unpack(req->body, poll_fields, ELEMENTSOF(poll_fields), &a, sizeof(a),
                              detail) == 0) {
                api_file_check_range(detail, "cursor", a.cursor, 0, LLONG_MAX);
                api_file_check_range(detail, "limit", a.limit, 1, 1000);
                api_file_check_range(detail, "timeout", a.timeout, 0, 60);
        }
        if (api_reply_422_if(resp, detail))
                return 0;
        w = watcher_get(req->ctx->watches, id);
        if (!w) {
                not_found(resp, id);
                return 0;
        }
        deadline = api_now_ms() + a.timeout * 1000;
        while (!(o = poll_collect(w, &a)) && !w->closing && !api_req_gone(req)) {
                int64_t left = deadline - api_now_ms();

                if (left <= 0)
                        break;
                fd_wait(w, left < 500 ? (int)left : 500);
        }
        if (!o)
                o = json_pack("{s:[], s:I, s:b}", "events", "cursor", (json_int_t)a.cursor,
                              "overflow", 0);
        watcher_unref(req->ctx->watches, w);
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
        return 0;
}

/* --- SSE ---------------------------------------------------------------------------------- */

struct sse {
        struct api_watches *reg;
        struct watcher *w;
        uint64_t last;
};

static void sse_free(void *cls)
{
        struct sse *s = cls;

        watcher_unref(s->reg, s->w);
        free(s);
}

static int sse_send(struct sse *s, struct api_stream *st, json_t *events, bool overflow)
{
        json_t *e;
        size_t i;
        int r = 0;

        json_array_foreach(events, i, e) {
                cleanup_free char *d = json_dumps(e, JSON_COMPACT);

                s->last = (uint64_t)json_integer_value(json_object_get(e, "seq"));
                if (r == 0 && d)
                        r = api_stream_printf(st, "id: %s:%llu\nevent: file_change\ndata: %s\n\n",
                                              s->w->id, (unsigned long long)s->last, d);
        }
        if (r == 0 && overflow)
                r = api_stream_printf(st,
                                      "event: overflow\ndata: {\"message\":\"event buffer "
                                      "overflow\",\"watcher_id\":\"%s\"}\n\n",
                                      s->w->id);
        return overflow ? -EOVERFLOW : r;
}

static void sse_run(void *cls, struct api_stream *st)
{
        struct sse *s = cls;
        json_t *jp = api_json_text(s->w->path, strlen(s->w->path));
        cleanup_free char *path = json_dumps(jp, JSON_ENCODE_ANY);
        int64_t beat = api_now_ms() + 30000;
        int r;

        json_decref(jp);
        r = api_stream_printf(st,
                              "event: watch_started\ndata: {\"watcher_id\":\"%s\","
                              "\"path\":%s}\n\n",
                              s->w->id, path ? path : "null");

        while (r == 0 && !s->w->closing && !api_stream_gone(st)) {
                bool overflow;
                uint64_t last;
                json_t *events;

                (void)pthread_mutex_lock(&s->w->lock);
                drain(s->w);
                events = events_after(s->w, s->last, 1000, &overflow, &last);
                (void)pthread_mutex_unlock(&s->w->lock);
                r = sse_send(s, st, events, overflow);
                json_decref(events);
                if (r == 0 && api_now_ms() > beat) {
                        r = api_stream_printf(st, ": heartbeat\n\n");
                        beat = api_now_ms() + 30000;
                }
                if (r == 0)
                        fd_wait(s->w, 500);
        }
}

int api_watch_events(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        const char *id = api_param_get(req, "watcher_id"),
                   *last = api_header_get(req, "Last-Event-ID");
        const char *colon = last ? strrchr(last, ':') : NULL;
        struct watcher *w = watcher_get(req->ctx->watches, id);
        struct sse *s;

        (void)err;
        if (!w) {
                not_found(resp, id);
                return 0;
        }
        s = aio_xcalloc(1, sizeof(*s));
        *s = (struct sse){req->ctx->watches, w, colon ? strtoull(colon + 1, NULL, 10) : 0};
        if (!colon) { /* from now on: what happened before the stream is poll's business */
                (void)pthread_mutex_lock(&w->lock);
                drain(w);
                s->last = w->next_seq;
                (void)pthread_mutex_unlock(&w->lock);
        }
        api_resp_header(resp, "Cache-Control", "no-cache");
        api_resp_header(resp, "X-Accel-Buffering", "no");
        api_resp_stream(resp, 200, "text/event-stream", sse_run, s, sse_free);
        return 0;
}

/* --- wait --------------------------------------------------------------------------------- */

struct wait_args {
        const char *path;
        long long timeout;
        const json_t *types;
};

/* clang-format off */
static const struct api_field wait_fields[] = {
        { "path",    API_T_STRING, true,  false, offsetof(struct wait_args, path),    0, NULL, NULL },
        { "timeout", API_T_INT,    false, false, offsetof(struct wait_args, timeout), 0, NULL, NULL },
};
static const struct api_file_list wait_lists[] = {
        { "event_types", false, false, offsetof(struct wait_args, types) },
};
/* clang-format on */
static const struct api_file_body wait_body = API_FILE_BODY(wait_fields, wait_lists);

static const char *const wait_types[] = {"create", "write", "remove", "rename", "chmod", NULL};

static bool type_in(const json_t *types, const char *type)
{
        const json_t *t;
        size_t i;

        if (!types)
                return true;
        json_array_foreach(types, i, t) {
                if (strcmp(json_string_value(t), type) == 0)
                        return true;
        }
        return false;
}

static void wait_reply(struct api_resp *resp, struct watcher *w, const char *type, const char *path,
                       const char *old)
{
        struct watch_event e = {0, type, (char *)path, (char *)old, false, now_s()};
        struct stat st;
        json_t *o;

        e.is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        o = json_pack("{s:o}", "event", event_json(w, &e));
        if (!o)
                abort();
        api_reply_json(resp, 200, o);
}

/* The one event for path in what the kernel has; NULL type when there is none yet. */
static const char *wait_scan(struct watcher *w, const char *path, const json_t *types,
                             char **ret_old)
{
        const char *found = NULL;
        uint64_t from = w->next_seq;

        drain(w);
        for (uint64_t s = from + 1; s <= w->next_seq && !found; s++) {
                const struct watch_event *e = queue_at(w, s);

                if (strcmp(e->path, path) == 0 && type_in(types, e->type)) {
                        found = e->type;
                        *ret_old = e->old_path ? aio_xstrdup(e->old_path) : NULL;
                }
        }
        return found;
}

static int wait_loop(const struct api_req *req, struct api_resp *resp, struct watcher *w,
                     const char *path, const struct wait_args *a)
{
        int64_t deadline = api_now_ms() + a->timeout * 1000;
        cleanup_free char *msg = NULL;

        while (!api_req_gone(req)) {
                cleanup_free char *old = NULL;
                const char *type = wait_scan(w, path, a->types, &old);
                int64_t left = deadline - api_now_ms();

                if (type) {
                        wait_reply(resp, w, type, path, old);
                        return 0;
                }
                if (left <= 0)
                        break;
                fd_wait(w, left < 500 ? (int)left : 500);
        }
        msg = aio_xasprintf("File %s did not appear within %llds", a->path, a->timeout);
        reply_code(resp, 408, "WATCH_TIMEOUT", msg);
        return 0;
}

static bool types_check(const json_t *types, json_t *detail)
{
        const json_t *t;
        size_t i;

        json_array_foreach(types, i, t) {
                api_file_check_enum(detail, "event_types", json_string_value(t), wait_types);
        }
        return json_array_size(detail) == 0;
}

int api_watch_wait(const struct api_req *req, struct api_resp *resp, struct aio_err *err)
{
        struct wait_args a = {.timeout = 30};
        struct create_args c = {.debounce = 100};
        cleanup_free char *path = NULL, *parent = NULL, *msg = NULL, *tmp = NULL;
        json_t *detail = api_detail_new();
        struct watcher *w;
        struct stat st;

        if (api_file_unpack(req->body, &wait_body, &a, sizeof(a), detail) == 0 &&
            types_check(a.types, detail))
                api_file_check_range(detail, "timeout", a.timeout, 1, 300);
        if (api_reply_422_if(resp, detail) || api_file_path(resp, "watch", a.path, &path) < 0)
                return 0;
        tmp = aio_xstrdup(path);
        parent = aio_xstrdup(dirname(tmp));
        if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
                msg = aio_xasprintf("Parent directory %s does not exist", parent);
                api_reply_error(resp, 400, msg);
                return 0;
        }
        c.exclude = json_array(); /* nothing excluded: the caller named the file */
        w = watcher_new(parent, &c, false, err);
        json_decref((json_t *)c.exclude);
        if (!w)
                return -EIO;
        if (stat(path, &st) == 0 && type_in(a.types, "create"))
                wait_reply(resp, w, "create", path, NULL);
        else
                (void)wait_loop(req, resp, w, path, &a);
        watcher_free(w);
        return 0;
}
