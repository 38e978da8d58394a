/* The compiler, proven by behaviour: each probe forks a child that loads the compiled filter with
 * seccomp(2), as aio-run does, makes one syscall and reports the result. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h> /* before cmocka.h, whatever order unit.h ends up in */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"

#include "policy/bpf.h"
#include "policy/compile.h"
#include "policy/diag.h"
#include "policy/seccomp-policy.h"
#include "policy/syscalls.h"
#include "tests/unit/unit.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define HIGH_BIT (1UL << 32)

struct outcome {
        long ret;
        int err;    /* errno after the call */
        int signal; /* the child died of this signal (0: it reported) */
};

typedef long (*probe_fn)(void);

static struct pol_bpf compile_file(const char *path, const struct pol_opts *opts)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        struct pol_bpf b = {0};
        struct pol_diag d = {0};
        struct aio_err err = {0};

        if (pol_seccomp_load(path, opts, &p, &d, &err) < 0)
                fail_msg("%s: %s", path, err.msg);
        if (pol_seccomp_compile(p, &b, &err) < 0)
                fail_msg("%s: %s", path, err.msg);
        return b;
}

static struct pol_bpf compile_text(const char *text)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        struct pol_opts opts = {.kernel = {6, 1}};
        struct pol_bpf b = {0};
        struct pol_diag d = {0};
        struct aio_err err = {0};
        json_t *root = json_loads(text, 0, NULL);

        assert_non_null(root);
        if (pol_seccomp_parse(root, &opts, &p, &d, &err) < 0)
                fail_msg("%s", err.msg);
        json_decref(root);
        if (pol_seccomp_compile(p, &b, &err) < 0)
                fail_msg("%s", err.msg);
        return b;
}

static void child_run(const struct pol_bpf *b, probe_fn fn, int wfd)
{
        struct sock_fprog prog = {.len = (unsigned short)b->len, .filter = b->insns};
        struct outcome o = {0};

        if (b->len) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
                        o.ret = -1000;
                        o.err = errno;
                        (void)!write(wfd, &o, sizeof(o));
                        _exit(1);
                }
        }
        errno = 0;
        o.ret = fn();
        o.err = o.ret < 0 ? errno : 0;
        (void)!write(wfd, &o, sizeof(o));
        _exit(0);
}

/* Runs fn in a child under b (no filter when b->len == 0). */
static struct outcome run_probe(const struct pol_bpf *b, probe_fn fn)
{
        struct outcome o = {.ret = -2000};
        int fds[2], status = 0;
        pid_t pid;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void)close(fds[0]);
                child_run(b, fn, fds[1]);
        }
        (void)close(fds[1]);
        if (read(fds[0], &o, sizeof(o)) != (ssize_t)sizeof(o))
                o.ret = -3000;
        (void)close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                o.signal = WTERMSIG(status);
        assert_true(o.ret != -1000); /* the filter loaded */
        return o;
}

static void expect_errno(const struct pol_bpf *b, probe_fn fn, int e, const char *what)
{
        struct outcome o = run_probe(b, fn);

        if (o.signal || o.ret != -1 || o.err != e)
                fail_msg("%s: expected errno %d, got ret %ld errno %d signal %d", what, e, o.ret,
                         o.err, o.signal);
}

static void expect_ok(const struct pol_bpf *b, probe_fn fn, const char *what)
{
        struct outcome o = run_probe(b, fn);

        if (o.signal || o.ret < 0)
                fail_msg("%s: expected success, got ret %ld errno %d signal %d", what, o.ret, o.err,
                         o.signal);
}

static void expect_killed(const struct pol_bpf *b, probe_fn fn, const char *what)
{
        struct outcome o = run_probe(b, fn);

        if (o.signal != SIGSYS)
                fail_msg("%s: expected SIGSYS, got ret %ld errno %d signal %d", what, o.ret, o.err,
                         o.signal);
}

