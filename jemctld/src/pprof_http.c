/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pprof_http: what continuous profilers and `go tool pprof` scrape.  GET
 * /debug/pprof/heap?pid=N answers the live heap profile of one process the way Go's
 * net/http/pprof does: gzip profile.proto with the sample types alloc_objects,
 * alloc_space, inuse_objects and inuse_space (inuse_space the default), symbolized here
 * from the process's own files (/proc/PID/root) as far as the process itself may read
 * them, in a child process (convert.c) so that the loop goes on, so the scraper never
 * needs the binaries.
 * ?comm=NAME and ?unit=UNIT (jemctl's selectors) merge every process they match into one
 * profile whose samples carry a pid label.  Each request takes a fresh dump (nothing is
 * stored); the caller must be root or the user the processes run as, as for downloads from
 * the profile store.  A process that does not sample gives an empty profile: `jemctl prof
 * PID on`, or jemctld --prof-auto.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
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
#include "pprof_http.h"
#include "select.h"

#define reply_err(req, ...) jd_reply_error(req, JSON_COMPACT | JSON_ENSURE_ASCII, __VA_ARGS__)

typedef struct scrape scrape_t;

/* One process of a scrape. */
typedef struct part {
        scrape_t *s;
        pid_t pid;
        bool ok;            /* its dump arrived (fd), or, in the child, it converted (res) */
        int fd;             /* the dump (a sealed memfd), -1 if none */
        uint64_t bytes;     /* its size */
        uid_t uid;          /* its uid as known (info), -1 if not */
        pc_creds_t creds;   /* the process's, for reading its mapped files */
        pc_resolved_t res;  /* in the child: the symbolized profile */
        int http;           /* !ok: the HTTP status its failure maps to */
        const char *reason; /* and its reason phrase */
        char code[32], msg[240];
} part_t;

struct scrape {
        jd_manager_t *m; /* whose loop runs the calls and the conversion */
        struct evhttp_request *req;
        bool merge;       /* a selector: label each sample with its pid */
        size_t n, listed; /* parts, and processes the selector matched */
        size_t pending;   /* calls not answered yet */
        part_t parts[];
};

static unsigned inflight;
/* Counters for /metrics: scrapes answered 200, and refused or failed. */
static uint64_t served, failed;

static void part_fail(part_t *pt, int http, const char *reason, const char *code,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void part_fail(part_t *pt, int http, const char *reason, const char *code,
                      const char *fmt, ...)
{
        pt->http = http;
        pt->reason = reason;
        snprintf(pt->code, sizeof(pt->code), "%s", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pt->msg, sizeof(pt->msg), fmt, ap);
        va_end(ap);
}

/* In the conversion's child: parses and symbolizes the dump of pt's process. */
static void convert_part(part_t *pt)
{
        int rc = 0;
        char *buf = jd_read_blob(pt->fd, pt->bytes, &rc);
        pt->ok = false;
        if (buf == NULL) {
                part_fail(pt, 500, "Internal Server Error", "io_error",
                          "pid %d: reading the dump: %s", (int)pt->pid, strerror(rc));
                return;
        }
        pc_profile_t prof;
        pc_error_t err = {0};
        rc = pc_heap_parse(buf, pt->bytes, &prof, &err);
        free(buf);
        if (rc != 0) {
                part_fail(pt, 502, "Bad Gateway", "bad_profile",
                          "pid %d: the dump is not a heap_v2 profile: line %u: %s", (int)pt->pid,
                          err.line, err.msg);
                return;
        }
        /* The process's own view of its files (another mount namespace, a container):
         * while it lives, /proc/PID/root is its root directory.  Only the files it could
         * read itself. */
        char root[64];
        snprintf(root, sizeof(root), "/proc/%d/root", (int)pt->pid);
        pc_resolve_opts_t o = {.creds = &pt->creds};
        o.root = access(root, X_OK) == 0 ? root : NULL;
        rc = pc_resolve(&prof, &o, &pt->res, &err);
        pc_profile_free(&prof);
        if (rc != 0) {
                part_fail(pt, 500, "Internal Server Error", "internal", "pid %d: %s",
                          (int)pt->pid, err.msg);
                return;
        }
        pt->ok = true;
}

/* In the conversion's child (convert.h): every part with a dump, merged into one pprof. */
static void convert(void *arg, pc_buf_t *out, jd_conv_status_t *st)
{
        scrape_t *s = arg;
        pc_pprof_part_t *ps = calloc(s->n + 1, sizeof(*ps));
        size_t k = 0;
        const part_t *first_failed = NULL;
        for (size_t i = 0; i < s->n; i++) {
                part_t *pt = &s->parts[i];
                if (pt->ok)
                        convert_part(pt);
                if (pt->ok && ps != NULL) {
                        ps[k++] = (pc_pprof_part_t){&pt->res, s->merge ? pt->pid : 0};
                        st->refused += pt->res.nrefused;
                } else if (!pt->ok && first_failed == NULL) {
                        first_failed = pt;
                }
        }
        pc_error_t err = {0};
        int rc = -ENOMEM;
        if (ps != NULL && k > 0)
                rc = pc_write_pprof_parts(ps, k, (int64_t)(jd_wall() * 1e9), out, &err);
        free(ps);
        st->count = k;
        if (k == 0 && first_failed != NULL)
                jd_conv_fail(st, first_failed->http, first_failed->reason, first_failed->code,
                             "%s", first_failed->msg);
        else if (rc != 0)
                jd_conv_fail(st, 500, "Internal Server Error", "internal",
                             "writing the profile: %s", err.msg[0] ? err.msg : "out of memory");
        /* The parts' tables go with the child. */
}

static void scrape_free(scrape_t *s)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->parts[i].fd >= 0)
                        close(s->parts[i].fd);
        free(s);
        inflight--;
}

