/* aio: the command-line client of the aio-apid REST API. argv -> options and a command (args.c),
 * one libcurl handle (client.c), the command's run function, and an exit status (aio(1)). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"

#include "tools/aio/cli.h"
#include "tools/aio/client.h"

static int run(const struct cli_cmd *cmd, const struct cli_opts *o, const struct cli_args *a,
               struct aio_err *err)
{
        struct cli_client c;
        int r = cli_client_init(&c, o, err);

        if (r < 0)
                return r;
        r = cmd->run(&c, o, a, err);
        cli_client_done(&c);
        return r;
}

int main(int argc, char **argv)
{
        struct aio_err err = {0};
        struct cli_opts o;
        struct cli_args a;
        const struct cli_cmd *cmd = NULL;
        int r;

        r = cli_parse(argc, argv, &o, &a, &cmd, &err);
        if (r == 0)
                r = run(cmd, &o, &a, &err);
        cli_args_done(&a);
        if (fflush(stdout) != 0 && r >= 0)
                r = cli_io_error(&err, errno, "writing stdout");
        if (r >= 0)
                return cmd ? r : 0;
        (void)fprintf(stderr, "aio: %s\n", err.msg);
        if (-r == CLI_E_USAGE)
                (void)fprintf(stderr, "try 'aio --help'\n");
        return cli_exit_code(r);
}
