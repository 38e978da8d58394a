#pragma once

#include <stdbool.h>

struct aio_err;

#define RT_UP_DEFAULT_LISTEN "127.0.0.1:8080"
#define RT_UP_APID_PATH      "/opt/aio/bin/aio-apid"
#define RT_UP_READY_MS       10000

/* aio-run up: the API's listening socket is made here, in the host's network namespace, and
 * handed to aio-apid in the jail (fd 3, LISTEN_FDS=1): reachable without NAT or a proxy while
 * everything the agent starts stays in the jail's own network namespace. */

/* Parses ADDR:PORT ([v6]:PORT for IPv6; PORT 0 picks a free one), refuses an address that is
 * not loopback unless insecure (there is no API authentication yet), binds and listens.
 * Returns the fd (close-on-exec). */
int rt_up_listen(const char *spec, bool insecure, struct aio_err *err);
/* Waits until the API on fd's address answers GET /v1/sandbox with 200 (aio-apid may still be
 * starting; connections queue in the backlog meanwhile), giving up after timeout_ms or when
 * pidfd (the jail) becomes readable. */
int rt_up_wait_ready(int listen_fd, int pidfd, int timeout_ms, struct aio_err *err);
/* "http://127.0.0.1:PORT" of fd's address into buf. */
int rt_up_url(int listen_fd, char *buf, unsigned size, struct aio_err *err);
