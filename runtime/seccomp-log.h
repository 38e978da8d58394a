#pragma once

struct rt_bpf;
struct aio_err;

/* --seccomp-log: the command runs under a copy of its filter whose refusals are handed to the
 * launcher (seccomp user notification). For each one, rt_seccomp_log_answer() finds the errno
 * the real filter would have returned (by running it, bpf-interp.c), answers the blocked
 * syscall with it, and reports the syscall by name on stderr. This module's whole purpose is
 * that report, so it logs itself. */

/* Installs the notifying copy of b in the calling thread; returns the listener fd. */
int rt_seccomp_install_logged(const struct rt_bpf *b, struct aio_err *err);
/* Answers and reports one pending notification on listener. */
int rt_seccomp_log_answer(int listener, const struct rt_bpf *b, struct aio_err *err);
