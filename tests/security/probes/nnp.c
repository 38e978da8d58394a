/*
 * nnp — setuid elevation inside the jail: no_new_privs, the seccomp mode, and a setuid-root
 * binary exec'd by an unprivileged user, plainly and under PTRACE_TRACEME from a privileged
 * tracer (CVE-2019-13272: the kernel trusted the tracer's credentials recorded at TRACEME).
 * Defences: PR_SET_NO_NEW_PRIVS (setuid bits and file caps ignored at exec), nosuid mounts, and
 * the user namespace (a file owned by an unmapped host uid 0 never grants euid 0).
 * Options: --suid=PATH, a setuid-root copy of this probe (the harness makes one); run with
 * --report-euid it prints its effective uid.  Root in the jail drops to uid 1000 before exec.
 */
#include <grp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>

#include "probe.h"

static int check_nnp(void)
{
        int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);

        probe_note("PR_GET_NO_NEW_PRIVS = %d", v);
        return v == 1 ? P_SAFE : P_OK;
}

static int check_seccomp(void)
{
        char v[32] = "?";

        probe_status("Seccomp", v, sizeof(v));
        probe_note("Seccomp: %s", v);
        return strcmp(v, "2") == 0 ? P_SAFE : P_OK;
}

static void exec_suid(const char *path, bool traced, int out)
{
        if (getuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 ||
                              setresuid(1000, 1000, 1000) < 0))
                _exit(125);
        if (traced && ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
                dprintf(out, "E%d", errno);
                _exit(124);
        }
        dup2(out, 1);
        execl(path, path, "--report-euid", (char *)NULL);
        _exit(errno == EACCES ? 126 : 127);
}

static int run_suid(bool traced)
{
        const char *path = probe_opt("--suid");
        char buf[32] = "";
        int fds[2], st;
        pid_t pid;

        if (!path || pipe(fds) < 0) {
                probe_note(path ? "pipe failed" : "no --suid=PATH given");
                return P_ERROR;
        }
        pid = fork();
        if (pid == 0)
                exec_suid(path, traced, fds[1]);
        close(fds[1]);
        while (traced && waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
                (void)ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
        if (read(fds[0], buf, sizeof(buf) - 1) < 0)
                buf[0] = '\0';
        if (!traced)
                waitpid(pid, &st, 0);
        if (buf[0] == 'E') {
                probe_note("PTRACE_TRACEME refused");
                return atoi(buf + 1);
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) >= 124) {
                probe_note("exec %s: child status %d", path, WEXITSTATUS(st));
                return WEXITSTATUS(st) == 126 ? EACCES : P_ERROR;
        }
        buf[strcspn(buf, "\n")] = '\0';
        probe_note("%s ran as uid 1000 with euid %s", path, buf);
        return strcmp(buf, "0") == 0 ? P_OK : P_SAFE;
}

static int try_suid(void)
{
        return run_suid(false);
}

static int try_suid_traced(void)
{
        return run_suid(true);
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "no_new_privs set", check_nnp, false,
          EXPECT(P_SAFE), "launcher", EXPECT(P_SAFE), "launcher", EXPECT(P_OK) },
        { "seccomp filter mode", check_seccomp, false,
          EXPECT(P_SAFE), "launcher", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "setuid-root binary elevates", try_suid, true,
          EXPECT(P_SAFE, EACCES), "no_new_privs, nosuid, userns", EXPECT(P_SAFE, EACCES),
          "no_new_privs, nosuid, userns", EXPECT(P_OK) },
        /* On the host, a kernel with the CVE-2019-13272 fix already refuses: no proof there. */
        { "setuid-root binary under PTRACE_TRACEME", try_suid_traced, true,
          EXPECT(P_SAFE, EACCES), "no_new_privs, nosuid, userns", EXPECT(P_SAFE, EACCES),
          "no_new_privs, nosuid, userns", EXPECT(P_OK, P_SAFE) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        bool suid = false;

        if (argc > 1 && strcmp(argv[1], "--report-euid") == 0) {
                printf("%d\n", (int)geteuid());
                return 0;
        }
        for (int i = 1; i < argc; i++)
                suid |= strncmp(argv[i], "--suid=", 7) == 0;
        return probe_main(argc, argv, attempts, suid ? ARRAY_LEN(attempts) : 2);
}
