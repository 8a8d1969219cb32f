/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http: the evhttp server and its routing, nothing else: every request, whatever its
 * path, first passes the Host check (host.h: DNS rebinding), then goes to the module that
 * owns the path (each answers its own methods and errors); other paths are 404.  The
 * connections are guarded by http_guard.c.
 */
#include <event2/http.h>

#include "host.h"
#include "http_ops.h"
#include "http_reply.h"
#include "manager.h"
#include "pprof_http.h"
#include "procs_http.h"
#include "prom.h"
#include "sd.h"
#include "select.h"
#include "store_http.h"
#include "targets.h"
#include "web.h"

static struct evhttp *http;

/* Every request: the Host check, then the module that owns the path; 404 if none. */
static void handle(struct evhttp_request *req, void *arg)
{
        jd_manager_t *m = arg;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
        if (!jd_host_check(m, req))
                return; /* a Host this server does not answer to (DNS rebinding): 421 */
        if (path != NULL && jd_http_ops_handle(m, req, path))
                return; /* POST /api/v1/processes/{pid}/{decay,purge,set,profile} */
        if (path != NULL && jd_store_http_handle(m, req, path))
                return; /* /api/v1/profiles[/{id}], the profile store (store_http.c) */
        if (path != NULL && jd_web_handle(m, req, path))
                return; /* the dashboard, /api/v1/history, /api/v1/groups (web.c) */
        if (path != NULL && jd_select_handle(m, req, path))
                return; /* /api/v1/select, jemctl's selectors (select.c) */
        if (path != NULL && jd_pprof_http_handle(m, req, path))
                return; /* /debug/pprof/heap, for scrapers (pprof_http.c) */
        if (path != NULL && jd_targets_handle(m, req, path))
                return; /* /api/v1/targets, Prometheus HTTP discovery (targets.c) */
        if (path != NULL && jd_prom_handle(m, req, path))
                return; /* /metrics (prom.c) */
        if (path != NULL && jd_procs_http_handle(m, req, path))
                return; /* /api/v1/processes (procs_http.c) */
        /* The JSON error form of every endpoint (docs/dashboards.md). */
        jd_reply_error(req, JSON_COMPACT, HTTP_NOTFOUND, "Not Found", "not_found",
                       "no such path; see jemctld(8), HTTP INTERFACE");
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
