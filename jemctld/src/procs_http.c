/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * procs_http: GET /api/v1/processes, the process table as JSON (each visible process's
 * pid, info, stats, last poll, last success, error and fragmentation figures), built from
 * the table the poller keeps: a request never waits for a process.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "history.h"
#include "http_reply.h"
#include "procs_http.h"

/* The visible processes, each with its latest figures, as indented JSON text (to free),
 * or NULL (out of memory). */
static char *processes_json(const jd_manager_t *m)
{
        json_t *arr = json_array();
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                if (!jd_proc_visible(p))
                        continue;
                json_t *o = json_object();
                json_object_set_new(o, "pid", json_integer(p->pid));
                json_object_set(o, "info", p->info != NULL ? p->info : json_null());
                json_object_set(o, "stats", p->stats != NULL ? p->stats : json_null());
                json_object_set_new(o, "last_poll",
                                    p->last_poll > 0 ? json_real(p->last_poll) : json_null());
                json_object_set_new(o, "last_ok",
                                    p->last_ok > 0 ? json_real(p->last_ok) : json_null());
                json_object_set_new(o, "error",
                                    p->error[0] != '\0' ? json_string(p->error) : json_null());
                json_object_set_new(o, "fragmentation", jd_frag_json(p->stats));
                json_array_append_new(arr, o);
        }
        char *s = json_dumps(arr, JSON_INDENT(1) | JSON_ENSURE_ASCII);
        json_decref(arr);
        return s;
}

bool jd_procs_http_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        if (strcmp(path, "/api/v1/processes") != 0)
                return false;
        if (!jd_reply_read_only(req))
                return true;
        char *s = processes_json(m);
        struct evbuffer *b = s != NULL ? evbuffer_new() : NULL;
        if (b == NULL) {
                free(s);
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return true;
        }
        evbuffer_add(b, s, strlen(s));
        evbuffer_add(b, "\n", 1);
        free(s);
        jd_reply_headers(req, "application/json");
        jd_reply_send(req, HTTP_OK, "OK", b);
        evbuffer_free(b);
        return true;
}
