/*
 * procsys — escape class #8 (runtimes.md §3): writes to /proc/sys, /proc/sysrq-trigger and /sys,
 * including CVE-2022-0811 ("cr8escape", sysctl injection).  kernel.core_pattern "|/path" and
 * kernel.modprobe run a program as host root; /sys/kernel/uevent_helper likewise; sysrq-trigger
 * can crash or reboot the host.  Each target is only opened O_WRONLY, never written.
 * Defences: /proc/sys and /proc/sysrq-trigger read-only or masked, /sys read-only (or absent),
 * the user namespace (init-namespace sysctls are not writable by a non-init root).
 * ENOENT means the file is absent (kernel without the feature, or no /sys in the jail).
 */
#include "probe.h"

static int write_check(const char *path)
{
        return probe_open_check(path, O_WRONLY);
}

static int try_core_pattern(void)
{
        return write_check("/proc/sys/kernel/core_pattern");
}

static int try_modprobe(void)
{
        return write_check("/proc/sys/kernel/modprobe");
}

static int try_sysrq(void)
{
        return write_check("/proc/sysrq-trigger");
}

static int try_uevent_helper(void)
{
        return write_check("/sys/kernel/uevent_helper");
}

static int try_drop_caches(void)
{
        return write_check("/proc/sys/vm/drop_caches");
}

static int try_binfmt(void)
{
        return write_check("/proc/sys/fs/binfmt_misc/register");
}

static int try_power(void)
{
        return write_check("/sys/power/state");
}

#define JAIL_W EXPECT(EROFS, EACCES, ENOENT, P_SAFE)
#define OPEN_W EXPECT(EROFS, EACCES, ENOENT, P_SAFE)
#define HOST_W EXPECT(P_OK, ENOENT)

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "write /proc/sys/kernel/core_pattern", try_core_pattern, false, JAIL_W,
          "read-only /proc/sys, userns", OPEN_W, "read-only /proc/sys, userns", HOST_W },
        { "write /proc/sys/kernel/modprobe", try_modprobe, false, JAIL_W,
          "read-only /proc/sys, userns", OPEN_W, "read-only /proc/sys, userns", HOST_W },
        { "write /proc/sysrq-trigger", try_sysrq, false, JAIL_W,
          "masked or read-only", OPEN_W, "masked or read-only", HOST_W },
        { "write /sys/kernel/uevent_helper", try_uevent_helper, false, JAIL_W,
          "read-only /sys", OPEN_W, "read-only /sys", HOST_W },
        { "write /proc/sys/vm/drop_caches", try_drop_caches, false, JAIL_W,
          "read-only /proc/sys, userns", OPEN_W, "read-only /proc/sys, userns", HOST_W },
        { "write /proc/sys/fs/binfmt_misc/register", try_binfmt, false, JAIL_W,
          "read-only /proc/sys", OPEN_W, "read-only /proc/sys", HOST_W },
        { "write /sys/power/state", try_power, false, JAIL_W,
          "read-only /sys", OPEN_W, "read-only /sys", HOST_W },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
