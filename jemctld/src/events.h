/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events: what jemctld did to processes, for the dashboard's marks and GET /api/v1/events:
 * decay, purge and set through HTTP or D-Bus, heap profile dumps and captures, and the
 * memory governor's purges.  A ring of the last JD_EVENTS_MAX, oldest dropped first.
 */
#ifndef JEMCTLD_EVENTS_H
#define JEMCTLD_EVENTS_H

#include <sys/types.h>

#include <jansson.h>

#define JD_EVENTS_MAX 256

/* Records that kind ("decay", "purge", "set", "profile", "capture", "pressure") was done
 * to pid now; detail is one short line (cut at 160 bytes), via says through what ("http",
 * "dbus", "policy", "governor", ...). */
void jd_event(pid_t pid, const char *kind, const char *via, const char *detail);

/* jd_event for the answer of a write request: the detail from its result (decay and
 * purge: RSS before and after; set: name; profile: the size). */
void jd_event_answer(pid_t pid, const char *kind, const char *via, const json_t *result,
                     const char *name);

/* {"events": [{"time", "pid", "kind", "via", "detail"}, ...]} oldest first; only pid's
 * when pid > 0. */
json_t *jd_events_json(pid_t pid);

#endif
