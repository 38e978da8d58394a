/* Managing sandboxes started by `aio-run up`: each running one has <state>/sandboxes/<id>/up
 * (its URL and launcher pid, written once the API answers) beside the lock its launcher holds,
 * and its log in <state>/logs/<id>.log. ls, stop and logs read those; a sandbox whose lock is
 * free is not running, whatever its files say. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/xalloc.h"

#include "config.h"
#include "up.h"

struct up_info {
        long pid;
        long long started;
        char url[160];
};

char *rt_up_log_path(const char *state_dir, const char *name)
{
        return aio_xasprintf("%s/logs/%s.log", state_dir, name);
}

int rt_up_record(const char *dir, const char *url, struct aio_err *err)
{
        cleanup_free char *path = aio_xasprintf("%s/up", dir);
        cleanup_free char *tmp = aio_xasprintf("%s/up.tmp", dir);
        cleanup_fclose FILE *f = fopen(tmp, "we");

        if (!f)
                return aio_error(err, errno, "create %s", tmp);
        (void)fprintf(f, "pid %ld\nstarted %lld\nurl %s\n", (long)getpid(), (long long)time(NULL),
                      url);
        if (fflush(f) != 0 || rename(tmp, path) < 0)
                return aio_error(err, errno, "write %s", path);
        return 0;
}

static bool number_after(const char *buf, const char *key, long long *ret)
{
        const char *p = strstr(buf, key);
        char *end;

        if (!p)
                return false;
        errno = 0;
        *ret = strtoll(p + strlen(key), &end, 10);
        return errno == 0 && end != p + strlen(key) && *end == '\n';
}

static int info_read(const char *dir, struct up_info *ret)
{
        cleanup_free char *path = aio_xasprintf("%s/up", dir);
        struct up_info info = {0};
        char buf[512], *url;
        long long pid;
        struct aio_err ignored;

        if (aio_read_file(AT_FDCWD, path, buf, sizeof(buf), &ignored) < 0 ||
            strncmp(buf, "pid ", 4) != 0 || !number_after(buf, "pid ", &pid) ||
            !number_after(buf, "\nstarted ", &info.started) || !(url = strstr(buf, "\nurl ")))
                return -ENOENT;
        info.pid = (long)pid;
        url += 5;
        url[strcspn(url, "\n")] = '\0';
        if (strlen(url) >= sizeof(info.url))
                return -ENOENT;
        memcpy(info.url, url, strlen(url) + 1);
        *ret = info;
        return 0;
}

/* Whether the launcher of the sandbox in dir still holds its lock. */
static bool running(const char *dir)
{
        cleanup_free char *lock = aio_xasprintf("%s/lock", dir);
        cleanup_close int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return false;
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                return false;
        return errno == EWOULDBLOCK;
}

bool rt_up_running(const char *state_dir, const char *name)
{
        cleanup_free char *dir = aio_xasprintf("%s/sandboxes/%s", state_dir, name);

        return running(dir);
}

static void uptime_fmt(long long started, char *buf, size_t size)
{
        long long s = (long long)time(NULL) - started;

        s = s < 0 ? 0 : s;
        if (s < 120)
                (void)snprintf(buf, size, "%llds", s);
        else if (s < 7200)
                (void)snprintf(buf, size, "%lldm", s / 60);
        else
                (void)snprintf(buf, size, "%lldh", s / 3600);
}

int rt_up_ls(const char *state_dir, FILE *out, struct aio_err *err)
{
        cleanup_free char *base = aio_xasprintf("%s/sandboxes", state_dir);
        cleanup_dir DIR *d = opendir(base);
        struct dirent *de;
        int n = 0;

        if (!d && errno != ENOENT)
                return aio_error(err, errno, "open %s", base);
        (void)fprintf(out, "%-24s %-32s %-8s %s\n", "NAME", "URL", "PID", "UP");
        while (d && (de = readdir(d))) {
                cleanup_free char *dir = NULL;
                struct up_info info;
                char up[32];

                if (de->d_name[0] == '.')
                        continue;
                dir = aio_xasprintf("%s/%s", base, de->d_name);
                if (info_read(dir, &info) < 0 || !running(dir))
                        continue;
                uptime_fmt(info.started, up, sizeof(up));
                (void)fprintf(out, "%-24s %-32s %-8ld %s\n", de->d_name, info.url, info.pid, up);
                n++;
        }
        return n;
}

static int wait_gone(const char *dir, int timeout_ms)
{
        for (int t = 0; t < timeout_ms; t += 20) {
                if (!running(dir))
                        return 0;
                (void)usleep(20 * 1000);
        }
        return -ETIMEDOUT;
}

int rt_up_stop(const char *state_dir, const char *name, int timeout_ms, struct aio_err *err)
{
        cleanup_free char *dir = NULL;
        struct up_info info;

        if (rt_parse_name(name, err) < 0)
                return -err->code;
        dir = aio_xasprintf("%s/sandboxes/%s", state_dir, name);
        if (info_read(dir, &info) < 0 || !running(dir))
                return aio_error_msg(err, ENOENT, "no running sandbox named '%s' (see aio-run ls)",
                                     name);
        if (kill((pid_t)info.pid, SIGTERM) < 0)
                return aio_error(err, errno, "signal the launcher of '%s' (pid %ld)", name,
                                 info.pid);
        if (wait_gone(dir, timeout_ms) == 0)
                return 0;
        /* The launcher kills the whole jail on SIGTERM; one that does not answer is stuck. */
        (void)kill((pid_t)info.pid, SIGKILL);
        if (wait_gone(dir, 2000) < 0)
                return aio_error_msg(err, ETIMEDOUT, "sandbox '%s' did not stop", name);
        return aio_error_msg(err, ETIMEDOUT,
                             "sandbox '%s' ignored SIGTERM for %d ms and was killed; run "
                             "aio-run gc to remove what it left",
                             name, timeout_ms);
}

int rt_up_logs(const char *state_dir, const char *name, int out_fd, struct aio_err *err)
{
        cleanup_free char *path = NULL;
        cleanup_close int fd = -1;
        char buf[65536];
        ssize_t n;

        if (rt_parse_name(name, err) < 0)
                return -err->code;
        path = rt_up_log_path(state_dir, name);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? aio_error_msg(err, ENOENT,
                                                       "no log for a sandbox named '%s' (only "
                                                       "--detach sandboxes keep one)",
                                                       name)
                                       : aio_error(err, errno, "open %s", path);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (aio_write_full(out_fd, buf, (size_t)n, err) < 0)
                        return -err->code;
        return n < 0 ? aio_error(err, errno, "read %s", path) : 0;
}
