#pragma once

#include <stdbool.h>

struct aio_err;

/* What aio-run allows a rootfs tarball: a Debian image with Chromium and a Python data stack
 * has about 100k entries and 2 GiB. */
#define RT_STORE_MAX_ENTRIES 500000ULL
#define RT_STORE_MAX_BYTES   (64ULL << 30)

/* Limits applied while unpacking an untrusted tarball. */
struct rt_store_limits {
        unsigned long long max_bytes;   /* total uncompressed file bytes */
        unsigned long long max_entries; /* entries in the archive */
};

/* Unpacks tarball (tar, tar.gz, tar.xz, tar.zst; detected by content) into the content-addressed
 * store <state_dir>/images/<sha256-of-the-tarball-bytes>/rootfs, once: a later call with the same
 * tarball returns the existing directory without unpacking. Extraction is safe: absolute paths,
 * "..", links escaping the root, device nodes, fifos and setuid bits on non-regular files are
 * refused with an error naming the entry; nothing half-written is left on failure (unpack into
 * a temporary directory, rename into place). Progress goes to stderr when it is a terminal.
 * ret_dir receives a malloc'ed path to the unpacked root. */
int rt_store_unpack(const char *state_dir, const char *tarball, const struct rt_store_limits *lim,
                    char **ret_dir, struct aio_err *err);

/* The fast path of rt_store_unpack(), without hashing or libarchive: when tarball (a regular
 * file) was unpacked before and is unchanged (same device, inode, size and mtime), returns 1 and
 * its unpacked root in ret_dir (malloc'ed). Returns 0 when it is not in the store (the caller
 * unpacks it), -errno when tarball cannot be opened or is a directory. */
int rt_store_lookup(const char *state_dir, const char *tarball, char **ret_dir,
                    struct aio_err *err);

/* What aio-run does when rt_store_lookup() misses: runs aio-unpack, installed next to the
 * running binary, as `aio-unpack [-v] --state-dir state_dir -- tarball`, which calls
 * rt_store_unpack() with the RT_STORE_MAX_* limits (only that program loads libarchive). Its
 * stdin is /dev/null, its stderr ours (progress, and errors naming the entry), its stdout the
 * unpacked root, returned in ret_dir (malloc'ed). TERM, INT, HUP and QUIT read from sigfd (a
 * signalfd, or -1) while it runs are passed on to it. On failure err only says that the helper
 * failed: the helper printed why. */
int rt_store_helper_run(const char *state_dir, const char *tarball, int sigfd, char **ret_dir,
                        struct aio_err *err);

/* Entry name check used by the unpacker (exposed for unit tests and fuzzing): returns 0 when
 * name is a safe relative path (after stripping a leading "./"), -EINVAL otherwise. */
int rt_store_check_name(const char *name, struct aio_err *err);
/* Symlink target check: a target is safe when, resolved from the directory of entry `name`
 * inside the root, it never leaves the root. Absolute targets are resolved against the root. */
int rt_store_check_link(const char *name, const char *target, struct aio_err *err);
