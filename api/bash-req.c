/* The /v1/bash requests on top of the session table of api/bash.c: exec (sync, with a soft
 * timeout, or async), offset reads with an optional long poll, stdin writes, signals, and the
 * session routes, in upstream's shapes (BashExecResult, BashOutputResult, BashSessionInfo). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#include "api/bash-internal.h"
#include "api/bash.h"
#include "api/spawn.h"

#define GRACE_MS       100 /* new output while the command runs: give its exit a moment */
#define WAIT_TICK_MS   200 /* how often a waiter checks that its client is still there */
#define WRITE_LIMIT_MS INT64_C(30000)
#define NO_DEADLINE    INT64_MAX

extern char **environ;

/* --- helpers ------------------------------------------------------------------------------- */

static int64_t deadline_of(double secs)
{
        if (secs < 0 || secs > 1e8)
                return NO_DEADLINE;
        return api_now_ms() + (int64_t)(secs * 1000.0);
}

/* One wait on the condition. False when the waiter should stop: deadline, client gone,
 * shutdown. */
static bool wait_step(struct api_bash *b, const struct api_bash_waiter *w, int64_t deadline)
{
        int64_t now = api_now_ms(), until = now + WAIT_TICK_MS;
        struct timespec ts;

        if (b->stopping || now >= deadline)
                return false;
        if (w && w->gone && w->gone(w->cls)) {
                log_debug("bash: the client left, not waiting any longer");
                return false;
        }
        if (deadline < until)
                until = deadline;
        ts.tv_sec = until / 1000;
        ts.tv_nsec = (long)(until % 1000) * 1000000L;
        (void)pthread_cond_timedwait(&b->cond, &b->lock, &ts);
        return true;
}

static int dir_resolve(const char *base, const char *dir, char **ret, struct aio_err *err)
{
        const char *home = getenv("HOME");
        cleanup_free char *p = NULL;
        struct stat st;

        if (dir[0] == '~' && (dir[1] == '/' || !dir[1]) && home)
                p = aio_xasprintf("%s%s", home, dir + 1);
        else if (dir[0] != '/')
                p = aio_xasprintf("%s/%s", base, dir);
        else
                p = aio_xstrdup(dir);
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                return aio_error_msg(err, EINVAL, "Working directory does not exist: %s", p);
        if (access(p, R_OK | X_OK) < 0)
                return aio_error_msg(err, EINVAL, "Working directory is not accessible: %s", p);
        *ret = take_ptr(&p);
        return 0;
}

static bool env_name_ok(const char *s, size_t n)
{
        if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9')))
                        return false;
        return true;
}

static int env_check(const char *const *env, struct aio_err *err)
{
        for (size_t i = 0; env && env[i]; i++) {
                size_t n = strcspn(env[i], "=");

                if (!env_name_ok(env[i], n))
                        return aio_error_msg(err, EINVAL,
                                             "Invalid environment variable name: '%.*s'", (int)n,
                                             env[i]);
        }
        return 0;
}

static bool env_overridden(const char *const *env, const char *kv)
{
        size_t n = strcspn(kv, "=");

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], kv, n) == 0 && env[i][n] == '=')
                        return true;
        return false;
}

/* Our environment with the request's variables on top. */
static char **env_build(const char *const *env)
{
        size_t n = 0, m = 0, o = 0;
        char **v;

        while (environ[n])
                n++;
        while (env && env[m])
                m++;
        v = aio_xcalloc(n + m + 1, sizeof(*v));
        for (size_t i = 0; i < n; i++)
                if (!env_overridden(env, environ[i]))
                        v[o++] = aio_xstrdup(environ[i]);
        for (size_t i = 0; i < m; i++)
                v[o++] = aio_xstrdup(env[i]);
        return v;
}

/* "source 'snapshot' 2>/dev/null || true" before the command, as upstream's wrapper does. */
static char *script_build(const struct bash_session *s, const char *command)
{
        size_t n = strlen(s->snapshot), o = 0;
        cleanup_free char *q = aio_xmalloc(n * 4 + 3);

        q[o++] = '\'';
        for (size_t i = 0; i < n; i++) {
                if (s->snapshot[i] == '\'') {
                        memcpy(q + o, "'\\''", 4);
                        o += 4;
                } else {
                        q[o++] = s->snapshot[i];
                }
        }
        q[o++] = '\'';
        q[o] = '\0';
        return aio_xasprintf("source %s 2>/dev/null || true\n%s", q, command);
}

