#include "bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/xalloc.h"

#define POL_BPF_MEMWORDS 16 /* BPF_MEMWORDS */

void pol_bpf_free(struct pol_bpf *b)
{
        if (!b)
                return;
        free(b->insns);
        b->insns = NULL;
        b->len = 0;
}

static bool opcode_allowed(const struct sock_filter *f)
{
        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
                return f->k < sizeof(struct seccomp_data) && (f->k & 3) == 0;
        case BPF_LD | BPF_W | BPF_LEN:
        case BPF_LDX | BPF_W | BPF_LEN:
        case BPF_LD | BPF_IMM:
        case BPF_LDX | BPF_IMM:
        case BPF_MISC | BPF_TAX:
        case BPF_MISC | BPF_TXA:
        case BPF_RET | BPF_K:
        case BPF_RET | BPF_A:
        case BPF_ALU | BPF_NEG:
                return true;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
                return f->k < POL_BPF_MEMWORDS;
        default:
                break;
        }
        if (BPF_CLASS(f->code) == BPF_ALU) {
                switch (BPF_OP(f->code)) {
                case BPF_ADD:
                case BPF_SUB:
                case BPF_MUL:
                case BPF_OR:
                case BPF_AND:
                case BPF_LSH:
                case BPF_RSH:
                case BPF_XOR:
                        return true;
                case BPF_DIV:
                        return BPF_SRC(f->code) == BPF_X || f->k != 0;
                default:
                        return false;
                }
        }
        if (BPF_CLASS(f->code) == BPF_JMP) {
                unsigned op = BPF_OP(f->code);

                return op == BPF_JA
                               ? BPF_SRC(f->code) == BPF_K
                               : op == BPF_JEQ || op == BPF_JGT || op == BPF_JGE || op == BPF_JSET;
        }
        return false;
}

static bool jumps_inside(const struct sock_filter *f, size_t i, size_t len)
{
        if (BPF_CLASS(f->code) != BPF_JMP)
                return true;
        if (BPF_OP(f->code) == BPF_JA)
                return f->k < len - i - 1;
        return i + 1 + f->jt < len && i + 1 + f->jf < len;
}

int pol_bpf_check(const struct pol_bpf *b, struct aio_err *err)
{
        if (b->len == 0 || b->len > BPF_MAXINSNS)
                return aio_error_msg(err, EINVAL, "filter has %zu instructions (1..%d allowed)",
                                     b->len, BPF_MAXINSNS);
        for (size_t i = 0; i < b->len; i++) {
                const struct sock_filter *f = &b->insns[i];

                if (!opcode_allowed(f))
                        return aio_error_msg(err, EINVAL,
                                             "instruction %zu: opcode 0x%04x k=%u not allowed in "
                                             "seccomp",
                                             i, f->code, f->k);
                if (!jumps_inside(f, i, b->len))
                        return aio_error_msg(err, EINVAL, "instruction %zu: jump out of range", i);
        }
        if (BPF_CLASS(b->insns[b->len - 1].code) != BPF_RET)
                return aio_error_msg(err, EINVAL, "last instruction is not a return");
        return 0;
}

int pol_bpf_write(const char *path, const struct pol_bpf *b, struct aio_err *err)
{
        cleanup_free char *tmp = aio_xasprintf("%s.XXXXXX", path);
        cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
        int r;

        if (fd < 0)
                return aio_error(err, errno, "create %s", tmp);
        r = aio_write_full(fd, b->insns, b->len * sizeof(*b->insns), err);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = aio_error(err, errno, "chmod %s", tmp);
        if (r >= 0 && fsync(fd) < 0)
                r = aio_error(err, errno, "fsync %s", tmp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = aio_error(err, errno, "rename %s to %s", tmp, path);
        if (r < 0) {
                (void)unlink(tmp);
                return aio_error_prefix(err, "%s", path);
        }
        return 0;
}

int pol_bpf_read(const char *path, struct pol_bpf *ret, struct aio_err *err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct pol_bpf b = {0};
        struct stat st;
        int r;

        if (fd < 0)
                return aio_error(err, errno, "open %s", path);
        if (fstat(fd, &st) < 0)
                return aio_error(err, errno, "stat %s", path);
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter)) ||
            st.st_size % (off_t)sizeof(struct sock_filter) != 0)
                return aio_error_msg(err, EINVAL,
                                     "%s: not a seccomp filter (size must be a multiple of %zu, "
                                     "at most %d instructions)",
                                     path, sizeof(struct sock_filter), BPF_MAXINSNS);
        b.len = (size_t)st.st_size / sizeof(struct sock_filter);
        b.insns = aio_xcalloc(b.len, sizeof(*b.insns));
        r = aio_read_full(fd, b.insns, b.len * sizeof(*b.insns), err);
        if (r >= 0)
                r = pol_bpf_check(&b, err);
        if (r < 0) {
                pol_bpf_free(&b);
                return aio_error_prefix(err, "%s", path);
        }
        *ret = b;
        return 0;
}
