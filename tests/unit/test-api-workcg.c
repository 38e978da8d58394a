/* api/workcg.c: the AIO_WORK_CGROUP spec, moving a child by writing "0", reading the counters
 * and telling what killed a command, against plain files standing in for the cgroup's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

#include "api/workcg.h"
#include "tests/unit/unit.h"

static int tmp_with(const char *content)
{
        char path[] = "/tmp/aio-workcg-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        (void)unlink(path);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        return fd;
}

static void test_parse_and_read(void **state)
{
        struct api_workcg w;
        struct api_workcg_events ev;
        struct aio_err err = {0};
        char spec[128], buf[8] = "";
        int a = tmp_with(""), b = tmp_with(""), oom = tmp_with("oom_kill_disable 0\noom_kill 3\n"),
            pids = tmp_with("max 7\n");

        (void)state;
        assert_int_equal(api_workcg_parse(NULL, &w, &err), 0);
        assert_int_equal(w.n_procs, 0);
        assert_int_equal(api_workcg_enter(&w), 0);
        assert_int_equal(api_workcg_events_read(&w, &ev, &err), 0);
        assert_true(ev.oom_kills == 0 && ev.pids_limit == 0);

        (void)snprintf(spec, sizeof(spec), "procs=%d,%d oom=%d pids=%d", a, b, oom, pids);
        assert_int_equal(api_workcg_parse(spec, &w, &err), 0);
        assert_int_equal(w.n_procs, 2);
        assert_int_equal(w.procs[1], b);
        assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
        assert_true(fcntl(pids, F_GETFD) & FD_CLOEXEC);
        /* enter writes "0" into each procs file: the kernel reads it as "the writer" */
        assert_int_equal(api_workcg_enter(&w), 0);
        assert_int_equal(pread(b, buf, sizeof(buf), 0), 1);
        assert_int_equal(buf[0], '0');
        assert_int_equal(api_workcg_events_read(&w, &ev, &err), 0);
        assert_true(ev.oom_kills == 3 && ev.pids_limit == 7);
        (void)close(a);
        (void)close(b);
        (void)close(oom);
        (void)close(pids);
}

static void test_parse_refuses(void **state)
{
        static const char *const bad[] = {
                "",
                "procs=",
                "procs=4",
                "procs=4 oom=5",
                "procs=4 oom=5 pids=x",
                "procs=4 oom=5 pids=6 extra",
                "procs=1 oom=5 pids=6",
                "procs=4,5,6,7,8,9,10 oom=11 pids=12",
                "oom=5 pids=6 procs=4",
        };
        struct api_workcg w;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct aio_err err = {0};

                assert_int_equal(api_workcg_parse(bad[i], &w, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "AIO_WORK_CGROUP"));
        }
}

static void test_blame(void **state)
{
        struct api_workcg_events before = {1, 1}, same = {1, 1}, oom = {2, 1}, pids = {1, 5};

        (void)state;
        assert_null(api_workcg_blame(&before, &same));
        assert_string_equal(api_workcg_blame(&before, &oom), "memory");
        assert_string_equal(api_workcg_blame(&before, &pids), "pids");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_and_read),
                cmocka_unit_test(test_parse_refuses),
                cmocka_unit_test(test_blame),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
