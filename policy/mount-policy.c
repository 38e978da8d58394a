#include "mount-policy.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"

#include "diag.h"

static bool path_normalised(const char *p)
{
        size_t n = strlen(p);

        if (p[0] != '/' || n < 2 || n >= PATH_MAX || p[n - 1] == '/')
                return false;
        for (const char *c = p; *c; c++) {
                if (*c != '/')
                        continue;
                if (c[1] == '/' || strncmp(c + 1, "./", 2) == 0 || strcmp(c + 1, ".") == 0 ||
                    strncmp(c + 1, "../", 3) == 0 || strcmp(c + 1, "..") == 0)
                        return false;
        }
        return true;
}

static bool path_allowed(const char *p)
{
        /* The launcher masks kernel interfaces; anything else is a mount, not a mask. */
        return strncmp(p, "/proc/", 6) == 0 || strncmp(p, "/sys/", 5) == 0;
}

static bool seen_before(json_t *root, const char *list, size_t upto, const char *p)
{
        json_t *arr = json_object_get(root, list);
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v) {
                if (i >= upto)
                        break;
                if (json_is_string(v) && strcmp(json_string_value(v), p) == 0)
                        return true;
        }
        return false;
}

static void check_list(json_t *root, const char *key, struct pol_diag *d)
{
        json_t *arr = json_object_get(root, key), *v;
        bool second = strcmp(key, "readonlyPaths") == 0;
        size_t i;

        if (!json_is_array(arr)) {
                pol_diag_add(d, "%s: expected an array of paths", key);
                return;
        }
        json_array_foreach(arr, i, v) {
                const char *p = json_string_value(v);

                if (!p)
                        pol_diag_add(d, "%s[%zu]: expected a string", key, i);
                else if (!path_normalised(p))
                        pol_diag_add(d, "%s[%zu]: \"%s\" is not a normalised absolute path", key, i,
                                     p);
                else if (!path_allowed(p))
                        pol_diag_add(d, "%s[%zu]: \"%s\" is outside /proc and /sys", key, i, p);
                else if (seen_before(root, key, i, p))
                        pol_diag_add(d, "%s[%zu]: duplicate path \"%s\"", key, i, p);
                else if (second && seen_before(root, "maskedPaths", SIZE_MAX, p))
                        pol_diag_add(d, "%s[%zu]: \"%s\" is also in maskedPaths", key, i, p);
        }
}

static void check_paths(json_t *root, const char *key, json_t *v, struct pol_diag *d)
{
        (void)v;
        check_list(root, key, d);
}

void pol_mounts_check(json_t *root, struct pol_diag *d)
{
        static const struct pol_key keys[] = {{"maskedPaths", check_paths},
                                              {"readonlyPaths", check_paths}};

        (void)pol_check_object(root, keys, ELEMENTSOF(keys), d);
}
