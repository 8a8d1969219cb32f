/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * path_open: opening a file a dump names only as the profiled process's credentials
 * allow (path_open.c says how); internal to profconv.
 */
#ifndef PC_PATH_OPEN_H
#define PC_PATH_OPEN_H

#include <limits.h>
#include <sys/stat.h>

#include "pc/profconv.h"

/* A file found and checked, not opened yet: its directory (an O_PATH descriptor), its
 * name there and its inode as checked. */
typedef struct pc_leaf {
        int dirfd;
        char name[NAME_MAX + 1];
        struct stat st;
} pc_leaf_t;

/* Walks path (absolute, as the dump names it) under root (NULL or "": "/") for c.  0 with
 * *ret filled (close it with pc_path_open or pc_path_close), or a negative errno: -EACCES
 * when refused (a directory c may not search, a file c may not read, ".." in the path, a
 * kernel file system, not a regular file), -ELOOP for a symbolic link, -ENOENT and the
 * like when missing.  Never opens the file itself. */
int pc_path_lookup(const char *root, const char *path, const pc_creds_t *c, pc_leaf_t *ret);
/* Opens l's file for reading (non-blocking, no link followed) and checks it is still the
 * inode looked up: a descriptor (l->st refreshed), or a negative errno.  Closes l either
 * way. */
int pc_path_open(pc_leaf_t *l);
void pc_path_close(pc_leaf_t *l);

#endif
