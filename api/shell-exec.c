/* /v1/shell commands: starting one in a session's bash, waiting for it under upstream's three
 * timeouts, and the result shapes (ShellCommandResult, ShellViewResult).
 *
 * A command is sent on a pipe, not typed: the terminal only receives a fixed trigger line that
 * makes bash read the command from the pipe and eval it at the top level. So a command of any
 * length or content (quotes, here-documents, several lines, text that looks like our markers)
 * reaches bash intact, and cd, export, declare and functions persist as when typed.
 *
 * Timeouts (upstream-api.md §5.1): timeout is soft (the request returns "running", the command
 * goes on); no_change_timeout returns "no_change_timeout" with the output so far when nothing
 * was printed for that long (the command goes on, to be answered with /write); hard_timeout
 * stops it: ^C as a user would type it, then SIGKILL to its process group two seconds later. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/shell-internal.h"
#include "api/spawn.h"

#define CONSOLE_MAX       20
#define INTERRUPT_KILL_MS 2000 /* ^C, then this long before SIGKILL */
#define HARD_GIVE_UP_MS   3000 /* after the SIGKILL: stop waiting for the end marker */
#define WAIT_SLICE_MS     250  /* how often a waiter checks that its client is still there */
#define READY_WAIT_MS     10000
#define PIPE_WRITE_MS     30000
#define FRONT_WAIT_MS     300 /* how long a ^C waits for a job to take the terminal */
#define FRONT_SETTLE_MS   20  /* and how long that job must have held it */

/* The line typed into bash for each command (^U first clears anything half typed); $? is passed
 * through so the command sees the status of the one before. */
static const char trigger[] = "\025 __aio_read $?; eval \"$__aio_c\"; __aio_end $?\r";

/* clang-format off */
static const char *const status_names[] = {
        [API_SHELL_RUNNING]           = "running",
        [API_SHELL_COMPLETED]         = "completed",
        [API_SHELL_NO_CHANGE_TIMEOUT] = "no_change_timeout",
        [API_SHELL_HARD_TIMEOUT]      = "hard_timeout",
        [API_SHELL_TERMINATED]        = "terminated",
};
/* clang-format on */

const char *api_shell_status_name(enum api_shell_status s)
{
        return (unsigned)s < _API_SHELL_STATUS_MAX ? status_names[s] : "terminated";
}

static json_t *record_new(const char *command, const char *output, size_t len)
{
        json_t *o = json_pack("{s:s, s:s, s:s%}", "ps1", "$ ", "command", command, "output",
                              output ? output : "", output ? len : 0);

        if (!o)
                abort();
        return o;
}

static void console_add(struct api_shell_session *s, json_t *record)
{
        (void)json_array_append_new(s->console, record);
        while (json_array_size(s->console) > CONSOLE_MAX)
                (void)json_array_remove(s->console, 0);
}

/* Which sandbox limit stopped the command: a memory kill is a SIGKILL (of the command:
 * bash reports 137; or of the session's bash itself, which a command at its top level is)
 * while the work cgroup counted one; a pids limit hit counts whatever the end. */
static const char *killed_by(const struct api_shell_session *s, enum api_shell_status st,
                             int exit_code)
{
        bool sigkilled = exit_code == 128 + SIGKILL ||
                         (st == API_SHELL_TERMINATED && WIFSIGNALED(s->wait_status) &&
                          WTERMSIG(s->wait_status) == SIGKILL);

        return api_workcg_killed_by(s->workcg, &s->ev_start, sigkilled);
}

/* With s->lock held: the command's output becomes the session's last result. */
static void record_finish(struct api_shell_session *s, enum api_shell_status status, int exit_code)
{
        struct api_shell_buf t = {0};

        s->running = false;
        s->status = status;
        s->has_exit = true;
        s->exit_code = exit_code;
        s->hard_deadline_ms = 0;
        s->last_used_ms = api_shell_realtime_ms();
        api_shell_buf_free(&s->last_text);
        api_shell_capture_text(&s->cap, false, &s->last_text);
        api_shell_buf_put(&s->last_text, "", 0);
        s->last_gen = s->gen;
        s->last_status = status;
        s->last_exit = exit_code;
        s->last_killed_by = killed_by(s, status, exit_code);
        api_shell_buf_put(&t, s->last_text.p, s->last_text.len);
        api_shell_truncate(&t, API_SHELL_TRUNCATE_CHARS);
        console_add(s, record_new(s->command ? s->command : "", t.p, t.len));
        api_shell_buf_free(&t);
}

