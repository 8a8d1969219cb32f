/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * call: one request to one target process, on the event loop.  Connects to
 * `<runtime>/<pid>.sock` without blocking, checks who listens (SO_PEERCRED), sends one
 * request, reads one framed response (and at most one file descriptor passed with it) and
 * calls back.  Used by the write endpoints of HTTP and by the D-Bus methods.
 */
#ifndef JEMCTLD_CALL_H
#define JEMCTLD_CALL_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <jp/proto.h>

#include "manager.h"
#include "req.h"

/* Seconds a profile dump may take at least (writing a large heap profile is slower than
 * an ordinary request); --timeout applies when larger.  HTTP and D-Bus both. */
#define JD_CALL_PROFILE_TIMEOUT 30.0

/* as_uid of a call made on the daemon's own behalf: no caller to check. */
#define JD_CALL_ANY_UID ((uid_t)-1)

typedef enum jd_call_status {
        JD_CALL_OK,         /* `result` holds the target's result object */
        JD_CALL_FAILED,     /* the target answered ok:false: `code`/`message` are its own */
        JD_CALL_GONE,       /* no such process, or its socket is gone */
        JD_CALL_REFUSED,    /* the socket refuses connections, or the target is busy */
        JD_CALL_UNTRUSTED,  /* the socket is served by another pid than its name says */
        JD_CALL_DENIED,     /* the caller (as_uid) may not act on this target */
        JD_CALL_TIMEOUT,    /* no whole answer within the deadline */
        JD_CALL_BAD_ANSWER, /* bad frame, bad JSON, wrong id, closed mid-answer */
        JD_CALL_INTERNAL,   /* out of memory, request too large, shutting down */
} jd_call_status_t;

typedef struct jd_call_result {
        jd_call_status_t status;
        json_t *result;      /* JD_CALL_OK: the result object (borrowed: incref to keep) */
        const char *code;    /* on failure: the target's code, or ours ("timeout", ...) */
        const char *message; /* on failure: readable */
        int fd;              /* a descriptor passed with the answer, or -1: the callback
                                may take it (set it to -1), otherwise it is closed */
        uid_t target_uid;    /* the listener's uid by SO_PEERCRED, or -1 before connect */
} jd_call_result_t;

typedef void (*jd_call_cb_t)(jd_call_result_t *r, void *arg);

typedef struct jd_call jd_call_t;

/* Starts the request req (req.h: the operation and its arguments) on pid.  m: the manager whose
 * loop runs the call and whose table names pid's socket (if it holds pid).  as_uid: the
 * uid the call is made for; unless it is 0 or JD_CALL_ANY_UID the target's socket must
 * belong to that uid (JD_CALL_DENIED otherwise), so the daemon never does for a caller
 * what the caller could not do on the socket itself.  timeout: seconds for the whole
 * call.  The callback runs exactly once, always later from the event loop (never inside
 * jd_call).  Returns the call, or NULL (out of memory, or arguments too large or of the
 * wrong kind: nothing is called back).  req is only read during the call to jd_call.
 * Allocates. */
jd_call_t *jd_call(jd_manager_t *m, pid_t pid, const jd_req_t *req, uid_t as_uid,
                   double timeout, jd_call_cb_t cb, void *arg);

/* Ends every call in flight, calling each back with JD_CALL_INTERNAL "shutting down". */
void jd_call_shutdown(void);

/* Checks a descriptor passed as a profile, by the client library's one rule
 * (jcl_blob_check: a regular file of exactly `bytes`, at most JP_DUMP_MAX, sealed against
 * writing, shrinking and growing).  Returns 0 or a negative errno (-EINVAL: not a sealed
 * regular file, -EMSGSIZE: size differs, -EFBIG: over the bound). */
int jd_call_check_blob(int fd, uint64_t bytes);

/* The first bytes bytes of fd (a checked blob, or a stored dump) into a new buffer
 * (NUL-terminated, free() it), or NULL with *err an errno value (EIO: shorter). */
char *jd_read_blob(int fd, uint64_t bytes, int *err);

/* A readable name of a status ("timeout", ...). */
const char *jd_call_status_name(jd_call_status_t s);

#endif
