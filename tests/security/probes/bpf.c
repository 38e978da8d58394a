/*
 * bpf — escape class #14 (runtimes.md §3): eBPF verifier bugs (CVE-2020-8835, CVE-2021-3490...)
 * give kernel read/write from a loaded program.
 * Defences: seccomp denies bpf(); kernel.unprivileged_bpf_disabled (2 on the dev hosts) and no
 * CAP_BPF/CAP_SYS_ADMIN in the initial user namespace stop it when the filter is off.
 */
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "probe.h"

static int try_prog_load(void)
{
        struct bpf_insn insns[] = {
                {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
                {.code = BPF_JMP | BPF_EXIT},
        };
        union bpf_attr attr;
        int fd;

        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        attr.insns = (unsigned long)insns;
        attr.insn_cnt = ARRAY_LEN(insns);
        attr.license = (unsigned long)"GPL";
        fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
        if (fd < 0)
                return errno;
        close(fd);
        probe_note("socket filter program loaded");
        return P_OK;
}

static int try_map_create(void)
{
        union bpf_attr attr;
        int fd;

        memset(&attr, 0, sizeof(attr));
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 8;
        attr.max_entries = 1;
        fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
        if (fd < 0)
                return errno;
        close(fd);
        probe_note("array map created");
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "bpf(BPF_PROG_LOAD socket filter)", try_prog_load, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "unprivileged_bpf_disabled, no CAP_BPF",
          EXPECT(P_OK) },
        { "bpf(BPF_MAP_CREATE)", try_map_create, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "unprivileged_bpf_disabled, no CAP_BPF",
          EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
