/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * manager: the daemon's one object (after systemd's small daemons: main / manager / bus /
 * util).  The manager owns the event loop, the clock, logging, the options and the
 * process table, whose records are keyed by (pid, start time from /proc/PID/stat): a
 * reused pid is a new record.  The modules that keep something per process (history,
 * policy, store, governor, bus) hang it off the record and learn of processes through the
 * manager's list of observers (appeared, polled, gone), never from a table of their own.
 * Every module gets the manager passed explicitly: there is no global state object, and
 * no module keeps a copy of the pointer (callbacks reach it through their libevent arg,
 * their sd-bus userdata, or the call, conversion or record they are about).
 */
#ifndef JEMCTLD_MANAGER_H
#define JEMCTLD_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#define JD_PATH_MAX 108 /* sun_path */

typedef struct jd_opts {
        char runtime_dir[4096];
        char http_host[256];
        unsigned http_port;
        bool http_any;
        double interval; /* seconds */
        double timeout;  /* seconds, per request */
        unsigned max_inflight;
        char bus[16]; /* "system", "session" or "none" (bus.c) */
} jd_opts_t;

struct jd_job;

/* The modules that keep state per process, each in its slot of a record (jd_proc_t.slot):
 * the history's ring (history.c), the capture policies' state (policy.c), the captures in
 * flight (store.c) and the memory governor's cgroup and purge state (governor.c).  A
 * reused pid is a new record, so a slot always belongs to one process: no module checks
 * for reuse on its own. */
enum jd_slot { JD_SLOT_HISTORY, JD_SLOT_POLICY, JD_SLOT_STORE, JD_SLOT_GOVERNOR, JD_NSLOTS };

/* One process known by its socket. */
typedef struct jd_proc {
        pid_t pid;
        unsigned long long start; /* start time, /proc/PID/stat (ticks since boot); 0 if
                                   * /proc could not tell: with pid, the record's key */
        struct jd_manager *m;     /* the manager whose table holds it */
        json_t *info;     /* the `info` result, once */
        json_t *stats;    /* the latest `stats` summary */
        double last_poll; /* wall clock (Unix seconds) of the last finished poll, 0 if none */
        double last_ok;   /* wall clock of the last successful poll */
        char error[256];  /* why the last poll failed; "" if it succeeded */
        bool untrusted;   /* no socket of its pid passes the trust checks: hidden */
        char sock[40];    /* the socket name that passed them (JCL_NAME_MAX), "" none yet */
        bool has_alt;     /* the directory held a "<pid>.<hex>.sock" name of it */
        uid_t uid;        /* its socket listener's (SO_PEERCRED), once connected */
        size_t kept[2];   /* bytes of answer text behind stats [0] and info [1] (answer.h) */
        unsigned char first_tries; /* failed polls before the first answer (JD_FIRST_TRIES) */
        bool seen;        /* found by the current scan */
        bool announced;   /* the observers were told it appeared (trusted, info known) */
        double added_at;  /* monotonic time it was found */
        struct event *exit_ev; /* its pidfd becomes readable when it exits (watch.c) */
        char *labels; /* "{pid=...}" of /metrics, built once from info (prom.c); freed
                       * and reset to NULL wherever info changes */
        struct jd_job *job; /* in flight, or NULL */
        /* What the modules keep of this process, one slot each (enum jd_slot), NULL until
         * a module hangs something there; each frees its own at `gone`. */
        void *slot[JD_NSLOTS];
        struct jd_proc *next;
} jd_proc_t;

struct jd_manager;
struct jd_observer;

