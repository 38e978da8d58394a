#include "compile.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "bpf.h"
#include "seccomp-policy.h"
#include "syscalls.h"

#define POL_X32_SYSCALL_BIT 0x40000000U
#define POL_RET_ENOSYS      (SECCOMP_RET_ERRNO | ENOSYS)

struct pol_plan {
        int max;
        bool *has_base;
        uint32_t *base;
        /* rules with arguments and a non-default action, per syscall */
        unsigned *n_cond;
        uint32_t default_action;
};

static bool nr_valid(const struct pol_plan *plan, int nr)
{
        return nr >= 0 && nr <= plan->max;
}

struct pol_plan *pol_plan_new(const struct pol_seccomp *p)
{
        struct pol_plan *plan = aio_xcalloc(1, sizeof(*plan));
        size_t n;

        plan->max = pol_syscall_max();
        n = (size_t)plan->max + 1;
        plan->has_base = aio_xcalloc(n, sizeof(*plan->has_base));
        plan->base = aio_xcalloc(n, sizeof(*plan->base));
        plan->n_cond = aio_xcalloc(n, sizeof(*plan->n_cond));
        plan->default_action = p->default_action;
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pol_rule *r = &p->rules[i];

                for (size_t k = 0; r->active && k < r->n_sys; k++) {
                        int nr = r->sys[k].nr;

                        if (!nr_valid(plan, nr))
                                continue;
                        if (r->n_args == 0 && !plan->has_base[nr]) {
                                plan->has_base[nr] = true;
                                plan->base[nr] = r->action;
                        } else if (r->n_args > 0 && r->action != p->default_action) {
                                plan->n_cond[nr]++;
                        }
                }
        }
        return plan;
}

void pol_plan_free(struct pol_plan *plan)
{
        if (!plan)
                return;
        free(plan->has_base);
        free(plan->base);
        free(plan->n_cond);
        free(plan);
}

bool pol_plan_base(const struct pol_plan *plan, int nr, uint32_t *ret)
{
        if (!nr_valid(plan, nr) || !plan->has_base[nr])
                return false;
        *ret = plan->base[nr];
        return true;
}

enum pol_stage pol_plan_stage(const struct pol_plan *plan, const struct pol_rule *r, int nr)
{
        if (!r->active || !nr_valid(plan, nr))
                return POL_STAGE_SKIP;
        if (r->n_args == 0)
                return r->action == plan->default_action ? POL_STAGE_SKIP : POL_STAGE_MAIN;
        if (plan->has_base[nr])
                return r->action == plan->base[nr] ? POL_STAGE_SKIP : POL_STAGE_FIRST;
        if (r->action != plan->default_action)
                return POL_STAGE_MAIN;
        return plan->n_cond[nr] > 0 ? POL_STAGE_FIRST : POL_STAGE_SKIP;
}

bool pol_plan_enosys(const struct pol_seccomp *p)
{
        uint32_t a = p->default_action & SECCOMP_RET_ACTION_FULL;

        return a != SECCOMP_RET_ALLOW && a != SECCOMP_RET_LOG;
}

