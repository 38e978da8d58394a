/* The /v1/shell session table: lookup, creation with upstream's limits (MAX_SHELL_SESSIONS
 * sessions, the least recently used idle one evicted at the limit, idle ones expired after
 * SHELL_SESSION_TIMEOUT seconds, checked on create and list), closing, listing, statistics. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "api/shell-internal.h"
#include "api/shell.h"

#define READY_MS      10000
#define CLOSE_WAIT_MS 5000
#define VICTIMS_MAX   API_SHELL_VICTIMS_MAX

/* ---- the table ------------------------------------------------------------------------------ */

struct api_shell_session *api_shells_get(struct api_shells *sh, const char *id)
{
        struct api_shell_session *s = NULL;

        (void)pthread_mutex_lock(&sh->lock);
        for (size_t i = 0; i < sh->n; i++)
                if (strcmp(sh->v[i]->id, id) == 0) {
                        s = sh->v[i];
                        atomic_fetch_add(&s->refs, 1);
                        break;
                }
        (void)pthread_mutex_unlock(&sh->lock);
        return s;
}

/* Called with sh->lock held: out of the table, the reader told to finish. Returns whether the
 * table's reference is now the caller's to drop. */
static bool table_remove_locked(struct api_shells *sh, struct api_shell_session *s)
{
        for (size_t i = 0; i < sh->n; i++)
                if (sh->v[i] == s) {
                        sh->v[i] = sh->v[--sh->n];
                        s->in_table = false;
                        (void)pthread_mutex_lock(&s->lock);
                        s->closing = true;
                        (void)pthread_mutex_unlock(&s->lock);
                        api_shell_session_wake(s);
                        return true;
                }
        return false;
}

/* Waits (bounded) until the reader killed and reaped everything. */
static void session_wait_dead(struct api_shell_session *s)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += CLOSE_WAIT_MS / 1000;
        (void)pthread_mutex_lock(&s->lock);
        while (!s->dead && s->pid > 0)
                if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
                        break;
        (void)pthread_mutex_unlock(&s->lock);
}

void api_shell_session_close(struct api_shells *sh, struct api_shell_session *s)
{
        bool mine;

        (void)pthread_mutex_lock(&sh->lock);
        mine = table_remove_locked(sh, s);
        (void)pthread_mutex_unlock(&sh->lock);
        session_wait_dead(s);
        if (mine)
                api_shell_session_unref(s);
}

static bool session_busy(struct api_shell_session *s)
{
        bool busy;

        (void)pthread_mutex_lock(&s->lock);
        busy = s->running || !s->ready;
        (void)pthread_mutex_unlock(&s->lock);
        return busy;
}

/* Called with sh->lock held: takes out idle sessions unused for longer than the timeout. */
static void table_expire_locked(struct api_shells *sh, struct api_shell_session **victims,
                                size_t *n_victims)
{
        int64_t now = api_shell_realtime_ms();

        for (size_t i = 0; i < sh->n; i++) {
                struct api_shell_session *s = sh->v[i];

                if (!session_busy(s) && now - s->last_used_ms > sh->session_timeout_s * 1000 &&
                    table_remove_locked(sh, s)) {
                        victims[(*n_victims)++] = s;
                        i--;
                }
        }
}

/* Called with sh->lock held: expired sessions out, then (at the limit) the least recently used
 * idle one. Victims are returned for the caller to finish outside the lock. */
static int table_make_room_locked(struct api_shells *sh, struct api_shell_session **victims,
                                  size_t *n_victims, struct aio_err *err)
{
        struct api_shell_session *lru = NULL;

        table_expire_locked(sh, victims, n_victims);
        if (sh->n < sh->max_sessions)
                return 0;
        for (size_t i = 0; i < sh->n; i++)
                if (!session_busy(sh->v[i]) && (!lru || sh->v[i]->last_used_ms < lru->last_used_ms))
                        lru = sh->v[i];
        if (!lru)
                return aio_error_msg(err, EINVAL,
                                     "Cannot create shell session: session limit reached and all "
                                     "%zu existing sessions have active commands",
                                     sh->n);
        (void)table_remove_locked(sh, lru);
        victims[(*n_victims)++] = lru;
        return 0;
}

