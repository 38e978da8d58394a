/* aio-apid: the AIO Sandbox REST API inside the jail. argv and the environment become a
 * struct apid_opts; the listening socket comes from socket activation (fd 3, LISTEN_FDS=1) or
 * --listen; SIGTERM/SIGINT stop it, run the shutdown hooks and exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/net.h"
#include "common/version.h"

#include "api/api.h"
#include "api/hooks.h"
#include "api/http.h"
#include "api/sandbox.h"
#include "api/shell.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"

struct apid_opts {
        const char *listen;
        unsigned max_conns, timeout_s, threads;
        size_t body_budget;
        bool insecure;
};

static void usage(FILE *f)
{
        (void)fprintf(
                f,
                "usage: aio-apid [--listen ADDR:PORT] [options]\n"
                "Serves the AIO Sandbox REST API. With LISTEN_FDS=1 in the environment (socket\n"
                "activation; LISTEN_PID, if set, must be this process) it serves the listening\n"
                "socket on fd 3 and ignores --listen.\n"
                "  --listen ADDR:PORT     address to bind (default %s; [v6]:PORT for IPv6)\n"
                "  --insecure             allow a --listen address that is not loopback\n"
                "  --max-connections N    connections served at once (default 512)\n"
                "  --timeout SECS         idle connections are closed after this (default 30)\n"
                "  --threads N            polling threads (default 1; a pool splits --max-connections)\n"
                "  --body-budget BYTES    request-body memory for all connections (default 64M)\n"
                "  -v, --verbose          more log (twice: debug)\n"
                "  --version, -h/--help\n",
                DEFAULT_LISTEN);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret, struct aio_err *err)
{
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max)
                return aio_error_msg(err, EINVAL, "'%s': expected a number from 1 to %lu", s, max);
        *ret = v;
        return 0;
}

/* One epoll thread by default. With a pool, MHD splits the connection limit evenly between
 * its threads while the kernel spreads accepts unevenly, so a busy thread closes connections
 * that arrive below the limit (seen with 500 held connections under load). */
static unsigned default_threads(void)
{
        return 1;
}

static int opt_number(int c, const char *arg, struct apid_opts *o, struct aio_err *err)
{
        unsigned long v = 0;
        int r = parse_uint(arg, c == 'b' ? (1ul << 40) : 65536, &v, err);

        if (r < 0)
                return r;
        if (c == 'm')
                o->max_conns = (unsigned)v;
        else if (c == 't')
                o->timeout_s = (unsigned)v;
        else if (c == 'T')
                o->threads = (unsigned)v;
        else
                o->body_budget = v;
        return 0;
}

static const char *opt_name(const struct option *opts, int c)
{
        for (; opts->name; opts++)
                if (opts->val == c)
                        return opts->name;
        return "?";
}

/* Returns 1 when the program should exit 0 at once (--help, --version). */
static int parse_args(int argc, char **argv, struct apid_opts *o, struct aio_err *err)
{
        static const struct option longopts[] = {
                {"listen", required_argument, NULL, 'l'},
                {"insecure", no_argument, NULL, 'I'},
                {"max-connections", required_argument, NULL, 'm'},
                {"timeout", required_argument, NULL, 't'},
                {"threads", required_argument, NULL, 'T'},
                {"body-budget", required_argument, NULL, 'b'},
                {"verbose", no_argument, NULL, 'v'},
                {"version", no_argument, NULL, 'V'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        o->listen = optarg;
                        break;
                case 'I':
                        o->insecure = true;
                        break;
                case 'v':
                        if (aio_log_level < AIO_LOG_DEBUG)
                                aio_log_level++;
                        break;
                case 'V':
                        printf("aio-apid %s\n", AIO_VERSION);
                        return 1;
                case 'h':
                        usage(stdout);
                        return 1;
                case '?':
                        usage(stderr);
                        return aio_error_msg(err, EINVAL, "bad arguments");
                default:
                        r = opt_number(c, optarg, o, err);
                        if (r < 0)
                                return aio_error_prefix(err, "--%s", opt_name(longopts, c));
                }
        }
        if (optind < argc)
                return aio_error_msg(err, EINVAL, "unexpected argument '%s'", argv[optind]);
        return 0;
}

/* "ADDR:PORT" or "[V6]:PORT" into ss; loopback says whether the address is one. */
static int listen_on(const struct apid_opts *o, struct aio_err *err)
{
        return aio_tcp_listen(o->listen, o->insecure, SOCK_NONBLOCK, err);
}

/* systemd's sd_listen_fds() contract: LISTEN_FDS=1 (and LISTEN_PID, when set, is us) hands
 * over fd 3. The variables are removed so children never see them. Returns 3, or -ENOENT when
 * no socket was passed. */
