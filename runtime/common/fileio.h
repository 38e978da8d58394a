#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct aio_err;

/* Writes s to an existing file at dirfd/path (no O_CREAT): for /proc and cgroup knobs. */
int aio_write_knob(int dirfd, const char *path, const char *s, struct aio_err *err);
/* Creates or truncates dirfd/path with mode and writes len bytes of data. */
int aio_write_file(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                   struct aio_err *err);
/* Reads at most max-1 bytes of dirfd/path into buf, NUL-terminated; returns the length. */
ssize_t aio_read_file(int dirfd, const char *path, char *buf, size_t max, struct aio_err *err);
/* mkdir -p; existing directories are fine. */
int aio_mkdir_p(const char *path, mode_t mode, struct aio_err *err);
/* rm -rf below dirfd/path without following symlinks and without leaving the filesystem. */
int aio_rm_rf(int dirfd, const char *path, struct aio_err *err);