static void victims_finish(struct api_shell_session **v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                log_debug("shell session %s expired or evicted", v[i]->id);
                session_wait_dead(v[i]);
                api_shell_session_unref(v[i]);
        }
}

/* Finds id or reserves a slot for a new session under it. */
static int table_claim(struct api_shells *sh, const char *id, struct api_shell_session **ret,
                       bool *ret_existed, struct aio_err *err)
{
        struct api_shell_session *victims[VICTIMS_MAX];
        size_t n_victims = 0;
        int r = 0;

        (void)pthread_mutex_lock(&sh->lock);
        for (size_t i = 0; i < sh->n; i++)
                if (strcmp(sh->v[i]->id, id) == 0) {
                        *ret = sh->v[i];
                        atomic_fetch_add(&(*ret)->refs, 1);
                        *ret_existed = true;
                        (void)pthread_mutex_unlock(&sh->lock);
                        return 0;
                }
        r = table_make_room_locked(sh, victims, &n_victims, err);
        if (r == 0) {
                *ret = api_shell_session_new(sh, id);
                (*ret)->in_table = true;
                atomic_fetch_add(&(*ret)->refs, 1); /* the table's, and the caller's */
                sh->v[sh->n++] = *ret;
                *ret_existed = false;
        }
        (void)pthread_mutex_unlock(&sh->lock);
        victims_finish(victims, n_victims);
        return r;
}

