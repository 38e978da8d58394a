#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "image.h"

void rt_config_init(struct rt_config *c)
{
        *c = (struct rt_config){
                .hostname = NULL,
                .net = RT_NET_NONE,
                .uid_base = RT_DEFAULT_UID_BASE,
                .uid_slots = RT_DEFAULT_UID_SLOTS,
                .ready_fd = -1,
        };
}

char *rt_default_state_dir(void)
{
        const char *home = getenv("HOME");

        if (geteuid() == 0 || !home || home[0] != '/')
                return aio_xstrdup(RT_DEFAULT_STATE_DIR);
        return aio_xasprintf("%s/.local/share/aio", home);
}

void rt_config_free(struct rt_config *c)
{
        free(c->rootfs);
        free(c->state_dir);
        free(c->name);
        free(c->hostname);
        free(c->workdir);
        free(c->seccomp);
        free(c->listen);
        free(c->workspace);
        free(c->socket);
        aio_strv_free(c->env);
        for (size_t i = 0; i < c->n_binds; i++) {
                free(c->binds[i].src);
                free(c->binds[i].dst);
        }
        free(c->binds);
        for (size_t i = 0; i < c->n_tmpfs; i++)
                free(c->tmpfs[i].dst);
        free(c->tmpfs);
        free(c->rlimits);
}

int rt_parse_size(const char *s, uint64_t *ret, struct aio_err *err)
{
        static const struct {
                char suffix;
                unsigned shift;
        } units[] = {{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}};
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char)s[0]))
                return aio_error_msg(
                        err, EINVAL,
                        "invalid size '%s': expected a number with an optional k/m/g/t suffix",
                        s ? s : "");
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return aio_error_msg(err, ERANGE, "size '%s' is too large", s);
        if (*end) {
                unsigned shift = 0;

                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (tolower((unsigned char)*end) == units[i].suffix)
                                shift = units[i].shift;
                if (!shift || (end[1] && !(tolower((unsigned char)end[1]) == 'b' && !end[2])))
                        return aio_error_msg(err, EINVAL, "invalid size '%s': unknown suffix '%s'",
                                             s, end);
                if (v > (UINT64_MAX >> shift))
                        return aio_error_msg(err, ERANGE, "size '%s' is too large", s);
                v <<= shift;
        }
        *ret = v;
        return 0;
}

