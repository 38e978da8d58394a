/* aio sandbox info: GET /v1/sandbox (upstream-api.md §2.1). Its "data" is a text, so --json
 * prints the whole answer (home_dir, workspace, version, detail) rather than that text. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "tools/aio/cli.h"
#include "tools/aio/client.h"

static const char *str(json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));

        return s ? s : "-";
}

static void row(const char *name, const char *value)
{
        printf("%-11s %s\n", name, value);
}

static void ports_print(json_t *ports)
{
        size_t i;
        json_t *p;

        printf("%-11s ", "ports");
        json_array_foreach(ports, i, p) {
                printf("%s%s", i ? " " : "", json_is_string(p) ? json_string_value(p) : "?");
        }
        printf("%s\n", json_array_size(ports) ? "" : "-");
}

static void runtimes_print(const char *name, json_t *list)
{
        size_t i;
        json_t *rt;

        json_array_foreach(list, i, rt) {
                if (json_is_string(json_object_get(rt, "ver")))
                        printf("%-11s %s (%s)\n", name, str(rt, "ver"), str(rt, "bin"));
                else
                        printf("%-11s %s\n", name, str(rt, "bin"));
        }
}

static void info_print(json_t *root)
{
        json_t *detail = json_object_get(root, "detail");
        json_t *sys = json_object_get(detail, "system");
        json_t *rt = json_object_get(detail, "runtime");

        row("version", str(root, "version"));
        row("user", str(sys, "user"));
        row("home", str(root, "home_dir"));
        row("workspace", str(root, "workspace"));
        printf("%-11s %s (%s %s, kernel %s)\n", "os", str(sys, "os_version"), str(sys, "os"),
               str(sys, "arch"), str(sys, "kernel"));
        row("hostname", str(sys, "hostname"));
        row("timezone", str(sys, "timezone"));
        ports_print(json_object_get(sys, "occupied_ports"));
        runtimes_print("python", json_object_get(rt, "python"));
        runtimes_print("nodejs", json_object_get(rt, "nodejs"));
}

int cli_sandbox_info(struct cli_client *c, const struct cli_opts *o, const struct cli_args *a,
                     struct aio_err *err)
{
        const struct cli_call call = {.method = "GET", .path = "/v1/sandbox", .sink_fd = -1};
        json_auto_t *root = NULL;
        json_t *data;
        int r;

        (void)a;
        r = cli_call_data(c, &call, &root, &data, err);
        if (r < 0)
                return r;
        if (!json_is_string(json_object_get(root, "version")) ||
            !json_is_object(json_object_get(root, "detail")))
                return aio_error_msg(err, CLI_E_PROTOCOL,
                                     "%s: no 'version' or 'detail' in the answer", c->what);
        if (o->json)
                cli_json_print(root);
        else
                info_print(root);
        return 0;
}
