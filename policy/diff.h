#pragma once

#include <stdio.h>

struct pol_seccomp;

/* Writes what x86_64 syscalls get under a and under b where they differ, as resolved and ordered
 * by the compiler (exceptions first, then conditional rules, then the argument-less rule or the
 * default):
 *   @@ ioctl
 *   - ALLOW
 *   + ERRNO(1) if args[1] & 0xffffffff == 0x5412; else ALLOW
 * Returns the number of differences (0: same behaviour). */
int pol_seccomp_diff(const struct pol_seccomp *a, const struct pol_seccomp *b, const char *name_a,
                     const char *name_b, FILE *out);
/* One syscall's behaviour under p in the form above; the caller frees it. */
char *pol_seccomp_describe(const struct pol_seccomp *p, int nr);
