/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_http: libFuzzer target for what a client sends jemctld over HTTP
 * (jemctld/src/http_parse.c): every input is read as a JSON request body (the writes'
 * bodies and their arguments, for each operation), as a path, a Content-Type, an Origin
 * and Host pair (split at the first newline) and a Host header, and as the query string
 * of every endpoint.  Each must give a parsed request that keeps the documented limits or
 * a clean error (a non-empty reason), never a crash, a leak or undefined behaviour.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_parse.h"

/* The documented limits are broken: abort, so that libFuzzer keeps the input. */
#define must(c)                                                                   \
        do {                                                                      \
                if (!(c)) {                                                       \
                        fprintf(stderr, "invariant broken: %s (line %d)\n", #c, __LINE__); \
                        abort();                                                  \
                }                                                                 \
        } while (0)

static bool name_chars(const char *s, const char *set, size_t max)
{
        size_t n = strlen(s);
        return n > 0 && n <= max && strspn(s, set) == n;
}

static const char mallctl_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_.";

/* The request of one operation, once accepted: its fields in their documented ranges,
 * and what the builders write from it a request proto reads back. */
static void check_args(const jd_op_req_t *op, const jd_req_t *a)
{
        switch (op->kind) {
        case JD_OP_DECAY:
                must(a->op == JP_OP_DECAY_ALL && a->u.decay.dirty_ms >= -1);
                must(!a->u.decay.has_muzzy || a->u.decay.muzzy_ms >= -1);
                break;
        case JD_OP_PURGE:
                must(a->op == JP_OP_PURGE && !a->u.purge.pressure);
                break;
        case JD_OP_SET: {
                const json_t *x = a->u.set.value;
                must(a->op == JP_OP_SET && a->u.set.name == op->name);
                must(name_chars(op->name, mallctl_chars, JD_HTTP_NAME_MAX));
                must(x != NULL && !json_is_object(x) && !json_is_array(x) && !json_is_real(x));
                break;
        }
        case JD_OP_PROFILE:
                must(a->op == JP_OP_PROF && a->u.prof.action == JP_PROF_DUMP &&
                     !a->u.prof.has_lg);
                break;
        default:
                must(0);
        }
        static char buf[JP_REQ_MAX];
        static jp_tok_t toks[JP_MAX_TOKENS];
        jp_writer_t w;
        jp_request_t r;
        jp_w_init(&w, buf, sizeof(buf));
        jp_request_begin(&w, 1, a->op);
        must(jd_req_write(&w, a) == 0);
        jp_request_end(&w);
        must(!w.overflow);
        must(jp_request_parse(buf, w.len, toks, JP_MAX_TOKENS, &r) == JP_OK && r.op == a->op);
}

static void fuzz_body(const uint8_t *data, size_t size)
{
        char why[256] = "";
        json_t *body = jd_parse_body((const char *)data, size, JD_HTTP_BODY_MAX, why,
                                     sizeof(why));
        if (body == NULL) {
                must(why[0] != '\0');
                return;
        }
        must(json_is_object(body));
        must(size > 0 || json_object_size(body) == 0);
        for (unsigned k = 0; k < JD_OP_COUNT; k++) {
                jd_op_req_t op = {.pid = 1, .kind = (enum jd_op_kind)k};
                why[0] = '\0';
                jd_req_t a;
                if (!jd_parse_op_args(&op, body, &a, why, sizeof(why)))
                        must(why[0] != '\0');
                else
                        check_args(&op, &a);
        }
        json_decref(body);
}

/* The headers and the path. */
static void fuzz_headers(const char *s)
{
        jd_op_req_t op = {0};
        if (jd_parse_op_path(s, &op)) {
                must(op.pid > 0 && op.pid <= 999999999 && (unsigned)op.kind < JD_OP_COUNT);
                must(strstr(s, jd_op_names[op.kind]) != NULL);
        }
        if (jd_parse_json_type(s))
                must(strncasecmp(s, "application/json", 16) == 0);
        char h[JD_HTTP_HOST_MAX + 1];
        if (jd_parse_host(s, h))
                must(name_chars(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-.:",
                                JD_HTTP_HOST_MAX));
        must(jd_parse_same_origin(NULL, s));
        char *nl = strchr(s, '\n');
        if (nl != NULL) {
                char *origin = strndup(s, (size_t)(nl - s));
                must(origin != NULL);
                if (jd_parse_same_origin(origin, nl + 1))
                        must(strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, nl + 1) == 0);
                free(origin);
        }
}

/* The query strings of the views that take a parsed query (web.c). */
static void fuzz_web_queries(const char *s)
{
        struct evkeyvalq q;
        if (jd_parse_query(s, &q) != 0) {
                must(q.tqh_first == NULL);
                return;
        }
        pid_t pid;
        const char *by, *key, *why = jd_parse_history_query(&q, &pid, &by, &key);
        if (why == NULL)
                must((pid > 0 && pid <= 4194304 && by == NULL) ||
                     (pid == 0 && by != NULL && key != NULL && key[0] != '\0'));
        else
                must(why[0] != '\0');
        why = jd_parse_events_query(&q, &pid);
        must(why != NULL ? why[0] != '\0' : pid >= 0 && pid <= 4194304);
        why = jd_parse_groups_query(&q, &by);
        must(why != NULL ? why[0] != '\0' && by == NULL
                         : strcmp(by, "comm") == 0 || strcmp(by, "unit") == 0);
        evhttp_clear_headers(&q);
}

static void fuzz_queries(const char *s)
{
        long pid;
        const char *why = jd_parse_metrics_query(s, &pid);
        must(why != NULL ? why[0] != '\0' && pid == 0 : pid >= 0 && pid <= 0x7fffffff);
        struct evkeyvalq q;
        const char *comm, *unit;
        why = jd_parse_select_query(s, &q, &comm, &unit);
        if (why == NULL) {
                must((comm == NULL || comm[0] != '\0') && (unit == NULL || unit[0] != '\0'));
                evhttp_clear_headers(&q);
        } else {
                must(why[0] != '\0' && comm == NULL && unit == NULL);
        }
        char c[64], u[256];
        why = jd_parse_pprof_query(s, &pid, c, sizeof(c), u, sizeof(u));
        if (why == NULL)
                must((pid > 0 && pid <= 0x7fffffff && c[0] == '\0' && u[0] == '\0') ||
                     (pid == 0 && (c[0] != '\0' || u[0] != '\0')));
        else
                must(why[0] != '\0');
        why = jd_parse_profiles_query(s, &pid);
        must(why != NULL ? why[0] != '\0' : pid >= 0 && pid <= 0x7fffffff);
        char fmt[16];
        why = jd_parse_format_query(s, fmt, sizeof(fmt));
        must(why != NULL ? why[0] != '\0'
                         : strcmp(fmt, "heap") == 0 || strcmp(fmt, "pprof") == 0 ||
                                   strcmp(fmt, "folded") == 0 || strcmp(fmt, "svg") == 0);
        fuzz_web_queries(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_body(data, size);
        /* As a string: evhttp hands the handlers NUL-terminated paths, headers and
         * queries (a NUL byte ends them). */
        char *s = malloc(size + 1);
        if (s == NULL)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        fuzz_headers(s);
        fuzz_queries(s);
        free(s);
        return 0;
}
