/* aio: argv -> struct cli_opts, the command and its struct cli_args. Global options come before
 * the command words and may also follow them (except after shell exec's first word). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/version.h"
#include "common/xalloc.h"

#include "tools/aio/cli.h"

enum {
        OPT_HELP = 'h',
        OPT_VERBOSE = 'v',
        OPT_URL = 0x100,
        OPT_API_KEY,
        OPT_TOKEN,
        OPT_JSON,
        OPT_TIMEOUT,
        OPT_VERSION,
        OPT_SESSION = 0x200,
        OPT_CMD_TIMEOUT,
        OPT_CWD,
        OPT_START,
        OPT_END,
        OPT_CONTENT,
        OPT_APPEND,
        OPT_RECURSIVE,
};

#define GLOBAL_OPTIONS                                             \
        {"url", required_argument, NULL, OPT_URL},                 \
                {"api-key", required_argument, NULL, OPT_API_KEY}, \
                {"token", required_argument, NULL, OPT_TOKEN},     \
                {"json", no_argument, NULL, OPT_JSON},             \
                {"timeout", required_argument, NULL, OPT_TIMEOUT}, \
                {"verbose", no_argument, NULL, OPT_VERBOSE},       \
                {"version", no_argument, NULL, OPT_VERSION},       \
        {                                                          \
                "help", no_argument, NULL, OPT_HELP                \
        }

static const struct option global_options[] = {GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};

static const struct option shell_exec_options[] = {
        {"session", required_argument, NULL, OPT_SESSION},
        {"timeout", required_argument, NULL, OPT_CMD_TIMEOUT},
        {"cwd", required_argument, NULL, OPT_CWD},
        {NULL, 0, NULL, 0},
};
static const struct option read_options[] = {
        {"start-line", required_argument, NULL, OPT_START},
        {"end-line", required_argument, NULL, OPT_END},
        {NULL, 0, NULL, 0},
};
static const struct option write_options[] = {
        {"content", required_argument, NULL, OPT_CONTENT},
        {"append", no_argument, NULL, OPT_APPEND},
        {NULL, 0, NULL, 0},
};
static const struct option ls_options[] = {
        {"recursive", no_argument, NULL, OPT_RECURSIVE},
        {NULL, 0, NULL, 0},
};

/* clang-format off */
const struct cli_cmd cli_commands[] = {
        { "sandbox", "info",     "",             "show the sandbox's environment",
          NULL,               0, 0, -1, cli_sandbox_info },
        { "shell",   "exec",     "CMD...",       "run a shell command, exit with its status",
          shell_exec_options, 1, CLI_WORDS, -1, cli_shell_exec },
        { "file",    "read",     "PATH",         "print a file",
          read_options,       1, 1, -1, cli_file_read },
        { "file",    "write",    "PATH",         "write stdin (or --content) to a file",
          write_options,      1, 1, -1, cli_file_write },
        { "file",    "ls",       "DIR",          "list a directory",
          ls_options,         1, 1, -1, cli_file_ls },
        { "file",    "upload",   "LOCAL REMOTE", "copy a local file into the sandbox",
          NULL,               2, 2, 0,  cli_file_upload },
        { "file",    "download", "REMOTE LOCAL", "copy a file out of the sandbox",
          NULL,               2, 2, 1,  cli_file_download },
};
/* clang-format on */
const size_t cli_commands_len = ELEMENTSOF(cli_commands);

static const char *option_help[][2] = {
        {"--session ID", "shell exec: run in this shell session (default: a new one)"},
        {"--timeout S", "shell exec: seconds to wait for the command before returning"},
        {"--cwd DIR", "shell exec: working directory (absolute)"},
        {"--start-line N", "file read: first line, 0-based"},
        {"--end-line N", "file read: stop before this line"},
        {"--content TEXT", "file write: the content (default: read stdin)"},
        {"--append", "file write: append instead of replacing"},
        {"--recursive", "file ls: list subdirectories too"},
};

