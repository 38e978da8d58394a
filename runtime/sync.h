#pragma once

#include <stdint.h>

#include "common/err.h"

/* Messages on the parent <-> jail socket (SOCK_SEQPACKET: one message per send). */
enum rt_sync_type {
        RT_SYNC_GO = 1,    /* parent: maps written, cgroup joined; optional fd: idmapped root */
        RT_SYNC_PTY,       /* jail: fd = pty master of the command's terminal */
        RT_SYNC_READY,     /* jail: set-up done; value = pid of the command (in the jail) */
        RT_SYNC_ERROR,     /* jail: set-up failed; err says which step and why */
        RT_SYNC_EXEC_FAIL, /* command could not be executed; value = exit code (126/127) */
        RT_SYNC_NOTIFY,    /* command: fd = seccomp listener (--seccomp-log) */
        RT_SYNC_CGROUP,    /* parent: the jail is in its cgroup (sent after GO, see jail.c) */
        _RT_SYNC_TYPE_MAX,
};

struct rt_sync_msg {
        uint32_t type;
        int32_t value;
        struct aio_err err;
};

/* fd < 0: none attached. */
int rt_sync_send(int sock, const struct rt_sync_msg *m, int fd, struct aio_err *err);
/* ret_fd (may be NULL) receives an attached fd or -1. A closed peer is -EPIPE. */
int rt_sync_recv(int sock, struct rt_sync_msg *m, int *ret_fd, struct aio_err *err);
/* Sends err as an RT_SYNC_ERROR, ignoring failures (the peer may be gone). */
void rt_sync_send_error(int sock, const struct aio_err *e);
