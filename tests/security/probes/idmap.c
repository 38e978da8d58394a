/*
 * idmap — the user namespace mapping (runtimes.md §1 "uid/gid mapping", DESIGN.md: jail root
 * maps to an unprivileged host range).  If jail uid 0 is host uid 0, every file-permission and
 * capability check that escapes the namespace (a host file reached through a leak, a setuid
 * binary, a kernel bug) is made as host root.  "0 0 4294967295" is the initial namespace.
 * Defence: a user namespace whose extents map no host uid/gid below 1000.
 */
#include "probe.h"

static int check_map(const char *path)
{
        unsigned long in, out, count;
        char desc[200] = "";
        size_t off = 0;
        int low = 0;
        FILE *f = fopen(path, "re");

        if (!f) {
                probe_note("open %s: %s", path, strerror(errno));
                return P_ERROR;
        }
        while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3) {
                if (off < sizeof(desc))
                        off += snprintf(desc + off, sizeof(desc) - off, "%s%lu->%lu(%lu)",
                                        off ? " " : "", in, out, count);
                low |= out < 1000;
        }
        fclose(f);
        probe_note("%s", off ? desc : "empty");
        return low ? P_OK : P_SAFE;
}

static int check_uid(void)
{
        return check_map("/proc/self/uid_map");
}

static int check_gid(void)
{
        return check_map("/proc/self/gid_map");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "uid_map maps host uids < 1000", check_uid, false,
          EXPECT(P_SAFE), "user namespace", EXPECT(P_SAFE), "user namespace", EXPECT(P_OK) },
        { "gid_map maps host gids < 1000", check_gid, false,
          EXPECT(P_SAFE), "user namespace", EXPECT(P_SAFE), "user namespace", EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
