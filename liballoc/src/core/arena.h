/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena: jemalloc's unit of policy.  An arena supplies page runs (slabs and large
 * allocations) from address-space regions it reserves, keeps freed runs for reuse
 * (dirty -> muzzy -> clean), purges them on the decay curve, and holds the small slabs that
 * exiting threads abandoned.  Everything here runs under the arena's lock unless the name
 * says otherwise.
 */
#ifndef LA_ARENA_H
#define LA_ARENA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decay.h"
#include "core/harden.h"
#include "core/hcache.h"
#include "core/heap.h"
#include "core/sizeclass.h"
#include "core/span.h"
#include "os/util.h"

#define LA_RUN_NBUCKETS 64
#define LA_MAX_ARENAS 4095 /* largest index MALLOCX_ARENA can encode, plus one */

/* Small-class counters of heaps that left an arena (thread exit, thread.arena,
 * tcache.destroy): kept under the thread registry lock. */
typedef struct la_bin_counts {
        uint64_t nmalloc, ndalloc, nfills, nflushes;
} la_bin_counts_t;

typedef struct la_arena_stats {
        size_t pactive;            /* pages in slabs and large spans */
        size_t mapped;             /* bytes of regions carved so far */
        size_t large_allocated;    /* usable bytes of live large allocations */
        uint64_t nmalloc_large, ndalloc_large;
        uint64_t nslabs;           /* live slabs */
        uint64_t npurge[2], nmadvise[2], purged[2]; /* [0] dirty, [1] muzzy */
        /* Per small class: live slabs, slabs ever made, abandoned slabs adopted by a heap
         * (jemalloc's nreslabs), abandoned slabs waiting now (nonfull_slabs). */
        uint64_t slabs_cur[LA_NBINS], slabs_total[LA_NBINS], reslabs[LA_NBINS];
        uint64_t abandoned_n[LA_NBINS];
        /* Per large class (index cls - LA_NBINS), runs carved from the arena (under the
         * lock) and huge mappings (atomic adds: the huge paths take no lock). */
        uint64_t lext_nmalloc[LA_NLEXTENTS], lext_ndalloc[LA_NLEXTENTS];
        uint64_t huge_nmalloc[LA_NLEXTENTS], huge_ndalloc[LA_NLEXTENTS];
        /* Runs of the first classes parked in and taken back from thread heaps
         * (lcache.h): a free and an allocation each, of the heaps that retired (a live
         * heap counts in its own fields; atomic adds, no lock). */
        uint64_t lcache_nmalloc[LA_LCACHE_NCLS], lcache_ndalloc[LA_LCACHE_NCLS];
} la_arena_stats_t;

