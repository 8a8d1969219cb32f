/*
 * select: GET /api/v1/select, which processes jemctl's selectors (--comm, --unit, --all)
 * match (select.c).
 */
#ifndef JEMCTLD_SELECT_H
#define JEMCTLD_SELECT_H

#include <stdbool.h>

struct evhttp_request;

/* Answers the request if path is /api/v1/select (200 with the JSON document, 405 for a
 * method other than GET or HEAD, 400 for a bad query, 500 out of memory) and returns
 * true; false for any other path.  Allocates; never blocks. */
bool jd_select_handle(struct evhttp_request *req, const char *path);

/* The document: {"runtime_dir": DIR, "processes": [{"pid", "comm", "cgroup", "unit",
 * "allocated", "active", "resident", "rss", "dirty_decay_ms", "muzzy_decay_ms",
 * "socket", "error"}, ...]} for the visible processes matching comm and unit (NULL: any).
 * NULL if out of memory; free() the result. */
char *jd_select_json(const char *comm, const char *unit);

#endif
