#include "hooks.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "api/spawn.h"

struct hook {
        char *command;
        double timeout;
        long long priority;
        unsigned long seq; /* registration order: ties in priority keep it */
        char name[API_HOOK_NAME_MAX + 1];
        bool env;
};

struct api_hooks {
        pthread_mutex_t lock;
        struct hook hooks[API_HOOKS_MAX];
        size_t n;
        unsigned long seq;
        double global_timeout;
};

#define DEFAULT_TIMEOUT_S 10.0

bool api_hook_name_valid(const char *name)
{
        size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

        return n > 0 && n <= API_HOOK_NAME_MAX && name[n] == '\0';
}

struct api_hooks *api_hooks_new(const char *env_command, double global_timeout_s)
{
        struct api_hooks *h = aio_xcalloc(1, sizeof(*h));

        (void)pthread_mutex_init(&h->lock, NULL);
        h->global_timeout = global_timeout_s;
        if (env_command && env_command[strspn(env_command, " \t\r\n")]) {
                struct hook *e = &h->hooks[h->n++];

                memcpy(e->name, API_HOOK_ENV_NAME, sizeof(API_HOOK_ENV_NAME));
                e->command = aio_xstrdup(env_command);
                e->timeout = DEFAULT_TIMEOUT_S;
                e->priority = 0; /* the deployment's baseline runs first */
                e->env = true;
                e->seq = h->seq++;
        }
        return h;
}

void api_hooks_free(struct api_hooks *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++)
                free(h->hooks[i].command);
        (void)pthread_mutex_destroy(&h->lock);
        free(h);
}

static json_t *hook_json(const struct hook *k)
{
        json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:I, s:s}", "name", k->name, "event",
                              "shutdown", "command", k->command, "timeout", k->timeout, "priority",
                              (json_int_t)k->priority, "source", k->env ? "env" : "api");

        if (!o)
                abort();
        return o;
}

static struct hook *hook_find(struct api_hooks *h, const char *name)
{
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->hooks[i].name, name) == 0)
                        return &h->hooks[i];
        return NULL;
}

static int hook_store(struct api_hooks *h, const char *name, const char *command, double timeout,
                      long long priority, json_t **ret_hook, struct aio_err *err)
{
        struct hook *k = hook_find(h, name);

        if (k && k->env)
                return aio_error_msg(err, EINVAL, "Cannot replace env hook: %s", name);
        if (!k) {
                if (h->n >= API_HOOKS_MAX)
                        return aio_error_msg(err, EINVAL,
                                             "Cannot register hook: limit of %d reached",
                                             API_HOOKS_MAX);
                k = &h->hooks[h->n++];
                *k = (struct hook){.seq = h->seq++};
                memcpy(k->name, name, strlen(name) + 1);
        }
        free(k->command);
        k->command = aio_xstrdup(command);
        k->timeout = timeout;
        k->priority = priority;
        *ret_hook = hook_json(k);
        return 0;
}

int api_hook_register(struct api_hooks *h, const char *name, const char *command, double timeout,
                      long long priority, json_t **ret_hook, struct aio_err *err)
{
        int r;

        if (!name[0])
                return aio_error_msg(err, EINVAL, "Hook name cannot be empty");
        if (strlen(name) > API_HOOK_NAME_MAX)
                return aio_error_msg(err, EINVAL, "Hook name too long: max %d characters",
                                     API_HOOK_NAME_MAX);
        if (!api_hook_name_valid(name))
                return aio_error_msg(err, EINVAL, "Hook name must match [a-zA-Z0-9_-]+");
        (void)pthread_mutex_lock(&h->lock);
        r = hook_store(h, name, command, timeout, priority, ret_hook, err);
        (void)pthread_mutex_unlock(&h->lock);
        return r;
}

int api_hook_remove(struct api_hooks *h, const char *name, struct aio_err *err)
{
        struct hook *k;
        int r = 0;

        (void)pthread_mutex_lock(&h->lock);
        k = hook_find(h, name);
        if (!k) {
                r = aio_error_msg(err, ENOENT, "Hook not found: %s", name);
        } else if (k->env) {
                r = aio_error_msg(err, EINVAL, "Cannot remove env hook: %s", name);
        } else {
                free(k->command);
                memmove(k, k + 1, (size_t)(&h->hooks[h->n] - (k + 1)) * sizeof(*k));
                h->n--;
                memset(&h->hooks[h->n], 0, sizeof(h->hooks[h->n]));
        }
        (void)pthread_mutex_unlock(&h->lock);
        return r;
}

