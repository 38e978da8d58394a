#pragma once

#include <stdint.h>
#include <sys/types.h>

struct aio_err;

/* Parses "none", "default" or a comma list of capability names (CAP_ prefix optional,
 * case-insensitive), as in --caps. */
int rt_parse_caps(const char *s, uint64_t *ret, struct aio_err *err);
/* Formats a mask as "CAP_A,CAP_B" into buf. */
void rt_caps_format(uint64_t mask, char *buf, size_t size);
/* Drops the bounding set to keep, switches to uid/gid (supplementary groups: gid only), then sets
 * effective = permitted = keep for uid 0 and empty for anyone else; inheritable and ambient
 * are always empty. */
int rt_caps_apply(uint64_t keep, uid_t uid, gid_t gid, struct aio_err *err);
/* Highest capability the running kernel knows. */
int rt_caps_last(void);