/* From the loop, when the child is done. */
static void converted(const jd_conv_status_t *st, struct evbuffer *b, void *arg)
{
        scrape_t *s = arg;
        if (st->http != 200) {
                failed++;
                reply_err(s->req, st->http, st->reason, st->code, "%s", st->msg);
        } else {
                served++;
                struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
                jd_reply_headers(s->req, "application/octet-stream");
                evhttp_add_header(h, "Content-Disposition", "attachment; filename=\"heap\"");
                evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
                char v[64];
                snprintf(v, sizeof(v), "%" PRIu64, st->refused);
                /* How many mapped files were not read for the processes' credentials. */
                evhttp_add_header(h, "X-Symbols-Refused-Files", v);
                if (s->merge) {
                        /* Which processes are in it: a scraper's log can tell a partial
                         * merge from a whole one. */
                        snprintf(v, sizeof(v), "%" PRIu64 " of %zu", st->count, s->listed);
                        evhttp_add_header(h, "X-Profile-Processes", v);
                }
                jd_reply_send(s->req, HTTP_OK, "OK", b);
        }
        if (b != NULL)
                evbuffer_free(b);
        scrape_free(s);
}

/* Every call answered: the conversion starts, off the loop, unless no dump arrived. */
static void finish(scrape_t *s)
{
        const part_t *first_failed = NULL;
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) {
                if (s->parts[i].ok)
                        k++;
                else if (first_failed == NULL)
                        first_failed = &s->parts[i];
        }
        int rc = k == 0 ? -ENOENT : jd_convert_start(s->m, convert, converted, s);
        if (rc == 0)
                return;
        failed++;
        if (k == 0 && first_failed != NULL) {
                reply_err(s->req, first_failed->http, first_failed->reason, first_failed->code,
                          "%s", first_failed->msg);
        } else if (rc == -EBUSY) {
                evhttp_add_header(evhttp_request_get_output_headers(s->req), "Retry-After", "1");
                reply_err(s->req, 503, "Service Unavailable", "busy",
                          "%d profile conversions are in progress: try again", JD_CONVERT_MAX);
        } else {
                reply_err(s->req, 500, "Internal Server Error", "internal",
                          "cannot start the conversion: %s", strerror(-rc));
        }
        scrape_free(s);
}

