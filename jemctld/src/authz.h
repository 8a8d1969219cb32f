/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authz: who is asking.  The daemon acts on a process for a caller only when the caller
 * could act on the process's socket itself (docs/security.md): root or the process's own
 * user (call.h checks the target's side on the very connection it uses).  This finds the
 * caller's uid: for HTTP over loopback TCP from the kernel's socket table.
 */
#ifndef JEMCTLD_AUTHZ_H
#define JEMCTLD_AUTHZ_H

#include <sys/socket.h>
#include <sys/types.h>

struct evhttp_request;

/* The uid owning the client socket of the TCP connection whose client end is `peer` and
 * whose server end is `local` (as this host's /proc/net/tcp and tcp6 list it).  Returns 0,
 * -ENOENT (no such connection, or only in a state without an owner), -EEXIST (two
 * entries disagree), -EAFNOSUPPORT or the errno of reading /proc.  Does not allocate
 * beyond stdio. */
int jd_authz_tcp_peer_uid(const struct sockaddr *local, const struct sockaddr *peer,
                          uid_t *ret_uid);

/* The uid of the client of an HTTP request (its connection's socket).  Same returns. */
int jd_authz_http_uid(struct evhttp_request *req, uid_t *ret_uid);

#endif
