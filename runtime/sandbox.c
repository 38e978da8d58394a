/* The sandbox's directory in the state dir: <state>/sandboxes/<id>/{lock,root,lower,upper,work}.
 * The launcher holds an flock on lock while the sandbox lives, so `aio-run gc` can tell a
 * sandbox whose launcher was killed from a running one. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "cgroup.h"
#include "config.h"
#include "jail-internal.h"

static char *random_id(void)
{
        unsigned char b[6] = {0};
        char *id = aio_xmalloc(2 * sizeof(b) + 1);

        (void)!getrandom(b, sizeof(b), 0);
        for (size_t i = 0; i < sizeof(b); i++)
                (void)snprintf(id + 2 * i, 3, "%02x", b[i]);
        return id;
}

static int lock_dir(const char *dir, struct aio_err *err)
{
        cleanup_free char *lock = aio_xasprintf("%s/lock", dir);
        cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return aio_error(err, errno, "open %s", lock);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK
                               ? aio_error_msg(err, EEXIST,
                                               "a sandbox named '%s' is already running",
                                               strrchr(dir, '/') + 1)
                               : aio_error(err, errno, "lock %s", lock);
        return take_fd(&fd);
}

static int make_layer_dirs(struct rt_jail *j, struct aio_err *err)
{
        static const char *const sub[] = {"upper", "work"};

        for (size_t i = 0; i < ELEMENTSOF(sub); i++) {
                cleanup_free char *p = aio_xasprintf("%s/%s", j->dir, sub[i]);

                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return aio_error(err, errno, "mkdir %s", p);
                /* The writable layer belongs to jail root (rootless: us already). */
                if (j->ids.slot >= 0 && chown(p, j->ids.base, j->ids.base) < 0)
                        return aio_error(err, errno, "chown %s", p);
        }
        return 0;
}

static int make_mount_points(struct rt_jail *j, struct aio_err *err)
{
        cleanup_free char *mnt = aio_xasprintf("%s/mnt", j->cfg->state_dir);

        j->root_path = aio_xasprintf("%s/root", mnt);
        j->lower_path = aio_xasprintf("%s/lower", mnt);
        if ((mkdir(mnt, 0711) < 0 && errno != EEXIST) ||
            (mkdir(j->root_path, 0755) < 0 && errno != EEXIST) ||
            (mkdir(j->lower_path, 0755) < 0 && errno != EEXIST))
                return aio_error(err, errno, "mkdir %s", mnt);
        return 0;
}

int rt_sandbox_create(struct rt_jail *j, struct aio_err *err)
{
        const struct rt_config *c = j->cfg;
        cleanup_free char *base = aio_xasprintf("%s/sandboxes", c->state_dir);
        struct aio_err ignored;
        bool existed;

        j->id = c->name ? aio_xstrdup(c->name) : random_id();
        if (aio_mkdir_p(base, 0711, err) < 0)
                return aio_error_prefix(err, "state dir");
        j->dir = aio_xasprintf("%s/%s", base, j->id);
        if (make_mount_points(j, err) < 0)
                return -err->code;
        if (mkdir(j->dir, 0711) == 0)
                existed = false;
        else if (errno == EEXIST)
                existed = true;
        else
                return aio_error(err, errno, "mkdir %s", j->dir);
        j->lock_fd = lock_dir(j->dir, err);
        if (j->lock_fd < 0)
                return -err->code;
        if (existed) {
                /* A sandbox of the same name whose launcher died: its leftovers go first. */
                cleanup_free char *upper = aio_xasprintf("%s/upper", j->dir);
                cleanup_free char *work = aio_xasprintf("%s/work", j->dir);

                (void)rt_cgroup_remove_stale(j->id, &ignored);
                if (!c->keep &&
                    (aio_rm_rf(AT_FDCWD, upper, err) < 0 || aio_rm_rf(AT_FDCWD, work, err) < 0))
                        return -err->code;
        }
        return make_layer_dirs(j, err);
}

void rt_sandbox_remove(struct rt_jail *j)
{
        struct aio_err err;

        if (!j->dir || j->lock_fd < 0)
                return;
        if (j->cfg->keep) {
                cleanup_free char *work = aio_xasprintf("%s/work", j->dir);

                (void)aio_rm_rf(AT_FDCWD, work, &err);
        } else if (aio_rm_rf(AT_FDCWD, j->dir, &err) < 0) {
                log_warn("could not remove %s: %s", j->dir, err.msg);
        }
        closep(&j->lock_fd);
}

static int gc_one(const char *base, const char *name, struct aio_err *err)
{
        cleanup_free char *dir = aio_xasprintf("%s/%s", base, name);
        cleanup_close int lock = -1;
        struct aio_err ignored;

        lock = lock_dir(dir, &ignored);
        if (lock < 0)
                return 0; /* running, or not ours */
        if (rt_cgroup_remove_stale(name, err) < 0)
                return aio_error_prefix(err, "sandbox %s", name);
        if (aio_rm_rf(AT_FDCWD, dir, err) < 0)
                return aio_error_prefix(err, "sandbox %s", name);
        printf("removed sandbox %s\n", name);
        return 1;
}

int rt_sandbox_gc(const char *state_dir, struct aio_err *err)
{
        cleanup_free char *base = aio_xasprintf("%s/sandboxes", state_dir);
        cleanup_dir DIR *d = opendir(base);
        struct dirent *de;
        int removed = 0, r;

        if (!d)
                return errno == ENOENT ? 0 : aio_error(err, errno, "open %s", base);
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                r = gc_one(base, de->d_name, err);
                if (r < 0)
                        return r;
                removed += r;
        }
        return removed;
}
