#pragma once

/* The HTTP server: libmicrohttpd behind this interface (http.c is the only file that includes
 * microhttpd.h). One process; MHD's own threads, each an epoll loop; limits on connections,
 * idle time, per-connection memory, request bodies and the memory all bodies may take. */

#include <stddef.h>

struct aio_err;
struct api_ctx;
struct api_http;

struct api_http_config {
        int listen_fd;       /* a listening TCP socket; the server takes it over */
        unsigned max_conns;  /* connections beyond this are closed at accept */
        unsigned timeout_s;  /* idle connections are closed after this */
        unsigned threads;    /* polling threads (1: MHD's single internal thread) */
        size_t conn_memory;  /* per-connection memory for the request line and headers */
        size_t body_budget;  /* bytes of request bodies held at once, all connections */
        struct api_ctx *ctx; /* handed to every handler */
};

int api_http_start(const struct api_http_config *cfg, struct api_http **ret, struct aio_err *err);
/* Stops accepting, closes every connection, joins the threads. The listening socket stays
 * open (an init that restarts aio-apid keeps it) and is closed by the caller. */
void api_http_stop(struct api_http *h);
