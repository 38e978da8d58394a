/* aio-policy: checks policy files and compiles seccomp profiles to the raw BPF aio-run loads. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/capabilities.h"
#include "common/err.h"
#include "common/log.h"

#include "policy/bpf-dump.h"
#include "policy/bpf.h"
#include "policy/caps-policy.h"
#include "policy/check.h"
#include "policy/compile.h"
#include "policy/diag.h"
#include "policy/diff.h"
#include "policy/seccomp-policy.h"

#define EXIT_TROUBLE 2 /* as diff(1): something failed */
#define RET_USAGE    (-1)

struct cli {
        const char *output;
        struct pol_opts opts;
};

static const char usage[] =
        "usage: aio-policy check [--caps LIST] [--kernel X.Y] FILE...\n"
        "       aio-policy compile FILE -o OUT.bpf [--caps LIST] [--kernel X.Y] [--arch x86_64]\n"
        "       aio-policy dump FILE.bpf\n"
        "       aio-policy diff [--caps LIST] [--kernel X.Y] A.json B.json\n"
        "\n"
        "  --caps LIST    capability set that includes/excludes.caps are resolved against\n"
        "                 (CAP_A,CAP_B | none | default); default: the profile's\n"
        "                 \"aio\".capabilities, else the jail's default set (policy/caps.json)\n"
        "  --kernel X.Y   kernel version for minKernel (default: the running kernel)\n"
        "  --arch x86_64  the only target: x86 and x32 syscalls are killed by every filter\n"
        "  -o, --output   where compile writes the filter (raw struct sock_filter array)\n";

static void print_problems(const char *path, const struct pol_diag *d)
{
        for (size_t i = 0; i < d->n; i++)
                (void)fprintf(stderr, "%s: %s\n", path, d->msgs[i]);
}

static int parse_option(int c, const char *arg, struct cli *cli, struct aio_err *err)
{
        switch (c) {
        case 'o':
                cli->output = arg;
                return 0;
        case 'c':
                cli->opts.caps_given = true;
                return aio_caps_parse_list(arg, &cli->opts.caps, err);
        case 'k':
                if (!pol_kernel_version_parse(arg, cli->opts.kernel))
                        return aio_error_msg(err, EINVAL, "--kernel: expected X.Y, got \"%s\"",
                                             arg);
                return 0;
        case 'a':
                if (strcmp(arg, "x86_64") != 0 && strcmp(arg, "amd64") != 0)
                        return aio_error_msg(err, EINVAL,
                                             "--arch: only x86_64 is supported, got \"%s\"", arg);
                return 0;
        default:
                return aio_error_msg(err, EINVAL, "unknown option");
        }
}

/* Parses the options after the command; returns the index of the first operand in argv. */
static int parse_args(int argc, char **argv, struct cli *cli, struct aio_err *err)
{
        static const struct option longopts[] = {
                {"output", required_argument, NULL, 'o'}, {"caps", required_argument, NULL, 'c'},
                {"kernel", required_argument, NULL, 'k'}, {"arch", required_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
        };
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
                int r;

                if (c == 'h' || c == '?')
                        return aio_error_msg(err, EINVAL, "%s", c == 'h' ? "" : "bad option");
                r = parse_option(c, optarg, cli, err);
                if (r < 0)
                        return r;
        }
        return optind;
}

static int cmd_check(char **files, int n, const struct cli *cli)
{
        int bad = 0;

        if (n < 1)
                return RET_USAGE;
        for (int i = 0; i < n; i++) {
                struct pol_diag d = {0};
                struct aio_err err = {0};
                int kind = pol_check_file(files[i], &cli->opts, &d, &err);

                if (kind >= 0)
                        (void)printf("%s: ok (%s)\n", files[i], pol_kind_to_string(kind));
                else if (d.n > 0)
                        print_problems(files[i], &d);
                else
                        log_error("%s", err.msg);
                bad |= kind < 0;
                pol_diag_free(&d);
        }
        return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Loads a profile; problems are printed.  Returns NULL on failure. */
static struct pol_seccomp *load_profile(const char *path, const struct cli *cli)
{
        struct pol_seccomp *p = NULL;
        struct pol_diag d = {0};
        struct aio_err err = {0};

        if (pol_seccomp_load(path, &cli->opts, &p, &d, &err) < 0) {
                if (d.n > 0)
                        print_problems(path, &d);
                else
                        log_error("%s", err.msg);
        }
        pol_diag_free(&d);
        return p;
}

static int cmd_compile(char **files, int n, const struct cli *cli)
{
        cleanup_seccomp struct pol_seccomp *p = NULL;
        cleanup_bpf struct pol_bpf bpf = {0};
        struct aio_err err = {0};

        if (n != 1 || !cli->output)
                return RET_USAGE;
        p = load_profile(files[0], cli);
        if (!p)
                return EXIT_FAILURE;
        if (pol_seccomp_compile(p, &bpf, &err) < 0 || pol_bpf_write(cli->output, &bpf, &err) < 0) {
                log_error("%s: %s", files[0], err.msg);
                return EXIT_FAILURE;
        }
        log_info("%s: %zu instructions", cli->output, bpf.len);
        return EXIT_SUCCESS;
}

static int cmd_dump(char **files, int n)
{
        cleanup_bpf struct pol_bpf bpf = {0};
        struct aio_err err = {0};

        if (n != 1)
                return RET_USAGE;
        if (pol_bpf_read(files[0], &bpf, &err) < 0) {
                log_error("%s", err.msg);
                return EXIT_FAILURE;
        }
        (void)printf("# %s: %zu instructions\n", files[0], bpf.len);
        pol_bpf_dump(&bpf, stdout);
        return EXIT_SUCCESS;
}

static int cmd_diff(char **files, int n, const struct cli *cli)
{
        cleanup_seccomp struct pol_seccomp *a = NULL;
        cleanup_seccomp struct pol_seccomp *b = NULL;
        int k;

        if (n != 2)
                return RET_USAGE;
        a = load_profile(files[0], cli);
        b = a ? load_profile(files[1], cli) : NULL;
        if (!a || !b)
                return EXIT_TROUBLE;
        k = pol_seccomp_diff(a, b, files[0], files[1], stdout);
        (void)printf("%d difference%s\n", k, k == 1 ? "" : "s");
        return k ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int run(const char *cmd, char **files, int n, const struct cli *cli)
{
        if (strcmp(cmd, "check") == 0)
                return cmd_check(files, n, cli);
        if (strcmp(cmd, "compile") == 0)
                return cmd_compile(files, n, cli);
        if (strcmp(cmd, "dump") == 0)
                return cmd_dump(files, n);
        if (strcmp(cmd, "diff") == 0)
                return cmd_diff(files, n, cli);
        return RET_USAGE;
}

int main(int argc, char **argv)
{
        struct cli cli = {0};
        struct aio_err err = {0};
        int first, r;

        aio_log_set_program("aio-policy");
        if (getenv("AIO_DEBUG"))
                aio_log_level = AIO_LOG_DEBUG;
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                (void)fputs(usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_TROUBLE : EXIT_SUCCESS;
        }
        first = parse_args(argc - 1, argv + 1, &cli, &err);
        if (first < 0) {
                if (err.msg[0])
                        log_error("%s", err.msg);
                (void)fputs(usage, stderr);
                return EXIT_TROUBLE;
        }
        r = run(argv[1], argv + 1 + first, argc - 1 - first, &cli);
        if (r != RET_USAGE)
                return r;
        (void)fputs(usage, stderr);
        return EXIT_TROUBLE;
}
