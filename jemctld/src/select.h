/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * select: GET /api/v1/select, which processes jemctl's selectors (--comm, --unit, --all)
 * match (select.c).
 */
#ifndef JEMCTLD_SELECT_H
#define JEMCTLD_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "manager.h"

struct evhttp_request;
struct evkeyvalq;

/* Answers the request if path is /api/v1/select (200 with the JSON document, 405 for a
 * method other than GET or HEAD, 400 for a bad query, 500 out of memory) and returns
 * true; false for any other path.  Allocates; never blocks. */
bool jd_select_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

/* The document: {"runtime_dir": DIR, "processes": [{"pid", "comm", "cgroup", "unit",
 * "allocated", "active", "resident", "rss", "dirty_decay_ms", "muzzy_decay_ms",
 * "socket", "error"}, ...]} for the visible processes matching comm and unit (NULL: any).
 * NULL if out of memory; free() the result. */
char *jd_select_json(const jd_manager_t *m, const char *comm, const char *unit);

/* The query of a selector endpoint: comm and unit only (either may be missing), each a
 * non-empty name.  NULL with *comm and *unit pointing into q (free it with
 * evhttp_clear_headers), or the reason (q already freed). */
const char *jd_select_query(struct evhttp_request *req, struct evkeyvalq *q, const char **comm,
                            const char **unit);

/* comm and cgroup of p: from its `info` when known, else from /proc ("" if unknown). */
void jd_select_identity(const jd_proc_t *p, char *comm, size_t ccap, char *cg, size_t gcap);

/* Whether p matches comm and unit as jemctl's --comm and --unit do (NULL: any). */
bool jd_select_matches(const jd_proc_t *p, const char *comm, const char *unit);

#endif