static int hook_cmp(const void *a, const void *b)
{
        const struct hook *x = a, *y = b;

        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A sorted copy (commands duplicated) taken under the lock. */
static size_t hooks_snapshot(struct api_hooks *h, struct hook *out)
{
        size_t n;

        (void)pthread_mutex_lock(&h->lock);
        n = h->n;
        memcpy(out, h->hooks, n * sizeof(*out));
        for (size_t i = 0; i < n; i++)
                out[i].command = aio_xstrdup(out[i].command);
        (void)pthread_mutex_unlock(&h->lock);
        qsort(out, n, sizeof(*out), hook_cmp);
        return n;
}

static void snapshot_free(struct hook *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].command);
}

json_t *api_hooks_list(struct api_hooks *h)
{
        struct hook v[API_HOOKS_MAX];
        size_t n = hooks_snapshot(h, v);
        json_t *a = json_array();

        if (!a)
                abort();
        for (size_t i = 0; i < n; i++)
                (void)json_array_append_new(a, hook_json(&v[i]));
        snapshot_free(v, n);
        return a;
}

struct running {
        const struct hook *hook;
        pid_t pid;
        int64_t start, deadline, end;
        int status;
        bool timed_out, done;
};

static json_t *result_json(const struct running *r)
{
        json_t *code = json_null();

        if (r->done && !r->timed_out && r->pid > 0)
                code = json_integer(WIFEXITED(r->status) ? WEXITSTATUS(r->status)
                                                         : -WTERMSIG(r->status));
        else if (r->pid < 0)
                code = json_integer(-1);
        return json_pack("{s:s, s:s, s:o, s:b, s:f}", "name", r->hook->name, "command",
                         r->hook->command, "exit_code", code, "timed_out", r->timed_out,
                         "duration_ms", (double)(r->end - r->start));
}

/* Polls the group until every member has exited or passed its deadline (then killed). */
static void group_wait(struct running *g, size_t n)
{
        struct timespec tick = {0, 5000000L};
        size_t left = n;

        for (size_t i = 0; i < n; i++)
                if (g[i].done)
                        left--;
        while (left > 0) {
                int64_t now = api_now_ms();

                for (size_t i = 0; i < n; i++) {
                        struct running *r = &g[i];

                        if (r->done)
                                continue;
                        if (waitpid(r->pid, &r->status, WNOHANG) != r->pid) {
                                if (now < r->deadline)
                                        continue;
                                r->timed_out = true;
                                (void)kill(-r->pid, SIGKILL);
                                (void)waitpid(r->pid, &r->status, 0);
                        }
                        r->end = api_now_ms();
                        r->done = true;
                        left--;
                }
                if (left > 0)
                        (void)nanosleep(&tick, NULL);
        }
}

static void group_run(const struct hook *v, size_t n, int64_t global_deadline, json_t *results)
{
        struct running g[API_HOOKS_MAX];
        int64_t now = api_now_ms();

        for (size_t i = 0; i < n; i++) {
                const char *argv[] = {"/bin/sh", "-c", v[i].command, NULL};
                struct aio_err err;

                g[i] = (struct running){.hook = &v[i], .start = now, .end = now, .status = -1};
                /* in double: a timeout of 1e300 s must not overflow */
                g[i].deadline =
                        v[i].timeout * 1000.0 < (double)(global_deadline - now)
                                ? now + (int64_t)(v[i].timeout > 0 ? v[i].timeout * 1000.0 : 0)
                                : global_deadline;
                if (now >= global_deadline) {
                        g[i].timed_out = g[i].done = true;
                        continue;
                }
                g[i].pid = api_spawn(argv, -1, false, &err);
                g[i].done = g[i].pid < 0;
        }
        group_wait(g, n);
        for (size_t i = 0; i < n; i++) {
                json_t *o = result_json(&g[i]);

                if (!o)
                        abort();
                (void)json_array_append_new(results, o);
        }
}

json_t *api_hooks_run(struct api_hooks *h)
{
        struct hook v[API_HOOKS_MAX];
        size_t n = hooks_snapshot(h, v), i = 0;
        int64_t global_deadline = api_now_ms() + (int64_t)(h->global_timeout * 1000.0);
        json_t *results = json_array();

        if (!results)
                abort();
        while (i < n) {
                size_t j = i;

                while (j < n && v[j].priority == v[i].priority)
                        j++;
                group_run(v + i, j - i, global_deadline, results);
                i = j;
        }
        snapshot_free(v, n);
        return results;
}
