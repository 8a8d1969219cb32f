/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lcache: the thread heap's cache of freed large runs (lcache.h).
 */
#include "core/lcache.h"

#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/large.h"

void *la_lcache_alloc(la_heap_t *h, size_t usize, bool zero)
{
        unsigned k = la_size2cls(usize) - LA_NBINS;
        if (k >= LA_LCACHE_NCLS || h->lcache[k] == NULL)
                return NULL;
        void *p = la_lcache_take(h, k);
        if (zero)
                memset(p, 0, la_cls_size[LA_NBINS + k]);
        return p;
}

void *la_lcache_take(la_heap_t *h, unsigned k)
{
        la_span_t *s = h->lcache[k];
        h->lcache[k] = s->next;
        s->next = NULL;
        h->lcache_n[k]--;
        h->lcache_pages -= (uint32_t)s->npages;
        __atomic_store_n(&s->parked, 0, __ATOMIC_RELAXED);
        h->lcache_nmalloc[k]++;
        return (void *)s->base;
}

bool la_lcache_free(la_heap_t *h, la_span_t *s)
{
        unsigned k = s->cls - LA_NBINS;
        if (h->kind != LA_HEAP_THREAD || s->kind != LA_SPAN_LARGE || k >= LA_LCACHE_NCLS ||
            s->arena != h->arena || h->arena->manual || s->prof_tctx != NULL || s->guarded ||
            la_opt.hardened || h->lcache_n[k] >= LA_LCACHE_PER_CLASS ||
            h->lcache_pages + s->npages > LA_LCACHE_PAGES)
                return false;
        __atomic_store_n(&s->parked, 1, __ATOMIC_RELAXED);
        s->next = h->lcache[k];
        h->lcache[k] = s;
        h->lcache_n[k]++;
        h->lcache_pages += (uint32_t)s->npages;
        h->lcache_ndalloc[k]++;
        return true;
}

void la_lcache_release(la_heap_t *h)
{
        if (h->lcache_pages == 0)
                return;
        for (unsigned k = 0; k < LA_LCACHE_NCLS; k++) {
                la_span_t *s;
                while ((s = h->lcache[k]) != NULL) {
                        h->lcache[k] = s->next;
                        s->next = NULL;
                        __atomic_store_n(&s->parked, 0, __ATOMIC_RELAXED);
                        /* Its free moves from the parked count to the arena's. */
                        h->lcache_ndalloc[k]--;
                        la_large_free(s);
                }
                h->lcache_n[k] = 0;
        }
        h->lcache_pages = 0;
}
