/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web: the dashboard (`/` and the files under `/static/`, embedded at build time from jemctld/web/
 * by jemctld/web/embed.py) and the read-only JSON views behind it (`/api/v1/history`,
 * `/api/v1/groups`, `/api/v1/governor`, `/api/v1/events`).
 */
#ifndef JEMCTLD_WEB_H
#define JEMCTLD_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/http.h>

#include "manager.h"

/* One embedded file (the generated web-assets.c holds the table). */
typedef struct jd_asset {
        const char *path;  /* URL path: "/" for index.html, "/static/NAME" for the others */
        const char *ctype; /* Content-Type */
        const unsigned char *data;
        size_t len;
} jd_asset_t;

extern const jd_asset_t jd_web_assets[];
extern const size_t jd_web_nassets;

/* Answers req if path is one of the dashboard's (any method: 405 for all but GET and
 * HEAD) and returns true; false if the path is not ours (the caller routes it).  Never
 * blocks; allocates the reply. */
bool jd_web_handle(jd_manager_t *m, struct evhttp_request *req, const char *path);

#endif
