#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct aio_err;

/* Problems found in a policy file, one line each, every line starting with the JSON path of the
 * value at fault ("syscalls[4].args[0].op: unknown operator ...").  Collected, not fatal: a check
 * reports all of them. */
struct pol_diag {
        char **msgs;
        size_t n;
        size_t cap;
};

void pol_diag_add(struct pol_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pol_diag_free(struct pol_diag *d);
/* Fills err with the first problem and the total count; returns -EINVAL (0 when d is empty). */
int pol_diag_to_err(const struct pol_diag *d, const char *what, struct aio_err *err);

/* A top-level key of a small data file and the check of its value. */
struct pol_key {
        const char *name;
        void (*check)(json_t *root, const char *key, json_t *value, struct pol_diag *d);
};
/* Checks that root is an object whose keys are "comment" (a string) or one of keys; every other
 * key is reported as unknown. Returns whether root was an object. */
bool pol_check_object(json_t *root, const struct pol_key *keys, size_t n, struct pol_diag *d);
