#pragma once

/* /v1/bash: process-per-command bash sessions (upstream-api.md §2.3, §5.2). A session is
 * metadata (default working directory, an optional snapshot script sourced before each command)
 * plus two append-only byte streams, stdout and stderr, read by absolute offsets. Each exec
 * starts `bash -c COMMAND` in its own process group with stdin, stdout and stderr on pipes; one
 * reader thread (epoll over the pipes and a pidfd per child) fills the streams, reaps, and
 * enforces hard timeouts. Handlers only wait (API_F_SLOW) on a condition variable. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct api_bash;
struct api_workcg;

struct api_bash_config {
        const char *shell;          /* "/bin/bash" */
        const char *default_dir;    /* working directory of new sessions; NULL: $HOME or / */
        size_t max_sessions;        /* MAX_BASH_SESSIONS, 50: the least recently used goes */
        int64_t session_timeout_ms; /* BASH_SESSION_TIMEOUT, 3600 s idle (and nothing running) */
        size_t stream_max;          /* per stream, API_BSTREAM_MAX */
        size_t history_max;         /* commands remembered per session (100, then the last half) */
        int64_t kill_grace_ms;      /* SIGTERM to SIGKILL on close and shutdown */
        const struct api_workcg *workcg; /* where commands run (aio-run up); NULL: here */
};

/* The defaults, with MAX_BASH_SESSIONS and BASH_SESSION_TIMEOUT (seconds) from the
 * environment as upstream reads them. */
void api_bash_config_default(struct api_bash_config *c);
/* Starts the reader thread. Returns NULL with errno set when it cannot. */
struct api_bash *api_bash_new(const struct api_bash_config *c);
/* Shutdown, first step: refuses new commands, SIGTERMs every process group, wakes every waiter,
 * gives the commands kill_grace_ms (at most 1 s) to go, then SIGKILLs what is left. */
void api_bash_stop(struct api_bash *b);
/* Kills and reaps whatever is left, joins the thread, frees everything. NULL is fine. */
void api_bash_free(struct api_bash *b);

/* How a waiting handler notices its client left (api_req_gone()); gone may be NULL. */
struct api_bash_waiter {
        bool (*gone)(const void *cls);
        const void *cls;
};

struct api_bash_exec {
        const char *session_id; /* NULL or "": a new session */
        const char *command;
        const char *exec_dir;   /* NULL: the session's */
        const char *const *env; /* NULL-terminated "NAME=value" list, or NULL */
        bool async_mode;
        double timeout;              /* < 0: none (wait for the end) */
        double hard_timeout;         /* < 0: none */
        long long max_output_length; /* <= 0: no truncation */
};
/* POST /v1/bash/exec: *ret is a BashExecResult. */
int api_bash_exec(struct api_bash *b, const struct api_bash_exec *a,
                  const struct api_bash_waiter *w, json_t **ret, struct aio_err *err);

struct api_bash_output {
        const char *session_id;
        const char *command_id; /* NULL: the session's streams and its latest command */
        long long offset, stderr_offset;
        bool wait;
        double wait_timeout;
};
/* POST /v1/bash/output: *ret is a BashOutputResult. */
int api_bash_output(struct api_bash *b, const struct api_bash_output *a,
                    const struct api_bash_waiter *w, json_t **ret, struct aio_err *err);
/* POST /v1/bash/write: n bytes of input to the stdin of the command (NULL: the current one). */
int api_bash_write(struct api_bash *b, const char *session_id, const char *command_id,
                   const char *input, size_t n, const struct api_bash_waiter *w,
                   struct aio_err *err);
/* The signal number of "SIGTERM", "SIGKILL", "SIGINT", ... or 0. */
int api_bash_signal_parse(const char *name);
/* POST /v1/bash/kill: sig to the process group of the session's running command(s). Returns how
 * many commands were signalled. */
int api_bash_kill(struct api_bash *b, const char *session_id, int sig, struct aio_err *err);
/* GET /v1/bash/sessions: a list of BashSessionInfo. */
json_t *api_bash_sessions(struct api_bash *b);
/* POST /v1/bash/sessions/create: *ret is a BashSessionInfo (an existing open session with that
 * id is returned as it is). */
int api_bash_session_create(struct api_bash *b, const char *session_id, const char *exec_dir,
                            const char *snapshot_path, json_t **ret, struct aio_err *err);
/* POST /v1/bash/sessions/{id}/close. */
int api_bash_session_close(struct api_bash *b, const char *session_id, struct aio_err *err);
/* Sessions held (tests). */
size_t api_bash_session_count(struct api_bash *b);