typedef struct la_arena {
        la_mutex_t lock;
        unsigned ind;
        bool manual;     /* created through arenas.create */
        bool huge;       /* the arena oversize allocations are charged to */
        _Atomic unsigned nthreads;
        la_span_t *bins[LA_RUN_NSTATES][LA_RUN_NBUCKETS];
        uint64_t nonempty[LA_RUN_NSTATES];
        la_span_t *lru_head[2], *lru_tail[2]; /* dirty, muzzy: oldest first */
        size_t npages[LA_RUN_NSTATES];        /* free pages by state */
        /* npages[DIRTY] + npages[MUZZY], readable without the lock: other arenas look at
         * it before they try to take such pages (la_arena_run_reuse_locked). */
        _Atomic size_t unpurged_hint;
        uintptr_t region_lo, region_cur, region_end;
        size_t next_region_size;
        la_span_t *abandoned[LA_NBINS];
        /* Slabs in the abandoned lists, of all classes (stats.abandoned_n summed), readable
         * without the lock: thread heaps look at it (LA_RAMP_ABANDONED). */
        _Atomic size_t abandoned_hint;
        la_heap_t *shared;
        la_decay_t decay[2];
        uint64_t decay_next_ns;
        uint64_t sweep_next_ns; /* next walk of the abandoned slabs (decay_locked) */
        /* Most pages in use since the last trim of the arena left without threads
         * (la_arena_trim_idle), and when it may be trimmed next. */
        size_t active_peak;
        uint64_t trim_next_ns;
        la_arena_stats_t stats;
        /* huge allocations do not take the lock: */
        _Atomic size_t huge_allocated, huge_mapped;
        _Atomic uint64_t nmalloc_huge, ndalloc_huge;
        la_bin_counts_t retired[LA_NBINS];         /* registry lock */
        /* Frees by threads with no heap: written by other threads all the time (a
         * consumer that never allocates), so on lines of their own. */
        _Alignas(LA_CACHELINE) _Atomic uint64_t orphan_ndalloc[LA_NBINS];
        _Alignas(LA_CACHELINE) uint64_t created_ns;
        const char *dss;                   /* arena.<i>.dss: recorded, sbrk is never used */
        _Atomic size_t oversize_threshold; /* arena.<i>.oversize_threshold */
        _Atomic size_t retain_grow_limit;  /* arena.<i>.retain_grow_limit */
        /* la_arena_keeps_oversize_locked(), readable without the lock (a hint: the
         * lock holder checks again). */
        _Atomic bool keep_huge;
        /* The huge arena only: the freed mappings it keeps for reuse (hcache.h). */
        la_hcache_t hcache;
        /* Manual arenas only (arena.<i>.reset): in-use slabs, large runs and huge
         * mappings, through lru_next/lru_prev. */
        la_span_t *inuse;
        uint64_t reset_ndalloc[LA_NBINS]; /* live blocks discarded by arena.<i>.reset */
        bool destroyed;                   /* arena.<i>.destroy: index free for reuse */
        /* Span descriptors freed by this arena, reused before the global metadata
         * allocator (whose lock every thread would otherwise share). */
        la_span_t *span_cache;
        unsigned span_cache_n;
        /* hardened:true only (harden.h): the last small blocks freed, oldest at next. */
        uint32_t quarantine_n, quarantine_next;
        void *quarantine[LA_QUARANTINE_N];
} la_arena_t;

/* Whether a freed oversize allocation (a huge mapping) stays with the arena as dirty
 * pages.  jemalloc purges a freed extent of at least oversize_threshold bytes at once
 * unless the arena's dirty or muzzy decay time is -1 (never); then it stays dirty like any
 * other freed extent.  Lock held. */
static inline bool la_arena_keeps_oversize_locked(const la_arena_t *a)
{
        return a->decay[0].ms < 0 || a->decay[1].ms < 0;
}

/* Counts npages more pages in use (stats.pactive) and keeps the peak.  Lock held. */
static inline void la_arena_active_add_locked(la_arena_t *a, size_t npages)
{
        a->stats.pactive += npages;
        if (a->stats.pactive > a->active_peak)
                a->active_peak = a->stats.pactive;
}

extern la_arena_t *la_arenas[LA_MAX_ARENAS];
extern _Atomic unsigned la_narenas_total; /* arenas.narenas */
extern unsigned la_narenas_auto;          /* opt.narenas */

/* Creates arena ind (or returns it if it exists).  NULL when out of memory. */
la_arena_t *la_arena_get(unsigned ind, bool create);
/* arenas.create: a new manual arena; -EAGAIN when none can be made. */
int la_arena_create(unsigned *ret_ind);
/* The arena a new thread should use (least loaded automatic arena). */
la_arena_t *la_arena_choose(void);
/* la_arena_choose for a new thread heap: the arena comes with its nthreads raised for it. */
la_arena_t *la_arena_choose_claim(void);
la_arena_t *la_arena_huge(void);

/* A run of npages aligned to align bytes (>= page), or NULL.  *ret_zeroed tells whether it
 * reads as zero.  Lock held. */
la_span_t *la_arena_run_alloc_locked(la_arena_t *a, size_t npages, size_t align,
                                     bool *ret_zeroed);