/* The dump arrived (pt->fd): its size and the process's credentials, read now while it
 * lives (unreadable: its uid only, no group's rights). */
static void keep_part(part_t *pt, uint64_t bytes)
{
        pt->ok = true;
        pt->bytes = bytes;
        if (pc_creds_of_pid((int)pt->pid, &pt->creds) != 0)
                pt->creds = (pc_creds_t){.uid = pt->uid, .gid = (gid_t)-1};
}

static void on_dump(jd_call_result_t *r, void *arg)
{
        part_t *pt = arg;
        scrape_t *s = pt->s;
        json_t *jb = json_object_get(r->result, "bytes");
        if (r->status != JD_CALL_OK) {
                const char *reason;
                int http = jd_http_call_status(r, &reason);
                part_fail(pt, http, reason, r->code, "pid %d: %s", (int)pt->pid, r->message);
        } else if (r->fd < 0 || !json_is_integer(jb) || json_integer_value(jb) < 0) {
                part_fail(pt, 502, "Bad Gateway", "bad_answer",
                          "pid %d: the profile answer carries no descriptor or no size",
                          (int)pt->pid);
        } else {
                uint64_t bytes = (uint64_t)json_integer_value(jb);
                int rc = jd_call_check_blob(r->fd, bytes);
                if (rc != 0)
                        part_fail(pt, 502, "Bad Gateway", "bad_answer",
                                  "pid %d: the dump is not a sealed file of %" PRIu64
                                  " bytes (%s)",
                                  (int)pt->pid, bytes, strerror(-rc));
                else if (bytes > JD_PPROF_MAX_DUMP)
                        part_fail(pt, 502, "Bad Gateway", "too_large",
                                  "pid %d: a dump of %" PRIu64 " bytes is over the %llu MiB "
                                  "this endpoint reads",
                                  (int)pt->pid, bytes, (unsigned long long)(JD_PPROF_MAX_DUMP >> 20));
                else if ((pt->fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3)) < 0)
                        part_fail(pt, 500, "Internal Server Error", "internal",
                                  "pid %d: keeping the dump: %s", (int)pt->pid, strerror(errno));
                else
                        keep_part(pt, bytes);
        }
        if (--s->pending == 0)
                finish(s);
}

/* The query: pid, or comm and/or unit; seconds and debug only as Go's defaults.  0, or
 * answered with 400. */
static int parse_query(struct evhttp_request *req, long *pid, char *comm, size_t ccap,
                       char *unit, size_t ucap)
{
        const char *why =
                jd_parse_pprof_query(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)),
                                     pid, comm, ccap, unit, ucap);
        if (why != NULL) {
                reply_err(req, 400, "Bad Request", "bad_request", "%s", why);
                return -1;
        }
        return 0;
}

/* Whether uid may read p's profile without asking it: root, or p's own user when known. */
static bool may_read(const jd_proc_t *p, uid_t uid)
{
        json_t *ju = json_object_get(p->info, "uid");
        return uid == 0 || !json_is_integer(ju) || (uid_t)json_integer_value(ju) == uid;
}

