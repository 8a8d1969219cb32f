/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * convert: profile conversions in child processes (convert.h says why).  The parent makes
 * a memfd for the result and a pipe, forks; the child converts, writes the bytes into the
 * memfd and its status (one jd_conv_status_t, less than PIPE_BUF: one atomic write) into
 * the pipe, and _exits.  The loop reads the pipe: the status, then end of file when the
 * child is gone; then it reaps the child and hands the memfd's bytes to the caller as an
 * evbuffer backed by the file (not copied into the daemon's memory).  At the deadline the
 * child is killed.  A child that dies without a status is an error answer, never a
 * crash of the daemon.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <jcl/io.h>

#include "convert.h"
#include "manager.h"

double jd_convert_timeout = JD_CONVERT_TIMEOUT;

typedef struct job {
        pid_t pid;
        int rfd, memfd;
        struct event *rev, *timer;
        jd_conv_status_t st;
        size_t got; /* bytes of st read from the pipe */
        jd_conv_done_fn done;
        void *arg;
        struct job *next;
} job_t;

static job_t *jobs;
static unsigned running;
/* For /metrics: conversions by result. */
static uint64_t n_ok, n_failed, n_timeout, n_busy;

void jd_conv_fail(jd_conv_status_t *st, int http, const char *reason, const char *code,
                  const char *fmt, ...)
{
        st->http = http;
        snprintf(st->reason, sizeof(st->reason), "%s", reason);
        snprintf(st->code, sizeof(st->code), "%s", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
        va_end(ap);
}


/* The child: converts and reports; never returns. */
static void child(jd_conv_fn fn, void *arg, int wfd, int memfd)
{
        /* A stop of the unit signals every process of it: die, do not run the parent's
         * handlers (libevent's would write into the parent's signal pipe). */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        /* A CPU limit of its own where allowed (a unit's SystemCallFilter may refuse it:
         * the parent's deadline holds anyway). */
        rlim_t cpu = (rlim_t)jd_convert_timeout + 1;
        struct rlimit rl = {cpu, cpu + 1};
        (void)setrlimit(RLIMIT_CPU, &rl);
        jd_conv_status_t st;
        memset(&st, 0, sizeof(st));
        st.http = 200;
        pc_buf_t out = {0};
        fn(arg, &out, &st);
        if (st.http == 200 && out.failed)
                jd_conv_fail(&st, 500, "Internal Server Error", "internal",
                             "converting: out of memory");
        else if (st.http == 200 && out.len > JD_CONVERT_MAX_OUTPUT)
                jd_conv_fail(&st, 500, "Internal Server Error", "too_large",
                             "the converted profile (%zu bytes) is over the %llu MiB served",
                             out.len, (unsigned long long)(JD_CONVERT_MAX_OUTPUT >> 20));
        else if (st.http == 200 && jcl_write_all(memfd, out.data, out.len) != 0)
                jd_conv_fail(&st, 500, "Internal Server Error", "io_error",
                             "writing the converted profile: %s", strerror(errno));
        int rc = jcl_write_all(wfd, (const char *)&st, sizeof(st));
        _exit(rc == 0 ? 0 : 1);
}

static void job_free(job_t *j)
{
        for (job_t **p = &jobs; *p != NULL; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        running--;
        if (j->rev != NULL)
                event_free(j->rev);
        if (j->timer != NULL)
                event_free(j->timer);
        close(j->rfd);
        if (j->memfd >= 0)
                close(j->memfd);
        free(j);
}

/* The memfd's bytes as a buffer (the descriptor goes with it), or NULL. */
static struct evbuffer *result_body(job_t *j)
{
        struct stat st;
        struct evbuffer *b = evbuffer_new();
        if (b == NULL || fstat(j->memfd, &st) != 0 || (uint64_t)st.st_size > JD_CONVERT_MAX_OUTPUT)
                goto fail;
        if (st.st_size == 0 || evbuffer_add_file(b, j->memfd, 0, st.st_size) == 0) {
                if (st.st_size > 0)
                        j->memfd = -1; /* the buffer owns it now */
                return b;
        }
fail:
        if (b != NULL)
                evbuffer_free(b);
        return NULL;
}

/* The child is gone (or killed): reaps it and answers. */
static void job_end(job_t *j, bool timed_out)
{
        if (timed_out)
                kill(j->pid, SIGKILL);
        int ws = 0;
        while (waitpid(j->pid, &ws, 0) < 0 && errno == EINTR)
                ;
        struct evbuffer *body = NULL;
        if (timed_out) {
                jd_conv_fail(&j->st, 503, "Service Unavailable", "conversion_timeout",
                             "the conversion ran past %g s and was stopped",
                             jd_convert_timeout);
                n_timeout++;
        } else if (j->got != sizeof(j->st)) {
                jd_conv_fail(&j->st, 500, "Internal Server Error", "conversion_failed",
                             "the conversion ended without a result (%s %d)",
                             WIFSIGNALED(ws) ? "signal" : "exit status",
                             WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
                n_failed++;
        } else if (j->st.http == 200 && (body = result_body(j)) == NULL) {
                jd_conv_fail(&j->st, 500, "Internal Server Error", "internal",
                             "reading the converted profile failed");
                n_failed++;
        } else {
                j->st.http == 200 ? n_ok++ : n_failed++;
        }
        j->st.reason[sizeof(j->st.reason) - 1] = '\0';
        j->st.code[sizeof(j->st.code) - 1] = '\0';
        j->st.msg[sizeof(j->st.msg) - 1] = '\0';
        jd_conv_status_t st = j->st;
        jd_conv_done_fn done = j->done;
        void *arg = j->arg;
        job_free(j);
        done(&st, body, arg);
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
        (void)what;
        job_t *j = arg;
        char tmp[512];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n > 0) {
                size_t take = (size_t)n;
                if (take > sizeof(j->st) - j->got)
                        take = sizeof(j->st) - j->got;
                memcpy((char *)&j->st + j->got, tmp, take);
                j->got += take;
                return;
        }
        job_end(j, false); /* end of file: the child has exited */
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        job_end(arg, true);
}

int jd_convert_start(jd_manager_t *m, jd_conv_fn fn, jd_conv_done_fn done, void *arg)
{
        if (running >= JD_CONVERT_MAX) {
                n_busy++;
                return -EBUSY;
        }
        job_t *j = calloc(1, sizeof(*j));
        int p[2] = {-1, -1};
        if (j == NULL)
                return -ENOMEM;
        j->memfd = memfd_create("jemctld-conversion", MFD_CLOEXEC);
        if (j->memfd < 0 || pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
                int e = errno;
                if (j->memfd >= 0)
                        close(j->memfd);
                free(j);
                return -e;
        }
        j->rfd = p[0];
        j->done = done;
        j->arg = arg;
        j->rev = event_new(m->base, j->rfd, EV_READ | EV_PERSIST, on_pipe, j);
        j->timer = evtimer_new(m->base, on_deadline, j);
        j->pid = j->rev != NULL && j->timer != NULL ? fork() : -1;
        if (j->pid == 0) {
                close(p[0]);
                child(fn, arg, p[1], j->memfd);
        }
        int e = errno;
        close(p[1]);
        double t = jd_convert_timeout;
        struct timeval tv = {(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
        if (j->pid < 0 || event_add(j->rev, NULL) != 0 || evtimer_add(j->timer, &tv) != 0) {
                pid_t pid = j->pid;
                if (pid > 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                }
                running++;
                job_free(j);
                return pid < 0 ? -e : -ENOMEM;
        }
        running++;
        j->next = jobs;
        jobs = j;
        return 0;
}

void jd_convert_shutdown(void)
{
        while (jobs != NULL) {
                job_t *j = jobs;
                kill(j->pid, SIGKILL);
                waitpid(j->pid, NULL, 0);
                jd_conv_fail(&j->st, 503, "Service Unavailable", "unavailable",
                             "jemctld is stopping");
                jd_conv_status_t st = j->st;
                jd_conv_done_fn done = j->done;
                void *arg = j->arg;
                job_free(j);
                done(&st, NULL, arg);
        }
}

void jd_convert_metrics(struct evbuffer *b)
{
        evbuffer_add_printf(b,
                            "# HELP jemctld_profile_conversions_total Profile conversions "
                            "(pprof, folded, SVG) by result.\n"
                            "# TYPE jemctld_profile_conversions_total counter\n"
                            "jemctld_profile_conversions_total{result=\"ok\"} %" PRIu64 "\n"
                            "jemctld_profile_conversions_total{result=\"error\"} %" PRIu64 "\n"
                            "jemctld_profile_conversions_total{result=\"timeout\"} %" PRIu64 "\n"
                            "jemctld_profile_conversions_total{result=\"busy\"} %" PRIu64 "\n"
                            "# HELP jemctld_profile_conversions_running Conversions in "
                            "progress (child processes).\n"
                            "# TYPE jemctld_profile_conversions_running gauge\n"
                            "jemctld_profile_conversions_running %u\n",
                            n_ok, n_failed, n_timeout, n_busy, running);
}
