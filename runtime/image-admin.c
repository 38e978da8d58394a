/* `aio-run image ls|rm|prune|inspect`: reading the store's meta, removing entries that no running
 * sandbox holds (image.c explains the locks). No libarchive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "image-internal.h"
#include "image.h"
#include "store-internal.h"
#include "store.h"

#define META_MAX (256u << 10)

/* What meta says about an entry (strings point into buf). */
struct image_meta {
        char *buf;
        const char *source, *format, *created, *ref;
        long long imported;
        unsigned long long bytes, entries;
        const char **layers;
        size_t n_layers;
};

static void meta_line(struct image_meta *m, char *line)
{
        char *eq = strchr(line, '=');
        const char *v;

        if (!eq)
                return;
        *eq = '\0';
        v = eq + 1;
        if (strcmp(line, "source") == 0)
                m->source = v;
        else if (strcmp(line, "format") == 0)
                m->format = v;
        else if (strcmp(line, "created") == 0)
                m->created = v;
        else if (strcmp(line, "ref") == 0)
                m->ref = v;
        else if (strcmp(line, "imported") == 0)
                m->imported = strtoll(v, NULL, 10);
        else if (strcmp(line, "bytes") == 0)
                m->bytes = strtoull(v, NULL, 10);
        else if (strcmp(line, "entries") == 0)
                m->entries = strtoull(v, NULL, 10);
        else if (strcmp(line, "layer") == 0) {
                m->layers = aio_xrealloc(m->layers, (m->n_layers + 1) * sizeof(char *));
                m->layers[m->n_layers++] = v;
        }
}

static void meta_read(int images_fd, const char *hex, struct image_meta *m)
{
        cleanup_free char *path = aio_xasprintf("%s/meta", hex);
        struct aio_err ignored;
        char *save = NULL;

        *m = (struct image_meta){.buf = aio_xmalloc(META_MAX), .format = "rootfs"};
        if (aio_read_file(images_fd, path, m->buf, META_MAX, &ignored) < 0)
                m->buf[0] = '\0';
        for (char *l = strtok_r(m->buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                meta_line(m, l);
}

static void meta_free(struct image_meta *m)
{
        free(m->buf);
        free(m->layers);
}

static void human_size(unsigned long long b, char *buf, size_t size)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = (double)b;
        size_t u = 0;

        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        (void)snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* Every entry: its digests, in directory order. */
static size_t entries_list(int images_fd, char (**ret)[AIO_SHA256_HEX])
{
        /* Not a dup of images_fd: that would share (and continue from) its directory offset. */
        int dup = openat(images_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_dir DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        char(*v)[AIO_SHA256_HEX] = NULL;
        struct dirent *de;
        size_t n = 0;

        if (!d && dup >= 0)
                (void)close(dup);
        while (d && (de = readdir(d))) {
                if (!rt_store_is_digest(de->d_name) || !rt_store_has_rootfs(images_fd, de->d_name))
                        continue;
                v = aio_xrealloc(v, (n + 1) * sizeof(*v));
                memcpy(v[n++], de->d_name, AIO_SHA256_HEX);
        }
        *ret = v;
        return n;
}

static void list_row(int images_fd, const char *name, const char *hex)
{
        struct image_meta m;
        char size[32];

        meta_read(images_fd, hex, &m);
        human_size(m.bytes, size, sizeof(size));
        (void)printf("%-32s %.12s  %10s  %6zu  %-20.20s  %s\n", name, hex, size,
                     m.n_layers ? m.n_layers : 1, m.created ? m.created : "-",
                     rt_image_in_use(images_fd, hex) ? "yes" : "no");
        meta_free(&m);
}

static bool has_name(const struct rt_image_name *names, size_t n, const char *hex)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i].hex, hex) == 0)
                        return true;
        return false;
}

