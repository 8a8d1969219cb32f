/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events: the ring of what jemctld did to processes (events.h).
 */
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "manager.h"

typedef struct event {
        double time; /* wall clock */
        pid_t pid;
        char kind[16], via[16], detail[160];
} event_t;

static event_t ring[JD_EVENTS_MAX];
static unsigned next, len;

void jd_event(pid_t pid, const char *kind, const char *via, const char *detail)
{
        event_t *e = &ring[next];
        next = (next + 1) % JD_EVENTS_MAX;
        if (len < JD_EVENTS_MAX)
                len++;
        e->time = jd_wall();
        e->pid = pid;
        snprintf(e->kind, sizeof(e->kind), "%s", kind);
        snprintf(e->via, sizeof(e->via), "%s", via);
        snprintf(e->detail, sizeof(e->detail), "%s", detail != NULL ? detail : "");
}

static double mib(const json_t *o, const char *key)
{
        return json_number_value(json_object_get(o, key)) / (1024.0 * 1024.0);
}

void jd_event_answer(pid_t pid, const char *kind, const char *via, const json_t *result,
                     const char *name)
{
        char d[160] = "";
        if (strcmp(kind, "decay") == 0 || strcmp(kind, "purge") == 0)
                snprintf(d, sizeof(d), "rss %.1f MiB -> %.1f MiB", mib(result, "rss_before"),
                         mib(result, "rss_after"));
        else if (strcmp(kind, "set") == 0)
                snprintf(d, sizeof(d), "%s", name != NULL ? name : "");
        else if (strcmp(kind, "profile") == 0)
                snprintf(d, sizeof(d), "heap profile, %.0f bytes",
                         json_number_value(json_object_get(result, "bytes")));
        jd_event(pid, kind, via, d);
}

json_t *jd_events_json(pid_t pid)
{
        json_t *arr = json_array();
        for (unsigned i = 0; i < len && arr != NULL; i++) {
                const event_t *e = &ring[(next + JD_EVENTS_MAX - len + i) % JD_EVENTS_MAX];
                if (pid > 0 && e->pid != pid)
                        continue;
                /* The detail may hold text from a process (a comm): a string that is not
                 * UTF-8 would make the document fail; such a detail is left out. */
                json_t *o = json_pack("{s:f,s:i,s:s,s:s}", "time", e->time, "pid", (int)e->pid,
                                      "kind", e->kind, "via", e->via);
                json_t *d = json_string(e->detail);
                if (o != NULL)
                        json_object_set_new(o, "detail", d != NULL ? d : json_string(""));
                json_array_append_new(arr, o);
        }
        return json_pack("{s:o}", "events", arr != NULL ? arr : json_array());
}