static int wait_ready(struct api_shell_session *s, struct aio_err *err)
{
        struct timespec ts;
        int r = 0;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += READY_MS / 1000;
        (void)pthread_mutex_lock(&s->lock);
        while (!s->ready && !s->dead && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        if (!s->ready)
                r = aio_error_msg(err, EIO, "the shell of session %s did not start%s", s->id,
                                  s->dead ? " (it exited)" : " in time");
        else
                r = 0;
        (void)pthread_mutex_unlock(&s->lock);
        return r;
}

int api_shell_create(struct api_shells *sh, const struct api_shell_create *c,
                     struct api_shell_session **ret, bool *ret_existed, struct aio_err *err)
{
        struct api_shell_session *s = NULL;
        char uuid[37];
        const char *id = c->id && c->id[0] ? c->id : (api_shell_uuid4(uuid), uuid);
        cleanup_free char *cwd = api_shell_working_dir(
                api_shell_is_dir(c->cwd) ? c->cwd : sh->default_cwd, c->preserve_symlinks);
        int r = table_claim(sh, id, &s, ret_existed, err);

        if (r < 0)
                return r;
        if (!s)
                return aio_error_msg(err, EIO, "shell session %s: none claimed", id);
        if (*ret_existed) {
                r = wait_ready(s, err);
                goto out;
        }
        s->no_change_timeout =
                c->no_change_timeout > 0 ? c->no_change_timeout : API_SHELL_NO_CHANGE_S;
        s->preserve_symlinks = c->preserve_symlinks;
        s->cwd = aio_xstrdup(cwd);
        r = api_shell_session_start(sh, s, cwd, err);
        if (r == 0)
                r = wait_ready(s, err);
out:
        if (r < 0) {
                if (!*ret_existed)
                        api_shell_session_close(sh, s);
                api_shell_session_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}

void api_shells_free(struct api_shells *sh)
{
        struct timespec ts;

        if (!sh)
                return;
        (void)pthread_mutex_lock(&sh->lock);
        while (sh->n) {
                struct api_shell_session *s = sh->v[0];

                (void)table_remove_locked(sh, s);
                api_shell_session_unref(s); /* the reader keeps its own */
        }
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += CLOSE_WAIT_MS / 1000;
        while (sh->readers)
                if (pthread_cond_timedwait(&sh->gone, &sh->lock, &ts) == ETIMEDOUT)
                        break;
        (void)pthread_mutex_unlock(&sh->lock);
        if (sh->readers) {
                log_warn("shell: %u sessions did not end in time", sh->readers);
                return; /* their readers still use the table */
        }
        (void)pthread_cond_destroy(&sh->gone);
        (void)pthread_mutex_destroy(&sh->lock);
        aio_strv_free(sh->envp);
        free(sh->default_cwd);
        free(sh->shell);
        free(sh->v);
        free(sh);
}

/* ---- listing -------------------------------------------------------------------------------- */

/* Upstream's datetime.now().isoformat(): local time, microseconds, no zone. */
static json_t *iso_time(int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char buf[64], out[80];

        (void)localtime_r(&t, &tm);
        (void)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        (void)snprintf(out, sizeof(out), "%s.%06d", buf, (int)(ms % 1000) * 1000);
        return json_string(out);
}

static json_t *session_info(struct api_shell_session *s, int64_t now)
{
        json_t *o;

        (void)pthread_mutex_lock(&s->lock);
        o = json_pack("{s:s, s:o, s:o, s:I, s:s, s:s?}", "working_dir", s->cwd ? s->cwd : "",
                      "created_at", iso_time(s->created_ms), "last_used_at",
                      iso_time(s->last_used_ms), "age_seconds",
                      (json_int_t)((now - s->last_used_ms) / 1000), "status",
                      api_shell_status_name(s->running ? API_SHELL_RUNNING : s->status),
                      "current_command", s->running ? s->command : NULL);
        (void)pthread_mutex_unlock(&s->lock);
        if (!o)
                abort();
        return o;
}

json_t *api_shell_sessions_json(struct api_shells *sh)
{
        struct api_shell_session *victims[VICTIMS_MAX];
        size_t n_victims = 0;
        int64_t now = api_shell_realtime_ms();
        json_t *o = json_object();

        if (!o)
                abort();
        (void)pthread_mutex_lock(&sh->lock);
        table_expire_locked(sh, victims, &n_victims);
        for (size_t i = 0; i < sh->n; i++)
                (void)json_object_set_new(o, sh->v[i]->id, session_info(sh->v[i], now));
        (void)pthread_mutex_unlock(&sh->lock);
        victims_finish(victims, n_victims);
        return o;
}

json_t *api_shell_stats_json(struct api_shells *sh)
{
        int64_t now = api_shell_realtime_ms();
        size_t active = 0, total;
        json_t *o;

        (void)pthread_mutex_lock(&sh->lock);
        total = sh->n;
        for (size_t i = 0; i < sh->n; i++) {
                struct api_shell_session *s = sh->v[i];

                (void)pthread_mutex_lock(&s->lock);
                active += s->running || now - s->last_used_ms < (int64_t)API_SHELL_ACTIVE_S * 1000;
                (void)pthread_mutex_unlock(&s->lock);
        }
        o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "total_sessions", (json_int_t)total,
                      "active_sessions", (json_int_t)active, "idle_sessions",
                      (json_int_t)(total - active), "max_sessions", (json_int_t)sh->max_sessions,
                      "session_timeout", (json_int_t)sh->session_timeout_s, "usage_ratio",
                      sh->max_sessions ? (double)total / sh->max_sessions : 0.0);
        (void)pthread_mutex_unlock(&sh->lock);
        if (!o)
                abort();
        return o;
}

size_t api_shell_close_all(struct api_shells *sh)
{
        struct api_shell_session *victims[VICTIMS_MAX];
        size_t n = 0;

        (void)pthread_mutex_lock(&sh->lock);
        while (sh->n && n < VICTIMS_MAX) {
                victims[n] = sh->v[0];
                (void)table_remove_locked(sh, victims[n++]);
        }
        (void)pthread_mutex_unlock(&sh->lock);
        victims_finish(victims, n);
        return n;
}
