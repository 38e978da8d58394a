#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aio_err;

/* "CAP_SYS_ADMIN" -> 21; -EINVAL for anything libcap does not know. exact: only the canonical
 * spelling (upper case, CAP_ prefix) of OCI and Docker JSON; otherwise the prefix is optional
 * and case does not matter, as on a command line. */
int aio_cap_from_name(const char *name, bool exact);
/* 21 -> "CAP_SYS_ADMIN" in buf; NULL when libcap has no name for it. */
const char *aio_cap_name(int cap, char *buf, size_t size);
/* The jail root's keep-list, from policy/caps.json (compiled in at build time). */
uint64_t aio_caps_default(void);
/* A capability option: "none" or "" (none), "default", or "CAP_A,cap_b,C". */
int aio_caps_parse_list(const char *list, uint64_t *ret, struct aio_err *err);
