/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll: discovery of the control sockets and the polling of each process.  Every tick
 * scans the runtime directory; each process gets one non-blocking connection (at most
 * --max-inflight at a time, the others wait in a queue) that sends `info` (once per
 * process) and `stats`, pipelined, and must be answered within --timeout: a hung process
 * costs its own slot until then and never delays the others.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <jcl/answer.h>
#include <jcl/sock.h>
#include <jp/proto.h>

#include "answer.h"
#include "connect.h"
#include "manager.h"

typedef struct jd_job {
        jd_manager_t *m;
        jd_proc_t *proc;
        struct bufferevent *bev;
        struct event *deadline;
        uint64_t gen;
        unsigned expect; /* responses still expected */
        bool want_info;  /* the first response answers `info` */
} jd_job_t;

static jd_proc_t *find(const jd_manager_t *m, pid_t pid)
{
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                if (p->pid == pid)
                        return p;
        return NULL;
}

jd_proc_t *jd_proc_find(const jd_manager_t *m, pid_t pid)
{
        return find(m, pid);
}

jd_proc_t *jd_proc_find_key(const jd_manager_t *m, pid_t pid, unsigned long long start)
{
        jd_proc_t *p = find(m, pid);
        return p != NULL && p->start == start ? p : NULL;
}

bool jd_proc_visible(const jd_proc_t *p)
{
        return !p->untrusted;
}

size_t jd_nprocs_visible(const jd_manager_t *m)
{
        size_t n = 0;
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                n += jd_proc_visible(p);
        return n;
}


/* ---- the table ---------------------------------------------------------------------- */

static void job_free(jd_job_t *j)
{
        if (j == NULL)
                return;
        if (j->bev != NULL)
                bufferevent_free(j->bev);
        if (j->deadline != NULL)
                event_free(j->deadline);
        if (j->proc != NULL)
                j->proc->job = NULL;
        free(j);
}

/* Drops p's answers (and their share of the daemon's budget). */
static void drop_answers(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        json_decref(p->info);
        json_decref(p->stats);
        p->info = p->stats = NULL;
        free(p->labels);
        p->labels = NULL;
        m->kept -= p->kept[0] + p->kept[1];
        p->kept[0] = p->kept[1] = 0;
}

static void proc_free(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        m->kept -= p->kept[0] + p->kept[1];
        json_decref(p->info);
        json_decref(p->stats);
        free(p->labels);
        free(p);
}

static void start_more(jd_manager_t *m);

/* One job of the current cycle is over (or was not started): the cycle ends with the
 * last one. */
static void cycle_end(jd_manager_t *m)
{
        if (m->cycled)
                return;
        m->cycled = true;
        jd_manager_ready(m);
}

static void cycle_dec(jd_manager_t *m)
{
        if (m->cycle_pending > 0 && --m->cycle_pending == 0) {
                m->poll_duration = jd_mono() - m->cycle_start;
                cycle_end(m);
        }
}

/* The end of one job (success or not): frees it, accounts for the cycle, starts the
 * next queued one. */
static void job_done(jd_job_t *j)
{
        jd_manager_t *m = j->m;
        uint64_t gen = j->gen;
        job_free(j);
        m->inflight--;
        if (gen == m->cycle_gen)
                cycle_dec(m);
        start_more(m);
}

static void proc_remove(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        jd_manager_gone(m, p); /* the observers free what they hang off p */
        jd_watch_exit_free(p);
        for (jd_proc_t **pp = &m->procs; *pp != NULL; pp = &(*pp)->next) {
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        }
        if (p->job != NULL) {
                jd_job_t *j = p->job;
                j->proc = NULL;
                p->job = NULL;
                job_done(j);
        }
        proc_free(p);
}

