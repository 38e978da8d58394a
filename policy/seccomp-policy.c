#include "seccomp-policy.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/capabilities.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "caps-policy.h"
#include "diag.h"
#include "seccomp-arch.h"
#include "syscalls.h"

#define POL_ERRNO_MAX 4095 /* the kernel truncates larger SECCOMP_RET_DATA to garbage errnos */
#define POL_ARGS_MAX  6

struct parse_ctx {
        struct pol_diag *d;
        uint64_t caps;
        unsigned kernel[2];
};

struct action_name {
        const char *name;
        uint32_t ret;
        bool has_data; /* errnoRet applies */
};

/* clang-format off */
static const struct action_name action_names[] = {
        { "SCMP_ACT_KILL",          SECCOMP_RET_KILL_THREAD,  false },
        { "SCMP_ACT_KILL_THREAD",   SECCOMP_RET_KILL_THREAD,  false },
        { "SCMP_ACT_KILL_PROCESS",  SECCOMP_RET_KILL_PROCESS, false },
        { "SCMP_ACT_TRAP",          SECCOMP_RET_TRAP,         false },
        { "SCMP_ACT_ERRNO",         SECCOMP_RET_ERRNO,        true  },
        { "SCMP_ACT_TRACE",         SECCOMP_RET_TRACE,        true  },
        { "SCMP_ACT_LOG",           SECCOMP_RET_LOG,          false },
        { "SCMP_ACT_ALLOW",         SECCOMP_RET_ALLOW,        false },
};

