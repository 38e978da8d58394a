#pragma once

/* Shared by the store's three files: store-name.c (entry name and link checks), store-cache.c
 * (the content-address cache: by-file keys, lookups, meta, sweeping) and store.c (the unpack
 * proper, the only one using libarchive). Neither store-name.c nor store-cache.c may use
 * libarchive: aio-run links store-cache.o for rt_store_lookup() and must not load libarchive. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
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
        const char *extra; /* more key=value lines (images: format, ref, created, layer), or NULL */
};

/* store-name.c */

/* Copies s for an error message: control bytes escaped, long names cut. Returns buf. */
const char *rt_store_quote(const char *s, char *buf, size_t size);
/* "", ".", "./", "././" ... (but not ".hidden"): the entry names the root itself. */
bool rt_store_name_is_root(const char *name);
/* name without "./", "." components, empty components or a trailing '/' ("" for the root).
 * Malloc'ed. */
char *rt_store_name_normalize(const char *name);

/* Image layers mark deletions with whiteout entries (OCI image spec, "Whiteouts"). */
#define RT_STORE_WH_PREFIX ".wh."
enum rt_store_wh {
        RT_STORE_WH_NONE,   /* an ordinary entry */
        RT_STORE_WH_FILE,   /* DIR/.wh.NAME: NAME of the layers below is deleted */
        RT_STORE_WH_OPAQUE, /* DIR/.wh..wh..opq: what the layers below hold in DIR is deleted */
        RT_STORE_WH_META,   /* DIR/.wh..wh.*: aufs bookkeeping, ignored */
        _RT_STORE_WH_MAX,
};
/* Classifies a checked entry name. For FILE and OPAQUE, ret_parent gets the normalized directory
 * ("." for the root) and, for FILE, ret_target the name to delete (both malloc'ed). A whiteout of
 * "", "." or ".." is refused with -EINVAL. */
int rt_store_whiteout(const char *name, char **ret_parent, char **ret_target, struct aio_err *err);

/* store.c and store-extract.c: one tar stream (a rootfs tarball, an image archive or one layer)
 * extracted into a directory by a forked child. */
struct rt_store_limits;
struct rt_store_job {
        const char *label;   /* the tarball or layer: for progress and messages */
        int src_fd;          /* its bytes, maybe compressed */
        const char *confine; /* the temporary directory: the only one the child may write */
        const char *root;    /* where to extract: confine or below it */
        const struct rt_store_limits *lim;
        bool layer; /* an image layer: whiteouts, later entries replace earlier ones */
        bool first; /* the first layer: nothing below it */
        /* in: counted by the previous layers, out: after this one (the limits cover them all) */
        unsigned long long entries, bytes;
        char file_hex[AIO_SHA256_HEX]; /* out: sha256 of the bytes of src_fd */
        char tar_hex[AIO_SHA256_HEX];  /* out (layer): sha256 of the uncompressed tar */
};

/* What the child reports back through a pipe (< PIPE_BUF, so written atomically). */
struct rt_store_result {
        struct aio_err err;
        unsigned long long entries, bytes;
};

/* store.c: runs the child on job, feeding it src_fd decompressed. */
int rt_store_extract(struct rt_store_job *job, struct aio_err *err);
/* store-extract.c: the child. Reads the tar stream from in_fd, extracts it below job->root,
 * writes its result to result_fd and exits. */
_Noreturn void rt_store_child(const struct rt_store_job *job, int in_fd, pid_t parent,
                              int result_fd);

/* A temporary directory of the store, <images>/.tmp-XXXXXX, flock()ed by its owner. */
struct rt_store_tmp {
        char *path;
        const char *name; /* .tmp-XXXXXX, in path */
        int fd;
};
int rt_store_tmp_new(int images_fd, const char *images, struct rt_store_tmp *t,
                     struct aio_err *err);
/* Removes it (when still there: not committed) and frees it. */
void rt_store_tmp_drop(int images_fd, struct rt_store_tmp *t);
/* Renames it to its content address; losing the race to a concurrent unpack of the same content
 * is success (theirs is kept). */
int rt_store_commit(int images_fd, const char *tmp_name, const char *hex, struct aio_err *err);

/* store-cache.c */

/* 64 lower-case hex digits: a store entry's name. */
bool rt_store_is_digest(const char *s);
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
