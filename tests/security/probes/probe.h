/*
 * probe.h — shared reporting for the escape-battery probes (tests/security/probes/NAME.c).
 *
 * Each probe tries one escape class from inside a jail and prints one line per attempt:
 *   BLOCKED <attempt>: <errno name or reason> (<defence>)   failed the way the probe records
 *   ESCAPED <attempt>: <detail>                             the attack worked
 *   UNEXPECTED <attempt>: <outcome> (expected <list>)       failed, but not the recorded way
 *   OPEN <attempt>: <detail>                                got past the disabled layer (open
 * modes) ERROR <attempt>: <detail>                               the probe itself could not run
 * Exit status: 0 every attempt ended as recorded, 1 an attempt escaped, 2 the probe could not run,
 * 3 an attempt failed in an unrecorded way (and none escaped).
 *
 * Modes (argv[1]); every attempt records its expected outcome for each one:
 *   (none)                       inside aio-run under the default policy: success is never expected
 *   --expect-open[=unconfined]   inside aio-run with --seccomp unconfined: the attempt should now
 *                                succeed ("OPEN"), or fail with the errno of a layer still in place
 *   --expect-open=host           as root on the host, outside any jail (unsafe attempts are
 * skipped) Probe options come after the mode as --name=value (see probe_opt()).
 *
 * An attempt is a function returning its outcome: P_OK (the attack worked, or reached the kernel
 * past the filter being tested), an errno value, P_SAFE (a state check found nothing to exploit;
 * the reason goes in probe_note()), or P_ERROR (could not run).  Rows with .fork run in a child,
 * so unshare/setsid/chroot do not leak into the next attempt.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define P_OK         0
#define P_SAFE       2000
#define P_ERROR      (-2)
#define P_END        (-1)
#define P_SIG(n)     (1000 + (n))
#define EXPECT(...)  ((const int[]){__VA_ARGS__, P_END})
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum probe_mode { PROBE_JAIL, PROBE_OPEN, PROBE_HOST };

struct probe_attempt {
        const char *name;
        int (*run)(void);
        bool fork;
        const int *jail;     /* outcomes accepted inside the jail (default policy) */
        const char *by;      /* the defence that stops it there */
        const int *open;     /* outcomes under --seccomp unconfined; NULL: not run */
        const char *open_by; /* the layer still stopping it there, if any */
        const int *host;     /* outcomes as root on the host; NULL: unsafe, not run */
};

static char probe_note_buf[512] __attribute__((unused));
static enum probe_mode probe_mode_cur __attribute__((unused));
static int probe_argc __attribute__((unused));
static char **probe_argv __attribute__((unused));

__attribute__((format(printf, 1, 2))) static inline void probe_note(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(probe_note_buf, sizeof(probe_note_buf), fmt, ap);
        va_end(ap);
}

/* Value of --name=value after the mode argument, or NULL. */
static inline const char *probe_opt(const char *name)
{
        size_t n = strlen(name);

        for (int i = 1; i < probe_argc; i++)
                if (strncmp(probe_argv[i], name, n) == 0 && probe_argv[i][n] == '=')
                        return probe_argv[i] + n + 1;
        return NULL;
}

static inline const char *probe_ename(int e)
{
        static char buf[32];
        const char *s = e > 0 ? strerrorname_np(e) : NULL;

        if (s)
                return s;
        snprintf(buf, sizeof(buf), "errno %d", e);
        return buf;
}

static inline void probe_outcome(int r, char *buf, size_t n)
{
        if (r == P_OK)
                snprintf(buf, n, "success");
        else if (r == P_SAFE)
                snprintf(buf, n, "%s", probe_note_buf[0] ? probe_note_buf : "safe");
        else if (r > 1000 && r < 1100)
                snprintf(buf, n, "killed by signal %d (%s)", r - 1000, sigabbrev_np(r - 1000));
        else if (probe_note_buf[0])
                snprintf(buf, n, "%s, %s", probe_ename(r), probe_note_buf);
        else
                snprintf(buf, n, "%s", probe_ename(r));
}

static inline bool probe_in(const int *set, int r)
{
        for (; *set != P_END; set++)
                if (*set == r)
                        return true;
        return false;
}

static inline void probe_list(const int *set, char *buf, size_t n)
{
        size_t off = 0;

        buf[0] = '\0';
        for (; *set != P_END && off < n; set++) {
                const char *sep = off ? "|" : "";

                if (*set > 1000 && *set < 1100)
                        off += snprintf(buf + off, n - off, "%sSIG%s", sep,
                                        sigabbrev_np(*set - 1000));
                else
                        off += snprintf(buf + off, n - off, "%s%s", sep,
                                        *set == P_OK     ? "success"
                                        : *set == P_SAFE ? "safe"
                                                         : probe_ename(*set));
        }
}

/* Runs a->run in a child; the outcome and note come back through a pipe. */
static inline int probe_forked(const struct probe_attempt *a)
{
        int fds[2], st, r = P_ERROR;
        pid_t pid;

        fflush(NULL);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return P_ERROR;
        pid = fork();
        if (pid < 0)
                return P_ERROR;
        if (pid == 0) {
                close(fds[0]);
                r = a->run();
                if (write(fds[1], &r, sizeof(r)) < 0 ||
                    write(fds[1], probe_note_buf, sizeof(probe_note_buf)) < 0)
                        _exit(2);
                _exit(0);
        }
        close(fds[1]);
        if (read(fds[0], &r, sizeof(r)) != sizeof(r) ||
            read(fds[0], probe_note_buf, sizeof(probe_note_buf)) < 0)
                r = P_ERROR;
        close(fds[0]);
        probe_note_buf[sizeof(probe_note_buf) - 1] = '\0';
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (r == P_ERROR && WIFSIGNALED(st))
                r = P_SIG(WTERMSIG(st));
        return r;
}

