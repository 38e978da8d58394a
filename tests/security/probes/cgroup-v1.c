/*
 * cgroup-v1 — escape class #6 (runtimes.md §3): CVE-2022-0492.  In a new user + cgroup
 * namespace, mount a cgroup v1 hierarchy for a controller no hierarchy uses yet (the exploit's
 * rdma; here the first unbound one in /proc/cgroups) and write release_agent: the kernel runs
 * that path as host root when the cgroup empties.  The classic privileged variant (#20) writes
 * release_agent in a host hierarchy that is visible and writable.  The agent written is a path
 * that does not exist and notify_on_release is never set, so nothing would run.
 * Defences: seccomp (unshare, mount), no CAP_SYS_ADMIN, cgroupfs read-only or absent in the jail,
 * and the kernel fix (release_agent writable only from the initial user namespace).
 */
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>

#include "probe.h"

/* A controller no hierarchy uses yet (the exploit's rdma): mounting it creates a new root. */
static const char *unbound(void)
{
        static char name[64] = "rdma";
        char line[128], sub[64];
        int hier, n, en;
        FILE *f = fopen("/proc/cgroups", "re");

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "%63s %d %d %d", sub, &hier, &n, &en) == 4 && hier == 0 && en) {
                        snprintf(name, sizeof(name), "%s", sub);
                        break;
                }
        if (f)
                fclose(f);
        return name;
}

static int try_mount_v1(void)
{
        const char *dir = probe_tmpdir();
        int r = P_OK;

        if (!*dir)
                return P_ERROR;
        if (mount("cgroup", dir, "cgroup", 0, unbound()) < 0)
                r = errno;
        else
                probe_note("cgroup v1 %s hierarchy mounted on %s", unbound(), dir);
        (void)umount2(dir, MNT_DETACH);
        (void)rmdir(dir);
        return r;
}

static int userns_agent(const char *dir)
{
        char path[128];
        int fd;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP) < 0) {
                probe_note("at unshare");
                return errno;
        }
        if (mount("cgroup", dir, "cgroup", 0, unbound()) < 0) {
                probe_note("at mount");
                return errno;
        }
        snprintf(path, sizeof(path), "%s/release_agent", dir);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "/aio-probe-absent", 17) < 0) {
                probe_note("v1 hierarchy mounted, release_agent write refused");
                return errno;
        }
        close(fd);
        probe_note("release_agent written in a user-namespace-mounted hierarchy");
        return P_OK;
}

static int try_userns_agent(void)
{
        const char *dir = probe_tmpdir();
        int r;

        if (!*dir)
                return P_ERROR;
        r = userns_agent(dir);
        (void)rmdir(dir);
        return r;
}

static int try_visible_agent(void)
{
        char path[300];
        struct dirent *de;
        DIR *d = opendir("/sys/fs/cgroup");
        int r = P_SAFE, n = 0;

        probe_note("no cgroup v1 release_agent visible");
        if (!d)
                return P_SAFE;
        while ((de = readdir(d)) && r != P_OK) {
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/release_agent", de->d_name);
                if (de->d_name[0] == '.' || access(path, F_OK) < 0)
                        continue;
                n++;
                r = probe_open_check(path, O_WRONLY);
        }
        closedir(d);
        if (n && r != P_OK)
                probe_note("%d release_agent files, none writable", n);
        return r;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "mount cgroup v1 (an unbound controller)", try_mount_v1, true,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_SYS_ADMIN", NULL },
        { "userns + cgroupns: mount v1, write release_agent", try_userns_agent, true,
          EXPECT(EPERM), "seccomp",
          EXPECT(EPERM), "kernel: v1 roots and release_agent need init-ns root",
          EXPECT(EPERM) },
        { "write a visible release_agent", try_visible_agent, false,
          EXPECT(P_SAFE, EROFS, EACCES), "cgroupfs read-only or absent",
          EXPECT(P_SAFE, EROFS, EACCES), "cgroupfs read-only or absent", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
