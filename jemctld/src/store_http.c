/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_http: the HTTP side of the profile store.  GET /api/v1/profiles[?pid=N] lists the
 * stored profiles; GET /api/v1/profiles/{id}[?format=heap|pprof|folded|svg] downloads one,
 * converted with profconv; DELETE /api/v1/profiles/{id} removes one.  Downloads and
 * deletes need the same authorization as the write endpoints (authz.c): root or the
 * user the profiled process ran as.  Also the answer of POST .../profile {"store": true}
 * (http_ops.c starts the capture).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pc/profconv.h>

#include "authz.h"
#include "call.h"
#include "http_ops.h"
#include "http_parse.h"
#include "http_reply.h"
#include "jemctld.h"
#include "store.h"
#include "store_http.h"

/* Answers are indented (http_reply.c). */
#define STORE_JSON (JSON_INDENT(1) | JSON_ENSURE_ASCII)
#define reply_doc(req, code, reason, doc) jd_reply_json(req, code, reason, doc, STORE_JSON)
#define reply_err(req, ...) jd_reply_error(req, STORE_JSON, __VA_ARGS__)

void jd_store_http_reply(struct evhttp_request *req, jd_store_result_t r, const jd_profile_t *pf,
                         const char *msg)
{
        static const struct {
                int code;
                const char *reason;
        } st[JD_STORE_NRESULTS] = {
                [JD_STORE_OK] = {200, "OK"},
                [JD_STORE_BUSY] = {409, "Conflict"},
                [JD_STORE_DENIED] = {403, "Forbidden"},
                [JD_STORE_GONE] = {404, "Not Found"},
                [JD_STORE_TIMEOUT] = {504, "Gateway Timeout"},
                [JD_STORE_TARGET_FAILED] = {502, "Bad Gateway"},
                [JD_STORE_BAD_DUMP] = {502, "Bad Gateway"},
                [JD_STORE_TOO_LARGE] = {507, "Insufficient Storage"},
                [JD_STORE_NO_SPACE] = {507, "Insufficient Storage"},
                [JD_STORE_IO_ERROR] = {500, "Internal Server Error"},
                [JD_STORE_UNAVAILABLE] = {503, "Service Unavailable"},
        };
        if (r == JD_STORE_OK && pf != NULL)
                reply_doc(req, 200, "OK",
                          json_pack("{s:b,s:o}", "ok", 1, "result", jd_profile_json(pf)));
        else
                reply_err(req, st[r].code, st[r].reason, jd_store_result_name(r), "%s", msg);
}

void jd_store_http_cb(jd_store_result_t r, const jd_profile_t *pf, const char *msg, void *arg)
{
        jd_store_http_reply(arg, r, pf, msg);
}

/* ---- list --------------------------------------------------------------------------- */

static void list(struct evhttp_request *req, const char *query)
{
        long pid;
        const char *why = jd_parse_profiles_query(query, &pid);
        if (why != NULL) {
                reply_err(req, 400, "Bad Request", "bad_request", "%s", why);
                return;
        }
        json_t *arr = json_array();
        uint64_t bytes = 0;
        for (const jd_profile_t *p = jd_store_list(); p != NULL; p = p->next) {
                bytes += p->bytes;
                if (pid == 0 || p->pid == (pid_t)pid)
                        json_array_append_new(arr, jd_profile_json(p));
        }
        reply_doc(req, 200, "OK",
                  json_pack("{s:o,s:s,s:I,s:{s:i,s:I,s:I}}", "profiles", arr, "dir",
                            jd_store_opt.dir, "bytes", (json_int_t)bytes, "limits", "max_count",
                            (int)jd_store_opt.max_per_proc, "max_bytes",
                            (json_int_t)jd_store_opt.max_bytes_proc, "max_total",
                            (json_int_t)jd_store_opt.max_bytes_total));
}

/* ---- one profile -------------------------------------------------------------------- */

/* The caller may read or delete pf: 0, or answered with the error. */
static int allowed(struct evhttp_request *req, const jd_profile_t *pf)
{
        uid_t uid;
        int rc = jd_authz_http_uid(req, &uid);
        if (rc != 0) {
                reply_err(req, 403, "Forbidden", "permission_denied",
                          "cannot tell which user is asking (%s): refused", strerror(-rc));
                return -1;
        }
        if (uid != 0 && uid != pf->uid) {
                reply_err(req, 403, "Forbidden", "permission_denied",
                          "uid %u may not read or delete %s (the process ran as uid %u): only "
                          "root and its own user may",
                          (unsigned)uid, pf->id, (unsigned)pf->uid);
                return -1;
        }
        return 0;
}

/* Reads pf's dump into memory (bounded by the store's own limits). */
static char *read_dump(const jd_profile_t *pf, size_t *len, int *err)
{
        int fd = jd_store_open(pf);
        if (fd < 0) {
                *err = -fd;
                return NULL;
        }
        char *buf = jd_read_blob(fd, pf->bytes, err);
        close(fd);
        *len = buf != NULL ? pf->bytes : 0;
        return buf;
}

