#pragma once

#include <stdio.h>

struct pol_bpf;

/* Writes a readable disassembly of a checked filter to out, one instruction per line:
 *   0004: jeq  #39          jt 0010  jf 0005   ; getpid
 *   0010: ret  ALLOW
 * Loads are named (nr, arch, args[1].lo) and comparisons against the syscall number carry the
 * syscall's name; which value the accumulator holds is tracked along every path. */
void pol_bpf_dump(const struct pol_bpf *b, FILE *out);
