/* Imports into the store (aio-unpack only: rt_store_extract() uses libarchive).
 *
 * A file is first unpacked as a tarball (store.c's rules) into a temporary directory. If it was a
 * `docker save` archive (manifest.json) or an OCI image layout (oci-layout + index.json), that
 * tree is the archive: its layers are applied in order into <tmp>/rootfs and the tree removed.
 * Otherwise it was a rootfs. A directory must be an OCI layout or an unpacked docker save.
 *
 * Every file of the archive is opened below its root (RESOLVE_IN_ROOT: a symlink in the layout
 * cannot point at a host file), and checked against the digest that names it: the index's
 * manifest, the manifest's config and layers (OCI), the config and blobs/sha256 paths (docker),
 * and each layer's uncompressed content against the config's diff_ids. The store key of an image
 * is the digest of its config, which names every layer by content: the same image imported from
 * a docker save archive and from an OCI layout is stored once, and a second import unpacks
 * nothing. Nothing is visible in the store before the final rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/xalloc.h"

#include "image-internal.h"
#include "image.h"
#include "store-internal.h"
#include "store.h"

#define INDEX_DEPTH 4 /* an index may point to an index: this many, at most */

struct import_ctx {
        struct rt_image_import *im;
        const char *images;
        int images_fd;
        struct rt_store_tmp tmp;
        struct stat st; /* of the source */
        bool file;      /* the source is a file (not a directory) */
        enum rt_image_format format;
        char *ref; /* the archive's name for the image */
};

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s && s[1] ? s + 1 : path;
}

/* ---- reading the archive ------------------------------------------------------------------- */

/* A small JSON file of the archive, its digest checked when expect is not "". ret_hex: its
 * sha256. */
static int read_json(int layout_fd, const char *path, const char *expect, char **ret_buf,
                     size_t *ret_len, char ret_hex[AIO_SHA256_HEX], struct aio_err *err)
{
        cleanup_close int fd = aio_open_in_root(layout_fd, path, O_RDONLY | O_NOCTTY, 0, err);
        cleanup_free char *buf = NULL;
        uint8_t digest[AIO_SHA256_LEN];
        struct aio_sha256 sha;
        struct stat st;

        if (fd < 0)
                return -err->code;
        if (fstat(fd, &st) < 0)
                return aio_error(err, errno, "stat %s", path);
        if (!S_ISREG(st.st_mode) || st.st_size > (off_t)RT_IMAGE_JSON_MAX)
                return aio_error_msg(err, EINVAL, "%s: not a regular file of at most %u bytes",
                                     path, RT_IMAGE_JSON_MAX);
        buf = aio_xmalloc((size_t)st.st_size + 1);
        if (aio_read_full(fd, buf, (size_t)st.st_size, err) < 0)
                return aio_error_prefix(err, "read %s", path);
        buf[st.st_size] = '\0';
        aio_sha256_init(&sha);
        aio_sha256_update(&sha, buf, (size_t)st.st_size);
        aio_sha256_final(&sha, digest);
        aio_sha256_hex(digest, ret_hex);
        if (expect[0] && strcmp(expect + 7, ret_hex) != 0)
                return aio_error_msg(err, EINVAL, "%s does not match its digest %s", path, expect);
        *ret_len = (size_t)st.st_size;
        *ret_buf = take_ptr(&buf);
        return 0;
}

