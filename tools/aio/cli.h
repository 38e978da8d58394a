/* aio: the command-line client of aio-apid. Declarations shared by its files: the options, the
 * command table, argv parsing, URL building and the exit statuses (documented in aio(1)). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct aio_err;
struct cli_client;

/* Exit statuses (sysexits.h numbers where one fits). shell exec exits with the remote status. */
enum cli_exit {
        CLI_EX_OK = 0,
        CLI_EX_API = 1,          /* the server answered an error (HTTP >= 400 or success:false) */
        CLI_EX_USAGE = 2,        /* bad arguments, bad --url */
        CLI_EX_UNAVAILABLE = 69, /* cannot connect: refused, unresolvable, reset */
        CLI_EX_IOERR = 74,       /* a local file could not be read or written */
        CLI_EX_TEMPFAIL = 75,    /* the request timed out (--timeout) */
        CLI_EX_PROTOCOL = 76,    /* the answer is not what the API sends */
        CLI_EX_NOPERM = 77,      /* HTTP 401/403: missing or wrong credentials */
        CLI_EX_STILL_RUNNING = 124, /* shell exec: the command did not finish in time */
        CLI_EX_INTERRUPTED = 130,   /* SIGINT/SIGTERM/SIGHUP */
};

/* The errno each failure class travels as (err->code); cli_exit_code() maps them. */
#define CLI_E_USAGE    EINVAL
#define CLI_E_CONNECT  ECONNREFUSED
#define CLI_E_TIMEOUT  ETIMEDOUT
#define CLI_E_API      EREMOTEIO
#define CLI_E_AUTH     EACCES
#define CLI_E_PROTOCOL EPROTO

#define CLI_DEFAULT_URL     "http://127.0.0.1:8080"
#define CLI_DEFAULT_TIMEOUT 300.0
#define CLI_POS_MAX         2
#define CLI_WORDS           255u /* cli_cmd.max_pos: every word to the end is the command */

/* Global options: argv, then $AIO_URL, $AIO_API_KEY/$SANDBOX_API_KEY, $AIO_TOKEN. */
struct cli_opts {
        const char *url;     /* base URL, checked by cli_url_check() */
        const char *api_key; /* sent as X-AIO-API-Key */
        const char *token;   /* sent as Authorization: Bearer */
        double timeout;      /* seconds for one request; 0: no limit */
        bool json;
        int verbose;
};

/* Everything a command may take; each command's option table says which. */
struct cli_args {
        const char *pos[CLI_POS_MAX]; /* operands: PATH, or LOCAL REMOTE / REMOTE LOCAL */
        size_t npos;
        char *command; /* shell exec: the words joined by spaces (owned) */
        const char *session, *cwd, *content;
        double cmd_timeout;
        long long start_line, end_line;
        bool has_cmd_timeout, has_start, has_end, append, recursive;
};

typedef int (*cli_run_fn)(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                          struct aio_err *err);

struct cli_cmd {
        const char *group, *name, *operands, *summary;
        const struct option *options; /* the command's own, ended by a zero row; may be NULL */
        unsigned min_pos, max_pos;    /* operands; max_pos CLI_WORDS: shell exec's words */
        int local_pos;                /* the operand naming a local file (any bytes), or -1 */
        cli_run_fn run;
};

extern const struct cli_cmd cli_commands[];
extern const size_t cli_commands_len;

/* argv -> options, command and arguments. Returns 0 to run *ret_cmd, 1 when help was printed
 * (exit 0), or -CLI_E_USAGE. */
int cli_parse(int argc, char **argv, struct cli_opts *o, struct cli_args *a,
              const struct cli_cmd **ret_cmd, struct aio_err *err);
void cli_args_done(struct cli_args *a);
void cli_usage(const struct cli_cmd *only, bool to_stderr);

/* Base URL: http:// or https://, a host, no credentials, query or fragment. */
int cli_url_check(const char *url, struct aio_err *err);
/* base (trailing slashes dropped) + path + "?k=v&..." from a NULL-ended key/value list, values
 * percent-encoded. */
char *cli_url_build(const char *base, const char *path, const char *const *query);
char *cli_url_escape(const char *s);
int cli_seconds_parse(const char *s, double *ret, struct aio_err *err);
int cli_line_parse(const char *s, long long *ret, struct aio_err *err);

/* -errno from a command -> exit status. */
int cli_exit_code(int r);

/* Helpers for the commands. */
bool cli_utf8_valid(const char *s, size_t len);
char *cli_base64_encode(const void *data, size_t len);
const char *cli_basename(const char *path);

/* Commands (sandbox.c, shell.c, file.c, transfer.c). */
int cli_sandbox_info(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                     struct aio_err *err);
int cli_shell_exec(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                   struct aio_err *err);
int cli_file_read(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                  struct aio_err *err);
int cli_file_write(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                   struct aio_err *err);
int cli_file_ls(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                struct aio_err *err);
int cli_file_upload(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                    struct aio_err *err);
int cli_file_download(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                      struct aio_err *err);
