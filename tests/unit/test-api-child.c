/* api/child.c: fds where they were asked for and nothing else inherited, signals reset, the
 * process group or session, and each failure before exec reported with its step. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "api/child.h"
#include "tests/unit/unit.h"

/* Runs sh -c script with c's settings and the write end of a pipe at fd 5 (plus c's extras);
 * returns what it wrote there, and its exit status in *status. */
static char *run_sh(const struct api_child *c, const char *script, int *status)
{
        const char *argv[] = {"sh", "-c", script, NULL};
        struct api_child_fd extra[API_CHILD_EXTRA_MAX];
        struct aio_err err = {0};
        static char out[4096];
        size_t len = 0;
        ssize_t n;
        int p[2], pid;

        struct api_child run = *c;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        for (size_t i = 0; i < c->n_extra; i++)
                extra[i] = c->extra[i];
        extra[c->n_extra] = (struct api_child_fd){p[1], 5};
        run.path = "/bin/sh";
        run.argv = (char *const *)argv;
        run.extra = extra;
        run.n_extra = c->n_extra + 1;
        pid = api_child_start(&run, &err);
        assert_true(pid > 0);
        close(p[1]);
        while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
                len += (size_t)n;
        out[len] = '\0';
        close(p[0]);
        assert_int_equal(waitpid(pid, status, 0), pid);
        return out;
}

static void test_extra_fds_swapped(void **state)
{
        int a[2], b[2], st;
        char buf[8] = {0};

        (void)state;
        assert_int_equal(pipe2(a, O_CLOEXEC), 0);
        assert_int_equal(pipe2(b, O_CLOEXEC), 0);
        {
                /* each write end goes where the other one is: sources clobber destinations */
                struct api_child_fd x[] = {{a[1], b[1]}, {b[1], a[1]}};
                struct api_child c = {.fds = {-1, -1, -1}, .extra = x, .n_extra = 2};
                char script[64];

                (void)snprintf(script, sizeof(script), "printf A >&%d; printf B >&%d", b[1], a[1]);
                (void)run_sh(&c, script, &st);
        }
        assert_int_equal(st, 0);
        close(a[1]);
        close(b[1]);
        assert_int_equal(read(a[0], buf, sizeof(buf)), 1);
        assert_int_equal(buf[0], 'A');
        assert_int_equal(read(b[0], buf, sizeof(buf)), 1);
        assert_int_equal(buf[0], 'B');
        close(a[0]);
        close(b[0]);
}

/* An fd opened without O_CLOEXEC does not reach the child; stdio does. */
static void test_others_closed(void **state)
{
        struct api_child c = {.fds = {-1, -1, -1}};
        cleanup_close int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
        char script[160];
        int st;

        (void)state;
        assert_true(leak > 2);
        (void)snprintf(script, sizeof(script),
                       "for f in 0 1 2 %d; do if [ -e /proc/self/fd/$f ]; then printf \"$f \"; "
                       "fi; done >&5",
                       leak);
        assert_string_equal(run_sh(&c, script, &st), "0 1 2 ");
        assert_int_equal(st, 0);
}

/* Handlers and the mask of the calling thread do not reach the child. */
static void test_signals_reset(void **state)
{
        struct api_child c = {.fds = {-1, -1, -1}};
        struct sigaction ign = {.sa_handler = SIG_IGN}, old;
        sigset_t usr1, oldmask;
        const char *out;
        int st;

        (void)state;
        (void)sigemptyset(&usr1);
        (void)sigaddset(&usr1, SIGUSR1);
        assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr1, &oldmask), 0);
        assert_int_equal(sigaction(SIGUSR2, &ign, &old), 0);
        out = run_sh(&c, "grep -E '^Sig(Blk|Ign)' /proc/self/status >&5", &st);
        assert_int_equal(sigaction(SIGUSR2, &old, NULL), 0);
        assert_int_equal(pthread_sigmask(SIG_SETMASK, &oldmask, NULL), 0);
        assert_int_equal(st, 0);
        assert_string_equal(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

static void test_dir_and_fallback(void **state)
{
        struct api_child c = {.fds = {-1, -1, -1}, .dir = "/proc"};
        struct api_child gone = {.fds = {-1, -1, -1}, .dir = "/nonexistent", .dir_fallback = "/"};
        int st;

        (void)state;
        assert_string_equal(run_sh(&c, "pwd >&5", &st), "/proc\n");
        assert_string_equal(run_sh(&gone, "pwd >&5", &st), "/\n");
}

static void test_failures_named(void **state)
{
        const char *argv[] = {"x", NULL};
        struct api_child_fd bad[] = {{0, 2}};
        struct api_child exec = {
                .path = "/nonexistent/x", .argv = (char *const *)argv, .fds = {-1, -1, -1}};
        struct api_child dir = {.path = "/bin/true",
                                .argv = (char *const *)argv,
                                .fds = {-1, -1, -1},
                                .dir = "/nonexistent"};
        struct api_child at = {.path = "/bin/true",
                               .argv = (char *const *)argv,
                               .fds = {-1, -1, -1},
                               .extra = bad,
                               .n_extra = 1};
        struct aio_err err = {0};

        (void)state;
        assert_int_equal(api_child_start(&exec, &err), -ENOENT);
        assert_string_equal(err.msg, "exec /nonexistent/x: No such file or directory");
        assert_int_equal(api_child_start(&dir, &err), -ENOENT);
        assert_string_equal(err.msg, "chdir /nonexistent: No such file or directory");
        assert_int_equal(api_child_start(&at, &err), -EINVAL);
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* the failed children were reaped */
        assert_int_equal(errno, ECHILD);
}

/* Its own process group, or its own session. */
static void test_group_and_session(void **state)
{
        const char *argv[] = {"sleep", "30", NULL};
        struct api_child c = {
                .path = "/bin/sleep", .argv = (char *const *)argv, .fds = {-1, -1, -1}};
        struct aio_err err = {0};
        int pid;

        (void)state;
        for (int session = 0; session < 2; session++) {
                c.session = session;
                pid = api_child_start(&c, &err);
                assert_true(pid > 0);
                assert_int_equal(getpgid(pid), pid);
                if (session)
                        assert_int_equal(getsid(pid), pid);
                else
                        assert_int_equal(getsid(pid), getsid(0));
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, NULL, 0), pid);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_extra_fds_swapped), cmocka_unit_test(test_others_closed),
                cmocka_unit_test(test_signals_reset),     cmocka_unit_test(test_dir_and_fallback),
                cmocka_unit_test(test_failures_named),    cmocka_unit_test(test_group_and_session),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
