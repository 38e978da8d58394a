/* tools/aio/args.c: argv -> options, command and arguments; environment defaults; usage
 * errors with messages naming the option or operand. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "tests/unit/unit.h"
#include "tools/aio/cli.h"

struct parsed {
        struct cli_opts o;
        struct cli_args a;
        const struct cli_cmd *cmd;
        struct aio_err err;
        char *argv[32];
        int argc;
};

static void env_clear(void)
{
        (void)unsetenv("AIO_URL");
        (void)unsetenv("AIO_API_KEY");
        (void)unsetenv("SANDBOX_API_KEY");
        (void)unsetenv("AIO_TOKEN");
}

/* argv from a NULL-ended list, copied: getopt permutes it. */
static int parse(struct parsed *p, ...)
{
        va_list ap;
        const char *s;

        memset(p, 0, sizeof(*p));
        p->argv[p->argc++] = strdup("aio");
        va_start(ap, p);
        while ((s = va_arg(ap, const char *)) != NULL)
                p->argv[p->argc++] = strdup(s);
        va_end(ap);
        return cli_parse(p->argc, p->argv, &p->o, &p->a, &p->cmd, &p->err);
}

static void parsed_done(struct parsed *p)
{
        cli_args_done(&p->a);
        for (int i = 0; i < p->argc; i++)
                free(p->argv[i]);
}

static void assert_usage(struct parsed *p, int r, const char *needle)
{
        assert_int_equal(r, -CLI_E_USAGE);
        assert_int_equal(cli_exit_code(r), CLI_EX_USAGE);
        if (!strstr(p->err.msg, needle))
                fail_msg("'%s' not in '%s'", needle, p->err.msg);
        parsed_done(p);
}

static void test_defaults(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        assert_int_equal(parse(&p, "sandbox", "info", NULL), 0);
        assert_string_equal(p.cmd->group, "sandbox");
        assert_string_equal(p.cmd->name, "info");
        assert_ptr_equal(p.cmd->run, cli_sandbox_info);
        assert_string_equal(p.o.url, "http://127.0.0.1:8080");
        assert_null(p.o.api_key);
        assert_null(p.o.token);
        assert_false(p.o.json);
        assert_true(p.o.timeout == CLI_DEFAULT_TIMEOUT);
        parsed_done(&p);
}

static void test_env(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        (void)setenv("AIO_URL", "http://10.0.0.1:9000/base", 1);
        (void)setenv("SANDBOX_API_KEY", "sandbox-key", 1);
        (void)setenv("AIO_TOKEN", "tok", 1);
        assert_int_equal(parse(&p, "sandbox", "info", NULL), 0);
        assert_string_equal(p.o.url, "http://10.0.0.1:9000/base");
        assert_string_equal(p.o.api_key, "sandbox-key");
        assert_string_equal(p.o.token, "tok");
        parsed_done(&p);
        /* AIO_API_KEY wins over SANDBOX_API_KEY; flags win over both; empty means unset */
        (void)setenv("AIO_API_KEY", "aio-key", 1);
        (void)setenv("AIO_TOKEN", "", 1);
        assert_int_equal(parse(&p, "sandbox", "info", NULL), 0);
        assert_string_equal(p.o.api_key, "aio-key");
        assert_null(p.o.token);
        parsed_done(&p);
        assert_int_equal(
                parse(&p, "--api-key", "flag-key", "--url", "https://h", "sandbox", "info", NULL),
                0);
        assert_string_equal(p.o.api_key, "flag-key");
        assert_string_equal(p.o.url, "https://h");
        parsed_done(&p);
        env_clear();
}

static void test_globals_anywhere(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        assert_int_equal(parse(&p, "--timeout", "2.5", "file", "ls", "/tmp", "--json",
                               "--recursive", "-v", NULL),
                         0);
        assert_true(p.o.json);
        assert_true(p.a.recursive);
        assert_int_equal(p.o.verbose, 1);
        assert_true(p.o.timeout == 2.5);
        assert_int_equal(p.a.npos, 1);
        assert_string_equal(p.a.pos[0], "/tmp");
        parsed_done(&p);
}