/* pc_write_* of the dump: 0 with out filled, or answered with the error. */
static int convert(struct evhttp_request *req, const jd_profile_t *pf, const char *fmt,
                   const char *buf, size_t len, pc_buf_t *out)
{
        pc_profile_t prof;
        pc_resolved_t res;
        pc_error_t err = {0};
        int rc = pc_heap_parse(buf, len, &prof, &err);
        if (rc != 0) {
                reply_err(req, 422, "Unprocessable Entity", "bad_profile",
                          "%s is not a heap_v2 profile: line %u: %s", pf->id, err.line, err.msg);
                return -1;
        }
        /* Symbols from the mapped files as this host has them now (the process may be
         * gone: its /proc/PID/root with it). */
        pc_resolve_opts_t o = {0};
        rc = pc_resolve(&prof, &o, &res, &err);
        pc_profile_free(&prof);
        if (rc != 0) {
                reply_err(req, 500, "Internal Server Error", "internal", "%s: %s", pf->id, err.msg);
                return -1;
        }
        char title[200];
        snprintf(title, sizeof(title), "%s (pid %d) %s", pf->comm, (int)pf->pid, pf->id);
        if (strcmp(fmt, "pprof") == 0)
                rc = pc_write_pprof(&res, out, &err);
        else if (strcmp(fmt, "folded") == 0)
                rc = pc_write_folded(&res, out, &err);
        else
                rc = pc_write_svg(&res, title, out, &err);
        pc_resolved_free(&res);
        if (rc != 0 || out->failed) {
                pc_buf_free(out);
                reply_err(req, 500, "Internal Server Error", "internal", "%s: converting: %s",
                          pf->id, err.msg[0] != '\0' ? err.msg : "out of memory");
                return -1;
        }
        return 0;
}

static void download(struct evhttp_request *req, const jd_profile_t *pf, const char *query)
{
        char fmt[16];
        const char *why = jd_parse_format_query(query, fmt, sizeof(fmt));
        if (why != NULL) {
                reply_err(req, 400, "Bad Request", "bad_request", "%s", why);
                return;
        }
        static const struct {
                const char *fmt, *ctype, *ext;
        } kinds[] = {
                {"heap", "application/octet-stream", "heap"},
                {"pprof", "application/octet-stream", "pb.gz"},
                {"folded", "text/plain; charset=utf-8", "folded"},
                {"svg", "image/svg+xml", "svg"},
        };
        size_t k = 0;
        while (k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[k].fmt, fmt) != 0)
                k++;
        if (k == sizeof(kinds) / sizeof(kinds[0])) {
                reply_err(req, 400, "Bad Request", "bad_request",
                          "format must be heap, pprof, folded or svg");
                return;
        }
        if (allowed(req, pf) != 0)
                return;
        size_t len = 0;
        int err = 0;
        char *buf = read_dump(pf, &len, &err);
        if (buf == NULL) {
                reply_err(req, 500, "Internal Server Error", "io_error", "reading %s: %s", pf->id,
                          strerror(err));
                return;
        }
        struct evbuffer *b = evbuffer_new();
        pc_buf_t out = {0};
        if (k > 0 && convert(req, pf, fmt, buf, len, &out) != 0) {
                free(buf);
                if (b != NULL)
                        evbuffer_free(b);
                return;
        }
        if (b == NULL) {
                free(buf);
                pc_buf_free(&out);
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        if (k == 0)
                evbuffer_add(b, buf, len);
        else
                evbuffer_add(b, out.data, out.len);
        free(buf);
        pc_buf_free(&out);
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char disp[160];
        snprintf(disp, sizeof(disp), "%s; filename=\"%s.%s\"", k == 3 ? "inline" : "attachment",
                 pf->id, kinds[k].ext);
        evhttp_add_header(h, "Content-Type", kinds[k].ctype);
        evhttp_add_header(h, "Content-Disposition", disp);
        evhttp_add_header(h, "Cache-Control", "no-store");
        /* The flame graph carries names from the profiled program: no scripts, ever. */
        evhttp_add_header(h, "Content-Security-Policy",
                          "default-src 'none'; style-src "
                          "'unsafe-inline'");
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        evhttp_send_reply(req, HTTP_OK, "OK", b);
        evbuffer_free(b);
}

static void delete_one(struct evhttp_request *req, const jd_profile_t *pf)
{
        if (!jd_http_same_origin(req)) {
                reply_err(req, 403, "Forbidden", "permission_denied",
                          "requests from another site's page are refused");
                return;
        }
        if (allowed(req, pf) != 0)
                return;
        char id[JD_STORE_ID_MAX];
        snprintf(id, sizeof(id), "%s", pf->id);
        int rc = jd_store_delete(pf);
        if (rc != 0) {
                reply_err(req, 500, "Internal Server Error", "io_error", "deleting %s: %s", id,
                          strerror(-rc));
                return;
        }
        jd_log("profile store: %s deleted over HTTP", id);
        reply_doc(req, 200, "OK", json_pack("{s:b,s:{s:s}}", "ok", 1, "result", "deleted", id));
}

bool jd_store_http_handle(struct evhttp_request *req, const char *path)
{
        static const char pre[] = "/api/v1/profiles";
        if (strncmp(path, pre, sizeof(pre) - 1) != 0 ||
            (path[sizeof(pre) - 1] != '\0' && path[sizeof(pre) - 1] != '/'))
                return false;
        const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        const char *id = path[sizeof(pre) - 1] == '/' ? path + sizeof(pre) : NULL;
        bool get = cmd == EVHTTP_REQ_GET;
        if (id == NULL || id[0] == '\0') {
                if (!get) {
                        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
                        reply_err(req, 405, "Method Not Allowed", "method_not_allowed",
                                  "%s takes GET", path);
                        return true;
                }
                list(req, query);
                return true;
        }
        if (!get && cmd != EVHTTP_REQ_DELETE) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, DELETE");
                reply_err(req, 405, "Method Not Allowed", "method_not_allowed",
                          "a profile takes GET or DELETE");
                return true;
        }
        const jd_profile_t *pf = strlen(id) < JD_STORE_ID_MAX ? jd_store_find(id) : NULL;
        if (pf == NULL) {
                reply_err(req, 404, "Not Found", "no_such_profile",
                          "no stored profile has this id");
                return true;
        }
        if (get)
                download(req, pf, query);
        else
                delete_one(req, pf);
        return true;
}
