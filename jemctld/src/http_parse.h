/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_parse: the pure part of reading an HTTP request, what a client controls: the JSON
 * body of a write and its arguments, the Content-Type, Origin and Host headers, and the
 * query strings of every endpoint.  Each function takes bytes (or a parsed query) and
 * gives a parsed request or a reason, without the event loop or the process table, so
 * that tests/fuzz/fuzz_http.c can drive them all.  The handlers (prom.c, http_ops.c,
 * host.c, select.c, pprof_http.c, store_http.c, web.c) answer with what they return.
 */
#ifndef JEMCTLD_HTTP_PARSE_H
#define JEMCTLD_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "req.h"

struct evkeyvalq;

/* The largest request body: the largest request the daemon forwards is a set of one
 * name, far below; evhttp itself refuses bodies over this (413). */
#define JD_HTTP_BODY_MAX 65536u
/* The longest mallctl name accepted (the longest real one is under 64). */
#define JD_HTTP_NAME_MAX 127
/* The longest Host name (RFC 1123) or address literal. */
#define JD_HTTP_HOST_MAX 253

/* ---- the writes: POST /api/v1/processes/{pid}/{decay,purge,set,profile} ------------- */

enum jd_op_kind { JD_OP_DECAY, JD_OP_PURGE, JD_OP_SET, JD_OP_PROFILE, JD_OP_COUNT };

/* "decay", "purge", "set", "profile". */
extern const char *const jd_op_names[JD_OP_COUNT];

/* A write request once its path and body are read. */
typedef struct jd_op_req {
        pid_t pid;
        enum jd_op_kind kind;
        char name[JD_HTTP_NAME_MAX + 1]; /* set: the name */
        bool store; /* profile: {"store": true}, into the profile store */
} jd_op_req_t;

/* /api/v1/processes/<pid>/<op>: op->pid and op->kind, or false (not a write's path). */
bool jd_parse_op_path(const char *path, jd_op_req_t *op);

/* A request body of n bytes as a JSON object: an empty body is {}; over max bytes,
 * malformed JSON (or duplicate keys) or anything but an object is NULL with why. */
json_t *jd_parse_body(const char *s, size_t n, size_t max, char *why, size_t cap);

/* The request op->kind makes, from body (an object; only the members the operation knows,
 * each of its type), into req (req.h: borrowing from body and op, so both must outlive
 * its use), with op->name and op->store set: true; or false with why. */
bool jd_parse_op_args(jd_op_req_t *op, json_t *body, jd_req_t *req, char *why, size_t cap);

/* Whether a Content-Type value (NULL: none) is application/json, alone or with
 * parameters. */
bool jd_parse_json_type(const char *ctype);

/* Whether a request with these Origin and Host values (NULL: absent) may come from a
 * page of this very server: no Origin (not a browser), or "http://" followed by a Host
 * that is an address literal or localhost (a name could be an attacker's, rebound to
 * 127.0.0.1). */
bool jd_parse_same_origin(const char *origin, const char *host);

/* ---- the Host header ------------------------------------------------------------------ */

/* The host part of a Host value: HOST or HOST:PORT, [V6] or [V6]:PORT (PORT 1 to 5
 * digits, nothing else after), HOST made of letters, digits, '-', '.' and ':' (at most
 * JD_HTTP_HOST_MAX).  Copies it into h (JD_HTTP_HOST_MAX + 1 bytes), brackets removed,
 * and returns true; false if the value is none of these. */
bool jd_parse_host(const char *host, char h[JD_HTTP_HOST_MAX + 1]);

/* ---- query strings -------------------------------------------------------------------- */

/* A pid of the history and events views: decimal digits only, 1 .. 2^22. */
bool jd_parse_pid(const char *s, pid_t *out);

/* A query string (NULL: none) into q (initialised here; free it with
 * evhttp_clear_headers, also after a failure): 0, or -1 if malformed. */
int jd_parse_query(const char *query, struct evkeyvalq *q);

/* /metrics: nothing, or pid=N alone.  NULL and *pid (0: every process), or the reason. */
const char *jd_parse_metrics_query(const char *query, long *pid);

/* /api/v1/select and /api/v1/targets: comm and unit only, either may be missing, each
 * non-empty.  NULL with *comm and *unit pointing into q, or the reason. */
const char *jd_parse_select_query(const char *query, struct evkeyvalq *q, const char **comm,
                                  const char **unit);

/* /debug/pprof/heap: pid=N, or comm and/or unit (each shorter than its buffer); seconds
 * and debug only as 0.  NULL with *pid (0 without) and comm and unit copied ("" if
 * absent), or the reason. */
const char *jd_parse_pprof_query(const char *query, long *pid, char *comm, size_t ccap,
                                 char *unit, size_t ucap);

/* /api/v1/profiles: nothing, or pid=N (other parameters are ignored).  NULL and *pid (0:
 * every process), or the reason. */
const char *jd_parse_profiles_query(const char *query, long *pid);

/* /api/v1/profiles/{id}: format=heap|pprof|folded|svg (default heap, other parameters
 * ignored).  NULL with the format in fmt, or the reason. */
const char *jd_parse_format_query(const char *query, char *fmt, size_t cap);

/* /api/v1/history (q parsed): exactly one of pid=N, comm=NAME, unit=UNIT.  NULL with
 * *pid (0 for a group) or *by ("comm" or "unit") and *key (pointing into q), or the
 * reason. */
const char *jd_parse_history_query(struct evkeyvalq *q, pid_t *pid, const char **by,
                                   const char **key);

/* /api/v1/events (q parsed): nothing, or pid=N alone.  NULL and *pid (0: every process),
 * or the reason. */
const char *jd_parse_events_query(struct evkeyvalq *q, pid_t *pid);

/* /api/v1/groups (q parsed): by=comm or by=unit.  NULL and *by (pointing into q), or the
 * reason. */
const char *jd_parse_groups_query(struct evkeyvalq *q, const char **by);

#endif