/* --- probes: one syscall each, raw where libc would hide the argument --- */
static long p_getpid(void)
{
        return syscall(SYS_getpid);
}
static long p_getppid(void)
{
        return syscall(SYS_getppid);
}
static long p_unshare_user(void)
{
        return syscall(SYS_unshare, CLONE_NEWUSER);
}
static long p_unshare_none(void)
{
        return syscall(SYS_unshare, 0);
}
static long p_clone3(void)
{
        return syscall(SYS_clone3, NULL, 0);
}
static long p_nr_1000(void)
{
        return syscall(1000);
}
static long p_nr_400(void)
{
        return syscall(400); /* inside x86_64's unnamed hole 335..423 */
}
static long p_nr_max_plus_1(void)
{
        return syscall(pol_syscall_max() + 1);
}
/* Named but not allowed: the default (EPERM), not ENOSYS.  (Not uretprobe/uprobe, 335/336: the
 * kernel runs those without consulting seccomp at all.) */
static long p_nr_afs_syscall(void)
{
        return syscall(183); /* afs_syscall: named by libseccomp, never implemented */
}
static long p_nr_file_getattr(void)
{
        return syscall(468, -1, NULL, NULL, 0, 0); /* named by aio-policy's own table */
}
/* The tty probes use /dev/null: should a filter let them through, the kernel says ENOTTY
 * instead of pushing input into the terminal running the tests. */
static long tty_ioctl(unsigned long cmd)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char c = 0;

        if (fd < 0)
                return -2;
        return syscall(SYS_ioctl, fd, cmd, &c);
}
static long p_tiocsti(void)
{
        return tty_ioctl(TIOCSTI);
}
static long p_tiocsti_high(void)
{
        return tty_ioctl(TIOCSTI | HIGH_BIT);
}
static long p_tioclinux_high(void)
{
        return tty_ioctl(TIOCLINUX | HIGH_BIT);
}
static long p_tiocsetd_high(void)
{
        return tty_ioctl(TIOCSETD | HIGH_BIT);
}
static long p_fionread(void)
{
        int fds[2], n = -1;

        if (pipe(fds) < 0)
                return -1;
        return syscall(SYS_ioctl, fds[0], (unsigned long)FIONREAD, &n);
}
static long p_socket_alg(void)
{
        return syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0);
}
static long p_socket_alg_high(void)
{
        return syscall(SYS_socket, (unsigned long)AF_ALG | HIGH_BIT, SOCK_SEQPACKET, 0);
}
static long p_socket_vsock(void)
{
        return syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
}
static long p_socket_unix(void)
{
        return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
}
static long p_socket_unix_high(void)
{
        return syscall(SYS_socket, (unsigned long)AF_UNIX | HIGH_BIT, SOCK_STREAM, 0);
}
static long p_socket_inet(void)
{
        return syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
}
static long p_socketpair_unix(void)
{
        int sv[2];

        return syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
}
static long p_socketpair_inet(void)
{
        int sv[2];

        return syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv);
}
static long p_io_uring_setup(void)
{
        return syscall(SYS_io_uring_setup, 1, NULL);
}
static long p_keyctl(void)
{
        return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
}
static long p_add_key(void)
{
        /* no such key type: ENODEV if it ever reached the kernel */
        return syscall(SYS_add_key, "aio-no-such-type", "aio", "x", 1, -3);
}
static long p_mount(void)
{
        /* a missing target: ENOENT if it ever reached the kernel */
        return syscall(SYS_mount, "none", "/nonexistent-aio-test", "tmpfs", 0, NULL);
}
static long p_umount2(void)
{
        return syscall(SYS_umount2, "/nonexistent", 0);
}
static long p_fsopen(void)
{
        return syscall(SYS_fsopen, "tmpfs", 0);
}
static long p_pivot_root(void)
{
        return syscall(SYS_pivot_root, "/", "/");
}
static long p_setns(void)
{
        return syscall(SYS_setns, 0, 0);
}
static long p_bpf(void)
{
        return syscall(SYS_bpf, 0, NULL, 0);
}
static long p_perf(void)
{
        return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
}
static long p_userfaultfd(void)
{
        return syscall(SYS_userfaultfd, 0);
}
static long p_open_by_handle_at(void)
{
        return syscall(SYS_open_by_handle_at, -1, NULL, 0);
}
static long p_kexec_load(void)
{
        return syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL); /* bad flags: EINVAL */
}
static long p_finit_module(void)
{
        return syscall(SYS_finit_module, -1, "", 0);
}
/* clone() in fork form: allowed without CLONE_NEW*; the child leaves at once. */
static long p_clone_plain(void)
{
        long r = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);

        if (r == 0)
                _exit(0);
        return r;
}
static long p_clone_newuser(void)
{
        long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);

        if (r == 0)
                _exit(0);
        return r;
}
static long p_personality_query(void)
{
        return syscall(SYS_personality, 0xffffffffUL);
}
static long p_personality_linux32(void)
{
        return syscall(SYS_personality, PER_LINUX32);
}
static long p_personality_norandom(void)
{
        return syscall(SYS_personality, ADDR_NO_RANDOMIZE);
}
/* ptrace of the parent, which is not being traced: ESRCH from the kernel means the filter let
 * the call through; EPERM is the filter. */
