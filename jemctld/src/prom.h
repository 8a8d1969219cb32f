/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prom: `/metrics`, the Prometheus text exposition format (prom.c owns all of it).
 */
#ifndef JEMCTLD_PROM_H
#define JEMCTLD_PROM_H

#include <stdbool.h>

#include <event2/http.h>

#include "manager.h"

/* GET or HEAD /metrics[?pid=N]: every process's series and the daemon's own, or one
 * process's only (400 for a bad query, 404 for a pid this daemon does not know, 405 for
 * other methods).  False if path is not /metrics (nothing answered).  Reads /proc/self;
 * allocates. */
bool jd_prom_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

#endif