static const enum scmp_compare scmp_ops[_POL_OP_MAX] = {
        [POL_OP_NE] = SCMP_CMP_NE,
        [POL_OP_LT] = SCMP_CMP_LT,
        [POL_OP_LE] = SCMP_CMP_LE,
        [POL_OP_EQ] = SCMP_CMP_EQ,
        [POL_OP_GE] = SCMP_CMP_GE,
        [POL_OP_GT] = SCMP_CMP_GT,
        [POL_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static struct scmp_arg_cmp arg_cmp(const struct pol_arg *a)
{
        /* OCI's MASKED_EQ: value is the mask, valueTwo the datum; libseccomp takes them in the
         * same order. */
        return (struct scmp_arg_cmp){.arg = a->index,
                                     .op = scmp_ops[a->op],
                                     .datum_a = a->value,
                                     .datum_b = a->value_two};
}

static bool args_repeat_index(const struct pol_rule *r)
{
        unsigned seen = 0;

        for (size_t i = 0; i < r->n_args; i++) {
                unsigned bit = 1u << r->args[i].index;

                if (seen & bit)
                        return true;
                seen |= bit;
        }
        return false;
}

static int add_one(scmp_filter_ctx ctx, const struct pol_rule *r, int nr, struct aio_err *err)
{
        struct scmp_arg_cmp cmp[6];
        char name[64];
        int k;

        /* Several conditions on one argument: each becomes its own rule (OR), as runc does.
         * (More than six conditions always repeat an index.) */
        if (r->n_args > ELEMENTSOF(cmp) || args_repeat_index(r)) {
                for (size_t i = 0; i < r->n_args; i++) {
                        cmp[0] = arg_cmp(&r->args[i]);
                        k = seccomp_rule_add_array(ctx, r->action, nr, 1, cmp);
                        if (k < 0)
                                goto fail;
                }
                return 0;
        }
        for (size_t i = 0; i < r->n_args; i++)
                cmp[i] = arg_cmp(&r->args[i]);
        k = seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->n_args, cmp);
        if (k >= 0)
                return 0;
fail:
        return aio_error(err, -k, "syscalls[%zu]: libseccomp refused the rule for \"%s\"", r->index,
                         pol_syscall_name(nr, name, sizeof(name)));
}

static int ctx_new(uint32_t def, scmp_filter_ctx *ret, struct aio_err *err)
{
        scmp_filter_ctx ctx = seccomp_init(def);
        int r;

        if (!ctx)
                return aio_error_msg(err, EINVAL, "seccomp_init failed");
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, POL_BADARCH_ACTION);
        if (r >= 0 && seccomp_arch_native() != SCMP_ARCH_X86_64) {
                r = seccomp_arch_add(ctx, SCMP_ARCH_X86_64);
                if (r >= 0)
                        r = seccomp_arch_remove(ctx, seccomp_arch_native());
        }
        if (r < 0) {
                seccomp_release(ctx);
                return aio_error(err, -r, "libseccomp filter setup");
        }
        /* Binary tree of syscall numbers: O(log n) instead of a linear scan of ~300 entries. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0)
                log_debug("libseccomp has no binary tree optimisation: %s", strerror(-r));
        *ret = ctx;
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct pol_bpf *ret, struct aio_err *err)
{
        cleanup_close int fd = memfd_create("aio-policy-bpf", MFD_CLOEXEC);
        off_t size;
        int r;

        if (fd < 0)
                return aio_error(err, errno, "memfd_create");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return aio_error(err, -r, "seccomp_export_bpf");
        size = lseek(fd, 0, SEEK_END);
        if (size < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return aio_error(err, errno, "lseek");
        if (size == 0 || size % (off_t)sizeof(struct sock_filter) != 0)
                return aio_error_msg(err, EIO, "libseccomp exported %lld bytes", (long long)size);
        ret->len = (size_t)size / sizeof(struct sock_filter);
        ret->insns = aio_xcalloc(ret->len, sizeof(*ret->insns));
        r = aio_read_full(fd, ret->insns, (size_t)size, err);
        if (r < 0)
                pol_bpf_free(ret);
        return r;
}

static int add_stage(scmp_filter_ctx ctx, const struct pol_seccomp *p, const struct pol_plan *plan,
                     enum pol_stage stage, struct aio_err *err)
{
        size_t n = 0;

        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pol_rule *r = &p->rules[i];

                for (size_t k = 0; k < r->n_sys; k++) {
                        int e;

                        if (pol_plan_stage(plan, r, r->sys[k].nr) != stage)
                                continue;
                        e = add_one(ctx, r, r->sys[k].nr, err);
                        if (e < 0)
                                return e;
                        n++;
                }
        }
        return (int)n;
}

/* Runs of unnamed numbers below the highest known syscall (x86_64: 337..423) are checked as
 * ranges in the prefix; shorter gaps become libseccomp rules. */
#define POL_RUN_MIN  3
#define POL_RUNS_MAX 16

struct hole_run {
        int lo;
        int hi;
};

static size_t find_hole_runs(struct hole_run *runs)
{
        int max = pol_syscall_max(), lo = -1;
        size_t n = 0;

        for (int nr = 0; nr <= max + 1 && n < POL_RUNS_MAX; nr++) {
                bool hole = nr <= max && !pol_syscall_known(nr);

                if (hole && lo < 0)
                        lo = nr;
                if (hole || lo < 0)
                        continue;
                if (nr - lo >= POL_RUN_MIN)
                        runs[n++] = (struct hole_run){lo, nr - 1};
                lo = -1;
        }
        return n;
}

static bool in_runs(const struct hole_run *runs, size_t n, int nr)
{
        for (size_t i = 0; i < n; i++)
                if (nr >= runs[i].lo && nr <= runs[i].hi)
                        return true;
        return false;
}

/* Unnamed numbers below the highest known syscall: ENOSYS, so they behave like the numbers above
 * it.  Those in runs are handled by the prefix. */
static int add_enosys_holes(scmp_filter_ctx ctx, const struct pol_seccomp *p,
                            const struct hole_run *runs, size_t n_runs, struct aio_err *err)
{
        int max = pol_syscall_max();

        if (!pol_plan_enosys(p) || p->default_action == POL_RET_ENOSYS)
                return 0;
        for (int nr = 0; nr <= max; nr++) {
                int r;

                if (pol_syscall_known(nr) || in_runs(runs, n_runs, nr))
                        continue;
                r = seccomp_rule_add(ctx, POL_RET_ENOSYS, nr, 0);
                if (r < 0)
                        return aio_error(err, -r, "ENOSYS rule for syscall %d", nr);
        }
        return 0;
}

static int compile_main(const struct pol_seccomp *p, const struct pol_plan *plan,
                        const struct hole_run *runs, size_t n_runs, struct pol_bpf *ret,
                        struct aio_err *err)
{
        scmp_filter_ctx ctx = NULL;
        int r = ctx_new(p->default_action, &ctx, err);

        if (r < 0)
                return r;
        r = add_stage(ctx, p, plan, POL_STAGE_MAIN, err);
        if (r >= 0)
                r = add_enosys_holes(ctx, p, runs, n_runs, err);
        if (r >= 0)
                r = export_bpf(ctx, ret, err);
        seccomp_release(ctx);
        return r;
}

/* A TRACE value no rule uses: the "no exception matched" return of the first stage, patched into
 * a jump to the main stage. */
static uint32_t pick_marker(const struct pol_seccomp *p)
{
        for (uint32_t m = SECCOMP_RET_DATA;; m--) {
                uint32_t marker = SECCOMP_RET_TRACE | m;
                bool used = false;

                for (size_t i = 0; i < p->n_rules && !used; i++)
                        used = p->rules[i].action == marker;
                if (!used)
                        return marker;
        }
}

static int compile_first(const struct pol_seccomp *p, const struct pol_plan *plan,
                         struct pol_bpf *ret, struct aio_err *err)
{
        uint32_t marker = pick_marker(p);
        scmp_filter_ctx ctx = NULL;
        int r = ctx_new(marker, &ctx, err);

        if (r < 0)
                return r;
        r = add_stage(ctx, p, plan, POL_STAGE_FIRST, err);
        if (r > 0)
                r = export_bpf(ctx, ret, err);
        else if (r == 0)
                ret->len = 0; /* no exceptions: no first stage */
        seccomp_release(ctx);
        if (r < 0 || ret->len == 0)
                return r;
        for (size_t i = 0; i < ret->len; i++) {
                struct sock_filter *f = &ret->insns[i];

                if (f->code == (BPF_RET | BPF_K) && f->k == marker)
                        *f = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA,
                                                          (uint32_t)(ret->len - i - 1), 0, 0);
        }
        return 0;
}

