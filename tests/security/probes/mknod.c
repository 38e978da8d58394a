/*
 * mknod — escape class #18 (runtimes.md §3): create a device node for the host's disk or memory
 * (/dev/sda, /dev/mem) and read it raw, or use one the launcher left in /dev.
 * Defences: the user namespace (mknod of devices needs CAP_MKNOD in the initial namespace),
 * nodev on every writable mount, a minimal /dev (null zero full random urandom tty, pts, shm).
 */
#include <dirent.h>

#include "probe.h"

static int make_node(mode_t type, dev_t dev, const char *what)
{
        const char *dir = probe_tmpdir();
        char path[128];
        int r = P_OK, fd;

        if (!*dir) {
                probe_note("no writable directory");
                return P_ERROR;
        }
        snprintf(path, sizeof(path), "%s/node", dir);
        if (mknod(path, type | 0600, dev) < 0) {
                r = errno;
        } else if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == EACCES) {
                probe_note("%s node created, open: EACCES (nodev)", what);
        } else {
                probe_note("%s node created%s", what, fd >= 0 ? " and opened" : "");
                if (fd >= 0)
                        close(fd);
        }
        (void)unlink(path);
        (void)rmdir(dir);
        return r;
}

static int try_blk(void)
{
        return make_node(S_IFBLK, makedev(8, 0), "block 8:0 (sda)");
}

static int try_chr(void)
{
        return make_node(S_IFCHR, makedev(1, 1), "char 1:1 (mem)");
}

static bool minimal(const char *name)
{
        static const char *const ok[] = {"null",    "zero", "full", "random",
                                         "urandom", "tty",  "ptmx", "console"};

        for (size_t i = 0; i < ARRAY_LEN(ok); i++)
                if (strcmp(name, ok[i]) == 0)
                        return true;
        return false;
}

/* Device nodes in /dev beyond the minimal set (pts/ and shm/ are separate mounts). */
static int check_dev(void)
{
        char found[300] = "", path[300];
        size_t off = 0;
        struct dirent *de;
        struct stat st;
        DIR *d = opendir("/dev");

        if (!d)
                return errno;
        while ((de = readdir(d))) {
                snprintf(path, sizeof(path), "/dev/%s", de->d_name);
                if (lstat(path, &st) < 0 || !(S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) ||
                    minimal(de->d_name))
                        continue;
                if (off < sizeof(found))
                        off += snprintf(found + off, sizeof(found) - off, " %s", de->d_name);
        }
        closedir(d);
        if (off) {
                probe_note("extra device nodes:%s", found);
                return P_OK;
        }
        probe_note("only the minimal device set");
        return P_SAFE;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "mknod block device", try_blk, false,
          EXPECT(EPERM), "userns (CAP_MKNOD)", EXPECT(EPERM), "userns (CAP_MKNOD)", EXPECT(P_OK) },
        { "mknod /dev/mem-like char device", try_chr, false,
          EXPECT(EPERM), "userns (CAP_MKNOD)", EXPECT(EPERM), "userns (CAP_MKNOD)", EXPECT(P_OK) },
        { "device nodes beyond the minimal /dev", check_dev, false,
          EXPECT(P_SAFE), "minimal /dev", EXPECT(P_SAFE), "minimal /dev", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
