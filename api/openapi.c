#include "openapi.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"

#include "api/api.h"

static json_t *must(json_t *j)
{
        if (!j)
                abort();
        return j;
}

static json_t *components(void)
{
        return must(json_pack(
                "{s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{}, s:{s:[{s:s},{s:s}]}}, s:[s,s]},"
                "    s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:{}}, s:{s:s, s:{}}}}},"
                " s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}}",
                "schemas", "Response", "type", "object", "properties", "success", "type", "boolean",
                "message", "type", "string", "data", "hint", "anyOf", "type", "string", "type",
                "null", "required", "success", "message", "HTTPValidationError", "type", "object",
                "properties", "success", "type", "boolean", "message", "type", "string", "detail",
                "type", "array", "items", "errors", "type", "array", "items", "securitySchemes",
                "ApiKeyHeader", "type", "apiKey", "in", "header", "name", "X-AIO-API-Key",
                "ApiKeyQuery", "type", "apiKey", "in", "query", "name", "api_key", "Bearer", "type",
                "http", "scheme", "bearer", "bearerFormat", "API key or RS256 JWT"));
}

static json_t *ref(const char *name)
{
        char path[96];

        (void)snprintf(path, sizeof(path), "#/components/schemas/%s", name);
        return must(json_pack("{s:{s:{s:s}}}", "application/json", "schema", "$ref", path));
}

static json_t *path_params(const char *pattern)
{
        json_t *list = must(json_array());

        for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
                size_t n = strcspn(p + 1, "}");
                json_t *param = must(json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1, n, "in",
                                               "path", "required", 1, "schema", "type", "string"));

                (void)json_array_append_new(list, param);
        }
        return list;
}

static json_t *request_body(unsigned flags)
{
        if (flags & API_F_JSON)
                return must(json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                      "application/json", "schema", "type", "object"));
        if (flags & API_F_UPLOAD)
                return must(json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                      "multipart/form-data", "schema", "type", "object"));
        return NULL;
}

/* "POST /v1/file/read" -> "post_v1_file_read" */
static json_t *operation_id(const char *method, const char *pattern)
{
        char id[160];
        size_t n = 0;

        for (const char *m = method; *m && n < sizeof(id) - 1; m++)
                id[n++] = (char)tolower((unsigned char)*m);
        for (const char *p = pattern; *p && n < sizeof(id) - 1; p++)
                if (isalnum((unsigned char)*p))
                        id[n++] = *p;
                else if (n && id[n - 1] != '_')
                        id[n++] = '_';
        while (n && id[n - 1] == '_')
                n--;
        id[n] = '\0';
        return must(json_string(id));
}

static json_t *tag_of(const char *pattern)
{
        const char *p = strncmp(pattern, "/v1/", 4) == 0 ? pattern + 4 : pattern + 1;

        return must(json_pack("[s%]", p, strcspn(p, "/{")));
}

static json_t *operation(const struct api_route *r)
{
        json_t *op = must(json_object()), *responses, *body = request_body(r->flags);

        responses = must(json_pack("{s:{s:s, s:o}}", "200", "description", "Success", "content",
                                   ref("Response")));
        if (r->flags & (API_F_JSON | API_F_UPLOAD))
                (void)json_object_set_new(
                        responses, "422",
                        must(json_pack("{s:s, s:o}", "description", "Validation error", "content",
                                       ref("HTTPValidationError"))));
        if (r->flags & API_F_WS)
                (void)json_object_set_new(
                        responses, "101",
                        must(json_pack("{s:s}", "description", "WebSocket upgrade")));
        (void)json_object_set_new(op, "operationId", operation_id(r->method, r->pattern));
        (void)json_object_set_new(op, "tags", tag_of(r->pattern));
        (void)json_object_set_new(op, "parameters", path_params(r->pattern));
        if (body)
                (void)json_object_set_new(op, "requestBody", body);
        (void)json_object_set_new(op, "responses", responses);
        if (r->flags & API_F_PUBLIC)
                (void)json_object_set_new(op, "security", must(json_array()));
        return op;
}

json_t *api_openapi_build(const struct api_route *const *tables, size_t n_tables)
{
        json_t *paths = must(json_object()), *doc;

        for (size_t t = 0; t < n_tables; t++)
                for (const struct api_route *r = tables[t]; r->method; r++) {
                        json_t *item = json_object_get(paths, r->pattern);
                        char method[16];
                        size_t i;

                        if (!item) {
                                item = must(json_object());
                                (void)json_object_set_new(paths, r->pattern, item);
                        }
                        for (i = 0; i < sizeof(method) - 1 && r->method[i]; i++)
                                method[i] = (char)tolower((unsigned char)r->method[i]);
                        method[i] = '\0';
                        (void)json_object_set_new(item, method, operation(r));
                }
        doc = must(json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:[{s:[]},{s:[]},{s:[]}]}",
                             "openapi", "3.1.0", "info", "title", "aio sandbox API", "version",
                             AIO_VERSION, "description",
                             "What this aio-apid serves: the AIO Sandbox API's paths and shapes "
                             "(see docs/api.md for the differences).",
                             "paths", paths, "components", components(), "security", "ApiKeyHeader",
                             "ApiKeyQuery", "Bearer"));
        return doc;
}
