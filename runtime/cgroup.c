#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "cgroup-internal.h"

/* One directory <hierarchy>/aio/<name>: the only one on v2, one per mounted hierarchy on v1. */
struct rt_cgroup_dir {
        char *where;   /* the hierarchy's mount point */
        unsigned ctls; /* 1u << enum rt_cgroup_ctl found in this hierarchy */
        int aio_fd;    /* <where>/aio */
        int fd;        /* <where>/aio/<name>; >= 0 exactly when it is ours to remove */
        int leaf_fd[_RT_CGROUP_LEAF_MAX]; /* RT_CGROUP_SPLIT: <name>/api, <name>/work; or -1 */
        bool made_aio;                    /* rt_cgroup_create made <where>/aio: undone on failure */
};

struct rt_cgroup {
        enum rt_cgroup_driver driver;
        bool split;
        char *name;
        const struct rt_cgroup_fs_ops *ops;
        unsigned timeout_ms;
        size_t n_dirs;
        struct rt_cgroup_dir dirs[_RT_CGROUP_CTL_MAX];
};

#define CTL_BIT(c)   (1u << (c))
#define V2_CTLS      (CTL_BIT(RT_CGROUP_MEMORY) | CTL_BIT(RT_CGROUP_PIDS) | CTL_BIT(RT_CGROUP_CPU))
#define DIR_FLAGS    (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define POLL_STEP_NS 10000000L /* 10 ms */
#define API_PIDS_MAX "4096"    /* the api leaf: aio-apid's threads and helpers */

static const char *const leaf_names[_RT_CGROUP_LEAF_MAX] = {
        [RT_CGROUP_LEAF_API] = "api",
        [RT_CGROUP_LEAF_WORK] = "work",
};

static int sys_mkdirat(int dirfd, const char *name, mode_t mode)
{
        return mkdirat(dirfd, name, mode);
}

static int sys_rmdirat(int dirfd, const char *name)
{
        return unlinkat(dirfd, name, AT_REMOVEDIR);
}

static const struct rt_cgroup_fs_ops sys_ops = {sys_mkdirat, sys_rmdirat};

static struct rt_cgroup *cg_new(const struct rt_cgroup_host *h, const char *name)
{
        struct rt_cgroup *cg = aio_xcalloc(1, sizeof(*cg));

        cg->driver = h->driver;
        cg->name = aio_xstrdup(name);
        cg->ops = h->ops ? h->ops : &sys_ops;
        cg->timeout_ms = h->kill_timeout_ms ? h->kill_timeout_ms : RT_CGROUP_KILL_MS;
        if (h->driver == RT_CGROUP_V2) {
                cg->dirs[cg->n_dirs++] = (struct rt_cgroup_dir){
                        aio_xstrdup(h->v2_root), V2_CTLS, -1, -1, {-1, -1}, false};
                return cg;
        }
        for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++) {
                size_t i = 0;

                if (!h->v1_mount[c])
                        continue;
                while (i < cg->n_dirs && strcmp(cg->dirs[i].where, h->v1_mount[c]) != 0)
                        i++;
                if (i == cg->n_dirs)
                        cg->dirs[cg->n_dirs++] = (struct rt_cgroup_dir){
                                aio_xstrdup(h->v1_mount[c]), 0, -1, -1, {-1, -1}, false};
                cg->dirs[i].ctls |= CTL_BIT(c);
        }
        return cg;
}

static void cg_free(struct rt_cgroup *cg)
{
        for (size_t i = 0; i < cg->n_dirs; i++) {
                closep(&cg->dirs[i].fd);
                closep(&cg->dirs[i].aio_fd);
                for (int l = 0; l < _RT_CGROUP_LEAF_MAX; l++)
                        closep(&cg->dirs[i].leaf_fd[l]);
                free(cg->dirs[i].where);
        }
        free(cg->name);
        free(cg);
}

static const struct rt_cgroup_dir *cg_dir(const struct rt_cgroup *cg, enum rt_cgroup_ctl c)
{
        for (size_t i = 0; i < cg->n_dirs; i++)
                if (cg->dirs[i].ctls & CTL_BIT(c))
                        return &cg->dirs[i];
        return NULL;
}

/* The sandbox's directory holding controller c, or -1. */
static int cg_fd(const struct rt_cgroup *cg, enum rt_cgroup_ctl c)
{
        const struct rt_cgroup_dir *d = cg_dir(cg, c);

        return d ? d->fd : -1;
}

