/* aio-unpack: unpacks a rootfs tarball into the store and prints the unpacked root. aio-run runs
 * it when rt_store_lookup() misses, so that only this binary loads libarchive. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "config.h"
#include "jail.h"
#include "store.h"

/* clang-format off */
static const struct option unpack_options[] = {
        { "state-dir", required_argument, NULL, 's' },
        { "verbose",   no_argument,       NULL, 'v' },
        { "help",      no_argument,       NULL, 'h' },
        {}
};
/* clang-format on */

static const char usage_text[] =
        "Usage: aio-unpack [--state-dir DIR] [-v] TARBALL\n"
        "\n"
        "Unpacks TARBALL (tar, tar.gz, tar.bz2, tar.xz, tar.zst) once into the image store under\n"
        "DIR/images (default " RT_DEFAULT_STATE_DIR ", or ~/.local/share/aio without root) and\n"
        "prints the unpacked root directory. A tarball already in the store is not read again.\n"
        "Absolute names, '..', links leaving the root, device nodes and fifos are refused, with\n"
        "the entry named; so are more than 500000 entries or 64 GiB.\n"
        "\n"
        "  --state-dir DIR   the store's state directory (as aio-run run --state-dir)\n"
        "  -v, --verbose     debug logging\n"
        "\n"
        "Exit status: 0, or 125 if the tarball could not be unpacked.\n";

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
        return unpack(state_dir, argv[optind]);
}
