#pragma once

/* The image store: named, content-addressed root filesystems under <state_dir>/images (the
 * layout is described in store.c). image.c (names, lookups, the sandbox's hold, ls, rm, prune,
 * inspect) and image-cmd.c (`aio-run image`) do not use libarchive; image-import.c does, through
 * store.c, and only aio-unpack links it. */

#include <stdbool.h>

#include "common/sha256.h"

struct aio_err;
struct rt_config;
struct rt_store_limits;

#define RT_IMAGE_NAME_MAX 255

/* One import: a rootfs tarball, a `docker save` archive, or an OCI image layout (a directory or
 * a tar of one). */
struct rt_image_import {
        const char *state_dir;
        const char *src;
        const char *name; /* --name: the name to give it (and the image to pick from the
                           * archive when it holds several); NULL: the archive's own */
        bool set_name;    /* aio-run image import: name the image, and accept a directory;
                           * --rootfs FILE: neither */
        const struct rt_store_limits *lim;
        /* out */
        char hex[AIO_SHA256_HEX]; /* its content address */
        char *ret_name;           /* the name it was given, or NULL (malloc'ed) */
        bool existed;             /* it was in the store already: nothing was unpacked */
};

/* image-import.c (aio-unpack only): unpacks src into the store once, safely (store.h's rules,
 * applied to every layer and whiteout), and names it. */
int rt_image_import(struct rt_image_import *im, struct aio_err *err);

/* An image name: 1..255 bytes of [A-Za-z0-9._:/@+-], starting with a letter or digit, without
 * "//", "/.", "./" or a trailing '/' (docker's repo:tag, and a bit more). */
int rt_image_name_check(const char *name, struct aio_err *err);
/* "docker.io/library/alpine:3" -> "alpine:3"; "docker.io/x/y" -> "x/y". Malloc'ed. */
char *rt_image_name_short(const char *ref);

/* Finds an image by name (NAME, or NAME:latest when NAME has no tag), by "sha256:HEX" or by a
 * unique prefix (at least 4 digits) of its digest. Returns 0 and its digest in ret_hex, -ENOENT
 * when there is none. */
int rt_image_find(const char *state_dir, const char *ref, char ret_hex[AIO_SHA256_HEX],
                  struct aio_err *err);

/* aio-run's `rootfs` step: resolves c->rootfs (a tarball: looked up, unpacked by aio-unpack on a
 * miss; an image name; a directory) to the directory the sandbox mounts, in ret_dir
 * (malloc'ed). For a store entry, ret_lock gets an fd holding a shared flock on it for as long
 * as the sandbox runs (rm and prune leave it alone); otherwise -1. sigfd: see
 * rt_store_helper_run(). */
int rt_image_acquire(const struct rt_config *c, int sigfd, char **ret_dir, int *ret_lock,
                     struct aio_err *err);

/* image-cmd.c: `aio-run image ls|import|rm|prune|inspect` (argv[0] is "image"). Returns the
 * exit status. */
int rt_image_main(int argc, char **argv);
