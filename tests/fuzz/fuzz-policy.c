/* libFuzzer harness for the policy parser and compiler: any bytes -> JSON -> a seccomp profile
 * (parse, validate, resolve, compile, check, describe) or a capability/mount file.  Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Iruntime -I. \
 *     tests/fuzz/fuzz-policy.c $(find policy runtime/common -maxdepth 1 -name '*.c' \
 *     ! -name main.c) -lseccomp -lcap -ljansson -o build/fuzz/fuzz-policy
 *   mkdir -p build/fuzz/corpus && cp policy/profiles/[a-z]*.json policy/[a-z]*.json
 * build/fuzz/corpus build/fuzz/fuzz-policy -max_total_time=10 -max_len=65536 build/fuzz/corpus */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"

#include "policy/bpf.h"
#include "policy/caps-policy.h"
#include "policy/compile.h"
#include "policy/diag.h"
#include "policy/diff.h"
#include "policy/mount-policy.h"
#include "policy/seccomp-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_seccomp(json_t *root)
{
        const struct pol_opts opts = {.kernel = {6, 1}};
        cleanup_seccomp struct pol_seccomp *p = NULL;
        cleanup_bpf struct pol_bpf b = {0};
        struct pol_diag d = {0};
        struct aio_err err = {0};

        if (pol_seccomp_parse(root, &opts, &p, &d, &err) < 0) {
                /* a refusal always says why */
                if (d.n == 0 || err.msg[0] == '\0')
                        abort();
                pol_diag_free(&d);
                return;
        }
        if (d.n != 0)
                abort();
        if (pol_seccomp_compile(p, &b, &err) == 0 && pol_bpf_check(&b, &err) < 0)
                abort(); /* the compiler must only emit what the kernel accepts */
        for (int nr = 0; nr < 64; nr++)
                free(pol_seccomp_describe(p, nr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        struct pol_diag d = {0};

        if (!root)
                return 0;
        fuzz_seccomp(root);
        pol_caps_check(root, &d);
        pol_mounts_check(root, &d);
        pol_diag_free(&d);
        json_decref(root);
        return 0;
}
