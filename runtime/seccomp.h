#pragma once

#include <stddef.h>

struct aio_err;
struct sock_filter;

/* A compiled classic-BPF seccomp program, as aio-policy writes it. */
struct rt_bpf {
        struct sock_filter *insns;
        size_t len;
};

/* Finds the compiled profile for --seccomp SPEC: a name (default, strict, browser) looked up
 * next to the aio-run binary and in the install prefix, a .bpf path, or a .json profile, which
 * is compiled once by aio-policy into <state_dir>/seccomp/<sha256 of the JSON>.bpf and taken
 * from there afterwards. ret_path is NULL for "unconfined". */
int rt_seccomp_resolve(const char *spec, const char *state_dir, char **ret_path,
                       struct aio_err *err);
int rt_seccomp_read(const char *path, struct rt_bpf *ret, struct aio_err *err);
/* Loads the filter into the calling thread; no_new_privs must already be set. */
int rt_seccomp_install(const struct rt_bpf *b, struct aio_err *err);
void rt_bpf_free(struct rt_bpf *b);