int rt_image_list(const char *state_dir, bool quiet, struct aio_err *err)
{
        cleanup_close int images_fd = rt_image_open_store(state_dir, err);
        char(*hexes)[AIO_SHA256_HEX] = NULL;
        struct rt_image_name *names = NULL;
        size_t n_names, n_hex;

        if (images_fd == -ENOENT)
                return quiet ? 0 : printf("NAME  DIGEST  SIZE  LAYERS  CREATED  IN USE\n"), 0;
        if (images_fd < 0)
                return images_fd;
        n_names = rt_image_names_list(images_fd, &names);
        n_hex = entries_list(images_fd, &hexes);
        if (!quiet)
                (void)printf("%-32s %-12s  %10s  %6s  %-20s  %s\n", "NAME", "DIGEST", "SIZE",
                             "LAYERS", "CREATED", "IN USE");
        for (size_t i = 0; i < n_names; i++) {
                if (!names[i].hex[0] || !rt_store_has_rootfs(images_fd, names[i].hex))
                        continue;
                if (quiet)
                        (void)printf("%s\n", names[i].name);
                else
                        list_row(images_fd, names[i].name, names[i].hex);
        }
        for (size_t i = 0; i < n_hex; i++) {
                if (has_name(names, n_names, hexes[i]))
                        continue;
                if (quiet)
                        (void)printf("sha256:%s\n", hexes[i]);
                else
                        list_row(images_fd, "<none>", hexes[i]);
        }
        rt_image_names_free(names, n_names);
        free(hexes);
        return 0;
}

/* ---- inspect ------------------------------------------------------------------------------- */

static json_t *inspect_json(int images_fd, const char *state_dir, const char *hex)
{
        struct rt_image_name *names = NULL;
        size_t n_names = rt_image_names_list(images_fd, &names);
        json_t *o = json_object(), *jn = json_array(), *jl = json_array();
        struct image_meta m;

        meta_read(images_fd, hex, &m);
        for (size_t i = 0; i < n_names; i++)
                if (strcmp(names[i].hex, hex) == 0)
                        json_array_append_new(jn, json_string(names[i].name));
        for (size_t i = 0; i < m.n_layers; i++)
                json_array_append_new(jl, json_string(m.layers[i]));
        json_object_set(o, "name", json_array_size(jn) ? json_array_get(jn, 0) : json_null());
        json_object_set_new(o, "names", jn);
        json_object_set_new(o, "digest", json_sprintf("sha256:%s", hex));
        json_object_set_new(o, "format", json_string(m.format));
        json_object_set_new(o, "size", json_integer((json_int_t)m.bytes));
        json_object_set_new(o, "entries", json_integer((json_int_t)m.entries));
        json_object_set_new(o, "layers", jl);
        json_object_set_new(o, "created", m.created ? json_string(m.created) : json_null());
        json_object_set_new(o, "imported", json_integer(m.imported));
        json_object_set_new(o, "source", m.source ? json_string(m.source) : json_null());
        json_object_set_new(o, "path", json_sprintf("%s/images/%s/rootfs", state_dir, hex));
        json_object_set_new(o, "in_use", json_boolean(rt_image_in_use(images_fd, hex)));
        meta_free(&m);
        rt_image_names_free(names, n_names);
        return o;
}

int rt_image_inspect(const char *state_dir, const char *ref, struct aio_err *err)
{
        cleanup_close int images_fd = -1;
        cleanup_free char *s = NULL;
        char hex[AIO_SHA256_HEX];
        json_t *o;

        if (rt_image_find(state_dir, ref, hex, err) < 0)
                return -err->code;
        images_fd = rt_image_open_store(state_dir, err);
        if (images_fd < 0)
                return images_fd == -ENOENT ? aio_error(err, ENOENT, "%s", ref) : images_fd;
        o = inspect_json(images_fd, state_dir, hex);
        s = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s || printf("%s\n", s) < 0)
                return aio_error(err, EIO, "write the JSON");
        return 0;
}

/* ---- removal ------------------------------------------------------------------------------- */

