/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pprof_http: GET /debug/pprof/heap, a live process's heap profile as Go's
 * net/http/pprof serves one (pprof_http.c), for `go tool pprof` and continuous profilers.
 */
#ifndef JEMCTLD_PPROF_HTTP_H
#define JEMCTLD_PPROF_HTTP_H

#include <stdbool.h>

#include "manager.h"

struct evbuffer;
struct evhttp_request;

/* Scrapes in progress at once; more are answered 503 with Retry-After. */
#define JD_PPROF_MAX_SCRAPES 4
/* Processes merged into one profile by a selector (the first ones found). */
#define JD_PPROF_MAX_PARTS 64
/* The largest dump read (the target itself refuses to write more). */
#define JD_PPROF_MAX_DUMP (256ull << 20)

/* Answers the request if path is under /debug/pprof/ and returns true; false for any
 * other path.  The answer may come later (after the dumps).  Allocates. */
bool jd_pprof_http_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

/* jemctld_pprof_scrapes_total for /metrics. */
void jd_pprof_metrics(struct evbuffer *b);

#endif
