#pragma once

/* The sandbox context of GET /v1/sandbox (upstream SandboxResponse): what does not change is
 * gathered once at start, tool versions by a background probe, listening ports at most once a
 * second; the serialized answer is cached so the route costs a copy. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/version.h"

struct aio_err;
struct api_sandbox;

/* aio's version, as GET /v1/sandbox reports it (keep in step with aio-run's). */

/* listen_fd: the API socket (its port is listed as occupied; -1: none). probe: start the
 * background thread that asks python3 and node for their versions. */
struct api_sandbox *api_sandbox_new(int listen_fd, bool probe);
/* Joins the probe thread, if any (tests; api_sandbox_free() does it too). */
void api_sandbox_probe_wait(struct api_sandbox *sb);
void api_sandbox_free(struct api_sandbox *sb);
/* A malloc'ed copy of the current answer (JSON text) in *ret_body. */
int api_sandbox_body(struct api_sandbox *sb, char **ret_body, size_t *ret_len, struct aio_err *err);
/* Marks every TCP port in LISTEN state found in text (the format of /proc/net/tcp and tcp6) in
 * the 65536-bit map. Returns how many lines it understood. */
size_t api_ports_parse(const char *text, uint8_t map[8192]);
/* "3.11.2" from "Python 3.11.2\n", "18.19.0" from "v18.19.0\n": the first word with a digit,
 * without a leading 'v'. Returns false when there is none. */
bool api_version_parse(const char *out, char *buf, size_t size);
