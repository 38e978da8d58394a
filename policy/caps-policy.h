#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct pol_diag;

/* A JSON array of capability names at path; every bad entry is reported to d.  Returns the mask
 * of the valid names. */
uint64_t pol_caps_from_json(json_t *arr, const char *path, struct pol_diag *d);
/* Validates a capability file: {"comment": "...", "capabilities": [...]}. */
void pol_caps_check(json_t *root, struct pol_diag *d);