static void set_error(jd_proc_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(jd_proc_t *p, const char *fmt, ...)
{
        char msg[sizeof(p->error)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Log on change only: a process that keeps failing does not flood the log. */
        if (strcmp(msg, p->error) != 0)
                jd_log("pid %d: %s", (int)p->pid, msg);
        snprintf(p->error, sizeof(p->error), "%s", msg);
        jd_manager_t *m = p->m;
        p->last_poll = jd_wall();
        m->poll_errors++;
        m->polls++;
}

/* ---- one connection ----------------------------------------------------------------- */

static void job_fail(jd_job_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_fail(jd_job_t *j, const char *fmt, ...)
{
        pid_t again = 0;
        jd_manager_t *m = j->m;
        if (j->proc != NULL) {
                char msg[256];
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                set_error(j->proc, "%s", msg);
                /* A process never polled yet (just started, on a loaded host) is tried
                 * again soon, a few times, rather than at the next scan, which may be
                 * --interval away. */
                if (j->proc->info == NULL && j->proc->first_tries < JD_FIRST_TRIES) {
                        j->proc->first_tries++;
                        again = j->proc->pid;
                }
        }
        job_done(j);
        if (again != 0)
                jd_watch_retry(m, again);
}

/* Checks one response payload; returns its result (a new reference) or NULL with why. */
static json_t *parse_response(const char *buf, size_t len, uint64_t id, char *why,
                              size_t cap)
{
        jcl_answer_t a;
        switch (jcl_answer_parse(buf, len, id, &a)) {
        case JCL_ANSWER_OK:
                return a.result;
        case JCL_ANSWER_ERROR:
                if (snprintf(why, cap, "%s%s%s", a.code, a.message[0] ? ": " : "", a.message) >=
                    (int)cap)
                        why[cap - 1] = '\0'; /* cut: only logged */
                return NULL;
        default:
                if (snprintf(why, cap, "malformed answer: %s", a.why) >= (int)cap)
                        why[cap - 1] = '\0';
                return NULL;
        }
}

/* Keeps the figures of one answer (len bytes of text) as p's info or stats: false with
 * why when the answer is not one or the daemon's budget for answers is spent. */
static bool keep_answer(jd_proc_t *p, bool is_info, json_t *res, size_t len, char *why,
                        size_t cap)
{
        jd_manager_t *m = p->m;
        json_t *kept = is_info ? jd_answer_info(res, p->uid) : jd_answer_stats(res);
        json_decref(res);
        if (kept == NULL) {
                snprintf(why, cap, "out of memory");
                return false;
        }
        /* The budget counts the text as sent: the kept part is never larger. */
        size_t before = p->kept[is_info];
        if (m->kept - before + len > JD_KEPT_MAX) {
                json_decref(kept);
                snprintf(why, cap, "jemctld's memory for answers (%u MiB) is spent",
                         JD_KEPT_MAX >> 20);
                return false;
        }
        m->kept = m->kept - before + len;
        p->kept[is_info] = len;
        if (is_info) {
                json_decref(p->info);
                p->info = kept;
                free(p->labels);
                p->labels = NULL;
        } else {
                json_decref(p->stats);
                p->stats = kept;
        }
        return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
        jd_job_t *j = arg;
        struct evbuffer *in = bufferevent_get_input(bev);
        while (j->expect > 0) {
                uint8_t hdr[JP_HDR_SIZE];
                if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
                        return;
                bool is_info = j->want_info;
                uint32_t len = jp_frame_get(hdr), max = is_info ? JD_INFO_MAX : JD_STATS_MAX;
                if (jp_frame_check(len, JP_RESP_MAX) != JP_OK || len > max) {
                        job_fail(j, "%s: answer of %u bytes refused (jemctld reads at most %u)",
                                 is_info ? "info" : "stats", len, max);
                        return;
                }
                if (evbuffer_get_length(in) < JP_HDR_SIZE + (size_t)len)
                        return;
                evbuffer_drain(in, JP_HDR_SIZE);
                char *buf = (char *)evbuffer_pullup(in, len);
                if (buf == NULL) {
                        job_fail(j, "out of memory");
                        return;
                }
                uint64_t id = is_info ? 1 : 2;
                char why[256];
                json_t *res = parse_response(buf, len, id, why, sizeof(why));
                evbuffer_drain(in, len);
                if (res == NULL) {
                        job_fail(j, "%s: %s", is_info ? "info" : "stats", why);
                        return;
                }
                jd_proc_t *p = j->proc;
                if (is_info) {
                        json_t *pid = json_object_get(res, "pid");
                        if (json_is_integer(pid) && json_integer_value(pid) != p->pid) {
                                json_decref(res);
                                job_fail(j, "info names pid %lld",
                                         (long long)json_integer_value(pid));
                                return;
                        }
                }
                if (!keep_answer(p, is_info, res, len, why, sizeof(why))) {
                        job_fail(j, "%s: %s", is_info ? "info" : "stats", why);
                        return;
                }
                j->want_info &= !is_info;
                j->expect--;
        }
        /* Both answers are in. */
        jd_proc_t *p = j->proc;
        jd_manager_t *m = j->m;
        if (p->error[0] != '\0')
                jd_log("pid %d: polled again", (int)p->pid);
        p->error[0] = '\0';
        p->last_poll = p->last_ok = jd_wall();
        m->polls++;
        if (!p->announced) {
                p->announced = true;
                jd_watch_exit(p);
                jd_manager_appeared(m, p);
        }
        jd_manager_polled(m, p); /* the history's series, the capture policies */
        job_done(j);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
        (void)bev;
        jd_job_t *j = arg;
        if (what & BEV_EVENT_EOF)
                job_fail(j, "the process closed the connection without answering");
        else if (what & BEV_EVENT_ERROR)
                job_fail(j, "connection error: %s", strerror(EVUTIL_SOCKET_ERROR()));
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_job_t *j = arg;
        job_fail(j, "no answer within %g s (the process may be stopped or busy)",
                 j->m->opt.timeout);
}

/* A connection to p's socket that passes the trust checks (connect.c): the descriptor,
 * or -1 (p's error set, or p removed: it is gone, or retried shortly if it was just found
 * and does not listen yet; untrusted, it is hidden and its answers dropped). */
static int connect_target(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        enum jcl_fail f;
        jcl_peer_t peer;
        char name[JCL_NAME_MAX];
        int fd = jd_connect_target(m->opt.runtime_dir, p->pid, p->sock, p->has_alt, name, &f, &peer);
        if (fd >= 0) {
                if (p->untrusted)
                        jd_log("pid %d: %s/%s is trusted", (int)p->pid, m->opt.runtime_dir,
                               name);
                p->untrusted = false;
                p->uid = peer.uid;
                memcpy(p->sock, name, sizeof(p->sock));
                return fd;
        }
        bool had_name = p->sock[0] != '\0';
        p->sock[0] = '\0'; /* the next try looks at every name again */
        switch (f) {
        case JCL_GONE:
                if (peer.e == ECONNREFUSED && p->info == NULL && !had_name &&
                    jd_mono() - p->added_at < JD_ARRIVAL_GRACE) {
                        jd_watch_retry(m, p->pid); /* just found: bound, not listening yet */
                } else {
                        /* Nobody serves it (a stale file, or gone). */
                        if (p->info != NULL)
                                jd_log("pid %d: gone", (int)p->pid);
                        proc_remove(p);
                }
                break;
        case JCL_BUSY:
                set_error(p, "busy: the listen queue is full");
                break;
        case JCL_UNTRUSTED:
                if (!p->untrusted)
                        jd_log("pid %d: its socket in %s is not trusted, ignored: %s",
                               (int)p->pid, m->opt.runtime_dir, peer.why);
                p->untrusted = true;
                drop_answers(p);
                break;
        default:
                set_error(p, "cannot connect: %s", peer.why);
                break;
        }
        return -1;
}

/* One request of op with id, framed, onto out. */
static void queue_request(struct evbuffer *out, uint64_t id, enum jp_op op)
{
        char req[512];
        jp_writer_t w;
        uint8_t hdr[JP_HDR_SIZE];
        jp_w_init(&w, req, sizeof(req));
        jp_request_begin(&w, id, op);
        jp_request_end(&w);
        jp_frame_put(hdr, (uint32_t)w.len);
        evbuffer_add(out, hdr, sizeof(hdr));
        evbuffer_add(out, req, w.len);
}

static bool start_job(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        int fd = connect_target(p);
        if (fd < 0)
                return false;
        jd_job_t *j = calloc(1, sizeof(*j));
        if (j == NULL) {
                close(fd);
                set_error(p, "out of memory");
                return false;
        }
        j->m = m;
        j->proc = p;
        j->gen = m->cycle_gen;
        j->bev = bufferevent_socket_new(m->base, fd, BEV_OPT_CLOSE_ON_FREE);
        j->deadline = evtimer_new(m->base, on_deadline, j);
        if (j->bev == NULL || j->deadline == NULL) {
                if (j->bev == NULL)
                        close(fd);
                job_free(j);
                set_error(p, "out of memory");
                return false;
        }
        p->job = j;
        m->inflight++;
        /* Pipelined: info (id 1) once, then stats (id 2). */
        struct evbuffer *out = bufferevent_get_output(j->bev);
        if (p->info == NULL) {
                queue_request(out, 1, JP_OP_INFO);
                j->want_info = true;
                j->expect++;
        }
        queue_request(out, 2, JP_OP_STATS);
        j->expect++;
        bufferevent_setcb(j->bev, on_read, NULL, on_event, j);
        bufferevent_enable(j->bev, EV_READ | EV_WRITE);
        struct timeval tv = {(time_t)m->opt.timeout,
                             (suseconds_t)((m->opt.timeout - (double)(time_t)m->opt.timeout) *
                                           1e6)};
        evtimer_add(j->deadline, &tv);
        return true;
}

static void start_more(jd_manager_t *m)
{
        while (m->inflight < m->opt.max_inflight && m->queue_head < m->queue_len) {
                pid_t pid = m->queue[m->queue_head++];
                jd_proc_t *p = find(m, pid);
                if (p == NULL || p->job != NULL || !start_job(p))
                        cycle_dec(m);
        }
        if (m->queue_head == m->queue_len)
                m->queue_head = m->queue_len = 0;
}

static void enqueue(jd_manager_t *m, pid_t pid)
{
        if (m->queue_len == m->queue_cap) {
                size_t cap = m->queue_cap ? m->queue_cap * 2 : 64;
                pid_t *q = realloc(m->queue, cap * sizeof(*q));
                if (q == NULL)
                        return;
                m->queue = q;
                m->queue_cap = cap;
        }
        m->queue[m->queue_len++] = pid;
}

/* ---- the tick ----------------------------------------------------------------------- */

/* JD_PROCS_MAX processes are known (said once per minute while it lasts). */
static bool table_full(const jd_manager_t *m)
{
        static double said;
        size_t n = 0;
        for (const jd_proc_t *p = m->procs; p != NULL && n < JD_PROCS_MAX; p = p->next)
                n++;
        if (n < JD_PROCS_MAX)
                return false;
        if (jd_mono() - said >= 60 || said == 0) {
                said = jd_mono();
                jd_log("%d processes known, the most tracked: newcomers wait until some leave",
                       JD_PROCS_MAX);
        }
        return true;
}

/* A new record of pid, started at start (its key). */
static jd_proc_t *proc_new(jd_manager_t *m, pid_t pid, unsigned long long start)
{
        if (table_full(m))
                return NULL; /* the processes already known keep their place */
        jd_proc_t *p = calloc(1, sizeof(*p));
        if (p == NULL)
                return NULL;
        p->pid = pid;
        p->start = start;
        p->m = m;
        p->added_at = jd_mono();
        p->next = m->procs;
        m->procs = p;
        return p;
}

jd_proc_t *jd_proc_add(jd_manager_t *m, pid_t pid)
{
        unsigned long long start;
        jd_proc_t *p = find(m, pid);
        if (!jcl_pid_start(pid, &start))
                return p; /* a stale file, or exiting: the scan or its pidfd removes it */
        if (p != NULL && (start == p->start || start == 0 || p->start == 0))
                return p;
        if (p != NULL) {
                /* The pid was reused: the record's process is gone. */
                if (p->info != NULL)
                        jd_log("pid %d: gone (the pid now names another process)", (int)pid);
                proc_remove(p);
        }
        return proc_new(m, pid, start);
}

void jd_proc_forget(jd_manager_t *m, pid_t pid, const char *name)
{
        jd_proc_t *p = find(m, pid);
        /* Another name of the pid going (a squatter's) leaves the process be. */
        if (p == NULL || (name != NULL && p->sock[0] != '\0' && strcmp(p->sock, name) != 0))
                return;
        if (p->info != NULL)
                jd_log("pid %d: gone", (int)p->pid);
        proc_remove(p);
}

bool jd_poll_now(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        if (p->job != NULL || m->inflight >= m->opt.max_inflight)
                return false;
        if (!start_job(p))
                return false;
        if (p->job != NULL)
                p->job->gen = 0; /* not part of the cycle */
        return true;
}

void jd_proc_gone(jd_proc_t *p)
{
        if (p->info != NULL)
                jd_log("pid %d: gone", (int)p->pid);
        proc_remove(p);
}

/* A control socket's name in the runtime directory (jcl_scan). */
static void saw_socket(void *arg, pid_t pid, bool alt, const char *name)
{
        (void)name;
        jd_proc_t *p = jd_proc_add(arg, pid);
        if (p == NULL)
                return; /* a stale file: ignored */
        p->seen = true;
        p->has_alt |= alt;
}

void jd_poll_tick(jd_manager_t *m)
{
        jd_watch_check(m);
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                p->seen = false;
        int rc = jcl_scan(m->opt.runtime_dir, saw_socket, m);
        if (rc < 0) {
                static int last_errno;
                if (-rc != last_errno)
                        jd_log("cannot read the runtime directory %s: %s", m->opt.runtime_dir,
                               strerror(-rc));
                last_errno = -rc;
        }
        /* Files gone, or processes gone: forget them. */
        for (jd_proc_t *p = m->procs, *next; p != NULL; p = next) {
                next = p->next;
                /* A process watched by its pidfd (watch.c) is removed the moment it
                 * exits: no need to read its /proc/PID/stat every tick. */
                if (!p->seen || (p->exit_ev == NULL && !jcl_pid_alive(p->pid))) {
                        if (p->info != NULL)
                                jd_log("pid %d: gone", (int)p->pid);
                        proc_remove(p);
                }
        }
        /* A new cycle: a previous one not finished yet is abandoned for the duration. */
        m->cycle_gen++;
        m->cycle_start = jd_mono();
        m->queue_head = m->queue_len = 0;
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                if (p->job == NULL)
                        enqueue(m, p->pid);
        /* The cycle ends when the last of the queued jobs does. */
        m->cycle_pending = (unsigned)m->queue_len;
        if (m->cycle_pending == 0) {
                m->poll_duration = 0;
                cycle_end(m);
        }
        start_more(m);
}

void jd_poll_shutdown(jd_manager_t *m)
{
        while (m->procs != NULL)
                proc_remove(m->procs);
        free(m->queue);
        m->queue = NULL;
        m->queue_len = m->queue_cap = m->queue_head = 0;
}
