/* Unit tests of runtime/cgroup.c.
 * Part 1 runs the driver against temporary trees of plain files laid out like cgroup v1 and v2
 * (runtime/cgroup-internal.h seam) and checks which values land in which files.
 * Part 2 runs against this host's real cgroup v1 hierarchies (root only, skipped otherwise). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* clang-format off: cmocka.h needs the headers above */
#include <cmocka.h>
/* clang-format on */

#include "runtime/common/cleanup.h"
#include "runtime/common/err.h"
#include "runtime/common/fileio.h"

#include "runtime/cgroup-internal.h"
#include "runtime/cgroup.h"

#define MiB (1024 * 1024LL)

/* ---- helpers for fake trees ---- */

struct fx {
        char dir[64];
        struct rt_cgroup_host host;
};

static char *path_of(const char *dir, const char *rel)
{
        static char buf[4][512];
        static int next;
        char *p = buf[next++ % 4];

        (void)snprintf(p, sizeof(buf[0]), "%s/%s", dir, rel);
        return p;
}

static void put(const char *dir, const char *rel, const char *content)
{
        struct aio_err err;
        char *p = path_of(dir, rel), *slash = strrchr(p, '/');

        *slash = '\0';
        assert_int_equal(aio_mkdir_p(p, 0755, &err), 0);
        *slash = '/';
        assert_int_equal(aio_write_file(AT_FDCWD, p, content, strlen(content), 0644, &err), 0);
}

/* The file's content (static buffer), or NULL when it does not exist. */
static const char *get(const char *dir, const char *rel)
{
        static char buf[4096];
        struct aio_err err;

        if (aio_read_file(AT_FDCWD, path_of(dir, rel), buf, sizeof(buf), &err) < 0)
                return NULL;
        return buf;
}

static bool have(const char *dir, const char *rel)
{
        return access(path_of(dir, rel), F_OK) == 0;
}

static void assert_file(const char *dir, const char *rel, const char *want)
{
        const char *got = get(dir, rel);

        if (!got)
                fail_msg("%s/%s does not exist", dir, rel);
        assert_string_equal(got, want);
}

/* What the kernel does on mkdir in a cgroupfs: the new directory gets the knobs of its parent
 * (empty here), and on v2 its cgroup.controllers is what the parent enabled for children. */
