/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hcache: a list of whole mappings, oldest first.  Putting one appends it and pushes the
 * oldest out past the byte bound; taking one picks the smallest that holds the request
 * (else the largest, grown with mremap, which moves its pages without touching them
 * again); the decay step pushes out the oldest beyond the curve's limit.  What leaves
 * the cache other than by reuse is counted as jemalloc counts its eager purge of an
 * oversize extent (one madvise per mapping, its pages purged).
 */
#include "core/hcache.h"

#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/meta.h"
#include "core/pagemap.h"
#include "os/os.h"

static void unlink_span(la_hcache_t *c, la_span_t *s)
{
        LA_SPAN_QUEUE_UNLINK(c->head, c->tail, s, lru_next, lru_prev);
        c->pages -= s->map_size >> 12;
        c->n--;
        atomic_store_explicit(&c->hint, c->pages, memory_order_relaxed);
}

/* Mapping s leaves for good (not reused): counted as purged, chained for the unmap. */
static la_span_t *evict(la_arena_t *a, la_span_t *s, la_span_t *chain)
{
        a->stats.nmadvise[0]++;
        a->stats.purged[0] += s->map_size >> 12;
        atomic_fetch_sub(&a->huge_mapped, s->map_size);
        s->next = chain;
        return s;
}

/* Kept at all: the huge arena of the automatic ones, a bound, a decay time other than 0,
 * not hardened. */
static bool cache_on(const la_arena_t *a, ssize_t ms)
{
        return a->huge && !a->manual && la_opt.huge_cache >= LA_PAGE && !la_opt.hardened &&
               ms != 0;
}

la_span_t *la_hcache_put_locked(la_arena_t *a, la_span_t *s)
{
        la_hcache_t *c = &a->hcache;
        ssize_t ms = atomic_load_explicit(&la_default_decay_ms[0], memory_order_relaxed);
        if (!cache_on(a, ms) || s->map_size > la_opt.huge_cache)
                return evict(a, s, NULL);
        uint64_t now = la_os_coarse_ns();
        if (c->n == 0 || c->decay.ms != ms)
                la_decay_init(&c->decay, ms, now, c->pages);
        la_pm_set_ends(s->base, 1, NULL);
        LA_SPAN_QUEUE_PUSH_TAIL(c->head, c->tail, s, lru_next, lru_prev);
        c->pages += s->map_size >> 12;
        c->n++;
        la_span_t *chain = NULL;
        while (c->pages > la_opt.huge_cache >> 12 && c->head != s) {
                la_span_t *old = c->head;
                unlink_span(c, old);
                chain = evict(a, old, chain);
        }
        atomic_store_explicit(&c->hint, c->pages, memory_order_relaxed);
        la_decay_update(&c->decay, now, c->pages);
        return chain;
}

la_span_t *la_hcache_take(la_arena_t *a, size_t usize)
{
        la_hcache_t *c = &a->hcache;
        if (atomic_load_explicit(&c->hint, memory_order_relaxed) == 0)
                return NULL;
        la_mutex_lock(&a->lock);
        la_span_t *fit = NULL, *largest = NULL;
        for (la_span_t *r = c->head; r != NULL; r = r->lru_next) {
                if (r->map_size >= usize && (fit == NULL || r->map_size < fit->map_size))
                        fit = r;
                if (largest == NULL || r->map_size > largest->map_size)
                        largest = r;
        }
        la_span_t *s = fit != NULL ? fit : largest;
        if (s != NULL) {
                unlink_span(c, s);
                la_decay_update(&c->decay, la_os_coarse_ns(), c->pages);
        }
        la_mutex_unlock(&a->lock);
        if (s == NULL)
                return NULL;
        size_t old = s->map_size;
        if (old > usize) {
                la_os_trim((void *)s->base, old, usize);
                atomic_fetch_sub(&a->huge_mapped, old - usize);
        } else if (old < usize) {
                void *p = la_os_remap((void *)s->base, old, usize);
                if (p == NULL) {
                        /* Out of address space or maps: it goes, and the caller maps
                         * afresh. */
                        la_mutex_lock(&a->lock);
                        s = evict(a, s, NULL);
                        la_mutex_unlock(&a->lock);
                        la_hcache_unmap(s);
                        return NULL;
                }
                s->base = (uintptr_t)p;
                atomic_fetch_add(&a->huge_mapped, usize - old);
        }
        /* A fresh descriptor for the caller, as la_span_new gives one. */
        uintptr_t base = s->base;
        memset(s, 0, sizeof(*s));
        s->base = base;
        s->map_size = usize;
        return s;
}

la_span_t *la_hcache_decay_locked(la_arena_t *a, uint64_t now, bool all)
{
        la_hcache_t *c = &a->hcache;
        if (c->n == 0)
                return NULL;
        /* The curve follows arenas.dirty_decay_ms as it is now: 0 empties the cache. */
        ssize_t ms = atomic_load_explicit(&la_default_decay_ms[0], memory_order_relaxed);
        if (ms != c->decay.ms)
                la_decay_init(&c->decay, ms, now, c->pages);
        size_t limit = all ? 0 : la_decay_limit(&c->decay, now, c->pages);
        la_span_t *chain = NULL;
        while (c->pages > limit && c->head != NULL) {
                la_span_t *s = c->head;
                unlink_span(c, s);
                chain = evict(a, s, chain);
        }
        if (chain != NULL)
                a->stats.npurge[0]++;
        la_decay_purged(&c->decay, c->pages);
        return chain;
}

void la_hcache_unmap(la_span_t *chain)
{
        while (chain != NULL) {
                la_span_t *s = chain;
                chain = s->next;
                la_pm_set_ends(s->base, 1, NULL);
                la_os_unmap((void *)s->base, s->map_size);
                la_span_delete(s);
        }
}
