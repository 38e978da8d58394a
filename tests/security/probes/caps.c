/*
 * caps — escape class #25 (runtimes.md §3): CVE-2022-29162 (runc) / CVE-2022-24769 (moby):
 * a non-empty inheritable set lets file capabilities elevate an exec'd program; ambient caps
 * survive exec outright.  Also the size of root's set: every capability beyond podman's default
 * (CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID
 * SYS_CHROOT, plus AUDIT_WRITE and MKNOD) counts as dangerous, CAP_NET_RAW included.
 * Defences: the launcher empties inheritable and ambient, gives gem nothing, bounds root.
 */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "probe.h"

#define BIT(c) (1ULL << (c))
#define ALLOWED                                                                            \
        (BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) |      \
         BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SETFCAP) | BIT(CAP_SETGID) |  \
         BIT(CAP_SETPCAP) | BIT(CAP_SETUID) | BIT(CAP_SYS_CHROOT) | BIT(CAP_AUDIT_WRITE) | \
         BIT(CAP_MKNOD))

static unsigned long long caps(const char *key)
{
        char v[64];

        return probe_status(key, v, sizeof(v)) ? strtoull(v, NULL, 16) : ~0ULL;
}

static int empty(const char *key)
{
        unsigned long long c = caps(key);

        if (c == 0) {
                probe_note("%s 0", key);
                return P_SAFE;
        }
        probe_note("%s %016llx", key, c);
        return P_OK;
}

static int check_inh(void)
{
        return empty("CapInh");
}

static int check_amb(void)
{
        return empty("CapAmb");
}

/* gem: nothing effective or permitted; root: nothing outside ALLOWED. */
static int check_eff(void)
{
        unsigned long long eff = caps("CapEff") | caps("CapPrm");
        unsigned long long bad = getuid() == 0 ? eff & ~ALLOWED : eff;

        if (bad) {
                probe_note("uid %d holds %016llx (beyond the allowed set: %016llx)", (int)getuid(),
                           eff, bad);
                return P_OK;
        }
        probe_note("uid %d: CapEff|CapPrm %016llx", (int)getuid(), eff);
        return P_SAFE;
}

static int check_bnd(void)
{
        unsigned long long bad = caps("CapBnd") & ~ALLOWED;

        if (bad) {
                probe_note("CapBnd has dangerous caps %016llx", bad);
                return P_OK;
        }
        probe_note("CapBnd %016llx", caps("CapBnd"));
        return P_SAFE;
}

static int try_raise(void)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2];

        if (syscall(SYS_capget, &h, d) < 0)
                return errno;
        d[0].effective |= BIT(CAP_SYS_ADMIN);
        d[0].permitted |= BIT(CAP_SYS_ADMIN);
        if (syscall(SYS_capset, &h, d) < 0)
                return errno;
        probe_note("CAP_SYS_ADMIN raised");
        return P_OK;
}

static int try_ambient(void)
{
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) < 0)
                return errno;
        probe_note("CAP_SYS_ADMIN raised into the ambient set");
        return P_OK;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "CapInh empty", check_inh, false,
          EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE, P_OK) },
        { "CapAmb empty", check_amb, false,
          EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE, P_OK) },
        { "CapEff/CapPrm within the allowed set", check_eff, false,
          EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE), "launcher", EXPECT(P_OK) },
        { "CapBnd within the allowed set", check_bnd, false,
          EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE), "launcher", EXPECT(P_OK) },
        { "capset(+CAP_SYS_ADMIN)", try_raise, true,
          EXPECT(EPERM), "not in the bounding/permitted set", EXPECT(EPERM),
          "not in the bounding/permitted set", EXPECT(P_OK) },
        { "ambient raise CAP_SYS_ADMIN", try_ambient, true,
          EXPECT(EPERM), "not permitted and inheritable", EXPECT(EPERM),
          "not permitted and inheritable", EXPECT(EPERM) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
