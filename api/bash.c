/* /v1/bash sessions and requests (upstream-api.md §2.3, §5.2). The process side is
 * api/bash-proc.c; this file keeps the session table, starts commands, waits for them and
 * builds upstream's BashExecResult, BashOutputResult and BashSessionInfo. */
#include "api/bash.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "api/bash-internal.h"
#include "api/spawn.h"

const char *const bash_status_names[_BASH_STATUS_MAX] = {
        [BASH_PENDING] = "pending",     [BASH_RUNNING] = "running", [BASH_COMPLETED] = "completed",
        [BASH_TIMED_OUT] = "timed_out", [BASH_KILLED] = "killed",
};

void api_bash_config_default(struct api_bash_config *c)
{
        const char *n = getenv("MAX_BASH_SESSIONS"), *t = getenv("BASH_SESSION_TIMEOUT");
        long v;

        *c = (struct api_bash_config){
                .shell = "/bin/bash",
                .max_sessions = 50,
                .session_timeout_ms = INT64_C(3600000),
                .stream_max = API_BSTREAM_MAX,
                .history_max = 100,
                .kill_grace_ms = 3000,
        };
        if (n && (v = strtol(n, NULL, 10)) > 0)
                c->max_sessions = (size_t)v;
        if (t && (v = strtol(t, NULL, 10)) > 0)
                c->session_timeout_ms = (int64_t)v * 1000;
}

static char *default_dir(void)
{
        const char *home = getenv("HOME");
        struct stat st;

        if (home && home[0] == '/' && stat(home, &st) == 0 && S_ISDIR(st.st_mode))
                return aio_xstrdup(home);
        return aio_xstrdup("/");
}

struct api_bash *api_bash_new(const struct api_bash_config *c)
{
        struct api_bash *b = aio_xcalloc(1, sizeof(*b));
        struct aio_err err = {0};
        pthread_condattr_t ca;

        b->cfg = *c;
        b->default_dir = c->default_dir ? aio_xstrdup(c->default_dir) : default_dir();
        b->epfd = b->evfd = -1;
        (void)pthread_mutex_init(&b->lock, NULL);
        (void)pthread_condattr_init(&ca);
        (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        (void)pthread_cond_init(&b->cond, &ca);
        (void)pthread_condattr_destroy(&ca);
        if (bash_proc_start(b, &err) < 0) {
                api_bash_free(b);
                errno = err.code;
                return NULL;
        }
        return b;
}

/* --- sessions ------------------------------------------------------------------------------ */

void bash_cmd_free(struct bash_cmd *c)
{
        if (!c)
                return;
        free(c->command);
        free(c);
}

static void session_free(struct bash_session *s)
{
        for (size_t i = 0; i < s->n_cmds; i++)
                bash_cmd_free(s->cmds[i]);
        free(s->cmds);
        api_bstream_free(&s->out);
        api_bstream_free(&s->err);
        free(s->id);
        free(s->working_dir);
        free(s->snapshot);
        free(s);
}

void bash_session_unref(struct api_bash *b, struct bash_session *s)
{
        (void)b;
        if (--s->refs == 0)
                session_free(s);
}

void bash_uuid4(char out[37])
{
        uint8_t r[16];

        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
                abort(); /* the kernel's pool is always there after boot */
        r[6] = (uint8_t)((r[6] & 0x0F) | 0x40);
        r[8] = (uint8_t)((r[8] & 0x3F) | 0x80);
        (void)snprintf(out, 37,
                       "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
                       r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                       r[13], r[14], r[15]);
}

void bash_touch(struct bash_session *s)
{
        (void)clock_gettime(CLOCK_REALTIME, &s->last_used);
        s->last_used_ms = api_now_ms();
}

struct bash_session *bash_session_find(struct api_bash *b, const char *id)
{
        for (size_t i = 0; i < b->n_sessions; i++)
                if (strcmp(b->sessions[i]->id, id) == 0)
                        return b->sessions[i];
        return NULL;
}

int bash_session_get(struct api_bash *b, const char *id, struct bash_session **ret,
                     struct aio_err *err)
{
        struct bash_session *s = bash_session_find(b, id);