static int check_jail_path(const char *what, const char *p, struct aio_err *err)
{
        if (!p || p[0] != '/')
                return aio_error_msg(err, EINVAL, "%s '%s' must be an absolute path", what,
                                     p ? p : "");
        if (strlen(p) >= PATH_MAX)
                return aio_error_msg(err, ENAMETOOLONG, "%s is too long", what);
        for (const char *c = p; (c = strstr(c, "..")); c += 2)
                if ((c == p || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
                        return aio_error_msg(err, EINVAL, "%s '%s' must not contain '..'", what, p);
        return 0;
}

/* The kernel interfaces the jail relies on, and the root itself, are never replaced by a user
 * mount: a bind over /proc would hand the masks and /proc/self to the caller (CVE-2019-16884). */
static int check_mount_target(const char *what, const char *p, struct aio_err *err)
{
        static const char *const reserved[] = {"proc", "sys", "dev"};
        const char *c = p;
        size_t n;

        while (*c == '/' || (c[0] == '.' && (c[1] == '/' || c[1] == '\0')))
                c++;
        n = strcspn(c, "/");
        if (n == 0)
                return aio_error_msg(err, EINVAL, "%s '%s': the jail's root cannot be replaced",
                                     what, p);
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (strlen(reserved[i]) == n && strncmp(c, reserved[i], n) == 0)
                        return aio_error_msg(
                                err, EPERM,
                                "%s '%s': /%s and everything below it belong to the jail", what, p,
                                reserved[i]);
        return 0;
}

int rt_parse_bind(const char *s, struct rt_bind *ret, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(s);
        char *dst = strchr(copy, ':'), *opt;
        bool ro = false;

        if (!dst)
                return aio_error_msg(err, EINVAL, "--bind '%s': expected SRC:DST[:ro]", s);
        *dst++ = '\0';
        opt = strchr(dst, ':');
        if (opt) {
                *opt++ = '\0';
                if (strcmp(opt, "ro") == 0)
                        ro = true;
                else if (strcmp(opt, "rw") != 0)
                        return aio_error_msg(err, EINVAL,
                                             "--bind '%s': unknown option '%s' (ro or rw)", s, opt);
        }
        if (check_jail_path("--bind source", copy, err) < 0 ||
            check_jail_path("--bind destination", dst, err) < 0 ||
            check_mount_target("--bind destination", dst, err) < 0)
                return -err->code;
        *ret = (struct rt_bind){.src = aio_xstrdup(copy), .dst = aio_xstrdup(dst), .ro = ro};
        return 0;
}

int rt_parse_tmpfs(const char *s, struct rt_tmpfs *ret, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(s);
        char *size = strchr(copy, ':');
        uint64_t bytes = 0;

        if (size) {
                *size++ = '\0';
                if (rt_parse_size(size, &bytes, err) < 0)
                        return aio_error_prefix(err, "--tmpfs '%s'", s);
        }
        if (check_jail_path("--tmpfs destination", copy, err) < 0 ||
            check_mount_target("--tmpfs destination", copy, err) < 0)
                return -err->code;
        *ret = (struct rt_tmpfs){.dst = aio_xstrdup(copy), .size = bytes};
        return 0;
}

/* clang-format off */
static const struct { const char *name; int resource; } rlimit_names[] = {
        { "as", RLIMIT_AS },         { "core", RLIMIT_CORE },       { "cpu", RLIMIT_CPU },
        { "data", RLIMIT_DATA },     { "fsize", RLIMIT_FSIZE },     { "locks", RLIMIT_LOCKS },
        { "memlock", RLIMIT_MEMLOCK },{ "msgqueue", RLIMIT_MSGQUEUE },{ "nice", RLIMIT_NICE },
        { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },
        { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },   { "sigpending", RLIMIT_SIGPENDING },
        { "stack", RLIMIT_STACK },
};
/* clang-format on */

static int parse_rlim_value(const char *s, rlim_t *ret)
{
        unsigned long long v;
        char *end;

        if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        if (!isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v >= RLIM_INFINITY)
                return -EINVAL;
        *ret = (rlim_t)v;
        return 0;
}

int rt_parse_rlimit(const char *s, struct rt_rlimit *ret, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(s);
        char *val = strchr(copy, '='), *hard;
        struct rt_rlimit r = {.resource = -1};

        if (!val)
                return aio_error_msg(err, EINVAL, "--rlimit '%s': expected NAME=SOFT[:HARD]", s);
        *val++ = '\0';
        for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
                if (strcasecmp(copy, rlimit_names[i].name) == 0 ||
                    (strncasecmp(copy, "RLIMIT_", 7) == 0 &&
                     strcasecmp(copy + 7, rlimit_names[i].name) == 0))
                        r.resource = rlimit_names[i].resource;
        if (r.resource < 0)
                return aio_error_msg(err, EINVAL, "--rlimit '%s': unknown limit '%s'", s, copy);
        hard = strchr(val, ':');
        if (hard)
                *hard++ = '\0';
        if (parse_rlim_value(val, &r.soft) < 0 || (hard && parse_rlim_value(hard, &r.hard) < 0))
                return aio_error_msg(err, EINVAL,
                                     "--rlimit '%s': values must be numbers or 'unlimited'", s);
        if (!hard)
                r.hard = r.soft;
        if (r.soft > r.hard)
                return aio_error_msg(err, EINVAL, "--rlimit '%s': soft limit above hard limit", s);
        *ret = r;
        return 0;
}

static int parse_id(const char *s, unsigned *ret)
{
        unsigned long v;
        char *end;

        if (!isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v >= RT_UID_RANGE)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

int rt_parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid, struct aio_err *err)
{
        cleanup_free char *copy = aio_xstrdup(s);
        char *g = strchr(copy, ':');
        unsigned uid, gid;

        if (strcmp(s, "root") == 0) {
                *ret_uid = 0;
                *ret_gid = 0;
                return 0;
        }
        if (strcmp(s, "gem") == 0) {
                *ret_uid = 1000;
                *ret_gid = 1000;
                return 0;
        }
        if (g)
                *g++ = '\0';
        if (parse_id(copy, &uid) < 0 || (g && parse_id(g, &gid) < 0))
                return aio_error_msg(err, EINVAL,
                                     "--user '%s': expected root, gem or UID[:GID] below %u", s,
                                     RT_UID_RANGE);
        *ret_uid = uid;
        *ret_gid = g ? gid : uid;
        return 0;
}

int rt_parse_cpus(const char *s, struct rt_cgroup_limits *lim, struct aio_err *err)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || end == s || !(v >= 0.01 && v <= 1024))
                return aio_error_msg(err, EINVAL,
                                     "--cpus '%s': expected a number between 0.01 and 1024", s);
        lim->cpu_period = 100000;
        lim->cpu_quota = (int64_t)(v * 100000.0 + 0.5);
        return 0;
}

