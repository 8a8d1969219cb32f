/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_ops: the requests of the control protocol, executed against the mallctl namespace.
 */
#ifndef LA_CTL_OPS_H
#define LA_CTL_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "jp/proto.h"

/* What a peer may do (docs/security.md). */
#define PERM_READ 1u
#define PERM_WRITE 2u
#define PERM_PROF 4u

/* Parses and checks one request payload (syntax, the peer's permissions, arguments):
 * JP_OK, or the error with *msg (NULL: the default message) and req->id filled when it
 * could be read.  The tokens stay in ctl_ops' buffer for la_ctl_run. */
enum jp_err la_ctl_prepare(const char *s, size_t len, unsigned perms, jp_request_t *req,
                           const char **msg);
/* True if running req again changes nothing (a larger buffer may then be tried). */
bool la_ctl_pure(const jp_request_t *req);
/* Runs a prepared request, writing the whole success response into w. */
void la_ctl_run(const char *s, const jp_request_t *req, jp_writer_t *w);
/* The file descriptor the last request hands to the client with its response (a heap
 * profile), or -1; the caller owns it. */
int la_ctl_take_fd(void);
/* The runtime directory and socket path that `info` reports. */
void la_ctl_ops_paths(const char *dir, const char *path);

#endif
