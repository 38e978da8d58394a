/* `aio-run image ls|import|rm|prune|inspect`: options -> image-admin.c. import runs aio-unpack
 * (installed next to aio-run, the only binary that loads libarchive) in aio-run's place. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/exe.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "config.h"
#include "image-internal.h"
#include "image.h"
#include "jail.h"

enum { OPT_STATE_DIR = 0x100, OPT_NAME, OPT_ALL };

/* clang-format off */
static const struct option image_options[] = {
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "name",      required_argument, NULL, OPT_NAME },
        { "all",       no_argument,       NULL, OPT_ALL },
        { "quiet",     no_argument,       NULL, 'q' },
        { "verbose",   no_argument,       NULL, 'v' },
        { "help",      no_argument,       NULL, 'h' },
        {}
};
/* clang-format on */

static const char image_usage[] =
        "Usage: aio-run image ls [-q]\n"
        "       aio-run image import [--name NAME] FILE|DIR\n"
        "       aio-run image rm NAME|DIGEST...\n"
        "       aio-run image prune [--all]\n"
        "       aio-run image inspect NAME|DIGEST\n"
        "       aio-run image build [--name NAME]\n"
        "  (each takes --state-dir DIR, default " RT_DEFAULT_STATE_DIR " or ~/.local/share/aio)\n"
        "\n"
        "The image store holds root filesystems for --rootfs NAME or --image NAME, by the digest\n"
        "of their content. import takes a rootfs tarball (tar, tar.gz, tar.xz, tar.zst), a docker\n"
        "save archive, or an OCI image layout (a directory or a tar of one); it names the image\n"
        "NAME, or as the archive does (repo:tag), or after the tarball. rm removes a name (the\n"
        "image with its last name) and refuses an image a running sandbox uses; prune removes the\n"
        "unused images without a name (--all: every unused image). inspect prints JSON. build\n"
        "builds the default Debian image (rootfs/build.sh: a no-op when its inputs are unchanged)\n"
        "and imports it as NAME (default: \"default\").\n";

struct image_args {
        const char *cmd;
        char *state_dir;
        const char *name;
        bool all, quiet;
        char **rest; /* operands */
        int n_rest;
};

static int parse_args(int argc, char **argv, struct image_args *a, struct aio_err *err)
{
        int opt;

        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+qvh", image_options, NULL)) != -1) {
                if (opt == 'h') {
                        (void)fputs(image_usage, stdout);
                        exit(0);
                } else if (opt == 'v') {
                        aio_log_level = AIO_LOG_DEBUG;
                } else if (opt == 'q') {
                        a->quiet = true;
                } else if (opt == OPT_ALL) {
                        a->all = true;
                } else if (opt == OPT_NAME) {
                        if (rt_image_name_check(optarg, err) < 0)
                                return aio_error_prefix(err, "--name");
                        a->name = optarg;
                } else if (opt == OPT_STATE_DIR && optarg[0] == '/') {
                        free(a->state_dir);
                        a->state_dir = aio_xstrdup(optarg);
                } else {
                        return aio_error_msg(err, EINVAL,
                                             "image %s: bad option '%s' (see aio-run image --help)",
                                             a->cmd, argv[optind - 1]);
                }
        }
        a->rest = argv + optind;
        a->n_rest = argc - optind;
        if (!a->state_dir)
                a->state_dir = rt_default_state_dir();
        return 0;
}

/* aio-unpack --import [--name NAME] [-v] --state-dir DIR -- SRC, in our place. */
static int cmd_import(const struct image_args *a, struct aio_err *err)
{
        cleanup_free char *dir = NULL, *tool = NULL;
        const char *argv[12];
        size_t n = 0;

        if (a->n_rest != 1)
                return aio_error_msg(err, EINVAL,
                                     "usage: aio-run image import [--name NAME] "
                                     "FILE|DIR");
        if (aio_exe_dir(&dir, err) < 0)
                return aio_error_prefix(err, "find aio-unpack");
        tool = aio_xasprintf("%s/aio-unpack", dir);
        argv[n++] = "aio-unpack";
        argv[n++] = "--import";
        if (aio_log_level >= AIO_LOG_DEBUG)
                argv[n++] = "-v";
        if (a->name) {
                argv[n++] = "--name";
                argv[n++] = a->name;
        }
        argv[n++] = "--state-dir";
        argv[n++] = a->state_dir;
        argv[n++] = "--";
        argv[n++] = a->rest[0];
        argv[n] = NULL;
        (void)fflush(stdout);
        execv(tool, (char *const *)argv);
        return aio_error(err, errno, "run %s", tool);
}

