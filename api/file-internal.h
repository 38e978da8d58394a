#pragma once

/* Declarations shared by api/file*.c and api/routes/file.c only. */

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

struct aio_err;
struct api_field;
struct api_req;
struct api_resp;
struct api_watches;

/* Reads (files) above this are refused: the answer is one JSON string. */
#define API_FILE_READ_MAX (32u << 20)

/* api_glob_match() where partial says path is a directory that a longer path below it could
 * still match through. */
bool api_glob_match_partial(const char *pattern, const char *path, bool hidden, bool partial);

/* The end of the line starting at buf[i] (Python's splitlines() breaks) and, in *ret_brk, the
 * length of the break there (0 at the end of buf). */
size_t api_line_end(const char *buf, size_t len, size_t i, size_t *ret_brk);

/* Compiles a pattern written for Python's re with POSIX extended regexps: \d and \D become
 * [0-9] and [^0-9], a leading (?i) sets REG_ICASE. On failure answers 400 "Invalid regular
 * expression: ..." and returns -EINVAL. */
int api_file_regcomp(struct api_resp *resp, regex_t *re, const char *pattern, int cflags);

/* "1M", "500K", "2G", "1.5M", "4096" in bytes; -1 when it is none of those. */
long long api_size_parse(const char *s);

/* A list-valued body field (pydantic list[str] / list[int]): the json_t * (borrowed from the
 * body, NULL when absent or null) is stored at offset. */
struct api_file_list {
        const char *name;
        bool ints;
        bool required;
        size_t offset;
};

/* A request body: scalar fields and list fields. */
struct api_file_body {
        const struct api_field *fields;
        size_t n_fields;
        const struct api_file_list *lists;
        size_t n_lists;
};
#define API_FILE_BODY(f, l)                                                      \
        {                                                                        \
                (f), sizeof(f) / sizeof((f)[0]), (l), sizeof(l) / sizeof((l)[0]) \
        }

/* api_fields_unpack() plus list fields. Returns 0 or -EINVAL with items added to detail. */
int api_file_unpack(const json_t *body, const struct api_file_body *spec, void *dst, size_t size,
                    json_t *detail);
/* pydantic's enum and ge/le checks, adding an item to detail on failure. allowed ends in NULL. */
void api_file_check_enum(json_t *detail, const char *name, const char *v,
                         const char *const *allowed);
void api_file_check_range(json_t *detail, const char *name, long long v, long long min,
                          long long max);

/* Upstream's FileOperationError in a success:false envelope (HTTP 200, as upstream answers a
 * handled file-tool failure). errnum 0: no errno (exception_type then says what). */
void api_file_fail(struct api_resp *resp, const char *op, const char *path, int errnum,
                   const char *exception_type, const char *detail);
/* The same for an errno, with Python's "[Errno N] strerror: 'path'" text. */
void api_file_fail_errno(struct api_resp *resp, const char *op, const char *path, int errnum);
/* api_path_normalize() against api_file_home(); on failure answers an invalid_path error and
 * returns -EINVAL. */
int api_file_path(struct api_resp *resp, const char *op, const char *in, char **ret);
/* Strings of a list field (NULL: none), a NULL-terminated array of borrowed pointers. */
const char **api_file_strv(const json_t *list);

/* I/O shared by the handlers (api/file-ops.c). */
/* Reads a whole regular file, at most max bytes (EFBIG past that). NUL-terminated copy. */
int api_file_read_all(const char *path, size_t max, char **ret, size_t *ret_len,
                      struct aio_err *err);
/* Replaces path atomically: a temporary file in the same directory, written, fsync'ed and renamed
 * over it (an existing file's mode is kept; a symlink is written through). mkdirs creates missing
 * parent directories. Nothing is left behind on failure. */
int api_file_write_atomic(const char *path, const void *data, size_t len, bool mkdirs,
                          struct aio_err *err);

/* The editor's undo history lives with the watchers: the family's one piece of state. */
struct api_edit_history;
struct api_edit_history *api_watches_history(struct api_watches *w);
struct api_edit_history *api_history_new(void);
void api_history_free(struct api_edit_history *h);
/* Remembers content (len bytes; NULL: the file did not exist) as path's state before an edit. */
void api_history_push(struct api_edit_history *h, const char *path, const char *content,
                      size_t len);
/* Takes the latest state of path: 1 with *ret (NULL: did not exist), 0 when there is none. */
int api_history_pop(struct api_edit_history *h, const char *path, char **ret, size_t *ret_len,
                    bool *ret_existed);

/* Handlers. */
int api_file_read(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_write(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_replace(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_search(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_upload(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_download(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_find(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_glob(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_grep(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_list(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_file_editor(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_watch_create(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_watch_list(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_watch_stop(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_watch_poll(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_watch_events(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_watch_wait(const struct api_req *req, struct api_resp *resp, struct aio_err *err);

/* The multipart/form-data parts of an upload (pure, for tests). */
struct api_part {
        const char *name, *filename; /* malloc'ed */
        const char *data;            /* into the body */
        size_t len;
};
/* Splits body by the boundary of content_type. Returns the number of parts (at most max) or
 * -EINVAL. Free names with api_parts_free(). */
int api_multipart_parse(const char *content_type, const char *body, size_t len,
                        struct api_part *parts, size_t max, struct aio_err *err);
void api_parts_free(struct api_part *parts, size_t n);