static long p_ptrace(void)
{
        return syscall(SYS_ptrace, PTRACE_PEEKUSER, getppid(), 0, 0);
}
static long p_nr_minus_1(void)
{
        return syscall(-1L);
}
static long p_x32_getpid(void)
{
        return syscall(0x40000000 | SYS_getpid);
}
static long p_int80_getpid(void)
{
        long r;

        /* i386 getpid (20) through the 32-bit entry point */
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
        return r;
}

static struct pol_bpf shipped(const char *name)
{
        char path[96];

        (void)snprintf(path, sizeof(path), "policy/profiles/%s.json", name);
        return compile_file(path, NULL);
}

static void test_default_allows_and_denies(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("default");

        (void)state;
        expect_ok(&b, p_getpid, "getpid");
        expect_ok(&b, p_fionread, "ioctl FIONREAD");
        expect_ok(&b, p_socket_unix, "socket AF_UNIX");
        expect_ok(&b, p_socket_inet, "socket AF_INET");
        expect_ok(&b, p_socketpair_unix, "socketpair AF_UNIX");
        expect_ok(&b, p_clone_plain, "clone without namespaces");
        expect_ok(&b, p_personality_query, "personality query");
        expect_ok(&b, p_personality_linux32, "personality PER_LINUX32");
        expect_errno(&b, p_ptrace, ESRCH, "ptrace reaches the kernel");
        expect_errno(&b, p_unshare_user, EPERM, "unshare");
        expect_errno(&b, p_unshare_none, EPERM, "unshare(0)");
        expect_errno(&b, p_clone_newuser, EPERM, "clone CLONE_NEWUSER");
        expect_errno(&b, p_clone3, ENOSYS, "clone3");
        expect_errno(&b, p_setns, EPERM, "setns");
        expect_errno(&b, p_personality_norandom, EPERM, "personality ADDR_NO_RANDOMIZE");
}

static void test_default_design_denials(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("default");

        (void)state;
        expect_errno(&b, p_tiocsti, EPERM, "TIOCSTI");
        expect_errno(&b, p_tiocsti_high, EPERM, "TIOCSTI | 1<<32");
        expect_errno(&b, p_tioclinux_high, EPERM, "TIOCLINUX | 1<<32");
        expect_errno(&b, p_tiocsetd_high, EPERM, "TIOCSETD | 1<<32");
        expect_errno(&b, p_socket_alg, EPERM, "socket AF_ALG");
        expect_errno(&b, p_socket_alg_high, EPERM, "socket AF_ALG | 1<<32");
        expect_errno(&b, p_socket_vsock, EPERM, "socket AF_VSOCK");
        expect_errno(&b, p_io_uring_setup, EPERM, "io_uring_setup");
        expect_errno(&b, p_keyctl, EPERM, "keyctl");
        expect_errno(&b, p_add_key, EPERM, "add_key");
        expect_errno(&b, p_mount, EPERM, "mount");
        expect_errno(&b, p_umount2, EPERM, "umount2");
        expect_errno(&b, p_fsopen, EPERM, "fsopen");
        expect_errno(&b, p_pivot_root, EPERM, "pivot_root");
        expect_errno(&b, p_bpf, EPERM, "bpf");
        expect_errno(&b, p_perf, EPERM, "perf_event_open");
        expect_errno(&b, p_userfaultfd, EPERM, "userfaultfd");
        expect_errno(&b, p_open_by_handle_at, EPERM, "open_by_handle_at");
        expect_errno(&b, p_kexec_load, EPERM, "kexec_load");
        expect_errno(&b, p_finit_module, EPERM, "finit_module");
}

