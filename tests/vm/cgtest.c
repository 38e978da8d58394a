/* cgtest: proves the cgroup v2 driver (runtime/cgroup.c) under a real kernel booted with
 * cgroup_no_v1=all. Built static by tools/vm/run.sh and run from the initramfs as root at the
 * root cgroup. Prints one "VMTEST PASS name" / "VMTEST FAIL name: reason" line per test and
 * exits 0 only when every test passed. Also runs on any pure-v2 host as root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/common/err.h"
#include "runtime/common/fileio.h"

#include "runtime/cgroup.h"

#define MiB     (1024 * 1024LL)
#define CG_ROOT "/sys/fs/cgroup"

struct vmtest {
        const char *name;
        int (*run)(const char *name, char *why, size_t len);
};

static int failf(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *why, size_t len, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(why, len, fmt, ap);
        va_end(ap);
        return -1;
}

#define CHECK(cond, ...)                                     \
        do {                                                 \
                if (!(cond))                                 \
                        return failf(why, len, __VA_ARGS__); \
        } while (0)
#define CHECK_OK(call, what)                                             \
        do {                                                             \
                if ((call) < 0)                                          \
                        return failf(why, len, "%s: %s", what, err.msg); \
        } while (0)

/* <CG_ROOT>/aio/<name>/<file> (file may be NULL) in a rotating static buffer. */
static const char *cg_path(const char *name, const char *file)
{
        static char buf[4][256];
        static int next;
        char *p = buf[next++ % 4];

        (void)snprintf(p, sizeof(buf[0]), CG_ROOT "/aio/%s%s%s", name, file ? "/" : "",
                       file ? file : "");
        return p;
}

