/* aio-run: argv -> struct rt_config, then the subcommand. Nothing else lives here. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/capabilities.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/exe.h"
#include "common/log.h"
#include "common/version.h"
#include "common/xalloc.h"

#include "caps.h"
#include "config.h"
#include "image.h"
#include "jail-internal.h"
#include "jail.h"
#include "up.h"

enum {
        OPT_ROOTFS = 0x100,
        OPT_IMAGE,
        OPT_STATE_DIR,
        OPT_NAME,
        OPT_USER,
        OPT_HOSTNAME,
        OPT_WORKDIR,
        OPT_BIND,
        OPT_TMPFS,
        OPT_RLIMIT,
        OPT_SECCOMP,
        OPT_SECCOMP_LOG,
        OPT_CAPS,
        OPT_MEMORY,
        OPT_MEMORY_SWAP,
        OPT_PIDS,
        OPT_CPUS,
        OPT_NET,
        OPT_KEEP,
        OPT_UID_BASE,
        OPT_UID_SLOTS,
        OPT_LISTEN,
        OPT_PORT,
        OPT_INSECURE,
        OPT_DETACH,
        OPT_WORKSPACE,
        OPT_SOCKET,
};

/* clang-format off */
static const struct option run_options[] = {
        { "rootfs",      required_argument, NULL, OPT_ROOTFS },
        { "image",       required_argument, NULL, OPT_IMAGE },
        { "state-dir",   required_argument, NULL, OPT_STATE_DIR },
        { "name",        required_argument, NULL, OPT_NAME },
        { "user",        required_argument, NULL, OPT_USER },
        { "hostname",    required_argument, NULL, OPT_HOSTNAME },
        { "workdir",     required_argument, NULL, OPT_WORKDIR },
        { "env",         required_argument, NULL, 'e' },
        { "bind",        required_argument, NULL, OPT_BIND },
        { "tmpfs",       required_argument, NULL, OPT_TMPFS },
        { "rlimit",      required_argument, NULL, OPT_RLIMIT },
        { "seccomp",     required_argument, NULL, OPT_SECCOMP },
        { "seccomp-log", no_argument,       NULL, OPT_SECCOMP_LOG },
        { "caps",        required_argument, NULL, OPT_CAPS },
        { "memory",      required_argument, NULL, OPT_MEMORY },
        { "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
        { "pids",        required_argument, NULL, OPT_PIDS },
        { "cpus",        required_argument, NULL, OPT_CPUS },
        { "net",         required_argument, NULL, OPT_NET },
        { "tty",         no_argument,       NULL, 't' },
        { "keep",        no_argument,       NULL, OPT_KEEP },
        { "uid-base",    required_argument, NULL, OPT_UID_BASE },
        { "uid-slots",   required_argument, NULL, OPT_UID_SLOTS },
        { "listen",      required_argument, NULL, OPT_LISTEN },
        { "port",        required_argument, NULL, OPT_PORT },
        { "insecure",    no_argument,       NULL, OPT_INSECURE },
        { "detach",      no_argument,       NULL, OPT_DETACH },
        { "workspace",   required_argument, NULL, OPT_WORKSPACE },
        { "socket",      required_argument, NULL, OPT_SOCKET },
        { "verbose",     no_argument,       NULL, 'v' },
        { "help",        no_argument,       NULL, 'h' },
        {}
};
/* clang-format on */

static const char usage_text[] =
        "Usage: aio-run run [OPTIONS] -- CMD [ARGS...]\n"
        "       aio-run up [OPTIONS] [--listen ADDR:PORT | --port PORT] [--insecure] [--detach]\n"
        "       aio-run ls | stop NAME | logs NAME [--state-dir DIR]\n"
        "       aio-run image ls|import|rm|prune|inspect [--state-dir DIR] ...\n"
        "       aio-run gc [--state-dir DIR]\n"
        "       aio-run version\n"
        "\n"
        "Runs CMD in a jail built from user, pid, mount, net, uts, ipc and cgroup namespaces,\n"
        "cgroup limits, dropped capabilities and a seccomp filter.\n"
        "\n"
        "Root filesystem:\n"
        "  --rootfs host|DIR|FILE.tar[.gz|.xz|.zst]|IMAGE  root to run in (default: host, composed\n"
        "                        from the host's /usr and a synthesized /etc); tarballs (a rootfs, a\n"
        "                        docker save or OCI archive) are unpacked once into the image store;\n"
        "                        every sandbox writes to its own layer\n"
        "  --image NAME          an image of the store (aio-run image import; NAME, NAME:TAG or a\n"
        "                        digest)\n"
        "  --state-dir DIR       image store and sandbox state (default " RT_DEFAULT_STATE_DIR ",\n"
        "                        or ~/.local/share/aio when not root)\n"
        "  --name NAME           sandbox name (default: random); also the default hostname\n"
        "  --keep                keep the sandbox's writable layer after exit\n"
        "  --bind SRC:DST[:ro]   bind-mount a host path into the jail (nosuid, nodev)\n"
        "  --tmpfs DST[:SIZE]    mount a tmpfs in the jail\n"
        "Process:\n"
        "  --user root|gem|UID[:GID]  user to run CMD as (default root, with few capabilities)\n"
        "  --workdir DIR         working directory (default: the user's home)\n"
        "  -e, --env VAR=VAL     add to the environment (otherwise PATH, HOME, USER, LANG, TERM)\n"
        "  --hostname NAME       hostname inside the jail\n"
        "  --rlimit NAME=SOFT[:HARD]  set a resource limit (nofile, nproc, as, cpu, fsize, ...)\n"
        "  -t, --tty             give CMD a terminal (a pty inside the jail)\n"
        "Security:\n"
        "  --seccomp default|strict|browser|unconfined|FILE.bpf|FILE.json  seccomp filter\n"
        "                        (default: default; a .json profile is compiled once and cached)\n"
        "  --seccomp-log         report denied system calls by name\n"
        "  --caps LIST|none|default  capabilities kept for jail root (comma list of CAP_ names)\n"
        "  --net none|host       network: loopback only (default) or the host's (explicit opt-in)\n"
        "  --uid-base N          first host uid of the ranges given to sandboxes (default 1048576)\n"
        "  --uid-slots N         number of 65536-id ranges available (default 1024)\n"
        "Resources (cgroup v2, or v1 on hybrid hosts):\n"
        "  --memory SIZE         memory limit (k/m/g suffixes); no swap unless --memory-swap\n"
        "  --memory-swap SIZE    memory + swap limit\n"
        "  --pids N              maximum number of processes\n"
        "  --cpus N              CPU quota in CPUs (e.g. 0.5)\n"
        "aio-run up: the same jail running aio-apid, the sandbox API, as user gem:\n"
        "  --listen ADDR:PORT    where the API listens, in the host's network (default\n"
        "                        127.0.0.1:8080; port 0 picks one); the URL is printed once the\n"
        "                        API answers; Ctrl-C stops the sandbox\n"
        "  --port PORT           the same as --listen 127.0.0.1:PORT\n"
        "  --insecure            allow a non-loopback --listen with no API key set (by\n"
        "                        -e SANDBOX_API_KEY=... or -e JWT_PUBLIC_KEY=...)\n"
        "  --socket PATH         serve the API on this Unix socket too (mode 0600)\n"
        "  --workspace DIR       DIR at /home/gem/workspace; its owner's files are gem's\n"
        "  --detach              return once the API answers; the sandbox runs on, logging to\n"
        "                        STATE/logs/NAME.log (see aio-run ls, stop NAME, logs NAME)\n"
        "Other:\n"
        "  -v, --verbose         debug logging\n"
        "  -h, --help            this text\n"
        "\n"
        "Exit status: CMD's status, 128+N if it died of signal N, 125 if aio-run failed,\n"
        "126 if CMD could not be executed, 127 if CMD was not found.\n";

static int parse_number(const char *opt, const char *s, uint64_t max, uint64_t *ret,
                        struct aio_err *err)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || end == s || v > max || s[0] == '-')
                return aio_error_msg(err, EINVAL, "--%s '%s': expected a number up to %llu", opt, s,
                                     (unsigned long long)max);
        *ret = v;
        return 0;
}