static void test_unknown_syscalls_enosys(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("default");

        (void)state;
        expect_errno(&b, p_nr_1000, ENOSYS, "syscall 1000");
        expect_errno(&b, p_nr_400, ENOSYS, "syscall 400 (unnamed hole)");
        expect_errno(&b, p_nr_max_plus_1, ENOSYS, "first number above the table");
        /* a syscall aio-policy can name but the profile does not allow: the default */
        expect_errno(&b, p_nr_afs_syscall, EPERM, "afs_syscall");
        /* -1 (how a tracer skips a syscall) is neither killed as x32 nor ENOSYS: the default */
        expect_errno(&b, p_nr_minus_1, EPERM, "syscall -1");
        expect_errno(&b, p_nr_file_getattr, EPERM, "file_getattr");
}

static bool int80_works(void)
{
        struct pol_bpf none = {0};
        struct outcome o = run_probe(&none, p_int80_getpid);

        return o.signal == 0 && o.ret > 0;
}

static void test_foreign_abis_killed(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("default");
        struct pol_bpf none = {0};
        struct outcome o;

        (void)state;
        /* Without a filter the x32 call is only ENOSYS (no x32 in this kernel) or works. */
        o = run_probe(&none, p_x32_getpid);
        assert_int_equal(o.signal, 0);
        expect_killed(&b, p_x32_getpid, "x32 getpid");
        if (!int80_works()) {
                skip();
                return;
        }
        expect_killed(&b, p_int80_getpid, "int 0x80 getpid");
}

static void test_strict(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("strict");

        (void)state;
        expect_ok(&b, p_getpid, "getpid");
        expect_ok(&b, p_socket_unix, "socket AF_UNIX");
        expect_ok(&b, p_socket_unix_high, "socket AF_UNIX | 1<<32");
        expect_ok(&b, p_socketpair_unix, "socketpair AF_UNIX");
        expect_ok(&b, p_personality_query, "personality query");
        expect_errno(&b, p_socket_inet, EPERM, "socket AF_INET");
        expect_errno(&b, p_socketpair_inet, EPERM, "socketpair AF_INET");
        expect_errno(&b, p_socket_alg_high, EPERM, "socket AF_ALG | 1<<32");
        expect_errno(&b, p_ptrace, EPERM, "ptrace");
        expect_errno(&b, p_personality_linux32, EPERM, "personality PER_LINUX32");
        expect_errno(&b, p_tiocsti_high, EPERM, "TIOCSTI | 1<<32");
        expect_errno(&b, p_clone3, ENOSYS, "clone3");
        expect_errno(&b, p_nr_1000, ENOSYS, "syscall 1000");
}

static void test_browser_keeps_denials(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("browser");

        (void)state;
        expect_ok(&b, p_getpid, "getpid");
        expect_errno(&b, p_unshare_user, EPERM, "unshare");
        expect_errno(&b, p_clone_newuser, EPERM, "clone CLONE_NEWUSER");
        expect_errno(&b, p_clone3, ENOSYS, "clone3");
        expect_errno(&b, p_io_uring_setup, EPERM, "io_uring_setup");
        expect_errno(&b, p_tiocsti_high, EPERM, "TIOCSTI | 1<<32");
        expect_errno(&b, p_socket_alg, EPERM, "socket AF_ALG");
        expect_errno(&b, p_mount, EPERM, "mount");
        expect_errno(&b, p_nr_1000, ENOSYS, "syscall 1000");
}