        if (!s)
                return aio_error_msg(err, ENOENT, "Session %s not found", id);
        *ret = s;
        return 0;
}

static void live_remove(struct api_bash *b, struct bash_cmd *c)
{
        for (size_t i = 0; i < b->n_live; i++)
                if (b->live[i] == c) {
                        b->live[i] = b->live[--b->n_live];
                        return;
                }
}

/* Takes s out of the table: its running commands get SIGTERM, then SIGKILL after the grace. */
void bash_session_close(struct api_bash *b, struct bash_session *s)
{
        int64_t kill_at = api_now_ms() + b->cfg.kill_grace_ms;

        for (size_t i = 0; i < b->n_sessions; i++)
                if (b->sessions[i] == s) {
                        b->sessions[i] = b->sessions[--b->n_sessions];
                        break;
                }
        s->closed = true;
        for (size_t i = 0; i < s->n_cmds; i++) {
                struct bash_cmd *c = s->cmds[i];

                if (!c->live)
                        continue;
                if (!c->end_status)
                        c->end_status = BASH_KILLED;
                bash_cmd_signal(c, SIGTERM);
                c->kill_deadline = kill_at;
        }
        bash_kick(b);
        (void)pthread_cond_broadcast(&b->cond);
        bash_session_unref(b, s);
}

void bash_sweep(struct api_bash *b, int64_t now)
{
        for (size_t i = 0; i < b->n_sessions;) {
                struct bash_session *s = b->sessions[i];

                if (s->running == 0 && now - s->last_used_ms > b->cfg.session_timeout_ms) {
                        log_debug("bash: session %s expired", s->id);
                        bash_session_close(b, s); /* moves the last one to i */
                        continue;
                }
                i++;
        }
}

/* Upstream closes the least recently used session when the table is full; one with nothing
 * running goes first here. */
static void make_room(struct api_bash *b)
{
        bash_sweep(b, api_now_ms());
        while (b->n_sessions > 0 && b->n_sessions >= b->cfg.max_sessions) {
                struct bash_session *victim = NULL;

                for (int pass = 0; pass < 2 && !victim; pass++)
                        for (size_t i = 0; i < b->n_sessions; i++) {
                                struct bash_session *s = b->sessions[i];

                                if ((pass || s->running == 0) &&
                                    (!victim || s->last_used_ms < victim->last_used_ms))
                                        victim = s;
                        }
                log_debug("bash: session %s evicted", victim->id);
                bash_session_close(b, victim);
        }
}

struct bash_session *bash_session_new(struct api_bash *b, const char *id, const char *dir)
{
        struct bash_session *s = aio_xcalloc(1, sizeof(*s));
        char gen[37];

