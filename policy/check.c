#include "check.h"

#include <errno.h>
#include <jansson.h>

#include "common/err.h"

#include "bpf.h"
#include "caps-policy.h"
#include "compile.h"
#include "diag.h"
#include "mount-policy.h"
#include "seccomp-policy.h"

static const char *const kind_names[_POL_KIND_MAX] = {
        [POL_KIND_SECCOMP] = "seccomp profile",
        [POL_KIND_CAPS] = "capability set",
        [POL_KIND_MOUNTS] = "mount masks",
};

const char *pol_kind_to_string(enum pol_kind k)
{
        return k >= 0 && k < _POL_KIND_MAX ? kind_names[k] : NULL;
}

static int detect_kind(json_t *root, struct pol_diag *d)
{
        if (!json_is_object(root)) {
                pol_diag_add(d, "(root): expected an object");
                return -EINVAL;
        }
        if (json_object_get(root, "defaultAction") || json_object_get(root, "syscalls"))
                return POL_KIND_SECCOMP;
        if (json_object_get(root, "capabilities"))
                return POL_KIND_CAPS;
        if (json_object_get(root, "maskedPaths") || json_object_get(root, "readonlyPaths"))
                return POL_KIND_MOUNTS;
        pol_diag_add(d, "(root): not a policy file: expected \"defaultAction\" (seccomp), "
                        "\"capabilities\" or \"maskedPaths\"/\"readonlyPaths\"");
        return -EINVAL;
}

static void check_seccomp(json_t *root, const struct pol_opts *opts, struct pol_diag *d)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        cleanup_bpf struct pol_bpf bpf = {0};
        struct aio_err err;

        if (pol_seccomp_parse(root, opts, &p, d, &err) < 0)
                return;
        if (pol_seccomp_compile(p, &bpf, &err) < 0)
                pol_diag_add(d, "%s", err.msg);
}

int pol_check_file(const char *path, const struct pol_opts *opts, struct pol_diag *d,
                   struct aio_err *err)
{
        json_t *root = NULL;
        size_t before = d->n;
        int r = pol_json_load(path, &root, d, err), kind;

        if (r < 0)
                return r;
        kind = detect_kind(root, d);
        if (kind == POL_KIND_SECCOMP)
                check_seccomp(root, opts, d);
        else if (kind == POL_KIND_CAPS)
                pol_caps_check(root, d);
        else if (kind == POL_KIND_MOUNTS)
                pol_mounts_check(root, d);
        json_decref(root);
        if (d->n > before)
                return pol_diag_to_err(d, path, err);
        return kind;
}