static void append(void *arrayp, size_t *n, const void *item, size_t size)
{
        char **array = arrayp;

        *array = aio_xrealloc(*array, (*n + 1) * size);
        memcpy(*array + *n * size, item, size);
        (*n)++;
}

static int parse_resource(struct rt_config *c, int opt, const char *arg, struct aio_err *err)
{
        uint64_t v;

        switch (opt) {
        case OPT_MEMORY:
        case OPT_MEMORY_SWAP:
                if (rt_parse_size(arg, &v, err) < 0 || v > INT64_MAX)
                        return aio_error_prefix(err,
                                                opt == OPT_MEMORY ? "--memory" : "--memory-swap");
                *(opt == OPT_MEMORY ? &c->limits.memory : &c->limits.memory_swap) = (int64_t)v;
                return 0;
        case OPT_PIDS:
                if (parse_number("pids", arg, 4194304, &v, err) < 0)
                        return -err->code;
                if (v == 0)
                        return aio_error_msg(err, EINVAL, "--pids must be at least 1");
                c->limits.pids = (int64_t)v;
                return 0;
        case OPT_CPUS:
                return rt_parse_cpus(arg, &c->limits, err);
        case OPT_UID_BASE:
                if (parse_number("uid-base", arg, UINT32_MAX, &v, err) < 0)
                        return -err->code;
                c->uid_base = (uint32_t)v;
                return 0;
        default:
                if (parse_number("uid-slots", arg, 65535, &v, err) < 0)
                        return -err->code;
                c->uid_slots = (uint32_t)v;
                return 0;
        }
}