        make_room(b);
        if (!id || !*id) {
                bash_uuid4(gen);
                id = gen;
        }
        s->id = aio_xstrdup(id);
        s->working_dir = aio_xstrdup(dir ? dir : b->default_dir);
        api_bstream_init(&s->out, b->cfg.stream_max);
        api_bstream_init(&s->err, b->cfg.stream_max);
        (void)clock_gettime(CLOCK_REALTIME, &s->created);
        bash_touch(s);
        s->refs = 1;
        b->sessions = aio_xrealloc(b->sessions, (b->n_sessions + 1) * sizeof(void *));
        b->sessions[b->n_sessions++] = s;
        return s;
}

size_t api_bash_session_count(struct api_bash *b)
{
        size_t n;

        (void)pthread_mutex_lock(&b->lock);
        n = b->n_sessions;
        (void)pthread_mutex_unlock(&b->lock);
        return n;
}

/* --- commands ------------------------------------------------------------------------------ */

void bash_cmd_finished(struct api_bash *b, struct bash_cmd *c)
{
        struct bash_session *s = c->s;

        if (c->end_status)
                c->status = c->end_status;
        else if (c->signalled && c->exit_code < 0)
                c->status = BASH_KILLED;
        else
                c->status = BASH_COMPLETED;
        if (c->status == BASH_TIMED_OUT)
                c->exit_code = -1; /* upstream's value for a hard timeout */
        c->out_end = api_bstream_end(&s->out);
        c->err_end = api_bstream_end(&s->err);
        c->live = false;
        c->kill_deadline = c->hard_deadline = 0;
        live_remove(b, c);
        s->running--;
        if (s->current == c)
                s->current = NULL;
        b->done = aio_xrealloc(b->done, (b->n_done + 1) * sizeof(void *));
        b->done[b->n_done++] = s; /* the command's reference, dropped by the flush */
}

void bash_history_trim(struct api_bash *b, struct bash_session *s)
{
        size_t keep = b->cfg.history_max / 2, o = 0;

        if (s->n_cmds <= b->cfg.history_max)
                return;
        for (size_t i = 0; i < s->n_cmds; i++) {
                struct bash_cmd *c = s->cmds[i];

                if (s->n_cmds - i + o > keep && !c->live && !c->pins && s->current != c)
                        bash_cmd_free(c);
                else
                        s->cmds[o++] = c;
        }
        s->n_cmds = o;
}

void bash_done_flush(struct api_bash *b)
{
        for (size_t i = 0; i < b->n_done; i++) {
                bash_history_trim(b, b->done[i]);
                bash_session_unref(b, b->done[i]);
        }
        b->n_done = 0;
}

static struct bash_cmd *cmd_find(struct bash_session *s, const char *id)
{
        for (size_t i = s->n_cmds; i-- > 0;)
                if (strcmp(s->cmds[i]->id, id) == 0)
                        return s->cmds[i];
        return NULL;
}

int bash_cmd_get(struct bash_session *s, const char *id, struct bash_cmd **ret, struct aio_err *err)
{
        struct bash_cmd *c = cmd_find(s, id);

        if (!c)
                return aio_error_msg(err, ENOENT, "Command %s not found in session %s", id, s->id);
        *ret = c;
        return 0;
}

/* The command /v1/bash/output reports without command_id: the running one, else the last. */
struct bash_cmd *bash_cmd_latest(struct bash_session *s)
{
        if (s->current)
                return s->current;
        return s->n_cmds ? s->cmds[s->n_cmds - 1] : NULL;
}

void api_bash_stop(struct api_bash *b)
{
        int64_t until;

        if (!b)
                return;
        (void)pthread_mutex_lock(&b->lock);
        b->stopping = true;
        until = api_now_ms() + (b->cfg.kill_grace_ms < 1000 ? b->cfg.kill_grace_ms : 1000);
        for (size_t i = 0; i < b->n_live; i++) {
                if (!b->live[i]->end_status)
                        b->live[i]->end_status = BASH_KILLED;
                bash_cmd_signal(b->live[i], SIGTERM);
                b->live[i]->kill_deadline = until;
        }
        bash_kick(b);
        (void)pthread_cond_broadcast(&b->cond);
        while (b->n_live > 0 && api_now_ms() < until + 200) {
                struct timespec ts;

                (void)clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 50 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                (void)pthread_cond_timedwait(&b->cond, &b->lock, &ts);
        }
        (void)pthread_mutex_unlock(&b->lock);
}

void api_bash_free(struct api_bash *b)
{
        if (!b)
                return;
        bash_proc_join(b);
        (void)pthread_mutex_lock(&b->lock);
        bash_proc_reap_all(b);
        while (b->n_sessions > 0)
                bash_session_close(b, b->sessions[0]);
        bash_done_flush(b);
        (void)pthread_mutex_unlock(&b->lock);
        free(b->sessions);
        free(b->live);
        free(b->done);
        free(b->default_dir);
        closep(&b->epfd);
        closep(&b->evfd);
        (void)pthread_cond_destroy(&b->cond);
        (void)pthread_mutex_destroy(&b->lock);
        free(b);
}
