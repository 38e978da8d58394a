#pragma once

#include <stddef.h>
#include <stdint.h>

struct aio_err;

/* openat2() with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: path is resolved as if root_fd were "/",
 * so neither ".." nor a symlink can leave it. */
int aio_open_in_root(int root_fd, const char *path, int flags, unsigned mode, struct aio_err *err);
/* Same, and creates missing directories on the way (each component created and re-opened
 * inside the root). Returns an O_PATH|O_DIRECTORY fd. */
int aio_mkdir_in_root(int root_fd, const char *path, unsigned mode, struct aio_err *err);
/* Marks every fd >= from close-on-exec. */
int aio_fds_cloexec_from(int from, struct aio_err *err);
/* Closes every fd >= 3 that is not listed in keep. */
int aio_close_all_except(const int *keep, size_t n_keep, struct aio_err *err);
/* Full read/write of n bytes (EINTR-safe). Short read at EOF returns -EPIPE. */
int aio_read_full(int fd, void *buf, size_t n, struct aio_err *err);
int aio_write_full(int fd, const void *buf, size_t n, struct aio_err *err);
