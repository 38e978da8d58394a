#pragma once

/* One table per endpoint family, listed by router.c. */

#include "api/api.h"

extern const struct api_route api_health_routes[];
extern const struct api_route api_sandbox_routes[];
extern const struct api_route api_auth_routes[];
extern const struct api_route api_docs_routes[];
extern const struct api_route api_bash_routes[];
extern const struct api_route api_file_routes[];
extern const struct api_route api_shell_routes[];
