/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pressure: memory-pressure events make the process hand its free memory back at once.
 * The watch speaks systemd's memory-pressure protocol (MEMORY_PRESSURE_WATCH and
 * MEMORY_PRESSURE_WRITE, as sd_event_add_memory_pressure(3) reads them: a PSI file, a FIFO
 * or a Unix stream socket); without them it arms a trigger on the process's own cgroup v2
 * memory.pressure when the kernel lets it, else there is no watch.  MALLOC_CONF's
 * pressure:off turns it off.  The service thread (ctl_server.c) polls the descriptor and
 * calls la_pressure_ready and la_pressure_tick; an event can also be ordered through the
 * pressure.event mallctl.  docs/man/liballoc.3 describes it for users.
 */
#ifndef LA_PRESSURE_H
#define LA_PRESSURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* la_pressure_gen, bumped at every pressure purge: core/upcalls.h. */

/* The watch is armed once the heap has grown past opt.pressure_arm_mb (a short-lived or
 * small process never pays for a watch: a PSI trigger costs about 15 ms to make and
 * destroy).  grow_locked (arena.c) reports fresh runs; when the threshold is passed after
 * la_pressure_boot, la_defer_request(LA_DEFER_SERVICE) asks the next thread-heap refill (no
 * lock held) to start the service, as for a fork child. */
void la_pressure_grew(size_t bytes);
void la_pressure_boot(void);
/* Arms the watch the options and the environment ask for, if the heap is large enough;
 * true if there is one (then la_pressure_fd gives its descriptor).  Called before the
 * service thread starts, or by that thread.  A misconfigured watch is reported once. */
bool la_pressure_arm(void);
/* The armed descriptor and the poll events to wait for, or -1. */
int la_pressure_fd(short *events);
/* The descriptor is ready (revents from poll): read the event, act on it. */
void la_pressure_ready(short revents);
/* Runs what is due (an event held back by the rate limit, the follow-up purges); returns
 * the CLOCK_MONOTONIC time of the next thing to do, or UINT64_MAX. */
uint64_t la_pressure_tick(void);
/* An event ordered by hand (the pressure.event mallctl): purges at once. */
void la_pressure_event_now(void);
/* Closes the watch (at exit). */
void la_pressure_disarm(void);
/* In a fork child: closes the parent's watch; the child's service thread arms its own. */
void la_pressure_postfork_child(void);

/* What the watch is, for pressure.watch: "off", "psi:PATH", "fifo:PATH", "socket:PATH",
 * "ended:PATH" (the other side went away) or "failed:PATH" (a misconfigured watch). */
const char *la_pressure_watch(void);
typedef struct la_pressure_stats {
        uint64_t events;         /* events read from the watch or ordered by hand */
        uint64_t purges;         /* purges they caused (the rate limit merges events) */
        uint64_t bytes_returned; /* dirty and muzzy bytes those purges gave back */
        uint64_t last_event_ms;  /* CLOCK_REALTIME of the last event, ms; 0 if none */
} la_pressure_stats_t;
void la_pressure_stats(la_pressure_stats_t *st);

/* Exposed for the unit tests: decodes base64 (whitespace ignored, padding optional);
 * returns the length, or -1 if s is not base64 or the result does not fit in cap. */
long la_pressure_unbase64(const char *s, unsigned char *out, size_t cap);

#endif