static json_t *iso_time(const struct timespec *ts)
{
        struct tm tm;
        char buf[64];
        size_t n;

        (void)localtime_r(&ts->tv_sec, &tm);
        n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        (void)snprintf(buf + n, sizeof(buf) - n, ".%06ld", ts->tv_nsec / 1000);
        return json_string(buf);
}

static json_t *jnew(json_t *v)
{
        if (!v)
                abort();
        return v;
}

static json_t *session_json(const struct bash_session *s)
{
        return jnew(json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I}", "session_id", s->id, "status",
                              s->closed ? "closed" : "ready", "working_dir", s->working_dir,
                              "created_at", iso_time(&s->created), "last_used_at",
                              iso_time(&s->last_used), "current_command",
                              s->current ? json_string(s->current->command) : json_null(),
                              "command_count", (json_int_t)s->command_count));
}

static json_t *exit_json(const struct bash_cmd *c)
{
        return c->has_exit ? json_integer(c->exit_code) : json_null();
}

static json_t *cmd_json(const struct bash_cmd *c)
{
        return jnew(json_pack("{s:s, s:s, s:s, s:o}", "command_id", c->id, "command", c->command,
                              "status", bash_status_names[c->status], "exit_code", exit_json(c)));
}

/* --- slices of the streams ----------------------------------------------------------------- */

struct slice {
        char *p; /* a copy, taken under the lock */
        size_t n;
        uint64_t start, skipped;
};

/* [from, to) of st copied out; while more may come, an unfinished UTF-8 character at the end
 * is left for the next read. */
static void slice_take(const struct api_bstream *st, uint64_t from, uint64_t to, bool more,
                       struct slice *sl)
{
        const char *p;

        api_bstream_slice(st, from, to, &p, &sl->n, &sl->start, &sl->skipped);
        if (more)
                sl->n -= aio_utf8_cut_tail(p, sl->n);
        sl->p = aio_xmalloc(sl->n + 1);
        memcpy(sl->p, p, sl->n);
}

/* Adds key: the slice as a valid UTF-8 string (null_empty: null when empty), truncated to max
 * code points when max > 0, and key_skipped when bytes were dropped. Frees the slice. */
static void slice_put(json_t *o, const char *key, struct slice *sl, bool null_empty, long long max)
{
        cleanup_free char *fixed = NULL, *cut = NULL;
        char skipped_key[32];
        size_t n;

        fixed = api_utf8_repair(sl->p, sl->n, &n);
        if (max > 0) {
                cut = api_middle_truncate(fixed, n, (size_t)max, &n);
                free(take_ptr(&fixed));
                fixed = take_ptr(&cut);
        }
        (void)json_object_set_new(
                o, key, null_empty && n == 0 ? json_null() : jnew(json_stringn_nocheck(fixed, n)));
        if (sl->skipped) {
                (void)snprintf(skipped_key, sizeof(skipped_key), "%s_skipped", key);
                (void)json_object_set_new(o, skipped_key, json_integer((json_int_t)sl->skipped));
        }
        free(sl->p);
        sl->p = NULL;
}

static uint64_t slice_end(const struct slice *sl)
{
        return sl->start + sl->n;
}

/* --- exec ---------------------------------------------------------------------------------- */

static struct bash_cmd *cmd_new(struct bash_session *s, const char *command)
{
        struct bash_cmd *c = aio_xcalloc(1, sizeof(*c));

        bash_uuid4(c->id);
        c->command = aio_xstrdup(command);
        c->status = BASH_RUNNING;
        c->s = s;
        c->in_fd = -1;
        c->out_start = api_bstream_end(&s->out);
        c->err_start = api_bstream_end(&s->err);
        return c;
}

static void cmd_attach(struct api_bash *b, struct bash_session *s, struct bash_cmd *c)
{
        c->live = true;
        b->live = aio_xrealloc(b->live, (b->n_live + 1) * sizeof(void *));
        b->live[b->n_live++] = c;
        s->cmds = aio_xrealloc(s->cmds, (s->n_cmds + 1) * sizeof(void *));
        s->cmds[s->n_cmds++] = c;
        s->current = c;
        s->command_count++;
        s->running++;
        s->refs++; /* held until the reader thread reaped it */
}

