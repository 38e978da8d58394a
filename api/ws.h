#pragma once

/* WebSocket messages over an upgraded connection (RFC 6455 framing by libwslay), server side,
 * for the handlers of API_F_WS routes: the shell terminal, and the CDP and Jupyter proxies.
 * Blocking and thread-safe: one thread may wait in api_ws_recv() while others send. Pings are
 * answered, fragmented messages reassembled, a close is answered with a close. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct api_ws;

enum api_ws_type {
        API_WS_TEXT = 1,
        API_WS_BINARY = 2,
};

struct api_ws_msg {
        enum api_ws_type type;
        char *data; /* malloc'ed, NUL-terminated (text is valid UTF-8, wslay checks it) */
        size_t len;
};

#define API_WS_MAX_MSG_DEFAULT (16u << 20)

/* Takes over fd (a connected stream socket; closing it stays the caller's job); extra holds the
 * bytes read past the upgrade request (copied). Messages above max_msg (0: the default) close
 * the connection with 1009. Sends block for at most send_timeout_ms (0: 10 s). */
struct api_ws *api_ws_new(int fd, const void *extra, size_t extra_len, size_t max_msg,
                          int send_timeout_ms);
void api_ws_free(struct api_ws *ws);

int api_ws_send(struct api_ws *ws, enum api_ws_type type, const void *p, size_t n,
                struct aio_err *err);
int api_ws_send_text(struct api_ws *ws, const char *s, struct aio_err *err);
int api_ws_ping(struct api_ws *ws, const void *payload, size_t n, struct aio_err *err);
/* Waits up to timeout_ms (-1: no limit) for a message. Returns 1 with *msg filled (free it with
 * api_ws_msg_free()), 0 when the time ran out or wake_fd (when >= 0) became readable (it is not
 * drained), -EPIPE once the peer closed or the connection broke (err says how). */
int api_ws_recv(struct api_ws *ws, int timeout_ms, int wake_fd, struct api_ws_msg *msg,
                struct aio_err *err);
void api_ws_msg_free(struct api_ws_msg *msg);
/* Sends a close frame with code and reason (once) and waits up to wait_ms for the peer's. */
void api_ws_close(struct api_ws *ws, uint16_t code, const char *reason, int wait_ms);
/* The close code the peer sent (1005 without one), 0 while it sent none. */
unsigned api_ws_peer_close_code(struct api_ws *ws);
/* When the last pong came (CLOCK_MONOTONIC ms), 0 if none did. */
int64_t api_ws_last_pong_ms(struct api_ws *ws);
