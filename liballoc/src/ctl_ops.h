/*
 * ctl_ops: the requests of the control protocol, executed against the mallctl namespace.
 */
#ifndef LA_CTL_OPS_H
#define LA_CTL_OPS_H

#include <stddef.h>

#include "jp/proto.h"

/* What a peer may do (docs/security.md). */
#define PERM_READ 1u
#define PERM_WRITE 2u
#define PERM_PROF 4u

/* Runs one request payload with the peer's permissions, writing the whole response
 * payload into w. */
void la_ctl_dispatch(const char *s, size_t len, unsigned perms, jp_writer_t *w);
/* The runtime directory and socket path that `info` reports. */
void la_ctl_ops_paths(const char *dir, const char *path);

#endif
