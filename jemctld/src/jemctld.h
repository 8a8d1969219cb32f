/*
 * jemctld: the per-host fleet daemon.  Discovers the processes running liballoc (their
 * control sockets in the runtime directory), polls each one's `info` and `stats` over
 * non-blocking connections driven by libevent, and serves the latest values over HTTP
 * (Prometheus `/metrics`, JSON `/api/v1/processes`).
 */
#ifndef JEMCTLD_H
#define JEMCTLD_H

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
} jd_opts_t;

struct jd_job;

/* One process known by its socket. */
typedef struct jd_proc {
        pid_t pid;
        json_t *info;     /* the `info` result, once */
        json_t *stats;    /* the latest `stats` summary */
        double last_poll; /* wall clock (Unix seconds) of the last finished poll, 0 if none */
        double last_ok;   /* wall clock of the last successful poll */
        char error[256];  /* why the last poll failed; "" if it succeeded */
        bool untrusted;   /* the socket is served by another pid: hidden */
        bool seen;        /* found by the current scan */
        struct jd_job *job; /* in flight, or NULL */
        struct jd_proc *next;
} jd_proc_t;

typedef struct jd_state {
        jd_opts_t opt;
        struct event_base *base;
        jd_proc_t *procs;
        uint64_t poll_errors;   /* counter */
        uint64_t polls;         /* counter: polls finished */
        double poll_duration;   /* seconds, the last complete cycle */
        double cycle_start;     /* monotonic */
        uint64_t cycle_gen;
        unsigned cycle_pending; /* jobs of the current cycle not finished */
        pid_t *queue;           /* pids waiting for a connection slot */
        size_t queue_len, queue_cap, queue_head;
        unsigned inflight;
} jd_state_t;

extern jd_state_t jd;

/* log.c-like helpers (main.c) */
void jd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double jd_mono(void);
double jd_wall(void);

/* poll.c */
void jd_poll_tick(void);      /* scan the runtime directory and start a poll cycle */
void jd_poll_shutdown(void);  /* aborts connections, frees the table */
size_t jd_nprocs_visible(void);
bool jd_proc_visible(const jd_proc_t *p);

/* http.c */
int jd_http_start(void);
void jd_http_stop(void);

#endif
