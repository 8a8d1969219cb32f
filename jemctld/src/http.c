/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http: the evhttp server.  `/metrics` in the Prometheus text exposition format (0.0.4)
 * and `/api/v1/processes` (JSON); other paths are 404, methods other than GET and HEAD
 * 405.  Every request, whatever its path, first passes the Host check (host.h: DNS
 * rebinding).  Everything is built from the table the poller keeps: a request never waits
 * for a process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "manager.h"
#include "history.h"
#include "host.h"
#include "http_reply.h"
#include "prom.h"
#include "web.h"
#include "http_ops.h"
#include "http_parse.h"
#include "pprof_http.h"
#include "sd.h"
#include "select.h"
#include "store_http.h"
#include "targets.h"

static struct evhttp *http;

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct evbuffer *b, const char *name, const char *v, bool comma)
{
        evbuffer_add_printf(b, "%s%s=\"", comma ? "," : "", name);
        /* Runs of plain bytes in one call (a call per byte was the top of a scrape's
         * profile at 1,000 processes). */
        for (const char *c = v != NULL ? v : ""; *c != '\0';) {
                size_t run = strcspn(c, "\\\"\n");
                evbuffer_add(b, c, run);
                c += run;
                if (*c == '\0')
                        break;
                evbuffer_add(b, *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : "\\n", 2);
                c++;
        }
        evbuffer_add(b, "\"", 1);
}

static void build_labels(struct evbuffer *b, const jd_proc_t *p)
{
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", (int)p->pid);
        evbuffer_add(b, "{", 1);
        put_label(b, "pid", pid, false);
        const char *comm = json_string_value(json_object_get(p->info, "comm"));
        const char *cg = json_string_value(json_object_get(p->info, "cgroup"));
        put_label(b, "comm", comm, true);
        put_label(b, "cgroup", cg, true);
        size_t ulen = 0;
        const char *u = jd_cgroup_unit(cg, &ulen);
        if (u != NULL) {
                char unit[256];
                snprintf(unit, sizeof(unit), "%.*s", (int)ulen, u);
                put_label(b, "unit", unit, true);
        }
        evbuffer_add(b, "}", 1);
}

/* The label set of p, built once per `info` and kept in p->labels (a process's labels
 * go into every one of its series: rebuilding them was most of a scrape's time). */
static void put_labels(struct evbuffer *b, const jd_proc_t *cp)
{
        jd_proc_t *p = (jd_proc_t *)cp; /* the cache only */
        if (p->labels == NULL && p->info != NULL) {
                struct evbuffer *t = evbuffer_new();
                if (t != NULL) {
                        build_labels(t, p);
                        size_t n = evbuffer_get_length(t);
                        p->labels = malloc(n + 1);
                        if (p->labels != NULL) {
                                evbuffer_remove(t, p->labels, n);
                                p->labels[n] = '\0';
                        }
                        evbuffer_free(t);
                }
        }
        if (p->labels != NULL)
                evbuffer_add(b, p->labels, strlen(p->labels));
        else
                build_labels(b, p);
}

void jd_prom_labels(struct evbuffer *b, const jd_proc_t *p)
{
        put_labels(b, p);
}

static void put_number(struct evbuffer *b, const json_t *v)
{
        if (json_is_integer(v))
                evbuffer_add_printf(b, " %lld\n", (long long)json_integer_value(v));
        else
                evbuffer_add_printf(b, " %.17g\n", json_number_value(v));
}

