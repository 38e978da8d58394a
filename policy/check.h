#pragma once

struct aio_err;
struct pol_diag;
struct pol_opts;

/* The kinds of policy file, told apart by their top-level keys. */
enum pol_kind {
        POL_KIND_SECCOMP, /* "defaultAction" or "syscalls" */
        POL_KIND_CAPS,    /* "capabilities" */
        POL_KIND_MOUNTS,  /* "maskedPaths" or "readonlyPaths" */
        _POL_KIND_MAX,
};

const char *pol_kind_to_string(enum pol_kind k);
/* Validates any policy file; a seccomp profile is also compiled (what libseccomp refuses is a
 * problem too).  Every problem goes to d.  Returns the kind (>= 0) when the file is clean,
 * -EINVAL when there are problems, another -errno when the file cannot be read. */
int pol_check_file(const char *path, const struct pol_opts *opts, struct pol_diag *d,
                   struct aio_err *err);
