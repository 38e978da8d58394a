#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "config.h"

int rt_caps_last(void)
{
        int last = CAP_LAST_CAP;

        /* The kernel may know more (or fewer) than our headers. */
        while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
                last++;
        while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0)
                last--;
        return last;
}

static int drop_bounding(uint64_t keep, int last, struct aio_err *err)
{
        for (int c = 0; c <= last; c++) {
                if (c < 64 && (keep & (UINT64_C(1) << c)))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return aio_error(err, errno, "drop capability %d from the bounding set", c);
        }
        return 0;
}

static int set_caps(uint64_t keep, struct aio_err *err)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct d[2] = {{0}};

        d[0].effective = d[0].permitted = (uint32_t)keep;
        d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
        if (syscall(SYS_capset, &h, d) < 0)
                return aio_error(err, errno, "capset");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return aio_error(err, errno, "clear ambient capabilities");
        return 0;
}

/* A rootless single-id user namespace denies setgroups(2); its supplementary groups are
 * then whatever the caller had, unmapped (shown as nogroup). */
static bool setgroups_denied(void)
{
        char buf[16] = "";
        FILE *f = fopen("/proc/self/setgroups", "re");

        if (!f)
                return false;
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        (void)fclose(f);
        return strncmp(buf, "deny", 4) == 0;
}

int rt_caps_apply(uint64_t keep, uid_t uid, gid_t gid, struct aio_err *err)
{
        uint64_t final = uid == 0 ? keep : 0;

        if (drop_bounding(final, rt_caps_last(), err) < 0)
                return -err->code;
        if (setgroups(1, &gid) < 0 && !(errno == EPERM && setgroups_denied()))
                return aio_error(err, errno, "setgroups(%u)", (unsigned)gid);
        if (setresgid(gid, gid, gid) < 0)
                return aio_error(err, errno, "setresgid(%u)", (unsigned)gid);
        if (setresuid(uid, uid, uid) < 0)
                return aio_error(err, errno, "setresuid(%u)", (unsigned)uid);
        return set_caps(final, err);
}
