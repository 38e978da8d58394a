/* rt_store_helper_run() (store-helper.c): aio-run's side of running aio-unpack. The helper is
 * found next to the running binary, so each case copies this test binary into a scratch bin/
 * twice: as "runner", run with --run, it calls rt_store_helper_run() the way aio-run does
 * (signals blocked and taken through a signalfd) and prints the result; as "aio-unpack", the
 * fake helper, it records what it was given (arguments, signal mask and ignored signals, stdin)
 * and then runs the case's shell script. (The recording is not left to the shell: dash unblocks
 * every signal when it starts.) */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "store.h"
#include "tests/unit/unit.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
        char *dir;     /* scratch, mode 0755 */
        char *bin;     /* <dir>/bin: the copy of this binary, and the fake aio-unpack */
        char *state;   /* <dir>/state */
        char *tarball; /* never read: the fake does not look at it */
};

struct result {
        int status;      /* of the runner */
        int r;           /* rt_store_helper_run()'s return */
        char text[1024]; /* ret_dir, or err.msg */
        char err[4096];  /* the runner's stderr, which the helper inherits */
};

/* ---- the runner (this binary, copied, with --run) ------------------------------------------ */

static int run_helper(const char *state, const char *tarball, const char *verbose)
{
        struct aio_err err = {0};
        sigset_t set;
        char *dir = NULL;
        int sigfd, r;

        /* as aio-run: TERM, INT, HUP, QUIT and WINCH come through a signalfd; and an ignored
         * SIGPIPE, which the helper must not inherit */
        (void)sigemptyset(&set);
        (void)sigaddset(&set, SIGTERM);
        (void)sigaddset(&set, SIGINT);
        (void)sigaddset(&set, SIGHUP);
        (void)sigaddset(&set, SIGQUIT);
        (void)sigaddset(&set, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
                return 2;
        (void)signal(SIGPIPE, SIG_IGN);
        if (strcmp(verbose, "v") == 0)
                aio_log_level = AIO_LOG_DEBUG;
        r = rt_store_helper_run(state, tarball, sigfd, &dir, &err);
        (void)printf("%d\n%s\n", r, r == 0 ? dir : err.msg);
        free(dir);
        return 0;
}

/* ---- the fake aio-unpack ------------------------------------------------------------------- */

static void record(const char *dir, const char *name, const char *text)
{
        cleanup_free char *p = aio_xasprintf("%s/%s", dir, name);
        struct aio_err err;

        if (aio_write_file(AT_FDCWD, p, text, strlen(text), 0644, &err) < 0)
                _exit(5);
}

/* argv: aio-unpack [-v] --state-dir STATE -- TARBALL; files go to STATE/.. */
static int fake_helper(int argc, char **argv)
{
        cleanup_free char *args = aio_xstrdup(""), *dir = NULL, *script = NULL;
        char status[4096], in[256], sigs[256] = "";
        const char *line;
        struct aio_err err;
        ssize_t n;

        for (int i = 1; i < argc; i++) {
                char *a = aio_xasprintf("%s%s%s", args, i > 1 ? " " : "", argv[i]);

                free(args);
                args = a;
                if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
                        dir = aio_xstrdup(argv[i + 1]);
        }
        if (!dir)
                return 6;
        (void)dirname(dir);
        script = aio_xasprintf("%s/body.sh", dir);
        record(dir, "args", args);
        if (aio_read_file(AT_FDCWD, "/proc/self/status", status, sizeof(status), &err) < 0)
                return 7;
        for (line = status; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, "SigBlk:", 7) == 0 || strncmp(line, "SigIgn:", 7) == 0)
                        (void)snprintf(sigs + strlen(sigs), sizeof(sigs) - strlen(sigs), "%.*s",
                                       (int)(strcspn(line, "\n") + 1), line);
        record(dir, "signals", sigs);
        n = readlink("/proc/self/fd/0", in, sizeof(in) - 1);
        in[n > 0 ? n : 0] = '\0';
        record(dir, "stdin", in);
        execv("/bin/sh", (char *[]){argv[0], script, argv[argc - 1], NULL});
        return 8;
}

/* ---- the tests' side ----------------------------------------------------------------------- */

static void copy_self(const char *to)
{
        cleanup_close int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        cleanup_close int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        char buf[1 << 16];
        ssize_t n;

        assert_true(in >= 0 && out >= 0);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                assert_int_equal(write(out, buf, (size_t)n), n);
        assert_int_equal(n, 0);
}

