/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * convert: profile conversions (profconv: parse, symbolize, write) off the event loop.
 * A conversion reads files a dump names and may take seconds; the daemon's loop must go
 * on answering /metrics and sending the systemd watchdog meanwhile.  Each conversion runs
 * in a child process (fork, no exec: it converts, writes its result into a memfd and
 * _exits; it never touches the event loop), which the loop watches through a pipe, kills
 * at a deadline and reaps.  At most JD_CONVERT_MAX run at once: more are refused (the
 * caller answers 503 busy), never queued.
 */
#ifndef JEMCTLD_CONVERT_H
#define JEMCTLD_CONVERT_H

#include <stdint.h>

#include <pc/profconv.h>

#include "manager.h"

struct evbuffer;

/* Conversions at once (each one a child process and a few descriptors). */
#define JD_CONVERT_MAX 4
/* The default deadline, seconds (--convert-timeout): below systemd's 30 s watchdog and
 * any scraper's patience; a conversion still running then is killed. */
#define JD_CONVERT_TIMEOUT 20.0
/* The largest result kept (a folded or SVG text of a huge profile is refused beyond). */
#define JD_CONVERT_MAX_OUTPUT (256ull << 20)

/* --convert-timeout (seconds, > 0). */
extern double jd_convert_timeout;

/* What a conversion reports: http 200 with the bytes, or the failure. */
typedef struct jd_conv_status {
        int http;         /* 200, or the HTTP status of the failure */
        char reason[40];  /* the failure's reason phrase */
        char code[32];    /* the failure's error code ("bad_profile", "conversion_timeout") */
        char msg[240];    /* the failure's message */
        uint64_t count;   /* the job's own figure (the processes merged, for a scrape) */
        uint64_t refused; /* mapped files not read for the process's credentials */
} jd_conv_status_t;

/* Runs in the child: converts, filling out and st (st->http preset to 200).  May read
 * files and descriptors of the parent's memory image; must not use the event loop. */
typedef void (*jd_conv_fn)(void *arg, pc_buf_t *out, jd_conv_status_t *st);
/* Called once, from the loop: st, and the result (st->http == 200; the callee takes
 * body, may be NULL otherwise). */
typedef void (*jd_conv_done_fn)(const jd_conv_status_t *st, struct evbuffer *body, void *arg);

/* Starts fn(arg) in a child; done(…, arg) is called later, exactly once, from m's loop.
 * 0, -EBUSY (at JD_CONVERT_MAX already), or a negative errno (nothing is called back). */
int jd_convert_start(jd_manager_t *m, jd_conv_fn fn, jd_conv_done_fn done, void *arg);

/* Sets st to a failure. */
void jd_conv_fail(jd_conv_status_t *st, int http, const char *reason, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Kills and reaps the children still running (at exit); their callbacks are not run. */
void jd_convert_shutdown(void);

/* jemctld_profile_conversions_total and jemctld_profile_conversions_running for /metrics. */
void jd_convert_metrics(struct evbuffer *b);

#endif