static void fake_populate(int parent, int child)
{
        int dup_fd = fcntl(parent, F_DUPFD_CLOEXEC, 3);
        cleanup_dir DIR *d = fdopendir(dup_fd);
        struct aio_err err;
        struct dirent *de;
        char sub[512];

        assert_non_null(d);
        rewinddir(d);
        while ((de = readdir(d))) {
                struct stat st;
                char *w = sub;

                if (fstatat(parent, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                sub[0] = '\0';
                if (strcmp(de->d_name, "cgroup.controllers") == 0) {
                        assert_true(aio_read_file(parent, "cgroup.subtree_control", sub,
                                                  sizeof(sub), &err) >= 0);
                        for (const char *r = sub; *r; r++)
                                if (*r != '+')
                                        *w++ = *r;
                        *w = '\0';
                }
                assert_int_equal(aio_write_file(child, de->d_name, sub, strlen(sub), 0644, &err),
                                 0);
        }
}

static int fake_mkdirat(int dirfd, const char *name, mode_t mode)
{
        int child;

        if (mkdirat(dirfd, name, mode) < 0)
                return -1;
        child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(child >= 0);
        fake_populate(dirfd, child);
        (void)close(child);
        return 0;
}

static int fake_rmdirat(int dirfd, const char *name)
{
        struct aio_err err;
        struct stat st;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -1;
        if (!S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                return -1;
        }
        return aio_rm_rf(dirfd, name, &err) < 0 ? (errno = err.code, -1) : 0;
}

static const struct rt_cgroup_fs_ops fake_ops = {fake_mkdirat, fake_rmdirat};

static int fx_teardown(void **state)
{
        struct fx *fx = *state;
        struct aio_err err;

        if (!fx)
                return 0;
        rt_cgroup_host_done(&fx->host);
        (void)aio_rm_rf(AT_FDCWD, fx->dir, &err);
        free(fx);
        return 0;
}

static struct fx *fx_new(void)
{
        struct fx *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        strcpy(fx->dir, "/tmp/aio-test-cgroup-XXXXXX");
        assert_non_null(mkdtemp(fx->dir));
        return fx;
}

static void fx_probe(struct fx *fx, const char *root)
{
        struct aio_err err;

        assert_int_equal(rt_cgroup_host_probe(root, path_of(fx->dir, "mountinfo"), &fx->host, &err),
                         0);
        fx->host.ops = &fake_ops;
        fx->host.kill_timeout_ms = 200;
}

static const char *const v2_knobs[] = {
        "cgroup.procs",  "cgroup.kill", "memory.max",  "memory.swap.max", "memory.oom.group",
        "memory.events", "pids.max",    "pids.events", "cpu.max",
};

static void v2_layout(struct fx *fx, const char *controllers)
{
        for (size_t i = 0; i < ELEMENTSOF(v2_knobs); i++)
                put(fx->dir, path_of("v2", v2_knobs[i]), "");
        put(fx->dir, "v2/cgroup.controllers", controllers);
        put(fx->dir, "v2/cgroup.subtree_control", "");
        put(fx->dir, "mountinfo", "");
}

static int v2_setup(void **state)
{
        struct fx *fx = fx_new();

        v2_layout(fx, "cpuset cpu io memory hugetlb pids rdma misc\n");
        fx_probe(fx, path_of(fx->dir, "v2"));
        assert_int_equal(fx->host.driver, RT_CGROUP_V2);
        *state = fx;
        return 0;
}

/* v1 knobs per hierarchy directory, and the mountinfo line of each. */
static void v1_layout(struct fx *fx, bool memsw)
{
        char mi[4096];
        const char *d = fx->dir;

        put(d, "hier/memory/cgroup.procs", "");
        put(d, "hier/memory/memory.limit_in_bytes", "");
        put(d, "hier/memory/memory.oom_control", "");
        if (memsw)
                put(d, "hier/memory/memory.memsw.limit_in_bytes", "");
        put(d, "hier/pids/cgroup.procs", "");
        put(d, "hier/pids/pids.max", "");
        put(d, "hier/pids/pids.events", "");
        put(d, "hier/cpu,cpuacct/cgroup.procs", "");
        put(d, "hier/cpu,cpuacct/cpu.cfs_period_us", "");
        put(d, "hier/cpu,cpuacct/cpu.cfs_quota_us", "");
        put(d, "hier/free zer/cgroup.procs", "");
        put(d, "hier/free zer/freezer.state", "");
        put(d, "hier/systemd/cgroup.procs", "");
        (void)snprintf(
                mi, sizeof(mi),
                "25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
                "31 23 0:28 / %1$s/hier ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
                "32 31 0:29 / %1$s/hier/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup "
                "rw,cpu,cpuacct\n"
                "33 31 0:30 / %1$s/hier/cpuset rw shared:11 - cgroup cgroup rw,cpuset\n"
                "35 31 0:32 / %1$s/hier/memory rw,relatime shared:13 - cgroup cgroup rw,memory\n"
                "36 31 0:36 / %1$s/hier/pids rw,relatime - cgroup cgroup rw,pids\n"
                "37 31 0:34 / %1$s/hier/free\\040zer rw - cgroup cgroup rw,freezer\n"
                "40 31 0:37 / %1$s/hier/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
                "41 31 0:38 / %1$s/hier/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
                "42 31 0:32 / %1$s/elsewhere/memory rw - cgroup cgroup rw,memory\n",
                d);
        put(d, "mountinfo", mi);
}

static int v1_setup(void **state)
{
        struct fx *fx = fx_new();

        v1_layout(fx, true);
        fx_probe(fx, path_of(fx->dir, "hier"));
        assert_int_equal(fx->host.driver, RT_CGROUP_V1);
        *state = fx;
        return 0;
}

static const struct rt_cgroup_limits lim_std = {
        .memory = 32 * MiB, .pids = 16, .cpu_quota = 50000, .cpu_period = 100000};

/* ---- names ---- */

static void test_name_check(void **state)
{
        static const char *const good[] = {"a", "sbx-1", "A_b.c-9", "0", "x.y"};
        static const char *const bad[] = {"",    ".",           "..",   "a..b", "../x",  "x/..",
                                          "a/b", "/abs",        "x y",  "x\ny", "-lead", ".hidden",
                                          "_u",  "caf\xc3\xa9", "a\\b", "a*",   "a:b",   "..."};
        char longest[RT_CGROUP_NAME_MAX + 2];
        struct aio_err err;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_int_equal(rt_cgroup_name_check(good[i], &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (rt_cgroup_name_check(bad[i], &err) != -EINVAL)
                        fail_msg("name '%s' accepted", bad[i]);
        }
        assert_int_equal(rt_cgroup_name_check(NULL, &err), -EINVAL);
        memset(longest, 'n', sizeof(longest));
        longest[RT_CGROUP_NAME_MAX] = '\0';
        assert_int_equal(rt_cgroup_name_check(longest, &err), 0);
        longest[RT_CGROUP_NAME_MAX] = 'n';
        longest[RT_CGROUP_NAME_MAX + 1] = '\0';
        assert_int_equal(rt_cgroup_name_check(longest, &err), -EINVAL);
}

static void test_driver_strings(void **state)
{
        (void)state;
        assert_string_equal(rt_cgroup_driver_to_string(RT_CGROUP_V2), "v2");
        assert_string_equal(rt_cgroup_driver_to_string(RT_CGROUP_V1), "v1");
        assert_null(rt_cgroup_driver_to_string(_RT_CGROUP_DRIVER_MAX));
        for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++)
                assert_non_null(rt_cgroup_ctl_to_string(c));
        assert_null(rt_cgroup_ctl_to_string(_RT_CGROUP_CTL_MAX));
}

/* ---- detection ---- */

static void test_detect(void **state)
{
        struct fx *fx = fx_new();
        enum rt_cgroup_driver drv = _RT_CGROUP_DRIVER_MAX;
        struct aio_err err;

        *state = fx;
        put(fx->dir, "a/cgroup.controllers", "cpu memory pids\n");
        put(fx->dir, "b/cgroup.controllers", "\n"); /* hybrid's unified: no controllers */
        put(fx->dir, "c/memory/tasks", "");         /* v1 tmpfs: no cgroup.controllers */
        assert_int_equal(rt_cgroup_detect(path_of(fx->dir, "a"), &drv, &err), 0);
        assert_int_equal(drv, RT_CGROUP_V2);
        assert_int_equal(rt_cgroup_detect(path_of(fx->dir, "b"), &drv, &err), 0);
        assert_int_equal(drv, RT_CGROUP_V1);
        assert_int_equal(rt_cgroup_detect(path_of(fx->dir, "c"), &drv, &err), 0);
        assert_int_equal(drv, RT_CGROUP_V1);
        assert_int_equal(rt_cgroup_detect(path_of(fx->dir, "none"), &drv, &err), -ENOENT);
}

static void test_mountinfo_parse(void **state)
{
        struct fx *fx = fx_new();
        char *m[_RT_CGROUP_CTL_MAX] = {0};
        struct aio_err err;

        *state = fx;
        v1_layout(fx, true);
        assert_int_equal(rt_cgroup_v1_mounts_parse(path_of(fx->dir, "mountinfo"), m, &err), 0);
        /* The first memory mount wins over the later one; the escaped space is decoded. */
        assert_string_equal(m[RT_CGROUP_MEMORY], path_of(fx->dir, "hier/memory"));
        assert_string_equal(m[RT_CGROUP_PIDS], path_of(fx->dir, "hier/pids"));
        assert_string_equal(m[RT_CGROUP_CPU], path_of(fx->dir, "hier/cpu,cpuacct"));
        assert_string_equal(m[RT_CGROUP_FREEZER], path_of(fx->dir, "hier/free zer"));
        for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++)
                free(m[c]);
        assert_int_equal(rt_cgroup_v1_mounts_parse(path_of(fx->dir, "nope"), m, &err), -ENOENT);
}

static void test_mountinfo_separate_cpu(void **state)
{
        struct fx *fx = fx_new();
        char *m[_RT_CGROUP_CTL_MAX] = {0};
        struct aio_err err;

        *state = fx;
        /* This host's layout: cpu and cpuacct separately; "cpuset" must not count as cpu. */
        put(fx->dir, "mountinfo",
            "34 31 0:31 / /x/cpuset rw - cgroup cgroup rw,cpuset\n"
            "33 31 0:30 / /x/cpuacct rw - cgroup cgroup rw,cpuacct\n"
            "32 31 0:29 / /x/cpu rw - cgroup cgroup rw,cpu\n"
            "garbage line without separator\n"
            "1 2 3 - cgroup\n");
        assert_int_equal(rt_cgroup_v1_mounts_parse(path_of(fx->dir, "mountinfo"), m, &err), 0);
        assert_string_equal(m[RT_CGROUP_CPU], "/x/cpu");
        assert_null(m[RT_CGROUP_MEMORY]);
        assert_null(m[RT_CGROUP_PIDS]);
        assert_null(m[RT_CGROUP_FREEZER]);
        free(m[RT_CGROUP_CPU]);
}

/* ---- v2 on a fake tree ---- */

/* aio-run up's split: the limits on work, a pids bound of its own on api, both removed. */
static void test_v2_split(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        struct stat a, b;
        int fds[RT_CGROUP_WORK_FDS_MAX];
        size_t n = 0;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "up", &lim_std, RT_CGROUP_SPLIT, &cg, &err),
                         0);
        assert_file(fx->dir, "v2/aio/up/cgroup.subtree_control", "+memory +pids +cpu");
        assert_file(fx->dir, "v2/aio/up/memory.max", "");
        assert_file(fx->dir, "v2/aio/up/work/memory.max", "33554432");
        assert_file(fx->dir, "v2/aio/up/work/pids.max", "16");
        assert_file(fx->dir, "v2/aio/up/work/cpu.max", "50000 100000");
        assert_file(fx->dir, "v2/aio/up/work/memory.oom.group", "1");
        assert_file(fx->dir, "v2/aio/up/api/pids.max", "4096");
        assert_file(fx->dir, "v2/aio/up/api/memory.max", "");
        /* CLONE_INTO_CGROUP puts pid 1 into the api leaf */
        assert_int_equal(fstat(rt_cgroup_fd(cg), &a), 0);
        assert_int_equal(stat(path_of(fx->dir, "v2/aio/up/api"), &b), 0);
        assert_true(a.st_ino == b.st_ino);
        assert_int_equal(rt_cgroup_work_open(cg, fds, RT_CGROUP_WORK_FDS_MAX, &n, &err), 0);
        assert_int_equal(n, 3); /* one hierarchy's procs, memory.events, pids.events */
        assert_true((fcntl(fds[0], F_GETFL) & O_ACCMODE) == O_WRONLY);
        assert_true(fcntl(fds[2], F_GETFD) & FD_CLOEXEC);
        for (size_t i = 0; i < n; i++)
                (void)close(fds[i]);
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        assert_false(have(fx->dir, "v2/aio/up"));

        /* not split: no work leaf to open */
        assert_int_equal(rt_cgroup_create_at(&fx->host, "flat", &lim_std, 0, &cg, &err), 0);
        assert_int_equal(rt_cgroup_work_open(cg, fds, RT_CGROUP_WORK_FDS_MAX, &n, &err), -EINVAL);
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v2_create_writes(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        struct stat a, b;
        int fd;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "sbx", &lim_std, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/cgroup.subtree_control", "+memory +pids +cpu");
        assert_file(fx->dir, "v2/aio/cgroup.controllers", "memory pids cpu");
        assert_file(fx->dir, "v2/aio/cgroup.subtree_control", "+memory +pids +cpu");
        assert_file(fx->dir, "v2/aio/sbx/memory.max", "33554432");
        assert_file(fx->dir, "v2/aio/sbx/memory.swap.max", "0");
        assert_file(fx->dir, "v2/aio/sbx/pids.max", "16");
        assert_file(fx->dir, "v2/aio/sbx/cpu.max", "50000 100000");
        assert_file(fx->dir, "v2/aio/sbx/memory.oom.group", "1");
        assert_file(fx->dir, "v2/aio/sbx/cgroup.kill", "");
        fd = rt_cgroup_fd(cg);
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_true(fcntl(fd, F_GETFL) & O_DIRECTORY);
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(stat(path_of(fx->dir, "v2/aio/sbx"), &b), 0);
        assert_true(S_ISDIR(a.st_mode) && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        assert_true((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        assert_false(have(fx->dir, "v2/aio/sbx"));
        assert_true(have(fx->dir, "v2/aio")); /* shared parent stays */
        assert_int_equal(rt_cgroup_destroy(NULL, &err), 0);
}

static void test_v2_defaults_and_swap(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup_limits swap = {.memory = 32 * MiB, .memory_swap = 48 * MiB};
        struct rt_cgroup_limits period = {.cpu_period = 50000};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "s", &swap, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/aio/s/memory.max", "33554432");
        assert_file(fx->dir, "v2/aio/s/memory.swap.max", "16777216");
        assert_file(fx->dir, "v2/aio/s/pids.max", "");
        assert_file(fx->dir, "v2/aio/s/cpu.max", "");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);

        /* No limits at all: still no swap and a whole-group OOM kill. */
        assert_int_equal(rt_cgroup_create_at(&fx->host, "n", NULL, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/aio/n/memory.max", "");
        assert_file(fx->dir, "v2/aio/n/memory.swap.max", "0");
        assert_file(fx->dir, "v2/aio/n/memory.oom.group", "1");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);

        assert_int_equal(rt_cgroup_create_at(&fx->host, "p", &period, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/aio/p/cpu.max", "max 50000");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v2_swap_file_missing(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        assert_int_equal(unlink(path_of(fx->dir, "v2/memory.swap.max")), 0);
        assert_int_equal(rt_cgroup_create_at(&fx->host, "s", &lim_std, 0, &cg, &err), 0);
        assert_false(have(fx->dir, "v2/aio/s/memory.swap.max"));
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v2_already_enabled(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        /* What the kernel shows once enabled: no write is needed (or attempted). */
        put(fx->dir, "v2/cgroup.subtree_control", "cpu memory pids\n");
        assert_int_equal(rt_cgroup_create_at(&fx->host, "e", &lim_std, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/cgroup.subtree_control", "cpu memory pids\n");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        /* Only the missing one is added. */
        put(fx->dir, "v2/cgroup.subtree_control", "memory\n");
        assert_int_equal(rt_cgroup_create_at(&fx->host, "e", &lim_std, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/cgroup.subtree_control", "+pids +cpu");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v2_missing_controllers(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup_limits mem = {.memory = 32 * MiB};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        /* No cpu controller: fine without a cpu limit, refused with one. */
        put(fx->dir, "v2/cgroup.controllers", "memory pids\n");
        assert_int_equal(rt_cgroup_create_at(&fx->host, "m", &mem, 0, &cg, &err), 0);
        assert_file(fx->dir, "v2/cgroup.subtree_control", "+memory +pids");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        assert_int_equal(rt_cgroup_create_at(&fx->host, "c", &lim_std, 0, &cg, &err), -EOPNOTSUPP);
        assert_false(have(fx->dir, "v2/aio/c"));

        /* No memory controller: refused before anything is made. */
        assert_int_equal(aio_rm_rf(AT_FDCWD, path_of(fx->dir, "v2/aio"), &err), 0);
        put(fx->dir, "v2/cgroup.controllers", "cpu pids\n");
        put(fx->dir, "v2/cgroup.subtree_control", "");
        assert_int_equal(rt_cgroup_create_at(&fx->host, "m", &mem, 0, &cg, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "memory"));
        assert_false(have(fx->dir, "v2/aio"));
        assert_file(fx->dir, "v2/cgroup.subtree_control", "");
}

static void test_v2_kill_and_events(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup_events ev = {99, 99};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "k", &lim_std, 0, &cg, &err), 0);
        put(fx->dir, "v2/aio/k/memory.events",
            "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 1\n");
        put(fx->dir, "v2/aio/k/pids.events", "max 5\n");
        assert_int_equal(rt_cgroup_events(cg, &ev, &err), 0);
        assert_int_equal(ev.oom_kills, 2);
        assert_int_equal(ev.pids_limit, 5);
        put(fx->dir, "v2/aio/k/memory.events", "low 0\nmax 1\n");
        assert_int_equal(rt_cgroup_events(cg, &ev, &err), 0);
        assert_int_equal(ev.oom_kills, 0);
        assert_int_equal(rt_cgroup_kill(cg, &err), 0);
        assert_file(fx->dir, "v2/aio/k/cgroup.kill", "1");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

/* ---- v1 on a fake tree ---- */

static void test_v1_create_writes(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "sbx", &lim_std, 0, &cg, &err), 0);
        assert_file(fx->dir, "hier/memory/aio/sbx/memory.limit_in_bytes", "33554432");
        assert_file(fx->dir, "hier/memory/aio/sbx/memory.memsw.limit_in_bytes", "33554432");
        assert_file(fx->dir, "hier/pids/aio/sbx/pids.max", "16");
        assert_file(fx->dir, "hier/cpu,cpuacct/aio/sbx/cpu.cfs_period_us", "100000");
        assert_file(fx->dir, "hier/cpu,cpuacct/aio/sbx/cpu.cfs_quota_us", "50000");
        assert_true(have(fx->dir, "hier/free zer/aio/sbx/freezer.state"));
        assert_false(have(fx->dir, "hier/systemd/aio")); /* named hierarchies are not ours */
        assert_false(have(fx->dir, "elsewhere"));
        assert_int_equal(rt_cgroup_fd(cg), -1);
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        assert_false(have(fx->dir, "hier/memory/aio/sbx"));
        assert_false(have(fx->dir, "hier/pids/aio/sbx"));
        assert_false(have(fx->dir, "hier/cpu,cpuacct/aio/sbx"));
        assert_false(have(fx->dir, "hier/free zer/aio/sbx"));
        assert_true(have(fx->dir, "hier/memory/aio"));
}

static void test_v1_swap(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup_limits swap = {.memory = 32 * MiB, .memory_swap = 48 * MiB};
        struct rt_cgroup_limits quota = {.cpu_quota = 20000};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "w", &swap, 0, &cg, &err), 0);
        assert_file(fx->dir, "hier/memory/aio/w/memory.limit_in_bytes", "33554432");
        assert_file(fx->dir, "hier/memory/aio/w/memory.memsw.limit_in_bytes", "50331648");
        assert_file(fx->dir, "hier/pids/aio/w/pids.max", "");
        assert_file(fx->dir, "hier/cpu,cpuacct/aio/w/cpu.cfs_quota_us", "");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        /* No memsw file (swap accounting off): skipped. */
        assert_int_equal(unlink(path_of(fx->dir, "hier/memory/memory.memsw.limit_in_bytes")), 0);
        assert_int_equal(unlink(path_of(fx->dir, "hier/memory/aio/memory.memsw.limit_in_bytes")),
                         0);
        assert_int_equal(rt_cgroup_create_at(&fx->host, "w", &lim_std, 0, &cg, &err), 0);
        assert_file(fx->dir, "hier/memory/aio/w/memory.limit_in_bytes", "33554432");
        assert_false(have(fx->dir, "hier/memory/aio/w/memory.memsw.limit_in_bytes"));
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        /* A quota without a period gets the default period. */
        assert_int_equal(rt_cgroup_create_at(&fx->host, "q", &quota, 0, &cg, &err), 0);
        assert_file(fx->dir, "hier/cpu,cpuacct/aio/q/cpu.cfs_period_us", "100000");
        assert_file(fx->dir, "hier/cpu,cpuacct/aio/q/cpu.cfs_quota_us", "20000");
        assert_file(fx->dir, "hier/memory/aio/q/memory.limit_in_bytes", "");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v1_comounted(void **state)
{
        struct fx *fx = fx_new();
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        char mi[512];

        *state = fx;
        put(fx->dir, "h/mp/cgroup.procs", "");
        put(fx->dir, "h/mp/memory.limit_in_bytes", "");
        put(fx->dir, "h/mp/pids.max", "");
        (void)snprintf(mi, sizeof(mi), "5 1 0:9 / %s/h/mp rw - cgroup cgroup rw,memory,pids\n",
                       fx->dir);
        put(fx->dir, "mountinfo", mi);
        fx_probe(fx, path_of(fx->dir, "h"));
        assert_int_equal(rt_cgroup_create_at(&fx->host, "c",
                                             &(struct rt_cgroup_limits){.memory = MiB, .pids = 3},
                                             0, &cg, &err),
                         0);
        assert_file(fx->dir, "h/mp/aio/c/memory.limit_in_bytes", "1048576");
        assert_file(fx->dir, "h/mp/aio/c/pids.max", "3");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        assert_false(have(fx->dir, "h/mp/aio/c"));
        cg = NULL;
        /* No cpu hierarchy: a cpu limit is refused, nothing is left. */
        assert_int_equal(rt_cgroup_create_at(&fx->host, "d", &lim_std, 0, &cg, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "cpu"));
        assert_false(have(fx->dir, "h/mp/aio/d"));
}

static void test_v1_missing_hierarchy(void **state)
{
        struct fx *fx = fx_new();
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        char mi[512];

        *state = fx;
        put(fx->dir, "h/memory/memory.limit_in_bytes", "");
        (void)snprintf(mi, sizeof(mi), "5 1 0:9 / %s/h/memory rw - cgroup cgroup rw,memory\n",
                       fx->dir);
        put(fx->dir, "mountinfo", mi);
        fx_probe(fx, path_of(fx->dir, "h"));
        assert_int_equal(rt_cgroup_create_at(&fx->host, "x", NULL, 0, &cg, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "pids"));
        assert_false(have(fx->dir, "h/memory/aio"));
}

static void test_create_cleanup_on_failure(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        /* pids.max is missing: the pids hierarchy is made after memory, and fails. */
        assert_int_equal(unlink(path_of(fx->dir, "hier/pids/pids.max")), 0);
        assert_int_equal(rt_cgroup_create_at(&fx->host, "f", &lim_std, 0, &cg, &err), -ENOENT);
        assert_null(cg);
        assert_non_null(strstr(err.msg, "pids.max"));
        assert_false(have(fx->dir, "hier/memory/aio"));
        assert_false(have(fx->dir, "hier/pids/aio"));
        assert_false(have(fx->dir, "hier/cpu,cpuacct/aio"));
        assert_false(have(fx->dir, "hier/free zer/aio"));
        /* An aio/ that was there before stays; only what create made goes. */
        assert_int_equal(mkdir(path_of(fx->dir, "hier/memory/aio"), 0755), 0);
        put(fx->dir, "hier/memory/aio/other/keep", "");
        assert_int_equal(rt_cgroup_create_at(&fx->host, "f", &lim_std, 0, &cg, &err), -ENOENT);
        assert_true(have(fx->dir, "hier/memory/aio/other/keep"));
        assert_false(have(fx->dir, "hier/memory/aio/f"));
        assert_false(have(fx->dir, "hier/pids/aio"));
}

static void test_create_exists(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL, *cg2 = NULL;
        struct aio_err err;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "dup", &lim_std, 0, &cg, &err), 0);
        assert_int_equal(rt_cgroup_create_at(&fx->host, "dup", &lim_std, 0, &cg2, &err), -EEXIST);
        assert_null(cg2);
        /* The first one is untouched by the failed second. */
        assert_file(fx->dir, "hier/memory/aio/dup/memory.limit_in_bytes", "33554432");
        assert_true(have(fx->dir, "hier/pids/aio/dup/pids.max"));
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
        assert_false(have(fx->dir, "hier/memory/aio/dup"));
}

static size_t count_entries(const char *dir)
{
        cleanup_dir DIR *d = opendir(dir);
        size_t n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        return n;
}

static void test_hostile_names(void **state)
{
        static const char *const names[] = {"..",          "../../escape", "a/../../escape",
                                            "/tmp/escape", "escape/..",    ".",
                                            "a/b",         "x\n",          ""};
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        size_t before = count_entries(path_of(fx->dir, "hier/memory"));

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                assert_int_equal(rt_cgroup_create_at(&fx->host, names[i], NULL, 0, &cg, &err),
                                 -EINVAL);
                assert_int_equal(rt_cgroup_remove_stale_at(&fx->host, names[i], &err), -EINVAL);
        }
        assert_int_equal(rt_cgroup_create_at(&fx->host, NULL, NULL, 0, &cg, &err), -EINVAL);
        assert_null(cg);
        assert_int_equal(count_entries(path_of(fx->dir, "hier/memory")), before);
        assert_false(have(fx->dir, "escape"));
        assert_false(have(fx->dir, "hier/escape"));
}

static void test_symlinked_parent(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        /* A planted hier/pids/aio -> outside: create must not follow it, and must undo the
         * memory hierarchy it had already made. */
        assert_int_equal(mkdir(path_of(fx->dir, "outside"), 0755), 0);
        assert_int_equal(symlink(path_of(fx->dir, "outside"), path_of(fx->dir, "hier/pids/aio")),
                         0);
        assert_true(rt_cgroup_create_at(&fx->host, "s", NULL, 0, &cg, &err) < 0);
        assert_int_equal(count_entries(path_of(fx->dir, "outside")), 2);
        assert_false(have(fx->dir, "hier/memory/aio"));
}

static void test_limits_invalid(void **state)
{
        static const struct rt_cgroup_limits bad[] = {
                {.memory = -1},
                {.pids = -5},
                {.cpu_quota = -1},
                {.cpu_period = -1},
                {.memory_swap = -1, .memory = MiB},
                {.memory_swap = 2 * MiB},                /* swap without memory */
                {.memory = 2 * MiB, .memory_swap = MiB}, /* memory+swap below memory */
        };
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(rt_cgroup_create_at(&fx->host, "l", &bad[i], 0, &cg, &err),
                                 -EINVAL);
        assert_null(cg);
        assert_false(have(fx->dir, "hier/memory/aio"));
}

static pid_t spawn_pause(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

static int reap(pid_t pid)
{
        int st = 0;
        pid_t got = waitpid(pid, &st, 0);

        assert_true(got > 0 && (pid < 0 || got == pid));
        return st;
}

static void test_add_pid(void **state)
{
        static const char *const procs[] = {
                "hier/memory/aio/p/cgroup.procs", "hier/pids/aio/p/cgroup.procs",
                "hier/cpu,cpuacct/aio/p/cgroup.procs", "hier/free zer/aio/p/cgroup.procs"};
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        pid_t child = spawn_pause();
        char want[32];

        assert_int_equal(rt_cgroup_create_at(&fx->host, "p", NULL, 0, &cg, &err), 0);
        assert_int_equal(rt_cgroup_add_pid(cg, 0, &err), -EINVAL);
        assert_int_equal(rt_cgroup_add_pid(cg, -1, &err), -EINVAL);
        assert_int_equal(rt_cgroup_add_pid(cg, child, &err), 0);
        (void)snprintf(want, sizeof(want), "%d", (int)child);
        for (size_t i = 0; i < ELEMENTSOF(procs); i++)
                assert_file(fx->dir, procs[i], want);
        assert_int_equal(kill(child, SIGKILL), 0);
        (void)reap(child);
        for (size_t i = 0; i < ELEMENTSOF(procs); i++)
                put(fx->dir, procs[i], "");
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v1_events(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup_events ev;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "ev", NULL, 0, &cg, &err), 0);
        put(fx->dir, "hier/memory/aio/ev/memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n");
        put(fx->dir, "hier/pids/aio/ev/pids.events", "max 3\n");
        assert_int_equal(rt_cgroup_events(cg, &ev, &err), 0);
        assert_int_equal(ev.oom_kills, 7);
        assert_int_equal(ev.pids_limit, 3);
        /* Kernels before 4.13 have no oom_kill line. */
        put(fx->dir, "hier/memory/aio/ev/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
        assert_int_equal(rt_cgroup_events(cg, &ev, &err), 0);
        assert_int_equal(ev.oom_kills, 0);
        assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_v1_kill_fake(void **state)
{
        struct fx *fx = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        pid_t child = spawn_pause();
        char line[64];
        int st;

        assert_int_equal(rt_cgroup_create_at(&fx->host, "k", NULL, 0, &cg, &err), 0);
        assert_int_equal(rt_cgroup_kill(cg, &err), 0);                 /* empty: nothing to do */
        assert_file(fx->dir, "hier/free zer/aio/k/freezer.state", ""); /* not even frozen */
        /* A listed process is SIGKILLed; the fake list never empties, so kill gives up in time.
         * pid 1 and the caller itself are listed too and must survive. */
        (void)snprintf(line, sizeof(line), "1\n%d\n%d\n", (int)getpid(), (int)child);
        put(fx->dir, "hier/free zer/aio/k/cgroup.procs", line);
        assert_int_equal(rt_cgroup_kill(cg, &err), -ETIMEDOUT);
        st = reap(child);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        assert_file(fx->dir, "hier/free zer/aio/k/freezer.state", "THAWED");
        /* destroy reports the failed kill, and still removes and frees. */
        put(fx->dir, "hier/free zer/aio/k/cgroup.procs", "1\n");
        assert_int_equal(rt_cgroup_destroy(cg, &err), -ETIMEDOUT);
}

static void test_remove_stale_fake(void **state)
{
        struct fx *fx = *state;
        struct aio_err err;

        put(fx->dir, "hier/memory/aio/old/cgroup.procs", "");
        put(fx->dir, "hier/pids/aio/old/cgroup.procs", "");
        put(fx->dir, "hier/pids/aio/keep/cgroup.procs", "");
        assert_int_equal(rt_cgroup_remove_stale_at(&fx->host, "old", &err), 0);
        assert_false(have(fx->dir, "hier/memory/aio/old"));
        assert_false(have(fx->dir, "hier/pids/aio/old"));
        assert_true(have(fx->dir, "hier/pids/aio/keep"));
        assert_int_equal(rt_cgroup_remove_stale_at(&fx->host, "never", &err), 0);
}

/* ---- the real cgroup v1 hierarchies of this host ---- */

struct real {
        char name[RT_CGROUP_NAME_MAX + 1];
        struct rt_cgroup_host host;
};

static int real_setup(void **state)
{
        static int seq;
        struct real *r = calloc(1, sizeof(*r));
        struct aio_err err;

        assert_non_null(r);
        (void)snprintf(r->name, sizeof(r->name), "unit-%d-%d", (int)getpid(), seq++);
        if (rt_cgroup_host_probe(RT_CGROUP_ROOT, RT_CGROUP_MOUNTINFO, &r->host, &err) < 0)
                r->host.driver = _RT_CGROUP_DRIVER_MAX;
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
        *state = r;
        return 0;
}

static int real_teardown(void **state)
{
        struct real *r = *state;
        struct aio_err err;

        (void)rt_cgroup_remove_stale(r->name, &err);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        rt_cgroup_host_done(&r->host);
        free(r);
        return 0;
}

static bool real_usable(const struct real *r)
{
        struct statfs sfs;

        if (geteuid() != 0 || r->host.driver != RT_CGROUP_V1 ||
            !r->host.v1_mount[RT_CGROUP_MEMORY] || !r->host.v1_mount[RT_CGROUP_PIDS])
                return false;
        /* Cross-check detection: a v1 host's /sys/fs/cgroup is not a cgroup2 mount. */
        assert_int_equal(statfs(RT_CGROUP_ROOT, &sfs), 0);
        assert_true(sfs.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */);
        return true;
}

#define SKIP_UNLESS_REAL_V1(r)                                                           \
        do {                                                                             \
                if (!real_usable(r)) {                                                   \
                        print_message("[   SKIP   ] needs root and a cgroup v1 host\n"); \
                        skip();                                                          \
                }                                                                        \
        } while (0)

static const char *real_file(const struct real *r, enum rt_cgroup_ctl c, const char *file)
{
        static char buf[4][512];
        static int next;
        char *p = buf[next++ % 4];

        (void)snprintf(p, sizeof(buf[0]), "%s/aio/%s%s%s", r->host.v1_mount[c], r->name,
                       file ? "/" : "", file ? file : "");
        return p;
}

static void real_assert_file(const struct real *r, enum rt_cgroup_ctl c, const char *file,
                             const char *want)
{
        char got[128];
        struct aio_err err;

        assert_true(aio_read_file(AT_FDCWD, real_file(r, c, file), got, sizeof(got), &err) > 0);
        got[strcspn(got, "\n")] = '\0';
        assert_string_equal(got, want);
}

static void real_assert_gone(const struct real *r)
{
        for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++)
                if (r->host.v1_mount[c] && access(real_file(r, c, NULL), F_OK) == 0)
                        fail_msg("%s still exists", real_file(r, c, NULL));
}

/* /proc/<pid>/cgroup has "N:<controllers>:/aio/<name>" for the memory hierarchy. */
static bool in_cgroup(pid_t pid, const struct real *r)
{
        char path[64], buf[4096], want[128];
        struct aio_err err;

        (void)snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        (void)snprintf(want, sizeof(want), ":memory:/aio/%s\n", r->name);
        return aio_read_file(AT_FDCWD, path, buf, sizeof(buf), &err) > 0 && strstr(buf, want);
}

static void test_real_limits_kill_destroy(void **state)
{
        struct real *r = *state;
        struct rt_cgroup *cg = NULL;
        struct aio_err err = {0};
        pid_t child;
        int st;

        SKIP_UNLESS_REAL_V1(r);
        if (rt_cgroup_create(r->name, &lim_std, 0, &cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        real_assert_file(r, RT_CGROUP_MEMORY, "memory.limit_in_bytes", "33554432");
        if (access(real_file(r, RT_CGROUP_MEMORY, "memory.memsw.limit_in_bytes"), F_OK) == 0)
                real_assert_file(r, RT_CGROUP_MEMORY, "memory.memsw.limit_in_bytes", "33554432");
        real_assert_file(r, RT_CGROUP_PIDS, "pids.max", "16");
        real_assert_file(r, RT_CGROUP_CPU, "cpu.cfs_quota_us", "50000");
        real_assert_file(r, RT_CGROUP_CPU, "cpu.cfs_period_us", "100000");
        assert_int_equal(rt_cgroup_fd(cg), -1);
        child = spawn_pause();
        if (rt_cgroup_add_pid(cg, child, &err) < 0)
                fail_msg("add_pid: %s", err.msg);
        assert_true(in_cgroup(child, r));
        if (rt_cgroup_kill(cg, &err) < 0)
                fail_msg("kill: %s", err.msg);
        st = reap(child);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        if (r->host.v1_mount[RT_CGROUP_FREEZER])
                real_assert_file(r, RT_CGROUP_FREEZER, "freezer.state", "THAWED");
        if (rt_cgroup_destroy(cg, &err) < 0)
                fail_msg("destroy: %s", err.msg);
        real_assert_gone(r);
}

/* Forks a child that waits for a byte on a pipe, then runs fn; returns the pid and the write
 * end in *go. */
static pid_t spawn_gated(void (*fn)(int out), int *go, int *out)
{
        int gate[2], res[2];
        pid_t pid;

        assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
        assert_int_equal(pipe2(res, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char c;

                (void)close(gate[1]);
                (void)close(res[0]);
                if (read(gate[0], &c, 1) != 1)
                        _exit(120);
                fn(res[1]);
                _exit(0);
        }
        (void)close(gate[0]);
        (void)close(res[1]);
        *go = gate[1];
        *out = res[0];
        return pid;
}

static void memory_hog(int out)
{
        size_t len = 128 * MiB;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        (void)out;
        if (p == MAP_FAILED)
                _exit(121);
        for (size_t i = 0; i < len; i += 4096)
                p[i] = 1;
        _exit(0); /* survived: the limit did not hold */
}

static void test_real_oom(void **state)
{
        struct real *r = *state;
        struct rt_cgroup_limits lim = {.memory = 32 * MiB, .pids = 16};
        struct rt_cgroup_events ev = {0};
        struct rt_cgroup *cg = NULL;
        struct aio_err err = {0};
        int go, out, st;
        pid_t child;

        SKIP_UNLESS_REAL_V1(r);
        if (rt_cgroup_create(r->name, &lim, 0, &cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        child = spawn_gated(memory_hog, &go, &out);
        if (rt_cgroup_add_pid(cg, child, &err) < 0)
                fail_msg("add_pid: %s", err.msg);
        assert_int_equal(write(go, "g", 1), 1);
        st = reap(child);
        (void)close(go);
        (void)close(out);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
                fail_msg("hog was not OOM-killed (status 0x%x)", st);
        assert_int_equal(rt_cgroup_events(cg, &ev, &err), 0);
        assert_true(ev.oom_kills >= 1);
        if (rt_cgroup_destroy(cg, &err) < 0)
                fail_msg("destroy: %s", err.msg);
        real_assert_gone(r);
}

/* Forks until refused; every fork pauses. Reports "<forks> <errno>" on out, then waits. */
static void fork_loop(int out)
{
        int n = 0, e = 0;
        char msg[32];

        for (int i = 0; i < 64; i++) {
                pid_t p = fork();

                if (p < 0) {
                        e = errno;
                        break;
                }
                if (p == 0) {
                        for (;;)
                                pause();
                }
                n++;
        }
        (void)snprintf(msg, sizeof(msg), "%d %d", n, e);
        if (write(out, msg, strlen(msg)) < 0)
                _exit(122);
        for (;;)
                pause();
}

static void test_real_pids(void **state)
{
        struct real *r = *state;
        struct rt_cgroup_limits lim = {.pids = 8};
        struct rt_cgroup_events ev = {0};
        struct rt_cgroup *cg = NULL;
        struct aio_err err = {0};
        int go, out, n = -1, e = -1;
        char msg[32] = "", *end;
        pid_t child;

        SKIP_UNLESS_REAL_V1(r);
        if (rt_cgroup_create(r->name, &lim, 0, &cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        child = spawn_gated(fork_loop, &go, &out);
        if (rt_cgroup_add_pid(cg, child, &err) < 0)
                fail_msg("add_pid: %s", err.msg);
        assert_int_equal(write(go, "g", 1), 1);
        assert_true(read(out, msg, sizeof(msg) - 1) > 0);
        n = (int)strtol(msg, &end, 10);
        assert_true(end != msg && *end == ' ');
        e = (int)strtol(end + 1, &end, 10);
        assert_true(*end == '\0');
        assert_int_equal(n, 7); /* 8 tasks: the looping child and 7 forks */
        assert_int_equal(e, EAGAIN);
        assert_int_equal(rt_cgroup_events(cg, &ev, &err), 0);
        assert_true(ev.pids_limit >= 1);
        real_assert_file(r, RT_CGROUP_PIDS, "pids.current", "8");
        if (rt_cgroup_kill(cg, &err) < 0)
                fail_msg("kill: %s", err.msg);
        assert_true(WIFSIGNALED(reap(child)));
        /* The 7 orphans were reparented to us (subreaper); pids stay charged until reaped. */
        for (int i = 0; i < 7; i++)
                assert_true(WIFSIGNALED(reap(-1)));
        real_assert_file(r, RT_CGROUP_PIDS, "pids.current", "0");
        if (rt_cgroup_destroy(cg, &err) < 0)
                fail_msg("destroy: %s", err.msg);
        real_assert_gone(r);
        (void)close(go);
        (void)close(out);
}

/* The split on this host's v1 hierarchies: a process in api, another moved into work by
 * writing "0" through the fd aio-apid gets; the memory bomb dies there and is counted. */
static void test_real_split(void **state)
{
        struct real *r = *state;
        struct rt_cgroup_limits lim = {.memory = 32 * MiB, .pids = 16};
        struct rt_cgroup_events ev = {0};
        struct rt_cgroup *cg = NULL;
        struct aio_err err = {0};
        int fds[RT_CGROUP_WORK_FDS_MAX], go, out, st;
        char api_pid[16];
        size_t n = 0;
        pid_t api, hog;

        SKIP_UNLESS_REAL_V1(r);
        if (rt_cgroup_create(r->name, &lim, RT_CGROUP_SPLIT, &cg, &err) < 0)
                fail_msg("create: %s", err.msg);
        real_assert_file(r, RT_CGROUP_MEMORY, "work/memory.limit_in_bytes", "33554432");
        real_assert_file(r, RT_CGROUP_PIDS, "work/pids.max", "16");
        real_assert_file(r, RT_CGROUP_PIDS, "api/pids.max", "4096");
        api = spawn_pause();
        if (rt_cgroup_add_pid(cg, api, &err) < 0)
                fail_msg("add_pid: %s", err.msg);
        (void)snprintf(api_pid, sizeof(api_pid), "%d", (int)api);
        real_assert_file(r, RT_CGROUP_MEMORY, "api/cgroup.procs", api_pid);
        if (rt_cgroup_work_open(cg, fds, RT_CGROUP_WORK_FDS_MAX, &n, &err) < 0)
                fail_msg("work_open: %s", err.msg);
        assert_true(n >= 4);
        hog = spawn_gated(memory_hog, &go, &out);
        /* what aio-apid's child does between fork and exec, here done for it */
        for (size_t i = 0; i + 2 < n; i++) {
                char pid[16];
                int len = snprintf(pid, sizeof(pid), "%d", (int)hog);

                assert_int_equal(write(fds[i], pid, (size_t)len), len);
        }
        assert_int_equal(write(go, "g", 1), 1);
        st = reap(hog);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        if (rt_cgroup_events(cg, &ev, &err) < 0)
                fail_msg("events: %s", err.msg);
        assert_true(ev.oom_kills >= 1);
        /* the process in api was not touched */
        assert_int_equal(kill(api, 0), 0);
        for (size_t i = 0; i < n; i++)
                (void)close(fds[i]);
        (void)close(go);
        (void)close(out);
        if (rt_cgroup_destroy(cg, &err) < 0)
                fail_msg("destroy: %s", err.msg);
        st = reap(api);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        real_assert_gone(r);
}

static void test_real_remove_stale(void **state)
{
        struct real *r = *state;
        struct aio_err err = {0};
        int ready[2], st;
        pid_t launcher, sleeper = 0;

        SKIP_UNLESS_REAL_V1(r);
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        /* A "launcher" creates the cgroup, puts a process in it and dies without cleaning up. */
        launcher = fork();
        assert_true(launcher >= 0);
        if (launcher == 0) {
                struct rt_cgroup *cg = NULL;
                pid_t s;

                if (rt_cgroup_create(r->name, &lim_std, 0, &cg, &err) < 0)
                        _exit(1);
                s = fork();
                if (s == 0) {
                        for (;;)
                                pause();
                }
                if (s < 0 || rt_cgroup_add_pid(cg, s, &err) < 0)
                        _exit(2);
                if (write(ready[1], &s, sizeof(s)) != sizeof(s))
                        _exit(3);
                _exit(0);
        }
        (void)close(ready[1]);
        st = reap(launcher);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(read(ready[0], &sleeper, sizeof(sleeper)), sizeof(sleeper));
        (void)close(ready[0]);
        assert_true(in_cgroup(sleeper, r));
        if (rt_cgroup_remove_stale(r->name, &err) < 0)
                fail_msg("remove_stale: %s", err.msg);
        real_assert_gone(r);
        st = reap(sleeper); /* reparented to us: we are a subreaper */
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        assert_int_equal(rt_cgroup_remove_stale(r->name, &err), 0);
}

static void test_real_create_rejected(void **state)
{
        struct real *r = *state;
        struct rt_cgroup_limits lim = {.memory = 32 * MiB, .pids = 4, .cpu_quota = 500};
        struct rt_cgroup *cg = NULL;
        struct aio_err err = {0};

        SKIP_UNLESS_REAL_V1(r);
        /* The kernel refuses a quota below 1 ms: everything made so far must go. */
        assert_int_equal(rt_cgroup_create(r->name, &lim, 0, &cg, &err), -EINVAL);
        assert_null(cg);
        assert_non_null(strstr(err.msg, "cpu.cfs_quota_us"));
        real_assert_gone(r);
}

#define FAKE_V1(f) cmocka_unit_test_setup_teardown(f, v1_setup, fx_teardown)
#define FAKE_V2(f) cmocka_unit_test_setup_teardown(f, v2_setup, fx_teardown)
#define FAKE(f)    cmocka_unit_test_teardown(f, fx_teardown)
#define REAL(f)    cmocka_unit_test_setup_teardown(f, real_setup, real_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name_check),
                cmocka_unit_test(test_driver_strings),
                FAKE(test_detect),
                FAKE(test_mountinfo_parse),
                FAKE(test_mountinfo_separate_cpu),
                FAKE_V2(test_v2_create_writes),
                FAKE_V2(test_v2_split),
                FAKE_V2(test_v2_defaults_and_swap),
                FAKE_V2(test_v2_swap_file_missing),
                FAKE_V2(test_v2_already_enabled),
                FAKE_V2(test_v2_missing_controllers),
                FAKE_V2(test_v2_kill_and_events),
                FAKE_V1(test_v1_create_writes),
                FAKE_V1(test_v1_swap),
                FAKE(test_v1_comounted),
                FAKE(test_v1_missing_hierarchy),
                FAKE_V1(test_create_cleanup_on_failure),
                FAKE_V1(test_create_exists),
                FAKE_V1(test_hostile_names),
                FAKE_V1(test_symlinked_parent),
                FAKE_V1(test_limits_invalid),
                FAKE_V1(test_add_pid),
                FAKE_V1(test_v1_events),
                FAKE_V1(test_v1_kill_fake),
                FAKE_V1(test_remove_stale_fake),
                REAL(test_real_limits_kill_destroy),
                REAL(test_real_oom),
                REAL(test_real_pids),
                REAL(test_real_remove_stale),
                REAL(test_real_split),
                REAL(test_real_create_rejected),
        };

        return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
