#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/cleanup.h"

struct aio_err;
struct pol_bpf;
struct pol_rule;
struct pol_seccomp;

/* The action for foreign architectures (x86 via int 0x80, anything not AUDIT_ARCH_X86_64) and for
 * x32 syscalls (nr & 0x40000000 under AUDIT_ARCH_X86_64).  KILL_PROCESS, not ERRNO: the jail has
 * no 32-bit userland, so a 32-bit syscall is a filter bypass attempt (CVE-2009-0835 class), and a
 * program that gets ENOSYS from every syscall would only fail later and less clearly. */
#define POL_BADARCH_ACTION 0x80000000U /* SECCOMP_RET_KILL_PROCESS */

/* How the rules of a profile are ordered in the filter:
 *  - POL_STAGE_FIRST: an exception, checked before everything else: a rule with arguments whose
 *    action differs from the same syscall's argument-less rule (ioctl ALLOW, except TIOCSTI), or
 *    that repeats the default action to carve a hole into another rule with arguments;
 *  - POL_STAGE_MAIN: everything else, compiled by libseccomp as usual;
 *  - POL_STAGE_SKIP: no effect (the default action, or the same as the argument-less rule).
 * libseccomp alone would silently drop the first kind. */
enum pol_stage {
        POL_STAGE_SKIP,
        POL_STAGE_FIRST,
        POL_STAGE_MAIN,
        _POL_STAGE_MAX,
};

struct pol_plan;
struct pol_plan *pol_plan_new(const struct pol_seccomp *p);
void pol_plan_free(struct pol_plan *plan);
DEFINE_CLEANUP_FUNC(struct pol_plan *, pol_plan_free)
#define cleanup_plan __attribute__((cleanup(pol_plan_freep)))
enum pol_stage pol_plan_stage(const struct pol_plan *plan, const struct pol_rule *r, int nr);
/* The argument-less action of nr, if one exists. */
bool pol_plan_base(const struct pol_plan *plan, int nr, uint32_t *ret);
/* True when syscalls above pol_syscall_max() and unnamed numbers return ENOSYS. */
bool pol_plan_enosys(const struct pol_seccomp *p);

/* Compiles p for native x86_64: a fixed prefix (foreign arch and x32 -> POL_BADARCH_ACTION;
 * nr > pol_syscall_max() -> ERRNO(ENOSYS) unless the default allows), the exceptions, then the
 * libseccomp filter (binary tree), in which every unnamed number below the maximum also returns
 * ENOSYS.  Errors name the profile rule (syscalls[i]) libseccomp refused. */
int pol_seccomp_compile(const struct pol_seccomp *p, struct pol_bpf *ret, struct aio_err *err);
