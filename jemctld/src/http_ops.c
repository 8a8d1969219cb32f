/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_ops: the write endpoints of the HTTP API, POST /api/v1/processes/{pid}/{decay,
 * purge,set,profile}.  Each one checks the body, finds who is asking (authz.c: the uid
 * owning the client's TCP socket), and makes one call to the target (call.c) with that
 * uid, so the daemon never does for a caller what the caller could not do on the socket
 * itself.  Answers {"ok":true,"result":...} or {"ok":false,"error":{"code","message"}}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "authz.h"
#include "call.h"
#include "events.h"
#include "http_ops.h"
#include "http_parse.h"
#include "http_reply.h"
#include "manager.h"
#include "store.h"
#include "store_http.h"

typedef struct pending {
        struct evhttp_request *req;
        jd_op_req_t op; /* pid, operation, set's name, profile's store (http_parse.h) */
} pending_t;

/* Answers are compact (http_reply.c). */
#define OPS_JSON (JSON_COMPACT | JSON_ENSURE_ASCII)
#define reply_json(req, code, reason, doc) jd_reply_json(req, code, reason, doc, OPS_JSON)
#define reply_error(req, ...) jd_reply_error(req, OPS_JSON, __VA_ARGS__)

int jd_http_call_status(const jd_call_result_t *r, const char **reason)
{
        const char *c = r->code;
        switch (r->status) {
        case JD_CALL_DENIED:
                *reason = "Forbidden";
                return 403;
        case JD_CALL_GONE:
                *reason = "Not Found";
                return 404;
        case JD_CALL_TIMEOUT:
                *reason = "Gateway Timeout";
                return 504;
        case JD_CALL_INTERNAL:
                *reason = "Internal Server Error";
                return 500;
        case JD_CALL_FAILED:
                if (strcmp(c, "permission_denied") == 0) {
                        *reason = "Forbidden";
                        return 403;
                }
                if (strcmp(c, "bad_request") == 0 || strcmp(c, "bad_value") == 0) {
                        *reason = "Bad Request";
                        return 400;
                }
                if (strcmp(c, "not_supported") == 0) {
                        *reason = "Not Implemented";
                        return 501;
                }
                if (strcmp(c, "busy") == 0) {
                        *reason = "Service Unavailable";
                        return 503;
                }
                *reason = "Bad Gateway";
                return 502;
        default:
                *reason = "Bad Gateway";
                return 502;
        }
}

/* A per-name error inside a successful set, or the "error" member of a decay result. */
static const char *inner_error(const pending_t *pd, json_t *res, const char **msg)
{
        if (pd->op.kind == JD_OP_SET) {
                json_t *e = json_object_get(
                        json_object_get(json_object_get(res, JP_ARG_VALUES), pd->op.name), "error");
                *msg = json_string_value(json_object_get(e, "message"));
                return json_string_value(json_object_get(e, "code"));
        }
        *msg = NULL;
        return json_string_value(json_object_get(res, "error"));
}

static void send_profile(pending_t *pd, jd_call_result_t *r)
{
        json_t *jb = json_object_get(r->result, "bytes");
        const char *fmt = json_string_value(json_object_get(r->result, "format"));
        if (r->fd < 0 || !json_is_integer(jb) || json_integer_value(jb) < 0) {
                reply_error(pd->req, 502, "Bad Gateway", "bad_answer",
                            "pid %d: the profile answer carries no descriptor or no size",
                            (int)pd->op.pid);
                return;
        }
        uint64_t bytes = (uint64_t)json_integer_value(jb);
        int rc = jd_call_check_blob(r->fd, bytes);
        if (rc != 0) {
                reply_error(pd->req, 502, "Bad Gateway", "bad_answer",
                            "pid %d: the profile is not a sealed file of %" PRIu64 " bytes (%s)",
                            (int)pd->op.pid, bytes, strerror(-rc));
                return;
        }
        struct evbuffer *b = evbuffer_new();
        if (b == NULL) {
                evhttp_send_error(pd->req, HTTP_INTERNAL, NULL);
                return;
        }
        /* evbuffer_add_file owns the descriptor from here, even on failure. */
        int fd = r->fd;
        r->fd = -1;
        if (bytes > 0 && evbuffer_add_file(b, fd, 0, (ev_off_t)bytes) != 0) {
                evbuffer_free(b);
                evhttp_send_error(pd->req, HTTP_INTERNAL, NULL);
                return;
        }
        if (bytes == 0)
                close(fd);
        char disp[128];
        snprintf(disp, sizeof(disp), "attachment; filename=\"jemctld.%d.%lld.heap\"", (int)pd->op.pid,
                 (long long)time(NULL));
        struct evkeyvalq *h = evhttp_request_get_output_headers(pd->req);
        evhttp_add_header(h, "Content-Type", "application/octet-stream");
        evhttp_add_header(h, "Content-Disposition", disp);
        evhttp_add_header(h, "X-Profile-Format", fmt != NULL ? fmt : "unknown");
        evhttp_add_header(h, "Cache-Control", "no-store");
        evhttp_send_reply(pd->req, HTTP_OK, "OK", b);
        evbuffer_free(b);
}

static void on_answer(jd_call_result_t *r, void *arg)
{
        pending_t *pd = arg;
        const char *reason;
        if (r->status != JD_CALL_OK) {
                int code = jd_http_call_status(r, &reason);
                reply_error(pd->req, code, reason, r->code, "%s", r->message);
        } else if (pd->op.kind == JD_OP_PROFILE) {
                if (!pd->op.store) /* a capture into the store is recorded by store.c */
                        jd_event_answer(pd->op.pid, "profile", "http", r->result, NULL);
                send_profile(pd, r);
        } else {
                const char *msg, *e = inner_error(pd, r->result, &msg);
                if (e != NULL) {
                        reply_error(pd->req, 400, "Bad Request", e, "pid %d: %s failed: %s",
                                    (int)pd->op.pid, jd_op_names[pd->op.kind],
                                    msg != NULL ? msg : e);
                } else {
                        jd_event_answer(pd->op.pid, jd_op_names[pd->op.kind], "http", r->result,
                                        pd->op.name);
                        reply_json(pd->req, HTTP_OK, "OK",
                                   json_pack("{s:b,s:O}", "ok", 1, "result", r->result));
                }
        }
        free(pd);
}

/* ---- the request's headers ------------------------------------------------------- */

/* A browser page of another site must not drive these (CSRF): it cannot send a JSON
 * content type without a preflight we never grant ... */
static bool json_body(struct evhttp_request *req)
{
        return jd_parse_json_type(
                evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type"));
}

/* ... and a browser's Origin must be this very server, addressed by an address literal or
 * localhost (a name could be an attacker's, rebound to 127.0.0.1).  No Origin: not a
 * browser. */
static bool same_origin(struct evhttp_request *req)
{
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        return jd_parse_same_origin(evhttp_find_header(h, "Origin"),
                                    evhttp_find_header(h, "Host"));
}

bool jd_http_same_origin(struct evhttp_request *req)
{
        return same_origin(req);
}

bool jd_http_ops_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        jd_op_req_t op = {0};
        if (!jd_parse_op_path(path, &op))
                return false;
        pid_t pid = op.pid;
        enum jd_op_kind kind = op.kind;
        if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
                reply_error(req, 405, "Method Not Allowed", "method_not_allowed", "%s takes POST",
                            path);
                return true;
        }
        if (!json_body(req)) {
                reply_error(req, 415, "Unsupported Media Type", "bad_request",
                            "the body must be sent as Content-Type: application/json");
                return true;
        }
        if (!same_origin(req)) {
                reply_error(req, 403, "Forbidden", "permission_denied",
                            "requests from another site's page are refused (the Origin must "
                            "be this server, addressed by its IP address or localhost)");
                return true;
        }
        char why[256];
        json_t *body = jd_reply_read_body(req, JD_HTTP_BODY_MAX, why, sizeof(why));
        if (body == NULL) {
                reply_error(req, 400, "Bad Request", "bad_request", "%s", why);
                return true;
        }
        jd_proc_t *p = jd_proc_find(m, pid);
        if (p == NULL || !jd_proc_visible(p)) {
                json_decref(body);
                reply_error(req, 404, "Not Found", "no_such_process",
                            "pid %d is not a process this daemon knows", (int)pid);
                return true;
        }
        pending_t *pd = calloc(1, sizeof(*pd));
        if (pd == NULL) {
                json_decref(body);
                reply_error(req, 500, "Internal Server Error", "internal", "out of memory");
                return true;
        }
        pd->req = req;
        pd->op = op;
        jd_req_t call; /* borrows from body and pd->op until jd_call returns */
        if (!jd_parse_op_args(&pd->op, body, &call, why, sizeof(why))) {
                json_decref(body);
                free(pd);
                reply_error(req, 400, "Bad Request", "bad_request", "%s", why);
                return true;
        }
        uid_t uid;
        int rc = jd_authz_http_uid(req, &uid);
        if (rc != 0) {
                json_decref(body);
                free(pd);
                reply_error(req, 403, "Forbidden", "permission_denied",
                            "cannot tell which user is asking (%s): writes are refused",
                            strerror(-rc));
                return true;
        }
        if (pd->op.store) { /* POST .../profile {"store": true}: into the profile store */
                json_decref(body);
                free(pd);
                if (jd_store_capture(m, pid, uid, "manual", jd_store_http_cb, req) != 0)
                        reply_error(req, 500, "Internal Server Error", "internal",
                                    "cannot start the capture (out of memory)");
                return true;
        }
        double timeout = kind == JD_OP_PROFILE && m->opt.timeout < JD_CALL_PROFILE_TIMEOUT
                                 ? JD_CALL_PROFILE_TIMEOUT
                                 : m->opt.timeout;
        jd_call_t *c = jd_call(m, pid, &call, uid, timeout, on_answer, pd);
        json_decref(body);
        if (c == NULL) {
                free(pd);
                reply_error(req, 500, "Internal Server Error", "internal",
                            "cannot start the call (out of memory)");
        }
        return true;
}
