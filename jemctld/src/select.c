/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * select: GET /api/v1/select[?comm=NAME][&unit=UNIT], the daemon's side of jemctl's
 * selectors.  Names the trusted processes whose comm and systemd unit (a component of
 * the cgroup path) match, with the few figures `jemctl ps` shows, and the runtime
 * directory watched, so jemctl can tell whether it is the one it would scan.  The rules
 * are those of jemctl's own scan (jemctl/src/select.c): both must give the same answer.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jcl/sock.h>

#include "http_parse.h"
#include "http_reply.h"
#include "history.h"
#include "manager.h"
#include "jp/proto.h"
#include "select.h"

/* comm and cgroup of a process: from its `info` when known, else from /proc (a process
 * found but not polled yet, or one whose v2 path is the root on a hybrid host). */
void jd_select_identity(const jd_proc_t *p, char *comm, size_t ccap, char *cg, size_t gcap)
{
        const char *ic = json_string_value(json_object_get(p->info, "comm"));
        const char *ig = json_string_value(json_object_get(p->info, "cgroup"));
        if (ic != NULL)
                snprintf(comm, ccap, "%s", ic);
        else
                jcl_proc_comm(p->pid, comm, ccap);
        if (ig != NULL && strcmp(ig, "/") != 0)
                snprintf(cg, gcap, "%s", ig);
        else if (!jcl_proc_cgroup(p->pid, cg, gcap) && ig != NULL)
                snprintf(cg, gcap, "%s", ig);
}

bool jd_select_matches(const jd_proc_t *p, const char *comm, const char *unit)
{
        char c[64], cg[4096];
        jd_select_identity(p, c, sizeof(c), cg, sizeof(cg));
        return (comm == NULL || jp_comm_matches(c, comm)) &&
               (unit == NULL || jp_unit_matches(cg, unit));
}

/* The unit (history.c's rule), or null. */
static json_t *unit_of(const char *cg)
{
        size_t n;
        const char *u = jd_cgroup_unit(cg, &n);
        return u != NULL ? json_stringn(u, n) : json_null();
}

char *jd_select_json(const jd_manager_t *m, const char *comm, const char *unit)
{
        static const char *const keys[] = {"allocated", "active",         "resident",
                                           "rss",       "dirty_decay_ms", "muzzy_decay_ms"};
        json_t *arr = json_array();
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                if (!jd_proc_visible(p))
                        continue;
                char c[64], cg[4096];
                jd_select_identity(p, c, sizeof(c), cg, sizeof(cg));
                if ((comm != NULL && !jp_comm_matches(c, comm)) ||
                    (unit != NULL && !jp_unit_matches(cg, unit)))
                        continue;
                json_t *o = json_object();
                json_object_set_new(o, "pid", json_integer(p->pid));
                json_object_set_new(o, "comm", c[0] ? json_string(c) : json_null());
                json_object_set_new(o, "cgroup", cg[0] ? json_string(cg) : json_null());
                json_object_set_new(o, "unit", unit_of(cg));
                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                        json_t *v = json_object_get(p->stats, keys[i]);
                        json_object_set(o, keys[i], json_is_integer(v) ? v : json_null());
                }
                char sock[4200];
                if (p->sock[0] != '\0') /* the name that served it ("<pid>.<hex>.sock"?) */
                        snprintf(sock, sizeof(sock), "%s/%s", m->opt.runtime_dir, p->sock);
                else
                        snprintf(sock, sizeof(sock), "%s/%d.sock", m->opt.runtime_dir,
                                 (int)p->pid);
                json_object_set_new(o, "socket", json_string(sock));
                json_object_set_new(o, "error",
                                    p->error[0] != '\0' ? json_string(p->error) : json_null());
                json_array_append_new(arr, o);
        }
        json_t *doc = json_pack("{s:s,s:o}", "runtime_dir", m->opt.runtime_dir, "processes", arr);
        char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(doc);
        return s;
}

const char *jd_select_query(struct evhttp_request *req, struct evkeyvalq *q, const char **comm,
                            const char **unit)
{
        return jd_parse_select_query(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)),
                                     q, comm, unit);
}

bool jd_select_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        if (strcmp(path, "/api/v1/select") != 0)
                return false;
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
                evhttp_add_header(out, "Allow", "GET, HEAD");
                evhttp_send_error(req, 405, "Method Not Allowed");
                return true;
        }
        struct evkeyvalq q;
        const char *comm, *unit;
        const char *why = jd_select_query(req, &q, &comm, &unit);
        if (why != NULL) {
                evhttp_send_error(req, HTTP_BADREQUEST, why);
                return true;
        }
        struct evbuffer *b = jd_reply_text_buffer(jd_select_json(m, comm, unit));
        evhttp_clear_headers(&q);
        jd_reply_ok_json(req, b);
        return true;
}
