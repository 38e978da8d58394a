#pragma once

/* Request bodies and parameters: the checks http.c runs before any handler (STYLE.md rule 20),
 * kept free of MHD so tests and fuzzers call them directly. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct api_req;
struct api_resp;

/* Parses a JSON request body the way upstream's FastAPI does: no Content-Type or an
 * application/json (or +json) one is parsed, anything else is refused with a 422. JSON is parsed
 * with duplicate keys rejected, NUL refused and nothing after the value; the top level must be
 * an object. Returns 0 with *ret_body set (NULL for an empty body), or -EINVAL with a 422 in
 * resp. */
int api_body_parse(const char *content_type, const char *body, size_t len, json_t **ret_body,
                   struct api_resp *resp);
/* Whether a Content-Type names JSON (application/json, application/<x>+json; any parameters). */
int api_content_type_is_json(const char *content_type);
/* The value of a {name} path parameter or a query argument, or NULL. */
const char *api_param_get(const struct api_req *req, const char *name);
const char *api_query_get(const struct api_req *req, const char *key);
/* A request header by name (case-insensitive), or NULL. */
const char *api_header_get(const struct api_req *req, const char *name);
/* Whether the client has closed its end of the connection (a handler waiting on something
 * long polls this to cancel). False when there is no socket (tests). */
bool api_req_gone(const struct api_req *req);
/* MHD's unescape step, ours: decodes %XX in place except %00, which stays as the three
 * characters (a NUL would cut the path or argument short unseen). Returns the new length. */
size_t api_unescape(char *s);