static const struct {
        const char *name, *key, *help;
} gauges[] = {
        {"liballoc_allocated_bytes", "allocated", "Bytes allocated by the application."},
        {"liballoc_active_bytes", "active", "Bytes in active pages."},
        {"liballoc_resident_bytes", "resident", "Bytes in resident data pages of the allocator."},
        {"liballoc_mapped_bytes", "mapped", "Bytes in active extents mapped by the allocator."},
        {"liballoc_retained_bytes", "retained", "Bytes in virtual memory retained, not returned to the OS."},
        {"liballoc_metadata_bytes", "metadata", "Bytes of allocator metadata."},
        {"liballoc_rss_bytes", "rss", "Resident set size of the process in bytes."},
        {"liballoc_dirty_decay_seconds", "dirty_decay_ms", "Dirty page decay time (arenas.dirty_decay_ms / 1000); -1: never decays."},
        {"liballoc_muzzy_decay_seconds", "muzzy_decay_ms", "Muzzy page decay time (arenas.muzzy_decay_ms / 1000); -1: never decays."},
        {"liballoc_arenas", "narenas", "Number of arenas."},
};

/* Every process's series and the daemon's own, or (/metrics?pid=N) one process's only:
 * a scrape per process costs that process's series, not the whole table. */
static void metrics(const jd_manager_t *m, struct evbuffer *b, const jd_proc_t *one)
{
        for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
                bool head = false;
                for (const jd_proc_t *p = one != NULL ? one : m->procs; p != NULL;
                     p = one != NULL ? NULL : p->next) {
                        if (!jd_proc_visible(p) || p->stats == NULL || p->info == NULL)
                                continue;
                        json_t *v = json_object_get(p->stats, gauges[g].key);
                        if (!json_is_number(v))
                                continue;
                        if (!head) {
                                evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n",
                                                    gauges[g].name, gauges[g].help,
                                                    gauges[g].name);
                                head = true;
                        }
                        evbuffer_add_printf(b, "%s", gauges[g].name);
                        put_labels(b, p);
                        if (strstr(gauges[g].key, "_ms") != NULL) {
                                /* Base unit: seconds; -1 (never) stays -1. */
                                double ms = json_number_value(v);
                                evbuffer_add_printf(b, " %.17g\n", ms < 0 ? -1.0 : ms / 1000.0);
                        } else {
                                put_number(b, v);
                        }
                }
        }
        if (one != NULL) {
                jd_prom_more(m, b, one);
                return;
        }
        evbuffer_add_printf(b,
                            "# HELP jemctld_processes Processes with a trusted control socket.\n"
                            "# TYPE jemctld_processes gauge\n"
                            "jemctld_processes %zu\n"
                            "# HELP jemctld_poll_errors_total Polls that failed.\n"
                            "# TYPE jemctld_poll_errors_total counter\n"
                            "jemctld_poll_errors_total %llu\n"
                            "# HELP jemctld_polls_total Polls finished.\n"
                            "# TYPE jemctld_polls_total counter\n"
                            "jemctld_polls_total %llu\n"
                            "# HELP jemctld_poll_duration_seconds Duration of the last complete poll cycle.\n"
                            "# TYPE jemctld_poll_duration_seconds gauge\n"
                            "jemctld_poll_duration_seconds %.6f\n"
                            "# HELP jemctld_up Whether the daemon is up.\n"
                            "# TYPE jemctld_up gauge\n"
                            "jemctld_up 1\n",
                            jd_nprocs_visible(m), (unsigned long long)m->poll_errors,
                            (unsigned long long)m->polls, m->poll_duration);
        jd_prom_more(m, b, NULL);
}

/* ?pid=N of /metrics: 0 and *one (that process, or NULL without pid=), or answered with
 * 400 or 404. */
static int metrics_query(const jd_manager_t *m, struct evhttp_request *req,
                         const jd_proc_t **one)
{
        long pid;
        *one = NULL;
        const char *why =
                jd_parse_metrics_query(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)),
                                       &pid);
        if (why != NULL) {
                jd_reply_error(req, JSON_COMPACT, 400, "Bad Request", "bad_request", "%s", why);
                return -1;
        }
        jd_proc_t *p = jd_proc_find(m, (pid_t)pid);
        if (pid > 0 && (p == NULL || !jd_proc_visible(p))) {
                jd_reply_error(req, JSON_COMPACT, HTTP_NOTFOUND, "Not Found", "no_such_process",
                               "pid %ld is not a process this daemon knows", pid);
                return -1;
        }
        *one = pid > 0 ? p : NULL;
        return 0;
}

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

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *ctype, struct evbuffer *body)
{
        jd_reply_headers(req, ctype);
        jd_reply_send(req, code, reason, body);
}

