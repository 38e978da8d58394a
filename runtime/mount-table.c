/* The jail's base mounts as data. The order is the order of mounting. */
#include <sys/mount.h>

#include "common/cleanup.h"

#include "mount.h"

/* clang-format off */
#define RT_MASK_FILE(p)                                                                            \
        { "/dev/null", (p), NULL, NULL, MS_BIND, RT_MNT_FATAL },                                   \
        { NULL, (p), NULL, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_FATAL }
#define RT_MASK_DIR(p)                                                                             \
        { "tmpfs", (p), "tmpfs", "size=0,mode=000", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_FATAL }
#define RT_READ_ONLY(p)                                                                            \
        { (p), (p), NULL, NULL, MS_BIND | MS_REC, RT_MNT_FATAL },                                  \
        { NULL, (p), NULL, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_FATAL }

const struct rt_mount rt_base_mounts[] = {
        { "proc",   "/proc",        "proc",   NULL,                              MS_NOSUID | MS_NOEXEC | MS_NODEV,  RT_MNT_FATAL | RT_MNT_MKDIR },
        { "tmpfs",  "/dev",         "tmpfs",  "mode=755,size=64k",               MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, RT_MNT_FATAL | RT_MNT_MKDIR },
        { "devpts", "/dev/pts",     "devpts", "newinstance,ptmxmode=0666,mode=0620", MS_NOSUID | MS_NOEXEC, RT_MNT_FATAL | RT_MNT_MKDIR },
        { "tmpfs",  "/dev/shm",     "tmpfs",  "mode=1777,size=64m",              MS_NOSUID | MS_NODEV | MS_NOEXEC,  RT_MNT_FATAL | RT_MNT_MKDIR },
        { "mqueue", "/dev/mqueue",  "mqueue", NULL,                              MS_NOSUID | MS_NODEV | MS_NOEXEC,  RT_MNT_MKDIR },
        { "sysfs",  "/sys",         "sysfs",  NULL,                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_FATAL | RT_MNT_MKDIR | RT_MNT_NOSYS },
        { "tmpfs",  "/sys/firmware","tmpfs",  "size=0,mode=000",                 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_NOSYS },
        { "tmpfs",  "/sys/devices/virtual/powercap", "tmpfs", "size=0,mode=000", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, RT_MNT_NOSYS },
        RT_MASK_FILE("/proc/kcore"),    RT_MASK_FILE("/proc/keys"),       RT_MASK_FILE("/proc/timer_list"),
        RT_MASK_FILE("/proc/kallsyms"), RT_MASK_FILE("/proc/sched_debug"),RT_MASK_FILE("/proc/latency_stats"),
        RT_MASK_FILE("/proc/sysrq-trigger"),
        RT_MASK_DIR("/proc/acpi"),      RT_MASK_DIR("/proc/scsi"),
        RT_READ_ONLY("/proc/sys"),      RT_READ_ONLY("/proc/bus"),        RT_READ_ONLY("/proc/fs"),
        RT_READ_ONLY("/proc/irq"),
};
const size_t rt_base_mounts_len = ELEMENTSOF(rt_base_mounts);

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
