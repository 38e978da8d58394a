#include "caps-policy.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "common/capabilities.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "diag.h"

uint64_t pol_caps_from_json(json_t *arr, const char *path, struct pol_diag *d)
{
        uint64_t m = 0;
        size_t i;
        json_t *v;

        if (!json_is_array(arr)) {
                pol_diag_add(d, "%s: expected an array of capability names", path);
                return 0;
        }
        json_array_foreach(arr, i, v) {
                const char *name = json_string_value(v);
                int cap = name ? aio_cap_from_name(name, true) : -EINVAL;

                if (!name)
                        pol_diag_add(d, "%s[%zu]: expected a string", path, i);
                else if (cap < 0)
                        pol_diag_add(d, "%s[%zu]: unknown capability \"%s\"", path, i, name);
                else if (m & (UINT64_C(1) << cap))
                        pol_diag_add(d, "%s[%zu]: duplicate capability \"%s\"", path, i, name);
                else
                        m |= UINT64_C(1) << cap;
        }
        return m;
}

static void check_capabilities(json_t *root, const char *key, json_t *v, struct pol_diag *d)
{
        (void)root;
        (void)pol_caps_from_json(v, key, d);
}

void pol_caps_check(json_t *root, struct pol_diag *d)
{
        static const struct pol_key keys[] = {{"capabilities", check_capabilities}};

        if (pol_check_object(root, keys, ELEMENTSOF(keys), d) &&
            !json_object_get(root, "capabilities"))
                pol_diag_add(d, "capabilities: missing");
}