/* As la_arena_run_alloc_locked, but only from free runs (never reserves new address
 * space): the arena's own unpurged ones, then (automatic arenas) another automatic arena's
 * unpurged ones, which become this arena's, then the arena's clean ones; NULL when none
 * fits.  Never waits for another arena's lock. */
la_span_t *la_arena_run_reuse_locked(la_arena_t *a, size_t npages, size_t align,
                                     bool *ret_zeroed);
/* Takes the first npages of free run r (which the caller found by address), splitting off
 * the rest.  Returns r, or NULL if r is not a usable free run. */
la_span_t *la_arena_take_run_locked(la_arena_t *a, la_span_t *r, size_t npages,
                                    bool *ret_zeroed);
/* Returns a run to the arena as dirty and purges what the decay curve asks for (may drop
 * and retake the lock). */
void la_arena_run_free_locked(la_arena_t *a, la_span_t *s);
/* A slab for class c owned by heap h: an abandoned one adopted (if adopt), else a fresh
 * one.  NULL when out of memory.  Lock held. */
la_span_t *la_arena_slab_get_locked(la_arena_t *a, la_heap_t *h, unsigned c, bool adopt);
/* Leaves slab s with the arena: empty slabs become free runs, others wait in the
 * abandoned list for a heap to adopt them.  Lock held. */
void la_arena_slab_abandon_locked(la_arena_t *a, la_span_t *s);
void la_arena_slab_release_locked(la_arena_t *a, la_span_t *s);
/* A zeroed span descriptor from the arena's cache or the metadata allocator; giving one
 * back keeps it in the cache up to a bound.  Lock held. */
la_span_t *la_arena_span_new_locked(la_arena_t *a);
void la_arena_span_delete_locked(la_arena_t *a, la_span_t *s);
/* The in-use list (slabs, large runs and huge mappings of a manual arena; no-ops for the
 * automatic ones, which cannot be reset). */
void la_arena_inuse_link_locked(la_arena_t *a, la_span_t *s);
void la_arena_inuse_unlink_locked(la_arena_t *a, la_span_t *s);

/* Purges what the decay curve asks for if its next deadline has passed (cheap otherwise);
 * may drop and retake the lock.  Called from every slow path that holds the lock. */
void la_arena_maybe_decay_locked(la_arena_t *a);
/* Purges on the curve (all == false) or everything unused now (all == true).  Takes the
 * lock. */
void la_arena_decay(la_arena_t *a, bool all);
/* For an automatic arena whose last thread just left: at most every 100 ms, purges the
 * oldest unpurged pages beyond the most its threads had in use since the last time.
 * Takes the lock. */
void la_arena_trim_idle(la_arena_t *a);
/* The huge arena's decay step when freed mappings wait in its cache (hcache.h) and its
 * deadline has passed; cheap otherwise.  For a thread that wakes up regularly (the
 * service thread), so that the cache empties in a process that stopped allocating. */
void la_arena_huge_tick(void);
/* la_arena_decay(a, true), returning how many dirty and muzzy pages went back. */
size_t la_arena_purge_all(la_arena_t *a);
/* Sets dirty (which == 0) or muzzy decay time; -EINVAL if out of range. */
int la_arena_set_decay_ms(la_arena_t *a, int which, ssize_t ms);
ssize_t la_arena_get_decay_ms(la_arena_t *a, int which);
/* Defaults for arenas made from now on (arenas.dirty_decay_ms / muzzy_decay_ms). */
extern _Atomic ssize_t la_default_decay_ms[2];

/* arena.<i>.reset (destroy false) and arena.<i>.destroy: discards every allocation of a
 * manual arena no thread or explicit cache is bound to; destroy also purges it, adds its
 * stats to the destroyed sum and frees the index for reuse.  -EFAULT when refused. */
int la_arena_reset(unsigned ind, bool destroy);
void la_arenas_prefork(void);
void la_arenas_postfork_parent(void);
void la_arenas_postfork_child(void);

#endif
