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
#include "http_reply.h"
#include "jemctld.h"
#include "store.h"
#include "store_http.h"

enum op_kind { OP_DECAY, OP_PURGE, OP_SET, OP_PROFILE };

static const char *const op_names[] = {"decay", "purge", "set", "profile"};

typedef struct pending {
        struct evhttp_request *req;
        enum op_kind kind;
        pid_t pid;
        char name[JD_HTTP_NAME_MAX + 1]; /* set: the name */
        bool store; /* profile: {"store": true}, into the profile store (store.c) */
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
        if (pd->kind == OP_SET) {
                json_t *e = json_object_get(
                        json_object_get(json_object_get(res, "values"), pd->name), "error");
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
                            (int)pd->pid);
                return;
        }
        uint64_t bytes = (uint64_t)json_integer_value(jb);
        int rc = jd_call_check_blob(r->fd, bytes);
        if (rc != 0) {
                reply_error(pd->req, 502, "Bad Gateway", "bad_answer",
                            "pid %d: the profile is not a sealed file of %" PRIu64 " bytes (%s)",
                            (int)pd->pid, bytes, strerror(-rc));
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
        snprintf(disp, sizeof(disp), "attachment; filename=\"jemctld.%d.%lld.heap\"", (int)pd->pid,
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
        } else if (pd->kind == OP_PROFILE) {
                if (!pd->store) /* a capture into the store is recorded by store.c */
                        jd_event_answer(pd->pid, "profile", "http", r->result, NULL);
                send_profile(pd, r);
        } else {
                const char *msg, *e = inner_error(pd, r->result, &msg);
                if (e != NULL) {
                        reply_error(pd->req, 400, "Bad Request", e, "pid %d: %s failed: %s",
                                    (int)pd->pid, op_names[pd->kind], msg != NULL ? msg : e);
                } else {
                        jd_event_answer(pd->pid, op_names[pd->kind], "http", r->result,
                                        pd->name);
                        reply_json(pd->req, HTTP_OK, "OK",
                                   json_pack("{s:b,s:O}", "ok", 1, "result", r->result));
                }
        }
        free(pd);
}

/* ---- the body ----------------------------------------------------------------------- */

static bool decay_ok(const json_t *v)
{
        return json_is_integer(v) && json_integer_value(v) >= -1;
}

static bool name_ok(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && n <= JD_HTTP_NAME_MAX &&
               strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_.") == n;
}

/* Only the members each operation knows: a typo is an error, not a silent default. */
static bool only_keys(json_t *body, const char *const *keys, char *why, size_t cap)
{
        const char *k;
        json_t *v;
        json_object_foreach(body, k, v)
        {
                bool known = false;
                for (const char *const *p = keys; *p != NULL; p++)
                        known |= strcmp(*p, k) == 0;
                if (!known) {
                        snprintf(why, cap, "unknown member \"%s\"", k);
                        return false;
                }
        }
        return true;
}

/* The request's arguments from the body, or NULL with why. */
static json_t *args_of(pending_t *pd, json_t *body, char *why, size_t cap)
{
        json_t *a = json_object();
        switch (pd->kind) {
        case OP_DECAY: {
                static const char *const keys[] = {"ms", "muzzy_ms", NULL};
                json_t *ms = json_object_get(body, "ms"), *mz = json_object_get(body, "muzzy_ms");
                if (!only_keys(body, keys, why, cap))
                        break;
                if (!decay_ok(ms) || (mz != NULL && !decay_ok(mz))) {
                        snprintf(why, cap,
                                 "\"ms\" (and \"muzzy_ms\") must be integers: "
                                 "milliseconds, 0 (at once) or -1 (never)");
                        break;
                }
                json_object_set(a, "dirty_ms", ms);
                if (mz != NULL)
                        json_object_set(a, "muzzy_ms", mz);
                return a;
        }
        case OP_PURGE: {
                static const char *const keys[] = {"arena", NULL};
                json_t *ar = json_object_get(body, "arena");
                if (!only_keys(body, keys, why, cap))
                        break;
                if (ar != NULL && (!json_is_integer(ar) || json_integer_value(ar) < 0)) {
                        snprintf(why, cap, "\"arena\" must be an arena index");
                        break;
                }
                if (ar != NULL)
                        json_object_set(a, "arena", ar);
                return a;
        }
        case OP_SET: {
                static const char *const keys[] = {"name", "value", NULL};
                const char *name = json_string_value(json_object_get(body, "name"));
                json_t *v = json_object_get(body, "value");
                if (!only_keys(body, keys, why, cap))
                        break;
                if (name == NULL || !name_ok(name)) {
                        snprintf(why, cap,
                                 "\"name\" must be a mallctl name (letters, digits, "
                                 "'_' and '.', at most %d)",
                                 JD_HTTP_NAME_MAX);
                        break;
                }
                if (v == NULL || json_is_object(v) || json_is_array(v) || json_is_real(v)) {
                        snprintf(why, cap,
                                 "\"value\" must be an integer, a boolean, a string "
                                 "or null");
                        break;
                }
                snprintf(pd->name, sizeof(pd->name), "%s", name);
                json_object_set_new(a, "values", json_pack("{s:O}", name, v));
                return a;
        }
        case OP_PROFILE: {
                static const char *const keys[] = {"format", "store", NULL};
                json_t *f = json_object_get(body, "format");
                json_t *st = json_object_get(body, "store");
                if (!only_keys(body, keys, why, cap))
                        break;
                if (st != NULL && !json_is_boolean(st)) {
                        snprintf(why, cap, "\"store\" must be true or false");
                        break;
                }
                pd->store = json_is_true(st);
                if (pd->store && f != NULL &&
                    (!json_is_string(f) || strcmp(json_string_value(f), "heap") != 0)) {
                        snprintf(why, cap, "the store keeps heap_v2 dumps: \"format\" must be "
                                           "\"heap\" (convert when downloading)");
                        break;
                }
                if (f != NULL && (!json_is_string(f) || !name_ok(json_string_value(f)) ||
                                  json_string_length(f) > 32)) {
                        snprintf(why, cap,
                                 "\"format\" must be a format name such as "
                                 "\"heap\"");
                        break;
                }
                json_object_set_new(a, "action", json_string("dump"));
                if (f != NULL)
                        json_object_set(a, "format", f);
                return a;
        }
        }
        json_decref(a);
        return NULL;
}

