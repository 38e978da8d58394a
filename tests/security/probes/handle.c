/*
 * handle — escape class #9 (runtimes.md §3): "shocker" (Docker 0.11, 2014), open_by_handle_at.
 * With CAP_DAC_READ_SEARCH, open_by_handle_at() opens any inode of a filesystem by its handle,
 * bypassing the mount tree: a jail that shares a filesystem with the host reads host files by
 * brute-forcing handles from the root inode (ext4 inode 2).
 * Defences: seccomp denies open_by_handle_at; the jail holds no CAP_DAC_READ_SEARCH in the
 * initial user namespace.  ESTALE means the permission check passed (the forged handle was
 * merely wrong), so it counts as reaching the kernel.
 */
#include "probe.h"

struct handle64 {
        struct file_handle fh;
        unsigned char bytes[128];
};

static int open_handle(struct file_handle *fh, const char *what)
{
        int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd, e;

        if (mfd < 0) {
                probe_note("open /: %s", strerror(errno));
                return P_ERROR;
        }
        fd = open_by_handle_at(mfd, fh, O_RDONLY | O_CLOEXEC);
        e = errno;
        close(mfd);
        if (fd >= 0) {
                close(fd);
                probe_note("opened %s by handle", what);
                return P_OK;
        }
        if (e == ESTALE) {
                probe_note("permission check passed (ESTALE for %s)", what);
                return P_OK;
        }
        return e;
}

/* A handle made by name_to_handle_at for a real directory. */
static int try_real(void)
{
        static const char *const paths[] = {"/", "/usr", "/etc", "/tmp"};
        struct handle64 h;
        int mnt;

        for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
                h.fh.handle_bytes = sizeof(h.bytes);
                if (name_to_handle_at(AT_FDCWD, paths[i], &h.fh, &mnt, 0) == 0)
                        return open_handle(&h.fh, paths[i]);
        }
        probe_note("name_to_handle_at failed (%s); forged handle used", strerror(errno));
        return P_SAFE;
}

/* The shocker handle: FILEID_INO32_GEN for inode 2, generation 0. */
static int try_forged(void)
{
        struct handle64 h = {.fh = {.handle_bytes = 8, .handle_type = 1}};
        unsigned int ino = 2;

        memcpy(h.fh.f_handle, &ino, sizeof(ino));
        return open_handle(&h.fh, "inode 2");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "open_by_handle_at(handle of a jail directory)", try_real, false,
          EXPECT(EPERM, P_SAFE), "seccomp", EXPECT(EPERM, P_SAFE), "no CAP_DAC_READ_SEARCH",
          EXPECT(P_OK) },
        { "open_by_handle_at(forged inode 2)", try_forged, false,
          EXPECT(EPERM), "seccomp", EXPECT(EPERM), "no CAP_DAC_READ_SEARCH", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
