/*
 * procmask — /proc information leaks (runtimes.md §3 row #8, containerd's maskedPaths list):
 * /proc/kcore (physical memory), /proc/keys (keyrings of the whole host, see #10),
 * /proc/kallsyms (kernel addresses for KASLR bypass), /proc/timer_list, /proc/sched_debug,
 * /proc/latency_stats, /proc/timer_stats, /proc/acpi, /proc/scsi, /sys/firmware.
 * Defence: the launcher masks them (a /dev/null bind for files, an empty read-only tmpfs for
 * directories).  A target is safe when it is absent (ENOENT) or no longer served by procfs/sysfs;
 * EACCES/EPERM would mean "kernel permissions only, mask missing" and is reported UNEXPECTED.
 */
#include <sys/vfs.h>

#include "probe.h"

#define PROC_MAGIC  0x9fa0
#define SYSFS_MAGIC 0x62656572

static int masked(const char *path)
{
        struct statfs sf;
        int r = probe_open_check(path, O_RDONLY);
        int fd;

        if (r == EACCES && statfs(path, &sf) == 0 && sf.f_type != PROC_MAGIC &&
            sf.f_type != SYSFS_MAGIC) {
                probe_note("masked (EACCES on filesystem 0x%lx)", (unsigned long)sf.f_type);
                return P_SAFE;
        }
        if (r != P_OK)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errno;
        if (fstatfs(fd, &sf) == 0 && sf.f_type != PROC_MAGIC && sf.f_type != SYSFS_MAGIC) {
                close(fd);
                probe_note("masked (filesystem 0x%lx)", (unsigned long)sf.f_type);
                return P_SAFE;
        }
        close(fd);
        probe_note("%s readable from the real %s", path,
                   strncmp(path, "/sys", 4) ? "procfs" : "sysfs");
        return P_OK;
}

#define TARGET(fn, path)             \
        static int fn(void)          \
        {                            \
                return masked(path); \
        }
TARGET(t_kcore, "/proc/kcore")
TARGET(t_keys, "/proc/keys")
TARGET(t_kallsyms, "/proc/kallsyms")
TARGET(t_timer_list, "/proc/timer_list")
TARGET(t_sched_debug, "/proc/sched_debug")
TARGET(t_latency, "/proc/latency_stats")
TARGET(t_timer_stats, "/proc/timer_stats")
TARGET(t_acpi, "/proc/acpi")
TARGET(t_scsi, "/proc/scsi")
TARGET(t_firmware, "/sys/firmware")

/* Independent of the mask: kernel addresses must read as zero for a non-init root. */
static int t_kallsyms_addr(void)
{
        unsigned long long addr = 0;
        FILE *f = fopen("/proc/kallsyms", "re");
        int n;

        if (!f)
                return masked("/proc/kallsyms");
        n = fscanf(f, "%llx", &addr);
        fclose(f);
        if (n == 1 && addr != 0) {
                probe_note("kernel address 0x%llx visible", addr);
                return P_OK;
        }
        probe_note(n == 1 ? "addresses read as zero" : "empty");
        return P_SAFE;
}

#define M_JAIL EXPECT(P_SAFE, ENOENT)
#define M_HOST EXPECT(P_OK, ENOENT)
#define ROW(name, fn)                                                   \
        {                                                               \
                name, fn, false, M_JAIL, "mask", M_JAIL, "mask", M_HOST \
        }

/* clang-format off */
static const struct probe_attempt attempts[] = {
        ROW("read /proc/kcore", t_kcore),
        ROW("read /proc/keys", t_keys),
        ROW("read /proc/kallsyms", t_kallsyms),
        ROW("read /proc/timer_list", t_timer_list),
        ROW("read /proc/sched_debug", t_sched_debug),
        ROW("read /proc/latency_stats", t_latency),
        ROW("read /proc/timer_stats", t_timer_stats),
        ROW("read /proc/acpi", t_acpi),
        ROW("read /proc/scsi", t_scsi),
        ROW("read /sys/firmware", t_firmware),
        { "kernel addresses in /proc/kallsyms", t_kallsyms_addr, false, EXPECT(P_SAFE, ENOENT),
          "mask, kptr_restrict", EXPECT(P_SAFE, ENOENT), "mask, kptr_restrict", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
