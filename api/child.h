#pragma once

/* Every process aio-apid starts for the agent or for itself: forked, then in the child only
 * async-signal-safe calls until exec — signal mask emptied and dispositions defaulted, its
 * own process group (or session, with the terminal as controlling one), stdio from fds,
 * chdir, and the move into the sandbox's work cgroup (api/workcg.h). A failure before exec is
 * reported back with the step that failed, not as an exit status. */

#include <stdbool.h>
#include <sys/types.h>

struct aio_err;
struct api_workcg;

struct api_child {
        const char *path; /* executable */
        char *const *argv;
        char *const *envp; /* NULL: aio-apid's environment */
        int fds[3];        /* become 0, 1, 2; -1: /dev/null */
        const char *dir;   /* NULL: aio-apid's working directory */
        bool session;      /* setsid (fds[0] becomes the controlling terminal) instead of setpgid */
        const struct api_workcg *workcg; /* NULL: stays in aio-apid's cgroup */
};

/* Returns the pid, or -errno with err naming the step ("chdir /x: No such file..."). */
int api_child_start(const struct api_child *c, struct aio_err *err);