/* Where the limits of controller c go and its events are read: the work leaf when split. */
static int cg_target(const struct rt_cgroup *cg, enum rt_cgroup_ctl c)
{
        const struct rt_cgroup_dir *d = cg_dir(cg, c);

        if (!d)
                return -1;
        return cg->split ? d->leaf_fd[RT_CGROUP_LEAF_WORK] : d->fd;
}

static int cg_knob(const struct rt_cgroup *cg, enum rt_cgroup_ctl c, const char *file,
                   const char *value, struct aio_err *err)
{
        int fd = cg_target(cg, c);

        if (fd < 0)
                return aio_error_msg(err, EOPNOTSUPP, "no %s cgroup for %s",
                                     rt_cgroup_ctl_to_string(c), file);
        if (aio_write_knob(fd, file, value, err) < 0)
                return aio_error_prefix(err, "cgroup %s", cg->name);
        return 0;
}

static int cg_knob_i64(const struct rt_cgroup *cg, enum rt_cgroup_ctl c, const char *file,
                       int64_t v, struct aio_err *err)
{
        char buf[32];

        (void)snprintf(buf, sizeof(buf), "%" PRId64, v);
        return cg_knob(cg, c, file, buf, err);
}

static void sleep_step(void)
{
        struct timespec ts = {0, POLL_STEP_NS};

        (void)nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- creation ---- */

static int limits_check(const struct rt_cgroup_limits *l, struct aio_err *err)
{
        if (l->memory < 0 || l->memory_swap < 0 || l->pids < 0 || l->cpu_quota < 0 ||
            l->cpu_period < 0)
                return aio_error_msg(err, EINVAL, "cgroup limits must not be negative");
        if (l->memory_swap && (!l->memory || l->memory_swap < l->memory))
                return aio_error_msg(err, EINVAL,
                                     "memory_swap (memory+swap) needs memory and must not be "
                                     "below it");
        return 0;
}

static bool limits_cpu(const struct rt_cgroup_limits *l)
{
        return l->cpu_quota || l->cpu_period;
}

/* v2: lets the children of dirfd use memory, pids, and cpu (required only when
 * limited). Writes only what is not enabled yet, in one write. */
static int v2_enable(int dirfd, const char *where, bool need_cpu, struct aio_err *err)
{
        static const enum rt_cgroup_ctl want[] = {RT_CGROUP_MEMORY, RT_CGROUP_PIDS, RT_CGROUP_CPU};
        char avail[512], enabled[512], add[64] = "";

        if (aio_read_file(dirfd, "cgroup.controllers", avail, sizeof(avail), err) < 0 ||
            aio_read_file(dirfd, "cgroup.subtree_control", enabled, sizeof(enabled), err) < 0)
                return aio_error_prefix(err, "%s", where);
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                const char *n = rt_cgroup_ctl_to_string(want[i]);

                if (rt_cgroup_word_in(enabled, n))
                        continue;
                if (rt_cgroup_word_in(avail, n)) {
                        size_t len = strlen(add);

                        (void)snprintf(add + len, sizeof(add) - len, "%s+%s", len ? " " : "", n);
                } else if (want[i] != RT_CGROUP_CPU || need_cpu) {
                        return aio_error_msg(err, EOPNOTSUPP,
                                             "%s: cgroup controller %s is not available", where, n);
                }
        }
        if (add[0] && aio_write_knob(dirfd, "cgroup.subtree_control", add, err) < 0)
                return aio_error_prefix(err, "%s", where);
        return 0;
}

static int v1_check_mounted(const struct rt_cgroup *cg, bool need_cpu, struct aio_err *err)
{
        unsigned have = 0, need = CTL_BIT(RT_CGROUP_MEMORY) | CTL_BIT(RT_CGROUP_PIDS);

        if (need_cpu)
                need |= CTL_BIT(RT_CGROUP_CPU);
        for (size_t i = 0; i < cg->n_dirs; i++)
                have |= cg->dirs[i].ctls;
        for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++)
                if ((need & ~have) & CTL_BIT(c))
                        return aio_error_msg(
                                err, EOPNOTSUPP,
                                "no cgroup v1 hierarchy with the %s controller is mounted",
                                rt_cgroup_ctl_to_string(c));
        return 0;
}