static bool is_file(int dir_fd, const char *name)
{
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static enum rt_image_format detect(int dir_fd)
{
        if (is_file(dir_fd, "oci-layout") && is_file(dir_fd, "index.json"))
                return RT_IMAGE_OCI;
        return is_file(dir_fd, "manifest.json") ? RT_IMAGE_DOCKER : RT_IMAGE_ROOTFS;
}

static int plan_docker(int layout_fd, const char *want, struct rt_image_plan *p,
                       struct aio_err *err)
{
        cleanup_free char *json = NULL;
        char hex[AIO_SHA256_HEX];
        size_t len;

        if (read_json(layout_fd, "manifest.json", "", &json, &len, hex, err) < 0)
                return -err->code;
        return rt_image_plan_docker(json, len, want, p, err);
}

/* index.json, then nested indexes, down to an image manifest. */
static int plan_oci(int layout_fd, const char *want, struct rt_image_plan *p, struct aio_err *err)
{
        cleanup_free char *json = NULL;
        char digest[RT_DIGEST_MAX] = "", hex[AIO_SHA256_HEX];
        size_t len = 0;
        int kind;

        if (read_json(layout_fd, "index.json", "", &json, &len, hex, err) < 0)
                return -err->code;
        for (int depth = 0; depth < INDEX_DEPTH; depth++) {
                cleanup_free char *path = NULL;

                kind = rt_image_oci_pick(json, len, want, rt_image_arch(), digest, &p->ref, err);
                if (kind < 0)
                        return kind;
                free(take_ptr(&json));
                path = rt_image_digest_path(digest);
                if (read_json(layout_fd, path, digest, &json, &len, hex, err) < 0)
                        return -err->code;
                if (kind == 0)
                        return rt_image_plan_oci(json, len, p, err);
        }
        return aio_error_msg(err, ELOOP, "index: more than %d nested indexes", INDEX_DEPTH);
}

/* A JSON file of the archive, as read. */
struct blob {
        char *data;
        size_t len;
};

/* The plan, checked against the config; x->im->hex: the config's digest, the image's key. */
static int plan_read(struct import_ctx *x, int layout_fd, enum rt_image_format f,
                     struct rt_image_plan *p, struct blob *config, struct aio_err *err)
{
        const char *want = x->im->name;
        int r = f == RT_IMAGE_OCI ? plan_oci(layout_fd, want, p, err)
                                  : plan_docker(layout_fd, want, p, err);

        if (r < 0)
                return r;
        if (read_json(layout_fd, p->config_path, p->config_digest, &config->data, &config->len,
                      x->im->hex, err) < 0)
                return -err->code;
        return rt_image_plan_config(config->data, config->len, p, err);
}

/* ---- applying the layers ------------------------------------------------------------------- */

static int layer_check(const struct rt_image_layer *l, const struct rt_store_job *job,
                       struct aio_err *err)
{
        if (l->digest[0] && strcmp(l->digest + 7, job->file_hex) != 0)
                return aio_error_msg(err, EINVAL, "%s does not match its digest %s", l->path,
                                     l->digest);
        if (strcmp(l->diff_id + 7, job->tar_hex) != 0)
                return aio_error_msg(err, EINVAL,
                                     "the content of %s does not match the config's diff_id %s",
                                     l->path, l->diff_id);
        return 0;
}

static int apply_layer(struct import_ctx *x, int layout_fd, const struct rt_image_plan *p, size_t i,
                       struct rt_store_job *job, struct aio_err *err)
{
        cleanup_free char *label =
                aio_xasprintf("%s layer %zu/%zu", base_name(x->im->src), i + 1, p->n_layers);
        cleanup_close int fd = -1;
        struct stat st;

        fd = aio_open_in_root(layout_fd, p->layers[i].path, O_RDONLY | O_NOCTTY, 0, err);
        if (fd < 0)
                return aio_error_prefix(err, "layer %zu", i + 1);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return aio_error_msg(err, EINVAL, "layer %zu: %s is not a regular file", i + 1,
                                     p->layers[i].path);
        job->label = label;
        job->src_fd = fd;
        job->first = i == 0;
        if (rt_store_extract(job, err) < 0 || layer_check(&p->layers[i], job, err) < 0)
                return aio_error_prefix(err, "layer %zu (%s)", i + 1, p->layers[i].path);
        return 0;
}

/* key=value lines: no control characters in a value. */
static void meta_add(char **extra, const char *key, const char *value)
{
        cleanup_free char *v = aio_xstrdup(value);
        char *old = *extra;

        for (char *c = v; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        *c = '?';
        *extra = aio_xasprintf("%s%s=%s\n", old ? old : "", key, v);
        free(old);
}

static int finish_entry(struct import_ctx *x, const struct rt_store_meta *m, const char *hex,
                        struct aio_err *err)
{
        if (rt_store_meta_write(x->tmp.fd, hex, m, err) < 0)
                return -err->code;
        if (fchmod(x->tmp.fd, 0755) < 0)
                return aio_error(err, errno, "chmod %s", x->tmp.path);
        return rt_store_commit(x->images_fd, x->tmp.name, hex, err);
}

static int write_image(struct import_ctx *x, const struct rt_image_plan *p,
                       const struct blob *config, const struct rt_store_job *job,
                       struct aio_err *err)
{
        cleanup_free char *extra = NULL;
        struct rt_store_meta m = {.tarball = x->im->src,
                                  .size = x->file ? (long long)x->st.st_size : 0,
                                  .entries = job->entries,
                                  .bytes = job->bytes};

        if (aio_write_file(x->tmp.fd, "config.json", config->data, config->len, 0644, err) < 0)
                return -err->code;
        meta_add(&extra, "format", rt_image_format_name(p->format));
        if (p->ref)
                meta_add(&extra, "ref", p->ref);
        if (p->created)
                meta_add(&extra, "created", p->created);
        for (size_t i = 0; i < p->n_layers; i++)
                meta_add(&extra, "layer", p->layers[i].diff_id);
        m.extra = extra;
        return finish_entry(x, &m, x->im->hex, err);
}

static int import_layout(struct import_ctx *x, int layout_fd, enum rt_image_format f,
                         struct aio_err *err)
{
        cleanup_free char *root = aio_xasprintf("%s/rootfs", x->tmp.path);
        struct blob config = {0};
        struct rt_image_plan p = {0};
        struct rt_store_job job = {
                .confine = x->tmp.path, .root = root, .lim = x->im->lim, .layer = true};
        int r;

        r = plan_read(x, layout_fd, f, &p, &config, err);
        x->format = f;
        x->ref = p.ref ? aio_xstrdup(p.ref) : NULL;
        if (r >= 0 && rt_store_has_rootfs(x->images_fd, x->im->hex)) {
                x->im->existed = true;
                goto out;
        }
        if (r >= 0 && mkdirat(x->tmp.fd, "rootfs", 0755) < 0)
                r = aio_error(err, errno, "mkdir %s", root);
        for (size_t i = 0; r >= 0 && i < p.n_layers; i++)
                r = apply_layer(x, layout_fd, &p, i, &job, err);
        if (r >= 0 && aio_rm_rf(x->tmp.fd, "src", err) < 0)
                r = -err->code;
        if (r >= 0)
                r = write_image(x, &p, &config, &job, err);
out:
        free(config.data);
        rt_image_plan_free(&p);
        return r;
}

/* ---- sources ------------------------------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int import_rootfs(struct import_ctx *x, const struct rt_store_job *job, struct aio_err *err)
{
        cleanup_free char *extra = NULL;
        cleanup_free char *layer = aio_xasprintf("sha256:%s", job->file_hex);
        struct rt_store_meta m = {.tarball = x->im->src,
                                  .size = (long long)x->st.st_size,
                                  .entries = job->entries,
                                  .bytes = job->bytes};

        memcpy(x->im->hex, job->file_hex, AIO_SHA256_HEX);
        meta_add(&extra, "format", "rootfs");
        meta_add(&extra, "layer", layer);
        m.extra = extra;
        return finish_entry(x, &m, x->im->hex, err);
}

/* The file is unpacked as a tarball: a rootfs, or an image archive to apply. */
static int import_tar(struct import_ctx *x, int fd, struct aio_err *err)
{
        cleanup_free char *root = aio_xasprintf("%s/rootfs", x->tmp.path);
        struct rt_store_job job = {.label = x->im->src,
                                   .src_fd = fd,
                                   .confine = x->tmp.path,
                                   .root = root,
                                   .lim = x->im->lim};
        cleanup_close int src_fd = -1;
        enum rt_image_format f;

        if (mkdirat(x->tmp.fd, "rootfs", 0755) < 0)
                return aio_error(err, errno, "mkdir %s", root);
        if (rt_store_extract(&job, err) < 0)
                return -err->code;
        src_fd = openat(x->tmp.fd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src_fd < 0)
                return aio_error(err, errno, "open %s", root);
        f = detect(src_fd);
        if (f == RT_IMAGE_ROOTFS)
                return import_rootfs(x, &job, err);
        log_debug("%s: a %s image archive", x->im->src, rt_image_format_name(f));
        if (renameat(x->tmp.fd, "rootfs", x->tmp.fd, "src") < 0)
                return aio_error(err, errno, "rename %s", root);
        return import_layout(x, src_fd, f, err);
}

static int import_file(struct import_ctx *x, int fd, struct aio_err *err)
{
        struct stat after;
        int r;

        /* The fast path of rt_store_lookup(): a file imported before is not even read. */
        if (rt_store_cache_get(x->images_fd, &x->st, x->im->hex) == 0) {
                x->im->existed = true;
                return 0;
        }
        r = rt_store_tmp_new(x->images_fd, x->images, &x->tmp, err);
        if (r >= 0)
                r = import_tar(x, fd, err);
        if (r < 0)
                return r;
        /* Cache only what we hashed: the file did not change while we read it. */
        if (S_ISREG(x->st.st_mode) && fstat(fd, &after) == 0 && same_file(&x->st, &after))
                rt_store_cache_put(x->images_fd, &x->st, x->im->hex);
        return 0;
}

static int import_dir(struct import_ctx *x, int dir_fd, struct aio_err *err)
{
        enum rt_image_format f = detect(dir_fd);

        if (f == RT_IMAGE_ROOTFS)
                return aio_error_msg(err, EINVAL,
                                     "%s: a directory must be an OCI image layout (oci-layout, "
                                     "index.json) or an unpacked docker save (manifest.json)",
                                     x->im->src);
        if (rt_store_tmp_new(x->images_fd, x->images, &x->tmp, err) < 0)
                return -err->code;
        return import_layout(x, dir_fd, f, err);
}

/* ---- names --------------------------------------------------------------------------------- */

/* "ref=" of an entry imported before (a file found in the by-file cache). */
static char *meta_ref(int images_fd, const char *hex)
{
        cleanup_free char *path = aio_xasprintf("%s/meta", hex);
        cleanup_free char *buf = aio_xmalloc(RT_IMAGE_JSON_MAX);
        struct aio_err ignored;
        char *save = NULL;

        if (aio_read_file(images_fd, path, buf, RT_IMAGE_JSON_MAX, &ignored) < 0)
                return NULL;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strncmp(l, "ref=", 4) == 0)
                        return aio_xstrdup(l + 4);
        return NULL;
}

/* A rootfs tarball's default name: its file name without the tar suffixes. */
static char *file_name(const char *src)
{
        static const char *const suffixes[] = {".gz",  ".tgz",  ".xz",  ".txz",
                                               ".zst", ".tzst", ".bz2", ".tar"};
        char *s = aio_xstrdup(base_name(src));

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t n = strlen(s), m = strlen(suffixes[i]);

                if (n > m && strcmp(s + n - m, suffixes[i]) == 0)
                        s[n - m] = '\0';
        }
        return s;
}

