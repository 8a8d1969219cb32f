/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * targets: GET /api/v1/targets[?comm=NAME][&unit=UNIT] lists the visible processes in the
 * format of Prometheus's HTTP service discovery (http_sd_configs), one target group per
 * process:
 *
 *   [{"targets": ["HOST:PORT"], "labels": {"pid": "123", "comm": "redis-server",
 *     "unit": "redis-server.service", "exe": "/usr/bin/redis-server",
 *     "service_name": "redis-server.service", "__metrics_path__": "/debug/pprof/heap",
 *     "__param_pid": "123"}}, ...]
 *
 * The target is this server as the client addressed it (its Host header, which the Host
 * check has already accepted), so a scraper configured with the discovery URL reaches each
 * process's heap profile (pprof_http.c) with no relabelling; a Prometheus job relabels
 * __metrics_path__ to /metrics to get each process's series alone (prom.c).  unit is
 * left out for a process outside any systemd unit; service_name (what Pyroscope names a
 * profile's application) is the unit, else the comm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "history.h"
#include "http_reply.h"
#include "manager.h"
#include "select.h"
#include "targets.h"

#define reply_err(req, ...) jd_reply_error(req, JSON_COMPACT | JSON_ENSURE_ASCII, __VA_ARGS__)

/* A label value: the text as is when it is UTF-8, else escaped (jd_escape) to ASCII. */
static void set_label(json_t *labels, const char *name, const char *v, size_t len)
{
        char buf[4096 * 4 + 1];
        json_t *s = json_stringn(v, len);
        if (s == NULL) {
                char raw[4097];
                snprintf(raw, sizeof(raw), "%.*s", (int)len, v);
                jd_escape(buf, sizeof(buf), raw);
                s = json_string(buf);
        }
        if (s != NULL)
                json_object_set_new(labels, name, s);
}

/* "HOST:PORT" of this server as the client reached it. */
static void self_address(const jd_manager_t *m, struct evhttp_request *req, char *out, size_t cap)
{
        const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
        if (host != NULL && host[0] != '\0') {
                snprintf(out, cap, "%s", host);
                return;
        }
        /* HTTP/1.0 without Host: the address the connection came in on. */
        struct evhttp_connection *c = evhttp_request_get_connection(req);
        struct bufferevent *bev = c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char a[64] = "127.0.0.1";
        unsigned port = m->opt.http_port;
        if (bev != NULL && getsockname(bufferevent_getfd(bev), (struct sockaddr *)&ss, &sl) == 0) {
                ev_uint16_t p = 0;
                if (ss.ss_family == AF_INET) {
                        const struct sockaddr_in *in = (const void *)&ss;
                        evutil_inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
                        p = ntohs(in->sin_port);
                } else if (ss.ss_family == AF_INET6) {
                        const struct sockaddr_in6 *in6 = (const void *)&ss;
                        a[0] = '[';
                        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, a + 1, sizeof(a) - 2);
                        strcat(a, "]");
                        p = ntohs(in6->sin6_port);
                }
                port = p;
        }
        snprintf(out, cap, "%s:%u", a, port);
}

static json_t *group(const jd_proc_t *p, const char *addr)
{
        char comm[64], cg[4096], pid[16];
        jd_select_identity(p, comm, sizeof(comm), cg, sizeof(cg));
        snprintf(pid, sizeof(pid), "%d", (int)p->pid);
        json_t *labels = json_object();
        set_label(labels, "pid", pid, strlen(pid));
        set_label(labels, "comm", comm, strlen(comm));
        size_t ulen = 0;
        const char *unit = jd_cgroup_unit(cg, &ulen);
        if (unit != NULL)
                set_label(labels, "unit", unit, ulen);
        const char *exe = json_string_value(json_object_get(p->info, "exe"));
        if (exe != NULL)
                set_label(labels, "exe", exe, strlen(exe));
        if (unit != NULL)
                set_label(labels, "service_name", unit, ulen);
        else
                set_label(labels, "service_name", comm, strlen(comm));
        json_object_set_new(labels, "__metrics_path__", json_string("/debug/pprof/heap"));
        set_label(labels, "__param_pid", pid, strlen(pid));
        return json_pack("{s:[s],s:o}", "targets", addr, "labels", labels);
}

bool jd_targets_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        if (strcmp(path, "/api/v1/targets") != 0)
                return false;
        if (!jd_reply_read_only(req))
                return true;
        struct evkeyvalq q;
        const char *comm, *unit;
        const char *why = jd_select_query(req, &q, &comm, &unit);
        if (why != NULL) {
                reply_err(req, 400, "Bad Request", "bad_request", "%s", why);
                return true;
        }
        char addr[300];
        self_address(m, req, addr, sizeof(addr));
        json_t *arr = json_array();
        for (jd_proc_t *p = m->procs; p != NULL && arr != NULL; p = p->next)
                if (jd_proc_visible(p) && jd_select_matches(p, comm, unit))
                        json_array_append_new(arr, group(p, addr));
        evhttp_clear_headers(&q);
        struct evbuffer *b = jd_reply_json_buffer(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
        jd_reply_ok_json(req, b);
        return true;
}