static int exec_start(struct api_bash *b, const struct api_bash_exec *a, char **dir,
                      char *const envp[], struct bash_cmd **ret, struct aio_err *err)
{
        cleanup_free char *script = NULL;
        struct bash_session *s = NULL;
        struct bash_cmd *c;
        int r;

        if (b->stopping)
                return aio_error_msg(err, EAGAIN, "aio-apid is shutting down");
        if (a->session_id && *a->session_id)
                s = bash_session_find(b, a->session_id);
        if (!s) {
                s = bash_session_new(b, a->session_id, *dir);
        } else if (*dir) {
                free(s->working_dir);
                s->working_dir = take_ptr(dir);
        }
        c = cmd_new(s, a->command);
        if (s->snapshot)
                script = script_build(s, a->command);
        r = bash_spawn(b, c, script ? script : a->command, s->working_dir, envp, err);
        if (r < 0) {
                bash_cmd_free(c);
                if (r != -E2BIG)
                        err->code = EIO;
                return -err->code;
        }
        cmd_attach(b, s, c);
        if (a->hard_timeout >= 0 && deadline_of(a->hard_timeout) != NO_DEADLINE) {
                c->hard_deadline = deadline_of(a->hard_timeout) | 1;
                bash_kick(b);
        }
        bash_touch(s);
        *ret = c;
        return 0;
}

/* The small fields of BashExecResult, and the output slices; lock held. */
static json_t *exec_collect(struct bash_cmd *c, struct slice *out, struct slice *er)
{
        const struct bash_session *s = c->s;
        bool more = c->live;
        json_t *o;

        slice_take(&s->out, c->out_start, more ? UINT64_MAX : c->out_end, more, out);
        slice_take(&s->err, c->err_start, more ? UINT64_MAX : c->err_end, more, er);
        o = jnew(json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I}", "session_id", s->id, "command_id",
                           c->id, "command", c->command, "status", bash_status_names[c->status],
                           "exit_code", exit_json(c), "offset", (json_int_t)slice_end(out),
                           "stderr_offset", (json_int_t)slice_end(er)));
        /* ours: which sandbox limit stopped it (docs/api.md) */
        if (c->killed_by)
                (void)json_object_set_new(o, "killed_by", json_sprintf("%s_limit", c->killed_by));
        return o;
}

int api_bash_exec(struct api_bash *b, const struct api_bash_exec *a,
                  const struct api_bash_waiter *w, json_t **ret, struct aio_err *err)
{
        cleanup_free char *dir = NULL;
        cleanup_strv char **envp = NULL;
        struct slice out = {0}, er = {0};
        struct bash_session *s;
        struct bash_cmd *c = NULL;
        json_t *o;
        int r = env_check(a->env, err);

        if (r == 0 && a->exec_dir && *a->exec_dir)
                r = dir_resolve(b->default_dir, a->exec_dir, &dir, err);
        if (r < 0)
                return r;
        envp = env_build(a->env);
        (void)pthread_mutex_lock(&b->lock);
        r = exec_start(b, a, &dir, envp, &c, err);
        if (r < 0 || !c) {
                (void)pthread_mutex_unlock(&b->lock);
                return r;
        }
        s = c->s;
        s->refs++;
        c->pins++;
        if (!a->async_mode) {
                int64_t deadline = deadline_of(a->timeout);

                while (c->status == BASH_RUNNING && wait_step(b, w, deadline))
                        ;
        }
        o = exec_collect(c, &out, &er);
        c->pins--;
        bash_session_unref(b, s);
        (void)pthread_mutex_unlock(&b->lock);
        slice_put(o, "stdout", &out, true, a->async_mode ? 0 : a->max_output_length);
        slice_put(o, "stderr", &er, true, a->async_mode ? 0 : a->max_output_length);
        *ret = o;
        return 0;
}

/* --- output -------------------------------------------------------------------------------- */

/* Where the readable part of a stream ends for this read: a finished command's own end. */
static uint64_t range_end(const struct api_bstream *st, const struct bash_cmd *c, uint64_t c_end)
{
        return c && !c->live ? c_end : api_bstream_end(st);
}

static bool output_fresh(const struct bash_session *s, const struct bash_cmd *c,
                         const struct api_bash_output *a)
{
        return range_end(&s->out, c, c ? c->out_end : 0) > (uint64_t)a->offset ||
               range_end(&s->err, c, c ? c->err_end : 0) > (uint64_t)a->stderr_offset;
}

/* Upstream's long poll: until new output (plus a short grace for the command's exit), the
 * command's end, or wait_timeout. Without any command yet it waits for the first. */
