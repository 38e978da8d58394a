#include "seccomp-arch.h"

#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"

#include "diag.h"

/* clang-format off */
/* runtime-spec config-linux.md, "architectures" */
static const char *const oci_arches[] = {
        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
        "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
};
/* Docker's includes/excludes spelling: Go's GOARCH plus the libseccomp sub-ABIs. */
static const char *const go_arches[] = {
        "amd64", "x86_64", "x86", "386", "x32", "arm", "arm64", "aarch64", "mips", "mipsle",
        "mips64", "mips64le", "mipsn32", "mips64n32", "mipsel", "mipsel64", "mipseln32",
        "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc", "parisc64",
        "riscv64", "loong64", "loongarch64", "m68k", "sh", "sheb",
};
/* clang-format on */

static bool in_list(const char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

/* One SCMP_ARCH_ string at path; true when it is x86_64. */
static bool check_arch(json_t *v, const char *path, struct pol_diag *d)
{
        const char *s = json_string_value(v);

        if (!s) {
                pol_diag_add(d, "%s: expected a string", path);
                return false;
        }
        if (!in_list(oci_arches, ELEMENTSOF(oci_arches), s)) {
                pol_diag_add(d, "%s: unknown architecture \"%s\"", path, s);
                return false;
        }
        return strcmp(s, "SCMP_ARCH_X86_64") == 0;
}

static bool check_arch_array(json_t *arr, const char *path, struct pol_diag *d)
{
        bool native = false;
        size_t i;
        json_t *v;

        if (!json_is_array(arr)) {
                pol_diag_add(d, "%s: expected an array", path);
                return false;
        }
        json_array_foreach(arr, i, v) {
                char sub[96];

                (void)snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                native = check_arch(v, sub, d) || native;
        }
        return native;
}

static bool check_map_entry(json_t *e, size_t i, struct pol_diag *d)
{
        json_t *sub_arches = json_object_get(e, "subArchitectures");
        const char *key;
        bool native = false;
        char path[96];
        json_t *v;

        if (!json_is_object(e)) {
                pol_diag_add(d, "archMap[%zu]: expected an object", i);
                return false;
        }
        json_object_foreach(e, key, v) {
                if (strcmp(key, "architecture") != 0 && strcmp(key, "subArchitectures") != 0)
                        pol_diag_add(d, "archMap[%zu].%s: unknown key", i, key);
        }
        (void)snprintf(path, sizeof(path), "archMap[%zu].architecture", i);
        if (!json_object_get(e, "architecture"))
                pol_diag_add(d, "%s: missing", path);
        else
                native = check_arch(json_object_get(e, "architecture"), path, d);
        (void)snprintf(path, sizeof(path), "archMap[%zu].subArchitectures", i);
        if (sub_arches && !json_is_null(sub_arches))
                native = check_arch_array(sub_arches, path, d) || native;
        return native;
}

void pol_arch_check(json_t *root, struct pol_diag *d)
{
        json_t *arches = json_object_get(root, "architectures"),
               *map = json_object_get(root, "archMap");
        bool listed = false, native = false;
        size_t i;
        json_t *e;

        if (arches && !json_is_null(arches)) {
                listed = json_is_array(arches) && json_array_size(arches) > 0;
                native = check_arch_array(arches, "architectures", d);
        }
        if (map && !json_is_null(map) && !json_is_array(map))
                pol_diag_add(d, "archMap: expected an array");
        json_array_foreach(map, i, e) {
                listed = true;
                native = check_map_entry(e, i, d) || native;
        }
        if (listed && !native)
                pol_diag_add(d,
                             "%s: does not cover SCMP_ARCH_X86_64, the only architecture "
                             "aio-policy compiles for",
                             arches ? "architectures" : "archMap");
}

bool pol_arch_list_has_native(json_t *arches, const char *path, struct pol_diag *d)
{
        bool native = false;
        size_t i;
        json_t *v;

        if (!json_is_array(arches)) {
                pol_diag_add(d, "%s: expected an array", path);
                return false;
        }
        json_array_foreach(arches, i, v) {
                const char *s = json_string_value(v);

                if (!s)
                        pol_diag_add(d, "%s[%zu]: expected a string", path, i);
                else if (!in_list(go_arches, ELEMENTSOF(go_arches), s))
                        pol_diag_add(d, "%s[%zu]: unknown architecture \"%s\"", path, i, s);
                else if (strcmp(s, "amd64") == 0 || strcmp(s, "x86_64") == 0)
                        native = true;
        }
        return native;
}