/* Makes <where>/aio (if missing) and <where>/aio/<name> (must be new). */
static int dir_make(struct rt_cgroup *cg, struct rt_cgroup_dir *d, bool need_cpu,
                    struct aio_err *err)
{
        cleanup_close int root = open(d->where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool v2 = cg->driver == RT_CGROUP_V2;

        if (root < 0)
                return aio_error(err, errno, "open %s", d->where);
        if (v2 && v2_enable(root, d->where, need_cpu, err) < 0)
                return -err->code;
        if (cg->ops->mkdirat(root, RT_CGROUP_PARENT, 0755) == 0)
                d->made_aio = true;
        else if (errno != EEXIST)
                return aio_error(err, errno, "mkdir %s/" RT_CGROUP_PARENT, d->where);
        d->aio_fd = openat(root, RT_CGROUP_PARENT, DIR_FLAGS);
        if (d->aio_fd < 0)
                return aio_error(err, errno, "open %s/" RT_CGROUP_PARENT, d->where);
        if (v2 && v2_enable(d->aio_fd, RT_CGROUP_PARENT, need_cpu, err) < 0)
                return -err->code;
        if (cg->ops->mkdirat(d->aio_fd, cg->name, 0755) < 0) {
                if (errno == EEXIST)
                        return aio_error_msg(err, EEXIST, "cgroup %s/aio/%s already exists",
                                             d->where, cg->name);
                return aio_error(err, errno, "mkdir %s/aio/%s", d->where, cg->name);
        }
        d->fd = openat(d->aio_fd, cg->name, DIR_FLAGS);
        if (d->fd < 0) {
                int e = errno;

                (void)cg->ops->rmdirat(d->aio_fd, cg->name);
                return aio_error(err, e, "open %s/aio/%s", d->where, cg->name);
        }
        return 0;
}

/* RT_CGROUP_SPLIT: <name>/api and <name>/work (v2: with the controllers enabled for them). */
static int leaves_make(struct rt_cgroup *cg, struct rt_cgroup_dir *d, bool need_cpu,
                       struct aio_err *err)
{
        if (cg->driver == RT_CGROUP_V2 && v2_enable(d->fd, cg->name, need_cpu, err) < 0)
                return -err->code;
        for (int l = 0; l < _RT_CGROUP_LEAF_MAX; l++) {
                if (cg->ops->mkdirat(d->fd, leaf_names[l], 0755) < 0)
                        return aio_error(err, errno, "mkdir %s/aio/%s/%s", d->where, cg->name,
                                         leaf_names[l]);
                d->leaf_fd[l] = openat(d->fd, leaf_names[l], DIR_FLAGS);
                if (d->leaf_fd[l] < 0)
                        return aio_error(err, errno, "open %s/aio/%s/%s", d->where, cg->name,
                                         leaf_names[l]);
        }
        return 0;
}

static void leaves_rmdir(const struct rt_cgroup *cg, struct rt_cgroup_dir *d)
{
        for (int l = _RT_CGROUP_LEAF_MAX; l-- > 0;) {
                closep(&d->leaf_fd[l]);
                d->leaf_fd[l] = -1;
                if (d->fd >= 0)
                        (void)cg->ops->rmdirat(d->fd, leaf_names[l]);
        }
}

/* Removes what a failed create made, newest first. */
static void cg_undo(struct rt_cgroup *cg)
{
        for (size_t i = cg->n_dirs; i-- > 0;) {
                struct rt_cgroup_dir *d = &cg->dirs[i];
                cleanup_close int root = -1;

                leaves_rmdir(cg, d);
                if (d->fd >= 0) {
                        closep(&d->fd);
                        d->fd = -1;
                        (void)cg->ops->rmdirat(d->aio_fd, cg->name);
                }
                if (!d->made_aio)
                        continue;
                root = open(d->where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root >= 0)
                        (void)cg->ops->rmdirat(root, RT_CGROUP_PARENT); /* others may be in it */
        }
}

/* A knob the kernel may lack (swap accounting off): skipped when absent. */
static int cg_knob_optional(const struct rt_cgroup *cg, enum rt_cgroup_ctl c, const char *file,
                            int64_t v, struct aio_err *err)
{
        int r = cg_knob_i64(cg, c, file, v, err);

        if (r == -ENOENT) {
                log_debug("cgroup %s: no %s, not set", cg->name, file);
                return 0;
        }
        return r;
}

static int v2_apply(const struct rt_cgroup *cg, const struct rt_cgroup_limits *l,
                    struct aio_err *err)
{
        int64_t period = l->cpu_period ? l->cpu_period : 100000;
        char cpu[64];
        int r = 0;