static int too_many(const char *opt, struct aio_err *err)
{
        return aio_error_msg(err, E2BIG, "too many %s options (at most %d)", opt, RT_MAX_LIST);
}

/* A repeatable option: parse arg into a new element of *arrayp (elements of size bytes). */
typedef int (*parse_item_fn)(const char *arg, void *ret, struct aio_err *err);

static int add_item(void *arrayp, size_t *n, size_t size, const char *opt, const char *arg,
                    parse_item_fn parse, struct aio_err *err)
{
        union {
                struct rt_bind b;
                struct rt_tmpfs t;
                struct rt_rlimit r;
        } item;

        if (*n >= RT_MAX_LIST)
                return too_many(opt, err);
        if (parse(arg, &item, err) < 0)
                return -err->code;
        append(arrayp, n, &item, size);
        return 0;
}

static int parse_bind(const char *arg, void *ret, struct aio_err *err)
{
        return rt_parse_bind(arg, ret, err);
}

static int parse_tmpfs(const char *arg, void *ret, struct aio_err *err)
{
        return rt_parse_tmpfs(arg, ret, err);
}

static int parse_rlimit(const char *arg, void *ret, struct aio_err *err)
{
        return rt_parse_rlimit(arg, ret, err);
}

static int add_env(struct rt_config *c, const char *arg, struct aio_err *err)
{
        char *e;

        if (c->n_env >= RT_MAX_LIST)
                return too_many("--env", err);
        if (rt_parse_env(arg, err) < 0)
                return -err->code;
        e = aio_xstrdup(arg);
        append(&c->env, &c->n_env, &e, sizeof(e));
        /* keep it NULL-terminated */
        c->env = aio_xrealloc(c->env, (c->n_env + 1) * sizeof(char *));
        c->env[c->n_env] = NULL;
        return 0;
}

static int replace(char **dst, const char *v)
{
        free(*dst);
        *dst = aio_xstrdup(v);
        return 0;
}

