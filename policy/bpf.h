#pragma once

#include <linux/filter.h>
#include <stddef.h>

struct aio_err;

/* A compiled seccomp filter.  The .bpf file holds exactly the insns array (8 bytes each, native
 * byte order), nothing else: aio-run hands it to seccomp(SECCOMP_SET_MODE_FILTER) as is. */
struct pol_bpf {
        struct sock_filter *insns;
        size_t len;
};

/* Frees insns; also the cleanup function of a struct pol_bpf on the stack (cleanup_bpf). */
void pol_bpf_free(struct pol_bpf *b);
#define cleanup_bpf __attribute__((cleanup(pol_bpf_free)))

/* Structural check, as the kernel's: 1..BPF_MAXINSNS instructions, only opcodes seccomp accepts,
 * aligned loads inside struct seccomp_data, jumps inside the program, a ret at the end. */
int pol_bpf_check(const struct pol_bpf *b, struct aio_err *err);
/* Writes a temporary file beside path and renames it over path. */
int pol_bpf_write(const char *path, const struct pol_bpf *b, struct aio_err *err);
/* Reads and checks a .bpf file. */
int pol_bpf_read(const char *path, struct pol_bpf *ret, struct aio_err *err);