/* Docker's profile, as the issue names it (../shared/reference, from the repository root), or
 * $AIO_DOCKER_PROFILE; NULL (the test skips) where neither exists. */
static const char *docker_profile(void)
{
        const char *p = getenv("AIO_DOCKER_PROFILE");

        if (!p)
                p = "../shared/reference/docker-default-seccomp.json";
        return access(p, R_OK) == 0 ? p : NULL;
}

static void test_docker_profile_unchanged(void **state)
{
        struct pol_opts admin = {.caps_given = true, .caps = 1ULL << 21 /* CAP_SYS_ADMIN */};
        cleanup_bpf struct pol_bpf b = {0};
        cleanup_bpf struct pol_bpf a = {0};

        (void)state;
        if (!docker_profile()) {
                skip();
                return;
        }
        b = compile_file(docker_profile(), NULL);
        a = compile_file(docker_profile(), &admin);
        expect_ok(&b, p_getpid, "getpid");
        expect_ok(&b, p_fionread, "ioctl");
        expect_errno(&b, p_clone3, ENOSYS, "clone3");
        expect_errno(&b, p_mount, EPERM, "mount");
        expect_errno(&b, p_unshare_none, EPERM, "unshare");
        expect_errno(&b, p_clone_newuser, EPERM, "clone CLONE_NEWUSER");
        expect_errno(&b, p_socket_alg, EPERM, "socket AF_ALG");
        expect_errno(&b, p_io_uring_setup, EPERM, "io_uring_setup");
        expect_errno(&b, p_nr_1000, ENOSYS, "syscall 1000");
        /* Docker's profile as Docker enforces it: TIOCSTI is not filtered */
        expect_errno(&b, p_tiocsti, run_probe(&(struct pol_bpf){0}, p_tiocsti).err, "TIOCSTI");
        /* with CAP_SYS_ADMIN, Docker allows unshare and clone3 */
        expect_ok(&a, p_unshare_none, "unshare(0) with CAP_SYS_ADMIN");
        expect_errno(&a, p_clone3, run_probe(&(struct pol_bpf){0}, p_clone3).err,
                     "clone3 with CAP_SYS_ADMIN");
}

/* What the probe child needs, plus what ASan's runtime calls in a debug build. */
#define BASE_ALLOW                                                                               \
        "{\"names\":[\"write\",\"exit\",\"exit_group\",\"getpid\",\"getppid\",\"mmap\","         \
        "\"munmap\",\"madvise\",\"sigaltstack\",\"rt_sigprocmask\",\"rt_sigaction\",\"futex\"]," \
        "\"action\":\"SCMP_ACT_ALLOW\"}"