#define POL_PREFIX_MAX (11 + 2 * POL_RUNS_MAX)
#define POL_NR_SKIPPED 0xffffffffU /* -1: a tracer skipped the syscall; libseccomp lets it pass */

static const struct sock_filter prefix_head[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, POL_BADARCH_ACTION),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
};

/* Without ENOSYS handling: x32 numbers are killed, -1 goes on to the rules. */
static const struct sock_filter prefix_x32[] = {
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, POL_X32_SYSCALL_BIT, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, POL_NR_SKIPPED, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, POL_BADARCH_ACTION),
};

static struct sock_filter jump(uint32_t k, size_t at, size_t jt, size_t jf)
{
        return (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_K | (uint16_t)k, 0,
                                            (uint8_t)(jt - at - 1), (uint8_t)(jf - at - 1));
}

/* Foreign architectures and x32 are killed; when the default denies, numbers above the highest
 * named syscall and the runs of unnamed ones get ENOSYS:
 *      jgt  max          jf runs        ; named range: check the runs
 *      jge  X32_BIT      jf enosys      ; above max, below x32
 *      jeq  -1           jt rules       ; skipped by a tracer
 *      ret  KILL_PROCESS                ; x32
 * runs: jge lo  jf next / jgt hi  jf enosys
 *      ja   rules
 * enosys: ret ERRNO(ENOSYS)
 * rules: ... */
