/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_http: the HTTP side of the profile store.  GET /api/v1/profiles[?pid=N] lists the
 * stored profiles; GET /api/v1/profiles/{id}[?format=heap|pprof|folded|svg] downloads one,
 * converted with profconv in a child process (convert.c: the loop goes on meanwhile, the
 * conversion has a deadline), its mapped files read only as the profiled process could;
 * DELETE /api/v1/profiles/{id} removes one.  Downloads and
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
#include "convert.h"
#include "http_ops.h"
#include "http_parse.h"
#include "http_reply.h"
#include "manager.h"
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

/* One download being converted: what the child needs, and the request to answer. */
typedef struct download {
        struct evhttp_request *req;
        int fd; /* the stored dump */
        uint64_t bytes;
        size_t kind;       /* index in kinds[] */
        pc_creds_t creds;  /* the profiled process's, for its mapped files */
        char id[JD_STORE_ID_MAX];
        char title[200];
} download_t;

static const struct {
        const char *fmt, *ctype, *ext;
} kinds[] = {
        {"heap", "application/octet-stream", "heap"},
        {"pprof", "application/octet-stream", "pb.gz"},
        {"folded", "text/plain; charset=utf-8", "folded"},
        {"svg", "image/svg+xml", "svg"},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* In the conversion's child (convert.h): the dump to kinds[d->kind]. */
static void convert(void *arg, pc_buf_t *out, jd_conv_status_t *st)
{
        const download_t *d = arg;
        int err = 0;
        char *buf = jd_read_blob(d->fd, d->bytes, &err);
        if (buf == NULL) {
                jd_conv_fail(st, 500, "Internal Server Error", "io_error", "reading %s: %s",
                             d->id, strerror(err));
                return;
        }
        pc_profile_t prof;
        pc_resolved_t res;
        pc_error_t e = {0};
        int rc = pc_heap_parse(buf, d->bytes, &prof, &e);
        free(buf);
        if (rc != 0) {
                jd_conv_fail(st, 422, "Unprocessable Entity", "bad_profile",
                             "%s is not a heap_v2 profile: line %u: %s", d->id, e.line, e.msg);
                return;
        }
        /* Symbols from the mapped files as this host has them now (the process may be
         * gone: its /proc/PID/root with it), and only those its user could read. */
        pc_resolve_opts_t o = {.creds = &d->creds};
        rc = pc_resolve(&prof, &o, &res, &e);
        pc_profile_free(&prof);
        if (rc != 0) {
                jd_conv_fail(st, 500, "Internal Server Error", "internal", "%s: %s", d->id, e.msg);
                return;
        }
        st->refused = res.nrefused;
        if (d->kind == 1)
                rc = pc_write_pprof(&res, out, &e);
        else if (d->kind == 2)
                rc = pc_write_folded(&res, out, &e);
        else
                rc = pc_write_svg(&res, d->title, out, &e);
        pc_resolved_free(&res);
        if (rc != 0)
                jd_conv_fail(st, 500, "Internal Server Error", "internal", "%s: converting: %s",
                             d->id, e.msg[0] != '\0' ? e.msg : "out of memory");
}

static void send_body(struct evhttp_request *req, size_t k, const char *id, struct evbuffer *b)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char disp[160];
        snprintf(disp, sizeof(disp), "%s; filename=\"%s.%s\"", k == 3 ? "inline" : "attachment", id,
                 kinds[k].ext);
        evhttp_add_header(h, "Content-Type", kinds[k].ctype);
        evhttp_add_header(h, "Content-Disposition", disp);
        evhttp_add_header(h, "Cache-Control", "no-store");
        /* The flame graph carries names from the profiled program: no scripts, ever. */
        evhttp_add_header(h, "Content-Security-Policy",
                          "default-src 'none'; style-src "
                          "'unsafe-inline'");
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        evhttp_send_reply(req, HTTP_OK, "OK", b);
}