        if (l->memory)
                r = cg_knob_i64(cg, RT_CGROUP_MEMORY, "memory.max", l->memory, err);
        if (r >= 0)
                r = cg_knob_optional(cg, RT_CGROUP_MEMORY, "memory.swap.max",
                                     l->memory_swap ? l->memory_swap - l->memory : 0, err);
        if (r >= 0 && l->pids)
                r = cg_knob_i64(cg, RT_CGROUP_PIDS, "pids.max", l->pids, err);
        if (r >= 0 && limits_cpu(l)) {
                if (l->cpu_quota)
                        (void)snprintf(cpu, sizeof(cpu), "%" PRId64 " %" PRId64, l->cpu_quota,
                                       period);
                else
                        (void)snprintf(cpu, sizeof(cpu), "max %" PRId64, period);
                r = cg_knob(cg, RT_CGROUP_CPU, "cpu.max", cpu, err);
        }
        if (r >= 0)
                r = cg_knob(cg, RT_CGROUP_MEMORY, "memory.oom.group", "1", err);
        return r;
}

static int v1_apply(const struct rt_cgroup *cg, const struct rt_cgroup_limits *l,
                    struct aio_err *err)
{
        int r = 0;

        if (l->memory) {
                r = cg_knob_i64(cg, RT_CGROUP_MEMORY, "memory.limit_in_bytes", l->memory, err);
                /* memsw = memory + swap; equal to memory means no swap at all. */
                if (r >= 0)
                        r = cg_knob_optional(cg, RT_CGROUP_MEMORY, "memory.memsw.limit_in_bytes",
                                             l->memory_swap ? l->memory_swap : l->memory, err);
        }
        if (r >= 0 && l->pids)
                r = cg_knob_i64(cg, RT_CGROUP_PIDS, "pids.max", l->pids, err);
        if (r >= 0 && limits_cpu(l)) {
                r = cg_knob_i64(cg, RT_CGROUP_CPU, "cpu.cfs_period_us",
                                l->cpu_period ? l->cpu_period : 100000, err);
                if (r >= 0)
                        r = cg_knob_i64(cg, RT_CGROUP_CPU, "cpu.cfs_quota_us",
                                        l->cpu_quota ? l->cpu_quota : -1, err);
        }
        return r;
}

/* The api leaf's own bound: a fork bomb in the work leaf leaves it its pids. */
static int api_leaf_apply(const struct rt_cgroup *cg, struct aio_err *err)
{
        const struct rt_cgroup_dir *d = cg_dir(cg, RT_CGROUP_PIDS);

        if (!d)
                return 0;
        if (aio_write_knob(d->leaf_fd[RT_CGROUP_LEAF_API], "pids.max", API_PIDS_MAX, err) < 0)
                return aio_error_prefix(err, "cgroup %s/api", cg->name);
        return 0;
}

int rt_cgroup_create_at(const struct rt_cgroup_host *h, const char *name,
                        const struct rt_cgroup_limits *lim, unsigned flags, struct rt_cgroup **ret,
                        struct aio_err *err)
{
        static const struct rt_cgroup_limits none;
        const struct rt_cgroup_limits *l = lim ? lim : &none;
        struct rt_cgroup *cg;
        int r;

        if (rt_cgroup_name_check(name, err) < 0 || limits_check(l, err) < 0)
                return -err->code;
        cg = cg_new(h, name);
        cg->split = flags & RT_CGROUP_SPLIT;
        r = cg->driver == RT_CGROUP_V1 ? v1_check_mounted(cg, limits_cpu(l), err) : 0;
        for (size_t i = 0; r >= 0 && i < cg->n_dirs; i++) {
                r = dir_make(cg, &cg->dirs[i], limits_cpu(l), err);
                if (r >= 0 && cg->split)
                        r = leaves_make(cg, &cg->dirs[i], limits_cpu(l), err);
        }
        if (r >= 0)
                r = cg->driver == RT_CGROUP_V2 ? v2_apply(cg, l, err) : v1_apply(cg, l, err);
        if (r >= 0 && cg->split)
                r = api_leaf_apply(cg, err);
        if (r < 0) {
                cg_undo(cg);
                cg_free(cg);
                return r;
        }
        log_debug("cgroup %s: created (%s)", name, rt_cgroup_driver_to_string(cg->driver));
        *ret = cg;
        return 0;
}

int rt_cgroup_create(const char *name, const struct rt_cgroup_limits *lim, unsigned flags,
                     struct rt_cgroup **ret, struct aio_err *err)
{
        cleanup_cgroup_host struct rt_cgroup_host h = {0};