static void heap(jd_manager_t *m, struct evhttp_request *req)
{
        long pid;
        char comm[64], unit[256];
        if (parse_query(req, &pid, comm, sizeof(comm), unit, sizeof(unit)) != 0)
                return;
        uid_t uid;
        int rc = jd_authz_http_uid(req, &uid);
        if (rc != 0) {
                reply_err(req, 403, "Forbidden", "permission_denied",
                          "cannot tell which user is asking (%s): refused", strerror(-rc));
                return;
        }
        if (inflight >= JD_PPROF_MAX_SCRAPES) {
                evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
                reply_err(req, 503, "Service Unavailable", "busy",
                          "%d profile scrapes are in progress: try again", JD_PPROF_MAX_SCRAPES);
                return;
        }
        /* The processes: visible ones only (a socket served by another pid is not one). */
        jd_proc_t *pick[JD_PPROF_MAX_PARTS];
        size_t n = 0, listed = 0, denied = 0;
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                if (!jd_proc_visible(p))
                        continue;
                if (pid > 0 ? p->pid != (pid_t)pid
                            : !jd_select_matches(p, comm[0] ? comm : NULL, unit[0] ? unit : NULL))
                        continue;
                listed++;
                if (!may_read(p, uid))
                        denied++;
                else if (n < JD_PPROF_MAX_PARTS)
                        pick[n++] = p;
        }
        if (listed == 0 && pid > 0) {
                reply_err(req, 404, "Not Found", "no_such_process",
                          "pid %ld is not a process this daemon knows", pid);
                return;
        }
        if (listed == 0) {
                reply_err(req, 404, "Not Found", "no_such_process",
                          "no process matches the selector");
                return;
        }
        if (n == 0) {
                reply_err(req, 403, "Forbidden", "permission_denied",
                          "uid %u may read only its own processes' profiles (and root all)",
                          (unsigned)uid);
                return;
        }
        scrape_t *s = calloc(1, sizeof(*s) + n * sizeof(part_t));
        if (s == NULL) {
                reply_err(req, 500, "Internal Server Error", "internal", "out of memory");
                return;
        }
        inflight++;
        s->m = m;
        s->req = req;
        s->merge = pid == 0;
        s->n = n;
        s->listed = listed;
        s->pending = n;
        double timeout = m->opt.timeout < JD_CALL_PROFILE_TIMEOUT ? JD_CALL_PROFILE_TIMEOUT
                                                                  : m->opt.timeout;
        jd_req_t dump = jd_req_prof(JP_PROF_DUMP);
        size_t started = 0;
        for (size_t i = 0; i < n; i++) {
                part_t *pt = &s->parts[i];
                pt->s = s;
                pt->pid = pick[i]->pid;
                pt->fd = -1;
                json_t *ju = json_object_get(pick[i]->info, "uid");
                pt->uid = json_is_integer(ju) ? (uid_t)json_integer_value(ju) : (uid_t)-1;
                if (jd_call(m, pt->pid, &dump, uid, timeout, on_dump, pt) != NULL) {
                        started++;
                        continue;
                }
                part_fail(pt, 500, "Internal Server Error", "internal",
                          "pid %d: cannot start the call (out of memory)", (int)pt->pid);
        }
        /* Calls answer later, from the loop: none has run yet. */
        s->pending = started;
        if (started == 0)
                finish(s);
}

bool jd_pprof_http_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        static const char pre[] = "/debug/pprof/";
        if (strncmp(path, pre, sizeof(pre) - 1) != 0 && strcmp(path, "/debug/pprof") != 0)
                return false;
        if (!jd_reply_read_only(req))
                return true;
        if (strcmp(path, "/debug/pprof/heap") == 0)
                heap(m, req);
        else
                reply_err(req, 404, "Not Found", "not_found",
                          "the profile served here is /debug/pprof/heap (?pid=N, ?comm=NAME, "
                          "?unit=UNIT)");
        return true;
}

void jd_pprof_metrics(struct evbuffer *b)
{
        evbuffer_add_printf(b,
                            "# HELP jemctld_pprof_scrapes_total Requests of /debug/pprof/heap, "
                            "by result.\n"
                            "# TYPE jemctld_pprof_scrapes_total counter\n"
                            "jemctld_pprof_scrapes_total{result=\"ok\"} %" PRIu64 "\n"
                            "jemctld_pprof_scrapes_total{result=\"error\"} %" PRIu64 "\n",
                            served, failed);
}
