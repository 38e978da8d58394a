#pragma once

/* The bounded, iterative directory walk behind /v1/file list, find, glob and grep. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct api_resp;

#define WALK_MAX_ENTRIES 200000 /* entries looked at per request */
#define WALK_MAX_DEPTH   64

struct walk_entry {
        char *path;       /* absolute */
        char *rel;        /* below the root */
        const char *name; /* in path */
        unsigned depth;   /* 1: directly in the root */
        struct stat st;   /* of the target, for a symlink */
        bool stat_ok, is_dir, is_link;
};

enum walk_result {
        WALK_CONTINUE, /* and enter it, if it is a directory */
        WALK_SKIP,     /* do not enter it */
        WALK_STOP,
};

typedef int (*walk_fn)(void *cls, const struct walk_entry *e);

/* Calls fn for every entry below root, in name order, depth first. Returns false when the walk
 * stopped early (fn said so, or WALK_MAX_ENTRIES were seen). */
bool api_walk(const char *root, walk_fn fn, void *cls);
/* 0 for an existing directory, else a FileOperationError answered and -1. */
int api_file_dir_check(struct api_resp *resp, const char *op, const char *path);
