/* libFuzzer harness for the tar entry name and symlink target checks.
 *
 * Input: "name\0target" (a missing target fuzzes the name check alone). Besides not crashing,
 * the checks must agree with an independent model: an accepted name has no ".." component and
 * does not start with '/'; an accepted link, resolved component by component from the entry's
 * directory, never goes above the root.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -D_GNU_SOURCE -Iruntime -I. with this file,
 * runtime/store.c and the runtime/common sources, -larchive; run with -max_total_time=10.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Model: split on '/', drop "" and "." components; returns the number of components kept, or -1
 * when a ".." would pop past the root (start is the depth to start from). */
static long model_walk(const char *s, long start, int *saw_dotdot)
{
        long depth = start;
        const char *p = s;

        while (*p) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        *saw_dotdot = 1;
                        if (--depth < 0)
                                return -1;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        depth++;
                }
                p += n;
                if (*p == '/')
                        p++;
        }
        return depth;
}

static void check_name_model(const char *name, int r)
{
        int dotdot = 0;

        (void)model_walk(name, 0, &dotdot);
        if (r == 0 && (name[0] == '\0' || name[0] == '/' || dotdot))
                abort(); /* accepted an empty, absolute or ".."-bearing name */
}

static void check_link_model(const char *name, const char *target, int r)
{
        int dotdot = 0;
        long dir = 0;

        if (r != 0)
                return;
        if (name[0] == '\0' || name[0] == '/' || target[0] == '\0')
                abort();
        dir = model_walk(name, 0, &dotdot);
        if (dotdot)
                abort();
        dir = dir > 0 ? dir - 1 : 0; /* the entry's directory */
        if (model_walk(target, target[0] == '/' ? 0 : dir, &dotdot) < 0)
                abort(); /* accepted a target that climbs above the root */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf = malloc(size + 2);
        const char *name, *target = NULL;
        struct aio_err err = {0};
        size_t nlen;
        int r;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        buf[size + 1] = '\0';
        name = buf;
        nlen = strlen(name);
        if (nlen < size)
                target = buf + nlen + 1; /* bytes after the first NUL; NULs inside are ends */
        r = rt_store_check_name(name, &err);
        if (r != 0 && r != -22)
                abort();
        check_name_model(name, r);
        if (target) {
                r = rt_store_check_link(name, target, &err);
                if (r != 0 && r != -22)
                        abort();
                check_link_model(name, target, r);
        }
        free(buf);
        return 0;
}
