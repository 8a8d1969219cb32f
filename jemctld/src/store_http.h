/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_http: the profile store over HTTP (/api/v1/profiles...), see store_http.c.
 */
#ifndef JEMCTLD_STORE_HTTP_H
#define JEMCTLD_STORE_HTTP_H

#include <stdbool.h>

#include "store.h"

struct evhttp_request;

/* Handles req if path is /api/v1/profiles or below (answering it now) and returns true;
 * false if the path is not ours.  Allocates; a conversion reads the mapped files named
 * by the profile (symbols) in a child process, answered from m's loop. */
bool jd_store_http_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

/* Answers a capture into the store: 200 {"ok":true,"result":METADATA}, or the error
 * (409 busy, 403, 404 gone, 504 timeout, 502 target/bad dump, 507 too large or no space,
 * 500, 503) as {"ok":false,"error":{"code":RESULT,"message"}}. */
void jd_store_http_reply(struct evhttp_request *req, jd_store_result_t r, const jd_profile_t *pf,
                         const char *msg);
/* The same as a jd_store_cb_t, arg being the request. */
void jd_store_http_cb(jd_store_result_t r, const jd_profile_t *pf, const char *msg, void *arg);

#endif