static void test_shell_exec(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        /* options stop at the first word: -la and --json belong to the command */
        assert_int_equal(parse(&p, "--timeout", "9", "shell", "exec", "--session", "s1",
                               "--timeout", "5", "--cwd", "/w", "ls", "-la", "--json", NULL),
                         0);
        assert_string_equal(p.cmd->name, "exec");
        assert_string_equal(p.a.command, "ls -la --json");
        assert_string_equal(p.a.session, "s1");
        assert_string_equal(p.a.cwd, "/w");
        assert_true(p.a.has_cmd_timeout && p.a.cmd_timeout == 5);
        assert_true(p.o.timeout == 9); /* the global one, given before the command */
        assert_false(p.o.json);
        parsed_done(&p);
        assert_int_equal(parse(&p, "shell", "exec", "--", "--not-an-option", "x", NULL), 0);
        assert_string_equal(p.a.command, "--not-an-option x");
        assert_false(p.a.has_cmd_timeout);
        parsed_done(&p);
        assert_int_equal(parse(&p, "shell", "exec", "echo 'a b'", NULL), 0);
        assert_string_equal(p.a.command, "echo 'a b'");
        parsed_done(&p);
}

static void test_file_commands(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        assert_int_equal(
                parse(&p, "file", "read", "--start-line", "3", "/a", "--end-line", "7", NULL), 0);
        assert_ptr_equal(p.cmd->run, cli_file_read);
        assert_true(p.a.has_start && p.a.start_line == 3);
        assert_true(p.a.has_end && p.a.end_line == 7);
        parsed_done(&p);
        assert_int_equal(parse(&p, "file", "write", "/a", "--append", "--content", "", NULL), 0);
        assert_true(p.a.append);
        assert_non_null(p.a.content);
        assert_string_equal(p.a.content, "");
        parsed_done(&p);
        assert_int_equal(parse(&p, "file", "upload", "local.bin", "/remote.bin", NULL), 0);
        assert_ptr_equal(p.cmd->run, cli_file_upload);
        assert_string_equal(p.a.pos[0], "local.bin");
        assert_string_equal(p.a.pos[1], "/remote.bin");
        parsed_done(&p);
        /* a local path may be any bytes; a remote one goes into JSON and must be UTF-8 */
        assert_int_equal(parse(&p, "file", "download", "/r", "loc\xff", NULL), 0);
        parsed_done(&p);
        assert_usage(&p, parse(&p, "file", "download", "/r\xff", "loc", NULL),
                     "the first path is not valid UTF-8");
        assert_usage(&p, parse(&p, "shell", "exec", "echo \xc3", NULL), "the command is not");
}

static void test_usage_errors(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        assert_usage(&p, parse(&p, NULL), "missing the command");
        assert_usage(&p, parse(&p, "nope", NULL), "unknown command 'nope'");
        assert_usage(&p, parse(&p, "file", NULL), "file: missing the subcommand");
        assert_usage(&p, parse(&p, "file", "cat", "/x", NULL), "unknown command 'file cat'");
        assert_usage(&p, parse(&p, "file", "read", NULL), "file read: expected PATH");
        assert_usage(&p, parse(&p, "file", "read", "/a", "/b", NULL), "unexpected argument '/b'");
        assert_usage(&p, parse(&p, "file", "upload", "only-one", NULL), "LOCAL REMOTE");
        assert_usage(&p, parse(&p, "file", "read", "", NULL), "empty first path");
        assert_usage(&p, parse(&p, "shell", "exec", NULL), "missing the command");
        assert_usage(&p, parse(&p, "shell", "exec", "", NULL), "missing the command");
        assert_usage(&p, parse(&p, "--bogus", "sandbox", "info", NULL), "unknown option '--bogus'");
        assert_usage(&p, parse(&p, "-x", "sandbox", "info", NULL), "unknown option '-x'");
        assert_usage(&p, parse(&p, "sandbox", "info", "--recursive", NULL),
                     "unknown option '--recursive'");
        assert_usage(&p, parse(&p, "file", "read", "/a", "--start-line", NULL),
                     "option '--start-line' needs a value");
        assert_usage(&p, parse(&p, "file", "read", "/a", "--start-line", "-1", NULL),
                     "'-1': expected a line number >= 0");
        assert_usage(&p,
                     parse(&p, "file", "read", "/a", "--start-line", "5", "--end-line", "2", NULL),
                     "--end-line 2 is before --start-line 5");
        assert_usage(&p, parse(&p, "--timeout", "-1", "sandbox", "info", NULL),
                     "--timeout: '-1': expected seconds");
        assert_usage(&p, parse(&p, "--timeout", "nan", "sandbox", "info", NULL), "'nan'");
        assert_usage(&p, parse(&p, "shell", "exec", "--timeout", "0", "ls", NULL),
                     "must be above 0");
        assert_usage(&p, parse(&p, "shell", "exec", "--timeout", "1x", "ls", NULL), "'1x'");
        assert_usage(&p, parse(&p, "--api-key", "a\r\nX-Evil: 1", "sandbox", "info", NULL),
                     "--api-key contains a control character");
        assert_usage(&p, parse(&p, "--token", "", "sandbox", "info", NULL), "--token is empty");
}

