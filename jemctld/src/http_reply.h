/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_reply: the pieces every HTTP handler of the daemon answers with: the common
 * headers, a HEAD-aware send, a JSON document as a body, the error form
 * {"ok":false,"error":{"code","message"}}, and a bounded JSON request body.
 */
#ifndef JEMCTLD_HTTP_REPLY_H
#define JEMCTLD_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct evbuffer;
struct evhttp_request;

/* Adds Content-Type: ctype and Cache-Control: no-store to req's output headers. */
void jd_reply_headers(struct evhttp_request *req, const char *ctype);

/* Sends body as the reply; a HEAD request gets the headers only, with body's length as
 * Content-Length. */
void jd_reply_send(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body);

/* A new buffer holding s and a newline; frees s.  NULL if s is NULL or out of memory. */
struct evbuffer *jd_reply_text_buffer(char *s);

/* A new buffer holding doc dumped with the jansson flags and a newline; steals doc (which
 * may be NULL).  NULL if doc is NULL or out of memory. */
struct evbuffer *jd_reply_json_buffer(json_t *doc, size_t flags);

/* The error document {"ok": false, "error": {"code": code, "message": msg}}. */
json_t *jd_reply_error_doc(const char *code, const char *msg);

/* Answers doc (stolen, may be NULL) dumped with flags as application/json with status
 * code, or 500 if it cannot be; a HEAD request gets the body too (POST and DELETE
 * endpoints). */
void jd_reply_json(struct evhttp_request *req, int code, const char *reason, json_t *doc,
                   size_t flags);

/* Answers the error document dumped with flags, with the HTTP status http. */
void jd_reply_error(struct evhttp_request *req, size_t flags, int http, const char *reason,
                    const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Answers 200 with b (a JSON document built by jd_reply_*_buffer, freed here) as
 * application/json, or 500 when b is NULL (out of memory). */
void jd_reply_ok_json(struct evhttp_request *req, struct evbuffer *b);

/* Whether req is a GET or a HEAD; otherwise answers 405 (the JSON error form, with
 * Allow: GET, HEAD) and returns false. */
bool jd_reply_read_only(struct evhttp_request *req);

/* The request's body as a JSON object: an empty body is {}, a body over max bytes,
 * malformed JSON or anything but an object is NULL with why. */
json_t *jd_reply_read_body(struct evhttp_request *req, size_t max, char *why, size_t cap);

#endif
