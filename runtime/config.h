#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cgroup.h"

struct aio_err;

enum rt_rootfs_kind {
        RT_ROOTFS_HOST,
        RT_ROOTFS_DIR,
        RT_ROOTFS_TAR,
        RT_ROOTFS_IMAGE, /* a name (or digest) in the image store */
        _RT_ROOTFS_KIND_MAX
};
enum rt_net_mode { RT_NET_NONE, RT_NET_HOST, _RT_NET_MODE_MAX };

struct rt_bind {
        char *src, *dst;
        bool ro;
};

struct rt_tmpfs {
        char *dst;
        uint64_t size; /* bytes; 0 = kernel default */
};

struct rt_rlimit {
        int resource;
        rlim_t soft, hard;
};

#define RT_DEFAULT_STATE_DIR "/var/lib/aio"
#define RT_DEFAULT_UID_BASE  (1u << 20)
#define RT_UID_RANGE         65536u
#define RT_DEFAULT_UID_SLOTS 1024u
#define RT_MAX_LIST          256

/* Everything aio-run was asked to do, parsed from argv by main.c and nothing else. */
struct rt_config {
        char *rootfs; /* "host", a directory, a tarball or an image name */
        enum rt_rootfs_kind rootfs_kind;
        char *state_dir;
        char *name; /* NULL: generated */
        char *hostname;
        char *workdir; /* NULL: the user's home */
        bool user_set;
        uid_t uid;
        gid_t gid;
        char **env; /* extra VAR=VAL, NULL-terminated */
        size_t n_env;
        struct rt_bind *binds;
        size_t n_binds;
        struct rt_tmpfs *tmpfs;
        size_t n_tmpfs;
        struct rt_rlimit *rlimits;
        size_t n_rlimits;
        char *seccomp; /* profile name, .json/.bpf path, or "unconfined" */
        bool seccomp_log;
        bool caps_set;
        uint64_t caps; /* capabilities kept for jail root */
        struct rt_cgroup_limits limits;
        enum rt_net_mode net;
        bool tty;
        bool keep; /* keep the sandbox's writable layer after exit */
        uint32_t uid_base;
        uint32_t uid_slots;
        char **argv;     /* the command; borrowed from main's argv */
        bool up;         /* aio-run up: the command is aio-apid, serving on listen */
        char *listen;    /* ADDR:PORT (up only) */
        char *workspace; /* host directory at /home/gem/workspace, idmapped */
        char *socket;    /* up: a Unix socket path the API serves too */
        bool insecure;
        bool detach;  /* up --detach */
        int ready_fd; /* up --detach: where the URL line goes; -1: stdout */
};

void rt_config_init(struct rt_config *c);
/* /var/lib/aio for root; $HOME/.local/share/aio for anyone else. Malloc'ed. */
char *rt_default_state_dir(void);
void rt_config_free(struct rt_config *c);

/* Option value parsers (unit tested). */
int rt_parse_size(const char *s, uint64_t *ret, struct aio_err *err);
int rt_parse_bind(const char *s, struct rt_bind *ret, struct aio_err *err);
int rt_parse_tmpfs(const char *s, struct rt_tmpfs *ret, struct aio_err *err);
int rt_parse_rlimit(const char *s, struct rt_rlimit *ret, struct aio_err *err);
int rt_parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid, struct aio_err *err);
int rt_parse_cpus(const char *s, struct rt_cgroup_limits *lim, struct aio_err *err);
int rt_parse_env(const char *s, struct aio_err *err);
int rt_parse_name(const char *s, struct aio_err *err);
/* Decides rootfs_kind from the value and what is on disk: a path that exists is a directory or
 * a tarball, anything else an image of the store. --image sets RT_ROOTFS_IMAGE beforehand. */
int rt_config_resolve_rootfs(struct rt_config *c, struct aio_err *err);
/* Checks cross-option consistency once argv is parsed. */
int rt_config_validate(const struct rt_config *c, struct aio_err *err);
