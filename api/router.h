#pragma once

/* Route tables and the dispatcher (STYLE.md "API routes"): CORS preflight, match with {name}
 * segments captured, 404 / 405 with Allow, row flags, the JSON body, then the handler. */

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

enum api_match_result {
        API_MATCH_OK,
        API_MATCH_NO_PATH,   /* 404 */
        API_MATCH_NO_METHOD, /* 405, allow lists what would match */
        _API_MATCH_MAX,
};

struct api_match {
        const struct api_route *route;
        struct api_kv params[API_MAX_PARAMS];
        size_t n_params;
        char allow[96];
        char buf[4096]; /* the path, split into the captured segments */
        bool matched;   /* set by api_route_match(): dispatch does not match again */
        enum api_match_result result;
};

/* The route tables aio-apid serves, in lookup order. */
const struct api_route *const *api_route_tables(size_t *ret_n);
/* Finds method + path in tables. HEAD matches GET rows; one trailing slash is ignored. */
enum api_match_result api_route_match(const struct api_route *const *tables, size_t n_tables,
                                      const char *method, const char *path, struct api_match *ret);
/* The part of dispatch that runs before the handler: CORS, the match (unless m already holds
 * one from api_route_match(): http.c matches when the headers arrive, to size the body), 404/
 * 405, the auth gate, admin rows. Returns true with m set when the handler should run, false
 * when resp is the final answer. */
bool api_dispatch_check(const struct api_route *const *tables, size_t n_tables,
                        const struct api_raw_req *raw, struct api_ctx *ctx, struct api_resp *resp,
                        struct api_match *m);
/* Runs the matched handler (the JSON body parsed first for API_F_JSON rows). */
void api_dispatch_run(const struct api_match *m, const struct api_raw_req *raw, struct api_ctx *ctx,
                      struct api_resp *resp);
/* Runs one request through tables and fills resp (always: errors become envelopes). */
void api_dispatch_tables(const struct api_route *const *tables, size_t n_tables,
                         const struct api_raw_req *raw, struct api_ctx *ctx, struct api_resp *resp);
/* Same, over aio-apid's own tables. */
void api_dispatch(const struct api_raw_req *raw, struct api_ctx *ctx, struct api_resp *resp);
