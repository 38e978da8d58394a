#pragma once

/* Shared by image.c, image-import.c and image-manifest.c (the pure parsers of docker save
 * manifests, OCI indexes, manifests and image configs: unit tested on their own). */

#include <stdbool.h>
#include <stddef.h>

#include "common/sha256.h"

struct aio_err;

#define RT_DIGEST_MAX       (7 + AIO_SHA256_HEX) /* "sha256:" + 64 hex digits + NUL */
#define RT_IMAGE_JSON_MAX   (4u << 20)           /* a manifest, index or config */
#define RT_IMAGE_LAYERS_MAX 1024u

enum rt_image_format { RT_IMAGE_ROOTFS, RT_IMAGE_DOCKER, RT_IMAGE_OCI, _RT_IMAGE_FORMAT_MAX };
const char *rt_image_format_name(enum rt_image_format f);

struct rt_image_layer {
        char *path;                  /* the blob, relative to the archive's root */
        char digest[RT_DIGEST_MAX];  /* of the blob as stored; "" when the format names none */
        char diff_id[RT_DIGEST_MAX]; /* of the uncompressed tar, from the config */
};

/* What to unpack, and how to check it. */
struct rt_image_plan {
        enum rt_image_format format;
        char *ref;                         /* the name found in the archive, or NULL */
        char *config_path;                 /* relative to the archive's root */
        char config_digest[RT_DIGEST_MAX]; /* expected digest of the config, or "" */
        struct rt_image_layer *layers;
        size_t n_layers;
        char *created; /* the config's "created", or NULL */
};

void rt_image_plan_free(struct rt_image_plan *p);

/* "sha256:<64 lower-case hex digits>": 0, or -EINVAL naming what. */
int rt_image_digest_check(const char *digest, const char *what, struct aio_err *err);
/* A checked digest's blob in an OCI layout: blobs/sha256/<hex>. Malloc'ed. */
char *rt_image_digest_path(const char *digest);

/* `docker save`'s manifest.json: an array of {Config, RepoTags, Layers}. With several images,
 * want (a name) picks one. Fills format, ref, config_path (and config_digest when the path names
 * it), layers' paths (and digests when their paths name them). */
int rt_image_plan_docker(const char *json, size_t len, const char *want, struct rt_image_plan *p,
                         struct aio_err *err);

/* An OCI index (index.json, or a nested one): picks the manifest for linux/arch (or the one
 * named want), returns 0 for an image manifest and 1 for another index, with its digest in
 * ret_digest and, when the descriptor names it and *ret_ref is NULL, its name in *ret_ref. */
int rt_image_oci_pick(const char *json, size_t len, const char *want, const char *arch,
                      char ret_digest[RT_DIGEST_MAX], char **ret_ref, struct aio_err *err);
/* An OCI image manifest: config and layers, as digests of blobs. */
int rt_image_plan_oci(const char *json, size_t len, struct rt_image_plan *p, struct aio_err *err);
/* The image config: one rootfs.diff_ids entry per layer, and "created". */
int rt_image_plan_config(const char *json, size_t len, struct rt_image_plan *p,
                         struct aio_err *err);

/* The machine as OCI names it (GOARCH): amd64, arm64, ... */
const char *rt_image_arch(void);

/* image.c */

/* One name of names/: hex is "" when it points nowhere valid. */
struct rt_image_name {
        char *name;
        char hex[AIO_SHA256_HEX];
};

/* <state_dir>/images, or -ENOENT (err not set) when there is no store yet. */
int rt_image_open_store(const char *state_dir, struct aio_err *err);
int rt_image_name_set(int images_fd, const char *name, const char *hex, struct aio_err *err);
/* The digest a name points to: 0, or -ENOENT. */
int rt_image_name_get(int images_fd, const char *name, char hex[AIO_SHA256_HEX]);
void rt_image_name_unset(int images_fd, const char *name);
size_t rt_image_names_list(int images_fd, struct rt_image_name **ret);
void rt_image_names_free(struct rt_image_name *v, size_t n);
/* rt_image_find() in an open store; -ENOENT without a message. */
int rt_image_find_at(int images_fd, const char *ref, char hex[AIO_SHA256_HEX], struct aio_err *err);
/* Whether a running sandbox holds it. */
bool rt_image_in_use(int images_fd, const char *hex);

/* image-admin.c: what `aio-run image ls|rm|prune|inspect` do. */
int rt_image_list(const char *state_dir, bool quiet, struct aio_err *err);
int rt_image_inspect(const char *state_dir, const char *ref, struct aio_err *err);
/* Removes a name (and the image when it was its last name), or an image by digest with all its
 * names. -EBUSY when a running sandbox uses it. */
int rt_image_remove(const char *state_dir, const char *ref, struct aio_err *err);
/* Removes every unused image without a name (all: every unused image), dangling names and cache
 * entries, dead temporary directories. Returns how many images were removed. */
int rt_image_prune(const char *state_dir, bool all, struct aio_err *err);
