/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lcache: the thread heap's cache of freed large runs (lcache.h).
 */
#include "core/lcache.h"

#include <string.h>

#include "core/large.h"

void *la_lcache_alloc(la_heap_t *h, size_t usize, bool zero)
{
        unsigned k = la_size2cls(usize) - LA_NBINS;
        la_span_t *s;
        if (k >= LA_LCACHE_NCLS || (s = h->lcache[k]) == NULL)
                return NULL;
        void *p = la_lcache_take(h, k, s);
        if (zero)
                memset(p, 0, la_cls_size[LA_NBINS + k]);
        return p;
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
