#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/exe.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#ifndef AIO_POLICY_DIR
#define AIO_POLICY_DIR "/usr/local/share/aio/policy"
#endif
#define BPF_MAX_INSNS 4096 /* BPF_MAXINSNS */

static bool is_name(const char *s)
{
        if (!*s || strlen(s) > 64)
                return false;
        for (const char *c = s; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                      *c == '_'))
                        return false;
        return true;
}

static char *exe_dir(void)
{
        struct aio_err ignored;
        char *dir = NULL;

        return aio_exe_dir(&dir, &ignored) < 0 ? NULL : dir;
}

static char *find_profile(const char *name)
{
        cleanup_free char *dir = exe_dir();
        const char *rel[] = {"../policy", "../share/aio/policy"};

        for (size_t i = 0; dir && i < ELEMENTSOF(rel); i++) {
                char *p = aio_xasprintf("%s/%s/%s.bpf", dir, rel[i], name);

                if (access(p, R_OK) == 0)
                        return p;
                free(p);
        }
        char *p = aio_xasprintf("%s/%s.bpf", AIO_POLICY_DIR, name);

        if (access(p, R_OK) == 0)
                return p;
        free(p);
        return NULL;
}

static int hash_file(const char *path, char hex[AIO_SHA256_HEX], struct aio_err *err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct aio_sha256 s;
        uint8_t digest[AIO_SHA256_LEN], buf[1 << 14];
        ssize_t n;

        if (fd < 0)
                return aio_error(err, errno, "--seccomp %s", path);
        aio_sha256_init(&s);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                aio_sha256_update(&s, buf, (size_t)n);
        if (n < 0)
                return aio_error(err, errno, "read %s", path);
        aio_sha256_final(&s, digest);
        aio_sha256_hex(digest, hex);
        return 0;
}

/* Runs aio-policy compile JSON -o OUT; its own messages (with JSON paths) go to stderr. */
static int compile_json(const char *json, const char *out, struct aio_err *err)
{
        cleanup_free char *dir = exe_dir();
        cleanup_free char *tool = aio_xasprintf("%s/aio-policy", dir ? dir : "/usr/local/bin");
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return aio_error(err, errno, "fork aio-policy");
        if (pid == 0) {
                execl(tool, "aio-policy", "compile", json, "-o", out, (char *)NULL);
                execlp("aio-policy", "aio-policy", "compile", json, "-o", out, (char *)NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return aio_error(err, errno, "wait for aio-policy");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return aio_error_msg(
                        err, EINVAL, "--seccomp %s: aio-policy could not compile it%s", json,
                        WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (aio-policy not found)"
                                                                        : " (see above)");
        return 0;
}

static int resolve_json(const char *json, const char *state_dir, char **ret_path,
                        struct aio_err *err)
{
        cleanup_free char *dir = aio_xasprintf("%s/seccomp", state_dir);
        cleanup_free char *out = NULL, *tmp = NULL;
        char hex[AIO_SHA256_HEX];

        if (hash_file(json, hex, err) < 0)
                return -err->code;
        out = aio_xasprintf("%s/%s.bpf", dir, hex);
        if (access(out, R_OK) == 0) {
                *ret_path = take_ptr(&out);
                return 0;
        }
        if (aio_mkdir_p(dir, 0700, err) < 0)
                return aio_error_prefix(err, "seccomp cache");
        tmp = aio_xasprintf("%s/.%s.%d", dir, hex, (int)getpid());
        if (compile_json(json, tmp, err) < 0) {
                (void)unlink(tmp);
                return -err->code;
        }
        if (rename(tmp, out) < 0) {
                (void)unlink(tmp);
                return aio_error(err, errno, "rename %s", out);
        }
        *ret_path = take_ptr(&out);
        return 0;
}

int rt_seccomp_resolve(const char *spec, const char *state_dir, char **ret_path,
                       struct aio_err *err)
{
        size_t n = strlen(spec);

        if (strcmp(spec, "unconfined") == 0) {
                *ret_path = NULL;
                return 0;
        }
        if (n > 4 && strcmp(spec + n - 4, ".bpf") == 0) {
                if (access(spec, R_OK) < 0)
                        return aio_error(err, errno, "--seccomp %s", spec);
                *ret_path = aio_xstrdup(spec);
                return 0;
        }
        if (n > 5 && strcmp(spec + n - 5, ".json") == 0)
                return resolve_json(spec, state_dir, ret_path, err);
        if (!is_name(spec))
                return aio_error_msg(
                        err, EINVAL,
                        "--seccomp '%s': expected default, strict, browser, unconfined or a .bpf file",
                        spec);
        *ret_path = find_profile(spec);
        if (!*ret_path)
                return aio_error_msg(
                        err, ENOENT,
                        "--seccomp %s: compiled profile %s.bpf not found next to aio-run or in %s (run make, or pass --seccomp unconfined)",
                        spec, spec, AIO_POLICY_DIR);
        return 0;
}

int rt_seccomp_read(const char *path, struct rt_bpf *ret, struct aio_err *err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        struct sock_filter *insns;

        if (fd < 0 || fstat(fd, &st) < 0)
                return aio_error(err, errno, "seccomp profile %s", path);
        if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
            st.st_size > (off_t)(BPF_MAX_INSNS * sizeof(struct sock_filter)))
                return aio_error_msg(err, EINVAL,
                                     "seccomp profile %s: not a BPF program (%lld bytes)", path,
                                     (long long)st.st_size);
        insns = aio_xmalloc((size_t)st.st_size);
        if (aio_read_full(fd, insns, (size_t)st.st_size, err) < 0) {
                free(insns);
                return aio_error_prefix(err, "seccomp profile %s", path);
        }
        ret->insns = insns;
        ret->len = (size_t)st.st_size / sizeof(struct sock_filter);
        return 0;
}

int rt_seccomp_install(const struct rt_bpf *b, struct aio_err *err)
{
        struct sock_fprog prog = {.len = (unsigned short)b->len, .filter = b->insns};

        if (!b->insns)
                return 0;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return aio_error(err, errno, "load the seccomp filter");
        return 0;
}

void rt_bpf_free(struct rt_bpf *b)
{
        free(b->insns);
        b->insns = NULL;
        b->len = 0;
}
