/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll: discovery of the control sockets and the polling of each process.  Every tick
 * scans the runtime directory; each process gets one non-blocking connection (at most
 * --max-inflight at a time, the others wait in a queue) that sends `info` (once per
 * process) and `stats`, pipelined, and must be answered within --timeout: a hung process
 * costs its own slot until then and never delays the others.
 */
#define _GNU_SOURCE /* struct ucred */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <jp/proto.h>

#include "governor.h"
#include "jemctld.h"
#include "history.h"
#include "policy.h"

typedef struct jd_job {
        jd_proc_t *proc;
        struct bufferevent *bev;
        struct event *deadline;
        uint64_t gen;
        unsigned expect; /* responses still expected */
        bool want_info;  /* the first response answers `info` */
} jd_job_t;

static jd_proc_t *find(pid_t pid)
{
        for (jd_proc_t *p = jd.procs; p != NULL; p = p->next)
                if (p->pid == pid)
                        return p;
        return NULL;
}

jd_proc_t *jd_proc_find(pid_t pid)
{
        return find(pid);
}

bool jd_proc_visible(const jd_proc_t *p)
{
        return !p->untrusted;
}

size_t jd_nprocs_visible(void)
{
        size_t n = 0;
        for (jd_proc_t *p = jd.procs; p != NULL; p = p->next)
                n += jd_proc_visible(p);
        return n;
}

/* Same rule as jemctl: a zombie serves nothing. */
static bool pid_alive(pid_t pid)
{
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
                return kill(pid, 0) == 0 || errno == EPERM;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        return rp == NULL || rp[1] != ' ' || (rp[2] != 'Z' && rp[2] != 'X');
}

static pid_t sock_name_pid(const char *name)
{
        size_t d = strspn(name, "0123456789");
        if (d == 0 || d > 9 || strcmp(name + d, ".sock") != 0 || name[0] == '0')
                return -1;
        return (pid_t)atol(name);
}