typedef struct jd_manager {
        jd_opts_t opt;
        struct event_base *base;
        jd_proc_t *procs;
        uint64_t poll_errors;   /* counter */
        uint64_t polls;         /* counter: polls finished */
        double poll_duration;   /* seconds, the last complete cycle */
        double cycle_start;     /* monotonic */
        uint64_t cycle_gen;
        unsigned cycle_pending; /* jobs of the current cycle not finished */
        bool cycled;            /* a whole cycle has finished since the start */
        pid_t *queue;           /* pids waiting for a connection slot */
        size_t queue_len, queue_cap, queue_head;
        unsigned inflight;
        size_t kept;            /* all processes' kept bytes (answer.h's JD_KEPT_MAX) */
        unsigned fd_limit;      /* RLIMIT_NOFILE after the start's raise (main.c) */
        unsigned npidfd;        /* pidfd watches open (watch.c) */
        struct jd_observer *observers; /* in the order they subscribed */
        struct event *tick_ev;  /* the poll timer */
} jd_manager_t;

/* The descriptor budget (docs/man/jemctld.8, RESOURCE LIMITS): pidfd watches while fewer
 * than JD_FD_PIDFD_SHARE of fd_limit are open (beyond, the scan notices exits), HTTP
 * connections up to JD_FD_HTTP_SHARE of it (http_guard.c), the rest for the polls (at
 * most fd_limit / 8 at once), the bus, the store and the daemon's own.  At most
 * JD_PROCS_MAX processes are tracked: newcomers beyond it wait until some leave, and
 * nothing already tracked is ever evicted for them. */
#define JD_FD_PIDFD_SHARE(limit) ((limit) / 2)
#define JD_FD_HTTP_SHARE(limit) ((limit) / 4)
#define JD_PROCS_MAX 16384

/* ---- observers --------------------------------------------------------------------- */

/* A module's subscription to the process table's events.  Any callback may be NULL.
 * appeared: once per record, after its first successful poll (trusted by SO_PEERCRED,
 * p->info and p->stats set).  polled: after every successful poll (appeared first).
 * gone: just before any record is freed (its socket or the process went away, its pid was
 * reused by another process, or the daemon stops), whether it appeared or not; p is
 * valid during the call only: the module frees what it hangs off p.  ready: once, when
 * the first poll cycle since the start has finished (every process found at the start
 * polled, or given up on): what the table says is whole.  No callback may add or remove
 * records.  Observers are called in the order they subscribed. */
typedef struct jd_observer {
        void (*appeared)(jd_manager_t *m, jd_proc_t *p);
        void (*polled)(jd_manager_t *m, jd_proc_t *p);
        void (*gone)(jd_manager_t *m, jd_proc_t *p);
        void (*ready)(jd_manager_t *m);
        struct jd_observer *next; /* the manager's */
} jd_observer_t;

/* o (owned by the caller, alive until unsubscribed) is told of the events from now on. */
void jd_manager_subscribe(jd_manager_t *m, jd_observer_t *o);
void jd_manager_unsubscribe(jd_manager_t *m, jd_observer_t *o);
/* The events, told to every observer (poll.c). */
void jd_manager_appeared(jd_manager_t *m, jd_proc_t *p);
void jd_manager_polled(jd_manager_t *m, jd_proc_t *p);
void jd_manager_gone(jd_manager_t *m, jd_proc_t *p);
void jd_manager_ready(jd_manager_t *m);

/* ---- the manager -------------------------------------------------------------------- */

/* m made from the options (parsed by main.c), then run: the loop, the listeners, the bus,
 * the watches, until SIGTERM or SIGINT; everything freed again.  The exit status. */
int jd_manager_run(jd_manager_t *m);

/* Logging and the clock (manager.c).  jd_log: one line on stderr, the message's control
 * characters escaped by jd_escape (text from outside cannot forge lines or drive a
 * terminal).  jd_escape: src into dst (at most cap bytes with the NUL, cut between two
 * characters), "\n", "\r", "\t" for those, "\xHH" for the other C0 bytes and DEL, "\u00HH"
 * for the C1 controls of UTF-8; returns the length written. */
void jd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t jd_escape(char *dst, size_t cap, const char *src);
double jd_mono(void);
double jd_wall(void);

