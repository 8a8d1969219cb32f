/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * procs_http: GET /api/v1/processes (procs_http.c).
 */
#ifndef JEMCTLD_PROCS_HTTP_H
#define JEMCTLD_PROCS_HTTP_H

#include <stdbool.h>

#include <event2/http.h>

#include "manager.h"

/* GET or HEAD /api/v1/processes: every visible process as JSON (405 for other methods).
 * False if path is not /api/v1/processes (nothing answered). */
bool jd_procs_http_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

#endif