static int parse_option(struct rt_config *c, int opt, const char *arg, struct aio_err *err)
{
        switch (opt) {
        case OPT_ROOTFS:
                c->rootfs_kind = RT_ROOTFS_HOST; /* decided by rt_config_resolve_rootfs() */
                return replace(&c->rootfs, arg);
        case OPT_IMAGE:
                c->rootfs_kind = RT_ROOTFS_IMAGE;
                return replace(&c->rootfs, arg);
        case OPT_STATE_DIR:
                return arg[0] == '/'
                               ? replace(&c->state_dir, arg)
                               : aio_error_msg(err, EINVAL,
                                               "--state-dir '%s' must be an absolute path", arg);
        case OPT_NAME:
                return rt_parse_name(arg, err) < 0 ? -err->code : replace(&c->name, arg);
        case OPT_HOSTNAME:
                return rt_parse_name(arg, err) < 0 ? aio_error_prefix(err, "--hostname")
                                                   : replace(&c->hostname, arg);
        case OPT_WORKDIR:
                return replace(&c->workdir, arg);
        case OPT_SECCOMP:
                return replace(&c->seccomp, arg);
        case OPT_SECCOMP_LOG:
                c->seccomp_log = true;
                return 0;
        case OPT_KEEP:
                c->keep = true;
                return 0;
        case 't':
                c->tty = true;
                return 0;
        case 'v':
                aio_log_level = AIO_LOG_DEBUG;
                return 0;
        case OPT_USER:
                c->user_set = true;
                return rt_parse_user(arg, &c->uid, &c->gid, err);
        case OPT_CAPS:
                c->caps_set = true;
                return aio_caps_parse_list(arg, &c->caps, err);
        case OPT_NET:
                if (strcmp(arg, "none") == 0 || strcmp(arg, "host") == 0) {
                        c->net = arg[0] == 'h' ? RT_NET_HOST : RT_NET_NONE;
                        return 0;
                }
                return aio_error_msg(err, EINVAL, "--net '%s': expected none or host", arg);
        case OPT_BIND:
                return add_item(&c->binds, &c->n_binds, sizeof(*c->binds), "--bind", arg,
                                parse_bind, err);
        case OPT_TMPFS:
                return add_item(&c->tmpfs, &c->n_tmpfs, sizeof(*c->tmpfs), "--tmpfs", arg,
                                parse_tmpfs, err);
        case OPT_RLIMIT:
                return add_item(&c->rlimits, &c->n_rlimits, sizeof(*c->rlimits), "--rlimit", arg,
                                parse_rlimit, err);
        case 'e':
                return add_env(c, arg, err);
        case OPT_LISTEN:
                return replace(&c->listen, arg);
        case OPT_PORT:
                free(c->listen);
                c->listen = aio_xasprintf("127.0.0.1:%s", arg);
                return 0;
        case OPT_INSECURE:
                c->insecure = true;
                return 0;
        case OPT_DETACH:
                c->detach = true;
                return 0;
        case OPT_WORKSPACE:
                return replace(&c->workspace, arg);
        case OPT_SOCKET:
                return replace(&c->socket, arg);
        default:
                return parse_resource(c, opt, arg, err);
        }
}

static int parse_run(int argc, char **argv, struct rt_config *c, struct aio_err *err)
{
        int opt;

        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+e:tvh", run_options, NULL)) != -1) {
                if (opt == 'h') {
                        (void)fputs(usage_text, stdout);
                        exit(0);
                }
                if (opt == '?')
                        return aio_error_msg(
                                err, EINVAL,
                                "unknown or incomplete option '%s' (see aio-run --help)",
                                argv[optind - 1]);
                if (parse_option(c, opt, optarg, err) < 0)
                        return -err->code;
        }
        if (c->up) {
                static char apid[] = RT_UP_APID_PATH, insecure[] = "--insecure",
                            local[] = "--local", local_addr[] = RT_UP_DEFAULT_LISTEN;
                static char *up_argv[5] = {apid};
                size_t n = 1;

                if (argv[optind])
                        return aio_error_msg(err, EINVAL,
                                             "aio-run up takes no command (it runs aio-apid)");
                /* aio-apid refuses to serve open on a socket that is not loopback */
                if (c->insecure)
                        up_argv[n++] = insecure;
                /* the same URL works from inside: the jail's own loopback (with --net host
                 * the host's, where the published socket may already be it) */
                if (c->net != RT_NET_HOST) {
                        up_argv[n++] = local;
                        up_argv[n++] = local_addr;
                }
                up_argv[n] = NULL;
                c->argv = up_argv;
        } else {
                c->argv = argv + optind;
        }
        if (!c->state_dir)
                c->state_dir = rt_default_state_dir();
        if (rt_config_validate(c, err) < 0 || rt_config_resolve_rootfs(c, err) < 0)
                return -err->code;
        return 0;
}

static int cmd_run(int argc, char **argv)
{
        struct rt_config c;
        struct aio_err err = {0};
        int code;

        rt_config_init(&c);
        if (parse_run(argc, argv, &c, &err) < 0) {
                log_error("%s", err.msg);
                rt_config_free(&c);
                return RT_EXIT_LAUNCHER;
        }
        code = rt_jail_run(&c, &err);
        if (code == RT_EXIT_LAUNCHER && err.code)
                log_error("%s", err.msg);
        rt_config_free(&c);
        return code;
}

