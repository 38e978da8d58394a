#pragma once

#include <stdint.h>

struct rt_bpf;
struct seccomp_data;

/* Runs a seccomp classic-BPF program on d, as the kernel would, and returns its verdict
 * (SECCOMP_RET_*). Anything the kernel's checker would refuse yields SECCOMP_RET_KILL_PROCESS. */
uint32_t rt_bpf_run(const struct rt_bpf *b, const struct seccomp_data *d);
/* A copy of b in which every SECCOMP_RET_ERRNO verdict becomes SECCOMP_RET_USER_NOTIF, so a
 * supervisor sees each refusal (--seccomp-log) and answers with the original errno. */
void rt_bpf_notify_variant(const struct rt_bpf *b, struct rt_bpf *ret);