static size_t build_prefix(const struct pol_seccomp *p, const struct hole_run *runs, size_t n_runs,
                           struct sock_filter *out)
{
        size_t n = ELEMENTSOF(prefix_head), first_run, enosys, rules;

        memcpy(out, prefix_head, sizeof(prefix_head));
        if (!pol_plan_enosys(p)) {
                memcpy(out + n, prefix_x32, sizeof(prefix_x32));
                return n + ELEMENTSOF(prefix_x32);
        }
        first_run = n + 4;
        enosys = first_run + 2 * n_runs + 1;
        rules = enosys + 1;
        out[n] = jump(BPF_JGT, n, n + 1, first_run);
        out[n].k = (uint32_t)pol_syscall_max();
        n++;
        out[n] = jump(BPF_JGE, n, n + 1, enosys);
        out[n].k = POL_X32_SYSCALL_BIT;
        n++;
        out[n] = jump(BPF_JEQ, n, rules, n + 1);
        out[n].k = POL_NR_SKIPPED;
        n++;
        out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, POL_BADARCH_ACTION);
        for (size_t i = 0; i < n_runs; i++) {
                out[n] = jump(BPF_JGE, n, n + 1, n + 2);
                out[n].k = (uint32_t)runs[i].lo;
                n++;
                out[n] = jump(BPF_JGT, n, n + 1, enosys);
                out[n].k = (uint32_t)runs[i].hi;
                n++;
        }
        out[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0);
        out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, POL_RET_ENOSYS);
        return n;
}

int pol_seccomp_compile(const struct pol_seccomp *p, struct pol_bpf *ret, struct aio_err *err)
{
        cleanup_plan struct pol_plan *plan = pol_plan_new(p);
        cleanup_bpf struct pol_bpf first = {0}, main_stage = {0};
        struct sock_filter prefix[POL_PREFIX_MAX];
        struct hole_run runs[POL_RUNS_MAX];
        size_t n_runs = find_hole_runs(runs);
        size_t n_prefix = build_prefix(p, runs, n_runs, prefix);
        struct pol_bpf out = {0};
        int r;

        r = compile_first(p, plan, &first, err);
        if (r >= 0)
                r = compile_main(p, plan, runs, n_runs, &main_stage, err);
        if (r < 0)
                return aio_error_prefix(err, "compile");
        out.len = n_prefix + first.len + main_stage.len;
        out.insns = aio_xcalloc(out.len, sizeof(*out.insns));
        memcpy(out.insns, prefix, n_prefix * sizeof(*prefix));
        if (first.len)
                memcpy(out.insns + n_prefix, first.insns, first.len * sizeof(*first.insns));
        if (main_stage.len)
                memcpy(out.insns + n_prefix + first.len, main_stage.insns,
                       main_stage.len * sizeof(*main_stage.insns));
        r = pol_bpf_check(&out, err);
        if (r < 0) {
                pol_bpf_free(&out);
                return aio_error_prefix(err, "compiled filter");
        }
        *ret = out;
        return 0;
}