int rt_parse_env(const char *s, struct aio_err *err)
{
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return aio_error_msg(err, EINVAL, "--env '%s': expected VAR=VALUE", s);
        for (const char *c = s; c < eq; c++)
                if (!(isalnum((unsigned char)*c) || *c == '_'))
                        return aio_error_msg(err, EINVAL, "--env '%s': invalid variable name", s);
        return 0;
}

int rt_parse_name(const char *s, struct aio_err *err)
{
        size_t n = strlen(s);

        /* The same rule as cgroup names: it becomes a directory in both places. */
        if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
                return aio_error_msg(
                        err, EINVAL,
                        "--name '%s': 1-64 characters, starting with a letter or digit", s);
        for (const char *c = s; *c; c++)
                if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
                        return aio_error_msg(err, EINVAL,
                                             "--name '%s': only letters, digits, '-', '_' and '.'",
                                             s);
        return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* An image of the store; rt_image_acquire() looks it up again, and holds it, at start. */
static int resolve_image(struct rt_config *c, const char *opt, int stat_errno, struct aio_err *err)
{
        char hex[AIO_SHA256_HEX];

        if (!c->state_dir)
                return aio_error_msg(err, EINVAL, "%s %s: no state directory", opt, c->rootfs);
        if (rt_image_find(c->state_dir, c->rootfs, hex, err) < 0) {
                if (stat_errno)
                        return aio_error_msg(err, stat_errno,
                                             "%s %s: %s, and there is no image of that name "
                                             "(aio-run image ls lists them)",
                                             opt, c->rootfs, strerror(stat_errno));
                return aio_error_prefix(err, "%s", opt);
        }
        c->rootfs_kind = RT_ROOTFS_IMAGE;
        return 0;
}

int rt_config_resolve_rootfs(struct rt_config *c, struct aio_err *err)
{
        static const char *const tar_suffixes[] = {".tar", ".tar.gz",  ".tgz", ".tar.xz",
                                                   ".txz", ".tar.zst", ".tzst"};
        struct aio_err ignored;
        struct stat st;

        if (c->rootfs_kind == RT_ROOTFS_IMAGE)
                return resolve_image(c, "--image", 0, err);
        if (!c->rootfs)
                c->rootfs = aio_xstrdup("host");
        if (strcmp(c->rootfs, "host") == 0) {
                c->rootfs_kind = RT_ROOTFS_HOST;
                return 0;
        }
        if (stat(c->rootfs, &st) < 0) {
                if (errno == ENOENT && rt_image_name_check(c->rootfs, &ignored) == 0)
                        return resolve_image(c, "--rootfs", ENOENT, err);
                return aio_error(err, errno, "--rootfs %s", c->rootfs);
        }
        if (S_ISDIR(st.st_mode)) {
                c->rootfs_kind = RT_ROOTFS_DIR;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(tar_suffixes); i++)
                if (S_ISREG(st.st_mode) && has_suffix(c->rootfs, tar_suffixes[i])) {
                        c->rootfs_kind = RT_ROOTFS_TAR;
                        return 0;
                }
        return aio_error_msg(err, EINVAL,
                             "--rootfs %s: not 'host', a directory or a .tar[.gz|.xz|.zst] file",
                             c->rootfs);
}

int rt_config_validate(const struct rt_config *c, struct aio_err *err)
{
        if (!c->up && (c->listen || c->insecure))
                return aio_error_msg(err, EINVAL,
                                     "--listen, --port and --insecure are options of aio-run up");
        if (!c->argv || !c->argv[0])
                return aio_error_msg(err, EINVAL,
                                     "no command given (aio-run run [OPTIONS] -- CMD [ARGS])");
        if (c->limits.memory_swap && c->limits.memory_swap < c->limits.memory)
                return aio_error_msg(err, EINVAL, "--memory-swap must be at least --memory");
        if (c->limits.memory_swap && !c->limits.memory)
                return aio_error_msg(err, EINVAL, "--memory-swap needs --memory");
        if (c->limits.memory && c->limits.memory < 4 << 20)
                return aio_error_msg(err, EINVAL, "--memory must be at least 4m");
        if (c->uid_slots == 0 ||
            (uint64_t)c->uid_base + (uint64_t)c->uid_slots * RT_UID_RANGE > UINT32_MAX)
                return aio_error_msg(err, ERANGE,
                                     "--uid-base/--uid-slots exceed the 32-bit uid space");
        if (c->uid_base < RT_UID_RANGE)
                return aio_error_msg(err, EINVAL,
                                     "--uid-base must be at least %u (host system ids live below)",
                                     RT_UID_RANGE);
        if (c->workdir && c->workdir[0] != '/')
                return aio_error_msg(err, EINVAL, "--workdir '%s' must be an absolute path",
                                     c->workdir);
        return 0;
}
