/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_ops: the HTTP write endpoints (POST /api/v1/processes/{pid}/{decay,purge,set,
 * profile}); http.c hands every request to jd_http_ops_handle first.
 */
#ifndef JEMCTLD_HTTP_OPS_H
#define JEMCTLD_HTTP_OPS_H

#include <stdbool.h>

#include "call.h"
#include "http_parse.h" /* JD_HTTP_BODY_MAX, JD_HTTP_NAME_MAX */

struct evhttp_request;

/* Handles req if path is a write endpoint (answering it now or once the target has
 * answered) and returns true; false if the path is not one of them.  Allocates. */
bool jd_http_ops_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

/* Whether req may come from a browser page of this very server (no Origin, or an Origin
 * equal to the Host, an address literal or localhost): the CSRF check of the writes, also
 * used by DELETE /api/v1/profiles/{id} (store_http.c). */
bool jd_http_same_origin(struct evhttp_request *req);

/* The HTTP status (and its reason phrase) of a failed call: 403 denied, 404 gone, 504
 * timeout, the target's own refusals as 400, 501 or 503, anything else 502. */
int jd_http_call_status(const jd_call_result_t *r, const char **reason);

#endif
