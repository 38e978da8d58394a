#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/xalloc.h"

#include "config.h"

static int try_slot(int dirfd, uint32_t slot, struct aio_err *err)
{
        char name[32];
        int fd;

        (void)snprintf(name, sizeof(name), "%u.lock", slot);
        fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return aio_error(err, errno, "open uid range lock %s", name);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;

                (void)close(fd);
                return e == EWOULDBLOCK ? 0 : aio_error(err, e, "lock %s", name);
        }
        return fd;
}

int rt_idrange_alloc(const char *state_dir, uint32_t base, uint32_t slots, struct rt_idrange *ret,
                     struct aio_err *err)
{
        cleanup_free char *dir = aio_xasprintf("%s/uids", state_dir);
        cleanup_close int dirfd = -1;
        /* Start at a pid-derived slot so concurrent launchers rarely contend for one lock. */
        uint32_t start = (uint32_t)getpid() % slots;

        /* Jails must be able to traverse the state dir to reach their own sandbox dirs. */
        if (aio_mkdir_p(state_dir, 0711, err) < 0 || aio_mkdir_p(dir, 0700, err) < 0)
                return aio_error_prefix(err, "state dir");
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dirfd < 0)
                return aio_error(err, errno, "open %s", dir);
        for (uint32_t i = 0; i < slots; i++) {
                uint32_t slot = (start + i) % slots;
                int fd = try_slot(dirfd, slot, err);

                if (fd < 0)
                        return fd;
                if (fd == 0)
                        continue;
                *ret = (struct rt_idrange){.base = base + slot * RT_UID_RANGE,
                                           .count = RT_UID_RANGE,
                                           .slot = (int)slot,
                                           .lock_fd = fd};
                return 0;
        }
        return aio_error_msg(
                err, EAGAIN,
                "no free uid range: all %u slots of %u ids from %u are in use (--uid-slots)", slots,
                RT_UID_RANGE, base);
}

void rt_idrange_release(struct rt_idrange *r)
{
        closep(&r->lock_fd);
        r->lock_fd = -1;
}

int rt_userns_format_map(uint32_t inside, uint32_t outside, uint32_t count, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%u %u %u\n", inside, outside, count);

        return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

int rt_subid_find(const char *file, const char *name, uint32_t id, uint32_t *ret_start,
                  uint32_t *ret_count)
{
        cleanup_fclose FILE *f = fopen(file, "re");
        char line[256], ids[16];

        if (!f)
                return -errno;
        (void)snprintf(ids, sizeof(ids), "%u", id);
        while (fgets(line, sizeof(line), f)) {
                char *owner = strtok(line, ":\n"), *start = strtok(NULL, ":\n"),
                     *count = strtok(NULL, ":\n");
                unsigned long s, c;

                if (!owner || !start || !count ||
                    (strcmp(owner, name) != 0 && strcmp(owner, ids) != 0))
                        continue;
                s = strtoul(start, NULL, 10);
                c = strtoul(count, NULL, 10);
                if (c == 0 || s > UINT32_MAX || c > UINT32_MAX - s)
                        continue;
                *ret_start = (uint32_t)s;
                *ret_count = (uint32_t)c;
                return 0;
        }
        return -ENOENT;
}

int rt_idrange_rootless(struct rt_idrange *ret, struct aio_err *err)
{
        struct passwd *pw = getpwuid(getuid());
        uint32_t us = 0, uc = 0, gs = 0, gc = 0;

        (void)err;
        *ret = (struct rt_idrange){.base = getuid(), .count = 1, .slot = -1, .lock_fd = -1};
        if (!pw || access("/usr/bin/newuidmap", X_OK) < 0 || access("/usr/bin/newgidmap", X_OK) < 0)
                return 0;
        if (rt_subid_find("/etc/subuid", pw->pw_name, getuid(), &us, &uc) < 0 ||
            rt_subid_find("/etc/subgid", pw->pw_name, getuid(), &gs, &gc) < 0)
                return 0;
        ret->sub_uid = us;
        ret->sub_gid = gs;
        ret->sub_count = uc < gc ? uc : gc;
        if (ret->sub_count > RT_UID_RANGE - 1)
                ret->sub_count = RT_UID_RANGE - 1;
        return 0;
}

/* newuidmap PID 0 OWN 1 1 SUB COUNT: our id is jail root, the subordinate range the rest. */
static int run_newidmap(const char *tool, pid_t pid, uint32_t own, uint32_t sub, uint32_t count,
                        struct aio_err *err)
{
        char a[5][16];
        pid_t child;
        int status;

        (void)snprintf(a[0], sizeof(a[0]), "%d", (int)pid);
        (void)snprintf(a[1], sizeof(a[1]), "%u", own);
        (void)snprintf(a[2], sizeof(a[2]), "%u", sub);
        (void)snprintf(a[3], sizeof(a[3]), "%u", count);
        child = fork();
        if (child < 0)
                return aio_error(err, errno, "fork %s", tool);
        if (child == 0) {
                execl(tool, tool, a[0], "0", a[1], "1", "1", a[2], a[3], (char *)NULL);
                _exit(127);
        }
        if (waitpid(child, &status, 0) < 0)
                return aio_error(err, errno, "wait for %s", tool);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return aio_error_msg(err, EPERM, "%s %s 0 %s 1 1 %s %s failed", tool, a[0], a[1],
                                     a[2], a[3]);
        return 0;
}

static int write_map(pid_t pid, const char *file, const char *map, struct aio_err *err)
{
        char path[64];

        (void)snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        if (aio_write_knob(AT_FDCWD, path, map, err) < 0)
                return aio_error_prefix(err, "user namespace map");
        return 0;
}

int rt_userns_write_maps(pid_t pid, const struct rt_idrange *r, struct aio_err *err)
{
        char map[64];

        if (r->slot < 0 && r->sub_count) {
                if (run_newidmap("/usr/bin/newuidmap", pid, getuid(), r->sub_uid, r->sub_count,
                                 err) < 0)
                        return -err->code;
                return run_newidmap("/usr/bin/newgidmap", pid, getgid(), r->sub_gid, r->sub_count,
                                    err);
        }
        if (r->slot < 0) {
                /* Rootless single-id map: our own uid/gid become jail root. */
                if (write_map(pid, "setgroups", "deny", err) < 0)
                        return -err->code;
                (void)rt_userns_format_map(0, getuid(), 1, map, sizeof(map));
                if (write_map(pid, "uid_map", map, err) < 0)
                        return -err->code;
                (void)rt_userns_format_map(0, getgid(), 1, map, sizeof(map));
                return write_map(pid, "gid_map", map, err);
        }
        (void)rt_userns_format_map(0, r->base, r->count, map, sizeof(map));
        if (write_map(pid, "uid_map", map, err) < 0)
                return -err->code;
        return write_map(pid, "gid_map", map, err);
}
