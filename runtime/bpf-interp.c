/* A user-space interpreter for seccomp's classic BPF: lets the launcher find out what the
 * original filter would have answered for a syscall it was notified about. */
#include "bpf-interp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <string.h>

#include "common/xalloc.h"

#include "seccomp.h"

#define RET_KILL SECCOMP_RET_KILL_PROCESS

static bool alu(uint16_t op, uint32_t *a, uint32_t v)
{
        switch (op) {
        case BPF_ADD:
                *a += v;
                return true;
        case BPF_SUB:
                *a -= v;
                return true;
        case BPF_MUL:
                *a *= v;
                return true;
        case BPF_DIV:
                if (!v)
                        return false;
                *a /= v;
                return true;
        case BPF_MOD:
                if (!v)
                        return false;
                *a %= v;
                return true;
        case BPF_AND:
                *a &= v;
                return true;
        case BPF_OR:
                *a |= v;
                return true;
        case BPF_XOR:
                *a ^= v;
                return true;
        case BPF_LSH:
                *a = v < 32 ? *a << v : 0;
                return true;
        case BPF_RSH:
                *a = v < 32 ? *a >> v : 0;
                return true;
        case BPF_NEG:
                *a = -*a;
                return true;
        default:
                return false;
        }
}

/* Returns how far to skip, or -1 for an unknown jump. */
static long jump(const struct sock_filter *f, uint32_t a, uint32_t x)
{
        uint32_t v = BPF_SRC(f->code) == BPF_X ? x : f->k;

        switch (BPF_OP(f->code)) {
        case BPF_JA:
                return (long)f->k;
        case BPF_JEQ:
                return a == v ? f->jt : f->jf;
        case BPF_JGT:
                return a > v ? f->jt : f->jf;
        case BPF_JGE:
                return a >= v ? f->jt : f->jf;
        case BPF_JSET:
                return (a & v) ? f->jt : f->jf;
        default:
                return -1;
        }
}

struct vm {
        uint32_t a, x, mem[BPF_MEMWORDS];
        const struct seccomp_data *d;
};

/* Executes a load/store/misc instruction; false if the kernel would not accept it. */
static bool load_store(struct vm *m, const struct sock_filter *f)
{
        uint32_t k = f->k;

        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
                if (k % 4 || k + 4 > sizeof(*m->d))
                        return false;
                memcpy(&m->a, (const char *)m->d + k, 4);
                return true;
        case BPF_LD | BPF_W | BPF_LEN:
                m->a = sizeof(*m->d);
                return true;
        case BPF_LDX | BPF_W | BPF_LEN:
                m->x = sizeof(*m->d);
                return true;
        case BPF_LD | BPF_IMM:
                m->a = k;
                return true;
        case BPF_LDX | BPF_IMM:
                m->x = k;
                return true;
        case BPF_LD | BPF_MEM:
                m->a = m->mem[k % BPF_MEMWORDS];
                return k < BPF_MEMWORDS;
        case BPF_LDX | BPF_MEM:
                m->x = m->mem[k % BPF_MEMWORDS];
                return k < BPF_MEMWORDS;
        case BPF_ST:
                m->mem[k % BPF_MEMWORDS] = m->a;
                return k < BPF_MEMWORDS;
        case BPF_STX:
                m->mem[k % BPF_MEMWORDS] = m->x;
                return k < BPF_MEMWORDS;
        case BPF_MISC | BPF_TAX:
                m->x = m->a;
                return true;
        case BPF_MISC | BPF_TXA:
                m->a = m->x;
                return true;
        default:
                return false;
        }
}

uint32_t rt_bpf_run(const struct rt_bpf *b, const struct seccomp_data *d)
{
        struct vm m = {.d = d};

        for (size_t pc = 0; pc < b->len; pc++) {
                const struct sock_filter *f = &b->insns[pc];
                long skip;

                switch (BPF_CLASS(f->code)) {
                case BPF_RET:
                        return BPF_RVAL(f->code) == BPF_A ? m.a : f->k;
                case BPF_ALU:
                        if (!alu(BPF_OP(f->code), &m.a, BPF_SRC(f->code) == BPF_X ? m.x : f->k))
                                return RET_KILL;
                        break;
                case BPF_JMP:
                        skip = jump(f, m.a, m.x);
                        if (skip < 0 || pc + (size_t)skip >= b->len)
                                return RET_KILL;
                        pc += (size_t)skip;
                        break;
                default:
                        if (!load_store(&m, f))
                                return RET_KILL;
                }
        }
        return RET_KILL;
}

void rt_bpf_notify_variant(const struct rt_bpf *b, struct rt_bpf *ret)
{
        ret->len = b->len;
        ret->insns = aio_xmalloc(b->len * sizeof(*b->insns));
        memcpy(ret->insns, b->insns, b->len * sizeof(*b->insns));
        for (size_t i = 0; i < ret->len; i++) {
                struct sock_filter *f = &ret->insns[i];

                if (f->code == (BPF_RET | BPF_K) &&
                    (f->k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO)
                        f->k = SECCOMP_RET_USER_NOTIF;
        }
}
