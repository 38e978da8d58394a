#include "diff.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#include "compile.h"
#include "seccomp-policy.h"
#include "syscalls.h"

/* A growing string. */
struct sbuf {
        char *s;
        size_t len;
        size_t cap;
};

static void sbuf_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbuf_add(struct sbuf *b, const char *fmt, ...)
{
        cleanup_free char *s = NULL;
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        s = aio_xvasprintf(fmt, ap);
        va_end(ap);
        n = strlen(s);
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = aio_xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, s, n + 1);
        b->len += n;
}

static const char *op_symbol(enum pol_op op)
{
        static const char *const sym[_POL_OP_MAX] = {
                [POL_OP_NE] = "!=",        [POL_OP_LT] = "<",  [POL_OP_LE] = "<=",
                [POL_OP_EQ] = "==",        [POL_OP_GE] = ">=", [POL_OP_GT] = ">",
                [POL_OP_MASKED_EQ] = "==",
        };

        return sym[op];
}

static void add_value(struct sbuf *b, uint64_t v)
{
        if (v < 4096)
                sbuf_add(b, "%llu", (unsigned long long)v);
        else
                sbuf_add(b, "0x%llx", (unsigned long long)v);
}

static void add_cond(struct sbuf *b, const struct pol_arg *a)
{
        sbuf_add(b, "args[%u] ", a->index);
        if (a->op == POL_OP_MASKED_EQ) {
                sbuf_add(b, "& ");
                add_value(b, a->value);
                sbuf_add(b, " ");
        }
        sbuf_add(b, "%s ", op_symbol(a->op));
        add_value(b, a->op == POL_OP_MASKED_EQ ? a->value_two : a->value);
}

static bool args_repeat_index(const struct pol_rule *r)
{
        for (size_t i = 0; i < r->n_args; i++)
                for (size_t j = i + 1; j < r->n_args; j++)
                        if (r->args[i].index == r->args[j].index)
                                return true;
        return false;
}

static char *describe_rule(const struct pol_rule *r)
{
        struct sbuf b = {0};
        /* Several conditions on one argument are alternatives (compile.c, after runc). */
        const char *join = args_repeat_index(r) ? " || " : " && ";
        char act[32];

        sbuf_add(&b, "%s if ", pol_action_format(r->action, act, sizeof(act)));
        for (size_t i = 0; i < r->n_args; i++) {
                if (i > 0)
                        sbuf_add(&b, "%s", join);
                add_cond(&b, &r->args[i]);
        }
        return b.s;
}

static int cmp_str(const void *x, const void *y)
{
        return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool rule_in_stage(const struct pol_plan *plan, const struct pol_rule *r, int nr,
                          enum pol_stage st)
{
        if (r->n_args == 0 || pol_plan_stage(plan, r, nr) != st)
                return false;
        for (size_t k = 0; k < r->n_sys; k++)
                if (r->sys[k].nr == nr)
                        return true;
        return false;
}

/* The conditional rules in effect for nr, as sorted text: exceptions, then the others. */
static char **conditional_rules(const struct pol_seccomp *p, const struct pol_plan *plan, int nr,
                                size_t *ret_n)
{
        char **out = aio_xcalloc(p->n_rules + 1, sizeof(*out));
        size_t n = 0;

        for (enum pol_stage st = POL_STAGE_FIRST; st <= POL_STAGE_MAIN; st++) {
                size_t first = n;

                for (size_t i = 0; i < p->n_rules; i++)
                        if (rule_in_stage(plan, &p->rules[i], nr, st))
                                out[n++] = describe_rule(&p->rules[i]);
                qsort(out + first, n - first, sizeof(*out), cmp_str);
        }
        *ret_n = n;
        return out;
}

static char *describe(const struct pol_seccomp *p, const struct pol_plan *plan, int nr)
{
        size_t n;
        cleanup_strv char **conds = conditional_rules(p, plan, nr, &n);
        struct sbuf b = {0};
        uint32_t action = p->default_action;
        char act[32];

        (void)pol_plan_base(plan, nr, &action);
        for (size_t i = 0; i < n; i++)
                sbuf_add(&b, "%s; ", conds[i]);
        sbuf_add(&b, "%s%s", n ? "else " : "", pol_action_format(action, act, sizeof(act)));
        return b.s;
}

char *pol_seccomp_describe(const struct pol_seccomp *p, int nr)
{
        cleanup_plan struct pol_plan *plan = pol_plan_new(p);

        return describe(p, plan, nr);
}

static const char *unnamed_action(const struct pol_seccomp *p, char *buf, size_t size)
{
        return pol_plan_enosys(p) ? "ERRNO(38)" : pol_action_format(p->default_action, buf, size);
}

static int diff_header(const struct pol_seccomp *a, const struct pol_seccomp *b, FILE *out)
{
        char x[32], y[32];
        int n = 0;

        if (a->default_action != b->default_action) {
                (void)fprintf(out, "@@ defaultAction\n- %s\n+ %s\n",
                              pol_action_format(a->default_action, x, sizeof(x)),
                              pol_action_format(b->default_action, y, sizeof(y)));
                n++;
        }
        if (strcmp(unnamed_action(a, x, sizeof(x)), unnamed_action(b, y, sizeof(y))) != 0) {
                (void)fprintf(out, "@@ (unnamed and newer syscalls)\n- %s\n+ %s\n", x, y);
                n++;
        }
        return n;
}

int pol_seccomp_diff(const struct pol_seccomp *a, const struct pol_seccomp *b, const char *name_a,
                     const char *name_b, FILE *out)
{
        cleanup_plan struct pol_plan *pa = pol_plan_new(a);
        cleanup_plan struct pol_plan *pb = pol_plan_new(b);
        int max = pol_syscall_max(), n;

        (void)fprintf(out, "--- %s\n+++ %s\n", name_a, name_b);
        n = diff_header(a, b, out);
        for (int nr = 0; nr <= max; nr++) {
                cleanup_free char *da = NULL, *db = NULL;
                char name[64];

                if (!pol_syscall_name(nr, name, sizeof(name)))
                        continue;
                da = describe(a, pa, nr);
                db = describe(b, pb, nr);
                if (strcmp(da, db) == 0)
                        continue;
                (void)fprintf(out, "@@ %s\n- %s\n+ %s\n", name, da, db);
                n++;
        }
        return n;
}
