/* Entry name and symlink target checks of the store's unpacker, and the names of layer whiteouts:
 * lexical, no libarchive, no filesystem access (also the fuzzing target
 * tests/fuzz/fuzz-store-name.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "store-internal.h"
#include "store.h"

const char *rt_store_quote(const char *s, char *buf, size_t size)
{
        size_t o = 0;

        for (; *s && o + 8 < size; s++) {
                unsigned char ch = (unsigned char)*s;

                if (ch < 0x20 || ch == 0x7f)
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
                else
                        buf[o++] = (char)ch;
        }
        if (*s)
                o += (size_t)snprintf(buf + o, size - o, "...");
        buf[o] = '\0';
        return buf;
}

/* Next '/'-separated component of *p, skipping empty ones; returns its length, 0 at the end. */
static size_t next_component(const char **p, const char **ret)
{
        const char *s = *p;
        size_t n;

        while (*s == '/')
                s++;
        n = strcspn(s, "/");
        *ret = s;
        *p = s + n;
        return n;
}

static bool is_dot(const char *c, size_t n)
{
        return n == 1 && c[0] == '.';
}

static bool is_dotdot(const char *c, size_t n)
{
        return n == 2 && c[0] == '.' && c[1] == '.';
}

/* "./" prefixes and "." components are ignored, so ".", "./" and "" after them name the root
 * itself (tar -C dir . writes such an entry): accepted, the caller checks it is a directory. */
int rt_store_check_name(const char *name, struct aio_err *err)
{
        const char *p = name, *c;
        size_t n;

        if (!name || !name[0])
                return aio_error_msg(err, EINVAL, "empty name");
        if (name[0] == '/')
                return aio_error_msg(err, EINVAL, "absolute path");
        if (strnlen(name, PATH_MAX) >= PATH_MAX)
                return aio_error_msg(err, EINVAL, "name longer than %d bytes", PATH_MAX - 1);
        while ((n = next_component(&p, &c)) > 0) {
                if (is_dotdot(c, n))
                        return aio_error_msg(err, EINVAL, "path escapes the root ('..' component)");
                if (n > NAME_MAX)
                        return aio_error_msg(err, EINVAL, "path component longer than %d bytes",
                                             NAME_MAX);
        }
        return 0;
}

bool rt_store_name_is_root(const char *name)
{
        const char *c;
        size_t n;

        /* "", ".", "./", "././" ... but not ".hidden" */
        while ((n = next_component(&name, &c)) > 0)
                if (!is_dot(c, n))
                        return false;
        return true;
}

/* Number of directories above entry `name` (a checked name). */
static size_t dir_depth(const char *name)
{
        const char *c;
        size_t n, depth = 0;

        while ((n = next_component(&name, &c)) > 0)
                if (!is_dot(c, n))
                        depth++;
        return depth > 0 ? depth - 1 : 0;
}

int rt_store_check_link(const char *name, const char *target, struct aio_err *err)
{
        char q[STORE_QUOTE_MAX];
        const char *p = target, *c;
        size_t n, depth;
        int r;

        r = rt_store_check_name(name, err);
        if (r < 0)
                return r;
        if (!target || !target[0])
                return aio_error_msg(err, EINVAL, "empty symlink target");
        if (strnlen(target, PATH_MAX) >= PATH_MAX)
                return aio_error_msg(err, EINVAL, "symlink target longer than %d bytes",
                                     PATH_MAX - 1);
        /* An absolute target starts at the root; the lexical walk never treats "/.." as "/". */
        depth = target[0] == '/' ? 0 : dir_depth(name);
        while ((n = next_component(&p, &c)) > 0) {
                if (is_dot(c, n))
                        continue;
                if (!is_dotdot(c, n)) {
                        depth++;
                        continue;
                }
                if (depth == 0)
                        return aio_error_msg(err, EINVAL, "symlink target '%s' escapes the root",
                                             rt_store_quote(target, q, sizeof(q)));
                depth--;
        }
        return 0;
}

char *rt_store_name_normalize(const char *name)
{
        size_t len = strlen(name), o = 0, n;
        char *out = aio_xmalloc(len + 1);
        const char *c;

        while ((n = next_component(&name, &c)) > 0) {
                if (is_dot(c, n))
                        continue;
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, c, n);
                o += n;
        }
        out[o] = '\0';
        return out;
}

#define WH_PREFIX RT_STORE_WH_PREFIX
#define WH_OPAQUE RT_STORE_WH_PREFIX RT_STORE_WH_PREFIX ".opq"

int rt_store_whiteout(const char *name, char **ret_parent, char **ret_target, struct aio_err *err)
{
        cleanup_free char *norm = rt_store_name_normalize(name);
        char *slash = strrchr(norm, '/');
        const char *base = slash ? slash + 1 : norm, *target;
        size_t plen = strlen(WH_PREFIX);

        if (strncmp(base, WH_PREFIX, plen) != 0)
                return RT_STORE_WH_NONE;
        target = base + plen;
        if (strcmp(base, WH_OPAQUE) == 0) {
                *ret_target = NULL;
        } else if (strncmp(target, WH_PREFIX, plen) == 0) {
                return RT_STORE_WH_META; /* .wh..wh.plnk, .wh..wh.aufs: aufs bookkeeping */
        } else if (!target[0] || strcmp(target, ".") == 0 || strcmp(target, "..") == 0) {
                return aio_error_msg(err, EINVAL, "whiteout of '%s' would leave its directory",
                                     target[0] ? target : "(nothing)");
        } else {
                *ret_target = aio_xstrdup(target);
        }
        if (slash)
                *slash = '\0';
        *ret_parent = aio_xstrdup(slash ? norm : ".");
        return *ret_target ? RT_STORE_WH_FILE : RT_STORE_WH_OPAQUE;
}