static void test_secret_not_echoed(void **state)
{
        struct parsed p;
        int r;

        (void)state;
        env_clear();
        r = parse(&p, "--api-key", "s3cret\n", "sandbox", "info", NULL);
        assert_int_equal(r, -CLI_E_USAGE);
        assert_null(strstr(p.err.msg, "s3cret"));
        parsed_done(&p);
        r = parse(&p, "--url", "http://user:hunter2@host/", "sandbox", "info", NULL);
        assert_int_equal(r, -CLI_E_USAGE);
        assert_null(strstr(p.err.msg, "hunter2"));
        assert_non_null(strstr(p.err.msg, "credentials in the URL"));
        parsed_done(&p);
}

static void test_bad_url_from_env(void **state)
{
        struct parsed p;

        (void)state;
        env_clear();
        (void)setenv("AIO_URL", "127.0.0.1:8080", 1);
        assert_usage(&p, parse(&p, "sandbox", "info", NULL), "--url '127.0.0.1:8080'");
        env_clear();
}

static void test_help(void **state)
{
        struct parsed p;
        FILE *saved = stdout;

        (void)state;
        env_clear();
        stdout = fopen("/dev/null", "w");
        assert_non_null(stdout);
        assert_int_equal(parse(&p, "--help", NULL), 1);
        assert_null(p.cmd);
        parsed_done(&p);
        assert_int_equal(parse(&p, "file", "--help", NULL), 1);
        parsed_done(&p);
        assert_int_equal(parse(&p, "file", "read", "-h", NULL), 1);
        parsed_done(&p);
        assert_int_equal(parse(&p, "--version", "file", "read", "/x", NULL), 1);
        parsed_done(&p);
        (void)fclose(stdout);
        stdout = saved;
}

static void test_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < cli_commands_len; i++) {
                const struct cli_cmd *c = &cli_commands[i];

                assert_non_null(c->run);
                assert_true(c->min_pos <= c->max_pos);
                assert_true(c->max_pos <= CLI_POS_MAX || c->max_pos == CLI_WORDS);
                assert_true(c->local_pos < (int)c->max_pos);
                for (size_t j = 0; j < i; j++)
                        assert_false(strcmp(c->group, cli_commands[j].group) == 0 &&
                                     strcmp(c->name, cli_commands[j].name) == 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_env),
                cmocka_unit_test(test_globals_anywhere),
                cmocka_unit_test(test_shell_exec),
                cmocka_unit_test(test_file_commands),
                cmocka_unit_test(test_usage_errors),
                cmocka_unit_test(test_secret_not_echoed),
                cmocka_unit_test(test_bad_url_from_env),
                cmocka_unit_test(test_help),
                cmocka_unit_test(test_table),
        };

        return cmocka_run_group_tests(tests, 0, 0);
}