void cli_usage(const struct cli_cmd *only, bool to_stderr)
{
        FILE *f = to_stderr ? stderr : stdout;

        (void)fputs("usage: aio [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\ncommands:\n", f);
        for (size_t i = 0; i < cli_commands_len; i++) {
                const struct cli_cmd *c = &cli_commands[i];
                char synopsis[64];

                if (only && strcmp(only->group, c->group) != 0)
                        continue;
                (void)snprintf(synopsis, sizeof(synopsis), "aio %s %s %s", c->group, c->name,
                               c->operands);
                (void)fprintf(f, "  %-31s %s\n", synopsis, c->summary);
        }
        (void)fputs("\ncommand options:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(option_help); i++)
                (void)fprintf(f, "  %-16s %s\n", option_help[i][0], option_help[i][1]);
        (void)fprintf(f,
                      "\nglobal options:\n"
                      "  --url URL        the API (default $AIO_URL, else %s)\n"
                      "  --api-key KEY    sent as X-AIO-API-Key (default $AIO_API_KEY, "
                      "$SANDBOX_API_KEY)\n"
                      "  --token JWT      sent as Authorization: Bearer (default $AIO_TOKEN)\n"
                      "  --json           print the API's data object as JSON\n"
                      "  --timeout S      seconds for one request, 0 for none (default %g)\n"
                      "  -v, --verbose    say which requests are made\n"
                      "  --version, -h/--help\n"
                      "exit status: the command's for shell exec; 0 ok, 1 API error, 2 usage, "
                      "69 cannot connect,\n74 local I/O, 75 timed out, 76 bad answer, "
                      "77 not authorised (see aio(1))\n",
                      CLI_DEFAULT_URL, CLI_DEFAULT_TIMEOUT);
}

static const char *env_nonempty(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

static void opts_from_env(struct cli_opts *o)
{
        const char *url = env_nonempty("AIO_URL");

        *o = (struct cli_opts){.url = url ? url : CLI_DEFAULT_URL, .timeout = CLI_DEFAULT_TIMEOUT};
        o->api_key = env_nonempty("AIO_API_KEY");
        if (!o->api_key)
                o->api_key = env_nonempty("SANDBOX_API_KEY");
        o->token = env_nonempty("AIO_TOKEN");
}

int cli_seconds_parse(const char *s, double *ret, struct aio_err *err)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e7)
                return aio_error_msg(err, CLI_E_USAGE, "'%s': expected seconds (a number >= 0)", s);
        *ret = v;
        return 0;
}

int cli_line_parse(const char *s, long long *ret, struct aio_err *err)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < 0)
                return aio_error_msg(err, CLI_E_USAGE, "'%s': expected a line number >= 0", s);
        *ret = v;
        return 0;
}

/* Secrets go into a header: refuse what would split it, without echoing the value. */
static int secret_check(const char *name, const char *v, struct aio_err *err)
{
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return aio_error_msg(err, CLI_E_USAGE, "%s contains a control character",
                                             name);
        if (!*v)
                return aio_error_msg(err, CLI_E_USAGE, "%s is empty", name);
        return 0;
}

/* Returns 1 after --help/--version (printed), 0 when c was a global option, -1 when it is
 * not one, or -CLI_E_USAGE. */
static int global_opt(struct cli_opts *o, int c, const char *arg, struct aio_err *err)
{
        switch (c) {
        case OPT_URL:
                o->url = arg;
                return 0;
        case OPT_API_KEY:
                o->api_key = arg;
                return secret_check("--api-key", arg, err);
        case OPT_TOKEN:
                o->token = arg;
                return secret_check("--token", arg, err);
        case OPT_JSON:
                o->json = true;
                return 0;
        case OPT_TIMEOUT:
                return cli_seconds_parse(arg, &o->timeout, err) < 0
                               ? aio_error_prefix(err, "--timeout")
                               : 0;
        case OPT_VERBOSE:
                o->verbose++;
                return 0;
        case OPT_VERSION:
                printf("aio %s\n", AIO_VERSION);
                return 1;
        default:
                return -1;
        }
}