/* by-file/ links and names that point to hex (or, with hex NULL, to nothing valid). */
static void drop_links(int images_fd, const char *hex)
{
        int fd = openat(images_fd, "by-file", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_dir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct rt_image_name *names = NULL;
        size_t n = rt_image_names_list(images_fd, &names);
        struct dirent *de;

        if (!d && fd >= 0)
                (void)close(fd);
        while (d && (de = readdir(d))) {
                char buf[AIO_SHA256_HEX + 1];
                ssize_t k = readlinkat(fd, de->d_name, buf, sizeof(buf) - 1);

                if (de->d_name[0] == '.' || k < 0)
                        continue;
                buf[k] = '\0';
                if (hex ? strcmp(buf, hex) == 0 : !rt_store_has_rootfs(images_fd, buf))
                        (void)unlinkat(fd, de->d_name, 0);
        }
        for (size_t i = 0; i < n; i++)
                if (hex ? strcmp(names[i].hex, hex) == 0
                        : !names[i].hex[0] || !rt_store_has_rootfs(images_fd, names[i].hex))
                        rt_image_name_unset(images_fd, names[i].name);
        rt_image_names_free(names, n);
}

/* Removes images/<hex> unless a sandbox holds it (-EBUSY), and every link to it. */
static int entry_remove(int images_fd, const char *hex, struct aio_err *err)
{
        cleanup_close int fd =
                openat(images_fd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_free char *gone = aio_xasprintf(".tmp-rm-%d-%.12s", (int)getpid(), hex);

        if (fd < 0)
                return aio_error(err, errno, "image %.12s", hex);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK
                               ? aio_error_msg(err, EBUSY,
                                               "image %.12s is used by a running sandbox", hex)
                               : aio_error(err, errno, "lock image %.12s", hex);
        /* Out of sight first: a sandbox that locks it now sees it gone and looks again. */
        if (renameat(images_fd, hex, images_fd, gone) < 0)
                return aio_error(err, errno, "rename image %.12s", hex);
        drop_links(images_fd, hex);
        if (aio_rm_rf(images_fd, gone, err) < 0)
                return aio_error_prefix(err, "remove image %.12s", hex);
        return 0;
}

static size_t names_of(const struct rt_image_name *v, size_t n, const char *hex)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                k += strcmp(v[i].hex, hex) == 0;
        return k;
}

int rt_image_remove(const char *state_dir, const char *ref, struct aio_err *err)
{
        cleanup_close int images_fd = -1;
        cleanup_free char *name = rt_image_name_short(ref);
        struct rt_image_name *names = NULL;
        char hex[AIO_SHA256_HEX], named[AIO_SHA256_HEX];
        size_t n, others;

        if (rt_image_find(state_dir, ref, hex, err) < 0)
                return -err->code;
        images_fd = rt_image_open_store(state_dir, err);
        if (images_fd < 0)
                return images_fd;
        if (rt_image_name_get(images_fd, name, named) < 0 || strcmp(named, hex) != 0) {
                free(name);
                name = aio_xasprintf("%s:latest", ref);
                if (rt_image_name_get(images_fd, name, named) < 0 || strcmp(named, hex) != 0)
                        return entry_remove(images_fd, hex, err); /* by digest */
        }
        n = rt_image_names_list(images_fd, &names);
        others = names_of(names, n, hex) - 1;
        rt_image_names_free(names, n);
        if (others > 0) {
                rt_image_name_unset(images_fd, name); /* the image keeps its other names */
                return 0;
        }
        return entry_remove(images_fd, hex, err);
}

int rt_image_prune(const char *state_dir, bool all, struct aio_err *err)
{
        cleanup_close int images_fd = rt_image_open_store(state_dir, err);
        char(*hexes)[AIO_SHA256_HEX] = NULL;
        struct rt_image_name *names = NULL;
        size_t n_names, n_hex;
        int removed = 0, r = 0;

        if (images_fd == -ENOENT)
                return 0;
        if (images_fd < 0)
                return images_fd;
        drop_links(images_fd, NULL);
        rt_store_sweep(images_fd);
        n_names = rt_image_names_list(images_fd, &names);
        n_hex = entries_list(images_fd, &hexes);
        for (size_t i = 0; i < n_hex && r >= 0; i++) {
                if (!all && has_name(names, n_names, hexes[i]))
                        continue;
                r = entry_remove(images_fd, hexes[i], err);
                if (r == -EBUSY) {
                        log_info("kept sha256:%.12s: used by a running sandbox", hexes[i]);
                        r = 0;
                } else if (r == 0) {
                        (void)printf("removed sha256:%s\n", hexes[i]);
                        removed++;
                }
        }
        rt_image_names_free(names, n_names);
        free(hexes);
        return r < 0 ? r : removed;
}
