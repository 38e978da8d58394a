#pragma once

/* Shared by the store's three files: store-name.c (entry name and link checks), store-cache.c
 * (the content-address cache: by-file keys, lookups, meta, sweeping) and store.c (the unpack
 * proper, the only one using libarchive). Neither store-name.c nor store-cache.c may use
 * libarchive: aio-run links store-cache.o for rt_store_lookup() and must not load libarchive. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/sha256.h"

struct aio_err;
struct stat;

#define STORE_QUOTE_MAX 160
#define STORE_KEY_MAX   96 /* "<dev>-<ino>-<size>-<mtime_ns>": 4 x 20 digits */

/* What meta records about one unpacked tarball. */
struct rt_store_meta {
        const char *tarball; /* as given; meta holds its realpath when there is one */
        long long size;      /* of the tarball */
        unsigned long long entries, bytes;
};

/* store-name.c */

/* Copies s for an error message: control bytes escaped, long names cut. Returns buf. */
const char *rt_store_quote(const char *s, char *buf, size_t size);
/* "", ".", "./", "././" ... (but not ".hidden"): the entry names the root itself. */
bool rt_store_name_is_root(const char *name);

/* store-cache.c */

/* Opens <state_dir>/images (O_DIRECTORY), creating it when create is set. Returns the fd;
 * -ENOENT without create when it does not exist. */
int rt_store_images_open(const char *images, bool create, struct aio_err *err);
/* Whether images_fd/<hex>/rootfs is a directory. */
bool rt_store_has_rootfs(int images_fd, const char *hex);
/* The by-file cache: st is the tarball's (a regular file). Returns 0 and the content address in
 * hex when the file was unpacked before (and its rootfs is still there), -ENOENT otherwise. */
int rt_store_cache_get(int images_fd, const struct stat *st, char hex[AIO_SHA256_HEX]);
/* Best effort: records st -> hex. A missing entry only costs a re-hash. */
void rt_store_cache_put(int images_fd, const struct stat *st, const char *hex);
/* Writes dir_fd/meta. */
int rt_store_meta_write(int dir_fd, const char *hex, const struct rt_store_meta *m,
                        struct aio_err *err);
/* Removes the temporary directories of unpackers that died (unlocked and old enough). */
void rt_store_sweep(int images_fd);
