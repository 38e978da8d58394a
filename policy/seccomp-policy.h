#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"

struct aio_err;
struct pol_diag;

/* A Docker/OCI seccomp profile, parsed, validated and resolved for native x86_64: includes and
 * excludes (caps, arches, minKernel) are evaluated into pol_rule.active, syscall names into
 * numbers.  Actions are kernel return values (SECCOMP_RET_* | data), which are also libseccomp's
 * SCMP_ACT_* values. */

enum pol_op {
        POL_OP_NE,
        POL_OP_LT,
        POL_OP_LE,
        POL_OP_EQ,
        POL_OP_GE,
        POL_OP_GT,
        POL_OP_MASKED_EQ, /* (arg & value) == value_two, as in OCI */
        _POL_OP_MAX,
};

struct pol_arg {
        unsigned index;
        enum pol_op op;
        uint64_t value;
        uint64_t value_two;
};

/* One native syscall named by a rule; name_index is its position in names[]. */
struct pol_sysref {
        int nr;
        unsigned name_index;
};

struct pol_rule {
        size_t index; /* position in syscalls[] */
        uint32_t action;
        struct pol_arg *args;
        size_t n_args;
        struct pol_sysref *sys; /* names of other architectures are dropped */
        size_t n_sys;
        bool active;
};

struct pol_seccomp {
        uint32_t default_action;
        struct pol_rule *rules;
        size_t n_rules;
        char *comment;
        uint64_t caps; /* the capability set includes/excludes were resolved against */
};

struct pol_opts {
        bool caps_given; /* caps wins over the profile's "aio".capabilities and the default */
        uint64_t caps;
        unsigned kernel[2]; /* major, minor compared with minKernel; {0, 0}: the running kernel */
};

/* "4.8" or "4.8.1" (the patch level is ignored) -> {4, 8}; false for anything else. */
bool pol_kernel_version_parse(const char *s, unsigned ret[2]);
const char *pol_op_to_string(enum pol_op op);
/* "ERRNO(1)", "ALLOW", "KILL_PROCESS", "TRACE(7)"...: SCMP_ACT_ names without the prefix. */
const char *pol_action_format(uint32_t action, char *buf, size_t size);

/* Parses root.  Every problem goes to d (one line each, JSON path first); returns -EINVAL with
 * the first problem in err when there is any, else 0 and a profile in *ret. */
int pol_seccomp_parse(json_t *root, const struct pol_opts *opts, struct pol_seccomp **ret,
                      struct pol_diag *d, struct aio_err *err);
/* Same from a file (duplicate keys and NUL bytes rejected). */
int pol_seccomp_load(const char *path, const struct pol_opts *opts, struct pol_seccomp **ret,
                     struct pol_diag *d, struct aio_err *err);
void pol_seccomp_free(struct pol_seccomp *p);
DEFINE_CLEANUP_FUNC(struct pol_seccomp *, pol_seccomp_free)
#define cleanup_seccomp __attribute__((cleanup(pol_seccomp_freep)))

/* Loads a JSON file with duplicate keys rejected; a syntax error becomes a problem in d. */
int pol_json_load(const char *path, json_t **ret, struct pol_diag *d, struct aio_err *err);
