/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lcache: a thread heap's cache of freed large runs of 16 KiB to 64 KiB.  A free of such
 * a run by a thread of the run's own (automatic) arena parks it in the thread's heap, and
 * the thread's next allocation of that class takes it back: neither takes the arena lock,
 * splits or coalesces a run, or touches the page map.  A parked run keeps its pages active
 * and its page-map entries; its span is marked parked (its kind stays LA_SPAN_LARGE,
 * which is what neighbouring runs' coalescing reads under the arena lock), so a second
 * free of it, or a realloc of it, is refused as a freed pointer.  At most LA_LCACHE_PER_CLASS runs per class
 * and LA_LCACHE_PAGES pages per heap; all go back to the arena when the heap is flushed
 * (thread exit, thread.tcache.flush, thread.arena) or trimmed (memory pressure,
 * thread.idle, an epoch or arena.<i>.purge written by that thread).  Not in the hardened mode (guard pages, no reuse before the quarantine),
 * never for sampled objects.  The per-class counts stay exact: parking counts as a free
 * and taking back as an allocation, in the arena's lcache_* counters (atomic adds, no
 * lock), which the stats snapshot adds in.
 */
#ifndef LA_LCACHE_H
#define LA_LCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/heap.h"
#include "core/sizeclass.h"

#define LA_LCACHE_MAX ((size_t)65536) /* the largest class cached */
#define LA_LCACHE_PER_CLASS 4
#define LA_LCACHE_PAGES 64 /* 256 KiB per heap, as the empty slabs a heap keeps */
_Static_assert(LA_LCACHE_MAX == LA_LCACHE_TAB_MAX, "la_lcache_cls_tab covers the classes parked");

/* Whether heap h may park the runs its thread frees (h->lcache_on, set whenever h is bound
 * to an arena): a thread heap of an automatic arena, not in the hardened mode (so never a
 * run with a guard page) nor with junk or zero filling (none to do on its runs). */
static inline bool la_lcache_allowed(const la_heap_t *h)
{
        return h->kind == LA_HEAP_THREAD && !h->arena->manual && !la_opt.hardened &&
               !la_opt.fill;
}

/* A parked run of usize bytes (a class up to LA_LCACHE_MAX) for thread heap h, zeroed if
 * asked, or NULL if none. */
void *la_lcache_alloc(la_heap_t *h, size_t usize, bool zero);

/* Parked run s of class LA_NBINS + k (h->lcache[k]), taken back and counted as an
 * allocation of its class; not zeroed. */
static inline void *la_lcache_take(la_heap_t *h, unsigned k, la_span_t *s)
{
        h->lcache[k] = s->next;
        s->next = NULL;
        h->lcache_n[k]--;
        h->lcache_pages -= (uint32_t)s->npages;
        __atomic_store_n(&s->parked, 0, __ATOMIC_RELAXED);
        h->lcache_nmalloc[k]++;
        return (void *)s->base;
}

/* Parks large run s (a live run that the caller, h's thread, frees) if it may be: true,
 * or false and the caller frees it as usual.  Counted as a free of its class. */
static inline bool la_lcache_park(la_heap_t *h, la_span_t *s)
{
        size_t k = (size_t)s->cls - LA_NBINS, npages = s->npages;
        if (!h->lcache_on || k >= LA_LCACHE_NCLS || s->arena != h->arena ||
            s->prof_tctx != NULL || h->lcache_n[k] >= LA_LCACHE_PER_CLASS ||
            h->lcache_pages + npages > LA_LCACHE_PAGES)
                return false;
        __atomic_store_n(&s->parked, 1, __ATOMIC_RELAXED);
        s->next = h->lcache[k];
        h->lcache[k] = s;
        h->lcache_n[k]++;
        h->lcache_pages += (uint32_t)npages;
        h->lcache_ndalloc[k]++;
        return true;
}

/* Gives every run h has parked back to its arena. */
void la_lcache_release(la_heap_t *h);

#endif
