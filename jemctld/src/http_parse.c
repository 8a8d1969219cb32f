/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_parse: what a client sends, read without the event loop or the process table
 * (http_parse.h): the JSON bodies and arguments of the writes, Content-Type, Origin and
 * Host, and the query strings.  Fuzzed by tests/fuzz/fuzz_http.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jp/proto.h>

#include "http_parse.h"

const char *const jd_op_names[JD_OP_COUNT] = {"decay", "purge", "set", "profile"};

/* ---- the writes ----------------------------------------------------------------------- */

bool jd_parse_op_path(const char *path, jd_op_req_t *op)
{
        static const char pre[] = "/api/v1/processes/";
        if (strncmp(path, pre, sizeof(pre) - 1) != 0)
                return false;
        const char *s = path + sizeof(pre) - 1;
        size_t d = strspn(s, "0123456789");
        if (d == 0 || d > 9 || s[0] == '0' || s[d] != '/')
                return false;
        for (unsigned k = 0; k < JD_OP_COUNT; k++) {
                if (strcmp(s + d + 1, jd_op_names[k]) == 0) {
                        op->pid = (pid_t)atol(s);
                        op->kind = (enum jd_op_kind)k;
                        return true;
                }
        }
        return false;
}

json_t *jd_parse_body(const char *s, size_t n, size_t max, char *why, size_t cap)
{
        if (n > max) {
                snprintf(why, cap, "the body is larger than %zu bytes", max);
                return NULL;
        }
        if (n == 0)
                return json_object(); /* purge takes no arguments */
        json_error_t err;
        json_t *body = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err);
        if (body == NULL) {
                snprintf(why, cap, "malformed JSON body: %s (at byte %d)", err.text, err.position);
                return NULL;
        }
        if (!json_is_object(body)) {
                json_decref(body);
                snprintf(why, cap, "the body must be a JSON object");
                return NULL;
        }
        return body;
}

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

static bool decay_args(json_t *body, jd_req_t *a, char *why, size_t cap)
{
        static const char *const keys[] = {"ms", "muzzy_ms", NULL};
        json_t *ms = json_object_get(body, "ms"), *mz = json_object_get(body, "muzzy_ms");
        if (!only_keys(body, keys, why, cap))
                return false;
        if (!decay_ok(ms) || (mz != NULL && !decay_ok(mz))) {
                snprintf(why, cap,
                         "\"ms\" (and \"muzzy_ms\") must be integers: "
                         "milliseconds, 0 (at once) or -1 (never)");
                return false;
        }
        a->u.decay.dirty_ms = (int64_t)json_integer_value(ms);
        a->u.decay.has_muzzy = mz != NULL;
        a->u.decay.muzzy_ms = (int64_t)json_integer_value(mz);
        return true;
}

static bool purge_args(json_t *body, jd_req_t *a, char *why, size_t cap)
{
        static const char *const keys[] = {"arena", NULL};
        json_t *ar = json_object_get(body, "arena");
        if (!only_keys(body, keys, why, cap))
                return false;
        if (ar != NULL && (!json_is_integer(ar) || json_integer_value(ar) < 0)) {
                snprintf(why, cap, "\"arena\" must be an arena index");
                return false;
        }
        a->u.purge.has_arena = ar != NULL;
        a->u.purge.arena = (uint64_t)json_integer_value(ar);
        return true;
}

static bool set_args(jd_op_req_t *op, json_t *body, jd_req_t *a, char *why, size_t cap)
{
        static const char *const keys[] = {"name", "value", NULL};
        const char *name = json_string_value(json_object_get(body, "name"));
        json_t *v = json_object_get(body, "value");
        if (!only_keys(body, keys, why, cap))
                return false;
        if (name == NULL || !name_ok(name)) {
                snprintf(why, cap,
                         "\"name\" must be a mallctl name (letters, digits, "
                         "'_' and '.', at most %d)",
                         JD_HTTP_NAME_MAX);
                return false;
        }
        if (v == NULL || json_is_object(v) || json_is_array(v) || json_is_real(v)) {
                snprintf(why, cap,
                         "\"value\" must be an integer, a boolean, a string "
                         "or null");
                return false;
        }
        snprintf(op->name, sizeof(op->name), "%s", name);
        a->u.set.name = op->name;
        a->u.set.value = v;
        return true;
}