/* From the loop, when the child is done. */
static void converted(const jd_conv_status_t *st, struct evbuffer *body, void *arg)
{
        download_t *d = arg;
        if (st->http != 200) {
                reply_err(d->req, st->http, st->reason, st->code, "%s", st->msg);
        } else {
                char n[32];
                snprintf(n, sizeof(n), "%" PRIu64, st->refused);
                /* How many mapped files were not read for the process's credentials. */
                evhttp_add_header(evhttp_request_get_output_headers(d->req),
                                  "X-Symbols-Refused-Files", n);
                send_body(d->req, d->kind, d->id, body);
        }
        if (body != NULL)
                evbuffer_free(body);
        close(d->fd);
        free(d);
}

/* The raw dump, read here: bounded by the store's limits, no conversion. */
static void send_raw(struct evhttp_request *req, const jd_profile_t *pf, int fd)
{
        int err = 0;
        char *buf = jd_read_blob(fd, pf->bytes, &err);
        struct evbuffer *b = buf != NULL ? evbuffer_new() : NULL;
        if (b == NULL || evbuffer_add(b, buf, pf->bytes) != 0) {
                reply_err(req, 500, "Internal Server Error", "io_error", "reading %s: %s", pf->id,
                          strerror(buf == NULL ? err : ENOMEM));
        } else {
                send_body(req, 0, pf->id, b);
        }
        if (b != NULL)
                evbuffer_free(b);
        free(buf);
}

/* Starts the conversion of pf's dump (fd, taken) to kinds[k] on m's loop, answered when
 * done. */
static void start_convert(jd_manager_t *m, struct evhttp_request *req, const jd_profile_t *pf,
                          size_t k, int fd)
{
        download_t *d = calloc(1, sizeof(*d));
        if (d == NULL) {
                close(fd);
                reply_err(req, 500, "Internal Server Error", "internal", "out of memory");
                return;
        }
        *d = (download_t){.req = req, .fd = fd, .bytes = pf->bytes, .kind = k};
        jd_profile_creds(pf, &d->creds);
        snprintf(d->id, sizeof(d->id), "%s", pf->id);
        snprintf(d->title, sizeof(d->title), "%s (pid %d) %s", pf->comm, (int)pf->pid, pf->id);
        int rc = jd_convert_start(m, convert, converted, d);
        if (rc == 0)
                return;
        close(fd);
        free(d);
        if (rc == -EBUSY) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
                reply_err(req, 503, "Service Unavailable", "busy",
                          "%d profile conversions are in progress: try again", JD_CONVERT_MAX);
        } else {
                reply_err(req, 500, "Internal Server Error", "internal",
                          "cannot start the conversion: %s", strerror(-rc));
        }
}

static void download(jd_manager_t *m, struct evhttp_request *req, const jd_profile_t *pf,
                     const char *query)
{
        char fmt[16];
        const char *why = jd_parse_format_query(query, fmt, sizeof(fmt));
        if (why != NULL) {
                reply_err(req, 400, "Bad Request", "bad_request", "%s", why);
                return;
        }
        size_t k = 0;
        while (k < NKINDS && strcmp(kinds[k].fmt, fmt) != 0)
                k++;
        if (k == NKINDS) {
                reply_err(req, 400, "Bad Request", "bad_request",
                          "format must be heap, pprof, folded or svg");
                return;
        }
        if (allowed(req, pf) != 0)
                return;
        int fd = jd_store_open(pf);
        if (fd < 0) {
                reply_err(req, 500, "Internal Server Error", "io_error", "reading %s: %s", pf->id,
                          strerror(-fd));
                return;
        }
        if (k > 0) {
                start_convert(m, req, pf, k, fd); /* off the loop: answered later */
                return;
        }
        send_raw(req, pf, fd);
        close(fd);
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

bool jd_store_http_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
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
                download(m, req, pf, query);
        else
                delete_one(req, pf);
        return true;
}
