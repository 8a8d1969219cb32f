/* SPDX-License-Identifier: BSD-2-Clause */
/* connect: jemctld's connections to the control sockets of its runtime directory. */
#ifndef JEMCTLD_CONNECT_H
#define JEMCTLD_CONNECT_H

#include <stdbool.h>
#include <sys/types.h>

#include <jcl/sock.h>

/* A non-blocking connection to pid's control socket, trusted by jcl_connect's rules.
 * known: the name that served pid before ("" or NULL if none): tried alone when given;
 * otherwise "<pid>.sock", then (with alts, when the directory held another name of pid)
 * the other names jcl_sock_names lists.  On success the name used is copied to name
 * (JCL_NAME_MAX bytes).  On failure -1 with the most telling failure of the names tried
 * (busy, then an error, then untrusted, then gone) in *fail and *peer. */
int jd_connect_target(const char *dir, pid_t pid, const char *known, bool alts, char *name,
                      enum jcl_fail *fail, jcl_peer_t *peer);

#endif
