#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;
struct pol_diag;

/* "CAP_SYS_ADMIN" -> 21; -EINVAL for anything libcap does not know.  Exact spelling (upper case,
 * CAP_ prefix) as in OCI and Docker JSON. */
int pol_cap_from_name(const char *name);
/* 21 -> "CAP_SYS_ADMIN" in buf; NULL when libcap has no name for it. */
const char *pol_cap_name(int cap, char *buf, size_t size);
/* The jail root's default keep list: Docker's 14 defaults minus CAP_MKNOD, CAP_NET_RAW,
 * CAP_AUDIT_WRITE and CAP_SETFCAP.  policy/caps.json ships the same list as data. */
uint64_t pol_caps_default(void);
/* --caps: "CAP_A,cap_b,C" (prefix optional, any case), "none"/"" (empty) or "default". */
int pol_caps_parse_list(const char *list, uint64_t *ret, struct aio_err *err);
/* A JSON array of capability names at path; every bad entry is reported to d.  Returns the mask
 * of the valid names. */
uint64_t pol_caps_from_json(json_t *arr, const char *path, struct pol_diag *d);
/* Validates a capability file: {"comment": "...", "capabilities": [...]}. */
void pol_caps_check(json_t *root, struct pol_diag *d);