        if (rt_cgroup_host_probe(RT_CGROUP_ROOT, RT_CGROUP_MOUNTINFO, &h, err) < 0)
                return aio_error_prefix(err, "cgroup");
        return rt_cgroup_create_at(&h, name, lim, flags, ret, err);
}

/* ---- processes ---- */

int rt_cgroup_fd(const struct rt_cgroup *cg)
{
        if (!cg || cg->driver != RT_CGROUP_V2)
                return -1;
        return cg->split ? cg->dirs[0].leaf_fd[RT_CGROUP_LEAF_API] : cg->dirs[0].fd;
}

int rt_cgroup_add_pid(struct rt_cgroup *cg, pid_t pid, struct aio_err *err)
{
        char buf[24];

        if (pid <= 0)
                return aio_error_msg(err, EINVAL, "cgroup %s: invalid pid %d", cg->name, (int)pid);
        (void)snprintf(buf, sizeof(buf), "%d", (int)pid);
        for (size_t i = 0; i < cg->n_dirs; i++) {
                int fd = cg->split ? cg->dirs[i].leaf_fd[RT_CGROUP_LEAF_API] : cg->dirs[i].fd;

                if (fd < 0)
                        continue;
                if (aio_write_knob(fd, "cgroup.procs", buf, err) < 0)
                        return aio_error_prefix(err, "cgroup %s (%s)", cg->name, cg->dirs[i].where);
        }
        return 0;
}

static bool parse_pid(const char *s, pid_t *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || (*end != '\n' && *end != '\0') || v <= 0 || v > INT32_MAX)
                return false;
        *ret = (pid_t)v;
        return true;
}

/* Counts the processes listed in dirfd/cgroup.procs and SIGKILLs them when
 * kill_them. Never signals pid 1 or the caller itself. */
static int procs_scan(int dirfd, bool kill_them, struct aio_err *err)
{
        int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        cleanup_fclose FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
        char line[64];
        int n = 0;

        if (!f) {
                closep(&fd);
                return aio_error(err, errno, "open cgroup.procs");
        }
        while (fgets(line, sizeof(line), f)) {
                pid_t pid;

                if (line[0] == '\n')
                        continue;
                n++;
                if (!kill_them || !parse_pid(line, &pid) || pid == 1 || pid == getpid())
                        continue;
                if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
                        return aio_error(err, errno, "kill %d", (int)pid);
        }
        return n;
}

static int cg_scan(const struct rt_cgroup *cg, bool kill_them, struct aio_err *err)
{
        int total = 0;

        for (size_t i = 0; i < cg->n_dirs; i++) {
                const struct rt_cgroup_dir *d = &cg->dirs[i];
                int fds[] = {d->fd, d->leaf_fd[RT_CGROUP_LEAF_API],
                             d->leaf_fd[RT_CGROUP_LEAF_WORK]};

                for (size_t k = 0; k < ELEMENTSOF(fds); k++) {
                        int n = fds[k] < 0 ? 0 : procs_scan(fds[k], kill_them, err);

                        if (n < 0)
                                return aio_error_prefix(err, "cgroup %s (%s)", cg->name, d->where);
                        total += n;
                }
        }
        return total;
}

/* v1: writes state to freezer.state and waits (bounded) until the kernel
 * reports it. */
static int v1_freezer_set(const struct rt_cgroup *cg, const char *state, struct aio_err *err)
{
        int fd = cg_fd(cg, RT_CGROUP_FREEZER);
        int64_t deadline = now_ms() + cg->timeout_ms;
        char buf[32];

        if (fd < 0)
                return 0;
        if (aio_write_knob(fd, "freezer.state", state, err) < 0)
                return aio_error_prefix(err, "cgroup %s", cg->name);
        while (aio_read_file(fd, "freezer.state", buf, sizeof(buf), err) >= 0 &&
               strncmp(buf, state, strlen(state)) != 0) {
                if (now_ms() >= deadline) {
                        log_debug("cgroup %s: freezer still '%s', not %s", cg->name, buf, state);
                        break;
                }
                sleep_step();
        }
        return 0;
}

