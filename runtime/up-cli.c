/* The command lines of `aio-run ls|stop|logs` and the --detach of `aio-run up`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "config.h"
#include "jail.h"
#include "up.h"

#define STOP_TIMEOUT_MS 10000

/* [--state-dir DIR] [NAME]: the state dir (malloc'ed) and the name, if one is wanted. */
static int parse_ctl(int argc, char **argv, bool want_name, char **ret_state, const char **ret_name,
                     struct aio_err *err)
{
        static const struct option opts[] = {{"state-dir", required_argument, NULL, 's'}, {}};
        cleanup_free char *state = NULL;
        int opt;

        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (opt != 's')
                        return aio_error_msg(err, EINVAL, "unknown option '%s'", argv[optind - 1]);
                free(state);
                state = aio_xstrdup(optarg);
        }
        if (want_name ? argc - optind != 1 : argc != optind)
                return aio_error_msg(err, EINVAL, "usage: aio-run %s [--state-dir DIR]%s", argv[0],
                                     want_name ? " NAME" : "");
        *ret_state = state ? take_ptr(&state) : rt_default_state_dir();
        *ret_name = want_name ? argv[optind] : NULL;
        return 0;
}

int rt_up_cmd(int argc, char **argv)
{
        struct aio_err err = {0};
        cleanup_free char *state = NULL;
        const char *name = NULL, *cmd = argv[0];
        bool ls = strcmp(cmd, "ls") == 0;
        int r;

        if (parse_ctl(argc, argv, !ls, &state, &name, &err) < 0) {
                log_error("%s", err.msg);
                return RT_EXIT_LAUNCHER;
        }
        if (ls)
                r = rt_up_ls(state, stdout, &err);
        else if (strcmp(cmd, "stop") == 0)
                r = rt_up_stop(state, name, STOP_TIMEOUT_MS, &err);
        else
                r = rt_up_logs(state, name, STDOUT_FILENO, &err);
        if (r < 0) {
                log_error("%s: %s", cmd, err.msg);
                return RT_EXIT_LAUNCHER;
        }
        return 0;
}

char *rt_up_random_name(void)
{
        unsigned char b[3] = {0};

        (void)!getrandom(b, sizeof(b), 0);
        return aio_xasprintf("aio-%02x%02x%02x", b[0], b[1], b[2]);
}

/* The last line of the log, without the "aio-run: " its writer put first. */
static void last_line(const char *log, char *buf, size_t size)
{
        char tail[1024];
        ssize_t n = -1;
        cleanup_close int fd = open(log, O_RDONLY | O_CLOEXEC);
        off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
        char *p;

        buf[0] = '\0';
        if (end >= 0)
                n = pread(fd, tail, sizeof(tail) - 1, end > 1023 ? end - 1023 : 0);
        if (n <= 0)
                return;
        tail[n] = '\0';
        while (n > 0 && tail[n - 1] == '\n')
                tail[--n] = '\0';
        p = strrchr(tail, '\n');
        p = p ? p + 1 : tail;
        if (strncmp(p, "aio-run: ", 9) == 0)
                p += 9;
        n = (ssize_t)strnlen(p, size - 1);
        memcpy(buf, p, (size_t)n);
        buf[n] = '\0';
}

/* The parent of --detach: relays the URL line the launcher prints once the API answers, or
 * says where to look when it never comes. */
static int detach_parent(int rd, pid_t child, const char *name, const char *log)
{
        char line[256];
        size_t got = 0;
        ssize_t n;

        while (got < sizeof(line) - 1 && (n = read(rd, line + got, sizeof(line) - 1 - got)) > 0) {
                got += (size_t)n;
                if (memchr(line, '\n', got))
                        break;
        }
        line[got] = '\0';
        if (strchr(line, '\n')) {
                (void)fputs(line, stdout);
                return 0;
        }
        (void)waitpid(child, NULL, 0);
        last_line(log, line, sizeof(line));
        log_error("sandbox '%s' did not start%s%s (its log: %s)", name, line[0] ? ": " : "", line,
                  log);
        return RT_EXIT_LAUNCHER;
}

int rt_up_detach(const char *state_dir, const char *name, struct aio_err *err)
{
        cleanup_free char *logs = aio_xasprintf("%s/logs", state_dir);
        cleanup_free char *log = rt_up_log_path(state_dir, name);
        cleanup_close int log_fd = -1, null_fd = -1;
        int p[2];
        pid_t pid;

        /* before the log is truncated: it may be a running sandbox's */
        if (rt_up_running(state_dir, name))
                return aio_error_msg(err, EEXIST, "a sandbox named '%s' is already running", name);
        if (aio_mkdir_p(logs, 0700, err) < 0)
                return -err->code;
        log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log_fd < 0 || null_fd < 0)
                return aio_error(err, errno, "open %s", log);
        if (pipe2(p, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                int e = errno;

                (void)close(p[0]);
                (void)close(p[1]);
                return aio_error(err, e, "fork");
        }
        if (pid > 0) {
                (void)close(p[1]);
                exit(detach_parent(p[0], pid, name, log));
        }
        /* the launcher, detached: the URL goes to the pipe, everything else to the log */
        (void)close(p[0]);
        if (setsid() < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0)
                return aio_error(err, errno, "detach");
        return p[1];
}
