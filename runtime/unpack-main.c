/* aio-unpack: unpacks a rootfs tarball into the store and prints the unpacked root. aio-run runs
 * it when rt_store_lookup() misses, so that only this binary loads libarchive; `aio-run image
 * import` runs it as `aio-unpack --import`, to import (and name) an image. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "config.h"
#include "image.h"
#include "jail.h"
#include "store.h"

/* clang-format off */
static const struct option unpack_options[] = {
        { "state-dir", required_argument, NULL, 's' },
        { "import",    no_argument,       NULL, 'i' },
        { "name",      required_argument, NULL, 'n' },
        { "verbose",   no_argument,       NULL, 'v' },
        { "help",      no_argument,       NULL, 'h' },
        {}
};
/* clang-format on */

static const char usage_text[] =
        "Usage: aio-unpack [--state-dir DIR] [-v] TARBALL\n"
        "       aio-unpack --import [--name NAME] [--state-dir DIR] [-v] FILE|DIR\n"
        "\n"
        "Unpacks TARBALL (tar, tar.gz, tar.bz2, tar.xz, tar.zst) once into the image store under\n"
        "DIR/images (default " RT_DEFAULT_STATE_DIR ", or ~/.local/share/aio without root) and\n"
        "prints the unpacked root directory. A tarball already in the store is not read again.\n"
        "Absolute names, '..', links leaving the root, device nodes and fifos are refused, with\n"
        "the entry named; so are more than 500000 entries or 64 GiB.\n"
        "\n"
        "--import (aio-run image import) also takes a docker save archive or an OCI image layout\n"
        "(a directory or a tar of one), applies its layers in order with their whiteouts under the\n"
        "same rules, names the image (NAME, or the archive's repo:tag, or the file name) and\n"
        "prints 'NAME sha256:DIGEST'.\n"
        "\n"
        "  --state-dir DIR   the store's state directory (as aio-run run --state-dir)\n"
        "  -v, --verbose     debug logging\n"
        "\n"
        "Exit status: 0, or 125 if the tarball could not be unpacked.\n";

static int import(const char *state_dir, const char *src, const char *name)
{
        const struct rt_store_limits lim = {.max_bytes = RT_STORE_MAX_BYTES,
                                            .max_entries = RT_STORE_MAX_ENTRIES};
        struct rt_image_import im = {
                .state_dir = state_dir, .src = src, .name = name, .set_name = true, .lim = &lim};
        struct aio_err err = {0};
        int r;

        if (rt_image_import(&im, &err) < 0) {
                log_error("%s", err.msg);
                return RT_EXIT_LAUNCHER;
        }
        if (im.existed)
                (void)fprintf(stderr, "aio-unpack: %s: already in the store, nothing unpacked\n",
                              src);
        r = printf("%s sha256:%s\n", im.ret_name ? im.ret_name : "<none>", im.hex);
        free(im.ret_name);
        if (r < 0 || fflush(stdout) != 0) {
                log_error("write to stdout: %s", strerror(errno));
                return RT_EXIT_LAUNCHER;
        }
        return 0;
}

static int unpack(const char *state_dir, const char *tarball)
{
        const struct rt_store_limits lim = {.max_bytes = RT_STORE_MAX_BYTES,
                                            .max_entries = RT_STORE_MAX_ENTRIES};
        struct aio_err err = {0};
        cleanup_free char *dir = NULL;

        if (rt_store_unpack(state_dir, tarball, &lim, &dir, &err) < 0) {
                log_error("%s", err.msg);
                return RT_EXIT_LAUNCHER;
        }
        if (printf("%s\n", dir) < 0 || fflush(stdout) != 0) {
                log_error("write to stdout: %s", strerror(errno));
                return RT_EXIT_LAUNCHER;
        }
        return 0;
}

int main(int argc, char **argv)
{
        cleanup_free char *state_dir = NULL;
        const char *name = NULL;
        bool import_mode = false;
        int opt;

        aio_log_set_program("aio-unpack");
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+vh", unpack_options, NULL)) != -1) {
                if (opt == 'h') {
                        (void)fputs(usage_text, stdout);
                        return 0;
                }
                if (opt == 'v') {
                        aio_log_level = AIO_LOG_DEBUG;
                        continue;
                }
                if (opt == 'i') {
                        import_mode = true;
                        continue;
                }
                if (opt == 'n') {
                        name = optarg;
                        continue;
                }
                if (opt == 's') {
                        free(state_dir);
                        state_dir = aio_xstrdup(optarg);
                        continue;
                }
                log_error("unknown or incomplete option '%s' (see aio-unpack --help)",
                          argv[optind - 1]);
                return RT_EXIT_LAUNCHER;
        }
        if (argc - optind != 1) {
                (void)fputs(usage_text, stderr);
                return RT_EXIT_LAUNCHER;
        }
        if (!state_dir)
                state_dir = rt_default_state_dir();
        if (name && !import_mode) {
                log_error("--name is an option of --import");
                return RT_EXIT_LAUNCHER;
        }
        return import_mode ? import(state_dir, argv[optind], name)
                           : unpack(state_dir, argv[optind]);
}
