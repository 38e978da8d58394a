#pragma once

#include <stdbool.h>

struct aio_err;

/* A listening TCP socket for spec: "ADDR:PORT", "[V6ADDR]:PORT" or "PORT" (127.0.0.1); port 0
 * lets the kernel pick. An address that is not loopback is refused unless insecure (the API
 * has no authentication yet). sock_flags are added to SOCK_STREAM | SOCK_CLOEXEC. */
int aio_tcp_listen(const char *spec, bool insecure, int sock_flags, struct aio_err *err);
