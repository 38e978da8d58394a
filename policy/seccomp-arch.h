#pragma once

#include <jansson.h>
#include <stdbool.h>

struct pol_diag;

/* Validates "architectures" and "archMap" of a profile root (SCMP_ARCH_* names) and that, when
 * present, they cover SCMP_ARCH_X86_64: the compiler targets native x86_64 only and denies the
 * x86 and x32 ABIs whatever the profile lists. */
void pol_arch_check(json_t *root, struct pol_diag *d);
/* includes/excludes "arches" (Docker/Go names: amd64, x86, x32, arm64, ...) at path: reports
 * unknown names, returns true when x86_64 itself ("amd64" or "x86_64") is listed. */
bool pol_arch_list_has_native(json_t *arches, const char *path, struct pol_diag *d);
