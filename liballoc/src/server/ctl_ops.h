/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_ops: the requests of the control protocol, executed against the mallctl namespace.
 * One table holds every op (ctl_ops.c: name, permission, argument check, run); a request
 * travels through it in a la_ctl_req_t that the caller owns and passes to each call, so
 * nothing of a request lives in a static.
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

#define LA_CTL_NAME_MAX JP_NAME_MAX /* bytes of a mallctl name over the socket, with its NUL */

struct la_ctl_op;

/* One request, from its payload to its response. */
typedef struct la_ctl_req {
        /* Set by the caller before la_ctl_prepare. */
        const char *s; /* the payload */
        size_t len;
        unsigned perms;         /* the peer's PERM_* */
        const char *dir, *path; /* the runtime directory and socket path `info` reports */
        /* Set by la_ctl_prepare and la_ctl_run. */
        jp_request_t req;
        jp_args_t args;             /* its arguments, read and type-checked */
        const struct la_ctl_op *op; /* the op's entry in the table; NULL if unknown */
        jp_writer_t *w;             /* the response being written (la_ctl_run) */
        bool failed;                /* w holds a whole error response instead */
        int pass_fd; /* handed to the client with the response (a heap profile), or -1;
                      * the caller takes it (and closes it) after la_ctl_run */
        jp_tok_t toks[JP_MAX_TOKENS];
        /* Room for the buffers of one check or op, so that none is a static. */
        union {
                char names[JP_MAX_NAMES][LA_CTL_NAME_MAX]; /* get, set: the names checked */
                struct {
                        char buf[8192], cgroup[4096];
                } info;
                char str[1024]; /* set: a string value */
        } scratch;
} la_ctl_req_t;

/* Parses and checks r's payload (syntax, the peer's permissions, arguments): JP_OK, or
 * the error with *msg (NULL: the default message) and r->req.id filled when it could be
 * read.  Sets r->pass_fd to -1. */
enum jp_err la_ctl_prepare(la_ctl_req_t *r, const char **msg);
/* True if running r again changes nothing (a larger buffer may then be tried); true for a
 * request that did not prepare. */
bool la_ctl_pure(const la_ctl_req_t *r);
/* Runs a prepared request, writing the whole success response (or an error response, with
 * r->failed set) into w. */
void la_ctl_run(la_ctl_req_t *r, jp_writer_t *w);

#endif