/* The file's first line, or "<missing>". */
static const char *first_line(const char *path)
{
        static char buf[4096];
        struct aio_err err;

        if (aio_read_file(AT_FDCWD, path, buf, sizeof(buf), &err) < 0)
                return "<missing>";
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

static bool exists(const char *path)
{
        return access(path, F_OK) == 0;
}

static int count_procs(const char *name)
{
        FILE *f = fopen(cg_path(name, "cgroup.procs"), "re");
        char line[64];
        int n = 0;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                n++;
        (void)fclose(f);
        return n;
}

/* clone3(CLONE_INTO_CGROUP): the child starts inside the cgroup, no window outside it. */
static pid_t clone_into(int cgroup_fd)
{
        struct clone_args args = {
                .flags = CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t)cgroup_fd,
        };

        (void)fflush(stdout);
        return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int reap(pid_t pid)
{
        int st = 0;

        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return st;
}

static bool killed_by_sigkill(int st)
{
        return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static void reap_orphans(void)
{
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* In the child: exits 3 unless /proc/self/cgroup says "0::/aio/<name>". */
static void child_check_cgroup(const char *name)
{
        char want[128];

        (void)snprintf(want, sizeof(want), "0::/aio/%s", name);
        if (strcmp(first_line("/proc/self/cgroup"), want) != 0)
                _exit(3);
}

static void child_pause(void)
{
        for (;;)
                pause();
}

static int t_detect(const char *name, char *why, size_t len)
{
        enum rt_cgroup_driver d = _RT_CGROUP_DRIVER_MAX;
        struct aio_err err;
        struct statfs sfs;

        (void)name;
        CHECK(statfs(CG_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC,
              CG_ROOT " is not a cgroup2 mount");
        CHECK_OK(rt_cgroup_detect(NULL, &d, &err), "detect");
        CHECK(d == RT_CGROUP_V2, "detect says %s", rt_cgroup_driver_to_string(d));
        return 0;
}

static int t_create_limits(const char *name, char *why, size_t len)
{
        struct rt_cgroup_limits lim = {
                .memory = 32 * MiB, .pids = 16, .cpu_quota = 50000, .cpu_period = 100000};
        static const char *const want[][2] = {
                {"memory.max", "33554432"},  {"memory.swap.max", "0"},  {"pids.max", "16"},
                {"cpu.max", "50000 100000"}, {"memory.oom.group", "1"},
        };
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        struct stat a, b;
        const char *sub;

        CHECK_OK(rt_cgroup_create(name, &lim, 0, &cg, &err), "create");
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const char *got = first_line(cg_path(name, want[i][0]));

                CHECK(strcmp(got, want[i][1]) == 0, "%s is '%s', want '%s'", want[i][0], got,
                      want[i][1]);
        }
        sub = first_line(CG_ROOT "/aio/cgroup.subtree_control");
        CHECK(strstr(sub, "memory") && strstr(sub, "pids") && strstr(sub, "cpu"),
              "aio/cgroup.subtree_control is '%s'", sub);
        CHECK(fstat(rt_cgroup_fd(cg), &a) == 0 && stat(cg_path(name, NULL), &b) == 0 &&
                      a.st_ino == b.st_ino && S_ISDIR(a.st_mode),
              "rt_cgroup_fd is not the cgroup directory");
        CHECK_OK(rt_cgroup_destroy(cg, &err), "destroy");
        CHECK(!exists(cg_path(name, NULL)), "directory left after destroy");
        return 0;
}

static void memory_hog(const char *name)
{
        size_t size = 128 * MiB;
        char *p;

        child_check_cgroup(name);
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                _exit(4);
        for (size_t i = 0; i < size; i += 4096)
                p[i] = 1;
        _exit(0); /* survived 128 MiB in a 32 MiB cgroup: the limit did not hold */
}

static int t_oom(const char *name, char *why, size_t len)
{
        struct rt_cgroup_limits lim = {.memory = 32 * MiB, .pids = 16};
        struct rt_cgroup_events ev = {0};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        pid_t pid;
        int st;

        CHECK_OK(rt_cgroup_create(name, &lim, 0, &cg, &err), "create");
        pid = clone_into(rt_cgroup_fd(cg));
        if (pid == 0)
                memory_hog(name);
        CHECK(pid > 0, "clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
        st = reap(pid);
        CHECK(killed_by_sigkill(st), "hog not OOM-killed (wait status 0x%x)", st);
        CHECK_OK(rt_cgroup_events(cg, &ev, &err), "events");
        CHECK(ev.oom_kills >= 1, "memory.events oom_kill is %llu",
              (unsigned long long)ev.oom_kills);
        CHECK_OK(rt_cgroup_destroy(cg, &err), "destroy");
        CHECK(!exists(cg_path(name, NULL)), "directory left after destroy");
        return 0;
}

/* Forks (every fork pauses) until refused, reports "<forks> <errno>" on out, then pauses. */
static void fork_bomb(const char *name, int out)
{
        int n = 0, e = 0;
        char msg[32];

        child_check_cgroup(name);
        for (int i = 0; i < 256; i++) {
                pid_t p = fork();

                if (p < 0) {
                        e = errno;
                        break;
                }
                if (p == 0)
                        child_pause();
                n++;
        }
        (void)snprintf(msg, sizeof(msg), "%d %d", n, e);
        if (write(out, msg, strlen(msg)) < 0)
                _exit(5);
        child_pause();
}

/* Parses "<forks> <errno>" as sent by fork_bomb. */
static bool parse_report(const char *msg, long *forks, long *err_no)
{
        char *end;

        *forks = strtol(msg, &end, 10);
        if (end == msg || *end != ' ')
                return false;
        *err_no = strtol(end + 1, &end, 10);
        return *end == '\0';
}

/* Starts fork_bomb in cg; returns its pid and how many forks it made before being refused. */
static pid_t bomb_start(struct rt_cgroup *cg, const char *name, long *forks, long *err_no)
{
        char msg[32] = "";
        int res[2];
        pid_t pid;

        if (pipe2(res, O_CLOEXEC) < 0)
                return -1;
        pid = clone_into(rt_cgroup_fd(cg));
        if (pid == 0)
                fork_bomb(name, res[1]);
        (void)close(res[1]);
        if (pid > 0 &&
            (read(res[0], msg, sizeof(msg) - 1) <= 0 || !parse_report(msg, forks, err_no)))
                *forks = *err_no = -1;
        (void)close(res[0]);
        return pid;
}

/* After the bomb: kill, every process SIGKILLed (the orphans came to us as subreaper), gone. */
static int pids_finish(struct rt_cgroup *cg, const char *name, pid_t bomb, long orphans, char *why,
                       size_t len)
{
        struct aio_err err;

        CHECK_OK(rt_cgroup_kill(cg, &err), "kill");
        CHECK(killed_by_sigkill(reap(bomb)), "the bomb was not SIGKILLed");
        for (long i = 0; i < orphans; i++)
                CHECK(killed_by_sigkill(reap(-1)), "an orphan of the bomb was not SIGKILLed");
        CHECK_OK(rt_cgroup_destroy(cg, &err), "destroy");
        CHECK(!exists(cg_path(name, NULL)), "directory left after destroy");
        return 0;
}

static int t_pids(const char *name, char *why, size_t len)
{
        struct rt_cgroup_limits lim = {.memory = 64 * MiB, .pids = 16};
        struct rt_cgroup_events ev = {0};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        long n = -1, e = -1;
        pid_t pid;

        CHECK_OK(rt_cgroup_create(name, &lim, 0, &cg, &err), "create");
        pid = bomb_start(cg, name, &n, &e);
        CHECK(pid > 0, "clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
        CHECK(n == 15 && e == EAGAIN,
              "fork bomb made %ld forks, stopped by errno %ld (want 15, EAGAIN)", n, e);
        CHECK(strcmp(first_line(cg_path(name, "pids.current")), "16") == 0, "pids.current is %s",
              first_line(cg_path(name, "pids.current")));
        CHECK_OK(rt_cgroup_events(cg, &ev, &err), "events");
        CHECK(ev.pids_limit >= 1, "pids.events max is %llu", (unsigned long long)ev.pids_limit);
        return pids_finish(cg, name, pid, n, why, len);
}

/* Starts n children in cg, each with a grandchild; all pause. Returns how many started. */
static int spawn_families(struct rt_cgroup *cg, pid_t *kids, int n)
{
        for (int i = 0; i < n; i++) {
                kids[i] = clone_into(rt_cgroup_fd(cg));
                if (kids[i] == 0) {
                        if (fork() == 0) /* a grandchild too: cgroup.kill reaches it */
                                child_pause();
                        child_pause();
                }
                if (kids[i] < 0)
                        return i;
        }
        return n;
}

static int wait_procs(const char *name, int want)
{
        int n = count_procs(name);

        for (int i = 0; i < 200 && n != want; i++) {
                (void)usleep(10000);
                n = count_procs(name);
        }
        return n;
}

static bool all_sigkilled(const pid_t *pids, int n)
{
        for (int i = 0; i < n; i++)
                if (!killed_by_sigkill(reap(pids[i])))
                        return false;
        return true;
}

static int t_kill(const char *name, char *why, size_t len)
{
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        pid_t kids[3];
        int n;

        CHECK_OK(rt_cgroup_create(name, &(struct rt_cgroup_limits){.pids = 32}, 0, &cg, &err),
                 "create");
        CHECK(spawn_families(cg, kids, 3) == 3, "clone3: %s", strerror(errno));
        n = wait_procs(name, 6);
        CHECK(n == 6, "cgroup.procs lists %d processes, want 6", n);
        CHECK_OK(rt_cgroup_kill(cg, &err), "kill");
        CHECK(count_procs(name) == 0, "cgroup.procs not empty after kill");
        CHECK(strcmp(first_line(cg_path(name, "cgroup.events")), "populated 0") == 0,
              "cgroup.events: %s", first_line(cg_path(name, "cgroup.events")));
        CHECK(all_sigkilled(kids, 3), "a child was not SIGKILLed");
        CHECK_OK(rt_cgroup_destroy(cg, &err), "destroy");
        return 0;
}

static int t_destroy(const char *name, char *why, size_t len)
{
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        pid_t pid;

        CHECK_OK(rt_cgroup_create(name, NULL, 0, &cg, &err), "create");
        pid = clone_into(rt_cgroup_fd(cg));
        if (pid == 0)
                child_pause();
        CHECK(pid > 0, "clone3: %s", strerror(errno));
        CHECK(exists(cg_path(name, NULL)), "cgroup directory missing");
        /* destroy with a live process inside: kills it, then removes the directory. */
        CHECK_OK(rt_cgroup_destroy(cg, &err), "destroy");
        CHECK(!exists(cg_path(name, NULL)), "directory left after destroy");
        CHECK(killed_by_sigkill(reap(pid)), "process inside not SIGKILLed");
        CHECK(exists(CG_ROOT "/aio"), "the shared aio/ parent was removed");
        return 0;
}

/* A launcher creates the cgroup, starts a process in it and dies without cleaning up. */
static void crashing_launcher(const char *name, int out)
{
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        pid_t pid;

        if (rt_cgroup_create(name, NULL, 0, &cg, &err) < 0)
                _exit(1);
        pid = clone_into(rt_cgroup_fd(cg));
        if (pid == 0)
                child_pause();
        if (pid < 0 || write(out, &pid, sizeof(pid)) != sizeof(pid))
                _exit(2);
        _exit(0);
}

/* Runs crashing_launcher in a child; returns the pid of the process it left behind, or -1. */
static pid_t run_crashing_launcher(const char *name)
{
        pid_t launcher, sleeper = -1;
        int res[2], st;

        if (pipe2(res, O_CLOEXEC) < 0)
                return -1;
        (void)fflush(stdout);
        launcher = fork();
        if (launcher == 0)
                crashing_launcher(name, res[1]);
        (void)close(res[1]);
        st = launcher > 0 ? reap(launcher) : -1;
        if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            read(res[0], &sleeper, sizeof(sleeper)) != sizeof(sleeper))
                sleeper = -1;
        (void)close(res[0]);
        return sleeper;
}

static int t_remove_stale(const char *name, char *why, size_t len)
{
        struct aio_err err;
        pid_t sleeper = run_crashing_launcher(name);

        CHECK(sleeper > 0, "the crashing launcher did not set up its cgroup");
        CHECK(exists(cg_path(name, NULL)), "the stale cgroup is not there");
        CHECK_OK(rt_cgroup_remove_stale(name, &err), "remove_stale");
        CHECK(!exists(cg_path(name, NULL)), "stale directory left");
        CHECK(killed_by_sigkill(reap(sleeper)), "the stale process was not SIGKILLed");
        CHECK_OK(rt_cgroup_remove_stale(name, &err), "remove_stale of nothing");
        return 0;
}

static int t_rollback(const char *name, char *why, size_t len)
{
        struct rt_cgroup_limits lim = {.memory = 32 * MiB, .pids = 4, .cpu_quota = 500};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        int r;

        /* The kernel refuses a quota below 1 ms, after memory and pids were written. */
        r = rt_cgroup_create(name, &lim, 0, &cg, &err);
        CHECK(r == -EINVAL, "create returned %d (%s), want -EINVAL", r, err.msg);
        CHECK(cg == NULL, "ret was written on failure");
        CHECK(!exists(cg_path(name, NULL)), "directory left after a failed create");
        return 0;
}

static int t_hostile_names(const char *name, char *why, size_t len)
{
        static const char *const bad[] = {"..", "../escape", "a/../../escape", "/escape", ".", ""};
        struct rt_cgroup *cg = NULL;
        struct aio_err err;

        (void)name;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = rt_cgroup_create(bad[i], NULL, 0, &cg, &err);

                CHECK(r == -EINVAL, "create('%s') returned %d", bad[i], r);
                r = rt_cgroup_remove_stale(bad[i], &err);
                CHECK(r == -EINVAL, "remove_stale('%s') returned %d", bad[i], r);
        }
        CHECK(!exists(CG_ROOT "/escape") && !exists("/escape"), "a directory escaped aio/");
        return 0;
}

/* aio-run up's split under v2: pid 1's stand-in is cloned into api; a child of it, unprivileged
 * and in a cgroup namespace rooted at api (as aio-apid's children are), moves itself into work
 * through the fd opened here, then is OOM-killed there; api's process is untouched. */
static void split_child(int procs_fd)
{
        size_t size = 128 * MiB;
        char *p;

        if (unshare(CLONE_NEWCGROUP) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
                _exit(5);
        if (write(procs_fd, "0", 1) != 1)
                _exit(6);
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                _exit(4);
        for (size_t i = 0; i < size; i += 4096)
                p[i] = 1;
        _exit(0);
}

static int t_split(const char *name, char *why, size_t len)
{
        struct rt_cgroup_limits lim = {.memory = 32 * MiB, .pids = 16};
        struct rt_cgroup_events ev = {0};
        int fds[RT_CGROUP_WORK_FDS_MAX], st;
        struct rt_cgroup *cg = NULL;
        struct aio_err err;
        size_t n = 0;
        pid_t api, hog;

        CHECK_OK(rt_cgroup_create(name, &lim, RT_CGROUP_SPLIT, &cg, &err), "create");
        CHECK(strcmp(first_line(cg_path(name, "work/memory.max")), "33554432") == 0 &&
                      strcmp(first_line(cg_path(name, "api/pids.max")), "4096") == 0 &&
                      strcmp(first_line(cg_path(name, "memory.max")), "max") == 0,
              "limits not on the work leaf");
        CHECK_OK(rt_cgroup_work_open(cg, fds, RT_CGROUP_WORK_FDS_MAX, &n, &err), "work_open");
        CHECK(n == 3, "%zu work fds", n);
        api = clone_into(rt_cgroup_fd(cg));
        if (api == 0)
                child_pause();
        CHECK(api > 0, "clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
        hog = clone_into(rt_cgroup_fd(cg));
        if (hog == 0)
                split_child(fds[0]);
        CHECK(hog > 0, "clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
        st = reap(hog);
        CHECK(killed_by_sigkill(st), "hog not OOM-killed in work (wait status 0x%x)", st);
        CHECK_OK(rt_cgroup_events(cg, &ev, &err), "events");
        CHECK(ev.oom_kills >= 1, "work memory.events oom_kill is %llu",
              (unsigned long long)ev.oom_kills);
        CHECK(kill(api, 0) == 0, "the api leaf's process died");
        for (size_t i = 0; i < n; i++)
                (void)close(fds[i]);
        CHECK_OK(rt_cgroup_destroy(cg, &err), "destroy");
        st = reap(api);
        CHECK(killed_by_sigkill(st), "api process not killed by destroy");
        CHECK(!exists(cg_path(name, NULL)), "directory left after destroy");
        return 0;
}

static const struct vmtest tests[] = {
        {"cg-detect-v2", t_detect},
        {"cg-create-limits", t_create_limits},
        {"cg-oom-kill", t_oom},
        {"cg-pids-max", t_pids},
        {"cg-kill", t_kill},
        {"cg-destroy", t_destroy},
        {"cg-remove-stale", t_remove_stale},
        {"cg-create-rollback", t_rollback},
        {"cg-hostile-names", t_hostile_names},
        {"cg-split-leaves", t_split},
};

int main(void)
{
        int failed = 0;

        (void)setvbuf(stdout, NULL, _IOLBF, 0);
        /* Orphans of the tests' process trees come back to us to be reaped. */
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
                char why[512] = "";
                struct aio_err err;

                if (tests[i].run(tests[i].name, why, sizeof(why)) == 0) {
                        printf("VMTEST PASS %s\n", tests[i].name);
                } else {
                        printf("VMTEST FAIL %s: %s\n", tests[i].name, why);
                        failed++;
                }
                (void)rt_cgroup_remove_stale(tests[i].name, &err);
                reap_orphans();
        }
        return failed ? 1 : 0;
}