static bool profile_args(jd_op_req_t *op, json_t *body, jd_req_t *a, char *why, size_t cap)
{
        static const char *const keys[] = {"format", "store", NULL};
        json_t *f = json_object_get(body, "format");
        json_t *st = json_object_get(body, "store");
        if (!only_keys(body, keys, why, cap))
                return false;
        if (st != NULL && !json_is_boolean(st)) {
                snprintf(why, cap, "\"store\" must be true or false");
                return false;
        }
        op->store = json_is_true(st);
        if (op->store && f != NULL &&
            (!json_is_string(f) || strcmp(json_string_value(f), "heap") != 0)) {
                snprintf(why, cap, "the store keeps heap_v2 dumps: \"format\" must be "
                                   "\"heap\" (convert when downloading)");
                return false;
        }
        if (f != NULL && (!json_is_string(f) || !name_ok(json_string_value(f)) ||
                          json_string_length(f) > 32)) {
                snprintf(why, cap,
                         "\"format\" must be a format name such as "
                         "\"heap\"");
                return false;
        }
        /* The process answers heap_v2 (docs/protocol.md): "format" is checked, not sent. */
        a->u.prof.action = JP_PROF_DUMP;
        return true;
}

bool jd_parse_op_args(jd_op_req_t *op, json_t *body, jd_req_t *req, char *why, size_t cap)
{
        static const enum jp_op ops[JD_OP_COUNT] = {
                [JD_OP_DECAY] = JP_OP_DECAY_ALL, [JD_OP_PURGE] = JP_OP_PURGE,
                [JD_OP_SET] = JP_OP_SET,         [JD_OP_PROFILE] = JP_OP_PROF,
        };
        memset(req, 0, sizeof(*req));
        if ((unsigned)op->kind >= JD_OP_COUNT) {
                snprintf(why, cap, "no such operation");
                return false;
        }
        req->op = ops[op->kind];
        switch (op->kind) {
        case JD_OP_DECAY:
                return decay_args(body, req, why, cap);
        case JD_OP_PURGE:
                return purge_args(body, req, why, cap);
        case JD_OP_SET:
                return set_args(op, body, req, why, cap);
        default:
                return profile_args(op, body, req, why, cap);
        }
}

