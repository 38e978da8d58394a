/*
 * cgroupfs — escape classes #20 and #24 (runtimes.md §3): CVE-2023-25809 (rootless runc left
 * /sys/fs/cgroup writable) and the privileged cgroupfs-write family: a jail that can write host
 * cgroup files moves itself out of its limits (cgroup.procs), lifts them (pids.max,
 * memory.limit_in_bytes), grants itself devices (devices.allow) or creates cgroups.
 * Control files are only opened O_WRONLY, never written.
 * Defences: cgroupfs read-only (or absent) inside the jail, the cgroup namespace, the userns.
 */
#include <dirent.h>

#include "probe.h"

static const char *const files[] = {
        "cgroup.procs",
        "tasks",
        "pids.max",
        "memory.limit_in_bytes",
        "memory.max",
        "devices.allow",
        "cgroup.subtree_control",
        "notify_on_release",
};

/* Calls fn(dir) for /sys/fs/cgroup and each directory below it; stops at the first P_OK. */
static int each_dir(int (*fn)(const char *dir, int *seen), int *seen)
{
        char path[300];
        struct dirent *de;
        DIR *d = opendir("/sys/fs/cgroup");
        int r = fn("/sys/fs/cgroup", seen);

        while (d && r != P_OK && (de = readdir(d))) {
                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", de->d_name);
                r = fn(path, seen);
        }
        if (d)
                closedir(d);
        return r;
}

static int write_files(const char *dir, int *seen)
{
        char path[400];
        int r = P_SAFE;

        for (size_t i = 0; i < ARRAY_LEN(files) && r != P_OK; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                if (access(path, F_OK) < 0)
                        continue;
                (*seen)++;
                r = probe_open_check(path, O_WRONLY);
        }
        return r;
}

static int make_dir(const char *dir, int *seen)
{
        char path[400];

        snprintf(path, sizeof(path), "%s/aio-probe-%d", dir, (int)getpid());
        if (access(dir, F_OK) < 0)
                return P_SAFE;
        (*seen)++;
        if (mkdir(path, 0755) < 0)
                return P_SAFE;
        (void)rmdir(path);
        probe_note("created cgroup %s", path);
        return P_OK;
}

static int run(int (*fn)(const char *dir, int *seen), const char *what)
{
        int seen = 0, r = each_dir(fn, &seen);

        if (r == P_OK)
                return P_OK;
        probe_note(seen ? "%d %s, none writable" : "no cgroupfs visible", seen, what);
        return P_SAFE;
}

static int try_files(void)
{
        return run(write_files, "control files");
}

static int try_mkdir(void)
{
        return run(make_dir, "cgroup directories");
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "open cgroup control files O_WRONLY", try_files, false,
          EXPECT(P_SAFE), "cgroupfs read-only", EXPECT(P_SAFE), "cgroupfs read-only",
          EXPECT(P_OK) },
        { "mkdir a cgroup", try_mkdir, false,
          EXPECT(P_SAFE), "cgroupfs read-only", EXPECT(P_SAFE), "cgroupfs read-only", NULL },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
