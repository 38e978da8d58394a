#include "capabilities.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "cleanup.h"
#include "err.h"
#include "policy-data.h"
#include "xalloc.h"

static const int default_caps[] = {AIO_POLICY_CAPS_DEFAULT};

int aio_cap_from_name(const char *name, bool exact)
{
        char full[64], lower[64];
        cap_value_t v;
        size_t n;

        if (!exact && strncasecmp(name, "CAP_", 4) != 0)
                (void)snprintf(full, sizeof(full), "CAP_%s", name);
        else
                (void)snprintf(full, sizeof(full), "%s", name);
        n = strlen(full);
        if (n < 5 || n >= sizeof(lower) - 1 || strlen(name) >= sizeof(lower) - 5)
                return -EINVAL;
        if (exact ? strncmp(full, "CAP_", 4) != 0 : strncasecmp(full, "CAP_", 4) != 0)
                return -EINVAL;
        for (size_t i = 0; i <= n; i++) {
                unsigned char c = (unsigned char)full[i];

                /* libcap also accepts numbers; names are what we take. */
                if (c != '\0' && !(isalnum(c) || c == '_'))
                        return -EINVAL;
                if (exact && c != '\0' && !(isupper(c) || isdigit(c) || c == '_'))
                        return -EINVAL;
                lower[i] = (char)tolower(c);
        }
        if (isdigit((unsigned char)lower[4]))
                return -EINVAL;
        if (cap_from_name(lower, &v) < 0 || v < 0 || v > 63)
                return -EINVAL;
        return v;
}

const char *aio_cap_name(int cap, char *buf, size_t size)
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

uint64_t aio_caps_default(void)
{
        uint64_t m = 0;

        for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                m |= UINT64_C(1) << default_caps[i];
        return m;
}

int aio_caps_parse_list(const char *list, uint64_t *ret, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(list);
        char *save = NULL;
        uint64_t m = 0;

        if (strcmp(list, "none") == 0 || list[0] == '\0') {
                *ret = 0;
                return 0;
        }
        if (strcmp(list, "default") == 0) {
                *ret = aio_caps_default();
                return 0;
        }
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int v = aio_cap_from_name(t, false);

                if (v < 0)
                        return aio_error_msg(err, EINVAL, "--caps: unknown capability \"%s\"", t);
                m |= UINT64_C(1) << v;
        }
        *ret = m;
        return 0;
}
