/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upcalls: what the layers above the core (prof/, bg/, stats/, ctl/, server/) need the
 * core to do for them, registered in one table the core owns, so that the core never
 * includes or names them (docs/architecture.md, "Layers").  The table is filled once at
 * start-up by la_layers_init (api/wire.c), the one function above the core that the core
 * calls, before anything reads it; an empty slot means "nothing to do".  None of it is
 * read on the malloc/free fast paths.
 */
#ifndef LA_UPCALLS_H
#define LA_UPCALLS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/heap.h"
#include "core/span.h"

/* The sampler (prof/): called from the generic paths only while sampling is on
 * (la_prof_active, la_prof_gen, a span's prof_tctx), so never before registration. */
typedef struct la_sampler {
        void (*heap_sync)(la_heap_t *h);
        void (*heap_unarm)(la_heap_t *h);
        void *(*heap_small)(la_heap_t *h, unsigned c);
        void (*cap)(la_heap_t *h, unsigned c);
        bool (*count)(size_t usize);
        void *(*alloc_sampled)(void *arena, bool arena_explicit, size_t usize, size_t align,
                               bool zero);
        void (*resize)(la_span_t *s, size_t old_usize, size_t new_usize);
        void (*free)(la_span_t *s);
        void (*dump_due)(void);
} la_sampler_t;

/* Deferred work: a flag set by anyone, looked at by a thread heap's refill (which holds
 * no lock when it returns) and run there.  Slots in priority order: at most one runs per
 * refill. */
enum { LA_DEFER_SERVICE, LA_DEFER_DIR, LA_DEFER_N };
typedef struct la_deferred {
        bool *pending;
        void (*run)(void);
} la_deferred_t;

typedef struct la_upcalls {
        la_sampler_t prof;
        la_deferred_t deferred[LA_DEFER_N];
        /* Start-up, after the core: early runs while the initialising thread is still
         * marked busy (its allocations take the arena's shared heap), late after. */
        void (*boot_early)(void);
        void (*boot_late)(void);
        void (*grew)(size_t bytes);           /* an arena mapped fresh pages (arena.c) */
        void (*arena_destroyed)(unsigned ind); /* arena.<i>.destroy emptied arena ind */
} la_upcalls_t;

extern la_upcalls_t la_up;

/* Defined by the top layer (api/wire.c): registers every upper layer in la_up and in the
 * fork module (core/fork.h).  Called once by la_init_slow. */
void la_layers_init(void);

/* ---- state the core reads on its slow paths, written by the layers above ---------- */

/* Bumped whenever something a thread heap's sampling depends on changes (prof.active,
 * prof.reset, thread_active_init); heaps compare it in their slow paths. */
extern _Atomic uint32_t la_prof_gen;
/* prof.active, read by the slow paths that count bytes down. */
extern _Atomic bool la_prof_active;
/* A gdump or interval dump waits for a thread to reach a point where it holds no lock. */
extern _Atomic bool la_prof_dump_pending;
/* Bumped at every memory-pressure purge (bg/pressure.c): a thread heap that sees a new
 * value at its next refill gives its empty slabs back. */
extern unsigned la_pressure_gen;

/* Armed heap: true if the next malloc of class c is the sampled one (a class whose
 * distance is not drawn yet has prof_at UINT64_MAX: never due). */
static inline bool la_prof_heap_due(const la_heap_t *h, unsigned c)
{
        return h->nmalloc[c] >= h->prof_at[c];
}
/* Armed heap: a list was just installed in h->fl[c]; cuts it at the next sample.  The list
 * comes from slab cur[c], so when the sample is further away than that slab has blocks
 * there is nothing to do (the common case: one compare). */
static inline void la_prof_heap_installed(la_heap_t *h, unsigned c)
{
        const la_span_t *s = h->cur[c];
        uint64_t at = h->prof_at[c];
        if (LA_LIKELY(at != UINT64_MAX && s != NULL && at - h->nmalloc[c] >= s->nregs))
                return;
        la_up.prof.cap(h, c);
}

/* Asks the next thread-heap refill to run deferred slot i. */
static inline void la_defer_request(unsigned i)
{
        __atomic_store_n(la_up.deferred[i].pending, true, __ATOMIC_RELEASE);
}
/* From a thread heap's refill: runs the first pending slot, if any. */
void la_deferred_run(void);

#endif