/* ---- routing ------------------------------------------------------------------------ */

/* /api/v1/processes/<pid>/<op>: pid and op, or false. */
static bool parse_path(const char *path, pid_t *pid, enum op_kind *kind)
{
        static const char pre[] = "/api/v1/processes/";
        if (strncmp(path, pre, sizeof(pre) - 1) != 0)
                return false;
        const char *s = path + sizeof(pre) - 1;
        size_t d = strspn(s, "0123456789");
        if (d == 0 || d > 9 || s[0] == '0' || s[d] != '/')
                return false;
        for (unsigned k = 0; k < sizeof(op_names) / sizeof(op_names[0]); k++) {
                if (strcmp(s + d + 1, op_names[k]) == 0) {
                        *pid = (pid_t)atol(s);
                        *kind = (enum op_kind)k;
                        return true;
                }
        }
        return false;
}

/* Host is an address literal or localhost, optionally with a port: a name an attacker's
 * DNS could point at 127.0.0.1 (DNS rebinding) is not. */
static bool host_literal(const char *host)
{
        char h[128];
        size_t n = strlen(host);
        if (n == 0 || n >= sizeof(h))
                return false;
        if (host[0] == '[') {
                const char *rb = strchr(host, ']');
                if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
                        return false;
                memcpy(h, host + 1, (size_t)(rb - host - 1));
                h[rb - host - 1] = '\0';
                struct in6_addr a6;
                return inet_pton(AF_INET6, h, &a6) == 1;
        }
        const char *colon = strchr(host, ':');
        size_t hl = colon != NULL ? (size_t)(colon - host) : n;
        memcpy(h, host, hl);
        h[hl] = '\0';
        struct in_addr a4;
        return strcmp(h, "localhost") == 0 || inet_pton(AF_INET, h, &a4) == 1;
}

/* A browser page of another site must not drive these (CSRF): it cannot send a JSON
 * content type without a preflight we never grant ... */
static bool json_body(struct evhttp_request *req)
{
        const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
               (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* ... and a browser's Origin must be this very server, addressed by an address literal or
 * localhost (a name could be an attacker's, rebound to 127.0.0.1).  No Origin: not a
 * browser. */
static bool same_origin(struct evhttp_request *req)
{
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        const char *origin = evhttp_find_header(h, "Origin");
        const char *host = evhttp_find_header(h, "Host");
        return origin == NULL ||
               (host != NULL && host_literal(host) && strncmp(origin, "http://", 7) == 0 &&
                strcmp(origin + 7, host) == 0);
}

bool jd_http_same_origin(struct evhttp_request *req)
{
        return same_origin(req);
}

bool jd_http_ops_handle(struct evhttp_request *req, const char *path)
{
        pid_t pid;
        enum op_kind kind;
        if (!parse_path(path, &pid, &kind))
                return false;
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
        jd_proc_t *p = jd_proc_find(pid);
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
        pd->kind = kind;
        pd->pid = pid;
        json_t *args = args_of(pd, body, why, sizeof(why));
        json_decref(body);
        if (args == NULL) {
                free(pd);
                reply_error(req, 400, "Bad Request", "bad_request", "%s", why);
                return true;
        }
        uid_t uid;
        int rc = jd_authz_http_uid(req, &uid);
        if (rc != 0) {
                json_decref(args);
                free(pd);
                reply_error(req, 403, "Forbidden", "permission_denied",
                            "cannot tell which user is asking (%s): writes are refused",
                            strerror(-rc));
                return true;
        }
        if (pd->store) { /* POST .../profile {"store": true}: into the profile store */
                json_decref(args);
                free(pd);
                if (jd_store_capture(pid, uid, "manual", jd_store_http_cb, req) != 0)
                        reply_error(req, 500, "Internal Server Error", "internal",
                                    "cannot start the capture (out of memory)");
                return true;
        }
        static const enum jp_op ops[] = {JP_OP_DECAY_ALL, JP_OP_PURGE, JP_OP_SET, JP_OP_PROF};
        double timeout = kind == OP_PROFILE && jd.opt.timeout < JD_CALL_PROFILE_TIMEOUT
                                 ? JD_CALL_PROFILE_TIMEOUT
                                 : jd.opt.timeout;
        jd_call_t *c = jd_call(pid, ops[kind], args, uid, timeout, on_answer, pd);
        json_decref(args);
        if (c == NULL) {
                free(pd);
                reply_error(req, 500, "Internal Server Error", "internal",
                            "cannot start the call (out of memory)");
        }
        return true;
}
