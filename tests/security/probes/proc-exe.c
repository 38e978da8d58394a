/*
 * proc-exe — escape class #1 (runtimes.md §3): CVE-2019-5736, the runc /proc/self/exe overwrite.
 * A jailed process opens the runtime's binary through /proc/<pid>/exe (O_PATH) while the runtime
 * runs in the jail, and reopens it O_WRONLY through /proc/self/fd/N once the runtime has exited
 * (ETXTBSY only lasts while it runs), overwriting the host binary.
 * Defences: the in-jail init is non-dumpable (its /proc entries are closed to the jail), and any
 * runtime binary reachable from inside is a sealed memfd or on a read-only mount.
 * Options: --target=PID (default 1, the jail's init).  The /proc scan only runs inside jails.
 */
#include <dirent.h>
#include <sys/statvfs.h>

#include "probe.h"

/* P_OK: the executable of pid is writable now, or on a writable mount once pid exits. */
static int exe_state(const char *pid, char *why, size_t n)
{
        char path[64], fdpath[64];
        struct statvfs sv;
        int fd, w, seals = 0;

        snprintf(path, sizeof(path), "/proc/%s/exe", pid);
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return errno;
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        w = open(fdpath, O_WRONLY | O_CLOEXEC);
        if (w >= 0) {
                close(w);
                close(fd);
                snprintf(why, n, "%s reopened for writing", path);
                return P_OK;
        }
        snprintf(why, n, "%s: %s", path, probe_ename(errno));
        if (errno != ETXTBSY || (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))) {
                close(fd);
                return P_SAFE;
        }
        w = open(fdpath, O_RDONLY | O_CLOEXEC);
        if (w >= 0) {
                seals = fcntl(w, F_GET_SEALS);
                close(w);
        }
        close(fd);
        if (seals > 0 && (seals & F_SEAL_WRITE))
                return P_SAFE;
        snprintf(why, n, "%s is busy now (ETXTBSY) but on a writable mount and not sealed", path);
        return P_OK;
}

static int try_target(void)
{
        const char *pid = probe_opt("--target");
        char why[256];
        int r = exe_state(pid ? pid : "1", why, sizeof(why));

        if (r == P_OK || r == P_SAFE)
                probe_note("%s", why);
        return r;
}

static int try_scan(void)
{
        char why[256], found[300] = "";
        int seen = 0, closed = 0;
        struct dirent *de;
        DIR *d = opendir("/proc");

        if (!d) {
                probe_note("opendir /proc: %s", strerror(errno));
                return P_ERROR;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                seen++;
                switch (exe_state(de->d_name, why, sizeof(why))) {
                case P_OK:
                        snprintf(found, sizeof(found), "%s", why);
                        break;
                case P_SAFE:
                        break;
                default:
                        closed++;
                }
        }
        closedir(d);
        if (found[0]) {
                probe_note("%s", found);
                return P_OK;
        }
        probe_note("%d processes, %d exe links closed, none writable", seen, closed);
        return P_SAFE;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "/proc/<init>/exe reopened for writing", try_target, false,
          EXPECT(EACCES, EPERM, P_SAFE), "init non-dumpable", EXPECT(EACCES, EPERM, P_SAFE),
          "init non-dumpable", EXPECT(P_OK) },
        { "scan /proc/*/exe for a writable executable", try_scan, false,
          EXPECT(P_SAFE), "non-dumpable init, read-only binds", EXPECT(P_SAFE),
          "non-dumpable init, read-only binds", NULL },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
