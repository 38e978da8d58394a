#pragma once

/* /v1/shell: persistent bash sessions on pseudo-terminals, upstream's OpenHands-style shell
 * (upstream-api.md §2.2, §5.1). One bash per session, run as the user aio-apid runs as; cwd,
 * environment and shell state persist between commands. */

#include <stdbool.h>

struct aio_err;
struct api_shells;
struct api_workcg;
struct api_shell_session;

#define API_SHELL_MAX_SESSIONS 10   /* MAX_SHELL_SESSIONS */
#define API_SHELL_TIMEOUT_S    3600 /* SHELL_SESSION_TIMEOUT: idle sessions expire */
#define API_SHELL_NO_CHANGE_S  120  /* default no_change_timeout */
#define API_SHELL_ACTIVE_S     300  /* stats: "active" = used within the last 5 minutes */

/* The session table. Reads MAX_SHELL_SESSIONS, SHELL_SESSION_TIMEOUT, WORKSPACE and HOME. */
struct api_shells *api_shells_new(const struct api_workcg *workcg);
/* Kills every session (and everything it runs) and frees the table. */
void api_shells_free(struct api_shells *sh);

struct api_shell_create {
        const char *id;              /* NULL or "": a new UUID */
        const char *cwd;             /* NULL: the default (WORKSPACE, else HOME) */
        long long no_change_timeout; /* 0: the default */
        bool preserve_symlinks;
};

/* Creates a session, or returns the existing one with that id (*ret_existed set). Idle
 * sessions past the timeout are removed first; at the limit the least recently used idle
 * session is evicted, and when every session is busy this fails with -EINVAL (400). */
int api_shell_create(struct api_shells *sh, const struct api_shell_create *c,
                     struct api_shell_session **ret, bool *ret_existed, struct aio_err *err);
