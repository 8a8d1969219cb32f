/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_reply: the common ways the HTTP handlers answer (http_reply.h), so that every
 * endpoint sends the same headers and the same error form.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_parse.h"
#include "http_reply.h"

void jd_reply_headers(struct evhttp_request *req, const char *ctype)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Content-Type", ctype);
        evhttp_add_header(h, "Cache-Control", "no-store");
}

void jd_reply_send(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body)
{
        if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
                char len[32];
                snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
                evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
                evhttp_send_reply(req, code, reason, NULL);
        } else {
                evhttp_send_reply(req, code, reason, body);
        }
}

struct evbuffer *jd_reply_text_buffer(char *s)
{
        struct evbuffer *b = s != NULL ? evbuffer_new() : NULL;
        if (b != NULL) {
                evbuffer_add(b, s, strlen(s));
                evbuffer_add(b, "\n", 1);
        }
        free(s);
        return b;
}

struct evbuffer *jd_reply_json_buffer(json_t *doc, size_t flags)
{
        char *s = doc != NULL ? json_dumps(doc, flags) : NULL;
        json_decref(doc);
        return jd_reply_text_buffer(s);
}

json_t *jd_reply_error_doc(const char *code, const char *msg)
{
        return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

void jd_reply_json(struct evhttp_request *req, int code, const char *reason, json_t *doc,
                   size_t flags)
{
        struct evbuffer *b = jd_reply_json_buffer(doc, flags);
        if (b == NULL) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        jd_reply_headers(req, "application/json");
        evhttp_send_reply(req, code, reason, b);
        evbuffer_free(b);
}

void jd_reply_error(struct evhttp_request *req, size_t flags, int http, const char *reason,
                    const char *code, const char *fmt, ...)
{
        char msg[600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        jd_reply_json(req, http, reason, jd_reply_error_doc(code, msg), flags);
}

json_t *jd_reply_read_body(struct evhttp_request *req, size_t max, char *why, size_t cap)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        if (n > max) /* not pulled up: jd_parse_body only says it is too large */
                return jd_parse_body(NULL, n, max, why, cap);
        const char *s = n > 0 ? (const char *)evbuffer_pullup(in, -1) : NULL;
        return jd_parse_body(s, n, max, why, cap);
}

bool jd_reply_read_only(struct evhttp_request *req)
{
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
                return true;
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        jd_reply_error(req, JSON_COMPACT | JSON_ENSURE_ASCII, 405, "Method Not Allowed",
                       "method_not_allowed", "only GET and HEAD");
        return false;
}

void jd_reply_ok_json(struct evhttp_request *req, struct evbuffer *b)
{
        if (b == NULL) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
        }
        jd_reply_headers(req, "application/json");
        jd_reply_send(req, HTTP_OK, "OK", b);
        evbuffer_free(b);
}
