#pragma once

#include <stdbool.h>
#include <stdio.h>

struct aio_err;

#define RT_UP_DEFAULT_LISTEN "127.0.0.1:8080"
#define RT_UP_APID_PATH      "/opt/aio/bin/aio-apid"
#define RT_UP_CLI_PATH       "/opt/aio/bin/aio"
#define RT_UP_TERMINAL_PATH  "/opt/aio/share/aio/terminal" /* aio-apid's ../share/aio/terminal */
#define RT_UP_READY_MS       10000

/* aio-run up: the API's listening socket is made here, in the host's network namespace, and
 * handed to aio-apid in the jail (fd 3, LISTEN_FDS=1): reachable without NAT or a proxy while
 * everything the agent starts stays in the jail's own network namespace. */

/* Whether env (VAR=VAL entries for the jail) gives aio-apid an API key or a JWT key. */
bool rt_up_has_auth(char *const *env);
/* Parses ADDR:PORT ([v6]:PORT for IPv6; PORT 0 picks a free one), refuses an address that is
 * not loopback unless insecure (set it when the API has a key), binds and listens.
 * Returns the fd (close-on-exec). */
int rt_up_listen(const char *spec, bool insecure, struct aio_err *err);
/* --socket PATH: a Unix listening socket, mode 0600 (a stale socket file is replaced, a live
 * one or any other file refused). Returns the fd. */
int rt_up_unix_listen(const char *path, struct aio_err *err);
/* Whether something accepts connections on the Unix socket at path. */
bool rt_up_unix_alive(const char *path);
/* Waits until the API on fd's address answers GET /v1/sandbox with 200 (aio-apid may still be
 * starting; connections queue in the backlog meanwhile), giving up after timeout_ms or when
 * pidfd (the jail) becomes readable. */
int rt_up_wait_ready(int listen_fd, int pidfd, int timeout_ms, struct aio_err *err);
/* "http://127.0.0.1:PORT" of fd's address into buf. */
int rt_up_url(int listen_fd, char *buf, unsigned size, struct aio_err *err);

/* Management of running up sandboxes (up-ctl.c). */
/* <state>/logs/<name>.log, where a --detach sandbox writes. Malloc'ed. */
char *rt_up_log_path(const char *state_dir, const char *name);
/* Records in dir (the sandbox's state directory) that it serves url, with our pid. */
int rt_up_record(const char *dir, const char *url, struct aio_err *err);
/* Whether a sandbox named name runs (its launcher holds its lock). */
bool rt_up_running(const char *state_dir, const char *name);
/* Prints a table of the running ones to out; returns how many. */
int rt_up_ls(const char *state_dir, FILE *out, struct aio_err *err);
/* SIGTERM to the launcher of name, then waits up to timeout_ms for it to be gone (SIGKILL
 * after that, reported as an error). */
int rt_up_stop(const char *state_dir, const char *name, int timeout_ms, struct aio_err *err);
/* Copies the log of name to out_fd. */
int rt_up_logs(const char *state_dir, const char *name, int out_fd, struct aio_err *err);
/* aio-run ls | stop NAME | logs NAME, argv[0] being the command. Returns the exit code. */
int rt_up_cmd(int argc, char **argv);
/* A name for an unnamed sandbox: aio-XXXXXX. Malloc'ed. */
char *rt_up_random_name(void);
/* --detach: forks; the caller's process waits for the URL line, prints it and exits; the
 * child returns the pipe to write that line to (close-on-exec), with stdin /dev/null and
 * stdout and stderr the sandbox's log. */
int rt_up_detach(const char *state_dir, const char *name, struct aio_err *err);
