/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * manager: the daemon's object (manager.h) and what it owns: the event loop with its poll
 * timer and signals, the clock, logging, the descriptor budget and the list of observers
 * of the process table (the table itself is poll.c's).  jd_manager_run starts the
 * modules, each handed the manager, runs the loop and stops them again.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "call.h"
#include "config.h"
#include "convert.h"
#include "governor.h"
#include "history.h"
#include "host.h"
#include "manager.h"
#include "policy.h"
#include "sd.h"
#include "store.h"

/* ---- the clock and logging ---------------------------------------------------------- */

double jd_mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double jd_wall(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t jd_escape(char *dst, size_t cap, const char *src)
{
        size_t k = 0;
        if (cap == 0)
                return 0;
        for (const unsigned char *c = (const unsigned char *)src; *c != '\0'; c++) {
                char e[8];
                const char *add = e;
                size_t n;
                if (*c == '\n') {
                        add = "\\n";
                } else if (*c == '\r') {
                        add = "\\r";
                } else if (*c == '\t') {
                        add = "\\t";
                } else if (*c < 0x20 || *c == 0x7f) {
                        snprintf(e, sizeof(e), "\\x%02x", *c);
                } else if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
                        /* C1 controls as UTF-8 (U+0085 is a line break to some readers) */
                        snprintf(e, sizeof(e), "\\u%04x", c[1]);
                        c++;
                } else {
                        e[0] = (char)*c;
                        e[1] = '\0';
                }
                n = strlen(add);
                if (k + n >= cap)
                        break; /* cut, never in the middle of an escape */
                memcpy(dst + k, add, n);
                k += n;
        }
        dst[k] = '\0';
        return k;
}

void jd_log(const char *fmt, ...)
{
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
        /* The arguments carry text from outside (targets' answers, HTTP headers, paths,
         * D-Bus callers): one line per call whatever they hold, control characters
         * escaped. */
        char msg[2048], out[4 * sizeof(msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        jd_escape(out, sizeof(out), msg);
        fprintf(stderr, "jemctld: %s %s\n", ts, out);
}

/* ---- observers ---------------------------------------------------------------------- */

void jd_manager_subscribe(jd_manager_t *m, jd_observer_t *o)
{
        jd_observer_t **pp = &m->observers;
        while (*pp != NULL)
                pp = &(*pp)->next;
        o->next = NULL;
        *pp = o;
}

void jd_manager_unsubscribe(jd_manager_t *m, jd_observer_t *o)
{
        for (jd_observer_t **pp = &m->observers; *pp != NULL; pp = &(*pp)->next) {
                if (*pp == o) {
                        *pp = o->next;
                        o->next = NULL;
                        return;
                }
        }
}

void jd_manager_appeared(jd_manager_t *m, jd_proc_t *p)
{
        for (jd_observer_t *o = m->observers; o != NULL; o = o->next)
                if (o->appeared != NULL)
                        o->appeared(m, p);
}

void jd_manager_polled(jd_manager_t *m, jd_proc_t *p)
{
        for (jd_observer_t *o = m->observers; o != NULL; o = o->next)
                if (o->polled != NULL)
                        o->polled(m, p);
}

void jd_manager_gone(jd_manager_t *m, jd_proc_t *p)
{
        for (jd_observer_t *o = m->observers; o != NULL; o = o->next)
                if (o->gone != NULL)
                        o->gone(m, p);
}

void jd_manager_ready(jd_manager_t *m)
{
        for (jd_observer_t *o = m->observers; o != NULL; o = o->next)
                if (o->ready != NULL)
                        o->ready(m);
}

/* ---- the loop ----------------------------------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_poll_tick(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        (void)what;
        jd_manager_t *m = arg;
        jd_log("signal %d: exiting", (int)sig);
        event_base_loopbreak(m->base);
}

/* The soft limit of descriptors raised to the hard one where that is allowed (the unit's
 * system-call filter refuses setrlimit with EPERM: LimitNOFILE= has set both), and the
 * budget that follows from it (manager.h): fd_limit, and at most an eighth of it for the
 * polls in flight.  libevent uses epoll, never select, so a high number is fine. */
static void budget_descriptors(jd_manager_t *m)
{
        struct rlimit rl;
        m->fd_limit = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return;
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit up = {rl.rlim_max, rl.rlim_max};
                if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                        rl = up;
        }
        m->fd_limit = rl.rlim_cur > (1u << 30) ? (1u << 30) : (unsigned)rl.rlim_cur;
        if (m->opt.max_inflight > m->fd_limit / 8) {
                unsigned n = m->fd_limit / 8 > 0 ? m->fd_limit / 8 : 1;
                jd_log("--max-inflight %u lowered to %u: %u descriptors", m->opt.max_inflight, n,
                       m->fd_limit);
                m->opt.max_inflight = n;
        }
}

/* The D-Bus API, if asked for: -1 if the daemon must exit (another jemctld owns the
 * name), else 0. */
static int start_bus(jd_manager_t *m)
{
        if (strcmp(m->opt.bus, "none") == 0)
                return 0;
        int brc = jd_bus_start(m, m->opt.bus);
        /* No bus to connect to (a host without dbus-user-session for the user instance), or
         * a policy that does not let it own the name (not installed where the bus reads
         * it): without the D-Bus API, but serving everything else.  Exiting would make
         * systemd restart it every 2 s while HTTP clients wait on the socket it holds.
         * Another jemctld owning the name is an exit: that one serves. */
        if (brc == -EEXIST)
                return -1;
        if (brc != 0)
                jd_log("D-Bus: the API is off until jemctld is restarted with a bus and its "
                       "policy in place; HTTP, the metrics and the policies go on");
        return 0;
}

/* The loop, its timer and signals, and the HTTP listener: 0, or -1 (said on stderr). */
static int start_loop(jd_manager_t *m, struct event **sigs)
{
        m->base = event_base_new();
        if (m->base == NULL) {
                fprintf(stderr, "jemctld: cannot create the event loop\n");
                return -1;
        }
        if (jd_http_start(m) != 0) {
                fprintf(stderr, "jemctld: cannot listen on %s:%u: %s\n", m->opt.http_host,
                        m->opt.http_port, strerror(errno));
                return -1;
        }
        sigs[0] = evsignal_new(m->base, SIGTERM, on_signal, m);
        sigs[1] = evsignal_new(m->base, SIGINT, on_signal, m);
        m->tick_ev = event_new(m->base, -1, EV_PERSIST, on_tick, m);
        if (sigs[0] == NULL || sigs[1] == NULL || m->tick_ev == NULL) {
                fprintf(stderr, "jemctld: out of memory\n");
                return -1;
        }
        evsignal_add(sigs[0], NULL);
        evsignal_add(sigs[1], NULL);
        double iv = m->opt.interval;
        struct timeval tv = {(time_t)iv, (suseconds_t)((iv - (double)(time_t)iv) * 1e6)};
        event_add(m->tick_ev, &tv);
        jd_log("dashboard at http://%s%s%s:%u/ (metrics at /metrics), watching %s every %g s",
               strchr(m->opt.http_host, ':') ? "[" : "", m->opt.http_host,
               strchr(m->opt.http_host, ':') ? "]" : "", m->opt.http_port, m->opt.runtime_dir,
               m->opt.interval);
        if (jd_config_path()[0] != '\0')
                jd_log("settings from %s", jd_config_path());
        return 0;
}

/* Everything started is stopped and freed, in the order that keeps the callers answered
 * and the bus quiet. */
static void stop_all(jd_manager_t *m, struct event **sigs)
{
        jd_call_shutdown(); /* answers the callers still waiting, over the bus too */
        jd_convert_shutdown(); /* and the conversions in progress */
        jd_bus_stop(m);     /* first: no ProcessRemoved for every process at a stop */
        jd_watch_stop(m);
        jd_governor_stop(m);
        jd_poll_shutdown(m);
        jd_history_stop(m);
        jd_policy_stop(m);
        jd_store_stop(m);
        jd_config_free();
        jd_http_stop();
        jd_allow_host_free();
        if (m->tick_ev != NULL)
                event_free(m->tick_ev);
        m->tick_ev = NULL;
        for (int i = 0; i < 2; i++)
                if (sigs[i] != NULL)
                        event_free(sigs[i]);
        if (m->base != NULL)
                event_base_free(m->base);
        m->base = NULL;
}

int jd_manager_run(jd_manager_t *m)
{
        struct event *sigs[2] = {NULL, NULL};
        int rc = 1;
        signal(SIGPIPE, SIG_IGN);
        budget_descriptors(m);
        if (start_loop(m, sigs) != 0 || start_bus(m) != 0)
                goto out;
        jd_history_start(m); /* first: the policies read the history of the same poll */
        jd_policy_start(m);
        jd_store_start(m); /* rescans the profile store */
        jd_watch_start(m);
        jd_governor_start(m);
        jd_poll_tick(m);
        jd_sd_ready(m);
        event_base_dispatch(m->base);
        jd_sd_stopping();
        rc = jd_bus_lost() ? 1 : 0;
out:
        stop_all(m, sigs);
        return rc;
}