void api_shell_command_finish(struct api_shell_session *s, int code, const char *pwd)
{
        bool hard = s->interrupt_stage > 0;

        free(s->cwd);
        s->cwd = api_shell_working_dir(pwd, s->preserve_symlinks);
        record_finish(s, hard ? API_SHELL_HARD_TIMEOUT : API_SHELL_COMPLETED, hard ? -1 : code);
}

void api_shell_command_abort(struct api_shell_session *s)
{
        int st = s->wait_status;

        record_finish(s, API_SHELL_TERMINATED, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void timed_wait(struct api_shell_session *s, int64_t until_mono_ms)
{
        struct timespec ts = {
                .tv_sec = until_mono_ms / 1000,
                .tv_nsec = (long)(until_mono_ms % 1000) * 1000000L,
        };

        (void)pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

static int64_t min_deadline(int64_t a, int64_t b)
{
        return b && b < a ? b : a;
}

/* Whether a job of the command has the terminal (else bash itself has it: a builtin runs, or
 * bash is between two commands, where a ^C is lost). */
static bool job_in_front(const struct api_shell_session *s)
{
        pid_t fg = tcgetpgrp(s->master);

        return fg > 1 && fg != s->pid;
}

/* A ^C is typed only when it can work: after the command started (before, it would flush the
 * command line from the terminal) and once a job of it has held the terminal for FRONT_SETTLE_MS
 * (a job just forked still runs bash's code, deaf to SIGINT, until it executes the program), or
 * after FRONT_WAIT_MS without one (a builtin: bash takes the ^C itself). */
static bool interrupt_now(struct api_shell_session *s, int64_t now, int64_t since)
{
        if (!s->started)
                return false;
        if (!job_in_front(s)) {
                s->front_ms = 0;
                return now >= since + FRONT_WAIT_MS;
        }
        if (!s->front_ms)
                s->front_ms = now;
        return now >= s->front_ms + FRONT_SETTLE_MS;
}

int api_shell_deadline_check(struct api_shell_session *s, int64_t now_ms)
{
        if (!s->running || !s->hard_deadline_ms)
                return -1;
        if (s->interrupt_stage == 0) {
                if (now_ms < s->hard_deadline_ms)
                        return (int)(s->hard_deadline_ms - now_ms);
                if (!interrupt_now(s, now_ms, s->hard_deadline_ms))
                        return 5;
                (void)!write(s->master, "\003", 1);
                s->interrupt_stage = 1;
                s->interrupt_ms = now_ms;
                return INTERRUPT_KILL_MS;
        }
        if (s->interrupt_stage == 1) {
                if (now_ms < s->interrupt_ms + INTERRUPT_KILL_MS)
                        return (int)(s->interrupt_ms + INTERRUPT_KILL_MS - now_ms);
                if (job_in_front(s))
                        (void)kill(-tcgetpgrp(s->master), SIGKILL);
                else
                        (void)!write(s->master, "\003", 1);
                s->interrupt_stage = 2;
                s->interrupt_ms = now_ms;
        }
        return -1;
}

void api_shell_interrupt_ready(struct api_shell_session *s, int64_t wait_ms)
{
        int64_t start = api_now_ms(), deadline = start + wait_ms;

        (void)pthread_mutex_lock(&s->lock);
        s->front_ms = 0;
        while (s->running && !s->dead && api_now_ms() < deadline &&
               !interrupt_now(s, api_now_ms(), s->started ? start : deadline))
                timed_wait(s, api_now_ms() + 5);
        (void)pthread_mutex_unlock(&s->lock);
}

/* ---- starting ------------------------------------------------------------------------------- */

int api_shell_exec_dir(const char *exec_dir, bool strict, bool preserve_symlinks, char **ret)
{
        struct stat st;

        *ret = NULL;
        if (!exec_dir)
                return 0;
        if (exec_dir[0] == '/' && stat(exec_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
                *ret = api_shell_working_dir(exec_dir, preserve_symlinks);
                return 0;
        }
        return strict ? -ENOENT : 0;
}

static int wait_ready_locked(struct api_shell_session *s, struct aio_err *err)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += READY_WAIT_MS / 1000;
        while (!s->ready && !s->dead)
                if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
                        break;
        if (s->dead || s->closing)
                return aio_error_msg(err, ENOENT, "Session not found");
        if (!s->ready)
                return aio_error_msg(err, EIO, "the shell of session %s did not start", s->id);
        return 0;
}

static int claim(struct api_shell_session *s, const struct api_shell_exec *e, uint64_t *ret_gen,
                 struct aio_err *err)
{
        int64_t now = api_now_ms();
        int r = wait_ready_locked(s, err);

        if (r < 0)
                return r;
        if (s->running)
                return aio_error_msg(err, EBUSY,
                                     "Session %s is busy: the command '%.100s' is still running. "
                                     "Wait for it (POST /v1/shell/wait), send it input (POST "
                                     "/v1/shell/write) or kill it (POST /v1/shell/kill)",
                                     s->id, s->command ? s->command : "");
        s->running = true;
        s->started = false;
        s->gen++;
        api_workcg_mark(s->workcg, &s->ev_start);
        free(s->command);
        s->command = aio_xstrdup(e->command);
        s->status = API_SHELL_RUNNING;
        s->has_exit = false;
        api_shell_capture_reset(&s->cap);
        s->last_output_ms = now;
        s->hard_deadline_ms = e->hard_timeout > 0 ? now + (int64_t)(e->hard_timeout * 1000) : 0;
        s->interrupt_stage = 0;
        s->front_ms = 0;
        s->last_used_ms = api_shell_realtime_ms();
        *ret_gen = s->gen;
        return 0;
}

/* 'x' -> 'x', it's -> 'it'\''s' */
static void shell_quote(struct api_shell_buf *b, const char *s)
{
        api_shell_buf_put(b, "'", 1);
        for (; *s; s++) {
                if (*s == '\'')
                        api_shell_buf_put(b, "'\\''", 4);
                else
                        api_shell_buf_put(b, s, 1);
        }
        api_shell_buf_put(b, "'", 1);
}

static int pipe_write(struct api_shell_session *s, const char *p, size_t n, struct aio_err *err)
{
        int64_t deadline = api_now_ms() + PIPE_WRITE_MS;

        while (n) {
                ssize_t w = write(s->cmd_fd, p, n);
                struct pollfd pf = {.fd = s->cmd_fd, .events = POLLOUT};

                if (w > 0) {
                        p += w;
                        n -= (size_t)w;
                        continue;
                }
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                        return aio_error(err, errno, "sending the command to session %s", s->id);
                if (api_now_ms() >= deadline)
                        return aio_error_msg(err, ETIMEDOUT, "session %s does not read commands",
                                             s->id);
                (void)poll(&pf, 1, 100);
        }
        return 0;
}

static void unclaim(struct api_shell_session *s)
{
        (void)pthread_mutex_lock(&s->lock);
        if (s->running)
                record_finish(s, API_SHELL_TERMINATED, -1);
        (void)pthread_cond_broadcast(&s->cond);
        (void)pthread_mutex_unlock(&s->lock);
}

int api_shell_start(struct api_shell_session *s, const struct api_shell_exec *e, uint64_t *ret_gen,
                    struct aio_err *err)
{
        struct api_shell_buf text = {0};
        int r;

        (void)pthread_mutex_lock(&s->lock);
        r = claim(s, e, ret_gen, err);
        (void)pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        api_shell_session_wake(s); /* a new hard deadline for the reader */
        if (e->dir) {
                api_shell_buf_put(&text, "cd -- ", 6);
                shell_quote(&text, e->dir);
                api_shell_buf_put(&text, " && {\n", 6);
        }
        api_shell_buf_put(&text, e->command, strlen(e->command));
        if (e->dir)
                api_shell_buf_put(&text, "\n}", 2);
        r = api_shell_type(s, trigger, sizeof(trigger) - 1, err);
        if (r == 0)
                r = pipe_write(s, text.p, text.len + 1, err); /* with its NUL */
        api_shell_buf_free(&text);
        if (r < 0)
                unclaim(s); /* bash may now wait for the rest: the caller closes the session */
        return r;
}

/* ---- waiting -------------------------------------------------------------------------------- */

/* With s->lock held: how the wait ends now, or -1 to go on waiting until *next. */
static int wait_check(struct api_shell_session *s, uint64_t gen, const struct api_shell_wait *w,
                      int64_t *next)
{
        int64_t now = api_now_ms(), quiet = 0;

        if (s->gen != gen || !s->running)
                return API_SHELL_W_DONE;
        if (s->interrupt_stage >= 2 && now >= s->interrupt_ms + HARD_GIVE_UP_MS)
                return API_SHELL_W_HARD;
        if (w->soft_deadline_ms && now >= w->soft_deadline_ms)
                return API_SHELL_W_TIMEOUT;
        if (w->no_change_s && !s->interrupt_stage) {
                quiet = s->last_output_ms + w->no_change_s * 1000;
                if (now >= quiet)
                        return API_SHELL_W_NO_CHANGE;
        }
        if (w->gone && w->gone(w->gone_cls))
                return API_SHELL_W_GONE;
        *next = min_deadline(min_deadline(now + WAIT_SLICE_MS, w->soft_deadline_ms), quiet);
        if (s->interrupt_stage >= 2)
                *next = min_deadline(*next, s->interrupt_ms + HARD_GIVE_UP_MS);
        return -1;
}

enum api_shell_wait_end api_shell_wait_command(struct api_shell_session *s, uint64_t gen,
                                               const struct api_shell_wait *w)
{
        int64_t next = 0;
        int how;

        (void)pthread_mutex_lock(&s->lock);
        while ((how = wait_check(s, gen, w, &next)) < 0)
                timed_wait(s, next);
        (void)pthread_mutex_unlock(&s->lock);
        return (enum api_shell_wait_end)how;
}

enum api_shell_status api_shell_wait_idle(struct api_shell_session *s, int64_t wait_ms,
                                          bool (*gone)(void *cls), void *gone_cls)
{
        int64_t deadline = api_now_ms() + (wait_ms > 0 ? wait_ms : 0);
        enum api_shell_status st;

        (void)pthread_mutex_lock(&s->lock);
        while (s->running && !s->dead && api_now_ms() < deadline && !(gone && gone(gone_cls)))
                timed_wait(s, min_deadline(api_now_ms() + WAIT_SLICE_MS, deadline));
        st = s->running ? API_SHELL_RUNNING : s->status;
        (void)pthread_mutex_unlock(&s->lock);
        return st;
}

enum api_shell_status api_shell_status_get(struct api_shell_session *s, bool *ret_running)
{
        enum api_shell_status st;

        (void)pthread_mutex_lock(&s->lock);
        *ret_running = s->running;
        st = s->running ? API_SHELL_RUNNING : s->status;
        (void)pthread_mutex_unlock(&s->lock);
        return st;
}

/* ---- results -------------------------------------------------------------------------------- */

static json_t *text_json(const struct api_shell_buf *b, bool truncate)
{
        struct api_shell_buf t = {0};
        json_t *j;

        api_shell_buf_put(&t, b->p ? b->p : "", b->len);
        if (truncate)
                api_shell_truncate(&t, API_SHELL_TRUNCATE_CHARS);
        j = json_stringn(t.p, t.len);
        api_shell_buf_free(&t);
        if (!j)
                abort(); /* the cleaner only makes valid UTF-8 */
        return j;
}

static json_t *result_new(const char *id, const char *command, enum api_shell_status st)
{
        json_t *o =
                json_pack("{s:s, s:s, s:s, s:n, s:n, s:n}", "session_id", id, "command", command,
                          "status", api_shell_status_name(st), "output", "console", "exit_code");

        if (!o)
                abort();
        return o;
}

/* With s->lock held: the finished command gen, if it is still the last one. */
static void result_done(struct api_shell_session *s, uint64_t gen, bool truncate, json_t *o)
{
        json_t *last = json_array_get(s->console, json_array_size(s->console) - 1);

        if (s->last_gen != gen)
                return; /* another command ran since: only its status is known */
        (void)json_object_set_new(o, "status", json_string(api_shell_status_name(s->last_status)));
        (void)json_object_set_new(o, "output", text_json(&s->last_text, truncate));
        (void)json_object_set_new(o, "exit_code", json_integer(s->last_exit));
        /* ours: which sandbox limit stopped it (docs/api.md) */
        if (s->last_killed_by)
                (void)json_object_set_new(o, "killed_by",
                                          json_sprintf("%s_limit", s->last_killed_by));
        if (last)
                (void)json_object_set_new(o, "console", json_pack("[O]", last));
}

static void result_partial(struct api_shell_session *s, const char *command, bool truncate,
                           enum api_shell_status st, json_t *o)
{
        struct api_shell_buf t = {0};

        api_shell_capture_text(&s->cap, truncate, &t);
        (void)json_object_set_new(o, "status", json_string(api_shell_status_name(st)));
        (void)json_object_set_new(o, "output", text_json(&t, false));
        (void)json_object_set_new(o, "exit_code", json_integer(-1));
        (void)json_object_set_new(o, "console", json_pack("[o]", record_new(command, t.p, t.len)));
        api_shell_buf_free(&t);
}

json_t *api_shell_result(struct api_shell_session *s, uint64_t gen, const char *command,
                         enum api_shell_wait_end how, bool truncate)
{
        json_t *o = result_new(s->id, command, API_SHELL_RUNNING);

        (void)pthread_mutex_lock(&s->lock);
        switch (how) {
        case API_SHELL_W_DONE:
                (void)json_object_set_new(o, "status", json_string("completed"));
                result_done(s, gen, truncate, o);
                break;
        case API_SHELL_W_NO_CHANGE:
                result_partial(s, command, truncate, API_SHELL_NO_CHANGE_TIMEOUT, o);
                break;
        case API_SHELL_W_HARD:
                result_partial(s, command, truncate, API_SHELL_HARD_TIMEOUT, o);
                break;
        case API_SHELL_W_TIMEOUT:
        case API_SHELL_W_GONE:
                break;
        }
        (void)pthread_mutex_unlock(&s->lock);
        return o;
}

json_t *api_shell_result_refused(struct api_shell_session *s, const char *command,
                                 const char *output)
{
        json_t *o = result_new(s->id, command, API_SHELL_TERMINATED);
        json_t *record = record_new(command, output, strlen(output));

        (void)json_object_set_new(o, "output", json_string(output));
        (void)json_object_set_new(o, "exit_code", json_integer(1));
        (void)json_object_set_new(o, "console", json_pack("[O]", record));
        (void)pthread_mutex_lock(&s->lock);
        if (!s->running) {
                free(s->command);
                s->command = aio_xstrdup(command);
                s->status = API_SHELL_TERMINATED;
                s->has_exit = true;
                s->exit_code = 1;
                console_add(s, json_incref(record));
        }
        (void)pthread_mutex_unlock(&s->lock);
        json_decref(record);
        return o;
}

json_t *api_shell_view(struct api_shell_session *s)
{
        struct api_shell_buf t = {0};
        json_t *o;

        (void)pthread_mutex_lock(&s->lock);
        if (s->running)
                api_shell_capture_text(&s->cap, true, &t);
        else
                api_shell_buf_put(&t, s->last_text.p, s->last_text.len);
        o = json_pack("{s:o, s:s, s:O, s:s, s:s?, s:o}", "output", text_json(&t, true),
                      "session_id", s->id, "console", s->console, "status",
                      api_shell_status_name(s->running ? API_SHELL_RUNNING : s->status), "command",
                      s->command, "exit_code",
                      s->has_exit && !s->running ? json_integer(s->exit_code) : json_null());
        (void)pthread_mutex_unlock(&s->lock);
        api_shell_buf_free(&t);
        if (!o)
                abort();
        return o;
}
