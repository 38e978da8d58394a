#pragma once

/* Browsers and an open API. With no key configured the API is served on loopback only, but
 * any web page the user visits can still send requests to 127.0.0.1 (cross-origin, or through
 * a DNS name rebound to 127.0.0.1). So while open, only pages served from a loopback origin
 * get CORS, requests carrying another Origin are refused, and a Host that is not a loopback
 * name is refused (DNS rebinding). With a key, any origin may call: the key is a header, never
 * a cookie, so a page must hold it. */

#include <stdbool.h>

/* "http[s]://localhost|127.x.x.x|[::1][:port]" (no path, no user info). */
bool api_origin_is_loopback(const char *origin);
/* "localhost|127.x.x.x|[::1][:port]". */
bool api_host_is_loopback(const char *host);
