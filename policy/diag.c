#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"

void pol_diag_add(struct pol_diag *d, const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                s = aio_xstrdup("(out of memory formatting a problem)");
        if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 8;
                d->msgs = aio_xrealloc(d->msgs, d->cap * sizeof(*d->msgs));
        }
        d->msgs[d->n++] = s;
}

void pol_diag_free(struct pol_diag *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->msgs[i]);
        free(d->msgs);
        d->msgs = NULL;
        d->n = d->cap = 0;
}

int pol_diag_to_err(const struct pol_diag *d, const char *what, struct aio_err *err)
{
        if (d->n == 0)
                return 0;
        if (d->n == 1)
                return aio_error_msg(err, EINVAL, "%s: %s", what, d->msgs[0]);
        return aio_error_msg(err, EINVAL, "%s: %s (and %zu more problems)", what, d->msgs[0],
                             d->n - 1);
}

bool pol_check_object(json_t *root, const struct pol_key *keys, size_t n, struct pol_diag *d)
{
        const char *key;
        json_t *v;

        if (!json_is_object(root)) {
                pol_diag_add(d, "(root): expected an object");
                return false;
        }
        json_object_foreach(root, key, v) {
                size_t i = 0;

                if (strcmp(key, "comment") == 0) {
                        if (!json_is_string(v))
                                pol_diag_add(d, "comment: expected a string");
                        continue;
                }
                while (i < n && strcmp(key, keys[i].name) != 0)
                        i++;
                if (i < n)
                        keys[i].check(root, key, v, d);
                else
                        pol_diag_add(d, "%s: unknown key", key);
        }
        return true;
}
