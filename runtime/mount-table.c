/* The jail's base mounts as data. The order is the order of mounting. The masks come from
 * policy/mounts.json (build/gen/policy-data.h). */
#include <sys/mount.h>

#include "common/cleanup.h"

#include "mount.h"
#include "policy-data.h"

/* clang-format off */
const struct rt_mount rt_base_mounts[] = {
        { "proc",   "/proc",        "proc",   NULL,                              MS_NOSUID | MS_NOEXEC | MS_NODEV,  RT_MNT_FATAL | RT_MNT_MKDIR },
        { "tmpfs",  "/dev",         "tmpfs",  "mode=755,size=64k",               MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, RT_MNT_FATAL | RT_MNT_MKDIR },
        { "devpts", "/dev/pts",     "devpts", "newinstance,ptmxmode=0666,mode=0620", MS_NOSUID | MS_NOEXEC, RT_MNT_FATAL | RT_MNT_MKDIR },
        { "tmpfs",  "/dev/shm",     "tmpfs",  "mode=1777,size=64m",              MS_NOSUID | MS_NODEV | MS_NOEXEC,  RT_MNT_FATAL | RT_MNT_MKDIR },
        { "mqueue", "/dev/mqueue",  "mqueue", NULL,                              MS_NOSUID | MS_NODEV | MS_NOEXEC,  RT_MNT_MKDIR },
        { "sysfs",  "/sys",         "sysfs",  NULL,                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_FATAL | RT_MNT_MKDIR | RT_MNT_NOSYS },
};
const size_t rt_base_mounts_len = ELEMENTSOF(rt_base_mounts);

/* policy/mounts.json, compiled in: hidden (a file gets /dev/null, a directory an empty
 * read-only tmpfs) and read-only paths, applied on top of the base mounts. */
const char *const rt_masked_paths[] = { AIO_POLICY_MASKED_PATHS };
const size_t rt_masked_paths_len = ELEMENTSOF(rt_masked_paths);
const char *const rt_readonly_paths[] = { AIO_POLICY_READONLY_PATHS };
const size_t rt_readonly_paths_len = ELEMENTSOF(rt_readonly_paths);

const struct rt_device rt_devices[] = {
        { "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
        { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};
const size_t rt_devices_len = ELEMENTSOF(rt_devices);

const struct rt_symlink rt_dev_symlinks[] = {
        { "/proc/self/fd",   "/dev/fd" },     { "/proc/self/fd/0", "/dev/stdin" },
        { "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
        { "pts/ptmx",        "/dev/ptmx" },
};
const size_t rt_dev_symlinks_len = ELEMENTSOF(rt_dev_symlinks);
/* clang-format on */