bool jd_parse_json_type(const char *ct)
{
        return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
               (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
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

bool jd_parse_same_origin(const char *origin, const char *host)
{
        return origin == NULL ||
               (host != NULL && host_literal(host) && strncmp(origin, "http://", 7) == 0 &&
                strcmp(origin + 7, host) == 0);
}

/* ---- the Host header ------------------------------------------------------------------ */

/* Letters, digits, '-', '.', and ':' for an IPv6 literal. */
static bool name_chars_ok(const char *s, size_t n)
{
        return n > 0 && n <= JD_HTTP_HOST_MAX &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:") >=
                       n;
}

bool jd_parse_host(const char *host, char h[JD_HTTP_HOST_MAX + 1])
{
        const char *port;
        size_t n;
        if (host[0] == '[') {
                const char *rb = strchr(host, ']');
                if (rb == NULL)
                        return false;
                n = (size_t)(rb - host - 1);
                host++;
                port = rb + 1;
                struct in6_addr a6;
                if (n == 0 || n > JD_HTTP_HOST_MAX)
                        return false;
                memcpy(h, host, n);
                h[n] = '\0';
                if (inet_pton(AF_INET6, h, &a6) != 1)
                        return false; /* [name] */
        } else {
                n = strcspn(host, ":");
                port = host + n;
                if (n == 0 || n > JD_HTTP_HOST_MAX)
                        return false;
                memcpy(h, host, n);
                h[n] = '\0';
        }
        /* Nothing after the host but an optional :PORT of 1 to 5 digits. */
        if (port[0] == ':') {
                size_t d = strspn(port + 1, "0123456789");
                if (d == 0 || d > 5 || port[1 + d] != '\0')
                        return false;
        } else if (port[0] != '\0') {
                return false;
        }
        return name_chars_ok(h, n);
}

/* ---- query strings -------------------------------------------------------------------- */

bool jd_parse_pid(const char *s, pid_t *out)
{
        if (s == NULL || s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
                return false;
        long v = strtol(s, NULL, 10);
        if (v <= 0 || v > 4194304)
                return false;
        *out = (pid_t)v;
        return true;
}

int jd_parse_query(const char *query, struct evkeyvalq *q)
{
        TAILQ_INIT(q);
        if (query != NULL && evhttp_parse_query_str(query, q) != 0) {
                evhttp_clear_headers(q);
                return -1;
        }
        return 0;
}

/* A process id of pid=N: 1 .. 2^31-1, decimal (strtol's leading blanks and sign). */
static bool long_pid(const char *s, long *pid)
{
        char *end;
        errno = 0;
        *pid = strtol(s, &end, 10);
        return end != s && *end == '\0' && errno == 0 && *pid > 0 && *pid <= 0x7fffffff;
}

/* Whether every key of q is one of keys. */
static bool keys_only(struct evkeyvalq *q, const char *const *keys)
{
        for (struct evkeyval *kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
                bool known = false;
                for (const char *const *k = keys; *k != NULL; k++)
                        known |= strcmp(kv->key, *k) == 0;
                if (!known)
                        return false;
        }
        return true;
}

const char *jd_parse_metrics_query(const char *query, long *pid)
{
        static const char *const keys[] = {"pid", NULL};
        *pid = 0;
        if (query == NULL || query[0] == '\0')
                return NULL;
        struct evkeyvalq q;
        const char *ps;
        bool bad = jd_parse_query(query, &q) != 0 || !keys_only(&q, keys);
        if (!bad && (ps = evhttp_find_header(&q, "pid")) != NULL)
                bad = !long_pid(ps, pid);
        evhttp_clear_headers(&q);
        if (bad)
                *pid = 0;
        return bad ? "/metrics takes pid=N only" : NULL;
}

const char *jd_parse_select_query(const char *query, struct evkeyvalq *q, const char **comm,
                                  const char **unit)
{
        static const char *const keys[] = {"comm", "unit", NULL};
        *comm = *unit = NULL;
        if (jd_parse_query(query, q) != 0)
                return "malformed query";
        *comm = evhttp_find_header(q, "comm");
        *unit = evhttp_find_header(q, "unit");
        if (!keys_only(q, keys) || (*comm != NULL && (*comm)[0] == '\0') ||
            (*unit != NULL && (*unit)[0] == '\0')) {
                evhttp_clear_headers(q);
                *comm = *unit = NULL;
                return "the query takes comm and unit only, each a non-empty name";
        }
        return NULL;
}

const char *jd_parse_pprof_query(const char *query, long *pid, char *comm, size_t ccap,
                                 char *unit, size_t ucap)
{
        struct evkeyvalq q;
        *pid = 0;
        comm[0] = unit[0] = '\0';
        if (jd_parse_query(query, &q) != 0)
                return "malformed query";
        const char *ps = evhttp_find_header(&q, "pid");
        const char *cs = evhttp_find_header(&q, "comm");
        const char *us = evhttp_find_header(&q, "unit");
        const char *sec = evhttp_find_header(&q, "seconds");
        const char *dbg = evhttp_find_header(&q, "debug");
        const char *why = NULL;
        if (ps != NULL) {
                if (!long_pid(ps, pid))
                        why = "pid must be a process id";
                else if (cs != NULL || us != NULL)
                        why = "give pid, or comm and unit, not both";
        } else if (cs == NULL && us == NULL) {
                why = "name the processes: ?pid=N, ?comm=NAME or ?unit=UNIT";
        }
        if (why == NULL && ((cs != NULL && (cs[0] == '\0' || strlen(cs) >= ccap)) ||
                            (us != NULL && (us[0] == '\0' || strlen(us) >= ucap))))
                why = "comm and unit must be non-empty names";
        if (why == NULL && sec != NULL && strcmp(sec, "0") != 0)
                why = "delta profiles (seconds=N) are not served: the heap profile is what "
                      "is live now";
        if (why == NULL && dbg != NULL && strcmp(dbg, "0") != 0)
                why = "only the binary profile (debug=0) is served; the text form is the "
                      "store's ?format=heap";
        if (why == NULL) {
                snprintf(comm, ccap, "%s", cs != NULL ? cs : "");
                snprintf(unit, ucap, "%s", us != NULL ? us : "");
        }
        evhttp_clear_headers(&q);
        return why;
}

const char *jd_parse_profiles_query(const char *query, long *pid)
{
        struct evkeyvalq q;
        *pid = 0;
        if (jd_parse_query(query, &q) != 0)
                return "malformed query";
        const char *ps = evhttp_find_header(&q, "pid");
        char *end;
        long v = ps != NULL ? strtol(ps, &end, 10) : 0;
        bool bad = ps != NULL && (end == ps || *end != '\0' || v <= 0 || v > 0x7fffffff);
        evhttp_clear_headers(&q);
        if (bad)
                return "pid must be a process id";
        *pid = v;
        return NULL;
}

const char *jd_parse_format_query(const char *query, char *fmt, size_t cap)
{
        static const char *const formats[] = {"heap", "pprof", "folded", "svg"};
        struct evkeyvalq q;
        if (jd_parse_query(query, &q) != 0)
                return "malformed query";
        const char *f = evhttp_find_header(&q, "format");
        snprintf(fmt, cap, "%s", f != NULL ? f : "heap");
        evhttp_clear_headers(&q);
        for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++)
                if (strcmp(formats[k], fmt) == 0)
                        return NULL;
        return "format must be heap, pprof, folded or svg";
}

const char *jd_parse_history_query(struct evkeyvalq *q, pid_t *pid, const char **by,
                                   const char **key)
{
        const char *spid = evhttp_find_header(q, "pid");
        const char *comm = evhttp_find_header(q, "comm");
        const char *unit = evhttp_find_header(q, "unit");
        *pid = 0;
        *by = *key = NULL;
        if ((spid != NULL) + (comm != NULL) + (unit != NULL) != 1)
                return "give exactly one of pid=N, comm=NAME, unit=UNIT";
        if (spid != NULL)
                return jd_parse_pid(spid, pid) ? NULL : "pid must be a positive decimal integer";
        *key = comm != NULL ? comm : unit;
        if ((*key)[0] == '\0') {
                *key = NULL;
                return "empty name";
        }
        *by = comm != NULL ? "comm" : "unit";
        return NULL;
}

const char *jd_parse_events_query(struct evkeyvalq *q, pid_t *pid)
{
        static const char *const keys[] = {"pid", NULL};
        const char *spid = evhttp_find_header(q, "pid");
        *pid = 0;
        if (!keys_only(q, keys))
                return "the only parameter is pid=N";
        if (spid != NULL && !jd_parse_pid(spid, pid))
                return "pid must be a positive decimal integer";
        return NULL;
}

const char *jd_parse_groups_query(struct evkeyvalq *q, const char **by)
{
        *by = evhttp_find_header(q, "by");
        if (*by == NULL || (strcmp(*by, "comm") != 0 && strcmp(*by, "unit") != 0)) {
                *by = NULL;
                return "by must be comm or unit";
        }
        return NULL;
}