static int setup(void **state)
{
        struct fixture *f = aio_xcalloc(1, sizeof(*f));
        char tmpl[] = "/tmp/aio-test-store-helper-XXXXXX";
        cleanup_free char *self = NULL;
        struct aio_err err;

        assert_non_null(mkdtemp(tmpl));
        assert_int_equal(chmod(tmpl, 0755), 0);
        f->dir = aio_xstrdup(tmpl);
        f->bin = aio_xasprintf("%s/bin", f->dir);
        f->state = aio_xasprintf("%s/state", f->dir);
        f->tarball = aio_xasprintf("%s/rootfs.tar", f->dir);
        assert_int_equal(aio_mkdir_p(f->bin, 0755, &err), 0);
        assert_int_equal(mkdir(f->state, 0755), 0);
        self = aio_xasprintf("%s/runner", f->bin);
        copy_self(self);
        free(self);
        self = aio_xasprintf("%s/aio-unpack", f->bin);
        copy_self(self);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        struct aio_err err;

        assert_int_equal(aio_rm_rf(AT_FDCWD, f->dir, &err), 0);
        free(f->dir);
        free(f->bin);
        free(f->state);
        free(f->tarball);
        free(f);
        return 0;
}

/* What the fake aio-unpack does after recording: a shell script, $1 the tarball. */
static void fake(const struct fixture *f, const char *body)
{
        cleanup_free char *path = aio_xasprintf("%s/body.sh", f->dir);
        struct aio_err err;

        assert_int_equal(aio_write_file(AT_FDCWD, path, body, strlen(body), 0644, &err), 0);
}

static char *slurp(const char *dir, const char *name)
{
        cleanup_free char *p = aio_xasprintf("%s/%s", dir, name);
        char buf[4096];
        struct aio_err err;

        if (aio_read_file(AT_FDCWD, p, buf, sizeof(buf), &err) < 0)
                return aio_xstrdup("");
        return aio_xstrdup(buf);
}

static pid_t start(const struct fixture *f, bool verbose)
{
        cleanup_free char *runner = aio_xasprintf("%s/runner", f->bin);
        cleanup_free char *out = aio_xasprintf("%s/out", f->dir);
        cleanup_free char *errf = aio_xasprintf("%s/err", f->dir);
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

                if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
                        _exit(3);
                execl(runner, "runner", "--run", f->state, f->tarball, verbose ? "v" : "-",
                      (char *)NULL);
                _exit(4);
        }
        return pid;
}

static void finish(const struct fixture *f, pid_t pid, struct result *res)
{
        cleanup_free char *out = NULL, *err = NULL;
        char *nl;

        assert_int_equal(waitpid(pid, &res->status, 0), pid);
        assert_true(WIFEXITED(res->status));
        assert_int_equal(WEXITSTATUS(res->status), 0);
        out = slurp(f->dir, "out");
        err = slurp(f->dir, "err");
        res->r = atoi(out);
        nl = strchr(out, '\n');
        assert_non_null(nl);
        (void)snprintf(res->text, sizeof(res->text), "%s", nl + 1);
        nl = strchr(res->text, '\n');
        if (nl)
                *nl = '\0';
        (void)snprintf(res->err, sizeof(res->err), "%s", err);
}

static void run(const struct fixture *f, bool verbose, struct result *res)
{
        finish(f, start(f, verbose), res);
}

static void test_success(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *body =
                aio_xasprintf("echo 'unpacking...' >&2\necho %s/images/%s/rootfs", f->state, HEX);
        cleanup_free char *want = aio_xasprintf("%s/images/%s/rootfs", f->state, HEX);
        cleanup_free char *args = NULL, *sigs = NULL, *in = NULL, *wargs = NULL;
        const char *ign;
        struct result res;

        fake(f, body);
        run(f, false, &res);
        assert_int_equal(res.r, 0);
        assert_string_equal(res.text, want);
        assert_non_null(strstr(res.err, "unpacking...")); /* its stderr is ours */
        args = slurp(f->dir, "args");
        wargs = aio_xasprintf("--state-dir %s -- %s", f->state, f->tarball);
        assert_string_equal(args, wargs);
        /* nothing blocked, SIGPIPE not ignored: the runner's mask and SIG_IGN stayed behind */
        sigs = slurp(f->dir, "signals");
        assert_non_null(strstr(sigs, "SigBlk:\t0000000000000000\n"));
        ign = strstr(sigs, "SigIgn:\t");
        assert_non_null(ign);
        assert_false(strtoull(ign + 8, NULL, 16) & (1ULL << (SIGPIPE - 1)));
        in = slurp(f->dir, "stdin");
        assert_string_equal(in, "/dev/null");
}

