#pragma once

struct aio_err;

/* The directory of the running binary (/proc/self/exe), malloc'ed in *ret_dir: where aio-run
 * finds the helpers installed next to it (aio-policy, aio-unpack) and its compiled profiles. */
int aio_exe_dir(char **ret_dir, struct aio_err *err);
