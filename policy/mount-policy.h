#pragma once

#include <jansson.h>

struct pol_diag;

/* Validates a mount mask file: {"comment": "...", "maskedPaths": [...], "readonlyPaths": [...]}.
 * Paths are absolute, normalised (no "//", ".", ".." or trailing "/"), below /proc or /sys, and
 * appear once across both lists. */
void pol_mounts_check(json_t *root, struct pol_diag *d);
