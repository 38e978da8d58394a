#include "bpf-dump.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#include "bpf.h"
#include "seccomp-policy.h"
#include "syscalls.h"

/* What the accumulator holds when an instruction runs. */
enum acc_kind {
        ACC_UNSET, /* no path reaches the instruction yet */
        ACC_NONE,
        ACC_NR,
        ACC_ARCH,
        ACC_IP,
        ACC_ARG,
        ACC_OTHER, /* a mix, or a computed value */
        _ACC_MAX,
};

struct acc {
        enum acc_kind kind;
        unsigned arg; /* ACC_ARG: argument index */
        bool high;    /* ACC_ARG, ACC_IP: upper 32 bits */
};

static struct acc acc_merge(struct acc a, struct acc b)
{
        if (a.kind == ACC_UNSET)
                return b;
        if (a.kind == b.kind && a.arg == b.arg && a.high == b.high)
                return a;
        return (struct acc){.kind = ACC_OTHER};
}

static struct acc acc_after_load(uint32_t k)
{
        if (k == offsetof(struct seccomp_data, nr))
                return (struct acc){.kind = ACC_NR};
        if (k == offsetof(struct seccomp_data, arch))
                return (struct acc){.kind = ACC_ARCH};
        if (k < offsetof(struct seccomp_data, args))
                return (struct acc){.kind = ACC_IP, .high = k % 8 != 0};
        /* little endian: the low word of args[i] comes first */
        return (struct acc){.kind = ACC_ARG,
                            .arg = (unsigned)((k - offsetof(struct seccomp_data, args)) / 8),
                            .high = k % 8 != 0};
}

/* The accumulator state after f, given the state before it. */
static struct acc acc_step(const struct sock_filter *f, struct acc in)
{
        switch (BPF_CLASS(f->code)) {
        case BPF_LD:
                if (BPF_MODE(f->code) == BPF_ABS)
                        return acc_after_load(f->k);
                return (struct acc){.kind = ACC_OTHER};
        case BPF_ALU:
        case BPF_MISC:
                return BPF_CLASS(f->code) == BPF_MISC && BPF_MISCOP(f->code) == BPF_TAX
                               ? in
                               : (struct acc){.kind = ACC_OTHER};
        default:
                return in;
        }
}

static void acc_flow(const struct pol_bpf *b, struct acc *state)
{
        for (size_t i = 0; i < b->len; i++)
                state[i].kind = ACC_UNSET;
        state[0].kind = ACC_NONE;
        /* Classic BPF jumps only forward: one pass in order sees every predecessor first. */
        for (size_t i = 0; i < b->len; i++) {
                const struct sock_filter *f = &b->insns[i];
                struct acc out;

                if (state[i].kind == ACC_UNSET) /* unreachable: read it as a fresh start */
                        state[i].kind = ACC_NONE;
                out = acc_step(f, state[i]);
                if (BPF_CLASS(f->code) == BPF_RET)
                        continue;
                if (BPF_CLASS(f->code) != BPF_JMP) {
                        if (i + 1 < b->len)
                                state[i + 1] = acc_merge(state[i + 1], out);
                } else if (BPF_OP(f->code) == BPF_JA) {
                        state[i + 1 + f->k] = acc_merge(state[i + 1 + f->k], out);
                } else {
                        state[i + 1 + f->jt] = acc_merge(state[i + 1 + f->jt], out);
                        state[i + 1 + f->jf] = acc_merge(state[i + 1 + f->jf], out);
                }
        }
}

static const char *jmp_name(uint16_t code)
{
        switch (BPF_OP(code)) {
        case BPF_JA:
                return "ja";
        case BPF_JEQ:
                return "jeq";
        case BPF_JGT:
                return "jgt";
        case BPF_JGE:
                return "jge";
        case BPF_JSET:
                return "jset";
        default:
                return "j?";
        }
}

static const char *alu_name(uint16_t code)
{
        static const char *const names[] = {
                [BPF_ADD >> 4] = "add", [BPF_SUB >> 4] = "sub", [BPF_MUL >> 4] = "mul",
                [BPF_DIV >> 4] = "div", [BPF_OR >> 4] = "or",   [BPF_AND >> 4] = "and",
                [BPF_LSH >> 4] = "lsh", [BPF_RSH >> 4] = "rsh", [BPF_NEG >> 4] = "neg",
                [BPF_MOD >> 4] = "mod", [BPF_XOR >> 4] = "xor",
        };
        unsigned op = BPF_OP(code) >> 4;

        return op < ELEMENTSOF(names) && names[op] ? names[op] : "alu?";
}

static void describe_acc(struct acc a, char *buf, size_t size)
{
        switch (a.kind) {
        case ACC_NR:
                (void)snprintf(buf, size, "nr");
                break;
        case ACC_ARCH:
                (void)snprintf(buf, size, "arch");
                break;
        case ACC_IP:
                (void)snprintf(buf, size, "instruction_pointer.%s", a.high ? "hi" : "lo");
                break;
        case ACC_ARG:
                (void)snprintf(buf, size, "args[%u].%s", a.arg, a.high ? "hi" : "lo");
                break;
        default:
                buf[0] = '\0';
        }
}