static void output_wait(struct api_bash *b, struct bash_session *s, struct bash_cmd *c,
                        const struct api_bash_output *a, const struct api_bash_waiter *w)
{
        int64_t deadline = deadline_of(a->wait_timeout < 0 ? 0 : a->wait_timeout), grace = 0;

        for (;;) {
                struct bash_cmd *t = c ? c : bash_cmd_latest(s);
                bool fresh = output_fresh(s, c, a);

                if (s->closed || (t && t->status != BASH_RUNNING))
                        return;
                if (fresh && !grace)
                        grace = api_now_ms() + GRACE_MS;
                if (!wait_step(b, w, grace && grace < deadline ? grace : deadline))
                        return;
        }
}

static json_t *output_collect(struct bash_session *s, struct bash_cmd *c,
                              const struct api_bash_output *a, struct slice *out, struct slice *er)
{
        struct bash_cmd *t = c ? c : bash_cmd_latest(s);
        bool more = c ? c->live : s->running > 0;
        uint64_t from = (uint64_t)a->offset, efrom = (uint64_t)a->stderr_offset;

        if (c && from < c->out_start)
                from = c->out_start;
        if (c && efrom < c->err_start)
                efrom = c->err_start;
        slice_take(&s->out, from, range_end(&s->out, c, c ? c->out_end : 0), more, out);
        slice_take(&s->err, efrom, range_end(&s->err, c, c ? c->err_end : 0), more, er);
        return jnew(json_pack("{s:s, s:I, s:I, s:o}", "session_id", s->id, "offset",
                              (json_int_t)slice_end(out), "stderr_offset",
                              (json_int_t)slice_end(er), "command", t ? cmd_json(t) : json_null()));
}

int api_bash_output(struct api_bash *b, const struct api_bash_output *a,
                    const struct api_bash_waiter *w, json_t **ret, struct aio_err *err)
{
        struct api_bash_output q = *a;
        struct slice out = {0}, er = {0};
        struct bash_session *s;
        struct bash_cmd *c = NULL;
        json_t *o;
        int r;

        q.offset = q.offset < 0 ? 0 : q.offset;
        q.stderr_offset = q.stderr_offset < 0 ? 0 : q.stderr_offset;
        (void)pthread_mutex_lock(&b->lock);
        r = bash_session_get(b, q.session_id, &s, err);
        if (r == 0 && q.command_id)
                r = bash_cmd_get(s, q.command_id, &c, err);
        if (r < 0) {
                (void)pthread_mutex_unlock(&b->lock);
                return r;
        }
        s->refs++;
        if (c) {
                c->pins++;
                q.offset = q.offset < (long long)c->out_start ? (long long)c->out_start : q.offset;
                q.stderr_offset = q.stderr_offset < (long long)c->err_start
                                          ? (long long)c->err_start
                                          : q.stderr_offset;
        }
        if (q.wait)
                output_wait(b, s, c, &q, w);
        o = output_collect(s, c, &q, &out, &er);
        bash_touch(s);
        if (c)
                c->pins--;
        bash_session_unref(b, s);
        (void)pthread_mutex_unlock(&b->lock);
        slice_put(o, "stdout", &out, false, 0);
        slice_put(o, "stderr", &er, false, 0);
        *ret = o;
        return 0;
}

/* --- write, kill --------------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n, const struct api_bash_waiter *w,
                     struct aio_err *err)
{
        int64_t deadline = api_now_ms() + WRITE_LIMIT_MS;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                struct pollfd pf = {.fd = fd, .events = POLLOUT};

                if (k > 0) {
                        p += k;
                        n -= (size_t)k;
                        continue;
                }
                if (k < 0 && errno == EPIPE)
                        return aio_error_msg(err, EINVAL, "The command closed its stdin");
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return aio_error(err, errno, "write to stdin");
                if (api_now_ms() >= deadline)
                        return aio_error_msg(err, ETIMEDOUT,
                                             "The command did not read its stdin (%zu bytes left)",
                                             n);
                if (w && w->gone && w->gone(w->cls))
                        return aio_error_msg(err, ECONNRESET, "client gone");
                (void)poll(&pf, 1, WAIT_TICK_MS);
        }
        return 0;
}

/* The stdin of the command asked for, duplicated (the write happens without the lock). */
static int stdin_dup(struct api_bash *b, const char *session_id, const char *command_id,
                     struct aio_err *err)
{
        struct bash_session *s;
        struct bash_cmd *c = NULL;
        int r = bash_session_get(b, session_id, &s, err), fd;

