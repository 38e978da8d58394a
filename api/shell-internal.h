#pragma once

/* What the /v1/shell files share and nobody else needs: the pure text layer (shell-text.c:
 * completion markers, terminal output cleaning, truncation, control keys, the capped output
 * store), the session object (shell-session.c) and the command life cycle (shell-exec.c). */

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/workcg.h"

struct aio_err;
struct api_req;
struct api_resp;

/* ---- text (shell-text.c, pure) ------------------------------------------------------------- */

#define API_SHELL_TRUNCATE_CHARS 30000 /* upstream's MAX_CMD_OUTPUT_SIZE (OpenHands) */
#define API_SHELL_TRUNCATED_NOTE "\n[... Observation truncated due to length ...]\n"
#define API_SHELL_NONCE_LEN      16
#define API_SHELL_MARKER_MAX     4200 /* a marker's body: kind, exit code and $PWD */

/* A growable byte buffer (always NUL-terminated once something was put). */
struct api_shell_buf {
        char *p;
        size_t len, cap;
};
void api_shell_buf_put(struct api_shell_buf *b, const void *p, size_t n);
void api_shell_buf_free(struct api_shell_buf *b);

/* Completion markers: the shell prints ESC ] 777 ; aio ; <nonce> ; <body> BEL, where body is
 * "R;<code>;<pwd>" (ready), "S" (a command starts) or "E;<code>;<pwd>" (it ended). The nonce is
 * random per session and never appears verbatim in the shell's variables or functions (they
 * hold "\033", not ESC), so a command printing anything, marker-like text included, cannot end
 * a command early unless it runs the hook itself. */
struct api_shell_marker {
        char kind; /* 'R', 'S' or 'E' */
        int code;
        const char *pwd; /* R and E; points into the parser */
};

typedef void (*api_shell_data_fn)(void *cls, const char *p, size_t n);
typedef void (*api_shell_marker_fn)(void *cls, const struct api_shell_marker *m);

struct api_shell_parser {
        char prefix[32 + API_SHELL_NONCE_LEN];
        size_t prefix_len, matched;
        bool in_body;
        size_t body_len;
        char body[API_SHELL_MARKER_MAX + 1];
};

void api_shell_parser_init(struct api_shell_parser *p, const char *nonce);
/* Splits buf into output (data, in runs) and markers; a marker split across calls is held back
 * until complete. Anything that only looks like a marker is passed on as data. */
void api_shell_parser_feed(struct api_shell_parser *p, const char *buf, size_t n,
                           api_shell_data_fn data, api_shell_marker_fn marker, void *cls);
/* Parses a marker body ("S", "E;0;/home/gem", ...); body must be NUL-terminated. */
int api_shell_marker_parse(char *body, struct api_shell_marker *m);

/* Terminal output as text, the way upstream strips it: ANSI/OSC/DCS sequences removed, CR LF
 * made LF, lone CR dropped, a backspace removes the character before it, other control
 * characters dropped, invalid UTF-8 replaced with U+FFFD. Returns how many bytes of in were
 * used: unless final, an incomplete sequence at the end is left for the next call. */
size_t api_shell_clean(const char *in, size_t n, bool final, struct api_shell_buf *out);
/* Valid UTF-8 from any bytes (common/utf8.h: invalid subparts become U+FFFD). */
void api_shell_utf8_fix(const char *s, size_t n, struct api_shell_buf *out);
/* Upstream's truncation: text longer than max characters keeps its first and last max/2
 * characters around API_SHELL_TRUNCATED_NOTE. Works in place on b. */
void api_shell_truncate(struct api_shell_buf *b, size_t max_chars);
/* Trailing whitespace and leading blank lines removed, in place (upstream strips output). */
void api_shell_trim(struct api_shell_buf *b);
/* "C-c", "C-d", "C-z", ... (tmux's names, which upstream's OpenHands sessions accept; case and
 * surrounding blanks ignored): the byte the key sends, or -1 when input is not such a name. */
int api_shell_control_key(const char *input);

/* Output kept for one command: its first head_cap bytes and its last ring_cap bytes; what falls
 * between is dropped and marked when rendered. */
struct api_shell_capture {
        char *head, *ring;
        size_t head_cap, head_len;
        size_t ring_cap, ring_start, ring_len;
        uint64_t total;
};
void api_shell_capture_init(struct api_shell_capture *c, size_t head_cap, size_t ring_cap);
void api_shell_capture_reset(struct api_shell_capture *c);
void api_shell_capture_free(struct api_shell_capture *c);
void api_shell_capture_append(struct api_shell_capture *c, const char *p, size_t n);
/* The raw bytes still held, in order, and how many were dropped between head and ring. */
uint64_t api_shell_capture_raw(const struct api_shell_capture *c, struct api_shell_buf *head,
                               struct api_shell_buf *tail);
/* The output as text: cleaned, trimmed, and truncated when truncate is set. */
void api_shell_capture_text(const struct api_shell_capture *c, bool truncate,
                            struct api_shell_buf *out);

/* ---- sessions (shell-session.c) -------------------------------------------------------------- */

