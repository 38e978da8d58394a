#pragma once

/* Every process aio-apid starts for the agent or for itself, posix_spawn's way: the child
 * shares our memory (clone with CLONE_VM | CLONE_VFORK, on a stack of its own) so starting it
 * costs the same whatever aio-apid's size, and the calling thread waits until it has exec'd.
 * Until exec the child makes only async-signal-safe calls: signal dispositions defaulted and
 * mask emptied, its own process group (or session, with the terminal as controlling one), stdio
 * and the extra fds placed, every other fd marked close-on-exec, chdir, and the move into the
 * sandbox's work cgroup (api/workcg.h). A failure before exec is reported back with the step
 * that failed, not as an exit status. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct aio_err;
struct api_workcg;

/* One more fd for the child: fd (ours) becomes at (> 2) in the child. */
struct api_child_fd {
        int fd;
        int at;
};

#define API_CHILD_EXTRA_MAX 8

struct api_child {
        const char *path; /* executable */
        char *const *argv;
        char *const *envp;                /* NULL: aio-apid's environment */
        int fds[3];                       /* become 0, 1, 2; -1: /dev/null */
        const struct api_child_fd *extra; /* n_extra (<= API_CHILD_EXTRA_MAX) more fds */
        size_t n_extra;
        const char *dir;          /* NULL: aio-apid's working directory */
        const char *dir_fallback; /* tried when dir is gone; NULL: that is a failure */
        bool session; /* setsid (fds[0] becomes the controlling terminal) instead of setpgid */
        const struct api_workcg *workcg; /* NULL: stays in aio-apid's cgroup */
};

/* Returns the pid, or -errno with err naming the step ("chdir /x: No such file..."). */
int api_child_start(const struct api_child *c, struct aio_err *err);
