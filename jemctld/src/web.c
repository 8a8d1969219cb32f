/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web: serves the embedded dashboard and its read-only JSON views.  The page is static
 * (HTML, CSS and one script, no external asset) under a strict Content-Security-Policy:
 * scripts and styles only from this origin, no inline code, requests only to this
 * origin.  Every figure comes from /api/v1/... at run time, so nothing a process
 * controls (comm, cmdline) is ever written into markup by the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "events.h"
#include "governor.h"
#include "history.h"
#include "http_parse.h"
#include "http_reply.h"
#include "web.h"

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                  struct evbuffer *body, bool page)
{
        jd_reply_headers(req, ctype);
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        if (page) {
                evhttp_add_header(h, "Content-Security-Policy", csp);
                evhttp_add_header(h, "X-Frame-Options", "DENY");
                evhttp_add_header(h, "Referrer-Policy", "no-referrer");
        }
        jd_reply_send(req, code, reason, body);
}

/* A JSON document (stolen), or the error form {"ok": false, "error": {...}} if doc is
 * NULL. */
static void send_json(struct evhttp_request *req, int code, const char *reason, json_t *doc,
                      const char *ecode, const char *emsg)
{
        if (doc == NULL)
                doc = jd_reply_error_doc(ecode, emsg);
        struct evbuffer *b = jd_reply_json_buffer(doc, JSON_COMPACT | JSON_ENSURE_ASCII |
                                                               JSON_REAL_PRECISION(13));
        if (b == NULL) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        reply(req, code, reason, "application/json", b, false);
        evbuffer_free(b);
}

static void bad_request(struct evhttp_request *req, const char *msg)
{
        send_json(req, HTTP_BADREQUEST, "Bad Request", NULL, "bad_request", msg);
}

static void not_found(struct evhttp_request *req, const char *msg)
{
        send_json(req, HTTP_NOTFOUND, "Not Found", NULL, "not_found", msg);
}

/* GET /api/v1/history?pid=N | ?comm=NAME | ?unit=UNIT (exactly one). */
static void history(const jd_manager_t *m, struct evhttp_request *req, struct evkeyvalq *q)
{
        pid_t pid;
        const char *by, *key;
        const char *why = jd_parse_history_query(q, &pid, &by, &key);
        if (why != NULL) {
                bad_request(req, why);
                return;
        }
        if (pid > 0) {
                json_t *d = jd_history_pid_json(m, pid);
                if (d == NULL)
                        not_found(req, "no history for this pid (not a known process, or "
                                       "not polled yet)");
                else
                        send_json(req, HTTP_OK, "OK", d, NULL, NULL);
                return;
        }
        json_t *d = jd_history_group_json(m, by, key);
        if (d == NULL)
                not_found(req, "no process with a history in this group");
        else
                send_json(req, HTTP_OK, "OK", d, NULL, NULL);
}

/* GET /api/v1/events[?pid=N]: what jemctld did to processes (events.h). */
static void events(struct evhttp_request *req, struct evkeyvalq *q)
{
        pid_t pid;
        const char *why = jd_parse_events_query(q, &pid);
        if (why != NULL) {
                bad_request(req, why);
                return;
        }
        send_json(req, HTTP_OK, "OK", jd_events_json(pid), "internal", "out of memory");
}

/* GET /api/v1/groups?by=comm|unit */
static void groups(const jd_manager_t *m, struct evhttp_request *req, struct evkeyvalq *q)
{
        const char *by;
        const char *why = jd_parse_groups_query(q, &by);
        if (why != NULL) {
                bad_request(req, why);
                return;
        }
        send_json(req, HTTP_OK, "OK", jd_groups_json(m, by), "internal", "out of memory");
}

static const jd_asset_t *asset(const char *path)
{
        if (strcmp(path, "/index.html") == 0)
                path = "/";
        for (size_t i = 0; i < jd_web_nassets; i++)
                if (strcmp(jd_web_assets[i].path, path) == 0)
                        return &jd_web_assets[i];
        return NULL;
}

bool jd_web_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        bool is_hist = strcmp(path, "/api/v1/history") == 0;
        bool is_groups = strcmp(path, "/api/v1/groups") == 0;
        bool is_gov = strcmp(path, "/api/v1/governor") == 0;
        bool is_events = strcmp(path, "/api/v1/events") == 0;
        const jd_asset_t *a = is_hist || is_groups || is_gov || is_events ? NULL : asset(path);
        if (!is_hist && !is_groups && !is_gov && !is_events && a == NULL)
                return false;
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
                send_json(req, 405, "Method Not Allowed", NULL, "method_not_allowed",
                          "only GET and HEAD");
                return true;
        }
        if (a != NULL) {
                struct evbuffer *b = evbuffer_new();
                if (b == NULL) {
                        evhttp_send_error(req, HTTP_INTERNAL, NULL);
                        return true;
                }
                /* The data is static: no copy. */
                evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
                reply(req, HTTP_OK, "OK", a->ctype, b, true);
                evbuffer_free(b);
                return true;
        }
        if (is_gov) { /* the governor's settings, cgroups and last actions (the marks) */
                send_json(req, HTTP_OK, "OK", jd_governor_json(), "internal", "out of memory");
                return true;
        }
        struct evkeyvalq q;
        TAILQ_INIT(&q);
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char *qs = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
        if (qs != NULL && evhttp_parse_query_str(qs, &q) != 0) {
                evhttp_clear_headers(&q);
                bad_request(req, "malformed query string");
                return true;
        }
        if (is_hist)
                history(m, req, &q);
        else if (is_events)
                events(req, &q);
        else
                groups(m, req, &q);
        evhttp_clear_headers(&q);
        return true;
}
