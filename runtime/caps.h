#pragma once

#include <stdint.h>
#include <sys/types.h>

struct aio_err;

/* Drops the bounding set to keep, switches to uid/gid (supplementary groups: gid only), then sets
 * effective = permitted = keep for uid 0 and empty for anyone else; inheritable and ambient
 * are always empty. */
int rt_caps_apply(uint64_t keep, uid_t uid, gid_t gid, struct aio_err *err);
/* Highest capability the running kernel knows. */
int rt_caps_last(void);
