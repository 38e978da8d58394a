#include "workcg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

static int fd_parse(const char *s, char **end, int *ret)
{
        long v;

        errno = 0;
        v = strtol(s, end, 10);
        if (errno || *end == s || v < 3 || v > 1024)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

static int spec_error(const char *spec, struct aio_err *err)
{
        return aio_error_msg(
                err, EINVAL,
                "AIO_WORK_CGROUP '%.64s': expected \"procs=FD[,FD...] oom=FD pids=FD\"", spec);
}

static int procs_parse(const char *s, char **end, struct api_workcg *w)
{
        do {
                if (w->n_procs == API_WORKCG_PROCS_MAX ||
                    fd_parse(s, end, &w->procs[w->n_procs]) < 0)
                        return -EINVAL;
                w->n_procs++;
                s = *end + 1;
        } while (**end == ',');
        return 0;
}

static int cloexec(int fd)
{
        int flags = fcntl(fd, F_GETFD);

        if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
                return -errno;
        return 0;
}

int api_workcg_parse(const char *spec, struct api_workcg *ret, struct aio_err *err)
{
        struct api_workcg w = {.oom_fd = -1, .pids_fd = -1};
        char *end;

        if (!spec) {
                *ret = w;
                return 0;
        }
        if (strncmp(spec, "procs=", 6) != 0 || procs_parse(spec + 6, &end, &w) < 0 ||
            strncmp(end, " oom=", 5) != 0 || fd_parse(end + 5, &end, &w.oom_fd) < 0 ||
            strncmp(end, " pids=", 6) != 0 || fd_parse(end + 6, &end, &w.pids_fd) < 0 || *end)
                return spec_error(spec, err);
        for (unsigned i = 0; i < w.n_procs; i++)
                if (cloexec(w.procs[i]) < 0)
                        return aio_error(err, errno, "AIO_WORK_CGROUP: fd %d", w.procs[i]);
        if (cloexec(w.oom_fd) < 0 || cloexec(w.pids_fd) < 0)
                return aio_error(err, errno, "AIO_WORK_CGROUP: event fds");
        *ret = w;
        return 0;
}

int api_workcg_enter(const struct api_workcg *w)
{
        for (unsigned i = 0; i < w->n_procs; i++)
                if (write(w->procs[i], "0", 1) != 1)
                        return -errno;
        return 0;
}

/* The number after "key " in a flat-keyed file read at offset 0 of fd. */
static int key_read(int fd, const char *key, uint64_t *ret, struct aio_err *err)
{
        size_t klen = strlen(key);
        char buf[1024];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

        if (n < 0)
                return aio_error(err, errno, "read the work cgroup's %s", key);
        buf[n] = '\0';
        *ret = 0;
        for (const char *l = buf; l && *l; l = strchr(l, '\n')) {
                l += *l == '\n';
                if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
                        *ret = strtoull(l + klen + 1, NULL, 10);
                        break;
                }
        }
        return 0;
}

int api_workcg_events_read(const struct api_workcg *w, struct api_workcg_events *ret,
                           struct aio_err *err)
{
        struct api_workcg_events ev = {0};

        if (w->oom_fd >= 0 && key_read(w->oom_fd, "oom_kill", &ev.oom_kills, err) < 0)
                return -err->code;
        if (w->pids_fd >= 0 && key_read(w->pids_fd, "max", &ev.pids_limit, err) < 0)
                return -err->code;
        *ret = ev;
        return 0;
}

const char *api_workcg_blame(const struct api_workcg_events *before,
                             const struct api_workcg_events *after)
{
        if (after->oom_kills > before->oom_kills)
                return "memory";
        if (after->pids_limit > before->pids_limit)
                return "pids";
        return NULL;
}

void api_workcg_mark(const struct api_workcg *w, struct api_workcg_events *ret)
{
        *ret = (struct api_workcg_events){0};
        if (w)
                (void)api_workcg_events_read(w, ret, &(struct aio_err){0});
}

const char *api_workcg_killed_by(const struct api_workcg *w, const struct api_workcg_events *mark,
                                 bool sigkilled)
{
        struct api_workcg_events now = {0};
        const char *who;

        if (!w || api_workcg_events_read(w, &now, &(struct aio_err){0}) < 0)
                return NULL;
        who = api_workcg_blame(mark, &now);
        if (who && strcmp(who, "memory") == 0 && !sigkilled)
                return NULL;
        return who;
}