static const char *const op_names[_POL_OP_MAX] = {
        [POL_OP_NE]        = "SCMP_CMP_NE",
        [POL_OP_LT]        = "SCMP_CMP_LT",
        [POL_OP_LE]        = "SCMP_CMP_LE",
        [POL_OP_EQ]        = "SCMP_CMP_EQ",
        [POL_OP_GE]        = "SCMP_CMP_GE",
        [POL_OP_GT]        = "SCMP_CMP_GT",
        [POL_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static const char *const seccomp_flags[] = {
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};
/* clang-format on */

const char *pol_op_to_string(enum pol_op op)
{
        return op >= 0 && op < _POL_OP_MAX ? op_names[op] : NULL;
}

static int op_from_string(const char *s)
{
        for (int i = 0; i < _POL_OP_MAX; i++)
                if (strcmp(op_names[i], s) == 0)
                        return i;
        return -EINVAL;
}

const char *pol_action_format(uint32_t action, char *buf, size_t size)
{
        uint32_t data = action & SECCOMP_RET_DATA;

        switch (action & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_KILL_PROCESS:
                return "KILL_PROCESS";
        case SECCOMP_RET_KILL_THREAD:
                return "KILL_THREAD";
        case SECCOMP_RET_TRAP:
                return "TRAP";
        case SECCOMP_RET_ERRNO:
                (void)snprintf(buf, size, "ERRNO(%u)", data);
                return buf;
        case SECCOMP_RET_TRACE:
                (void)snprintf(buf, size, "TRACE(%u)", data);
                return buf;
        case SECCOMP_RET_USER_NOTIF:
                return "NOTIFY";
        case SECCOMP_RET_LOG:
                return "LOG";
        case SECCOMP_RET_ALLOW:
                return "ALLOW";
        default:
                (void)snprintf(buf, size, "0x%08x", action);
                return buf;
        }
}

/* An integer in [min, max] at path, else a problem. */
static bool get_uint(struct parse_ctx *c, json_t *v, const char *path, uint64_t max, uint64_t *ret)
{
        json_int_t i;

        if (!json_is_integer(v)) {
                pol_diag_add(c->d, "%s: expected an integer", path);
                return false;
        }
        i = json_integer_value(v);
        if (i < 0 || (uint64_t)i > max) {
                pol_diag_add(c->d, "%s: %lld is out of range (0..%llu)", path, (long long)i,
                             (unsigned long long)max);
                return false;
        }
        *ret = (uint64_t)i;
        return true;
}

/* action and its errnoRet; path_a/path_e name them in problems. */
static bool parse_action(struct parse_ctx *c, json_t *v, json_t *errno_v, const char *path_a,
                         const char *path_e, uint32_t *ret)
{
        const char *s = json_string_value(v);
        const struct action_name *a = NULL;
        uint64_t data = EPERM;

        if (!s) {
                pol_diag_add(c->d, "%s: %s", path_a, v ? "expected a string" : "missing");
                return false;
        }
        for (size_t i = 0; i < ELEMENTSOF(action_names); i++)
                if (strcmp(action_names[i].name, s) == 0)
                        a = &action_names[i];
        if (!a) {
                if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
                        pol_diag_add(c->d,
                                     "%s: SCMP_ACT_NOTIFY is not supported: compiled "
                                     "filters are loaded without a notification listener",
                                     path_a);
                else
                        pol_diag_add(c->d, "%s: unknown action \"%s\"", path_a, s);
                return false;
        }
        if (errno_v && !a->has_data) {
                pol_diag_add(c->d, "%s: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE", path_e);
                return false;
        }
        if (errno_v && !get_uint(c, errno_v, path_e, POL_ERRNO_MAX, &data))
                return false;
        *ret = a->ret | (a->has_data ? (uint32_t)data : 0);
        return true;
}

/* Every key of obj must be in keys[]; others are problems at "path.key". */
static void check_keys(struct parse_ctx *c, json_t *obj, const char *path, const char *const *keys,
                       size_t n)
{
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v) {
                size_t i = 0;

                while (i < n && strcmp(keys[i], key) != 0)
                        i++;
                if (i == n)
                        pol_diag_add(c->d, "%s%s%s: unknown key", path, path[0] ? "." : "", key);
        }
}

bool pol_kernel_version_parse(const char *s, unsigned ret[2])
{
        unsigned long v[3] = {0, 0, 0};
        const char *p = s;
        int n = 0;

        while (n < 3) {
                char *end;

                if (*p < '0' || *p > '9')
                        return false;
                v[n++] = strtoul(p, &end, 10);
                if (v[n - 1] > 100000)
                        return false;
                p = end;
                if (*p != '.')
                        break;
                p++;
        }
        if (*p != '\0' || n < 2)
                return false;
        ret[0] = (unsigned)v[0];
        ret[1] = (unsigned)v[1];
        return true;
}

static bool kernel_at_least(const struct parse_ctx *c, const unsigned v[2])
{
        return c->kernel[0] > v[0] || (c->kernel[0] == v[0] && c->kernel[1] >= v[1]);
}

/* One includes/excludes object.  Sets *ret_match: includes match when every condition holds,
 * excludes when any does (Docker's semantics). */
static void parse_filter(struct parse_ctx *c, json_t *f, const char *path, bool include,
                         bool *ret_match)
{
        static const char *const keys[] = {"caps", "arches", "minKernel"};
        json_t *caps = json_object_get(f, "caps"), *arches = json_object_get(f, "arches");
        json_t *mk = json_object_get(f, "minKernel");
        bool all = true, any = false;
        char sub[128];

        if (!json_is_object(f)) {
                pol_diag_add(c->d, "%s: expected an object", path);
                return;
        }
        check_keys(c, f, path, keys, ELEMENTSOF(keys));
        if (caps) {
                uint64_t m;

                (void)snprintf(sub, sizeof(sub), "%s.caps", path);
                m = pol_caps_from_json(caps, sub, c->d);
                all = all && (m & c->caps) == m;
                any = any || (m & c->caps) != 0;
        }
        if (arches && (!json_is_array(arches) || json_array_size(arches) > 0)) {
                bool native;

                (void)snprintf(sub, sizeof(sub), "%s.arches", path);
                native = pol_arch_list_has_native(arches, sub, c->d);
                all = all && native;
                any = any || native;
        }
        if (mk) {
                unsigned v[2];

                if (!json_is_string(mk) || !pol_kernel_version_parse(json_string_value(mk), v)) {
                        pol_diag_add(c->d, "%s.minKernel: expected a version string like \"4.8\"",
                                     path);
                } else {
                        all = all && kernel_at_least(c, v);
                        any = any || kernel_at_least(c, v);
                }
        }
        *ret_match = include ? all : any;
}

static void parse_arg(struct parse_ctx *c, json_t *a, const char *path, struct pol_arg *ret)
{
        static const char *const keys[] = {"index", "value", "valueTwo", "op"};
        json_t *idx = json_object_get(a, "index"), *op = json_object_get(a, "op");
        json_t *value = json_object_get(a, "value"), *two = json_object_get(a, "valueTwo");
        char sub[160];
        uint64_t u;
        int o;

        if (!json_is_object(a)) {
                pol_diag_add(c->d, "%s: expected an object", path);
                return;
        }
        check_keys(c, a, path, keys, ELEMENTSOF(keys));
        (void)snprintf(sub, sizeof(sub), "%s.index", path);
        if (!idx)
                pol_diag_add(c->d, "%s: missing", sub);
        else if (get_uint(c, idx, sub, POL_ARGS_MAX - 1, &u))
                ret->index = (unsigned)u;
        (void)snprintf(sub, sizeof(sub), "%s.value", path);
        if (value)
                (void)get_uint(c, value, sub, INT64_MAX, &ret->value);
        (void)snprintf(sub, sizeof(sub), "%s.valueTwo", path);
        if (two)
                (void)get_uint(c, two, sub, INT64_MAX, &ret->value_two);
        (void)snprintf(sub, sizeof(sub), "%s.op", path);
        o = json_is_string(op) ? op_from_string(json_string_value(op)) : -EINVAL;
        if (!op)
                pol_diag_add(c->d, "%s: missing", sub);
        else if (!json_is_string(op))
                pol_diag_add(c->d, "%s: expected a string", sub);
        else if (o < 0)
                pol_diag_add(c->d, "%s: unknown operator \"%s\"", sub, json_string_value(op));
        else
                ret->op = (enum pol_op)o;
        if (o == POL_OP_MASKED_EQ && (ret->value_two & ~ret->value) != 0)
                pol_diag_add(c->d, "%s.valueTwo: has bits outside the mask in value: never matches",
                             path);
}

static void parse_args(struct parse_ctx *c, json_t *args, const char *path, struct pol_rule *r)
{
        size_t i;
        json_t *a;

        if (!args || json_is_null(args))
                return;
        if (!json_is_array(args)) {
                pol_diag_add(c->d, "%s: expected an array", path);
                return;
        }
        r->n_args = json_array_size(args);
        r->args = aio_xcalloc(r->n_args, sizeof(*r->args));
        json_array_foreach(args, i, a) {
                char sub[128];

                (void)snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                parse_arg(c, a, sub, &r->args[i]);
        }
}

static bool sys_listed(const struct pol_rule *r, int nr)
{
        for (size_t i = 0; i < r->n_sys; i++)
                if (r->sys[i].nr == nr)
                        return true;
        return false;
}

static void parse_names(struct parse_ctx *c, json_t *names, const char *path, struct pol_rule *r)
{
        size_t i;
        json_t *v;

        if (!json_is_array(names) || json_array_size(names) == 0) {
                pol_diag_add(c->d, "%s: %s", path,
                             names ? "expected a non-empty array of syscall names" : "missing");
                return;
        }
        r->sys = aio_xcalloc(json_array_size(names), sizeof(*r->sys));
        json_array_foreach(names, i, v) {
                const char *name = json_string_value(v);
                int nr = -1;

                if (!name) {
                        pol_diag_add(c->d, "%s[%zu]: expected a string", path, i);
                        continue;
                }
                switch (pol_syscall_lookup(name, &nr)) {
                case POL_SYS_NATIVE:
                        if (sys_listed(r, nr))
                                pol_diag_add(c->d, "%s[%zu]: duplicate syscall \"%s\"", path, i,
                                             name);
                        else
                                r->sys[r->n_sys++] = (struct pol_sysref){nr, (unsigned)i};
                        break;
                case POL_SYS_FOREIGN:
                        break;
                default:
                        pol_diag_add(c->d, "%s[%zu]: unknown syscall \"%s\" for x86_64", path, i,
                                     name);
                }
        }
}

static void parse_rule(struct parse_ctx *c, json_t *obj, size_t index, struct pol_rule *r)
{
        static const char *const keys[] = {"names",   "action",   "errnoRet", "args",
                                           "comment", "includes", "excludes"};
        json_t *inc = json_object_get(obj, "includes"), *exc = json_object_get(obj, "excludes");
        json_t *comment = json_object_get(obj, "comment");
        char path[64], sub[96], sub2[96];
        bool in = true, ex = false;

        r->index = index;
        (void)snprintf(path, sizeof(path), "syscalls[%zu]", index);
        if (!json_is_object(obj)) {
                pol_diag_add(c->d, "%s: expected an object", path);
                return;
        }
        check_keys(c, obj, path, keys, ELEMENTSOF(keys));
        if (comment && !json_is_string(comment))
                pol_diag_add(c->d, "%s.comment: expected a string", path);
        (void)snprintf(sub, sizeof(sub), "%s.names", path);
        parse_names(c, json_object_get(obj, "names"), sub, r);
        (void)snprintf(sub, sizeof(sub), "%s.action", path);
        (void)snprintf(sub2, sizeof(sub2), "%s.errnoRet", path);
        (void)parse_action(c, json_object_get(obj, "action"), json_object_get(obj, "errnoRet"), sub,
                           sub2, &r->action);
        (void)snprintf(sub, sizeof(sub), "%s.args", path);
        parse_args(c, json_object_get(obj, "args"), sub, r);
        (void)snprintf(sub, sizeof(sub), "%s.includes", path);
        if (inc)
                parse_filter(c, inc, sub, true, &in);
        (void)snprintf(sub, sizeof(sub), "%s.excludes", path);
        if (exc)
                parse_filter(c, exc, sub, false, &ex);
        r->active = in && !ex;
}

/* Two active rules without arguments giving one syscall different actions: libseccomp would
 * reject the second, Docker would silently keep one. */
static void check_conflicts(struct parse_ctx *c, const struct pol_seccomp *p)
{
        int max = pol_syscall_max();
        /* per syscall: 1 + the index of its first argument-less rule, 0 for none */
        cleanup_free size_t *first = aio_xcalloc((size_t)max + 1, sizeof(size_t));

        for (size_t i = 0; i < p->n_rules; i++) {
                const struct pol_rule *r = &p->rules[i];

                for (size_t k = 0; r->active && r->n_args == 0 && k < r->n_sys; k++) {
                        const struct pol_rule *f;
                        char a1[32], a2[32], name[64];

                        if (first[r->sys[k].nr] == 0) {
                                first[r->sys[k].nr] = i + 1;
                                continue;
                        }
                        f = &p->rules[first[r->sys[k].nr] - 1];
                        if (f->action == r->action)
                                continue;
                        pol_diag_add(c->d,
                                     "syscalls[%zu].names[%u]: conflicting rules for \"%s\": "
                                     "%s here, %s in syscalls[%zu]",
                                     r->index, r->sys[k].name_index,
                                     pol_syscall_name(r->sys[k].nr, name, sizeof(name)),
                                     pol_action_format(r->action, a1, sizeof(a1)),
                                     pol_action_format(f->action, a2, sizeof(a2)), f->index);
                }
        }
}

static void parse_flags(struct parse_ctx *c, json_t *flags)
{
        size_t i;
        json_t *v;

        if (!json_is_array(flags)) {
                pol_diag_add(c->d, "flags: expected an array");
                return;
        }
        json_array_foreach(flags, i, v) {
                const char *s = json_string_value(v);
                size_t k = 0;

                while (s && k < ELEMENTSOF(seccomp_flags) && strcmp(s, seccomp_flags[k]) != 0)
                        k++;
                if (!s || k == ELEMENTSOF(seccomp_flags))
                        pol_diag_add(c->d, "flags[%zu]: unknown flag%s%s%s", i, s ? " \"" : "",
                                     s ? s : "", s ? "\"" : "");
        }
}

static void parse_ext(struct parse_ctx *c, json_t *aio, bool caps_given)
{
        static const char *const keys[] = {"capabilities"};
        json_t *caps;
        uint64_t m;

        if (!json_is_object(aio)) {
                pol_diag_add(c->d, "aio: expected an object");
                return;
        }
        check_keys(c, aio, "aio", keys, ELEMENTSOF(keys));
        caps = json_object_get(aio, "capabilities");
        if (!caps)
                return;
        m = pol_caps_from_json(caps, "aio.capabilities", c->d);
        if (!caps_given)
                c->caps = m;
}

static void parse_top(struct parse_ctx *c, json_t *root, struct pol_seccomp *p)
{
        static const char *const keys[] = {"comment",         "defaultAction", "defaultErrnoRet",
                                           "architectures",   "archMap",       "syscalls",
                                           "flags",           "aio",           "listenerPath",
                                           "listenerMetadata"};
        json_t *comment = json_object_get(root, "comment");

        check_keys(c, root, "", keys, ELEMENTSOF(keys));
        if (comment && !json_is_string(comment))
                pol_diag_add(c->d, "comment: expected a string");
        else if (comment)
                p->comment = aio_xstrdup(json_string_value(comment));
        (void)parse_action(c, json_object_get(root, "defaultAction"),
                           json_object_get(root, "defaultErrnoRet"), "defaultAction",
                           "defaultErrnoRet", &p->default_action);
        pol_arch_check(root, c->d);
        if (json_object_get(root, "flags"))
                parse_flags(c, json_object_get(root, "flags"));
        if (json_object_get(root, "listenerPath"))
                pol_diag_add(c->d, "listenerPath: not supported: compiled filters are loaded "
                                   "without a notification listener");
        if (json_object_get(root, "listenerMetadata"))
                pol_diag_add(c->d, "listenerMetadata: not supported");
}

static void kernel_running(unsigned ret[2])
{
        struct utsname u;

        ret[0] = ret[1] = 0;
        if (uname(&u) < 0)
                return;
        /* "6.18.44-fc-v657": the numeric part */
        u.release[strspn(u.release, "0123456789.")] = '\0';
        if (!pol_kernel_version_parse(u.release, ret))
                ret[0] = ret[1] = 0;
}

static void parse_rules(struct parse_ctx *c, json_t *syscalls, struct pol_seccomp *p)
{
        size_t i;
        json_t *v;

        if (!syscalls || json_is_null(syscalls))
                return;
        if (!json_is_array(syscalls)) {
                pol_diag_add(c->d, "syscalls: expected an array");
                return;
        }
        p->rules = aio_xcalloc(json_array_size(syscalls), sizeof(*p->rules));
        json_array_foreach(syscalls, i, v) {
                size_t before = c->d->n;

                parse_rule(c, v, i, &p->rules[i]);
                /* a rule with problems takes no part in the conflict check */
                if (c->d->n > before)
                        p->rules[i].active = false;
                p->n_rules++;
        }
}

int pol_seccomp_parse(json_t *root, const struct pol_opts *opts, struct pol_seccomp **ret,
                      struct pol_diag *d, struct aio_err *err)
{
        cleanup_seccomp struct pol_seccomp *p = aio_xcalloc(1, sizeof(*p));
        struct parse_ctx c = {.d = d, .caps = aio_caps_default()};
        size_t before = d->n;

        if (!json_is_object(root)) {
                pol_diag_add(d, "(root): expected an object");
                return pol_diag_to_err(d, "profile", err);
        }
        if (opts && opts->caps_given)
                c.caps = opts->caps;
        if (opts && (opts->kernel[0] || opts->kernel[1]))
                memcpy(c.kernel, opts->kernel, sizeof(c.kernel));
        else
                kernel_running(c.kernel);
        if (json_object_get(root, "aio"))
                parse_ext(&c, json_object_get(root, "aio"), opts && opts->caps_given);
        parse_top(&c, root, p);
        parse_rules(&c, json_object_get(root, "syscalls"), p);
        check_conflicts(&c, p);
        if (d->n > before)
                return pol_diag_to_err(d, "profile", err);
        p->caps = c.caps;
        *ret = take_ptr(&p);
        return 0;
}

int pol_json_load(const char *path, json_t **ret, struct pol_diag *d, struct aio_err *err)
{
        json_error_t jerr;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

        if (!root) {
                if (jerr.line < 0)
                        return aio_error_msg(err, EIO, "%s: %s", path, jerr.text);
                pol_diag_add(d, "(json) line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
                return pol_diag_to_err(d, path, err);
        }
        *ret = root;
        return 0;
}

int pol_seccomp_load(const char *path, const struct pol_opts *opts, struct pol_seccomp **ret,
                     struct pol_diag *d, struct aio_err *err)
{
        json_t *root = NULL;
        int r = pol_json_load(path, &root, d, err);

        if (r < 0)
                return r;
        r = pol_seccomp_parse(root, opts, ret, d, err);
        json_decref(root);
        if (r < 0)
                return aio_error_prefix(err, "%s", path);
        return 0;
}

void pol_seccomp_free(struct pol_seccomp *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_rules; i++) {
                free(p->rules[i].args);
                free(p->rules[i].sys);
        }
        free(p->rules);
        free(p->comment);
        free(p);
}