static bool socket_path(pid_t pid, char *buf, size_t cap)
{
        int n = snprintf(buf, cap, "%s/%d.sock", jd.opt.runtime_dir, (int)pid);
        return n > 0 && (size_t)n < cap && (size_t)n < JD_PATH_MAX;
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

static void proc_free(jd_proc_t *p)
{
        json_decref(p->info);
        json_decref(p->stats);
        free(p->labels);
        jd_governor_proc_free(p);
        free(p);
}

static void start_more(void);

/* One job of the current cycle is over (or was not started): the cycle ends with the
 * last one. */
static void cycle_end(void)
{
        if (jd.cycled)
                return;
        jd.cycled = true;
        jd_on_first_cycle(&jd);
}

static void cycle_dec(void)
{
        if (jd.cycle_pending > 0 && --jd.cycle_pending == 0) {
                jd.poll_duration = jd_mono() - jd.cycle_start;
                cycle_end();
        }
}

/* The end of one job (success or not): frees it, accounts for the cycle, starts the
 * next queued one. */
static void job_done(jd_job_t *j)
{
        uint64_t gen = j->gen;
        job_free(j);
        jd.inflight--;
        if (gen == jd.cycle_gen)
                cycle_dec();
        start_more();
}

static void proc_remove(jd_proc_t *p)
{
        if (p->announced)
                jd_on_proc_removed(&jd, p);
        jd_watch_exit_free(p);
        for (jd_proc_t **pp = &jd.procs; *pp != NULL; pp = &(*pp)->next) {
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
        p->last_poll = jd_wall();
        jd.poll_errors++;
        jd.polls++;
}

/* ---- one connection ----------------------------------------------------------------- */

static void job_fail(jd_job_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_fail(jd_job_t *j, const char *fmt, ...)
{
        if (j->proc != NULL) {
                char msg[256];
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                set_error(j->proc, "%s", msg);
        }
        job_done(j);
}

/* Checks one response payload; returns its result (a new reference) or NULL with why. */
static json_t *parse_response(const char *buf, size_t len, uint64_t id, char *why,
                              size_t cap)
{
        json_error_t err;
        json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (doc == NULL && strstr(err.text, "too big") != NULL)
                doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
                                 &err);
        if (doc == NULL) {
                snprintf(why, cap, "malformed answer: %s", err.text);
                return NULL;
        }
        json_t *res = NULL;
        json_t *ok = json_object_get(doc, "ok");
        json_t *jid = json_object_get(doc, "id");
        if (!json_is_object(doc) || !json_is_boolean(ok)) {
                snprintf(why, cap, "malformed answer: no \"ok\" member");
        } else if (jid != NULL && (!json_is_integer(jid) ||
                                   ((uint64_t)json_integer_value(jid) != id &&
                                    json_integer_value(jid) != 0))) {
                snprintf(why, cap, "malformed answer: the id does not match");
        } else if (json_is_true(ok)) {
                res = json_object_get(doc, "result");
                if (!json_is_object(res)) {
                        snprintf(why, cap, "malformed answer: no result object");
                        res = NULL;
                } else {
                        json_incref(res);
                }
        } else {
                json_t *e = json_object_get(doc, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                snprintf(why, cap, "%s%s%s", code != NULL ? code : "error",
                         msg != NULL ? ": " : "", msg != NULL ? msg : "");
        }
        json_decref(doc);
        return res;
}

static void on_read(struct bufferevent *bev, void *arg)
{
        jd_job_t *j = arg;
        struct evbuffer *in = bufferevent_get_input(bev);
        while (j->expect > 0) {
                uint8_t hdr[JP_HDR_SIZE];
                if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
                        return;
                uint32_t len = jp_frame_get(hdr);
                if (jp_frame_check(len, JP_RESP_MAX) != JP_OK) {
                        job_fail(j, "malformed answer: bad frame length %u", len);
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
                bool is_info = j->want_info;
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
                        json_decref(p->info);
                        p->info = res;
                        free(p->labels);
                        p->labels = NULL;
                        j->want_info = false;
                } else {
                        json_decref(p->stats);
                        p->stats = res;
                }
                j->expect--;
        }
        /* Both answers are in. */
        jd_proc_t *p = j->proc;
        if (p->error[0] != '\0')
                jd_log("pid %d: polled again", (int)p->pid);
        p->error[0] = '\0';
        p->last_poll = p->last_ok = jd_wall();
        jd.polls++;
        if (!p->announced) {
                p->announced = true;
                jd_watch_exit(p);
                jd_on_proc_added(&jd, p);
        }
        jd_history_record(p); /* history.c: the dashboard's time series */
        jd_policy_check(p);   /* policy.c: capture a heap profile by policy */
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
        job_fail(arg, "no answer within %g s (the process may be stopped or busy)",
                 jd.opt.timeout);
}

/* Starts polling p; false if no job was started (p may have been removed: its socket is
 * gone or refuses). */
/* A connection to p's socket whose listener the kernel says is p: the descriptor, or -1
 * (p's error set, or p removed: it is gone or untrusted, or retried shortly if it was
 * just found and does not listen yet). */
static int connect_target(jd_proc_t *p)
{
        char path[JD_PATH_MAX + 64];
        if (!socket_path(p->pid, path, sizeof(path))) {
                proc_remove(p);
                return -1;
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                set_error(p, "socket: %s", strerror(errno));
                return -1;
        }
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int rc;
        do
                rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
                int e = errno;
                close(fd);
                if (e == ECONNREFUSED && p->info == NULL &&
                    jd_mono() - p->added_at < JD_ARRIVAL_GRACE) {
                        /* Just found: bound but not listening yet. */
                        jd_watch_retry(p->pid);
                } else if (e == ECONNREFUSED || e == ENOENT || e == ENOTSOCK) {
                        /* Nobody serves it (a stale file, or gone): the process
                         * disappears. */
                        if (p->info != NULL)
                                jd_log("pid %d: gone", (int)p->pid);
                        proc_remove(p);
                } else if (e == EAGAIN) {
                        set_error(p, "busy: the listen queue is full");
                } else {
                        set_error(p, "cannot connect to %s: %s", path, strerror(e));
                }
                return -1;
        }
        /* Trust the socket only if the kernel says its listener is the pid of its name. */
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.pid != p->pid) {
                close(fd);
                if (!p->untrusted)
                        jd_log("pid %d: %s is served by pid %d: not trusted, ignored",
                               (int)p->pid, path, (int)cred.pid);
                p->untrusted = true;
                json_decref(p->info);
                json_decref(p->stats);
                p->info = p->stats = NULL;
                free(p->labels);
                p->labels = NULL;
                return -1;
        }
        p->untrusted = false;
        return fd;
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
        int fd = connect_target(p);
        if (fd < 0)
                return false;
        jd_job_t *j = calloc(1, sizeof(*j));
        if (j == NULL) {
                close(fd);
                set_error(p, "out of memory");
                return false;
        }
        j->proc = p;
        j->gen = jd.cycle_gen;
        j->bev = bufferevent_socket_new(jd.base, fd, BEV_OPT_CLOSE_ON_FREE);
        j->deadline = evtimer_new(jd.base, on_deadline, j);
        if (j->bev == NULL || j->deadline == NULL) {
                if (j->bev == NULL)
                        close(fd);
                job_free(j);
                set_error(p, "out of memory");
                return false;
        }
        p->job = j;
        jd.inflight++;
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
        struct timeval tv = {(time_t)jd.opt.timeout,
                             (suseconds_t)((jd.opt.timeout - (double)(time_t)jd.opt.timeout) *
                                           1e6)};
        evtimer_add(j->deadline, &tv);
        return true;
}

static void start_more(void)
{
        while (jd.inflight < jd.opt.max_inflight && jd.queue_head < jd.queue_len) {
                pid_t pid = jd.queue[jd.queue_head++];
                jd_proc_t *p = find(pid);
                if (p == NULL || p->job != NULL || !start_job(p))
                        cycle_dec();
        }
        if (jd.queue_head == jd.queue_len)
                jd.queue_head = jd.queue_len = 0;
}

static void enqueue(pid_t pid)
{
        if (jd.queue_len == jd.queue_cap) {
                size_t cap = jd.queue_cap ? jd.queue_cap * 2 : 64;
                pid_t *q = realloc(jd.queue, cap * sizeof(*q));
                if (q == NULL)
                        return;
                jd.queue = q;
                jd.queue_cap = cap;
        }
        jd.queue[jd.queue_len++] = pid;
}

/* ---- the tick ----------------------------------------------------------------------- */

/* JD_PROCS_MAX processes are known (said once per minute while it lasts). */
static bool table_full(void)
{
        static double said;
        size_t n = 0;
        for (const jd_proc_t *p = jd.procs; p != NULL && n < JD_PROCS_MAX; p = p->next)
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

jd_proc_t *jd_proc_add(pid_t pid)
{
        jd_proc_t *p = find(pid);
        if (p != NULL)
                return p;
        if (!pid_alive(pid))
                return NULL;
        if (table_full())
                return NULL; /* the processes already known keep their place */
        p = calloc(1, sizeof(*p));
        if (p == NULL)
                return NULL;
        p->pid = pid;
        p->added_at = jd_mono();
        p->next = jd.procs;
        jd.procs = p;
        return p;
}

void jd_proc_forget(pid_t pid)
{
        jd_proc_t *p = find(pid);
        if (p == NULL)
                return;
        if (p->info != NULL)
                jd_log("pid %d: gone", (int)p->pid);
        proc_remove(p);
}

bool jd_poll_now(jd_proc_t *p)
{
        if (p->job != NULL || jd.inflight >= jd.opt.max_inflight)
                return false;
        if (!start_job(p))
                return false;
        if (p->job != NULL)
                p->job->gen = 0; /* not part of the cycle */
        return true;
}

void jd_poll_tick(void)
{
        jd_watch_check();
        for (jd_proc_t *p = jd.procs; p != NULL; p = p->next)
                p->seen = false;
        DIR *d = opendir(jd.opt.runtime_dir);
        if (d == NULL) {
                static int last_errno;
                if (errno != last_errno)
                        jd_log("cannot read the runtime directory %s: %s", jd.opt.runtime_dir,
                               strerror(errno));
                last_errno = errno;
        } else {
                struct dirent *e;
                while ((e = readdir(d)) != NULL) {
                        pid_t pid = sock_name_pid(e->d_name);
                        if (pid <= 0)
                                continue;
                        jd_proc_t *p = jd_proc_add(pid);
                        if (p == NULL)
                                continue; /* a stale file: ignored */
                        p->seen = true;
                }
                closedir(d);
        }
        /* Files gone, or processes gone: forget them. */
        for (jd_proc_t *p = jd.procs, *next; p != NULL; p = next) {
                next = p->next;
                /* A process watched by its pidfd (watch.c) is removed the moment it
                 * exits: no need to read its /proc/PID/stat every tick. */
                if (!p->seen || (p->exit_ev == NULL && !pid_alive(p->pid))) {
                        if (p->info != NULL)
                                jd_log("pid %d: gone", (int)p->pid);
                        proc_remove(p);
                }
        }
        /* A new cycle: a previous one not finished yet is abandoned for the duration. */
        jd.cycle_gen++;
        jd.cycle_start = jd_mono();
        jd.queue_head = jd.queue_len = 0;
        for (jd_proc_t *p = jd.procs; p != NULL; p = p->next)
                if (p->job == NULL)
                        enqueue(p->pid);
        /* The cycle ends when the last of the queued jobs does. */
        jd.cycle_pending = (unsigned)jd.queue_len;
        if (jd.cycle_pending == 0) {
                jd.poll_duration = 0;
                cycle_end();
        }
        start_more();
}

void jd_poll_shutdown(void)
{
        while (jd.procs != NULL)
                proc_remove(jd.procs);
        free(jd.queue);
        jd.queue = NULL;
        jd.queue_len = jd.queue_cap = jd.queue_head = 0;
}