enum api_shell_status {
        API_SHELL_RUNNING,
        API_SHELL_COMPLETED,
        API_SHELL_NO_CHANGE_TIMEOUT,
        API_SHELL_HARD_TIMEOUT,
        API_SHELL_TERMINATED,
        _API_SHELL_STATUS_MAX,
};
const char *api_shell_status_name(enum api_shell_status s);

#define API_SHELL_ID_MAX 128

/* A subscriber to a session's terminal output (a WebSocket, an SSE stream): the reader thread
 * appends, the subscriber takes. Bounded: past max, the oldest bytes are dropped. */
struct api_shell_sub {
        struct api_shell_sub *next;
        struct api_shell_buf q;
        size_t max;
        bool command_only; /* only what commands print between their markers */
        bool dropped;
        int wake_fd; /* written to when data arrives or the session changes; -1: none */
};

struct api_shell_session {
        char id[API_SHELL_ID_MAX + 1];
        const struct api_workcg *workcg;   /* where its bash runs; NULL: aio-apid's cgroup */
        struct api_workcg_events ev_start; /* the work cgroup's counters at the command's start */
        const char *last_killed_by;        /* "memory" or "pids": the limit that stopped it */
        char nonce[API_SHELL_NONCE_LEN + 1];
        /* the state below is under lock */
        bool in_table, ready, dead, closing, ws_attached;
        bool preserve_symlinks, running, started, has_exit;
        atomic_int refs;
        pid_t pid;
        int master, cmd_fd, pidfd, wake_rd, wake_wr;
        int wait_status, exit_code, last_exit, interrupt_stage;
        enum api_shell_status status, last_status;
        pthread_mutex_t lock;
        pthread_cond_t cond;   /* broadcast on output, markers, death */
        pthread_mutex_t wlock; /* one writer to the terminal at a time */
        struct api_shells *owner;
        int64_t created_ms, last_used_ms; /* CLOCK_REALTIME, ms */
        long long no_change_timeout;
        char *cwd;
        /* the current or last command */
        uint64_t gen; /* bumped by every command */
        char *command;
        struct api_shell_capture cap;
        int64_t last_output_ms; /* CLOCK_MONOTONIC */
        int64_t hard_deadline_ms, interrupt_ms, front_ms;
        json_t *console;   /* ConsoleRecord[] of finished commands, newest last */
        uint64_t last_gen; /* the last finished command: its output, cleaned, untruncated */
        struct api_shell_buf last_text;
        struct api_shell_capture history; /* everything the terminal showed, for a reattach */
        struct api_shell_sub *subs;
        struct api_shell_parser parser;
};

struct api_shells {
        pthread_mutex_t lock;
        pthread_cond_t gone; /* a reader thread ended */
        struct api_shell_session **v;
        size_t n;
        unsigned readers;
        unsigned max_sessions;
        long long session_timeout_s;
        char *default_cwd;
        char *shell;
        char **envp;                     /* the shells' environment, without aio-apid's secrets */
        const struct api_workcg *workcg; /* sessions run in the sandbox's work cgroup leaf */
};

#define API_SHELL_VICTIMS_MAX 1001 /* max_sessions is capped below this */

struct api_shell_session *api_shell_session_new(struct api_shells *sh, const char *id);
/* Starts bash on a new terminal in cwd, and the reader thread (which then owns the killing and
 * reaping). */
int api_shell_session_start(struct api_shells *sh, struct api_shell_session *s, const char *cwd,
                            struct aio_err *err);
void api_shell_session_unref(struct api_shell_session *s);
void api_shell_uuid4(char out[37]);
bool api_shell_is_dir(const char *path);
/* Looks id up; returns it with a reference, or NULL. */
struct api_shell_session *api_shells_get(struct api_shells *sh, const char *id);
/* Removes s from the table and kills everything it runs (its whole session of processes). */
void api_shell_session_close(struct api_shells *sh, struct api_shell_session *s);
/* Kills every process of the Linux session sid; returns how many were signalled last pass. */
int api_shell_kill_tree(pid_t sid);
/* Writes all of p to the terminal (as typed keys). Call without s->lock held. */
int api_shell_type(struct api_shell_session *s, const char *p, size_t n, struct aio_err *err);
void api_shell_sub_add(struct api_shell_session *s, struct api_shell_sub *sub);
void api_shell_sub_del(struct api_shell_session *s, struct api_shell_sub *sub);
/* GET /v1/shell/sessions: {id: ShellSessionInfo}; expired idle sessions are removed first. */
json_t *api_shell_sessions_json(struct api_shells *sh);
/* ShellSessionStats. */
json_t *api_shell_stats_json(struct api_shells *sh);
/* Closes every session; returns how many there were. */
size_t api_shell_close_all(struct api_shells *sh);
/* Makes the reader thread look at the session again (deadlines changed, closing). */
void api_shell_session_wake(struct api_shell_session *s);
int64_t api_shell_realtime_ms(void);
/* $PWD as reported, or its physical path unless the session preserves symlinks (malloc'ed). */
char *api_shell_working_dir(const char *pwd, bool preserve_symlinks);