/* The comment for a comparison of the accumulator with k. */
static void describe_cmp(struct acc a, uint32_t k, char *buf, size_t size)
{
        char name[64];

        buf[0] = '\0';
        if (a.kind == ACC_NR && k == 0x40000000U)
                (void)snprintf(buf, size, "x32 syscall bit");
        else if (a.kind == ACC_NR && k == 0xffffffffU)
                (void)snprintf(buf, size, "-1: skipped by a tracer");
        else if (a.kind == ACC_NR && pol_syscall_name((int)k, name, sizeof(name)))
                (void)snprintf(buf, size, "%s", name);
        else if (a.kind == ACC_NR)
                (void)snprintf(buf, size, "(no syscall has this number)");
        else if (a.kind == ACC_ARCH && k == AUDIT_ARCH_X86_64)
                (void)snprintf(buf, size, "AUDIT_ARCH_X86_64");
        else if (a.kind == ACC_ARCH && k == AUDIT_ARCH_I386)
                (void)snprintf(buf, size, "AUDIT_ARCH_I386");
        else
                describe_acc(a, buf, size);
}

static void format_ret(const struct sock_filter *f, char *op, size_t size, char *note, size_t nsize)
{
        char buf[32];
        const char *e;

        note[0] = '\0';
        if (BPF_RVAL(f->code) == BPF_A) {
                (void)snprintf(op, size, "A");
                return;
        }
        (void)snprintf(op, size, "%s", pol_action_format(f->k, buf, sizeof(buf)));
        if ((f->k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO &&
            (e = strerrorname_np((int)(f->k & SECCOMP_RET_DATA))))
                (void)snprintf(note, nsize, "%s", e);
}

static void format_jmp(const struct sock_filter *f, size_t i, struct acc a, char *op, size_t size,
                       char *note, size_t nsize)
{
        note[0] = '\0';
        if (BPF_OP(f->code) == BPF_JA) {
                (void)snprintf(op, size, "%04zu", i + 1 + f->k);
                return;
        }
        if (BPF_SRC(f->code) == BPF_X) {
                (void)snprintf(op, size, "%-16s jt %04zu  jf %04zu", "X", i + 1 + f->jt,
                               i + 1 + f->jf);
                return;
        }
        if (a.kind == ACC_NR)
                (void)snprintf(op, size, "#%-15u jt %04zu  jf %04zu", f->k, i + 1 + f->jt,
                               i + 1 + f->jf);
        else
                (void)snprintf(op, size, "#0x%-13x jt %04zu  jf %04zu", f->k, i + 1 + f->jt,
                               i + 1 + f->jf);
        describe_cmp(a, f->k, note, nsize);
}

static void format_load(const struct sock_filter *f, char *op, size_t size, char *note,
                        size_t nsize)
{
        switch (BPF_MODE(f->code)) {
        case BPF_ABS:
                (void)snprintf(op, size, "[%u]", f->k);
                describe_acc(acc_after_load(f->k), note, nsize);
                return;
        case BPF_MEM:
                (void)snprintf(op, size, "M[%u]", f->k);
                return;
        case BPF_LEN:
                (void)snprintf(op, size, "len");
                return;
        default:
                (void)snprintf(op, size, "#0x%x", f->k);
        }
}

static void format_alu(const struct sock_filter *f, char *op, size_t size)
{
        if (BPF_OP(f->code) == BPF_NEG)
                return;
        if (BPF_SRC(f->code) == BPF_X)
                (void)snprintf(op, size, "X");
        else
                (void)snprintf(op, size, "#0x%x", f->k);
}

static const char *format_insn(const struct sock_filter *f, size_t i, struct acc in, char *op,
                               size_t size, char *note, size_t nsize)
{
        note[0] = '\0';
        op[0] = '\0';
        switch (BPF_CLASS(f->code)) {
        case BPF_LD:
        case BPF_LDX:
                format_load(f, op, size, note, nsize);
                return BPF_CLASS(f->code) == BPF_LD ? "ld" : "ldx";
        case BPF_ST:
        case BPF_STX:
                (void)snprintf(op, size, "M[%u]", f->k);
                return BPF_CLASS(f->code) == BPF_ST ? "st" : "stx";
        case BPF_ALU:
                format_alu(f, op, size);
                return alu_name(f->code);
        case BPF_JMP:
                format_jmp(f, i, in, op, size, note, nsize);
                return jmp_name(f->code);
        case BPF_RET:
                format_ret(f, op, size, note, nsize);
                return "ret";
        default:
                return BPF_MISCOP(f->code) == BPF_TAX ? "tax" : "txa";
        }
}

void pol_bpf_dump(const struct pol_bpf *b, FILE *out)
{
        cleanup_free struct acc *state = aio_xcalloc(b->len, sizeof(*state));

        acc_flow(b, state);
        for (size_t i = 0; i < b->len; i++) {
                char op[96], note[96];
                const char *mn =
                        format_insn(&b->insns[i], i, state[i], op, sizeof(op), note, sizeof(note));

                if (note[0])
                        (void)fprintf(out, "%04zu: %-4s %-38s ; %s\n", i, mn, op, note);
                else
                        (void)fprintf(out, "%04zu: %-4s %s\n", i, mn, op);
        }
}
