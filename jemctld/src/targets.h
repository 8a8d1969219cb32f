/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * targets: GET /api/v1/targets, the processes as Prometheus HTTP service discovery reads
 * them (targets.c), so a scrape configuration pointing at jemctld finds every process.
 */
#ifndef JEMCTLD_TARGETS_H
#define JEMCTLD_TARGETS_H

#include <stdbool.h>

#include "manager.h"

struct evhttp_request;

/* Answers the request if path is /api/v1/targets and returns true; false for any other
 * path.  Allocates; never blocks. */
bool jd_targets_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

#endif