/* ---- commands (shell-exec.c) ---------------------------------------------------------------- */

/* Called by the reader thread with s->lock held when a command's end marker came. */
void api_shell_command_finish(struct api_shell_session *s, int code, const char *pwd);
/* The same when the shell died under a running command. */
void api_shell_command_abort(struct api_shell_session *s);
/* Hard timeout handling, called by the reader with s->lock held: interrupts the command at its
 * deadline (^C, as upstream's tmux sessions do), then kills its process group. Returns the poll
 * timeout (ms) it needs, or -1. */
int api_shell_deadline_check(struct api_shell_session *s, int64_t now_ms);

struct api_shell_exec {
        const char *command;         /* as the client sent it, reported back */
        const char *dir;             /* resolved exec_dir to cd to first, or NULL */
        double hard_timeout;         /* seconds; <= 0: none */
        long long no_change_timeout; /* for this command; 0: the session's */
};

/* Resolves exec_dir against upstream's rules: absolute and an existing directory, else NULL
 * (the session's cwd is used), or -ENOENT when strict; symlinks in it are resolved unless
 * preserve_symlinks. *ret is malloc'ed or NULL. */
int api_shell_exec_dir(const char *exec_dir, bool strict, bool preserve_symlinks, char **ret);
/* Starts a command. Only one runs per session at a time: a second one, while the first has not
 * ended (even if its own request returned early on a timeout), is refused with -EBUSY (409)
 * rather than queued, so no request waits behind a command it cannot see. Sets *ret_gen. */
int api_shell_start(struct api_shell_session *s, const struct api_shell_exec *e, uint64_t *ret_gen,
                    struct aio_err *err);

enum api_shell_wait_end {
        API_SHELL_W_DONE,      /* the command ended */
        API_SHELL_W_NO_CHANGE, /* no output for no_change_timeout: it runs on */
        API_SHELL_W_TIMEOUT,   /* the caller's soft timeout: it runs on */
        API_SHELL_W_HARD,      /* hard timeout: interrupted and killed, and still not ended */
        API_SHELL_W_GONE,      /* the caller left: it runs on */
};
struct api_shell_wait {
        int64_t soft_deadline_ms; /* api_now_ms() clock; 0: none */
        long long no_change_s;    /* 0: none */
        bool (*gone)(void *cls);
        void *gone_cls;
};
enum api_shell_wait_end api_shell_wait_command(struct api_shell_session *s, uint64_t gen,
                                               const struct api_shell_wait *w);
/* ShellCommandResult for command gen after the wait ended with how. */
json_t *api_shell_result(struct api_shell_session *s, uint64_t gen, const char *command,
                         enum api_shell_wait_end how, bool truncate);
/* ShellCommandResult of a command refused before it ran (strict exec_dir). */
json_t *api_shell_result_refused(struct api_shell_session *s, const char *command,
                                 const char *output);
/* ShellViewResult. */
json_t *api_shell_view(struct api_shell_session *s);
/* Waits up to wait_ms for the running command to end; returns the status then. */
enum api_shell_status api_shell_wait_idle(struct api_shell_session *s, int64_t wait_ms,
                                          bool (*gone)(void *cls), void *gone_cls);
/* Before a key that makes a signal: waits for the command to start, then (briefly) for one of
 * its jobs to take the terminal: a ^C that reaches bash between two commands is lost. */
void api_shell_interrupt_ready(struct api_shell_session *s, int64_t wait_ms);
/* Whether a command is running, and the status the session reports. */
enum api_shell_status api_shell_status_get(struct api_shell_session *s, bool *ret_running);

/* ---- streams (shell-stream.c: SSE and the /terminal files; shell-ws.c: the terminal) --------- */

struct api_shell_sse;
/* Subscribes to s's command output (before the command starts, so nothing is missed); takes a
 * reference of its own. no_change_s ends the stream after that long without output (<= 0: the
 * session's setting). */
struct api_shell_sse *api_shell_sse_new(struct api_shell_session *s, bool view,
                                        long long no_change_s);
void api_shell_sse_free(void *sse);
/* The command the stream follows. */
void api_shell_sse_start(struct api_shell_sse *sse, uint64_t gen, bool truncate);
/* Answers with the stream (upstream's events: ": connected", data {"output"}, then data
 * {"end": true, "message": "No more output"}, or data {"error"}); takes sse. */
void api_shell_sse_respond(struct api_resp *resp, struct api_shell_sse *sse);
/* POST /v1/shell/view with Accept: text/event-stream. */
void api_shell_sse_view(struct api_resp *resp, struct api_shell_session *s);
/* GET /terminal and its files, from AIO_TERMINAL_DIR or <aio-apid's dir>/../share/aio/terminal;
 * only the names of a fixed list are served. */
int api_shell_asset(struct api_resp *resp, const char *name, struct aio_err *err);
/* GET /v1/shell/ws: the terminal of a session (?session_id=) or of a new one. */
int api_shell_ws_serve(struct api_shells *sh, const struct api_req *req, struct aio_err *err);
