/*
 * rofs — escape class #21 (runtimes.md §3): overwrite of read-only image or host files (the goal
 * of Dirty COW CVE-2016-5195 / Dirty Pipe CVE-2022-0847, and of any writable bind).  Under
 * --rootfs host, /usr is the host's: a write there changes every sandbox and the host.
 * Files are opened O_WRONLY without O_TRUNC and never written.
 * Defences: read-only binds of the host's /usr (and of the image below the overlay), files owned
 * by an unmapped host root, and a kernel with the Dirty COW / Dirty Pipe fixes.
 */
#include <sys/utsname.h>

#include "probe.h"

static const char *host_binary(void)
{
        static const char *const cands[] = {"/usr/bin/true", "/bin/true", "/bin/busybox"};

        for (size_t i = 0; i < ARRAY_LEN(cands); i++)
                if (access(cands[i], F_OK) == 0)
                        return cands[i];
        return "/usr/bin/true";
}

static int try_write(void)
{
        return probe_open_check(host_binary(), O_WRONLY);
}

static int try_create(void)
{
        int fd = open("/usr/bin/.aio-probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        if (fd < 0)
                return errno;
        close(fd);
        (void)unlink("/usr/bin/.aio-probe");
        probe_note("created /usr/bin/.aio-probe");
        return P_OK;
}

static int try_chmod(void)
{
        struct stat st;
        const char *p = host_binary();

        if (stat(p, &st) < 0)
                return errno;
        if (chmod(p, st.st_mode & 07777) < 0)
                return errno;
        probe_note("chmod %s accepted", p);
        return P_OK;
}

static int try_probe_binary(void)
{
        return probe_open_check("/proc/self/exe", O_WRONLY);
}

/* Fixed in 4.8.3 (Dirty COW) and 5.16.11 / 5.15.25 / 5.10.102 (Dirty Pipe, introduced in 5.8). */
static int check_kernel(void)
{
        struct utsname u;
        int a = 0, b = 0, c = 0;
        bool pipe_bug;

        uname(&u);
        sscanf(u.release, "%d.%d.%d", &a, &b, &c);
        pipe_bug =
                (a == 5 && b >= 8 && b < 16 && !(b == 15 && c >= 25) && !(b == 10 && c >= 102)) ||
                (a == 5 && b == 16 && c < 11);
        probe_note("kernel %s", u.release);
        return pipe_bug || a < 4 || (a == 4 && b < 9) ? P_OK : P_SAFE;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "open a host binary O_WRONLY", try_write, false,
          EXPECT(EROFS, EACCES), "read-only bind, unmapped owner", EXPECT(EROFS, EACCES),
          "read-only bind, unmapped owner", EXPECT(P_OK) },
        { "create a file in /usr/bin", try_create, false,
          EXPECT(EROFS, EACCES), "read-only bind, unmapped owner", EXPECT(EROFS, EACCES),
          "read-only bind, unmapped owner", NULL },
        { "chmod a host binary", try_chmod, false,
          EXPECT(EROFS, EPERM), "read-only bind, unmapped owner", EXPECT(EROFS, EPERM),
          "read-only bind, unmapped owner", NULL },
        { "open this probe's binary O_WRONLY", try_probe_binary, false,
          EXPECT(EROFS, EACCES, ETXTBSY), "read-only bind", EXPECT(EROFS, EACCES, ETXTBSY),
          "read-only bind", NULL },
        { "kernel with Dirty COW / Dirty Pipe fixed", check_kernel, false,
          EXPECT(P_SAFE), "kernel version", EXPECT(P_SAFE), "kernel version", EXPECT(P_SAFE) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
