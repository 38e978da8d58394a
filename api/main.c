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
#include "api/auth.h"
#include "api/bash.h"
#include "api/file.h"
#include "api/hooks.h"
#include "api/http.h"
#include "api/sandbox.h"
#include "api/shell.h"
#include "api/workcg.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"

struct apid_opts {
        const char *listen;
        const char *local; /* also serve here, a loopback address (aio-run up: in the jail) */
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
                "  --insecure             serve without authentication on an address that is\n"
                "                         not loopback\n"
                "  --local ADDR:PORT      also serve on this loopback address of aio-apid's own\n"
                "                         network (aio-run up: 127.0.0.1:8080 inside the jail)\n"
                "  --max-connections N    connections served at once (default 512)\n"
                "  --timeout SECS         idle connections are closed after this (default 30)\n"
                "  --threads N            polling threads (default 1; a pool splits --max-connections)\n"
                "  --body-budget BYTES    request-body memory for all connections (default 64M)\n"
                "  -v, --verbose          more log (twice: debug)\n"
                "  --version, -h/--help\n"
                "Authentication (every route; none when both are unset, loopback only):\n"
                "  SANDBOX_API_KEY=KEY    X-AIO-API-Key: KEY, Authorization: Bearer KEY, ?api_key=KEY\n"
                "  JWT_PUBLIC_KEY=B64     Authorization: Bearer <RS256 JWT>; B64 = base64 of a PEM\n"
                "  TICKET_TTL_SECONDS=N   lifetime of the tickets of POST /tickets (default 30)\n",
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
                {"local", required_argument, NULL, 'L'},
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
                case 'L':
                        o->local = optarg;
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

/* "ADDR:PORT" or "[V6]:PORT"; an address that is not loopback needs authentication or
 * --insecure (checked again on the socket, for the one socket activation hands over). */
static int listen_on(const struct apid_opts *o, bool has_auth, struct aio_err *err)
{
        return aio_tcp_listen(o->listen, o->insecure || has_auth, SOCK_NONBLOCK, err);
}

/* systemd's sd_listen_fds() contract: LISTEN_FDS=N (and LISTEN_PID, when set, is us) hands
 * over fds 3... (aio-run up: its TCP socket, and with --socket a Unix one as fd 4). The
 * variables are removed so children never see them. Returns N (1 or 2), or -ENOENT when no
 * socket was passed. */
static int listen_fds_take(struct aio_err *err)
{
        const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
        char self[32];
        int r = -ENOENT;

        (void)snprintf(self, sizeof(self), "%ld", (long)getpid());
        if (fds && (!pid || strcmp(pid, self) == 0)) {
                r = strcmp(fds, "1") == 0 ? 1 : strcmp(fds, "2") == 0 ? 2 : 0;
                if (r == 0)
                        r = aio_error_msg(err, EINVAL, "LISTEN_FDS=%s: expected 1 or 2", fds);
                for (int fd = 3; r > 0 && fd < 3 + r; fd++)
                        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                                r = aio_error(err, errno, "LISTEN_FDS=%s but fd %d", fds, fd);
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

/* More servers on the same context: the Unix socket passed as fd 4, and --local. A --local
 * address that cannot be bound (taken, say) is only warned about. */
#define EXTRA_MAX 2
static int serve_extra(const struct apid_opts *o, const struct api_http_config *tcp, int n_fds,
                       struct api_http *ret[EXTRA_MAX], struct aio_err *err)
{
        struct api_http_config cfg = *tcp;
        struct aio_err local_err = {0};
        int r;

        cfg.threads = 1;
        if (n_fds >= 2) {
                cfg.listen_fd = 4;
                r = api_http_start(&cfg, &ret[0], err);
                if (r < 0)
                        return r;
        }
        if (!o->local)
                return 0;
        cfg.listen_fd = aio_tcp_listen(o->local, false, SOCK_NONBLOCK, &local_err);
        if (cfg.listen_fd < 0 || api_http_start(&cfg, &ret[1], &local_err) < 0) {
                log_warn("--local %s: %s", o->local, local_err.msg);
                if (cfg.listen_fd >= 0)
                        (void)close(cfg.listen_fd);
        }
        return 0;
}

static int serve(const struct apid_opts *o, int fd, int n_fds, struct api_auth *auth,
                 struct aio_err *err)
{
        struct api_workcg workcg;
        struct api_ctx ctx = {
                .auth = auth,
                .sandbox = api_sandbox_new(fd, true),
                .hooks = api_hooks_new(getenv("SANDBOX_SHUTDOWN_HOOKS"),
                                       env_seconds("SANDBOX_SHUTDOWN_HOOKS_TIMEOUT", 30)),
                .watches = api_watches_new(),
                .shells = api_shells_new(&workcg),
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
        struct api_http *http = NULL, *extra[EXTRA_MAX] = {NULL, NULL};
        struct api_bash_config bash_cfg;
        int r = api_workcg_parse(getenv("AIO_WORK_CGROUP"), &workcg, err);

        /* what aio-apid starts must not see it: the fds are close-on-exec */
        (void)unsetenv("AIO_WORK_CGROUP");
        ctx.workcg = &workcg;
        api_bash_config_default(&bash_cfg);
        bash_cfg.workcg = &workcg;
        ctx.bash = api_bash_new(&bash_cfg);
        if (!ctx.bash)
                log_warn("/v1/bash is unavailable: %s", strerror(errno));
        if (r == 0)
                r = api_http_start(&cfg, &http, err);
        if (r == 0 && (r = serve_extra(o, &cfg, n_fds, extra, err)) < 0)
                api_http_stop(http);
        if (r == 0) {
                log_info("serving on fd %d (%u threads, %u connections; authentication: %s)", fd,
                         o->threads, o->max_conns, api_auth_describe(auth));
                log_info("stopping on signal %d", wait_for_stop());
                api_bash_stop(ctx.bash);
                for (int i = 0; i < EXTRA_MAX; i++)
                        api_http_stop(extra[i]);
                api_http_stop(http);
                hooks_finish(ctx.hooks);
        }
        api_shells_free(ctx.shells);
        api_bash_free(ctx.bash);
        api_watches_free(ctx.watches);
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
        struct api_auth *auth = NULL;
        sigset_t stop;
        int r, fd, n_fds = 1;

        aio_log_set_program("aio-apid");
        r = parse_args(argc, argv, &o, &err);
        if (r == 0)
                r = api_auth_from_env(&auth, &err);
        if (r != 0)
                goto out;
        /* Blocked before any thread exists, so only sigwaitinfo() sees them. */
        (void)sigemptyset(&stop);
        (void)sigaddset(&stop, SIGTERM);
        (void)sigaddset(&stop, SIGINT);
        (void)sigprocmask(SIG_BLOCK, &stop, NULL);
        (void)signal(SIGPIPE, SIG_IGN);
        nofile_raise(o.max_conns);
        fd = n_fds = listen_fds_take(&err);
        if (n_fds > 0)
                fd = 3;
        else if (n_fds == -ENOENT)
                fd = listen_on(&o, auth != NULL, &err);
        r = fd < 0 ? fd : api_auth_listen_check(fd, !auth, o.insecure, &err);
        if (r == 0)
                r = serve(&o, fd, n_fds, auth, &err);
        if (fd >= 0)
                (void)close(fd);
        if (n_fds == 2)
                (void)close(4);
out:
        api_auth_free(auth);
        if (r < 0)
                log_error("%s", err.msg);
        return r < 0 ? 1 : 0;
}