        if (r == 0 && command_id)
                r = bash_cmd_get(s, command_id, &c, err);
        if (r < 0)
                return r;
        if (!command_id)
                c = s->current;
        if (!c || !c->live || c->in_fd < 0)
                return aio_error_msg(err, EINVAL, "No running process to write to");
        fd = fcntl(c->in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return aio_error(err, errno, "stdin of command %s", c->id);
        bash_touch(s);
        return fd;
}

int api_bash_write(struct api_bash *b, const char *session_id, const char *command_id,
                   const char *input, size_t n, const struct api_bash_waiter *w,
                   struct aio_err *err)
{
        cleanup_close int fd = -1;

        (void)pthread_mutex_lock(&b->lock);
        fd = stdin_dup(b, session_id, command_id, err);
        (void)pthread_mutex_unlock(&b->lock);
        if (fd < 0)
                return fd;
        return write_all(fd, input, n, w, err);
}

/* clang-format off */
static const struct { const char *name; int sig; } signals[] = {
        { "SIGTERM", SIGTERM }, { "SIGKILL", SIGKILL }, { "SIGINT",  SIGINT  },
        { "SIGHUP",  SIGHUP  }, { "SIGQUIT", SIGQUIT }, { "SIGUSR1", SIGUSR1 },
        { "SIGUSR2", SIGUSR2 }, { "SIGSTOP", SIGSTOP }, { "SIGCONT", SIGCONT },
};
/* clang-format on */

int api_bash_signal_parse(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                if (strcmp(signals[i].name, name) == 0)
                        return signals[i].sig;
        return 0;
}

int api_bash_kill(struct api_bash *b, const char *session_id, int sig, struct aio_err *err)
{
        struct bash_session *s;
        int r, n = 0;

        (void)pthread_mutex_lock(&b->lock);
        r = bash_session_get(b, session_id, &s, err);
        for (size_t i = 0; r == 0 && i < s->n_cmds; i++) {
                struct bash_cmd *c = s->cmds[i];

                if (!c->live)
                        continue;
                c->signalled = sig;
                bash_cmd_signal(c, sig);
                n++;
        }
        if (r == 0)
                bash_touch(s);
        (void)pthread_mutex_unlock(&b->lock);
        return r < 0 ? r : n;
}

/* --- sessions ------------------------------------------------------------------------------ */

json_t *api_bash_sessions(struct api_bash *b)
{
        json_t *list = jnew(json_array());

        (void)pthread_mutex_lock(&b->lock);
        for (size_t i = 0; i < b->n_sessions; i++)
                (void)json_array_append_new(list, session_json(b->sessions[i]));
        (void)pthread_mutex_unlock(&b->lock);
        return list;
}

static int snapshot_resolve(const char *base, const char *path, char **ret, struct aio_err *err)
{
        cleanup_free char *p =
                path[0] == '/' ? aio_xstrdup(path) : aio_xasprintf("%s/%s", base, path);
        struct stat st;

        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || access(p, R_OK) < 0)
                return aio_error_msg(err, EINVAL, "Snapshot file is not a readable file: %s", p);
        *ret = take_ptr(&p);
        return 0;
}

int api_bash_session_create(struct api_bash *b, const char *session_id, const char *exec_dir,
                            const char *snapshot_path, json_t **ret, struct aio_err *err)
{
        cleanup_free char *dir = NULL, *snap = NULL;
        struct bash_session *s = NULL;
        int r = 0;

        if (exec_dir && *exec_dir)
                r = dir_resolve(b->default_dir, exec_dir, &dir, err);
        if (r == 0 && snapshot_path && *snapshot_path)
                r = snapshot_resolve(dir ? dir : b->default_dir, snapshot_path, &snap, err);
        if (r < 0)
                return r;
        (void)pthread_mutex_lock(&b->lock);
        if (b->stopping)
                r = aio_error_msg(err, EAGAIN, "aio-apid is shutting down");
        else if (session_id && *session_id)
                s = bash_session_find(b, session_id);
        if (r == 0 && !s) {
                s = bash_session_new(b, session_id, dir);
                s->snapshot = take_ptr(&snap);
        }
        if (r == 0)
                *ret = session_json(s);
        (void)pthread_mutex_unlock(&b->lock);
        return r;
}

int api_bash_session_close(struct api_bash *b, const char *session_id, struct aio_err *err)
{
        struct bash_session *s;
        int r;

        (void)pthread_mutex_lock(&b->lock);
        r = bash_session_get(b, session_id, &s, err);
        if (r == 0)
                bash_session_close(b, s);
        (void)pthread_mutex_unlock(&b->lock);
        return r;
}
