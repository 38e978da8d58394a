/*
 * perf — escape class #17 (runtimes.md §3): perf_event_open (CVE-2013-2094 and later bugs;
 * side channels on other tenants and the kernel).
 * Defences: seccomp denies perf_event_open; kernel.perf_event_paranoid>=2 stops kernel
 * profiling for the unprivileged, but self-profiling of user space stays open, so the filter is
 * what stops the first attempt.
 */
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "probe.h"

static int perf_open(int exclude_kernel, const char *what)
{
        struct perf_event_attr a;
        int fd;

        memset(&a, 0, sizeof(a));
        a.size = sizeof(a);
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_CPU_CLOCK;
        a.disabled = 1;
        a.exclude_kernel = exclude_kernel;
        a.exclude_hv = 1;
        fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0)
                return errno;
        close(fd);
        probe_note("perf event opened (%s)", what);
        return P_OK;
}

static int try_user(void)
{
        return perf_open(1, "user space only");
}

static int try_kernel(void)
{
        return perf_open(0, "kernel included");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "perf_event_open(self, user space)", try_user, false,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK, EACCES), "perf_event_paranoid=3", EXPECT(P_OK) },
        { "perf_event_open(self, kernel)", try_kernel, false,
          EXPECT(EPERM), "seccomp", EXPECT(EACCES), "perf_event_paranoid>=2", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
