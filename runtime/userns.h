#pragma once

#include <stdint.h>
#include <sys/types.h>

struct aio_err;

/* A host uid/gid range reserved for one sandbox.  The reservation is an flock() on
 * <state>/uids/<slot>.lock held through lock_fd: it ends when the fd is closed or the holder
 * dies, so a killed launcher never leaks a range. */
struct rt_idrange {
        uint32_t base;  /* first host id; jail id 0 maps here */
        uint32_t count; /* RT_UID_RANGE, or 1 for a rootless single-id map */
        int slot;       /* -1 for a rootless map */
        int lock_fd;
        /* rootless with an /etc/subuid and /etc/subgid range: jail ids 1..sub_count map there */
        uint32_t sub_uid, sub_gid, sub_count;
};

int rt_idrange_alloc(const char *state_dir, uint32_t base, uint32_t slots, struct rt_idrange *ret,
                     struct aio_err *err);
void rt_idrange_release(struct rt_idrange *r);
/* Not root: the caller's own uid is jail root; ids 1..N come from its subordinate ranges
 * (/etc/subuid, /etc/subgid, written with newuidmap/newgidmap) when it has them. */
int rt_idrange_rootless(struct rt_idrange *ret, struct aio_err *err);
/* Finds the range of user (name or numeric id) in an /etc/subuid-format file (unit tested). */
int rt_subid_find(const char *file, const char *name, uint32_t id, uint32_t *ret_start,
                  uint32_t *ret_count);
/* Writes the jail's uid_map/gid_map for pid: as root the reserved range; otherwise
 * newuidmap/newgidmap with the caller's /etc/subuid range, or a single-id map. */
int rt_userns_write_maps(pid_t pid, const struct rt_idrange *r, struct aio_err *err);
/* "0 base count\n" into buf (unit tested). */
int rt_userns_format_map(uint32_t inside, uint32_t outside, uint32_t count, char *buf, size_t size);