static int cg_wait_empty(const struct rt_cgroup *cg, struct aio_err *err)
{
        int64_t deadline = now_ms() + cg->timeout_ms;

        for (;;) {
                int n = cg_scan(cg, true, err);

                if (n <= 0)
                        return n;
                if (now_ms() >= deadline)
                        return aio_error_msg(err, ETIMEDOUT,
                                             "cgroup %s: %d processes left %u ms after SIGKILL",
                                             cg->name, n, cg->timeout_ms);
                sleep_step();
        }
}

int rt_cgroup_kill(struct rt_cgroup *cg, struct aio_err *err)
{
        int r;

        if (cg->driver == RT_CGROUP_V2) {
                /* Without cgroup.kill (before 5.14) the SIGKILL loop below does the work.
                 */
                r = cg->dirs[0].fd < 0 ? 0
                                       : aio_write_knob(cg->dirs[0].fd, "cgroup.kill", "1", err);
                if (r < 0 && r != -ENOENT)
                        return aio_error_prefix(err, "cgroup %s", cg->name);
                return cg_wait_empty(cg, err);
        }
        /* v1: an empty group stays empty (nothing outside moves tasks into it), so there is
         * nothing to freeze: the common case when the jail's pid namespace already ended. */
        r = cg_scan(cg, false, err);
        if (r <= 0)
                return r;
        /* Frozen tasks cannot fork away from the signals; they die once thawed. */
        r = v1_freezer_set(cg, "FROZEN", err);
        if (r >= 0)
                r = cg_scan(cg, true, err);
        if (v1_freezer_set(cg, "THAWED", err) < 0 || r < 0)
                return -err->code;
        return cg_wait_empty(cg, err);
}

/* Reads the number after "key " in a flat-keyed file (memory.events,
 * pids.events, memory.oom_control); a missing key is 0. */
static int read_key(int dirfd, const char *file, const char *key, uint64_t *ret,
                    struct aio_err *err)
{
        size_t klen = strlen(key);
        char buf[2048];

        if (dirfd < 0)
                return aio_error_msg(err, EOPNOTSUPP, "no cgroup directory with %s", file);
        if (aio_read_file(dirfd, file, buf, sizeof(buf), err) < 0)
                return -err->code;
        *ret = 0;
        for (const char *l = buf; l; l = strchr(l, '\n')) {
                if (*l == '\n')
                        l++;
                if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
                        *ret = strtoull(l + klen + 1, NULL, 10);
                        break;
                }
        }
        return 0;
}

int rt_cgroup_events(const struct rt_cgroup *cg, struct rt_cgroup_events *ret, struct aio_err *err)
{
        struct rt_cgroup_events ev = {0};
        const char *oom = cg->driver == RT_CGROUP_V2 ? "memory.events" : "memory.oom_control";

        if (read_key(cg_target(cg, RT_CGROUP_MEMORY), oom, "oom_kill", &ev.oom_kills, err) < 0 ||
            read_key(cg_target(cg, RT_CGROUP_PIDS), "pids.events", "max", &ev.pids_limit, err) < 0)
                return aio_error_prefix(err, "cgroup %s", cg->name);
        *ret = ev;
        return 0;
}

static int work_openat(const struct rt_cgroup *cg, int dirfd, const char *file, int flags,
                       struct aio_err *err)
{
        int fd = dirfd < 0 ? -1 : openat(dirfd, file, flags | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return aio_error(err, dirfd < 0 ? ENOENT : errno, "cgroup %s: open work/%s",
                                 cg->name, file);
        return fd;
}

int rt_cgroup_work_open(const struct rt_cgroup *cg, int *ret, size_t max, size_t *ret_n,
                        struct aio_err *err)
{
        const char *oom = cg->driver == RT_CGROUP_V2 ? "memory.events" : "memory.oom_control";
        int fds[RT_CGROUP_WORK_FDS_MAX];
        size_t n = 0;