/* rootfs/build.sh: beside the binaries in a build tree (build/bin/../../rootfs), under
 * share/aio when installed (bin/../share/aio/rootfs). */
static char *build_script(const char *dir)
{
        static const char *const rel[] = {"../../rootfs/build.sh", "../share/aio/rootfs/build.sh"};

        for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
                char *p = aio_xasprintf("%s/%s", dir, rel[i]);

                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* Runs script with arg (NULL: none); with out, its first stdout line goes there. */
static int script_run(const char *script, const char *arg, char *out, size_t size,
                      struct aio_err *err)
{
        int p[2] = {-1, -1}, status;
        ssize_t n = 0;
        pid_t pid;

        if (out && pipe2(p, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        pid = fork();
        if (pid == 0) {
                if (out && dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(127);
                execl(script, script, arg, (char *)NULL);
                _exit(127);
        }
        if (out) {
                (void)close(p[1]);
                if (pid > 0)
                        n = read(p[0], out, size - 1);
                (void)close(p[0]);
                out[n > 0 ? n : 0] = '\0';
                out[strcspn(out, "\n")] = '\0';
        }
        if (pid < 0)
                return aio_error(err, errno, "fork");
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return aio_error(err, errno, "wait for %s", script);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return aio_error_msg(err, EIO, "%s %s failed (status %d)", script, arg ? arg : "",
                                     WIFEXITED(status) ? WEXITSTATUS(status) : 128);
        return 0;
}

static int cmd_build(struct image_args *a, struct aio_err *err)
{
        cleanup_free char *dir = NULL, *script = NULL;
        char path[4096], *rest[] = {path, NULL};
        struct image_args b = *a;

        if (a->n_rest != 0)
                return aio_error_msg(err, EINVAL, "usage: aio-run image build [--name NAME]");
        if (aio_exe_dir(&dir, err) < 0)
                return -err->code;
        script = build_script(dir);
        if (!script)
                return aio_error_msg(err, ENOENT, "rootfs/build.sh not found beside %s", dir);
        if (script_run(script, NULL, NULL, 0, err) < 0 ||
            script_run(script, "--print-path", path, sizeof(path), err) < 0)
                return -err->code;
        b.name = a->name ? a->name : "default";
        b.rest = rest;
        b.n_rest = 1;
        return cmd_import(&b, err);
}

static int run(struct image_args *a, struct aio_err *err)
{
        int r = 0;

        if (strcmp(a->cmd, "ls") == 0 || strcmp(a->cmd, "list") == 0)
                return a->n_rest ? aio_error_msg(err, EINVAL, "image ls takes no operand")
                                 : rt_image_list(a->state_dir, a->quiet, err);
        if (strcmp(a->cmd, "import") == 0)
                return cmd_import(a, err);
        if (strcmp(a->cmd, "build") == 0)
                return cmd_build(a, err);
        if (strcmp(a->cmd, "inspect") == 0)
                return a->n_rest != 1 ? aio_error_msg(err, EINVAL,
                                                      "usage: aio-run image inspect "
                                                      "NAME|DIGEST")
                                      : rt_image_inspect(a->state_dir, a->rest[0], err);
        if (strcmp(a->cmd, "prune") == 0) {
                r = a->n_rest ? aio_error_msg(err, EINVAL, "image prune takes no operand")
                              : rt_image_prune(a->state_dir, a->all, err);
                if (r >= 0)
                        (void)printf("%d image(s) removed\n", r);
                return r;
        }
        if (strcmp(a->cmd, "rm") != 0 && strcmp(a->cmd, "remove") != 0)
                return aio_error_msg(err, EINVAL,
                                     "unknown image command '%s' (ls, import, build, rm, prune, "
                                     "inspect)",
                                     a->cmd);
        if (a->n_rest == 0)
                return aio_error_msg(err, EINVAL, "usage: aio-run image rm NAME|DIGEST...");
        for (int i = 0; i < a->n_rest && r >= 0; i++)
                r = rt_image_remove(a->state_dir, a->rest[i], err);
        return r;
}

int rt_image_main(int argc, char **argv)
{
        struct image_args a = {0};
        struct aio_err err = {0};
        int r;

        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                (void)fputs(image_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? RT_EXIT_LAUNCHER : 0;
        }
        a.cmd = argv[1];
        r = parse_args(argc - 1, argv + 1, &a, &err);
        if (r >= 0)
                r = run(&a, &err);
        free(a.state_dir);
        if (r < 0) {
                log_error("image %s: %s", a.cmd, err.msg);
                return RT_EXIT_LAUNCHER;
        }
        return 0;
}
