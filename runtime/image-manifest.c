/* The JSON of image archives, parsed without touching any file: `docker save`'s manifest.json,
 * OCI indexes and manifests (image-spec v1.0/v1.1, and docker's v2 schema 2 media types, which
 * have the same shape), and image configs. Every digest is checked to be sha256 and every path
 * to stay inside the archive; image-import.c reads the blobs and verifies the digests. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#include "image-internal.h"
#include "image.h"
#include "store-internal.h"
#include "store.h"

#define MT_OCI_INDEX      "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST    "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFST "application/vnd.docker.distribution.manifest.v2+json"
#define REF_CONTAINERD    "io.containerd.image.name"
#define REF_OCI           "org.opencontainers.image.ref.name"

const char *rt_image_format_name(enum rt_image_format f)
{
        static const char *const names[_RT_IMAGE_FORMAT_MAX] = {
                [RT_IMAGE_ROOTFS] = "rootfs",
                [RT_IMAGE_DOCKER] = "docker",
                [RT_IMAGE_OCI] = "oci",
        };

        return f < _RT_IMAGE_FORMAT_MAX ? names[f] : "unknown";
}

void rt_image_plan_free(struct rt_image_plan *p)
{
        for (size_t i = 0; i < p->n_layers; i++)
                free(p->layers[i].path);
        free(p->layers);
        free(p->ref);
        free(p->config_path);
        free(p->created);
        *p = (struct rt_image_plan){0};
}

static bool is_hex64(const char *s)
{
        size_t i;

        for (i = 0; i < AIO_SHA256_HEX - 1; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[i] == '\0';
}

int rt_image_digest_check(const char *digest, const char *what, struct aio_err *err)
{
        if (!digest)
                return aio_error_msg(err, EINVAL, "%s: no digest", what);
        if (strncmp(digest, "sha256:", 7) != 0)
                return aio_error_msg(err, EINVAL, "%s: digest '%.80s' is not sha256:<hex>", what,
                                     digest);
        if (!is_hex64(digest + 7))
                return aio_error_msg(err, EINVAL, "%s: malformed digest '%.80s'", what, digest);
        return 0;
}

char *rt_image_digest_path(const char *digest)
{
        return aio_xasprintf("blobs/sha256/%s", digest + 7);
}

static json_t *parse(const char *json, size_t len, const char *what, struct aio_err *err)
{
        json_error_t jerr;
        json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

        if (!j)
                (void)aio_error_msg(err, EINVAL, "%s: invalid JSON at line %d: %s", what, jerr.line,
                                    jerr.text);
        return j;
}

/* A path inside the archive: relative, no "..". */
static int check_path(const char *path, const char *what, struct aio_err *err)
{
        if (!path)
                return aio_error_msg(err, EINVAL, "%s: not a string", what);
        if (rt_store_check_name(path, err) < 0 || rt_store_name_is_root(path))
                return aio_error_prefix(err, "%s '%.200s'", what, path);
        return 0;
}

/* Paths that name their content: blobs/sha256/<hex> (docker 25 and later), <hex>.json (the
 * config, before). Fills digest, or leaves it empty. */
static void digest_from_path(const char *path, char digest[RT_DIGEST_MAX])
{
        char hex[AIO_SHA256_HEX];

        digest[0] = '\0';
        if (strncmp(path, "blobs/sha256/", 13) == 0 && is_hex64(path + 13)) {
                (void)snprintf(digest, RT_DIGEST_MAX, "sha256:%s", path + 13);
                return;
        }
        if (strlen(path) == AIO_SHA256_HEX - 1 + 5 &&
            strcmp(path + AIO_SHA256_HEX - 1, ".json") == 0) {
                memcpy(hex, path, AIO_SHA256_HEX - 1);
                hex[AIO_SHA256_HEX - 1] = '\0';
                if (is_hex64(hex))
                        (void)snprintf(digest, RT_DIGEST_MAX, "sha256:%s", hex);
        }
}

static bool docker_has_tag(json_t *img, const char *want)
{
        json_t *tags = json_object_get(img, "RepoTags"), *t;
        size_t i;

        json_array_foreach(tags, i, t) {
                cleanup_free char *s =
                        json_is_string(t) ? rt_image_name_short(json_string_value(t)) : NULL;

                if (s && strcmp(s, want) == 0)
                        return true;
        }
        return false;
}

static json_t *docker_pick(json_t *arr, const char *want, struct aio_err *err)
{
        cleanup_free char *w = want ? rt_image_name_short(want) : NULL;
        json_t *img;
        size_t i;

        if (!json_is_array(arr) || json_array_size(arr) == 0)
                return aio_error_msg(err, EINVAL, "manifest.json: not a non-empty array"), NULL;
        if (json_array_size(arr) == 1)
                return json_array_get(arr, 0);
        json_array_foreach(arr, i, img) {
                if (w && docker_has_tag(img, w))
                        return img;
        }
        (void)aio_error_msg(err, EINVAL,
                            "manifest.json holds %zu images: pick one with --name REPO:TAG",
                            json_array_size(arr));
        return NULL;
}

