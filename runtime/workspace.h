#pragma once

/* --workspace DIR: a host directory shared with the jail at /home/gem/workspace. The files'
 * owner on the host and user gem in the jail are the same person, so the mount is idmapped:
 * the directory owner's uid and gid on disk appear as gem (1000) inside, and what gem creates
 * is stored with the owner's ids. Other ids on disk appear as nobody, read-only to gem. */

#include <stdint.h>
#include <sys/types.h>

struct aio_err;

#define RT_WORKSPACE_DIR "/home/gem/workspace"
#define RT_WORKSPACE_UID 1000 /* gem */

/* A detached, idmapped, nosuid/nodev clone of dir's mount tree in which dir's owner shows as
 * host ids gem_host_uid/gem_host_gid (jail gem). Returns the tree fd. */
int rt_workspace_tree(const char *dir, uid_t gem_host_uid, gid_t gem_host_gid, struct aio_err *err);
/* Attaches tree at RT_WORKSPACE_DIR under root_fd (created if missing). */
int rt_workspace_attach(int root_fd, int tree_fd, struct aio_err *err);
