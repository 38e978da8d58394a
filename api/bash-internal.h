#pragma once

/* Shared by api/bash.c (sessions, requests) and api/bash-proc.c (spawning, the reader thread).
 * Everything here is guarded by api_bash.lock. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "api/bash-buf.h"
#include "api/bash.h"
#include "api/workcg.h"

struct aio_err;

enum bash_status {
        BASH_PENDING,
        BASH_RUNNING,
        BASH_COMPLETED,
        BASH_TIMED_OUT,
        BASH_KILLED,
        _BASH_STATUS_MAX,
};

enum bash_fd_kind {
        BASH_FD_OUT,
        BASH_FD_ERR,
        BASH_FD_PID,
        _BASH_FD_MAX,
};

struct bash_cmd;

/* What an epoll event points to. */
struct bash_fdref {
        struct bash_cmd *cmd;
        enum bash_fd_kind kind;
        int fd; /* -1 once closed */
};

struct bash_session;

struct bash_cmd {
        char id[40];
        char *command;
        struct bash_session *s;
        enum bash_status status;
        enum bash_status end_status; /* BASH_TIMED_OUT/BASH_KILLED once decided, else 0 */
        bool has_exit;
        int exit_code;
        pid_t pid;     /* the process group too; 0 once reaped */
        int in_fd;     /* stdin's write end; -1 once closed */
        bool live;     /* the reader thread owns its pipes (in api_bash.live) */
        int signalled; /* the last signal /v1/bash/kill sent, 0: none */
        unsigned pins; /* waiters looking at it: not dropped from the history */
        struct bash_fdref fds[_BASH_FD_MAX];
        uint64_t out_start, err_start;     /* stream offsets when it started */
        uint64_t out_end, err_end;         /* ... and when it finished */
        int64_t hard_deadline;             /* api_now_ms() clock; 0: none */
        int64_t kill_deadline;             /* SIGKILL the group then; 0: none */
        struct api_workcg_events ev_start; /* the work cgroup's counters when it started */
        const char *killed_by;             /* "memory" or "pids" limit, or NULL */
};

struct bash_session {
        char *id;
        bool closed;
        char *working_dir;
        char *snapshot; /* a script sourced before each command, or NULL */
        struct timespec created, last_used;
        int64_t last_used_ms;
        struct api_bstream out, err;
        struct bash_cmd **cmds; /* oldest first */
        size_t n_cmds;
        size_t command_count;
        struct bash_cmd *current;
        unsigned refs;    /* the table, each live command, each waiter */
        unsigned running; /* live commands */
};

struct api_bash {
        struct api_bash_config cfg;
        char *default_dir;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* CLOCK_MONOTONIC; broadcast on every change */
        struct bash_session **sessions;
        size_t n_sessions;
        struct bash_cmd **live;
        size_t n_live;
        int epfd, evfd;
        pthread_t thread;
        bool thread_started;
        bool stopping; /* no new commands */
        bool quit;     /* the reader thread returns */
        int64_t next_sweep;
        struct bash_session **done; /* one entry (and one ref) per command finished */
        size_t n_done;
};

/* bash-proc.c */
int bash_proc_start(struct api_bash *b, struct aio_err *err);
void bash_proc_join(struct api_bash *b);
/* Starts c (pid, pipes, epoll) running script in dir with envp. Lock held. */
int bash_spawn(struct api_bash *b, struct bash_cmd *c, const char *script, const char *dir,
               char *const envp[], struct aio_err *err);
/* Signals c's process group (nothing once it was reaped). */
void bash_cmd_signal(struct bash_cmd *c, int sig);
/* Wakes the reader thread (a new deadline). */
void bash_kick(struct api_bash *b);
/* After the reader thread is gone: SIGKILL, reap and close whatever is still live. */
void bash_proc_reap_all(struct api_bash *b);

/* bash.c, for the reader thread. A finished command leaves the live list at once; its
 * session's history trim and reference drop wait for bash_done_flush(), after the epoll batch
 * that may still point at it. */
void bash_cmd_finished(struct api_bash *b, struct bash_cmd *c);
void bash_done_flush(struct api_bash *b);
void bash_session_unref(struct api_bash *b, struct bash_session *s);
void bash_history_trim(struct api_bash *b, struct bash_session *s);
void bash_sweep(struct api_bash *b, int64_t now);

/* bash.c, for the requests in bash-req.c. Lock held for all of them. */
extern const char *const bash_status_names[_BASH_STATUS_MAX];
void bash_uuid4(char out[37]);
void bash_touch(struct bash_session *s);
struct bash_session *bash_session_find(struct api_bash *b, const char *id);
/* ENOENT "Session X not found". */
int bash_session_get(struct api_bash *b, const char *id, struct bash_session **ret,
                     struct aio_err *err);
/* A new session in the table (id NULL or "": a generated one), making room first. */
struct bash_session *bash_session_new(struct api_bash *b, const char *id, const char *dir);
void bash_session_close(struct api_bash *b, struct bash_session *s);
int bash_cmd_get(struct bash_session *s, const char *id, struct bash_cmd **ret,
                 struct aio_err *err);
struct bash_cmd *bash_cmd_latest(struct bash_session *s);
void bash_cmd_free(struct bash_cmd *c);