static int plan_layers(struct rt_image_plan *p, size_t n, struct aio_err *err)
{
        if (n > RT_IMAGE_LAYERS_MAX)
                return aio_error_msg(err, E2BIG, "%zu layers (at most %u)", n, RT_IMAGE_LAYERS_MAX);
        p->layers = aio_xcalloc(n ? n : 1, sizeof(*p->layers));
        p->n_layers = n;
        return 0;
}

static int docker_layers(json_t *img, struct rt_image_plan *p, struct aio_err *err)
{
        json_t *layers = json_object_get(img, "Layers"), *l;
        char what[48];
        size_t i;

        if (!json_is_array(layers))
                return aio_error_msg(err, EINVAL, "manifest.json: no Layers array");
        if (plan_layers(p, json_array_size(layers), err) < 0)
                return -err->code;
        json_array_foreach(layers, i, l) {
                (void)snprintf(what, sizeof(what), "manifest.json: layer %zu", i + 1);
                if (check_path(json_string_value(l), what, err) < 0)
                        return -err->code;
                p->layers[i].path = aio_xstrdup(json_string_value(l));
                digest_from_path(p->layers[i].path, p->layers[i].digest);
        }
        return 0;
}

int rt_image_plan_docker(const char *json, size_t len, const char *want, struct rt_image_plan *p,
                         struct aio_err *err)
{
        json_auto_t *arr = parse(json, len, "manifest.json", err);
        json_t *img, *tags;
        const char *config;

        if (!arr)
                return -err->code;
        img = docker_pick(arr, want, err);
        if (!img)
                return -err->code;
        p->format = RT_IMAGE_DOCKER;
        config = json_string_value(json_object_get(img, "Config"));
        if (check_path(config, "manifest.json: Config", err) < 0)
                return -err->code;
        p->config_path = aio_xstrdup(config);
        digest_from_path(config, p->config_digest);
        tags = json_object_get(img, "RepoTags");
        if (want && docker_has_tag(img, want))
                p->ref = rt_image_name_short(want);
        else if (json_is_string(json_array_get(tags, 0)))
                p->ref = rt_image_name_short(json_string_value(json_array_get(tags, 0)));
        return docker_layers(img, p, err);
}

/* ---- OCI ----------------------------------------------------------------------------------- */

const char *rt_image_arch(void)
{
        static const char *const map[][2] = {
                {"x86_64", "amd64"},    {"aarch64", "arm64"},   {"i686", "386"},
                {"armv7l", "arm"},      {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
                {"riscv64", "riscv64"},
        };
        struct utsname u;

        if (uname(&u) == 0)
                for (size_t i = 0; i < ELEMENTSOF(map); i++)
                        if (strcmp(u.machine, map[i][0]) == 0)
                                return map[i][1];
        return "amd64";
}

static const char *desc_ref(json_t *d)
{
        json_t *ann = json_object_get(d, "annotations");
        const char *r = json_string_value(json_object_get(ann, REF_CONTAINERD));

        return r ? r : json_string_value(json_object_get(ann, REF_OCI));
}

/* 1: an index, 0: an image manifest, -1: something else (attestations, signatures...). */
static int desc_kind(json_t *d)
{
        const char *mt = json_string_value(json_object_get(d, "mediaType"));

        if (!mt)
                return -1;
        if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0)
                return 1;
        return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFST) == 0 ? 0 : -1;
}

/* No platform, or linux on this machine's architecture. */
static bool desc_platform_ok(json_t *d, const char *arch)
{
        json_t *pl = json_object_get(d, "platform");
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *a = json_string_value(json_object_get(pl, "architecture"));

        if (!pl)
                return true;
        return os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0;
}

static bool desc_named(json_t *d, const char *want)
{
        cleanup_free char *r = desc_ref(d) ? rt_image_name_short(desc_ref(d)) : NULL;
        cleanup_free char *w = rt_image_name_short(want);
        const char *colon;

        if (!r)
                return false;
        if (strcmp(r, w) == 0)
                return true;
        /* org.opencontainers.image.ref.name is often just the tag */
        colon = strrchr(w, ':');
        return colon && !strchr(colon, '/') && strcmp(r, colon + 1) == 0;
}

