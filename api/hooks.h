#pragma once

/* Shutdown hooks (upstream /v1/sandbox/hooks): shell commands registered over the API or by the
 * SANDBOX_SHUTDOWN_HOOKS environment variable, run when aio-apid stops. Lower priority runs
 * first; equal priorities run in parallel; each has its own timeout, all share a global one. */

#include <jansson.h>
#include <stdbool.h>

struct aio_err;
struct api_hooks;

#define API_HOOKS_MAX        50
#define API_HOOK_NAME_MAX    64
#define API_HOOK_COMMAND_MAX 4096
#define API_HOOK_ENV_NAME    "env-shutdown-hook"

/* env_command: the SANDBOX_SHUTDOWN_HOOKS script (NULL or blank: none), registered with
 * priority 0 and source "env". global_timeout_s bounds a whole run. */
struct api_hooks *api_hooks_new(const char *env_command, double global_timeout_s);
void api_hooks_free(struct api_hooks *h);
/* [a-zA-Z0-9_-]{1,64} */
bool api_hook_name_valid(const char *name);
/* Adds or replaces an API hook. *ret_hook is its SandboxHook JSON. EINVAL: bad name, the limit
 * of API_HOOKS_MAX hooks, or an env hook of that name. */
int api_hook_register(struct api_hooks *h, const char *name, const char *command, double timeout,
                      long long priority, json_t **ret_hook, struct aio_err *err);
/* ENOENT: no such hook; EINVAL: an env hook (those cannot be removed). */
int api_hook_remove(struct api_hooks *h, const char *name, struct aio_err *err);
/* SandboxHook[] sorted by priority (registration order within one). */
json_t *api_hooks_list(struct api_hooks *h);
/* Runs every hook as /bin/sh -c COMMAND and returns one result object per hook:
 * {name, command, exit_code|null, timed_out, duration_ms}. */
json_t *api_hooks_run(struct api_hooks *h);