static inline const int *probe_expected(const struct probe_attempt *a)
{
        return probe_mode_cur == PROBE_JAIL   ? a->jail
               : probe_mode_cur == PROBE_OPEN ? a->open
                                              : a->host;
}

/* Prints the line for one attempt; returns 0, 1 (escaped), 2 (error) or 3 (unexpected). */
static inline int probe_report(const struct probe_attempt *a, const int *exp, int r)
{
        char out[700], want[200];
        const char *by = probe_mode_cur == PROBE_JAIL   ? a->by
                         : probe_mode_cur == PROBE_OPEN ? a->open_by
                                                        : "on this host";

        probe_outcome(r, out, sizeof(out));
        if (r == P_ERROR) {
                printf("ERROR %s: %s\n", a->name,
                       probe_note_buf[0] ? probe_note_buf : "setup failed");
                return 2;
        }
        if (probe_in(exp, r) && r == P_OK) {
                printf("OPEN %s: %s\n", a->name, probe_note_buf[0] ? probe_note_buf : "success");
                return 0;
        }
        if (probe_in(exp, r)) {
                printf("BLOCKED %s: %s (%s)\n", a->name, out, by ? by : "kernel");
                return 0;
        }
        if (r == P_OK) {
                printf("ESCAPED %s: %s\n", a->name, probe_note_buf[0] ? probe_note_buf : "success");
                return 1;
        }
        probe_list(exp, want, sizeof(want));
        printf("UNEXPECTED %s: %s (expected %s)\n", a->name, out, want);
        return 3;
}

static inline int probe_main(int argc, char **argv, const struct probe_attempt *t, size_t n)
{
        bool escaped = false, unexpected = false, ran = false;

        probe_argc = argc;
        probe_argv = argv;
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc > 1 && (strcmp(argv[1], "--expect-open") == 0 ||
                         strcmp(argv[1], "--expect-open=unconfined") == 0))
                probe_mode_cur = PROBE_OPEN;
        else if (argc > 1 && strcmp(argv[1], "--expect-open=host") == 0)
                probe_mode_cur = PROBE_HOST;
        else if (argc > 1 && strncmp(argv[1], "--expect-open", 13) == 0) {
                printf("ERROR %s: unknown mode\n", argv[1]);
                return 2;
        }
        alarm(20);
        for (size_t i = 0; i < n; i++) {
                const int *exp = probe_expected(&t[i]);
                int r, rc;

                if (!exp)
                        continue;
                probe_note_buf[0] = '\0';
                errno = 0;
                r = t[i].fork ? probe_forked(&t[i]) : t[i].run();
                rc = probe_report(&t[i], exp, r);
                if (rc == 2)
                        return 2;
                escaped |= rc == 1;
                unexpected |= rc == 3;
                ran = true;
        }
        if (!ran) {
                printf("ERROR %s: no attempt runs in this mode\n", argv[0]);
                return 2;
        }
        return escaped ? 1 : unexpected ? 3 : 0;
}

/* Shared attempt bodies. */

/* open(path, flags) and classify: a /dev/null mask is P_SAFE (also when a nodev mount refuses it).
 */
static inline int probe_open_check(const char *path, int flags)
{
        struct stat st;
        int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), e = errno;

        if (fd < 0 && e == EACCES && stat(path, &st) == 0 && S_ISCHR(st.st_mode) &&
            st.st_rdev == makedev(1, 3)) {
                probe_note("masked by /dev/null (EACCES: nodev mount)");
                return P_SAFE;
        }
        if (fd < 0)
                return e;
        if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
                close(fd);
                probe_note("masked by /dev/null");
                return P_SAFE;
        }
        close(fd);
        probe_note("opened %s %s", path,
                   (flags & O_ACCMODE) == O_RDONLY ? "for reading" : "for writing");
        return P_OK;
}

/* A fresh directory under /tmp (or /dev/shm); "" when neither is writable. */
static inline const char *probe_tmpdir(void)
{
        static char dir[64];

        snprintf(dir, sizeof(dir), "/tmp/aio-probe-XXXXXX");
        if (mkdtemp(dir))
                return dir;
        snprintf(dir, sizeof(dir), "/dev/shm/aio-probe-XXXXXX");
        if (mkdtemp(dir))
                return dir;
        dir[0] = '\0';
        return dir;
}

/* Reads "Key:\tvalue" from /proc/self/status into buf; false when absent. */
static inline bool probe_status(const char *key, char *buf, size_t n)
{
        char line[256];
        size_t kl = strlen(key);
        FILE *f = fopen("/proc/self/status", "re");
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f)) {
                if (strncmp(line, key, kl) != 0 || line[kl] != ':')
                        continue;
                snprintf(buf, n, "%s", line + kl + 1 + strspn(line + kl + 1, " \t"));
                buf[strcspn(buf, "\n")] = '\0';
                found = true;
        }
        fclose(f);
        return found;
}
