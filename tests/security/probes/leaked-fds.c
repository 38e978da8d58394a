/*
 * leaked-fds — escape class #2 (runtimes.md §3): CVE-2024-21626 (runc, GHSA-xr7r-f8xq-vfvv).
 * An fd the runtime leaked into the jail (a host directory) lets the process chdir or openat
 * outside its root: cwd=/proc/self/fd/N lands in the host mount namespace.
 * Defences: every fd beyond 0-2 closed before exec (close_range), cwd checked to be inside the
 * root, and the init non-dumpable so /proc/<init>/fd is closed.
 * Options: --target=PID (default 1).  The test harness also starts aio-run with an extra open
 * host directory fd and checks this probe never sees it.
 */
#include <dirent.h>

#include "probe.h"

static int check_fds(void)
{
        char found[400] = "", link[256], path[64];
        size_t off = 0;
        struct dirent *de;
        DIR *d = opendir("/proc/self/fd");

        if (!d) {
                probe_note("opendir /proc/self/fd: %s", strerror(errno));
                return P_ERROR;
        }
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name);
                ssize_t n;

                if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                n = readlink(path, link, sizeof(link) - 1);
                link[n > 0 ? n : 0] = '\0';
                if (off < sizeof(found))
                        off += snprintf(found + off, sizeof(found) - off, " %d->%s", fd, link);
        }
        closedir(d);
        if (off) {
                probe_note("inherited fds:%s", found);
                return P_OK;
        }
        probe_note("only fds 0-2 open");
        return P_SAFE;
}

static int check_cwd(void)
{
        char cwd[4096];
        struct stat a, b;

        if (!getcwd(cwd, sizeof(cwd))) {
                probe_note("getcwd: %s (cwd outside the root)", strerror(errno));
                return P_OK;
        }
        if (cwd[0] != '/' || stat(".", &a) < 0 || stat(cwd, &b) < 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev) {
                probe_note("cwd %s is not reachable from the root", cwd);
                return P_OK;
        }
        probe_note("cwd %s is inside the root", cwd);
        return P_SAFE;
}

static int try_chdir_fds(void)
{
        char path[64], cwd[512];

        for (int fd = 3; fd < 256; fd++) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                if (chdir(path) == 0) {
                        probe_note("chdir %s -> %s", path, getcwd(cwd, sizeof(cwd)) ? cwd : "?");
                        return P_OK;
                }
        }
        return errno;
}

static int try_init_fds(void)
{
        const char *pid = probe_opt("--target");
        char path[64];
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%s/fd", pid ? pid : "1");
        d = opendir(path);
        if (!d)
                return errno;
        closedir(d);
        probe_note("%s listed", path);
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "inherited fds beyond stdio", check_fds, false,
          EXPECT(P_SAFE), "close_range", EXPECT(P_SAFE), "close_range", EXPECT(P_OK) },
        { "cwd outside the root", check_cwd, false,
          EXPECT(P_SAFE), "cwd check", EXPECT(P_SAFE), "cwd check", EXPECT(P_SAFE) },
        { "chdir /proc/self/fd/N (N=3..255)", try_chdir_fds, true,
          EXPECT(ENOENT), "close_range", EXPECT(ENOENT), "close_range", EXPECT(P_OK) },
        { "list /proc/<init>/fd", try_init_fds, false,
          EXPECT(EACCES), "init non-dumpable", EXPECT(EACCES), "init non-dumpable", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