/* A read-only bind of src (taken) at dst when src exists. */
static void bind_if_present(struct rt_config *c, char *src, const char *dst)
{
        struct rt_bind b = {.src = src, .dst = aio_xstrdup(dst), .ro = true};

        if (access(src, R_OK) == 0) {
                append(&c->binds, &c->n_binds, &b, sizeof(b));
                return;
        }
        free(b.src);
        free(b.dst);
}

/* up = run aio-apid (bound read-only from beside aio-run at /opt/aio/bin) as user gem. */
static int up_prepare(struct rt_config *c, struct aio_err *err)
{
        cleanup_free char *dir = NULL;
        struct rt_bind b;

        if (aio_exe_dir(&dir, err) < 0)
                return -err->code;
        b = (struct rt_bind){.src = aio_xasprintf("%s/aio-apid", dir),
                             .dst = aio_xstrdup(RT_UP_APID_PATH),
                             .ro = true};
        if (access(b.src, X_OK) < 0) {
                int e = errno;

                free(b.src);
                free(b.dst);
                return aio_error(err, e, "aio-apid beside aio-run (%s)", dir);
        }
        append(&c->binds, &c->n_binds, &b, sizeof(b));
        /* the aio CLI and the /terminal page's files too, when installed beside us */
        bind_if_present(c, aio_xasprintf("%s/aio", dir), RT_UP_CLI_PATH);
        bind_if_present(c, aio_xasprintf("%s/../share/aio/terminal", dir), RT_UP_TERMINAL_PATH);
        if (!c->name)
                c->name = rt_up_random_name();
        if (!c->user_set) {
                c->user_set = true;
                c->uid = 1000;
                c->gid = 1000;
        }
        return 0;
}

static int cmd_up(int argc, char **argv)
{
        struct rt_config c;
        struct aio_err err = {0};
        int code;

        rt_config_init(&c);
        c.up = true;
        if (parse_run(argc, argv, &c, &err) < 0 || up_prepare(&c, &err) < 0 ||
            (c.detach && (c.ready_fd = rt_up_detach(c.state_dir, c.name, &err)) < 0)) {
                log_error("%s", err.msg);
                rt_config_free(&c);
                return RT_EXIT_LAUNCHER;
        }
        code = rt_jail_run(&c, &err);
        if (code == RT_EXIT_LAUNCHER && err.code)
                log_error("%s", err.msg);
        rt_config_free(&c);
        /* Ctrl-C or SIGTERM is how an up sandbox is meant to end */
        return code == 128 + SIGINT || code == 128 + SIGTERM ? 0 : code;
}

static int cmd_gc(int argc, char **argv)
{
        struct aio_err err = {0};
        cleanup_free char *state = NULL;
        int r;

        if (argc == 3 && strcmp(argv[1], "--state-dir") == 0)
                state = aio_xstrdup(argv[2]);
        else if (argc == 1)
                state = rt_default_state_dir();
        else
                return log_error("usage: aio-run gc [--state-dir DIR]"), RT_EXIT_LAUNCHER;
        r = rt_sandbox_gc(state, &err);
        if (r < 0) {
                log_error("gc: %s", err.msg);
                return RT_EXIT_LAUNCHER;
        }
        (void)printf("%d sandbox(es) removed\n", r);
        return 0;
}

int main(int argc, char **argv)
{
        aio_log_set_program("aio-run");
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                (void)fputs(usage_text, argc < 2 ? stderr : stdout);
                return argc < 2 ? RT_EXIT_LAUNCHER : 0;
        }
        if (strcmp(argv[1], "run") == 0)
                return cmd_run(argc - 1, argv + 1);
        if (strcmp(argv[1], "up") == 0)
                return cmd_up(argc - 1, argv + 1);
        if (strcmp(argv[1], "gc") == 0)
                return cmd_gc(argc - 1, argv + 1);
        if (strcmp(argv[1], "ls") == 0 || strcmp(argv[1], "stop") == 0 ||
            strcmp(argv[1], "logs") == 0)
                return rt_up_cmd(argc - 1, argv + 1);
        if (strcmp(argv[1], "image") == 0)
                return rt_image_main(argc - 1, argv + 1);
        if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
                (void)printf("aio-run %s\n", AIO_VERSION);
                return 0;
        }
        log_error("unknown command '%s' (run, up, ls, stop, logs, image, gc, version; see "
                  "aio-run --help)",
                  argv[1]);
        return RT_EXIT_LAUNCHER;
}
