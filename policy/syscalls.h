#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Native (x86_64) syscall names and numbers: libseccomp's table plus the syscalls newer than the
 * libseccomp we build against (pol_syscall_extra[] in syscalls.c). */

enum pol_sys_kind {
        POL_SYS_NATIVE,  /* a syscall of x86_64: *ret_nr is set */
        POL_SYS_FOREIGN, /* a syscall of another architecture only (chown32, cacheflush...) */
        POL_SYS_UNKNOWN, /* no architecture knows the name */
        _POL_SYS_MAX,
};

enum pol_sys_kind pol_syscall_lookup(const char *name, int *ret_nr);
/* Name of native syscall nr, copied into buf; NULL when nr has no name on x86_64. */
const char *pol_syscall_name(int nr, char *buf, size_t size);
/* True when nr is a named x86_64 syscall. */
bool pol_syscall_known(int nr);
/* The highest named x86_64 syscall number: everything above it is "newer than we know". */
int pol_syscall_max(void);