static int cmd_opt(struct cli_args *a, int c, const char *arg, struct aio_err *err)
{
        int r = 0;

        switch (c) {
        case OPT_SESSION:
                a->session = arg;
                break;
        case OPT_CWD:
                a->cwd = arg;
                break;
        case OPT_CONTENT:
                a->content = arg;
                break;
        case OPT_APPEND:
                a->append = true;
                break;
        case OPT_RECURSIVE:
                a->recursive = true;
                break;
        case OPT_CMD_TIMEOUT:
                a->has_cmd_timeout = true;
                r = cli_seconds_parse(arg, &a->cmd_timeout, err);
                break;
        case OPT_START:
                a->has_start = true;
                r = cli_line_parse(arg, &a->start_line, err);
                break;
        case OPT_END:
                a->has_end = true;
                r = cli_line_parse(arg, &a->end_line, err);
                break;
        default:
                return aio_error_msg(err, CLI_E_USAGE, "internal: option %d", c);
        }
        return r;
}

static int bad_option(int c, int argc, char **argv, struct aio_err *err)
{
        const char *what = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        char shortopt[3] = {'-', (char)optopt, '\0'};

        if (optopt > 0 && optopt < 0x100 && strncmp(what, "--", 2) != 0)
                what = shortopt;
        if (c == ':')
                return aio_error_msg(err, CLI_E_USAGE, "option '%s' needs a value", what);
        return aio_error_msg(err, CLI_E_USAGE, "unknown option '%s'", what);
}

/* One getopt_long pass over argv (argv[0] is skipped). Returns 1 after help, 0, or -errno. */
static int options_scan(int argc, char **argv, const struct option *longopts, const char *shorts,
                        struct cli_opts *o, struct cli_args *a, struct aio_err *err)
{
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
                if (c == '?' || c == ':')
                        return bad_option(c, argc, argv, err);
                if (c == OPT_HELP)
                        return 2;
                r = global_opt(o, c, optarg, err);
                if (r == -1)
                        r = cmd_opt(a, c, optarg, err);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* The command's own options first (shell exec's --timeout shadows the global one). */
static void options_merge(const struct cli_cmd *cmd, struct option *out, size_t max)
{
        size_t n = 0;

        for (const struct option *p = cmd->options; p && p->name && n + 1 < max; p++)
                out[n++] = *p;
        for (const struct option *p = global_options; p->name && n + 1 < max; p++)
                out[n++] = *p;
        out[n] = (struct option){NULL, 0, NULL, 0};
}

static char *words_join(int n, char **words)
{
        size_t len = 1;
        char *s, *p;

        for (int i = 0; i < n; i++)
                len += strlen(words[i]) + 1;
        s = p = aio_xmalloc(len);
        for (int i = 0; i < n; i++) {
                size_t l = strlen(words[i]);

                if (i > 0)
                        *p++ = ' ';
                memcpy(p, words[i], l);
                p += l;
        }
        *p = '\0';
        return s;
}

static int operands_take(const struct cli_cmd *cmd, int n, char **words, struct cli_args *a,
                         struct aio_err *err)
{
        if (cmd->max_pos == CLI_WORDS) {
                if (n < 1 || !*words[0])
                        return aio_error_msg(err, CLI_E_USAGE, "%s %s: missing the command",
                                             cmd->group, cmd->name);
                a->command = words_join(n, words);
                return 0;
        }
        if ((unsigned)n < cmd->min_pos)
                return aio_error_msg(err, CLI_E_USAGE, "%s %s: expected %s", cmd->group, cmd->name,
                                     cmd->operands);
        if ((unsigned)n > cmd->max_pos)
                return aio_error_msg(err, CLI_E_USAGE, "%s %s: unexpected argument '%s'",
                                     cmd->group, cmd->name, words[cmd->max_pos]);
        for (int i = 0; i < n; i++) {
                if (!*words[i])
                        return aio_error_msg(err, CLI_E_USAGE, "%s %s: empty %s", cmd->group,
                                             cmd->name, i == 0 ? "first path" : "second path");
                a->pos[a->npos++] = words[i];
        }
        return 0;
}

static int utf8_check(const char *what, const char *s, struct aio_err *err)
{
        if (s && !cli_utf8_valid(s, strlen(s)))
                return aio_error_msg(err, CLI_E_USAGE, "%s is not valid UTF-8", what);
        return 0;
}

