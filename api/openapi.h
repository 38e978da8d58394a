#pragma once

/* The OpenAPI 3.1 document of what this aio-apid serves, built from its route tables: every
 * path and method, path parameters, the request body kind a row takes (JSON, multipart), the
 * upstream envelope and 422 shapes, and the security schemes of api/auth.c. */

#include <jansson.h>
#include <stddef.h>

struct api_route;

json_t *api_openapi_build(const struct api_route *const *tables, size_t n_tables);
