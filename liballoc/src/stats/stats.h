/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats: the figures behind stats.* and malloc_stats_print.  Hot counters live in heaps
 * (one increment per malloc and per free, written only by the owning thread) and in arenas
 * (under the arena lock); an epoch refresh folds them into one snapshot that readers see.
 * Callers serialise refreshes and reads (the ctl lock).
 */
#ifndef LA_STATS_H
#define LA_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/sizeclass.h"
#include "os/util.h"

#define LA_NPSIZES 199          /* page-size classes: 4, 8, 12 KiB and the large classes */
#define LA_ARENAS_ALL 4096      /* MALLCTL_ARENAS_ALL */
#define LA_ARENAS_DESTROYED 4097 /* MALLCTL_ARENAS_DESTROYED */

/* jemalloc's mutex names, in its order.  We have fewer locks; the ones we have are
 * reported under the name of the jemalloc lock whose job they do (docs/mallctl.md). */
enum {
        LA_GMUTEX_BACKGROUND_THREAD,
        LA_GMUTEX_MAX_PER_BG_THD,
        LA_GMUTEX_CTL,
        LA_GMUTEX_PROF,
        LA_GMUTEX_PROF_THDS_DATA,
        LA_GMUTEX_PROF_DUMP,
        LA_GMUTEX_PROF_RECENT_ALLOC,
        LA_GMUTEX_PROF_RECENT_DUMP,
        LA_GMUTEX_PROF_STATS,
        LA_NGMUTEXES
};
enum {
        LA_AMUTEX_LARGE,
        LA_AMUTEX_EXTENT_AVAIL,
        LA_AMUTEX_EXTENTS_DIRTY,
        LA_AMUTEX_EXTENTS_MUZZY,
        LA_AMUTEX_EXTENTS_RETAINED,
        LA_AMUTEX_DECAY_DIRTY,
        LA_AMUTEX_DECAY_MUZZY,
        LA_AMUTEX_BASE,
        LA_AMUTEX_TCACHE_LIST,
        LA_AMUTEX_HPA_SHARD,
        LA_AMUTEX_HPA_SHARD_GROW,
        LA_AMUTEX_HPA_SEC,
        LA_NAMUTEXES
};
extern const char *const la_gmutex_names[LA_NGMUTEXES];
extern const char *const la_amutex_names[LA_NAMUTEXES];

typedef struct la_bin_snap {
        uint64_t nmalloc, ndalloc, nrequests, nfills, nflushes, nslabs, nreslabs;
        size_t curregs, curslabs, nonfull_slabs;
} la_bin_snap_t;

typedef struct la_lext_snap {
        uint64_t nmalloc, ndalloc, nrequests;
        size_t curlextents;
} la_lext_snap_t;

typedef struct la_extent_snap {
        size_t ndirty, nmuzzy, nretained, dirty_bytes, muzzy_bytes, retained_bytes;
} la_extent_snap_t;

typedef struct la_arena_snap {
        unsigned nthreads;
        uint64_t uptime_ns;
        const char *dss;
        ssize_t dirty_decay_ms, muzzy_decay_ms;
        size_t pactive, pdirty, pmuzzy;
        size_t mapped, retained, base, internal, resident, extent_avail;
        uint64_t npurge[2], nmadvise[2], purged[2]; /* [0] dirty, [1] muzzy */
        size_t small_allocated, large_allocated;
        uint64_t small_nmalloc, small_ndalloc, small_nrequests, small_nfills, small_nflushes;
        uint64_t large_nmalloc, large_ndalloc, large_nrequests, large_nfills, large_nflushes;
        la_mutex_prof_t mutexes[LA_NAMUTEXES];
        la_bin_snap_t bins[LA_NBINS];
        la_lext_snap_t lext[LA_NLEXTENTS];
        la_extent_snap_t extents[LA_NPSIZES];
} la_arena_snap_t;

typedef struct la_stats_snapshot {
        size_t allocated, active, metadata, resident, mapped, retained;
        uint64_t zero_reallocs;
        size_t bg_num_threads;
        uint64_t bg_num_runs, bg_run_interval;
        la_mutex_prof_t mutexes[LA_NGMUTEXES];
} la_stats_snapshot_t;

/* Refreshes the snapshot (epoch write); returns the new epoch. */
uint64_t la_stats_refresh(void);
uint64_t la_stats_epoch(void);
const la_stats_snapshot_t *la_stats_get(void);
/* Arena ind as of the last refresh (LA_ARENAS_ALL merged, LA_ARENAS_DESTROYED the sum of
 * destroyed arenas); NULL if it was not initialised then. */
const la_arena_snap_t *la_stats_arena(size_t ind);
/* arena.<i>.destroy: adds arena ind's current figures to the destroyed sum. */
void la_stats_arena_destroyed(unsigned ind);
/* Zeroes every mutex counter (stats.mutexes.reset). */
void la_stats_mutexes_reset(void);
/* The mallctl tree's mutex (ctl/ is above stats/, so it is handed down at start-up):
 * la_stats_refresh and la_stats_mutexes_reset run with it held and report it. */
void la_stats_set_ctl_mutex(la_mutex_t *m);
void la_stats_zero_realloc(void);
void la_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);

#endif