static json_t *oci_choose(json_t *manifests, const char *want, const char *arch, size_t *ret_n)
{
        json_t *d, *only = NULL;
        size_t i, n = 0;

        json_array_foreach(manifests, i, d) {
                if (desc_kind(d) < 0 || !desc_platform_ok(d, arch))
                        continue;
                if (want && desc_named(d, want))
                        return *ret_n = 1, d;
                only = d;
                n++;
        }
        *ret_n = n;
        return n == 1 ? only : NULL;
}

int rt_image_oci_pick(const char *json, size_t len, const char *want, const char *arch,
                      char ret_digest[RT_DIGEST_MAX], char **ret_ref, struct aio_err *err)
{
        json_auto_t *idx = parse(json, len, "index", err);
        json_t *manifests, *d;
        const char *digest;
        size_t n;

        if (!idx)
                return -err->code;
        manifests = json_object_get(idx, "manifests");
        if (!json_is_array(manifests))
                return aio_error_msg(err, EINVAL, "index: no manifests array");
        d = oci_choose(manifests, want, arch, &n);
        if (!d && n == 0)
                return aio_error_msg(err, ENOENT, "index: no image manifest for linux/%s", arch);
        if (!d)
                return aio_error_msg(err, EINVAL,
                                     "index: %zu images for linux/%s: pick one with --name NAME", n,
                                     arch);
        digest = json_string_value(json_object_get(d, "digest"));
        if (rt_image_digest_check(digest, "index: manifest", err) < 0)
                return -err->code;
        (void)snprintf(ret_digest, RT_DIGEST_MAX, "%s", digest);
        if (!*ret_ref && desc_ref(d))
                *ret_ref = rt_image_name_short(desc_ref(d));
        return desc_kind(d);
}

/* Layer media types: tar, gzip and zstd (decompression is detected from the bytes anyway). */
static int check_layer_type(json_t *d, size_t i, struct aio_err *err)
{
        const char *mt = json_string_value(json_object_get(d, "mediaType"));

        if (json_object_get(d, "urls"))
                return aio_error_msg(err, EINVAL, "manifest: layer %zu is a foreign layer (urls)",
                                     i + 1);
        if (!mt || strstr(mt, "tar") || strstr(mt, "rootfs.diff"))
                return 0;
        return aio_error_msg(err, EINVAL, "manifest: layer %zu has media type '%.100s'", i + 1, mt);
}

int rt_image_plan_oci(const char *json, size_t len, struct rt_image_plan *p, struct aio_err *err)
{
        json_auto_t *m = parse(json, len, "manifest", err);
        json_t *layers, *d;
        const char *digest;
        char what[48];
        size_t i;

        if (!m)
                return -err->code;
        p->format = RT_IMAGE_OCI;
        digest = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (rt_image_digest_check(digest, "manifest: config", err) < 0)
                return -err->code;
        (void)snprintf(p->config_digest, RT_DIGEST_MAX, "%s", digest);
        p->config_path = rt_image_digest_path(digest);
        layers = json_object_get(m, "layers");
        if (!json_is_array(layers))
                return aio_error_msg(err, EINVAL, "manifest: no layers array");
        if (plan_layers(p, json_array_size(layers), err) < 0)
                return -err->code;
        json_array_foreach(layers, i, d) {
                (void)snprintf(what, sizeof(what), "manifest: layer %zu", i + 1);
                digest = json_string_value(json_object_get(d, "digest"));
                if (rt_image_digest_check(digest, what, err) < 0 || check_layer_type(d, i, err) < 0)
                        return -err->code;
                (void)snprintf(p->layers[i].digest, RT_DIGEST_MAX, "%s", digest);
                p->layers[i].path = rt_image_digest_path(digest);
        }
        return 0;
}

int rt_image_plan_config(const char *json, size_t len, struct rt_image_plan *p, struct aio_err *err)
{
        json_auto_t *c = parse(json, len, "config", err);
        json_t *rootfs, *ids, *d;
        const char *created;
        char what[48];
        size_t i;

        if (!c)
                return -err->code;
        rootfs = json_object_get(c, "rootfs");
        ids = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(ids))
                return aio_error_msg(err, EINVAL, "config: no rootfs.diff_ids array");
        if (json_array_size(ids) != p->n_layers)
                return aio_error_msg(err, EINVAL,
                                     "config: %zu rootfs.diff_ids for %zu layers in the manifest",
                                     json_array_size(ids), p->n_layers);
        json_array_foreach(ids, i, d) {
                (void)snprintf(what, sizeof(what), "config: diff_id %zu", i + 1);
                if (rt_image_digest_check(json_string_value(d), what, err) < 0)
                        return -err->code;
                (void)snprintf(p->layers[i].diff_id, RT_DIGEST_MAX, "%s", json_string_value(d));
        }
        created = json_string_value(json_object_get(c, "created"));
        if (created)
                p->created = aio_xstrdup(created);
        return 0;
}
