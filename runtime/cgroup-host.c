/* The host's cgroup layout: which driver (v2, or v1 on hybrid hosts), where each v1 controller
 * is mounted, and the names checked before anything is created. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/xalloc.h"

#include "cgroup-internal.h"

static const char *const driver_names[_RT_CGROUP_DRIVER_MAX] = {
        [RT_CGROUP_V2] = "v2",
        [RT_CGROUP_V1] = "v1",
};

static const char *const ctl_names[_RT_CGROUP_CTL_MAX] = {
        [RT_CGROUP_MEMORY] = "memory",
        [RT_CGROUP_PIDS] = "pids",
        [RT_CGROUP_CPU] = "cpu",
        [RT_CGROUP_FREEZER] = "freezer",
};

const char *rt_cgroup_driver_to_string(enum rt_cgroup_driver d)
{
        return (unsigned)d < _RT_CGROUP_DRIVER_MAX ? driver_names[d] : NULL;
}

const char *rt_cgroup_ctl_to_string(enum rt_cgroup_ctl c)
{
        return (unsigned)c < _RT_CGROUP_CTL_MAX ? ctl_names[c] : NULL;
}

/* ---- names, detection, mountinfo ---- */

static bool name_char_ok(char c, bool first)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return !first && (c == '_' || c == '.' || c == '-');
}

int rt_cgroup_name_check(const char *name, struct aio_err *err)
{
        size_t len = name ? strnlen(name, RT_CGROUP_NAME_MAX + 1) : 0;

        if (len == 0 || len > RT_CGROUP_NAME_MAX)
                return aio_error_msg(err, EINVAL, "cgroup name must have 1 to %d characters",
                                     RT_CGROUP_NAME_MAX);
        for (size_t i = 0; i < len; i++)
                if (!name_char_ok(name[i], i == 0))
                        return aio_error_msg(err, EINVAL,
                                             "cgroup name '%.*s': only [A-Za-z0-9_.-] allowed, "
                                             "starting with a letter or digit",
                                             RT_CGROUP_NAME_MAX, name);
        if (strstr(name, ".."))
                return aio_error_msg(err, EINVAL, "cgroup name '%s' contains '..'", name);
        return 0;
}

/* Is word one of the space-separated words of list? */
bool rt_cgroup_word_in(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n) {
                bool start = p == list || p[-1] == ' ' || p[-1] == '+';
                bool end = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';

                if (start && end)
                        return true;
        }
        return false;
}

int rt_cgroup_detect_at(const char *root, enum rt_cgroup_driver *ret, struct aio_err *err)
{
        cleanup_close int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct aio_err ignored;
        char buf[512];
        ssize_t n;

        if (fd < 0)
                return aio_error(err, errno, "open %s", root);
        n = aio_read_file(fd, "cgroup.controllers", buf, sizeof(buf), &ignored);
        *ret = n > 0 && strspn(buf, " \n") < (size_t)n ? RT_CGROUP_V2 : RT_CGROUP_V1;
        return 0;
}

int rt_cgroup_detect(const char *root_override, enum rt_cgroup_driver *ret, struct aio_err *err)
{
        return rt_cgroup_detect_at(root_override ? root_override : RT_CGROUP_ROOT, ret, err);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
        char *w = s;

        for (const char *r = s; *r; w++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else {
                        *w = *r++;
                }
        }
        *w = '\0';
}

static void mount_opts_apply(char *opts, const char *mnt, char *ret[_RT_CGROUP_CTL_MAX])
{
        char *save = NULL;

        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
                for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++)
                        if (!ret[c] && strcmp(o, ctl_names[c]) == 0)
                                ret[c] = aio_xstrdup(mnt);
}

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE
 * SUPEROPTS" */
static void mountinfo_line(char *line, char *ret[_RT_CGROUP_CTL_MAX])
{
        char *sep = strstr(line, " - "), *save = NULL, *tok, *fstype, *src, *opts;

        if (!sep)
                return;
        *sep = '\0';
        tok = strtok_r(line, " ", &save);
        for (int i = 0; tok && i < 4; i++)
                tok = strtok_r(NULL, " ", &save);
        fstype = strtok_r(sep + 3, " ", &save);
        src = fstype ? strtok_r(NULL, " ", &save) : NULL;
        opts = src ? strtok_r(NULL, " \n", &save) : NULL;
        if (!tok || !fstype || !opts || strcmp(fstype, "cgroup") != 0)
                return;
        unescape_octal(tok);
        mount_opts_apply(opts, tok, ret);
}

int rt_cgroup_v1_mounts_parse(const char *mountinfo, char *ret[_RT_CGROUP_CTL_MAX],
                              struct aio_err *err)
{
        cleanup_fclose FILE *f = fopen(mountinfo, "re");
        cleanup_free char *line = NULL;
        size_t cap = 0;

        if (!f)
                return aio_error(err, errno, "open %s", mountinfo);
        while (getline(&line, &cap, f) > 0)
                mountinfo_line(line, ret);
        if (ferror(f))
                return aio_error(err, EIO, "read %s", mountinfo);
        return 0;
}

void rt_cgroup_host_done(struct rt_cgroup_host *h)
{
        free(h->v2_root);
        h->v2_root = NULL;
        for (int c = 0; c < _RT_CGROUP_CTL_MAX; c++) {
                free(h->v1_mount[c]);
                h->v1_mount[c] = NULL;
        }
}

int rt_cgroup_host_probe(const char *root, const char *mountinfo, struct rt_cgroup_host *ret,
                         struct aio_err *err)
{
        struct rt_cgroup_host h = {0};
        int r = rt_cgroup_detect_at(root, &h.driver, err);

        if (r < 0)
                return r;
        if (h.driver == RT_CGROUP_V2)
                h.v2_root = aio_xstrdup(root);
        else if (rt_cgroup_v1_mounts_parse(mountinfo, h.v1_mount, err) < 0) {
                rt_cgroup_host_done(&h);
                return -err->code;
        }
        *ret = h;
        return 0;
}

/* ---- the cgroup object ---- */