static void test_verbose(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *body = aio_xasprintf("echo %s/images/%s/rootfs", f->state, HEX);
        cleanup_free char *args = NULL, *wargs = NULL;
        struct result res;

        fake(f, body);
        run(f, true, &res);
        assert_int_equal(res.r, 0);
        args = slurp(f->dir, "args");
        wargs = aio_xasprintf("-v --state-dir %s -- %s", f->state, f->tarball);
        assert_string_equal(args, wargs);
}

/* The helper's own message (naming the entry) is on stderr; ours says it failed, and where. */
static void test_failure(void **state)
{
        struct fixture *f = *state;
        struct result res;

        fake(f, "echo \"aio-unpack: $1: entry '../x': path escapes the root\" >&2\nexit 125");
        run(f, false, &res);
        assert_true(res.r < 0);
        assert_non_null(strstr(res.text, f->tarball));
        assert_non_null(strstr(res.text, "aio-unpack exited with status 125"));
        assert_non_null(strstr(res.err, "entry '../x': path escapes the root"));

        fake(f, "kill -KILL $$"); /* the helper's pid: the script was exec'ed */
        run(f, false, &res);
        assert_true(res.r < 0);
        assert_non_null(strstr(res.text, "aio-unpack was killed by signal 9"));
}

/* Only <state>/images/<...>/rootfs on one line is a result; nothing else is handed on. */
static void test_bad_output(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *two = aio_xasprintf(
                "echo %1$s/images/%2$s/rootfs\necho %1$s/images/%2$s/rootfs", f->state, HEX);
        cleanup_free char *nonl = aio_xasprintf("printf %%s %s/images/%s/rootfs", f->state, HEX);
        const char *bodies[] = {
                "true",
                "echo /etc",
                "echo /",
                two,
                nonl,
                "head -c 100000 /dev/zero | tr '\\0' a", /* more than fits: read, not hung on */
        };
        struct result res;

        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                fake(f, bodies[i]);
                run(f, false, &res);
                if (res.r != -EPROTO || !strstr(res.text, "aio-unpack printed no store directory"))
                        fail_msg("helper '%s': %d %s", bodies[i], res.r, res.text);
        }
}

static void test_missing(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *want = aio_xasprintf("run %s/aio-unpack: No such file", f->bin);
        cleanup_free char *helper = aio_xasprintf("%s/aio-unpack", f->bin);
        struct result res;

        assert_int_equal(unlink(helper), 0);
        run(f, false, &res);
        assert_int_equal(res.r, -ENOENT);
        assert_non_null(strstr(res.text, want));
}

/* A TERM for aio-run while the helper works is passed on: the helper stops, and so does the
 * runner, long before the helper's 30 seconds are up. */
static void test_signal_passed_on(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *body = aio_xasprintf("touch %s/ready\nexec sleep 30", f->dir);
        cleanup_free char *ready = aio_xasprintf("%s/ready", f->dir);
        struct timespec t0, t1;
        struct result res;
        pid_t pid;

        fake(f, body);
        (void)clock_gettime(CLOCK_MONOTONIC, &t0);
        pid = start(f, false);
        for (int i = 0; i < 500 && access(ready, F_OK) < 0; i++)
                (void)usleep(10000);
        assert_int_equal(access(ready, F_OK), 0);
        assert_int_equal(kill(pid, SIGTERM), 0);
        finish(f, pid, &res);
        (void)clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(res.r < 0);
        assert_non_null(strstr(res.text, "interrupted by signal 15"));
        assert_true(t1.tv_sec - t0.tv_sec < 20);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_success, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verbose, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_output, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signal_passed_on, setup, teardown),
        };

        if (strcmp(basename(argv[0]), "aio-unpack") == 0)
                return fake_helper(argc, argv);
        if (argc == 5 && strcmp(argv[1], "--run") == 0)
                return run_helper(argv[2], argv[3], argv[4]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