/* Whatever goes into a JSON request must be UTF-8 (local paths may be any bytes). */
static int args_utf8_check(const struct cli_cmd *cmd, const struct cli_args *a, struct aio_err *err)
{
        int r = utf8_check("the command", a->command, err);

        if (r == 0)
                r = utf8_check("--session", a->session, err);
        if (r == 0)
                r = utf8_check("--cwd", a->cwd, err);
        for (size_t i = 0; r == 0 && i < a->npos; i++)
                if ((int)i != cmd->local_pos)
                        r = utf8_check(i == 0 ? "the first path" : "the second path", a->pos[i],
                                       err);
        return r;
}

static int args_check(const struct cli_cmd *cmd, const struct cli_args *a, struct aio_err *err)
{
        int r = args_utf8_check(cmd, a, err);

        if (r < 0)
                return r;
        if (a->has_start && a->has_end && a->end_line < a->start_line)
                return aio_error_msg(err, CLI_E_USAGE,
                                     "--end-line %lld is before --start-line %lld", a->end_line,
                                     a->start_line);
        if (a->has_cmd_timeout && a->cmd_timeout <= 0)
                return aio_error_msg(err, CLI_E_USAGE, "shell exec --timeout must be above 0");
        return 0;
}

static int command_find(const char *group, const char *name, const struct cli_cmd **ret,
                        struct aio_err *err)
{
        bool group_known = false;

        for (size_t i = 0; i < cli_commands_len; i++) {
                if (strcmp(cli_commands[i].group, group) != 0)
                        continue;
                group_known = true;
                if (name && strcmp(cli_commands[i].name, name) == 0) {
                        *ret = &cli_commands[i];
                        return 0;
                }
        }
        if (!group_known)
                return aio_error_msg(err, CLI_E_USAGE, "unknown command '%s'", group);
        if (!name)
                return aio_error_msg(err, CLI_E_USAGE, "%s: missing the subcommand", group);
        return aio_error_msg(err, CLI_E_USAGE, "unknown command '%s %s'", group, name);
}

/* Group help: "aio file --help" or "aio file" alone on a terminal is not help, it is an error. */
static int group_help(const char *group)
{
        for (size_t i = 0; i < cli_commands_len; i++)
                if (strcmp(cli_commands[i].group, group) == 0) {
                        cli_usage(&cli_commands[i], false);
                        return 1;
                }
        return 0;
}

static int command_parse(int argc, char **argv, const struct cli_cmd *cmd, struct cli_opts *o,
                         struct cli_args *a, struct aio_err *err)
{
        struct option merged[32];
        int r;

        options_merge(cmd, merged, ELEMENTSOF(merged));
        r = options_scan(argc, argv, merged, cmd->max_pos == CLI_WORDS ? "+:hv" : ":hv", o, a, err);
        if (r == 2) {
                cli_usage(cmd, false);
                return 1;
        }
        if (r != 0)
                return r;
        r = operands_take(cmd, argc - optind, argv + optind, a, err);
        if (r < 0)
                return r;
        r = args_check(cmd, a, err);
        if (r < 0)
                return r;
        return cli_url_check(o->url, err);
}

int cli_parse(int argc, char **argv, struct cli_opts *o, struct cli_args *a,
              const struct cli_cmd **ret_cmd, struct aio_err *err)
{
        const struct cli_cmd *cmd = NULL;
        const char *group, *name;
        int r, rest;

        opts_from_env(o);
        *a = (struct cli_args){0};
        r = options_scan(argc, argv, global_options, "+:hv", o, a, err);
        if (r == 2) {
                cli_usage(NULL, false);
                return 1;
        }
        if (r != 0)
                return r;
        rest = optind;
        if (rest >= argc)
                return aio_error_msg(err, CLI_E_USAGE, "missing the command");
        group = argv[rest];
        name = rest + 1 < argc ? argv[rest + 1] : NULL;
        if (name && (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) && group_help(group))
                return 1;
        r = command_find(group, name, &cmd, err);
        if (r < 0)
                return r;
        r = command_parse(argc - rest - 1, argv + rest + 1, cmd, o, a, err);
        if (r == 0)
                *ret_cmd = cmd;
        return r;
}

void cli_args_done(struct cli_args *a)
{
        free(a->command);
        a->command = NULL;
}
