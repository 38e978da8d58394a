#include "caps-policy.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "diag.h"

/* clang-format off */
static const int pol_default_caps[] = {
        CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID,
        CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
};
/* clang-format on */

static int cap_lookup(const char *name, bool exact)
{
        char lower[64];
        cap_value_t v;
        size_t n = strlen(name);

        if (n < 5 || n >= sizeof(lower))
                return -EINVAL;
        if (exact ? strncmp(name, "CAP_", 4) != 0 : strncasecmp(name, "CAP_", 4) != 0)
                return -EINVAL;
        for (size_t i = 0; i <= n; i++) {
                unsigned char c = (unsigned char)name[i];

                /* libcap also accepts numbers and lower case; JSON names are the canonical form. */
                if (exact && c != '\0' && !(isupper(c) || isdigit(c) || c == '_'))
                        return -EINVAL;
                if (c != '\0' && !(isalnum(c) || c == '_'))
                        return -EINVAL;
                lower[i] = (char)tolower(c);
        }
        if (isdigit((unsigned char)lower[4]))
                return -EINVAL;
        if (cap_from_name(lower, &v) < 0 || v < 0 || v > 63)
                return -EINVAL;
        return v;
}

int pol_cap_from_name(const char *name)
{
        return cap_lookup(name, true);
}

const char *pol_cap_name(int cap, char *buf, size_t size)
{
        char *s;

        if (cap < 0 || cap > 63 || size == 0)
                return NULL;
        s = cap_to_name((cap_value_t)cap);
        if (!s)
                return NULL;
        /* libcap prints unknown numbers as digits */
        if (strncmp(s, "cap_", 4) != 0) {
                (void)cap_free(s);
                return NULL;
        }
        (void)snprintf(buf, size, "%s", s);
        (void)cap_free(s);
        for (char *c = buf; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        return buf;
}

uint64_t pol_caps_default(void)
{
        uint64_t m = 0;

        for (size_t i = 0; i < ELEMENTSOF(pol_default_caps); i++)
                m |= UINT64_C(1) << pol_default_caps[i];
        return m;
}

int pol_caps_parse_list(const char *list, uint64_t *ret, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(list);
        char *save = NULL;
        uint64_t m = 0;

        if (list[0] == '\0' || strcmp(list, "none") == 0) {
                *ret = 0;
                return 0;
        }
        if (strcmp(list, "default") == 0) {
                *ret = pol_caps_default();
                return 0;
        }
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char full[64];
                int v;

                (void)snprintf(full, sizeof(full), "%s%s", strncasecmp(t, "cap_", 4) ? "CAP_" : "",
                               t);
                v = cap_lookup(full, false);
                if (v < 0)
                        return aio_error_msg(err, EINVAL, "--caps: unknown capability \"%s\"", t);
                m |= UINT64_C(1) << v;
        }
        *ret = m;
        return 0;
}

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
                int cap = name ? pol_cap_from_name(name) : -EINVAL;

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

void pol_caps_check(json_t *root, struct pol_diag *d)
{
        const char *key;
        json_t *v;

        if (!json_is_object(root)) {
                pol_diag_add(d, "(root): expected an object");
                return;
        }
        json_object_foreach(root, key, v) {
                if (strcmp(key, "comment") == 0) {
                        if (!json_is_string(v))
                                pol_diag_add(d, "comment: expected a string");
                } else if (strcmp(key, "capabilities") == 0) {
                        (void)pol_caps_from_json(v, "capabilities", d);
                } else {
                        pol_diag_add(d, "%s: unknown key", key);
                }
        }
        if (!json_object_get(root, "capabilities"))
                pol_diag_add(d, "capabilities: missing");
}
