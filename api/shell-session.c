/* /v1/shell sessions: one interactive bash per session on a pseudo-terminal of its own, a reader
 * thread per session that splits the terminal stream into output and completion markers, and
 * the session table with upstream's limits (10 sessions, LRU eviction of idle ones, 1 h idle
 * expiry).
 *
 * Life of a session: the table holds one reference, the reader thread another, every request
 * using it a third for its duration. Closing (kill, DELETE, eviction, shutdown) only takes it
 * out of the table and wakes the reader; the reader alone kills the processes and reaps bash,
 * so a pid is never signalled after it was reaped (and could have been reused). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "api/child.h"
#include "api/shell-internal.h"
#include "api/shell.h"
#include "api/spawn.h"

#define RC_FD       249 /* the shell's start-up file, read once */
#define CMD_FD      250 /* commands, NUL-terminated, read by __aio_read */
#define HEAD_MAX    (64u << 10)
#define RING_MAX    (1u << 20) /* per command: what is kept of long output */
#define HISTORY_MAX (128u << 10)
#define TERM_COLS   200
#define TERM_ROWS   50
#define VICTIMS_MAX API_SHELL_VICTIMS_MAX

extern char **environ;

int64_t api_shell_realtime_ms(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *api_shell_working_dir(const char *pwd, bool preserve_symlinks)
{
        char *real;

        if (preserve_symlinks || !pwd[0])
                return aio_xstrdup(pwd);
        real = realpath(pwd, NULL);
        return real ? real : aio_xstrdup(pwd);
}

/* ---- the table's configuration ------------------------------------------------------------- */

static long long env_number(const char *name, long long def)
{
        const char *s = getenv(name);
        char *end;
        long long v;

        if (!s || !*s)
                return def;
        errno = 0;
        v = strtoll(s, &end, 10);
        return errno || *end || v <= 0 ? def : v;
}

bool api_shell_is_dir(const char *p)
{
        struct stat st;

        return p && p[0] == '/' && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *home_dir(void)
{
        const char *h = getenv("HOME");
        struct passwd *pw;

        if (api_shell_is_dir(h))
                return aio_xstrdup(h);
        pw = getpwuid(getuid());
        if (pw && api_shell_is_dir(pw->pw_dir))
                return aio_xstrdup(pw->pw_dir);
        return aio_xstrdup("/");
}

/* aio-apid's environment minus what must not reach the agent's shell: credentials, socket
 * activation, and whatever would change how bash starts or reports. */
static bool env_kept(const char *kv)
{
        static const char *const drop[] = {
                "SANDBOX_API_KEY=",
                "JWT_PUBLIC_KEY=",
                "LISTEN_",
                "SANDBOX_SHUTDOWN_HOOKS",
                "PROMPT_COMMAND=",
                "BASH_ENV=",
                "ENV=",
                "BASH_FUNC_",
                "HOME=",
                "TERM=",
                "SHELL=",
                "PS1=",
                "PWD=",
                "OLDPWD=",
                "AIO_",
        };

        for (size_t i = 0; i < ELEMENTSOF(drop); i++)
                if (strncmp(kv, drop[i], strlen(drop[i])) == 0)
                        return false;
        return true;
}

static char **env_build(const char *home)
{
        size_t n = 0, k = 0;
        char **v;

        while (environ[n])
                n++;
        v = aio_xcalloc(n + 6, sizeof(*v));
        for (size_t i = 0; i < n; i++)
                if (env_kept(environ[i]))
                        v[k++] = aio_xstrdup(environ[i]);
        v[k++] = aio_xasprintf("HOME=%s", home);
        v[k++] = aio_xstrdup("TERM=xterm-256color");
        v[k++] = aio_xstrdup("SHELL=/bin/bash");
        if (!getenv("PATH"))
                v[k++] = aio_xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                     "/sbin:/bin");
        v[k] = NULL;
        return v;
}

struct api_shells *api_shells_new(const struct api_workcg *workcg)
{
        struct api_shells *sh = aio_xcalloc(1, sizeof(*sh));
        cleanup_free char *home = home_dir();
        const char *ws = getenv("WORKSPACE");

        (void)pthread_mutex_init(&sh->lock, NULL);
        (void)pthread_cond_init(&sh->gone, NULL);
        sh->max_sessions = (unsigned)env_number("MAX_SHELL_SESSIONS", API_SHELL_MAX_SESSIONS);
        if (sh->max_sessions > VICTIMS_MAX - 1)
                sh->max_sessions = VICTIMS_MAX - 1;
        sh->session_timeout_s = env_number("SHELL_SESSION_TIMEOUT", API_SHELL_TIMEOUT_S);
        sh->default_cwd = aio_xstrdup(api_shell_is_dir(ws) ? ws : home);
        sh->shell = aio_xstrdup(access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/usr/bin/bash");
        sh->envp = env_build(home);
        sh->workcg = workcg;
        sh->v = aio_xcalloc(sh->max_sessions, sizeof(struct api_shell_session *));
        return sh;
}

/* ---- killing -------------------------------------------------------------------------------- */

/* Field n (1-based, after "pid (comm)") of a /proc/pid/stat line, as a number, or -1. */
static long stat_field(const char *after_comm, int n)
{
        const char *p = after_comm;
        char *end;
        long v;

        for (int i = 0; i < n; i++) {
                p += strspn(p, " ");
                if (i < n - 1)
                        p += strcspn(p, " ");
        }
        errno = 0;
        v = strtol(p, &end, 10);
        return errno || end == p ? -1 : v;
}

/* The Linux session id of pid from /proc/pid/stat, or -1 (gone, zombie, unreadable). */
static pid_t stat_session(const char *pid)
{
        char path[64], buf[512];
        ssize_t n;
        const char *rp;
        cleanup_close int fd = -1;

        (void)snprintf(path, sizeof(path), "/proc/%s/stat", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        rp = strrchr(buf, ')'); /* comm may hold anything, ')' included */
        if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
                return -1;
        /* after ") ": state ppid pgrp session */
        return (pid_t)stat_field(rp + 1, 4);
}

static int kill_session_pass(pid_t sid)
{
        cleanup_dir DIR *d = opendir("/proc");
        struct dirent *e;
        int n = 0;

        if (!d)
                return 0;
        while ((e = readdir(d))) {
                char *end;
                long pid = strtol(e->d_name, &end, 10);

                if (*end || pid <= 1 || !isdigit((unsigned char)e->d_name[0]))
                        continue;
                if (stat_session(e->d_name) == sid) {
                        (void)kill((pid_t)pid, SIGKILL);
                        n++;
                }
        }
        return n;
}

int api_shell_kill_tree(pid_t sid)
{
        int n = 0;

        if (sid <= 1)
                return 0;
        (void)kill(-sid, SIGKILL);
        for (int pass = 0; pass < 20; pass++) {
                n = kill_session_pass(sid);
                if (!n)
                        break;
                (void)usleep(1000);
        }
        return n;
}

/* ---- the session object -------------------------------------------------------------------- */

static void session_free(struct api_shell_session *s)
{
        int fds[] = {s->master, s->cmd_fd, s->pidfd, s->wake_rd, s->wake_wr};

        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                closep(&fds[i]);
        api_shell_capture_free(&s->cap);
        api_shell_capture_free(&s->history);
        json_decref(s->console);
        api_shell_buf_free(&s->last_text);
        free(s->command);
        free(s->cwd);
        (void)pthread_mutex_destroy(&s->lock);
        (void)pthread_mutex_destroy(&s->wlock);
        (void)pthread_cond_destroy(&s->cond);
        free(s);
}

void api_shell_session_unref(struct api_shell_session *s)
{
        if (s && atomic_fetch_sub(&s->refs, 1) == 1)
                session_free(s);
}

struct api_shell_session *api_shell_session_new(struct api_shells *sh, const char *id)
{
        struct api_shell_session *s = aio_xcalloc(1, sizeof(*s));

        s->workcg = sh->workcg;
        pthread_condattr_t ca;

        (void)pthread_mutex_init(&s->lock, NULL);
        (void)pthread_mutex_init(&s->wlock, NULL);
        (void)pthread_condattr_init(&ca);
        (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        (void)pthread_cond_init(&s->cond, &ca);
        (void)pthread_condattr_destroy(&ca);
        atomic_init(&s->refs, 1);
        s->owner = sh;
        s->master = s->cmd_fd = s->pidfd = s->wake_rd = s->wake_wr = -1;
        (void)snprintf(s->id, sizeof(s->id), "%s", id);
        s->created_ms = s->last_used_ms = api_shell_realtime_ms();
        s->status = API_SHELL_COMPLETED;
        s->console = json_array();
        if (!s->console)
                abort();
        api_shell_capture_init(&s->cap, HEAD_MAX, RING_MAX);
        api_shell_capture_init(&s->history, 0, HISTORY_MAX);
        return s;
}

static void random_hex(char *out, size_t n_hex)
{
        unsigned char raw[32];

        if (getrandom(raw, n_hex / 2, 0) != (ssize_t)(n_hex / 2)) {
                /* no entropy source: still unique per session, if guessable */
                for (size_t i = 0; i < n_hex / 2; i++)
                        raw[i] = (unsigned char)(api_now_ms() >> (i % 8) ^ (int64_t)getpid() * 31);
        }
        for (size_t i = 0; i < n_hex / 2; i++)
                (void)snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

void api_shell_uuid4(char out[37])
{
        char hex[33];

        random_hex(hex, 32);
        hex[12] = '4';
        hex[16] = "89ab"[hex[16] % 4];
        (void)snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
                       hex + 20);
}

/* ---- starting bash --------------------------------------------------------------------------- */

/* The start-up file: the user's ~/.bashrc first, then the hooks. __aio_read reads a command sent
 * on CMD_FD, for the trigger line to eval at the top level (so declare, cd and export persist);
 * its start marker comes once the read is done (a ^C during bash's read builtin is lost, one
 * after it aborts the line). __aio_end reports the end once: called right after the eval and
 * again from PROMPT_COMMAND, which also runs when ^C aborted the line. The functions hold
 * "\033", never the ESC byte: printing them prints no marker. */
static char *rc_script(const char *nonce)
{
        return aio_xasprintf(
                "exec %d<&-\n"
                "[ -r ~/.bashrc ] && . ~/.bashrc\n"
                "case \"$HISTCONTROL\" in *ignorespace*|*ignoreboth*) ;; "
                "*) HISTCONTROL=\"${HISTCONTROL:+$HISTCONTROL:}ignorespace\" ;; esac\n"
                "[ \"$PS1\" = '\\s-\\v\\$ ' ] && PS1='\\u@\\h:\\w\\$ '\n"
                "__aio_read() { __aio_p=1; IFS= read -r -d '' -u %d __aio_c; "
                "history -s -- \"$__aio_c\" 2>/dev/null; "
                "printf '\\033]777;aio;%s;S\\007'; return \"$1\"; }\n"
                "__aio_end() { if [ -n \"${__aio_p-}\" ]; then __aio_p=; "
                "printf '\\033]777;aio;%s;E;%%d;%%s\\007' \"$1\" \"$PWD\"; fi; return \"$1\"; }\n"
                "PROMPT_COMMAND=\"__aio_end \\$?${PROMPT_COMMAND:+; $PROMPT_COMMAND}\"\n"
                "printf '\\033]777;aio;%s;R;0;%%s\\007' \"$PWD\"\n",
                RC_FD, CMD_FD, nonce, nonce, nonce);
}

static int pty_open(int *ret_master, int *ret_slave, struct aio_err *err)
{
        struct winsize ws = {.ws_row = TERM_ROWS, .ws_col = TERM_COLS};
        cleanup_close int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        char name[64];
        int slave;

        if (master < 0)
                return aio_error(err, errno, "open /dev/ptmx");
        if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)))
                return aio_error(err, errno, "pseudo-terminal");
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return aio_error(err, errno, "open %s", name);
        (void)ioctl(master, TIOCSWINSZ, &ws);
        (void)fcntl(master, F_SETFL, O_NONBLOCK | fcntl(master, F_GETFL));
        *ret_master = take_fd(&master);
        *ret_slave = slave;
        return 0;
}

/* rc in a pipe (it fits: a few hundred bytes against 64 KiB), read by bash as its --rcfile. */
static int rc_pipe(const char *nonce, struct aio_err *err)
{
        cleanup_free char *rc = rc_script(nonce);
        int p[2];
        ssize_t n;

        if (pipe2(p, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        n = write(p[1], rc, strlen(rc));
        closep(&p[1]);
        if (n != (ssize_t)strlen(rc)) {
                closep(&p[0]);
                return aio_error_msg(err, EIO, "writing the shell's start-up file");
        }
        return p[0];
}

static char *pwd_env(const char *cwd)
{
        return aio_xasprintf("PWD=%s", cwd);
}

static int session_fork(struct api_shells *sh, struct api_shell_session *s, const char *cwd,
                        int slave, int rc_rd, int cmd_rd, struct aio_err *err)
{
        char rcpath[40];
        const char *argv[] = {"bash", "--noprofile", "--rcfile", rcpath, "-i", NULL};
        const struct api_child_fd extra[] = {{rc_rd, RC_FD}, {cmd_rd, CMD_FD}};
        size_t n = 0;
        cleanup_free char **envp = NULL;
        cleanup_free char *pwd = pwd_env(cwd);
        struct api_child c = {
                .path = sh->shell,
                .argv = (char *const *)argv,
                .fds = {slave, slave, slave},
                .extra = extra,
                .n_extra = ELEMENTSOF(extra),
                .dir = cwd,
                .dir_fallback = "/",
                .session = true, /* the terminal becomes its controlling one */
                .workcg = sh->workcg,
        };
        int pid;

        (void)snprintf(rcpath, sizeof(rcpath), "/proc/self/fd/%d", RC_FD);
        while (sh->envp[n])
                n++;
        envp = aio_xcalloc(n + 2, sizeof(*envp));
        memcpy(envp, sh->envp, n * sizeof(*envp));
        envp[n] = pwd; /* bash keeps a logical $PWD it can verify */
        c.envp = envp;
        pid = api_child_start(&c, err);
        if (pid < 0)
                return aio_error_prefix(err, "start the shell");
        s->pid = pid;
        s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        return 0;
}

static int session_spawn(struct api_shells *sh, struct api_shell_session *s, const char *cwd,
                         struct aio_err *err)
{
        cleanup_close int slave = -1, rc_rd = -1, cmd_rd = -1;
        int p[2], r;

        random_hex(s->nonce, API_SHELL_NONCE_LEN);
        api_shell_parser_init(&s->parser, s->nonce);
        r = pty_open(&s->master, &slave, err);
        if (r < 0)
                return r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return aio_error(err, errno, "pipe");
        cmd_rd = p[0];
        s->cmd_fd = p[1];
        (void)fcntl(s->cmd_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(s->cmd_fd, F_SETPIPE_SZ, 1 << 20);
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return aio_error(err, errno, "pipe");
        s->wake_rd = p[0];
        s->wake_wr = p[1];
        rc_rd = rc_pipe(s->nonce, err);
        if (rc_rd < 0)
                return rc_rd;
        return session_fork(sh, s, cwd, slave, rc_rd, cmd_rd, err);
}

/* ---- the reader thread ---------------------------------------------------------------------- */

static void sub_push(struct api_shell_sub *sub, const char *p, size_t n)
{
        uint64_t one = 1;

        if (sub->q.len + n > sub->max) {
                size_t drop = sub->q.len + n - sub->max;

                drop = drop > sub->q.len ? sub->q.len : drop;
                memmove(sub->q.p, sub->q.p + drop, sub->q.len - drop);
                sub->q.len -= drop;
                sub->dropped = true;
                if (n > sub->max) {
                        p += n - sub->max;
                        n = sub->max;
                }
        }
        api_shell_buf_put(&sub->q, p, n);
        if (sub->wake_fd >= 0)
                (void)!write(sub->wake_fd, &one, sizeof(one));
}

static void subs_wake(struct api_shell_session *s)
{
        uint64_t one = 1;

        for (struct api_shell_sub *sub = s->subs; sub; sub = sub->next)
                if (sub->wake_fd >= 0)
                        (void)!write(sub->wake_fd, &one, sizeof(one));
}

static void on_data(void *cls, const char *p, size_t n)
{
        struct api_shell_session *s = cls;
        bool cmd = s->running && s->started;

        api_shell_capture_append(&s->history, p, n);
        if (s->running)
                s->last_output_ms = api_now_ms();
        if (cmd)
                api_shell_capture_append(&s->cap, p, n);
        for (struct api_shell_sub *sub = s->subs; sub; sub = sub->next)
                if (!sub->command_only || cmd)
                        sub_push(sub, p, n);
}

static void on_marker(void *cls, const struct api_shell_marker *m)
{
        struct api_shell_session *s = cls;

        if (m->kind == 'R' && !s->ready) {
                s->ready = true;
                free(s->cwd);
                s->cwd = api_shell_working_dir(m->pwd, s->preserve_symlinks);
                api_shell_capture_reset(&s->history); /* start-up noise */
        } else if (m->kind == 'S' && s->running && !s->started) {
                s->started = true;
                api_shell_capture_reset(&s->cap);
        } else if (m->kind == 'E' && s->running && s->started) {
                api_shell_command_finish(s, m->code, m->pwd);
        }
        subs_wake(s);
}

/* Reads what the terminal has; returns false once it is closed (bash and all holders gone). */
static bool reader_drain(struct api_shell_session *s, char *buf, size_t size)
{
        for (;;) {
                ssize_t n = read(s->master, buf, size);

                if (n > 0) {
                        (void)pthread_mutex_lock(&s->lock);
                        api_shell_parser_feed(&s->parser, buf, (size_t)n, on_data, on_marker, s);
                        (void)pthread_cond_broadcast(&s->cond);
                        (void)pthread_mutex_unlock(&s->lock);
                        if ((size_t)n < size)
                                return true;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                return n < 0 && errno == EAGAIN;
        }
}

/* Waits for the terminal, bash's exit, a wake-up or the next deadline; returns false to stop. */
static bool reader_step(struct api_shell_session *s, char *buf, size_t size)
{
        struct pollfd p[3] = {
                {.fd = s->master, .events = POLLIN},
                {.fd = s->pidfd, .events = POLLIN},
                {.fd = s->wake_rd, .events = POLLIN},
        };
        int timeout;
        bool closing;
        char junk[64];

        (void)pthread_mutex_lock(&s->lock);
        timeout = api_shell_deadline_check(s, api_now_ms());
        closing = s->closing;
        (void)pthread_mutex_unlock(&s->lock);
        if (closing)
                return false;
        if (poll(p, 3, timeout) < 0)
                return errno == EINTR;
        if (p[2].revents)
                while (read(s->wake_rd, junk, sizeof(junk)) > 0)
                        ;
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !reader_drain(s, buf, size))
                return false;
        if (p[1].revents) {
                (void)reader_drain(s, buf, size); /* what bash wrote last */
                return false;
        }
        return true;
}

static void reader_end(struct api_shell_session *s)
{
        struct api_shells *sh = s->owner;
        bool drop_table_ref = false;
        int status = 0;

        (void)api_shell_kill_tree(s->pid);
        while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
                ;
        (void)pthread_mutex_lock(&s->lock);
        s->dead = true;
        s->wait_status = status;
        if (s->running)
                api_shell_command_abort(s);
        subs_wake(s);
        (void)pthread_cond_broadcast(&s->cond);
        (void)pthread_mutex_unlock(&s->lock);

        (void)pthread_mutex_lock(&sh->lock);
        for (size_t i = 0; i < sh->n; i++)
                if (sh->v[i] == s) {
                        sh->v[i] = sh->v[--sh->n];
                        s->in_table = false;
                        drop_table_ref = true;
                        break;
                }
        sh->readers--;
        (void)pthread_cond_broadcast(&sh->gone);
        (void)pthread_mutex_unlock(&sh->lock);
        log_debug("shell session %s ended (status %d)", s->id, status);
        if (drop_table_ref)
                api_shell_session_unref(s);
}

static void *reader_main(void *arg)
{
        struct api_shell_session *s = arg;
        char *buf = aio_xmalloc(64 << 10);

        while (reader_step(s, buf, 64 << 10))
                ;
        free(buf);
        reader_end(s);
        api_shell_session_unref(s);
        return NULL;
}

static int reader_start(struct api_shells *sh, struct api_shell_session *s, struct aio_err *err)
{
        pthread_attr_t attr;
        pthread_t t;
        int r;

        atomic_fetch_add(&s->refs, 1);
        (void)pthread_mutex_lock(&sh->lock);
        sh->readers++;
        (void)pthread_mutex_unlock(&sh->lock);
        (void)pthread_attr_init(&attr);
        (void)pthread_attr_setstacksize(&attr, 256 << 10);
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&t, &attr, reader_main, s);
        (void)pthread_attr_destroy(&attr);
        if (r) {
                /* no reader: do its job here (kill, reap, leave the table) */
                reader_end(s);
                api_shell_session_unref(s);
                return aio_error(err, r, "shell reader thread");
        }
        return 0;
}

/* ---- terminal input and subscribers ---------------------------------------------------------- */

int api_shell_type(struct api_shell_session *s, const char *p, size_t n, struct aio_err *err)
{
        int64_t deadline = api_now_ms() + 5000;
        int r = 0;

        (void)pthread_mutex_lock(&s->wlock);
        while (n) {
                ssize_t w = write(s->master, p, n);
                struct pollfd pf = {.fd = s->master, .events = POLLOUT};

                if (w > 0) {
                        p += w;
                        n -= (size_t)w;
                        continue;
                }
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno != EAGAIN) {
                        r = aio_error(err, errno, "writing to the terminal of session %s", s->id);
                        break;
                }
                if (api_now_ms() >= deadline) {
                        r = aio_error_msg(err, EAGAIN,
                                          "the terminal of session %s takes no input "
                                          "(its program does not read it)",
                                          s->id);
                        break;
                }
                (void)poll(&pf, 1, 50);
        }
        (void)pthread_mutex_unlock(&s->wlock);
        return r;
}

void api_shell_sub_add(struct api_shell_session *s, struct api_shell_sub *sub)
{
        (void)pthread_mutex_lock(&s->lock);
        sub->next = s->subs;
        s->subs = sub;
        (void)pthread_mutex_unlock(&s->lock);
}

void api_shell_sub_del(struct api_shell_session *s, struct api_shell_sub *sub)
{
        (void)pthread_mutex_lock(&s->lock);
        for (struct api_shell_sub **pp = &s->subs; *pp; pp = &(*pp)->next)
                if (*pp == sub) {
                        *pp = sub->next;
                        break;
                }
        (void)pthread_mutex_unlock(&s->lock);
        api_shell_buf_free(&sub->q);
}

int api_shell_session_start(struct api_shells *sh, struct api_shell_session *s, const char *cwd,
                            struct aio_err *err)
{
        int r = session_spawn(sh, s, cwd, err);

        return r < 0 ? r : reader_start(sh, s, err);
}

void api_shell_session_wake(struct api_shell_session *s)
{
        char c = 1;

        (void)!write(s->wake_wr, &c, 1);
}