/* poll.c */
void jd_poll_tick(jd_manager_t *m); /* scan the runtime directory and start a poll cycle */
void jd_poll_shutdown(jd_manager_t *m); /* aborts connections, frees the table */
size_t jd_nprocs_visible(const jd_manager_t *m);
bool jd_proc_visible(const jd_proc_t *p);

/* Table of processes (poll.c).  jd_proc_add: the process of a <pid>.sock just found,
 * created if unknown (a known pid whose start time changed was reused: the old record is
 * gone and a new one made); NULL if the pid is not alive (a stale file) or out of memory.
 * jd_proc_forget: its socket file `name` went away: drop it (no-op if unknown, or if
 * another of its names is the one that serves it); name NULL: the process exited.  jd_proc_gone: p's process exited (its pidfd said so):
 * drop it.  jd_poll_now:
 * poll p at once, outside the cycle, if a connection slot is free and p is not being
 * polled; false if not started (p may have been removed). */
jd_proc_t *jd_proc_find(const jd_manager_t *m, pid_t pid);
/* The record of (pid, start), or NULL if that process left the table (e.g. when an answer
 * comes back: a reused pid is another record). */
jd_proc_t *jd_proc_find_key(const jd_manager_t *m, pid_t pid, unsigned long long start);
jd_proc_t *jd_proc_add(jd_manager_t *m, pid_t pid);
void jd_proc_forget(jd_manager_t *m, pid_t pid, const char *name);
void jd_proc_gone(jd_proc_t *p);
bool jd_poll_now(jd_proc_t *p);
/* Seconds a process found but still refusing connections is given to start listening
 * (liballoc binds, then listens) before it counts as a stale file. */
#define JD_ARRIVAL_GRACE 2.0
/* Polls of a process that has never answered yet that are retried at once (watch.c's
 * short delay) when they fail, before it waits for the next scan like any other. */
#define JD_FIRST_TRIES 3

/* watch.c: inotify on the runtime directory, so arrivals and departures are seen at once
 * (the tick's scan stays as the safety net).  jd_watch_start: 0, or -1 if inotify is not
 * available (the scan alone then finds processes; logged).  jd_watch_check: called every
 * tick, re-adds the watch if the directory was removed and made again.  jd_watch_retry:
 * poll pid again shortly (it was found but did not listen yet). */
int jd_watch_start(jd_manager_t *m);
void jd_watch_check(jd_manager_t *m);
/* jd_watch_exit: from now on p is removed the moment the process exits (pidfd), even when
 * it dies by a signal and leaves its socket file behind; a no-op where pidfd_open is
 * missing or out of descriptors (the scan then notices).  jd_watch_exit_free: drops that
 * watch (poll.c, when p is freed). */
void jd_watch_exit(jd_proc_t *p);
void jd_watch_exit_free(jd_proc_t *p);
void jd_watch_retry(jd_manager_t *m, pid_t pid);
void jd_watch_stop(jd_manager_t *m);

/* http.c */
int jd_http_start(jd_manager_t *m);
void jd_http_stop(void);
/* http_guard.c: the connections of the HTTP server, counted against the descriptor budget.
 * jd_http_guard_start: from now on http's connections are capped at half of
 * JD_FD_HTTP_SHARE(m->fd_limit) in all (at least 8) and a quarter of that per client uid
 * (the owner of its TCP socket; clients whose owner cannot be found count as one), extra
 * ones closed at once; the listen backlog becomes fd_limit / 32 (8 to 64); an accept() failing for want of descriptors or memory pauses the listener lev
 * for 100 ms instead of spinning.  0, or -1 (out of memory).  jd_http_guard_stop: frees
 * it (before http). */
struct evhttp;
struct evconnlistener;
int jd_http_guard_start(jd_manager_t *m, struct evhttp *http, struct evconnlistener *lev);
void jd_http_guard_stop(void);

#endif