static void handle(struct evhttp_request *req, void *arg)
{
        jd_manager_t *m = arg;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        if (!jd_host_check(m, req))
                return; /* a Host this server does not answer to (DNS rebinding): 421 */
        if (path != NULL && jd_http_ops_handle(m, req, path))
                return; /* POST /api/v1/processes/{pid}/{decay,purge,set,profile} */
        if (path != NULL && jd_store_http_handle(req, path))
                return; /* /api/v1/profiles[/{id}], the profile store (store_http.c) */
        if (path != NULL && jd_web_handle(m, req, path))
                return; /* the dashboard, /api/v1/history, /api/v1/groups (web.c) */
        if (path != NULL && jd_select_handle(m, req, path))
                return; /* /api/v1/select, jemctl's selectors (select.c) */
        if (path != NULL && jd_pprof_http_handle(m, req, path))
                return; /* /debug/pprof/heap, for scrapers (pprof_http.c) */
        if (path != NULL && jd_targets_handle(m, req, path))
                return; /* /api/v1/targets, Prometheus HTTP discovery (targets.c) */
        struct evbuffer *b = evbuffer_new();
        if (b == NULL) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        bool is_metrics = path != NULL && strcmp(path, "/metrics") == 0;
        bool is_procs = path != NULL && (strcmp(path, "/api/v1/processes") == 0);
        if (!is_metrics && !is_procs) {
                /* The JSON error form of every endpoint (docs/dashboards.md). */
                jd_reply_error(req, JSON_COMPACT, HTTP_NOTFOUND, "Not Found", "not_found",
                               "no such path; see jemctld(8), HTTP INTERFACE");
        } else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
                jd_reply_error(req, JSON_COMPACT, 405, "Method Not Allowed",
                               "method_not_allowed", "only GET and HEAD");
        } else if (is_metrics) {
                const jd_proc_t *one;
                if (metrics_query(m, req, &one) == 0) {
                        metrics(m, b, one);
                        reply_text(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8",
                                   b);
                }
        } else {
                char *s = processes_json(m);
                if (s == NULL) {
                        evbuffer_free(b);
                        evhttp_send_error(req, HTTP_INTERNAL, NULL);
                        return;
                }
                evbuffer_add(b, s, strlen(s));
                evbuffer_add(b, "\n", 1);
                free(s);
                reply_text(req, HTTP_OK, "OK", "application/json", b);
        }
        evbuffer_free(b);
}

int jd_http_start(jd_manager_t *m)
{
        http = evhttp_new(m->base);
        if (http == NULL)
                return -1;
        /* Accept every method so that we answer 405 ourselves (evhttp says 501). */
        evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                                 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                                 EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
        evhttp_set_timeout(http, 10);
        evhttp_set_max_headers_size(http, 16384);
        evhttp_set_max_body_size(http, 65536);
        evhttp_set_gencb(http, handle, m);
        int afd = jd_sd_listen_fd(); /* socket activation (jemctld.socket) */
        struct evhttp_bound_socket *bound =
                afd >= 0 ? evhttp_accept_socket_with_handle(http, afd)
                         : evhttp_bind_socket_with_handle(http, m->opt.http_host,
                                                          (ev_uint16_t)m->opt.http_port);
        if (bound == NULL ||
            jd_http_guard_start(m, http, evhttp_bound_socket_get_listener(bound)) != 0) {
                jd_http_stop();
                return -1;
        }
        return 0;
}

void jd_http_stop(void)
{
        jd_http_guard_stop();
        if (http != NULL)
                evhttp_free(http);
        http = NULL;
}