static int listen_fds_take(struct aio_err *err)
{
        const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
        char self[32];
        int r = -ENOENT;

        (void)snprintf(self, sizeof(self), "%ld", (long)getpid());
        if (fds && (!pid || strcmp(pid, self) == 0)) {
                if (strcmp(fds, "1") != 0)
                        r = aio_error_msg(err, EINVAL, "LISTEN_FDS=%s: expected 1", fds);
                else if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
                        r = aio_error(err, errno, "LISTEN_FDS=1 but fd 3");
                else
                        r = 3;
        }
        (void)unsetenv("LISTEN_FDS");
        (void)unsetenv("LISTEN_PID");
        (void)unsetenv("LISTEN_FDNAMES");
        return r;
}

/* Room for every connection plus our own files. */
static void nofile_raise(unsigned conns)
{
        struct rlimit rl;
        rlim_t want = (rlim_t)conns + 64;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return;
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
}

static double env_seconds(const char *name, double def)
{
        const char *s = getenv(name);
        char *end;
        double v;

        if (!s || !*s)
                return def;
        v = strtod(s, &end);
        return *end || !(v > 0) ? def : v;
}

static void hooks_finish(struct api_hooks *hooks)
{
        json_t *results = api_hooks_run(hooks), *r;
        const char *dir = getenv("SANDBOX_SHUTDOWN_HOOKS_RESULT_DIR");
        size_t i;

        json_array_foreach(results, i, r) {
                cleanup_free char *s = json_dumps(r, JSON_COMPACT);

                log_info("shutdown hook: %s", s ? s : "?");
        }
        if (dir && *dir && json_array_size(results) > 0) {
                cleanup_free char *s = json_dumps(results, JSON_INDENT(2));
                cleanup_free char *path = NULL;
                struct aio_err err = {0};

                if (s && asprintf(&path, "%s/shutdown-hooks-results.json", dir) >= 0 &&
                    (aio_mkdir_p(dir, 0755, &err) < 0 ||
                     aio_write_file(AT_FDCWD, path, s, strlen(s), 0644, &err) < 0))
                        log_warn("shutdown hook results: %s", err.msg);
        }
        json_decref(results);
}

static int wait_for_stop(void)
{
        sigset_t set;
        int sig;

        (void)sigemptyset(&set);
        (void)sigaddset(&set, SIGTERM);
        (void)sigaddset(&set, SIGINT);
        do
                sig = sigwaitinfo(&set, NULL);
        while (sig < 0 && errno == EINTR);
        return sig;
}

static int serve(const struct apid_opts *o, int fd, struct aio_err *err)
{
        struct api_ctx ctx = {
                .sandbox = api_sandbox_new(fd, true),
                .hooks = api_hooks_new(getenv("SANDBOX_SHUTDOWN_HOOKS"),
                                       env_seconds("SANDBOX_SHUTDOWN_HOOKS_TIMEOUT", 30)),
                .shells = api_shells_new(),
        };
        struct api_http_config cfg = {
                .listen_fd = fd,
                .max_conns = o->max_conns,
                .timeout_s = o->timeout_s,
                .threads = o->threads,
                .conn_memory = (size_t)32 * 1024,
                .body_budget = o->body_budget,
                .ctx = &ctx,
        };
        struct api_http *http = NULL;
        int r = api_http_start(&cfg, &http, err);

        if (r == 0) {
                log_info("serving on fd %d (%u threads, %u connections)", fd, o->threads,
                         o->max_conns);
                log_info("stopping on signal %d", wait_for_stop());
                api_http_stop(http);
                hooks_finish(ctx.hooks);
        }
        api_shells_free(ctx.shells);
        api_hooks_free(ctx.hooks);
        api_sandbox_free(ctx.sandbox);
        return r;
}

int main(int argc, char **argv)
{
        struct apid_opts o = {
                .listen = DEFAULT_LISTEN,
                .max_conns = 512,
                .timeout_s = 30,
                .threads = default_threads(),
                .body_budget = 64u << 20,
        };
        struct aio_err err = {0};
        sigset_t stop;
        int r, fd;

        aio_log_set_program("aio-apid");
        r = parse_args(argc, argv, &o, &err);
        if (r != 0)
                goto out;
        /* Blocked before any thread exists, so only sigwaitinfo() sees them. */
        (void)sigemptyset(&stop);
        (void)sigaddset(&stop, SIGTERM);
        (void)sigaddset(&stop, SIGINT);
        (void)sigprocmask(SIG_BLOCK, &stop, NULL);
        (void)signal(SIGPIPE, SIG_IGN);
        nofile_raise(o.max_conns);
        fd = listen_fds_take(&err);
        if (fd == -ENOENT)
                fd = listen_on(&o, &err);
        r = fd < 0 ? fd : serve(&o, fd, &err);
        if (fd >= 0)
                (void)close(fd);
out:
        if (r < 0)
                log_error("%s", err.msg);
        return r < 0 ? 1 : 0;
}
