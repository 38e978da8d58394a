#include "syscalls.h"

#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* Syscalls that libseccomp 2.5.4 cannot name, from the kernel's
 * arch/x86/entry/syscalls/syscall_64.tbl (6.18).  nr < 0: the name exists on other architectures
 * only.  libseccomp names are preferred; this table only fills its gaps. */
struct pol_syscall_extra {
        const char *name;
        int nr;
};

/* clang-format off */
static const struct pol_syscall_extra pol_syscall_extra[] = {
        { "uretprobe",          335 },
        { "uprobe",             336 },
        { "statmount",          457 },
        { "listmount",          458 },
        { "lsm_get_self_attr",  459 },
        { "lsm_set_self_attr",  460 },
        { "lsm_list_modules",   461 },
        { "mseal",              462 },
        { "setxattrat",         463 },
        { "getxattrat",         464 },
        { "listxattrat",        465 },
        { "removexattrat",      466 },
        { "open_tree_attr",     467 },
        { "file_getattr",       468 },
        { "file_setattr",       469 },
        { "riscv_hwprobe",      -1 },
};
/* clang-format on */

static const struct pol_syscall_extra *extra_by_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(pol_syscall_extra); i++)
                if (strcmp(pol_syscall_extra[i].name, name) == 0)
                        return &pol_syscall_extra[i];
        return NULL;
}

static const struct pol_syscall_extra *extra_by_nr(int nr)
{
        for (size_t i = 0; i < ELEMENTSOF(pol_syscall_extra); i++)
                if (pol_syscall_extra[i].nr == nr)
                        return &pol_syscall_extra[i];
        return NULL;
}

enum pol_sys_kind pol_syscall_lookup(const char *name, int *ret_nr)
{
        const struct pol_syscall_extra *e;
        int nr;

        if (name[0] == '\0')
                return POL_SYS_UNKNOWN;
        nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
        if (nr >= 0) {
                *ret_nr = nr;
                return POL_SYS_NATIVE;
        }
        e = extra_by_name(name);
        if (e && e->nr >= 0) {
                *ret_nr = e->nr;
                return POL_SYS_NATIVE;
        }
        /* libseccomp gives names of other architectures a negative pseudo number. */
        if (e || nr != __NR_SCMP_ERROR)
                return POL_SYS_FOREIGN;
        return POL_SYS_UNKNOWN;
}

const char *pol_syscall_name(int nr, char *buf, size_t size)
{
        cleanup_free char *s = NULL;
        const struct pol_syscall_extra *e;

        if (nr < 0 || size == 0)
                return NULL;
        s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        if (s) {
                (void)snprintf(buf, size, "%s", s);
                return buf;
        }
        e = extra_by_nr(nr);
        if (!e)
                return NULL;
        (void)snprintf(buf, size, "%s", e->name);
        return buf;
}

bool pol_syscall_known(int nr)
{
        char buf[64];

        return pol_syscall_name(nr, buf, sizeof(buf)) != NULL;
}

int pol_syscall_max(void)
{
        static const int probe_limit = 1024;
        int max = -1;

        /* Pure function of the linked libseccomp and the table: cheap enough to recompute. */
        for (int nr = 0; nr < probe_limit; nr++)
                if (pol_syscall_known(nr))
                        max = nr;
        return max;
}