static int import_name(struct import_ctx *x, struct aio_err *err)
{
        cleanup_free char *name = NULL;

        if (x->im->name)
                name = aio_xstrdup(x->im->name);
        else if (x->ref || (x->im->existed && (x->ref = meta_ref(x->images_fd, x->im->hex))))
                name = aio_xstrdup(x->ref);
        else
                name = file_name(x->im->src);
        if (rt_image_name_check(name, err) < 0) {
                log_warn("%s: left without a name: %s", x->im->src, err->msg);
                aio_err_clear(err);
                return 0;
        }
        if (rt_image_name_set(x->images_fd, name, x->im->hex, err) < 0)
                return -err->code;
        x->im->ret_name = take_ptr(&name);
        return 0;
}

static int import_open(struct import_ctx *x, struct aio_err *err)
{
        const char *src = x->im->src;
        cleanup_close int fd = open(src, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return aio_error(err, errno, "open %s", src);
        if (fstat(fd, &x->st) < 0)
                return aio_error(err, errno, "stat %s", src);
        x->file = !S_ISDIR(x->st.st_mode);
        if (!x->file && !x->im->set_name)
                return aio_error_msg(err, EISDIR, "%s is a directory, not a tarball", src);
        r = x->file ? import_file(x, fd, err) : import_dir(x, fd, err);
        if (r >= 0 && x->im->set_name)
                r = import_name(x, err);
        return r;
}

int rt_image_import(struct rt_image_import *im, struct aio_err *err)
{
        cleanup_free char *images = aio_xasprintf("%s/images", im->state_dir);
        cleanup_close int images_fd = -1;
        struct import_ctx x = {.im = im, .images = images, .tmp = {.fd = -1}};
        int r;

        im->ret_name = NULL;
        im->existed = false;
        images_fd = rt_store_images_open(images, true, err);
        if (images_fd < 0)
                return aio_error_prefix(err, "store");
        x.images_fd = images_fd;
        r = import_open(&x, err);
        rt_store_tmp_drop(images_fd, &x.tmp);
        free(x.ref);
        if (r < 0)
                return aio_error_prefix(err, "%s", im->src);
        return 0;
}
