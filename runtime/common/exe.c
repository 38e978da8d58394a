#include "exe.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <unistd.h>

#include "err.h"
#include "xalloc.h"

int aio_exe_dir(char **ret_dir, struct aio_err *err)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n < 0)
                return aio_error(err, errno, "readlink /proc/self/exe");
        if (n == 0)
                return aio_error_msg(err, ENOENT, "readlink /proc/self/exe: empty");
        exe[n] = '\0';
        *ret_dir = aio_xstrdup(dirname(exe));
        return 0;
}
