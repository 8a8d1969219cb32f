/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decay: jemalloc's time-based purging curve.  Pages that become unused are recorded in a
 * backlog of 200 epochs spanning decay_ms; the number of unused pages allowed to stay is
 * the backlog weighted by a smootherstep curve, so pages are purged gradually and all of
 * them are gone decay_ms after they were freed.  decay_ms == 0 purges at once, -1 never.
 */
#ifndef LA_DECAY_H
#define LA_DECAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LA_DECAY_NSTEPS 200
#define LA_DECAY_MS_MAX ((ssize_t)18446744072000ll) /* jemalloc's accepted maximum */

typedef struct la_decay {
        ssize_t ms;
        uint64_t interval_ns; /* ms * 1e6 / LA_DECAY_NSTEPS */
        uint64_t epoch_ns;    /* start of the current epoch */
        size_t nunpurged;     /* unused pages after the last purge decision */
        size_t backlog[LA_DECAY_NSTEPS];
} la_decay_t;

/* Smootherstep weights h(i) for i in [1, 200], fixed point 2^24 (exposed for tests). */
extern const uint32_t la_decay_h[LA_DECAY_NSTEPS];
#define LA_DECAY_H_BITS 24

void la_decay_init(la_decay_t *d, ssize_t ms, uint64_t now_ns, size_t npages_now);
/* Advances the epochs to now and files the pages that became unused since the last call
 * under the current epoch.  Cheap: call it whenever pages are freed. */
void la_decay_update(la_decay_t *d, uint64_t now_ns, size_t npages_now);
/* Advances the epochs to now (as la_decay_update) and returns how many unused pages may remain (callers purge
 * the oldest beyond that).  For ms == 0 returns 0; for ms < 0 returns SIZE_MAX. */
size_t la_decay_limit(la_decay_t *d, uint64_t now_ns, size_t npages_now);
/* Records the number of unused pages left after a purge. */
void la_decay_purged(la_decay_t *d, size_t npages_now);
/* True when ms is a valid decay time (-1 ... LA_DECAY_MS_MAX). */
bool la_decay_ms_valid(ssize_t ms);

#endif
