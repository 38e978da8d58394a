#pragma once

#include <sys/types.h>

struct aio_err;

/* Composes a root from the host's /usr on the (empty, writable) root mounted at root_fd:
 * /usr read-only (usr_fd: an idmapped detached mount of the host /usr, or -1 to bind it
 * plainly), the /bin, /sbin and /lib* links, a synthesized /etc with no host secrets, and
 * /home/gem, /root, /tmp. */
int rt_rootfs_compose_host(int root_fd, int usr_fd, const char *hostname, struct aio_err *err);
/* Mounts an overlay at root_path: lower read-only, upper/work the sandbox's writable layer. */
int rt_rootfs_overlay(const char *root_path, const char *lower, const char *upper, const char *work,
                      struct aio_err *err);
/* The synthesized /etc/passwd and /etc/group contents (unit tested: no host data). */
const char *rt_rootfs_passwd(void);
const char *rt_rootfs_group(void);
/* Creates an idmapped, read-only, detached copy of the host tree at path for the user
 * namespace of pid (jail root sees the host's root-owned files as its own). */
int rt_rootfs_idmapped_tree(const char *path, pid_t pid, struct aio_err *err);
/* Attaches a detached mount fd at path. */
int rt_rootfs_attach(int tree_fd, const char *path, struct aio_err *err);
