/* The user-space BPF interpreter against the kernel: same verdicts for the shipped profiles. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"

#include "bpf-interp.h"
#include "seccomp.h"
#include "tests/unit/unit.h"

static struct rt_bpf load_profile(const char *name)
{
        char exe[PATH_MAX], path[PATH_MAX + 64];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        struct rt_bpf b = {0};
        struct aio_err err;

        assert_true(n > 0);
        exe[n] = '\0';
        snprintf(path, sizeof(path), "%s/../policy/%s.bpf", dirname(exe), name);
        if (rt_seccomp_read(path, &b, &err) < 0)
                fail_msg("%s: %s (run make first)", path, err.msg);
        return b;
}

static struct seccomp_data call(int nr, uint64_t a0, uint64_t a1)
{
        return (struct seccomp_data){.nr = nr, .arch = AUDIT_ARCH_X86_64, .args = {a0, a1}};
}

/* What the kernel answers: the errno of the call in a child under the filter, 0 if allowed. */
static int kernel_errno(const struct rt_bpf *b, const struct seccomp_data *d)
{
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                struct sock_fprog prog = {.len = (unsigned short)b->len, .filter = b->insns};
                long r;

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                        _exit(255);
                r = syscall(d->nr, d->args[0], d->args[1], 0, 0, 0, 0);
                _exit(r < 0 ? errno : 0);
        }
        assert_true(pid > 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void check_same(const struct rt_bpf *b, struct seccomp_data d, uint32_t want_action)
{
        uint32_t v = rt_bpf_run(b, &d);
        int kerr = kernel_errno(b, &d);

        assert_int_equal(v & SECCOMP_RET_ACTION_FULL, want_action);
        if (want_action == SECCOMP_RET_ERRNO)
                assert_int_equal((int)(v & SECCOMP_RET_DATA), kerr);
}

static void test_default_profile(void **state)
{
        struct rt_bpf b = load_profile("default");

        (void)state;
        check_same(&b, call(SYS_getppid, 0, 0), SECCOMP_RET_ALLOW);
        check_same(&b, call(SYS_unshare, CLONE_NEWUSER, 0), SECCOMP_RET_ERRNO);
        check_same(&b, call(SYS_clone3, 0, 0), SECCOMP_RET_ERRNO); /* ENOSYS */
        check_same(&b, call(1000, 0, 0), SECCOMP_RET_ERRNO);       /* unknown: ENOSYS */
        check_same(&b, call(SYS_socket, AF_ALG, SOCK_STREAM), SECCOMP_RET_ERRNO);
        check_same(&b, call(SYS_ioctl, 0, TIOCSTI | (1ULL << 32)), SECCOMP_RET_ERRNO);
        check_same(&b, call(SYS_keyctl, 0, 0), SECCOMP_RET_ERRNO);
        assert_int_equal(rt_bpf_run(&b, &(struct seccomp_data){.nr = SYS_clone3,
                                                               .arch = AUDIT_ARCH_X86_64}) &
                                 SECCOMP_RET_DATA,
                         ENOSYS);
        /* another architecture is killed, not answered */
        assert_int_equal(rt_bpf_run(&b, &(struct seccomp_data){.nr = 20, .arch = AUDIT_ARCH_I386}) &
                                 SECCOMP_RET_ACTION_FULL,
                         SECCOMP_RET_KILL_PROCESS);
        rt_bpf_free(&b);
}

static void test_notify_variant(void **state)
{
        struct rt_bpf b = load_profile("strict"), n;
        struct seccomp_data d = call(SYS_socket, AF_INET, SOCK_STREAM);

        (void)state;
        rt_bpf_notify_variant(&b, &n);
        assert_int_equal(rt_bpf_run(&b, &d) & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ERRNO);
        assert_int_equal(rt_bpf_run(&n, &d), SECCOMP_RET_USER_NOTIF);
        d = call(SYS_getppid, 0, 0);
        assert_int_equal(rt_bpf_run(&n, &d), SECCOMP_RET_ALLOW);
        rt_bpf_free(&b);
        rt_bpf_free(&n);
}

static void test_malformed_programs(void **state)
{
        struct sock_filter oob[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4096)};
        struct sock_filter jump_out[] = {BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0)};
        struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
                                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_IMM, 1)};
        struct seccomp_data d = call(0, 0, 0);
        struct rt_bpf p;

        (void)state;
        p = (struct rt_bpf){oob, 1};
        assert_int_equal(rt_bpf_run(&p, &d), SECCOMP_RET_KILL_PROCESS);
        p = (struct rt_bpf){jump_out, 1};
        assert_int_equal(rt_bpf_run(&p, &d), SECCOMP_RET_KILL_PROCESS);
        p = (struct rt_bpf){div0, 2};
        assert_int_equal(rt_bpf_run(&p, &d), SECCOMP_RET_KILL_PROCESS);
        p = (struct rt_bpf){no_ret, 1};
        assert_int_equal(rt_bpf_run(&p, &d), SECCOMP_RET_KILL_PROCESS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_profile),
                cmocka_unit_test(test_notify_variant),
                cmocka_unit_test(test_malformed_programs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