static void test_exceptions_run_first(void **state)
{
        /* an allow rule with arguments that covers everything, and an exception carved out of
         * it by a rule repeating the default action: libseccomp alone would allow AF_ALG */
        cleanup_bpf struct pol_bpf b = compile_text(
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[" BASE_ALLOW ","
                "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                "\"value\":0,\"op\":\"SCMP_CMP_GE\"}]},"
                "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,"
                "\"value\":4294967295,\"valueTwo\":38,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
                "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,"
                "\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}");

        (void)state;
        expect_ok(&b, p_socket_unix, "socket AF_UNIX");
        expect_errno(&b, p_socket_alg, EPERM, "socket AF_ALG");
        expect_errno(&b, p_socket_alg_high, EPERM, "socket AF_ALG | 1<<32");
        /* getppid is allowed without arguments, except when arg0 == 0 (always, here) */
        expect_errno(&b, p_getppid, EACCES, "getppid exception");
        expect_errno(&b, p_nr_1000, ENOSYS, "syscall 1000");
}

static void test_allow_default_has_no_enosys(void **state)
{
        cleanup_bpf struct pol_bpf b = compile_text(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}");
        cleanup_bpf struct pol_bpf d = shipped("default");

        (void)state;
        expect_errno(&b, p_getpid, EACCES, "getpid");
        expect_ok(&b, p_socket_unix, "socket");
        expect_killed(&b, p_x32_getpid, "x32 getpid");
        expect_ok(&b, p_getppid, "getppid");
        expect_errno(&b, p_nr_minus_1, ENOSYS, "syscall -1 (kernel)");
        /* the prefix: arch and x32 checks (7 instructions); the ENOSYS ranges only when the
         * default denies: above the maximum, then x86_64's hole 337..423, a shared return */
        assert_int_equal(b.insns[7].code, BPF_LD | BPF_W | BPF_ABS);
        assert_int_equal(d.insns[4].code, BPF_JMP | BPF_JGT | BPF_K);
        assert_int_equal(d.insns[4].k, (unsigned)pol_syscall_max());
        assert_int_equal(d.insns[8].code, BPF_JMP | BPF_JGE | BPF_K);
        assert_int_equal(d.insns[8].k, 337);
        assert_int_equal(d.insns[9].k, 423);
        assert_int_equal(d.insns[11].code, BPF_RET | BPF_K);
        assert_int_equal(d.insns[11].k, SECCOMP_RET_ERRNO | ENOSYS);
        assert_int_equal(d.insns[12].code, BPF_LD | BPF_W | BPF_ABS);
}

static void test_same_arg_conditions_are_alternatives(void **state)
{
        /* two conditions on args[0]: runc (and so Docker) adds them as separate rules (OR) */
        cleanup_bpf struct pol_bpf b =
                compile_text("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[" BASE_ALLOW ","
                             "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                             "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                             "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}");

        (void)state;
        expect_ok(&b, p_socket_unix, "socket AF_UNIX");
        expect_ok(&b, p_socket_inet, "socket AF_INET");
        expect_errno(&b, p_socket_vsock, EPERM, "socket AF_VSOCK");
}

static void test_write_read_round_trip(void **state)
{
        cleanup_bpf struct pol_bpf b = shipped("default");
        cleanup_bpf struct pol_bpf r = {0};
        char path[] = "/tmp/aio-test-bpf-XXXXXX";
        struct aio_err err = {0};
        int fd = mkstemp(path);

        (void)state;
        assert_true(fd >= 0);
        (void)close(fd);
        assert_int_equal(pol_bpf_write(path, &b, &err), 0);
        assert_int_equal(pol_bpf_read(path, &r, &err), 0);
        assert_int_equal(r.len, b.len);
        assert_memory_equal(r.insns, b.insns, b.len * sizeof(*b.insns));
        expect_errno(&r, p_mount, EPERM, "mount (filter read back)");
        /* a file that is not a whole number of instructions is refused */
        assert_int_equal(truncate(path, 12), 0);
        assert_int_equal(pol_bpf_read(path, &r, &err), -EINVAL);
        (void)unlink(path);
}

static void test_check_refuses_bad_programs(void **state)
{
        struct sock_filter jump_out[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0),
                                         BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)};
        struct sock_filter bad_load[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64),
                                         BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct pol_bpf b1 = {jump_out, 2}, b2 = {no_ret, 1}, b3 = {bad_load, 2};
        struct aio_err err = {0};

        (void)state;
        assert_int_equal(pol_bpf_check(&b1, &err), -EINVAL);
        assert_string_equal(err.msg, "instruction 0: jump out of range");
        assert_int_equal(pol_bpf_check(&b2, &err), -EINVAL);
        assert_string_equal(err.msg, "last instruction is not a return");
        assert_int_equal(pol_bpf_check(&b3, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_allows_and_denies),
                cmocka_unit_test(test_default_design_denials),
                cmocka_unit_test(test_unknown_syscalls_enosys),
                cmocka_unit_test(test_foreign_abis_killed),
                cmocka_unit_test(test_strict),
                cmocka_unit_test(test_browser_keeps_denials),
                cmocka_unit_test(test_docker_profile_unchanged),
                cmocka_unit_test(test_exceptions_run_first),
                cmocka_unit_test(test_allow_default_has_no_enosys),
                cmocka_unit_test(test_same_arg_conditions_are_alternatives),
                cmocka_unit_test(test_write_read_round_trip),
                cmocka_unit_test(test_check_refuses_bad_programs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
