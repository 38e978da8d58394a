/* aio shell exec: POST /v1/shell/exec (upstream-api.md §2.2). Prints the output and exits with
 * the command's status; a command that has not finished (status other than "completed") gives
 * 124 and names its session, so `aio shell exec --session ID` can go on with it. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "tools/aio/cli.h"
#include "tools/aio/client.h"

#define MARGIN_SECS 30.0 /* the server answers at --timeout; the request may take this longer */

static json_t *exec_body(const struct cli_args *a)
{
        json_t *b = json_pack("{s:s}", "command", a->command);

        if (!b)
                abort();
        if (a->session)
                (void)json_object_set_new(b, "id", json_string(a->session));
        if (a->cwd)
                (void)json_object_set_new(b, "exec_dir", json_string(a->cwd));
        if (a->has_cmd_timeout)
                (void)json_object_set_new(b, "timeout", json_real(a->cmd_timeout));
        return b;
}

static void output_print(const char *out)
{
        size_t n = strlen(out);

        (void)fwrite(out, 1, n, stdout);
        if (n > 0 && out[n - 1] != '\n' && isatty(STDOUT_FILENO))
                (void)fputc('\n', stdout);
}

/* The exit status of the remote command as a shell would report it. */
static int status_of(json_int_t code)
{
        if (code < 0)
                return (int)(128 + ((-code) & 127));
        return (int)(code & 255);
}

static int result_status(json_t *data, const char *what)
{
        const char *status = json_string_value(json_object_get(data, "status"));
        const char *session = json_string_value(json_object_get(data, "session_id"));
        json_t *code = json_object_get(data, "exit_code");

        if (status && strcmp(status, "completed") == 0 && json_is_integer(code))
                return status_of(json_integer_value(code));
        (void)fflush(stdout);
        (void)fprintf(stderr,
                      "aio: %s: the command has not finished (status %s); it goes on in session "
                      "%s\n",
                      what, status ? status : "missing", session ? session : "?");
        return CLI_EX_STILL_RUNNING;
}

int cli_shell_exec(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                   struct aio_err *err)
{
        json_auto_t *body = exec_body(a);
        const struct cli_call call = {
                .method = "POST",
                .path = "/v1/shell/exec",
                .body = body,
                .timeout = a->has_cmd_timeout ? a->cmd_timeout + MARGIN_SECS : 0,
                .sink_fd = -1,
        };
        json_auto_t *root = NULL;
        json_t *data;
        int r = cli_call_data(c, &call, &root, &data, err);

        if (r < 0)
                return r;
        if (!json_is_object(data))
                return aio_error_msg(err, CLI_E_PROTOCOL, "%s: no result in the answer", c->what);
        if (o->json)
                cli_json_print(data);
        else if (json_is_string(json_object_get(data, "output")))
                output_print(json_string_value(json_object_get(data, "output")));
        return result_status(data, c->what);
}