        if (!cg->split || cg->n_dirs + 2 > max || max > RT_CGROUP_WORK_FDS_MAX)
                return aio_error_msg(err, EINVAL, "cgroup %s: no work leaf to open", cg->name);
        for (size_t i = 0; i < cg->n_dirs; i++) {
                fds[n] = work_openat(cg, cg->dirs[i].leaf_fd[RT_CGROUP_LEAF_WORK], "cgroup.procs",
                                     O_WRONLY, err);
                if (fds[n] < 0)
                        goto fail;
                n++;
        }
        fds[n] = work_openat(cg, cg_target(cg, RT_CGROUP_MEMORY), oom, O_RDONLY, err);
        if (fds[n] < 0)
                goto fail;
        n++;
        fds[n] = work_openat(cg, cg_target(cg, RT_CGROUP_PIDS), "pids.events", O_RDONLY, err);
        if (fds[n] < 0)
                goto fail;
        n++;
        memcpy(ret, fds, n * sizeof(*fds));
        *ret_n = n;
        return 0;
fail:
        while (n > 0)
                closep(&fds[--n]);
        return -err->code;
}

/* ---- removal ---- */

/* rmdir parent/name; v1 may report EBUSY for a moment after the last task died. */
static int rmdir_retry(const struct rt_cgroup *cg, int parent, const char *name,
                       const struct rt_cgroup_dir *d, struct aio_err *err)
{
        int64_t deadline = now_ms() + cg->timeout_ms;

        while (cg->ops->rmdirat(parent, name) < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || now_ms() >= deadline)
                        return aio_error(err, errno, "rmdir %s/aio/%s%s%s", d->where, cg->name,
                                         name == cg->name ? "" : "/", name == cg->name ? "" : name);
                sleep_step();
        }
        return 0;
}

static int dir_remove(const struct rt_cgroup *cg, struct rt_cgroup_dir *d, struct aio_err *err)
{
        for (int l = _RT_CGROUP_LEAF_MAX; l-- > 0;) {
                if (d->leaf_fd[l] < 0)
                        continue;
                closep(&d->leaf_fd[l]);
                d->leaf_fd[l] = -1;
                if (rmdir_retry(cg, d->fd, leaf_names[l], d, err) < 0)
                        return -err->code;
        }
        closep(&d->fd);
        d->fd = -1;
        return rmdir_retry(cg, d->aio_fd, cg->name, d, err);
}

int rt_cgroup_destroy(struct rt_cgroup *cg, struct aio_err *err)
{
        struct aio_err later;
        int r;

        if (!cg)
                return 0;
        r = rt_cgroup_kill(cg, err);
        for (size_t i = 0; i < cg->n_dirs; i++) {
                if (cg->dirs[i].fd < 0)
                        continue;
                /* Keep the first error: it explains the ones after it. */
                if (dir_remove(cg, &cg->dirs[i], r < 0 ? &later : err) < 0 && r >= 0)
                        r = -err->code;
        }
        cg_free(cg);
        return r;
}

/* Opens <where>/aio/<name> if it exists; -ENOENT when it does not. */
static int dir_open_existing(struct rt_cgroup_dir *d, const char *name, struct aio_err *err)
{
        cleanup_close int root = open(d->where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (root < 0)
                return aio_error(err, errno, "open %s", d->where);
        d->aio_fd = openat(root, RT_CGROUP_PARENT, DIR_FLAGS);
        if (d->aio_fd < 0)
                return errno == ENOENT ? -ENOENT : aio_error(err, errno, "open %s/aio", d->where);
        d->fd = openat(d->aio_fd, name, DIR_FLAGS);
        if (d->fd < 0)
                return errno == ENOENT ? -ENOENT
                                       : aio_error(err, errno, "open %s/aio/%s", d->where, name);
        for (int l = 0; l < _RT_CGROUP_LEAF_MAX; l++)
                d->leaf_fd[l] = openat(d->fd, leaf_names[l], DIR_FLAGS);
        return 0;
}

int rt_cgroup_remove_stale_at(const struct rt_cgroup_host *h, const char *name, struct aio_err *err)
{
        struct rt_cgroup *cg;

        if (rt_cgroup_name_check(name, err) < 0)
                return -err->code;
        cg = cg_new(h, name);
        for (size_t i = 0; i < cg->n_dirs; i++) {
                int r = dir_open_existing(&cg->dirs[i], name, err);

                if (r < 0 && r != -ENOENT) {
                        cg_free(cg);
                        return r;
                }
        }
        return rt_cgroup_destroy(cg, err);
}

int rt_cgroup_remove_stale(const char *name, struct aio_err *err)
{
        cleanup_cgroup_host struct rt_cgroup_host h = {0};

        if (rt_cgroup_host_probe(RT_CGROUP_ROOT, RT_CGROUP_MOUNTINFO, &h, err) < 0)
                return aio_error_prefix(err, "cgroup");
        return rt_cgroup_remove_stale_at(&h, name, err);
}
